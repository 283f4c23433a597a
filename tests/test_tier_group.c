/* test_tier_group: the relay's side of leaf takeover and failover (issue 5), over real ZeroMQ
 * links and a real libev loop: the tier announces its live leaves (COMMAND "group") when one
 * comes up or dies; an UNKNOWN report never takes a node from a live owner that knows its
 * state; a standby child (empty SNAPSHOT) is not listed in the tree. Deadlines are ev_timers;
 * nothing sleeps. Ports 17500-17999. */
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
#include <jansson.h>
#include <zmq.h>
#include "tier.h"
#include "wr_error.h"
#include "wr_log.h"
#include "wr_time.h"
#include "test_util.h"

#define HB_MS 20

static const char *EP(int k)
{
    static char buf[8][40];
    static int n;
    char *b = buf[n++ % 8];
    snprintf(b, 40, "tcp://127.0.0.1:%d", 17500 + (int)(getpid() % 60) * 8 + k);
    return b;
}

/* ---- a fake child (leaf or relay) ------------------------------------------------------ */

typedef struct {
    char         id[WR_ID_MAX];
    char         kind[WR_KIND_MAX];
    wr_origin_t  origin;
    wr_client_t *cli;
    wr_encoder_t *enc;
    int          up;
    int          groups;                 /* COMMAND group received */
    char         last_leaves[512];       /* JSON of the last one's leaves */
    long long    last_version;
} fchild_t;

static void fc_parent_up(void *ud, int parent)
{
    (void)parent;
    ((fchild_t *)ud)->up = 1;
}

static void fc_parent_down(void *ud, int parent)
{
    (void)parent;
    ((fchild_t *)ud)->up = 0;
}

static void fc_message(void *ud, int parent, const wr_envelope_t *env, wr_decoder_t *dec)
{
    fchild_t *f = ud;
    (void)parent;
    if (env->type != WR_MSG_COMMAND)
        return;
    wr_command_t c;
    char why[128];
    if (wr_decode_command(dec, &c, why, sizeof why) != 0 || c.cmd_len != 5 || memcmp(c.cmd, "group", 5) != 0)
        return;
    json_t *j = json_loadb(c.args, c.args_len, 0, NULL);
    assert_non_null(j);
    char *l = json_dumps(json_object_get(j, "leaves"), JSON_COMPACT);
    assert_non_null(l);
    snprintf(f->last_leaves, sizeof f->last_leaves, "%s", l);
    f->last_version = (long long)json_integer_value(json_object_get(j, "version"));
    f->groups++;
    free(l);
    json_decref(j);
}

static void fc_start(fchild_t *f, struct ev_loop *loop, void *zctx, const char *id, const char *kind,
                     const char *parent)
{
    memset(f, 0, sizeof *f);
    snprintf(f->id, sizeof f->id, "%s", id);
    snprintf(f->kind, sizeof f->kind, "%s", kind);
    wr_origin_init(&f->origin, f->id);
    f->enc = wr_encoder_new();
    wr_hello_t h;
    memset(&h, 0, sizeof h);
    snprintf(h.kind, sizeof h.kind, "%s", kind);
    snprintf(h.id, sizeof h.id, "%s", id);
    h.interval_ms = 100;
    wr_link_params_t p;
    wr_link_params_default(&p);
    p.heartbeat_ms = HB_MS;
    static const wr_client_callbacks_t cb = {fc_parent_up, fc_parent_down, fc_message, NULL};
    char err[256];
    const char *eps[1] = {parent};
    f->cli = wr_client_new(loop, zctx, eps, 1, WR_PARENTS_FAILOVER, &f->origin, &h, &p, &cb, f, err, sizeof err);
    assert_non_null(f->cli);
}

static void fc_stop(fchild_t *f)
{
    wr_client_destroy(&f->cli);
    wr_encoder_destroy(&f->enc);
}

/* Sends a SNAPSHOT: one node (name, state) or none, with the child's tier entry unless empty. */
static void fc_snapshot(fchild_t *f, const char *node, int state, int empty)
{
    wr_node_entry_t n;
    memset(&n, 0, sizeof n);
    if (node) {
        snprintf(n.name, sizeof n.name, "%s", node);
        n.state = (uint8_t)state;
        n.since_ms = wr_wall_ms();
        snprintf(n.leaf, sizeof n.leaf, "%s", f->id);
    }
    wr_tier_entry_t te;
    memset(&te, 0, sizeof te);
    snprintf(te.id, sizeof te.id, "%s", f->id);
    snprintf(te.kind, sizeof te.kind, "%s", f->kind);
    te.parent = -1;
    te.up = 1;
    te.nodes_total = node ? 1 : 0;
    te.nodes_up = node && state == WR_NODE_UP;
    wr_state_msg_t m = {.interval_ms = 100, .at_ms = wr_wall_ms(), .n_nodes = node ? 1 : 0, .nodes = &n,
                        .n_tiers = empty ? 0 : 1, .tiers = &te};
    wr_envelope_t env;
    wr_envelope_next(&f->origin, WR_MSG_SNAPSHOT, &env);
    assert_int_equal(wr_encode_state(f->enc, &env, &m), 0);
    assert_int_equal(wr_client_send(f->cli, wr_encoder_data(f->enc), wr_encoder_size(f->enc)), 0);
}

/* ---- fixtures --------------------------------------------------------------------------- */

typedef struct {
    struct ev_loop *loop;
    void           *zctx;
    tier_t         *tier;
    fchild_t        a, b;
} fx_t;

