/* test_rollup: the exact-merge proof of the fleet aggregates (issue 3 item 4).
 *
 * 1,000 emulated nodes on 10 leaves. Each leaf builds its interval's rollups with
 * wr_rollup_builder (the very code warren-leaf runs: leaf/leaf_rollup.c is a thin wrapper of
 * it) and sends them in real encoded SNAPSHOT frames over real ZeroMQ (wr_client) to one of
 * two real relay tiers (tier_new with a parent), which merge them and stream their own DELTAs
 * to a real root tier; the root serves its HTTP API (root_http) and warrenctl reads it.
 * The root's count, sum, min, max and top-10 must equal what a sort of the raw values gives,
 * its sketch must equal, bucket by bucket, a sketch of all raw values, and its p50/p90/p99 must
 * be within 1% of the exact quantiles (value of rank floor(q (n-1))). Also: the 404/400
 * answers of /fleet and /top, and the rollups endpoint's p50/p99.
 * Deadlines are ev_timers; nothing sleeps. Ports 8000-8399 (see port_base). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <ev.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>
#include "root_http.h"
#include "tier.h"
#include "wr_error.h"
#include "wr_rollup.h"
#include "wr_time.h"
#include "test_util.h"

#define N_LEAVES   10
#define PER_LEAF   100
#define N_NODES    (N_LEAVES * PER_LEAF)
/* ports: 8000-8399, 10 per process (by pid) so a normal and a sanitizer build can run at
 * once */
static int port_base;
#define PORT_ROOT  (port_base + 1)
#define PORT_R1    (port_base + 2)
#define PORT_R2    (port_base + 3)
#define PORT_HTTP  (port_base + 4)
#define N_METRICS  3

static const char *const METRICS[N_METRICS] = {"memory.total", "run_queue", "process.count"};

/* ---- deterministic values --------------------------------------------------------------- */

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t next_u64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static double unif(void) { return (double)(next_u64() >> 11) / 9007199254740992.0; }
static double normal(void)
{
    return sqrt(-2.0 * log(unif() + 1e-300)) * cos(2 * M_PI * unif());
}

/* Integer values (so sums are exact in any order): memory ~ lognormal around 500 MB over
 * several decades; run queues 0..7 (many ties: the top-10 is decided by node name); a metric
 * with negatives and exact zeros (the fabric does not care what a metric means). */
static double value_of(int m)
{
    switch (m) {
    case 0:  return floor(exp(20.0 + 1.5 * normal()));
    case 1:  return (double)(next_u64() % 8);
    default: return next_u64() % 10 == 0 ? 0.0 : floor((unif() - 0.5) * 2e6);
    }
}

typedef struct {
    char   node[WR_NODE_NAME_MAX];
    double value;
} sample_t;

static sample_t raw[N_METRICS][N_NODES];

/* ---- loop helpers ----------------------------------------------------------------------- */

static struct ev_loop *g_loop;

static int run_until(tu_pred_fn pred, void *ud, int timeout_ms)
{
    return tu_run_until(g_loop, pred, ud, timeout_ms);
}

/* ---- an emulated leaf: real wr_client, real encoder, the real rollup builder ------------ */

typedef struct {
    char                 id[WR_ID_MAX];
    wr_origin_t          origin;
    wr_client_t         *cli;
    wr_encoder_t        *enc;
    uint64_t             state_seq;
    wr_node_entry_t      nodes[PER_LEAF];
    wr_rollup_builder_t *rb;
    wr_rollup_entry_t   *ro;      /* wr_metric_count entries */
    int                  snapshots;
} eleaf_t;

