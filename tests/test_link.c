/* test_link: wr_server / wr_client over real ZeroMQ sockets (tcp 127.0.0.1 on ports chosen per process and ipc://
 * in a mkdtemp directory), one process, one libev loop; every wait is a condition checked
 * each loop iteration with an ev_timer deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <ev.h>
#include <zmq.h>
#include "wr_codec.h"
#include "wr_error.h"
#include "wr_link.h"
#include "wr_time.h"
#include "wr_zwatch.h"

#define HB_MS 100   /* x misses (4) = 400 ms: survives a loaded CI machine's stalls */

typedef struct {
    struct ev_loop *loop;
    void           *zctx;
    wr_encoder_t   *enc;
    int             ok;      /* set at the end of a test: sockets are closed, ctx can term */
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->loop = ev_loop_new(EVFLAG_AUTO);
    f->zctx = zmq_ctx_new();
    f->enc = wr_encoder_new();
    *state = f;
    return f->loop && f->zctx && f->enc ? 0 : -1;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    wr_encoder_destroy(&f->enc);
    if (f->ok)                       /* after a failed assert sockets may be left open */
        zmq_ctx_term(f->zctx);
    ev_loop_destroy(f->loop);
    free(f);
    return 0;
}

static void params(wr_link_params_t *p)
{
    wr_link_params_default(p);
    p->heartbeat_ms = HB_MS;
    p->misses = 4;
}

/* A tcp endpoint on 127.0.0.1 whose port depends on the process id, so two runs of this test
 * (or a parallel ctest) do not steal each other's listeners; 10000-19599 is below the
 * kernel's ephemeral range and the ports warren-sim and the other tests use. */
static const char *tcp_ep(int k)
{
    static char eps[8][40];
    snprintf(eps[k], sizeof eps[k], "tcp://127.0.0.1:%d", 10000 + (int)(getpid() % 1200) * 8 + k);
    return eps[k];
}

/* ---- waiting on the loop --------------------------------------------------------------- */

typedef int (*pred_fn)(void *arg);
typedef struct { pred_fn pred; void *arg; int done; int timed_out; } waiter_t;

static void wait_check_cb(struct ev_loop *loop, ev_check *w, int revents)
{
    waiter_t *wt = w->data;
    (void)revents;
    if (wt->pred && wt->pred(wt->arg)) {
        wt->done = 1;
        ev_break(loop, EVBREAK_ONE);
    }
}

static void wait_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    waiter_t *wt = t->data;
    (void)revents;
    wt->timed_out = 1;
    ev_break(loop, EVBREAK_ONE);
}

/* Runs the loop until pred(arg) holds (returns 1) or timeout_s passes (returns 0).
 * pred NULL: just runs the loop for timeout_s and returns 1. */
static int run_until(struct ev_loop *loop, pred_fn pred, void *arg, double timeout_s)
{
    waiter_t wt = {pred, arg, 0, 0};
    if (pred && pred(arg))
        return 1;
    ev_check chk;
    ev_timer tm;
    ev_check_init(&chk, wait_check_cb);
    chk.data = &wt;
    ev_timer_init(&tm, wait_timer_cb, timeout_s, 0.);
    tm.data = &wt;
    ev_check_start(loop, &chk);
    ev_timer_start(loop, &tm);
    while (!wt.done && !wt.timed_out)
        ev_run(loop, 0);
    ev_check_stop(loop, &chk);
    ev_timer_stop(loop, &tm);
    return pred ? wt.done : 1;
}

typedef struct { const int *v; int want; } ge_t;
static int pred_ge(void *arg)
{
    ge_t *g = arg;
    return *g->v >= g->want;
}
/* Waits (up to timeout_s) until *v >= want. */
static int wait_ge(struct ev_loop *loop, const int *v, int want, double timeout_s)
{
    ge_t g = {v, want};
    return run_until(loop, pred_ge, &g, timeout_s);
}

/* ---- recorders ------------------------------------------------------------------------ */

typedef struct {
    int           up, down, msgs, bad;
    char          up_peer[WR_ID_MAX], down_peer[WR_ID_MAX], msg_peer[WR_ID_MAX];
    wr_envelope_t up_env, msg_env;
    wr_hello_t    hello;
    uint64_t      ack_seq;
    char          why[256];
} srv_rec_t;

