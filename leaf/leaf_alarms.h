/* leaf_alarms: the node-level alarm checks a leaf runs on each of its BEAM nodes
 * (docs/ALARMS.md section 2): limits in percent of the node's own limits, memory against the
 * machine, the longest message queue (naming the process), the shell's size, old code,
 * descriptors (fd_limit), the full mesh's size, node_down after a grace period, and
 * limit_forecast on every limit-type series; and, from the agent's collect Info lists, the
 * node's changed or unparseable config/boot/.app files and its alarm_handler alarms
 * (leaf_alarms_node.c).
 *
 * Every poll interval the samples of each UP node are evaluated with hysteresis
 * (core/wr_threshold) and trends (core/wr_forecast); what should be raised is reconciled with
 * what this leaf has reported, and each difference (raise / escalate / de-escalate / clear)
 * becomes one ALARM event through leaf_events_push. What was reported is kept in the store's
 * "alarms" database, so a restarted leaf clears what stopped being true while it was away.
 *
 * Not here: suppression of a down node's alarms (the tiers do it), notifications, fleet checks.
 * Everything runs on the loop thread. Not a public API. */
#ifndef LEAF_ALARMS_H
#define LEAF_ALARMS_H
#include <stddef.h>
#include <stdint.h>
#include "leaf_parse.h"
#include "wr_threshold.h"

typedef struct leaf leaf_t;
typedef struct leaf_node leaf_node_t;
typedef struct wr_config wr_config_t;

/* The threshold checks, in a fixed order (index into leaf_alarms_cfg_t.thr). */
enum {
    LEAF_AL_PROCESS = 0,   /* process_limit   % of process.limit */
    LEAF_AL_PORT,          /* port_limit      % of port.limit */
    LEAF_AL_ATOM,          /* atom_limit      % of atom.limit */
    LEAF_AL_ETS,           /* ets_limit       % of ets.limit */
    LEAF_AL_MODULE,        /* module_limit    % of the configured module limit */
    LEAF_AL_MEMORY,        /* memory_usage    % of the machine's memory */
    LEAF_AL_MSGQ,          /* message_queue   messages in the longest queue */
    LEAF_AL_SHELL,         /* shell_process_size  MB held by the shell processes */
    LEAF_AL_OLD_CODE,      /* old_code        modules with old code (> 0) */
    LEAF_AL_LONG_GC,       /* long_gc         system_monitor long_gc events in the last minute */
    LEAF_AL_LARGE_HEAP,    /* large_heap      ... large_heap events */
    LEAF_AL_BUSY_DIST,     /* busy_dist_port  ... busy_dist_port events */
    LEAF_AL_FD,            /* fd_limit        % of fd.limit (the OS's descriptor limit) */
    LEAF_AL_MESH,          /* full_mesh_size  visible nodes connected (dist.visible), warning */
    LEAF_AL_THR_COUNT
};

typedef struct {
    wr_threshold_config_t thr[LEAF_AL_THR_COUNT];
    double   module_limit;        /* modules; 0: module_limit is off (the BEAM has none) */
    double   machine_mb;          /* 0: machine memory from os_mon (os.memory.*) */
    int      node_down_enabled;
    double   node_down_grace;     /* seconds */
    int      forecast_enabled;
    double   forecast_horizon;    /* seconds */
    double   forecast_step;       /* seconds between points of a trend (>= the poll interval) */
    uint32_t forecast_points;     /* window */
    uint32_t forecast_min_points;
    int      files_enabled;       /* config_changed / config_unparseable (agent's Info files) */
    int      beam_enabled;        /* beam_alarm (agent's Info beam_alarms) */
} leaf_alarms_cfg_t;

/* The alarm types of the node's files (docs/ALARMS.md "Node state"); WR_ALARM_FILES_CHANGED
 * of wr_alarm.h is split in these two. */
#define LEAF_ALARM_CONFIG_CHANGED     "config_changed"
#define LEAF_ALARM_CONFIG_UNPARSEABLE "config_unparseable"

typedef struct {
    uint64_t raised, updated, cleared;   /* events accepted by leaf_events_push */
    uint64_t push_failed;                /* transitions whose event was refused (retried) */
    uint64_t evaluations;                /* node evaluations */
    uint64_t reloaded;                   /* alarms reloaded from the store at start */
    uint64_t active;                     /* reported and not cleared now */
} leaf_alarms_stats_t;

/* Fills cfg with the documented defaults (docs/ALARMS.md). */
void leaf_alarms_config_default(leaf_alarms_cfg_t *cfg);
/* Reads leaf.alarms (every key optional) into cfg, recording errors naming the key. Returns 0. */
int  leaf_alarms_config_read(wr_config_t *cfg, leaf_alarms_cfg_t *out);

