/* sim_fabric: `warren-sim up` and `warren-sim down`.
 *
 * `up` lays out a whole warren fabric on this machine in one directory: emulator processes
 * (warren-sim emulate, at most --per-emulator nodes each, so every process stays under the
 * descriptor limit), leaves of --leaf-size nodes, relay tiers of at most --fanout children,
 * and a root; it writes every config file, starts every process detached (setsid), records
 * them in DIR/pids, then watches the root's HTTP API until every node is visible and up.
 * It returns with the fabric running. `down` stops what DIR/pids lists.
 *
 * Redundant by default (DESIGN sections 2 and 5): every relay is a pair (relay-L-Ka and
 * relay-L-Kb, both bound; children list both in mode failover), the top relays stream to a
 * root pair (root-a, root-b: ROUTERs tier_port and +1, HTTP http_port and +1) in mode all,
 * and the leaves under one relay pair form a takeover group (every leaf lists the group's
 * nodes and leaves; the relay says who is live). --no-redundancy: single relays, one root.
 *
 * Layout of DIR: cookie, manifest.K (emulator K's nodes), leaf-J.conf, relay-*.conf,
 * root*.conf, pids ("PID KIND ID" lines), root.url (the root URLs, comma separated),
 * run/<id>.argv (each process's command line, for `warren-sim restart`), logs/<id>.log,
 * data/<id>/ (LMDB). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "sim.h"
#include "sim_fabric.h"
#include "sim_scenario.h"
#include "wr_cmd.h"
#include "wr_time.h"

#define UP "warren-sim up"   /* names the program in complaints */

typedef struct {
    long   nodes;
    long   fanout;
    long   leaf_size;
    long   per_emulator;
    long   base_port;       /* first emulated node port */
    long   tier_port;       /* root ROUTER; relays take the ports after it */
    long   http_port;
    double interval;
    double timeout;
    long   seed;
    const char *scenario;   /* fault scenario file for the emulators (sim_scenario.h), or NULL */
    const char *workload;   /* antfarm (default) or plain */
    int    no_redundancy;
    double down_grace;      /* leaf.alarms.node_down.grace; < 0: the leaf's default */
    double fc_step;         /* leaf.alarms.forecast.step; < 0: the leaf's default */
    long   fc_min_points;   /* leaf.alarms.forecast.min_points; 0: the leaf's default */
    long   prom_port;       /* emulator e serves Prometheus on prom_port + e; 0: none */
    char   dir[PATH_MAX];
    char   bin[PATH_MAX];
} up_opts_t;

static void up_usage(FILE *out)
{
    fprintf(out,
            "Usage: warren-sim up --nodes N --dir DIR [OPTIONS]\n"
            "Starts N emulated BEAM nodes and a whole warren fabric monitoring them (leaves,\n"
            "relays, root) on this machine, waits until the root sees every node up, prints\n"
            "the root's URL and returns with everything running. Stop it with `warren-sim down`.\n\n"
            "Options:\n"
            "  --nodes N          emulated nodes (required, 1..100000)\n"
            "  --dir DIR          working directory for configs, logs, data (required)\n"
            "  --fanout F         most children per relay or root (default 16)\n"
            "  --leaf-size K      nodes per leaf (default 100)\n"
            "  --per-emulator M   nodes per emulator process (default 1000)\n"
            "  --interval SEC     leaf poll interval (default 10)\n"
            "  --base-port P      first emulated node port (default 20000; P+N-1 < 32768)\n"
            "  --tier-port P      root ROUTER port; relays use the next ports (default 7300)\n"
            "  --http-port P      root HTTP API port (default 7380)\n"
            "  --timeout SEC      give up waiting for the root after this (default 300)\n"
            "  --seed S           seed of the emulated values (default 1)\n"
            "  --workload W       what the emulated nodes run: antfarm (default) or plain\n"
            "  --scenario FILE    fault scenario for the emulated nodes (docs/SIM.md); faults can\n"
            "                     also be injected later with `warren-sim inject --dir DIR`\n"
            "  --no-redundancy    single relays and one root (default: relay pairs, a root\n"
            "                     pair on --tier-port and +1, HTTP on --http-port and +1,\n"
            "                     and leaf takeover groups)\n"
            "  --node-down-grace S   leaves' node_down grace (leaf.alarms.node_down.grace;\n"
            "                     default: the leaf's, 30 s)\n"
            "  --forecast-step S  leaves' limit_forecast sampling step (leaf.alarms.forecast.step;\n"
            "                     default: the leaf's, 60 s; never below the interval)\n"
            "  --forecast-min-points N   points before a forecast has an opinion\n"
            "                     (leaf.alarms.forecast.min_points; default: the leaf's, 10)\n"
            "  --prom-port P      emulator k also serves its nodes' metrics in the Prometheus\n"
            "                     format on 127.0.0.1:P+k (GET /metrics/<alive name>, docs/SIM.md)\n"
            "  --bin DIR          where warren-leaf/-relay/-root are (default: beside warren-sim)\n"
            "  -h, --help         this help\n");
}