static void s_up(void *ud, const char *peer, const wr_envelope_t *env, const wr_hello_t *hello)
{
    srv_rec_t *r = ud;
    r->up++;
    snprintf(r->up_peer, sizeof r->up_peer, "%s", peer);
    r->up_env = *env;
    r->hello = *hello;
}

static void s_down(void *ud, const char *peer)
{
    srv_rec_t *r = ud;
    r->down++;
    snprintf(r->down_peer, sizeof r->down_peer, "%s", peer);
}

static void s_msg(void *ud, const char *peer, const wr_envelope_t *env, wr_decoder_t *dec)
{
    srv_rec_t *r = ud;
    char why[128];
    r->msgs++;
    snprintf(r->msg_peer, sizeof r->msg_peer, "%s", peer);
    r->msg_env = *env;
    if (env->type == WR_MSG_ACK) {
        wr_ack_t ack;
        assert_int_equal(wr_decode_ack(dec, &ack, why, sizeof why), 0);
        r->ack_seq = ack.seq;
    }
}

static void s_bad(void *ud, const char *peer, const char *why)
{
    srv_rec_t *r = ud;
    (void)peer;
    r->bad++;
    snprintf(r->why, sizeof r->why, "%s", why);
}

static const wr_server_callbacks_t SRV_CB = {s_up, s_down, s_msg, s_bad};

#define MAXP 4
typedef struct {
    int           up[MAXP], down[MAXP], msgs, bad;
    int           msg_parent;
    wr_envelope_t msg_env;
    uint64_t      qid;
    char          node[64];
    char          why[256];
} cli_rec_t;

static void c_up(void *ud, int parent)   { ((cli_rec_t *)ud)->up[parent]++; }
static void c_down(void *ud, int parent) { ((cli_rec_t *)ud)->down[parent]++; }

static void c_msg(void *ud, int parent, const wr_envelope_t *env, wr_decoder_t *dec)
{
    cli_rec_t *r = ud;
    char why[128];
    r->msgs++;
    r->msg_parent = parent;
    r->msg_env = *env;
    if (env->type == WR_MSG_QUERY) {
        wr_query_t q;
        assert_int_equal(wr_decode_query(dec, &q, why, sizeof why), 0);
        r->qid = q.qid;
        snprintf(r->node, sizeof r->node, "%.*s", (int)q.node_len, q.node);
    }
}

static void c_bad(void *ud, int parent, const char *why)
{
    cli_rec_t *r = ud;
    (void)parent;
    r->bad++;
    snprintf(r->why, sizeof r->why, "%s", why);
}

static const wr_client_callbacks_t CLI_CB = {c_up, c_down, c_msg, c_bad};

static void make_hello(wr_hello_t *h, const char *id)
{
    memset(h, 0, sizeof *h);
    snprintf(h->kind, sizeof h->kind, "leaf");
    snprintf(h->id, sizeof h->id, "%s", id);
    snprintf(h->version, sizeof h->version, "0.1.0");
    h->interval_ms = 1000;
}

static wr_server_t *mk_server(fixture_t *f, const char *ep, wr_origin_t *o, srv_rec_t *r)
{
    wr_link_params_t p;
    char err[256] = "";
    params(&p);
    wr_server_t *s = wr_server_new(f->loop, f->zctx, ep, o, &p, &SRV_CB, r, err, sizeof err);
    if (!s)
        fail_msg("wr_server_new %s: %s", ep, err);
    return s;
}

/* A restarted parent rebinding the endpoint it just closed: zmq_close is asynchronous, so
 * the old listener may still hold the port for a moment. Retries on the loop (2 s). */
typedef struct { fixture_t *f; const char *ep; wr_origin_t *o; srv_rec_t *r; wr_server_t *s; char err[256]; } rebind_t;
static int pred_rebind(void *arg)
{
    rebind_t *b = arg;
    wr_link_params_t p;
    params(&p);
    if (!b->s)
        b->s = wr_server_new(b->f->loop, b->f->zctx, b->ep, b->o, &p, &SRV_CB, b->r, b->err, sizeof b->err);
    return b->s != NULL;
}
static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents) { (void)loop; (void)t; (void)revents; }
static wr_server_t *mk_server_rebind(fixture_t *f, const char *ep, wr_origin_t *o, srv_rec_t *r)
{
    rebind_t b = {f, ep, o, r, NULL, ""};
    ev_timer tick;                   /* wakes the loop so the check runs again */
    ev_timer_init(&tick, tick_cb, 0.01, 0.01);
    ev_timer_start(f->loop, &tick);
    run_until(f->loop, pred_rebind, &b, 2.0);
    ev_timer_stop(f->loop, &tick);
    if (!b.s)
        fail_msg("rebind %s: %s", ep, b.err);
    return b.s;
}

