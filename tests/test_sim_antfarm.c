/* test_sim_antfarm: warren-sim's ant-farm workload (sim/sim_antfarm.c), the fault effects
 * (sim/sim_inject.c) and scenario parsing (sim/sim_scenario.c), all pure, included directly
 * (they are part of warren-sim, not of a library): one seed gives one series, iterations move
 * ants / reductions / queues / the pheromone table as documented, families stay consistent,
 * counters never decrease, restarts reset uptime and counters, and each fault changes the
 * values it should. */
#include "../sim/sim_emu_values.c"
#include "../sim/sim_antfarm.c"
#include "../sim/sim_inject.c"
#include "../sim/sim_scenario.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <unistd.h>

static double metric(uint64_t seed, uint32_t idx, const sim_emu_sample_t *s, const char *name)
{
    int k = wr_metric_find(name), is_int;
    double v = -1;
    if (k < 0 || !sim_emu_values_metric(seed, idx, s, &wr_metric_defs[k], &v, &is_int))
        fail_msg("%s has no value", name);
    return v;
}

static void af(uint64_t seed, uint32_t idx, int64_t ms, sim_emu_sample_t *s)
{
    sim_emu_values_at(seed, SIM_WORKLOAD_ANTFARM, idx, ms, NULL, s);
}

static void same_seed_same_series(void **state)
{
    (void)state;
    for (int64_t t = 0; t < 120000; t += 250) {
        sim_emu_sample_t a, b;
        af(7, 42, t, &a);
        af(7, 42, t, &b);
        assert_memory_equal(&a, &b, sizeof a);
    }
    sim_emu_sample_t a, c;
    af(7, 42, 33333, &a);
    af(8, 42, 33333, &c);
    assert_true(a.reductions != c.reductions || a.process_count != c.process_count);
    assert_int_equal(a.workload, SIM_WORKLOAD_ANTFARM);
}

static void iterations_move_the_node(void **state)
{
    (void)state;
    sim_antfarm_shape_t sh;
    sim_antfarm_shape(3, 5, &sh);
    assert_true(sh.period_s >= 3.0 && sh.period_s <= 6.0);
    int64_t min_procs = INT64_MAX, max_procs = 0, max_master = 0, it_last = -1, saw_zero_ants = 0;
    int64_t ph_prev = -1, ph_at_10 = 0, ph_at_60 = 0, ph_at_120 = 0;
    double rate_min = 1e300, rate_max = 0;
    sim_emu_sample_t prev;
    af(3, 5, 0, &prev);
    for (int64_t t = 100; t <= 600000; t += 100) {
        sim_emu_sample_t s;
        af(3, 5, t, &s);
        if (s.process_count < min_procs) min_procs = s.process_count;
        if (s.process_count > max_procs) max_procs = s.process_count;
        if (s.aco_master_queue > max_master) max_master = s.aco_master_queue;
        if (s.aco_ants == 0) saw_zero_ants = 1;
        assert_true(s.aco_iteration >= it_last);
        it_last = s.aco_iteration;
        assert_true(s.aco_pheromone_bytes >= ph_prev);   /* grows, never shrinks */
        ph_prev = s.aco_pheromone_bytes;
        if (s.aco_iteration == 10 && !ph_at_10) ph_at_10 = s.aco_pheromone_bytes;
        if (s.aco_iteration == 60 && !ph_at_60) ph_at_60 = s.aco_pheromone_bytes;
        if (s.aco_iteration == 120 && !ph_at_120) ph_at_120 = s.aco_pheromone_bytes;
        double rate = (double)(s.reductions - prev.reductions) / 0.1;
        if (rate < rate_min) rate_min = rate;
        if (rate > rate_max) rate_max = rate;
        assert_true(s.reductions >= prev.reductions && s.runtime_ms >= prev.runtime_ms &&
                    s.io_input >= prev.io_input && s.gc_count >= prev.gc_count);
        assert_true(s.runtime_ms <= s.wall_clock_ms * s.schedulers);
        prev = s;
    }
    assert_true(it_last >= 600 / 6 - 1);                /* an iteration every few seconds */
    assert_true(saw_zero_ants);                         /* ants die at the end of each iteration */
    assert_true(max_procs - min_procs >= 20);           /* ... and are spawned again */
    assert_true(max_master >= 10);                      /* the master's queue fills */
    assert_true(rate_max > 3 * rate_min);               /* reductions burst */
    assert_true(ph_at_10 > 0 && ph_at_60 > ph_at_10);
    assert_true((double)(ph_at_120 - ph_at_60) < 0.1 * (double)ph_at_60);   /* plateau */
}

