/* bench_report: OUT/report.json (every figure with its unit in its name, the command line,
 * machine facts) and OUT/report.md (headline, per-tier table, targets of issue 6 with met /
 * missed by how much / not measured) from one antfarm run. What the fabric cannot measure yet
 * is written as "not measured: why" with null values, never estimated. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "bench.h"
#include "bench_links.h"
#include "wr_error.h"

static const char *const NO_INJECT =
    "not measured: the fault phase did not run (--faults-per-kind 0, or the run stopped before it)";
static const char *const NO_LINKS =
    "not measured: the root's /api/v1/tree did not answer at the end of the window";
static const char *const NO_CEILING =
    "not measured: skipped with --no-ceiling (run `warren-bench relay-ceiling`)";
static const char *const NO_CEILING_RUN =
    "not measured: the run stopped before the relay-ceiling sub-benchmark";
static const char *const NO_PROM =
    "not measured: a separate run, `warren-bench prometheus-vs-warren --nodes N` (docs/BENCHMARKS.md)";

typedef struct {
    const char *key, *what, *target;
    const char *status;     /* "met", "missed", "not measured" */
    double      value;      /* NAN when not measured */
    const char *unit;
    char        note[256];
} target_t;

enum { T_VISIBLE, T_CPU, T_RSS, T_LATENCY, T_PROM, T_COUNT };

static void targets(const bench_antfarm_t *r, target_t t[T_COUNT])
{
    const bench_antfarm_opts_t *o = r->opts;
    double n = (double)o->nodes;
    int have_steady = r->nsamples > 1 && r->window_s > 0;
    int at10 = fabs(o->interval - 10) < 1e-9;
    char scale[96] = "";
    if (o->nodes != 10000)
        snprintf(scale, sizeof scale, " at %ld nodes (the target is stated for 10,000)", o->nodes);

    t[T_VISIBLE] = (target_t){"time_to_visible", "every one of 10,000 nodes visible at the root", "<= 30 s",
                              "not measured", NAN, "s", ""};
    double ttv = r->time_to_visible_ms >= 0 ? r->time_to_visible_ms / 1000.0 : NAN;
    if (o->nodes < 10000) {
        snprintf(t[T_VISIBLE].note, sizeof t[0].note, "the target is for 10,000 nodes; this run had %ld%s", o->nodes,
                 isnan(ttv) ? " and never saw them all" : "");
        t[T_VISIBLE].value = ttv;
    } else if (isnan(ttv)) {
        t[T_VISIBLE].status = "missed";
        snprintf(t[T_VISIBLE].note, sizeof t[0].note, "never all visible (%ld up at most)", r->nodes_visible);
    } else {
        t[T_VISIBLE].value = ttv;
        t[T_VISIBLE].status = ttv <= 30 ? "met" : "missed";
        if (ttv > 30)
            snprintf(t[T_VISIBLE].note, sizeof t[0].note, "by %.1f s (+%.0f%%)", ttv - 30, (ttv - 30) / 30 * 100);
    }

    t[T_CPU] = (target_t){"fabric_cpu", "whole fabric CPU at a 10 s interval", "<= 0.25 cores", "not measured", NAN,
                          "cores", ""};
    t[T_RSS] = (target_t){"fabric_rss_per_node", "whole fabric RSS per monitored node at a 10 s interval (peak of the window)", "<= 150 kB",
                          "not measured", NAN, "kB", ""};
    if (!have_steady) {
        snprintf(t[T_CPU].note, sizeof t[0].note, "no steady-state window");
        snprintf(t[T_RSS].note, sizeof t[0].note, "no steady-state window");
    } else if (!at10) {
        snprintf(t[T_CPU].note, sizeof t[0].note, "the target is at a 10 s interval; this run used %g s", o->interval);
        snprintf(t[T_RSS].note, sizeof t[0].note, "the target is at a 10 s interval; this run used %g s", o->interval);
        t[T_CPU].value = r->cpu_mean[BENCH_FABRIC];
        t[T_RSS].value = (double)r->rss_max_kb[BENCH_FABRIC] / n;
    } else {
        double c = r->cpu_mean[BENCH_FABRIC], k = (double)r->rss_max_kb[BENCH_FABRIC] / n;
        t[T_CPU].value = c;
        t[T_CPU].status = c <= 0.25 ? "met" : "missed";
        if (c > 0.25)
            snprintf(t[T_CPU].note, sizeof t[0].note, "by %.3f cores (+%.0f%%)%s", c - 0.25, (c - 0.25) / 0.25 * 100, scale);
        else
            snprintf(t[T_CPU].note, sizeof t[0].note, "%.0f%% of the budget%s", c / 0.25 * 100, scale);
        t[T_RSS].value = k;
        t[T_RSS].status = k <= 150 ? "met" : "missed";
        double anon = (double)r->rss_anon_max_kb[BENCH_FABRIC] / n;
        if (k > 150)
            snprintf(t[T_RSS].note, sizeof t[0].note, "by %.1f kB (+%.0f%%)%s; anonymous memory alone %.1f kB/node",
                     k - 150, (k - 150) / 150 * 100, scale, anon);
        else
            snprintf(t[T_RSS].note, sizeof t[0].note, "%.0f%% of the budget%s", k / 150 * 100, scale);
    }
    t[T_LATENCY] = (target_t){"alarm_latency_p99", "leaf-raise to root-visible alarm latency, p99", "< 50 ms",
                              "not measured", NAN, "ms", ""};
    snprintf(t[T_LATENCY].note, sizeof t[0].note, "%s", NO_INJECT + strlen("not measured: "));
    bench_lat_t prop;
    bench_faults_stats(&r->faults, -1, 1, &prop);
    if (r->faults.ran && prop.n > 0) {
        t[T_LATENCY].value = prop.p99;
        t[T_LATENCY].status = prop.p99 < 50 ? "met" : "missed";
        if (prop.p99 < 50)
            snprintf(t[T_LATENCY].note, sizeof t[0].note, "%zu alarms of injected faults; from the leaf's "
                     "evaluation to the root's receipt", prop.n);
        else
            snprintf(t[T_LATENCY].note, sizeof t[0].note, "by %.0f ms over %zu alarms; from the leaf's "
                     "evaluation to the root's receipt (a synced commit at the leaf and at each relay)",
                     prop.p99 - 50, prop.n);
    }
    t[T_PROM] = (target_t){"vs_prometheus", "CPU and memory compared with Prometheus, same fleet and interval",
                           ">= 10x less", "not measured", NAN, "ratio", ""};
    snprintf(t[T_PROM].note, sizeof t[0].note, "%s", NO_PROM + strlen("not measured: "));
}

