/* test_alarm: the alarm model and the active-alarm table: key and event validation, the
 * raise -> update -> clear lifecycle and what apply reports, stale events, counts by severity,
 * scope removal, suppression of a down node's other alarms, acknowledgement, the size cap,
 * and a table of many alarms staying consistent through random churn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "wr_alarm.h"
#include "wr_error.h"

static void ev_set(wr_alarm_event_t *ev, const char *scope, const char *type, const char *res,
                   int sev, const char *text, int64_t at)
{
    assert_int_equal(wr_alarm_event_set(ev, scope, type, res, sev, text, at, "leaf-1"), 0);
}

static int apply(wr_alarm_table_t *t, const wr_alarm_event_t *ev, wr_alarm_t *out)
{
    int change = -1;
    assert_int_equal(wr_alarm_table_apply(t, ev, &change, out), 0);
    return change;
}

static void test_severity_names(void **state)
{
    (void)state;
    for (int s = 0; s < WR_SEV_COUNT; s++) {
        int back = -1;
        assert_int_equal(wr_alarm_severity_parse(wr_alarm_severity_name(s), &back), 0);
        assert_int_equal(back, s);
    }
    int v = -1;
    assert_string_equal(wr_alarm_severity_name(WR_SEV_CRITICAL), "critical");
    assert_string_equal(wr_alarm_severity_name(99), "?");
    assert_int_equal(wr_alarm_severity_parse("clear", &v), 0);
    assert_int_equal(v, WR_SEV_CLEARED);
    assert_int_equal(wr_alarm_severity_parse("Major", &v), WR_EINVAL);
    assert_int_equal(wr_alarm_severity_parse(NULL, &v), WR_EINVAL);
    assert_true(WR_SEV_CRITICAL > WR_SEV_MAJOR && WR_SEV_MAJOR > WR_SEV_MINOR &&
                WR_SEV_MINOR > WR_SEV_WARNING && WR_SEV_WARNING > WR_SEV_INDETERMINATE);
    assert_string_equal(wr_alarm_change_name(WR_ALARM_CLEARED), "cleared");
}

static void test_key_and_event_caps(void **state)
{
    (void)state;
    wr_alarm_key_t k;
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(wr_alarm_key_set(&k, "n@h", "node_down", NULL), 0);
    assert_string_equal(k.resource, "");
    assert_int_equal(wr_alarm_key_set(&k, "", "node_down", NULL), WR_EINVAL);
    assert_int_equal(wr_alarm_key_set(&k, "n@h", NULL, NULL), WR_EINVAL);
    big[WR_ALARM_SCOPE_MAX] = '\0';       /* one byte too long (no room for the NUL) */
    assert_int_equal(wr_alarm_key_set(&k, big, "t", NULL), WR_ETOOBIG);
    big[WR_ALARM_SCOPE_MAX - 1] = '\0';   /* the longest that fits */
    assert_int_equal(wr_alarm_key_set(&k, big, "t", NULL), 0);
    assert_int_equal(strlen(k.scope), WR_ALARM_SCOPE_MAX - 1);
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(wr_alarm_key_set(&k, "s", "t", big), WR_ETOOBIG);

    /* a key from the wire without its NUL is refused */
    memset(&k, 'x', sizeof k);
    assert_int_equal(wr_alarm_key_check(&k), WR_EINVAL);

    wr_alarm_event_t ev;
    assert_int_equal(wr_alarm_event_set(&ev, "s", "t", "", 7, "", 0, "o"), WR_EINVAL);
    assert_int_equal(wr_alarm_event_set(&ev, "s", "t", "", WR_SEV_MINOR, "", 0, big), WR_ETOOBIG);
    /* long text is truncated, ends in "...", and never splits a UTF-8 character */
    char txt[WR_ALARM_TEXT_MAX + 50];
    size_t i = 0;
    while (i + 2 < sizeof txt - 1) {
        txt[i++] = (char)0xc3;
        txt[i++] = (char)0xa9;   /* é */
    }
    txt[i] = '\0';
    assert_int_equal(wr_alarm_event_set(&ev, "s", "t", "", WR_SEV_MINOR, txt, 0, "o"), 0);
    size_t len = strlen(ev.text);
    assert_true(len < WR_ALARM_TEXT_MAX);
    assert_string_equal(ev.text + len - 3, "...");
    assert_true(((len - 3) % 2) == 0);   /* whole two-byte characters only */
    assert_int_equal(wr_alarm_event_check(&ev), 0);
    ev.severity = -1;
    assert_int_equal(wr_alarm_event_check(&ev), WR_EINVAL);
}

