/* test_evsend: the at-least-once sender (core/wr_evsend) over real ZeroMQ links, a real libev
 * loop and real LMDB in a mkdtemp directory. Fake parents are wr_servers that record every
 * event item they receive and ACK on demand. Deadlines are ev_timers; nothing sleeps.
 * Ports 15000-15099. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <ev.h>
#include <zmq.h>
#include "wr_error.h"
#include "wr_event.h"
#include "wr_evsend.h"
#include "wr_link.h"
#include "wr_store.h"
#include "wr_time.h"
#include "test_util.h"

#define HB_MS 20
#define MAX_SEEN 4096

static char g_dir[] = "/tmp/test_evsend.XXXXXX";
static void *g_zctx;
static struct ev_loop *g_loop;

/* ---- loop helpers ------------------------------------------------------------------------ */

static wr_evsend_t *g_ticked;   /* ticked every 50 ms while run_until runs */

static void tick_evsend(void *ud)
{
    (void)ud;
    if (g_ticked)
        wr_evsend_tick(g_ticked, wr_wall_ms());
}

static int run_until(tu_pred_fn pred, void *ud, int timeout_ms)
{
    return tu_run_until_tick(g_loop, pred, ud, timeout_ms, 0.05, tick_evsend, NULL);
}

/* ---- a fake parent ------------------------------------------------------------------------- */

typedef struct {
    wr_server_t *srv;
    wr_origin_t  origin;
    wr_encoder_t *enc;
    int          ack;              /* ACK what arrives */
    size_t       items;            /* items received (with resends) */
    size_t       frames;           /* ALARM / NOTIF frames received */
    size_t       max_items;        /* the most items in one frame */
    uint64_t     id_seen[MAX_SEEN];/* count per identity seq */
    size_t       distinct;
    char         child[WR_ID_MAX];
} fparent_t;

static void fp_on_up(void *ud, const char *peer, const wr_envelope_t *env, const wr_hello_t *hello)
{
    fparent_t *p = ud;
    (void)env;
    (void)hello;
    snprintf(p->child, sizeof p->child, "%s", peer);
}

static void fp_on_message(void *ud, const char *peer, const wr_envelope_t *env, wr_decoder_t *dec)
{
    fparent_t *p = ud;
    if (env->type != WR_MSG_ALARM && env->type != WR_MSG_NOTIF)
        return;
    size_t n;
    char why[256];
    assert_int_equal(wr_decode_events(dec, &n, why, sizeof why), 0);
    p->frames++;
    if (n > p->max_items)
        p->max_items = n;
    static wr_event_t ev;
    wr_event_item_t it;
    uint64_t hop_epoch = 0, hop_hi = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(wr_decode_event_at(dec, i, &it, &ev, why, sizeof why), 0);
        p->items++;
        assert_true(ev.id.seq < MAX_SEEN);
        if (p->id_seen[ev.id.seq]++ == 0)
            p->distinct++;
        hop_epoch = it.hop_epoch;
        if (it.hop_seq > hop_hi)
            hop_hi = it.hop_seq;
    }
    if (p->ack) {
        wr_envelope_t aenv;
        wr_envelope_next(&p->origin, WR_MSG_ACK, &aenv);
        wr_ack_t ack = {.seq = hop_hi, .epoch = hop_epoch};
        assert_int_equal(wr_encode_ack(p->enc, &aenv, &ack), 0);
        wr_server_send(p->srv, peer, wr_encoder_data(p->enc), wr_encoder_size(p->enc));
    }
}

static fparent_t *fp_new(int port, int ack)
{
    fparent_t *p = calloc(1, sizeof *p);
    assert_non_null(p);
    char ep[64], err[256];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
    wr_origin_init(&p->origin, "parent");
    p->enc = wr_encoder_new();
    p->ack = ack;
    static const wr_server_callbacks_t cb = {.on_peer_up = fp_on_up, .on_message = fp_on_message};
    wr_link_params_t lp = tu_link_params(HB_MS, 3);
    /* a port just released may stay bound for a moment (ZeroMQ closes sockets in its I/O
     * thread): retry within a deadline */
    int64_t deadline = wr_mono_ms() + 3000;
    while (!(p->srv = wr_server_new(g_loop, g_zctx, ep, &p->origin, &lp, &cb, p, err, sizeof err)) &&
           wr_mono_ms() < deadline)
        ev_run(g_loop, EVRUN_NOWAIT), zmq_poll(NULL, 0, 20);
    if (!p->srv)
        fail_msg("wr_server_new: %s", err);
    return p;
}

