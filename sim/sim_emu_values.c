/* sim_emu_values: a plausible, deterministic workload model for emulated BEAM nodes.
 * Each node gets fixed traits (size, load) hashed from (seed, index); gauges follow smooth
 * value noise around those traits; counters are closed-form integrals of a positive,
 * oscillating rate, so they grow monotonically without any per-node state. Not the protocol:
 * sim_emu_calls.c turns a sample into Erlang terms. */
#include <math.h>
#include "sim_emu_values.h"

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
    CH_CPU = 70, CH_CPU_RATE = 72, CH_CS = 80, CH_GC = 90
};

void sim_emu_values_sample(uint64_t seed, uint32_t index, int64_t elapsed_ms, sim_emu_sample_t *out)
{
    if (elapsed_ms < 0)
        elapsed_ms = 0;
    /* The node "booted" between 10 minutes and 30 days before the emulator started. */
    int64_t uptime0_ms = (int64_t)trait(seed, index, CH_UPTIME, 600e3, 2592e6, 1);
    int64_t wall_ms = uptime0_ms + elapsed_ms;
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
}