static wr_client_t *mk_client(fixture_t *f, const char *const *eps, size_t n, wr_parent_mode_t mode,
                              wr_origin_t *o, cli_rec_t *r)
{
    wr_link_params_t p;
    wr_hello_t h;
    char err[256] = "";
    params(&p);
    make_hello(&h, o->id);
    wr_client_t *c = wr_client_new(f->loop, f->zctx, eps, n, mode, o, &h, &p, &CLI_CB, r, err, sizeof err);
    if (!c)
        fail_msg("wr_client_new: %s", err);
    return c;
}

/* An encoded ACK from origin o (a stand-in for any DELTA-like frame). */
static const void *ack_frame(fixture_t *f, wr_origin_t *o, uint64_t seq, size_t *len)
{
    wr_envelope_t env;
    wr_ack_t ack = {seq, 0};
    wr_envelope_next(o, WR_MSG_ACK, &env);
    assert_int_equal(wr_encode_ack(f->enc, &env, &ack), 0);
    *len = wr_encoder_size(f->enc);
    return wr_encoder_data(f->enc);
}

/* ---- 1: first contact, messages both ways, heartbeats keep both sides up ---------------- */

static void test_basic_tcp(void **state)
{
    fixture_t *f = *state;
    const char *ep = tcp_ep(1);
    wr_origin_t so, co;
    srv_rec_t sr;
    cli_rec_t cr;
    memset(&sr, 0, sizeof sr);
    memset(&cr, 0, sizeof cr);
    wr_origin_init(&so, "relay-a");
    wr_origin_init(&co, "leaf-1");

    wr_server_t *s = mk_server(f, ep, &so, &sr);
    assert_int_equal(wr_server_port(s), atoi(strrchr(ep, ':') + 1));
    wr_client_t *c = mk_client(f, &ep, 1, WR_PARENTS_FAILOVER, &co, &cr);
    assert_int_equal(wr_client_active(c), -1);
    assert_int_equal(wr_client_send(c, "x", 1), WR_ENOTFOUND);

    assert_true(wait_ge(f->loop, &sr.up, 1, 3.0));
    assert_true(wait_ge(f->loop, &cr.up[0], 1, 3.0));
    assert_string_equal(sr.up_peer, "leaf-1");
    assert_int_equal(sr.up_env.type, WR_MSG_HELLO);
    assert_string_equal(sr.up_env.from, "leaf-1");
    assert_true(sr.up_env.epoch == co.epoch);
    assert_string_equal(sr.hello.kind, "leaf");
    assert_string_equal(sr.hello.id, "leaf-1");
    assert_string_equal(sr.hello.version, "0.1.0");
    assert_int_equal(sr.hello.interval_ms, 1000);
    assert_int_equal(wr_server_peer_count(s), 1);
    assert_string_equal(wr_server_peer_at(s, 0), "leaf-1");
    assert_null(wr_server_peer_at(s, 1));
    assert_int_equal(wr_client_active(c), 0);
    assert_int_equal(wr_client_parent_up(c, 0), 1);
    assert_int_equal(wr_client_parent_count(c), 1);

    /* child -> parent */
    size_t len;
    const void *fr = ack_frame(f, &co, 77, &len);
    assert_int_equal(wr_client_send(c, fr, len), 0);
    assert_true(wait_ge(f->loop, &sr.msgs, 1, 3.0));
    assert_int_equal(sr.msg_env.type, WR_MSG_ACK);
    assert_string_equal(sr.msg_peer, "leaf-1");
    assert_string_equal(sr.msg_env.from, "leaf-1");
    assert_true(sr.msg_env.epoch == co.epoch);
    assert_true(sr.ack_seq == 77);

    /* parent -> child */
    wr_envelope_t env;
    wr_query_t q = {.qid = 9, .node = "a@h", .node_len = 3, .kind = "ping", .kind_len = 4,
                    .args = "", .args_len = 0};
    wr_envelope_next(&so, WR_MSG_QUERY, &env);
    assert_int_equal(wr_encode_query(f->enc, &env, &q), 0);
    assert_int_equal(wr_server_send(s, "leaf-1", wr_encoder_data(f->enc), wr_encoder_size(f->enc)), 0);
    assert_int_equal(wr_server_send(s, "nobody", wr_encoder_data(f->enc), wr_encoder_size(f->enc)), WR_ENOTFOUND);
    assert_true(wait_ge(f->loop, &cr.msgs, 1, 3.0));
    assert_int_equal(cr.msg_parent, 0);
    assert_int_equal(cr.msg_env.type, WR_MSG_QUERY);
    assert_string_equal(cr.msg_env.from, "relay-a");
    assert_true(cr.qid == 9);
    assert_string_equal(cr.node, "a@h");

    /* Six heartbeat intervals: heartbeats both ways keep both sides up, and are consumed. */
    run_until(f->loop, NULL, NULL, 6 * HB_MS / 1000.0);
    assert_int_equal(sr.down, 0);
    assert_int_equal(cr.down[0], 0);
    assert_int_equal(sr.msgs, 1);
    assert_int_equal(cr.msgs, 1);
    assert_int_equal(sr.up, 1);
    assert_int_equal(cr.up[0], 1);

    /* garbage to the child: counted, reported, link keeps working */
    assert_int_equal(wr_server_send(s, "leaf-1", "\xc1garbage", 8), 0);
    assert_true(wait_ge(f->loop, &cr.bad, 1, 3.0));
    assert_true(strlen(cr.why) > 0);

    wr_link_stats_t ss, cs;
    wr_server_stats(s, &ss);
    wr_client_stats(c, &cs);
    assert_true(ss.frames_in >= 3);          /* HELLO, ACK, heartbeats */
    assert_true(ss.frames_out >= 3);
    assert_true(ss.bytes_in > 0 && ss.bytes_out > 0);
    assert_true(ss.bad_frames == 0 && ss.unknown_peer == 0 && ss.send_dropped == 0);
    assert_true(cs.frames_in >= 3 && cs.frames_out >= 3);
    assert_true(cs.bad_frames == 1);

    /* the same endpoint cannot be bound twice: a reason comes back */
    char err[256] = "";
    wr_link_params_t p;
    params(&p);
    wr_origin_t o2;
    wr_origin_init(&o2, "relay-b");
    assert_null(wr_server_new(f->loop, f->zctx, ep, &o2, &p, &SRV_CB, &sr, err, sizeof err));
    assert_non_null(strstr(err, "bind"));
    /* a client needs an id */
    wr_origin_t empty;
    wr_hello_t h;
    wr_origin_init(&empty, "");
    make_hello(&h, "x");
    assert_null(wr_client_new(f->loop, f->zctx, &ep, 1, WR_PARENTS_FAILOVER, &empty, &h, &p, &CLI_CB, &cr, err, sizeof err));
    assert_true(strlen(err) > 0);

    wr_client_destroy(&c);
    assert_null(c);
    wr_server_destroy(&s);
    assert_null(s);
    wr_server_destroy(&s);                   /* safe on NULL */
    f->ok = 1;
}

