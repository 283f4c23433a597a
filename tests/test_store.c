/* test_store: wr_store over a real LMDB environment in a temporary directory: round trips,
 * range scans both ways, delete_range, key order, persistence, map full, info, bad keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "wr_error.h"
#include "wr_store.h"
#include "test_tmpdir.h"

static char g_root[64];
static const char *const g_dbs[] = {"samples", "alarms", "meta", NULL};

TU_TMPDIR_FIXTURE(setup_root, remove_root, g_root, "test_store")

static wr_store_t *open_store(const char *sub, uint64_t map_size)
{
    return tu_store_open(g_root, sub, map_size, g_dbs);
}

/* key = be64(ts) */
static void put_ts(wr_txn_t *txn, int db, uint64_t ts, const char *val)
{
    uint8_t k[8];
    wr_store_be64(k, ts);
    assert_int_equal(wr_store_put(txn, db, k, sizeof k, val, strlen(val)), 0);
}

typedef struct {
    uint64_t seen[256];
    int n;
    int stop_after;    /* 0: never */
    int fail_after;    /* 0: never */
} visit_t;

static int visit(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
    visit_t *v = ud;
    assert_int_equal(klen, 8);
    assert_true(vlen > 0 && val != NULL);
    if (v->n < 256)
        v->seen[v->n] = wr_store_get_be64(key);
    v->n++;
    if (v->fail_after && v->n == v->fail_after)
        return WR_EPROTO;
    return v->stop_after && v->n == v->stop_after ? 1 : 0;
}