static void fp_destroy(fparent_t **pp)
{
    wr_server_destroy(&(*pp)->srv);
    wr_encoder_destroy(&(*pp)->enc);
    free(*pp);
    *pp = NULL;
}

/* ---- the sender under test ------------------------------------------------------------------- */

typedef struct {
    wr_origin_t   origin;
    wr_client_t  *cli;
    wr_store_t   *store;
    wr_evsend_t  *es;
    wr_encoder_t *enc;
    int           ups;
} sender_t;

static void s_on_up(void *ud, int parent)
{
    sender_t *s = ud;
    s->ups++;
    if (s->es)
        wr_evsend_parent_up(s->es, parent);
}

static void s_on_message(void *ud, int parent, const wr_envelope_t *env, wr_decoder_t *dec)
{
    sender_t *s = ud;
    if (env->type == WR_MSG_ACK) {
        wr_ack_t ack;
        char why[128];
        assert_int_equal(wr_decode_ack(dec, &ack, why, sizeof why), 0);
        wr_evsend_on_ack(s->es, parent, &ack);
    }
}

static sender_t *s_new(const char *sub, const int *ports, size_t n, wr_parent_mode_t mode)
{
    sender_t *s = calloc(1, sizeof *s);
    assert_non_null(s);
    char err[256], eps[4][64];
    const char *epp[4];
    static const char *const dbs[] = {"outbox.0", "outbox.1", NULL};
    s->store = tu_store_open(g_dir, sub, 64u << 20, dbs);
    wr_origin_init(&s->origin, "leaf-t");
    for (size_t i = 0; i < n; i++) {
        snprintf(eps[i], sizeof eps[i], "tcp://127.0.0.1:%d", ports[i]);
        epp[i] = eps[i];
    }
    static const wr_client_callbacks_t cb = {.on_parent_up = s_on_up, .on_message = s_on_message};
    wr_hello_t hello;
    memset(&hello, 0, sizeof hello);
    strcpy(hello.kind, "leaf");
    strcpy(hello.id, "leaf-t");
    wr_link_params_t lp = tu_link_params(HB_MS, 3);
    s->cli = wr_client_new(g_loop, g_zctx, epp, n, mode, &s->origin, &hello, &lp, &cb, s, err, sizeof err);
    if (!s->cli)
        fail_msg("wr_client_new: %s", err);
    s->es = wr_evsend_new(s->store, "outbox", mode == WR_PARENTS_ALL ? n : 1, NULL, s->cli, &s->origin, err,
                          sizeof err);
    if (!s->es)
        fail_msg("wr_evsend_new: %s", err);
    s->enc = wr_encoder_new();
    g_ticked = s->es;
    return s;
}

static void s_destroy(sender_t **sp)
{
    sender_t *s = *sp;
    if (g_ticked == s->es)
        g_ticked = NULL;
    wr_evsend_destroy(&s->es);
    assert_null(s->es);
    wr_client_destroy(&s->cli);
    wr_store_destroy(&s->store);
    wr_encoder_destroy(&s->enc);
    free(s);
    *sp = NULL;
}

static void s_push(sender_t *s, int i)
{
    static wr_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = WR_MSG_NOTIF;
    wr_evsend_new_id(s->es, &ev.id);
    assert_int_equal((int)ev.id.seq, i);   /* identities count from 1 in a run */
    snprintf(ev.notif.node, sizeof ev.notif.node, "n%d@h", i % 7);
    strcpy(ev.notif.type, "code_loaded");
    ev.notif.severity = WR_SEV_WARNING;
    ev.notif.at_ms = wr_wall_ms();
    strcpy(ev.notif.leaf, "leaf-t");
    snprintf(ev.notif.fields, sizeof ev.notif.fields, "{\"i\":%d}", i);
    assert_int_equal(wr_event_pack(s->enc, &ev), 0);
    assert_int_equal(wr_evsend_push(s->es, WR_MSG_NOTIF, wr_encoder_data(s->enc), wr_encoder_size(s->enc),
                                    ev.notif.at_ms), 0);
}

