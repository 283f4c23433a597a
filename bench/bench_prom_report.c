/* bench_prom_report: the command line of `warren-bench prometheus-vs-warren` and its report
 * (OUT/report.json, OUT/report.md) from what bench_prom.c measured. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "bench_prom.h"
#include "wr_cmd.h"
#include "wr_error.h"

#define PROM "warren-bench prometheus-vs-warren"   /* names the program in complaints */

static json_t *num_or_null(double v)
{
    return v < 0 || isnan(v) ? json_null() : json_real(v);
}

static double ratio(double a, double b)
{
    return a >= 0 && b > 0 ? a / b : -1;
}

static json_t *side_json(const bench_prom_side_t *s)
{
    json_t *j = json_object();
    json_object_set_new(j, "time_to_visible_s", num_or_null(s->ttv_s));
    json_object_set_new(j, "cpu_cores", json_real(s->cpu_cores));
    json_object_set_new(j, "rss_mean_mb", json_real(s->rss_mean_mb));
    json_object_set_new(j, "rss_max_mb", json_real(s->rss_max_mb));
    json_object_set_new(j, "processes", json_integer(s->procs));
    json_object_set_new(j, "samples_per_s", num_or_null(s->samples_per_s));
    json_object_set_new(j, "up_end", json_integer(s->up_end));
    return j;
}

