/* sim_antfarm: the ant-farm (ACO) workload model; see sim_antfarm.h and docs/SIM.md.
 * Counters are closed forms: an idle rate times uptime plus a cost per ant times the ant
 * work done so far. An iteration's ant count varies by a factor f_k = 1 + 0.3 (g(k+1) - g(k))
 * with g a hash in [0, 1), so the work of the first k iterations telescopes to
 * k + 0.3 (g(k) - g(0)) and no per-node state is needed. Statics are af_-prefixed: the unit
 * tests include this file beside sim_emu_values.c. */
#include <math.h>
#include <string.h>
#include "sim_antfarm.h"

#define AF_FLEET  0xffffffffu      /* "node index" of fleet-wide traits */
#define AF_CH_ITER 0x40000000u     /* per-iteration hashes: AF_CH_ITER + iteration */
/* the share of an iteration's time-integral that ants are alive (see af_alive_integral) */
#define AF_ALIVE_AREA 0.65

enum {
    AF_PERIOD = 3000, AF_OFFSET, AF_COLONIES, AF_ANTS, AF_SCHED, AF_BASEPROCS, AF_PROCBYTES,
    AF_PROCBYTES_N, AF_ANTBYTES, AF_REDS_IDLE, AF_REDS_ANT, AF_UIDLE, AF_UBUSY, AF_JOBS, AF_TAU,
    AF_ETSBASE, AF_ETSBYTES, AF_ETSBYTES_N, AF_BIN, AF_BIN_N, AF_CODE, AF_OTHER, AF_OTHER_N,
    AF_ATOMS, AF_PORTS, AF_PORTS_N, AF_IN, AF_OUT, AF_MSGBYTES, AF_USED_N, AF_RQ_N, AF_LOG_N,
    AF_DIST_N, AF_MQ_N, AF_OTHERQ_N, AF_UTIL_N = 3100, AF_SRQ_N = 3120
};

static double af_range(uint64_t seed, uint32_t index, uint32_t ch, double lo, double hi)
{
    return lo + sim_emu_values_unit(seed, index, ch) * (hi - lo);
}

static double af_log_range(uint64_t seed, uint32_t index, uint32_t ch, double lo, double hi)
{
    return exp(log(lo) + sim_emu_values_unit(seed, index, ch) * (log(hi) - log(lo)));
}

/* base * (1 +- spread), following smooth noise */
static double af_wander(uint64_t seed, uint32_t index, uint32_t ch, double t_s, double period_s,
                        double base, double spread)
{
    return base * (1.0 + spread * (2.0 * sim_emu_values_noise(seed, index, ch, t_s, period_s) - 1.0));
}

static double af_g(uint64_t seed, uint32_t index, int64_t k)
{
    return sim_emu_values_unit(seed, index, AF_CH_ITER + (uint32_t)(k & 0xfffff));
}

/* Fraction of the iteration's ants alive at phase p: spawned over [0, 0.1), all working until
 * 0.6, finishing (report, die) over [0.6, 0.8), none after. */
static double af_alive(double p)
{
    if (p < 0.0)
        return 0.0;
    if (p < 0.1)
        return p / 0.1;
    if (p < 0.6)
        return 1.0;
    if (p < 0.8)
        return (0.8 - p) / 0.2;
    return 0.0;
}

/* Integral of af_alive over [0, p]; AF_ALIVE_AREA at p >= 0.8. */
static double af_alive_integral(double p)
{
    if (p <= 0.0)
        return 0.0;
    if (p < 0.1)
        return 5.0 * p * p;
    if (p < 0.6)
        return 0.05 + (p - 0.1);
    if (p < 0.8) {
        double d = p - 0.6;
        return 0.55 + d - 2.5 * d * d;
    }
    return AF_ALIVE_AREA;
}

/* 0 outside [a, c], rising linearly to 1 at b, falling to 0 at c. */
static double af_tri(double p, double a, double b, double c)
{
    if (p <= a || p >= c)
        return 0.0;
    return p < b ? (p - a) / (b - a) : (c - p) / (c - b);
}

void sim_antfarm_shape(uint64_t seed, uint32_t index, sim_antfarm_shape_t *out)
{
    out->period_s = af_range(seed, AF_FLEET, AF_PERIOD, 3.0, 6.0);
    out->offset_s = af_range(seed, index, AF_OFFSET, 0.0, 0.15) * out->period_s;
    out->colonies = 2 + (int)af_range(seed, index, AF_COLONIES, 0.0, 7.0);
    out->ants_per_colony = 10 + (int)af_range(seed, index, AF_ANTS, 0.0, 51.0);
    out->schedulers = sim_emu_values_unit(seed, index, AF_SCHED) < 0.5 ? 4 : 8;
}

/* Iteration k, phase p (-1 before the first iteration), factor f_k and the ant-iterations of
 * work done so far in units of one iteration's nominal ants (S_k + f_k W(p)). */