static void test_lifecycle(void **state)
{
    (void)state;
    wr_alarm_table_t *t = wr_alarm_table_new(0);
    assert_non_null(t);
    wr_alarm_event_t ev;
    wr_alarm_t out;

    ev_set(&ev, "a@h", WR_ALARM_MESSAGE_QUEUE, "<0.7.0> my_server", WR_SEV_MINOR, "queue 6,000", 1000);
    assert_int_equal(apply(t, &ev, &out), WR_ALARM_NEW);
    assert_int_equal(out.count, 1);
    assert_int_equal(out.raised_ms, 1000);
    assert_int_equal(out.severity, WR_SEV_MINOR);

    /* the same again (a resend): no-op, count unchanged */
    ev.at_ms = 1500;
    assert_int_equal(apply(t, &ev, NULL), WR_ALARM_NOOP);
    assert_int_equal(wr_alarm_table_lookup(t, &ev.key)->count, 1);

    /* text change: update */
    ev_set(&ev, "a@h", WR_ALARM_MESSAGE_QUEUE, "<0.7.0> my_server", WR_SEV_MINOR, "queue 7,000", 2000);
    assert_int_equal(apply(t, &ev, &out), WR_ALARM_UPDATED);
    assert_int_equal(out.count, 2);
    assert_int_equal(out.changed_ms, 2000);
    assert_int_equal(out.raised_ms, 1000);

    /* escalate */
    ev_set(&ev, "a@h", WR_ALARM_MESSAGE_QUEUE, "<0.7.0> my_server", WR_SEV_MAJOR, "queue 25,000", 3000);
    assert_int_equal(apply(t, &ev, &out), WR_ALARM_UPDATED);
    assert_int_equal(out.severity, WR_SEV_MAJOR);
    assert_int_equal(out.count, 3);

    /* an older event (reordered) is stale and ignored */
    ev_set(&ev, "a@h", WR_ALARM_MESSAGE_QUEUE, "<0.7.0> my_server", WR_SEV_MINOR, "old", 2500);
    assert_int_equal(apply(t, &ev, NULL), WR_ALARM_STALE);
    assert_int_equal(wr_alarm_table_lookup(t, &ev.key)->severity, WR_SEV_MAJOR);

    /* a different resource is a different alarm */
    ev_set(&ev, "a@h", WR_ALARM_MESSAGE_QUEUE, "<0.8.0>", WR_SEV_MINOR, "q", 3000);
    assert_int_equal(apply(t, &ev, NULL), WR_ALARM_NEW);
    wr_alarm_counts_t c;
    wr_alarm_table_counts(t, &c);
    assert_int_equal(c.total, 2);
    assert_int_equal(c.by_severity[WR_SEV_MAJOR], 1);
    assert_int_equal(c.by_severity[WR_SEV_MINOR], 1);

    /* clear: out gets the final state; gone from the table; a second clear is a no-op */
    ev_set(&ev, "a@h", WR_ALARM_MESSAGE_QUEUE, "<0.7.0> my_server", WR_SEV_CLEARED, "", 4000);
    assert_int_equal(apply(t, &ev, &out), WR_ALARM_CLEARED);
    assert_int_equal(out.severity, WR_SEV_CLEARED);
    assert_int_equal(out.cleared_ms, 4000);
    assert_int_equal(out.raised_ms, 1000);
    assert_int_equal(out.count, 3);
    assert_null(wr_alarm_table_lookup(t, &ev.key));
    assert_int_equal(apply(t, &ev, NULL), WR_ALARM_NOOP);
    wr_alarm_table_counts(t, &c);
    assert_int_equal(c.total, 1);
    assert_int_equal(c.by_severity[WR_SEV_MAJOR], 0);

    /* malformed events are refused */
    int change;
    ev.severity = 42;
    assert_int_equal(wr_alarm_table_apply(t, &ev, &change, NULL), WR_EINVAL);
    wr_alarm_table_destroy(&t);
    assert_null(t);
    wr_alarm_table_destroy(&t);   /* idempotent */
}