static void families_consistent(void **state)
{
    (void)state;
    for (uint32_t idx = 0; idx < 40; idx++)
        for (int64_t t = 0; t < 90000; t += 1237) {
            sim_emu_sample_t s;
            af(5, idx, t, &s);
            assert_true(metric(5, idx, &s, "memory.total") ==
                        metric(5, idx, &s, "memory.processes") + metric(5, idx, &s, "memory.system"));
            assert_true(s.mem_system == s.mem_atom + s.mem_binary + s.mem_code + s.mem_ets + s.mem_other);
            assert_true(s.mem_processes_used <= s.mem_processes);
            assert_true(s.mem_ets >= s.aco_pheromone_bytes);
            assert_true(metric(5, idx, &s, "process.message_queue.max") <= metric(5, idx, &s, "process.message_queue.sum"));
            assert_true(s.msgq_max >= s.aco_master_queue && s.msgq_max >= s.aco_colony_queue &&
                        s.msgq_max >= s.logger_queue);
            int64_t rq = 0;
            for (int k = 0; k < s.schedulers; k++)
                rq += s.sched_run_queue[k];
            assert_int_equal(rq, s.run_queue);
            assert_true(s.util >= 0 && s.util <= 1);
            assert_true(s.process_count >= s.aco_ants + s.aco_colonies);
            double states = 0;
            static const char *const st[] = {"running", "runnable", "waiting", "garbage_collecting",
                                             "suspended", "exiting"};
            for (int k = 0; k < 6; k++) {
                char n[64];
                snprintf(n, sizeof n, "process.status.%s", st[k]);
                states += metric(5, idx, &s, n);
            }
            assert_true(states == (double)s.process_count);
        }
}

static void restart_resets_uptime_and_counters(void **state)
{
    (void)state;
    sim_emu_sample_t before, after;
    sim_emu_life_t life = {1, 50000};
    af(2, 9, 49000, &before);
    sim_emu_values_at(2, SIM_WORKLOAD_ANTFARM, 9, 52000, &life, &after);
    assert_int_equal(after.wall_clock_ms, SIM_EMU_BOOT_MS + 2000);
    assert_true(before.wall_clock_ms > 600000);
    assert_true(after.reductions < before.reductions);
    assert_true(after.aco_iteration <= 1);
    sim_emu_values_at(2, SIM_WORKLOAD_PLAIN, 9, 52000, &life, &after);
    assert_int_equal(after.wall_clock_ms, SIM_EMU_BOOT_MS + 2000);
}

static void plain_workload_still_there(void **state)
{
    (void)state;
    int w = -1;
    assert_int_equal(sim_emu_values_workload("plain", &w), 0);
    assert_int_equal(w, SIM_WORKLOAD_PLAIN);
    assert_int_equal(sim_emu_values_workload("antfarm", &w), 0);
    assert_int_equal(w, SIM_WORKLOAD_ANTFARM);
    assert_int_equal(sim_emu_values_workload("bogus", &w), -1);
    sim_emu_sample_t a, b;
    sim_emu_values_sample(4, 4, 1000, &a);
    sim_emu_values_at(4, SIM_WORKLOAD_PLAIN, 4, 1000, NULL, &b);
    assert_memory_equal(&a, &b, sizeof a);
}

/* ---- faults ---------------------------------------------------------------------------- */

static void faulted(int fault, int64_t at, int64_t dur, int64_t now, sim_emu_sample_t *base, sim_emu_sample_t *s)
{
    sim_inject_faults_t f;
    sim_inject_init(&f);
    af(1, 17, now, base);
    *s = *base;
    assert_int_equal(sim_inject_start(&f, fault, at, dur, NULL), 0);
    sim_inject_apply(&f, now, s);
}

static void fault_names(void **state)
{
    (void)state;
    for (int k = 0; k < SIM_FAULT_COUNT; k++)
        assert_int_equal(sim_inject_parse(sim_inject_name(k)), k);
    assert_int_equal(sim_inject_parse("nope"), -1);
    assert_null(sim_inject_name(SIM_FAULT_COUNT));
    assert_true(sim_inject_valid_arg("ant_stats"));
    assert_false(sim_inject_valid_arg("Ant"));
    assert_false(sim_inject_valid_arg("a b"));
    assert_false(sim_inject_valid_arg(""));
    sim_inject_faults_t f;
    sim_inject_init(&f);
    assert_int_equal(sim_inject_start(&f, SIM_FAULT_MQUEUE_FLOOD, 0, 0, "Bad Name"), WR_EINVAL);
    assert_int_equal(sim_inject_start(&f, 99, 0, 0, NULL), WR_EINVAL);
}

