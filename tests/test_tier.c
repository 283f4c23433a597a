/* test_tier: the tier (relay/tier*.c) driven over real ZeroMQ links and a real libev loop.
 * Fake leaves are real wr_clients that send hand-built SNAPSHOT / DELTA frames exactly as a
 * leaf would, answer QUERYs and count COMMANDs. Deadlines are ev_timers; nothing sleeps.
 * Ports 25000-25099. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <ev.h>
#include <zmq.h>
#include "tier.h"
#include "wr_error.h"
#include "wr_log.h"
#include "wr_time.h"
#include "test_util.h"

/* Ports 25xxx shifted per process (multiples of 64 up to 6,336), so parallel runs of this test
 * in several build trees do not steal each other's listeners; stays below 32768. */
static int port_offset(void) { return (int)(getpid() % 100) * 64; }
static const char *EP(int port)
{
    static char buf[16][40];
    static int k;
    char *b = buf[k++ % 16];
    snprintf(b, 40, "tcp://127.0.0.1:%d", port + port_offset());
    return b;
}

#define HB_MS 20

/* ---- loop helpers (tu_run_until: test_util.h) ------------------------------------------ */

static wr_link_params_t link_params(void)
{
    return tu_link_params(HB_MS, 3);
}

/* ---- a fake leaf ------------------------------------------------------------------------ */

typedef struct {
    struct ev_loop   *loop;
    char              id[WR_ID_MAX];
    wr_origin_t       origin;
    wr_client_t      *cli;
    wr_encoder_t     *enc;
    uint64_t          state_seq;
    wr_node_entry_t   nodes[8];
    size_t            n_nodes;
    wr_rollup_entry_t rollups[4];
    size_t            n_rollups;
    double            sps;
    int               parent_up;
    int               snapshots_asked;
    int               queries;
    int               answer;          /* reply to QUERYs */
} fleaf_t;

static void fleaf_send_state(fleaf_t *f, int type, const size_t *idx, size_t n_idx)
{
    wr_node_entry_t nodes[8];
    size_t nn = 0, up = 0;
    if (type == WR_MSG_SNAPSHOT)
        for (size_t i = 0; i < f->n_nodes; i++)
            nodes[nn++] = f->nodes[i];
    else
        for (size_t i = 0; i < n_idx; i++)
            nodes[nn++] = f->nodes[idx[i]];
    for (size_t i = 0; i < f->n_nodes; i++)
        up += f->nodes[i].state == WR_NODE_UP;
    wr_tier_entry_t te;
    memset(&te, 0, sizeof te);
    snprintf(te.id, sizeof te.id, "%s", f->id);
    strcpy(te.kind, "leaf");
    te.parent = -1;
    te.up = 1;
    te.nodes_total = (uint32_t)f->n_nodes;
    te.nodes_up = (uint32_t)up;
    te.samples_per_s = f->sps;
    wr_state_msg_t m = {.interval_ms = 100, .at_ms = wr_wall_ms(), .n_nodes = nn, .nodes = nodes,
                        .n_rollups = f->n_rollups, .rollups = f->rollups, .n_tiers = 1, .tiers = &te};
    wr_envelope_t env;
    wr_envelope_next(&f->origin, type, &env);
    if (type == WR_MSG_DELTA)
        f->state_seq++;
    env.seq = f->state_seq;
    assert_int_equal(wr_encode_state(f->enc, &env, &m), 0);
    assert_int_equal(wr_client_send(f->cli, wr_encoder_data(f->enc), wr_encoder_size(f->enc)), 0);
}

static void fleaf_on_up(void *ud, int parent)
{
    fleaf_t *f = ud;
    (void)parent;
    f->parent_up++;
    fleaf_send_state(f, WR_MSG_SNAPSHOT, NULL, 0);
}

static void fleaf_on_down(void *ud, int parent)
{
    (void)ud;
    (void)parent;
}

