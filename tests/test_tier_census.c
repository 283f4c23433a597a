/* test_tier_census: events a tier originates (tier_events_originate / tier_events_alarm,
 * relay/tier_events.c) and the tier's fleet checks over clusters (relay/tier_census.c):
 * real in-process tiers over real ZeroMQ, a real libev loop and real LMDB in a mkdtemp
 * directory. Children's census summaries are handed to the tier as its links would
 * (tier_census_from_child); the tier's own interval timer merges and raises. Deadlines are
 * ev_timers; nothing sleeps. Ports 9100-9299 (the first free ones). */
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
#include "tier_int.h"
#include "wr_census.h"
#include "wr_error.h"
#include "wr_event.h"
#include "wr_log.h"
#include "wr_time.h"
#include "test_util.h"

#define MD5A  "0123456789abcdef0123456789abcdef"
#define MD5B  "fedcba9876543210fedcba9876543210"
#define VIEW3 "3:00112233445566778899aabbccddeeff"
#define VIEW1 "1:ffeeddccbbaa99887766554433221100"

static char g_dir[] = "/tmp/test_tier_census.XXXXXX";
static void *g_zctx;
static struct ev_loop *g_loop;

/* ---- loop helpers -------------------------------------------------------------------------- */

static int run_until(tu_pred_fn pred, void *ud, int timeout_ms)
{
    return tu_run_until(g_loop, pred, ud, timeout_ms);
}


/* Binds the first free port from port on (ports of this range may be held as the ephemeral
 * ports of others' connections): the tier, its port in *bound. */
static tier_t *make_tier_at(const char *id, const char *kind, int port, int parent, int with_store,
                            uint32_t grace_ms, int *bound)
{
    const char *pe[1] = {parent ? tu_ep(parent) : NULL};
    char store[256], err[256];
    snprintf(store, sizeof store, "%s/%s", g_dir, id);
    wr_link_params_t lp = tu_link_params(20, 3);
    tier_params_t p = {
        .id = id, .kind = kind, .bind = tu_ep(port), .parents = parent ? pe : NULL, .n_parents = parent ? 1 : 0,
        .parent_mode = WR_PARENTS_FAILOVER, .interval_ms = 50, .query_timeout_ms = 1000, .link = lp,
        .store_path = with_store ? store : NULL, .store_map_size = 64u << 20, .membership_grace_ms = grace_ms,
    };
    tier_t *t = NULL;
    for (int k = 0; k < 40 && !t; k++) {
        p.bind = tu_ep(port + k);
        if ((t = tier_new(g_loop, g_zctx, &p, err, sizeof err)) != NULL && bound)
            *bound = port + k;
    }
    if (!t)
        fail_msg("tier_new %s: %s", id, err);
    return t;
}

static tier_t *make_tier(const char *id, const char *kind, int port, int parent, int with_store,
                         uint32_t grace_ms)
{
    return make_tier_at(id, kind, port, parent, with_store, grace_ms, NULL);
}

/* ---- a recording sink (a root's history stand-in) ------------------------------------------ */

typedef struct {
    int      alarms, notifs, news, clears;
    char     origin[WR_ID_MAX];
    uint64_t epoch, seq;
    char     type[64];
} sink_t;

static int rec_sink(void *ud, wr_txn_t *txn, const wr_event_t *ev, const void *bytes, size_t len,
                    int change, const wr_alarm_t *alarm)
{
    (void)txn;
    (void)bytes;
    (void)len;
    (void)alarm;
    sink_t *s = ud;
    snprintf(s->origin, sizeof s->origin, "%s", ev->id.origin);
    s->epoch = ev->id.epoch;
    s->seq = ev->id.seq;
    if (ev->kind == WR_MSG_ALARM) {
        s->alarms++;
        snprintf(s->type, sizeof s->type, "%s", ev->alarm.key.type);
        s->news += change == WR_ALARM_NEW;
        s->clears += change == WR_ALARM_CLEARED;
    } else {
        s->notifs++;
        snprintf(s->type, sizeof s->type, "%s", ev->notif.type);
    }
    return 0;
}

/* ---- alarm lookups ---------------------------------------------------------------------------- */

typedef struct {
    const char *type;
    int         found;
    char        scope[128], resource[128], text[512];
} find_t;

static int find_visit(void *ud, const wr_alarm_t *a)
{
    find_t *f = ud;
    if (strcmp(a->key.type, f->type) != 0)
        return 0;
    f->found++;
    snprintf(f->scope, sizeof f->scope, "%s", a->key.scope);
    snprintf(f->resource, sizeof f->resource, "%s", a->key.resource);
    snprintf(f->text, sizeof f->text, "%s", a->text);
    return 0;
}

static int has_alarm(tier_t *t, const char *type, find_t *f)
{
    memset(f, 0, sizeof *f);
    f->type = type;
    tier_alarms_foreach(t, find_visit, f);
    return f->found;
}

