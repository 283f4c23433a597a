/* test_leaf_notify: the leaf's notifications (leaf/leaf_notify.c, included directly with
 * leaf/leaf_parse.c; leaf_events_push, the rex sends and node loss are stubbed and recorded):
 * each pushed term shape turned into a notification with its JSON fields, malformed and
 * oversized terms rejected with a reason and counted, field caps (bad keys and values
 * skipped, invalid UTF-8 replaced, long strings and too many fields cut, escapes that would
 * overflow WR_NOTIF_FIELDS_MAX), the token bucket, per node and type rate limiting with drop
 * counts and "suppressed", system monitor filtering, source-drop reports, node_up / node_down,
 * restart detection by creation and by uptime, and subscribe replies. */
#include "../leaf/leaf_parse.c"
#include "../leaf/leaf_notify.c"
#include "../leaf/leaf_owned.c"
#include "../leaf/leaf_rpc.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "test_leaf_fixture.h"

/* ---- stubs ----------------------------------------------------------------------------- */

static struct {
    int        pushes, push_rc;
    wr_event_t last;
    char       types[64][WR_NOTIF_TYPE_MAX];
    int        sends, lost;
    char       fun[MAXATOMLEN_UTF8], arg[MAXATOMLEN_UTF8];
    erlang_ref refs[8];
    char       funs[8][MAXATOMLEN_UTF8];
} rec;

int leaf_events_push(leaf_t *lf, wr_event_t *ev)
{
    (void)lf;
    if (rec.push_rc)
        return rec.push_rc;
    if (rec.pushes < 64)
        snprintf(rec.types[rec.pushes], WR_NOTIF_TYPE_MAX, "%s", ev->notif.type);
    rec.pushes++;
    rec.last = *ev;
    return 0;
}

/* Records {'$gen_call', {Pid, Ref}, {call, M, F, Args, user}}: F, the first atom of Args, Ref. */
int leaf_beam_send_rex(leaf_t *lf, leaf_node_t *n)
{
    (void)n;
    const char *b = lf->tx.buff;
    int ar;
    char a[MAXATOMLEN_UTF8];
    erlang_ref ref;
    int i = tl_decode_gen_call(b, &ar, &ref);
    assert_int_equal(ei_decode_atom(b, &i, a), 0);
    assert_int_equal(ei_decode_atom(b, &i, a), 0);
    assert_int_equal(ei_decode_atom(b, &i, rec.fun), 0);
    rec.arg[0] = '\0';
    if (ei_decode_list_header(b, &i, &ar) == 0 && ar > 0)
        ei_decode_atom(b, &i, rec.arg);
    if (rec.sends < 8) {
        rec.refs[rec.sends] = ref;
        snprintf(rec.funs[rec.sends], sizeof rec.funs[0], "%s", rec.fun);
    }
    rec.sends++;
    return 0;
}

void leaf_node_lost(leaf_t *lf, leaf_node_t *n, const char *reason)
{
    (void)lf;
    (void)reason;
    rec.lost++;
    n->fd = -1;
}

/* ---- fixture ------------------------------------------------------------------------- */

static leaf_t lf;
static leaf_node_t nodes[2];

static int setup(void **state)
{
    (void)state;
    memset(&lf, 0, sizeof lf);
    memset(nodes, 0, sizeof nodes);
    memset(&rec, 0, sizeof rec);
    snprintf(lf.cfg.node_name, sizeof lf.cfg.node_name, "warren_leaf_t@h");
    lf.cfg.notify_rate = 1.0;
    lf.cfg.notify_burst = 3.0;
    lf.cfg.notify_source_rate = 100;
    tl_leaf_init(&lf, nodes, 2, "wn_test");
    for (uint32_t i = 0; i < 2; i++)
        nodes[i].owned = 1;
    assert_int_equal(leaf_notify_init(&lf), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    leaf_notify_fini(&lf);
    assert_null(lf.notify);
    free(lf.owned_list);
    ei_x_free(&lf.rx);
    ei_x_free(&lf.tx);
    return 0;
}

/* Term builders into lf.rx (version byte first). */
static ei_x_buff *begin(void)
{
    lf.rx.index = 0;
    ei_x_encode_version(&lf.rx);
    return &lf.rx;
}

static void notif_head(ei_x_buff *x, const char *type, const char *sev, long long ts, int nfields)
{
    ei_x_encode_tuple_header(x, 5);
    ei_x_encode_atom(x, "warren_notif");
    ei_x_encode_atom(x, type);
    ei_x_encode_atom(x, sev);
    ei_x_encode_longlong(x, ts);
    if (nfields)
        ei_x_encode_list_header(x, nfields);
}

static void kv_bin(ei_x_buff *x, const char *k, const char *v, size_t len)
{
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, k);
    ei_x_encode_binary(x, v, (long)len);
}