static void fleaf_on_message(void *ud, int parent, const wr_envelope_t *env, wr_decoder_t *dec)
{
    fleaf_t *f = ud;
    char why[256];
    if (env->type == WR_MSG_COMMAND) {
        wr_command_t cmd;
        assert_int_equal(wr_decode_command(dec, &cmd, why, sizeof why), 0);
        if (cmd.cmd_len == 8 && memcmp(cmd.cmd, "snapshot", 8) == 0) {
            f->snapshots_asked++;
            fleaf_send_state(f, WR_MSG_SNAPSHOT, NULL, 0);
        }
    } else if (env->type == WR_MSG_QUERY) {
        wr_query_t q;
        assert_int_equal(wr_decode_query(dec, &q, why, sizeof why), 0);
        f->queries++;
        if (!f->answer)
            return;
        char result[512];
        wr_reply_t r = {.qid = q.qid};
        if (q.kind_len == 4 && memcmp(q.kind, "fail", 4) == 0) {
            r.status = WR_ENOTFOUND;
            r.error = "metric x unknown";
            r.error_len = strlen(r.error);
            r.result = "";
        } else {
            snprintf(result, sizeof result, "{\"node\":\"%.*s\",\"kind\":\"%.*s\",\"args\":%.*s,\"leaf\":\"%s\"}",
                     (int)q.node_len, q.node, (int)q.kind_len, q.kind, (int)q.args_len, q.args, f->id);
            r.result = result;
            r.result_len = strlen(result);
            r.error = "";
        }
        wr_envelope_t renv;
        wr_envelope_next(&f->origin, WR_MSG_REPLY, &renv);
        assert_int_equal(wr_encode_reply(f->enc, &renv, &r), 0);
        assert_int_equal(wr_client_send_to(f->cli, parent, wr_encoder_data(f->enc), wr_encoder_size(f->enc)), 0);
    }
}

static fleaf_t *fleaf_new(struct ev_loop *loop, void *zctx, const char *id, const char *endpoint,
                          const char *prefix, size_t n_nodes)
{
    fleaf_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->loop = loop;
    snprintf(f->id, sizeof f->id, "%s", id);
    wr_origin_init(&f->origin, id);
    f->state_seq = 1;
    f->answer = 1;
    f->enc = wr_encoder_new();
    assert_non_null(f->enc);
    f->n_nodes = n_nodes;
    for (size_t i = 0; i < n_nodes; i++) {
        snprintf(f->nodes[i].name, sizeof f->nodes[i].name, "%s%zu@h", prefix, i + 1);
        f->nodes[i].state = WR_NODE_UP;
        f->nodes[i].since_ms = 1000 + (int64_t)i;
        snprintf(f->nodes[i].leaf, sizeof f->nodes[i].leaf, "%s", id);
    }
    static const wr_client_callbacks_t cb = {
        .on_parent_up = fleaf_on_up, .on_parent_down = fleaf_on_down, .on_message = fleaf_on_message,
    };
    wr_hello_t hello;
    memset(&hello, 0, sizeof hello);
    strcpy(hello.kind, "leaf");
    snprintf(hello.id, sizeof hello.id, "%s", id);
    strcpy(hello.version, "test");
    hello.interval_ms = 100;
    wr_link_params_t lp = link_params();
    char err[256];
    const char *eps[] = {endpoint};
    f->cli = wr_client_new(loop, zctx, eps, 1, WR_PARENTS_FAILOVER, &f->origin, &hello, &lp, &cb, f, err, sizeof err);
    if (!f->cli)
        fail_msg("wr_client_new: %s", err);
    return f;
}

static void fleaf_destroy(fleaf_t **pf)
{
    fleaf_t *f = *pf;
    if (!f)
        return;
    wr_client_destroy(&f->cli);
    wr_encoder_destroy(&f->enc);
    free(f);
    *pf = NULL;
}

static void fleaf_set(fleaf_t *f, size_t i, int state, int gap)
{
    f->nodes[i].state = (uint8_t)state;
    f->nodes[i].since_ms = wr_wall_ms();
    f->state_seq += (uint64_t)gap;
    fleaf_send_state(f, WR_MSG_DELTA, &i, 1);
}

static void set_rollup(fleaf_t *f, const char *metric, uint64_t count, double sum, double min, double max)
{
    wr_rollup_entry_t *r = &f->rollups[f->n_rollups++];
    memset(r, 0, sizeof *r);
    snprintf(r->metric, sizeof r->metric, "%s", metric);
    r->agg.count = count;
    r->agg.sum = sum;
    r->agg.min = min;
    r->agg.max = max;
}

/* ---- tiers ------------------------------------------------------------------------------ */

static tier_t *make_tier(struct ev_loop *loop, void *zctx, const char *id, const char *kind, const char *bind,
                         const char *parent, uint32_t interval_ms, uint32_t query_timeout_ms)
{
    const char *parents[] = {parent};
    tier_params_t p = {
        .id = id, .kind = kind, .bind = bind, .parents = parent ? parents : NULL,
        .n_parents = parent ? 1 : 0, .parent_mode = WR_PARENTS_FAILOVER, .interval_ms = interval_ms,
        .query_timeout_ms = query_timeout_ms, .link = link_params(),
    };
    char err[256];
    tier_t *t = tier_new(loop, zctx, &p, err, sizeof err);
    if (!t)
        fail_msg("tier_new %s: %s", id, err);
    return t;
}

typedef struct {
    tier_t     *tier;
    const char *node;
    int         state;
    uint32_t    nodes_total, nodes_up, leaves_up;
    const char *tier_id;
    int         tier_up;
    fleaf_t    *leaf;
    int         asked;
} cond_t;

