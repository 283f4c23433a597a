/* wr_link: the links between tiers (DESIGN section 2) over ZeroMQ, driven by libev.
 *
 * A parent binds one ROUTER (wr_server); a child holds one DEALER per parent (wr_client).
 * The link layer owns: socket options (high-water marks, linger, ROUTER_MANDATORY,
 * ROUTER_HANDOVER, routing id = the child's id), heartbeats both ways, dead-peer detection,
 * frame decoding (envelope level) and counters. It does not interpret bodies except
 * HEARTBEAT and HELLO; everything else is handed to the owner's callback with the decoder
 * positioned on the frame, so the owner calls wr_decode_<type>(dec, ...).
 *
 * Liveness: every side sends HEARTBEAT every heartbeat_ms to each live peer; any frame
 * received counts as a sign of life; a peer silent for heartbeat_ms * misses is dead.
 *
 * Child side protocol: a client sends HELLO to a parent every heartbeat_ms until it hears
 * anything back from it; the first frame from a parent (or a frame carrying a new epoch of
 * that parent: it restarted) makes it "up" and calls on_parent_up, where the owner sends a
 * SNAPSHOT. Silence past the timeout makes it "down" (on_parent_down) and HELLOs resume.
 * Server side: a HELLO from an unknown or restarted (new epoch) child makes it up
 * (on_peer_up with the decoded hello); any other frame from an unknown child is answered with
 * COMMAND {cmd:"hello"} (the client then re-sends HELLO) and dropped (counted).
 * A client that receives COMMAND "hello" re-sends HELLO and treats the parent as newly up.
 *
 * Everything runs on the loop's thread. Frames that fail to decode are dropped, counted and
 * reported through on_bad_frame (the process keeps running). */
#ifndef WR_LINK_H
#define WR_LINK_H
#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include "wr_codec.h"

typedef struct {
    uint32_t heartbeat_ms;    /* default 1000 */
    uint32_t misses;          /* default 3 */
    int      sndhwm;          /* default 10000 frames */
    int      rcvhwm;          /* default 10000 frames */
    size_t   max_frame;       /* default WR_WIRE_DEFAULT_MAX_FRAME */
} wr_link_params_t;

/* Fills p with the defaults above. */
void wr_link_params_default(wr_link_params_t *p);

typedef struct {
    uint64_t frames_in, frames_out, bytes_in, bytes_out;
    uint64_t bad_frames;      /* failed to decode, dropped */
    uint64_t send_dropped;    /* EAGAIN (HWM) or unroutable: frame not sent */
    uint64_t unknown_peer;    /* frames from a child that had not said HELLO */
} wr_link_stats_t;

/* Per-second rates of a process's link counters (all its links summed), for the tier entry
 * of state frames (wr_tier_entry_t) and the reports built from it. */
typedef struct {
    double frames_in, frames_out, bytes_in, bytes_out;
} wr_link_rates_t;

typedef struct {
    wr_link_stats_t last;     /* totals at last_ms */
    int64_t         last_ms;  /* 0: not started */
    wr_link_rates_t rates;    /* over the last completed window (zero until one completed) */
} wr_link_meter_t;

/* sum += x, field by field. */
void wr_link_stats_add(wr_link_stats_t *sum, const wr_link_stats_t *x);
/* Feeds the cumulative totals at now_ms (monotonic); recomputes m->rates when at least
 * min_ms passed since the previous window closed, else keeps them. Zero-initialise m first. */
void wr_link_meter_update(wr_link_meter_t *m, const wr_link_stats_t *total, int64_t now_ms,
                          int64_t min_ms);

/* ---- parent side ------------------------------------------------------------------ */

typedef struct wr_server wr_server_t;

