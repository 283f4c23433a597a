/* test_root_http: root_http over real HTTP. A real tier (kind root) is fed by a real
 * wr_client "leaf" in the same libev loop that sends a hand-built SNAPSHOT and answers QUERY
 * frames with REPLY; libcurl runs in a short-lived pthread per request while the loop runs in
 * the main thread (the loop stops when the request is done, or at a deadline). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>
#include "root_http.h"
#include "tier.h"
#include "wr_codec.h"
#include "wr_error.h"
#include "wr_link.h"
#include "wr_time.h"
#include "test_util.h"

#define TIER_PORT (26101 + (int)(getpid() % 100) * 8)   /* per process: parallel runs do not collide */

/* ---- the fake leaf ------------------------------------------------------------------- */
typedef struct {
    wr_client_t  *cli;
    wr_origin_t   origin;
    wr_encoder_t *enc;
    int           answer;          /* 1: answer QUERY frames; 0: stay silent */
    int           queries;         /* QUERY frames received */
    char          last_args[512];
    char          last_kind[32];
    char          last_node[300];
} leaf_t;

typedef struct {
    struct ev_loop *loop;
    void           *zctx;
    tier_t         *tier;
    root_http_t    *http;
    leaf_t          leaf;
    char            base[64];
} fx_t;

static fx_t *g;

static void leaf_send_snapshot(leaf_t *l, int parent)
{
    wr_node_entry_t nodes[3];
    memset(nodes, 0, sizeof nodes);
    const char *names[3] = {"c@h", "a@h", "b@h"};
    const uint8_t states[3] = {WR_NODE_UP, WR_NODE_UP, WR_NODE_DOWN};
    for (int i = 0; i < 3; i++) {
        snprintf(nodes[i].name, sizeof nodes[i].name, "%s", names[i]);
        nodes[i].state = states[i];
        nodes[i].since_ms = 1763890000000LL + i;
        snprintf(nodes[i].leaf, sizeof nodes[i].leaf, "leaf-1");
    }
    wr_rollup_entry_t ru[1];
    memset(ru, 0, sizeof ru);
    snprintf(ru[0].metric, sizeof ru[0].metric, "process.count");
    wr_agg_init(&ru[0].agg);
    wr_agg_add(&ru[0].agg, 100);
    wr_agg_add(&ru[0].agg, 300);
    wr_tier_entry_t tiers[1];
    memset(tiers, 0, sizeof tiers);
    snprintf(tiers[0].id, sizeof tiers[0].id, "leaf-1");
    snprintf(tiers[0].kind, sizeof tiers[0].kind, "leaf");
    tiers[0].parent = -1;
    tiers[0].up = 1;
    tiers[0].nodes_total = 3;
    tiers[0].nodes_up = 2;
    tiers[0].samples_per_s = 4.5;
    wr_state_msg_t st = {.interval_ms = 1000, .at_ms = wr_wall_ms(), .n_nodes = 3, .nodes = nodes,
                         .n_rollups = 1, .rollups = ru, .n_tiers = 1, .tiers = tiers};
    wr_envelope_t env;
    wr_envelope_next(&l->origin, WR_MSG_SNAPSHOT, &env);
    assert_int_equal(wr_encode_state(l->enc, &env, &st), 0);
    wr_client_send_to(l->cli, parent, wr_encoder_data(l->enc), wr_encoder_size(l->enc));
}

static void leaf_parent_up(void *ud, int parent)
{
    leaf_send_snapshot(ud, parent);
}

static void leaf_parent_down(void *ud, int parent) {}