int bench_prom_report(const bench_prom_t *r, char *err, size_t errlen)
{
    const bench_prom_opts_t *o = r->opts;
    json_t *j = json_object();
    json_object_set_new(j, "benchmark", json_string("prometheus-vs-warren"));
    json_object_set_new(j, "ok", json_boolean(r->error[0] == 0));
    json_object_set_new(j, "error", json_string(r->error));
    json_object_set_new(j, "command", json_string(o->command));
    json_object_set_new(j, "started", json_string(r->started_iso));
    json_object_set_new(j, "mode", json_string("concurrent"));
    json_object_set_new(j, "nodes", json_integer(o->nodes));
    json_object_set_new(j, "interval_s", json_real(o->interval));
    json_object_set_new(j, "window_s", json_real(r->window_s));
    json_object_set_new(j, "samples", json_integer(r->samples));
    json_object_set_new(j, "loadavg_start", json_string(r->loadavg_start));
    json_object_set_new(j, "loadavg_end", json_string(r->loadavg_end));
    json_object_set_new(j, "machine", bench_machine_json());
    json_t *w = side_json(&r->warren);
    json_object_set_new(w, "what", json_string("warren fabric: leaves + relays + roots (warren-sim up)"));
    json_object_set_new(j, "warren", w);
    json_t *p = side_json(&r->prom);
    json_object_set_new(p, "version", json_string(r->prom_version));
    json_object_set_new(p, "head_series", json_real(r->prom_head_series));
    json_object_set_new(p, "scrape_duration_avg_s", json_real(r->prom_scrape_avg_s));
    json_object_set_new(j, "prometheus", p);
    json_t *e = json_object();
    json_object_set_new(e, "cpu_cores", json_real(r->emu_cpu_cores));
    json_object_set_new(e, "rss_mean_mb", json_real(r->emu_rss_mean_mb));
    json_object_set_new(j, "emulators", e);
    json_t *q = json_object();
    json_object_set_new(q, "cpu_prometheus_over_warren", num_or_null(ratio(r->prom.cpu_cores, r->warren.cpu_cores)));
    json_object_set_new(q, "rss_prometheus_over_warren", num_or_null(ratio(r->prom.rss_mean_mb, r->warren.rss_mean_mb)));
    json_object_set_new(q, "ttv_prometheus_over_warren", num_or_null(ratio(r->prom.ttv_s, r->warren.ttv_s)));
    json_object_set_new(j, "ratios", q);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/report.json", o->out);
    int rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(j);
    if (rc != 0) {
        snprintf(err, errlen, "cannot write %s", path);
        return WR_EIO;
    }
    snprintf(path, sizeof path, "%s/report.md", o->out);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return WR_EIO;
    }
    fprintf(f, "# Prometheus vs warren, %ld nodes, %g s interval\n\n", o->nodes, o->interval);
    fprintf(f, "`%s`, started %s. %s\n\n", o->command, r->started_iso,
            r->error[0] ? r->error : "Completed.");
    fprintf(f, "One emulated fleet (`warren-sim up --prom-port`), watched at the same time by the warren\n"
            "fabric that `up` starts and by %s scraping every node's /metrics/<name> (one target\n"
            "per node); both measured from /proc over the same %.0f s window, after Prometheus had\n"
            "every target up. Load average %s at the start, %s at the end.\n\n",
            r->prom_version, r->window_s, r->loadavg_start, r->loadavg_end);
    fprintf(f, "| | warren (%ld processes) | Prometheus | Prometheus / warren |\n|---|---|---|---|\n", r->warren.procs);
    fprintf(f, "| CPU, cores | %.3f | %.3f | %.2f |\n", r->warren.cpu_cores, r->prom.cpu_cores,
            ratio(r->prom.cpu_cores, r->warren.cpu_cores));
    fprintf(f, "| RSS mean, MB | %.1f | %.1f | %.2f |\n", r->warren.rss_mean_mb, r->prom.rss_mean_mb,
            ratio(r->prom.rss_mean_mb, r->warren.rss_mean_mb));
    fprintf(f, "| RSS max, MB | %.1f | %.1f | %.2f |\n", r->warren.rss_max_mb, r->prom.rss_max_mb,
            ratio(r->prom.rss_max_mb, r->warren.rss_max_mb));
    fprintf(f, "| time to all visible, s | %.1f | %.1f | %.2f |\n", r->warren.ttv_s, r->prom.ttv_s,
            ratio(r->prom.ttv_s, r->warren.ttv_s));
    fprintf(f, "| samples/s ingested | %.0f | %.0f | |\n", r->warren.samples_per_s, r->prom.samples_per_s);
    fprintf(f, "| up at the end | %ld | %ld | |\n\n", r->warren.up_end, r->prom.up_end);
    fprintf(f, "warren's time to visible: from the fleet listening to every node up at the root (warren-sim\n"
            "up's figures: %.1f s and %.1f s). Prometheus': from its start to count(up{job=\"beam\"} == 1)\n"
            "= N. Prometheus head series %.0f, mean scrape duration %.4f s. The emulators (not counted\n"
            "on either side) used %.3f cores, %.1f MB.\n",
            r->sim_listening_s, r->sim_visible_s, r->prom_head_series, r->prom_scrape_avg_s,
            r->emu_cpu_cores, r->emu_rss_mean_mb);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        snprintf(err, errlen, "cannot write %s", path);
        return WR_EIO;
    }
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: warren-bench prometheus-vs-warren --nodes N [OPTIONS]\n"
            "One emulated fleet watched at once by the warren fabric and by a stock Prometheus\n"
            "(one scrape target per node); CPU, RSS and time-to-visible of each, and the ratios.\n"
            "  --nodes N          emulated nodes (required, 1..100000)\n"
            "  --interval S       warren's poll interval = Prometheus' scrape_interval (default 10)\n"
            "  --duration S       measured window (default 120)\n"
            "  --out DIR          report.json, report.md, logs (default ./prom-vs-warren-N)\n"
            "  --base-port P      emulated nodes' first port (default 10000)\n"
            "  --prom-port P      emulator k serves Prometheus text on P+k (default 30200)\n"
            "  --tier-port P      fabric tier ports (default 30100)\n"
            "  --http-port P      warren root HTTP (default 30080; a root pair takes +1)\n"
            "  --web-port P       Prometheus web/API (default 30090)\n"
            "  --prometheus BIN   the Prometheus to run (default: prometheus from PATH)\n"
            "  --timeout S        warren-sim up's timeout (default 600)\n"
            "  --seed S           emulated values' seed (default 1)\n"
            "Exit: 0 when the run completed, 1 on failure (a partial report is written), 2 on a\n"
            "bad command line.\n");
}

static void progress(const char *line)
{
    fprintf(stderr, "%s\n", line);
}