/* ---- 2: dead child, dead parent, parent back ------------------------------------------ */

static void test_dead_peer(void **state)
{
    fixture_t *f = *state;
    const char *ep = tcp_ep(2);
    wr_origin_t so, co;
    srv_rec_t sr, sr2;
    cli_rec_t cr;
    memset(&sr, 0, sizeof sr);
    memset(&sr2, 0, sizeof sr2);
    memset(&cr, 0, sizeof cr);
    wr_origin_init(&so, "relay-a");
    wr_origin_init(&co, "leaf-1");

    wr_server_t *s = mk_server(f, ep, &so, &sr);
    wr_client_t *c = mk_client(f, &ep, 1, WR_PARENTS_FAILOVER, &co, &cr);
    assert_true(wait_ge(f->loop, &sr.up, 1, 3.0));
    assert_true(wait_ge(f->loop, &cr.up[0], 1, 3.0));

    /* the child dies: the parent notices after heartbeat * misses (+ one tick) */
    wr_client_destroy(&c);
    int64_t t0 = wr_mono_ms();
    assert_true(wait_ge(f->loop, &sr.down, 1, 2.0));
    int64_t dt = wr_mono_ms() - t0;
    assert_true(dt >= HB_MS * 2 - 10);       /* not before the timeout (last heard <= 1 HB ago) */
    assert_string_equal(sr.down_peer, "leaf-1");
    assert_int_equal(wr_server_peer_count(s), 0);

    /* it comes back, then the parent dies */
    memset(&cr, 0, sizeof cr);
    c = mk_client(f, &ep, 1, WR_PARENTS_FAILOVER, &co, &cr);
    assert_true(wait_ge(f->loop, &sr.up, 2, 3.0));
    assert_true(wait_ge(f->loop, &cr.up[0], 1, 3.0));
    wr_server_destroy(&s);
    assert_true(wait_ge(f->loop, &cr.down[0], 1, 2.0));
    assert_int_equal(wr_client_parent_up(c, 0), 0);
    assert_int_equal(wr_client_active(c), -1);
    size_t len;
    const void *fr = ack_frame(f, &co, 1, &len);
    assert_int_equal(wr_client_send(c, fr, len), WR_ENOTFOUND);

    /* a new parent on the same endpoint: the child's HELLOs reach it */
    wr_origin_t so2;
    wr_origin_init(&so2, "relay-a");
    so2.epoch = so.epoch + 1;
    s = mk_server_rebind(f, ep, &so2, &sr2);
    assert_true(wait_ge(f->loop, &cr.up[0], 2, 5.0));
    assert_true(wait_ge(f->loop, &sr2.up, 1, 5.0));
    assert_string_equal(sr2.up_peer, "leaf-1");
    assert_string_equal(sr2.hello.id, "leaf-1");
    assert_int_equal(wr_client_active(c), 0);

    wr_client_destroy(&c);
    wr_server_destroy(&s);
    f->ok = 1;
}