static void leaf_message(void *ud, int parent, const wr_envelope_t *env, wr_decoder_t *dec)
{
    leaf_t *l = ud;
    char why[128];
    if (env->type == WR_MSG_COMMAND) {
        wr_command_t c;
        if (wr_decode_command(dec, &c, why, sizeof why) == 0 && c.cmd_len == 8 && memcmp(c.cmd, "snapshot", 8) == 0)
            leaf_send_snapshot(l, parent);
        return;
    }
    if (env->type != WR_MSG_QUERY)
        return;
    wr_query_t q;
    if (wr_decode_query(dec, &q, why, sizeof why) != 0)
        return;
    l->queries++;
    snprintf(l->last_args, sizeof l->last_args, "%.*s", (int)q.args_len, q.args ? q.args : "");
    snprintf(l->last_kind, sizeof l->last_kind, "%.*s", (int)q.kind_len, q.kind);
    snprintf(l->last_node, sizeof l->last_node, "%.*s", (int)q.node_len, q.node);
    if (!l->answer)
        return;
    char result[512];
    snprintf(result, sizeof result,
             "{\"node\":\"%s\",\"metric\":\"process.count\",\"unit\":\"processes\",\"kind\":\"gauge\","
             "\"points\":[[1763890000000,41.0],[1763890001000,42.5]]}", l->last_node);
    wr_reply_t r = {.qid = q.qid, .status = 0, .error = "", .error_len = 0,
                    .result = result, .result_len = strlen(result)};
    wr_envelope_t renv;
    wr_envelope_next(&l->origin, WR_MSG_REPLY, &renv);
    assert_int_equal(wr_encode_reply(l->enc, &renv, &r), 0);
    wr_client_send_to(l->cli, parent, wr_encoder_data(l->enc), wr_encoder_size(l->enc));
}

static void leaf_bad(void *ud, int parent, const char *why) {}

/* ---- running the loop until a condition, with a deadline ----------------------------- */
static int run_until(tu_pred_fn fn, void *ud, int timeout_ms)
{
    return tu_run_until(g->loop, fn, ud, timeout_ms);
}

static int nodes_known(void *ud)
{
    tier_status_t st;
    tier_status(g->tier, &st);
    return st.nodes_total == 3;
}

static int queries_at_least(void *ud)
{
    return g->leaf.queries >= *(int *)ud;
}

/* ---- HTTP in a thread ------------------------------------------------------------------ */
/* Starts a request; the caller runs the loop until it completes. */
static void http_start(tu_req_t *r, pthread_t *th, const char *method, const char *path)
{
    tu_req_start(r, th, method, g->base, path);
}

/* One request, start to end; returns the parsed JSON body (or NULL). */
static json_t *http(tu_req_t *r, const char *method, const char *path)
{
    return tu_req(g->loop, r, method, g->base, path);
}

/* GET path, asserting status 200; returns the parsed body (release with req_done). */
static json_t *get_ok(tu_req_t *r, const char *path)
{
    json_t *j = http(r, "GET", path);
    assert_int_equal(r->status, 200);
    return j;
}

/* Releases one request's parsed body j (NULL too) and its buffers. */
static void req_done(json_t *j, tu_req_t *r)
{
    json_decref(j);
    tu_req_free(r);
}

/* Asserts a JSON error answer with the given status whose text contains needle. */
static void expect_error(const char *method, const char *path, long status, const char *needle)
{
    tu_req_t r;
    json_t *j = http(&r, method, path);
    assert_int_equal(r.status, status);
    assert_non_null(j);
    const char *e = json_string_value(json_object_get(j, "error"));
    assert_non_null(e);
    if (needle && !strstr(e, needle))
        fail_msg("error '%s' does not mention '%s'", e, needle);
    assert_non_null(strstr(r.headers, "application/json"));
    req_done(j, &r);
}