static uint64_t pending(const sender_t *s)
{
    wr_evsend_stats_t st;
    wr_evsend_stats(s->es, &st);
    return st.pending;
}

typedef struct { fparent_t *p; size_t want; sender_t *s; } cond_t;
static int got_distinct(void *ud) { cond_t *c = ud; return c->p->distinct >= c->want; }
static int got_items(void *ud) { cond_t *c = ud; return c->p->items >= c->want; }
static int drained(void *ud) { cond_t *c = ud; return pending(c->s) == 0; }
static int up(void *ud) { cond_t *c = ud; return wr_client_active(c->s->cli) >= 0; }
static int half_drained(void *ud) { cond_t *c = ud; return pending(c->s) == 6; }
static int both_up(void *ud)
{
    cond_t *c = ud;
    return wr_client_parent_up(c->s->cli, 0) && wr_client_parent_up(c->s->cli, 1);
}

/* ---- tests ----------------------------------------------------------------------------------------- */

/* Events go out at once, ACKs drain the outbox, each identity arrives once. */
static void test_push_ack_drain(void **state)
{
    (void)state;
    fparent_t *p = fp_new(15001, 1);
    int ports[] = {15001};
    sender_t *s = s_new("a", ports, 1, WR_PARENTS_FAILOVER);
    cond_t c = {.p = p, .s = s, .want = 50};
    assert_true(run_until(up, &c, 5000));
    for (int i = 1; i <= 50; i++)
        s_push(s, i);
    assert_true(run_until(got_distinct, &c, 5000));
    assert_true(run_until(drained, &c, 5000));
    wr_evsend_stats_t st;
    wr_evsend_stats(s->es, &st);
    assert_int_equal(st.pushed, 50);
    assert_int_equal(st.acked, 50);
    assert_int_equal(st.dropped, 0);
    for (int i = 1; i <= 50; i++)
        assert_true(p->id_seen[i] >= 1);
    s_destroy(&s);
    fp_destroy(&p);
}

/* Without an ACK the events are resent (same identities) after ~2 s; once ACKed they stop. */
static void test_resend_until_acked(void **state)
{
    (void)state;
    fparent_t *p = fp_new(15002, 0);
    int ports[] = {15002};
    sender_t *s = s_new("b", ports, 1, WR_PARENTS_FAILOVER);
    cond_t c = {.p = p, .s = s, .want = 5};
    assert_true(run_until(up, &c, 5000));
    for (int i = 1; i <= 5; i++)
        s_push(s, i);
    assert_true(run_until(got_items, &c, 5000));
    c.want = 10;                       /* the resend pass */
    assert_true(run_until(got_items, &c, 6000));
    assert_int_equal(p->distinct, 5);
    assert_int_equal(pending(s), 5);
    p->ack = 1;
    assert_true(run_until(drained, &c, 6000));
    wr_evsend_stats_t st;
    wr_evsend_stats(s->es, &st);
    assert_true(st.resent >= 5);
    s_destroy(&s);
    fp_destroy(&p);
}

/* A sender destroyed with unacknowledged events resends them after re-creation on the same
 * store, with their original identities. */
static void test_restart_resends(void **state)
{
    (void)state;
    fparent_t *p = fp_new(15003, 0);
    int ports[] = {15003};
    sender_t *s = s_new("c", ports, 1, WR_PARENTS_FAILOVER);
    cond_t c = {.p = p, .s = s, .want = 3};
    assert_true(run_until(up, &c, 5000));
    for (int i = 1; i <= 3; i++)
        s_push(s, i);
    assert_true(run_until(got_items, &c, 5000));
    s_destroy(&s);
    fp_destroy(&p);                    /* the parent forgets the child too */
    p = fp_new(15003, 1);
    s = s_new("c", ports, 1, WR_PARENTS_FAILOVER);
    c.p = p;
    c.s = s;
    assert_int_equal(pending(s), 3);
    assert_true(run_until(got_distinct, &c, 5000));
    assert_true(run_until(drained, &c, 5000));
    for (int i = 1; i <= 3; i++)
        assert_int_equal(p->id_seen[i], 1);
    s_destroy(&s);
    fp_destroy(&p);
}

