/* warren-bench: the benchmark driver's command line. `warren-bench antfarm` starts a
 * simulated fleet and the whole fabric, measures start-up and steady state and writes a report
 * (bench_antfarm.c, bench_report.c); this file parses arguments and prints progress and the
 * one-line summary. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"
#include "wr_cmd.h"
#include "wr_error.h"

#define ANTFARM "warren-bench antfarm"   /* names the program in complaints */

int bench_ceiling_main(int argc, char **argv);
int bench_prom_main(int argc, char **argv);   /* bench_prom_report.c */

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: warren-bench COMMAND [OPTIONS]\n"
            "Commands:\n"
            "  antfarm         start a simulated fleet and the whole fabric, measure it, write a report\n"
            "  relay-ceiling   how many children x messages/s one relay sustains\n"
            "  prometheus-vs-warren  one fleet watched by warren and by Prometheus at once: CPU, RSS, visibility\n"
            "  --version       print the version\n"
            "`warren-bench COMMAND --help` describes each command.\n");
}

static void antfarm_usage(FILE *out)
{
    fprintf(out,
            "Usage: warren-bench antfarm --nodes N [OPTIONS]\n"
            "Runs `warren-sim up` (N emulated nodes and the whole fabric), times it until every\n"
            "node is visible and up at the root, samples each tier's CPU and RSS for the\n"
            "steady-state window, stops the fabric, and writes report.json, report.md and PNG\n"
            "plots into the output directory.\n\n"
            "Options:\n"
            "  --nodes N          emulated nodes (required, 1..100000)\n"
            "  --duration SEC     steady-state window (default 300, 1..86400)\n"
            "  --warmup SEC       wait after start-up before the window (default 3 intervals,\n"
            "                     at most 60 s; 0: none)\n"
            "  --interval SEC     leaf poll interval (default 10)\n"
            "  --fanout F         most children per relay or root (default 16)\n"
            "  --seed S           seed of the emulated values (default 1)\n"
            "  --out DIR          output directory (default ./antfarm-N-YYYYmmdd-HHMMSS)\n"
            "  --sim PATH         warren-sim to run (default: beside warren-bench)\n"
            "  --base-port P      first emulated node port (default 20000; P+N-1 < 32768)\n"
            "  --tier-port P      root ROUTER port; relays use the next ports (default 7300)\n"
            "  --http-port P      root HTTP API port (default 7380)\n"
            "  --timeout SEC      how long warren-sim up may take (default 300)\n"
            "  --faults-per-kind K   after the window, inject K faults of each kind (mqueue_flood,\n"
            "                     crash, silent, busy_dist_port, atom_leak, memory_growth) and time\n"
            "                     each to its alarm at the root (default 3; 0: no fault phase)\n"
            "  --node-down-grace S   the leaves' node_down grace in the run (default 5)\n"
            "  --no-ceiling       skip the relay-ceiling sub-benchmark run after the fabric stops\n"
            "                     (it uses --tier-port and the next port; see `relay-ceiling --help`)\n"
            "  -h, --help         this help\n"
            "Exit status: 0 complete, 1 the run failed or was interrupted (a partial report is\n"
            "written), 2 bad arguments or no report could be written.\n");
}

static void put(char *out, size_t outlen, size_t *len, const char *s)
{
    for (; *s && *len + 1 < outlen; s++)
        out[(*len)++] = *s;
}

/* The command line as a shell would need it, for the report. */
static void join_command(int argc, char **argv, char *out, size_t outlen)
{
    static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,@%+";
    size_t len = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int plain = *a && strspn(a, safe) == strlen(a);
        if (i)
            put(out, outlen, &len, " ");
        if (!plain)
            put(out, outlen, &len, "'");
        for (const char *p = a; *p; p++) {
            char one[2] = {*p, 0};
            put(out, outlen, &len, *p == '\'' && !plain ? "'\\''" : one);
        }
        if (!plain)
            put(out, outlen, &len, "'");
    }
    out[len] = 0;
}

