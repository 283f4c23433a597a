/* bench_fleet: the load generator of `warren-bench relay-ceiling`: C fake leaves (wr_client
 * each, in this process) that stream DELTAs to one real relay, and a fake parent (wr_server)
 * that receives the relay's upward state to see how far behind it is. Each fake leaf's tier
 * entry carries, in samples_per_s, how many DELTAs that leaf has sent: the relay forwards it
 * upward as is, so the parent sees which DELTA of each leaf the relay's view has reached. */
#ifndef BENCH_FLEET_H
#define BENCH_FLEET_H
#include <ev.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bench_fleet bench_fleet_t;

typedef struct {
    size_t      children;          /* fake leaves, 1..1000 */
    size_t      nodes_per_child;   /* nodes each fake leaf owns, 1..100000 */
    size_t      changed;           /* nodes listed in each DELTA (<= nodes_per_child) */
    size_t      rollups;           /* metrics with a rollup in each DELTA (<= the catalogue) */
    const char *relay_endpoint;    /* the relay's ROUTER, where fake leaves connect */
    const char *parent_endpoint;   /* our ROUTER, the relay's parent */
} bench_fleet_params_t;

typedef struct {
    double   seconds;              /* how long the step sent */
    uint64_t offered;              /* DELTAs due at the rate */
    uint64_t sent;                 /* taken by ZeroMQ */
    uint64_t refused;              /* WR_EAGAIN (high-water mark: the relay is not reading) or no parent */
    uint64_t snapshots_asked;      /* COMMAND snapshot from the relay (it saw a gap) */
    uint64_t backlog;              /* DELTAs sent but not yet in the relay's upward view at the end */
    uint64_t upward_frames;        /* state frames the relay sent us during the step */
    size_t   children_up;          /* fake leaves whose parent link is up at the end */
} bench_fleet_step_t;

/* Creates the fake leaves and the fake parent on loop (binds parent_endpoint). NULL with a
 * reason in err. */
bench_fleet_t *bench_fleet_new(struct ev_loop *loop, const bench_fleet_params_t *p, char *err, size_t errlen);
void bench_fleet_destroy(bench_fleet_t **f);
/* Runs the loop until every fake leaf is up at the relay and the relay's upward state lists
 * them all, or timeout_s passed (WR_ETIMEDOUT) or bench_interrupted (WR_ECLOSED). */
int bench_fleet_wait_ready(bench_fleet_t *f, double timeout_s);
/* Sends DELTAs at rate per second in total, round robin over the fake leaves, for seconds.
 * Returns 0, or WR_ECLOSED when interrupted. */
int bench_fleet_run(bench_fleet_t *f, double rate, double seconds, bench_fleet_step_t *out);
/* Sends nothing and runs the loop until the relay's upward view holds every DELTA sent.
 * Returns the ms that took, or -1 after timeout_s (or when interrupted). */
int64_t bench_fleet_drain(bench_fleet_t *f, double timeout_s);
/* Bytes of the last DELTA encoded (one fake leaf's message). */
size_t bench_fleet_frame_bytes(const bench_fleet_t *f);

#endif
