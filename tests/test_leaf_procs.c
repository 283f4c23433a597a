/* test_leaf_procs: the leaf's live process view (leaf/leaf_procs.c, included directly with
 * leaf/leaf_parse.c; the leaf's sending and upstream are stubbed and recorded): argument
 * checks, the call sent to rex, a node's reply turned into JSON (capped to n), badrpc undef
 * as "agent not loaded", malformed replies, unknown refs, node down and timeout answered by
 * the check timer on a real libev loop, the pending-table cap, a failed send, and shutdown. */
#include "../leaf/leaf_parse.c"
#include "../leaf/leaf_procs.c"
#include "../leaf/leaf_rpc.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "test_leaf_fixture.h"

/* ---- stubs of the rest of the leaf ---------------------------------------------------- */

static struct {
    int      replies;
    uint64_t qid;
    int      status;
    char     err[512];
    char    *result;
    int      sends, send_rc, lost;
    char     by[32];
    long     n;
    erlang_ref ref;
} rec;

void leaf_up_reply(leaf_t *lf, int parent, uint64_t qid, int status, const char *err, const char *result)
{
    (void)lf;
    (void)parent;
    rec.replies++;
    rec.qid = qid;
    rec.status = status;
    snprintf(rec.err, sizeof rec.err, "%s", err ? err : "");
    free(rec.result);
    rec.result = result ? strdup(result) : NULL;
}

/* Decodes the call in tx: {'$gen_call', {Pid, Ref}, {call, warren_agent, procs, [By, N], user}}. */
int leaf_beam_send_rex(leaf_t *lf, leaf_node_t *n)
{
    (void)n;
    rec.sends++;
    const char *b = lf->tx.buff;
    int ar;
    char a[MAXATOMLEN_UTF8];
    int i = tl_decode_gen_call(b, &ar, &rec.ref);
    assert_int_equal(ar, 3);
    assert_int_equal(ei_decode_atom(b, &i, a), 0);
    assert_string_equal(a, "call");
    assert_int_equal(ei_decode_atom(b, &i, a), 0);
    assert_string_equal(a, "warren_agent");
    assert_int_equal(ei_decode_atom(b, &i, a), 0);
    assert_string_equal(a, "procs");
    assert_int_equal(ei_decode_list_header(b, &i, &ar), 0);
    assert_int_equal(ar, 2);
    assert_int_equal(ei_decode_atom(b, &i, rec.by), 0);
    assert_int_equal(ei_decode_long(b, &i, &rec.n), 0);
    return rec.send_rc;
}

void leaf_node_lost(leaf_t *lf, leaf_node_t *n, const char *reason)
{
    (void)lf;
    (void)reason;
    rec.lost++;
    n->fd = -1;
    n->state = WR_NODE_DOWN;
}

/* ---- fixture ------------------------------------------------------------------------- */

static leaf_t lf;
static leaf_node_t nodes[2];

static int setup(void **state)
{
    (void)state;
    memset(&lf, 0, sizeof lf);
    memset(nodes, 0, sizeof nodes);
    free(rec.result);
    memset(&rec, 0, sizeof rec);
    tl_leaf_init(&lf, nodes, 2, "wp_test");
    for (uint32_t i = 0; i < 2; i++)
        nodes[i].since_ms = 1000;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    leaf_procs_fini(&lf);
    ei_x_free(&lf.rx);
    ei_x_free(&lf.tx);
    free(rec.result);
    rec.result = NULL;
    return 0;
}

static int start(leaf_node_t *n, uint64_t qid, const char *args)
{
    char err[256] = "";
    int rc = leaf_procs_start(&lf, n, 0, qid, args, strlen(args), err, sizeof err);
    snprintf(rec.err, sizeof rec.err, "%s", err);
    return rc;
}

/* Puts {Ref, <reply built by fn>} into lf.rx and hands it to leaf_procs_on_reply. */
static int deliver(leaf_node_t *n, const erlang_ref *ref, void (*fn)(ei_x_buff *))
{
    ei_x_buff *x = &lf.rx;
    x->index = 0;
    ei_x_encode_version(x);
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_ref(x, ref);
    fn(x);
    erlang_ref got;
    int ri;
    char why[256];
    assert_int_equal(leaf_parse_envelope(x->buff, x->index, &got, &ri, why, sizeof why), 0);
    return leaf_procs_on_reply(&lf, n, &got, ri);
}

static void enc_proc(ei_x_buff *x, const char *pid, const char *name, const char *ini, const char *cur, long long v)
{
    ei_x_encode_tuple_header(x, 5);
    ei_x_encode_binary(x, pid, (long)strlen(pid));
    ei_x_encode_binary(x, name, (long)strlen(name));
    ei_x_encode_binary(x, ini, (long)strlen(ini));
    ei_x_encode_binary(x, cur, (long)strlen(cur));
    ei_x_encode_longlong(x, v);
}

