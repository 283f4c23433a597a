/* bench_faults: the fault phase of `warren-bench antfarm`, run after the steady window on the
 * live fabric: injects faults on chosen nodes (`warren-sim inject`), polls the root's
 * /api/v1/alarms every 50 ms (one GET per alarm type), and records for each fault when its
 * alarm first shows at the root and the alarm's raise time at the leaf (raised_ms); then reads
 * from the root's alarm history when the root received that raise (received_ms), so the tier
 * propagation (leaf raise -> root receipt) is exact, not rounded up to our polls. Latency
 * figures and the report sections (JSON, Markdown, a gnuplot data file) are computed here. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"
#include "wr_error.h"
#include "wr_time.h"

#define FAULT_POLL_MS 50
#define FAULT_HOLD_S  600     /* crash / silent last this long: past the end of the phase */

/* fault kind -> warren-sim fault name, the alarm it must end in, its resource ("" any) */
const bench_fault_kind_t bench_fault_kinds[BENCH_FAULT_KINDS] = {
    {"mqueue_flood", "message_queue", ""},
    {"crash", "node_down", ""},
    {"silent", "node_down", ""},
    {"busy_dist_port", "busy_dist_port", ""},
    {"atom_leak", "limit_forecast", "atoms"},
    {"memory_growth", "limit_forecast", "memory"},
};

/* Spread the faulted nodes over the fleet (and so over leaves and relays): fault j of kind k
 * goes to node ((j * kinds + k) * 2 + 1) * N / (2 * kinds * per) -- distinct while N >= 2x. */
static long pick_node(long nodes, int kind, long j, long per)
{
    long slots = (long)BENCH_FAULT_KINDS * per;
    return ((j * BENCH_FAULT_KINDS + kind) * 2 + 1) * nodes / (2 * slots);
}

/* One GET of the active alarms of one type; marks the faults it shows. Returns 0 or -1. */
static int poll_type(bench_http_t *h, const char *type, bench_faults_t *f)
{
    char path[128], err[256];
    json_t *j;
    snprintf(path, sizeof path, "/api/v1/alarms?type=%s", type);
    if (bench_http_get_json(h, path, 2000, &j, err, sizeof err) != 0)
        return -1;
    int64_t seen = wr_wall_ms();
    json_t *arr = json_object_get(j, "alarms");
    size_t i;
    json_t *a;
    json_array_foreach(arr, i, a) {
        const char *scope = json_string_value(json_object_get(a, "scope"));
        const char *res = json_string_value(json_object_get(a, "resource"));
        if (!scope)
            continue;
        for (size_t k = 0; k < f->n; k++) {
            bench_fault_t *x = &f->v[k];
            const bench_fault_kind_t *fk = &bench_fault_kinds[x->kind];
            if (x->detected || strcmp(fk->alarm, type) != 0 || strcmp(x->node, scope) != 0)
                continue;
            if (fk->resource[0] && (!res || strcmp(res, fk->resource) != 0))
                continue;
            x->detected = 1;
            x->seen_wall_ms = seen;
            x->raised_ms = (int64_t)bench_json_num(a, "raised_ms", -1);
            f->found++;
        }
    }
    json_decref(j);
    return 0;
}

/* The root's receipt time of fault x's raise: the history record of its alarm with the same
 * raised_ms (the raise, or the first change after it). Sets x->root_recv_ms; returns 0 or -1. */