static int cond_status(void *ud)
{
    cond_t *c = ud;
    tier_status_t st;
    tier_status(c->tier, &st);
    return st.nodes_total == c->nodes_total && st.nodes_up == c->nodes_up && st.leaves_up == c->leaves_up;
}

static int cond_node(void *ud)
{
    cond_t *c = ud;
    tier_node_view_t v;
    return tier_node_lookup(c->tier, c->node, &v) == 0 && v.state == c->state;
}

static int cond_owner(void *ud)
{
    cond_t *c = ud;
    tier_node_view_t v;
    return tier_node_lookup(c->tier, c->node, &v) == 0 && strcmp(v.child, c->tier_id) == 0;
}

static int find_tier(tier_t *t, const char *id, wr_tier_entry_t *out)
{
    wr_tier_entry_t *arr = NULL;
    size_t n = tier_tree(t, &arr);
    int found = -1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(arr[i].id, id) == 0) {
            *out = arr[i];
            found = (int)i;
        }
    free(arr);
    return found;
}

static int cond_tier_up(void *ud)
{
    cond_t *c = ud;
    wr_tier_entry_t e;
    return find_tier(c->tier, c->tier_id, &e) >= 0 && e.up == c->tier_up;
}

/* The tier's own entry shows link traffic: frames and bytes both ways (heartbeats at least). */
static int cond_links_metered(void *ud)
{
    cond_t *c = ud;
    wr_tier_entry_t e;
    return find_tier(c->tier, c->tier_id, &e) == 0 && e.frames_in_per_s > 0 &&
           e.frames_out_per_s > 0 && e.bytes_in_per_s >= 8 * e.frames_in_per_s &&
           e.bytes_out_per_s >= 8 * e.frames_out_per_s;
}

static int cond_asked(void *ud)
{
    cond_t *c = ud;
    return c->leaf->snapshots_asked >= c->asked;
}

typedef struct {
    struct ev_loop *loop;
    void           *zctx;
    tier_t         *root;
    fleaf_t        *a, *b;
} two_leaves_t;

static void two_leaves_up(two_leaves_t *s, int port)
{
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port + port_offset());
    s->loop = ev_loop_new(EVFLAG_AUTO);
    s->zctx = zmq_ctx_new();
    s->root = make_tier(s->loop, s->zctx, "root-t", "root", ep, NULL, 100, 200);
    s->a = fleaf_new(s->loop, s->zctx, "leaf-a", ep, "a", 3);
    s->b = fleaf_new(s->loop, s->zctx, "leaf-b", ep, "b", 3);
    s->a->nodes[2].state = WR_NODE_DOWN;
    s->a->sps = 10.5;
    s->b->sps = 20.25;
    set_rollup(s->a, "memory.total", 3, 30, 5, 15);
    set_rollup(s->a, "run_queue", 2, 4, 1, 3);
    set_rollup(s->b, "memory.total", 2, 50, 20, 30);
    cond_t c = {.tier = s->root, .nodes_total = 6, .nodes_up = 5, .leaves_up = 2};
    assert_true(tu_run_until(s->loop, cond_status, &c, 5000));
}

static void two_leaves_down(two_leaves_t *s)
{
    fleaf_destroy(&s->a);
    fleaf_destroy(&s->b);
    tier_destroy(&s->root);
    assert_null(s->root);
    zmq_ctx_term(s->zctx);
    ev_loop_destroy(s->loop);
}

/* ---- 1. two leaves: counts, ownership, merged rollups --------------------------------- */

