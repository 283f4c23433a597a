/* test_tier_events: alarms and notifications through in-process tiers (relay/tier_events.c)
 * into the root's history (root/root_events.h), over real ZeroMQ, a real libev loop and real
 * LMDB in a mkdtemp directory. The fake leaf is a real wr_client with a real wr_evsend.
 * Deadlines are ev_timers; nothing sleeps. Ports 15100-15199. */
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
#include "root_events.h"
#include "tier.h"
#include "wr_error.h"
#include "wr_event.h"
#include "wr_evsend.h"
#include "wr_log.h"
#include "wr_time.h"
#include "test_util.h"

#define HB_MS   20
#define MAX_IDS 4096

static char g_dir[] = "/tmp/test_tier_events.XXXXXX";
static void *g_zctx;
static struct ev_loop *g_loop;
static wr_evsend_t *g_ticked;

/* ---- loop helpers -------------------------------------------------------------------------- */

static void tick_evsend(void *ud)
{
    (void)ud;
    if (g_ticked)
        wr_evsend_tick(g_ticked, wr_wall_ms());
}

/* Runs the loop until pred(ud) holds or timeout_ms passes, ticking g_ticked every 50 ms. */
static int run_until(tu_pred_fn pred, void *ud, int timeout_ms)
{
    return tu_run_until_tick(g_loop, pred, ud, timeout_ms, 0.05, tick_evsend, NULL);
}

static wr_link_params_t link_params(void)
{
    return tu_link_params(HB_MS, 3);
}


/* ---- tiers ------------------------------------------------------------------------------------ */

typedef struct {
    tier_t        *tier;
    root_events_t *re;
} troot_t;

static tier_t *make_tier(const char *id, const char *kind, int port, const int *parents, size_t np,
                         wr_parent_mode_t mode)
{
    const char *pe[4];
    for (size_t i = 0; i < np; i++)
        pe[i] = tu_ep(parents[i]);
    char store[256], err[256];
    snprintf(store, sizeof store, "%s/%s", g_dir, id);
    tier_params_t p = {
        .id = id, .kind = kind, .bind = tu_ep(port), .parents = np ? pe : NULL, .n_parents = np,
        .parent_mode = mode, .interval_ms = 200, .query_timeout_ms = 1000, .link = link_params(),
        .store_path = store, .store_map_size = 64u << 20,
    };
    /* a port just released by a destroyed tier may stay bound for a moment (ZeroMQ closes
     * sockets in its I/O thread): retry within a deadline */
    tier_t *t = NULL;
    int64_t deadline = wr_mono_ms() + 3000;
    while (!(t = tier_new(g_loop, g_zctx, &p, err, sizeof err)) && wr_mono_ms() < deadline)
        ev_run(g_loop, EVRUN_NOWAIT), zmq_poll(NULL, 0, 20);
    if (!t)
        fail_msg("tier_new %s: %s", id, err);
    return t;
}

static troot_t *root_new(const char *id, int port)
{
    troot_t *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->tier = make_tier(id, "root", port, NULL, 0, WR_PARENTS_FAILOVER);
    char err[256];
    r->re = root_events_new(tier_store(r->tier), NULL, err, sizeof err);
    if (!r->re)
        fail_msg("root_events_new: %s", err);
    tier_set_event_sink(r->tier, root_events_sink, r->re);
    return r;
}

static void root_destroy(troot_t **rp)
{
    tier_destroy(&(*rp)->tier);
    root_events_destroy(&(*rp)->re);
    assert_null((*rp)->re);
    free(*rp);
    *rp = NULL;
}

typedef struct {
    uint32_t count[MAX_IDS];
    size_t   total, distinct;
} idset_t;

static int notif_count_fn(void *ud, const wr_event_t *ev)
{
    idset_t *s = ud;
    assert_true(ev->id.seq < MAX_IDS);
    s->total++;
    if (s->count[ev->id.seq]++ == 0)
        s->distinct++;
    return 0;
}

static void root_notifs(troot_t *r, idset_t *s)
{
    memset(s, 0, sizeof *s);
    root_events_filter_t f = {.limit = 100000};
    assert_int_equal(root_events_notifications(r->re, &f, notif_count_fn, s), 0);
}