static int fetch_receipt(bench_http_t *h, bench_fault_t *x)
{
    const bench_fault_kind_t *fk = &bench_fault_kinds[x->kind];
    char path[256], err[256];
    json_t *j;
    snprintf(path, sizeof path, "/api/v1/alarms?all=1&type=%s&node=%s&since=%lld&limit=50", fk->alarm, x->node,
             (long long)x->raised_ms);
    if (bench_http_get_json(h, path, 5000, &j, err, sizeof err) != 0)
        return -1;
    json_t *arr = json_object_get(j, "history");
    size_t i;
    json_t *a;
    int64_t best = 0;
    json_array_foreach(arr, i, a) {
        const char *res = json_string_value(json_object_get(a, "resource"));
        int64_t raised = (int64_t)bench_json_num(a, "raised_ms", -1);
        int64_t recv = (int64_t)bench_json_num(a, "received_ms", 0);
        if (raised != x->raised_ms || recv <= 0 || (fk->resource[0] && (!res || strcmp(res, fk->resource) != 0)))
            continue;
        if (!best || recv < best)
            best = recv;
    }
    json_decref(j);
    x->root_recv_ms = best;
    return best ? 0 : -1;
}

int bench_faults_run(const bench_antfarm_opts_t *o, bench_faults_t *f, const char *url, const char *fabric,
                     bench_progress_fn progress)
{
    long per = o->faults_per_kind;
    if (per <= 0)
        return 0;
    if (o->nodes < 2L * BENCH_FAULT_KINDS * per) {
        snprintf(f->error, sizeof f->error, "%ld nodes are too few for %ld faults of each of %d kinds",
                 o->nodes, per, BENCH_FAULT_KINDS);
        return WR_EINVAL;
    }
    f->v = calloc((size_t)(per * BENCH_FAULT_KINDS), sizeof *f->v);
    if (!f->v)
        return WR_ENOMEM;
    f->ran = 1;
    /* a healthy node raises node_down after detection (<= 3 intervals) + the grace; a forecast
     * needs min_points points one step apart; then slack for the tiers */
    f->deadline_s = 3 * o->interval + o->down_grace + (o->forecast_min_points + 2) * o->interval + 60;
    char log[PATH_MAX + 32];
    snprintf(log, sizeof log, "%s/sim-inject.log", o->out);
    bench_say(progress, "antfarm: injecting %ld faults of each of %d kinds (deadline %.0f s)", per, BENCH_FAULT_KINDS,
        f->deadline_s);
    for (long j = 0; j < per; j++)
        for (int k = 0; k < BENCH_FAULT_KINDS; k++) {
            bench_fault_t *x = &f->v[f->n];
            x->kind = k;
            snprintf(x->node, sizeof x->node, "sim%05ld@127.0.0.1", pick_node(o->nodes, k, j, per));
            char dur[32];
            snprintf(dur, sizeof dur, "%d", FAULT_HOLD_S);
            int hold = k == 1 || k == 2;                 /* crash, silent */
            char *argv[] = {(char *)o->sim, "inject", "--dir", (char *)fabric, "--node", x->node,
                            (char *)bench_fault_kinds[k].fault, hold ? "--duration" : NULL, dur, NULL};
            x->inject_wall_ms = wr_wall_ms();
            int rc = bench_run(argv, NULL, 0, log);
            x->inject_done_ms = wr_wall_ms();
            if (rc != 0) {
                x->inject_failed = 1;
                f->inject_failed++;
            }
            f->n++;
        }
    bench_http_t *h = bench_http_new(url);
    if (!h)
        return WR_ENOMEM;
    int64_t t0 = wr_mono_ms(), next = t0;
    int rc = 0;
    while (f->found + f->inject_failed < f->n) {
        for (int k = 0; k < BENCH_FAULT_KINDS; k++) {
            int dup = 0;                                 /* node_down twice: one GET */
            for (int q = 0; q < k; q++)
                dup |= !strcmp(bench_fault_kinds[q].alarm, bench_fault_kinds[k].alarm);
            if (dup)
                continue;
            f->polls++;
            if (poll_type(h, bench_fault_kinds[k].alarm, f) != 0)
                f->poll_errors++;
        }
        if (bench_interrupted) {
            rc = WR_ECLOSED;
            snprintf(f->error, sizeof f->error, "interrupted while waiting for the alarms");
            break;
        }
        if (wr_mono_ms() - t0 > (int64_t)(f->deadline_s * 1000)) {
            snprintf(f->error, sizeof f->error, "%zu of %zu faults had no alarm at the root after %.0f s",
                     f->n - f->found - f->inject_failed, f->n, f->deadline_s);
            break;
        }
        next += FAULT_POLL_MS;
        int64_t wait = next - wr_mono_ms();
        if (wait > 0)
            bench_sleep_ms(wait);
        else
            next = wr_mono_ms();
    }
    size_t receipts = 0;
    for (size_t i = 0; i < f->n; i++)
        if (f->v[i].detected && f->v[i].raised_ms > 0)
            receipts += fetch_receipt(h, &f->v[i]) == 0;
    bench_http_destroy(&h);
    bench_say(progress, "antfarm: %zu/%zu injected faults seen as alarms at the root (%ld polls, %ld failed; "
        "root receipt time of %zu)", f->found, f->n, f->polls, f->poll_errors, receipts);
    return rc;
}

