/* wr_link_client: the child side of a link (wr_link.h): one DEALER per parent, HELLO until
 * first contact, heartbeats, parent liveness and restart (epoch) detection, FAILOVER / ALL
 * sending. Bodies other than COMMAND "hello" are left to the owner. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "wr_error.h"
#include "wr_link.h"
#include "wr_link_priv.h"
#include "wr_time.h"
#include "wr_zwatch.h"

#define WR_CLIENT_MAX_PARENTS 64
#define WR_RECONNECT_IVL_MS   100
#define WR_RECONNECT_MAX_MS   2000

typedef struct {
    wr_client_t *cli;
    int          index;
    void        *zsock;
    wr_zwatch_t  zw;
    int          up;
    int          have_epoch;
    uint64_t     epoch;            /* the parent's epoch last heard */
    int64_t      last_seen_ms;     /* monotonic */
} wr_parent_t;

struct wr_client {
    struct ev_loop        *loop;
    wr_origin_t           *origin;
    wr_hello_t             hello;
    wr_parent_mode_t       mode;
    wr_link_params_t       p;
    wr_client_callbacks_t  cb;
    void                  *ud;
    wr_decoder_t          *dec;
    wr_encoder_t          *enc;      /* control frames: HELLO, HEARTBEAT */
    wr_link_stats_t        st;
    ev_periodic            hb;       /* on multiples of the heartbeat interval of the wall
                                        clock: every process of a fabric beats at the same
                                        instants, so a peer's beat and ours share a wake-up */
    size_t                 n;
    wr_parent_t           *parents;
};

/* ---- sending ------------------------------------------------------------------------- */

static int cli_send_raw(wr_client_t *c, wr_parent_t *par, const void *frame, size_t len)
{
    if (zmq_send(par->zsock, frame, len, ZMQ_DONTWAIT) < 0)
        return WR_EAGAIN;           /* HWM, or (ZMQ_IMMEDIATE) no connection yet */
    c->st.frames_out++;
    c->st.bytes_out += len;
    return 0;
}

/* HELLO with a fresh envelope. A HELLO to an unreachable parent is expected (that is why it
 * is repeated) and not counted as a drop. */
static void cli_send_hello(wr_client_t *c, wr_parent_t *par)
{
    wr_envelope_t env;
    wr_envelope_next(c->origin, WR_MSG_HELLO, &env);
    if (wr_encode_hello(c->enc, &env, &c->hello) == 0)
        (void)cli_send_raw(c, par, wr_encoder_data(c->enc), wr_encoder_size(c->enc));
}

/* ---- receiving ----------------------------------------------------------------------- */

static void cli_bad(wr_client_t *c, wr_parent_t *par, const char *why)
{
    c->st.bad_frames++;
    if (c->cb.on_bad_frame)
        c->cb.on_bad_frame(c->ud, par->index, why);
}

static void cli_handle(wr_client_t *c, wr_parent_t *par, const void *data, size_t len)
{
    char why[256];
    wr_envelope_t env;
    if (wr_decoder_decode(c->dec, data, len, &env, why, sizeof why) != 0) {
        cli_bad(c, par, why);
        return;
    }
    int is_hello_cmd = 0;
    if (env.type == WR_MSG_COMMAND) {
        wr_command_t cmd;
        if (wr_decode_command(c->dec, &cmd, why, sizeof why) != 0) {
            cli_bad(c, par, why);
            return;
        }
        is_hello_cmd = cmd.cmd_len == 5 && memcmp(cmd.cmd, "hello", 5) == 0;
    }
    /* Any frame is a sign of life; the first one, or a new epoch (restart), makes it up. */
    int newly_up = !par->up || (par->have_epoch && par->epoch != env.epoch);
    par->last_seen_ms = wr_mono_ms();
    par->epoch = env.epoch;
    par->have_epoch = 1;
    if (is_hello_cmd) {
        /* The parent does not know us (it restarted, or expired us): HELLO now, then the
         * owner re-sends its snapshot as to a new parent. */
        cli_send_hello(c, par);
        newly_up = 1;
    }
    par->up = 1;
    if (newly_up && c->cb.on_parent_up)
        c->cb.on_parent_up(c->ud, par->index);
    if (is_hello_cmd || env.type == WR_MSG_HEARTBEAT)
        return;
    if (c->cb.on_message)
        c->cb.on_message(c->ud, par->index, &env, c->dec);
}