static int pred_active(void *arg) { return wr_client_active(arg) == 0; }

/* ---- 3: restarts are seen through the epoch, on both sides ------------------------------ */

static void test_restart_epoch(void **state)
{
    fixture_t *f = *state;
    const char *ep = tcp_ep(3);
    wr_origin_t so, c1o, c2o;
    srv_rec_t sr, sr2;
    cli_rec_t cr1, cr2;
    memset(&sr, 0, sizeof sr);
    memset(&sr2, 0, sizeof sr2);
    memset(&cr1, 0, sizeof cr1);
    memset(&cr2, 0, sizeof cr2);
    wr_origin_init(&so, "relay-a");
    wr_origin_init(&c1o, "leaf-1");

    wr_server_t *s = mk_server(f, ep, &so, &sr);
    wr_client_t *c1 = mk_client(f, &ep, 1, WR_PARENTS_FAILOVER, &c1o, &cr1);
    assert_true(wait_ge(f->loop, &sr.up, 1, 3.0));
    assert_true(sr.up_env.epoch == c1o.epoch);

    /* the child restarts (same id, new epoch) before the parent times it out */
    wr_client_destroy(&c1);
    wr_origin_init(&c2o, "leaf-1");
    c2o.epoch = c1o.epoch + 1;
    wr_client_t *c2 = mk_client(f, &ep, 1, WR_PARENTS_FAILOVER, &c2o, &cr2);
    assert_true(wait_ge(f->loop, &sr.up, 2, 3.0));
    assert_string_equal(sr.up_peer, "leaf-1");
    assert_true(sr.up_env.epoch == c2o.epoch);
    assert_int_equal(wr_server_peer_count(s), 1);
    assert_int_equal(sr.down, 0);
    assert_true(wait_ge(f->loop, &cr2.up[0], 1, 3.0));

    /* the parent restarts fast (new epoch): the child treats it as newly up, and the new
     * parent hears its HELLO */
    wr_server_destroy(&s);
    wr_origin_t so2;
    wr_origin_init(&so2, "relay-a");
    so2.epoch = so.epoch + 1;
    s = mk_server_rebind(f, ep, &so2, &sr2);
    assert_true(wait_ge(f->loop, &cr2.up[0], 2, 5.0));
    assert_true(wait_ge(f->loop, &sr2.up, 1, 5.0));
    assert_true(sr2.up_env.epoch == c2o.epoch);
    /* and data flows to the new parent */
    size_t len;
    const void *fr = ack_frame(f, &c2o, 5, &len);
    assert_true(run_until(f->loop, pred_active, c2, 3.0));
    assert_int_equal(wr_client_send(c2, fr, len), 0);
    assert_true(wait_ge(f->loop, &sr2.msgs, 1, 3.0));
    assert_true(sr2.ack_seq == 5);

    wr_client_destroy(&c2);
    wr_server_destroy(&s);
    f->ok = 1;
}

