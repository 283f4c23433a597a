/* sim_emu: `warren-sim emulate`: the command line, descriptor budget, start-up (one
 * emulated node after another), the manifest / ready files, periodic counters and a clean
 * stop on SIGTERM / SIGINT. Sockets are sim_emu_node.c's, replies sim_emu_calls.c's. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "sim.h"
#include "wr_cli.h"
#include "sim_emu.h"
#include "sim_emu_prom.h"
#include "wr_log.h"
#include "wr_time.h"

#define MAX_COUNT 100000
#define EPHEMERAL_LO 32768
#define EPHEMERAL_HI 60999

typedef struct {
    long count, base_port, first;
    const char *prefix, *host, *cookie, *cookie_file, *manifest, *ready, *agent_md5;
    const char *control, *scenario;
    long prom_port;                  /* --prom-port: 0 = no Prometheus exposition */
    int workload;
    unsigned long long seed;
} opts_t;

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: warren-sim emulate --count N --base-port P [--first I] [--prefix sim]\n"
            "                          [--host 127.0.0.1] [--cookie-file F | --cookie C] [--seed S]\n"
            "                          [--manifest-out FILE] [--ready-file FILE] [--agent-md5 FILE]\n"
            "                          [--workload antfarm|plain] [--control SOCK] [--scenario FILE]\n"
            "Runs N emulated BEAM nodes in this process, at the distribution-protocol level: a hidden\n"
            "C node (warren-leaf, erl) connects to them by port and calls rex, and gets the replies\n"
            "an OTP 25 node would give for erlang:memory/0,1, system_info/1, statistics/1, node/0 and\n"
            "nodes/0,1, and, once code:load_binary(warren_agent, ...) was called, for warren_agent's\n"
            "module_info(md5), collect/1 and procs/2 (anything else: {badrpc,{'EXIT',{undef,...}}}).\n"
            "They are NOT registered in epmd.\n\n"
            "Options:\n"
            "  -n, --count N          number of nodes (each needs 2 descriptors; 2N+64 must fit\n"
            "                         the open-file limit, else split over several processes)\n"
            "  -p, --base-port P      node k listens on 127.0.0.1:(P+k); ports must avoid the\n"
            "                         ephemeral range %d-%d\n"
            "  -f, --first I          node k is named <prefix><I+k, 5 digits>@<host> (default 0)\n"
            "      --prefix NAME      alive-name prefix (default sim)\n"
            "      --host HOST        host part of the node names (default 127.0.0.1)\n"
            "      --cookie C         distribution cookie\n"
            "      --cookie-file F    read the cookie from F (default: $HOME/.erlang.cookie)\n"
            "      --seed S           seed of the emulated values (default 1); values are a\n"
            "                         function of (seed, node index, time since start)\n"
            "      --manifest-out F   once all listen, write \"name@host port 127.0.0.1\" per node\n"
            "      --ready-file F     create F once all nodes listen (removed at exit)\n"
            "      --agent-md5 F      hex md5 of the agent this build ships (default:\n"
            "                         ../agent/warren_agent.md5 beside this executable); without\n"
            "                         it the nodes answer warren_agent calls with undef\n"
            "      --workload W       what the nodes run: antfarm (default: the RELEASE ant colony\n"
            "                         optimisation benchmark, by iteration) or plain (steady noise)\n"
            "      --control SOCK     accept fault injection on this unix socket (one command\n"
            "                         line per connection: ping, inject, clear, status; docs/SIM.md)\n"
            "      --scenario FILE    play this fault scenario (times from this process's start)\n"
            "      --prom-port P      also serve GET /metrics/<alive name> of every node in the\n"
            "                         Prometheus text format on 127.0.0.1:P (docs/SIM.md)\n"
            "  -h, --help             this help\n\n"
            "Exit: 0 after SIGTERM/SIGINT, 1 if start-up failed, 2 on a bad command line or when\n"
            "the descriptor budget does not fit.\n",
            EPHEMERAL_LO, EPHEMERAL_HI);
}

static int parse_long(const char *opt, const char *s, long lo, long hi, long *out)
{
    if (wr_cli_parse_long(s, lo, hi, out) == 0)
        return 0;
    fprintf(stderr, "warren-sim emulate: %s: '%s' is not a number in %ld..%ld\n", opt, s, lo, hi);
    return -1;
}

static int valid_alive_prefix(const char *s)
{
    if (!*s || strlen(s) > 200)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return 0;
    return 1;
}

static int valid_host(const char *s)
{
    if (!*s || strlen(s) > 200)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' && *s != '_')
            return 0;
    return 1;
}