void bench_faults_free(bench_faults_t *f)
{
    free(f->v);
    f->v = NULL;
    f->n = 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank quantile of sorted v[0..n). */
static double quant(const double *v, size_t n, double q)
{
    if (n == 0)
        return NAN;
    size_t r = (size_t)ceil(q * (double)n);
    return v[r ? r - 1 : 0];
}

void bench_faults_stats(const bench_faults_t *f, int kind, int propagation, bench_lat_t *out)
{
    memset(out, 0, sizeof *out);
    out->p50 = out->p99 = out->max = NAN;
    double *v = f->n ? malloc(f->n * sizeof *v) : NULL;
    if (!v)
        return;
    for (size_t i = 0; i < f->n; i++) {
        const bench_fault_t *x = &f->v[i];
        if (kind >= 0 && x->kind != kind)
            continue;
        if (!x->inject_failed)
            out->injected++;
        if (!x->detected)
            continue;
        if (propagation && x->raised_ms <= 0)
            continue;
        int64_t at_root = x->root_recv_ms > 0 ? x->root_recv_ms : x->seen_wall_ms;
        v[out->n++] = (double)(propagation ? at_root - x->raised_ms : x->seen_wall_ms - x->inject_wall_ms);
    }
    qsort(v, out->n, sizeof *v, cmp_d);
    if (out->n) {
        out->p50 = quant(v, out->n, 0.50);
        out->p99 = quant(v, out->n, 0.99);
        out->max = v[out->n - 1];
    }
    free(v);
}

static json_t *num(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

static json_t *lat_json(const bench_lat_t *l)
{
    return json_pack("{s:I, s:I, s:o, s:o, s:o}", "injected", (json_int_t)l->injected, "detected",
                     (json_int_t)l->n, "p50_ms", num(l->p50), "p99_ms", num(l->p99), "max_ms", num(l->max));
}

json_t *bench_faults_json(const bench_antfarm_opts_t *o, const bench_faults_t *f)
{
    bench_lat_t all, prop;
    bench_faults_stats(f, -1, 0, &all);
    bench_faults_stats(f, -1, 1, &prop);
    json_t *j = json_pack("{s:o, s:o, s:o, s:o, s:o}", "p50_ms", num(all.p50), "p99_ms", num(all.p99), "max_ms",
                          num(all.max), "propagation_p50_ms", num(prop.p50), "propagation_p99_ms", num(prop.p99));
    json_object_set_new(j, "measured", json_true());
    json_object_set_new(j, "propagation_max_ms", num(prop.max));
    json_t *pk = json_object();
    for (int k = 0; k < BENCH_FAULT_KINDS; k++) {
        bench_lat_t l, p;
        bench_faults_stats(f, k, 0, &l);
        bench_faults_stats(f, k, 1, &p);
        json_t *e = lat_json(&l);
        json_object_set_new(e, "alarm", json_string(bench_fault_kinds[k].alarm));
        json_object_set_new(e, "propagation", lat_json(&p));
        json_object_set_new(pk, bench_fault_kinds[k].fault, e);
    }
    json_object_set_new(j, "per_fault", pk);
    json_t *arr = json_array();
    for (size_t i = 0; i < f->n; i++) {
        const bench_fault_t *x = &f->v[i];
        json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I, s:b, s:o, s:o, s:o}", "fault",
                                             bench_fault_kinds[x->kind].fault, "node", x->node, "inject_ms",
                                             (json_int_t)x->inject_wall_ms, "inject_returned_ms",
                                             (json_int_t)x->inject_done_ms, "detected", x->detected, "root_seen_ms",
                                             x->detected ? json_integer(x->seen_wall_ms) : json_null(), "leaf_raised_ms",
                                             x->detected && x->raised_ms > 0 ? json_integer(x->raised_ms) : json_null(),
                                             "root_received_ms",
                                             x->root_recv_ms > 0 ? json_integer(x->root_recv_ms) : json_null()));
    }
    json_object_set_new(j, "faults", arr);
    json_object_set_new(j, "config", json_pack("{s:f, s:f, s:I, s:f, s:i}", "node_down_grace_s", o->down_grace,
                                               "forecast_step_s", o->interval, "forecast_min_points",
                                               (json_int_t)o->forecast_min_points, "poll_ms", (double)FAULT_POLL_MS,
                                               "faults_per_kind", (int)o->faults_per_kind));
    json_object_set_new(j, "polls", json_integer(f->polls));
    json_object_set_new(j, "poll_errors", json_integer(f->poll_errors));
    json_object_set_new(j, "error", json_string(f->error));
    return j;
}

