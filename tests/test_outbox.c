/* test_outbox: the at-least-once sender side over a real LMDB environment in a temporary
 * directory: append / iterate / cumulative ACK, persistence across a reopen (a new, greater
 * epoch; the old epoch's unacked events kept with their original identity and resent first),
 * the count, bytes and age bounds with the persisted drop counter, oversize events, and a full
 * LMDB map that must not cost a single unacknowledged event; the config keys of the bounds
 * (leaf.outbox / relay.outbox: defaults, values, errors naming the key). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "wr_config.h"
#include "wr_error.h"
#include "wr_outbox.h"
#include "wr_store.h"
#include "wr_time.h"
#include "test_tmpdir.h"

static char g_root[64];
static const char *const g_dbs[] = {"samples", "outbox", "meta", NULL};

TU_TMPDIR_FIXTURE(setup_root, remove_root, g_root, "test_outbox")

static wr_store_t *open_store(const char *sub, uint64_t map_size)
{
    return tu_store_open(g_root, sub, map_size, g_dbs);
}

static wr_outbox_t *open_outbox(wr_store_t *st, const wr_outbox_limits_t *lim)
{
    char err[256] = "";
    wr_outbox_t *ob = wr_outbox_open(st, "outbox", lim, err, sizeof err);
    if (!ob)
        fail_msg("outbox: %s", err);
    return ob;
}

typedef struct {
    uint64_t epoch[256], seq[256];
    int64_t  at[256];
    char     data[256][32];
    int      n;
    int      stop_after;
} seen_t;

static int collect(void *ud, uint64_t epoch, uint64_t seq, int64_t at_ms, const void *data, size_t len)
{
    seen_t *s = ud;
    assert_true(s->n < 256);
    s->epoch[s->n] = epoch;
    s->seq[s->n] = seq;
    s->at[s->n] = at_ms;
    assert_true(len < 32);
    memcpy(s->data[s->n], data, len);
    s->data[s->n][len] = '\0';
    s->n++;
    return s->stop_after && s->n == s->stop_after ? 1 : 0;
}

static void append_str(wr_outbox_t *ob, const char *s, int64_t at, uint64_t *epoch, uint64_t *seq)
{
    assert_int_equal(wr_outbox_append(ob, s, strlen(s), at, epoch, seq), 0);
}

static void test_append_ack_iterate(void **state)
{
    (void)state;
    wr_store_t *st = open_store("basic", 1 << 22);
    wr_outbox_t *ob = open_outbox(st, NULL);
    int64_t before = wr_wall_ms();
    wr_outbox_stats_t s;
    assert_int_equal(wr_outbox_stats(ob, &s), 0);
    assert_true(s.epoch >= (uint64_t)before * 1000 - 1000000);   /* wall-clock microseconds */
    assert_int_equal(s.next_seq, 1);
    assert_int_equal(s.pending, 0);
    assert_int_equal(s.oldest_ms, 0);
    uint64_t e = 0, q = 0;
    char buf[16];
    for (int i = 1; i <= 5; i++) {
        snprintf(buf, sizeof buf, "ev%d", i);
        append_str(ob, buf, 1000 + i, &e, &q);
        assert_int_equal(q, i);
        assert_int_equal(e, s.epoch);
    }
    assert_int_equal(wr_outbox_stats(ob, &s), 0);
    assert_int_equal(s.pending, 5);
    assert_int_equal(s.pending_bytes, 15);
    assert_int_equal(s.oldest_ms, 1001);
    seen_t v = {0};
    assert_int_equal(wr_outbox_foreach(ob, 0, 0, collect, &v), 0);
    assert_int_equal(v.n, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(v.seq[i], i + 1);
        assert_int_equal(v.at[i], 1001 + i);
        snprintf(buf, sizeof buf, "ev%d", i + 1);
        assert_string_equal(v.data[i], buf);
    }
    /* cumulative ACK; repeated ACK is harmless; ACK of another epoch touches nothing */
    uint64_t acked = 99;
    assert_int_equal(wr_outbox_ack(ob, e, 3, &acked), 0);
    assert_int_equal(acked, 3);
    assert_int_equal(wr_outbox_ack(ob, e, 3, &acked), 0);
    assert_int_equal(acked, 0);
    assert_int_equal(wr_outbox_ack(ob, e + 1, 100, &acked), 0);
    assert_int_equal(acked, 0);
    assert_int_equal(wr_outbox_ack(ob, e - 1, UINT64_MAX, &acked), 0);
    assert_int_equal(acked, 0);
    memset(&v, 0, sizeof v);
    wr_outbox_foreach(ob, 0, 0, collect, &v);
    assert_int_equal(v.n, 2);
    assert_int_equal(v.seq[0], 4);
    /* iterate after a point, and stop early */
    memset(&v, 0, sizeof v);
    wr_outbox_foreach(ob, e, 4, collect, &v);
    assert_int_equal(v.n, 1);
    assert_int_equal(v.seq[0], 5);
    memset(&v, 0, sizeof v);
    v.stop_after = 1;
    assert_int_equal(wr_outbox_foreach(ob, 0, 0, collect, &v), 0);
    assert_int_equal(v.n, 1);
    assert_int_equal(wr_outbox_stats(ob, &s), 0);
    assert_int_equal(s.pending, 2);
    assert_int_equal(s.pending_bytes, 6);
    assert_int_equal(s.oldest_ms, 1004);
    /* bad input */
    assert_int_equal(wr_outbox_append(ob, "", 0, 1, NULL, NULL), WR_EINVAL);
    char err[256] = "";
    assert_null(wr_outbox_open(st, "nosuchdb", NULL, err, sizeof err));
    assert_non_null(strstr(err, "nosuchdb"));
    wr_outbox_destroy(&ob);
    assert_null(ob);
    wr_store_destroy(&st);
}