static void eleaf_send_snapshot(eleaf_t *l, int parent)
{
    wr_tier_entry_t te;
    memset(&te, 0, sizeof te);
    snprintf(te.id, sizeof te.id, "%s", l->id);
    strcpy(te.kind, "leaf");
    te.parent = -1;
    te.up = 1;
    te.nodes_total = te.nodes_up = PER_LEAF;
    size_t nr = wr_rollup_builder_fill(l->rb, l->ro, wr_metric_count);
    assert_int_equal(nr, N_METRICS);          /* only metrics with values are sent */
    wr_state_msg_t m = {.interval_ms = 100, .at_ms = wr_wall_ms(), .n_nodes = PER_LEAF, .nodes = l->nodes,
                        .n_rollups = nr, .rollups = l->ro, .n_tiers = 1, .tiers = &te};
    wr_envelope_t env;
    wr_envelope_next(&l->origin, WR_MSG_SNAPSHOT, &env);
    env.seq = l->state_seq;
    assert_int_equal(wr_encode_state(l->enc, &env, &m), 0);
    assert_int_equal(wr_client_send_to(l->cli, parent, wr_encoder_data(l->enc), wr_encoder_size(l->enc)), 0);
    l->snapshots++;
}

static void eleaf_on_up(void *ud, int parent)
{
    eleaf_send_snapshot(ud, parent);
}

static void eleaf_on_down(void *ud, int parent)
{
    (void)ud;
    (void)parent;
}

static void eleaf_on_message(void *ud, int parent, const wr_envelope_t *env, wr_decoder_t *dec)
{
    char why[256];
    if (env->type == WR_MSG_COMMAND) {
        wr_command_t cmd;
        assert_int_equal(wr_decode_command(dec, &cmd, why, sizeof why), 0);
        if (cmd.cmd_len == 8 && memcmp(cmd.cmd, "snapshot", 8) == 0)
            eleaf_send_snapshot(ud, parent);
    }
}

static eleaf_t *eleaf_new(void *zctx, int idx, const char *endpoint)
{
    eleaf_t *l = calloc(1, sizeof *l);
    assert_non_null(l);
    snprintf(l->id, sizeof l->id, "leaf-%02d", idx);
    wr_origin_init(&l->origin, l->id);
    l->state_seq = 1;
    l->enc = wr_encoder_new();
    l->rb = wr_rollup_builder_new(wr_metric_count, WR_TOPK_DEFAULT);
    l->ro = calloc(wr_metric_count, sizeof *l->ro);
    assert_true(l->enc && l->rb && l->ro);
    wr_rollup_builder_reset(l->rb);
    for (int i = 0; i < PER_LEAF; i++) {
        wr_node_entry_t *n = &l->nodes[i];
        int g = idx * PER_LEAF + i;
        /* names interleave across leaves, so ties mix nodes of every leaf */
        snprintf(n->name, sizeof n->name, "node%04d@host%02d", (g * 7919) % N_NODES, idx);
        n->state = WR_NODE_UP;
        n->since_ms = 1000;
        snprintf(n->leaf, sizeof n->leaf, "%s", l->id);
        for (int m = 0; m < N_METRICS; m++) {
            int mi = wr_metric_find(METRICS[m]);
            assert_true(mi >= 0);
            sample_t *s = &raw[m][g];
            snprintf(s->node, sizeof s->node, "%s", n->name);
            s->value = value_of(m);
            assert_int_equal(wr_rollup_builder_add(l->rb, (size_t)mi, s->node, s->value), 0);
        }
    }
    static const wr_client_callbacks_t cb = {
        .on_parent_up = eleaf_on_up, .on_parent_down = eleaf_on_down, .on_message = eleaf_on_message,
    };
    wr_hello_t hello;
    memset(&hello, 0, sizeof hello);
    strcpy(hello.kind, "leaf");
    snprintf(hello.id, sizeof hello.id, "%s", l->id);
    strcpy(hello.version, "test");
    hello.interval_ms = 100;
    wr_link_params_t lp = tu_link_params(50, 5);
    char err[256];
    const char *eps[] = {endpoint};
    l->cli = wr_client_new(g_loop, zctx, eps, 1, WR_PARENTS_FAILOVER, &l->origin, &hello, &lp, &cb, l, err, sizeof err);
    if (!l->cli)
        fail_msg("wr_client_new: %s", err);
    return l;
}

static void eleaf_destroy(eleaf_t **pl)
{
    eleaf_t *l = *pl;
    if (!l)
        return;
    wr_client_destroy(&l->cli);
    wr_encoder_destroy(&l->enc);
    wr_rollup_builder_destroy(&l->rb);
    free(l->ro);
    free(l);
    *pl = NULL;
}