static void md_ms(FILE *out, double v)
{
    if (isnan(v))
        fprintf(out, "n/a");
    else
        fprintf(out, "%.0f", v);
}

/* p50 SEP1 p99 SEP2 max AFTER, in ms. */
static void md_lat(FILE *out, const bench_lat_t *l, const char *sep1, const char *sep2, const char *after)
{
    md_ms(out, l->p50);
    fputs(sep1, out);
    md_ms(out, l->p99);
    fputs(sep2, out);
    md_ms(out, l->max);
    fputs(after, out);
}

void bench_faults_markdown(FILE *out, const bench_antfarm_opts_t *o, const bench_faults_t *f)
{
    fprintf(out, "\n## Fault injection: injection to root alarm\n\n"
                 "%ld fault(s) of each kind injected with `warren-sim inject` after the steady window, on nodes "
                 "spread over the fleet; the root's `/api/v1/alarms?type=T` polled every %d ms. Leaves ran with "
                 "node_down grace %.1f s and forecasts sampled every interval (%.1f s), %ld points before an "
                 "opinion (`warren-sim up --node-down-grace --forecast-step --forecast-min-points`). Latency is "
                 "from the start of `warren-sim inject` to the first poll that showed the alarm; it includes "
                 "the leaf's poll interval, its detection rule (3 missed intervals for down nodes, the grace, "
                 "the forecast's points) and the tiers.\n\n"
                 "| fault | alarm | detected | p50 ms | p99 ms | max ms | leaf raise -> root p50 / p99 / max ms |\n"
                 "|---|---|---|---|---|---|---|\n",
            o->faults_per_kind, FAULT_POLL_MS, o->down_grace, o->interval, o->forecast_min_points);
    for (int k = 0; k < BENCH_FAULT_KINDS; k++) {
        bench_lat_t l, p;
        bench_faults_stats(f, k, 0, &l);
        bench_faults_stats(f, k, 1, &p);
        fprintf(out, "| %s | %s%s%s | %zu/%zu | ", bench_fault_kinds[k].fault, bench_fault_kinds[k].alarm,
                bench_fault_kinds[k].resource[0] ? " " : "", bench_fault_kinds[k].resource, l.n, l.injected);
        md_lat(out, &l, " | ", " | ", " | ");
        md_lat(out, &p, " / ", " / ", " |\n");
    }
    bench_lat_t prop;
    bench_faults_stats(f, -1, 1, &prop);
    size_t exact = 0;
    for (size_t i = 0; i < f->n; i++)
        exact += f->v[i].detected && f->v[i].raised_ms > 0 && f->v[i].root_recv_ms > 0;
    fprintf(out, "\nTier propagation (leaf raise -> root receipt, all kinds, %zu alarms): p50 ", prop.n);
    md_lat(out, &prop, " ms, p99 ", " ms, max ", "");
    fprintf(out, " ms. From the leaf's raise time (`raised_ms`, stamped when the leaf evaluated the alarm) "
                 "to the root's receipt of the event (`received_ms` in the root's alarm history, stamped when "
                 "the root applied the frame, before its commit); both are wall clocks of this one machine. "
                 "%zu of them had the receipt time; any other is measured to the first of our %d ms polls "
                 "that showed the alarm.\n", exact, FAULT_POLL_MS);
    if (f->error[0])
        fprintf(out, "\nFault phase: %s.\n", f->error);
    if (f->plotted)
        fprintf(out, "\n![injected fault to root alarm](latency.png)\n");
}