static void test_restart_epochs(void **state)
{
    (void)state;
    wr_store_t *st = open_store("restart", 1 << 22);
    wr_outbox_t *ob = open_outbox(st, NULL);
    uint64_t e1, e2, q;
    append_str(ob, "a1", 1, &e1, &q);
    append_str(ob, "a2", 2, &e1, &q);
    append_str(ob, "a3", 3, &e1, &q);
    assert_int_equal(wr_outbox_ack(ob, e1, 1, NULL), 0);
    wr_outbox_destroy(&ob);
    wr_store_destroy(&st);   /* the process "restarts" */

    st = open_store("restart", 1 << 22);
    ob = open_outbox(st, NULL);
    wr_outbox_stats_t s;
    wr_outbox_stats(ob, &s);
    assert_true(s.epoch > e1);
    assert_int_equal(s.next_seq, 1);
    assert_int_equal(s.pending, 2);
    append_str(ob, "b1", 4, &e2, &q);
    assert_int_equal(e2, s.epoch);
    assert_int_equal(q, 1);
    /* resend order: the old epoch's unacked events first, with their original identity */
    seen_t v = {0};
    wr_outbox_foreach(ob, 0, 0, collect, &v);
    assert_int_equal(v.n, 3);
    assert_true(v.epoch[0] == e1 && v.seq[0] == 2 && strcmp(v.data[0], "a2") == 0);
    assert_true(v.epoch[1] == e1 && v.seq[1] == 3 && strcmp(v.data[1], "a3") == 0);
    assert_true(v.epoch[2] == e2 && v.seq[2] == 1 && strcmp(v.data[2], "b1") == 0);
    /* acking the new epoch leaves the old one; acking the old one empties it */
    uint64_t acked;
    wr_outbox_ack(ob, e2, 1, &acked);
    assert_int_equal(acked, 1);
    wr_outbox_stats(ob, &s);
    assert_int_equal(s.pending, 2);
    wr_outbox_ack(ob, e1, UINT64_MAX, &acked);
    assert_int_equal(acked, 2);
    wr_outbox_destroy(&ob);
    /* a third open: the epoch grows again */
    ob = open_outbox(st, NULL);
    wr_outbox_stats_t s3;
    wr_outbox_stats(ob, &s3);
    assert_true(s3.epoch > e2);
    assert_int_equal(s3.pending, 0);
    wr_outbox_destroy(&ob);
    wr_store_destroy(&st);
}

