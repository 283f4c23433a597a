/* sim_emu: types shared by the files of `warren-sim emulate` (sim_emu*.c). Internal to
 * warren-sim, not a library API. One process runs a block of emulated BEAM nodes on one libev
 * loop: per node an ei_cnode, a listening socket on 127.0.0.1 (no epmd registration) and the
 * few distribution connections accepted on it (usually one: the leaf). */
#ifndef SIM_EMU_H
#define SIM_EMU_H
#include <stddef.h>
#include <stdint.h>
#include <ev.h>
#ifndef _REENTRANT
#define _REENTRANT 1   /* libei.a is the thread-safe build: erl_errno is per thread */
#endif
#include <ei.h>
#include "sim_emu_values.h"
#include "sim_inject.h"

#define SIM_EMU_MAX_CONNS 4          /* connections one emulated node keeps at once */
#define SIM_EMU_HANDSHAKE_TMO_S 3    /* a peer stalled this long in the handshake is dropped */
#define SIM_EMU_IO_TMO_S 10          /* ...or this long in the middle of a message / a send */

typedef struct sim_emu sim_emu_t;

/* A decoded rex call: atoms M and F, the argument list as raw external-format bytes. */
typedef struct {
    char m[MAXATOMLEN_UTF8];
    char f[MAXATOMLEN_UTF8];
    const char *buf;      /* the message */
    int args_at, args_end;
    int arity;
    int args_is_string;   /* a list of small integers arrives as STRING_EXT */
    int arg0_at;          /* the first argument, when arity >= 1 and not a string */
} sim_emu_call_t;
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
    int agent_loaded;                /* warren_agent "loaded" by code:load_binary/3; until the
                                        node restarts (a crash fault) */
    int down;                        /* crashed: no listener, no connections until restart */
    sim_emu_life_t life;             /* restarts and when the current life began */
    sim_inject_faults_t *faults;     /* NULL until a fault is injected (sim_emu_ctl.c) */
    int notif_fd;                    /* connection of the leaf that called warren_agent:
                                        subscribe/2 (pushes go there), or -1 */
    char notif_leaf[MAXNODELEN + 1]; /* ... and that leaf's node name */
    uint64_t notif_seq;              /* log_storm reports pushed in this life */
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
    uint64_t agent_loads;            /* code:load_binary(warren_agent, ...) accepted */
    uint64_t agent_collects;         /* warren_agent:collect/1 answered */
    uint64_t agent_procs;            /* warren_agent:procs/2 answered */
    uint64_t agent_census;           /* warren_agent:census/0 answered */
    uint64_t silenced;               /* rex calls left unanswered by a silent fault */
    uint64_t refused_silent;         /* connections closed unanswered by a silent node */
    uint64_t crashes, restarts;      /* crash faults applied, nodes back after one */
    uint64_t ctl_commands;           /* control-socket commands served */
    uint64_t ctl_errors;             /* ... of which refused (bad line, unknown node or fault) */
    uint64_t scenario_fired;         /* scenario entries applied */
    uint64_t subscribes;             /* warren_agent:subscribe/2 answered {ok, Pid} */
    uint64_t notif_pushed;           /* {warren_notif, ...} sent to a subscribed leaf */
    uint64_t notif_failed;           /* ... not sent (connection gone or send failed) */
} sim_emu_stats_t;

typedef struct sim_emu_ctl sim_emu_ctl_t;