static void cli_on_readable(wr_zwatch_t *w, void *zsock, void *ud)
{
    wr_parent_t *par = ud;
    wr_client_t *c = par->cli;
    zmq_msg_t m;
    (void)w;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, zsock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        return;
    }
    c->st.frames_in++;
    c->st.bytes_in += zmq_msg_size(&m);
    if (zmq_msg_more(&m)) {
        char why[96];
        int extra = wr_link_drain_parts(zsock);
        snprintf(why, sizeof why, "multipart message of %d frames (expected 1)", 1 + extra);
        cli_bad(c, par, why);
    } else {
        cli_handle(c, par, zmq_msg_data(&m), zmq_msg_size(&m));
    }
    zmq_msg_close(&m);
}

/* ---- heartbeat timer ----------------------------------------------------------------- */

static void cli_tick(struct ev_loop *loop, ev_periodic *t, int revents)
{
    wr_client_t *c = t->data;
    (void)loop; (void)revents;
    int64_t now = wr_mono_ms();
    int64_t timeout = (int64_t)c->p.heartbeat_ms * c->p.misses;
    for (size_t i = 0; i < c->n; i++) {
        wr_parent_t *par = &c->parents[i];
        if (par->up && now - par->last_seen_ms > timeout) {
            par->up = 0;
            if (c->cb.on_parent_down)
                c->cb.on_parent_down(c->ud, par->index);
        }
    }
    int any_up = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (!c->parents[i].up)
            cli_send_hello(c, &c->parents[i]);
        else
            any_up = 1;
    }
    if (!any_up)
        return;
    wr_envelope_t env;
    wr_envelope_next(c->origin, WR_MSG_HEARTBEAT, &env);
    if (wr_encode_heartbeat(c->enc, &env) != 0)
        return;
    for (size_t i = 0; i < c->n; i++)
        if (c->parents[i].up)
            (void)cli_send_raw(c, &c->parents[i], wr_encoder_data(c->enc), wr_encoder_size(c->enc));
}

/* ---- public API ---------------------------------------------------------------------- */

static int cli_open_parent(wr_client_t *c, void *zctx, wr_parent_t *par, const char *endpoint,
                           char *err, size_t errlen)
{
    const char *id = c->origin->id;
    par->zsock = zmq_socket(zctx, ZMQ_DEALER);
    if (!par->zsock) {
        snprintf(err, errlen, "zmq_socket DEALER: %s", zmq_strerror(zmq_errno()));
        return WR_EIO;
    }
    if (zmq_setsockopt(par->zsock, ZMQ_ROUTING_ID, id, strlen(id)) != 0) {
        snprintf(err, errlen, "setsockopt ZMQ_ROUTING_ID '%s': %s", id, zmq_strerror(zmq_errno()));
        return WR_EIO;
    }
    /* IMMEDIATE: queue only to a completed connection, so HELLOs do not pile up while a
     * parent is unreachable and frames meant for a dead parent fail fast (counted). */
    if (wr_link_sock_setup(par->zsock, &c->p, err, errlen) != 0 ||
        wr_link_setopt_int(par->zsock, ZMQ_IMMEDIATE, 1, "ZMQ_IMMEDIATE", err, errlen) ||
        wr_link_setopt_int(par->zsock, ZMQ_RECONNECT_IVL, WR_RECONNECT_IVL_MS, "ZMQ_RECONNECT_IVL", err, errlen) ||
        wr_link_setopt_int(par->zsock, ZMQ_RECONNECT_IVL_MAX, WR_RECONNECT_MAX_MS, "ZMQ_RECONNECT_IVL_MAX", err, errlen))
        return WR_EIO;
    if (zmq_connect(par->zsock, endpoint) != 0) {
        snprintf(err, errlen, "connect %s: %s", endpoint, zmq_strerror(zmq_errno()));
        return WR_EIO;
    }
    if (wr_zwatch_start(&par->zw, c->loop, par->zsock, 0, cli_on_readable, par) != 0) {
        snprintf(err, errlen, "%s: cannot watch socket (ZMQ_FD)", endpoint);
        return WR_EIO;
    }
    return 0;
}