static void kv_int(ei_x_buff *x, const char *k, long long v)
{
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, k);
    ei_x_encode_longlong(x, v);
}

static void kv_atom(ei_x_buff *x, const char *k, const char *v)
{
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, k);
    ei_x_encode_atom(x, v);
}

static int head(leaf_notify_head_t *h, char *why, size_t whylen)
{
    return leaf_notify_decode_head(lf.rx.buff, lf.rx.index, h, why, whylen);
}

static void fields_of(const leaf_notify_head_t *h, char *out, size_t *bad)
{
    assert_int_equal(leaf_notify_build_fields(lf.rx.buff, h->fields_index, NULL, 0, out,
                                              WR_NOTIF_FIELDS_MAX, bad), 0);
}

/* ---- term -> notification, each type ------------------------------------------------------ */

static void test_types(void **state)
{
    (void)state;
    static char out[WR_NOTIF_FIELDS_MAX];
    char why[256];
    size_t bad = 0;
    leaf_notify_head_t h;

    ei_x_buff *x = begin();
    notif_head(x, "error_report", "major", 1700000000123LL, 3);
    kv_atom(x, "level", "error");
    kv_bin(x, "text", "boom \"quoted\"\n", 14);
    kv_bin(x, "pid", "<0.90.0>", 8);
    ei_x_encode_empty_list(x);
    assert_int_equal(head(&h, why, sizeof why), 0);
    assert_int_equal(h.kind, LEAF_NOTIFY_TERM_NOTIF);
    assert_int_equal(h.type, LEAF_NT_ERROR_REPORT);
    assert_int_equal(h.severity, WR_SEV_MAJOR);
    assert_int_equal(h.ts_ms, 1700000000123LL);
    fields_of(&h, out, &bad);
    assert_int_equal(bad, 0);
    assert_string_equal(out, "{\"level\":\"error\",\"text\":\"boom \\\"quoted\\\"\\n\",\"pid\":\"<0.90.0>\"}");

    x = begin();
    notif_head(x, "code_loaded", "indeterminate", 5, 2);
    kv_atom(x, "module", "wn_mod");
    kv_bin(x, "md5", "0123456789abcdef0123456789abcdef", 32);
    ei_x_encode_empty_list(x);
    assert_int_equal(head(&h, why, sizeof why), 0);
    assert_int_equal(h.type, LEAF_NT_CODE_LOADED);
    assert_int_equal(h.severity, WR_SEV_INDETERMINATE);
    fields_of(&h, out, &bad);
    assert_string_equal(out, "{\"module\":\"wn_mod\",\"md5\":\"0123456789abcdef0123456789abcdef\"}");

    x = begin();
    notif_head(x, "crash_dump", "major", 5, 3);
    kv_bin(x, "path", "/srv/erl_crash.dump", 19);
    kv_int(x, "size", 123456789012LL);
    kv_atom(x, "first", "true");
    ei_x_encode_empty_list(x);
    assert_int_equal(head(&h, why, sizeof why), 0);
    fields_of(&h, out, &bad);
    assert_string_equal(out, "{\"path\":\"/srv/erl_crash.dump\",\"size\":123456789012,\"first\":true}");

    x = begin();
    notif_head(x, "long_gc", "warning", 5, 1);
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_binary(x, "timeout", 7);           /* a binary key */
    ei_x_encode_double(x, 150.5);
    ei_x_encode_empty_list(x);
    assert_int_equal(head(&h, why, sizeof why), 0);
    assert_int_equal(h.type, LEAF_NT_LONG_GC);
    assert_true(leaf_notify_type_sysmon(h.type));
    fields_of(&h, out, &bad);
    assert_string_equal(out, "{\"timeout\":150.5}");

    static const char *const pushable[] = {"code_purged", "shell_command", "warning_report",
                                           "crash_report", "supervisor_report", "config_changed",
                                           "long_schedule", "large_heap", "busy_port", "busy_dist_port"};
    for (size_t k = 0; k < sizeof pushable / sizeof pushable[0]; k++) {
        x = begin();
        notif_head(x, pushable[k], "critical", 5, 0);
        ei_x_encode_empty_list(x);
        assert_int_equal(head(&h, why, sizeof why), 0);
        assert_string_equal(leaf_notify_type_names[h.type], pushable[k]);
        assert_int_equal(h.severity, WR_SEV_CRITICAL);
        fields_of(&h, out, &bad);
        assert_string_equal(out, "{}");
    }

    x = begin();
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, "warren_notif_dropped");
    ei_x_encode_long(x, 901);
    assert_int_equal(head(&h, why, sizeof why), 0);
    assert_int_equal(h.kind, LEAF_NOTIFY_TERM_DROPPED);
    assert_int_equal(h.dropped, 901);
}