/* ---- a fake leaf ---------------------------------------------------------------------------------- */

typedef struct {
    char          id[WR_ID_MAX];
    wr_origin_t   origin;
    wr_client_t  *cli;
    wr_store_t   *store;
    wr_evsend_t  *es;
    wr_encoder_t *enc;
    uint64_t      state_seq;
    wr_node_entry_t nodes[2];
} fleaf_t;

static void fl_state(fleaf_t *f, int type, int parent)
{
    wr_tier_entry_t te;
    memset(&te, 0, sizeof te);
    snprintf(te.id, sizeof te.id, "%s", f->id);
    strcpy(te.kind, "leaf");
    te.parent = -1;
    te.up = 1;
    te.nodes_total = 2;
    wr_state_msg_t m = {.interval_ms = 100, .at_ms = wr_wall_ms(), .n_nodes = 2, .nodes = f->nodes,
                        .n_tiers = 1, .tiers = &te};
    wr_envelope_t env;
    wr_envelope_next(&f->origin, type, &env);
    if (type == WR_MSG_DELTA)
        f->state_seq++;
    env.seq = f->state_seq;
    assert_int_equal(wr_encode_state(f->enc, &env, &m), 0);
    if (parent >= 0)
        wr_client_send_to(f->cli, parent, wr_encoder_data(f->enc), wr_encoder_size(f->enc));
    else
        wr_client_send(f->cli, wr_encoder_data(f->enc), wr_encoder_size(f->enc));
}

static void fl_on_up(void *ud, int parent)
{
    fleaf_t *f = ud;
    fl_state(f, WR_MSG_SNAPSHOT, parent);
    wr_evsend_parent_up(f->es, parent);
}

static wr_ack_t g_last_ack;     /* the last ACK any fake leaf received */
static uint64_t g_acks;

static void fl_on_message(void *ud, int parent, const wr_envelope_t *env, wr_decoder_t *dec)
{
    fleaf_t *f = ud;
    char why[256];
    if (env->type == WR_MSG_ACK) {
        wr_ack_t ack;
        assert_int_equal(wr_decode_ack(dec, &ack, why, sizeof why), 0);
        g_last_ack = ack;
        g_acks++;
        wr_evsend_on_ack(f->es, parent, &ack);
    } else if (env->type == WR_MSG_COMMAND) {
        wr_command_t cmd;
        if (wr_decode_command(dec, &cmd, why, sizeof why) == 0 && cmd.cmd_len == 8 &&
            memcmp(cmd.cmd, "snapshot", 8) == 0)
            fl_state(f, WR_MSG_SNAPSHOT, parent);
    }
}

static fleaf_t *fl_new(const char *id, int parent_port)
{
    fleaf_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->id, sizeof f->id, "%s", id);
    wr_origin_init(&f->origin, id);
    f->state_seq = 1;
    f->enc = wr_encoder_new();
    for (int i = 0; i < 2; i++) {
        snprintf(f->nodes[i].name, sizeof f->nodes[i].name, "%s-n%d@h", id, i + 1);
        f->nodes[i].state = WR_NODE_UP;
        f->nodes[i].since_ms = 1000;
        snprintf(f->nodes[i].leaf, sizeof f->nodes[i].leaf, "%s", id);
    }
    char err[256];
    static const char *const dbs[] = {"outbox.0", NULL};
    f->store = tu_store_open(g_dir, id, 64u << 20, dbs);
    static const wr_client_callbacks_t cb = {.on_parent_up = fl_on_up, .on_message = fl_on_message};
    wr_hello_t hello;
    memset(&hello, 0, sizeof hello);
    strcpy(hello.kind, "leaf");
    snprintf(hello.id, sizeof hello.id, "%s", id);
    hello.interval_ms = 100;
    wr_link_params_t lp = link_params();
    const char *eps[] = {tu_ep(parent_port)};
    /* the sender is created before the client's first callback can run (callbacks need a loop turn) */
    f->cli = wr_client_new(g_loop, g_zctx, eps, 1, WR_PARENTS_FAILOVER, &f->origin, &hello, &lp, &cb, f, err,
                           sizeof err);
    if (!f->cli)
        fail_msg("wr_client_new: %s", err);
    f->es = wr_evsend_new(f->store, "outbox", 1, NULL, f->cli, &f->origin, err, sizeof err);
    if (!f->es)
        fail_msg("wr_evsend_new: %s", err);
    g_ticked = f->es;
    return f;
}