static int plot_data(const char *path, const bench_faults_t *f)
{
    FILE *fp = fopen(path, "w");
    if (!fp)
        return WR_EIO;
    fprintf(fp, "# kind_index fault latency_ms propagation_ms\n");
    for (size_t i = 0; i < f->n; i++) {
        const bench_fault_t *x = &f->v[i];
        if (x->detected)
            fprintf(fp, "%d %s %lld %lld\n", x->kind, bench_fault_kinds[x->kind].fault,
                    (long long)(x->seen_wall_ms - x->inject_wall_ms),
                    (long long)(x->raised_ms > 0 ? (x->root_recv_ms > 0 ? x->root_recv_ms : x->seen_wall_ms) -
                                                   x->raised_ms : -1));
    }
    return fclose(fp) == 0 ? 0 : WR_EIO;
}

void bench_faults_plot(const bench_antfarm_opts_t *o, bench_faults_t *f)
{
    char dat[PATH_MAX + 32], gp[PATH_MAX + 32], log[PATH_MAX + 32];
    f->plotted = 0;
    if (!f->ran || f->found == 0 || strchr(o->out, '\'') || strchr(o->out, '\n'))
        return;
    snprintf(dat, sizeof dat, "%s/faults.dat", o->out);
    snprintf(gp, sizeof gp, "%s/faults.gp", o->out);
    snprintf(log, sizeof log, "%s/gnuplot-faults.log", o->out);
    if (plot_data(dat, f) != 0)
        return;
    FILE *fp = fopen(gp, "w");
    if (!fp)
        return;
    fprintf(fp, "# made by warren-bench antfarm: run `gnuplot faults.gp` in this directory\n"
                "set terminal pngcairo size 960,540 font ',10'\nset grid\nset key left top\n"
                "set output '%s/latency.png'\nset title 'Injected fault to root alarm (%ld nodes, interval %g s)'\n"
                "set logscale y\nset ylabel 'ms'\nset xrange [-0.5:%d.5]\nset xtics (",
            o->out, o->nodes, o->interval, BENCH_FAULT_KINDS - 1);
    for (int k = 0; k < BENCH_FAULT_KINDS; k++)
        fprintf(fp, "%s'%s' %d", k ? ", " : "", bench_fault_kinds[k].fault, k);
    fprintf(fp, ")\nplot '%s' using ($1-0.1):3 with points pt 7 ps 1.2 title 'injection -> root alarm', "
                "'' using ($1+0.1):($4 > 0 ? $4 : 1/0) with points pt 5 ps 1.2 title 'leaf raise -> root'\n",
            dat);
    if (fclose(fp) != 0)
        return;
    char *argv[] = {"gnuplot", gp, NULL};
    f->plotted = bench_run(argv, NULL, 0, log) == 0;
}