static int parse_opts(int argc, char **argv, opts_t *o)
{
    static const struct option lo[] = {
        {"count", required_argument, NULL, 'n'},     {"base-port", required_argument, NULL, 'p'},
        {"first", required_argument, NULL, 'f'},     {"prefix", required_argument, NULL, 'P'},
        {"host", required_argument, NULL, 'H'},      {"cookie", required_argument, NULL, 'c'},
        {"cookie-file", required_argument, NULL, 'C'}, {"seed", required_argument, NULL, 's'},
        {"manifest-out", required_argument, NULL, 'm'}, {"ready-file", required_argument, NULL, 'r'},
        {"agent-md5", required_argument, NULL, 'A'}, {"workload", required_argument, NULL, 'W'},
        {"control", required_argument, NULL, 'K'},   {"scenario", required_argument, NULL, 'S'},
        {"prom-port", required_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->count = -1;
    o->base_port = -1;
    o->prefix = "sim";
    o->host = "127.0.0.1";
    o->seed = 1;
    o->workload = SIM_WORKLOAD_ANTFARM;
    optind = 1;
    int ch;
    char *end;
    while ((ch = getopt_long(argc, argv, "n:p:f:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'n': if (parse_long("--count", optarg, 1, MAX_COUNT, &o->count)) return -1; break;
        case 'p': if (parse_long("--base-port", optarg, 1024, 65535, &o->base_port)) return -1; break;
        case 'f': if (parse_long("--first", optarg, 0, 99999, &o->first)) return -1; break;
        case 'P': o->prefix = optarg; break;
        case 'H': o->host = optarg; break;
        case 'c': o->cookie = optarg; break;
        case 'C': o->cookie_file = optarg; break;
        case 'm': o->manifest = optarg; break;
        case 'r': o->ready = optarg; break;
        case 'A': o->agent_md5 = optarg; break;
        case 'K': o->control = optarg; break;
        case 'S': o->scenario = optarg; break;
        case 'M': if (parse_long("--prom-port", optarg, 1024, 65535, &o->prom_port)) return -1; break;
        case 'W':
            if (sim_emu_values_workload(optarg, &o->workload) != 0) {
                fprintf(stderr, "warren-sim emulate: --workload: '%s' is not antfarm or plain\n", optarg);
                return -1;
            }
            break;
        case 's':
            errno = 0;
            o->seed = strtoull(optarg, &end, 0);
            if (errno || end == optarg || *end) {
                fprintf(stderr, "warren-sim emulate: --seed: '%s' is not a number\n", optarg);
                return -1;
            }
            break;
        case 'h': usage(stdout); exit(0);
        default: return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "warren-sim emulate: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (o->count < 0 || o->base_port < 0) {
        fprintf(stderr, "warren-sim emulate: --count and --base-port are required\n");
        return -1;
    }
    long last_port = o->base_port + o->count - 1;
    if (last_port > 65535) {
        fprintf(stderr, "warren-sim emulate: ports %ld..%ld go past 65535\n", o->base_port, last_port);
        return -1;
    }
    if (o->base_port <= EPHEMERAL_HI && last_port >= EPHEMERAL_LO) {
        fprintf(stderr, "warren-sim emulate: ports %ld..%ld overlap the ephemeral range %d-%d "
                "(outgoing connections draw from it): choose another --base-port\n",
                o->base_port, last_port, EPHEMERAL_LO, EPHEMERAL_HI);
        return -1;
    }
    if (o->first + o->count - 1 > 99999) {
        fprintf(stderr, "warren-sim emulate: --first %ld + --count %ld needs more than 5 digits\n",
                o->first, o->count);
        return -1;
    }
    if (!valid_alive_prefix(o->prefix)) {
        fprintf(stderr, "warren-sim emulate: --prefix '%s': use 1-200 of [A-Za-z0-9_-]\n", o->prefix);
        return -1;
    }
    if (!valid_host(o->host)) {
        fprintf(stderr, "warren-sim emulate: --host '%s': use 1-200 of [A-Za-z0-9.-_]\n", o->host);
        return -1;
    }
    if (o->cookie && o->cookie_file) {
        fprintf(stderr, "warren-sim emulate: give --cookie or --cookie-file, not both\n");
        return -1;
    }
    return 0;
}

/* Reads the cookie (first line, trimmed) into out. Returns 0 or -1 after printing why. */
static int load_cookie(const opts_t *o, char *out, size_t outlen)
{
    if (o->cookie) {
        if (!*o->cookie || strlen(o->cookie) >= outlen) {
            fprintf(stderr, "warren-sim emulate: --cookie must be 1..%zu characters\n", outlen - 1);
            return -1;
        }
        snprintf(out, outlen, "%s", o->cookie);
        return 0;
    }
    char path[PATH_MAX];
    if (o->cookie_file) {
        snprintf(path, sizeof path, "%s", o->cookie_file);
    } else {
        const char *home = getenv("HOME");
        snprintf(path, sizeof path, "%s/.erlang.cookie", home ? home : ".");
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "warren-sim emulate: cookie file %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *got = fgets(out, (int)outlen, f);
    fclose(f);
    size_t n = got ? strcspn(out, "\r\n") : 0;
    if (got)
        out[n] = '\0';
    if (n == 0) {
        fprintf(stderr, "warren-sim emulate: cookie file %s is empty\n", path);
        return -1;
    }
    return 0;
}

/* Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit. */
static long raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY ? LONG_MAX : (long)rl.rlim_cur;
}

/* Writes text to path atomically (path.tmp, then rename). Returns 0 or -1 (errno set). */
static int write_atomic(const char *path, sim_emu_t *emu, const opts_t *o, int manifest)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    if (manifest) {
        for (int k = 0; k < emu->count; k++)
            fprintf(f, "%s %d 127.0.0.1\n", emu->nodes[k].ec.thisnodename, emu->nodes[k].port);
    } else {
        fprintf(f, "pid %ld\ncount %d\nfirst %ld\nbase_port %ld\n", (long)getpid(), emu->count,
                o->first, o->base_port);
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e ? e : EIO;
        return -1;
    }
    return 0;
}

static void log_stats(const sim_emu_t *emu, const char *when)
{
    const sim_emu_stats_t *s = &emu->st;
    WR_INFO("%s: nodes=%d conns=%d accepted=%llu handshake_failed=%llu refused=%llu "
                "closed=%llu calls=%llu undef=%llu badarg=%llu ticks=%llu ignored=%llu malformed=%llu "
                "send_failed=%llu agent_loads=%llu agent_collects=%llu agent_procs=%llu "
                "agent_census=%llu silenced=%llu crashes=%llu restarts=%llu ctl=%llu ctl_errors=%llu "
                "scenario=%llu subscribes=%llu notif_pushed=%llu notif_failed=%llu refused_silent=%llu",
                when, emu->count, emu->conns_open,
                (unsigned long long)s->accepted, (unsigned long long)s->handshake_failed,
                (unsigned long long)s->refused_full, (unsigned long long)s->closed,
                (unsigned long long)s->calls, (unsigned long long)s->undef,
                (unsigned long long)s->badarg, (unsigned long long)s->ticks,
                (unsigned long long)s->ignored, (unsigned long long)s->malformed,
                (unsigned long long)s->send_failed, (unsigned long long)s->agent_loads,
                (unsigned long long)s->agent_collects, (unsigned long long)s->agent_procs,
                (unsigned long long)s->agent_census, (unsigned long long)s->silenced,
                (unsigned long long)s->crashes, (unsigned long long)s->restarts,
                (unsigned long long)s->ctl_commands, (unsigned long long)s->ctl_errors,
                (unsigned long long)s->scenario_fired, (unsigned long long)s->subscribes,
                (unsigned long long)s->notif_pushed, (unsigned long long)s->notif_failed,
                (unsigned long long)s->refused_silent);
}

static void on_stats(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    log_stats(w->data, "stats");
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    WR_INFO("signal %d: stopping", w->signum);
    ev_break(loop, EVBREAK_ALL);
}

int sim_emulate_main(int argc, char **argv)
{
    opts_t o;
    if (parse_opts(argc, argv, &o) != 0) {
        usage(stderr);
        return 2;
    }
    char cookie[EI_MAX_COOKIE_SIZE + 1];
    if (load_cookie(&o, cookie, sizeof cookie) != 0)
        return 2;
    long limit = raise_nofile();                     /* before ei_init: it sizes its fd table */
    long need = (o.prom_port ? 3 : 2) * o.count + 64;   /* + a scrape connection per node */
    if (need > limit) {
        fprintf(stderr, "warren-sim emulate: --count %ld needs %ld descriptors, limit is %ld: "
                "split over several processes\n", o.count, need, limit);
        return 2;
    }
    if (ei_init() != 0) {
        fprintf(stderr, "warren-sim emulate: error: ei_init failed\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    char ident[64];
    snprintf(ident, sizeof ident, "warren-sim[emulate-%ld]", o.first);
    wr_log_init(ident, WR_LOG_INFO, 0);

    sim_emu_t emu;
    memset(&emu, 0, sizeof emu);
    emu.loop = ev_default_loop(EVFLAG_AUTO);
    emu.seed = o.seed;
    emu.workload = o.workload;
    emu.first = o.first;
    emu.start_ms = wr_mono_ms();
    emu.nodes = calloc((size_t)o.count, sizeof *emu.nodes);
    if (!emu.loop || !emu.nodes || ei_x_new(&emu.rx) != 0 || ei_x_new(&emu.tx) != 0) {
        fprintf(stderr, "warren-sim emulate: error: out of memory for %ld nodes\n", o.count);
        free(emu.nodes);
        return 1;
    }
    char agent_err[PATH_MAX + 128];
    if (sim_emu_agent_init(&emu, o.agent_md5, agent_err, sizeof agent_err) != 0)
        WR_WARN("cannot emulate the agent (%s): warren_agent calls answer undef", agent_err);
    if (o.control || o.scenario) {
        char cerr[PATH_MAX + 256];
        if (sim_emu_ctl_start(&emu, o.control, o.scenario, cerr, sizeof cerr) != 0) {
            fprintf(stderr, "warren-sim emulate: %s\n", cerr);
            ei_x_free(&emu.rx);
            ei_x_free(&emu.tx);
            free(emu.nodes);
            ev_loop_destroy(emu.loop);
            return 2;
        }
    }
    ev_signal sigs[2];
    ev_signal_init(&sigs[0], on_signal, SIGTERM);
    ev_signal_init(&sigs[1], on_signal, SIGINT);
    ev_signal_start(emu.loop, &sigs[0]);
    ev_signal_start(emu.loop, &sigs[1]);

    WR_INFO("starting %ld nodes %s%05ld..%s%05ld@%s on 127.0.0.1:%ld..%ld (limit %ld fds)",
                o.count, o.prefix, o.first, o.prefix, o.first + o.count - 1, o.host, o.base_port,
                o.base_port + o.count - 1, limit);
    int64_t t0 = wr_mono_ms();
    int rc = 0;
    unsigned creation_base = (unsigned)(wr_wall_ms() / 1000) ^ (unsigned)(o.seed * 2654435761u);
    for (long k = 0; k < o.count; k++) {
        char alive[256], err[512];
        snprintf(alive, sizeof alive, "%s%05ld", o.prefix, o.first + k);
        unsigned creation = ((creation_base + (unsigned)k * 7919u) & 0x7fffffffu) | 4u;
        if (sim_emu_node_open(&emu, &emu.nodes[k], (uint32_t)(o.first + k), (int)(o.base_port + k), alive,
                              o.host, cookie, creation, err, sizeof err) != 0) {
            WR_ERROR("%s", err);
            rc = 1;
            break;
        }
        emu.count = (int)k + 1;
        if ((k + 1) % 1000 == 0 && k + 1 < o.count)
            WR_INFO("%ld/%ld nodes listening", k + 1, o.count);
    }
    if (rc == 0) {
        WR_INFO("all %d nodes listening after %lld ms", emu.count, (long long)(wr_mono_ms() - t0));
        if (o.manifest && write_atomic(o.manifest, &emu, &o, 1) != 0) {
            WR_ERROR("cannot write manifest %s: %s", o.manifest, strerror(errno));
            rc = 1;
        }
    }
    sim_emu_prom_t *prom = NULL;
    if (rc == 0 && o.prom_port) {
        char perr[256];
        prom = sim_emu_prom_new(&emu, (int)o.prom_port, perr, sizeof perr);
        if (!prom) {
            WR_ERROR("%s", perr);
            rc = 1;
        } else {
            WR_INFO("prometheus exposition on http://127.0.0.1:%ld/metrics/<alive name>", o.prom_port);
        }
    }
    if (rc == 0 && o.ready && write_atomic(o.ready, &emu, &o, 0) != 0) {
        WR_ERROR("cannot write ready file %s: %s", o.ready, strerror(errno));
        rc = 1;
    }
    if (rc == 0) {
        ev_timer stats;
        ev_timer_init(&stats, on_stats, 60.0, 60.0);
        stats.data = &emu;
        ev_timer_start(emu.loop, &stats);
        ev_run(emu.loop, 0);
        ev_timer_stop(emu.loop, &stats);
        log_stats(&emu, "final");
        if (prom) {
            sim_emu_prom_stats_t ps = sim_emu_prom_stats(prom);
            WR_INFO("prometheus: scrapes=%llu not_found=%llu down=%llu bad_method=%llu bytes=%llu",
                    (unsigned long long)ps.scrapes, (unsigned long long)ps.not_found,
                    (unsigned long long)ps.down, (unsigned long long)ps.bad_method,
                    (unsigned long long)ps.bytes);
        }
        if (o.ready)
            unlink(o.ready);
    }
    sim_emu_prom_destroy(&prom);
    sim_emu_ctl_stop(&emu);
    for (int k = 0; k < emu.count; k++) {
        sim_emu_node_close(&emu.nodes[k]);
        free(emu.nodes[k].faults);
    }
    ev_signal_stop(emu.loop, &sigs[0]);
    ev_signal_stop(emu.loop, &sigs[1]);
    ei_x_free(&emu.rx);
    ei_x_free(&emu.tx);
    free(emu.nodes);
    ev_loop_destroy(emu.loop);
    WR_INFO("stopped");
    return rc;
}
