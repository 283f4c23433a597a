/* sim_emu_values: a plausible, deterministic workload model for emulated BEAM nodes.
 * Each node gets fixed traits (size, load) hashed from (seed, index); gauges follow smooth
 * value noise around those traits; counters are closed-form integrals of a positive,
 * oscillating rate, so they grow monotonically without any per-node state. Not the protocol:
 * sim_emu_calls.c turns a sample into Erlang terms. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "sim_emu_values.h"
#include "sim_antfarm.h"

/* splitmix64: a well-mixed 64-bit hash of a 64-bit input. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t key3(uint64_t seed, uint32_t index, uint32_t channel)
{
    return mix64(mix64(seed ^ 0x5157a11ceULL) ^ ((uint64_t)index << 20) ^ channel);
}

/* A uniform double in [0, 1) from a hash. */
static double unit(uint64_t h)
{
    return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

/* A fixed trait of the node: uniform in [lo, hi), or log-uniform when lo > 0 and log_scale. */
static double trait(uint64_t seed, uint32_t index, uint32_t channel, double lo, double hi, int log_scale)
{
    double u = unit(key3(seed, index, channel));
    if (log_scale)
        return exp(log(lo) + u * (log(hi) - log(lo)));
    return lo + u * (hi - lo);
}

/* Smooth value noise in [0, 1): hashed values at multiples of period_s, smoothstep between. */
static double noise(uint64_t seed, uint32_t index, uint32_t channel, double t_s, double period_s)
{
    double x = t_s / period_s;
    double i = floor(x), f = x - i;
    uint64_t k = key3(seed, index, channel);
    double a = unit(mix64(k ^ (uint64_t)(int64_t)i));
    double b = unit(mix64(k ^ (uint64_t)((int64_t)i + 1)));
    double s = f * f * (3.0 - 2.0 * f);
    return a + (b - a) * s;
}

/* A gauge: base scaled by (1 +- spread) following noise. */
static double wander(uint64_t seed, uint32_t index, uint32_t channel, double t_s, double period_s,
                     double base, double spread)
{
    return base * (1.0 + spread * (2.0 * noise(seed, index, channel, t_s, period_s) - 1.0));
}

/* Integral over [0, t_s] of rate * (1 + 0.5 sin(w t + phi)): strictly increasing in t_s. */
static double counter(uint64_t seed, uint32_t index, uint32_t channel, double t_s, double rate)
{
    double period = trait(seed, index, channel, 120.0, 1800.0, 0);
    double phi = trait(seed, index, channel + 1, 0.0, 6.283185307179586, 0);
    double w = 6.283185307179586 / period;
    return rate * (t_s - 0.5 / w * (cos(w * t_s + phi) - cos(phi)));
}

static int64_t clamp64(double v, double lo, double hi)
{
    if (v < lo)
        v = lo;
    if (v > hi)
        v = hi;
    return (int64_t)v;
}

enum {
    CH_UPTIME = 1, CH_PROCS, CH_PROCS_N, CH_PORTS, CH_PORTS_N, CH_ETS, CH_ETS_N, CH_ATOMS,
    CH_PROC_BYTES, CH_PROC_BYTES_N, CH_USED_N, CH_BIN, CH_BIN_N, CH_CODE, CH_ETS_BYTES,
    CH_ETS_BYTES_N, CH_OTHER, CH_OTHER_N, CH_RQ_N, CH_REDS = 40, CH_IN = 50, CH_OUT = 60,
    CH_CPU = 70, CH_CPU_RATE = 72, CH_CS = 80, CH_GC = 90, CH_SCHEDS = 100, CH_SRQ = 110,
    CH_UTIL = 130, CH_MQ_MAX = 150, CH_MQ_SUM = 151
};

int sim_emu_values_workload(const char *name, int *out)
{
    if (!strcmp(name, "antfarm"))
        *out = SIM_WORKLOAD_ANTFARM;
    else if (!strcmp(name, "plain"))
        *out = SIM_WORKLOAD_PLAIN;
    else
        return -1;
    return 0;
}

void sim_emu_values_settle(sim_emu_sample_t *s)
{
    s->mem_atom = 100000 + s->atom_count * 19;
    s->mem_atom_used = s->mem_atom - 20000 - s->atom_count;
    s->mem_system = s->mem_atom + s->mem_binary + s->mem_code + s->mem_ets + s->mem_other;
    s->mem_total = s->mem_processes + s->mem_system;
    if (s->logger_queue > s->msgq_max) {
        s->msgq_max = s->logger_queue;
        s->msgq_who = SIM_MQ_LOGGER;
    }
    if (s->msgq_total < s->msgq_max)
        s->msgq_total = s->msgq_max;
}

void sim_emu_values_sample(uint64_t seed, uint32_t index, int64_t elapsed_ms, sim_emu_sample_t *out)
{
    sim_emu_values_at(seed, SIM_WORKLOAD_PLAIN, index, elapsed_ms, NULL, out);
}

void sim_emu_values_at(uint64_t seed, int workload, uint32_t index, int64_t elapsed_ms,
                       const sim_emu_life_t *life, sim_emu_sample_t *out)
{
    if (elapsed_ms < 0)
        elapsed_ms = 0;
    int64_t wall_ms, run_ms;
    if (life && life->restarts > 0) {
        run_ms = elapsed_ms - life->boot_ms;
        if (run_ms < 0)
            run_ms = 0;
        wall_ms = SIM_EMU_BOOT_MS + run_ms;
    } else {
        /* The node "booted" between 10 minutes and 30 days before the emulator started. */
        wall_ms = (int64_t)trait(seed, index, CH_UPTIME, 600e3, 2592e6, 1) + elapsed_ms;
        run_ms = elapsed_ms;
    }
    if (workload == SIM_WORKLOAD_ANTFARM)
        sim_antfarm_sample(seed, index, wall_ms, run_ms, out);
    else
        sim_emu_values_plain(seed, index, wall_ms, out);
}

void sim_emu_values_plain(uint64_t seed, uint32_t index, int64_t wall_ms, sim_emu_sample_t *out)
{
    memset(out, 0, sizeof *out);
    out->workload = SIM_WORKLOAD_PLAIN;
    double t = (double)wall_ms / 1000.0;

    /* gauges */
    double procs_base = trait(seed, index, CH_PROCS, 60.0, 3000.0, 1);
    out->process_count = clamp64(wander(seed, index, CH_PROCS_N, t, 300.0, procs_base, 0.3), 40, 5000);
    double ports_base = trait(seed, index, CH_PORTS, 5.0, 200.0, 1);
    out->port_count = clamp64(wander(seed, index, CH_PORTS_N, t, 300.0, ports_base, 0.3), 3, 65536);
    double ets_base = trait(seed, index, CH_ETS, 20.0, 300.0, 1);
    out->ets_count = clamp64(wander(seed, index, CH_ETS_N, t, 600.0, ets_base, 0.1), 15, 8192);
    /* atoms only accumulate: a base plus one atom every ~10 minutes of uptime */
    out->atom_count = (int64_t)trait(seed, index, CH_ATOMS, 9000.0, 40000.0, 1) + wall_ms / 600000;
    double rq = noise(seed, index, CH_RQ_N, t, 10.0);
    out->run_queue = (int64_t)(3.0 * rq * rq * rq * rq);

    /* memory, consistent by construction */
    double per_proc = trait(seed, index, CH_PROC_BYTES, 4e3, 40e3, 1);
    out->mem_processes = (int64_t)((double)out->process_count *
                                   wander(seed, index, CH_PROC_BYTES_N, t, 120.0, per_proc, 0.2));
    out->mem_processes_used = (int64_t)((double)out->mem_processes *
                                        (0.97 + 0.029 * noise(seed, index, CH_USED_N, t, 30.0)));
    out->mem_atom = 100000 + out->atom_count * 19;
    out->mem_atom_used = out->mem_atom - 20000 - out->atom_count;
    out->mem_binary = clamp64(wander(seed, index, CH_BIN_N, t, 60.0,
                                     trait(seed, index, CH_BIN, 2e5, 2e8, 1), 0.5), 1e4, 1e12);
    out->mem_code = (int64_t)trait(seed, index, CH_CODE, 5e6, 6e7, 1) + (wall_ms / 3600000) * 1024;
    out->mem_ets = (int64_t)((double)out->ets_count *
                             wander(seed, index, CH_ETS_BYTES_N, t, 300.0,
                                    trait(seed, index, CH_ETS_BYTES, 5e3, 5e5, 1), 0.3));
    int64_t other = (int64_t)wander(seed, index, CH_OTHER_N, t, 600.0,
                                    trait(seed, index, CH_OTHER, 3e6, 2e7, 1), 0.1);
    out->mem_other = other;
    out->mem_system = out->mem_atom + out->mem_binary + out->mem_code + out->mem_ets + other;
    out->mem_total = out->mem_processes + out->mem_system;

    /* counters: functions of node uptime, so they continue the node's history */
    double load = trait(seed, index, CH_CPU, 0.02, 0.6, 1);   /* busy fraction, 2 schedulers */
    out->wall_clock_ms = wall_ms;
    out->runtime_ms = (int64_t)counter(seed, index, CH_CPU_RATE, t, load * 1000.0);
    out->reductions = (int64_t)counter(seed, index, CH_REDS, t, load * 2e6);
    out->io_input = 1000 + (int64_t)counter(seed, index, CH_IN, t, trait(seed, index, CH_IN + 2, 50.0, 5e5, 1));
    out->io_output = 4000 + (int64_t)counter(seed, index, CH_OUT, t, trait(seed, index, CH_OUT + 2, 50.0, 5e5, 1));
    out->context_switches = (int64_t)counter(seed, index, CH_CS, t, load * 2e4);
    out->gc_count = (int64_t)counter(seed, index, CH_GC, t, load * 3e3);
    out->gc_words = out->gc_count * 1800;

    /* schedulers: 4 or 8; the run queue spread over them; utilization around the load */
    out->schedulers = unit(key3(seed, index, CH_SCHEDS)) < 0.5 ? 4 : 8;
    int64_t left = out->run_queue;
    double usum = 0.0;
    for (int k = 0; k < SIM_EMU_MAX_SCHED; k++) {
        out->sched_run_queue[k] = 0;
        out->sched_util[k] = 0.0;
        if (k >= out->schedulers)
            continue;
        int64_t q = k + 1 == out->schedulers ? left
                    : (int64_t)((double)left * noise(seed, index, CH_SRQ + (uint32_t)k, t, 10.0));
        out->sched_run_queue[k] = q;
        left -= q;
        double u = load * (0.5 + noise(seed, index, CH_UTIL + (uint32_t)k, t, 20.0));
        out->sched_util[k] = u > 1.0 ? 1.0 : u;
        usum += out->sched_util[k];
    }
    out->util = usum / out->schedulers;

    /* message queues: mostly empty, now and then one process falls behind */
    double mq = noise(seed, index, CH_MQ_MAX, t, 30.0);
    out->msgq_max = (int64_t)(500.0 * mq * mq * mq * mq * mq * mq);
    out->msgq_total = out->msgq_max +
                      (int64_t)((double)out->process_count * 0.02 * noise(seed, index, CH_MQ_SUM, t, 30.0));
    if (out->msgq_max == 0 && out->msgq_total > 0)
        out->msgq_max = 1;                           /* some queue holds the messages counted */
    out->msgq_who = SIM_MQ_MODEL;
    out->logger_queue = (int64_t)floor(3.0 * pow(noise(seed, index, 212, t, 20.0), 4));
    out->msgq_total += out->logger_queue;
    sim_emu_values_settle(out);
}

double sim_emu_values_unit(uint64_t seed, uint32_t index, uint32_t channel)
{
    return unit(key3(seed, index, channel));
}

double sim_emu_values_noise(uint64_t seed, uint32_t index, uint32_t channel, double t_s, double period_s)
{
    return noise(seed, index, channel, t_s, period_s);
}

/* ---- catalogue metrics ------------------------------------------------------------------ */

/* Names whose value the sample already has, so a family agrees with its totals. */
static int known_value(const sim_emu_sample_t *s, const char *name, double *v, int *is_int)
{
    static const struct { const char *name; size_t off; } i64[] = {
#define F(n, f) {n, offsetof(sim_emu_sample_t, f)}
        F("memory.total", mem_total), F("memory.processes", mem_processes),
        F("memory.processes_used", mem_processes_used), F("memory.system", mem_system),
        F("memory.atom", mem_atom), F("memory.atom_used", mem_atom_used),
        F("memory.binary", mem_binary), F("memory.code", mem_code), F("memory.ets", mem_ets),
        F("process.count", process_count), F("port.count", port_count),
        F("atom.count", atom_count), F("ets.count", ets_count), F("run_queue", run_queue),
        F("run_queue.total", run_queue), F("reductions", reductions), F("io.input", io_input),
        F("io.output", io_output), F("uptime", wall_clock_ms), F("runtime", runtime_ms), F("runtime.cpu", runtime_ms),
        F("context_switches", context_switches), F("gc.count", gc_count),
        F("gc.words_reclaimed", gc_words), F("garbage_collection.count", gc_count),
        F("garbage_collection.words_reclaimed", gc_words),
        F("process.message_queue.sum", msgq_total), F("process.message_queue.total", msgq_total),
        F("process.message_queue.max", msgq_max), F("message_queue.sum", msgq_total),
        F("message_queue.max", msgq_max), F("logger.queue", logger_queue),
        F("logger.queue_max", logger_queue), F("dist.queue_bytes", dist_queue_bytes),
        F("dist.queue_bytes_max", dist_queue_bytes_max), F("dist.busy_ports", dist_busy_ports),
#undef F
    };
    static const struct { const char *name; int64_t v; } fixed[] = {
        {"process.limit", 262144}, {"port.limit", 65536}, {"atom.limit", 1048576},
        {"ets.limit", 8192},
    };
    *is_int = 1;
    for (size_t k = 0; k < sizeof i64 / sizeof i64[0]; k++)
        if (!strcmp(name, i64[k].name)) {
            *v = (double)*(const int64_t *)(const void *)((const char *)s + i64[k].off);
            return 1;
        }
    for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
        if (!strcmp(name, fixed[k].name)) {
            *v = (double)fixed[k].v;
            return 1;
        }
    if (!strcmp(name, "system.schedulers") || !strcmp(name, "system.schedulers_online") ||
        !strcmp(name, "system.logical_processors") || !strcmp(name, "system.dirty_cpu_schedulers")) {
        *v = s->schedulers;
        return 1;
    }
    if (!strcmp(name, "scheduler.utilization")) {
        *v = 100.0 * s->util;                        /* percent, as the agent reports it */
        *is_int = 0;
        return 1;
    }
    return 0;
}

/* More families of the agent's catalogue, consistent with the sample: the process states
 * sum to process.count, the port kinds to port.count, active tasks cover the run queue, the
 * OS memory figures nest (free <= available <= total). */
static int family_value(uint64_t seed, uint32_t index, const sim_emu_sample_t *s, const char *name,
                        double *v, int *is_int)
{
    double t = (double)s->wall_clock_ms / 1000.0;
    int64_t running = (int64_t)(s->util * s->schedulers + 0.5);
    if (running > s->process_count)
        running = s->process_count;
    int64_t gcing = s->process_count > 100 && noise(seed, index, 201, t, 5.0) > 0.8 ? 1 : 0;
    int64_t ports_tcp = s->port_count * 2 / 5, ports_udp = s->port_count / 20, ports_file = s->port_count / 20;
    double os_total = trait(seed, index, 202, 4e9, 6.4e10, 1);
    double os_avail = os_total * wander(seed, index, 203, t, 600.0, 0.55, 0.4);
    static const struct { const char *name; double v; } fixed[] = {
        {"system.dirty_io_schedulers", 10}, {"system.thread_pool_size", 1}, {"system.otp_release", 25},
        {"system.wordsize", 8}, {"run_queue.dirty_cpu", 0}, {"run_queue.dirty_io", 0},
        {"process.status.suspended", 0}, {"process.status.exiting", 0}, {"port.sctp", 0},
        {"socket.count", 0}, {"dist.peers", 1}, {"dist.visible", 0}, {"dist.hidden", 1},
        {"dist.busy_limit", 1048576}, {"shell.processes", 0}, {"shell.memory", 0},
        {"shell.history", 0}, {"logger.proxy_queue", 0}, {"logger.handlers", 1},
    };
    *is_int = 1;
    for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
        if (!strcmp(name, fixed[k].name)) {
            *v = fixed[k].v;
            return 1;
        }
    if (!strcmp(name, "active_tasks"))
        *v = (double)(s->run_queue + running);
    else if (!strcmp(name, "process.status.running"))
        *v = (double)running;
    else if (!strcmp(name, "process.status.runnable"))
        *v = (double)(s->run_queue < s->process_count - running ? s->run_queue : 0);
    else if (!strcmp(name, "process.status.garbage_collecting"))
        *v = (double)gcing;
    else if (!strcmp(name, "process.status.waiting")) {
        int64_t runnable = s->run_queue < s->process_count - running ? s->run_queue : 0;
        *v = (double)(s->process_count - running - runnable - gcing);
    } else if (!strcmp(name, "process.message_queue.nonempty"))
        *v = s->msgq_total == 0 ? 0.0 : (double)(1 + (s->msgq_total - s->msgq_max) / 3);
    else if (!strcmp(name, "process.registered"))
        *v = 22.0 + floor(trait(seed, index, 204, 0.0, 16.0, 0));
    else if (!strcmp(name, "port.tcp"))
        *v = (double)ports_tcp;
    else if (!strcmp(name, "port.udp"))
        *v = (double)ports_udp;
    else if (!strcmp(name, "port.file"))
        *v = (double)ports_file;
    else if (!strcmp(name, "port.other"))
        *v = (double)(s->port_count - ports_tcp - ports_udp - ports_file);
    else if (!strcmp(name, "memory.maximum"))
        *v = floor((double)s->mem_total * 1.15);
    else if (!strcmp(name, "module.loaded"))
        *v = floor(trait(seed, index, 205, 250.0, 1500.0, 1)) + (double)(s->wall_clock_ms / 86400000);
    else if (!strcmp(name, "module.old_code"))
        *v = noise(seed, index, 206, t, 3600.0) > 0.9 ? 1.0 : 0.0;
    else if (!strcmp(name, "application.running") || !strcmp(name, "application.loaded"))
        *v = floor(trait(seed, index, 207, 8.0, 20.0, 0)) + (name[12] == 'l' ? 3.0 : 0.0);
    else if (!strcmp(name, "os.load1") || !strcmp(name, "os.load5") || !strcmp(name, "os.load15")) {
        double period = name[7] == '1' && name[8] == '\0' ? 60.0 : name[7] == '5' ? 300.0 : 900.0;
        *v = s->schedulers * s->util * (0.7 + 0.6 * noise(seed, index, 208, t, period));
        *is_int = 0;
    } else if (!strcmp(name, "os.memory.total_memory") || !strcmp(name, "os.memory.system_total_memory"))
        *v = floor(os_total);
    else if (!strcmp(name, "os.memory.available_memory"))
        *v = floor(os_avail);
    else if (!strcmp(name, "os.memory.free_memory"))
        *v = floor(os_avail * 0.45);
    else if (!strcmp(name, "os.memory.cached_memory"))
        *v = floor(os_avail * 0.5);
    else if (!strcmp(name, "os.memory.buffered_memory"))
        *v = floor(os_avail * 0.05);
    else if (!strcmp(name, "os.disk.count"))
        *v = 1.0 + floor(trait(seed, index, 209, 0.0, 3.0, 0));
    else if (!strcmp(name, "os.disk.max_used_percent")) {
        *v = wander(seed, index, 210, t, 3600.0, trait(seed, index, 211, 15.0, 80.0, 0), 0.1);
        *is_int = 0;
    } else if (!strcmp(name, "scheduler.dirty_cpu.utilization") || !strcmp(name, "scheduler.dirty_io.utilization")) {
        *v = 100.0 * s->util * (name[16] == 'c' ? 0.2 : 0.05) * noise(seed, index, 213, t, 30.0);
        *is_int = 0;
    } else
        return 0;
    return 1;
}

/* memory.area.* (allocated areas) and allocator.<a>.blocks|carriers: shares of the node's
 * memory by a weight of the name, so the allocators' blocks sum to memory.total. The weights
 * depend only on the catalogue: computed once. */
static double name_weight(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return 0.2 + 4.0 * unit(mix64(h));
}

static int alloc_value(const sim_emu_sample_t *s, const char *name, double *v, int *is_int)
{
    static double wsum = -1.0, csum = 0.0;          /* over the allocator.<a>.blocks names */
    *is_int = 1;
    if (!strncmp(name, "memory.area.", 12)) {
        *v = floor((double)s->mem_system * 0.002 * name_weight(name, strlen(name)));
        return 1;
    }
    if (strncmp(name, "allocator.", 10) != 0)
        return 0;
    const char *a = name + 10, *dot = strchr(a, '.');
    if (!dot || (strcmp(dot, ".blocks") && strcmp(dot, ".carriers")))
        return 0;
    if (wsum < 0) {
        wsum = 0.0;
        for (size_t k = 0; k < wr_metric_count; k++) {
            const char *n = wr_metric_defs[k].name, *d;
            if (strncmp(n, "allocator.", 10) || !(d = strchr(n + 10, '.')) || strcmp(d, ".blocks") ||
                !strncmp(n + 10, "total.", 6))
                continue;
            double w = name_weight(n + 10, (size_t)(d - n - 10));
            wsum += w;
            csum += w * (1.1 + 0.1 * w);
        }
        if (wsum <= 0)
            wsum = 1.0;
    }
    int carriers = !strcmp(dot, ".carriers");
    if (!strncmp(a, "total.", 6)) {
        *v = floor((double)s->mem_total * (carriers ? csum / wsum : 1.0));
        return 1;
    }
    double w = name_weight(a, (size_t)(dot - a));
    *v = floor((double)s->mem_total * w / wsum * (carriers ? 1.1 + 0.1 * w : 1.0));
    return 1;
}

static uint32_t name_channel(const char *name)
{
    uint32_t h = 2166136261u;
    for (; *name; name++)
        h = (h ^ (unsigned char)*name) * 16777619u;
    return (h | 0x10000000u) & 0x7fffffffu;   /* above the fixed channels */
}

/* A plausible band for a unit: gauges live in [lo, hi]; counters grow by up to hi per s. */
static void unit_band(const char *unit, double *lo, double *hi, int *is_int)
{
    static const struct { const char *unit; double lo, hi; int is_int; } bands[] = {
        {"bytes", 1e4, 1e8, 1},      {"words", 1e3, 1e7, 1},     {"processes", 1, 2000, 1},
        {"ports", 1, 300, 1},        {"atoms", 1e3, 5e4, 1},     {"tables", 5, 300, 1},
        {"modules", 50, 2000, 1},    {"ratio", 0, 1, 0},         {"fraction", 0, 1, 0},
        {"percent", 0, 100, 0},      {"%", 0, 100, 0},           {"ms", 0, 1000, 1},
        {"us", 0, 1e6, 1},           {"s", 0, 60, 1},            {"messages", 0, 200, 1},
        {"nodes", 0, 8, 1},          {"peers", 0, 8, 1},         {"applications", 5, 60, 1},
        {"reductions", 1e3, 1e7, 1}, {"load", 0, 4, 0},          {"schedulers", 1, 8, 1},
    };
    for (size_t k = 0; k < sizeof bands / sizeof bands[0]; k++)
        if (!strcmp(unit, bands[k].unit)) {
            *lo = bands[k].lo;
            *hi = bands[k].hi;
            *is_int = bands[k].is_int;
            return;
        }
    *lo = 0;
    *hi = 100;
    *is_int = 1;
}

/* Any other metric: deterministic by (seed, index, name), shaped by kind and unit. */
static double generic_value(uint64_t seed, uint32_t index, const sim_emu_sample_t *s,
                            const wr_metric_def_t *def, uint32_t ch, int *is_int)
{
    double lo, hi, t = (double)s->wall_clock_ms / 1000.0;
    unit_band(def->unit ? def->unit : "", &lo, &hi, is_int);
    if (def->kind == WR_COUNTER) {
        double rate = trait(seed, index, ch, 1e-4 * hi + 0.01, 1e-2 * hi + 0.1, 1);
        *is_int = 1;
        return floor(counter(seed, index, ch + 2, t, rate));
    }
    size_t n = strlen(def->name);
    double base = lo > 0 ? trait(seed, index, ch, lo, hi, 1) : trait(seed, index, ch, lo, hi, 0);
    if (n > 6 && !strcmp(def->name + n - 6, ".limit"))
        return *is_int ? floor(base) : base;               /* limits do not move */
    double v = wander(seed, index, ch + 1, t, 120.0, base, 0.3);
    if (v < lo) v = lo;
    if (v > hi) v = hi;
    return *is_int ? floor(v) : v;
}

int sim_emu_values_metric(uint64_t seed, uint32_t index, const sim_emu_sample_t *s,
                          const wr_metric_def_t *def, double *out, int *is_int)
{
    const char *name = def->name;
    if (known_value(s, name, out, is_int) || family_value(seed, index, s, name, out, is_int) ||
        alloc_value(s, name, out, is_int))
        return 1;
    /* scheduler.<id>.<what>: only the node's schedulers exist */
    if (!strncmp(name, "scheduler.", 10) && name[10] >= '0' && name[10] <= '9') {
        char *end;
        long id = strtol(name + 10, &end, 10);
        if (*end != '.' || id < 1)
            return 0;
        if (id > s->schedulers)
            return 0;
        if (!strcmp(end + 1, "utilization")) {
            *out = (def->unit && !strcmp(def->unit, "percent") ? 100.0 : 1.0) * s->sched_util[id - 1];
            *is_int = 0;
            return 1;
        }
        if (!strcmp(end + 1, "run_queue")) {
            *out = (double)s->sched_run_queue[id - 1];
            *is_int = 1;
            return 1;
        }
    }
    uint32_t ch = name_channel(name);
    double v = generic_value(seed, index, s, def, ch, is_int);
    /* "x.count" stays under "x.limit" when the catalogue has both */
    size_t n = strlen(name);
    if (def->kind == WR_GAUGE && n > 6 && n < WR_METRIC_NAME_MAX && !strcmp(name + n - 6, ".count")) {
        char lim[WR_METRIC_NAME_MAX + 2];
        memcpy(lim, name, n - 6);
        memcpy(lim + n - 6, ".limit", 7);
        int li = wr_metric_find(lim);
        double lv;
        int li_int;
        if (li >= 0 && (known_value(s, lim, &lv, &li_int) ||
                        (lv = generic_value(seed, index, s, &wr_metric_defs[li], name_channel(lim), &li_int), 1)) &&
            v > 0.9 * lv)
            v = floor(0.9 * lv);
    }
    *out = v;
    return 1;
}