static void test_two_leaves(void **state)
{
    (void)state;
    two_leaves_t s;
    two_leaves_up(&s, 25001);

    tier_status_t st;
    tier_status(s.root, &st);
    assert_int_equal(st.nodes_total, 6);
    assert_int_equal(st.nodes_up, 5);
    assert_int_equal(st.nodes_down, 1);
    assert_int_equal(st.leaves_total, 2);
    assert_int_equal(st.leaves_up, 2);
    assert_int_equal(st.relays_total, 0);
    assert_int_equal(st.children, 2);
    assert_int_equal(st.parents_up, 0);
    assert_true(st.samples_per_s > 30.74 && st.samples_per_s < 30.76);

    tier_node_view_t v;
    assert_int_equal(tier_node_lookup(s.root, "b2@h", &v), 0);
    assert_string_equal(v.child, "leaf-b");
    assert_string_equal(v.leaf, "leaf-b");
    assert_int_equal(v.state, WR_NODE_UP);
    assert_int_equal(v.since_ms, 1001);
    assert_int_equal(tier_node_lookup(s.root, "a3@h", &v), 0);
    assert_string_equal(v.child, "leaf-a");
    assert_int_equal(v.state, WR_NODE_DOWN);
    assert_int_equal(tier_node_lookup(s.root, "zz@h", &v), WR_ENOTFOUND);

    wr_rollup_entry_t *r = NULL;
    size_t nr = tier_rollups(s.root, &r);
    assert_int_equal(nr, 2);
    assert_string_equal(r[0].metric, "memory.total");
    assert_int_equal(r[0].agg.count, 5);
    assert_true(r[0].agg.sum == 80.0 && r[0].agg.min == 5.0 && r[0].agg.max == 30.0);
    assert_string_equal(r[1].metric, "run_queue");
    assert_int_equal(r[1].agg.count, 2);
    assert_true(r[1].agg.sum == 4.0 && r[1].agg.min == 1.0 && r[1].agg.max == 3.0);
    free(r);

    wr_tier_entry_t *tr = NULL;
    size_t nt = tier_tree(s.root, &tr);
    assert_int_equal(nt, 3);
    assert_string_equal(tr[0].id, "root-t");
    assert_int_equal(tr[0].parent, -1);
    assert_int_equal(tr[0].nodes_total, 6);
    assert_int_equal(tr[0].nodes_up, 5);
    for (size_t i = 1; i < 3; i++) {
        assert_int_equal(tr[i].parent, 0);
        assert_string_equal(tr[i].kind, "leaf");
        assert_int_equal(tr[i].up, 1);
    }
    free(tr);
    cond_t lm = {.tier = s.root, .tier_id = "root-t"};
    assert_true(tu_run_until(s.loop, cond_links_metered, &lm, 5000));

    two_leaves_down(&s);
}

static int count_node(void *ud, const tier_node_view_t *n)
{
    (void)n;
    (*(int *)ud)++;
    return 0;
}

/* ---- 2. DELTA updates, seq gap -> COMMAND snapshot ----------------------------------- */

static void test_delta_and_gap(void **state)
{
    (void)state;
    two_leaves_t s;
    two_leaves_up(&s, 25005);
    int count = 0;
    tier_nodes_foreach(s.root, count_node, &count);
    assert_int_equal(count, 6);

    fleaf_set(s.a, 0, WR_NODE_DOWN, 0);
    cond_t c = {.tier = s.root, .node = "a1@h", .state = WR_NODE_DOWN};
    assert_true(tu_run_until(s.loop, cond_node, &c, 3000));
    tier_status_t st;
    tier_status(s.root, &st);
    assert_int_equal(st.nodes_up, 4);
    assert_int_equal(st.nodes_down, 2);
    assert_int_equal(st.seq_gaps, 0);
    assert_int_equal(s.a->snapshots_asked, 0);

    fleaf_set(s.a, 1, WR_NODE_DOWN, 3);        /* frames "lost" */
    cond_t g = {.leaf = s.a, .asked = 1};
    assert_true(tu_run_until(s.loop, cond_asked, &g, 3000));
    c.node = "a2@h";
    assert_true(tu_run_until(s.loop, cond_node, &c, 3000));
    tier_status(s.root, &st);
    assert_int_equal(st.seq_gaps, 1);
    assert_int_equal(st.nodes_up, 3);
    assert_int_equal(s.b->snapshots_asked, 0);
    /* after the SNAPSHOT the stream continues without a new gap */
    fleaf_set(s.a, 0, WR_NODE_UP, 0);
    c.node = "a1@h";
    c.state = WR_NODE_UP;
    assert_true(tu_run_until(s.loop, cond_node, &c, 3000));
    tier_status(s.root, &st);
    assert_int_equal(st.seq_gaps, 1);
    two_leaves_down(&s);
}

/* ---- 3. root <- relay <- leaf ---------------------------------------------------------------- */

