/* test_dedup: duplicate detection by (origin, epoch, seq): in-order and out-of-order arrival,
 * the failover interleaving of two parents' resends, seen/mark kept apart, the window slide and
 * its counter, epoch eviction and the floor, origin eviction (LRU), invalid input, and
 * save/load through a real LMDB environment (all and dirty-only, corrupt records rejected). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "wr_dedup.h"
#include "wr_error.h"
#include "wr_store.h"
#include "test_tmpdir.h"

static char g_root[64];
static const char *const g_dbs[] = {"dedup", "other", NULL};

TU_TMPDIR_FIXTURE(setup_root, remove_root, g_root, "test_dedup")

static uint64_t contiguous(wr_dedup_t *d, const char *o, uint64_t e)
{
    uint64_t s = 12345;
    assert_int_equal(wr_dedup_contiguous(d, o, e, &s), 0);
    return s;
}

static void test_in_order_and_duplicates(void **state)
{
    (void)state;
    wr_dedup_t *d = wr_dedup_new(NULL);
    assert_non_null(d);
    for (uint64_t s = 1; s <= 100; s++)
        assert_int_equal(wr_dedup_check(d, "leaf-1", 7, s), 1);
    assert_int_equal(contiguous(d, "leaf-1", 7), 100);
    for (uint64_t s = 1; s <= 100; s++)
        assert_int_equal(wr_dedup_check(d, "leaf-1", 7, s), 0);
    /* another epoch and another origin are independent */
    assert_int_equal(wr_dedup_check(d, "leaf-1", 8, 1), 1);
    assert_int_equal(wr_dedup_check(d, "leaf-2", 7, 1), 1);
    wr_dedup_stats_t st;
    wr_dedup_stats(d, &st);
    assert_int_equal(st.accepted, 102);
    assert_int_equal(st.duplicates, 100);
    assert_int_equal(st.origins, 2);
    uint64_t s;
    assert_int_equal(wr_dedup_contiguous(d, "leaf-1", 9, &s), WR_ENOTFOUND);
    assert_int_equal(wr_dedup_contiguous(d, "nobody", 7, &s), WR_ENOTFOUND);
    /* invalid identities */
    char longname[80];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(wr_dedup_check(d, "", 1, 1), WR_EINVAL);
    assert_int_equal(wr_dedup_check(d, NULL, 1, 1), WR_EINVAL);
    assert_int_equal(wr_dedup_check(d, longname, 1, 1), WR_EINVAL);
    assert_int_equal(wr_dedup_check(d, "leaf-1", 7, 0), WR_EINVAL);
    wr_dedup_destroy(&d);
    assert_null(d);
}

static void test_out_of_order_failover(void **state)
{
    (void)state;
    wr_dedup_t *d = wr_dedup_new(NULL);
    /* the old parent delivered 1..5; the leaf fails over and the new path resends 8..12 before
     * the old path's 6..10 arrive: every seq is accepted once */
    for (uint64_t s = 1; s <= 5; s++)
        assert_int_equal(wr_dedup_check(d, "leaf-9", 3, s), 1);
    for (uint64_t s = 8; s <= 12; s++)
        assert_int_equal(wr_dedup_check(d, "leaf-9", 3, s), 1);
    assert_int_equal(contiguous(d, "leaf-9", 3), 5);   /* 6, 7 missing: ACK only up to 5 */
    int accepted = 0;
    for (uint64_t s = 6; s <= 10; s++)
        accepted += wr_dedup_check(d, "leaf-9", 3, s);
    assert_int_equal(accepted, 2);                      /* 6 and 7 only */
    assert_int_equal(contiguous(d, "leaf-9", 3), 12);
    /* reverse order across a word boundary of the bitmap */
    for (uint64_t s = 200; s > 12; s--)
        assert_int_equal(wr_dedup_check(d, "leaf-9", 3, s), 1);
    assert_int_equal(contiguous(d, "leaf-9", 3), 200);
    /* random permutation of 13..., 1,000 seqs in a window-sized shuffle */
    wr_dedup_t *r = wr_dedup_new(NULL);
    uint64_t perm[1000];
    for (int i = 0; i < 1000; i++)
        perm[i] = (uint64_t)i + 1;
    uint64_t x = 12345;
    for (int i = 0; i < 1000; i++) {   /* shuffle within blocks of 100 (< window) */
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        int j = (i / 100) * 100 + (int)((x >> 33) % 100);
        uint64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int i = 0; i < 1000; i++)
        assert_int_equal(wr_dedup_check(r, "o", 1, perm[i]), 1);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(wr_dedup_check(r, "o", 1, perm[i]), 0);
    assert_int_equal(contiguous(r, "o", 1), 1000);
    wr_dedup_stats_t st;
    wr_dedup_stats(r, &st);
    assert_int_equal(st.window_skipped, 0);
    wr_dedup_destroy(&r);
    wr_dedup_destroy(&d);
}

