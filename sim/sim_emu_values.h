/* sim_emu_values: the numbers an emulated BEAM node reports (memory, counts, statistics).
 * Deterministic in (seed, node index, time since the emulator started): two runs with the same
 * seed give the same values at the same offsets. Counters never decrease as time grows; gauges
 * wander inside a plausible band. Each node runs 4 or 8 schedulers. sim_emu_values_metric gives
 * a value for every name of the catalogue (core/wr_metric.c) for the agent's collect/1.
 * Replace this file to drive the emulated fleet with another workload model (e.g. the ant-farm
 * benchmark); sim_emu_calls.c and sim_emu_agent.c only read the sample. */
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
} sim_emu_sample_t;

/* Fills *out with the values of the node with global index `index` at `elapsed_ms` (>= 0)
 * milliseconds after the emulator started. Pure: no state, no allocation, no I/O. */
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
