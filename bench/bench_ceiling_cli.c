/* bench_ceiling_cli: the command line of `warren-bench relay-ceiling` (the measurement is
 * bench_ceiling.c): parses options, runs, prints the steps as a Markdown table on stdout and
 * progress on stderr, optionally writes DIR/ceiling.json. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bench.h"
#include "wr_cmd.h"
#include "wr_error.h"

#define CEILING "warren-bench relay-ceiling"   /* names the program in complaints */

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: warren-bench relay-ceiling [OPTIONS]\n"
            "Runs one warren-relay fed by C fake leaves in this process (DELTAs of K nodes and\n"
            "~25 rollups each) and raises the total DELTA rate until the relay falls behind;\n"
            "prints each step and the largest tree the sustained rate supports.\n\n"
            "Options:\n"
            "  --children C         fake leaves (default 16, 1..1000)\n"
            "  --nodes-per-child K  nodes per fake leaf (default 100)\n"
            "  --changed M          nodes listed in each DELTA (default K: every node, the worst case)\n"
            "  --rollups R          metrics with a rollup per DELTA (default 25)\n"
            "  --rate R             first total rate, DELTAs/s (default 50)\n"
            "  --factor X           rate multiplier per step (default 1.5)\n"
            "  --max-rate R         stop there (default 100000)\n"
            "  --step SEC           seconds per step (default 4)\n"
            "  --relay-interval SEC the relay's upward period (default 1)\n"
            "  --interval SEC       the leaves' interval the tree size is computed for (default 10)\n"
            "  --tier-port P        our parent ROUTER; the relay binds P+1 (default 7300)\n"
            "  --relay PATH         warren-relay to run (default: beside warren-bench)\n"
            "  --out DIR            also write DIR/ceiling.json (relay config and log go there too)\n"
            "  -h, --help           this help\n");
}

static int parse(int argc, char **argv, bench_ceiling_opts_t *o, char *out, size_t outlen)
{
    static const struct option opts[] = {
        {"children", required_argument, NULL, 'c'}, {"nodes-per-child", required_argument, NULL, 'k'},
        {"changed", required_argument, NULL, 'm'},  {"rollups", required_argument, NULL, 'r'},
        {"rate", required_argument, NULL, 'R'},     {"factor", required_argument, NULL, 'x'},
        {"max-rate", required_argument, NULL, 'M'}, {"step", required_argument, NULL, 's'},
        {"relay-interval", required_argument, NULL, 'I'}, {"interval", required_argument, NULL, 'i'},
        {"tier-port", required_argument, NULL, 't'}, {"relay", required_argument, NULL, 'b'},
        {"out", required_argument, NULL, 'o'},      {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    bench_ceiling_defaults(o);
    o->changed = -1;
    int c, rc = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': rc |= wr_cmd_long(CEILING, "--children", optarg, 1, 1000, &o->children); break;
        case 'k': rc |= wr_cmd_long(CEILING, "--nodes-per-child", optarg, 1, 100000, &o->nodes); break;
        case 'm': rc |= wr_cmd_long(CEILING, "--changed", optarg, 0, 100000, &o->changed); break;
        case 'r': rc |= wr_cmd_long(CEILING, "--rollups", optarg, 0, 4096, &o->rollups); break;
        case 'R': rc |= wr_cmd_double(CEILING, "--rate", optarg, 0.1, 1e7, &o->rate); break;
        case 'x': rc |= wr_cmd_double(CEILING, "--factor", optarg, 1.05, 10, &o->factor); break;
        case 'M': rc |= wr_cmd_double(CEILING, "--max-rate", optarg, 1, 1e7, &o->max_rate); break;
        case 's': rc |= wr_cmd_double(CEILING, "--step", optarg, 1, 600, &o->step_s); break;
        case 'I': rc |= wr_cmd_double(CEILING, "--relay-interval", optarg, 0.1, 60, &o->relay_interval); break;
        case 'i': rc |= wr_cmd_double(CEILING, "--interval", optarg, 0.1, 3600, &o->interval); break;
        case 't': rc |= wr_cmd_long(CEILING, "--tier-port", optarg, 1024, 65000, &o->tier_port); break;
        case 'b': snprintf(o->relay, sizeof o->relay, "%s", optarg); break;
        case 'o': snprintf(out, outlen, "%s", optarg); break;
        case 'h': usage(stdout); exit(0);
        case ':': fprintf(stderr, "warren-bench relay-ceiling: %s needs a value\n", argv[optind - 1]); return -1;
        default:
            fprintf(stderr, "warren-bench relay-ceiling: unknown option '%s' (see --help)\n", argv[optind - 1]);
            return -1;
        }
    }
    if (rc)
        return -1;
    if (optind < argc) {
        fprintf(stderr, "warren-bench relay-ceiling: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (o->changed < 0 || o->changed > o->nodes)
        o->changed = o->nodes;
    if (!o->relay[0]) {
        char dir[PATH_MAX];
        if (bench_self_dir(dir, sizeof dir) != 0) {
            fprintf(stderr, "warren-bench relay-ceiling: cannot find my own directory: use --relay\n");
            return -1;
        }
        snprintf(o->relay, sizeof o->relay, "%s/warren-relay", dir);
    }
    if (access(o->relay, X_OK) != 0) {
        fprintf(stderr, "warren-bench relay-ceiling: %s: not found or not executable (use --relay)\n", o->relay);
        return -1;
    }
    return 0;
}

static void progress(const char *line)
{
    fprintf(stderr, "%s\n", line);
}

int bench_ceiling_main(int argc, char **argv)
{
    bench_ceiling_opts_t o;
    char out[PATH_MAX] = "";
    if (parse(argc, argv, &o, out, sizeof out) != 0)
        return 2;
    bench_signals_install();
    if (out[0]) {
        if (mkdir(out, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "warren-bench relay-ceiling: %s: %s\n", out, strerror(errno));
            return 2;
        }
        snprintf(o.dir, sizeof o.dir, "%s", out);
    } else {
        snprintf(o.dir, sizeof o.dir, "/tmp/warren-bench-ceiling.XXXXXX");
        if (!mkdtemp(o.dir)) {
            fprintf(stderr, "warren-bench relay-ceiling: mkdtemp: %s\n", strerror(errno));
            return 2;
        }
    }
    bench_ceiling_result_t *res = malloc(sizeof *res);
    if (!res)
        return 1;
    int rc = bench_ceiling_run(&o, res, progress);
    bench_ceiling_markdown(stdout, &o, res);
    if (out[0]) {
        json_t *j = bench_ceiling_json(&o, res);
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/ceiling.json", out);
        if (json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
            fprintf(stderr, "warren-bench relay-ceiling: cannot write %s\n", path);
        json_decref(j);
    }
    if (rc != 0)
        fprintf(stderr, "warren-bench relay-ceiling: %s\n", res->error);
    int ok = res->sustained > 0;
    free(res);
    return bench_interrupted ? 130 : rc != 0 ? 1 : ok ? 0 : 1;
}