static int setup(void **state)
{
    wr_log_init("test_tier_group", WR_LOG_ERROR, 0);
    fx_t *x = calloc(1, sizeof *x);
    x->loop = ev_loop_new(0);
    x->zctx = zmq_ctx_new();
    tier_params_t p;
    memset(&p, 0, sizeof p);
    p.id = "relay-t";
    p.kind = "relay";
    p.bind = EP(0);
    p.interval_ms = 100;
    wr_link_params_default(&p.link);
    p.link.heartbeat_ms = HB_MS;
    char err[256];
    x->tier = tier_new(x->loop, x->zctx, &p, err, sizeof err);
    assert_non_null(x->tier);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    fx_t *x = *state;
    if (x->a.cli)
        fc_stop(&x->a);
    if (x->b.cli)
        fc_stop(&x->b);
    tier_destroy(&x->tier);
    zmq_ctx_term(x->zctx);
    ev_loop_destroy(x->loop);
    free(x);
    return 0;
}

static int both_up(void *ud)
{
    fx_t *x = ud;
    return x->a.up && x->b.up;
}

static int a_has_both(void *ud)
{
    fx_t *x = ud;
    return strstr(x->a.last_leaves, "leaf-a") && strstr(x->a.last_leaves, "leaf-b") &&
           strstr(x->b.last_leaves, "leaf-a") && strstr(x->b.last_leaves, "leaf-b");
}

static int a_alone(void *ud)
{
    fx_t *x = ud;
    return strcmp(x->a.last_leaves, "[\"leaf-a\"]") == 0;
}

/* Both leaves hear who is live; when one dies the other hears it, with a higher version. */
static void test_group_announced(void **state)
{
    fx_t *x = *state;
    fc_start(&x->a, x->loop, x->zctx, "leaf-a", "leaf", EP(0));
    fc_start(&x->b, x->loop, x->zctx, "leaf-b", "leaf", EP(0));
    assert_true(tu_run_until(x->loop, both_up, x, 3000));
    assert_true(tu_run_until(x->loop, a_has_both, x, 3000));
    long long v = x->a.last_version;
    assert_true(v >= 1);
    assert_int_equal(x->b.last_version, v);
    fc_stop(&x->b);   /* dies: silent past 3 heartbeats */
    assert_true(tu_run_until(x->loop, a_alone, x, 3000));
    assert_true(x->a.last_version > v);
}

static int node_owned_by_a(void *ud)
{
    fx_t *x = ud;
    tier_node_view_t v;
    return tier_node_lookup(x->tier, "n1@h", &v) == 0 && v.state == WR_NODE_UP && strcmp(v.child, "leaf-a") == 0;
}

static int b_synced(void *ud)
{
    fx_t *x = ud;
    tier_status_t st;
    tier_status(x->tier, &st);
    return st.children == 2;
}

/* A relay whose children died reports their nodes UNKNOWN: that must not take a node from a
 * live owner that reports it UP (no false unknown/down during a handover). */
static void test_unknown_does_not_steal(void **state)
{
    fx_t *x = *state;
    fc_start(&x->a, x->loop, x->zctx, "leaf-a", "leaf", EP(0));
    fc_start(&x->b, x->loop, x->zctx, "relay-b", "relay", EP(0));
    assert_true(tu_run_until(x->loop, both_up, x, 3000));
    fc_snapshot(&x->a, "n1@h", WR_NODE_UP, 0);
    assert_true(tu_run_until(x->loop, node_owned_by_a, x, 3000));
    fc_snapshot(&x->b, "n1@h", WR_NODE_UNKNOWN, 0);
    fc_snapshot(&x->b, NULL, 0, 0);   /* a second frame: the first was applied by then */
    assert_true(tu_run_until(x->loop, b_synced, x, 3000));
    tu_run_for(x->loop, 200);
    assert_true(node_owned_by_a(x));
    /* A known state from another child does move it (the handover itself). */
    fc_snapshot(&x->b, "n1@h", WR_NODE_UP, 0);
    tier_node_view_t v;
    int moved = 0;
    for (int i = 0; i < 200 && !moved; i++) {
        ev_run(x->loop, EVRUN_ONCE);
        moved = tier_node_lookup(x->tier, "n1@h", &v) == 0 && strcmp(v.child, "relay-b") == 0;
    }
    assert_true(moved);
}

static int standby_hidden(void *ud)
{
    fx_t *x = ud;
    wr_tier_entry_t *tr = NULL;
    size_t n = tier_tree(x->tier, &tr);
    int a = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
        a += strcmp(tr[i].id, "leaf-a") == 0;
        b += strcmp(tr[i].id, "leaf-b") == 0;
    }
    free(tr);
    tier_status_t st;
    tier_status(x->tier, &st);
    return a == 1 && b == 0 && st.leaves_total == 1 && st.children == 2;
}

/* A child that streams to our twin sends us an empty SNAPSHOT: it is not listed. */
static void test_standby_not_listed(void **state)
{
    fx_t *x = *state;
    fc_start(&x->a, x->loop, x->zctx, "leaf-a", "leaf", EP(0));
    fc_start(&x->b, x->loop, x->zctx, "leaf-b", "leaf", EP(0));
    assert_true(tu_run_until(x->loop, both_up, x, 3000));
    fc_snapshot(&x->a, "n1@h", WR_NODE_UP, 0);
    fc_snapshot(&x->b, NULL, 0, 1);
    assert_true(tu_run_until(x->loop, standby_hidden, x, 3000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_group_announced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_does_not_steal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_standby_not_listed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