typedef struct {
    int64_t k;
    double  p, f, work;
} af_clock_t;

static void af_clock(uint64_t seed, uint32_t index, const sim_antfarm_shape_t *sh, int64_t run_ms,
                     af_clock_t *c)
{
    double x = ((double)run_ms / 1000.0 - sh->offset_s) / sh->period_s;
    if (x < 0.0) {
        c->k = 0;
        c->p = -1.0;
        c->f = 1.0;
        c->work = 0.0;
        return;
    }
    c->k = (int64_t)floor(x);
    c->p = x - (double)c->k;
    double gk = af_g(seed, index, c->k);
    c->f = 1.0 + 0.3 * (af_g(seed, index, c->k + 1) - gk);
    c->work = (double)c->k + 0.3 * (gk - af_g(seed, index, 0)) +
              c->f * af_alive_integral(c->p) / AF_ALIVE_AREA;
}

void sim_antfarm_phase(uint64_t seed, uint32_t index, int64_t run_ms, int64_t *iteration,
                       double *phase, int64_t *ants)
{
    sim_antfarm_shape_t sh;
    af_clock_t c;
    sim_antfarm_shape(seed, index, &sh);
    af_clock(seed, index, &sh, run_ms, &c);
    *iteration = c.k;
    *phase = c.p < 0 ? 0.0 : c.p;
    *ants = (int64_t)floor((double)(sh.colonies * sh.ants_per_colony) * c.f * af_alive(c.p) + 0.5);
}