/* ---- fixture ---------------------------------------------------------------------------- */
static int setup(void **state)
{
    static fx_t fx;
    memset(&fx, 0, sizeof fx);
    g = &fx;
    fx.loop = ev_loop_new(EVFLAG_AUTO);
    fx.zctx = zmq_ctx_new();
    char err[256] = "";
    tier_params_t tp;
    memset(&tp, 0, sizeof tp);
    tp.id = "root-t";
    tp.kind = "root";
    char tier_ep[48];
    snprintf(tier_ep, sizeof tier_ep, "tcp://127.0.0.1:%d", TIER_PORT);
    tp.bind = tier_ep;
    tp.interval_ms = 1000;
    tp.query_timeout_ms = 400;
    wr_link_params_default(&tp.link);
    tp.link.heartbeat_ms = 200;
    fx.tier = tier_new(fx.loop, fx.zctx, &tp, err, sizeof err);
    if (!fx.tier)
        fail_msg("tier_new: %s", err);
    root_http_params_t hp = {.listen = "127.0.0.1", .port = 0, .max_connections = 16};
    fx.http = root_http_new(fx.loop, fx.tier, &hp, err, sizeof err);
    if (!fx.http)
        fail_msg("root_http_new: %s", err);
    assert_true(root_http_port(fx.http) > 0);
    snprintf(fx.base, sizeof fx.base, "http://127.0.0.1:%d", root_http_port(fx.http));

    leaf_t *l = &fx.leaf;
    l->answer = 1;
    wr_origin_init(&l->origin, "leaf-1");
    l->enc = wr_encoder_new();
    wr_hello_t hello;
    memset(&hello, 0, sizeof hello);
    snprintf(hello.kind, sizeof hello.kind, "leaf");
    snprintf(hello.id, sizeof hello.id, "leaf-1");
    hello.interval_ms = 1000;
    const char *eps[1] = {tier_ep};
    wr_client_callbacks_t cb = {leaf_parent_up, leaf_parent_down, leaf_message, leaf_bad};
    l->cli = wr_client_new(fx.loop, fx.zctx, eps, 1, WR_PARENTS_FAILOVER, &l->origin, &hello,
                           &tp.link, &cb, l, err, sizeof err);
    if (!l->cli)
        fail_msg("wr_client_new: %s", err);
    assert_true(run_until(nodes_known, NULL, 5000));
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = g;
    root_http_destroy(&fx->http);
    assert_null(fx->http);
    wr_client_destroy(&fx->leaf.cli);
    wr_encoder_destroy(&fx->leaf.enc);
    tier_destroy(&fx->tier);
    zmq_ctx_term(fx->zctx);
    ev_loop_destroy(fx->loop);
    return 0;
}

/* ---- tests ------------------------------------------------------------------------------ */
static void test_status(void **state)
{
    tu_req_t r;
    json_t *j = get_ok(&r, "/api/v1/status");
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "root")), "root-t");
    assert_int_equal(json_integer_value(json_object_get(j, "nodes_total")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "nodes_up")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "nodes_down")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "children")), 1);
    assert_true(json_is_number(json_object_get(j, "uptime_s")));
    assert_non_null(strstr(r.headers, "Cache-Control: no-store"));
    req_done(j, &r);

    /* HEAD: same status, no body */
    json_t *h = http(&r, "HEAD", "/api/v1/status");
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 0);
    req_done(h, &r);
}

static void test_nodes(void **state)
{
    tu_req_t r;
    json_t *j = get_ok(&r, "/api/v1/nodes");
    json_t *nodes = json_object_get(j, "nodes");
    assert_int_equal(json_array_size(nodes), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(nodes, 0), "name")), "a@h");
    assert_string_equal(json_string_value(json_object_get(json_array_get(nodes, 1), "name")), "b@h");
    assert_string_equal(json_string_value(json_object_get(json_array_get(nodes, 2), "name")), "c@h");
    json_t *b = json_array_get(nodes, 1);
    assert_string_equal(json_string_value(json_object_get(b, "state")), "down");
    assert_string_equal(json_string_value(json_object_get(b, "leaf")), "leaf-1");
    assert_int_equal(json_integer_value(json_object_get(b, "since")), 1763890000002LL);
    req_done(j, &r);

    j = get_ok(&r, "/api/v1/nodes?state=down");
    nodes = json_object_get(j, "nodes");
    assert_int_equal(json_array_size(nodes), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(nodes, 0), "name")), "b@h");
    req_done(j, &r);

    j = http(&r, "GET", "/api/v1/nodes?state=up");
    assert_int_equal(json_array_size(json_object_get(j, "nodes")), 2);
    req_done(j, &r);

    expect_error("GET", "/api/v1/nodes?state=sideways", 400, "state");
    expect_error("GET", "/api/v1/nodes?colour=red", 400, "colour");
}

static void test_node(void **state)
{
    tu_req_t r;
    json_t *j = http(&r, "GET", "/api/v1/nodes/a%40h");   /* percent-encoded '@' */
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "a@h");
    assert_string_equal(json_string_value(json_object_get(j, "state")), "up");
    req_done(j, &r);
    expect_error("GET", "/api/v1/nodes/nobody@nowhere", 404, "nobody@nowhere");
    /* not UTF-8: the error still is valid JSON (expect_error parses it) */
    expect_error("GET", "/api/v1/nodes/%FF%FEx%C3", 404, "x");
    expect_error("GET", "/api/v1/nodes/caf%C3%A9@h", 404, "caf\xc3\xa9@h");
}