static int self_dir(char *out, size_t outlen)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = 0;
    snprintf(out, outlen, "%s", exe);
    return 0;
}

static int parse_up(int argc, char **argv, up_opts_t *o)
{
    static const struct option opts[] = {
        {"nodes", required_argument, NULL, 'n'},     {"dir", required_argument, NULL, 'd'},
        {"fanout", required_argument, NULL, 'f'},    {"leaf-size", required_argument, NULL, 'k'},
        {"per-emulator", required_argument, NULL, 'm'}, {"interval", required_argument, NULL, 'i'},
        {"base-port", required_argument, NULL, 'p'}, {"tier-port", required_argument, NULL, 't'},
        {"http-port", required_argument, NULL, 'w'}, {"timeout", required_argument, NULL, 'T'},
        {"seed", required_argument, NULL, 's'},      {"scenario", required_argument, NULL, 'S'},
        {"workload", required_argument, NULL, 'W'},      {"bin", required_argument, NULL, 'b'},
        {"no-redundancy", no_argument, NULL, 'R'},
        {"node-down-grace", required_argument, NULL, 'G'},
        {"forecast-step", required_argument, NULL, 'F'},
        {"forecast-min-points", required_argument, NULL, 'P'},
        {"prom-port", required_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->fanout = 16;
    o->leaf_size = 100;
    o->per_emulator = 1000;      /* an emulator handshakes one connection at a time: more
                                    processes, more handshakes at once at start-up */
    o->base_port = 20000;
    o->tier_port = 7300;
    o->http_port = 7380;
    o->interval = 10;
    o->timeout = 300;
    o->seed = 1;
    o->workload = "antfarm";
    o->down_grace = -1;
    o->fc_step = -1;
    int c, rc = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': rc |= wr_cmd_long(UP, "--nodes", optarg, 1, 100000, &o->nodes); break;
        case 'd': snprintf(o->dir, sizeof o->dir, "%s", optarg); break;
        case 'f': rc |= wr_cmd_long(UP, "--fanout", optarg, 2, 1000, &o->fanout); break;
        case 'k': rc |= wr_cmd_long(UP, "--leaf-size", optarg, 1, 5000, &o->leaf_size); break;
        case 'm': rc |= wr_cmd_long(UP, "--per-emulator", optarg, 1, 9000, &o->per_emulator); break;
        case 'i': rc |= wr_cmd_double(UP, "--interval", optarg, 0.1, 3600, &o->interval); break;
        case 'p': rc |= wr_cmd_long(UP, "--base-port", optarg, 1024, 32767, &o->base_port); break;
        case 't': rc |= wr_cmd_long(UP, "--tier-port", optarg, 1024, 65000, &o->tier_port); break;
        case 'w': rc |= wr_cmd_long(UP, "--http-port", optarg, 1024, 65535, &o->http_port); break;
        case 'T': rc |= wr_cmd_double(UP, "--timeout", optarg, 1, 86400, &o->timeout); break;
        case 's': rc |= wr_cmd_long(UP, "--seed", optarg, 0, LONG_MAX, &o->seed); break;
        case 'S': o->scenario = optarg; break;                       /* checked in sim_up_main */
        case 'W':
            if (strcmp(optarg, "antfarm") && strcmp(optarg, "plain")) {
                fprintf(stderr, "warren-sim up: --workload: '%s' is not antfarm or plain\n", optarg);
                rc = -1;
            }
            o->workload = optarg;
            break;
        case 'b': snprintf(o->bin, sizeof o->bin, "%s", optarg); break;
        case 'G': rc |= wr_cmd_double(UP, "--node-down-grace", optarg, 0, 86400, &o->down_grace); break;
        case 'F': rc |= wr_cmd_double(UP, "--forecast-step", optarg, 0, 86400, &o->fc_step); break;
        case 'P': rc |= wr_cmd_long(UP, "--forecast-min-points", optarg, 2, 60, &o->fc_min_points); break;
        case 'R': o->no_redundancy = 1; break;
        case 'M': rc |= wr_cmd_long(UP, "--prom-port", optarg, 1024, 65535, &o->prom_port); break;
        case 'h': up_usage(stdout); exit(0);
        default: up_usage(stderr); return -1;
        }
    }
    if (rc)
        return -1;
    if (optind < argc) {
        fprintf(stderr, "warren-sim up: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (!o->nodes || !o->dir[0]) {
        fprintf(stderr, "warren-sim up: --nodes and --dir are required\n");
        up_usage(stderr);
        return -1;
    }
    if (o->base_port + o->nodes - 1 >= 32768) {
        fprintf(stderr, "warren-sim up: ports %ld..%ld reach the ephemeral range (32768+): lower --base-port\n",
                o->base_port, o->base_port + o->nodes - 1);
        return -1;
    }
    if (!o->bin[0] && self_dir(o->bin, sizeof o->bin) != 0) {
        fprintf(stderr, "warren-sim up: cannot find my own directory: use --bin\n");
        return -1;
    }
    return 0;
}

/* ---- the fabric's shape ---------------------------------------------------------- */

/* Relay levels: level 0 are the leaves; each level above has ceil(below / fanout) tiers,
 * until a level fits under the root. There is always at least one relay level. */
int sim_fabric_shape(long leaves, long fanout, long *levels, long counts[SIM_MAX_LEVELS])
{
    long n = leaves, l = 0;
    do {
        if (l >= SIM_MAX_LEVELS)
            return -1;
        n = (n + fanout - 1) / fanout;
        counts[l++] = n;
    } while (n > fanout);
    *levels = l;
    return 0;
}

/* ---- files and processes --------------------------------------------------------- */

static int write_file(const char *path, const char *text)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int ok = fputs(text, f) >= 0;
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0)
        return -1;
    return 0;
}