void sim_antfarm_sample(uint64_t seed, uint32_t index, int64_t wall_ms, int64_t run_ms,
                        sim_emu_sample_t *out)
{
    sim_antfarm_shape_t sh;
    af_clock_t c;
    if (run_ms < 0)
        run_ms = 0;
    if (wall_ms < run_ms)
        wall_ms = run_ms;
    sim_antfarm_shape(seed, index, &sh);
    af_clock(seed, index, &sh, run_ms, &c);
    memset(out, 0, sizeof *out);
    out->workload = SIM_WORKLOAD_ANTFARM;
    double t = (double)wall_ms / 1000.0;
    int C = sh.colonies, A = sh.ants_per_colony, S = sh.schedulers;
    double N = (double)(C * A);
    double alive = af_alive(c.p);
    int64_t ants = (int64_t)floor(N * c.f * alive + 0.5);
    out->aco_iteration = c.k;
    out->aco_ants = ants;
    out->aco_colonies = C;

    /* queues: colonies get the ants' results over [0.6, 0.86), the master the colonies'
     * reports at the end of the iteration */
    double mq_noise = 0.85 + 0.3 * af_g(seed, index ^ 0x5a5a5u, c.k);
    int64_t colony_q = (int64_t)floor((double)A * c.f * 0.6 * af_tri(c.p, 0.6, 0.78, 0.86));
    int64_t master_q = (int64_t)floor(N * c.f * 0.8 * mq_noise * af_tri(c.p, 0.78, 0.93, 0.99));
    out->aco_colony_queue = colony_q;
    out->aco_master_queue = master_q;

    /* processes: OTP and the application, the master, its supervisor, the pheromone owner,
     * the colonies, and the ants of the iteration */
    double base_procs = floor(af_log_range(seed, index, AF_BASEPROCS, 50.0, 250.0));
    out->process_count = (int64_t)base_procs + 3 + C + ants;
    double per_proc = af_wander(seed, index, AF_PROCBYTES_N, t, 120.0,
                                af_log_range(seed, index, AF_PROCBYTES, 3e3, 15e3), 0.1);
    double ant_bytes = af_log_range(seed, index, AF_ANTBYTES, 3e3, 12e3);
    out->mem_processes = (int64_t)(base_procs * per_proc + C * 60e3 + 3 * 40e3 +
                                   (double)ants * ant_bytes + (double)master_q * 300.0);
    out->mem_processes_used = (int64_t)((double)out->mem_processes *
                                        (0.97 + 0.029 * sim_emu_values_noise(seed, index, AF_USED_N, t, 30.0)));

    /* ETS: the node's other tables, one table per colony, and the pheromone table, which
     * grows as the ants visit (job, position) pairs and plateaus */
    double jobs = floor(af_range(seed, index, AF_JOBS, 40.0, 100.0));
    double tau = af_range(seed, index, AF_TAU, 5.0, 25.0);
    double iters = c.p < 0 ? 0.0 : (double)c.k + c.p;
    int64_t phero = (int64_t)((jobs * jobs * 24.0 + 2e4) * (1.0 - exp(-iters / tau)));
    int64_t ets_base = (int64_t)af_range(seed, index, AF_ETSBASE, 18.0, 40.0);
    out->ets_count = ets_base + 1 + C;
    out->aco_pheromone_bytes = phero;
    out->mem_ets = (int64_t)((double)ets_base * af_wander(seed, index, AF_ETSBYTES_N, t, 300.0,
                                                          af_log_range(seed, index, AF_ETSBYTES, 2e3, 4e4), 0.2)) +
                   C * 8192 + phero;
    out->mem_binary = (int64_t)(af_wander(seed, index, AF_BIN_N, t, 60.0,
                                          af_log_range(seed, index, AF_BIN, 2e5, 5e6), 0.3) +
                                (double)master_q * 256.0 + (double)ants * 200.0);
    out->mem_code = (int64_t)af_range(seed, index, AF_CODE, 7e6, 1.6e7);
    out->mem_other = (int64_t)af_wander(seed, index, AF_OTHER_N, t, 600.0,
                                        af_range(seed, index, AF_OTHER, 4e6, 1.5e7), 0.1);
    out->atom_count = (int64_t)af_range(seed, index, AF_ATOMS, 11000.0, 16000.0);
    out->port_count = (int64_t)floor(af_wander(seed, index, AF_PORTS_N, t, 300.0,
                                               af_range(seed, index, AF_PORTS, 6.0, 25.0), 0.2));

    /* counters: idle rate times uptime plus a cost per unit of ant work */
    double work = N * c.work;                                  /* ant-iterations done */
    double reds_idle = af_log_range(seed, index, AF_REDS_IDLE, 1e4, 1e5);
    double reds_ant = af_log_range(seed, index, AF_REDS_ANT, 2e4, 2e5);
    double reductions = reds_idle * t + reds_ant * work;
    out->reductions = (int64_t)reductions;
    out->context_switches = (int64_t)(reductions / 40.0);
    out->gc_count = (int64_t)(reductions / 2500.0);
    out->gc_words = out->gc_count * 1500;
    double u_idle = af_range(seed, index, AF_UIDLE, 0.02, 0.06);
    double u_busy = af_range(seed, index, AF_UBUSY, 0.35, 0.7);  /* x f_k <= 1.3: u <= 0.97 */
    out->wall_clock_ms = wall_ms;
    out->runtime_ms = (int64_t)(1000.0 * S * (u_idle * t + u_busy * sh.period_s * AF_ALIVE_AREA * c.work));
    double msg_bytes = af_log_range(seed, index, AF_MSGBYTES, 300.0, 1500.0);
    out->io_input = 2000 + (int64_t)(af_log_range(seed, index, AF_IN, 50.0, 2e3) * t + msg_bytes * work);
    out->io_output = 4000 + (int64_t)(af_log_range(seed, index, AF_OUT, 50.0, 2e3) * t + 1.2 * msg_bytes * work);

    /* run queues and utilisation follow the ants */
    double rqn = sim_emu_values_noise(seed, index, AF_RQ_N, t, 2.0);
    out->run_queue = (int64_t)floor((double)ants * 0.04 * rqn + 2.0 * pow(rqn, 6));
    out->schedulers = S;
    int64_t left = out->run_queue;
    double u = u_idle + u_busy * c.f * alive, usum = 0.0;
    for (int k = 0; k < SIM_EMU_MAX_SCHED; k++) {
        if (k >= S)
            continue;
        int64_t q = k + 1 == S ? left
                    : (int64_t)((double)left * sim_emu_values_noise(seed, index, AF_SRQ_N + (uint32_t)k, t, 2.0));
        out->sched_run_queue[k] = q;
        left -= q;
        double uk = u * (0.9 + 0.2 * sim_emu_values_noise(seed, index, AF_UTIL_N + (uint32_t)k, t, 3.0));
        out->sched_util[k] = uk > 1.0 ? 1.0 : uk;
        usum += out->sched_util[k];
    }
    out->util = usum / S;

    /* message queues: the master's and the colonies', the logger's, a few strays */
    out->logger_queue = (int64_t)floor(3.0 * pow(sim_emu_values_noise(seed, index, AF_LOG_N, t, 20.0), 4));
    int64_t strays = (int64_t)floor(5.0 * pow(sim_emu_values_noise(seed, index, AF_OTHERQ_N, t, 10.0), 3));
    out->msgq_total = master_q + colony_q + (int64_t)floor(0.7 * (double)colony_q * (C - 1)) +
                      out->logger_queue + strays;
    if (master_q >= colony_q && master_q > 0) {
        out->msgq_max = master_q;
        out->msgq_who = SIM_MQ_MASTER;
    } else if (colony_q > 0) {
        out->msgq_max = colony_q;
        out->msgq_who = SIM_MQ_COLONY;
    } else {
        out->msgq_max = strays > 0 ? 1 : 0;
        out->msgq_who = SIM_MQ_MODEL;
    }
    /* the distribution port carries the colonies' reports */
    out->dist_queue_bytes = master_q > 0 ? (int64_t)(2000.0 * sim_emu_values_noise(seed, index, AF_DIST_N, t, 1.0)) : 0;
    out->dist_queue_bytes_max = out->dist_queue_bytes;
    sim_emu_values_settle(out);
}