static tier_t *make_tier(void *zctx, const char *id, const char *kind, int port, int parent_port)
{
    char bind[64], parent[64];
    snprintf(bind, sizeof bind, "tcp://127.0.0.1:%d", port);
    snprintf(parent, sizeof parent, "tcp://127.0.0.1:%d", parent_port);
    const char *parents[] = {parent};
    tier_params_t p = {
        .id = id, .kind = kind, .bind = bind, .parents = parent_port ? parents : NULL,
        .n_parents = parent_port ? 1 : 0, .parent_mode = WR_PARENTS_FAILOVER, .interval_ms = 50,
        .query_timeout_ms = 1000, .link = tu_link_params(50, 5),
    };
    char err[256];
    tier_t *t = tier_new(g_loop, zctx, &p, err, sizeof err);
    if (!t)
        fail_msg("tier_new %s: %s", id, err);
    return t;
}

/* ---- the exact answers ------------------------------------------------------------------ */

static int cmp_value(const void *a, const void *b)
{
    double x = ((const sample_t *)a)->value, y = ((const sample_t *)b)->value;
    return x < y ? -1 : x > y;
}

/* top order: value desc, then node name asc */
static int cmp_top(const void *a, const void *b)
{
    const sample_t *x = a, *y = b;
    if (x->value != y->value)
        return x->value > y->value ? -1 : 1;
    return strcmp(x->node, y->node);
}

typedef struct {
    uint64_t    count;
    double      sum, min, max, q[3];
    sample_t    top[WR_TOPK_DEFAULT];
    wr_sketch_t *sketch;       /* of every raw value */
} exact_t;

static const double QS[3] = {0.5, 0.9, 0.99};
static exact_t ex[N_METRICS];

static void compute_exact(void)
{
    static sample_t s[N_NODES];
    for (int m = 0; m < N_METRICS; m++) {
        exact_t *e = &ex[m];
        memcpy(s, raw[m], sizeof s);
        e->count = N_NODES;
        e->sum = 0;
        e->sketch = wr_sketch_new();
        for (int i = 0; i < N_NODES; i++) {
            e->sum += s[i].value;
            assert_int_equal(wr_sketch_add(e->sketch, s[i].value), 0);
        }
        qsort(s, N_NODES, sizeof *s, cmp_value);
        e->min = s[0].value;
        e->max = s[N_NODES - 1].value;
        for (int k = 0; k < 3; k++)
            e->q[k] = s[(size_t)floor(QS[k] * (N_NODES - 1))].value;
        qsort(s, N_NODES, sizeof *s, cmp_top);
        memcpy(e->top, s, sizeof e->top);
    }
}

static void check_close(const char *what, double got, double exact)
{
    double tol = WR_SKETCH_ALPHA * fabs(exact) * (1 + 1e-9);
    if (fabs(got - exact) > tol)
        fail_msg("%s: %.17g is not within 1%% of the exact %.17g", what, got, exact);
}

/* ---- fixture ---------------------------------------------------------------------------- */

typedef struct {
    void        *zctx;
    tier_t      *root, *r1, *r2;
    eleaf_t     *leaves[N_LEAVES];
    root_http_t *http;
    char         base[64];
} fx_t;

static fx_t fx;

static int all_merged(void *ud)
{
    (void)ud;
    tier_status_t st;
    tier_status(fx.root, &st);
    if (st.nodes_total != N_NODES || st.nodes_up != N_NODES)
        return 0;
    wr_rollup_entry_t *r = NULL;
    size_t n = tier_rollups(fx.root, &r);
    int ok = n == N_METRICS;
    for (size_t i = 0; ok && i < n; i++)
        ok = r[i].agg.count == N_NODES && r[i].sketch && r[i].topk;
    free(r);
    return ok;
}