/* Failover: the first parent never ACKs and dies; the second gets everything unacked. */
static void test_failover_resends(void **state)
{
    (void)state;
    fparent_t *a = fp_new(15004, 0), *b = fp_new(15005, 1);
    int ports[] = {15004, 15005};
    sender_t *s = s_new("d", ports, 2, WR_PARENTS_FAILOVER);
    cond_t c = {.p = a, .s = s, .want = 4};
    assert_true(run_until(up, &c, 5000));
    assert_int_equal(wr_client_active(s->cli), 0);
    for (int i = 1; i <= 4; i++)
        s_push(s, i);
    assert_true(run_until(got_items, &c, 5000));
    assert_int_equal(b->items, 0);
    fp_destroy(&a);
    c.p = b;
    assert_true(run_until(got_distinct, &c, 5000));
    assert_true(run_until(drained, &c, 5000));
    s_destroy(&s);
    fp_destroy(&b);
}

/* Mode all: each parent gets every event, each with its own ACK cursor. */
static void test_all_mode(void **state)
{
    (void)state;
    fparent_t *a = fp_new(15006, 1), *b = fp_new(15007, 0);
    int ports[] = {15006, 15007};
    sender_t *s = s_new("e", ports, 2, WR_PARENTS_ALL);
    cond_t c = {.p = a, .s = s, .want = 6};
    assert_true(run_until(both_up, &c, 5000));
    for (int i = 1; i <= 6; i++)
        s_push(s, i);
    assert_true(run_until(got_distinct, &c, 5000));
    c.p = b;
    assert_true(run_until(got_distinct, &c, 5000));
    assert_true(run_until(half_drained, &c, 5000));   /* a ACKed; b's outbox keeps them */
    assert_int_equal(pending(s), 6);
    b->ack = 1;
    assert_true(run_until(drained, &c, 6000));
    s_destroy(&s);
    fp_destroy(&a);
    fp_destroy(&b);
}

static void test_bad_args(void **state)
{
    (void)state;
    char err[128];
    assert_null(wr_evsend_new(NULL, "outbox", 1, NULL, NULL, NULL, err, sizeof err));
    assert_true(strlen(err) > 0);
    fparent_t *p = fp_new(15008, 1);
    int ports[] = {15008};
    sender_t *s = s_new("f", ports, 1, WR_PARENTS_FAILOVER);
    assert_int_equal(wr_evsend_push(s->es, WR_MSG_HELLO, "x", 1, 0), WR_EINVAL);
    assert_int_equal(wr_evsend_push(s->es, WR_MSG_NOTIF, "x", 0, 0), WR_EINVAL);
    wr_evsend_stats_t st;
    wr_evsend_stats(s->es, &st);
    assert_int_equal(st.push_failed, 2);
    assert_int_equal(st.pending, 0);
    s_destroy(&s);
    fp_destroy(&p);
}

static int setup(void **state)
{
    (void)state;
    return tu_env_setup(NULL, g_dir, &g_zctx, &g_loop);
}

static int teardown(void **state)
{
    (void)state;
    return tu_env_teardown(g_dir, g_zctx, g_loop);
}

/* Deferred pushes (set_loop): a burst pushed in one callback is committed in one transaction
 * at the end of the loop iteration, not before (nothing is sent before it is durable), then
 * sent in frames of many events; the queue counts as pending. */
static void test_deferred_burst(void **state)
{
    (void)state;
    fparent_t *p = fp_new(15006, 1);
    int ports[] = {15006};
    sender_t *s = s_new("d", ports, 1, WR_PARENTS_FAILOVER);
    cond_t c = {.p = p, .s = s, .want = 300};
    assert_true(run_until(up, &c, 5000));
    wr_evsend_set_loop(s->es, g_loop);
    wr_store_info_t info;
    assert_int_equal(wr_store_info(s->store, &info), 0);
    uint64_t entries = info.entries[0];            /* outbox.0: its meta keys */
    for (int i = 1; i <= 300; i++)
        s_push(s, i);
    wr_evsend_stats_t st;
    wr_evsend_stats(s->es, &st);
    assert_int_equal(st.queued, 300);
    assert_int_equal(st.pending, 300);
    assert_int_equal(st.sent, 0);
    /* nothing durable yet: the outbox holds no event in the store */
    assert_int_equal(wr_store_info(s->store, &info), 0);
    assert_int_equal(info.entries[0], entries);
    assert_true(run_until(got_distinct, &c, 5000));
    assert_true(p->max_items > 1);                 /* batched frames, not one per event */
    assert_true(p->frames <= 300 / 2);
    assert_true(run_until(drained, &c, 5000));
    wr_evsend_stats(s->es, &st);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.pushed, 300);
    assert_int_equal(st.sent, 300);
    assert_int_equal(st.acked, 300);
    /* a queued push not yet flushed is committed by destroy (after the loop is gone too) */
    s_push(s, 301);
    g_ticked = NULL;
    wr_evsend_destroy(&s->es);
    wr_outbox_t *ob = wr_outbox_open(s->store, "outbox.0", NULL, NULL, 0);
    assert_non_null(ob);
    wr_outbox_stats_t os;
    assert_int_equal(wr_outbox_stats(ob, &os), 0);
    assert_int_equal(os.pending, 1);
    wr_outbox_destroy(&ob);
    s_destroy(&s);
    fp_destroy(&p);
}