static void three_procs(ei_x_buff *x)
{
    ei_x_encode_list_header(x, 3);
    enc_proc(x, "<0.85.0>", "wp_flood", "erlang:apply/2", "prim_eval:receive/2", 50000);
    enc_proc(x, "<0.49.0>", "code_server", "code_server:init/3", "code_server:loop/1", 7);
    enc_proc(x, "<0.9.0>", "", "erlang:apply/2", "gen_server:loop/7", 0);
    ei_x_encode_empty_list(x);
}

static void badrpc_undef(ei_x_buff *x)
{
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, "badrpc");
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, "EXIT");
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, "undef");
    ei_x_encode_list_header(x, 1);
    ei_x_encode_tuple_header(x, 4);
    ei_x_encode_atom(x, "warren_agent");
    ei_x_encode_atom(x, "procs");
    ei_x_encode_long(x, 2);
    ei_x_encode_empty_list(x);
    ei_x_encode_empty_list(x);
}

static void not_a_list(ei_x_buff *x)
{
    ei_x_encode_long(x, 42);
}

static void short_tuples(ei_x_buff *x)
{
    ei_x_encode_list_header(x, 1);
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, "a");
    ei_x_encode_atom(x, "b");
    ei_x_encode_empty_list(x);
}

/* ---- tests --------------------------------------------------------------------------- */

static void bad_arguments_are_refused(void **state)
{
    (void)state;
    assert_int_equal(start(&nodes[0], 1, "{\"by\":\"bogus\"}"), WR_EINVAL);
    assert_non_null(strstr(rec.err, "by: expected memory, message_queue, reductions or binary"));
    assert_int_equal(start(&nodes[0], 1, "{\"n\":0}"), WR_EINVAL);
    assert_non_null(strstr(rec.err, "n: expected an integer from 1 to 1000"));
    assert_int_equal(start(&nodes[0], 1, "{\"n\":1001}"), WR_EINVAL);
    assert_int_equal(start(&nodes[0], 1, "{\"n\":\"5\"}"), WR_EINVAL);
    assert_int_equal(start(&nodes[0], 1, "{\"by\":\"memory\",\"x\":1}"), WR_EINVAL);
    assert_non_null(strstr(rec.err, "unknown argument 'x'"));
    assert_int_equal(start(&nodes[0], 1, "[1,2]"), WR_EINVAL);
    assert_int_equal(start(&nodes[0], 1, "{\"by\":"), WR_EINVAL);
    assert_int_equal(rec.sends, 0);
    assert_int_equal(rec.replies, 0);
}

static void reply_becomes_json(void **state)
{
    (void)state;
    assert_int_equal(start(&nodes[1], 77, "{\"by\":\"message_queue\",\"n\":2}"), 0);
    assert_int_equal(rec.sends, 1);
    assert_string_equal(rec.by, "message_queue");
    assert_int_equal(rec.n, 2);
    erlang_ref ref = rec.ref;
    assert_int_equal(deliver(&nodes[0], &ref, three_procs), 0);   /* same ref, other node */
    assert_int_equal(deliver(&nodes[1], &ref, three_procs), 1);
    assert_int_equal(rec.replies, 1);
    assert_int_equal(rec.qid, 77);
    assert_int_equal(rec.status, 0);
    json_error_t jerr;
    json_t *j = json_loads(rec.result, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "node")), "n1@h");
    assert_string_equal(json_string_value(json_object_get(j, "by")), "message_queue");
    json_t *procs = json_object_get(j, "procs");
    assert_int_equal(json_array_size(procs), 2);                   /* capped to n */
    json_t *p0 = json_array_get(procs, 0);
    assert_string_equal(json_string_value(json_object_get(p0, "pid")), "<0.85.0>");
    assert_string_equal(json_string_value(json_object_get(p0, "name")), "wp_flood");
    assert_string_equal(json_string_value(json_object_get(p0, "initial_call")), "erlang:apply/2");
    assert_string_equal(json_string_value(json_object_get(p0, "current_function")), "prim_eval:receive/2");
    assert_int_equal(json_integer_value(json_object_get(p0, "value")), 50000);
    json_decref(j);
    assert_int_equal(deliver(&nodes[1], &ref, three_procs), 0);   /* answered: no longer ours */
    assert_int_equal(rec.replies, 1);
}

static void defaults_are_memory_and_20(void **state)
{
    (void)state;
    assert_int_equal(start(&nodes[0], 5, ""), 0);
    assert_string_equal(rec.by, "memory");
    assert_int_equal(rec.n, 20);
    assert_int_equal(start(&nodes[0], 6, "{}"), 0);
    assert_string_equal(rec.by, "memory");
}