static int setup(void **state)
{
    (void)state;
    memset(&fx, 0, sizeof fx);
    port_base = 8000 + 10 * (int)(getpid() % 40);
    g_loop = ev_loop_new(EVFLAG_AUTO);
    fx.zctx = zmq_ctx_new();
    fx.root = make_tier(fx.zctx, "root-f", "root", PORT_ROOT, 0);
    fx.r1 = make_tier(fx.zctx, "relay-1", "relay", PORT_R1, PORT_ROOT);
    fx.r2 = make_tier(fx.zctx, "relay-2", "relay", PORT_R2, PORT_ROOT);
    for (int i = 0; i < N_LEAVES; i++) {
        char ep[64];
        snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", i < N_LEAVES / 2 ? PORT_R1 : PORT_R2);
        fx.leaves[i] = eleaf_new(fx.zctx, i, ep);
    }
    compute_exact();
    root_http_params_t hp = {.listen = "127.0.0.1", .port = PORT_HTTP};
    char err[256];
    fx.http = root_http_new(g_loop, fx.root, &hp, err, sizeof err);
    if (!fx.http)
        fail_msg("root_http_new: %s", err);
    snprintf(fx.base, sizeof fx.base, "http://127.0.0.1:%d", root_http_port(fx.http));
    if (!run_until(all_merged, NULL, 20000))
        fail_msg("the root did not see 1000 nodes with merged rollups within 20 s");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    root_http_destroy(&fx.http);
    for (int i = 0; i < N_LEAVES; i++)
        eleaf_destroy(&fx.leaves[i]);
    tier_destroy(&fx.r1);
    tier_destroy(&fx.r2);
    tier_destroy(&fx.root);
    if (fx.zctx)
        zmq_ctx_term(fx.zctx);
    if (g_loop)
        ev_loop_destroy(g_loop);
    for (int m = 0; m < N_METRICS; m++)
        wr_sketch_destroy(&ex[m].sketch);
    return 0;
}

/* ---- 1. the root's merged state equals the raw values' -------------------------------- */

static void test_root_merge_exact(void **state)
{
    (void)state;
    wr_rollup_entry_t *r = NULL;
    size_t n = tier_rollups(fx.root, &r);
    assert_int_equal(n, N_METRICS);
    for (int m = 0; m < N_METRICS; m++) {
        const wr_rollup_entry_t *e = NULL;
        for (size_t i = 0; i < n; i++)
            if (strcmp(r[i].metric, METRICS[m]) == 0)
                e = &r[i];
        assert_non_null(e);
        const exact_t *x = &ex[m];
        assert_int_equal(e->agg.count, x->count);
        assert_true(e->agg.sum == x->sum);        /* integers: exact in any order */
        assert_true(e->agg.min == x->min);
        assert_true(e->agg.max == x->max);
        /* the merged sketch IS the sketch of all raw values, bucket by bucket */
        assert_true(wr_sketch_equal(e->sketch, x->sketch));
        assert_int_equal(wr_sketch_collapsed(e->sketch), 0);
        for (int k = 0; k < 3; k++) {
            double q;
            assert_int_equal(wr_rollup_quantile(e, QS[k], &q), 0);
            char what[64];
            snprintf(what, sizeof what, "%s p%g", METRICS[m], QS[k] * 100);
            check_close(what, q, x->q[k]);
        }
        double q0, q1;
        assert_int_equal(wr_rollup_quantile(e, 0, &q0), 0);
        assert_int_equal(wr_rollup_quantile(e, 1, &q1), 0);
        assert_true(q0 == x->min && q1 == x->max);
        /* top-10: exactly the 10 largest (node, value) of the raw values */
        assert_int_equal(wr_topk_k(e->topk), WR_TOPK_DEFAULT);
        assert_int_equal(wr_topk_size(e->topk), WR_TOPK_DEFAULT);
        for (size_t i = 0; i < WR_TOPK_DEFAULT; i++) {
            const wr_topk_item_t *it = wr_topk_item(e->topk, i);
            if (strcmp(it->node, x->top[i].node) || it->value != x->top[i].value)
                fail_msg("%s top %zu: %s=%g, expected %s=%g", METRICS[m], i, it->node, it->value,
                         x->top[i].node, x->top[i].value);
        }
    }
    free(r);
    /* each relay holds exactly its half */
    r = NULL;
    n = tier_rollups(fx.r1, &r);
    assert_int_equal(n, N_METRICS);
    assert_int_equal(r[0].agg.count, N_NODES / 2);
    free(r);
    assert_true(tier_rollups_at(fx.root) > 0);
}

