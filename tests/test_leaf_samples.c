/* test_leaf_samples: the leaf's LMDB side (leaf/leaf_samples.c and leaf/leaf_hist.c, included
 * directly) on a real LMDB in a mkdtemp directory: batched writes, series ids surviving a reopen,
 * metric queries (limit, window, errors), rows merged and metric codes surviving a reopen,, retention by age and size, a full map that is pruned
 * instead of failing, downsampled tiers (known answers, counters as rates, bucket boundaries,
 * restart, per-node state allocated at the first sample and freed on hand-back), tier selection
 * and truncation, the history config. */
#include "../leaf/leaf_samples.c"
#include "../leaf/leaf_hist.c"
#include "../leaf/leaf_query.c"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>
#include <cmocka.h>

/* leaf_beam.c's lookup, replaced by a linear one. */
leaf_node_t *leaf_node_find(leaf_t *lf, const char *name, size_t len)
{
    for (size_t i = 0; i < lf->n_nodes; i++)
        if (strlen(lf->nodes[i].name) == len && memcmp(lf->nodes[i].name, name, len) == 0)
            return &lf->nodes[i];
    return NULL;
}

typedef struct {
    char   dir[64];
    leaf_t lf;
} fixture_t;

static void open_store(fixture_t *f)
{
    char err[256];
    int rc = leaf_samples_open(&f->lf, err, sizeof err);
    if (rc)
        fail_msg("open: %s", err);
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_leaf_samples.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->lf.cfg.id, sizeof f->lf.cfg.id, "leaf-t");
    snprintf(f->lf.cfg.store_path, sizeof f->lf.cfg.store_path, "%s/db", f->dir);
    f->lf.cfg.map_size_mb = 1;
    f->lf.cfg.retention = 3600;
    f->lf.n_nodes = 2;
    f->lf.nodes = calloc(2, sizeof *f->lf.nodes);
    snprintf(f->lf.nodes[0].name, WR_NODE_NAME_MAX, "a@h");
    snprintf(f->lf.nodes[1].name, WR_NODE_NAME_MAX, "b@h");
    f->lf.nodes[0].owned = f->lf.nodes[1].owned = 1;
    f->lf.nodes[0].idx = 0;
    f->lf.nodes[1].idx = 1;
    open_store(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    leaf_samples_close(&f->lf);
    free(f->lf.nodes);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* Runs a query and returns the parsed result (NULL on error; status in *rc). */
static json_t *query(fixture_t *f, int node, const char *args, int *rc, char *err, size_t errlen)
{
    char *res = NULL;
    *rc = leaf_samples_query(&f->lf, &f->lf.nodes[node], args, strlen(args), &res, err, errlen);
    if (*rc)
        return NULL;
    json_t *j = json_loads(res, 0, NULL);
    free(res);
    assert_non_null(j);
    return j;
}

static void test_write_query(void **state)
{
    fixture_t *f = *state;
    int m = wr_metric_find("memory.total");
    int r = wr_metric_find("reductions");
    for (int i = 0; i < 100; i++) {
        leaf_samples_add(&f->lf, 0, (uint32_t)m, 1000 + i * 1000, (double)i);
        leaf_samples_add(&f->lf, 0, (uint32_t)r, 1000 + i * 1000, (double)i * 10);
    }
    assert_int_equal(leaf_samples_flush(&f->lf), 200);
    assert_int_equal(f->lf.n_pending, 0);
    assert_int_not_equal(f->lf.nodes[0].sid, 0);

    char err[256];
    int rc;
    json_t *j = query(f, 0, "{\"metric\":\"memory.total\",\"since\":0,\"until\":1000000,\"limit\":5}", &rc, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_string_equal(json_string_value(json_object_get(j, "node")), "a@h");
    assert_string_equal(json_string_value(json_object_get(j, "unit")), "bytes");
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "gauge");
    json_t *pts = json_object_get(j, "points");
    assert_int_equal(json_array_size(pts), 5);
    for (size_t i = 0; i < 5; i++) {      /* the newest five, ascending */
        json_t *p = json_array_get(pts, i);
        assert_int_equal(json_integer_value(json_array_get(p, 0)), 1000 + (95 + (int)i) * 1000);
        assert_true(json_real_value(json_array_get(p, 1)) == 95.0 + (double)i);
    }
    json_decref(j);

    /* a window: until is inclusive */
    j = query(f, 0, "{\"metric\":\"reductions\",\"since\":3000,\"until\":5000}", &rc, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "counter");
    pts = json_object_get(j, "points");
    assert_int_equal(json_array_size(pts), 3);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(pts, 0), 0)), 3000);
    assert_true(json_real_value(json_array_get(json_array_get(pts, 2), 1)) == 40.0);
    json_decref(j);

    /* a node without samples: empty points */
    j = query(f, 1, "{\"metric\":\"memory.total\",\"since\":0}", &rc, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_int_equal(json_array_size(json_object_get(j, "points")), 0);
    json_decref(j);

    /* errors */
    assert_null(query(f, 0, "{\"metric\":\"nope.nope\"}", &rc, err, sizeof err));
    assert_int_equal(rc, WR_ENOTFOUND);
    assert_string_equal(err, "unknown metric nope.nope");
    assert_null(query(f, 0, "{\"metric\":\"uptime\",\"limit\":100001}", &rc, err, sizeof err));
    assert_int_equal(rc, WR_EINVAL);
    assert_null(query(f, 0, "{\"metric\":\"uptime\",\"since\":10,\"until\":5}", &rc, err, sizeof err));
    assert_int_equal(rc, WR_EINVAL);
    assert_null(query(f, 0, "{\"metric\":\"uptime\",\"since\":\"yesterday\"}", &rc, err, sizeof err));
    assert_int_equal(rc, WR_EINVAL);
    assert_null(query(f, 0, "[1,2]", &rc, err, sizeof err));
    assert_int_equal(rc, WR_EINVAL);
    assert_null(query(f, 0, "{\"limit\":3}", &rc, err, sizeof err));
    assert_int_equal(rc, WR_EINVAL);

    /* node ids and metric codes survive a reopen */
    uint32_t sid = f->lf.nodes[0].sid, code = leaf_rows_code(&f->lf, (uint32_t)m);
    leaf_samples_close(&f->lf);
    f->lf.nodes[0].sid = 0;
    f->lf.next_sid = 0;
    open_store(f);
    assert_int_equal(f->lf.nodes[0].sid, sid);
    assert_int_equal(leaf_rows_code(&f->lf, (uint32_t)m), code);
    assert_true(f->lf.next_sid > sid);
    j = query(f, 0, "{\"metric\":\"memory.total\",\"since\":0,\"until\":1000000}", &rc, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_int_equal(json_array_size(json_object_get(j, "points")), 100);
    json_decref(j);
}

static void test_retention(void **state)
{
    fixture_t *f = *state;
    int m = wr_metric_find("uptime");
    int64_t now = wr_wall_ms();
    leaf_samples_add(&f->lf, 1, (uint32_t)m, now - 10 * 3600 * 1000, 1.0);
    leaf_samples_add(&f->lf, 1, (uint32_t)m, now - 2 * 3600 * 1000, 2.0);
    leaf_samples_add(&f->lf, 1, (uint32_t)m, now - 1000, 3.0);
    assert_int_equal(leaf_samples_flush(&f->lf), 3);
    leaf_samples_retention(&f->lf);
    char err[256];
    int rc;
    json_t *j = query(f, 1, "{\"metric\":\"uptime\",\"since\":0}", &rc, err, sizeof err);
    assert_int_equal(rc, 0);
    json_t *pts = json_object_get(j, "points");
    assert_int_equal(json_array_size(pts), 1);
    assert_true(json_real_value(json_array_get(json_array_get(pts, 0), 1)) == 3.0);
    json_decref(j);
}

/* A 1 MB map fills up: the oldest samples are pruned, the new batch is still written. */
static void test_full_map_prunes(void **state)
{
    fixture_t *f = *state;
    int64_t ts = 1000;
    size_t batches = 0;
    for (; batches < 2000 && f->lf.samples_pruned == 0; batches++) {
        for (int i = 0; i < 500; i++, ts += 10)
            for (uint32_t m = 0; m < 4; m++)
                leaf_samples_add(&f->lf, m % 2, m, ts, (double)ts);
        assert_int_equal(leaf_samples_flush(&f->lf), 2000);
    }
    assert_true(f->lf.samples_pruned > 0);
    assert_int_equal(f->lf.samples_dropped, 0);
    /* a few more batches after the first prune still go in */
    for (int b = 0; b < 5; b++) {
        for (int i = 0; i < 500; i++, ts += 10)
            for (uint32_t m = 0; m < 4; m++)
                leaf_samples_add(&f->lf, m % 2, m, ts, (double)ts);
        assert_int_equal(leaf_samples_flush(&f->lf), 2000);
    }
    /* the oldest samples are gone, the newest are there */
    char err[256], args[160];
    int rc;
    snprintf(args, sizeof args, "{\"metric\":\"%s\",\"since\":0,\"until\":%lld,\"limit\":100000}",
             wr_metric_defs[0].name, (long long)ts);
    json_t *j = query(f, 0, args, &rc, err, sizeof err);
    assert_int_equal(rc, 0);
    json_t *pts = json_object_get(j, "points");
    assert_true(json_array_size(pts) > 0);
    assert_true(json_integer_value(json_array_get(json_array_get(pts, 0), 0)) > 1000);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(pts, json_array_size(pts) - 1), 0)), ts - 10);
    json_decref(j);
}

