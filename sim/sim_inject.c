/* sim_inject: fault names, a node's fault state and the faults' effects on its values (pure);
 * see sim_inject.h. Statics are inj_-prefixed: unit tests include this file directly. */
#include <stdio.h>
#include <string.h>
#include "sim_inject.h"
#include "wr_error.h"

static const char *const inj_names[SIM_FAULT_COUNT] = {
    "mqueue_flood", "atom_leak", "memory_growth", "module_clash", "crash", "silent",
    "busy_dist_port", "log_storm",
};

const char *sim_inject_name(int fault)
{
    return fault >= 0 && fault < SIM_FAULT_COUNT ? inj_names[fault] : NULL;
}

int sim_inject_parse(const char *name)
{
    for (int k = 0; k < SIM_FAULT_COUNT; k++)
        if (!strcmp(name, inj_names[k]))
            return k;
    return -1;
}

int sim_inject_valid_arg(const char *arg)
{
    size_t n = strlen(arg);
    if (n == 0 || n >= SIM_INJECT_ARG_MAX || arg[0] < 'a' || arg[0] > 'z')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((arg[i] >= 'a' && arg[i] <= 'z') || (arg[i] >= '0' && arg[i] <= '9') || arg[i] == '_'))
            return 0;
    return 1;
}

void sim_inject_init(sim_inject_faults_t *f)
{
    memset(f, 0, sizeof *f);
    for (int k = 0; k < SIM_FAULT_COUNT; k++) {
        f->start_ms[k] = -1;
        f->end_ms[k] = -1;
    }
    snprintf(f->flood_name, sizeof f->flood_name, "ant_stats");
    snprintf(f->clash_module, sizeof f->clash_module, "ant_colony");
}

int sim_inject_active(const sim_inject_faults_t *f, int fault, int64_t now_ms)
{
    if (fault < 0 || fault >= SIM_FAULT_COUNT || f->start_ms[fault] < 0)
        return 0;
    return now_ms >= f->start_ms[fault] && now_ms < f->end_ms[fault];
}

/* Atoms leaked by the current atom_leak span up to now_ms. */
static int64_t inj_span_atoms(const sim_inject_faults_t *f, int64_t now_ms)
{
    int64_t s = f->start_ms[SIM_FAULT_ATOM_LEAK];
    if (s < 0 || now_ms <= s)
        return 0;
    int64_t e = f->end_ms[SIM_FAULT_ATOM_LEAK];
    int64_t until = now_ms < e ? now_ms : e;
    return (until - s) * SIM_ATOM_LEAK_RATE / 1000;
}

int sim_inject_start(sim_inject_faults_t *f, int fault, int64_t now_ms, int64_t duration_ms,
                     const char *arg)
{
    if (fault < 0 || fault >= SIM_FAULT_COUNT || now_ms < 0)
        return WR_EINVAL;
    if (arg && *arg && !sim_inject_valid_arg(arg))
        return WR_EINVAL;
    if (fault == SIM_FAULT_ATOM_LEAK) {              /* what leaked before stays */
        f->atoms_before += inj_span_atoms(f, now_ms);
    }
    if (fault == SIM_FAULT_MQUEUE_FLOOD && arg && *arg)
        snprintf(f->flood_name, sizeof f->flood_name, "%s", arg);
    if (fault == SIM_FAULT_MODULE_CLASH && arg && *arg)
        snprintf(f->clash_module, sizeof f->clash_module, "%s", arg);
    if (fault == SIM_FAULT_CRASH && duration_ms <= 0)
        duration_ms = SIM_CRASH_DEFAULT_MS;
    f->start_ms[fault] = now_ms;
    f->end_ms[fault] = duration_ms > 0 && duration_ms < INT64_MAX - now_ms ? now_ms + duration_ms
                                                                          : SIM_INJECT_UNTIL_CLEARED;
    return 0;
}

int sim_inject_clear(sim_inject_faults_t *f, int fault, int64_t now_ms)
{
    int was = 0;
    for (int k = 0; k < SIM_FAULT_COUNT; k++) {
        if ((fault >= 0 && k != fault) || !sim_inject_active(f, k, now_ms))
            continue;
        f->end_ms[k] = now_ms;
        was = 1;
    }
    return was;
}

/* Seconds the fault has been active at now_ms (0 when not active). */
static double inj_secs(const sim_inject_faults_t *f, int fault, int64_t now_ms)
{
    if (!sim_inject_active(f, fault, now_ms))
        return -1.0;
    return (double)(now_ms - f->start_ms[fault]) / 1000.0;
}

void sim_inject_apply(const sim_inject_faults_t *f, int64_t now_ms, sim_emu_sample_t *s)
{
    double secs;
    /* atoms: never shrink within a life; stay under the limit */
    int64_t leaked = f->atoms_before + inj_span_atoms(f, now_ms);
    if (leaked > 0) {
        s->atom_count += leaked;
        if (s->atom_count > 1048576 - 1000)
            s->atom_count = 1048576 - 1000;
    }
    if ((secs = inj_secs(f, SIM_FAULT_MQUEUE_FLOOD, now_ms)) >= 0) {
        double q = SIM_FLOOD_START + SIM_FLOOD_RATE * secs;
        s->flood_queue = (int64_t)(q < SIM_FLOOD_CAP ? q : SIM_FLOOD_CAP);
        snprintf(s->flood_name, sizeof s->flood_name, "%s", f->flood_name);
        s->msgq_total += s->flood_queue;
        s->mem_processes += s->flood_queue * SIM_FLOOD_MSG_BYTES;
        s->mem_processes_used += s->flood_queue * SIM_FLOOD_MSG_BYTES;
        if (s->flood_queue >= s->msgq_max) {
            s->msgq_max = s->flood_queue;
            s->msgq_who = SIM_MQ_FLOOD;
        }
    }
    if ((secs = inj_secs(f, SIM_FAULT_MEMORY_GROWTH, now_ms)) >= 0) {
        double b = (double)SIM_MEM_GROWTH_RATE * secs;
        s->leak_proc_bytes = (int64_t)(b < (double)SIM_MEM_GROWTH_CAP ? b : (double)SIM_MEM_GROWTH_CAP);
        s->mem_processes += s->leak_proc_bytes;
        s->mem_processes_used += s->leak_proc_bytes;
    }
    if ((secs = inj_secs(f, SIM_FAULT_BUSY_DIST_PORT, now_ms)) >= 0) {
        int64_t q = SIM_DIST_BUSY_LIMIT + (int64_t)(SIM_DIST_BUSY_RATE * secs);
        s->dist_queue_bytes += q;
        if (q > s->dist_queue_bytes_max)
            s->dist_queue_bytes_max = q;
        s->dist_busy_ports = 1;
        s->mem_binary += q;                          /* the queued data are binaries */
    }
    if ((secs = inj_secs(f, SIM_FAULT_LOG_STORM, now_ms)) >= 0) {
        double q = SIM_LOG_STORM_RATE * secs + 100;
        int64_t add = (int64_t)(q < SIM_LOG_STORM_CAP ? q : SIM_LOG_STORM_CAP);
        s->logger_queue += add;
        s->msgq_total += add;
    }
    sim_emu_values_settle(s);
}