/* Allocates the per-node state and reloads the reported alarms from the store (lf->store may
 * be NULL: nothing persisted); starts the 1 s node_down check. Call after leaf_events_init.
 * Returns 0 or WR_ENOMEM with a reason in err. */
int  leaf_alarms_init(leaf_t *lf, char *err, size_t errlen);
void leaf_alarms_fini(leaf_t *lf);

/* The poll tick's hook, with this round's samples still in lf->pending: evaluates every UP
 * node that has samples, then node_down of every node. now_ms is wall ms. */
void leaf_alarms_eval(leaf_t *lf, int64_t now_ms);
/* The agent's Info max_message_queue of node n this round (pid "<0.85.0>", name "" if not
 * registered, queue length). */
void leaf_alarms_on_maxq(leaf_t *lf, leaf_node_t *n, const char *pid, const char *name, double len);
/* The agent's system monitor counts of node n this round (collect's Info system_monitor:
 * long_gc, large_heap, busy_dist_port events since the agent started, in the order of
 * leaf_sysmon_names), at now_mono_ms: their increase goes into the node's last-minute rates
 * (the rate alarms). A count going down (agent or node restarted) only sets a new base. */
void leaf_alarms_on_sysmon(leaf_t *lf, leaf_node_t *n, const double counts[3], int64_t now_mono_ms);
/* node_down only (also run every second by init's timer); now_mono_ms, now_ms wall. */
void leaf_alarms_check_down(leaf_t *lf, int64_t now_mono_ms, int64_t now_ms);

void leaf_alarms_stats(const leaf_t *lf, leaf_alarms_stats_t *out);

/* Node n's collect reply (leaf_agent.c, after leaf_parse_collect): its Info files and
 * beam_alarms lists, when present, become the node's config_changed / config_unparseable /
 * beam_alarm alarms (one per file or alarm id; what is no longer listed is cleared). Runs at once, not at the poll tick (leaf_alarms_node.c). */
void leaf_alarms_on_collect(leaf_t *lf, leaf_node_t *n, const leaf_collect_t *c);

/* "a system process of the cluster machinery" / "an OTP system process" / NULL for a
 * registered name (exposed for tests). */
const char *leaf_alarms_system_process(const char *name);

/* ---- between leaf_alarms.c and leaf_alarms_node.c (not for other modules) ---------------- */

/* The system monitor events of one node per second over the last minute (the rate alarms). */
#define LEAF_RATE_SECS 60
typedef struct {
    uint32_t sm[LEAF_SYSMON_COUNT][LEAF_RATE_SECS];   /* events per second (ring) */
    int64_t  sec;                                     /* the mono second of the newest slot */
    double   last[LEAF_SYSMON_COUNT];                 /* the agent's last counts */
    int      have;
} leaf_alarms_rate_t;
/* The agent's counts since it started, at mono second sec (never moves back): their increase
 * goes into the ring; a count going down (agent or node restarted) only sets a new base. */
void   leaf_alarms_rate_add(leaf_alarms_rate_t *r, const double counts[LEAF_SYSMON_COUNT], int64_t sec);
/* Events of type t in the minute up to mono second sec. */
double leaf_alarms_rate_sum(leaf_alarms_rate_t *r, int t, int64_t sec);

/* 1,234,567 into buf ("?" when not finite); returns buf. */
const char *leaf_alarms_num(double v, char *buf, size_t len);
/* Sends one alarm event of node scope (scope = node name), counting it as a raise, update or
 * clear after prev_sev. Returns 0, or the push's error (counted in push_failed). */
int  leaf_alarms_emit(leaf_t *lf, const char *scope, const char *type, const char *resource,
                      int sev, int prev_sev, const char *text, int64_t at_ms);
/* Writes (val != NULL) or deletes the record key in the store's "alarms" database. */
void leaf_alarms_persist_raw(leaf_t *lf, const void *key, size_t klen, const void *val, size_t vlen);
/* The list alarms' state (leaf_alarms_node.c), owned by leaf_alarms.c's init/fini. */
typedef struct leaf_alarms_list leaf_alarms_list_t;
leaf_alarms_list_t *leaf_alarms_list_new(size_t n_nodes);
void leaf_alarms_list_free(leaf_alarms_list_t **l);
leaf_alarms_list_t *leaf_alarms_list_of(leaf_t *lf);
/* A reloaded record whose name (after node NUL) is a list alarm's: seeds node n (NULL: not
 * configured) and returns 1, with its type in type (for the caller's clear when n is NULL);
 * else 0. */
int  leaf_alarms_list_reload(leaf_t *lf, leaf_node_t *n, const char *name, size_t len,
                             const void *val, size_t vlen, char type[48], char res[256]);
/* Clears every list alarm of n (no longer watched), with text. */
void leaf_alarms_list_release(leaf_t *lf, leaf_node_t *n, const char *text, int64_t now_ms);
uint64_t leaf_alarms_list_active(const leaf_t *lf);

#endif
