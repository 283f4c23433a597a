/* sim_fabric: internals of `warren-sim up` shared with its helpers and tests. */
#ifndef SIM_FABRIC_H
#define SIM_FABRIC_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

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

/* Checks that the port ranges [base_port, +nodes), [tier_port, +tier_ports) and
 * [http_port, +http_ports) stay under 65536 and do not overlap. Returns 0, or -1 with a
 * message naming both ranges in err. */
int sim_fabric_check_ports(long base_port, long nodes, long tier_port, long tier_ports, long http_port,
                           long http_ports, char *err, size_t errlen);

/* Starts argv detached (own session; stdout and stderr appended to logpath), appends
 * "PID KIND ID" to pids and writes argv, one argument a line, to DIR/run/ID.argv (what
 * `warren-sim restart` runs again). Returns the pid or -1. */
pid_t sim_spawn(const char *dir, FILE *pids, const char *kind, const char *id, char *const argv[],
                const char *logpath);

#endif
