/* test_leaf_alarms: the leaf's node alarm checks (leaf/leaf_alarms.c and leaf_alarms_config.c,
 * included directly; the event outlet and the node lookup are stubbed and record what they
 * get). Synthetic samples for one node check every boundary: process_limit 70/85 with its
 * hysteresis (65/80), no flapping while hovering, escalation and de-escalation; message_queue
 * naming the process, moving to another process, and the system-process note; node_down only
 * after the grace; limit_forecast on an atom leak long before 70%; a refused push retried;
 * a restart that reloads what was reported from a real LMDB (and clears a node that is gone);
 * a released node; the system monitor rate alarms from the agent's counts (and the parsing of
 * collect's Info, leaf/leaf_parse.c); the config section with its errors; fd_limit and
 * full_mesh_size; the list alarms of leaf_alarms_node.c (config files, beam_alarm), their
 * reload after a restart and the "fds" forecast. */
#include "../leaf/leaf_alarms.c"
#include "../leaf/leaf_alarms_config.c"
#include "../leaf/leaf_alarms_node.c"
#include "../leaf/leaf_owned.c"
#include "../leaf/leaf_parse.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>
#include <cmocka.h>
#include "wr_config.h"

/* ---- stubs -------------------------------------------------------------------------------- */

#define REC_MAX 64
static struct {
    wr_alarm_event_t ev[REC_MAX];
    size_t n;
    int    fail;          /* refuse the next pushes */
    size_t refused;
} rec;

int leaf_events_push(leaf_t *lf, wr_event_t *ev)
{
    (void)lf;
    assert_int_equal(ev->kind, WR_MSG_ALARM);
    assert_int_equal(wr_alarm_event_check(&ev->alarm), 0);
    if (rec.fail) {
        rec.fail--;
        rec.refused++;
        return WR_EFULL;
    }
    assert_true(rec.n < REC_MAX);
    rec.ev[rec.n++] = ev->alarm;
    return 0;
}

leaf_node_t *leaf_node_find(leaf_t *lf, const char *name, size_t len)
{
    for (size_t i = 0; i < lf->n_nodes; i++)
        if (strlen(lf->nodes[i].name) == len && memcmp(lf->nodes[i].name, name, len) == 0)
            return &lf->nodes[i];
    return NULL;
}

/* ---- fixture ------------------------------------------------------------------------------ */

typedef struct {
    leaf_t        lf;
    leaf_sample_t samples[64];
    char          dir[64];
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    snprintf(f->lf.cfg.id, sizeof f->lf.cfg.id, "leaf-t");
    f->lf.cfg.interval = 1.0;
    leaf_alarms_config_default(&f->lf.cfg.alarms);
    f->lf.n_nodes = 2;
    f->lf.nodes = calloc(2, sizeof *f->lf.nodes);
    for (uint32_t i = 0; i < 2; i++) {
        snprintf(f->lf.nodes[i].name, WR_NODE_NAME_MAX, i ? "b@h" : "a@h");
        f->lf.nodes[i].idx = i;
        f->lf.nodes[i].owned = 1;
        f->lf.nodes[i].state = WR_NODE_UP;
    }
    f->lf.pending = f->samples;
    memset(&rec, 0, sizeof rec);
    char err[256];
    assert_int_equal(leaf_alarms_init(&f->lf, err, sizeof err), 0);
    *state = f;
    return 0;
}

static void rm_store(fx_t *f)
{
    if (!f->dir[0])
        return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
}

static int teardown(void **state)
{
    fx_t *f = *state;
    leaf_alarms_fini(&f->lf);
    wr_store_destroy(&f->lf.store);
    rm_store(f);
    free(f->lf.nodes);
    free(f->lf.owned_list);
    free(f);
    return 0;
}

/* One round of node a: NULL-terminated (name, value) pairs at time ts (ms). */
static size_t round_at(fx_t *f, int64_t ts, ...)
{
    va_list ap;
    va_start(ap, ts);
    f->lf.n_pending = 0;
    const char *name;
    while ((name = va_arg(ap, const char *)) != NULL) {
        double v = va_arg(ap, double);
        int m = wr_metric_find(name);
        assert_true(m >= 0);
        f->samples[f->lf.n_pending++] = (leaf_sample_t){0, (uint32_t)m, ts, v};
    }
    va_end(ap);
    f->lf.nodes[0].round_ts = ts;
    size_t before = rec.n;
    leaf_alarms_eval(&f->lf, ts);
    f->lf.n_pending = 0;
    return rec.n - before;
}

static size_t procs(fx_t *f, int64_t ts, double count)
{
    return round_at(f, ts, "process.count", count, "process.limit", 1000.0, (char *)NULL);
}