static json_t *num_or_null(double v, int valid)
{
    return valid && !isnan(v) ? json_real(v) : json_null();
}

static json_t *unmeasured(const char *why, const char *const keys[])
{
    json_t *o = json_object();
    json_object_set_new(o, "measured", json_false());
    json_object_set_new(o, "why", json_string(why));
    for (size_t i = 0; keys[i]; i++)
        json_object_set_new(o, keys[i], json_null());
    return o;
}

static json_t *build_json(const bench_antfarm_t *r, json_t *machine, const target_t t[T_COUNT])
{
    const bench_antfarm_opts_t *o = r->opts;
    json_t *j = json_object();
    json_object_set_new(j, "benchmark", json_string("antfarm"));
    json_object_set_new(j, "command", json_string(o->command));
    json_object_set_new(j, "started", json_string(r->started_iso));
    json_object_set_new(j, "complete", json_boolean(r->error[0] == 0));
    json_object_set_new(j, "error", r->error[0] ? json_string(r->error) : json_null());
    json_object_set_new(j, "units", json_pack("{s:s, s:s, s:s, s:s, s:s}", "*_ms", "milliseconds", "*_s", "seconds",
                                              "cpu_cores*", "CPU cores, 1.0 = one core fully busy",
                                              "rss_kb*", "kibibytes of resident memory (VmRSS)", "samples_per_s",
                                              "metric samples per second ingested, as the root reports"));
    json_object_set_new(j, "machine", machine);
    json_object_set_new(j, "loadavg_start", json_string(r->loadavg_start));
    json_object_set_new(j, "loadavg_end", json_string(r->loadavg_end));
    json_object_set_new(j, "parameters",
                        json_pack("{s:I, s:f, s:f, s:I, s:f, s:I, s:I, s:I, s:I, s:s, s:s}", "nodes", (json_int_t)o->nodes,
                                  "duration_s", o->duration, "warmup_s", o->warmup, "seed", (json_int_t)o->seed, "interval_s", o->interval,
                                  "fanout", (json_int_t)o->fanout, "base_port", (json_int_t)o->base_port, "tier_port",
                                  (json_int_t)o->tier_port, "http_port", (json_int_t)o->http_port, "sim", o->sim,
                                  "root_url", r->url));

    json_t *h = json_object();
    json_object_set_new(h, "nodes", json_integer(o->nodes));
    json_object_set_new(h, "time_to_visible_ms",
                        r->time_to_visible_ms >= 0 ? json_integer(r->time_to_visible_ms) : json_null());
    json_object_set_new(h, "nodes_visible", json_integer(r->nodes_visible));
    json_object_set_new(h, "sim_reported_s", num_or_null(r->sim_reported_s, r->sim_reported_s >= 0));
    json_object_set_new(h, "sim_exit_code", json_integer(r->sim_exit));
    json_object_set_new(h, "poll_period_ms", json_integer(200));
    json_object_set_new(h, "definition", json_string("from fork of `warren-sim up` to the first /api/v1/status poll "
                                                     "with nodes_up == nodes (polled every 200 ms)"));
    json_t *vs = json_array();
    for (size_t i = 0; i < r->nvis; i++)
        json_array_append_new(vs, json_pack("[I,o,o]", (json_int_t)r->vis[i].t_ms,
                                            r->vis[i].total >= 0 ? json_integer(r->vis[i].total) : json_null(),
                                            r->vis[i].up >= 0 ? json_integer(r->vis[i].up) : json_null()));
    json_object_set_new(h, "series_columns", json_pack("[s,s,s]", "t_ms", "nodes_visible", "nodes_up"));
    json_object_set_new(h, "series", vs);
    json_object_set_new(j, "headline", h);

    json_t *st = json_object();
    int have = r->nsamples > 1;
    json_object_set_new(st, "window_s", json_real(r->window_s));
    json_object_set_new(st, "sample_period_s", json_integer(5));
    json_object_set_new(st, "warmup_s", json_real(o->warmup));
    json_object_set_new(st, "samples_per_s_mean", num_or_null(r->samples_per_s_mean, r->samples_per_s_mean >= 0));
    json_object_set_new(st, "samples_per_s_end", num_or_null(r->samples_per_s_end, r->samples_per_s_end >= 0));
    json_object_set_new(st, "nodes_up_end", r->nodes_up_end >= 0 ? json_integer(r->nodes_up_end) : json_null());
    json_t *tiers = json_object();
    for (int g = 0; g < BENCH_GROUPS; g++) {
        int ok = have && r->procs.count[g] > 0;
        json_object_set_new(
            tiers, bench_group_names[g],
            json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "processes", (json_int_t)r->procs.count[g], "cpu_cores_mean",
                      num_or_null(r->cpu_mean[g], ok), "rss_kb_mean", num_or_null(r->rss_mean_kb[g], ok), "rss_kb_max",
                      ok ? json_integer(r->rss_max_kb[g]) : json_null(), "rss_kb_per_node",
                      num_or_null(r->rss_mean_kb[g] / (double)o->nodes, ok), "rss_kb_per_node_max",
                      num_or_null((double)r->rss_max_kb[g] / (double)o->nodes, ok), "rss_anon_kb_max",
                      ok ? json_integer(r->rss_anon_max_kb[g]) : json_null(), "rss_file_kb_max",
                      ok ? json_integer(r->rss_file_max_kb[g]) : json_null(), "pss_kb_max",
                      ok ? json_integer(r->pss_max_kb[g]) : json_null()));
    }
    json_object_set_new(st, "tiers", tiers);
    json_object_set_new(st, "fabric_is", json_string("leaf + relay + root, without the emulator"));
    json_t *series = json_array();
    for (size_t i = 0; i < r->nsamples; i++) {
        const bench_sample_t *s = &r->samples[i];
        json_t *cpu = json_object(), *rss = json_object(), *anon = json_object(), *file = json_object();
        for (int g = 0; g < BENCH_GROUPS; g++) {
            json_object_set_new(cpu, bench_group_names[g], num_or_null(s->cpu_cores[g], i > 0));
            json_object_set_new(rss, bench_group_names[g], json_integer(s->rss_kb[g]));
            json_object_set_new(anon, bench_group_names[g], json_integer(s->rss_anon_kb[g]));
            json_object_set_new(file, bench_group_names[g], json_integer(s->rss_file_kb[g]));
        }
        json_array_append_new(series, json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "t_ms", (json_int_t)s->t_ms,
                                                "cpu_cores", cpu, "rss_kb", rss, "rss_anon_kb", anon, "rss_file_kb",
                                                file, "samples_per_s",
                                                num_or_null(s->samples_per_s, s->samples_per_s >= 0), "nodes_up",
                                                s->nodes_up >= 0 ? json_integer(s->nodes_up) : json_null()));
    }
    json_object_set_new(st, "series", series);
    json_t *deaths = json_array();
    for (size_t i = 0; i < r->procs.n; i++) {
        const bench_proc_t *p = &r->procs.v[i];
        if (p->died_ms >= 0)
            json_array_append_new(deaths, json_pack("{s:i, s:s, s:s, s:I}", "pid", p->pid, "kind",
                                                    bench_group_names[p->kind], "id", p->id, "t_ms",
                                                    (json_int_t)p->died_ms));
    }
    json_object_set_new(st, "processes_gone", deaths);
    json_t *procs = json_array();
    for (size_t i = 0; i < r->procs.n; i++)
        json_array_append_new(procs, json_pack("{s:i, s:s, s:s}", "pid", r->procs.v[i].pid, "kind",
                                               bench_group_names[r->procs.v[i].kind], "id", r->procs.v[i].id));
    json_object_set_new(st, "processes", procs);
    json_object_set_new(j, "steady", st);

    static const char *const lat_keys[] = {"p50_ms", "p99_ms", "max_ms", "per_fault", "propagation_p50_ms",
                                           "propagation_p99_ms", NULL};
    static const char *const link_keys[] = {"messages_per_s", "bytes_per_s", NULL};
    static const char *const ceil_keys[] = {"children", "messages_per_s", "largest_tree", NULL};
    if (r->faults.ran)
        json_object_set_new(j, "fault_latency", bench_faults_json(r->opts, &r->faults));
    else
        json_object_set_new(j, "fault_latency", unmeasured(NO_INJECT, lat_keys));
    json_object_set_new(j, "links", r->links.ok ? bench_links_json(&r->links) : unmeasured(NO_LINKS, link_keys));
    if (r->ceil && r->ceil_opts)
        json_object_set_new(j, "relay_ceiling", bench_ceiling_json(r->ceil_opts, r->ceil));
    else
        json_object_set_new(j, "relay_ceiling", unmeasured(r->opts->ceiling ? NO_CEILING_RUN : NO_CEILING, ceil_keys));

    json_t *ts = json_array();
    for (int i = 0; i < T_COUNT; i++)
        json_array_append_new(ts, json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s}", "name", t[i].key, "what", t[i].what,
                                            "target", t[i].target, "status", t[i].status, "value",
                                            num_or_null(t[i].value, 1), "unit", t[i].unit, "note", t[i].note));
    json_object_set_new(j, "targets", ts);

    json_t *plots = json_array();
    for (size_t i = 0; r->gnuplot_rc == 0 && bench_plot_files[i]; i++)
        if (i == 0 || r->nsamples > 1)
            json_array_append_new(plots, json_string(bench_plot_files[i]));
    json_object_set_new(j, "plots", plots);
    json_object_set_new(j, "plots_note", json_string(r->plot_note));
    return j;
}

