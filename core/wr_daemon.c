/* wr_daemon: common start-up of warren daemons (command line, log setup, loop, signals). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <zmq.h>
#include "wr_daemon.h"
#include "wr_error.h"
#include "wr_log.h"

static void usage(const wr_daemon_info_t *info, FILE *out)
{
    fprintf(out,
            "Usage: %s --config FILE [--check-config] [--log-level LEVEL]\n"
            "%s\n\n"
            "Options:\n"
            "  -c, --config FILE      configuration file (libconfig format)\n"
            "      --check-config     validate the configuration and exit (0 = valid)\n"
            "  -l, --log-level LEVEL  error | warn | info | debug (overrides the file)\n"
            "  -h, --help             show this help\n"
            "  -V, --version          show the version\n",
            info->prog, info->summary);
    if (info->config_help)
        fprintf(out, "\nConfiguration:\n%s\n", info->config_help);
}

void wr_daemon_parse_args(const wr_daemon_info_t *info, int argc, char **argv, wr_daemon_args_t *out)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 'k'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    memset(out, 0, sizeof *out);
    out->log_level = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:l:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'c': out->config_path = optarg; break;
        case 'k': out->check_config = 1; break;
        case 'l':
            if (wr_log_level_parse(optarg, &out->log_level) != 0) {
                fprintf(stderr, "%s: --log-level: unknown level '%s' (error|warn|info|debug)\n", info->prog, optarg);
                exit(2);
            }
            break;
        case 'h': usage(info, stdout); exit(0);
        case 'V': printf("%s %s\n", info->prog, WARREN_VERSION); exit(0);
        default: usage(info, stderr); exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", info->prog, argv[optind]);
        usage(info, stderr);
        exit(2);
    }
    if (!out->config_path) {
        fprintf(stderr, "%s: --config FILE is required\n", info->prog);
        usage(info, stderr);
        exit(2);
    }
}

wr_config_t *wr_daemon_load_config(const wr_daemon_info_t *info, const wr_daemon_args_t *args)
{
    char err[512];
    wr_config_t *cfg = wr_config_load(args->config_path, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "%s: %s\n", info->prog, err);
        exit(2);
    }
    return cfg;
}

void wr_daemon_setup_log(wr_config_t *cfg, const char *section, const wr_daemon_info_t *info,
                         const wr_daemon_args_t *args, const char *id)
{
    static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
    char path[128];
    int level = WR_LOG_INFO, use_syslog = 0;
    snprintf(path, sizeof path, "%s.log.level", section);
    wr_config_enum(cfg, path, levels, WR_LOG_INFO, &level);
    snprintf(path, sizeof path, "%s.log.syslog", section);
    wr_config_bool(cfg, path, 0, &use_syslog);
    if (args->log_level >= 0)
        level = args->log_level;
    char ident[160];
    snprintf(ident, sizeof ident, "%s[%s]", info->prog, id);
    wr_log_init(ident, level, use_syslog);
}

void wr_daemon_finish_config(wr_config_t *cfg, const wr_daemon_args_t *args)
{
    int n = wr_config_finish(cfg);
    for (int i = 0; i < n; i++)
        fprintf(stderr, "%s\n", wr_config_error_at(cfg, i));
    if (n > 0) {
        fprintf(stderr, "%s: %d configuration error%s\n", args->config_path, n, n == 1 ? "" : "s");
        exit(2);
    }
    if (args->check_config) {
        printf("%s: ok\n", args->config_path);
        exit(0);
    }
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    WR_INFO("signal %d: stopping", w->signum);
    ev_break(loop, EVBREAK_ALL);
}

void wr_daemon_signals(struct ev_loop *loop, ev_signal sigs[2])
{
    signal(SIGPIPE, SIG_IGN);
    ev_signal_init(&sigs[0], on_signal, SIGINT);
    ev_signal_init(&sigs[1], on_signal, SIGTERM);
    ev_signal_start(loop, &sigs[0]);
    ev_signal_start(loop, &sigs[1]);
}

long wr_daemon_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return (long)rl.rlim_cur;
}

int wr_daemon_loop_new(struct ev_loop **loop, void **zctx)
{
    wr_daemon_raise_nofile();
    *loop = ev_default_loop(0);
    *zctx = *loop ? zmq_ctx_new() : NULL;
    if (!*loop || !*zctx) {
        WR_ERROR("cannot create the event loop or the ZeroMQ context");
        if (*loop)
            ev_loop_destroy(*loop);
        *loop = NULL;
        return WR_ENOMEM;
    }
    return 0;
}

void wr_daemon_run(struct ev_loop *loop)
{
    ev_signal sigs[2];
    wr_daemon_signals(loop, sigs);
    ev_run(loop, 0);
    WR_INFO("shutting down");
    ev_signal_stop(loop, &sigs[0]);
    ev_signal_stop(loop, &sigs[1]);
}