static void fl_destroy(fleaf_t **fp)
{
    fleaf_t *f = *fp;
    if (g_ticked == f->es)
        g_ticked = NULL;
    wr_evsend_destroy(&f->es);
    wr_client_destroy(&f->cli);
    wr_store_destroy(&f->store);
    wr_encoder_destroy(&f->enc);
    free(f);
    *fp = NULL;
}

static void fl_notif(fleaf_t *f, int i)
{
    static wr_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = WR_MSG_NOTIF;
    wr_evsend_new_id(f->es, &ev.id);
    snprintf(ev.notif.node, sizeof ev.notif.node, "%s", f->nodes[i % 2].name);
    strcpy(ev.notif.type, i % 3 ? "code_loaded" : "shell_command");
    ev.notif.severity = WR_SEV_WARNING;
    ev.notif.at_ms = wr_wall_ms();
    snprintf(ev.notif.leaf, sizeof ev.notif.leaf, "%s", f->id);
    snprintf(ev.notif.fields, sizeof ev.notif.fields, "{\"module\":\"m%d\"}", i);
    assert_int_equal(wr_event_pack(f->enc, &ev), 0);
    assert_int_equal(wr_evsend_push(f->es, WR_MSG_NOTIF, wr_encoder_data(f->enc), wr_encoder_size(f->enc),
                                    ev.notif.at_ms), 0);
}

static void fl_alarm(fleaf_t *f, int node, const char *type, int sev)
{
    static wr_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = WR_MSG_ALARM;
    wr_evsend_new_id(f->es, &ev.id);
    assert_int_equal(wr_alarm_event_set(&ev.alarm, f->nodes[node].name, type, "", sev, "text", wr_wall_ms(),
                                        f->id), 0);
    assert_int_equal(wr_event_pack(f->enc, &ev), 0);
    assert_int_equal(wr_evsend_push(f->es, WR_MSG_ALARM, wr_encoder_data(f->enc), wr_encoder_size(f->enc),
                                    ev.alarm.at_ms), 0);
}

static uint64_t fl_pending(fleaf_t *f)
{
    wr_evsend_stats_t st;
    wr_evsend_stats(f->es, &st);
    return st.pending;
}

/* ---- conditions ------------------------------------------------------------------------------------- */

typedef struct {
    troot_t *root;
    tier_t  *tier;
    fleaf_t *leaf;
    size_t   want;
} cond_t;

static int root_has(void *ud)
{
    cond_t *c = ud;
    static idset_t s;
    root_notifs(c->root, &s);
    return s.distinct >= c->want;
}

static int leaf_drained(void *ud)
{
    cond_t *c = ud;
    return fl_pending(c->leaf) == 0;
}

static int leaf_up(void *ud)
{
    cond_t *c = ud;
    return wr_client_active(c->leaf->cli) >= 0;
}

static int tier_stored(void *ud)
{
    cond_t *c = ud;
    tier_status_t st;
    tier_status(c->tier, &st);
    return st.ev_stored + st.ev_duplicates + st.ev_bad >= c->want;
}

static int tier_dups(void *ud)
{
    cond_t *c = ud;
    tier_status_t st;
    tier_status(c->tier, &st);
    return st.ev_duplicates >= c->want;
}

static int tier_drained(void *ud)
{
    cond_t *c = ud;
    tier_status_t st;
    tier_status(c->tier, &st);
    return st.ev_pending == 0 && st.parents_up > 0;
}

/* ---- tests -------------------------------------------------------------------------------------------- */