static int parse_antfarm(int argc, char **argv, bench_antfarm_opts_t *o)
{
    static const struct option opts[] = {
        {"nodes", required_argument, NULL, 'n'},     {"duration", required_argument, NULL, 'D'},
        {"seed", required_argument, NULL, 's'},      {"interval", required_argument, NULL, 'i'},
        {"fanout", required_argument, NULL, 'f'},    {"out", required_argument, NULL, 'o'},
        {"sim", required_argument, NULL, 'S'},       {"base-port", required_argument, NULL, 'p'},
        {"tier-port", required_argument, NULL, 't'}, {"http-port", required_argument, NULL, 'w'},
        {"timeout", required_argument, NULL, 'T'},   {"warmup", required_argument, NULL, 'W'},
        {"no-ceiling", no_argument, NULL, 'C'},
        {"faults-per-kind", required_argument, NULL, 'K'}, {"node-down-grace", required_argument, NULL, 'G'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->duration = 300;
    o->seed = 1;
    o->interval = 10;
    o->fanout = 16;
    o->base_port = 20000;
    o->tier_port = 7300;
    o->http_port = 7380;
    o->timeout = 300;
    o->warmup = -1;
    o->ceiling = 1;
    o->faults_per_kind = 3;
    o->down_grace = 5;
    o->forecast_min_points = 5;
    int c, rc = 0;
    char out[PATH_MAX] = "";
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': rc |= wr_cmd_long(ANTFARM, "--nodes", optarg, 1, 100000, &o->nodes); break;
        case 'D': rc |= wr_cmd_double(ANTFARM, "--duration", optarg, 1, 86400, &o->duration); break;
        case 's': rc |= wr_cmd_long(ANTFARM, "--seed", optarg, 0, LONG_MAX, &o->seed); break;
        case 'i': rc |= wr_cmd_double(ANTFARM, "--interval", optarg, 0.1, 3600, &o->interval); break;
        case 'f': rc |= wr_cmd_long(ANTFARM, "--fanout", optarg, 2, 1000, &o->fanout); break;
        case 'o': snprintf(out, sizeof out, "%s", optarg); break;
        case 'S': snprintf(o->sim, sizeof o->sim, "%s", optarg); break;
        case 'p': rc |= wr_cmd_long(ANTFARM, "--base-port", optarg, 1024, 32767, &o->base_port); break;
        case 't': rc |= wr_cmd_long(ANTFARM, "--tier-port", optarg, 1024, 65000, &o->tier_port); break;
        case 'w': rc |= wr_cmd_long(ANTFARM, "--http-port", optarg, 1024, 65535, &o->http_port); break;
        case 'T': rc |= wr_cmd_double(ANTFARM, "--timeout", optarg, 1, 86400, &o->timeout); break;
        case 'C': o->ceiling = 0; break;
        case 'K': rc |= wr_cmd_long(ANTFARM, "--faults-per-kind", optarg, 0, 100, &o->faults_per_kind); break;
        case 'G': rc |= wr_cmd_double(ANTFARM, "--node-down-grace", optarg, 0, 3600, &o->down_grace); break;
        case 'W': rc |= wr_cmd_double(ANTFARM, "--warmup", optarg, 0, 3600, &o->warmup); break;
        case 'h': antfarm_usage(stdout); exit(0);
        case ':':
            fprintf(stderr, "warren-bench antfarm: %s needs a value\n", argv[optind - 1]);
            return -1;
        default:
            fprintf(stderr, "warren-bench antfarm: unknown option '%s' (see --help)\n", argv[optind - 1]);
            return -1;
        }
    }
    if (rc)
        return -1;
    if (optind < argc) {
        fprintf(stderr, "warren-bench antfarm: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (o->warmup < 0)
        o->warmup = 3 * o->interval < 60 ? 3 * o->interval : 60;
    if (!o->nodes) {
        fprintf(stderr, "warren-bench antfarm: --nodes N is required (see --help)\n");
        return -1;
    }
    if (o->base_port + o->nodes - 1 >= 32768) {
        fprintf(stderr, "warren-bench antfarm: node ports %ld..%ld reach the ephemeral range (32768+): lower --base-port\n",
                o->base_port, o->base_port + o->nodes - 1);
        return -1;
    }
    if (!out[0]) {
        char stamp[32];
        time_t now = time(NULL);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
        snprintf(out, sizeof out, "antfarm-%ld-%s", o->nodes, stamp);
    }
    if (out[0] == '/') {
        snprintf(o->out, sizeof o->out, "%s", out);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) {
            fprintf(stderr, "warren-bench antfarm: cannot tell the current directory: %s\n", strerror(errno));
            return -1;
        }
        if (strlen(cwd) + strlen(out) + 2 > sizeof o->out) {
            fprintf(stderr, "warren-bench antfarm: --out: path too long\n");
            return -1;
        }
        snprintf(o->out, sizeof o->out, "%s/%s", cwd, out);
    }
    size_t l = strlen(o->out);
    while (l > 1 && o->out[l - 1] == '/')
        o->out[--l] = 0;
    if (!o->sim[0]) {
        char dir[PATH_MAX];
        if (bench_self_dir(dir, sizeof dir) != 0) {
            fprintf(stderr, "warren-bench antfarm: cannot find my own directory: use --sim\n");
            return -1;
        }
        snprintf(o->sim, sizeof o->sim, "%s/warren-sim", dir);
    }
    if (access(o->sim, X_OK) != 0) {
        fprintf(stderr, "warren-bench antfarm: %s: not found or not executable (use --sim)\n", o->sim);
        return -1;
    }
    join_command(argc + 1, argv - 1, o->command, sizeof o->command);
    return 0;
}

static void progress(const char *line)
{
    fprintf(stderr, "%s\n", line);
}

static int antfarm_main(int argc, char **argv)
{
    bench_antfarm_opts_t o;
    if (parse_antfarm(argc, argv, &o) != 0)
        return 2;
    bench_signals_install();
    bench_antfarm_t r;
    int rc = bench_antfarm_run(&o, &r, progress);
    char err[PATH_MAX + 64] = "";
    int wrc = r.opts ? bench_report_write(&r, err, sizeof err) : WR_EIO;
    if (wrc != 0) {
        fprintf(stderr, "warren-bench antfarm: %s%s%s\n", r.error[0] ? r.error : "", r.error[0] ? "; " : "",
                err[0] ? err : "no report written");
        bench_antfarm_free(&r);
        return 2;
    }
    if (r.gnuplot_rc != 0)
        fprintf(stderr, "warren-bench antfarm: %s\n", r.plot_note);
    if (rc != 0) {
        fprintf(stderr, "antfarm: FAILED: %s; partial report in %s/report.md%s\n", r.error, o.out,
                !r.sim_started || r.fabric_stopped ? "" : " (the fabric may still run: warren-sim down --dir OUT/fabric)");
    } else {
        double n = (double)o.nodes;
        fprintf(stderr,
                "antfarm: %ld nodes visible and up in %.2f s; fabric %.3f cores, %.1f MB (%.1f kB/node), "
                "%.0f samples/s over %.0f s; report in %s/report.md\n",
                o.nodes, r.time_to_visible_ms / 1000.0, r.cpu_mean[BENCH_FABRIC], r.rss_mean_kb[BENCH_FABRIC] / 1024.0,
                r.rss_mean_kb[BENCH_FABRIC] / n, r.samples_per_s_end, r.window_s, o.out);
        if (r.ceil && r.ceil_opts)
            fprintf(stderr, "antfarm: relay ceiling %.0f DELTAs/s with %ld children%s\n", r.ceil->sustained,
                    r.ceil_opts->children, r.ceil->bench_limited ? " (at least)" : "");
    }
    int interrupted = r.interrupted;
    bench_antfarm_free(&r);
    return rc == 0 ? 0 : interrupted ? 130 : 1;
}

int main(int argc, char **argv)
{
    static const wr_cmd_t cmds[] = {
        {"--version", NULL},
        {"version", NULL},
        {"antfarm", antfarm_main},
        {"relay-ceiling", bench_ceiling_main},
        {"prometheus-vs-warren", bench_prom_main},
        {NULL, NULL},
    };
    return wr_cmd_dispatch("warren-bench", cmds, usage, argc, argv);
}
