/* sim_antfarm: the ant-farm workload of warren-sim's emulated nodes: each node runs one node of
 * the RELEASE project's ant colony optimisation benchmark (ACO for the single-machine total
 * weighted tardiness problem). A master process drives iterations; each iteration its colonies
 * spawn ants as short-lived processes, the ants build tours reading the pheromone table (ETS),
 * report to their colony and die; the colonies report to the master, whose queue fills at the
 * end of the iteration; the pheromone table grows with the iterations, then plateaus.
 * Deterministic in (seed, node index, time): no state, no allocation, no I/O. Not the
 * protocol (sim_emu_calls.c) nor the faults (sim_inject.c). Documented in docs/SIM.md. */
#ifndef SIM_ANTFARM_H
#define SIM_ANTFARM_H
#include <stdint.h>
#include "sim_emu_values.h"

/* The shape of one node's run (fixed per (seed, index)). */
typedef struct {
    double  period_s;        /* one iteration every period_s seconds (fleet-wide, from seed) */
    double  offset_s;        /* this node's lag behind the fleet's iteration clock */
    int     colonies;        /* 2..8 colony processes */
    int     ants_per_colony; /* 10..60 ants per colony per iteration (+-30% by iteration) */
    int     schedulers;      /* 4 or 8 */
} sim_antfarm_shape_t;

/* The run's shape for node index. Pure. */
void sim_antfarm_shape(uint64_t seed, uint32_t index, sim_antfarm_shape_t *out);

/* Where node index's run is at run_ms: *iteration completed iterations, *phase in [0, 1)
 * within the current one, *ants the ants alive. Pure. */
void sim_antfarm_phase(uint64_t seed, uint32_t index, int64_t run_ms, int64_t *iteration,
                       double *phase, int64_t *ants);

/* Fills *out (every field of sim_emu_sample_t, workload SIM_WORKLOAD_ANTFARM) for node index
 * whose uptime is wall_ms and whose ACO run started run_ms ago (run_ms <= wall_ms: the node
 * idled before). Counters never decrease as both grow together; families are consistent as
 * sim_emu_values.h says. Pure. */
void sim_antfarm_sample(uint64_t seed, uint32_t index, int64_t wall_ms, int64_t run_ms,
                        sim_emu_sample_t *out);

#endif