/* ---- downsampled tiers ---------------------------------------------------------------- */

static const leaf_hist_tier_cfg_t TIERS[2] = {{10000, 3600000}, {60000, 86400000}};

/* Re-opens the fixture's store with the two tiers above and the given size cap. */
static void with_tiers(fixture_t *f, int64_t max_mb, int64_t map_mb)
{
    leaf_samples_close(&f->lf);
    memcpy(f->lf.cfg.hist, TIERS, sizeof TIERS);
    f->lf.cfg.n_hist = 2;
    f->lf.cfg.max_mb = max_mb;
    f->lf.cfg.map_size_mb = map_mb;
    open_store(f);
}

/* A minute boundary one hour ahead: buckets there stay open until swept explicitly. */
static int64_t future_base(void)
{
    return (wr_wall_ms() / 60000 + 60) * 60000;
}

/* Closes every open bucket (as time passing would) and writes them. */
static void close_all(fixture_t *f, int64_t after)
{
    leaf_hist_sweep(&f->lf, after + 86400000);
    leaf_samples_flush(&f->lf);
    assert_int_equal(leaf_hist_queued(&f->lf), 0);
}

static json_t *stepped(fixture_t *f, const char *metric, int64_t since, int64_t until, const char *step,
                       int limit, const char *tier)
{
    char args[256], err[256];
    int rc;
    snprintf(args, sizeof args, "{\"metric\":\"%s\",\"since\":%lld,\"until\":%lld,\"step\":%s%s%d}",
             metric, (long long)since, (long long)until, step, limit ? ",\"limit\":" : ",\"x\":", limit);
    json_t *j = query(f, 0, args, &rc, err, sizeof err);
    if (rc)
        fail_msg("%s: %s", args, err);
    assert_string_equal(json_string_value(json_object_get(j, "tier")), tier);
    return j;
}