static void test_seen_then_mark(void **state)
{
    (void)state;
    wr_dedup_t *d = wr_dedup_new(NULL);
    assert_int_equal(wr_dedup_seen(d, "a", 1, 1), 0);
    /* storing failed: not marked, so the resend is still new */
    assert_int_equal(wr_dedup_seen(d, "a", 1, 1), 0);
    assert_int_equal(wr_dedup_mark(d, "a", 1, 1), 1);
    assert_int_equal(wr_dedup_seen(d, "a", 1, 1), 1);
    assert_int_equal(wr_dedup_mark(d, "a", 1, 1), 0);
    assert_int_equal(wr_dedup_seen(d, "a", 1, 3), 0);
    assert_int_equal(wr_dedup_mark(d, "a", 1, 3), 1);
    assert_int_equal(wr_dedup_seen(d, "a", 1, 3), 1);
    assert_int_equal(wr_dedup_seen(d, "a", 1, 2), 0);
    assert_int_equal(contiguous(d, "a", 1), 1);
    wr_dedup_destroy(&d);
}

static void test_window_slide(void **state)
{
    (void)state;
    wr_dedup_t *d = wr_dedup_new(NULL);
    for (uint64_t s = 1; s <= 10; s++)
        wr_dedup_check(d, "a", 1, s);
    wr_dedup_check(d, "a", 1, 12);   /* 11 missing */
    /* a jump far beyond the window (the sender's outbox dropped events): the window slides */
    uint64_t far = 10 + WR_DEDUP_WINDOW + 100;
    assert_int_equal(wr_dedup_check(d, "a", 1, far), 1);
    wr_dedup_stats_t st;
    wr_dedup_stats(d, &st);
    /* hi moved from 10 to far - WINDOW = 110: seqs 11..110 presumed lost, except 12 */
    assert_int_equal(st.window_skipped, 99);
    assert_int_equal(contiguous(d, "a", 1), far - WR_DEDUP_WINDOW);
    assert_int_equal(wr_dedup_seen(d, "a", 1, 11), 1);          /* presumed: taken as duplicate */
    assert_int_equal(wr_dedup_seen(d, "a", 1, far - 1), 0);     /* inside the window: still new */
    assert_int_equal(wr_dedup_check(d, "a", 1, far - 1), 1);
    assert_int_equal(wr_dedup_check(d, "a", 1, far), 0);
    /* a jump of more than twice the window */
    uint64_t farther = far + 5 * WR_DEDUP_WINDOW;
    assert_int_equal(wr_dedup_check(d, "a", 1, farther), 1);
    assert_int_equal(contiguous(d, "a", 1), farther - WR_DEDUP_WINDOW);
    assert_int_equal(wr_dedup_check(d, "a", 1, farther), 0);
    wr_dedup_destroy(&d);
}