static const wr_alarm_event_t *last(void)
{
    assert_true(rec.n > 0);
    return &rec.ev[rec.n - 1];
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_process_limit_hysteresis(void **state)
{
    fx_t *f = *state;
    int64_t t = 1000000;
    assert_int_equal(procs(f, t += 1000, 690), 0);       /* 69%: nothing */
    assert_int_equal(procs(f, t += 1000, 700), 1);       /* 70%: minor */
    assert_string_equal(last()->key.type, "process_limit");
    assert_string_equal(last()->key.scope, "a@h");
    assert_string_equal(last()->key.resource, "");
    assert_string_equal(last()->origin, "leaf-t");
    assert_int_equal(last()->severity, WR_SEV_MINOR);
    assert_non_null(strstr(last()->text, "processes 700/1,000 (70.0% of the limit)"));
    /* hovering between 65 and 85 changes nothing */
    for (int i = 0; i < 6; i++)
        assert_int_equal(procs(f, t += 1000, i % 2 ? 710 : 660), 0);
    assert_int_equal(procs(f, t += 1000, 849), 0);
    assert_int_equal(procs(f, t += 1000, 850), 1);       /* 85%: escalate */
    assert_int_equal(last()->severity, WR_SEV_MAJOR);
    for (int i = 0; i < 6; i++)                          /* 80..85 hovering: stays major */
        assert_int_equal(procs(f, t += 1000, i % 2 ? 860 : 800), 0);
    assert_int_equal(procs(f, t += 1000, 799), 1);       /* < 80: de-escalate */
    assert_int_equal(last()->severity, WR_SEV_MINOR);
    assert_int_equal(procs(f, t += 1000, 650), 0);       /* 65 is not below 65 */
    assert_int_equal(procs(f, t += 1000, 649), 1);       /* < 65: clear */
    assert_int_equal(last()->severity, WR_SEV_CLEARED);
    assert_string_equal(last()->key.type, "process_limit");
    /* straight to major and straight back to clear */
    assert_int_equal(procs(f, t += 1000, 900), 1);
    assert_int_equal(last()->severity, WR_SEV_MAJOR);
    assert_int_equal(procs(f, t += 1000, 100), 1);
    assert_int_equal(last()->severity, WR_SEV_CLEARED);
    /* a round without the metric changes nothing */
    assert_int_equal(round_at(f, t += 1000, "uptime", 5.0, (char *)NULL), 0);
    leaf_alarms_stats_t st;
    leaf_alarms_stats(&f->lf, &st);
    assert_int_equal(st.raised, 2);
    assert_int_equal(st.updated, 2);
    assert_int_equal(st.cleared, 2);
    assert_int_equal(st.active, 0);
}

static void test_other_limits(void **state)
{
    fx_t *f = *state;
    f->lf.cfg.alarms.machine_mb = 1000;          /* 1000 MiB machine */
    int64_t t = 1000000;
    assert_int_equal(round_at(f, t += 1000, "atom.count", 800.0, "atom.limit", 1000.0, "ets.count", 10.0,
                              "ets.limit", 100.0, "port.count", 86.0, "port.limit", 100.0,
                              "memory.total", 750.0 * 1048576, "module.old_code", 2.0,
                              "shell.memory", 25.0 * 1048576, (char *)NULL), 5);
    int seen = 0;
    for (size_t i = 0; i < rec.n; i++) {
        const wr_alarm_event_t *e = &rec.ev[i];
        if (strcmp(e->key.type, "atom_limit") == 0) {
            assert_int_equal(e->severity, WR_SEV_MINOR);
            seen |= 1;
        } else if (strcmp(e->key.type, "port_limit") == 0) {
            assert_int_equal(e->severity, WR_SEV_MAJOR);
            seen |= 2;
        } else if (strcmp(e->key.type, "memory_usage") == 0) {
            assert_int_equal(e->severity, WR_SEV_MINOR);
            assert_non_null(strstr(e->text, "750.0 MB of 1000.0 MB"));
            seen |= 4;
        } else if (strcmp(e->key.type, "old_code") == 0) {
            assert_int_equal(e->severity, WR_SEV_MINOR);
            assert_non_null(strstr(e->text, "2 module(s) with old code"));
            seen |= 8;
        } else if (strcmp(e->key.type, "shell_process_size") == 0) {
            assert_int_equal(e->severity, WR_SEV_MINOR);
            assert_non_null(strstr(e->text, "25.0 MB"));
            seen |= 16;
        } else {
            fail_msg("unexpected %s", e->key.type);
        }
    }
    assert_int_equal(seen, 31);
    /* memory unknown (no machine size, no os_mon): memory_usage is not evaluated */
    f->lf.cfg.alarms.machine_mb = 0;
    assert_int_equal(round_at(f, t += 1000, "memory.total", 10.0, "module.old_code", 0.0, (char *)NULL), 1);
    assert_string_equal(last()->key.type, "old_code");
    assert_int_equal(last()->severity, WR_SEV_CLEARED);
    /* os_mon's system memory is used when present */
    assert_int_equal(round_at(f, t += 1000, "memory.total", 10.0, "os.memory.system_total_memory",
                              1000.0 * 1048576, (char *)NULL), 1);
    assert_string_equal(last()->key.type, "memory_usage");
    assert_int_equal(last()->severity, WR_SEV_CLEARED);
}

static void test_message_queue_names_process(void **state)
{
    fx_t *f = *state;
    leaf_node_t *n = &f->lf.nodes[0];
    int64_t t = 1000000;
    leaf_alarms_on_maxq(&f->lf, n, "<0.85.0>", "pg", 6000);
    assert_int_equal(round_at(f, t += 1000, "process.message_queue.max", 6000.0, (char *)NULL), 1);
    assert_string_equal(last()->key.type, "message_queue");
    assert_string_equal(last()->key.resource, "<0.85.0> pg");
    assert_int_equal(last()->severity, WR_SEV_MINOR);
    assert_non_null(strstr(last()->text, "message queue 6,000 messages in <0.85.0> (pg)"));
    assert_non_null(strstr(last()->text, "cluster machinery"));
    /* same process, still above the clear level (4,000): nothing */
    leaf_alarms_on_maxq(&f->lf, n, "<0.85.0>", "pg", 4500);
    assert_int_equal(round_at(f, t += 1000, "process.message_queue.max", 4500.0, (char *)NULL), 0);
    /* another process is now the longest: the old one is cleared, the new one raised (major) */
    leaf_alarms_on_maxq(&f->lf, n, "<0.90.0>", "my_server", 25000);
    assert_int_equal(round_at(f, t += 1000, "process.message_queue.max", 25000.0, (char *)NULL), 2);
    assert_string_equal(rec.ev[rec.n - 2].key.resource, "<0.85.0> pg");
    assert_int_equal(rec.ev[rec.n - 2].severity, WR_SEV_CLEARED);
    assert_string_equal(last()->key.resource, "<0.90.0> my_server");
    assert_int_equal(last()->severity, WR_SEV_MAJOR);
    assert_null(strstr(last()->text, "system process"));
    /* an unregistered process: the pid alone */
    leaf_alarms_on_maxq(&f->lf, n, "<0.99.0>", "", 3000);
    assert_int_equal(round_at(f, t += 1000, "process.message_queue.max", 3000.0, (char *)NULL), 1);
    assert_int_equal(last()->severity, WR_SEV_CLEARED);
    assert_string_equal(last()->key.resource, "<0.90.0> my_server");
    leaf_alarms_on_maxq(&f->lf, n, "<0.99.0>", "", 5000);
    assert_int_equal(round_at(f, t += 1000, "process.message_queue.max", 5000.0, (char *)NULL), 1);
    assert_string_equal(last()->key.resource, "<0.99.0>");
    /* the system-process classification */
    assert_non_null(strstr(leaf_alarms_system_process("global_name_server"), "cluster machinery"));
    assert_non_null(strstr(leaf_alarms_system_process("net_kernel"), "cluster machinery"));
    assert_non_null(strstr(leaf_alarms_system_process("rex"), "cluster machinery"));
    assert_non_null(strstr(leaf_alarms_system_process("logger_std_h_default"), "OTP system"));
    assert_null(leaf_alarms_system_process("my_server"));
    assert_null(leaf_alarms_system_process(""));
}

static void test_node_down_grace(void **state)
{
    fx_t *f = *state;
    leaf_node_t *n = &f->lf.nodes[0];
    f->lf.cfg.alarms.node_down_grace = 30.0;
    int64_t mono = 500000, t = 1000000;
    n->state = WR_NODE_DOWN;
    leaf_alarms_check_down(&f->lf, mono, t);
    leaf_alarms_check_down(&f->lf, mono + 29999, t);
    assert_int_equal(rec.n, 0);
    /* back up within the grace, then down again: the grace restarts */
    n->state = WR_NODE_UP;
    leaf_alarms_check_down(&f->lf, mono + 29999, t);
    n->state = WR_NODE_DOWN;
    leaf_alarms_check_down(&f->lf, mono + 40000, t);
    leaf_alarms_check_down(&f->lf, mono + 69999, t);
    assert_int_equal(rec.n, 0);
    leaf_alarms_check_down(&f->lf, mono + 70000, t + 1);
    assert_int_equal(rec.n, 1);
    assert_string_equal(last()->key.type, "node_down");
    assert_string_equal(last()->key.scope, "a@h");
    assert_int_equal(last()->severity, WR_SEV_MAJOR);
    assert_non_null(strstr(last()->text, "unreachable from leaf leaf-t for 30 s"));
    leaf_alarms_check_down(&f->lf, mono + 90000, t + 2);
    assert_int_equal(rec.n, 1);                            /* raised once */
    /* samples of a down node are not evaluated */
    assert_int_equal(procs(f, t + 3, 990), 0);
    n->state = WR_NODE_UP;
    leaf_alarms_check_down(&f->lf, mono + 91000, t + 4);
    assert_int_equal(rec.n, 2);
    assert_int_equal(last()->severity, WR_SEV_CLEARED);
    assert_string_equal(last()->key.type, "node_down");
}

static void test_forecast_atom_leak(void **state)
{
    fx_t *f = *state;
    f->lf.cfg.alarms.forecast_step = 1.0;      /* a point every round (1 s) */
    int64_t t = 1000000;
    double atoms = 100000;                      /* 9.5% of the limit: far from atom_limit */
    size_t got = 0;
    int i;
    for (i = 0; i < 30 && got == 0; i++) {
        atoms += 300;                           /* 300 atoms/s: limit in ~53 min */
        got = round_at(f, t += 1000, "atom.count", atoms, "atom.limit", 1048576.0, (char *)NULL);
    }
    assert_int_equal(got, 1);
    assert_int_equal(i, WR_FORECAST_MIN_POINTS);   /* as soon as the trend has its points */
    assert_string_equal(last()->key.type, "limit_forecast");
    assert_string_equal(last()->key.resource, "atoms");
    assert_int_equal(last()->severity, WR_SEV_WARNING);
    assert_non_null(strstr(last()->text, "atoms 103,000/1,048,576"));
    assert_non_null(strstr(last()->text, "limit in"));
    /* the leak goes on: no repeat */
    for (int k = 0; k < 5; k++) {
        atoms += 300;
        assert_int_equal(round_at(f, t += 1000, "atom.count", atoms, "atom.limit", 1048576.0, (char *)NULL), 0);
    }
    /* the leak stops: once the trend is flat the warning clears */
    got = 0;
    for (i = 0; i < 64 && got == 0; i++)
        got = round_at(f, t += 1000, "atom.count", atoms, "atom.limit", 1048576.0, (char *)NULL);
    assert_int_equal(got, 1);
    assert_int_equal(last()->severity, WR_SEV_CLEARED);
    assert_string_equal(last()->key.resource, "atoms");
    /* a slow growth (limit in days) raises nothing */
    f->lf.cfg.alarms.forecast_step = 1.0;
    for (i = 0; i < 30; i++)
        assert_int_equal(round_at(f, t += 1000, "process.count", 100.0 + i * 0.01, "process.limit",
                                  262144.0, (char *)NULL), 0);
}

static void test_push_refused_is_retried(void **state)
{
    fx_t *f = *state;
    int64_t t = 1000000;
    rec.fail = 1;
    assert_int_equal(procs(f, t += 1000, 900), 0);
    assert_int_equal(rec.refused, 1);
    assert_int_equal(procs(f, t += 1000, 900), 1);       /* retried at the next evaluation */
    assert_int_equal(last()->severity, WR_SEV_MAJOR);
    rec.fail = 1;
    assert_int_equal(procs(f, t += 1000, 100), 0);
    assert_int_equal(procs(f, t += 1000, 100), 1);
    assert_int_equal(last()->severity, WR_SEV_CLEARED);
    leaf_alarms_stats_t st;
    leaf_alarms_stats(&f->lf, &st);
    assert_int_equal(st.push_failed, 2);
}

/* Restarts the alarms of f with a real LMDB store in a fresh directory. */
static void with_store(fx_t *f)
{
    char err[256];
    leaf_alarms_fini(&f->lf);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_leaf_alarms.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    static const char *const dbs[] = {LEAF_EVENTS_DBS, NULL};
    f->lf.store = wr_store_open(f->dir, 1 << 20, dbs, err, sizeof err);
    assert_non_null(f->lf.store);
    assert_int_equal(leaf_alarms_init(&f->lf, err, sizeof err), 0);
}

static void test_restart_reloads(void **state)
{
    fx_t *f = *state;
    char err[256];
    with_store(f);
    int64_t t = 1000000;
    assert_int_equal(procs(f, t += 1000, 720), 1);       /* minor */
    leaf_alarms_on_maxq(&f->lf, &f->lf.nodes[0], "<0.7.0>", "q", 30000);
    assert_int_equal(round_at(f, t += 1000, "process.message_queue.max", 30000.0, (char *)NULL), 1);
    f->lf.nodes[1].state = WR_NODE_DOWN;
    f->lf.cfg.alarms.node_down_grace = 0;
    leaf_alarms_check_down(&f->lf, 1, t);                /* b@h: node_down */
    assert_int_equal(rec.n, 3);

    /* restart: nothing is sent again; the hysteresis continues where it was */
    leaf_alarms_fini(&f->lf);
    assert_int_equal(leaf_alarms_init(&f->lf, err, sizeof err), 0);
    assert_int_equal(rec.n, 3);
    leaf_alarms_stats_t st;
    leaf_alarms_stats(&f->lf, &st);
    assert_int_equal(st.reloaded, 3);
    assert_int_equal(st.active, 3);
    assert_int_equal(procs(f, t += 1000, 680), 0);       /* 68%: still minor, no event */
    f->lf.nodes[1].state = WR_NODE_UP;
    assert_int_equal(procs(f, t += 1000, 600), 2);       /* cleared; and b@h's node_down */
    int cleared_proc = 0, cleared_down = 0;
    for (size_t i = rec.n - 2; i < rec.n; i++) {
        cleared_proc |= strcmp(rec.ev[i].key.type, "process_limit") == 0 &&
                        rec.ev[i].severity == WR_SEV_CLEARED;
        cleared_down |= strcmp(rec.ev[i].key.type, "node_down") == 0 &&
                        strcmp(rec.ev[i].key.scope, "b@h") == 0 && rec.ev[i].severity == WR_SEV_CLEARED;
    }
    assert_true(cleared_proc);
    assert_true(cleared_down);

    /* restart without node a@h in the configuration: its queue alarm is cleared at start */
    leaf_alarms_fini(&f->lf);
    snprintf(f->lf.nodes[0].name, WR_NODE_NAME_MAX, "c@h");
    assert_int_equal(leaf_alarms_init(&f->lf, err, sizeof err), 0);
    assert_int_equal(rec.n, 6);
    assert_string_equal(last()->key.scope, "a@h");
    assert_string_equal(last()->key.type, "message_queue");
    assert_string_equal(last()->key.resource, "<0.7.0> q");
    assert_int_equal(last()->severity, WR_SEV_CLEARED);
    leaf_alarms_fini(&f->lf);
    assert_int_equal(leaf_alarms_init(&f->lf, err, sizeof err), 0);
    assert_int_equal(rec.n, 6);                           /* and forgotten */
    leaf_alarms_stats(&f->lf, &st);
    assert_int_equal(st.reloaded, 0);
}

static void test_released_and_disabled(void **state)
{
    fx_t *f = *state;
    int64_t t = 1000000;
    assert_int_equal(procs(f, t += 1000, 900), 1);
    f->lf.nodes[0].owned = 0;                            /* taken over by a sibling */
    f->lf.owned_stale = 1;
    assert_int_equal(procs(f, t += 1000, 900), 1);
    assert_int_equal(last()->severity, WR_SEV_CLEARED);
    assert_non_null(strstr(last()->text, "no longer watched"));
    f->lf.nodes[0].owned = 1;
    f->lf.owned_stale = 1;
    assert_int_equal(procs(f, t += 1000, 900), 1);
    assert_int_equal(last()->severity, WR_SEV_MAJOR);
    f->lf.cfg.alarms.thr[LEAF_AL_PROCESS].enabled = 0;  /* disabling clears */
    assert_int_equal(procs(f, t += 1000, 900), 1);
    assert_int_equal(last()->severity, WR_SEV_CLEARED);
    assert_non_null(strstr(last()->text, "disabled in the configuration"));
    assert_int_equal(procs(f, t += 1000, 990), 0);
}

static void test_sysmon_rates(void **state)
{
    fx_t *f = *state;
    leaf_node_t *n = &f->lf.nodes[0];
    int64_t t = 1000000, mono = wr_mono_ms();
    double c[3] = {100, 0, 7};                  /* counts since the agent started: a base */
    leaf_alarms_on_sysmon(&f->lf, n, c, mono);
    assert_int_equal(procs(f, t += 1000, 100), 0);
    c[0] = 109;                                  /* +9 long_gc: under 10 a minute */
    leaf_alarms_on_sysmon(&f->lf, n, c, mono);
    assert_int_equal(procs(f, t += 1000, 100), 0);
    c[0] = 110;                                  /* +1: 10 in the last minute */
    c[2] = 19;                                   /* +12 busy_dist_port */
    leaf_alarms_on_sysmon(&f->lf, n, c, mono);
    assert_int_equal(procs(f, t += 1000, 100), 2);
    for (size_t i = rec.n - 2; i < rec.n; i++) {
        assert_int_equal(rec.ev[i].severity, WR_SEV_WARNING);
        if (strcmp(rec.ev[i].key.type, "busy_dist_port") == 0)
            assert_non_null(strstr(rec.ev[i].text, "12 system monitor busy_dist_port events in the "
                                                   "last minute"));
        else
            assert_string_equal(rec.ev[i].key.type, "long_gc");
    }
    assert_int_equal(procs(f, t += 1000, 100), 0);
    /* the agent restarted: counts went down; a new base, nothing added */
    c[0] = 3;
    c[2] = 0;
    leaf_alarms_on_sysmon(&f->lf, n, c, mono);
    assert_int_equal(procs(f, t += 1000, 100), 0);
    /* a minute later the window is empty: both clear */
    f->lf.alarms->nodes[0]->sm.sec -= 61;        /* as if a minute passed */
    assert_int_equal(procs(f, t += 1000, 100), 2);
    assert_int_equal(rec.ev[rec.n - 1].severity, WR_SEV_CLEARED);
    assert_int_equal(rec.ev[rec.n - 2].severity, WR_SEV_CLEARED);
}

/* collect's Info as the agent sends it: the system monitor counts and the longest queue. */
static void test_parse_info(void **state)
{
    (void)state;
    ei_x_buff x;
    ei_x_new_with_version(&x);
    ei_x_encode_tuple_header(&x, 4);
    ei_x_encode_atom(&x, "warren_agent");
    ei_x_encode_long(&x, 1);
    ei_x_encode_list_header(&x, 1);
    ei_x_encode_tuple_header(&x, 2);
    ei_x_encode_binary(&x, "process.count", 13);
    ei_x_encode_long(&x, 42);
    ei_x_encode_empty_list(&x);
    ei_x_encode_list_header(&x, 2);
    ei_x_encode_tuple_header(&x, 2);
    ei_x_encode_atom(&x, "system_monitor");
    ei_x_encode_list_header(&x, 3);
    const char *ev[3] = {"long_gc", "long_schedule", "busy_dist_port"};
    for (int i = 0; i < 3; i++) {
        ei_x_encode_tuple_header(&x, 2);
        ei_x_encode_atom(&x, ev[i]);
        ei_x_encode_long(&x, 4 + i);
    }
    ei_x_encode_empty_list(&x);
    ei_x_encode_tuple_header(&x, 2);
    ei_x_encode_atom(&x, "max_message_queue");
    ei_x_encode_tuple_header(&x, 3);
    ei_x_encode_binary(&x, "<0.1.0>", 7);
    ei_x_encode_binary(&x, "pg", 2);
    ei_x_encode_long(&x, 7000);
    ei_x_encode_empty_list(&x);
    int end = 0;
    char why[256];
    assert_int_equal(leaf_term_check(x.buff, x.index, 1, &end, why, sizeof why), 0);
    leaf_metric_value_t vals[8];
    leaf_collect_t c = {.v = vals, .cap = 8};
    assert_int_equal(leaf_parse_collect(x.buff, 1, &c, why, sizeof why), 0);
    assert_int_equal(c.n, 1);
    assert_true(c.has_sysmon);
    assert_true(c.sysmon[0] == 4 && c.sysmon[1] == 0 && c.sysmon[2] == 6);   /* long_schedule skipped */
    assert_true(c.has_maxq);
    assert_string_equal(c.maxq_name, "pg");
    /* a malformed system_monitor list is ignored as a whole */
    ei_x_free(&x);
    ei_x_new_with_version(&x);
    ei_x_encode_tuple_header(&x, 4);
    ei_x_encode_atom(&x, "warren_agent");
    ei_x_encode_long(&x, 1);
    ei_x_encode_empty_list(&x);
    ei_x_encode_list_header(&x, 1);
    ei_x_encode_tuple_header(&x, 2);
    ei_x_encode_atom(&x, "system_monitor");
    ei_x_encode_list_header(&x, 1);
    ei_x_encode_atom(&x, "long_gc");
    ei_x_encode_empty_list(&x);
    ei_x_encode_empty_list(&x);
    assert_int_equal(leaf_term_check(x.buff, x.index, 1, &end, why, sizeof why), 0);
    assert_int_equal(leaf_parse_collect(x.buff, 1, &c, why, sizeof why), 0);
    assert_false(c.has_sysmon);
    ei_x_free(&x);
}

static void test_fd_and_mesh(void **state)
{
    fx_t *f = *state;
    int64_t t = 1000000;
    /* fd_limit 75/90 of fd.limit, clear 5 points below */
    assert_int_equal(round_at(f, t += 1000, "fd.open", 740.0, "fd.limit", 1000.0, (char *)NULL), 0);
    assert_int_equal(round_at(f, t += 1000, "fd.open", 760.0, "fd.limit", 1000.0, (char *)NULL), 1);
    assert_string_equal(last()->key.type, "fd_limit");
    assert_int_equal(last()->severity, WR_SEV_MINOR);
    assert_non_null(strstr(last()->text, "file descriptors 760/1,000 (76.0%"));
    assert_int_equal(round_at(f, t += 1000, "fd.open", 900.0, "fd.limit", 1000.0, (char *)NULL), 1);
    assert_int_equal(last()->severity, WR_SEV_MAJOR);
    assert_int_equal(round_at(f, t += 1000, "fd.open", 710.0, "fd.limit", 1000.0, (char *)NULL), 1);
    assert_int_equal(last()->severity, WR_SEV_MINOR);
    assert_int_equal(round_at(f, t += 1000, "fd.open", 699.0, "fd.limit", 1000.0, (char *)NULL), 1);
    assert_int_equal(last()->severity, WR_SEV_CLEARED);
    /* full_mesh_size: warning at 120 visible nodes, clear below 110 */
    assert_int_equal(round_at(f, t += 1000, "dist.visible", 119.0, (char *)NULL), 0);
    assert_int_equal(round_at(f, t += 1000, "dist.visible", 120.0, (char *)NULL), 1);
    assert_string_equal(last()->key.type, "full_mesh_size");
    assert_string_equal(last()->key.scope, "a@h");
    assert_int_equal(last()->severity, WR_SEV_WARNING);
    assert_non_null(strstr(last()->text, "120 visible nodes connected (warning at 120)"));
    assert_int_equal(round_at(f, t += 1000, "dist.visible", 111.0, (char *)NULL), 0);
    assert_int_equal(round_at(f, t += 1000, "dist.visible", 109.0, (char *)NULL), 1);
    assert_int_equal(last()->severity, WR_SEV_CLEARED);
    /* the fds forecast: a descriptor leak projected within the horizon */
    f->lf.cfg.alarms.forecast_step = 1.0;
    size_t got = 0;
    for (int i = 0; i < 30 && got == 0; i++)
        got = round_at(f, t += 1000, "fd.open", 100.0 + 20 * i, "fd.limit", 20000.0, (char *)NULL);
    assert_int_equal(got, 1);
    assert_string_equal(last()->key.type, "limit_forecast");
    assert_string_equal(last()->key.resource, "fds");
}

static void collect_files(fx_t *f, const char *path, int status, const char *beam_id, const char *beam_desc)
{
    static leaf_collect_t c;
    memset(&c, 0, sizeof c);
    c.has_files = c.has_beam = 1;
    if (path) {
        snprintf(c.files[0].name, sizeof c.files[0].name, "%s", path);
        snprintf(c.files[0].detail, sizeof c.files[0].detail, "2: illegal character");
        c.files[0].status = status;
        c.n_files = 1;
    }
    if (beam_id) {
        snprintf(c.beam[0].name, sizeof c.beam[0].name, "%s", beam_id);
        snprintf(c.beam[0].detail, sizeof c.beam[0].detail, "%s", beam_desc);
        c.n_beam = 1;
    }
    leaf_alarms_on_collect(&f->lf, &f->lf.nodes[0], &c);
}

static void test_files_and_beam(void **state)
{
    fx_t *f = *state;
    collect_files(f, NULL, 0, NULL, NULL);
    assert_int_equal(rec.n, 0);
    collect_files(f, "/srv/sys.config", LEAF_FILE_UNPARSEABLE, "my_alarm", "x");
    assert_int_equal(rec.n, 2);
    assert_string_equal(rec.ev[0].key.type, "config_unparseable");
    assert_string_equal(rec.ev[0].key.resource, "/srv/sys.config");
    assert_int_equal(rec.ev[0].severity, WR_SEV_MAJOR);
    assert_non_null(strstr(rec.ev[0].text, "2: illegal character"));
    assert_string_equal(rec.ev[1].key.type, "beam_alarm");
    assert_string_equal(rec.ev[1].key.resource, "my_alarm");
    assert_string_equal(rec.ev[1].text, "x");
    assert_int_equal(rec.ev[1].severity, WR_SEV_INDETERMINATE);
    collect_files(f, "/srv/sys.config", LEAF_FILE_UNPARSEABLE, "my_alarm", "x");
    assert_int_equal(rec.n, 2);                          /* unchanged: nothing */
    collect_files(f, "/srv/sys.config", LEAF_FILE_UNPARSEABLE, "my_alarm", "y");
    assert_int_equal(rec.n, 3);                          /* a new description: an update */
    assert_string_equal(last()->text, "y");
    assert_int_equal(last()->severity, WR_SEV_INDETERMINATE);
    /* parses again but differs: unparseable cleared, changed raised */
    collect_files(f, "/srv/sys.config", LEAF_FILE_CHANGED, "my_alarm", "y");
    assert_int_equal(rec.n, 5);
    assert_string_equal(rec.ev[3].key.type, "config_changed");
    assert_int_equal(rec.ev[3].severity, WR_SEV_MAJOR);
    assert_string_equal(rec.ev[4].key.type, "config_unparseable");
    assert_int_equal(rec.ev[4].severity, WR_SEV_CLEARED);
    leaf_alarms_stats_t st;
    leaf_alarms_stats(&f->lf, &st);
    assert_int_equal(st.active, 2);
    /* a refused clear is retried at the next reply */
    rec.fail = 1;
    collect_files(f, NULL, 0, NULL, NULL);
    assert_int_equal(rec.refused, 1);
    collect_files(f, NULL, 0, NULL, NULL);
    leaf_alarms_stats(&f->lf, &st);
    assert_int_equal(st.active, 0);
    assert_int_equal(rec.n, 7);                          /* one cleared at once, one retried */
    for (size_t i = 4; i < rec.n; i++)
        assert_int_equal(rec.ev[i].severity, WR_SEV_CLEARED);
    /* a reply without the lists changes nothing; disabled clears */
    collect_files(f, NULL, 0, "disk_almost_full", "/");
    assert_int_equal(rec.n, 8);
    static leaf_collect_t none;
    leaf_alarms_on_collect(&f->lf, &f->lf.nodes[0], &none);
    assert_int_equal(rec.n, 8);
    f->lf.cfg.alarms.beam_enabled = 0;
    collect_files(f, NULL, 0, "disk_almost_full", "/");
    assert_int_equal(rec.n, 9);
    assert_int_equal(last()->severity, WR_SEV_CLEARED);
}

static void test_list_alarms_reload(void **state)
{
    fx_t *f = *state;
    char err[256];
    with_store(f);
    collect_files(f, "/srv/app.config", LEAF_FILE_CHANGED, "{disk_almost_full,\"/\"}", "[]");
    assert_int_equal(rec.n, 2);
    leaf_alarms_fini(&f->lf);
    assert_int_equal(leaf_alarms_init(&f->lf, err, sizeof err), 0);
    leaf_alarms_stats_t st;
    leaf_alarms_stats(&f->lf, &st);
    assert_int_equal(st.active, 2);
    collect_files(f, "/srv/app.config", LEAF_FILE_CHANGED, "{disk_almost_full,\"/\"}", "[]");
    assert_int_equal(rec.n, 2);                          /* not sent again */
    collect_files(f, "/srv/app.config", LEAF_FILE_CHANGED, NULL, NULL);
    assert_int_equal(rec.n, 3);
    assert_string_equal(last()->key.resource, "{disk_almost_full,\"/\"}");
    assert_int_equal(last()->severity, WR_SEV_CLEARED);
    /* restart without a@h: its file alarm is cleared at start, then forgotten */
    leaf_alarms_fini(&f->lf);
    snprintf(f->lf.nodes[0].name, WR_NODE_NAME_MAX, "c@h");
    assert_int_equal(leaf_alarms_init(&f->lf, err, sizeof err), 0);
    assert_int_equal(rec.n, 4);
    assert_string_equal(last()->key.scope, "a@h");
    assert_string_equal(last()->key.type, "config_changed");
    assert_string_equal(last()->key.resource, "/srv/app.config");
    assert_int_equal(last()->severity, WR_SEV_CLEARED);
    leaf_alarms_fini(&f->lf);
    assert_int_equal(leaf_alarms_init(&f->lf, err, sizeof err), 0);
    assert_int_equal(rec.n, 4);
    /* a released node clears its list alarms */
    collect_files(f, "/srv/x.config", LEAF_FILE_MISSING, NULL, NULL);
    assert_int_equal(rec.n, 5);
    assert_non_null(strstr(last()->text, "removed"));
    f->lf.nodes[0].owned = 0;
    f->lf.owned_stale = 1;
    leaf_alarms_check_down(&f->lf, 1, 2000000);
    assert_int_equal(rec.n, 6);
    assert_int_equal(last()->severity, WR_SEV_CLEARED);
    assert_non_null(strstr(last()->text, "no longer watched"));
}

static int has_error(wr_config_t *cfg, const char *part)
{
    for (int i = 0; i < wr_config_error_count(cfg); i++)
        if (strstr(wr_config_error_at(cfg, i), part))
            return 1;
    for (int i = 0; i < wr_config_error_count(cfg); i++)
        print_message("  recorded: %s\n", wr_config_error_at(cfg, i));
    return 0;
}

static void test_config(void **state)
{
    (void)state;
    char err[256];
    leaf_alarms_cfg_t c;
    wr_config_t *cfg = wr_config_load_string(
        "leaf = { alarms = {\n"
        "  process_limit = { minor = 60.0; major = 90.0; };\n"
        "  message_queue = { minor = 100; major = 1000; clear_after = 3; };\n"
        "  shell_process_size = { minor_mb = 5.0; };\n"
        "  module_limit = { limit = 2000; };\n"
        "  node_down = { grace = 2.0; };\n"
        "  forecast = { horizon = 600.0; step = 10.0; };\n"
        "  old_code = { enabled = false; };\n"
        "  long_gc = { rate = 20.0; };\n"
        "  fd_limit = { minor = 50.0; };\n"
        "  full_mesh_size = { nodes = 60.0; clear_nodes = 50.0; };\n"
        "  config_files = { enabled = false; };\n"
        "  beam_alarm = { enabled = false; };\n"
        "}; };\n", "good.cfg", err, sizeof err);
    assert_non_null(cfg);
    leaf_alarms_config_read(cfg, &c);
    assert_int_equal(wr_config_finish(cfg), 0);
    assert_true(c.thr[LEAF_AL_PROCESS].minor_raise == 60.0);
    assert_true(c.thr[LEAF_AL_PROCESS].minor_clear == 55.0);
    assert_true(c.thr[LEAF_AL_PROCESS].major_clear == 85.0);
    assert_true(c.thr[LEAF_AL_PORT].minor_raise == 70.0);
    assert_true(c.thr[LEAF_AL_MSGQ].minor_clear == 80.0);
    assert_int_equal(c.thr[LEAF_AL_MSGQ].clear_after, 3);
    assert_true(c.thr[LEAF_AL_SHELL].minor_raise == 5.0);
    assert_true(c.thr[LEAF_AL_SHELL].major_raise == 100.0);
    assert_true(c.thr[LEAF_AL_MODULE].enabled);
    assert_true(c.module_limit == 2000);
    assert_true(c.node_down_grace == 2.0);
    assert_true(c.forecast_horizon == 600.0);
    assert_false(c.thr[LEAF_AL_OLD_CODE].enabled);
    assert_true(c.thr[LEAF_AL_LONG_GC].major_raise == 20.0 && c.thr[LEAF_AL_LONG_GC].major_clear == 10.0);
    assert_true(c.thr[LEAF_AL_LARGE_HEAP].major_raise == 10.0 && c.thr[LEAF_AL_LARGE_HEAP].minor_clear == 5.0);
    assert_int_equal(c.thr[LEAF_AL_BUSY_DIST].major_severity, WR_SEV_WARNING);
    assert_true(c.thr[LEAF_AL_FD].minor_raise == 50.0 && c.thr[LEAF_AL_FD].major_raise == 90.0);
    assert_true(c.thr[LEAF_AL_MESH].major_raise == 60.0 && c.thr[LEAF_AL_MESH].minor_clear == 50.0);
    assert_false(c.files_enabled);
    assert_false(c.beam_enabled);
    wr_config_destroy(&cfg);

    cfg = wr_config_load_string(
        "leaf = { alarms = {\n"
        "  process_limit = { minor = 90.0; major = 80.0; };\n"
        "  port_limit = { minor = 170.0; };\n"
        "  message_queu = { minor = 1; };\n"
        "  node_down = { grace = \"x\"; };\n"
        "}; };\n", "bad.cfg", err, sizeof err);
    assert_non_null(cfg);
    leaf_alarms_config_read(cfg, &c);
    assert_true(wr_config_finish(cfg) >= 4);
    assert_true(has_error(cfg, "bad.cfg:2: leaf.alarms.process_limit: minor raise level 90 is above"));
    assert_true(has_error(cfg, "bad.cfg:3: leaf.alarms.port_limit.minor"));
    assert_true(has_error(cfg, "bad.cfg:4: leaf.alarms.message_queu"));
    assert_true(has_error(cfg, "bad.cfg:5: leaf.alarms.node_down.grace"));
    wr_config_destroy(&cfg);

    /* no section: the defaults */
    cfg = wr_config_load_string("leaf = { };\n", "none.cfg", err, sizeof err);
    wr_config_has(cfg, "leaf");
    leaf_alarms_config_read(cfg, &c);
    assert_int_equal(wr_config_finish(cfg), 0);
    assert_true(c.thr[LEAF_AL_PROCESS].minor_raise == 70.0 && c.thr[LEAF_AL_PROCESS].major_raise == 85.0);
    assert_true(c.thr[LEAF_AL_MSGQ].minor_raise == 5000.0 && c.thr[LEAF_AL_MSGQ].major_raise == 20000.0);
    assert_true(c.node_down_grace == 30.0);
    assert_true(c.forecast_horizon == 3600.0);
    assert_false(c.thr[LEAF_AL_MODULE].enabled);
    assert_true(c.thr[LEAF_AL_FD].minor_raise == 75.0 && c.thr[LEAF_AL_FD].major_raise == 90.0);
    assert_true(c.thr[LEAF_AL_MESH].major_raise == 120.0 && c.thr[LEAF_AL_MESH].major_clear == 110.0);
    assert_true(c.files_enabled && c.beam_enabled);
    wr_config_destroy(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_process_limit_hysteresis, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_queue_names_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_down_grace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forecast_atom_leak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_push_refused_is_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_reloads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_released_and_disabled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sysmon_rates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fd_and_mesh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_and_beam, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_alarms_reload, setup, teardown),
        cmocka_unit_test(test_parse_info),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