static void assert_point(json_t *p, int64_t t, int64_t count, double min, double max, double avg)
{
    assert_int_equal(json_integer_value(json_object_get(p, "t")), t);
    assert_int_equal(json_integer_value(json_object_get(p, "count")), count);
    assert_true(json_real_value(json_object_get(p, "min")) == min);
    assert_true(json_real_value(json_object_get(p, "max")) == max);
    double a = json_real_value(json_object_get(p, "avg"));
    if (a < avg - 1e-9 || a > avg + 1e-9)
        fail_msg("avg %g, expected %g", a, avg);
}

/* Gauge: value i every 2 s for 3 minutes from a minute boundary, flushed in small batches. */
static void test_tiers_gauge(void **state)
{
    fixture_t *f = *state;
    with_tiers(f, 0, 16);
    int m = wr_metric_find("memory.total");
    int64_t base = future_base();
    for (int i = 0; i < 90; i++) {
        leaf_samples_add(&f->lf, 0, (uint32_t)m, base + i * 2000, (double)i);
        if (i % 7 == 6)
            leaf_samples_flush(&f->lf);
    }
    leaf_samples_flush(&f->lf);
    /* closed buckets are on disk, the last ones still open in memory */
    assert_true(f->lf.hist_points_written >= 17 + 2);
    json_t *j = stepped(f, "memory.total", base, base + 179999, "10000", 0, "10s");
    json_t *pts = json_object_get(j, "points");
    assert_int_equal(json_array_size(pts), 18);      /* the open bucket is answered too */
    for (int k = 0; k < 18; k++)
        assert_point(json_array_get(pts, (size_t)k), base + k * 10000, 5, 5 * k, 5 * k + 4, 5 * k + 2);
    assert_false(json_is_true(json_object_get(j, "truncated")));
    assert_string_equal(json_string_value(json_object_get(j, "values")), "value");
    json_decref(j);

    close_all(f, base + 180000);
    uint64_t written = f->lf.hist_points_written;
    assert_int_equal(written, 18 + 3);
    /* 1 m tier: 30 samples per bucket */
    j = stepped(f, "memory.total", base, base + 179999, "\"1m\"", 0, "1m");
    pts = json_object_get(j, "points");
    assert_int_equal(json_array_size(pts), 3);
    for (int k = 0; k < 3; k++)
        assert_point(json_array_get(pts, (size_t)k), base + k * 60000, 30, 30 * k, 30 * k + 29, 30 * k + 14.5);
    json_decref(j);
    /* a step between tiers: the 10 s tier re-bucketed by 20 s */
    j = stepped(f, "memory.total", base, base + 179999, "\"20s\"", 0, "10s");
    pts = json_object_get(j, "points");
    assert_int_equal(json_array_size(pts), 9);
    assert_point(json_array_get(pts, 4), base + 80000, 10, 40, 49, 44.5);
    json_decref(j);
    /* a step under the finest tier: raw samples re-bucketed */
    j = stepped(f, "memory.total", base, base + 19999, "\"1s\"", 0, "raw");
    pts = json_object_get(j, "points");
    assert_int_equal(json_array_size(pts), 10);
    assert_point(json_array_get(pts, 3), base + 6000, 1, 3, 3, 3);
    json_decref(j);
    /* truncation keeps the newest */
    j = stepped(f, "memory.total", base, base + 179999, "\"10s\"", 4, "10s");
    pts = json_object_get(j, "points");
    assert_int_equal(json_array_size(pts), 4);
    assert_true(json_is_true(json_object_get(j, "truncated")));
    assert_point(json_array_get(pts, 0), base + 140000, 5, 70, 74, 72);
    json_decref(j);

    /* bucket boundaries: a sample at a bucket's first ms opens the next bucket; a late sample
     * of a written bucket is counted, not merged */
    int64_t b2 = base + 600000;
    leaf_samples_add(&f->lf, 0, (uint32_t)m, b2 + 9999, 1.0);
    leaf_samples_add(&f->lf, 0, (uint32_t)m, b2 + 10000, 100.0);
    leaf_samples_flush(&f->lf);
    leaf_samples_add(&f->lf, 0, (uint32_t)m, b2 + 5000, 7.0);     /* bucket b2 already closed */
    leaf_samples_flush(&f->lf);
    assert_int_equal(f->lf.hist_late, 1);      /* older than the previous sample: refused */
    close_all(f, b2 + 20000);
    j = stepped(f, "memory.total", b2, b2 + 19999, "\"10s\"", 0, "10s");
    pts = json_object_get(j, "points");
    assert_int_equal(json_array_size(pts), 2);
    assert_point(json_array_get(pts, 0), b2, 1, 1, 1, 1);
    assert_point(json_array_get(pts, 1), b2 + 10000, 1, 100, 100, 100);
    json_decref(j);
}

