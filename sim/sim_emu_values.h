/* sim_emu_values: the numbers an emulated BEAM node reports (memory, counts, statistics).
 * Deterministic in (seed, node index, time since the emulator started): two runs with the same
 * seed give the same values at the same offsets. Counters never decrease as time grows; gauges
 * wander inside a plausible band. Each node runs 4 or 8 schedulers. sim_emu_values_metric gives
 * a value for every name of the catalogue (core/wr_metric.c) for the agent's collect/1.
 * Two workloads: "plain" (this file) and "antfarm" (sim_antfarm.c, the default of warren-sim):
 * sim_emu_values_at picks one; faults (sim_inject.c) are applied on top by the emulator.
 * sim_emu_calls.c and sim_emu_agent.c only read the sample. */
#ifndef SIM_EMU_VALUES_H
#define SIM_EMU_VALUES_H
#include <stdint.h>
#include "wr_metric.h"

#define SIM_EMU_MAX_SCHED 8          /* an emulated node runs 4 or 8 schedulers */

typedef struct {
    /* erlang:memory() in bytes; total = processes + system, processes_used <= processes,
     * atom_used <= atom, system >= atom + binary + code + ets */
    int64_t mem_total, mem_processes, mem_processes_used, mem_system;
    int64_t mem_atom, mem_atom_used, mem_binary, mem_code, mem_ets;
    int64_t mem_other;            /* the rest of system: system = atom + binary + code + ets + other */
    /* erlang:system_info/1 gauges (the limits are constants of a default node) */
    int64_t process_count, port_count, atom_count, ets_count;
    /* erlang:statistics/1 */
    int64_t run_queue;            /* total over schedulers */
    int64_t reductions;           /* counter */
    int64_t io_input, io_output;  /* counters, bytes */
    int64_t wall_clock_ms;        /* counter: node uptime */
    int64_t runtime_ms;           /* counter: CPU time, <= wall_clock_ms * schedulers */
    int64_t context_switches;     /* counter */
    int64_t gc_count, gc_words;   /* counters */
    /* per scheduler (1-based ids 1..schedulers are entries 0..schedulers-1) */
    int     schedulers;           /* 4 or 8, fixed per node */
    int64_t sched_run_queue[SIM_EMU_MAX_SCHED];   /* sums to run_queue */
    double  sched_util[SIM_EMU_MAX_SCHED];        /* busy fraction 0..1 over the last second */
    double  util;                 /* mean of sched_util */
    /* message queues: the sum over all processes and the longest one (<= the sum) */
    int64_t msgq_total, msgq_max;
    int     msgq_who;             /* SIM_MQ_...: whose queue is msgq_max (the agent's Info) */
    int64_t logger_queue;         /* the logger's queue: part of msgq_total, <= msgq_max */
    /* distribution: output queue bytes (sum and longest) and busy ports */
    int64_t dist_queue_bytes, dist_queue_bytes_max, dist_busy_ports;
    /* faults (sim_inject.c) the agent's process view must agree with */
    int64_t leak_proc_bytes;      /* memory_growth: the leaking process's heap (in mem_processes) */
    int64_t flood_queue;          /* mqueue_flood: its queue (in msgq_total, <= msgq_max) */
    char    flood_name[32];       /* ... and its registered name */
    /* the workload: SIM_WORKLOAD_...; for the ant farm (sim_antfarm.c), its state now */
    int     workload;
    int64_t aco_iteration;        /* iterations completed since the run (or the node) started */
    int64_t aco_ants;             /* ants alive */
    int     aco_colonies;         /* colony processes */
    int64_t aco_master_queue;     /* the master's queue (results waiting) */
    int64_t aco_colony_queue;     /* the longest colony queue */
    int64_t aco_pheromone_bytes;  /* the pheromone table (part of mem_ets) */
} sim_emu_sample_t;

enum { SIM_WORKLOAD_ANTFARM = 0, SIM_WORKLOAD_PLAIN = 1 };
/* whose queue is the longest: a process of the node's model, the ant-farm master or a colony,
 * the process an mqueue_flood fault floods, the logger */
enum { SIM_MQ_MODEL = 0, SIM_MQ_MASTER, SIM_MQ_COLONY, SIM_MQ_FLOOD, SIM_MQ_LOGGER };

/* A node's life: restarts counts its restarts (a crash fault restarts it), boot_ms is the
 * emulator-relative ms at which the current life began (0 for the first). */
typedef struct {
    uint32_t restarts;
    int64_t  boot_ms;
} sim_emu_life_t;

#define SIM_EMU_BOOT_MS 1500         /* a restarted node reports this much uptime at once */

/* Parses "antfarm" / "plain" into *out (SIM_WORKLOAD_...). Returns 0, or -1 when unknown. */
int sim_emu_values_workload(const char *name, int *out);

/* Fills *out with the values of node `index` running `workload` at elapsed_ms after the
 * emulator started, in its life `life` (NULL: never restarted). In the first life the node
 * booted some time before the emulator started (a trait of the node); after a restart its
 * uptime and counters start again from SIM_EMU_BOOT_MS. Pure. */
void sim_emu_values_at(uint64_t seed, int workload, uint32_t index, int64_t elapsed_ms,
                       const sim_emu_life_t *life, sim_emu_sample_t *out);

/* The plain model alone, for a node whose uptime is wall_ms (used by sim_emu_values_at). */
void sim_emu_values_plain(uint64_t seed, uint32_t index, int64_t wall_ms, sim_emu_sample_t *out);

/* After a model (or a fault) changed parts of *s: recomputes what derives from them so the
 * sample stays consistent: mem_atom / mem_atom_used from atom_count, mem_system and
 * mem_total from their parts, msgq_max >= logger_queue (msgq_who then SIM_MQ_LOGGER),
 * msgq_total >= msgq_max. Pure. */
void sim_emu_values_settle(sim_emu_sample_t *s);

/* Fills *out with the values of the node with global index `index` at `elapsed_ms` (>= 0)
 * milliseconds after the emulator started, plain workload, first life. Pure: no state, no
 * allocation, no I/O. */
void sim_emu_values_sample(uint64_t seed, uint32_t index, int64_t elapsed_ms, sim_emu_sample_t *out);

/* The value of catalogue metric def (core/wr_metric.c) for the node whose sample at this
 * instant is s. Known names come from the sample (so families agree with their totals);
 * per-scheduler names "scheduler.N.<x>" follow the node's schedulers; any other name gets a
 * deterministic value by kind and unit (counters grow with s->wall_clock_ms, gauges wander
 * inside a band for the unit, a ".count" stays under its ".limit"). Returns 1 with *out set
 * (*is_int 1 when the value is an integer), or 0 when the node has no such metric (e.g. a
 * scheduler id above its scheduler count). Pure. */
int sim_emu_values_metric(uint64_t seed, uint32_t index, const sim_emu_sample_t *s,
                          const wr_metric_def_t *def, double *out, int *is_int);

/* Hash helpers shared with sim_emu_agent.c's process model: a uniform double in [0, 1)
 * fixed for (seed, index, channel), and smooth noise in [0, 1) at t_s with period_s. */
double sim_emu_values_unit(uint64_t seed, uint32_t index, uint32_t channel);
double sim_emu_values_noise(uint64_t seed, uint32_t index, uint32_t channel, double t_s, double period_s);

#endif