int bench_prom_main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"nodes", required_argument, NULL, 'n'},      {"interval", required_argument, NULL, 'i'},
        {"duration", required_argument, NULL, 'd'},   {"out", required_argument, NULL, 'o'},
        {"base-port", required_argument, NULL, 'b'},  {"prom-port", required_argument, NULL, 'P'},
        {"tier-port", required_argument, NULL, 't'},  {"http-port", required_argument, NULL, 'w'},
        {"web-port", required_argument, NULL, 'W'},   {"prometheus", required_argument, NULL, 'x'},
        {"timeout", required_argument, NULL, 'T'},    {"seed", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0},
    };
    bench_prom_opts_t o;
    memset(&o, 0, sizeof o);
    double nodes = -1, bp = 10000, pp = 30200, tp = 30100, hp = 30080, wp = 30090, seed = 1;
    o.interval = 10;
    o.duration = 120;
    o.timeout = 600;
    snprintf(o.prometheus, sizeof o.prometheus, "prometheus");
    int c, bad = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'n': bad |= wr_cmd_double(PROM, "--nodes", optarg, 1, 100000, &nodes); break;
        case 'i': bad |= wr_cmd_double(PROM, "--interval", optarg, 0.5, 3600, &o.interval); break;
        case 'd': bad |= wr_cmd_double(PROM, "--duration", optarg, 1, 86400, &o.duration); break;
        case 'o': snprintf(o.out, sizeof o.out, "%s", optarg); break;
        case 'b': bad |= wr_cmd_double(PROM, "--base-port", optarg, 1024, 65535, &bp); break;
        case 'P': bad |= wr_cmd_double(PROM, "--prom-port", optarg, 1024, 65535, &pp); break;
        case 't': bad |= wr_cmd_double(PROM, "--tier-port", optarg, 1024, 65000, &tp); break;
        case 'w': bad |= wr_cmd_double(PROM, "--http-port", optarg, 1024, 65535, &hp); break;
        case 'W': bad |= wr_cmd_double(PROM, "--web-port", optarg, 1024, 65535, &wp); break;
        case 'x': snprintf(o.prometheus, sizeof o.prometheus, "%s", optarg); break;
        case 'T': bad |= wr_cmd_double(PROM, "--timeout", optarg, 1, 86400, &o.timeout); break;
        case 's': bad |= wr_cmd_double(PROM, "--seed", optarg, 0, 1e15, &seed); break;
        case 'h': usage(stdout); return 0;
        default: bad = 1;
        }
    }
    if (bad || optind < argc || nodes < 1) {
        if (nodes < 1 && !bad)
            fprintf(stderr, "warren-bench prometheus-vs-warren: --nodes is required\n");
        usage(stderr);
        return 2;
    }
    o.nodes = (long)nodes;
    o.base_port = (long)bp;
    o.prom_port = (long)pp;
    o.tier_port = (long)tp;
    o.http_port = (long)hp;
    o.web_port = (long)wp;
    o.seed = (long)seed;
    if (!o.out[0])
        snprintf(o.out, sizeof o.out, "prom-vs-warren-%ld", o.nodes);
    size_t used = 0;
    for (int i = 0; i < argc + 0 && used < sizeof o.command - 2; i++)
        used += (size_t)snprintf(o.command + used, sizeof o.command - used, "%s%s", i ? " " : "warren-bench ", argv[i]);
    char self[PATH_MAX];
    if (bench_self_dir(self, sizeof self) != 0) {
        fprintf(stderr, "warren-bench prometheus-vs-warren: cannot find this executable's directory\n");
        return 1;
    }
    snprintf(o.sim, sizeof o.sim, "%s/warren-sim", self);
    if (mkdir(o.out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "warren-bench prometheus-vs-warren: mkdir %s: %s\n", o.out, strerror(errno));
        return 1;
    }
    char real[PATH_MAX];
    if (realpath(o.out, real))
        snprintf(o.out, sizeof o.out, "%s", real);
    bench_signals_install();
    bench_prom_t r;
    int rc = bench_prom_run(&o, &r, progress);
    char err[512];
    if (bench_prom_report(&r, err, sizeof err) != 0)
        fprintf(stderr, "warren-bench prometheus-vs-warren: %s\n", err);
    if (rc != 0) {
        fprintf(stderr, "prometheus-vs-warren: FAILED: %s; report in %s/report.md\n", r.error, o.out);
        return 1;
    }
    fprintf(stderr, "prometheus-vs-warren: %ld nodes: warren %.3f cores %.1f MB visible in %.1f s; prometheus "
            "%.3f cores %.1f MB visible in %.1f s; report in %s/report.md\n", o.nodes, r.warren.cpu_cores,
            r.warren.rss_mean_mb, r.warren.ttv_s, r.prom.cpu_cores, r.prom.rss_mean_mb, r.prom.ttv_s, o.out);
    return 0;
}