static void test_epoch_eviction(void **state)
{
    (void)state;
    wr_dedup_config_t cfg = {.max_origins = 10, .max_epochs = 2};
    wr_dedup_t *d = wr_dedup_new(&cfg);
    assert_int_equal(wr_dedup_check(d, "a", 100, 1), 1);
    assert_int_equal(wr_dedup_check(d, "a", 200, 1), 1);
    assert_int_equal(wr_dedup_check(d, "a", 300, 1), 1);   /* evicts epoch 100, floor = 100 */
    wr_dedup_stats_t st;
    wr_dedup_stats(d, &st);
    assert_int_equal(st.epochs_evicted, 1);
    assert_int_equal(wr_dedup_seen(d, "a", 100, 2), 1);    /* at the floor: stale */
    assert_int_equal(wr_dedup_seen(d, "a", 50, 1), 1);
    assert_int_equal(wr_dedup_mark(d, "a", 100, 2), 0);
    wr_dedup_stats(d, &st);
    assert_int_equal(st.stale, 1);
    /* epochs 200 and 300 still tracked */
    assert_int_equal(wr_dedup_check(d, "a", 200, 1), 0);
    assert_int_equal(wr_dedup_check(d, "a", 200, 2), 1);
    assert_int_equal(wr_dedup_check(d, "a", 300, 2), 1);
    /* an epoch between the floor and the tracked ones, when full: older than all -> stale */
    assert_int_equal(wr_dedup_mark(d, "a", 150, 1), 0);
    assert_int_equal(wr_dedup_seen(d, "a", 150, 9), 1);
    wr_dedup_stats(d, &st);
    uint64_t dups = st.duplicates;
    assert_int_equal(st.stale, 2);
    assert_int_equal(wr_dedup_check(d, "a", 120, 1), 0);   /* below the floor: stale, not dup */
    wr_dedup_stats(d, &st);
    assert_int_equal(st.stale, 3);
    assert_int_equal(st.duplicates, dups);
    wr_dedup_destroy(&d);
}

static void test_origin_eviction(void **state)
{
    (void)state;
    wr_dedup_config_t cfg = {.max_origins = 3, .max_epochs = 0};
    wr_dedup_t *d = wr_dedup_new(&cfg);
    wr_dedup_check(d, "a", 1, 1);
    wr_dedup_check(d, "b", 1, 1);
    wr_dedup_check(d, "c", 1, 1);
    wr_dedup_check(d, "a", 1, 2);     /* a is now the most recent; b the least */
    wr_dedup_check(d, "d", 1, 1);     /* evicts b */
    wr_dedup_stats_t st;
    wr_dedup_stats(d, &st);
    assert_int_equal(st.origins, 3);
    assert_int_equal(st.origins_evicted, 1);
    uint64_t s;
    assert_int_equal(wr_dedup_contiguous(d, "b", 1, &s), WR_ENOTFOUND);
    assert_int_equal(contiguous(d, "a", 1), 2);
    assert_int_equal(wr_dedup_check(d, "b", 1, 1), 1);   /* forgotten: accepted again */
    assert_int_equal(wr_dedup_forget(d, "b"), 0);
    assert_int_equal(wr_dedup_forget(d, "b"), WR_ENOTFOUND);
    wr_dedup_stats(d, &st);
    assert_int_equal(st.origins, 2);
    /* many origins: the table grows and stays consistent */
    wr_dedup_config_t big = {.max_origins = 5000, .max_epochs = 4};
    wr_dedup_t *m = wr_dedup_new(&big);
    char name[32];
    for (int i = 0; i < 6000; i++) {
        snprintf(name, sizeof name, "leaf-%d", i);
        assert_int_equal(wr_dedup_check(m, name, 1, 1), 1);
    }
    wr_dedup_stats(m, &st);
    assert_int_equal(st.origins, 5000);
    assert_int_equal(st.origins_evicted, 1000);
    for (int i = 1000; i < 6000; i++) {
        snprintf(name, sizeof name, "leaf-%d", i);
        assert_int_equal(wr_dedup_seen(m, name, 1, 1), 1);
    }
    wr_dedup_destroy(&m);
    wr_dedup_destroy(&d);
}

static wr_store_t *open_store(void)
{
    return tu_store_open(g_root, "env", 1 << 22, g_dbs);
}

static void save(wr_store_t *st, wr_dedup_t *d, int all)
{
    wr_txn_t *txn;
    assert_int_equal(wr_store_begin(st, 1, &txn), 0);
    assert_int_equal(wr_dedup_save(d, txn, wr_store_db(st, "dedup"), all), 0);
    assert_int_equal(wr_store_commit(&txn), 0);
}

static void load(wr_store_t *st, wr_dedup_t *d)
{
    wr_txn_t *txn;
    assert_int_equal(wr_store_begin(st, 0, &txn), 0);
    assert_int_equal(wr_dedup_load(d, txn, wr_store_db(st, "dedup")), 0);
    wr_store_abort(&txn);
}