static void test_long_node_name(void **state)
{
    char path[512];
    int n = snprintf(path, sizeof path, "/api/v1/nodes/");
    memset(path + n, 'x', 300);
    path[n + 300] = '\0';
    expect_error("GET", path, 400, "node");
    strcat(path, "/metrics/process.count");
    expect_error("GET", path, 400, "node");
    expect_error("GET", "/api/v1/nodes/a%4/metrics/process.count", 400, "node");
    expect_error("GET", "/api/v1/nodes/a%00h", 400, "node");
}

static void test_metric_routed(void **state)
{
    tu_req_t r;
    g->leaf.answer = 1;
    int before = g->leaf.queries;
    json_t *j = get_ok(&r, "/api/v1/nodes/a@h/metrics/process.count?since=-1h&limit=10");
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "node")), "a@h");
    assert_string_equal(json_string_value(json_object_get(j, "unit")), "processes");
    json_t *pts = json_object_get(j, "points");
    assert_int_equal(json_array_size(pts), 2);
    assert_true(json_real_value(json_array_get(json_array_get(pts, 1), 1)) == 42.5);
    req_done(j, &r);
    assert_int_equal(g->leaf.queries, before + 1);
    assert_string_equal(g->leaf.last_kind, "metric");
    assert_string_equal(g->leaf.last_node, "a@h");
    json_error_t e;
    json_t *args = json_loads(g->leaf.last_args, 0, &e);
    assert_non_null(args);
    assert_string_equal(json_string_value(json_object_get(args, "metric")), "process.count");
    assert_int_equal(json_integer_value(json_object_get(args, "limit")), 10);
    int64_t since = json_integer_value(json_object_get(args, "since"));
    int64_t want = wr_wall_ms() - 3600 * 1000;
    assert_true(since > want - 60000 && since <= want + 1000);
    assert_null(json_object_get(args, "until"));
    json_decref(args);

    /* absolute ms for both ends */
    j = get_ok(&r, "/api/v1/nodes/c@h/metrics/process.count?since=1000&until=2000");
    req_done(j, &r);
    args = json_loads(g->leaf.last_args, 0, &e);
    assert_int_equal(json_integer_value(json_object_get(args, "since")), 1000);
    assert_int_equal(json_integer_value(json_object_get(args, "until")), 2000);
    assert_int_equal(json_integer_value(json_object_get(args, "limit")), 1000);
    json_decref(args);

    expect_error("GET", "/api/v1/nodes/nobody@h/metrics/process.count", 404, "nobody@h");
}

static void test_metric_timeout(void **state)
{
    g->leaf.answer = 0;
    int before = g->leaf.queries;
    expect_error("GET", "/api/v1/nodes/a@h/metrics/process.count", 504, NULL);
    assert_int_equal(g->leaf.queries, before + 1);
    g->leaf.answer = 1;
}

static void test_bad_params(void **state)
{
    expect_error("GET", "/api/v1/nodes/a@h/metrics/process.count?since=yesterday", 400, "since");
    expect_error("GET", "/api/v1/nodes/a@h/metrics/process.count?since=-1y", 400, "since");
    expect_error("GET", "/api/v1/nodes/a@h/metrics/process.count?since=-99999999999999d", 400, "since");
    expect_error("GET", "/api/v1/nodes/a@h/metrics/process.count?until=12abc", 400, "until");
    expect_error("GET", "/api/v1/nodes/a@h/metrics/process.count?since=2000&until=1000", 400, "until");
    expect_error("GET", "/api/v1/nodes/a@h/metrics/process.count?limit=0", 400, "limit");
    expect_error("GET", "/api/v1/nodes/a@h/metrics/process.count?limit=abc", 400, "limit");
    expect_error("GET", "/api/v1/nodes/a@h/metrics/process.count?limit=99999999999999999999", 400, "limit");
    expect_error("GET", "/api/v1/nodes/a@h/metrics/Process..Count", 400, "metric");
    expect_error("GET", "/api/v1/nodes/a@h/metrics/"
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 400, "metric");
}