static int collect(void *ud, const wr_alarm_t *a)
{
    char *buf = ud;
    strcat(buf, a->key.scope);
    strcat(buf, "/");
    strcat(buf, a->key.type);
    strcat(buf, " ");
    return 0;
}

static int stop_at_two(void *ud, const wr_alarm_t *a)
{
    (void)a;
    int *n = ud;
    return ++*n == 2 ? 1 : 0;
}

static void test_iterate_and_remove_scope(void **state)
{
    (void)state;
    wr_alarm_table_t *t = wr_alarm_table_new(0);
    wr_alarm_event_t ev;
    ev_set(&ev, "a@h", "t1", "", WR_SEV_MINOR, "", 1);
    apply(t, &ev, NULL);
    ev_set(&ev, "b@h", "t1", "", WR_SEV_MINOR, "", 2);
    apply(t, &ev, NULL);
    ev_set(&ev, "a@h", "t2", "", WR_SEV_MAJOR, "", 3);
    apply(t, &ev, NULL);
    ev_set(&ev, "a@h", "t3", "x", WR_SEV_WARNING, "", 4);
    apply(t, &ev, NULL);

    char buf[256] = "";
    assert_int_equal(wr_alarm_table_foreach(t, collect, buf), 0);
    assert_string_equal(buf, "a@h/t1 b@h/t1 a@h/t2 a@h/t3 ");   /* raise order */
    buf[0] = '\0';
    wr_alarm_table_foreach_scope(t, "a@h", collect, buf);
    assert_string_equal(buf, "a@h/t1 a@h/t2 a@h/t3 ");
    int n = 0;
    wr_alarm_table_foreach(t, stop_at_two, &n);
    assert_int_equal(n, 2);

    size_t removed = 0;
    buf[0] = '\0';
    assert_int_equal(wr_alarm_table_remove_scope(t, "a@h", collect, buf, &removed), 0);
    assert_int_equal(removed, 3);
    assert_string_equal(buf, "a@h/t1 a@h/t2 a@h/t3 ");
    wr_alarm_counts_t c;
    wr_alarm_table_counts(t, &c);
    assert_int_equal(c.total, 1);
    assert_int_equal(c.by_severity[WR_SEV_MAJOR], 0);
    buf[0] = '\0';
    wr_alarm_table_foreach(t, collect, buf);
    assert_string_equal(buf, "b@h/t1 ");
    assert_int_equal(wr_alarm_table_remove_scope(t, "nobody", NULL, NULL, &removed), 0);
    assert_int_equal(removed, 0);
    /* the scope is reusable after removal */
    ev_set(&ev, "a@h", "t1", "", WR_SEV_MINOR, "", 5);
    assert_int_equal(apply(t, &ev, NULL), WR_ALARM_NEW);
    wr_alarm_table_destroy(&t);
}

static int origin_is(void *ud, const wr_alarm_t *a)
{
    return strcmp(a->origin, ud) == 0;
}

static void test_remove_if(void **state)
{
    (void)state;
    wr_alarm_table_t *t = wr_alarm_table_new(0);
    wr_alarm_event_t ev;
    for (int i = 0; i < 10; i++) {
        char scope[32];
        snprintf(scope, sizeof scope, "n%d@h", i);
        assert_int_equal(wr_alarm_event_set(&ev, scope, "t", "", WR_SEV_MINOR, "", i,
                                            i % 2 ? "leaf-odd" : "leaf-even"), 0);
        apply(t, &ev, NULL);
    }
    size_t removed;
    wr_alarm_table_remove_if(t, origin_is, "leaf-odd", &removed);
    assert_int_equal(removed, 5);
    wr_alarm_counts_t c;
    wr_alarm_table_counts(t, &c);
    assert_int_equal(c.total, 5);
    wr_alarm_key_t k;
    wr_alarm_key_set(&k, "n3@h", "t", "");
    assert_null(wr_alarm_table_lookup(t, &k));
    wr_alarm_key_set(&k, "n4@h", "t", "");
    assert_non_null(wr_alarm_table_lookup(t, &k));
    wr_alarm_table_destroy(&t);
}