static void mqueue_flood_tops_the_queues(void **state)
{
    (void)state;
    sim_emu_sample_t b, s;
    faulted(SIM_FAULT_MQUEUE_FLOOD, 1000, 0, 11000, &b, &s);
    assert_true(s.flood_queue >= 10000);
    assert_int_equal(s.msgq_max, s.flood_queue);
    assert_int_equal(s.msgq_who, SIM_MQ_FLOOD);
    assert_string_equal(s.flood_name, "ant_stats");
    assert_true(s.msgq_total >= b.msgq_total + s.flood_queue);
    assert_true(s.mem_total > b.mem_total);
    assert_true(s.mem_total == s.mem_processes + s.mem_system);
    /* ended: back to the model */
    faulted(SIM_FAULT_MQUEUE_FLOOD, 1000, 5000, 11000, &b, &s);
    assert_int_equal(s.flood_queue, 0);
    assert_int_equal(s.msgq_max, b.msgq_max);
}

static void atom_leak_never_shrinks(void **state)
{
    (void)state;
    sim_inject_faults_t f;
    sim_inject_init(&f);
    assert_int_equal(sim_inject_start(&f, SIM_FAULT_ATOM_LEAK, 0, 0, NULL), 0);
    int64_t last = 0;
    for (int64_t t = 0; t <= 20000; t += 500) {
        sim_emu_sample_t s;
        af(1, 3, t, &s);
        int64_t base = s.atom_count;
        sim_inject_apply(&f, t, &s);
        assert_int_equal(s.atom_count - base, (t < 10000 ? t : 10000) * SIM_ATOM_LEAK_RATE / 1000);
        assert_true(s.atom_count >= last);
        assert_int_equal(s.mem_atom, 100000 + s.atom_count * 19);
        last = s.atom_count;
        if (t == 10000)
            assert_int_equal(sim_inject_clear(&f, SIM_FAULT_ATOM_LEAK, t), 1);
    }
    /* cleared at 10 s: the 10,000 atoms stay; a second leak adds to them */
    assert_int_equal(sim_inject_start(&f, SIM_FAULT_ATOM_LEAK, 30000, 2000, NULL), 0);
    sim_emu_sample_t s;
    af(1, 3, 40000, &s);
    int64_t base = s.atom_count;
    sim_inject_apply(&f, 40000, &s);
    assert_int_equal(s.atom_count - base, 12000);
}

static void other_value_faults(void **state)
{
    (void)state;
    sim_emu_sample_t b, s;
    faulted(SIM_FAULT_MEMORY_GROWTH, 0, 0, 10000, &b, &s);
    assert_true(s.mem_total >= b.mem_total + 10LL * SIM_MEM_GROWTH_RATE - 1);
    assert_true(s.leak_proc_bytes > 0 && s.mem_processes_used <= s.mem_processes);
    faulted(SIM_FAULT_BUSY_DIST_PORT, 0, 0, 4000, &b, &s);
    assert_int_equal(s.dist_busy_ports, 1);
    assert_true(s.dist_queue_bytes >= SIM_DIST_BUSY_LIMIT && s.dist_queue_bytes_max >= SIM_DIST_BUSY_LIMIT);
    assert_true(metric(1, 17, &s, "dist.busy_ports") == 1);
    assert_true(metric(1, 17, &s, "dist.queue_bytes") >= metric(1, 17, &s, "dist.busy_limit"));
    faulted(SIM_FAULT_LOG_STORM, 0, 0, 10000, &b, &s);
    assert_true(s.logger_queue >= 10 * SIM_LOG_STORM_RATE);
    assert_true(metric(1, 17, &s, "logger.queue") == (double)s.logger_queue);
    assert_int_equal(s.msgq_who, SIM_MQ_LOGGER);
    assert_true(s.msgq_total >= s.msgq_max);
    /* behaviours, not values: no value changes */
    int behaviours[] = {SIM_FAULT_SILENT, SIM_FAULT_MODULE_CLASH};
    for (int k = 0; k < 2; k++) {
        faulted(behaviours[k], 0, 0, 5000, &b, &s);
        assert_memory_equal(&b, &s, sizeof s);
    }
    sim_inject_faults_t f;
    sim_inject_init(&f);
    sim_inject_start(&f, SIM_FAULT_CRASH, 1000, 0, NULL);
    assert_true(sim_inject_active(&f, SIM_FAULT_CRASH, 1000 + SIM_CRASH_DEFAULT_MS - 1));
    assert_false(sim_inject_active(&f, SIM_FAULT_CRASH, 1000 + SIM_CRASH_DEFAULT_MS));
    sim_inject_start(&f, SIM_FAULT_SILENT, 0, 3000, NULL);
    assert_true(sim_inject_active(&f, SIM_FAULT_SILENT, 2999));
    assert_false(sim_inject_active(&f, SIM_FAULT_SILENT, 3000));
}

/* ---- scenarios ------------------------------------------------------------------------- */