/* Counter: +100 every 2 s (50/s), a reset in the middle: tiers hold per-second rates. */
static void test_tiers_counter(void **state)
{
    fixture_t *f = *state;
    with_tiers(f, 0, 16);
    int m = wr_metric_find("reductions");
    int64_t base = future_base();
    double v = 1000;
    for (int i = 0; i < 30; i++) {
        if (i == 17)
            v = 0;                           /* the node restarted: no rate for this sample */
        leaf_samples_add(&f->lf, 0, (uint32_t)m, base + i * 2000, v);
        v += 100 + (i == 9 ? 100 : 0);       /* one faster step: 200 / 2 s into sample 10 */
    }
    leaf_samples_flush(&f->lf);
    close_all(f, base + 60000);
    json_t *j = stepped(f, "reductions", base, base + 59999, "\"10s\"", 0, "10s");
    assert_string_equal(json_string_value(json_object_get(j, "values")), "rate");
    json_t *pts = json_object_get(j, "points");
    assert_int_equal(json_array_size(pts), 6);
    assert_point(json_array_get(pts, 0), base, 4, 50, 50, 50);                 /* first: no rate */
    assert_point(json_array_get(pts, 2), base + 20000, 5, 50, 100, 60);        /* sample 10 */
    assert_point(json_array_get(pts, 3), base + 30000, 4, 50, 50, 50);         /* 17: reset */
    json_decref(j);
    j = stepped(f, "reductions", base, base + 59999, "\"1m\"", 0, "1m");
    pts = json_object_get(j, "points");
    assert_int_equal(json_array_size(pts), 1);
    assert_point(json_array_get(pts, 0), base, 28, 50, 100, (27 * 50.0 + 100) / 28);
    json_decref(j);
    /* raw: [ts, value, rate] */
    char err[256], args[200];
    int rc;
    snprintf(args, sizeof args, "{\"metric\":\"reductions\",\"since\":%lld,\"until\":%lld,\"limit\":3}",
             (long long)base, (long long)(base + 59999));
    j = query(f, 0, args, &rc, err, sizeof err);
    assert_int_equal(rc, 0);
    pts = json_object_get(j, "points");
    assert_int_equal(json_array_size(pts), 3);
    assert_true(json_is_true(json_object_get(j, "truncated")));
    assert_true(json_real_value(json_array_get(json_array_get(pts, 2), 2)) == 50.0);
    json_decref(j);
    snprintf(args, sizeof args, "{\"metric\":\"reductions\",\"since\":%lld,\"until\":%lld}",
             (long long)base, (long long)(base + 59999));
    j = query(f, 0, args, &rc, err, sizeof err);
    pts = json_object_get(j, "points");
    assert_int_equal(json_array_size(pts), 30);
    assert_false(json_is_true(json_object_get(j, "truncated")));
    assert_true(json_is_null(json_array_get(json_array_get(pts, 0), 2)));
    assert_true(json_is_null(json_array_get(json_array_get(pts, 17), 2)));
    assert_true(json_real_value(json_array_get(json_array_get(pts, 10), 2)) == 100.0);
    json_decref(j);
}