/* ---- 2. the HTTP API and warrenctl ---------------------------------------------------- */

/* GET path; returns the parsed body and the status in *status. */
static json_t *get(const char *path, long *status)
{
    tu_req_t r;
    json_t *j = tu_req(g_loop, &r, "GET", fx.base, path);
    *status = r.status;
    tu_req_free(&r);
    assert_non_null(j);
    return j;
}

static double num_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        fail_msg("\"%s\" is not a number", key);
    return json_number_value(v);
}

static void check_top_list(json_t *list, const exact_t *x, size_t n)
{
    assert_true(json_is_array(list));
    assert_int_equal(json_array_size(list), n);
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(list, i);
        assert_string_equal(json_string_value(json_object_get(it, "node")), x->top[i].node);
        assert_true(num_of(it, "value") == x->top[i].value);
    }
}

static void test_http_fleet_top(void **state)
{
    (void)state;
    long st;
    char path[128];
    for (int m = 0; m < N_METRICS; m++) {
        const exact_t *x = &ex[m];
        snprintf(path, sizeof path, "/api/v1/fleet/%s", METRICS[m]);
        json_t *j = get(path, &st);
        assert_int_equal(st, 200);
        assert_string_equal(json_string_value(json_object_get(j, "metric")), METRICS[m]);
        assert_true(json_integer_value(json_object_get(j, "at")) > 0);
        assert_true(num_of(j, "count") == (double)N_NODES);
        assert_true(num_of(j, "sum") == x->sum);
        assert_true(num_of(j, "min") == x->min);
        assert_true(num_of(j, "max") == x->max);
        assert_true(fabs(num_of(j, "mean") - x->sum / N_NODES) <= 1e-9 * fabs(x->sum / N_NODES));
        check_close("http p50", num_of(j, "p50"), x->q[0]);
        check_close("http p90", num_of(j, "p90"), x->q[1]);
        check_close("http p99", num_of(j, "p99"), x->q[2]);
        json_decref(j);

        snprintf(path, sizeof path, "/api/v1/top/%s", METRICS[m]);
        j = get(path, &st);
        assert_int_equal(st, 200);
        check_top_list(json_object_get(j, "top"), x, WR_TOPK_DEFAULT);
        json_decref(j);
        snprintf(path, sizeof path, "/api/v1/top/%s?n=3", METRICS[m]);
        j = get(path, &st);
        assert_int_equal(st, 200);
        check_top_list(json_object_get(j, "top"), x, 3);
        json_decref(j);
    }
    /* the rollups list carries p50 / p99 too */
    json_t *j = get("/api/v1/rollups", &st);
    assert_int_equal(st, 200);
    json_t *ms = json_object_get(j, "metrics");
    assert_int_equal(json_array_size(ms), N_METRICS);
    for (size_t i = 0; i < N_METRICS; i++) {
        json_t *e = json_array_get(ms, i);
        int m = -1;
        for (int k = 0; k < N_METRICS; k++)
            if (strcmp(json_string_value(json_object_get(e, "metric")), METRICS[k]) == 0)
                m = k;
        assert_true(m >= 0);
        check_close("rollups p50", num_of(e, "p50"), ex[m].q[0]);
        check_close("rollups p99", num_of(e, "p99"), ex[m].q[2]);
    }
    json_decref(j);

    /* errors: unknown metric, a catalogued metric nobody reports, bad names and parameters */
    static const struct { const char *path; long status; const char *needle; } bad[] = {
        {"/api/v1/fleet/no.such_metric", 404, "unknown metric 'no.such_metric'"},
        {"/api/v1/top/no.such_metric", 404, "unknown metric"},
        {"/api/v1/fleet/memory.processes", 404, "no values in the latest interval"},
        {"/api/v1/fleet/Memory", 400, "metric: 'Memory' is not a metric name"},
        {"/api/v1/top/memory.total?n=0", 400, "n: expected an integer from 1 to 100"},
        {"/api/v1/top/memory.total?n=101", 400, "n: expected"},
        {"/api/v1/top/memory.total?k=1", 400, "k"},
        {"/api/v1/fleet/memory.total?n=3", 400, "n"},
        {"/api/v1/fleet/memory.total/x", 404, "no such API path"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = get(bad[i].path, &st);
        if (st != bad[i].status)
            fail_msg("%s: HTTP %ld, expected %ld", bad[i].path, st, bad[i].status);
        const char *err = json_string_value(json_object_get(j, "error"));
        assert_non_null(err);
        if (!strstr(err, bad[i].needle))
            fail_msg("%s: error '%s' lacks '%s'", bad[i].path, err, bad[i].needle);
        json_decref(j);
    }
}

/* warrenctl fleet / top, human and --json, while the loop serves the root. */
static char ctl_path[1024];

static int ctl(tu_ctl_t *j, const char *args)
{
    snprintf(j->cmd, sizeof j->cmd, "%s --root %s %s 2>&1", ctl_path, fx.base, args);
    return tu_ctl_run(g_loop, j, 20000);
}

static void test_warrenctl(void **state)
{
    (void)state;
    if (tu_sibling("warrenctl", ctl_path, sizeof ctl_path) != 0) {
        print_message("%s not built: skipped\n", ctl_path);
        skip();
    }
    static tu_ctl_t j;
    json_error_t e;
    const exact_t *x = &ex[0];

    assert_int_equal(ctl(&j, "fleet memory.total --json"), 0);
    json_t *js = json_loads(j.out, 0, &e);
    assert_non_null(js);
    static const char *const keys[] = {"count", "sum", "min", "p50", "p90", "p99", "max"};
    for (size_t i = 0; i < 7; i++)
        assert_true(json_is_number(json_object_get(js, keys[i])));
    assert_true(num_of(js, "count") == N_NODES && num_of(js, "max") == x->max);
    check_close("warrenctl p99", num_of(js, "p99"), x->q[2]);
    json_decref(js);

    assert_int_equal(ctl(&j, "top memory.total -n 5 --json"), 0);
    js = json_loads(j.out, 0, &e);
    assert_non_null(js);
    check_top_list(js, x, 5);              /* a bare list of {node, value} */
    json_decref(js);

    assert_int_equal(ctl(&j, "fleet memory.total"), 0);
    char line[128];
    snprintf(line, sizeof line, "  count  %20d\n", N_NODES);
    tu_ctl_expect(&j, "memory.total (fleet, interval at ");
    tu_ctl_expect(&j, line);
    snprintf(line, sizeof line, "  max    %20.0f\n", x->max);
    tu_ctl_expect(&j, line);

    assert_int_equal(ctl(&j, "top run_queue"), 0);
    tu_ctl_expect(&j, "RANK  NODE");
    snprintf(line, sizeof line, "   1  %s  %.0f\n", ex[1].top[0].node, ex[1].top[0].value);
    tu_ctl_expect(&j, line);
    snprintf(line, sizeof line, "  10  %s  %.0f\n", ex[1].top[9].node, ex[1].top[9].value);
    tu_ctl_expect(&j, line);

    assert_int_equal(ctl(&j, "top no.such_metric"), 1);
    tu_ctl_expect(&j, "warrenctl: unknown metric 'no.such_metric'");
    tu_ctl_expect(&j, "(HTTP 404 from ");
    assert_int_equal(ctl(&j, "fleet"), 2);
    tu_ctl_expect(&j, "missing argument: expected METRIC");
    assert_int_equal(ctl(&j, "fleet memory.total -n 3"), 2);
    assert_int_equal(ctl(&j, "top memory.total -n 0"), 1);
    tu_ctl_expect(&j, "n: expected an integer from 1 to 100");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_merge_exact),
        cmocka_unit_test(test_http_fleet_top),
        cmocka_unit_test(test_warrenctl),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