static void md_num(FILE *f, double v, int valid, const char *fmt)
{
    if (valid && !isnan(v))
        fprintf(f, fmt, v);
    else
        fputs("n/a", f);
}

static int write_md(const bench_antfarm_t *r, const json_t *machine, const target_t t[T_COUNT], const char *path)
{
    const bench_antfarm_opts_t *o = r->opts;
    FILE *f = fopen(path, "w");
    if (!f)
        return WR_EIO;
    const char *commit = json_string_value(json_object_get(machine, "git_commit"));
    fprintf(f, "# warren-bench antfarm: %ld nodes\n\n", o->nodes);
    if (r->error[0])
        fprintf(f, "**The run did not complete: %s.** Figures below are what was measured before that.\n\n", r->error);
    fprintf(f, "Command:\n\n    %s\n\n", o->command);
    fprintf(f, "Run %s on %s: %lld cores (%s), %.1f GiB, %s; warren %s, commit %s%s. "
               "Load average at start %s, at end %s.\n\n",
            r->started_iso, json_string_value(json_object_get(machine, "hostname")),
            (long long)json_integer_value(json_object_get(machine, "nproc")),
            json_string_value(json_object_get(machine, "cpu_model")),
            json_integer_value(json_object_get(machine, "mem_total_kb")) / 1048576.0,
            json_string_value(json_object_get(machine, "kernel")), WARREN_VERSION, commit ? commit : "unknown",
            json_is_true(json_object_get(machine, "git_tree_modified")) ? " (with uncommitted changes)" : "",
            r->loadavg_start, r->loadavg_end);

    fprintf(f, "## Headline\n\n| | figure |\n|---|---|\n");
    fprintf(f, "| time from start to all %ld nodes visible and up at the root | **", o->nodes);
    md_num(f, r->time_to_visible_ms / 1000.0, r->time_to_visible_ms >= 0, "%.2f s");
    fprintf(f, "** |\n| the same, as `warren-sim up` reports it | ");
    md_num(f, r->sim_reported_s, r->sim_reported_s >= 0, "%.1f s");
    fprintf(f, " |\n| nodes visible and up at the root at the end of start-up | %ld |\n", r->nodes_visible);
    fprintf(f, "| nodes up at the end of the steady-state window | ");
    md_num(f, (double)r->nodes_up_end, r->nodes_up_end >= 0, "%.0f");
    fprintf(f, " |\n| samples/s ingested (root, at the end of the window / mean over it) | ");
    md_num(f, r->samples_per_s_end, r->samples_per_s_end >= 0, "%.0f");
    fprintf(f, " / ");
    md_num(f, r->samples_per_s_mean, r->samples_per_s_mean >= 0, "%.0f");
    fprintf(f, " |\n\nStart-up is timed from the fork of `warren-sim up` to the first `/api/v1/status` poll (every "
               "200 ms) with `nodes_up` equal to the node count.\n\n");

    fprintf(f, "## Steady state (%.0f s window from %g s after start-up, interval %g s, sampled every 5 s)\n\n",
            r->window_s, o->warmup, o->interval);
    fprintf(f, "| tier | processes | CPU (cores, mean) | RSS mean (MB) | RSS peak (MB) | peak anon / file-backed (MB) "
               "| RSS per monitored node, mean / peak (kB) |\n|---|---|---|---|---|---|---|\n");
    int have = r->nsamples > 1;
    for (int g = 0; g < BENCH_GROUPS; g++) {
        int ok = have && r->procs.count[g] > 0;
        const char *b = g == BENCH_FABRIC ? "**" : "";
        fprintf(f, "| %s%s%s | %ld | %s", b, g == BENCH_FABRIC ? "fabric (leaf + relay + root)" : bench_group_names[g],
                b, r->procs.count[g], b);
        md_num(f, r->cpu_mean[g], ok, "%.4f");
        fprintf(f, "%s | ", b);
        md_num(f, r->rss_mean_kb[g] / 1024.0, ok, "%.1f");
        fprintf(f, " | ");
        md_num(f, r->rss_max_kb[g] / 1024.0, ok, "%.1f");
        fprintf(f, " | ");
        md_num(f, r->rss_anon_max_kb[g] / 1024.0, ok, "%.1f");
        fprintf(f, " / ");
        md_num(f, r->rss_file_max_kb[g] / 1024.0, ok, "%.1f");
        fprintf(f, " | %s", b);
        md_num(f, r->rss_mean_kb[g] / (double)o->nodes, ok, "%.1f");
        fprintf(f, " / ");
        md_num(f, (double)r->rss_max_kb[g] / (double)o->nodes, ok, "%.1f");
        fprintf(f, "%s |\n", b);
    }
    fprintf(f, "\nRSS is VmRSS; \"file-backed\" is RssFile + RssShmem (mapped files such as the leaves' LMDB "
               "pages, reclaimable page cache), \"anon\" is RssAnon (heaps, stacks).\n");
    if (have && r->pss_max_kb[BENCH_FABRIC] > 0)
        fprintf(f, "\nProportional set size (Pss: each shared page, such as the libraries all 116-odd "
                   "processes map, counted once across its sharers), peak of the window: fabric %.1f MB, "
                   "**%.1f kB per monitored node** (leaves %.1f MB, relays %.1f MB, roots %.1f MB).\n",
                r->pss_max_kb[BENCH_FABRIC] / 1024.0, (double)r->pss_max_kb[BENCH_FABRIC] / (double)o->nodes,
                r->pss_max_kb[BENCH_LEAF] / 1024.0, r->pss_max_kb[BENCH_RELAY] / 1024.0,
                r->pss_max_kb[BENCH_ROOT] / 1024.0);
    if (r->links.ok) {
        fprintf(f, "\n## Link traffic (end of the window)\n\n");
        bench_links_md(f, &r->links);
    }
    if (r->deaths) {
        fprintf(f, "\nProcesses gone during the window (their CPU counts until their last sample):\n\n");
        for (size_t i = 0; i < r->procs.n; i++)
            if (r->procs.v[i].died_ms >= 0)
                fprintf(f, "- %s %s (pid %d) at t=%.1f s\n", bench_group_names[r->procs.v[i].kind], r->procs.v[i].id,
                        r->procs.v[i].pid, r->procs.v[i].died_ms / 1000.0);
    } else if (have) {
        fprintf(f, "\nNo process of the fabric or the emulator died during the window.\n");
    }

    fprintf(f, "\n## Targets (issue 6)\n\n| target | goal | this run | status |\n|---|---|---|---|\n");
    for (int i = 0; i < T_COUNT; i++) {
        fprintf(f, "| %s | %s | ", t[i].what, t[i].target);
        md_num(f, t[i].value, 1, i == T_CPU ? "%.4f" : "%.1f");
        if (!isnan(t[i].value))
            fprintf(f, " %s", t[i].unit);
        fprintf(f, " | %s%s%s |\n", t[i].status, t[i].note[0] ? ": " : "", t[i].note);
    }

    fprintf(f, "\n## Not measured in this run\n\n");
    if (!r->faults.ran)
        fprintf(f, "- Fault-injection latency (p50/p99/max per fault kind, leaf raise to root visible): %s.\n",
                NO_INJECT);
    if (!r->links.ok)
        fprintf(f, "- Messages/s and bytes/s on each tier's links: %s.\n", NO_LINKS);
    if (!r->ceil)
        fprintf(f, "- Relay ceiling (children x messages/s): %s.\n", r->opts->ceiling ? NO_CEILING_RUN : NO_CEILING);
    fprintf(f, "- Prometheus side by side: %s.\n", NO_PROM);

    if (r->faults.ran) {
        bench_faults_markdown(f, r->opts, &r->faults);
        fprintf(f, "\nThe fabric measured is warren-sim's default, redundant one (relay pairs and a root pair: "
                   "`warren-sim up` without --no-redundancy), as deployed, not a lighter single-path tree; the "
                   "root polled is root-a.\n");
    }
    if (r->ceil && r->ceil_opts) {
        fprintf(f, "\n## Relay ceiling (sub-benchmark, after the fabric stopped)\n\n");
        bench_ceiling_markdown(f, r->ceil_opts, r->ceil);
    }
    fprintf(f, "\n## Plots\n\n");
    if (r->gnuplot_rc == 0) {
        fprintf(f, "![nodes visible over time](visible.png)\n");
        if (have)
            fprintf(f, "\n![CPU per tier](cpu.png)\n\n![RSS per tier](rss.png)\n");
    } else {
        fprintf(f, "%s.\n", r->plot_note);
    }
    fprintf(f, "\nData: `visible.dat`, `steady.dat`, `plots.gp`; logs: `sim-up.log`, `sim-down.log`, `fabric/logs/`.\n");
    return fclose(f) == 0 ? 0 : WR_EIO;
}

int bench_report_write(const bench_antfarm_t *r, char *err, size_t errlen)
{
    target_t t[T_COUNT];
    targets(r, t);
    json_t *machine = bench_machine_json();
    json_incref(machine);
    json_t *j = build_json(r, machine, t);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/report.json", r->opts->out);
    int rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 ? 0 : WR_EIO;
    json_decref(j);
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/report.md", r->opts->out);
        rc = write_md(r, machine, t, path);
    }
    json_decref(machine);
    if (rc != 0)
        snprintf(err, errlen, "cannot write %s", path);
    return rc;
}