/* ---- malformed and oversized --------------------------------------------------------------- */

static void expect_bad(int want, const char *fragment)
{
    char why[256] = "";
    leaf_notify_head_t h;
    int rc = head(&h, why, sizeof why);
    if (rc != want || !strstr(why, fragment))
        fail_msg("rc %d (want %d), why '%s' (want '%s')", rc, want, why, fragment);
}

static void test_malformed(void **state)
{
    (void)state;
    ei_x_buff *x = begin();
    ei_x_encode_atom(x, "warren_notif");
    expect_bad(WR_EPROTO, "expected a tuple");

    x = begin();
    ei_x_encode_tuple_header(x, 4);
    ei_x_encode_atom(x, "warren_notif");
    ei_x_encode_atom(x, "error_report");
    ei_x_encode_atom(x, "major");
    ei_x_encode_long(x, 1);
    expect_bad(WR_EPROTO, "4-tuple");

    x = begin();
    notif_head(x, "no_such_type", "major", 1, 0);
    ei_x_encode_empty_list(x);
    expect_bad(WR_EPROTO, "unknown notification type 'no_such_type'");

    x = begin();
    notif_head(x, "node_down", "major", 1, 0);       /* the leaf's own: never pushed */
    ei_x_encode_empty_list(x);
    expect_bad(WR_EPROTO, "not pushable");

    x = begin();
    notif_head(x, "error_report", "cleared", 1, 0);
    ei_x_encode_empty_list(x);
    expect_bad(WR_EPROTO, "bad severity");

    x = begin();
    notif_head(x, "error_report", "loud", 1, 0);
    ei_x_encode_empty_list(x);
    expect_bad(WR_EPROTO, "bad severity");

    x = begin();
    notif_head(x, "error_report", "major", -5, 0);
    ei_x_encode_empty_list(x);
    expect_bad(WR_EPROTO, "bad timestamp");

    x = begin();
    notif_head(x, "error_report", "major", 1, 0);
    ei_x_encode_string(x, "abc");                    /* a charlist, not {Key, Value}s */
    expect_bad(WR_EPROTO, "fields");

    x = begin();
    notif_head(x, "error_report", "major", 1, 0);
    ei_x_encode_atom(x, "nofields");
    expect_bad(WR_EPROTO, "fields");

    x = begin();
    notif_head(x, "error_report", "major", 1, 1);
    kv_bin(x, "text", "abcdef", 6);
    ei_x_encode_empty_list(x);
    lf.rx.index -= 3;                               /* truncated */
    expect_bad(WR_EPROTO, "");
    lf.rx.index += 3;
    ei_x_encode_atom(x, "extra");                   /* bytes after the term */
    expect_bad(WR_EPROTO, "after the term");

    x = begin();
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, "warren_notif_dropped");
    ei_x_encode_atom(x, "many");
    expect_bad(WR_EPROTO, "expected a count");

    x = begin();                                    /* over LEAF_NOTIFY_MSG_MAX */
    notif_head(x, "error_report", "major", 1, 1);
    char *big = malloc(LEAF_NOTIFY_MSG_MAX);
    assert_non_null(big);
    memset(big, 'a', LEAF_NOTIFY_MSG_MAX);
    kv_bin(x, "text", big, LEAF_NOTIFY_MSG_MAX);
    free(big);
    ei_x_encode_empty_list(x);
    expect_bad(WR_ETOOBIG, "bytes (max");

    x = begin();                                    /* empty */
    lf.rx.index = 0;
    expect_bad(WR_EPROTO, "version");
}