static void test_persistence(void **state)
{
    (void)state;
    wr_store_t *st = open_store();
    wr_dedup_t *d = wr_dedup_new(NULL);
    for (uint64_t s = 1; s <= 50; s++)
        wr_dedup_check(d, "leaf-1", 11, s);
    wr_dedup_check(d, "leaf-1", 11, 70);          /* out of order: in the bitmap */
    wr_dedup_check(d, "leaf-1", 12, 1);
    wr_dedup_check(d, "relay-a", 5, 3);
    save(st, d, 1);
    /* a change after the full save, saved dirty-only */
    wr_dedup_check(d, "leaf-2", 1, 1);
    wr_dedup_check(d, "relay-a", 5, 1);
    save(st, d, 0);
    wr_dedup_destroy(&d);
    wr_store_destroy(&st);

    /* the root restarts */
    st = open_store();
    d = wr_dedup_new(NULL);
    load(st, d);
    wr_dedup_stats_t s;
    wr_dedup_stats(d, &s);
    assert_int_equal(s.origins, 3);
    assert_int_equal(s.load_rejected, 0);
    assert_int_equal(contiguous(d, "leaf-1", 11), 50);
    assert_int_equal(wr_dedup_check(d, "leaf-1", 11, 70), 0);
    assert_int_equal(wr_dedup_check(d, "leaf-1", 11, 30), 0);
    assert_int_equal(wr_dedup_check(d, "leaf-1", 11, 51), 1);
    assert_int_equal(wr_dedup_check(d, "leaf-1", 12, 1), 0);
    assert_int_equal(wr_dedup_check(d, "leaf-2", 1, 1), 0);
    assert_int_equal(wr_dedup_check(d, "relay-a", 5, 1), 0);
    assert_int_equal(wr_dedup_check(d, "relay-a", 5, 2), 1);
    assert_int_equal(contiguous(d, "relay-a", 5), 3);

    /* corrupt records are skipped and counted; save(all) rewrites cleanly */
    wr_txn_t *txn;
    int db = wr_store_db(st, "dedup");
    assert_int_equal(wr_store_begin(st, 1, &txn), 0);
    assert_int_equal(wr_store_put(txn, db, "obad", 4, "\x01\x05xx", 4), 0);       /* short */
    assert_int_equal(wr_store_put(txn, db, "oworse", 6, "\x09\x00", 2), 0);       /* version */
    assert_int_equal(wr_store_commit(&txn), 0);
    wr_dedup_t *d2 = wr_dedup_new(NULL);
    load(st, d2);
    wr_dedup_stats(d2, &s);
    assert_int_equal(s.load_rejected, 2);
    assert_int_equal(s.origins, 3);
    wr_dedup_destroy(&d2);
    wr_dedup_forget(d, "leaf-2");
    save(st, d, 1);
    d2 = wr_dedup_new(NULL);
    load(st, d2);
    wr_dedup_stats(d2, &s);
    assert_int_equal(s.load_rejected, 0);
    assert_int_equal(s.origins, 2);                 /* forgotten and corrupt ones gone */
    assert_int_equal(contiguous(d2, "relay-a", 5), 3);
    /* loading into a smaller instance keeps the highest epochs and raises the floor */
    wr_dedup_destroy(&d2);
    wr_dedup_config_t one = {.max_epochs = 1};
    d2 = wr_dedup_new(&one);
    load(st, d2);
    assert_int_equal(wr_dedup_seen(d2, "leaf-1", 11, 51), 1);   /* epoch 11 below the floor */
    assert_int_equal(wr_dedup_seen(d2, "leaf-1", 12, 1), 1);
    assert_int_equal(wr_dedup_seen(d2, "leaf-1", 12, 2), 0);
    wr_dedup_destroy(&d2);
    wr_dedup_destroy(&d);
    wr_store_destroy(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_and_duplicates),
        cmocka_unit_test(test_out_of_order_failover),
        cmocka_unit_test(test_seen_then_mark),
        cmocka_unit_test(test_window_slide),
        cmocka_unit_test(test_epoch_eviction),
        cmocka_unit_test(test_origin_eviction),
        cmocka_unit_test(test_persistence),
    };
    return cmocka_run_group_tests(tests, setup_root, remove_root);
}