/* A bucket in progress survives a restart: rebuilt from the raw samples, not written twice. */
static void test_tiers_restart(void **state)
{
    fixture_t *f = *state;
    with_tiers(f, 0, 16);
    int m = wr_metric_find("memory.total");
    int64_t base = future_base();
    for (int i = 0; i < 3; i++)
        leaf_samples_add(&f->lf, 0, (uint32_t)m, base + i * 2000, 10.0 + i);
    leaf_samples_flush(&f->lf);
    assert_int_equal(f->lf.hist_points_written, 0);
    leaf_samples_close(&f->lf);          /* as good as a crash: nothing more is written */
    assert_int_equal(f->lf.hist_points_written, 0);
    f->lf.nodes[0].sid = 0;
    open_store(f);
    json_t *p0 = stepped(f, "memory.total", base, base + 9999, "\"10s\"", 0, "10s");
    assert_int_equal(json_array_size(json_object_get(p0, "points")), 1);   /* rebuilt */
    assert_point(json_array_get(json_object_get(p0, "points"), 0), base, 3, 10, 12, 11);
    json_decref(p0);
    for (int i = 3; i < 5; i++)
        leaf_samples_add(&f->lf, 0, (uint32_t)m, base + i * 2000, 10.0 + i);
    leaf_samples_flush(&f->lf);
    close_all(f, base + 10000);
    json_t *j = stepped(f, "memory.total", base, base + 9999, "\"10s\"", 0, "10s");
    json_t *pts = json_object_get(j, "points");
    assert_int_equal(json_array_size(pts), 1);
    assert_point(json_array_get(pts, 0), base, 5, 10, 14, 12);
    json_decref(j);
}