static void test_bounds_counted(void **state)
{
    (void)state;
    wr_store_t *st = open_store("bounds", 1 << 22);
    wr_outbox_limits_t lim = {.max_count = 10, .max_bytes = 1000, .max_age_ms = 1000000};
    wr_outbox_t *ob = open_outbox(st, &lim);
    uint64_t e, q;
    char buf[16];
    for (int i = 1; i <= 15; i++) {
        snprintf(buf, sizeof buf, "c%02d", i);
        append_str(ob, buf, i, &e, &q);
    }
    wr_outbox_stats_t s;
    wr_outbox_stats(ob, &s);
    assert_int_equal(s.pending, 10);
    assert_int_equal(s.dropped, 5);
    assert_int_equal(s.dropped_bytes, 15);
    seen_t v = {0};
    wr_outbox_foreach(ob, 0, 0, collect, &v);
    assert_int_equal(v.n, 10);
    assert_int_equal(v.seq[0], 6);          /* the oldest went first */
    assert_int_equal(v.seq[9], 15);
    wr_outbox_destroy(&ob);
    wr_store_destroy(&st);

    /* the drop counter survives a restart; bytes bound; oversize events are counted */
    st = open_store("bounds", 1 << 22);
    lim.max_count = 1000;
    lim.max_bytes = 100;
    ob = open_outbox(st, &lim);
    wr_outbox_stats(ob, &s);
    assert_int_equal(s.dropped, 5);
    assert_int_equal(s.pending, 10);
    assert_int_equal(s.pending_bytes, 30);
    char big[41];
    memset(big, 'x', 40);
    big[40] = '\0';
    append_str(ob, big, 100, &e, &q);       /* 30 + 40 = 70 <= 100 */
    append_str(ob, big, 101, &e, &q);       /* 70 + 40 > 100: the 4 oldest 3-byte events go */
    wr_outbox_stats(ob, &s);
    assert_int_equal(s.pending, 8);
    assert_int_equal(s.pending_bytes, 98);
    assert_int_equal(s.dropped, 9);
    assert_int_equal(s.dropped_bytes, 27);
    char huge[101];
    memset(huge, 'y', sizeof huge);
    assert_int_equal(wr_outbox_append(ob, huge, sizeof huge, 102, &e, &q), WR_ETOOBIG);
    wr_outbox_stats(ob, &s);
    assert_int_equal(s.dropped, 10);
    assert_int_equal(s.pending, 8);
    wr_outbox_destroy(&ob);
    ob = open_outbox(st, &lim);
    wr_outbox_stats(ob, &s);
    assert_int_equal(s.dropped, 10);
    assert_int_equal(s.dropped_bytes, 27 + 101);
    assert_int_equal(s.pending, 8);
    wr_outbox_destroy(&ob);
    wr_store_destroy(&st);
}

static void test_age(void **state)
{
    (void)state;
    wr_store_t *st = open_store("age", 1 << 22);
    wr_outbox_limits_t lim = {.max_age_ms = 1000};
    wr_outbox_t *ob = open_outbox(st, &lim);
    uint64_t e, q, dropped;
    append_str(ob, "t0", 0, &e, &q);
    append_str(ob, "t500", 500, &e, &q);
    append_str(ob, "t900", 900, &e, &q);
    append_str(ob, "t1600", 1600, &e, &q);   /* 0 and 500 are now over 1 s old */
    wr_outbox_stats_t s;
    wr_outbox_stats(ob, &s);
    assert_int_equal(s.pending, 2);
    assert_int_equal(s.dropped, 2);
    assert_int_equal(s.oldest_ms, 900);
    assert_int_equal(wr_outbox_expire(ob, 1800, &dropped), 0);
    assert_int_equal(dropped, 0);            /* at 1800, the event of 900 is 900 ms old: kept */
    assert_int_equal(wr_outbox_expire(ob, 1901, &dropped), 0);
    assert_int_equal(dropped, 1);
    assert_int_equal(wr_outbox_expire(ob, 10000, &dropped), 0);
    assert_int_equal(dropped, 1);
    wr_outbox_stats(ob, &s);
    assert_int_equal(s.pending, 0);
    assert_int_equal(s.dropped, 4);
    wr_outbox_destroy(&ob);
    wr_store_destroy(&st);
}