/* ---- 4: FAILOVER and ALL --------------------------------------------------------------- */

static void test_failover_and_all(void **state)
{
    fixture_t *f = *state;
    const char *eps[2] = {tcp_ep(4), tcp_ep(5)};
    wr_origin_t so0, so1, co, co2;
    srv_rec_t sr0, sr1;
    cli_rec_t cr, cr2;
    memset(&sr0, 0, sizeof sr0);
    memset(&sr1, 0, sizeof sr1);
    memset(&cr, 0, sizeof cr);
    memset(&cr2, 0, sizeof cr2);
    wr_origin_init(&so0, "relay-0");
    wr_origin_init(&so1, "relay-1");
    wr_origin_init(&co, "leaf-1");

    wr_server_t *s0 = mk_server(f, eps[0], &so0, &sr0);
    wr_server_t *s1 = mk_server(f, eps[1], &so1, &sr1);
    wr_client_t *c = mk_client(f, eps, 2, WR_PARENTS_FAILOVER, &co, &cr);
    assert_int_equal(wr_client_parent_count(c), 2);
    assert_true(wait_ge(f->loop, &cr.up[0], 1, 3.0));
    assert_true(wait_ge(f->loop, &cr.up[1], 1, 3.0));
    assert_true(wait_ge(f->loop, &sr0.up, 1, 3.0));
    assert_true(wait_ge(f->loop, &sr1.up, 1, 3.0));   /* the backup hears HELLO too */
    assert_int_equal(wr_client_active(c), 0);

    size_t len;
    for (uint64_t i = 1; i <= 3; i++) {
        const void *fr = ack_frame(f, &co, i, &len);
        assert_int_equal(wr_client_send(c, fr, len), 0);
    }
    assert_true(wait_ge(f->loop, &sr0.msgs, 3, 3.0));
    run_until(f->loop, NULL, NULL, 3 * HB_MS / 1000.0);
    assert_int_equal(sr0.msgs, 3);
    assert_int_equal(sr1.msgs, 0);

    /* parent 0 dies: after the timeout, sends go to parent 1 */
    wr_server_destroy(&s0);
    assert_true(wait_ge(f->loop, &cr.down[0], 1, 2.0));
    assert_int_equal(cr.down[1], 0);
    assert_int_equal(wr_client_active(c), 1);
    const void *fr = ack_frame(f, &co, 10, &len);
    assert_int_equal(wr_client_send(c, fr, len), 0);
    assert_true(wait_ge(f->loop, &sr1.msgs, 1, 3.0));
    assert_true(sr1.ack_seq == 10);
    assert_int_equal(wr_client_send_to(c, 0, fr, len), WR_ENOTFOUND);
    assert_int_equal(wr_client_send_to(c, 2, fr, len), WR_EINVAL);
    wr_client_destroy(&c);

    /* ALL: parent 0 back; a second child streams to both */
    memset(&sr0, 0, sizeof sr0);
    s0 = mk_server_rebind(f, eps[0], &so0, &sr0);
    wr_origin_init(&co2, "leaf-2");
    wr_client_t *c2 = mk_client(f, eps, 2, WR_PARENTS_ALL, &co2, &cr2);
    assert_true(wait_ge(f->loop, &cr2.up[0], 1, 3.0));
    assert_true(wait_ge(f->loop, &cr2.up[1], 1, 3.0));
    int before1 = sr1.msgs;
    fr = ack_frame(f, &co2, 20, &len);
    assert_int_equal(wr_client_send(c2, fr, len), 0);
    assert_true(wait_ge(f->loop, &sr0.msgs, 1, 3.0));
    assert_true(wait_ge(f->loop, &sr1.msgs, before1 + 1, 3.0));
    assert_string_equal(sr0.msg_peer, "leaf-2");
    assert_string_equal(sr1.msg_peer, "leaf-2");
    assert_true(sr0.ack_seq == 20 && sr1.ack_seq == 20);

    wr_client_destroy(&c2);
    wr_server_destroy(&s0);
    wr_server_destroy(&s1);
    f->ok = 1;
}