/* ---- field caps ---------------------------------------------------------------------------- */

static void test_fields_caps(void **state)
{
    (void)state;
    static char out[WR_NOTIF_FIELDS_MAX];
    char why[256];
    size_t bad = 0;
    leaf_notify_head_t h;

    /* bad keys and values skipped and counted; invalid UTF-8 replaced */
    ei_x_buff *x = begin();
    notif_head(x, "error_report", "major", 1, 5);
    kv_int(x, "Bad-Key", 1);
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, "tuple_value");
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_long(x, 1);
    ei_x_encode_long(x, 2);
    ei_x_encode_tuple_header(x, 3);                 /* not a pair */
    ei_x_encode_atom(x, "a");
    ei_x_encode_atom(x, "b");
    ei_x_encode_atom(x, "c");
    kv_bin(x, "utf", "ok \xc3\xa9 bad \xff\xfe end \xe2\x82", 19);
    kv_bin(x, "nul", "a\0b", 3);
    ei_x_encode_empty_list(x);
    assert_int_equal(head(&h, why, sizeof why), 0);
    fields_of(&h, out, &bad);
    assert_int_equal(bad, 3);
    assert_non_null(strstr(out, "\"utf\":\"ok \xc3\xa9 bad ?? end ??\""));
    assert_non_null(strstr(out, "\"nul\":\"a?b\""));
    assert_null(strstr(out, "Bad-Key"));
    assert_null(strstr(out, "tuple_value"));

    /* a long string is cut at LEAF_NOTIFY_STR_MAX and marked */
    char *s = malloc(10000);
    assert_non_null(s);
    memset(s, 'x', 10000);
    x = begin();
    notif_head(x, "error_report", "major", 1, 1);
    kv_bin(x, "text", s, 10000);
    ei_x_encode_empty_list(x);
    assert_int_equal(head(&h, why, sizeof why), 0);
    fields_of(&h, out, &bad);
    json_error_t jerr;
    json_t *o = json_loads(out, 0, &jerr);
    assert_non_null(o);
    assert_int_equal(json_string_length(json_object_get(o, "text")), LEAF_NOTIFY_STR_MAX);
    assert_true(json_is_true(json_object_get(o, "truncated")));
    json_decref(o);

    /* 40 fields: 32 kept */
    x = begin();
    notif_head(x, "error_report", "major", 1, 40);
    for (int k = 0; k < 40; k++) {
        char key[16];
        snprintf(key, sizeof key, "f%d", k);
        kv_int(x, key, k);
    }
    ei_x_encode_empty_list(x);
    assert_int_equal(head(&h, why, sizeof why), 0);
    fields_of(&h, out, &bad);
    o = json_loads(out, 0, &jerr);
    assert_non_null(o);
    assert_int_equal(json_object_size(o), LEAF_NOTIFY_FIELDS_MAX + 1);   /* + truncated */
    assert_non_null(json_object_get(o, "f31"));
    assert_null(json_object_get(o, "f32"));
    json_decref(o);

    /* 30 strings of 1,900 control characters (each escaped to 6 bytes): the strings shrink
     * until the object fits WR_NOTIF_FIELDS_MAX */
    memset(s, 1, 1900);
    x = begin();
    notif_head(x, "error_report", "major", 1, 30);
    for (int k = 0; k < 30; k++) {
        char key[16];
        snprintf(key, sizeof key, "s%d", k);
        kv_bin(x, key, s, 1900);
    }
    ei_x_encode_empty_list(x);
    assert_int_equal(head(&h, why, sizeof why), 0);
    fields_of(&h, out, &bad);
    assert_true(strlen(out) < WR_NOTIF_FIELDS_MAX);
    o = json_loads(out, 0, &jerr);
    assert_non_null(o);
    assert_true(json_is_true(json_object_get(o, "truncated")));
    assert_int_equal(json_object_size(o), 31);
    json_decref(o);
    free(s);

    /* the extra field */
    x = begin();
    notif_head(x, "error_report", "major", 1, 0);
    ei_x_encode_empty_list(x);
    assert_int_equal(head(&h, why, sizeof why), 0);
    assert_int_equal(leaf_notify_build_fields(lf.rx.buff, h.fields_index, "suppressed", 7, out,
                                              sizeof out, &bad), 0);
    assert_string_equal(out, "{\"suppressed\":7}");
}

