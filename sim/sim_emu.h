/* sim_emu: types shared by the files of `warren-sim emulate` (sim_emu*.c). Internal to
 * warren-sim, not a library API. One process runs a block of emulated BEAM nodes on one libev
 * loop: per node an ei_cnode, a listening socket on 127.0.0.1 (no epmd registration) and the
 * few distribution connections accepted on it (usually one: the leaf). */
#ifndef SIM_EMU_H
#define SIM_EMU_H
#include <stdint.h>
#include <ev.h>
#ifndef _REENTRANT
#define _REENTRANT 1   /* libei.a is the thread-safe build: erl_errno is per thread */
#endif
#include <ei.h>

#define SIM_EMU_MAX_CONNS 4          /* connections one emulated node keeps at once */
#define SIM_EMU_HANDSHAKE_TMO_S 3    /* a peer stalled this long in the handshake is dropped */
#define SIM_EMU_IO_TMO_S 10          /* ...or this long in the middle of a message / a send */

typedef struct sim_emu sim_emu_t;
typedef struct sim_emu_node sim_emu_node_t;

typedef struct {
    ev_io io;                        /* readable: one ei_xreceive_msg */
    sim_emu_node_t *node;
    int fd;
} sim_emu_conn_t;

struct sim_emu_node {
    ev_io listen_io;                 /* readable: ei_accept */
    ev_timer pause;                  /* re-arms listen_io after running out of descriptors */
    sim_emu_t *emu;
    uint32_t index;                  /* global index: --first + k */
    int port;
    int lfd;                         /* -1 when not listening */
    int nconns;
    sim_emu_conn_t *conns[SIM_EMU_MAX_CONNS];
    int64_t last_reductions;         /* "since last call" bases of statistics/1 */
    int64_t last_wall_ms;
    int64_t last_runtime_ms;
    ei_cnode ec;
};

/* Everything counted; printed periodically and at exit. Nothing is dropped silently. */
typedef struct {
    uint64_t accepted;               /* handshakes completed */
    uint64_t handshake_failed;       /* ei_accept failed (garbage, wrong cookie, stall) */
    uint64_t refused_full;           /* node already had SIM_EMU_MAX_CONNS connections */
    uint64_t closed;                 /* connections closed (peer gone or I/O failure) */
    uint64_t ticks;
    uint64_t calls;                  /* rex calls answered */
    uint64_t undef;                  /* ... of which answered with undef */
    uint64_t badarg;                 /* ... of which answered with badarg */
    uint64_t ignored;                /* well-formed messages we do not serve (links, other names) */
    uint64_t malformed;              /* rex messages whose shape we could not decode */
    uint64_t send_failed;
} sim_emu_stats_t;

struct sim_emu {
    struct ev_loop *loop;
    sim_emu_node_t *nodes;
    int count;
    uint64_t seed;
    int64_t start_ms;                /* monotonic ms at start: values are functions of the offset */
    int conns_open;
    ei_x_buff rx;                    /* reused for every received message */
    ei_x_buff tx;                    /* reused for every reply */
    sim_emu_stats_t st;
};

/* sim_emu_node.c -------------------------------------------------------------------------- */

/* Initialises node n (global index `index`, port) as "<alive>@<host>" with the cookie and
 * creation, listens on 127.0.0.1:port and starts watching the listener. Returns 0 or a
 * negative WR_E... code; on failure writes a reason into err. */
int sim_emu_node_open(sim_emu_t *emu, sim_emu_node_t *n, uint32_t index, int port, const char *alive,
                      const char *host, const char *cookie, unsigned creation, char *err, size_t errlen);

/* Stops the watchers and closes the listener and every connection of n. Idempotent. */
void sim_emu_node_close(sim_emu_node_t *n);

/* sim_emu_calls.c ------------------------------------------------------------------------- */

/* Serves one message received on fd by node n: msg and emu->rx as ei_xreceive_msg left
 * them. Answers rex calls ({'$gen_call', {Pid, Tag}, {call, M, F, A, GL}} and the older
 * {Pid, {call, M, F, A, GL}}); counts and ignores everything else. Returns 0, or
 * WR_ECLOSED when the reply could not be sent (the caller closes the connection). */
int sim_emu_calls_handle(sim_emu_t *emu, sim_emu_node_t *n, int fd, const erlang_msg *msg);

#endif