static void test_suppression(void **state)
{
    (void)state;
    wr_alarm_table_t *t = wr_alarm_table_new(0);
    wr_alarm_event_t ev;
    ev_set(&ev, "a@h", WR_ALARM_MESSAGE_QUEUE, "p", WR_SEV_MAJOR, "", 1);
    apply(t, &ev, NULL);
    ev_set(&ev, "b@h", WR_ALARM_MESSAGE_QUEUE, "p", WR_SEV_MAJOR, "", 1);
    apply(t, &ev, NULL);

    /* node a goes down: node_down raised, the node's other alarms suppressed */
    size_t changed = 99;
    assert_int_equal(wr_alarm_table_suppress_scope(t, "a@h", WR_ALARM_NODE_DOWN, &changed), 0);
    assert_int_equal(changed, 1);
    assert_true(wr_alarm_table_scope_suppressed(t, "a@h"));
    assert_false(wr_alarm_table_scope_suppressed(t, "b@h"));
    ev_set(&ev, "a@h", WR_ALARM_NODE_DOWN, "", WR_SEV_MAJOR, "down", 2);
    wr_alarm_t out;
    assert_int_equal(apply(t, &ev, &out), WR_ALARM_NEW);
    assert_int_equal(out.suppressed, 0);           /* the exempt type pages */
    ev_set(&ev, "a@h", WR_ALARM_OLD_CODE, "m", WR_SEV_MINOR, "", 2);
    assert_int_equal(apply(t, &ev, &out), WR_ALARM_NEW);
    assert_int_equal(out.suppressed, 1);           /* raised while down: suppressed */

    wr_alarm_counts_t c;
    wr_alarm_table_counts(t, &c);
    assert_int_equal(c.total, 4);
    assert_int_equal(c.suppressed, 2);
    assert_int_equal(c.paged_by_severity[WR_SEV_MAJOR], 2);   /* b's queue + a's node_down */
    assert_int_equal(c.paged_by_severity[WR_SEV_MINOR], 0);

    /* node a back: node_down cleared, unsuppress */
    ev_set(&ev, "a@h", WR_ALARM_NODE_DOWN, "", WR_SEV_CLEARED, "", 3);
    assert_int_equal(apply(t, &ev, NULL), WR_ALARM_CLEARED);
    assert_int_equal(wr_alarm_table_unsuppress_scope(t, "a@h", &changed), 0);
    assert_int_equal(changed, 2);
    assert_false(wr_alarm_table_scope_suppressed(t, "a@h"));
    wr_alarm_table_counts(t, &c);
    assert_int_equal(c.suppressed, 0);
    assert_int_equal(c.paged_by_severity[WR_SEV_MAJOR], 2);
    assert_int_equal(c.paged_by_severity[WR_SEV_MINOR], 1);
    /* suppressing a scope with no alarms then lifting it leaves nothing behind */
    assert_int_equal(wr_alarm_table_suppress_scope(t, "z@h", NULL, &changed), 0);
    assert_int_equal(changed, 0);
    ev_set(&ev, "z@h", WR_ALARM_NODE_DOWN, "", WR_SEV_MAJOR, "", 4);
    assert_int_equal(apply(t, &ev, &out), WR_ALARM_NEW);
    assert_int_equal(out.suppressed, 1);   /* no exempt type given: everything suppressed */
    wr_alarm_table_unsuppress_scope(t, "z@h", &changed);
    assert_int_equal(changed, 1);
    assert_int_equal(wr_alarm_table_suppress_scope(t, "", NULL, NULL), WR_EINVAL);
    wr_alarm_table_destroy(&t);
}