/* ---- the token bucket ---------------------------------------------------------------------- */

static void test_bucket(void **state)
{
    (void)state;
    leaf_notify_bucket_t b = {0};
    for (int k = 0; k < 5; k++)
        assert_int_equal(leaf_notify_bucket_take(&b, 2.0, 5.0, 1000), 1);
    assert_int_equal(leaf_notify_bucket_take(&b, 2.0, 5.0, 1000), 0);
    assert_int_equal(leaf_notify_bucket_take(&b, 2.0, 5.0, 1400), 0);   /* 0.8 token */
    assert_int_equal(leaf_notify_bucket_take(&b, 2.0, 5.0, 1500), 1);   /* 1.0 */
    assert_int_equal(leaf_notify_bucket_take(&b, 2.0, 5.0, 1500), 0);
    assert_int_equal(leaf_notify_bucket_take(&b, 2.0, 5.0, 100000), 1); /* refilled to 5, no more */
    for (int k = 0; k < 4; k++)
        assert_int_equal(leaf_notify_bucket_take(&b, 2.0, 5.0, 100000), 1);
    assert_int_equal(leaf_notify_bucket_take(&b, 2.0, 5.0, 100000), 0);
    assert_int_equal(leaf_notify_bucket_take(&b, 2.0, 5.0, 99000), 0);  /* time going back: no refill */
}

/* ---- the leaf's path: rate limits, counters, filtering --------------------------------------- */

static void push_error(leaf_node_t *n, const char *text)
{
    ei_x_buff *x = begin();
    notif_head(x, "error_report", "major", wr_wall_ms(), 1);
    kv_bin(x, "text", text, strlen(text));
    ei_x_encode_empty_list(x);
    leaf_notify_on_reg_send(&lf, n, "warren_leaf");
}