static void test_three_levels(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    void *zctx = zmq_ctx_new();
    tier_t *root = make_tier(loop, zctx, "root-t", "root", EP(25011), NULL, 100, 200);
    /* a long interval: only the coalesced DELTA can carry the change up in time */
    tier_t *relay = make_tier(loop, zctx, "relay-t", "relay", EP(25012),
                              EP(25011), 60000, 200);
    fleaf_t *x = fleaf_new(loop, zctx, "leaf-x", EP(25012), "x", 3);
    x->sps = 7;
    set_rollup(x, "run_queue", 4, 8, 1, 4);

    cond_t c = {.tier = root, .nodes_total = 3, .nodes_up = 3, .leaves_up = 1};
    assert_true(tu_run_until(loop, cond_status, &c, 5000));
    tier_status_t st;
    tier_status(root, &st);
    assert_int_equal(st.relays_total, 1);
    assert_int_equal(st.relays_up, 1);
    assert_int_equal(st.leaves_total, 1);
    assert_int_equal(st.children, 1);
    tier_status(relay, &st);
    assert_int_equal(st.parents_up, 1);

    wr_tier_entry_t *tr = NULL;
    size_t nt = tier_tree(root, &tr);
    assert_int_equal(nt, 3);
    assert_string_equal(tr[0].id, "root-t");
    assert_int_equal(tr[0].parent, -1);
    assert_string_equal(tr[1].id, "relay-t");
    assert_string_equal(tr[1].kind, "relay");
    assert_int_equal(tr[1].parent, 0);
    assert_int_equal(tr[1].nodes_total, 3);
    assert_string_equal(tr[2].id, "leaf-x");
    assert_string_equal(tr[2].kind, "leaf");
    assert_int_equal(tr[2].parent, 1);
    assert_true(tr[0].samples_per_s == 7.0);
    free(tr);

    tier_node_view_t v;
    assert_int_equal(tier_node_lookup(root, "x2@h", &v), 0);
    assert_string_equal(v.child, "relay-t");
    assert_string_equal(v.leaf, "leaf-x");

    fleaf_set(x, 1, WR_NODE_DOWN, 0);
    cond_t d = {.tier = root, .node = "x2@h", .state = WR_NODE_DOWN};
    assert_true(tu_run_until(loop, cond_node, &d, 3000));
    tier_status(root, &st);
    assert_int_equal(st.nodes_up, 2);

    wr_rollup_entry_t *r = NULL;
    size_t nr = tier_rollups(root, &r);
    assert_int_equal(nr, 1);
    assert_string_equal(r[0].metric, "run_queue");
    assert_int_equal(r[0].agg.count, 4);
    free(r);

    /* the leaf dies: the relay reports its nodes unknown and its tier down, quickly */
    fleaf_destroy(&x);
    cond_t u = {.tier = root, .node = "x1@h", .state = WR_NODE_UNKNOWN};
    assert_true(tu_run_until(loop, cond_node, &u, 3000));
    cond_t td = {.tier = root, .tier_id = "leaf-x", .tier_up = 0};
    assert_true(tu_run_until(loop, cond_tier_up, &td, 3000));
    tier_status(root, &st);
    assert_int_equal(st.nodes_total, 3);
    assert_int_equal(st.nodes_up, 0);
    assert_int_equal(st.leaves_up, 0);
    assert_int_equal(st.relays_up, 1);

    tier_destroy(&relay);
    tier_destroy(&root);
    zmq_ctx_term(zctx);
    ev_loop_destroy(loop);
}

/* ---- 4. query routing -------------------------------------------------------------------------- */

typedef struct {
    int    called;
    int    status;
    char   error[256];
    char   result[512];
} qres_t;

static void on_reply(void *ud, int status, const char *error, const char *result, size_t len)
{
    qres_t *q = ud;
    q->called++;
    q->status = status;
    snprintf(q->error, sizeof q->error, "%s", error ? error : "");
    snprintf(q->result, sizeof q->result, "%.*s", (int)len, result ? result : "");
}

static int cond_replied(void *ud)
{
    return ((qres_t *)ud)->called > 0;
}