static FILE *pids_file;
static char  run_dir[PATH_MAX];     /* the fabric's DIR, for sim_spawn's argv files */

pid_t sim_spawn(const char *dir, FILE *pids, const char *kind, const char *id, char *const argv[],
                const char *logpath)
{
    char path[PATH_MAX + 96];
    snprintf(path, sizeof path, "%s/run", dir);
    mkdir(path, 0750);
    snprintf(path, sizeof path, "%s/run/%s.argv", dir, id);
    FILE *af = fopen(path, "w");
    if (af) {
        for (size_t i = 0; argv[i]; i++)
            fprintf(af, "%s\n", argv[i]);
        fclose(af);
    }
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        setsid();
        int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0640);
        int devnull = open("/dev/null", O_RDONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (devnull >= 0)
            dup2(devnull, 0);
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    fprintf(pids, "%d %s %s\n", (int)pid, kind, id);
    fflush(pids);
    return pid;
}

/* Starts argv detached (own session), output to logpath, records it in DIR/pids. */
static pid_t spawn(const char *kind, const char *id, char *const argv[], const char *logpath)
{
    return sim_spawn(run_dir, pids_file, kind, id, argv, logpath);
}

static void tail_log(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char lines[8][512];
    int n = 0;
    while (fgets(lines[n % 8], sizeof lines[0], f))
        n++;
    fclose(f);
    fprintf(stderr, "--- last lines of %s ---\n", path);
    for (int i = n > 8 ? n - 8 : 0; i < n; i++)
        fprintf(stderr, "  %s", lines[i % 8]);
}

typedef struct {
    pid_t pid;
    char  id[64];
    char  log[PATH_MAX];
} child_t;

/* Returns the index of a child that has exited, or -1. Reaps it. */
static int find_dead(child_t *kids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (kids[i].pid <= 0)
            continue;
        int status;
        if (waitpid(kids[i].pid, &status, WNOHANG) == kids[i].pid) {
            kids[i].pid = -kids[i].pid;
            return (int)i;
        }
    }
    return -1;
}

static int fabric_running(const char *dir)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/pids", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int pid, live = 0;
    char kind[32], id[64];
    while (fscanf(f, "%d %31s %63s", &pid, kind, id) == 3)
        if (sim_pid_alive(pid))
            live++;
    fclose(f);
    return live;
}

static void progress(int tty, double t, long listening, long total, const sim_root_status_t *st, int have)
{
    long visible = have ? st->nodes_total : 0, up = have ? st->nodes_up : 0;
    if (tty) {
        int width = 30, fill = total ? (int)(width * up / total) : 0;
        char bar[64];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = 0;
        fprintf(stderr, "\r[%s] %5.1fs  started %ld/%ld  visible %ld  up %ld/%ld ", bar, t, listening, total,
                visible, up, total);
    } else {
        fprintf(stderr, "t=%.1fs started %ld/%ld visible-at-root %ld up %ld/%ld\n", t, listening, total, visible,
                up, total);
    }
}

