/* sim_inject: the faults warren-sim can inject into an emulated node, as pure data and pure
 * functions: their names, a node's fault state (when each started and ends), and what an
 * active fault does to the node's values (sim_emu_sample_t). Behaviours that are not values
 * (crash: the node goes away and restarts; silent: calls go unanswered) are the emulator's
 * (sim_emu_ctl.c), which asks sim_inject_active. Times are ms since the emulator started.
 * The control protocol, the `inject` command and scenarios are sim_emu_ctl.c,
 * sim_inject_cli.c and sim_scenario.c. Documented in docs/SIM.md. */
#ifndef SIM_INJECT_H
#define SIM_INJECT_H
#include <stdint.h>
#include "sim_emu_values.h"

typedef enum {
    SIM_FAULT_MQUEUE_FLOOD = 0,   /* one named process's queue grows by tens of thousands */
    SIM_FAULT_ATOM_LEAK,          /* atom.count grows; leaked atoms stay until a restart */
    SIM_FAULT_MEMORY_GROWTH,      /* one process's heap grows: memory.total grows */
    SIM_FAULT_MODULE_CLASH,       /* the node reports another md5 for one module (census) */
    SIM_FAULT_CRASH,              /* the node goes away for the duration, then restarts */
    SIM_FAULT_SILENT,             /* connections stay, rex calls are not answered */
    SIM_FAULT_BUSY_DIST_PORT,     /* the distribution port's queue is over the busy limit */
    SIM_FAULT_LOG_STORM,          /* the logger's queue grows */
    SIM_FAULT_COUNT
} sim_fault_t;

/* rates and caps of the value faults (docs/SIM.md) */
#define SIM_FLOOD_START      20000       /* messages queued at once */
#define SIM_FLOOD_RATE       5000        /* ... then per second */
#define SIM_FLOOD_CAP        5000000
#define SIM_FLOOD_MSG_BYTES  64          /* process memory per queued message */
#define SIM_ATOM_LEAK_RATE   1000        /* atoms per second */
#define SIM_MEM_GROWTH_RATE  (32 << 20)  /* bytes per second: a 32 GB machine in ~17 min */
#define SIM_MEM_GROWTH_CAP   (64LL << 30)
#define SIM_DIST_BUSY_LIMIT  1048576     /* dist_buf_busy_limit, as dist.busy_limit reports */
#define SIM_DIST_BUSY_RATE   (256 << 10) /* queue bytes over the limit, per second */
#define SIM_LOG_STORM_RATE   2000        /* logger queue, messages per second */
#define SIM_LOG_STORM_CAP    1000000
#define SIM_LOG_STORM_NOTIF_RATE 50  /* error_report notifications pushed per second */
#define SIM_BUSY_DIST_EVENTS 5       /* system_monitor busy_dist_port events per second */
#define SIM_CRASH_DEFAULT_MS 10000       /* a crash without a duration is down this long */

#define SIM_INJECT_UNTIL_CLEARED INT64_MAX
#define SIM_INJECT_ARG_MAX 32            /* a process or module name */

/* One node's faults. Plain data; sim_inject_init before use. */
typedef struct {
    int64_t start_ms[SIM_FAULT_COUNT];  /* -1: not injected in this life */
    int64_t end_ms[SIM_FAULT_COUNT];    /* SIM_INJECT_UNTIL_CLEARED, or when it ends / ended */
    int64_t atoms_before;               /* atoms leaked by earlier atom_leak spans of this life */
    char    flood_name[SIM_INJECT_ARG_MAX];
    char    clash_module[SIM_INJECT_ARG_MAX];
} sim_inject_faults_t;

/* The fault's name ("mqueue_flood", ...); NULL when out of range. */
const char *sim_inject_name(int fault);

/* The fault named name, or -1 when unknown. */
int sim_inject_parse(const char *name);

/* A process or module name argument is 1..SIM_INJECT_ARG_MAX-1 of [a-z0-9_] starting with a
 * letter (an unquoted Erlang atom). Returns 1 when valid. */
int sim_inject_valid_arg(const char *arg);

/* No fault, as after a (re)start. */
void sim_inject_init(sim_inject_faults_t *f);

/* Starts fault at now_ms for duration_ms (<= 0: until cleared; crash: <= 0 means
 * SIM_CRASH_DEFAULT_MS). arg names the flooded process (mqueue_flood, default "ant_stats") or
 * the clashing module (module_clash, default "ant_colony"); NULL or "" for the default; other
 * faults ignore it. Injecting an active fault again restarts it. Returns 0, or WR_EINVAL for a
 * bad fault or arg. */
int sim_inject_start(sim_inject_faults_t *f, int fault, int64_t now_ms, int64_t duration_ms,
                     const char *arg);

/* Ends fault (or every fault when fault is -1) at now_ms. Returns 1 when one was active. */
int sim_inject_clear(sim_inject_faults_t *f, int fault, int64_t now_ms);

/* 1 when fault is active at now_ms. */
int sim_inject_active(const sim_inject_faults_t *f, int fault, int64_t now_ms);

/* Applies the value faults active at now_ms (and the atoms leaked before) to *s, keeping it
 * consistent (sim_emu_values_settle). Pure. */
void sim_inject_apply(const sim_inject_faults_t *f, int64_t now_ms, sim_emu_sample_t *s);

#endif