/* leaf -> root: every notification kept once; a frame resent after a lost ACK is a duplicate. */
static void test_leaf_to_root_dedup(void **state)
{
    (void)state;
    troot_t *r = root_new("root-1", 15101);
    fleaf_t *f = fl_new("leaf-1", 15101);
    cond_t c = {.root = r, .tier = r->tier, .leaf = f, .want = 20};
    assert_true(run_until(leaf_up, &c, 5000));
    for (int i = 0; i < 20; i++)
        fl_notif(f, i);
    static uint8_t last[WR_EVENT_BYTES_MAX];
    size_t last_len = wr_encoder_size(f->enc);
    memcpy(last, wr_encoder_data(f->enc), last_len);
    assert_true(run_until(root_has, &c, 5000));
    assert_true(run_until(leaf_drained, &c, 5000));
    tier_status_t st;
    tier_status(r->tier, &st);
    assert_int_equal(st.ev_stored, 20);
    c.want = st.ev_duplicates + 1;    /* resends after a repeated HELLO are legitimate */
    /* the same event again, as a resend whose ACK was lost would carry it (new hop position) */
    assert_int_equal(wr_evsend_push(f->es, WR_MSG_NOTIF, last, last_len, wr_wall_ms()), 0);
    assert_true(run_until(tier_dups, &c, 5000));
    assert_true(run_until(leaf_drained, &c, 5000));   /* duplicates are ACKed too */
    tier_status(r->tier, &st);
    assert_int_equal(st.ev_stored, 20);
    idset_t *s = calloc(1, sizeof *s);
    root_notifs(r, s);
    assert_int_equal(s->total, 20);
    assert_int_equal(s->distinct, 20);
    free(s);
    /* filters */
    root_events_filter_t flt = {.node = f->nodes[0].name, .type = "code_loaded", .limit = 100};
    idset_t *s2 = calloc(1, sizeof *s2);
    assert_int_equal(root_events_notifications(r->re, &flt, notif_count_fn, s2), 0);
    assert_true(s2->total > 0 && s2->total < 20);
    free(s2);
    fl_destroy(&f);
    root_destroy(&r);
}

/* leaf -> relay -> root; then a relay destroyed before it could forward (root absent) and
 * re-created on the same store forwards everything once the root comes. */
static void test_relay_restart_resends(void **state)
{
    (void)state;
    int rport[] = {15111};
    /* the leaf queues while its relay is absent, so the relay gets multi-event frames (two
     * alarms in one) when it comes */
    fleaf_t *f = fl_new("leaf-2", 15112);
    for (int i = 0; i < 5; i++)
        fl_notif(f, i);
    fl_alarm(f, 0, WR_ALARM_MEMORY, WR_SEV_MAJOR);
    fl_alarm(f, 1, WR_ALARM_MEMORY, WR_SEV_MINOR);
    for (int i = 5; i < 15; i++)
        fl_notif(f, i);
    tier_t *relay = make_tier("relay-2", "relay", 15112, rport, 1, WR_PARENTS_FAILOVER);
    cond_t c = {.tier = relay, .leaf = f, .want = 17};
    assert_true(run_until(tier_stored, &c, 5000));
    assert_true(run_until(leaf_drained, &c, 5000));   /* the relay ACKed: they are in its outbox */
    tier_status_t st;
    tier_status(relay, &st);
    assert_int_equal(st.ev_forwarded, 17);
    assert_int_equal(st.ev_pending, 17);
    assert_int_equal(st.alarms_total, 2);
    tier_destroy(&relay);
    relay = make_tier("relay-2", "relay", 15112, rport, 1, WR_PARENTS_FAILOVER);
    troot_t *r = root_new("root-2", 15111);
    c.root = r;
    c.tier = relay;
    c.want = 15;
    assert_true(run_until(root_has, &c, 8000));
    assert_true(run_until(tier_drained, &c, 8000));
    idset_t *s = calloc(1, sizeof *s);
    root_notifs(r, s);
    assert_int_equal(s->total, 15);
    for (int i = 1; i <= 17; i++)
        assert_int_equal(s->count[i], i == 6 || i == 7 ? 0 : 1);   /* 6 and 7 are the alarms */
    free(s);
    tier_status(r->tier, &st);
    assert_int_equal(st.alarms_total, 2);
    assert_int_equal(st.alarms_by_severity[WR_SEV_MAJOR], 1);
    fl_destroy(&f);
    tier_destroy(&relay);
    root_destroy(&r);
}

