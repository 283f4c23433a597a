/* wr_link_server: the parent side of a link (wr_link.h): one ROUTER, a table of live
 * children (sorted array keyed by routing id = child id), heartbeats, dead-child expiry and
 * HELLO handling. Bodies other than HELLO are left to the owner. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "wr_error.h"
#include "wr_link.h"
#include "wr_link_priv.h"
#include "wr_time.h"
#include "wr_zwatch.h"

#define WR_SERVER_MAX_PEERS 65536
#define WR_ROUTING_ID_MAX   255

typedef struct {
    char     id[WR_ID_MAX];        /* NUL-terminated routing id */
    uint64_t epoch;
    int64_t  last_seen_ms;         /* monotonic */
} wr_peer_t;

struct wr_server {
    struct ev_loop        *loop;
    void                  *zsock;
    wr_zwatch_t            zw;
    ev_periodic            hb;       /* on multiples of the heartbeat interval of the wall
                                        clock: every process of a fabric beats at the same
                                        instants, so a peer's beat and ours share a wake-up */
    wr_origin_t           *origin;
    wr_link_params_t       p;
    wr_server_callbacks_t  cb;
    void                  *ud;
    wr_decoder_t          *dec;
    wr_encoder_t          *enc;      /* control frames: HEARTBEAT, COMMAND hello */
    wr_link_stats_t        st;
    int                    port;
    wr_peer_t             *peers;    /* sorted by id */
    size_t                 n_peers, cap_peers;
    char                   id_text[2 * WR_ROUTING_ID_MAX + 3];
};

/* ---- peer table ---------------------------------------------------------------------- */

/* Copies a routing id into key if it can be a tier id (1..WR_ID_MAX-1 bytes, no NUL). */
static int id_to_key(const void *id, size_t len, char key[WR_ID_MAX])
{
    if (len == 0 || len >= WR_ID_MAX || memchr(id, '\0', len))
        return 0;
    memcpy(key, id, len);
    key[len] = '\0';
    return 1;
}

/* A printable form of a routing id for callbacks: the id itself, or 0x<hex>. */
static const char *id_text(wr_server_t *s, const void *id, size_t len)
{
    const unsigned char *b = id;
    int printable = len > 0 && len < sizeof s->id_text;
    for (size_t i = 0; printable && i < len; i++)
        printable = b[i] >= 0x20 && b[i] < 0x7f;
    if (printable) {
        memcpy(s->id_text, id, len);
        s->id_text[len] = '\0';
        return s->id_text;
    }
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    s->id_text[o++] = '0';
    s->id_text[o++] = 'x';
    for (size_t i = 0; i < len && o + 2 < sizeof s->id_text; i++) {
        s->id_text[o++] = hex[b[i] >> 4];
        s->id_text[o++] = hex[b[i] & 15];
    }
    s->id_text[o] = '\0';
    return s->id_text;
}

/* Index of key, or -1 with *pos = where it would be inserted. */
static long peer_find(const wr_server_t *s, const char *key, size_t *pos)
{
    size_t lo = 0, hi = s->n_peers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->peers[mid].id, key);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (pos)
        *pos = lo;
    return -1;
}

static int peer_insert(wr_server_t *s, size_t pos, const char *key, uint64_t epoch, int64_t now)
{
    if (s->n_peers == s->cap_peers) {
        if (s->cap_peers >= WR_SERVER_MAX_PEERS)
            return WR_EFULL;
        size_t cap = s->cap_peers ? s->cap_peers * 2 : 16;
        wr_peer_t *np = realloc(s->peers, cap * sizeof *np);
        if (!np)
            return WR_ENOMEM;
        s->peers = np;
        s->cap_peers = cap;
    }
    memmove(&s->peers[pos + 1], &s->peers[pos], (s->n_peers - pos) * sizeof *s->peers);
    wr_peer_t *pe = &s->peers[pos];
    memset(pe, 0, sizeof *pe);
    strcpy(pe->id, key);
    pe->epoch = epoch;
    pe->last_seen_ms = now;
    s->n_peers++;
    return 0;
}