struct sim_emu {
    struct ev_loop *loop;
    sim_emu_node_t *nodes;
    int count;
    uint64_t seed;
    int64_t start_ms;                /* monotonic ms at start: values are functions of the offset */
    int conns_open;
    ei_x_buff rx;                    /* reused for every received message */
    ei_x_buff tx;                    /* reused for every reply */
    int have_agent;                  /* agent_md5 known: the agent can be emulated */
    unsigned char agent_md5[16];     /* beam_lib:md5 of this build's warren_agent */
    int workload;                    /* SIM_WORKLOAD_... of every node */
    long first;                      /* global index of nodes[0] */
    sim_emu_ctl_t *ctl;              /* control socket and scenario (sim_emu_ctl.c), or NULL */
    int call_fd;                     /* connection of the rex call being served */
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

/* Crash: closes n's listener and connections (new connections are refused) and marks it
 * down. Idempotent. */
void sim_emu_node_crash(sim_emu_node_t *n);

/* Restart after a crash: listens again on the same port as the same name with a new
 * creation, a new life (uptime and counters from SIM_EMU_BOOT_MS, boot_ms = now_ms), no
 * faults and the agent not loaded. Returns 0 or a negative WR_E... code (err says why; the
 * node stays down and the caller may retry). */
int sim_emu_node_restart(sim_emu_node_t *n, int64_t now_ms, char *err, size_t errlen);

/* The node's values now: its workload in its life, with its faults applied. */
void sim_emu_node_sample(sim_emu_t *emu, const sim_emu_node_t *n, sim_emu_sample_t *s);

/* ms since the emulator started (the time base of values, faults and scenarios). */
int64_t sim_emu_now(const sim_emu_t *emu);

/* sim_emu_ctl.c --------------------------------------------------------------------------- */

/* Starts the control socket at sock_path (unix stream, one command line per connection, see
 * docs/SIM.md) when not NULL, and plays the scenario file's entries for this emulator's
 * nodes when scenario_path is not NULL. Returns 0, or a negative WR_E... code with err set
 * (a bad scenario line: "file:line: error: ..."). */
int sim_emu_ctl_start(sim_emu_t *emu, const char *sock_path, const char *scenario_path,
                      char *err, size_t errlen);

/* Stops both and removes the socket file. Idempotent. */
void sim_emu_ctl_stop(sim_emu_t *emu);

/* Applies one fault now (or clears it, or every fault with fault -1 and clear), as the
 * control socket and the scenario do. Returns 0 or WR_EINVAL with err set. */
int sim_emu_ctl_apply(sim_emu_t *emu, sim_emu_node_t *n, int fault, int clear, int64_t duration_ms,
                      const char *arg, char *err, size_t errlen);

/* sim_emu_calls.c ------------------------------------------------------------------------- */

/* Serves one message received on fd by node n: msg and emu->rx as ei_xreceive_msg left
 * them. Answers rex calls ({'$gen_call', {Pid, Tag}, {call, M, F, A, GL}} and the older
 * {Pid, {call, M, F, A, GL}}); counts and ignores everything else. Returns 0, or
 * WR_ECLOSED when the reply could not be sent (the caller closes the connection). */
int sim_emu_calls_handle(sim_emu_t *emu, sim_emu_node_t *n, int fd, const erlang_msg *msg);

/* sim_emu_agent.c ------------------------------------------------------------------------- */

/* Pushes what a subscribed agent would push now (called every control tick): while
 * log_storm is active on n, error_report notifications {warren_notif, error_report, major,
 * TsMs, [{level, error}, {text, Bin}, {pid, Bin}]} to {warren_leaf, Leaf} at
 * SIM_LOG_STORM_NOTIF_RATE a second (under the agent's default source_rate, 100). */
void sim_emu_agent_push(sim_emu_t *emu, sim_emu_node_t *n, double tick_s);

/* Reads the agent's md5 (32 hex digits, build/agent/warren_agent.md5) from path, or when
 * path is NULL from ../agent/warren_agent.md5 beside this executable. Sets emu->have_agent;
 * on failure returns a negative WR_E... code with the reason in err (the emulator then
 * answers warren_agent calls with undef, like a node that never loaded it). */
int sim_emu_agent_init(sim_emu_t *emu, const char *path, char *err, size_t errlen);

/* Answers c (module warren_agent or code) of node n into x: module_info(md5) (undef until
 * loaded), code:load_binary(warren_agent, File, Bin), collect(Opts), procs(By, N). Returns 0
 * when x holds the reply, 1 for undef, -1 for badarg (x untouched in both cases). */
int sim_emu_agent_call(sim_emu_t *emu, sim_emu_node_t *n, const sim_emu_call_t *c, ei_x_buff *x);

#endif