static int count_fn(void *ud, uint64_t epoch, uint64_t seq, int64_t at_ms, const void *data, size_t len)
{
    (void)epoch;
    (void)seq;
    (void)at_ms;
    (void)data;
    (void)len;
    ++*(uint64_t *)ud;
    return 0;
}

static void test_map_full_loses_nothing(void **state)
{
    (void)state;
    wr_store_t *st = open_store("full", 256 * 1024);
    wr_outbox_t *ob = open_outbox(st, NULL);
    static char ev[6000];
    memset(ev, 'z', sizeof ev);
    uint64_t e = 0, q = 0;
    int rc = 0, ok = 0;
    for (int i = 0; i < 1000 && rc == 0; i++) {
        rc = wr_outbox_append(ob, ev, sizeof ev, i, &e, &q);
        if (rc == 0)
            ok++;
    }
    assert_int_equal(rc, WR_EFULL);
    assert_true(ok > 5);
    wr_outbox_stats_t s;
    wr_outbox_stats(ob, &s);
    assert_int_equal(s.dropped, 0);                 /* nothing was sacrificed */
    assert_int_equal(s.pending, (uint64_t)ok);
    assert_int_equal(s.next_seq, (uint64_t)ok + 1); /* the failed append used no seq */
    uint64_t n = 0;
    wr_outbox_foreach(ob, 0, 0, count_fn, &n);
    assert_int_equal(n, (uint64_t)ok);
    /* once the parent ACKs, there is room again (LMDB reuses the pages freed by a
     * transaction from the one after next: two ACKs) */
    uint64_t acked, half = (uint64_t)ok / 2;
    assert_int_equal(wr_outbox_ack(ob, e, half, &acked), 0);
    assert_int_equal(acked, half);
    assert_int_equal(wr_outbox_ack(ob, e, (uint64_t)ok, &acked), 0);
    assert_int_equal(acked, (uint64_t)ok - half);
    assert_int_equal(wr_outbox_append(ob, ev, sizeof ev, 2000, &e, &q), 0);
    assert_int_equal(q, (uint64_t)ok + 1);
    wr_outbox_destroy(&ob);
    wr_store_destroy(&st);
}

/* Appends inside the caller's transaction: one commit for many, other records alongside;
 * an aborted transaction leaves nothing and its seqs are given again. */