typedef struct {
    tier_t     *t;
    const char *type;
    int         want;       /* 1: present, 0: absent */
    find_t      f;
} wait_t;

static int alarm_is(void *ud)
{
    wait_t *w = ud;
    return (has_alarm(w->t, w->type, &w->f) > 0) == w->want;
}

/* ---- tests ----------------------------------------------------------------------------------- */

/* A root originates an alarm (raise, clear) and a notification: its own identity, growing
 * seqs, its alarm table, its sink. A tier without a store refuses. */
static void test_originate_root(void **state)
{
    (void)state;
    tier_t *t = make_tier("root-c1", "root", 9100, 0, 1, 0);
    sink_t s = {0};
    tier_set_event_sink(t, rec_sink, &s);
    assert_int_equal(tier_events_alarm(t, "relay-x", "outbox_overflow", "outbox.0", WR_SEV_MAJOR, "dropped 3"), 0);
    assert_int_equal(s.alarms, 1);
    assert_int_equal(s.news, 1);
    assert_string_equal(s.origin, "root-c1");
    assert_int_equal(s.seq, 1);
    assert_true(s.epoch > 0);
    uint64_t epoch = s.epoch;
    find_t f;
    assert_int_equal(has_alarm(t, "outbox_overflow", &f), 1);
    assert_string_equal(f.scope, "relay-x");
    assert_string_equal(f.text, "dropped 3");
    assert_int_equal(tier_events_alarm(t, "relay-x", "outbox_overflow", "outbox.0", 0, NULL), 0);
    assert_int_equal(s.clears, 1);
    assert_int_equal(s.seq, 2);
    assert_int_equal(s.epoch, epoch);
    assert_int_equal(has_alarm(t, "outbox_overflow", &f), 0);
    /* a notification */
    static wr_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = WR_MSG_NOTIF;
    snprintf(ev.notif.node, sizeof ev.notif.node, "a@h");
    snprintf(ev.notif.type, sizeof ev.notif.type, "tier_note");
    ev.notif.severity = WR_SEV_WARNING;
    ev.notif.at_ms = wr_wall_ms();
    snprintf(ev.notif.leaf, sizeof ev.notif.leaf, "root-c1");
    snprintf(ev.notif.fields, sizeof ev.notif.fields, "{\"k\":1}");
    assert_int_equal(tier_events_originate(t, &ev), 0);
    assert_int_equal(s.notifs, 1);
    assert_string_equal(s.type, "tier_note");
    assert_int_equal(s.seq, 3);
    /* malformed: refused, nothing taken, the seq not used */
    assert_int_equal(tier_events_alarm(t, "", "x", "y", WR_SEV_MAJOR, "t") != 0, 1);
    ev.kind = 99;
    assert_int_equal(tier_events_originate(t, &ev), WR_EINVAL);
    assert_int_equal(tier_events_alarm(t, "s", "t", "r", WR_SEV_MAJOR, "x"), 0);
    assert_int_equal(s.seq, 4);
    tier_destroy(&t);
    /* no store */
    tier_t *n = make_tier("root-nostore", "root", 9220, 0, 0, 0);
    assert_int_equal(tier_events_alarm(n, "s", "t", "r", WR_SEV_MAJOR, "x"), WR_EUNSUPPORTED);
    tier_destroy(&n);
}

/* A relay originates an alarm: it goes through the relay's outbox to the root (history and
 * alarm table), then its clear. */
static void test_originate_relay(void **state)
{
    (void)state;
    int rport = 0;
    tier_t *root = make_tier_at("root-c2", "root", 9140, 0, 1, 0, &rport);
    char err[256];
    root_events_t *re = root_events_new(tier_store(root), NULL, err, sizeof err);
    if (!re)
        fail_msg("root_events_new: %s", err);
    tier_set_event_sink(root, root_events_sink, re);
    tier_t *relay = make_tier("relay-c2", "relay", 9180, rport, 1, 0);
    assert_int_equal(tier_events_alarm(relay, "relay-c2", "outbox_overflow", "outbox.0", WR_SEV_MINOR, "x"), 0);
    find_t f;
    assert_int_equal(has_alarm(relay, "outbox_overflow", &f), 1);
    wait_t w = {root, "outbox_overflow", 1, {0}};
    assert_true(run_until(alarm_is, &w, 5000));
    assert_string_equal(w.f.scope, "relay-c2");
    assert_int_equal(tier_events_alarm(relay, "relay-c2", "outbox_overflow", "outbox.0", 0, ""), 0);
    w.want = 0;
    assert_true(run_until(alarm_is, &w, 5000));
    tier_destroy(&relay);
    root_events_destroy(&re);
    tier_destroy(&root);
}

/* A leaf's summary: n nodes of cluster "ring" (c@h runs release back-1, the others front-1)
 * with the given module md5s and views. */