typedef struct {
    /* A child said HELLO (new, or restarted with a new epoch). */
    void (*on_peer_up)(void *ud, const char *peer, const wr_envelope_t *env, const wr_hello_t *hello);
    /* A child was silent past the timeout; it is forgotten. */
    void (*on_peer_down)(void *ud, const char *peer);
    /* Any frame other than HELLO / HEARTBEAT from a live child. dec holds the frame. */
    void (*on_message)(void *ud, const char *peer, const wr_envelope_t *env, wr_decoder_t *dec);
    /* Optional: a frame was dropped as malformed; why says what was wrong. */
    void (*on_bad_frame)(void *ud, const char *peer, const char *why);
} wr_server_callbacks_t;

/* Binds a ROUTER on endpoint ("tcp://127.0.0.1:7300", "ipc:///tmp/x") and starts its
 * watchers. origin is the server's own envelope origin (kept by pointer: the owner's seq
 * counter is shared). zctx may be shared by every link of the process.
 * Returns NULL with a reason in err (e.g. "bind tcp://...: Address already in use"). */
wr_server_t *wr_server_new(struct ev_loop *loop, void *zctx, const char *endpoint,
                           wr_origin_t *origin, const wr_link_params_t *params,
                           const wr_server_callbacks_t *cb, void *ud, char *err, size_t errlen);
void wr_server_destroy(wr_server_t **srv);

/* Sends one encoded frame to a child. Returns 0, WR_ENOTFOUND (no such live child) or
 * WR_EAGAIN (HWM reached or peer gone; counted in send_dropped). Never blocks. */
int wr_server_send(wr_server_t *srv, const char *peer, const void *frame, size_t len);

/* The TCP port actually bound (useful with "tcp://127.0.0.1:*"), or 0. */
int wr_server_port(const wr_server_t *srv);
/* Number of live children and their ids (valid until the next loop iteration). */
size_t wr_server_peer_count(const wr_server_t *srv);
const char *wr_server_peer_at(const wr_server_t *srv, size_t i);
void wr_server_stats(const wr_server_t *srv, wr_link_stats_t *out);

/* ---- child side -------------------------------------------------------------------- */

typedef enum { WR_PARENTS_FAILOVER = 0, WR_PARENTS_ALL = 1 } wr_parent_mode_t;

typedef struct wr_client wr_client_t;

typedef struct {
    /* Parent i is up (first contact, restarted, or asked for HELLO): send it a SNAPSHOT. */
    void (*on_parent_up)(void *ud, int parent);
    void (*on_parent_down)(void *ud, int parent);
    /* Any frame other than HEARTBEAT / COMMAND "hello" from parent i. */
    void (*on_message)(void *ud, int parent, const wr_envelope_t *env, wr_decoder_t *dec);
    void (*on_bad_frame)(void *ud, int parent, const char *why);
} wr_client_callbacks_t;

/* Connects one DEALER per endpoint (routing id = origin->id) and starts saying HELLO with
 * the given hello body. Returns NULL with a reason in err. */
wr_client_t *wr_client_new(struct ev_loop *loop, void *zctx, const char *const *endpoints,
                           size_t n_endpoints, wr_parent_mode_t mode, wr_origin_t *origin,
                           const wr_hello_t *hello, const wr_link_params_t *params,
                           const wr_client_callbacks_t *cb, void *ud, char *err, size_t errlen);
void wr_client_destroy(wr_client_t **cli);

/* Sends one frame upward according to the mode: FAILOVER, to the active parent (the first
 * live one in list order); ALL, to every live parent. Returns 0 if at least one parent took
 * it, WR_ENOTFOUND if no parent is up, WR_EAGAIN if every candidate was at its HWM. */
int wr_client_send(wr_client_t *cli, const void *frame, size_t len);
/* Sends to parent i only (e.g. a SNAPSHOT in on_parent_up, a REPLY to who asked). */
int wr_client_send_to(wr_client_t *cli, int parent, const void *frame, size_t len);

/* Index of the active parent (FAILOVER) or first live one (ALL), or -1 if none is up. */
int wr_client_active(const wr_client_t *cli);
int wr_client_parent_up(const wr_client_t *cli, int parent);
size_t wr_client_parent_count(const wr_client_t *cli);
void wr_client_stats(const wr_client_t *cli, wr_link_stats_t *out);

#endif