static void scenario_lines(void **state)
{
    (void)state;
    sim_scenario_entry_t e;
    char err[256];
    e.line = 3;
    assert_int_equal(sim_scenario_parse_line("at 30s node sim00042@127.0.0.1 mqueue_flood for 60s", &e, err, sizeof err), 0);
    assert_int_equal(e.at_ms, 30000);
    assert_int_equal(e.duration_ms, 60000);
    assert_int_equal(e.fault, SIM_FAULT_MQUEUE_FLOOD);
    assert_string_equal(e.node, "sim00042@127.0.0.1");
    assert_int_equal(e.line, 3);
    assert_int_equal(sim_scenario_parse_line("at 2m node a@h mqueue_flood proc my_srv  # c", &e, err, sizeof err), 0);
    assert_string_equal(e.arg, "my_srv");
    assert_int_equal(e.at_ms, 120000);
    assert_int_equal(sim_scenario_parse_line("at 500ms node a@h clear all", &e, err, sizeof err), 0);
    assert_true(e.clear && e.fault == -1 && e.at_ms == 500);
    assert_int_equal(sim_scenario_parse_line("   # only a comment", &e, err, sizeof err), 1);
    assert_int_equal(sim_scenario_parse_line("", &e, err, sizeof err), 1);
    static const struct { const char *line, *want; } bad[] = {
        {"at 30s node a@h explode", "unknown fault"},
        {"at soon node a@h crash", "time"},
        {"at 30s node nohost crash", "node"},
        {"at 30s node a@h crash for 0s", "duration"},
        {"at 30s node a@h crash for", "needs a value"},
        {"at 30s node a@h crash proc x", "unexpected"},
        {"in 30s node a@h crash", "expected"},
        {"at 2d node a@h crash", "time"},
        {"at 30s node a@h clear", "expected"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        err[0] = '\0';
        if (sim_scenario_parse_line(bad[k].line, &e, err, sizeof err) != WR_EINVAL || !strstr(err, bad[k].want))
            fail_msg("'%s' gave '%s', wanted '%s'", bad[k].line, err, bad[k].want);
    }
    assert_int_equal(sim_scenario_node_index("sim00042@127.0.0.1", "sim", "127.0.0.1"), 42);
    assert_int_equal(sim_scenario_node_index("sim0042@127.0.0.1", "sim", "127.0.0.1"), -1);
    assert_int_equal(sim_scenario_node_index("sim00042@other", "sim", "127.0.0.1"), -1);
}

static void scenario_files(void **state)
{
    (void)state;
    char path[] = "/tmp/test_sim_antfarm.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char good[] = "# faults\nat 20s node sim00001@127.0.0.1 crash for 5s\n\n"
                        "at 10s node sim00002@127.0.0.1 atom_leak\nat 10s node sim00003@127.0.0.1 silent\n";
    assert_int_equal(write(fd, good, sizeof good - 1), (ssize_t)(sizeof good - 1));
    close(fd);
    sim_scenario_t *sc = NULL;
    char err[512];
    assert_int_equal(sim_scenario_load(path, &sc, err, sizeof err), 0);
    assert_int_equal(sim_scenario_count(sc), 3);
    assert_int_equal(sim_scenario_entry(sc, 0)->line, 4);   /* sorted by time, then line */
    assert_int_equal(sim_scenario_entry(sc, 1)->line, 5);
    assert_int_equal(sim_scenario_entry(sc, 2)->line, 2);
    assert_null(sim_scenario_entry(sc, 3));
    sim_scenario_destroy(&sc);
    assert_null(sc);
    FILE *f = fopen(path, "w");
    fputs("at 1s node sim00001@127.0.0.1 crash\nat 2s node sim00001@127.0.0.1 melt\n", f);
    fclose(f);
    assert_int_equal(sim_scenario_load(path, &sc, err, sizeof err), WR_EINVAL);
    assert_null(sc);
    char want[600];
    snprintf(want, sizeof want, "%s:2: error: unknown fault 'melt'", path);
    assert_non_null(strstr(err, want));
    char abs[PATH_MAX];
    f = fopen(path, "w");
    fputs("at 1s node sim00099@127.0.0.1 crash\n", f);
    fclose(f);
    assert_int_equal(sim_scenario_check(path, 50, abs, sizeof abs), -1);
    assert_int_equal(sim_scenario_check(path, 100, abs, sizeof abs), 0);
    assert_string_equal(abs, path);
    unlink(path);
    assert_int_equal(sim_scenario_load(path, &sc, err, sizeof err), WR_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_seed_same_series),
        cmocka_unit_test(iterations_move_the_node),
        cmocka_unit_test(families_consistent),
        cmocka_unit_test(restart_resets_uptime_and_counters),
        cmocka_unit_test(plain_workload_still_there),
        cmocka_unit_test(fault_names),
        cmocka_unit_test(mqueue_flood_tops_the_queues),
        cmocka_unit_test(atom_leak_never_shrinks),
        cmocka_unit_test(other_value_faults),
        cmocka_unit_test(scenario_lines),
        cmocka_unit_test(scenario_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