static void test_open_and_roundtrip(void **state)
{
    (void)state;
    wr_store_t *st = open_store("a/b/env1", 1 << 20);   /* nested: mkdir -p */
    char dir[256];
    struct stat sb;
    snprintf(dir, sizeof dir, "%s/a/b/env1", g_root);
    assert_int_equal(stat(dir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0750);
    assert_int_equal(wr_store_db(st, "samples"), 0);
    assert_int_equal(wr_store_db(st, "meta"), 2);
    assert_int_equal(wr_store_db(st, "nope"), WR_ENOTFOUND);
    assert_string_equal(wr_store_last_error(st), "");

    int db = wr_store_db(st, "meta");
    wr_txn_t *txn = NULL;
    assert_int_equal(wr_store_begin(st, 1, &txn), 0);
    assert_int_equal(wr_store_put(txn, db, "k1", 2, "v1", 2), 0);
    assert_int_equal(wr_store_put(txn, db, "k2", 2, "value-2", 7), 0);
    assert_int_equal(wr_store_put(txn, db, "k1", 2, "v1-new", 6), 0);   /* replaces */
    assert_int_equal(wr_store_put(txn, db, "empty", 5, NULL, 0), 0);      /* empty value */
    assert_int_equal(wr_store_commit(&txn), 0);
    assert_null(txn);

    const void *val;
    size_t vlen;
    assert_int_equal(wr_store_begin(st, 0, &txn), 0);
    assert_int_equal(wr_store_get(txn, db, "k1", 2, &val, &vlen), 0);
    assert_int_equal(vlen, 6);
    assert_memory_equal(val, "v1-new", 6);
    assert_int_equal(wr_store_get(txn, db, "empty", 5, &val, &vlen), 0);
    assert_int_equal(vlen, 0);
    assert_int_equal(wr_store_get(txn, db, "k3", 2, &val, &vlen), WR_ENOTFOUND);
    /* the same key in another database is another key */
    assert_int_equal(wr_store_get(txn, wr_store_db(st, "alarms"), "k1", 2, &val, &vlen), WR_ENOTFOUND);
    wr_store_abort(&txn);
    assert_null(txn);
    wr_store_abort(&txn);   /* no-op on NULL */

    /* delete, and an aborted write leaves nothing behind */
    assert_int_equal(wr_store_begin(st, 1, &txn), 0);
    assert_int_equal(wr_store_del(txn, db, "k2", 2), 0);
    assert_int_equal(wr_store_del(txn, db, "k2", 2), WR_ENOTFOUND);
    assert_int_equal(wr_store_commit(&txn), 0);
    assert_int_equal(wr_store_begin(st, 1, &txn), 0);
    assert_int_equal(wr_store_put(txn, db, "ghost", 5, "x", 1), 0);
    wr_store_abort(&txn);
    assert_int_equal(wr_store_begin(st, 0, &txn), 0);
    assert_int_equal(wr_store_get(txn, db, "k2", 2, &val, &vlen), WR_ENOTFOUND);
    assert_int_equal(wr_store_get(txn, db, "ghost", 5, &val, &vlen), WR_ENOTFOUND);
    wr_store_abort(&txn);
    wr_store_destroy(&st);
    assert_null(st);
    wr_store_destroy(&st);
}

static void test_scans(void **state)
{
    (void)state;
    wr_store_t *st = open_store("env2", 1 << 20);
    int db = wr_store_db(st, "samples");
    wr_txn_t *txn;
    assert_int_equal(wr_store_begin(st, 1, &txn), 0);
    for (uint64_t ts = 1; ts <= 100; ts++)
        put_ts(txn, db, ts * 10, "v");   /* keys 10, 20, ..., 1000 */
    assert_int_equal(wr_store_commit(&txn), 0);

    uint8_t from[8], to[8];
    assert_int_equal(wr_store_begin(st, 0, &txn), 0);

    visit_t v = {0};
    wr_store_be64(from, 100);
    wr_store_be64(to, 200);
    assert_int_equal(wr_store_scan(txn, db, from, 8, to, 8, visit, &v), 0);
    assert_int_equal(v.n, 10);                 /* 100..190: to is excluded */
    for (int i = 0; i < 10; i++)
        assert_int_equal(v.seen[i], 100 + 10 * i);

    memset(&v, 0, sizeof v);
    wr_store_be64(from, 95);                   /* between keys: starts at 100 */
    wr_store_be64(to, 201);                    /* between keys: 200 included */
    assert_int_equal(wr_store_scan(txn, db, from, 8, to, 8, visit, &v), 0);
    assert_int_equal(v.n, 11);
    assert_int_equal(v.seen[0], 100);
    assert_int_equal(v.seen[10], 200);

    memset(&v, 0, sizeof v);
    wr_store_be64(from, 100);
    wr_store_be64(to, 200);
    assert_int_equal(wr_store_scan_reverse(txn, db, from, 8, to, 8, visit, &v), 0);
    assert_int_equal(v.n, 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(v.seen[i], 190 - 10 * i);

    /* open bounds */
    memset(&v, 0, sizeof v);
    assert_int_equal(wr_store_scan(txn, db, NULL, 0, NULL, 0, visit, &v), 0);
    assert_int_equal(v.n, 100);
    assert_int_equal(v.seen[0], 10);
    assert_int_equal(v.seen[99], 1000);
    memset(&v, 0, sizeof v);
    assert_int_equal(wr_store_scan_reverse(txn, db, NULL, 0, NULL, 0, visit, &v), 0);
    assert_int_equal(v.n, 100);
    assert_int_equal(v.seen[0], 1000);
    assert_int_equal(v.seen[99], 10);
    memset(&v, 0, sizeof v);
    wr_store_be64(to, 5000);                   /* past the last key */
    assert_int_equal(wr_store_scan_reverse(txn, db, NULL, 0, to, 8, visit, &v), 0);
    assert_int_equal(v.n, 100);
    assert_int_equal(v.seen[0], 1000);
    memset(&v, 0, sizeof v);
    wr_store_be64(from, 995);
    assert_int_equal(wr_store_scan(txn, db, from, 8, NULL, 0, visit, &v), 0);
    assert_int_equal(v.n, 1);
    assert_int_equal(v.seen[0], 1000);

    /* empty ranges */
    memset(&v, 0, sizeof v);
    wr_store_be64(from, 2000);
    assert_int_equal(wr_store_scan(txn, db, from, 8, NULL, 0, visit, &v), 0);
    assert_int_equal(wr_store_scan_reverse(txn, db, from, 8, NULL, 0, visit, &v), 0);
    wr_store_be64(to, 10);
    assert_int_equal(wr_store_scan_reverse(txn, db, NULL, 0, to, 8, visit, &v), 0);
    assert_int_equal(wr_store_scan(txn, db, NULL, 0, to, 8, visit, &v), 0);
    assert_int_equal(v.n, 0);

    /* early stop and error propagation */
    memset(&v, 0, sizeof v);
    v.stop_after = 3;
    assert_int_equal(wr_store_scan(txn, db, NULL, 0, NULL, 0, visit, &v), 0);
    assert_int_equal(v.n, 3);
    assert_int_equal(v.seen[2], 30);
    memset(&v, 0, sizeof v);
    v.stop_after = 2;
    assert_int_equal(wr_store_scan_reverse(txn, db, NULL, 0, NULL, 0, visit, &v), 0);
    assert_int_equal(v.n, 2);
    assert_int_equal(v.seen[1], 990);
    memset(&v, 0, sizeof v);
    v.fail_after = 4;
    assert_int_equal(wr_store_scan(txn, db, NULL, 0, NULL, 0, visit, &v), WR_EPROTO);
    assert_int_equal(v.n, 4);
    memset(&v, 0, sizeof v);
    v.fail_after = 1;
    assert_int_equal(wr_store_scan_reverse(txn, db, NULL, 0, NULL, 0, visit, &v), WR_EPROTO);
    assert_int_equal(v.n, 1);

    /* an empty database */
    memset(&v, 0, sizeof v);
    assert_int_equal(wr_store_scan(txn, wr_store_db(st, "alarms"), NULL, 0, NULL, 0, visit, &v), 0);
    assert_int_equal(wr_store_scan_reverse(txn, wr_store_db(st, "alarms"), NULL, 0, to, 8, visit, &v), 0);
    assert_int_equal(v.n, 0);
    wr_store_abort(&txn);
    wr_store_destroy(&st);
}

static void test_delete_range(void **state)
{
    (void)state;
    wr_store_t *st = open_store("env3", 1 << 20);
    int db = wr_store_db(st, "samples");
    wr_txn_t *txn;
    assert_int_equal(wr_store_begin(st, 1, &txn), 0);
    for (uint64_t ts = 1; ts <= 100; ts++)
        put_ts(txn, db, ts, "v");
    assert_int_equal(wr_store_commit(&txn), 0);

    uint8_t from[8], to[8];
    uint64_t deleted = 0;
    wr_store_be64(from, 10);
    wr_store_be64(to, 50);
    assert_int_equal(wr_store_begin(st, 1, &txn), 0);
    assert_int_equal(wr_store_delete_range(txn, db, from, 8, to, 8, 15, &deleted), 0);
    assert_int_equal(deleted, 15);               /* 10..24 */
    assert_int_equal(wr_store_commit(&txn), 0);

    visit_t v = {0};
    assert_int_equal(wr_store_begin(st, 0, &txn), 0);
    assert_int_equal(wr_store_scan(txn, db, NULL, 0, NULL, 0, visit, &v), 0);
    wr_store_abort(&txn);
    assert_int_equal(v.n, 85);
    assert_int_equal(v.seen[8], 9);
    assert_int_equal(v.seen[9], 25);             /* the oldest were deleted first */

    assert_int_equal(wr_store_begin(st, 1, &txn), 0);
    assert_int_equal(wr_store_delete_range(txn, db, from, 8, to, 8, 0, &deleted), 0);
    assert_int_equal(deleted, 25);               /* 25..49 */
    assert_int_equal(wr_store_delete_range(txn, db, from, 8, to, 8, 0, NULL), 0);
    assert_int_equal(wr_store_delete_range(txn, db, NULL, 0, NULL, 0, 0, &deleted), 0);
    assert_int_equal(deleted, 60);               /* 1..9 and 50..100 */
    assert_int_equal(wr_store_commit(&txn), 0);

    wr_store_info_t info;
    assert_int_equal(wr_store_info(st, &info), 0);
    assert_int_equal(info.entries[db], 0);
    wr_store_destroy(&st);
}

static void test_big_endian_order(void **state)
{
    (void)state;
    uint8_t b[8];
    wr_store_be64(b, 0x0102030405060708ULL);
    const uint8_t want64[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_memory_equal(b, want64, 8);
    assert_true(wr_store_get_be64(b) == 0x0102030405060708ULL);
    wr_store_be32(b, 0xA0B0C0D0u);
    const uint8_t want32[4] = {0xA0, 0xB0, 0xC0, 0xD0};
    assert_memory_equal(b, want32, 4);
    assert_int_equal(wr_store_get_be32(b), 0xA0B0C0D0u);

    /* timestamps inserted out of order come back in numeric order */
    static const uint64_t ts[] = {65536, 1, 1ULL << 40, 255, 256, 0, UINT64_MAX, 1700000000123ULL};
    const int n = (int)(sizeof ts / sizeof ts[0]);
    wr_store_t *st = open_store("env4", 1 << 20);
    int db = wr_store_db(st, "alarms");
    wr_txn_t *txn;
    assert_int_equal(wr_store_begin(st, 1, &txn), 0);
    for (int i = 0; i < n; i++)
        put_ts(txn, db, ts[i], "x");
    assert_int_equal(wr_store_commit(&txn), 0);
    visit_t v = {0};
    assert_int_equal(wr_store_begin(st, 0, &txn), 0);
    assert_int_equal(wr_store_scan(txn, db, NULL, 0, NULL, 0, visit, &v), 0);
    wr_store_abort(&txn);
    assert_int_equal(v.n, n);
    for (int i = 1; i < n; i++)
        assert_true(v.seen[i - 1] < v.seen[i]);
    assert_int_equal(v.seen[0], 0);
    assert_true(v.seen[n - 1] == UINT64_MAX);
    wr_store_destroy(&st);
}

static void test_reopen(void **state)
{
    (void)state;
    wr_store_t *st = open_store("env5", 1 << 20);
    int db = wr_store_db(st, "meta");
    wr_txn_t *txn;
    assert_int_equal(wr_store_begin(st, 1, &txn), 0);
    assert_int_equal(wr_store_put(txn, db, "epoch", 5, "42", 2), 0);
    assert_int_equal(wr_store_commit(&txn), 0);
    wr_store_destroy(&st);

    st = open_store("env5", 1 << 20);
    const void *val;
    size_t vlen;
    assert_int_equal(wr_store_begin(st, 0, &txn), 0);
    assert_int_equal(wr_store_get(txn, wr_store_db(st, "meta"), "epoch", 5, &val, &vlen), 0);
    assert_int_equal(vlen, 2);
    assert_memory_equal(val, "42", 2);
    wr_store_abort(&txn);
    wr_store_destroy(&st);
}

static void test_map_full(void **state)
{
    (void)state;
    wr_store_t *st = open_store("env6", 256 * 1024);
    int db = wr_store_db(st, "samples");
    char val[1024];
    memset(val, 'v', sizeof val);
    wr_txn_t *txn;
    assert_int_equal(wr_store_begin(st, 1, &txn), 0);
    for (uint64_t ts = 0; ts < 20; ts++) {
        uint8_t k[8];
        wr_store_be64(k, ts);
        assert_int_equal(wr_store_put(txn, db, k, 8, val, sizeof val), 0);
    }
    assert_int_equal(wr_store_commit(&txn), 0);

    /* one transaction that keeps writing until the map is full */
    assert_int_equal(wr_store_begin(st, 1, &txn), 0);
    int rc = 0;
    uint64_t ts;
    for (ts = 1000; ts < 1000 + 10000; ts++) {
        uint8_t k[8];
        wr_store_be64(k, ts);
        rc = wr_store_put(txn, db, k, 8, val, sizeof val);
        if (rc != 0)
            break;
    }
    assert_int_equal(rc, WR_EFULL);
    print_message("map full after %d values\n", (int)(ts - 1000));
    if (ts < 1050)
        fail_msg("map full after only %d values", (int)(ts - 1000));
    assert_non_null(strstr(wr_store_last_error(st), "MDB_MAP_FULL"));
    wr_store_abort(&txn);

    /* still usable; the committed data is intact, the aborted data absent */
    wr_store_info_t info;
    assert_int_equal(wr_store_info(st, &info), 0);
    assert_int_equal(info.entries[db], 20);
    assert_int_equal(wr_store_begin(st, 1, &txn), 0);
    uint8_t k[8];
    wr_store_be64(k, 5);
    assert_int_equal(wr_store_del(txn, db, k, 8), 0);
    assert_int_equal(wr_store_put(txn, db, "after", 5, "ok", 2), 0);
    assert_int_equal(wr_store_commit(&txn), 0);
    const void *v;
    size_t vlen;
    assert_int_equal(wr_store_begin(st, 0, &txn), 0);
    wr_store_be64(k, 19);
    assert_int_equal(wr_store_get(txn, db, k, 8, &v, &vlen), 0);
    assert_int_equal(vlen, sizeof val);
    assert_memory_equal(v, val, sizeof val);
    wr_store_be64(k, 1000);
    assert_int_equal(wr_store_get(txn, db, k, 8, &v, &vlen), WR_ENOTFOUND);
    assert_int_equal(wr_store_get(txn, db, "after", 5, &v, &vlen), 0);
    wr_store_abort(&txn);
    wr_store_destroy(&st);
}

static void test_info(void **state)
{
    (void)state;
    wr_store_t *st = open_store("env7", 4 << 20);
    wr_txn_t *txn;
    assert_int_equal(wr_store_begin(st, 1, &txn), 0);
    for (uint64_t i = 0; i < 7; i++)
        put_ts(txn, 0, i, "s");
    for (uint64_t i = 0; i < 3; i++)
        put_ts(txn, 2, i, "m");
    assert_int_equal(wr_store_commit(&txn), 0);
    wr_store_info_t info;
    assert_int_equal(wr_store_info(st, &info), 0);
    assert_true(info.map_size == 4 << 20);
    assert_true(info.used_bytes > 0 && info.used_bytes < info.map_size);
    assert_true(info.entries[0] == 7);
    assert_true(info.entries[1] == 0);
    assert_true(info.entries[2] == 3);
    wr_store_destroy(&st);
}

/* kB of the process's RSS in its mapping of data.mdb (smaps), -1 when not mapped. */
static long map_rss_kb(void)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    assert_non_null(f);
    char line[1024];
    long kb = -1;
    int in_map = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
            in_map = strstr(line, "/env9/data.mdb") != NULL;
            continue;
        }
        long v;
        if (in_map && sscanf(line, "Rss: %ld kB", &v) == 1)
            kb = kb < 0 ? v : kb + v;
    }
    fclose(f);
    return kb;
}