/* A relay in mode all gives both roots every event. */
static void test_all_mode_two_roots(void **state)
{
    (void)state;
    troot_t *a = root_new("root-3a", 15121), *b = root_new("root-3b", 15122);
    int ports[] = {15121, 15122};
    tier_t *relay = make_tier("relay-3", "relay", 15123, ports, 2, WR_PARENTS_ALL);
    fleaf_t *f = fl_new("leaf-3", 15123);
    cond_t c = {.root = a, .leaf = f, .want = 12};
    assert_true(run_until(leaf_up, &c, 5000));
    for (int i = 0; i < 12; i++)
        fl_notif(f, i);
    assert_true(run_until(root_has, &c, 5000));
    c.root = b;
    assert_true(run_until(root_has, &c, 5000));
    c.tier = relay;
    assert_true(run_until(tier_drained, &c, 5000));
    fl_destroy(&f);
    tier_destroy(&relay);
    root_destroy(&a);
    root_destroy(&b);
}

typedef struct {
    const char *scope;
    int         found, suppressed, acked;
} afind_t;

static int afind_fn(void *ud, const wr_alarm_t *a)
{
    afind_t *x = ud;
    if (strcmp(a->key.scope, x->scope) == 0 && strcmp(a->key.type, WR_ALARM_MEMORY) == 0) {
        x->found = 1;
        x->suppressed = a->suppressed;
        x->acked = a->acked;
    }
    return 0;
}

static afind_t g_af;
static tier_t *g_at;
static int alarm_state(void *ud)
{
    int want = *(int *)ud;   /* 0 absent, 1 active, 2 suppressed */
    g_af.found = g_af.suppressed = 0;
    tier_alarms_foreach(g_at, afind_fn, &g_af);
    return want == 0 ? !g_af.found : want == 1 ? g_af.found && !g_af.suppressed : g_af.found && g_af.suppressed;
}

typedef struct {
    int n, changes[8];
} hist_t;

static int hist_fn(void *ud, const root_alarm_change_t *ch)
{
    hist_t *h = ud;
    if (h->n < 8)
        h->changes[h->n++] = ch->change;
    return 0;
}

/* Alarms: active at the root, suppressed while their node is down, acknowledged, cleared;
 * every change in the history; a restarted root still has the active alarm. */
static void test_alarms_suppress_history(void **state)
{
    (void)state;
    troot_t *r = root_new("root-4", 15131);
    fleaf_t *f = fl_new("leaf-4", 15131);
    cond_t c = {.root = r, .leaf = f};
    g_at = r->tier;
    static char scope[WR_NODE_NAME_MAX];
    snprintf(scope, sizeof scope, "%s", f->nodes[0].name);   /* outlives the leaf */
    g_af.scope = scope;
    assert_true(run_until(leaf_up, &c, 5000));
    fl_alarm(f, 0, WR_ALARM_MEMORY, WR_SEV_MINOR);
    int want = 1;
    assert_true(run_until(alarm_state, &want, 5000));
    tier_status_t st;
    tier_status(r->tier, &st);
    assert_int_equal(st.alarms_total, 1);
    assert_int_equal(st.alarms_by_severity[WR_SEV_MINOR], 1);
    /* node down: suppressed; up again: not */
    f->nodes[0].state = WR_NODE_DOWN;
    fl_state(f, WR_MSG_DELTA, -1);
    want = 2;
    assert_true(run_until(alarm_state, &want, 5000));
    f->nodes[0].state = WR_NODE_UP;
    fl_state(f, WR_MSG_DELTA, -1);
    want = 1;
    assert_true(run_until(alarm_state, &want, 5000));
    /* an operator acknowledges it */
    wr_alarm_key_t k;
    wr_alarm_key_set(&k, f->nodes[0].name, WR_ALARM_MEMORY, "");
    wr_alarm_t a;
    assert_int_equal(tier_alarm_ack(r->tier, &k, "alice", wr_wall_ms(), &a), 0);
    assert_true(a.acked);
    assert_string_equal(a.acked_by, "alice");
    assert_int_equal(root_events_record_ack(r->re, &a, wr_wall_ms()), 0);
    wr_alarm_key_set(&k, "nobody@h", WR_ALARM_MEMORY, "");
    assert_int_equal(tier_alarm_ack(r->tier, &k, "alice", wr_wall_ms(), NULL), WR_ENOTFOUND);
    /* the root restarts: the active alarm is still there */
    fl_destroy(&f);
    root_destroy(&r);
    r = root_new("root-4", 15131);
    g_at = r->tier;
    assert_true(alarm_state(&want));
    f = fl_new("leaf-4", 15131);
    c.root = r;
    c.leaf = f;
    assert_true(run_until(leaf_up, &c, 5000));
    fl_alarm(f, 0, WR_ALARM_MEMORY, WR_SEV_CLEARED);
    want = 0;
    assert_true(run_until(alarm_state, &want, 5000));
    hist_t h;
    memset(&h, 0, sizeof h);
    root_events_filter_t flt = {.node = f->nodes[0].name, .limit = 100};
    assert_int_equal(root_events_alarm_history(r->re, &flt, hist_fn, &h), 0);
    assert_int_equal(h.n, 3);
    assert_int_equal(h.changes[0], WR_ALARM_NEW);
    assert_int_equal(h.changes[1], ROOT_EVENTS_CHANGE_ACKED);
    assert_int_equal(h.changes[2], WR_ALARM_CLEARED);
    fl_destroy(&f);
    root_destroy(&r);
}