static void test_queries(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    void *zctx = zmq_ctx_new();
    tier_t *root = make_tier(loop, zctx, "root-t", "root", EP(25021), NULL, 100, 200);
    tier_t *relay = make_tier(loop, zctx, "relay-t", "relay", EP(25022),
                              EP(25021), 100, 1000);
    fleaf_t *q = fleaf_new(loop, zctx, "leaf-q", EP(25022), "q", 2);
    fleaf_t *s = fleaf_new(loop, zctx, "leaf-s", EP(25022), "s", 1);
    s->answer = 0;
    cond_t c = {.tier = root, .nodes_total = 3, .nodes_up = 3, .leaves_up = 2};
    assert_true(tu_run_until(loop, cond_status, &c, 5000));

    qres_t r1 = {0};
    uint64_t qid = 0;
    assert_int_equal(tier_query(root, "q2@h", "info", "{\"n\":1}", on_reply, &r1, &qid), 0);
    assert_true(qid > 0);
    assert_int_equal(r1.called, 0);              /* never synchronous */
    assert_true(tu_run_until(loop, cond_replied, &r1, 3000));
    assert_int_equal(r1.status, 0);
    assert_string_equal(r1.result, "{\"node\":\"q2@h\",\"kind\":\"info\",\"args\":{\"n\":1},\"leaf\":\"leaf-q\"}");
    assert_int_equal(q->queries, 1);

    qres_t r2 = {0};
    assert_int_equal(tier_query(root, "nope@h", "info", "", on_reply, &r2, &qid), WR_ENOTFOUND);

    qres_t r3 = {0};
    assert_int_equal(tier_query(root, "q1@h", "fail", "", on_reply, &r3, &qid), 0);
    assert_true(tu_run_until(loop, cond_replied, &r3, 3000));
    assert_int_equal(r3.status, WR_ENOTFOUND);
    assert_string_equal(r3.error, "metric x unknown");

    qres_t r4 = {0};
    int64_t t0 = wr_mono_ms();
    assert_int_equal(tier_query(root, "s1@h", "info", "", on_reply, &r4, &qid), 0);
    assert_true(tu_run_until(loop, cond_replied, &r4, 3000));
    assert_true(wr_mono_ms() - t0 >= 190);
    assert_int_equal(r4.status, WR_ETIMEDOUT);
    assert_string_equal(r4.error, "no reply from relay-t within 200 ms");
    assert_int_equal(s->queries, 1);

    /* a cancelled query never calls back */
    qres_t r5 = {0};
    assert_int_equal(tier_query(root, "q1@h", "info", "", on_reply, &r5, &qid), 0);
    tier_query_cancel(root, qid);
    qres_t r6 = {0};
    assert_int_equal(tier_query(root, "q1@h", "info", "", on_reply, &r6, &qid), 0);
    assert_true(tu_run_until(loop, cond_replied, &r6, 3000));
    assert_int_equal(r6.status, 0);
    assert_int_equal(r5.called, 0);
    assert_int_equal(r2.called, 0);

    /* a query to the relay directly: its own child answers */
    qres_t r7 = {0};
    assert_int_equal(tier_query(relay, "q1@h", "info", "", on_reply, &r7, &qid), 0);
    assert_true(tu_run_until(loop, cond_replied, &r7, 3000));
    assert_int_equal(r7.status, 0);

    fleaf_destroy(&q);
    fleaf_destroy(&s);
    tier_destroy(&relay);
    tier_destroy(&root);
    zmq_ctx_term(zctx);
    ev_loop_destroy(loop);
}

/* ---- 5. child death and return ------------------------------------------------------------------- */

static int cond_leaf_queried(void *ud)
{
    return ((cond_t *)ud)->leaf->queries > 0;
}

static void test_child_death(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    void *zctx = zmq_ctx_new();
    tier_t *root = make_tier(loop, zctx, "root-t", "root", EP(25031), NULL, 100, 5000);
    fleaf_t *d = fleaf_new(loop, zctx, "leaf-d", EP(25031), "d", 3);
    set_rollup(d, "run_queue", 1, 1, 1, 1);
    cond_t c = {.tier = root, .nodes_total = 3, .nodes_up = 3, .leaves_up = 1};
    assert_true(tu_run_until(loop, cond_status, &c, 5000));

    /* a query in flight when the child dies fails with WR_EAGAIN, well before its timeout */
    d->answer = 0;
    qres_t r0 = {0};
    uint64_t qid0;
    assert_int_equal(tier_query(root, "d2@h", "info", "", on_reply, &r0, &qid0), 0);
    cond_t qd = {.leaf = d};
    assert_true(tu_run_until(loop, cond_leaf_queried, &qd, 3000));
    fleaf_destroy(&d);
    assert_true(tu_run_until(loop, cond_replied, &r0, 3000));
    assert_int_equal(r0.status, WR_EAGAIN);
    assert_string_equal(r0.error, "leaf-d (child of root-t) went down before replying");

    cond_t u = {.tier = root, .node = "d1@h", .state = WR_NODE_UNKNOWN};
    assert_true(tu_run_until(loop, cond_node, &u, 3000));
    cond_t td = {.tier = root, .tier_id = "leaf-d", .tier_up = 0};
    assert_true(cond_tier_up(&td));
    tier_status_t st;
    tier_status(root, &st);
    assert_int_equal(st.nodes_total, 3);
    assert_int_equal(st.nodes_up, 0);
    assert_int_equal(st.leaves_total, 1);
    assert_int_equal(st.leaves_up, 0);
    assert_int_equal(st.children, 0);
    wr_rollup_entry_t *r = NULL;
    assert_int_equal(tier_rollups(root, &r), 0);   /* only live children are merged */
    free(r);
    qres_t r1 = {0};
    uint64_t qid;
    assert_int_equal(tier_query(root, "d1@h", "info", "", on_reply, &r1, &qid), WR_EAGAIN);

    d = fleaf_new(loop, zctx, "leaf-d", EP(25031), "d", 3);
    cond_t up = {.tier = root, .node = "d1@h", .state = WR_NODE_UP};
    assert_true(tu_run_until(loop, cond_node, &up, 5000));
    td.tier_up = 1;
    assert_true(tu_run_until(loop, cond_tier_up, &td, 3000));
    assert_true(tu_run_until(loop, cond_status, &c, 3000));

    fleaf_destroy(&d);
    tier_destroy(&root);
    zmq_ctx_term(zctx);
    ev_loop_destroy(loop);
}