static void test_rate_limit(void **state)
{
    (void)state;
    leaf_notify_stats_t st;
    for (int k = 0; k < 10; k++)
        push_error(&nodes[0], "e");
    assert_int_equal(rec.pushes, 3);               /* burst 3 */
    assert_string_equal(rec.last.notif.node, "n0@h");
    assert_string_equal(rec.last.notif.type, "error_report");
    assert_string_equal(rec.last.notif.leaf, "leaf-t");
    assert_int_equal(rec.last.kind, WR_MSG_NOTIF);
    assert_int_equal(rec.last.notif.severity, WR_SEV_MAJOR);
    assert_string_equal(rec.last.notif.fields, "{\"text\":\"e\"}");
    leaf_notify_stats(&lf, &st);
    assert_int_equal(st.received[LEAF_NT_ERROR_REPORT], 10);
    assert_int_equal(st.sent[LEAF_NT_ERROR_REPORT], 3);
    assert_int_equal(st.dropped[LEAF_NT_ERROR_REPORT], 7);

    /* the WARN line: at most once a minute, only when something new was dropped */
    ev_invoke(lf.loop, &lf.notify->tick, EV_PERIODIC);
    assert_int_equal(lf.notify->warned_dropped, 0);            /* a minute has not passed */
    lf.notify->last_warn -= 61000;
    ev_invoke(lf.loop, &lf.notify->tick, EV_PERIODIC);
    assert_int_equal(lf.notify->warned_dropped, 7);
    int64_t warned_at = lf.notify->last_warn;
    lf.notify->last_warn -= 61000;
    ev_invoke(lf.loop, &lf.notify->tick, EV_PERIODIC);            /* nothing new: no line */
    assert_int_equal(lf.notify->last_warn, warned_at - 61000);

    /* per node and per type: another node, another type still pass */
    push_error(&nodes[1], "other node");
    assert_int_equal(rec.pushes, 4);
    ei_x_buff *x = begin();
    notif_head(x, "code_loaded", "indeterminate", wr_wall_ms(), 0);
    ei_x_encode_empty_list(x);
    leaf_notify_on_reg_send(&lf, &nodes[0], "warren_leaf");
    assert_int_equal(rec.pushes, 5);
    assert_string_equal(rec.last.notif.type, "code_loaded");

    /* time passes: the next one carries the count of what was suppressed */
    lf.notify->nodes[0].bucket[LEAF_NT_ERROR_REPORT].last_ms -= 2000;
    push_error(&nodes[0], "later");
    assert_int_equal(rec.pushes, 6);
    assert_string_equal(rec.last.notif.fields, "{\"text\":\"later\",\"suppressed\":7}");

    /* a node clock far off: the leaf's time */
    x = begin();
    notif_head(x, "code_purged", "indeterminate", 1, 0);
    ei_x_encode_empty_list(x);
    int64_t before = wr_wall_ms();
    leaf_notify_on_reg_send(&lf, &nodes[0], "warren_leaf");
    assert_true(rec.last.notif.at_ms >= before);

    /* system monitor events: filtered while off, counted */
    x = begin();
    notif_head(x, "busy_dist_port", "warning", wr_wall_ms(), 0);
    ei_x_encode_empty_list(x);
    leaf_notify_on_reg_send(&lf, &nodes[0], "warren_leaf");
    leaf_notify_stats(&lf, &st);
    assert_int_equal(st.filtered, 1);
    assert_int_equal(rec.pushes, 7);
    lf.cfg.notify_sysmon = 1;
    leaf_notify_on_reg_send(&lf, &nodes[0], "warren_leaf");
    assert_int_equal(rec.pushes, 8);
    assert_string_equal(rec.last.notif.type, "busy_dist_port");

    /* rejected: malformed, and sent to another name */
    x = begin();
    ei_x_encode_atom(x, "garbage");
    leaf_notify_on_reg_send(&lf, &nodes[0], "warren_leaf");
    push_error(&nodes[0], "x");
    lf.notify->nodes[0].bucket[LEAF_NT_ERROR_REPORT].last_ms -= 10000;
    push_error(&nodes[0], "y");
    int before_pushes = rec.pushes;
    leaf_notify_on_reg_send(&lf, &nodes[0], "someone_else");
    assert_int_equal(rec.pushes, before_pushes);
    leaf_notify_stats(&lf, &st);
    assert_int_equal(st.rejected, 2);

    /* the source's drop report */
    x = begin();
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, "warren_notif_dropped");
    ei_x_encode_long(x, 900);
    leaf_notify_on_reg_send(&lf, &nodes[0], "warren_leaf");
    leaf_notify_stats(&lf, &st);
    assert_int_equal(st.dropped_source, 900);

    /* a refused push is counted, not retried here */
    rec.push_rc = WR_ESTORE;
    lf.notify->nodes[1].bucket[LEAF_NT_ERROR_REPORT].last_ms -= 10000;
    push_error(&nodes[1], "refused");
    leaf_notify_stats(&lf, &st);
    assert_int_equal(st.push_failed, 1);
}

/* ---- observed by the leaf: up, down, restarted ------------------------------------------------ */

/* Answers the recorded call `fun` (arg) with an integer or {Int, 0}. */
static int answer(leaf_node_t *n, const char *fun, const char *arg, long long v)
{
    for (int k = 0; k < rec.sends && k < 8; k++) {
        if (strcmp(rec.funs[k], fun) != 0)
            continue;
        (void)arg;
        ei_x_buff *x = begin();
        ei_x_encode_tuple_header(x, 2);
        ei_x_encode_ref(x, &rec.refs[k]);
        if (strcmp(fun, "statistics") == 0) {
            ei_x_encode_tuple_header(x, 2);
            ei_x_encode_longlong(x, v);
            ei_x_encode_long(x, 0);
        } else if (strcmp(fun, "subscribe") == 0) {
            ei_x_encode_tuple_header(x, 2);
            ei_x_encode_atom(x, v ? "ok" : "badrpc");
            ei_x_encode_atom(x, "x");
        } else {
            ei_x_encode_longlong(x, v);
        }
        return leaf_notify_on_reply(&lf, n);
    }
    fail_msg("no %s call recorded", fun);
    return 0;
}

static void up_with(leaf_node_t *n, long long creation, long long uptime)
{
    rec.sends = 0;
    n->state = WR_NODE_UP;
    leaf_notify_node_up(&lf, n);
    assert_int_equal(rec.sends, 2);
    assert_int_equal(answer(n, "system_info", "creation", creation), 1);
    assert_int_equal(answer(n, "statistics", "wall_clock", uptime), 1);
}

static void down(leaf_node_t *n)
{
    leaf_notify_node_lost(&lf, n, "connection closed");
    n->state = WR_NODE_DOWN;
}