/* Tier state exists only for nodes that sent samples and is freed when the leaf hands a node
 * back to its group (owned = 0); the bucket in progress then is written, not lost, and a
 * node taken back later starts afresh. Counters get leaf-wide rate slots. */
static void test_tiers_lazy_release(void **state)
{
    fixture_t *f = *state;
    with_tiers(f, 0, 16);
    assert_int_equal(leaf_hist_nodes(&f->lf), 0);
    int m = wr_metric_find("memory.total"), r = wr_metric_find("reductions");
    int64_t base = future_base();
    for (int i = 0; i < 3; i++) {
        leaf_samples_add(&f->lf, 1, (uint32_t)m, base + i * 2000, 10.0 + i);
        leaf_samples_add(&f->lf, 1, (uint32_t)r, base + i * 2000, 100.0 * i);
    }
    leaf_samples_flush(&f->lf);
    assert_int_equal(leaf_hist_nodes(&f->lf), 1);            /* node 0 sent nothing */
    assert_int_equal(f->lf.hist_points_written, 0);          /* buckets still open */
    f->lf.nodes[1].owned = 0;                                /* handed back */
    leaf_samples_flush(&f->lf);
    assert_int_equal(leaf_hist_nodes(&f->lf), 0);
    assert_int_equal(f->lf.hist_points_written, 2 * 2);      /* 2 tiers x 2 metrics */
    char args[256], err[256];
    int rc;
    snprintf(args, sizeof args, "{\"metric\":\"memory.total\",\"since\":%lld,\"until\":%lld,\"step\":\"10s\"}",
             (long long)base, (long long)(base + 9999));
    json_t *j = query(f, 1, args, &rc, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_int_equal(json_array_size(json_object_get(j, "points")), 1);
    assert_point(json_array_get(json_object_get(j, "points"), 0), base, 3, 10, 12, 11);
    json_decref(j);
    /* taken back: a fresh bucket (the written one is not reopened: late, counted) */
    f->lf.nodes[1].owned = 1;
    leaf_samples_add(&f->lf, 1, (uint32_t)m, base + 60000, 5.0);
    leaf_samples_flush(&f->lf);
    assert_int_equal(leaf_hist_nodes(&f->lf), 1);
    /* counters: leaf-wide slots, gauges none */
    assert_true(leaf_counter_slot((uint32_t)r) >= 0 && leaf_counter_slot((uint32_t)r) < LEAF_COUNTERS_MAX);
    assert_int_equal(leaf_counter_slot((uint32_t)m), -1);
    size_t with_slot = 0, counters = 0;
    for (size_t k = 0; k < wr_metric_count; k++) {
        with_slot += leaf_counter_slot((uint32_t)k) >= 0;
        counters += wr_metric_defs[k].kind == WR_COUNTER;
    }
    assert_int_equal(with_slot, counters);                   /* every counter has its slot */
}

/* Retention by age per tier, and tier selection by coverage. */
static void test_tiers_retention(void **state)
{
    fixture_t *f = *state;
    with_tiers(f, 0, 16);
    int m = wr_metric_find("memory.total");
    int64_t now = wr_wall_ms();
    int64_t old = (now - 3 * 3600000) / 60000 * 60000, recent = (now - 600000) / 60000 * 60000;
    leaf_samples_add(&f->lf, 0, (uint32_t)m, old, 1.0);
    leaf_samples_add(&f->lf, 0, (uint32_t)m, old + 2000, 3.0);
    leaf_samples_flush(&f->lf);
    leaf_samples_add(&f->lf, 0, (uint32_t)m, recent, 5.0);
    leaf_samples_flush(&f->lf);
    f->lf.hist->last_sweep = 0;
    leaf_samples_flush(&f->lf);          /* the sweep closes the recent bucket (in the past) */
    assert_int_equal(f->lf.hist_points_written, 4);
    leaf_samples_retention(&f->lf);
    assert_int_equal(f->lf.samples_expired, 2);          /* raw keeps 1 h */
    assert_int_equal(f->lf.hist_points_expired, 1);      /* the 10 s tier keeps 1 h */
    /* since 4 h ago: neither raw nor the 10 s tier covers it; 1 m does */
    json_t *j = stepped(f, "memory.total", now - 4 * 3600000, now, "\"1m\"", 0, "1m");
    json_t *pts = json_object_get(j, "points");
    assert_int_equal(json_array_size(pts), 2);
    assert_point(json_array_get(pts, 0), old, 2, 1, 3, 2);
    json_decref(j);
    /* a 10 s step over 4 h: nothing fine enough reaches back further than raw: raw */
    j = stepped(f, "memory.total", now - 4 * 3600000, now, "\"10s\"", 0, "raw");
    assert_int_equal(json_array_size(json_object_get(j, "points")), 1);
    json_decref(j);
    /* 30 min ago with a 5 m step: the coarsest covering tier */
    j = stepped(f, "memory.total", now - 1800000, now, "300000", 0, "1m");
    json_decref(j);
    /* a 1 s step over the last 30 min: raw */
    j = stepped(f, "memory.total", now - 1800000, now, "\"1s\"", 0, "raw");
    assert_int_equal(json_array_size(json_object_get(j, "points")), 1);
    json_decref(j);
}

/* Retention by size: a 1 MB cap in an 8 MB map (80 batches of 500 rows: about 2 MB of rows);
 * the oldest samples go first, counted. */
static void test_size_cap(void **state)
{
    fixture_t *f = *state;
    with_tiers(f, 1, 8);
    int64_t ts = 1000000;
    for (int b = 0; b < 80; b++) {
        for (int i = 0; i < 250; i++, ts += 1000)
            for (uint32_t m = 0; m < 4; m++)
                leaf_samples_add(&f->lf, m % 2, m, ts, (double)ts);
        assert_int_equal(leaf_samples_flush(&f->lf), 1000);
    }
    assert_true(f->lf.samples_pruned_size > 0);
    assert_int_equal(f->lf.samples_pruned, 0);
    assert_int_equal(f->lf.samples_dropped, 0);
    wr_store_info_t info;
    assert_int_equal(wr_store_info(f->lf.store, &info), 0);
    assert_true(raw_estimate(&f->lf, info.entries[LEAF_DB_SAMPLES_IDX]) <= (1u << 20));
    /* every sample is either still stored or counted as pruned */
    count_t c = {0, 0, 0};
    wr_txn_t *txn = NULL;
    assert_int_equal(wr_store_begin(f->lf.store, 0, &txn), 0);
    assert_int_equal(wr_store_scan(txn, f->lf.db_samples, NULL, 0, NULL, 0, count_visit, &c), 0);
    wr_store_abort(&txn);
    assert_int_equal(c.rows, info.entries[LEAF_DB_SAMPLES_IDX]);
    assert_int_equal(c.samples + f->lf.samples_pruned_size, 80000);
    span_t sp;
    assert_int_equal(raw_span(&f->lf, &sp), 0);
    assert_true(sp.oldest > 1000000);
    assert_int_equal(sp.newest, ts - 1000);
}

static void test_bad_args(void **state)
{
    fixture_t *f = *state;
    with_tiers(f, 0, 16);
    static const struct { const char *args, *want; } bad[] = {
        {"{\"metric\":\"uptime\",\"step\":\"abc\"}", "step must be"},
        {"{\"metric\":\"uptime\",\"step\":-5}", "step must be"},
        {"{\"metric\":\"uptime\",\"step\":0}", "step must be"},
        {"{\"metric\":\"uptime\",\"step\":\"5x\"}", "(got \"5x\")"},
        {"{\"metric\":\"uptime\",\"since\":\"yesterday\"}", "since must be"},
        {"{\"metric\":\"uptime\",\"until\":true}", "until must be"},
        {"{\"metric\":\"uptime\",\"step\":1000,\"limit\":10001}", "limit must be an integer in 1..10000"},
        {"{\"metric\":\"uptime\",\"since\":\"1h\",\"until\":\"2h\"}", "is after until"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        int rc;
        assert_null(query(f, 0, bad[i].args, &rc, err, sizeof err));
        assert_int_equal(rc, WR_EINVAL);
        if (!strstr(err, bad[i].want))
            fail_msg("%s: error '%s' lacks '%s'", bad[i].args, err, bad[i].want);
    }
    /* durations relative to now are accepted */
    char err[256];
    int rc;
    json_t *j = query(f, 0, "{\"metric\":\"uptime\",\"since\":\"-2h\",\"step\":\"1m\"}", &rc, err, sizeof err);
    assert_int_equal(rc, 0);
    int64_t since = json_integer_value(json_object_get(j, "since"));
    assert_true(since <= wr_wall_ms() - 7200000 && since > wr_wall_ms() - 7260000);
    assert_string_equal(json_string_value(json_object_get(j, "tier")), "1m");
    json_decref(j);
}

static void test_config(void **state)
{
    (void)state;
    static const struct { const char *text, *want; } cases[] = {
        {"leaf = { store = { history = [\"10s:1h\", \"5s:1d\"]; }; };", "history.[1]: step '5s' is not longer"},
        {"leaf = { store = { history = [\"1m:30s\"]; }; };", "history.[0]: keep '30s' is not longer"},
        {"leaf = { store = { history = [\"abc\"]; }; };", "history.[0]: 'abc' is not STEP:KEEP"},
        {"leaf = { store = { history = [\"500ms:1h\"]; }; };", "at least 1s"},
        {"leaf = { store = { history = [\"1m:1q\"]; }; };", "keep '1q' is not a duration"},
        {"leaf = { store = { max_mb = 4096; }; };", "max_mb: 4096 is not below"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256];
        wr_config_t *c = wr_config_load_string(cases[i].text, "t.conf", err, sizeof err);
        assert_non_null(c);
        leaf_cfg_t out = {.map_size_mb = 1024};
        leaf_hist_config_read(c, &out);
        assert_true(wr_config_error_count(c) > 0);
        const char *e = wr_config_error_at(c, 0);
        if (!strstr(e, cases[i].want) || !strstr(e, "t.conf:1"))
            fail_msg("'%s' lacks '%s'", e, cases[i].want);
        wr_config_destroy(&c);
    }
    char err[256];
    wr_config_t *c = wr_config_load_string("leaf = { store = { max_mb = 64; }; };", "t.conf", err, sizeof err);
    leaf_cfg_t out = {.map_size_mb = 1024};
    leaf_hist_config_read(c, &out);
    assert_int_equal(wr_config_error_count(c), 0);
    assert_int_equal(out.n_hist, 3);
    assert_int_equal(out.hist[2].step_ms, 300000);
    assert_int_equal(out.hist[2].keep_ms, 7 * 86400000LL);
    assert_int_equal(out.max_mb, 64);
    wr_config_destroy(&c);
    c = wr_config_load_string("leaf = { store = { history = []; }; };", "t.conf", err, sizeof err);
    leaf_hist_config_read(c, &out);
    assert_int_equal(wr_config_error_count(c), 0);
    assert_int_equal(out.n_hist, 0);
    wr_config_destroy(&c);
}

int main(void)
{
    wr_log_init("test_leaf_samples", WR_LOG_ERROR, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_map_prunes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tiers_gauge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tiers_counter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tiers_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tiers_lazy_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tiers_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