/* ---- 6. ownership moves; a SNAPSHOT removes what its sender no longer lists -------------------- */

static void test_ownership(void **state)
{
    (void)state;
    two_leaves_t s;
    two_leaves_up(&s, 25041);
    /* leaf-b takes over a2@h */
    wr_node_entry_t *e = &s.b->nodes[s.b->n_nodes++];
    *e = s.a->nodes[1];
    snprintf(e->leaf, sizeof e->leaf, "leaf-b");
    size_t idx = s.b->n_nodes - 1;
    fleaf_send_state(s.b, WR_MSG_DELTA, &idx, 1);
    cond_t c = {.tier = s.root, .node = "a2@h", .tier_id = "leaf-b"};
    assert_true(tu_run_until(s.loop, cond_owner, &c, 3000));
    tier_node_view_t v;
    assert_int_equal(tier_node_lookup(s.root, "a2@h", &v), 0);
    assert_string_equal(v.child, "leaf-b");
    assert_string_equal(v.leaf, "leaf-b");
    /* leaf-a's SNAPSHOT without a1 and a2: a1 goes, a2 stays with leaf-b */
    s.a->nodes[0] = s.a->nodes[2];
    s.a->n_nodes = 1;
    fleaf_send_state(s.a, WR_MSG_SNAPSHOT, NULL, 0);
    cond_t gone = {.tier = s.root, .nodes_total = 5, .nodes_up = 4, .leaves_up = 2};
    assert_true(tu_run_until(s.loop, cond_status, &gone, 3000));
    assert_int_equal(tier_node_lookup(s.root, "a1@h", &v), WR_ENOTFOUND);
    assert_int_equal(tier_node_lookup(s.root, "a2@h", &v), 0);
    assert_string_equal(v.child, "leaf-b");
    two_leaves_down(&s);
}

/* ---- 7. a relay seen from a fake parent: SNAPSHOT on request, seq rules, query errors ------ */

typedef struct {
    wr_server_t  *srv;
    int           snapshots, deltas, replies, gaps;
    uint64_t      snap_seq, snap_prev;
    size_t        snap_nodes;
    uint64_t      last_state_seq, prev_state_seq;
    int           last_type;
    size_t        last_nodes;
    int           want_deltas;
    int           reply_status;
    uint64_t      reply_qid;
    char          reply_error[256];
    char          peer[WR_ID_MAX];
} fparent_t;

static void fparent_up(void *ud, const char *peer, const wr_envelope_t *env, const wr_hello_t *hello)
{
    fparent_t *p = ud;
    (void)env;
    assert_string_equal(hello->kind, "relay");
    snprintf(p->peer, sizeof p->peer, "%s", peer);
}

static void fparent_down(void *ud, const char *peer)
{
    (void)ud;
    (void)peer;
}

static void fparent_message(void *ud, const char *peer, const wr_envelope_t *env, wr_decoder_t *dec)
{
    fparent_t *p = ud;
    char why[256];
    (void)peer;
    if (env->type == WR_MSG_SNAPSHOT || env->type == WR_MSG_DELTA) {
        wr_state_msg_t m;
        memset(&m, 0, sizeof m);
        assert_int_equal(wr_decode_state(dec, 0, &m, why, sizeof why), 0);
        if (env->type == WR_MSG_DELTA && p->last_state_seq && env->seq != p->last_state_seq + 1)
            p->gaps++;
        if (env->type == WR_MSG_SNAPSHOT) {
            p->snap_seq = env->seq;
            p->snap_prev = p->last_state_seq;
            p->snap_nodes = m.n_nodes;
        }
        p->prev_state_seq = p->last_state_seq;
        p->last_state_seq = env->seq;
        p->last_type = env->type;
        p->last_nodes = m.n_nodes;
        if (env->type == WR_MSG_SNAPSHOT)
            p->snapshots++;
        else
            p->deltas++;
        wr_state_msg_clear(&m);
    } else if (env->type == WR_MSG_REPLY) {
        wr_reply_t r;
        assert_int_equal(wr_decode_reply(dec, &r, why, sizeof why), 0);
        p->replies++;
        p->reply_qid = r.qid;
        p->reply_status = r.status;
        snprintf(p->reply_error, sizeof p->reply_error, "%.*s", (int)r.error_len, r.error);
    }
}

static int cond_fp_snap(void *ud)
{
    fparent_t *p = ud;
    return p->snapshots >= 1 && p->deltas >= 2;
}

static int cond_fp_snap2(void *ud)
{
    return ((fparent_t *)ud)->snapshots >= 2;
}