int sim_fabric_check_ports(long base_port, long nodes, long tier_port, long tier_ports, long http_port,
                           long http_ports, char *err, size_t errlen)
{
    struct { const char *what; long lo, hi; } r[3] = {
        {"emulated nodes (--base-port)", base_port, base_port + nodes - 1},
        {"tiers' ROUTERs (--tier-port)", tier_port, tier_port + tier_ports - 1},
        {"root HTTP (--http-port)", http_port, http_port + http_ports - 1},
    };
    for (int i = 0; i < 3; i++) {
        if (r[i].hi > 65535) {
            snprintf(err, errlen, "ports of the %s would run to %ld, past 65535: lower it", r[i].what, r[i].hi);
            return -1;
        }
        for (int j = i + 1; j < 3; j++) {
            if (r[i].lo <= r[j].hi && r[j].lo <= r[i].hi) {
                snprintf(err, errlen, "port ranges overlap: %s %ld..%ld and %s %ld..%ld; move one of them",
                         r[i].what, r[i].lo, r[i].hi, r[j].what, r[j].lo, r[j].hi);
                return -1;
            }
        }
    }
    return 0;
}

int sim_up_main(int argc, char **argv)
{
    char path[PATH_MAX + 64], buf[PATH_MAX + 256];
    up_opts_t o;
    if (parse_up(argc, argv, &o) != 0)
        return 2;
    static char scenario_abs[PATH_MAX];
    if (o.scenario && sim_scenario_check(o.scenario, o.nodes, scenario_abs, sizeof scenario_abs) != 0)
        return 2;                                    /* sim_scenario.c printed file:line: error */
    if (o.scenario)
        o.scenario = scenario_abs;
    int64_t t0 = wr_mono_ms();
    long emulators = (o.nodes + o.per_emulator - 1) / o.per_emulator;
    long leaves = (o.nodes + o.leaf_size - 1) / o.leaf_size;
    long levels, counts[SIM_MAX_LEVELS];
    if (sim_fabric_shape(leaves, o.fanout, &levels, counts) != 0) {
        fprintf(stderr, "warren-sim up: tree too deep: raise --fanout\n");
        return 2;
    }
    long relays = 0;
    for (long l = 0; l < levels; l++)
        relays += counts[l];
    int red = !o.no_redundancy;
    long roots = red ? 2 : 1, per_relay = red ? 2 : 1;
    if (sim_fabric_check_ports(o.base_port, o.nodes, o.tier_port, roots + relays * per_relay, o.http_port, roots,
                               buf, sizeof buf) != 0) {
        fprintf(stderr, "warren-sim up: %s\n", buf);
        return 2;
    }
    if (o.prom_port && o.prom_port + emulators - 1 > 65535) {
        fprintf(stderr, "warren-sim up: --prom-port %ld + %ld emulators runs past 65535\n", o.prom_port, emulators);
        return 2;
    }

    if (mkdir(o.dir, 0750) != 0 && errno != EEXIST) {
        fprintf(stderr, "warren-sim up: mkdir %s: %s\n", o.dir, strerror(errno));
        return 2;
    }
    char dir[PATH_MAX];
    if (!realpath(o.dir, dir)) {
        fprintf(stderr, "warren-sim up: %s: %s\n", o.dir, strerror(errno));
        return 2;
    }
    if (strlen(dir) > 200) {
        fprintf(stderr, "warren-sim up: %s: path too long (200 bytes at most)\n", dir);
        return 2;
    }
    int live = fabric_running(dir);
    if (live) {
        fprintf(stderr, "warren-sim up: %d processes of a fabric already run in %s: `warren-sim down --dir %s` first\n",
                live, dir, dir);
        return 2;
    }
    snprintf(path, sizeof path, "%s/logs", dir);
    mkdir(path, 0750);
    snprintf(path, sizeof path, "%s/data", dir);
    mkdir(path, 0750);
    const char *tools[] = {"warren-sim", "warren-leaf", "warren-relay", "warren-root"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", o.bin, tools[i]);
        if (access(path, X_OK) != 0) {
            fprintf(stderr, "warren-sim up: %s: not found or not executable (use --bin)\n", path);
            return 2;
        }
    }

    /* The cookie. */
    char cookie[33];
    srand((unsigned)(time(NULL) ^ getpid()));
    for (int i = 0; i < 32; i++)
        cookie[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[rand() % 26];
    cookie[32] = 0;
    char cookie_path[PATH_MAX + 16];
    snprintf(cookie_path, sizeof cookie_path, "%s/cookie", dir);
    snprintf(buf, sizeof buf, "%s\n", cookie);
    if (write_file(cookie_path, buf) != 0 || chmod(cookie_path, 0400) != 0) {
        fprintf(stderr, "warren-sim up: cannot write %s: %s\n", cookie_path, strerror(errno));
        return 2;
    }

    fprintf(stderr, "warren-sim up: %ld nodes in %ld emulator process%s, %ld leaves, %ld relay%s%s in %ld level%s, %s\n",
            o.nodes, emulators, emulators == 1 ? "" : "es", leaves, relays, red ? " pair" : "",
            relays == 1 ? "" : "s", levels, levels == 1 ? "" : "s", red ? "a root pair" : "1 root");
    snprintf(run_dir, sizeof run_dir, "%s", dir);

    snprintf(path, sizeof path, "%s/pids", dir);
    pids_file = fopen(path, "w");
    if (!pids_file) {
        fprintf(stderr, "warren-sim up: %s: %s\n", path, strerror(errno));
        return 2;
    }
    size_t nkids = (size_t)(emulators + leaves + relays * per_relay + roots), k = 0;
    child_t *kids = calloc(nkids, sizeof *kids);
    if (!kids)
        return 2;

    /* 1. Emulators. */
    char exe[PATH_MAX + 32], a_count[32], a_first[32], a_port[32], a_seed[32];
    char a_manifest[PATH_MAX + 32], a_ready[PATH_MAX + 32], a_ctl[PATH_MAX + 32], a_prom[32];
    for (long e = 0; e < emulators; e++) {
        long first = e * o.per_emulator;
        long count = first + o.per_emulator > o.nodes ? o.nodes - first : o.per_emulator;
        snprintf(exe, sizeof exe, "%s/warren-sim", o.bin);
        snprintf(a_count, sizeof a_count, "%ld", count);
        snprintf(a_first, sizeof a_first, "%ld", first);
        snprintf(a_port, sizeof a_port, "%ld", o.base_port + first);
        snprintf(a_seed, sizeof a_seed, "%ld", o.seed);
        snprintf(a_manifest, sizeof a_manifest, "%s/manifest.%ld", dir, e);
        snprintf(a_ready, sizeof a_ready, "%s/emu-%ld.ready", dir, e);
        snprintf(a_ctl, sizeof a_ctl, "%s/emu-%ld.sock", dir, e);   /* warren-sim inject */
        unlink(a_ready);
        char *av[] = {exe, "emulate", "--count", a_count, "--first", a_first, "--base-port", a_port,
                      "--cookie-file", cookie_path, "--seed", a_seed, "--manifest-out", a_manifest,
                      "--ready-file", a_ready, "--workload", (char *)o.workload, "--control", a_ctl,
                      NULL, NULL, NULL, NULL, NULL};
        size_t na = 20;
        snprintf(a_prom, sizeof a_prom, "%ld", o.prom_port + e);
        if (o.prom_port) {
            av[na++] = "--prom-port";
            av[na++] = a_prom;
        }
        if (o.scenario) {
            av[na++] = "--scenario";
            av[na++] = (char *)o.scenario;
        }
        child_t *c = &kids[k++];
        snprintf(c->id, sizeof c->id, "emu-%ld", e);
        snprintf(c->log, sizeof c->log, "%s/logs/%s.log", dir, c->id);
        c->pid = spawn("emulator", c->id, av, c->log);
    }

    /* 2. Configs: roots, relays (top level first), leaves. Roots take tier_port (and +1);
     *    relay instance x of relay r (global index i over the levels) takes
     *    tier_port + roots + i * per_relay + x. */
    static const char *const suffix[2] = {"a", "b"};
    char root_ids[2][16];
    for (long x = 0; x < roots; x++) {
        snprintf(root_ids[x], sizeof root_ids[x], red ? "root-%s" : "root", suffix[x]);
        snprintf(path, sizeof path, "%s/%s.conf", dir, root_ids[x]);
        snprintf(buf, sizeof buf,
                 "# generated by warren-sim up\n"
                 "root = {\n  id = \"%s\";\n  bind = \"tcp://127.0.0.1:%ld\";\n"
                 "  http = { listen = \"127.0.0.1\"; port = %ld; };\n  interval = %g;\n"
                 "  store = { path = \"%s/data/%s\"; map_size_mb = 256; };\n};\n",
                 root_ids[x], o.tier_port + x, o.http_port + x, o.interval, dir, root_ids[x]);
        if (write_file(path, buf) != 0)
            goto io_error;
    }
    long relay_base[SIM_MAX_LEVELS];
    for (long l = 0, idx = 0; l < levels; l++) {
        relay_base[l] = idx;
        idx += counts[l];
    }
#define RELAY_PORT(l, r, x) (o.tier_port + roots + (relay_base[l] + (r)) * per_relay + (x))
    for (long l = 0; l < levels; l++) {
        for (long r = 0; r < counts[l]; r++) {
            char parents[256];
            if (l + 1 < levels) {
                long pr = r / o.fanout;
                if (red)
                    snprintf(parents, sizeof parents,
                             "[\"tcp://127.0.0.1:%ld\", \"tcp://127.0.0.1:%ld\"];\n  parent_mode = \"failover\"",
                             RELAY_PORT(l + 1, pr, 0), RELAY_PORT(l + 1, pr, 1));
                else
                    snprintf(parents, sizeof parents, "[\"tcp://127.0.0.1:%ld\"]", RELAY_PORT(l + 1, pr, 0));
            } else if (red) {
                snprintf(parents, sizeof parents,
                         "[\"tcp://127.0.0.1:%ld\", \"tcp://127.0.0.1:%ld\"];\n  parent_mode = \"all\"",
                         o.tier_port, o.tier_port + 1);
            } else {
                snprintf(parents, sizeof parents, "[\"tcp://127.0.0.1:%ld\"]", o.tier_port);
            }
            for (long x = 0; x < per_relay; x++) {
                char id[64];
                snprintf(id, sizeof id, "relay-%ld-%ld%s", l + 1, r + 1, red ? suffix[x] : "");
                snprintf(path, sizeof path, "%s/%s.conf", dir, id);
                snprintf(buf, sizeof buf,
                         "# generated by warren-sim up\n"
                         "relay = {\n  id = \"%s\";\n  bind = \"tcp://127.0.0.1:%ld\";\n"
                         "  parents = %s;\n  interval = %g;\n"
                         "  store = { path = \"%s/data/%s\"; map_size_mb = 256; };\n};\n",
                         id, RELAY_PORT(l, r, x), parents, o.interval, dir, id);
                if (write_file(path, buf) != 0)
                    goto io_error;
            }
        }
    }
    for (long j = 0; j < leaves; j++) {
        long pr = j / o.fanout;     /* the relay (pair) above this leaf */
        char nodes_path[PATH_MAX + 32], parents[256], group[2048];
        long g_first = red ? pr * o.fanout : j, g_last = red ? pr * o.fanout + o.fanout - 1 : j;
        if (g_last >= leaves)
            g_last = leaves - 1;
        if (red)
            snprintf(nodes_path, sizeof nodes_path, "%s/group-%ld.nodes", dir, pr + 1);
        else
            snprintf(nodes_path, sizeof nodes_path, "%s/leaf-%ld.nodes", dir, j + 1);
        if (!red || j == g_first) {  /* a group's file is written once, with its first leaf */
            long first = g_first * o.leaf_size, last = (g_last + 1) * o.leaf_size;
            if (last > o.nodes)
                last = o.nodes;
            FILE *nf = fopen(nodes_path, "w");
            if (!nf)
                goto io_error;
            if (red)
                fprintf(nf, "# nodes of the leaf group under relay pair %ld: name@host port address\n", pr + 1);
            else
                fprintf(nf, "# nodes of leaf-%ld: name@host port address\n", j + 1);
            for (long n = first; n < last; n++)
                fprintf(nf, "sim%05ld@127.0.0.1 %ld 127.0.0.1\n", n, o.base_port + n);
            if (fclose(nf) != 0)
                goto io_error;
        }
        group[0] = 0;
        if (red) {
            size_t gl = (size_t)snprintf(group, sizeof group, "  group = { leaves = [");
            for (long g = g_first; g <= g_last && gl < sizeof group - 32; g++)
                gl += (size_t)snprintf(group + gl, sizeof group - gl, "%s\"leaf-%ld\"", g > g_first ? ", " : "", g + 1);
            snprintf(group + gl, sizeof group - gl, "]; };\n");
            snprintf(parents, sizeof parents,
                     "[\"tcp://127.0.0.1:%ld\", \"tcp://127.0.0.1:%ld\"];\n  parent_mode = \"failover\"",
                     RELAY_PORT(0, pr, 0), RELAY_PORT(0, pr, 1));
        } else {
            snprintf(parents, sizeof parents, "[\"tcp://127.0.0.1:%ld\"]", RELAY_PORT(0, pr, 0));
        }
        snprintf(path, sizeof path, "%s/leaf-%ld.conf", dir, j + 1);
        char alarms[256] = "";                      /* the --node-down-grace / --forecast-* knobs */
        size_t al = 0;
        if (o.down_grace >= 0)
            al += (size_t)snprintf(alarms + al, sizeof alarms - al, " node_down = { grace = %.3f; };",
                                   o.down_grace);
        if (o.fc_step >= 0 || o.fc_min_points > 0) {
            al += (size_t)snprintf(alarms + al, sizeof alarms - al, " forecast = {");
            if (o.fc_step >= 0)
                al += (size_t)snprintf(alarms + al, sizeof alarms - al, " step = %.3f;", o.fc_step);
            if (o.fc_min_points > 0)
                al += (size_t)snprintf(alarms + al, sizeof alarms - al, " min_points = %ld;",
                                       o.fc_min_points);
            al += (size_t)snprintf(alarms + al, sizeof alarms - al, " };");
        }
        char alarms_line[300] = "";
        if (al > 0)
            snprintf(alarms_line, sizeof alarms_line, "  alarms = {%s };\n", alarms);
        snprintf(buf, sizeof buf,
                 "# generated by warren-sim up\n"
                 "leaf = {\n  id = \"leaf-%ld\";\n  cookie_file = \"%s\";\n  interval = %g;\n"
                 "  parents = %s;\n"
                 "  store = { path = \"%s/data/leaf-%ld\"; map_size_mb = 256; };\n"
                 "  nodes_file = \"%s\";\n%s%s};\n",
                 j + 1, cookie_path, o.interval, parents, dir, j + 1, nodes_path, alarms_line, group);
        if (write_file(path, buf) != 0)
            goto io_error;
    }
#undef RELAY_PORT

    /* 3. Start the tiers, top down. */
    {
        char conf[PATH_MAX + 32];
        child_t *c;
        for (long x = 0; x < roots; x++) {
            snprintf(exe, sizeof exe, "%s/warren-root", o.bin);
            snprintf(conf, sizeof conf, "%s/%s.conf", dir, root_ids[x]);
            char *av[] = {exe, "--config", conf, NULL};
            c = &kids[k++];
            snprintf(c->id, sizeof c->id, "%s", root_ids[x]);
            snprintf(c->log, sizeof c->log, "%s/logs/%s.log", dir, c->id);
            c->pid = spawn("root", c->id, av, c->log);
        }
        for (long l = levels - 1; l >= 0; l--) {
            for (long r = 0; r < counts[l]; r++) {
                for (long x = 0; x < per_relay; x++) {
                    c = &kids[k++];
                    snprintf(c->id, sizeof c->id, "relay-%ld-%ld%s", l + 1, r + 1, red ? suffix[x] : "");
                    snprintf(exe, sizeof exe, "%s/warren-relay", o.bin);
                    snprintf(conf, sizeof conf, "%s/%s.conf", dir, c->id);
                    char *rav[] = {exe, "--config", conf, NULL};
                    snprintf(c->log, sizeof c->log, "%s/logs/%s.log", dir, c->id);
                    c->pid = spawn("relay", c->id, rav, c->log);
                }
            }
        }
    }

    /* 4. Wait for the emulators, then start the leaves. */
    long listening = 0;
    int tty = isatty(2);
    while (listening < emulators) {
        listening = 0;
        for (long e = 0; e < emulators; e++) {
            snprintf(path, sizeof path, "%s/emu-%ld.ready", dir, e);
            listening += access(path, F_OK) == 0;
        }
        int dead = find_dead(kids, k);
        if (dead >= 0) {
            fprintf(stderr, "\nwarren-sim up: %s exited during start-up\n", kids[dead].id);
            tail_log(kids[dead].log);
            goto failed;
        }
        if ((wr_mono_ms() - t0) / 1000.0 > o.timeout) {
            fprintf(stderr, "\nwarren-sim up: emulators not listening after %.0f s\n", o.timeout);
            goto failed;
        }
        if (listening < emulators)
            usleep(50 * 1000);
    }
    fprintf(stderr, "warren-sim up: %ld emulated nodes listening after %.1f s\n", o.nodes, (wr_mono_ms() - t0) / 1000.0);
    for (long j = 0; j < leaves; j++) {
        char conf[PATH_MAX + 32];
        snprintf(exe, sizeof exe, "%s/warren-leaf", o.bin);
        snprintf(conf, sizeof conf, "%s/leaf-%ld.conf", dir, j + 1);
        char *av[] = {exe, "--config", conf, NULL};
        child_t *c = &kids[k++];
        snprintf(c->id, sizeof c->id, "leaf-%ld", j + 1);
        snprintf(c->log, sizeof c->log, "%s/logs/%s.log", dir, c->id);
        c->pid = spawn("leaf", c->id, av, c->log);
    }

    /* 5. Watch the root(s) until every node is up at each. */
    char urls[2][64], url[160];
    for (long x = 0; x < roots; x++)
        snprintf(urls[x], sizeof urls[x], "http://127.0.0.1:%ld", o.http_port + x);
    snprintf(url, sizeof url, "%s%s%s", urls[0], roots > 1 ? "," : "", roots > 1 ? urls[1] : "");
    snprintf(path, sizeof path, "%s/root.url", dir);
    snprintf(buf, sizeof buf, "%s\n", url);
    write_file(path, buf);
    int64_t last_print = 0;
    for (;;) {
        sim_root_status_t st, st2;
        int have = sim_root_status(urls[0], &st) == 0;
        if (have && roots > 1) {   /* the pair counts as its worse half */
            have = sim_root_status(urls[1], &st2) == 0;
            if (have && st2.nodes_up < st.nodes_up)
                st = st2;
        }
        double t = (wr_mono_ms() - t0) / 1000.0;
        int done = have && st.nodes_up >= o.nodes;
        if (done || wr_mono_ms() - last_print >= (tty ? 200 : 1000)) {
            progress(tty, t, o.nodes, o.nodes, &st, have);
            last_print = wr_mono_ms();
        }
        if (done) {
            if (tty)
                fputc('\n', stderr);
            fprintf(stderr, "warren-sim up: all %ld nodes visible and up at the root%s after %.1f s\n", o.nodes,
                    roots > 1 ? " pair (both roots)" : "", t);
            break;
        }
        int dead = find_dead(kids, k);
        if (dead >= 0) {
            fprintf(stderr, "\nwarren-sim up: %s exited\n", kids[dead].id);
            tail_log(kids[dead].log);
            goto failed;
        }
        if (t > o.timeout) {
            fprintf(stderr, "\nwarren-sim up: only %ld of %ld nodes up at the root after %.0f s; logs in %s/logs\n",
                    have ? (long)st.nodes_up : 0L, o.nodes, o.timeout, dir);
            goto failed;
        }
        usleep(100 * 1000);
    }
    fclose(pids_file);
    free(kids);
    printf("%s\n", url);
    fflush(stdout);
    return 0;

io_error:
    fprintf(stderr, "warren-sim up: cannot write %s: %s\n", path, strerror(errno));
failed:
    fprintf(stderr, "warren-sim up: failed; the processes started are still running: `warren-sim down --dir %s`\n",
            dir);
    fclose(pids_file);
    free(kids);
    return 1;
}

/* ---- down ---------------------------------------------------------------------------- */

int sim_down_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *dir = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'd')
            dir = optarg;
        else if (c == 'h') {
            printf("Usage: warren-sim down --dir DIR\nStops every process `warren-sim up` started in DIR "
                   "(SIGTERM, then SIGKILL after 5 s).\n");
            return 0;
        } else
            return 2;
    }
    if (!dir) {
        fprintf(stderr, "warren-sim down: --dir DIR is required\n");
        return 2;
    }
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/pids", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "warren-sim down: %s: %s (nothing to stop?)\n", path, strerror(errno));
        return 1;
    }
    enum { MAX_PIDS = 100000 };
    int *pids = malloc(MAX_PIDS * sizeof *pids), n = 0, pid;
    char kind[32], id[64];
    if (!pids) {
        fclose(f);
        return 1;
    }
    while (n < MAX_PIDS && fscanf(f, "%d %31s %63s", &pid, kind, id) == 3)
        if (pid > 1)
            pids[n++] = pid;
    fclose(f);
    int signalled = 0;
    for (int i = 0; i < n; i++)
        if (kill(pids[i], SIGTERM) == 0)
            signalled++;
    int64_t deadline = wr_mono_ms() + 5000;
    int alive;
    do {
        alive = 0;
        for (int i = 0; i < n; i++)
            alive += sim_pid_alive(pids[i]);
        if (alive)
            usleep(50 * 1000);
    } while (alive && wr_mono_ms() < deadline);
    int killed = 0;
    for (int i = 0; i < n; i++)
        if (sim_pid_alive(pids[i]) && kill(pids[i], SIGKILL) == 0)
            killed++;
    free(pids);
    unlink(path);
    fprintf(stderr, "warren-sim down: stopped %d process%s", signalled, signalled == 1 ? "" : "es");
    if (killed)
        fprintf(stderr, " (%d did not stop within 5 s of SIGTERM and were killed)", killed);
    fputc('\n', stderr);
    return 0;
}