/* Reading through the map makes its pages resident in the process; release drops them from
 * our page tables (the data stays readable: it faults back in from the page cache). */
static void test_release_pages(void **state)
{
    (void)state;
    wr_store_t *st = open_store("env9", 16 << 20);
    wr_txn_t *txn;
    static char val[1000];
    memset(val, 'v', sizeof val - 1);
    assert_int_equal(wr_store_begin(st, 1, &txn), 0);
    for (uint64_t i = 0; i < 4000; i++)
        put_ts(txn, 0, i, val);
    assert_int_equal(wr_store_commit(&txn), 0);
    visit_t v = {0};
    assert_int_equal(wr_store_begin(st, 0, &txn), 0);
    assert_int_equal(wr_store_scan(txn, 0, NULL, 0, NULL, 0, visit, &v), 0);
    wr_store_abort(&txn);
    assert_int_equal(v.n, 4000);
    long before = map_rss_kb();
    assert_true(before >= 2000);                 /* ~4 MB of values were read through the map */
    long released = wr_store_release_pages(st);
    assert_true(released >= 4000L * 1000);
    long after = map_rss_kb();
    assert_true(after >= 0 && after < before / 4);
    const void *got;
    size_t glen;
    uint8_t k[8];
    wr_store_be64(k, 3999);
    assert_int_equal(wr_store_begin(st, 0, &txn), 0);
    assert_int_equal(wr_store_get(txn, 0, k, sizeof k, &got, &glen), 0);
    assert_int_equal(glen, strlen(val));
    assert_memory_equal(got, val, glen);
    wr_store_abort(&txn);
    wr_store_destroy(&st);
}