static void test_ack(void **state)
{
    (void)state;
    wr_alarm_table_t *t = wr_alarm_table_new(0);
    wr_alarm_event_t ev;
    ev_set(&ev, "a@h", WR_ALARM_ATOM_LIMIT, "", WR_SEV_MINOR, "72%", 1);
    apply(t, &ev, NULL);
    wr_alarm_key_t other;
    wr_alarm_key_set(&other, "a@h", WR_ALARM_ATOM_LIMIT, "x");
    assert_int_equal(wr_alarm_table_ack(t, &other, "alice", 5), WR_ENOTFOUND);
    assert_int_equal(wr_alarm_table_ack(t, &ev.key, "alice", 5), 0);
    const wr_alarm_t *a = wr_alarm_table_lookup(t, &ev.key);
    assert_int_equal(a->acked, 1);
    assert_string_equal(a->acked_by, "alice");
    assert_int_equal(a->acked_ms, 5);
    wr_alarm_counts_t c;
    wr_alarm_table_counts(t, &c);
    assert_int_equal(c.acked, 1);
    assert_int_equal(c.paged_by_severity[WR_SEV_MINOR], 0);

    /* a text change keeps the acknowledgement; an escalation withdraws it */
    ev_set(&ev, "a@h", WR_ALARM_ATOM_LIMIT, "", WR_SEV_MINOR, "74%", 6);
    assert_int_equal(apply(t, &ev, NULL), WR_ALARM_UPDATED);
    assert_int_equal(wr_alarm_table_lookup(t, &ev.key)->acked, 1);
    ev_set(&ev, "a@h", WR_ALARM_ATOM_LIMIT, "", WR_SEV_MAJOR, "86%", 7);
    assert_int_equal(apply(t, &ev, NULL), WR_ALARM_UPDATED);
    a = wr_alarm_table_lookup(t, &ev.key);
    assert_int_equal(a->acked, 0);
    assert_string_equal(a->acked_by, "");
    wr_alarm_table_counts(t, &c);
    assert_int_equal(c.acked, 0);
    assert_int_equal(c.paged_by_severity[WR_SEV_MAJOR], 1);
    wr_alarm_table_destroy(&t);
}

