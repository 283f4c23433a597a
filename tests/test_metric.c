/* test_metric: the metric catalogue (core/wr_metric.c): every name valid and unique, every
 * entry with a unit and a help line, 100+ entries, lookup by name exact for all of them, and
 * docs/METRICS.md (found relative to this file) naming every metric. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "wr_metric.h"

static void test_names_valid_unique(void **state)
{
    (void)state;
    assert_true(wr_metric_count >= 100);
    for (size_t i = 0; i < wr_metric_count; i++) {
        const wr_metric_def_t *d = &wr_metric_defs[i];
        if (!wr_metric_name_valid(d->name))
            fail_msg("invalid metric name '%s'", d->name);
        if (!d->unit || !d->unit[0] || !d->help || strlen(d->help) < 10)
            fail_msg("metric %s lacks a unit or a help line", d->name);
        assert_true(d->kind == WR_GAUGE || d->kind == WR_COUNTER);
        for (size_t j = 0; j < i; j++)
            if (strcmp(d->name, wr_metric_defs[j].name) == 0)
                fail_msg("metric %s listed twice", d->name);
    }
}

static void test_find(void **state)
{
    (void)state;
    for (size_t i = 0; i < wr_metric_count; i++)
        assert_int_equal(wr_metric_find(wr_metric_defs[i].name), (int)i);
    assert_int_equal(wr_metric_find("no.such.metric"), -1);
    assert_int_equal(wr_metric_find(""), -1);
    assert_int_equal(wr_metric_find(NULL), -1);
    assert_int_equal(wr_metric_find("scheduler.65.run_queue"), -1);
    assert_true(wr_metric_find("scheduler.64.utilization") >= 0);
    assert_true(wr_metric_find("memory.tota") < 0);
    assert_true(wr_metric_find("memory.totalx") < 0);
    /* the families of the issue are all there */
    static const char *const must[] = {
        "memory.total", "memory.area.atom_table", "allocator.total.carriers", "process.count",
        "module.old_code", "run_queue", "scheduler.1.run_queue", "scheduler.utilization",
        "context_switches", "gc.words_reclaimed", "port.tcp", "dist.busy_ports",
        "process.message_queue.max", "process.status.runnable", "shell.history",
        "application.running", "os.load1", "logger.queue", NULL};
    for (int i = 0; must[i]; i++)
        if (wr_metric_find(must[i]) < 0)
            fail_msg("metric %s missing", must[i]);
    assert_int_equal(wr_metric_defs[wr_metric_find("reductions")].kind, WR_COUNTER);
    assert_int_equal(wr_metric_defs[wr_metric_find("process.count")].kind, WR_GAUGE);
}

static void test_name_valid(void **state)
{
    (void)state;
    assert_true(wr_metric_name_valid("a"));
    assert_true(wr_metric_name_valid("scheduler.12.run_queue"));
    assert_false(wr_metric_name_valid(""));
    assert_false(wr_metric_name_valid(".a"));
    assert_false(wr_metric_name_valid("a."));
    assert_false(wr_metric_name_valid("a..b"));
    assert_false(wr_metric_name_valid("Memory.total"));
    assert_false(wr_metric_name_valid("a b"));
    char longname[WR_METRIC_NAME_MAX + 1];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_false(wr_metric_name_valid(longname));
    longname[WR_METRIC_NAME_MAX - 1] = '\0';
    assert_true(wr_metric_name_valid(longname));
}

static char *read_doc(void)
{
    char path[4096];
    const char *here = __FILE__;
    const char *slash = strrchr(here, '/');
    snprintf(path, sizeof path, "%.*s/../docs/METRICS.md", slash ? (int)(slash - here) : 1,
             slash ? here : ".");
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot read %s", path);
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* The doc names every metric as `name`; per-scheduler ones as `scheduler.N.<what>`. */
static void test_doc_lists_every_metric(void **state)
{
    (void)state;
    char *doc = read_doc();
    char want[WR_METRIC_NAME_MAX + 8];
    for (size_t i = 0; i < wr_metric_count; i++) {
        const char *name = wr_metric_defs[i].name;
        snprintf(want, sizeof want, "`%s`", name);
        if (strstr(doc, want))
            continue;
        const char *rest = NULL;
        if (strncmp(name, "scheduler.", 10) == 0) {
            const char *p = name + 10;
            while (*p >= '0' && *p <= '9')
                p++;
            if (p > name + 10 && *p == '.')
                rest = p + 1;
        }
        if (rest) {
            snprintf(want, sizeof want, "`scheduler.N.%s`", rest);
            if (strstr(doc, want))
                continue;
        }
        fail_msg("docs/METRICS.md does not mention `%s`", name);
    }
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_valid_unique),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_name_valid),
        cmocka_unit_test(test_doc_lists_every_metric),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