static void test_unknown_and_method(void **state)
{
    expect_error("GET", "/api/v1/nope", 404, NULL);
    expect_error("GET", "/api/v2/status", 404, NULL);
    expect_error("GET", "/nope", 404, NULL);
    expect_error("GET", "/api/v1/nodes/a@h/metrics", 404, NULL);
    tu_req_t r;
    json_t *j = http(&r, "POST", "/api/v1/status");
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.headers, "Allow: GET, HEAD"));
    assert_non_null(json_object_get(j, "error"));
    req_done(j, &r);
}

static void test_tree_rollups(void **state)
{
    tu_req_t r;
    json_t *j = get_ok(&r, "/api/v1/tree");
    json_t *t = json_object_get(j, "tiers");
    assert_true(json_array_size(t) >= 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(t, 0), "id")), "root-t");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(t, 0), "parent")), -1);
    int found = 0;
    for (size_t i = 1; i < json_array_size(t); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(t, i), "id")), "leaf-1") == 0)
            found = 1;
    assert_true(found);
    req_done(j, &r);

    j = get_ok(&r, "/api/v1/rollups");
    json_t *m = json_array_get(json_object_get(j, "metrics"), 0);
    assert_non_null(m);
    assert_string_equal(json_string_value(json_object_get(m, "metric")), "process.count");
    assert_int_equal(json_integer_value(json_object_get(m, "count")), 2);
    assert_true(json_number_value(json_object_get(m, "max")) == 300.0);
    assert_true(json_number_value(json_object_get(m, "mean")) == 200.0);
    req_done(j, &r);
}

static void test_prometheus(void **state)
{
    tu_req_t r;
    json_t *j = http(&r, "GET", "/metrics");
    json_decref(j);
    assert_int_equal(r.status, 200);
    assert_non_null(r.body);
    assert_non_null(strstr(r.headers, "text/plain; version=0.0.4"));
    assert_non_null(strstr(r.body, "# TYPE warren_nodes gauge\n"));
    assert_non_null(strstr(r.body, "warren_nodes{state=\"up\"} 2\n"));
    assert_non_null(strstr(r.body, "warren_nodes{state=\"down\"} 1\n"));
    assert_non_null(strstr(r.body, "warren_tiers{kind=\"leaf\",state=\"up\"} 1\n"));
    assert_non_null(strstr(r.body, "warren_fleet_metric{metric=\"process.count\",stat=\"max\"} 300\n"));
    assert_non_null(strstr(r.body, "# HELP warren_samples_per_second "));
    tu_req_free(&r);
}

static int all_done(void *ud)
{
    tu_req_t *rs = ud;
    for (int i = 0; i < 8; i++)
        if (!tu_req_done(&rs[i]))
            return 0;
    return 1;
}

/* Several suspended connections at once, each resumed by its own reply. */
static void test_parallel_queries(void **state)
{
    static tu_req_t rs[8];
    pthread_t th[8];
    const char *nodes[3] = {"a@h", "b@h", "c@h"};
    g->leaf.answer = 1;
    for (int i = 0; i < 8; i++) {
        char path[128];
        snprintf(path, sizeof path, "/api/v1/nodes/%s/metrics/run_queue?limit=%d", nodes[i % 3], i + 1);
        http_start(&rs[i], &th[i], "GET", path);
    }
    assert_true(run_until(all_done, rs, 10000));
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(rs[i].rc, CURLE_OK);
        assert_int_equal(rs[i].status, 200);
        json_error_t e;
        json_t *j = json_loads(rs[i].body, 0, &e);
        assert_string_equal(json_string_value(json_object_get(j, "node")), nodes[i % 3]);
        json_decref(j);
        tu_req_free(&rs[i]);
    }
}

