/* test_sim_values: the emulated nodes' workload model (sim/sim_emu_values.c, included
 * directly: it is part of warren-sim, not of a library): every catalogue metric gets a value
 * (per-scheduler ones exactly for the node's schedulers), counters never decrease, gauges stay
 * inside their limits and families agree with their totals, the same inputs give the same
 * values, and a name the model does not know gets a sane value by unit and kind. */
#include "../sim/sim_emu_values.c"
#include "../sim/sim_antfarm.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>

static double value_of(uint64_t seed, uint32_t idx, const sim_emu_sample_t *s, const char *name, int *present)
{
    int k = wr_metric_find(name);
    double v = -1;
    int is_int;
    *present = k >= 0 && sim_emu_values_metric(seed, idx, s, &wr_metric_defs[k], &v, &is_int);
    return v;
}

static double need(uint64_t seed, uint32_t idx, const sim_emu_sample_t *s, const char *name)
{
    int present;
    double v = value_of(seed, idx, s, name, &present);
    if (wr_metric_find(name) < 0)
        return NAN;                                  /* not catalogued in this build */
    if (!present)
        fail_msg("%s has no value", name);
    return v;
}

static void every_metric_has_a_value(void **state)
{
    (void)state;
    for (uint32_t idx = 0; idx < 50; idx++) {
        sim_emu_sample_t s;
        sim_emu_values_sample(9, idx, 12345, &s);
        assert_true(s.schedulers == 4 || s.schedulers == 8);
        for (size_t k = 0; k < wr_metric_count; k++) {
            const char *name = wr_metric_defs[k].name;
            double v;
            int is_int, got = sim_emu_values_metric(9, idx, &s, &wr_metric_defs[k], &v, &is_int);
            int sched = 0;
            if (!strncmp(name, "scheduler.", 10) && name[10] >= '0' && name[10] <= '9')
                sched = atoi(name + 10);
            if (sched > s.schedulers) {
                assert_int_equal(got, 0);
                continue;
            }
            if (!got)
                fail_msg("node %u: no value for %s", idx, name);
            assert_true(isfinite(v));
            assert_true(v >= 0);
            if (is_int)
                assert_true(v == floor(v));
        }
    }
}

static void counters_never_decrease(void **state)
{
    (void)state;
    for (uint32_t idx = 0; idx < 20; idx++) {
        double prev[1024];
        assert_true(wr_metric_count <= 1024);
        for (int64_t t = 0; t <= 3600 * 1000; t += 7919) {
            sim_emu_sample_t s;
            sim_emu_values_sample(3, idx, t, &s);
            for (size_t k = 0; k < wr_metric_count; k++) {
                if (wr_metric_defs[k].kind != WR_COUNTER && strcmp(wr_metric_defs[k].name, "uptime") != 0)
                    continue;
                double v;
                int is_int;
                if (!sim_emu_values_metric(3, idx, &s, &wr_metric_defs[k], &v, &is_int))
                    continue;
                if (t > 0 && v < prev[k])
                    fail_msg("node %u: counter %s went from %.0f to %.0f at %lld ms", idx,
                             wr_metric_defs[k].name, prev[k], v, (long long)t);
                prev[k] = v;
            }
        }
    }
}