static void test_invalid(void **state)
{
    (void)state;
    wr_store_t *st = open_store("env8", 1 << 20);
    wr_txn_t *txn;
    uint8_t big[600];
    memset(big, 'k', sizeof big);
    const void *v;
    size_t vlen;
    uint64_t deleted;
    assert_int_equal(wr_store_begin(st, 1, &txn), 0);
    assert_int_equal(wr_store_put(txn, 0, "", 0, "v", 1), WR_EINVAL);
    assert_int_equal(wr_store_put(txn, 0, big, 512, "v", 1), WR_EINVAL);
    assert_int_equal(wr_store_put(txn, 0, big, 511, "v", 1), 0);   /* the largest key */
    assert_int_equal(wr_store_get(txn, 0, big, 600, &v, &vlen), WR_EINVAL);
    assert_int_equal(wr_store_del(txn, 0, "", 0), WR_EINVAL);
    assert_int_equal(wr_store_put(txn, 3, "k", 1, "v", 1), WR_EINVAL);   /* no db 3 */
    assert_int_equal(wr_store_put(txn, -1, "k", 1, "v", 1), WR_EINVAL);
    assert_int_equal(wr_store_delete_range(txn, 0, big, 600, NULL, 0, 0, &deleted), WR_EINVAL);
    /* the transaction is still good after rejected arguments */
    assert_int_equal(wr_store_get(txn, 0, big, 511, &v, &vlen), 0);
    assert_int_equal(wr_store_commit(&txn), 0);
    wr_store_destroy(&st);

    /* open errors name the path */
    char file[256], dir[300], err[512];
    snprintf(file, sizeof file, "%s/plainfile", g_root);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(dir, sizeof dir, "%s/sub", file);
    assert_null(wr_store_open(dir, 1 << 20, g_dbs, err, sizeof err));
    assert_non_null(strstr(err, dir));
    assert_non_null(strstr(err, "Not a directory"));
    static const char *const none[] = {NULL};
    assert_null(wr_store_open(g_root, 1 << 20, none, err, sizeof err));
    static const char *const twice[] = {"a", "a", NULL};
    assert_null(wr_store_open(g_root, 1 << 20, twice, err, sizeof err));
    assert_non_null(strstr(err, "'a'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_and_roundtrip),
        cmocka_unit_test(test_scans),
        cmocka_unit_test(test_delete_range),
        cmocka_unit_test(test_big_endian_order),
        cmocka_unit_test(test_reopen),
        cmocka_unit_test(test_map_full),
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_release_pages),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, setup_root, remove_root);
}