static void peer_remove(wr_server_t *s, size_t i)
{
    memmove(&s->peers[i], &s->peers[i + 1], (s->n_peers - i - 1) * sizeof *s->peers);
    s->n_peers--;
}

/* ---- sending ------------------------------------------------------------------------- */

/* [identity][frame], never blocking. Returns 0 or WR_EAGAIN (HWM, or peer not connected). */
static int srv_send_raw(wr_server_t *s, const void *id, size_t idlen, const void *frame, size_t len)
{
    if (zmq_send(s->zsock, id, idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return WR_EAGAIN;           /* EAGAIN (HWM) or EHOSTUNREACH (ROUTER_MANDATORY) */
    if (zmq_send(s->zsock, frame, len, ZMQ_DONTWAIT) < 0)
        return WR_EAGAIN;
    s->st.frames_out++;
    s->st.bytes_out += len;
    return 0;
}

/* Control frames (HEARTBEAT, COMMAND hello) that cannot be sent are not owner data: they are
 * not counted in send_dropped (a gone peer is detected by the heartbeat timeout). */
static void srv_send_command_hello(wr_server_t *s, const void *id, size_t idlen)
{
    wr_envelope_t env;
    wr_command_t cmd = {.cmd = "hello", .cmd_len = 5, .args = "", .args_len = 0};
    wr_envelope_next(s->origin, WR_MSG_COMMAND, &env);
    if (wr_encode_command(s->enc, &env, &cmd) == 0)
        (void)srv_send_raw(s, id, idlen, wr_encoder_data(s->enc), wr_encoder_size(s->enc));
}

/* ---- receiving ----------------------------------------------------------------------- */

static void srv_bad(wr_server_t *s, const void *id, size_t idlen, const char *why)
{
    s->st.bad_frames++;
    if (s->cb.on_bad_frame)
        s->cb.on_bad_frame(s->ud, id_text(s, id, idlen), why);
}

static void srv_handle_hello(wr_server_t *s, const void *id, size_t idlen, const wr_envelope_t *env,
                             int64_t now)
{
    char key[WR_ID_MAX], why[256];
    wr_hello_t hello;
    if (!id_to_key(id, idlen, key)) {
        srv_bad(s, id, idlen, "HELLO: routing id is not a valid tier id (1-63 bytes, no NUL)");
        return;
    }
    if (strcmp(env->from, key) != 0) {
        snprintf(why, sizeof why, "HELLO: envelope from '%.63s' does not match routing id", env->from);
        srv_bad(s, id, idlen, why);
        return;
    }
    if (wr_decode_hello(s->dec, &hello, why, sizeof why) != 0) {
        srv_bad(s, id, idlen, why);
        return;
    }
    size_t pos = 0;
    long idx = peer_find(s, key, &pos);
    if (idx >= 0) {
        wr_peer_t *pe = &s->peers[idx];
        pe->last_seen_ms = now;
        if (pe->epoch == env->epoch)
            return;                 /* a repeated HELLO: already up */
        pe->epoch = env->epoch;     /* restarted */
    } else {
        int rc = peer_insert(s, pos, key, env->epoch, now);
        if (rc != 0) {
            snprintf(why, sizeof why, "HELLO: cannot add peer: %s (%zu peers)", wr_strerror(rc), s->n_peers);
            srv_bad(s, id, idlen, why);
            return;
        }
    }
    if (s->cb.on_peer_up)
        s->cb.on_peer_up(s->ud, key, env, &hello);
}

static void srv_handle(wr_server_t *s, const void *id, size_t idlen, const void *data, size_t len)
{
    char why[256], key[WR_ID_MAX];
    wr_envelope_t env;
    if (wr_decoder_decode(s->dec, data, len, &env, why, sizeof why) != 0) {
        srv_bad(s, id, idlen, why);
        return;
    }
    int64_t now = wr_mono_ms();
    if (env.type == WR_MSG_HELLO) {
        srv_handle_hello(s, id, idlen, &env, now);
        return;
    }
    long idx = id_to_key(id, idlen, key) ? peer_find(s, key, NULL) : -1;
    if (idx < 0 || s->peers[idx].epoch != env.epoch) {
        /* Never said HELLO, or restarted without saying it yet: ask for one. */
        s->st.unknown_peer++;
        srv_send_command_hello(s, id, idlen);
        return;
    }
    s->peers[idx].last_seen_ms = now;
    if (env.type == WR_MSG_HEARTBEAT)
        return;
    if (s->cb.on_message)
        s->cb.on_message(s->ud, key, &env, s->dec);
}

static void srv_on_readable(wr_zwatch_t *w, void *zsock, void *ud)
{
    wr_server_t *s = ud;
    zmq_msg_t idm, fm;
    char why[96];
    (void)w;
    zmq_msg_init(&idm);
    if (zmq_msg_recv(&idm, zsock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&idm);
        return;
    }
    const void *id = zmq_msg_data(&idm);
    size_t idlen = zmq_msg_size(&idm);
    if (!zmq_msg_more(&idm)) {
        s->st.frames_in++;
        srv_bad(s, id, idlen, "message of 1 part (expected [identity][frame])");
        zmq_msg_close(&idm);
        return;
    }
    zmq_msg_init(&fm);
    if (zmq_msg_recv(&fm, zsock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&fm);
        zmq_msg_close(&idm);
        return;
    }
    s->st.frames_in++;
    s->st.bytes_in += zmq_msg_size(&fm);
    if (zmq_msg_more(&fm)) {
        int extra = wr_link_drain_parts(zsock);
        snprintf(why, sizeof why, "multipart message of %d frames (expected 1)", 1 + extra + 1);
        srv_bad(s, id, idlen, why);
    } else {
        srv_handle(s, id, idlen, zmq_msg_data(&fm), zmq_msg_size(&fm));
    }
    zmq_msg_close(&fm);
    zmq_msg_close(&idm);
}

/* ---- heartbeat timer ----------------------------------------------------------------- */

static void srv_tick(struct ev_loop *loop, ev_periodic *t, int revents)
{
    wr_server_t *s = t->data;
    (void)loop; (void)revents;
    int64_t now = wr_mono_ms();
    int64_t timeout = (int64_t)s->p.heartbeat_ms * s->p.misses;
    for (size_t i = s->n_peers; i-- > 0;) {
        if (i >= s->n_peers || now - s->peers[i].last_seen_ms <= timeout)
            continue;
        char id[WR_ID_MAX];
        memcpy(id, s->peers[i].id, sizeof id);
        peer_remove(s, i);
        if (s->cb.on_peer_down)
            s->cb.on_peer_down(s->ud, id);
    }
    if (s->n_peers == 0)
        return;
    wr_envelope_t env;
    wr_envelope_next(s->origin, WR_MSG_HEARTBEAT, &env);
    if (wr_encode_heartbeat(s->enc, &env) != 0)
        return;
    const void *frame = wr_encoder_data(s->enc);
    size_t len = wr_encoder_size(s->enc);
    for (size_t i = 0; i < s->n_peers; i++)
        (void)srv_send_raw(s, s->peers[i].id, strlen(s->peers[i].id), frame, len);
}

/* ---- public API ---------------------------------------------------------------------- */

static int parse_port(const char *ep)
{
    if (strncmp(ep, "tcp://", 6) != 0)
        return 0;
    const char *colon = strrchr(ep, ':');
    if (!colon || colon < ep + 6)
        return 0;
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || port <= 0 || port > 65535)
        return 0;
    return (int)port;
}

wr_server_t *wr_server_new(struct ev_loop *loop, void *zctx, const char *endpoint,
                           wr_origin_t *origin, const wr_link_params_t *params,
                           const wr_server_callbacks_t *cb, void *ud, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!loop || !zctx || !endpoint || !origin || !cb) {
        if (err && errlen)
            snprintf(err, errlen, "wr_server_new: missing argument");
        return NULL;
    }
    wr_server_t *s = calloc(1, sizeof *s);
    if (!s) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->loop = loop;
    s->origin = origin;
    s->cb = *cb;
    s->ud = ud;
    wr_link_params_resolve(params, &s->p);
    s->dec = wr_decoder_new(s->p.max_frame);
    s->enc = wr_encoder_new();
    if (!s->dec || !s->enc) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        goto fail;
    }
    s->zsock = zmq_socket(zctx, ZMQ_ROUTER);
    if (!s->zsock) {
        if (err && errlen)
            snprintf(err, errlen, "zmq_socket ROUTER: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (wr_link_sock_setup(s->zsock, &s->p, err, errlen) != 0 ||
        wr_link_setopt_int(s->zsock, ZMQ_ROUTER_MANDATORY, 1, "ZMQ_ROUTER_MANDATORY", err, errlen) ||
        wr_link_setopt_int(s->zsock, ZMQ_ROUTER_HANDOVER, 1, "ZMQ_ROUTER_HANDOVER", err, errlen))
        goto fail;
    if (zmq_bind(s->zsock, endpoint) != 0) {
        if (err && errlen)
            snprintf(err, errlen, "bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
        goto fail;
    }
    char last[512];
    size_t lastlen = sizeof last;
    if (zmq_getsockopt(s->zsock, ZMQ_LAST_ENDPOINT, last, &lastlen) == 0) {
        last[sizeof last - 1] = '\0';
        s->port = parse_port(last);
    }
    if (wr_zwatch_start(&s->zw, loop, s->zsock, 0, srv_on_readable, s) != 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot watch socket (ZMQ_FD)", endpoint);
        goto fail;
    }
    double ival = s->p.heartbeat_ms / 1000.0;
    ev_periodic_init(&s->hb, srv_tick, 0., ival, 0);
    s->hb.data = s;
    ev_periodic_start(loop, &s->hb);
    return s;
fail:
    wr_server_destroy(&s);
    return NULL;
}

void wr_server_destroy(wr_server_t **srv)
{
    if (!srv || !*srv)
        return;
    wr_server_t *s = *srv;
    if (ev_is_active(&s->hb))
        ev_periodic_stop(s->loop, &s->hb);
    wr_zwatch_stop(&s->zw);
    if (s->zsock)
        zmq_close(s->zsock);
    wr_decoder_destroy(&s->dec);
    wr_encoder_destroy(&s->enc);
    free(s->peers);
    free(s);
    *srv = NULL;
}

int wr_server_send(wr_server_t *srv, const char *peer, const void *frame, size_t len)
{
    if (!srv || !peer || (!frame && len))
        return WR_EINVAL;
    if (peer_find(srv, peer, NULL) < 0)
        return WR_ENOTFOUND;
    if (srv_send_raw(srv, peer, strlen(peer), frame, len) != 0) {
        srv->st.send_dropped++;
        return WR_EAGAIN;
    }
    return 0;
}

int wr_server_port(const wr_server_t *srv)
{
    return srv ? srv->port : 0;
}

size_t wr_server_peer_count(const wr_server_t *srv)
{
    return srv ? srv->n_peers : 0;
}

const char *wr_server_peer_at(const wr_server_t *srv, size_t i)
{
    return srv && i < srv->n_peers ? srv->peers[i].id : NULL;
}

void wr_server_stats(const wr_server_t *srv, wr_link_stats_t *out)
{
    if (!out)
        return;
    if (srv)
        *out = srv->st;
    else
        memset(out, 0, sizeof *out);
}