/* A NOTIF frame holding a malformed event is counted (and consumed); the link keeps working. */
static void test_malformed_counted(void **state)
{
    (void)state;
    troot_t *r = root_new("root-5", 15141);
    fleaf_t *f = fl_new("leaf-5", 15141);
    cond_t c = {.root = r, .tier = r->tier, .leaf = f, .want = 1};
    assert_true(run_until(leaf_up, &c, 5000));
    wr_envelope_t env;
    wr_envelope_next(&f->origin, WR_MSG_NOTIF, &env);
    static const uint8_t junk[] = {0x93, 0xa1, 'N', 0x01};
    wr_event_item_t item = {.hop_epoch = 7, .hop_seq = 1, .data = junk, .len = sizeof junk};
    assert_int_equal(wr_encode_events(f->enc, &env, &item, 1), 0);
    assert_int_equal(wr_client_send(f->cli, wr_encoder_data(f->enc), wr_encoder_size(f->enc)), 0);
    /* and a frame that is not an event batch at all */
    static const uint8_t garbage[] = {0x81, 0xa1, 'x', 0x01};
    wr_client_send(f->cli, garbage, sizeof garbage);
    assert_true(run_until(tier_stored, &c, 5000));
    tier_status_t st;
    tier_status(r->tier, &st);
    assert_true(st.ev_bad >= 1);
    assert_int_equal(st.ev_stored, 0);
    fl_notif(f, 1);
    assert_true(run_until(root_has, &c, 5000));
    assert_true(run_until(leaf_drained, &c, 5000));
    fl_destroy(&f);
    root_destroy(&r);
}

/* Sends one hand-made NOTIF frame: hop (epoch 9, seq), the sender's floor, an event of its own
 * identity (origin "hand", seq = 100 + hop seq). */
static void send_hand(fleaf_t *f, uint64_t seq, uint64_t floor)
{
    static wr_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = WR_MSG_NOTIF;
    snprintf(ev.id.origin, sizeof ev.id.origin, "hand");
    ev.id.epoch = 1;
    ev.id.seq = 100 + seq;
    snprintf(ev.notif.node, sizeof ev.notif.node, "%s", f->nodes[0].name);
    strcpy(ev.notif.type, "code_loaded");
    ev.notif.severity = WR_SEV_WARNING;
    ev.notif.at_ms = wr_wall_ms();
    snprintf(ev.notif.leaf, sizeof ev.notif.leaf, "%s", f->id);
    strcpy(ev.notif.fields, "{}");
    wr_encoder_t *pk = wr_encoder_new();
    assert_int_equal(wr_event_pack(pk, &ev), 0);
    wr_event_item_t item = {.hop_epoch = 9, .hop_seq = seq, .data = wr_encoder_data(pk),
                            .len = wr_encoder_size(pk), .floor = floor};
    wr_envelope_t env;
    wr_envelope_next(&f->origin, WR_MSG_NOTIF, &env);
    assert_int_equal(wr_encode_events(f->enc, &env, &item, 1), 0);
    assert_int_equal(wr_client_send(f->cli, wr_encoder_data(f->enc), wr_encoder_size(f->enc)), 0);
    wr_encoder_destroy(&pk);
}