/* ---- 5: unknown peers and malformed frames ---------------------------------------------- */

typedef struct { int frames, hello_cmds; } raw_rec_t;

static void raw_cb(wr_zwatch_t *w, void *zsock, void *ud)
{
    raw_rec_t *r = ud;
    char buf[512], why[128];
    (void)w;
    int n = zmq_recv(zsock, buf, sizeof buf, ZMQ_DONTWAIT);
    if (n < 0)
        return;
    r->frames++;
    wr_decoder_t *dec = wr_decoder_new(0);
    wr_envelope_t env;
    wr_command_t cmd;
    if (wr_decoder_decode(dec, buf, (size_t)n, &env, why, sizeof why) == 0 && env.type == WR_MSG_COMMAND &&
        wr_decode_command(dec, &cmd, why, sizeof why) == 0 && cmd.cmd_len == 5 && !memcmp(cmd.cmd, "hello", 5))
        r->hello_cmds++;
    wr_decoder_destroy(&dec);
}

static void test_unknown_and_bad(void **state)
{
    fixture_t *f = *state;
    const char *ep = tcp_ep(6);
    wr_origin_t so, ro, other;
    srv_rec_t sr;
    raw_rec_t rr = {0, 0};
    memset(&sr, 0, sizeof sr);
    wr_origin_init(&so, "relay-a");
    wr_origin_init(&ro, "rogue");
    wr_origin_init(&other, "other");
    wr_server_t *s = mk_server(f, ep, &so, &sr);

    void *raw = zmq_socket(f->zctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(raw, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_setsockopt(raw, ZMQ_ROUTING_ID, "rogue", 5), 0);
    assert_int_equal(zmq_connect(raw, ep), 0);
    wr_zwatch_t rw;
    memset(&rw, 0, sizeof rw);
    assert_int_equal(wr_zwatch_start(&rw, f->loop, raw, 0, raw_cb, &rr), 0);

    /* a frame before HELLO: answered with COMMAND hello, counted, not delivered */
    size_t len;
    const void *fr = ack_frame(f, &ro, 1, &len);
    assert_true(zmq_send(raw, fr, len, 0) == (int)len);
    assert_true(wait_ge(f->loop, &rr.hello_cmds, 1, 3.0));
    wr_link_stats_t st;
    wr_server_stats(s, &st);
    assert_true(st.unknown_peer >= 1);
    assert_int_equal(sr.msgs, 0);
    assert_int_equal(sr.up, 0);

    /* garbage bytes */
    assert_int_equal(zmq_send(raw, "\xff\x00garbage", 9, 0), 9);
    assert_true(wait_ge(f->loop, &sr.bad, 1, 3.0));
    assert_true(strlen(sr.why) > 0);
    /* an empty frame */
    assert_int_equal(zmq_send(raw, "", 0, 0), 0);
    assert_true(wait_ge(f->loop, &sr.bad, 2, 3.0));
    /* a two-part message */
    assert_int_equal(zmq_send(raw, "a", 1, ZMQ_SNDMORE), 1);
    assert_int_equal(zmq_send(raw, "b", 1, 0), 1);
    assert_true(wait_ge(f->loop, &sr.bad, 3, 3.0));
    assert_non_null(strstr(sr.why, "multipart"));
    /* a HELLO whose envelope names someone else than the routing id */
    wr_envelope_t env;
    wr_hello_t h;
    make_hello(&h, "other");
    wr_envelope_next(&other, WR_MSG_HELLO, &env);
    assert_int_equal(wr_encode_hello(f->enc, &env, &h), 0);
    assert_true(zmq_send(raw, wr_encoder_data(f->enc), wr_encoder_size(f->enc), 0) >= 0);
    assert_true(wait_ge(f->loop, &sr.bad, 4, 3.0));
    assert_non_null(strstr(sr.why, "routing id"));
    assert_int_equal(sr.up, 0);
    wr_server_stats(s, &st);
    assert_true(st.bad_frames == 4);

    /* the server still works: a proper HELLO, then a frame */
    make_hello(&h, "rogue");
    wr_envelope_next(&ro, WR_MSG_HELLO, &env);
    assert_int_equal(wr_encode_hello(f->enc, &env, &h), 0);
    assert_true(zmq_send(raw, wr_encoder_data(f->enc), wr_encoder_size(f->enc), 0) >= 0);
    assert_true(wait_ge(f->loop, &sr.up, 1, 3.0));
    assert_string_equal(sr.up_peer, "rogue");
    fr = ack_frame(f, &ro, 42, &len);
    assert_true(zmq_send(raw, fr, len, 0) == (int)len);
    assert_true(wait_ge(f->loop, &sr.msgs, 1, 3.0));
    assert_true(sr.ack_seq == 42);
    assert_true(wait_ge(f->loop, &rr.frames, rr.frames + 1, 3.0));   /* server heartbeats */

    wr_zwatch_stop(&rw);
    zmq_close(raw);
    wr_server_destroy(&s);
    f->ok = 1;
}

/* ---- 6: ipc:// and many children -------------------------------------------------------- */

#define NKIDS 64

static int pred_all_up(void *arg)
{
    cli_rec_t *r = arg;
    for (int i = 0; i < NKIDS; i++)
        if (r[i].up[0] < 1)
            return 0;
    return 1;
}

static void test_ipc_many(void **state)
{
    fixture_t *f = *state;
    char dir[] = "/tmp/wr-link-XXXXXX", ep[128], path[96];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/relay.sock", dir);
    snprintf(ep, sizeof ep, "ipc://%s", path);
    const char *epp = ep;

    wr_origin_t so;
    srv_rec_t sr;
    memset(&sr, 0, sizeof sr);
    wr_origin_init(&so, "relay-a");
    wr_server_t *s = mk_server(f, ep, &so, &sr);
    assert_int_equal(wr_server_port(s), 0);

    static wr_origin_t co[NKIDS];
    static cli_rec_t cr[NKIDS];
    wr_client_t *c[NKIDS];
    memset(cr, 0, sizeof cr);
    for (int i = 0; i < NKIDS; i++) {
        char id[32];
        snprintf(id, sizeof id, "leaf-%02d", NKIDS - 1 - i);   /* reverse order: sorted insert */
        wr_origin_init(&co[i], id);
        c[i] = mk_client(f, &epp, 1, WR_PARENTS_FAILOVER, &co[i], &cr[i]);
    }
    assert_true(wait_ge(f->loop, &sr.up, NKIDS, 5.0));
    assert_true(run_until(f->loop, pred_all_up, cr, 5.0));
    assert_int_equal(wr_server_peer_count(s), NKIDS);
    for (int i = 0; i < NKIDS; i++) {
        char id[32];
        snprintf(id, sizeof id, "leaf-%02d", i);
        assert_string_equal(wr_server_peer_at(s, (size_t)i), id);
    }
    /* one message each way over ipc */
    size_t len;
    const void *fr = ack_frame(f, &co[0], 3, &len);
    assert_int_equal(wr_client_send(c[0], fr, len), 0);
    assert_true(wait_ge(f->loop, &sr.msgs, 1, 3.0));
    assert_string_equal(sr.msg_peer, co[0].id);
    fr = ack_frame(f, &so, 4, &len);
    assert_int_equal(wr_server_send(s, co[5].id, fr, len), 0);
    assert_true(wait_ge(f->loop, &cr[5].msgs, 1, 3.0));
    assert_int_equal(cr[5].msg_env.type, WR_MSG_ACK);
    run_until(f->loop, NULL, NULL, 4 * HB_MS / 1000.0);
    assert_int_equal(sr.down, 0);
    assert_int_equal(sr.up, NKIDS);

    for (int i = 0; i < NKIDS; i++)
        wr_client_destroy(&c[i]);
    wr_server_destroy(&s);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
    f->ok = 1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_basic_tcp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_peer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_epoch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover_and_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_and_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipc_many, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