wr_client_t *wr_client_new(struct ev_loop *loop, void *zctx, const char *const *endpoints,
                           size_t n_endpoints, wr_parent_mode_t mode, wr_origin_t *origin,
                           const wr_hello_t *hello, const wr_link_params_t *params,
                           const wr_client_callbacks_t *cb, void *ud, char *err, size_t errlen)
{
    char scratch[8];
    if (!err || !errlen) {
        err = scratch;
        errlen = sizeof scratch;
    }
    err[0] = '\0';
    if (!loop || !zctx || !endpoints || !origin || !hello || !cb) {
        snprintf(err, errlen, "wr_client_new: missing argument");
        return NULL;
    }
    if (n_endpoints == 0 || n_endpoints > WR_CLIENT_MAX_PARENTS) {
        snprintf(err, errlen, "wr_client_new: %zu parents (expected 1..%d)", n_endpoints, WR_CLIENT_MAX_PARENTS);
        return NULL;
    }
    if (mode != WR_PARENTS_FAILOVER && mode != WR_PARENTS_ALL) {
        snprintf(err, errlen, "wr_client_new: unknown parent mode %d", (int)mode);
        return NULL;
    }
    size_t idlen = strnlen(origin->id, WR_ID_MAX);
    if (idlen == 0 || idlen >= WR_ID_MAX) {
        snprintf(err, errlen, "wr_client_new: origin id must be 1..%d bytes", WR_ID_MAX - 1);
        return NULL;
    }
    for (size_t i = 0; i < n_endpoints; i++) {
        if (!endpoints[i]) {
            snprintf(err, errlen, "wr_client_new: endpoint %zu is NULL", i);
            return NULL;
        }
    }
    wr_client_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->loop = loop;
    c->origin = origin;
    c->hello = *hello;
    c->mode = mode;
    c->cb = *cb;
    c->ud = ud;
    wr_link_params_resolve(params, &c->p);
    c->dec = wr_decoder_new(c->p.max_frame);
    c->enc = wr_encoder_new();
    c->parents = calloc(n_endpoints, sizeof *c->parents);
    if (!c->dec || !c->enc || !c->parents) {
        snprintf(err, errlen, "out of memory");
        wr_client_destroy(&c);
        return NULL;
    }
    for (size_t i = 0; i < n_endpoints; i++) {
        wr_parent_t *par = &c->parents[i];
        par->cli = c;
        par->index = (int)i;
        c->n = i + 1;               /* destroy cleans up what was opened */
        if (cli_open_parent(c, zctx, par, endpoints[i], err, errlen) != 0) {
            wr_client_destroy(&c);
            return NULL;
        }
    }
    double ival = c->p.heartbeat_ms / 1000.0;
    ev_periodic_init(&c->hb, cli_tick, 0., ival, 0);
    c->hb.data = c;
    ev_periodic_start(loop, &c->hb);
    for (size_t i = 0; i < c->n; i++)   /* first try now (lands if already connected) */
        cli_send_hello(c, &c->parents[i]);
    return c;
}

void wr_client_destroy(wr_client_t **cli)
{
    if (!cli || !*cli)
        return;
    wr_client_t *c = *cli;
    if (ev_is_active(&c->hb))
        ev_periodic_stop(c->loop, &c->hb);
    for (size_t i = 0; c->parents && i < c->n; i++) {
        wr_zwatch_stop(&c->parents[i].zw);
        if (c->parents[i].zsock)
            zmq_close(c->parents[i].zsock);
    }
    free(c->parents);
    wr_decoder_destroy(&c->dec);
    wr_encoder_destroy(&c->enc);
    free(c);
    *cli = NULL;
}

int wr_client_active(const wr_client_t *cli)
{
    if (!cli)
        return -1;
    for (size_t i = 0; i < cli->n; i++)
        if (cli->parents[i].up)
            return (int)i;
    return -1;
}

int wr_client_send_to(wr_client_t *cli, int parent, const void *frame, size_t len)
{
    if (!cli || (!frame && len) || parent < 0 || (size_t)parent >= cli->n)
        return WR_EINVAL;
    wr_parent_t *par = &cli->parents[parent];
    if (!par->up)
        return WR_ENOTFOUND;
    if (cli_send_raw(cli, par, frame, len) != 0) {
        cli->st.send_dropped++;
        return WR_EAGAIN;
    }
    return 0;
}

int wr_client_send(wr_client_t *cli, const void *frame, size_t len)
{
    if (!cli || (!frame && len))
        return WR_EINVAL;
    if (cli->mode == WR_PARENTS_FAILOVER) {
        int active = wr_client_active(cli);
        if (active < 0)
            return WR_ENOTFOUND;
        return wr_client_send_to(cli, active, frame, len);
    }
    int candidates = 0, sent = 0;
    for (size_t i = 0; i < cli->n; i++) {
        if (!cli->parents[i].up)
            continue;
        candidates++;
        if (wr_client_send_to(cli, (int)i, frame, len) == 0)
            sent++;
    }
    if (candidates == 0)
        return WR_ENOTFOUND;
    return sent ? 0 : WR_EAGAIN;
}

int wr_client_parent_up(const wr_client_t *cli, int parent)
{
    if (!cli || parent < 0 || (size_t)parent >= cli->n)
        return 0;
    return cli->parents[parent].up;
}

size_t wr_client_parent_count(const wr_client_t *cli)
{
    return cli ? cli->n : 0;
}

void wr_client_stats(const wr_client_t *cli, wr_link_stats_t *out)
{
    if (!out)
        return;
    if (cli)
        *out = cli->st;
    else
        memset(out, 0, sizeof *out);
}
