/* sim_emu_prom: the emulated nodes' metrics in the Prometheus text format, one target per node
 * (GET /metrics/<alive name>), served by libmicrohttpd on the emulator's libev loop (MHD's
 * epoll descriptor watched by an ev_io, its timeout by an ev_timer: no thread). The values are
 * those warren_agent:collect/1 returns (sim_emu_values_metric over the catalogue), so a
 * Prometheus scraping the fleet and a leaf polling it see the same numbers. Internal to
 * warren-sim. Names: docs/SIM.md ("Prometheus exposition"). */
#ifndef SIM_EMU_PROM_H
#define SIM_EMU_PROM_H
#include <stddef.h>
#include <stdint.h>
#include "sim_emu.h"

typedef struct sim_emu_prom sim_emu_prom_t;

/* Counted, logged by the emulator at exit. */
typedef struct {
    uint64_t scrapes;          /* 200 answers */
    uint64_t not_found;        /* unknown path or node name */
    uint64_t down;             /* 503: the node is crashed (a real exporter would be gone) */
    uint64_t bad_method;       /* not GET/HEAD */
    uint64_t bytes;            /* body bytes answered */
} sim_emu_prom_stats_t;

/* Listens on 127.0.0.1:port and serves emu's nodes on emu->loop. Returns NULL with a reason
 * in err when the port cannot be bound or MHD fails to start. */
sim_emu_prom_t *sim_emu_prom_new(sim_emu_t *emu, int port, char *err, size_t errlen);

/* Stops serving, closes the listener, frees *p and sets *p = NULL. NULL-safe, idempotent. */
void sim_emu_prom_destroy(sim_emu_prom_t **p);

/* The counters so far (zeroes for NULL). */
sim_emu_prom_stats_t sim_emu_prom_stats(const sim_emu_prom_t *p);

/* Writes the exposition of node n (its values now) into buf; returns the length, or a
 * negative WR_E... code when buf is too small. Pure apart from reading the node. */
int sim_emu_prom_render(sim_emu_t *emu, const sim_emu_node_t *n, char *buf, size_t buflen);

/* The Prometheus name of catalogue metric def ("memory.total" -> "beam_memory_total_bytes",
 * counters end in _total, "scheduler.N.x" -> "beam_scheduler_each_x" with label
 * scheduler="N" written to label when not NULL, else label = ""). Returns 0, or WR_EINVAL when
 * out is too small. */
int sim_emu_prom_name(const wr_metric_def_t *def, char *out, size_t outlen, char *label, size_t labellen);

#endif