static void badrpc_and_garbage_are_errors(void **state)
{
    (void)state;
    assert_int_equal(start(&nodes[0], 1, "{\"by\":\"binary\"}"), 0);
    erlang_ref r1 = rec.ref;
    assert_int_equal(start(&nodes[0], 2, "{\"by\":\"reductions\"}"), 0);
    erlang_ref r2 = rec.ref;
    assert_int_equal(start(&nodes[0], 3, "{}"), 0);
    erlang_ref r3 = rec.ref;
    assert_int_equal(deliver(&nodes[0], &r1, badrpc_undef), 1);
    assert_int_equal(rec.qid, 1);
    assert_int_equal(rec.status, WR_EUNSUPPORTED);
    assert_non_null(strstr(rec.err, "agent is not loaded"));
    assert_int_equal(deliver(&nodes[0], &r2, not_a_list), 1);
    assert_int_equal(rec.status, WR_EPROTO);
    assert_non_null(strstr(rec.err, "unexpected term"));
    assert_int_equal(deliver(&nodes[0], &r3, short_tuples), 1);
    assert_int_equal(rec.status, WR_EPROTO);
    assert_int_equal(lf.procs->live, 0);
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

/* Runs the loop until a reply was recorded or max_s passed. */
static void run_until_reply(double max_s)
{
    ev_timer t;
    ev_timer_init(&t, on_deadline, max_s, 0.);
    ev_timer_start(lf.loop, &t);
    int before = rec.replies;
    while (rec.replies == before && ev_is_active(&t))
        ev_run(lf.loop, EVRUN_ONCE);
    ev_timer_stop(lf.loop, &t);
}

static void node_down_answers_pending(void **state)
{
    (void)state;
    assert_int_equal(start(&nodes[0], 9, "{}"), 0);
    nodes[0].state = WR_NODE_DOWN;
    nodes[0].fd = -1;
    run_until_reply(3.0);
    assert_int_equal(rec.replies, 1);
    assert_int_equal(rec.qid, 9);
    assert_int_equal(rec.status, WR_ECLOSED);
    assert_non_null(strstr(rec.err, "went down"));
    /* and a node that is down is refused at once */
    assert_int_equal(start(&nodes[0], 10, "{}"), WR_ECLOSED);
    assert_non_null(strstr(rec.err, "n0@h is down"));
}

static void reconnect_counts_as_down(void **state)
{
    (void)state;
    assert_int_equal(start(&nodes[1], 11, "{}"), 0);
    nodes[1].fd = 99;                                /* a new connection: the reply is lost */
    run_until_reply(3.0);
    assert_int_equal(rec.status, WR_ECLOSED);
}

static void silent_node_times_out(void **state)
{
    (void)state;
    int64_t t0 = wr_mono_ms();
    assert_int_equal(start(&nodes[1], 12, "{}"), 0);
    run_until_reply(LEAF_PROCS_TIMEOUT_MS / 1000.0 + 3.0);
    assert_int_equal(rec.replies, 1);
    assert_int_equal(rec.qid, 12);
    assert_int_equal(rec.status, WR_ETIMEDOUT);
    assert_true(wr_mono_ms() - t0 >= LEAF_PROCS_TIMEOUT_MS);
    assert_false(ev_is_active(&lf.procs->check));   /* nothing pending: the timer stops */
}

static void table_is_capped_and_fini_answers(void **state)
{
    (void)state;
    for (int i = 0; i < LEAF_PROCS_PENDING_MAX; i++)
        assert_int_equal(start(&nodes[i & 1], (uint64_t)i, "{}"), 0);
    assert_int_equal(start(&nodes[0], 999, "{}"), WR_EAGAIN);
    assert_non_null(strstr(rec.err, "try again later"));
    assert_int_equal(rec.replies, 0);
    leaf_procs_fini(&lf);
    assert_int_equal(rec.replies, LEAF_PROCS_PENDING_MAX);
    assert_int_equal(rec.status, WR_ECLOSED);
    assert_null(lf.procs);
}

static void failed_send_loses_the_node(void **state)
{
    (void)state;
    rec.send_rc = -1;
    assert_int_equal(start(&nodes[0], 13, "{}"), WR_ECLOSED);
    assert_int_equal(rec.lost, 1);
    assert_int_equal(nodes[0].state, WR_NODE_DOWN);
    assert_int_equal(lf.procs->live, 0);
}

int main(void)
{
    assert_int_equal(ei_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(bad_arguments_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(reply_becomes_json, setup, teardown),
        cmocka_unit_test_setup_teardown(defaults_are_memory_and_20, setup, teardown),
        cmocka_unit_test_setup_teardown(badrpc_and_garbage_are_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(node_down_answers_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(reconnect_counts_as_down, setup, teardown),
        cmocka_unit_test_setup_teardown(silent_node_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(table_is_capped_and_fini_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_send_loses_the_node, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