static int cond_fp_deltas(void *ud)
{
    fparent_t *p = ud;
    return p->deltas >= p->want_deltas;
}

static int cond_fp_reply(void *ud)
{
    return ((fparent_t *)ud)->replies >= 1;
}

static void test_fake_parent(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    void *zctx = zmq_ctx_new();
    fparent_t p;
    memset(&p, 0, sizeof p);
    wr_origin_t porigin;
    wr_origin_init(&porigin, "fake-root");
    static const wr_server_callbacks_t cb = {
        .on_peer_up = fparent_up, .on_peer_down = fparent_down, .on_message = fparent_message,
    };
    wr_link_params_t lp = link_params();
    char err[256];
    p.srv = wr_server_new(loop, zctx, EP(25051), &porigin, &lp, &cb, &p, err, sizeof err);
    assert_non_null(p.srv);
    tier_t *relay = make_tier(loop, zctx, "relay-t", "relay", EP(25052),
                              EP(25051), 100, 200);
    fleaf_t *f = fleaf_new(loop, zctx, "leaf-f", EP(25052), "f", 2);

    /* a SNAPSHOT when the parent comes up, then DELTAs numbered on from it */
    assert_true(tu_run_until(loop, cond_fp_snap, &p, 3000));
    assert_int_equal(p.gaps, 0);
    assert_string_equal(p.peer, "relay-t");

    /* COMMAND snapshot -> a SNAPSHOT carrying the last DELTA's seq and every node */
    wr_encoder_t *enc = wr_encoder_new();
    wr_envelope_t env;
    wr_envelope_next(&porigin, WR_MSG_COMMAND, &env);
    wr_command_t cmd = {.cmd = "snapshot", .cmd_len = 8, .args = "", .args_len = 0};
    assert_int_equal(wr_encode_command(enc, &env, &cmd), 0);
    assert_int_equal(wr_server_send(p.srv, "relay-t", wr_encoder_data(enc), wr_encoder_size(enc)), 0);
    assert_true(tu_run_until(loop, cond_fp_snap2, &p, 3000));
    assert_int_equal(p.snap_seq, p.snap_prev);
    assert_int_equal(p.snap_nodes, 2);
    assert_int_equal(p.gaps, 0);

    /* a QUERY for a node the relay does not know -> REPLY WR_ENOTFOUND with the reason */
    wr_envelope_next(&porigin, WR_MSG_QUERY, &env);
    wr_query_t q = {.qid = 77, .node = "ghost@h", .node_len = 7, .kind = "info", .kind_len = 4, .args = "", .args_len = 0};
    assert_int_equal(wr_encode_query(enc, &env, &q), 0);
    assert_int_equal(wr_server_send(p.srv, "relay-t", wr_encoder_data(enc), wr_encoder_size(enc)), 0);
    assert_true(tu_run_until(loop, cond_fp_reply, &p, 3000));
    assert_int_equal(p.reply_qid, 77);
    assert_int_equal(p.reply_status, WR_ENOTFOUND);
    assert_string_equal(p.reply_error, "node ghost@h unknown at relay-t");

    /* a QUERY for a known node is answered by the leaf with the parent's qid */
    p.replies = 0;
    wr_envelope_next(&porigin, WR_MSG_QUERY, &env);
    wr_query_t q2 = {.qid = 78, .node = "f1@h", .node_len = 4, .kind = "info", .kind_len = 4, .args = "1", .args_len = 1};
    assert_int_equal(wr_encode_query(enc, &env, &q2), 0);
    assert_int_equal(wr_server_send(p.srv, "relay-t", wr_encoder_data(enc), wr_encoder_size(enc)), 0);
    assert_true(tu_run_until(loop, cond_fp_reply, &p, 3000));
    assert_int_equal(p.reply_qid, 78);
    assert_int_equal(p.reply_status, 0);
    p.want_deltas = p.deltas + 2;
    assert_true(tu_run_until(loop, cond_fp_deltas, &p, 3000));
    assert_int_equal(p.gaps, 0);           /* the SNAPSHOT did not break the DELTA stream */

    wr_encoder_destroy(&enc);
    fleaf_destroy(&f);
    tier_destroy(&relay);
    wr_server_destroy(&p.srv);
    zmq_ctx_term(zctx);
    ev_loop_destroy(loop);
}

int main(void)
{
    wr_log_init("test_tier", getenv("TIER_DEBUG") ? WR_LOG_DEBUG : WR_LOG_ERROR, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_leaves),
        cmocka_unit_test(test_delta_and_gap),
        cmocka_unit_test(test_three_levels),
        cmocka_unit_test(test_queries),
        cmocka_unit_test(test_child_death),
        cmocka_unit_test(test_ownership),
        cmocka_unit_test(test_fake_parent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