static uint64_t g_want_acks;
static int acked(void *ud)
{
    (void)ud;
    return g_acks >= g_want_acks;
}

/* A parent that first sees a newer event while the sender still holds older ones (it
 * restarted mid-stream) must not ACK past the gap: the item's floor says where it starts. */
static void test_floor_holds_gap(void **state)
{
    (void)state;
    troot_t *r = root_new("root-7", 15161);
    fleaf_t *f = fl_new("leaf-7", 15161);
    cond_t c = {.root = r, .tier = r->tier, .leaf = f, .want = 1};
    assert_true(run_until(leaf_up, &c, 5000));
    g_want_acks = g_acks + 1;
    send_hand(f, 5, 3);                       /* seqs 3 and 4 still held by the sender */
    assert_true(run_until(acked, NULL, 5000));
    assert_int_equal(g_last_ack.epoch, 9);
    assert_int_equal(g_last_ack.seq, 2);      /* not 5 */
    g_want_acks = g_acks + 2;
    send_hand(f, 3, 3);
    send_hand(f, 4, 3);
    assert_true(run_until(acked, NULL, 5000));
    assert_int_equal(g_last_ack.seq, 4);      /* contiguous to 4: 5 comes again from the sender */
    g_want_acks = g_acks + 1;
    send_hand(f, 5, 5);                       /* its resend, a duplicate by identity */
    assert_true(run_until(acked, NULL, 5000));
    assert_int_equal(g_last_ack.seq, 5);
    g_want_acks = g_acks + 1;
    send_hand(f, 9, 9);                       /* 6..8 acknowledged elsewhere (a twin) or dropped */
    assert_true(run_until(acked, NULL, 5000));
    assert_int_equal(g_last_ack.seq, 9);
    tier_status_t st;
    tier_status(r->tier, &st);
    assert_int_equal(st.ev_stored, 4);
    assert_int_equal(st.ev_duplicates, 1);
    fl_destroy(&f);
    root_destroy(&r);
}

/* Retention by count keeps the newest. */
static void test_retention(void **state)
{
    (void)state;
    troot_t *r = root_new("root-6", 15151);
    root_events_destroy(&r->re);
    char err[128];
    root_events_limits_t lim = {.notif_max_count = 5};
    r->re = root_events_new(tier_store(r->tier), &lim, err, sizeof err);
    assert_non_null(r->re);
    tier_set_event_sink(r->tier, root_events_sink, r->re);
    fleaf_t *f = fl_new("leaf-6", 15151);
    cond_t c = {.root = r, .leaf = f, .want = 9};
    assert_true(run_until(leaf_up, &c, 5000));
    for (int i = 0; i < 9; i++)
        fl_notif(f, i);
    assert_true(run_until(root_has, &c, 5000));
    uint64_t removed = 0;
    assert_int_equal(root_events_prune(r->re, wr_wall_ms(), &removed), 0);
    assert_int_equal(removed, 4);
    idset_t *s = calloc(1, sizeof *s);
    root_notifs(r, s);
    assert_int_equal(s->total, 5);
    for (int i = 5; i <= 9; i++)
        assert_int_equal(s->count[i], 1);
    free(s);
    fl_destroy(&f);
    root_destroy(&r);
}

static int setup(void **state)
{
    (void)state;
    return tu_env_setup("test_tier_events", g_dir, &g_zctx, &g_loop);
}

static int teardown(void **state)
{
    (void)state;
    return tu_env_teardown(g_dir, g_zctx, g_loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaf_to_root_dedup),
        cmocka_unit_test(test_relay_restart_resends),
        cmocka_unit_test(test_all_mode_two_roots),
        cmocka_unit_test(test_alarms_suppress_history),
        cmocka_unit_test(test_malformed_counted),
        cmocka_unit_test(test_floor_holds_gap),
        cmocka_unit_test(test_retention),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