static void leaf_blob(const char *const *nodes, const char *const *md5s, const char *const *views, int n,
                      void **b, size_t *len)
{
    wr_census_t *c = wr_census_new();
    for (int i = 0; i < n; i++) {
        const char *rel = !strcmp(nodes[i], "c@h") ? "back-1" : "front-1";
        assert_int_equal(wr_census_add_node(c, rel, nodes[i]), 0);
        assert_int_equal(wr_census_add_item(c, rel, WR_CENSUS_MODULE, "m1", md5s[i], nodes[i]), 0);
        assert_int_equal(wr_census_add_group_node(c, WR_CENSUS_CLUSTER, "ring", nodes[i]), 0);
        assert_int_equal(wr_census_add_group_item(c, WR_CENSUS_CLUSTER, "ring", WR_CENSUS_MODULE, "m1",
                                                  md5s[i], nodes[i]), 0);
        assert_int_equal(wr_census_add_group_item(c, WR_CENSUS_CLUSTER, "ring", WR_CENSUS_VIEW,
                                                  WR_CENSUS_VIEW_ITEM, views[i], nodes[i]), 0);
    }
    assert_int_equal(wr_census_encode(c, b, len), 0);
    wr_census_destroy(&c);
}

/* The lowest tier that sees a cluster's difference raises it: two leaves, each uniform, one
 * of them with a node whose module and view differ. membership_divergence waits for the
 * tier's grace period; both clear when the leaves agree again. */
static void test_cluster_checks(void **state)
{
    (void)state;
    tier_t *t = make_tier("root-c3", "root", 9260, 0, 1, 400);
    sink_t s = {0};
    tier_set_event_sink(t, rec_sink, &s);
    const char *n1[] = {"a@h", "b@h"}, *n2[] = {"c@h"};
    const char *m1[] = {MD5A, MD5A}, *m2[] = {MD5B}, *m2ok[] = {MD5A};
    const char *v1[] = {VIEW3, VIEW3}, *v2[] = {VIEW1}, *v2ok[] = {VIEW3};
    void *b1, *b2;
    size_t l1, l2;
    leaf_blob(n1, m1, v1, 2, &b1, &l1);
    leaf_blob(n2, m2, v2, 1, &b2, &l2);
    int64_t t0 = wr_mono_ms();
    tier_census_from_child(t, "leaf-1", b1, l1, 1);
    tier_census_from_child(t, "leaf-2", b2, l2, 1);
    free(b2);
    wait_t w = {t, "different_module_versions", 1, {0}};
    assert_true(run_until(alarm_is, &w, 5000));
    assert_string_equal(w.f.scope, "ring");
    assert_string_equal(w.f.resource, "m1");
    assert_non_null(strstr(w.f.text, "md5 fedcba987654 on 1 node (c@h)"));
    find_t f;
    assert_int_equal(has_alarm(t, "module_clash", &f), 0);       /* each release is uniform */
    wait_t m = {t, "membership_divergence", 1, {0}};
    assert_true(run_until(alarm_is, &m, 5000));
    assert_true(wr_mono_ms() - t0 >= 400);                       /* not before the grace */
    assert_string_equal(m.f.scope, "ring");
    assert_string_equal(m.f.resource, "membership");
    assert_non_null(strstr(m.f.text, "odd nodes: c@h (sees 1 node)"));
    assert_string_equal(s.origin, "root-c3");
    assert_int_equal(tier_census_raised(t), 2);
    /* the second leaf agrees again: both cleared */
    leaf_blob(n2, m2ok, v2ok, 1, &b2, &l2);
    tier_census_from_child(t, "leaf-2", b2, l2, 0);
    free(b2);
    w.want = 0;
    m.want = 0;
    assert_true(run_until(alarm_is, &w, 5000));
    assert_true(run_until(alarm_is, &m, 5000));
    assert_int_equal(tier_census_raised(t), 0);
    assert_int_equal(s.clears, 2);
    /* the same difference inside one leaf is that leaf's (claimed): nothing here */
    const char *n3[] = {"a@h", "b@h", "c@h"}, *m3[] = {MD5A, MD5A, MD5B}, *v3[] = {VIEW3, VIEW3, VIEW1};
    leaf_blob(n3, m3, v3, 3, &b2, &l2);
    tier_census_from_child(t, "leaf-2", NULL, 0, 1);             /* a SNAPSHOT without one: gone */
    tier_census_from_child(t, "leaf-1", b2, l2, 0);
    free(b2);
    free(b1);
    int news = s.news;
    wait_t never = {t, "membership_divergence", 1, {0}};
    assert_false(run_until(alarm_is, &never, 800));
    assert_int_equal(has_alarm(t, "different_module_versions", &f), 0);
    assert_int_equal(s.news, news);
    tier_destroy(&t);
}

static int setup(void **state)
{
    (void)state;
    return tu_env_setup("test_tier_census", g_dir, &g_zctx, &g_loop);
}

static int teardown(void **state)
{
    (void)state;
    return tu_env_teardown(g_dir, g_zctx, g_loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_originate_root),
        cmocka_unit_test(test_originate_relay),
        cmocka_unit_test(test_cluster_checks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