/* The client hangs up while its query is pending: the late resume must be harmless. */
static void test_client_gives_up(void **state)
{
    g->leaf.answer = 0;
    tu_req_t r;
    pthread_t th;
    memset(&r, 0, sizeof r);
    r.method = "GET";
    r.timeout_ms = 100;
    snprintf(r.url, sizeof r.url, "%s/api/v1/nodes/a@h/metrics/process.count", g->base);
    assert_int_equal(pthread_create(&th, NULL, tu_req_thread, &r), 0);
    assert_true(run_until(tu_req_done, &r, 5000));
    pthread_join(th, NULL);
    assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
    tu_req_free(&r);
    g->leaf.answer = 1;
    /* the tier times the query out (400 ms) and the server resumes the dead connection:
     * poll /metrics until no query is active (deadline 5 s) */
    int64_t deadline = wr_mono_ms() + 5000;
    int idle = 0;
    while (!idle && wr_mono_ms() < deadline) {
        json_decref(http(&r, "GET", "/metrics"));
        assert_int_equal(r.status, 200);
        idle = strstr(r.body, "warren_routed_queries_active 0\n") != NULL;
        tu_req_free(&r);
    }
    assert_true(idle);
    /* and the server still answers routed queries */
    json_t *j = get_ok(&r, "/api/v1/nodes/a@h/metrics/process.count");
    req_done(j, &r);
}

/* ---- warrenctl end to end (the binary built beside this test) ----------------------- */
static char ctl_path[1024];

/* Runs "warrenctl ARGS 2>&1" while the loop serves it; returns its exit code. */
static int ctl(tu_ctl_t *j, const char *args)
{
    snprintf(j->cmd, sizeof j->cmd, "%s %s 2>&1", ctl_path, args);
    return tu_ctl_run(g->loop, j, 20000);
}

static void test_warrenctl(void **state)
{
    if (tu_sibling("warrenctl", ctl_path, sizeof ctl_path) != 0) {
        print_message("%s not built: skipped\n", ctl_path);
        skip();
    }
    static tu_ctl_t j;
    char args[512];
    g->leaf.answer = 1;

    snprintf(args, sizeof args, "--root %s status", g->base);
    assert_int_equal(ctl(&j, args), 0);
    tu_ctl_expect(&j, "root           root-t\n");
    tu_ctl_expect(&j, "nodes_down     1\n");

    /* the first root is unreachable: the second answers */
    snprintf(args, sizeof args, "--root http://127.0.0.1:26999,%s nodes --state down", g->base);
    assert_int_equal(ctl(&j, args), 0);
    tu_ctl_expect(&j, "NAME  STATE  SINCE");
    tu_ctl_expect(&j, "b@h   down   ");
    assert_null(strstr(j.out, "a@h"));

    snprintf(args, sizeof args, "nodes --root %s --json", g->base);
    assert_int_equal(ctl(&j, args), 0);
    json_error_t e;
    json_t *js = json_loads(j.out, 0, &e);
    assert_non_null(js);
    assert_int_equal(json_array_size(json_object_get(js, "nodes")), 3);
    json_decref(js);

    snprintf(args, sizeof args, "--root %s metric a@h process.count --since -1h --limit 2", g->base);
    assert_int_equal(ctl(&j, args), 0);
    tu_ctl_expect(&j, "TIME                      VALUE  UNIT\n");
    tu_ctl_expect(&j, "2025-11-23T09:26:41.000Z   42.5  processes\n");

    snprintf(args, sizeof args, "--root %s tree", g->base);
    assert_int_equal(ctl(&j, args), 0);
    tu_ctl_expect(&j, "root-t (root) up 2/3 nodes");
    tu_ctl_expect(&j, "\n  leaf-1 (leaf) up 2/3 nodes");

    snprintf(args, sizeof args, "--root %s rollups", g->base);
    assert_int_equal(ctl(&j, args), 0);
    tu_ctl_expect(&j, "process.count      2  100   200  300  400  processes");

    snprintf(args, sizeof args, "--root %s node zz@h", g->base);
    assert_int_equal(ctl(&j, args), 1);
    tu_ctl_expect(&j, "warrenctl: unknown node 'zz@h' (HTTP 404");

    snprintf(args, sizeof args, "--root %s metric a@h process.count --since yesterday", g->base);
    assert_int_equal(ctl(&j, args), 1);
    tu_ctl_expect(&j, "since: expected");

    assert_int_equal(ctl(&j, "--root http://127.0.0.1:26999 status"), 2);
    tu_ctl_expect(&j, "warrenctl: cannot reach root at http://127.0.0.1:26999: ");
    assert_int_equal(ctl(&j, "frobnicate"), 2);
    tu_ctl_expect(&j, "unknown command 'frobnicate'");
    assert_int_equal(ctl(&j, "metric a@h"), 2);
    assert_int_equal(ctl(&j, "metric --help"), 0);
    tu_ctl_expect(&j, "--since");
}