static void test_up_down_restart(void **state)
{
    (void)state;
    leaf_node_t *n = &nodes[0];
    up_with(n, 111, 50000);
    assert_int_equal(rec.pushes, 1);
    assert_string_equal(rec.types[0], "node_up");
    assert_string_equal(rec.last.notif.fields, "{}");

    down(n);
    assert_int_equal(rec.pushes, 2);
    assert_string_equal(rec.last.notif.type, "node_down");
    assert_int_equal(rec.last.notif.severity, WR_SEV_MAJOR);
    assert_string_equal(rec.last.notif.fields, "{\"reason\":\"connection closed\"}");
    down(n);                                        /* already down: nothing */
    assert_int_equal(rec.pushes, 2);

    /* same node back (same creation, uptime grew): node_up only */
    up_with(n, 111, 60000);
    assert_int_equal(rec.pushes, 3);
    assert_string_equal(rec.last.notif.type, "node_up");

    /* new creation: node_restarted */
    down(n);
    up_with(n, 222, 70000);
    assert_int_equal(rec.pushes, 6);
    assert_string_equal(rec.types[4], "node_up");
    assert_string_equal(rec.last.notif.type, "node_restarted");
    assert_int_equal(rec.last.notif.severity, WR_SEV_WARNING);
    assert_non_null(strstr(rec.last.notif.fields, "\"creation\":222"));
    assert_non_null(strstr(rec.last.notif.fields, "\"previous_creation\":111"));
    assert_non_null(strstr(rec.last.notif.fields, "\"by\":\"creation\""));

    /* same creation but a lower uptime: node_restarted by uptime */
    down(n);
    up_with(n, 222, 1000);                          /* the 4th node_up: over burst 3, dropped */
    leaf_notify_stats_t st;
    leaf_notify_stats(&lf, &st);
    assert_int_equal(st.dropped[LEAF_NT_NODE_UP], 1);
    assert_string_equal(rec.last.notif.type, "node_restarted");
    assert_non_null(strstr(rec.last.notif.fields, "\"by\":\"uptime\""));

    /* replies that are not ours are left to the poll */
    ei_x_buff *x = begin();
    erlang_ref other;
    assert_true(ei_make_ref(&lf.ec, &other) == 0);
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_ref(x, &other);
    ei_x_encode_long(x, 1);
    assert_int_equal(leaf_notify_on_reply(&lf, n), 0);
}

static void test_subscribe(void **state)
{
    (void)state;
    leaf_node_t *n = &nodes[0];
    leaf_notify_stats_t st;
    lf.cfg.agent = 1;
    static unsigned char beam[4];
    lf.cfg.agent_beam = beam;
    nodes[1].state = WR_NODE_DOWN;                  /* only n0 is due */
    n->state = WR_NODE_UP;
    leaf_notify_node_up(&lf, n);
    lf.notify->nodes[0].sub_next = 0;               /* due now */
    rec.sends = 0;
    ev_invoke(lf.loop, &lf.notify->tick, EV_PERIODIC);
    assert_int_equal(rec.sends, 1);
    assert_string_equal(rec.funs[0], "subscribe");
    assert_string_equal(rec.arg, "warren_leaf_t@h");
    assert_int_equal(answer(n, "subscribe", NULL, 0), 1);     /* badrpc: retried later */
    leaf_notify_stats(&lf, &st);
    assert_int_equal(st.subscribe_failures, 1);
    assert_int_equal(lf.notify->nodes[0].subscribed, 0);
    lf.notify->nodes[0].sub_next = 0;
    rec.sends = 0;
    ev_invoke(lf.loop, &lf.notify->tick, EV_PERIODIC);
    assert_int_equal(answer(n, "subscribe", NULL, 1), 1);     /* {ok, Pid} */
    leaf_notify_stats(&lf, &st);
    assert_int_equal(st.subscribes, 1);
    assert_int_equal(lf.notify->nodes[0].subscribed, 1);
    rec.sends = 0;
    ev_invoke(lf.loop, &lf.notify->tick, EV_PERIODIC);           /* renewal not due yet */
    assert_int_equal(rec.sends, 0);
    lf.cfg.agent_beam = NULL;
}

int main(void)
{
    assert_int_equal(ei_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fields_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bucket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_up_down_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subscribe, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