static void test_append_txn(void **state)
{
    (void)state;
    wr_store_t *st = open_store("txn", 1 << 22);
    wr_outbox_t *ob = open_outbox(st, NULL);
    int meta = wr_store_db(st, "meta");
    wr_txn_t *txn = NULL;
    uint64_t e = 0, q = 0;
    char buf[16];
    assert_int_equal(wr_store_begin(st, 1, &txn), 0);
    for (int i = 1; i <= 10; i++) {
        snprintf(buf, sizeof buf, "t%d", i);
        assert_int_equal(wr_outbox_append_txn(ob, txn, buf, strlen(buf), 2000 + i, &e, &q), 0);
        assert_int_equal(q, i);
    }
    assert_int_equal(wr_store_put(txn, meta, "k", 1, "v", 1), 0);   /* the caller's own record */
    assert_int_equal(wr_store_commit(&txn), 0);
    wr_outbox_txn_end(ob, 1);
    wr_outbox_stats_t s;
    assert_int_equal(wr_outbox_stats(ob, &s), 0);
    assert_int_equal(s.pending, 10);
    assert_int_equal(s.next_seq, 11);
    seen_t v = {0};
    assert_int_equal(wr_outbox_foreach(ob, 0, 0, collect, &v), 0);
    assert_int_equal(v.n, 10);
    assert_string_equal(v.data[9], "t10");
    /* aborted: nothing stored, counters and seqs rolled back */
    assert_int_equal(wr_store_begin(st, 1, &txn), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(wr_outbox_append_txn(ob, txn, "x", 1, 3000, &e, &q), 0);
    assert_int_equal(q, 13);
    wr_store_abort(&txn);
    wr_outbox_txn_end(ob, 0);
    assert_int_equal(wr_outbox_stats(ob, &s), 0);
    assert_int_equal(s.pending, 10);
    assert_int_equal(s.pending_bytes, 10 * 2 + 1);
    assert_int_equal(s.next_seq, 11);
    memset(&v, 0, sizeof v);
    wr_outbox_foreach(ob, 0, 0, collect, &v);
    assert_int_equal(v.n, 10);
    append_str(ob, "after", 4000, &e, &q);
    assert_int_equal(q, 11);
    /* a no-op without appends; bad input */
    wr_outbox_txn_end(ob, 1);
    assert_int_equal(wr_outbox_append_txn(ob, NULL, "x", 1, 1, NULL, NULL), WR_EINVAL);
    wr_outbox_destroy(&ob);
    /* what was committed survives a reopen */
    ob = open_outbox(st, NULL);
    assert_int_equal(wr_outbox_stats(ob, &s), 0);
    assert_int_equal(s.pending, 11);
    wr_outbox_destroy(&ob);
    wr_store_destroy(&st);
}

/* wr_outbox_limits_read: defaults, given values, and errors that name the key. */
static int read_limits(const char *text, int64_t map_mb, size_t n, wr_outbox_limits_t *lim)
{
    char err[256] = "";
    wr_config_t *cfg = wr_config_load_string(text, "test.conf", err, sizeof err);
    if (!cfg)
        fail_msg("config: %s", err);
    memset(lim, 0xff, sizeof *lim);
    int rc = wr_outbox_limits_read(cfg, "leaf.outbox", map_mb, n, lim);
    assert_int_equal(rc == 0, wr_config_error_count(cfg) == 0);
    if (rc != 0 && !strstr(wr_config_error_at(cfg, 0), "leaf.outbox.max_"))
        fail_msg("the error does not name the key: %s", wr_config_error_at(cfg, 0));
    wr_config_destroy(&cfg);
    return rc;
}

static void test_limits_config(void **state)
{
    (void)state;
    wr_outbox_limits_t lim;
    assert_int_equal(read_limits("leaf = { id = \"l\"; };", 1024, 1, &lim), 0);
    assert_int_equal(lim.max_bytes, 64u << 20);
    assert_int_equal(lim.max_count, WR_OUTBOX_DEFAULT_COUNT);
    assert_int_equal(lim.max_age_ms, WR_OUTBOX_DEFAULT_AGE_MS);
    /* the default shrinks to half the map shared by the outboxes */
    assert_int_equal(read_limits("leaf = { id = \"l\"; };", 256, 4, &lim), 0);
    assert_int_equal(lim.max_bytes, 32u << 20);
    assert_int_equal(read_limits("leaf = { outbox = { max_mb = 0.5; max_events = 20; max_age = 90; }; };",
                                 1024, 2, &lim), 0);
    assert_int_equal(lim.max_bytes, 512u << 10);
    assert_int_equal(lim.max_count, 20);
    assert_int_equal(lim.max_age_ms, 90000);
    /* errors: too big for the map, out of range, wrong type */
    assert_int_equal(read_limits("leaf = { outbox = { max_mb = 200; }; };", 256, 2, &lim), WR_ECONFIG);
    assert_int_equal(read_limits("leaf = { outbox = { max_events = 0; }; };", 1024, 1, &lim), WR_ECONFIG);
    assert_int_equal(read_limits("leaf = { outbox = { max_age = \"1d\"; }; };", 1024, 1, &lim), WR_ECONFIG);
    assert_int_equal(read_limits("leaf = { outbox = { max_mb = 0; }; };", 1024, 1, &lim), WR_ECONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_ack_iterate),
        cmocka_unit_test(test_restart_epochs),
        cmocka_unit_test(test_bounds_counted),
        cmocka_unit_test(test_age),
        cmocka_unit_test(test_map_full_loses_nothing),
        cmocka_unit_test(test_append_txn),
        cmocka_unit_test(test_limits_config),
    };
    return cmocka_run_group_tests(tests, setup_root, remove_root);
}
