/* sim_emu_values: the numbers an emulated BEAM node reports (memory, counts, statistics).
 * Deterministic in (seed, node index, time since the emulator started): two runs with the same
 * seed give the same values at the same offsets. Counters never decrease as time grows; gauges
 * wander inside a plausible band. Replace this file to drive the emulated fleet with another
 * workload model (e.g. the ant-farm benchmark); sim_emu_calls.c only reads the sample. */
#ifndef SIM_EMU_VALUES_H
#define SIM_EMU_VALUES_H
#include <stdint.h>

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
} sim_emu_sample_t;

/* Fills *out with the values of the node with global index `index` at `elapsed_ms` (>= 0)
 * milliseconds after the emulator started. Pure: no state, no allocation, no I/O. */
void sim_emu_values_sample(uint64_t seed, uint32_t index, int64_t elapsed_ms, sim_emu_sample_t *out);

#endif
