/* test_leaf_samples: the leaf's LMDB side (leaf/leaf_samples.c, included directly) on a real
 * LMDB in a mkdtemp directory: batched writes, series ids surviving a reopen, metric queries
 * (limit, window, errors), retention, and a full map that is pruned instead of failing. */
#include "../leaf/leaf_samples.c"

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
    assert_int_not_equal(f->lf.nodes[0].series[m], 0);

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

    /* series ids survive a reopen */
    uint32_t sid = f->lf.nodes[0].series[m];
    leaf_samples_close(&f->lf);
    memset(f->lf.nodes[0].series, 0, sizeof f->lf.nodes[0].series);
    f->lf.next_sid = 0;
    open_store(f);
    assert_int_equal(f->lf.nodes[0].series[m], sid);
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

int main(void)
{
    wr_log_init("test_leaf_samples", WR_LOG_ERROR, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_map_prunes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