/* push_txn: events appended inside the caller's transaction with its own records, sent only
 * once txn_end learns of the commit; an aborted transaction sends and keeps nothing. */
static void test_push_txn(void **state)
{
    (void)state;
    fparent_t *p = fp_new(15007, 1);
    int ports[] = {15007};
    sender_t *s = s_new("t", ports, 1, WR_PARENTS_FAILOVER);
    cond_t c = {.p = p, .s = s, .want = 20};
    assert_true(run_until(up, &c, 5000));
    static wr_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = WR_MSG_NOTIF;
    strcpy(ev.notif.node, "n@h");
    strcpy(ev.notif.type, "code_loaded");
    ev.notif.severity = WR_SEV_WARNING;
    strcpy(ev.notif.leaf, "leaf-t");
    strcpy(ev.notif.fields, "{}");
    /* aborted first: nothing kept, nothing sent */
    wr_txn_t *txn = NULL;
    assert_int_equal(wr_store_begin(s->store, 1, &txn), 0);
    for (int i = 0; i < 5; i++) {
        wr_evsend_new_id(s->es, &ev.id);
        assert_int_equal(wr_event_pack(s->enc, &ev), 0);
        assert_int_equal(wr_evsend_push_txn(s->es, txn, WR_MSG_NOTIF, wr_encoder_data(s->enc),
                                            wr_encoder_size(s->enc), wr_wall_ms()), 0);
    }
    wr_store_abort(&txn);
    wr_evsend_txn_end(s->es, 0);
    wr_evsend_stats_t st;
    wr_evsend_stats(s->es, &st);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.sent, 0);
    assert_int_equal(st.push_failed, 5);
    /* committed: sent after txn_end, in one frame */
    size_t frames = p->frames;
    assert_int_equal(wr_store_begin(s->store, 1, &txn), 0);
    for (int i = 0; i < 20; i++) {
        wr_evsend_new_id(s->es, &ev.id);
        assert_int_equal(wr_event_pack(s->enc, &ev), 0);
        assert_int_equal(wr_evsend_push_txn(s->es, txn, WR_MSG_NOTIF, wr_encoder_data(s->enc),
                                            wr_encoder_size(s->enc), wr_wall_ms()), 0);
    }
    assert_int_equal(wr_evsend_push_txn(s->es, txn, 99, "x", 1, 1), WR_EINVAL);
    assert_int_equal(wr_store_commit(&txn), 0);
    wr_evsend_stats(s->es, &st);
    assert_int_equal(st.sent, 0);                  /* not before txn_end */
    wr_evsend_txn_end(s->es, 1);
    wr_evsend_stats(s->es, &st);
    assert_int_equal(st.sent, 20);
    assert_int_equal(st.pushed, 20);
    c.want = 20;
    assert_true(run_until(got_items, &c, 5000));
    assert_int_equal(p->frames, frames + 1);
    assert_int_equal(p->distinct, 20);
    for (int i = 6; i <= 25; i++)                  /* identities 1..5 were never sent */
        assert_int_equal(p->id_seen[i], 1);
    assert_true(run_until(drained, &c, 5000));
    s_destroy(&s);
    fp_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_push_ack_drain),
        cmocka_unit_test(test_resend_until_acked),
        cmocka_unit_test(test_restart_resends),
        cmocka_unit_test(test_failover_resends),
        cmocka_unit_test(test_all_mode),
        cmocka_unit_test(test_deferred_burst),
        cmocka_unit_test(test_push_txn),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