static void families_agree(void **state)
{
    (void)state;
    for (uint32_t idx = 0; idx < 100; idx++) {
        for (int64_t t = 0; t < 600000; t += 60013) {
            sim_emu_sample_t s;
            sim_emu_values_sample(5, idx, t, &s);
            uint64_t seed = 5;
            assert_true(need(seed, idx, &s, "memory.total") ==
                        need(seed, idx, &s, "memory.processes") + need(seed, idx, &s, "memory.system"));
            assert_true(need(seed, idx, &s, "memory.processes_used") <= need(seed, idx, &s, "memory.processes"));
            assert_true(need(seed, idx, &s, "process.count") < need(seed, idx, &s, "process.limit"));
            assert_true(need(seed, idx, &s, "port.count") < need(seed, idx, &s, "port.limit"));
            assert_true(need(seed, idx, &s, "ets.count") < need(seed, idx, &s, "ets.limit"));
            double rq = 0, usum = 0;
            for (int k = 1; k <= s.schedulers; k++) {
                char n1[64], n2[64];
                snprintf(n1, sizeof n1, "scheduler.%d.run_queue", k);
                snprintf(n2, sizeof n2, "scheduler.%d.utilization", k);
                rq += need(seed, idx, &s, n1);
                double u = need(seed, idx, &s, n2);
                assert_true(u >= 0 && u <= 100);
                usum += u;
            }
            assert_true(rq == need(seed, idx, &s, "run_queue"));
            assert_true(fabs(usum / s.schedulers - need(seed, idx, &s, "scheduler.utilization")) < 1e-6);
            double states = 0;
            static const char *const st[] = {"running", "runnable", "waiting", "garbage_collecting",
                                             "suspended", "exiting"};
            for (int k = 0; k < 6; k++) {
                char n[64];
                snprintf(n, sizeof n, "process.status.%s", st[k]);
                states += need(seed, idx, &s, n);
            }
            assert_true(states == need(seed, idx, &s, "process.count"));
            assert_true(need(seed, idx, &s, "port.tcp") + need(seed, idx, &s, "port.udp") +
                        need(seed, idx, &s, "port.sctp") + need(seed, idx, &s, "port.file") +
                        need(seed, idx, &s, "port.other") == need(seed, idx, &s, "port.count"));
            assert_true(need(seed, idx, &s, "process.message_queue.max") <=
                        need(seed, idx, &s, "process.message_queue.sum"));
            assert_true(need(seed, idx, &s, "os.memory.free_memory") <= need(seed, idx, &s, "os.memory.available_memory"));
            assert_true(need(seed, idx, &s, "os.memory.available_memory") <= need(seed, idx, &s, "os.memory.total_memory"));
            assert_true(need(seed, idx, &s, "application.running") <= need(seed, idx, &s, "application.loaded"));
            assert_true(need(seed, idx, &s, "system.schedulers") == s.schedulers);
            assert_true(need(seed, idx, &s, "active_tasks") >= need(seed, idx, &s, "run_queue"));
            /* allocators: the blocks of every allocator sum to memory.total (give or take flooring) */
            double blocks = 0;
            int nalloc = 0;
            for (size_t k = 0; k < wr_metric_count; k++) {
                const char *n = wr_metric_defs[k].name;
                size_t l = strlen(n);
                if (strncmp(n, "allocator.", 10) || strncmp(n + 10, "total.", 6) == 0 || l < 7 ||
                    strcmp(n + l - 7, ".blocks"))
                    continue;
                double b = need(seed, idx, &s, n), c;
                char cn[WR_METRIC_NAME_MAX + 8];
                snprintf(cn, sizeof cn, "%.*s.carriers", (int)(l - 7), n);
                if (wr_metric_find(cn) >= 0 && (c = need(seed, idx, &s, cn)) < b)
                    fail_msg("%s %.0f < %s %.0f", cn, c, n, b);
                blocks += b;
                nalloc++;
            }
            if (nalloc > 0 && wr_metric_find("allocator.total.blocks") >= 0)
                assert_true(fabs(blocks - need(seed, idx, &s, "allocator.total.blocks")) <= nalloc + 1);
        }
    }
}

static void deterministic(void **state)
{
    (void)state;
    sim_emu_sample_t a, b, c;
    sim_emu_values_sample(11, 77, 424242, &a);
    sim_emu_values_sample(11, 77, 424242, &b);
    sim_emu_values_sample(12, 77, 424242, &c);
    int differs = 0;
    for (size_t k = 0; k < wr_metric_count; k++) {
        double va, vb, vc;
        int ia, ib, ic;
        int ga = sim_emu_values_metric(11, 77, &a, &wr_metric_defs[k], &va, &ia);
        int gb = sim_emu_values_metric(11, 77, &b, &wr_metric_defs[k], &vb, &ib);
        assert_int_equal(ga, gb);
        if (ga)
            assert_true(va == vb);
        if (ga && sim_emu_values_metric(12, 77, &c, &wr_metric_defs[k], &vc, &ic) && vc != va)
            differs++;
    }
    assert_true(differs > 20);                       /* another seed, another fleet */
}

static void unknown_names_get_defaults(void **state)
{
    (void)state;
    const wr_metric_def_t bytes_g = {"future.thing.size", "bytes", WR_GAUGE, ""};
    const wr_metric_def_t pct = {"future.thing.busy", "percent", WR_GAUGE, ""};
    const wr_metric_def_t odd = {"future.thing.widgets", "widgets", WR_GAUGE, ""};
    const wr_metric_def_t lim = {"future.thing.limit", "bytes", WR_GAUGE, ""};
    const wr_metric_def_t ctr = {"future.thing.events", "events", WR_COUNTER, ""};
    double last = -1, first_limit = -1;
    for (int64_t t = 0; t < 7200000; t += 30011) {
        sim_emu_sample_t s;
        sim_emu_values_sample(1, 3, t, &s);
        double v;
        int is_int;
        assert_int_equal(sim_emu_values_metric(1, 3, &s, &bytes_g, &v, &is_int), 1);
        assert_true(v >= 1e4 && v <= 1e8 && is_int);
        assert_int_equal(sim_emu_values_metric(1, 3, &s, &pct, &v, &is_int), 1);
        assert_true(v >= 0 && v <= 100 && !is_int);
        assert_int_equal(sim_emu_values_metric(1, 3, &s, &odd, &v, &is_int), 1);
        assert_true(v >= 0 && v <= 100);
        assert_int_equal(sim_emu_values_metric(1, 3, &s, &lim, &v, &is_int), 1);
        if (first_limit < 0)
            first_limit = v;
        assert_true(v == first_limit);               /* limits do not move */
        assert_int_equal(sim_emu_values_metric(1, 3, &s, &ctr, &v, &is_int), 1);
        assert_true(v >= last);
        last = v;
    }
    assert_true(last > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_metric_has_a_value),
        cmocka_unit_test(counters_never_decrease),
        cmocka_unit_test(families_agree),
        cmocka_unit_test(deterministic),
        cmocka_unit_test(unknown_names_get_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
