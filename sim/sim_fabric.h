/* sim_fabric: internals of `warren-sim up` shared with its helpers and tests. */
#ifndef SIM_FABRIC_H
#define SIM_FABRIC_H
#include <stdint.h>

#define SIM_MAX_LEVELS 8

/* Relay levels above `leaves` leaves with at most `fanout` children per tier: counts[0] is
 * the number of relays right above the leaves, counts[levels-1] the top level, which has at
 * most fanout relays (the root's children). Always at least one level. Returns 0 or -1. */
int sim_fabric_shape(long leaves, long fanout, long *levels, long counts[SIM_MAX_LEVELS]);

typedef struct {
    long nodes_total;
    long nodes_up;
    long leaves_up;
    long relays_up;
} sim_root_status_t;

/* GETs url + "/api/v1/status" (1 s timeout). Returns 0 and fills st, or -1. */
int sim_root_status(const char *url, sim_root_status_t *st);

/* 1 if the process exists and is not a zombie. */
int sim_pid_alive(int pid);

#endif