/* Dashboard files: served from www_dir, never outside it. */
static void test_static_files(void **state)
{
    char dir[] = "/tmp/warren-www-XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/index.html", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("<h1>warren</h1>", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/.secret", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("hidden", f);
    fclose(f);
    char err[256];
    root_http_params_t hp = {.listen = "127.0.0.1", .port = 0, .www_dir = dir};
    root_http_t *h2 = root_http_new(g->loop, g->tier, &hp, err, sizeof err);
    if (!h2)
        fail_msg("root_http_new: %s", err);
    char saved[64];
    snprintf(saved, sizeof saved, "%s", g->base);
    snprintf(g->base, sizeof g->base, "http://127.0.0.1:%d", root_http_port(h2));
    tu_req_t r;
    json_decref(http(&r, "GET", "/"));
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "<h1>warren</h1>");
    assert_non_null(strstr(r.headers, "text/html"));
    tu_req_free(&r);
    expect_error("GET", "/.secret", 404, NULL);
    expect_error("GET", "/%2e%2e/%2e%2e/etc/passwd", 404, NULL);
    expect_error("GET", "/%2e%2e%2fetc%2fpasswd", 404, NULL);
    expect_error("GET", "/missing.js", 404, NULL);
    /* the API is still the API */
    json_t *j = get_ok(&r, "/api/v1/status");
    req_done(j, &r);
    snprintf(g->base, sizeof g->base, "%s", saved);
    root_http_destroy(&h2);
    unlink(path);
    snprintf(path, sizeof path, "%s/index.html", dir);
    unlink(path);
    rmdir(dir);

    /* IPv6 when the machine has it */
    root_http_params_t v6 = {.listen = "::1", .port = 0};
    root_http_t *h6 = root_http_new(g->loop, g->tier, &v6, err, sizeof err);
    if (h6) {
        snprintf(g->base, sizeof g->base, "http://[::1]:%d", root_http_port(h6));
        json_t *s6 = get_ok(&r, "/api/v1/status");
        assert_int_equal(json_integer_value(json_object_get(s6, "nodes_total")), 3);
        req_done(s6, &r);
        snprintf(g->base, sizeof g->base, "%s", saved);
        root_http_destroy(&h6);
    } else {
        print_message("IPv6 not available here (%s): skipped\n", err);
    }

    /* a port already in use is reported with the reason */
    root_http_params_t busy = {.listen = "127.0.0.1", .port = root_http_port(g->http)};
    assert_null(root_http_new(g->loop, g->tier, &busy, err, sizeof err));
    assert_non_null(strstr(err, "in use"));
}

/* Shutting down with a request suspended on a query must answer it, not crash. */
static void test_destroy_with_pending(void **state)
{
    g->leaf.answer = 0;
    int want = g->leaf.queries + 1;
    tu_req_t r;
    pthread_t th;
    http_start(&r, &th, "GET", "/api/v1/nodes/a@h/metrics/process.count");
    assert_true(run_until(queries_at_least, &want, 5000));
    root_http_destroy(&g->http);
    assert_null(g->http);
    /* the client sees the 503 or a closed connection; either way the thread ends */
    assert_true(run_until(tu_req_done, &r, 10000));
    pthread_join(th, NULL);
    assert_true(r.rc != CURLE_OK || r.status == 503);
    tu_req_free(&r);
    g->leaf.answer = 1;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_nodes),
        cmocka_unit_test(test_node),
        cmocka_unit_test(test_long_node_name),
        cmocka_unit_test(test_metric_routed),
        cmocka_unit_test(test_metric_timeout),
        cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_unknown_and_method),
        cmocka_unit_test(test_tree_rollups),
        cmocka_unit_test(test_prometheus),
        cmocka_unit_test(test_parallel_queries),
        cmocka_unit_test(test_client_gives_up),
        cmocka_unit_test(test_warrenctl),
        cmocka_unit_test(test_static_files),
        cmocka_unit_test(test_destroy_with_pending),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