static void test_cap(void **state)
{
    (void)state;
    wr_alarm_table_t *t = wr_alarm_table_new(3);
    wr_alarm_event_t ev;
    int change;
    for (int i = 0; i < 5; i++) {
        char res[16];
        snprintf(res, sizeof res, "r%d", i);
        ev_set(&ev, "a@h", "t", res, WR_SEV_MINOR, "", i);
        int rc = wr_alarm_table_apply(t, &ev, &change, NULL);
        assert_int_equal(rc, i < 3 ? 0 : WR_EFULL);
    }
    assert_int_equal(wr_alarm_table_rejected(t), 2);
    /* updates and clears still work when full */
    ev_set(&ev, "a@h", "t", "r0", WR_SEV_MAJOR, "", 10);
    assert_int_equal(wr_alarm_table_apply(t, &ev, &change, NULL), 0);
    assert_int_equal(change, WR_ALARM_UPDATED);
    ev_set(&ev, "a@h", "t", "r0", WR_SEV_CLEARED, "", 11);
    assert_int_equal(wr_alarm_table_apply(t, &ev, &change, NULL), 0);
    ev_set(&ev, "a@h", "t", "r9", WR_SEV_MINOR, "", 12);
    assert_int_equal(wr_alarm_table_apply(t, &ev, &change, NULL), 0);
    assert_int_equal(change, WR_ALARM_NEW);
    wr_alarm_table_destroy(&t);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int count_visit(void *ud, const wr_alarm_t *a)
{
    size_t *by = ud;
    by[a->severity]++;
    by[WR_SEV_COUNT]++;
    return 0;
}

/* Events of one key out of order (resends after a failover): a clear before its raise is a
 * no-op but remembered, so the raise that arrives after it is LATE (history, never active) and
 * a later raise is NEW. */
static void test_out_of_order(void **state)
{
    (void)state;
    wr_alarm_table_t *t = wr_alarm_table_new(0);
    wr_alarm_event_t ev;
    wr_alarm_t out;
    ev_set(&ev, "a@h", "message_queue", "<0.77.0>", WR_SEV_CLEARED, "back below", 2000);
    assert_int_equal(apply(t, &ev, &out), WR_ALARM_NOOP);
    ev_set(&ev, "a@h", "message_queue", "<0.77.0>", WR_SEV_MAJOR, "queue 22,000", 1000);
    assert_int_equal(apply(t, &ev, &out), WR_ALARM_LATE);
    assert_int_equal(out.severity, WR_SEV_MAJOR);
    assert_int_equal(out.raised_ms, 1000);
    assert_int_equal(out.cleared_ms, 2000);
    assert_null(wr_alarm_table_lookup(t, &ev.key));                /* not active */
    wr_alarm_counts_t cnt;
    wr_alarm_table_counts(t, &cnt);
    assert_int_equal(cnt.total, 0);
    ev_set(&ev, "a@h", "message_queue", "<0.77.0>", WR_SEV_MAJOR, "queue 22,000", 3000);
    assert_int_equal(apply(t, &ev, NULL), WR_ALARM_NEW);           /* a new flood */
    ev_set(&ev, "a@h", "message_queue", "<0.77.0>", WR_SEV_CLEARED, "", 4000);
    assert_int_equal(apply(t, &ev, NULL), WR_ALARM_CLEARED);
    ev_set(&ev, "a@h", "message_queue", "<0.77.0>", WR_SEV_MINOR, "an old update", 3500);
    assert_int_equal(apply(t, &ev, NULL), WR_ALARM_LATE);          /* older than that clear */
    assert_null(wr_alarm_table_lookup(t, &ev.key));
    wr_alarm_table_destroy(&t);
}

/* Random churn over many keys against a shadow array: the table (grown several times) must
 * agree with the shadow on every key, and its incremental counts with a full walk. */
static void test_churn(void **state)
{
    (void)state;
    enum { NK = 3000 };
    static int shadow[NK];
    memset(shadow, 0, sizeof shadow);
    wr_alarm_table_t *t = wr_alarm_table_new(0);
    wr_alarm_event_t ev;
    for (int step = 0; step < 40000; step++) {
        int k = (int)(next_rand() % NK);
        int sev = (int)(next_rand() % WR_SEV_COUNT);
        char scope[32], res[16];
        snprintf(scope, sizeof scope, "n%d@host", k % 300);
        snprintf(res, sizeof res, "r%d", k / 300);
        ev_set(&ev, scope, "t", res, sev, "", step);
        int change = apply(t, &ev, NULL);
        int expect = sev == WR_SEV_CLEARED ? (shadow[k] ? WR_ALARM_CLEARED : WR_ALARM_NOOP)
                     : !shadow[k] ? WR_ALARM_NEW
                     : shadow[k] == sev ? WR_ALARM_NOOP : WR_ALARM_UPDATED;
        assert_int_equal(change, expect);
        shadow[k] = sev;
        if (step % 5000 == 0)
            wr_alarm_table_suppress_scope(t, scope, NULL, NULL);
        if (step % 7000 == 0)
            wr_alarm_table_unsuppress_scope(t, scope, NULL);
    }
    size_t expect[WR_SEV_COUNT + 1] = {0}, walked[WR_SEV_COUNT + 1] = {0};
    for (int k = 0; k < NK; k++)
        if (shadow[k]) {
            expect[shadow[k]]++;
            expect[WR_SEV_COUNT]++;
            char scope[32], res[16];
            snprintf(scope, sizeof scope, "n%d@host", k % 300);
            snprintf(res, sizeof res, "r%d", k / 300);
            wr_alarm_key_t key;
            wr_alarm_key_set(&key, scope, "t", res);
            const wr_alarm_t *a = wr_alarm_table_lookup(t, &key);
            assert_non_null(a);
            assert_int_equal(a->severity, shadow[k]);
        }
    wr_alarm_table_foreach(t, count_visit, walked);
    wr_alarm_counts_t c;
    wr_alarm_table_counts(t, &c);
    assert_int_equal(c.total, expect[WR_SEV_COUNT]);
    assert_int_equal(walked[WR_SEV_COUNT], expect[WR_SEV_COUNT]);
    for (int s = 1; s < WR_SEV_COUNT; s++) {
        assert_int_equal(c.by_severity[s], expect[s]);
        assert_int_equal(walked[s], expect[s]);
    }
    wr_alarm_table_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_severity_names),
        cmocka_unit_test(test_key_and_event_caps),
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_iterate_and_remove_scope),
        cmocka_unit_test(test_remove_if),
        cmocka_unit_test(test_suppression),
        cmocka_unit_test(test_ack),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_churn),
        cmocka_unit_test(test_out_of_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
