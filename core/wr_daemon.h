/* wr_daemon: what every warren daemon does the same way at start-up: the command line
 * (--config, --check-config, --log-level, --help, --version), the common "log" config
 * section, the loop and ZeroMQ context, and SIGINT/SIGTERM ending the loop cleanly. Not a framework: each daemon's main
 * calls these in order and keeps its own logic. */
#ifndef WR_DAEMON_H
#define WR_DAEMON_H
#include <ev.h>
#include "wr_config.h"

typedef struct {
    const char *prog;          /* "warren-leaf" */
    const char *summary;       /* one line: what the daemon is */
    const char *config_help;   /* a few lines: the main config keys, or NULL */
} wr_daemon_info_t;

typedef struct {
    const char *config_path;   /* --config FILE (required) */
    int         check_config;  /* --check-config: validate and exit */
    int         log_level;     /* --log-level LEVEL, or -1 */
} wr_daemon_args_t;

/* Parses argv. Prints help / version and exits 0 for --help / --version; prints a one-line
 * error and the usage and exits 2 on a bad command line. */
void wr_daemon_parse_args(const wr_daemon_info_t *info, int argc, char **argv, wr_daemon_args_t *out);

/* Loads args->config_path. On a syntax error prints it and exits 2. */
wr_config_t *wr_daemon_load_config(const wr_daemon_info_t *info, const wr_daemon_args_t *args);

/* Reads the common section "<section>.log" = { level = "info"; syslog = false; } and sets
 * up wr_log with ident "<prog>[<id>]". The --log-level flag wins over the file. */
void wr_daemon_setup_log(wr_config_t *cfg, const char *section, const wr_daemon_info_t *info,
                         const wr_daemon_args_t *args, const char *id);

/* Calls wr_config_finish; prints every error ("FILE:LINE: KEY: message") to stderr and exits 2
 * if there are any; with --check-config prints "FILE: ok" and exits 0 when there are none. */
void wr_daemon_finish_config(wr_config_t *cfg, const wr_daemon_args_t *args);

/* Installs SIGINT/SIGTERM watchers that break the loop, and ignores SIGPIPE. sigs is
 * storage owned by the caller (two watchers). */
void wr_daemon_signals(struct ev_loop *loop, ev_signal sigs[2]);

/* Raises RLIMIT_NOFILE's soft limit to the hard limit (call before ei_init / zmq_ctx_new).
 * Returns the new soft limit. */
long wr_daemon_raise_nofile(void);

/* The start of a tier daemon's run: raises RLIMIT_NOFILE (wr_daemon_raise_nofile), then
 * creates the default libev loop into *loop and a ZeroMQ context into *zctx. Returns 0, or
 * WR_ENOMEM with the failure logged and nothing left to free. */
int wr_daemon_loop_new(struct ev_loop **loop, void **zctx);

/* Runs loop until SIGINT or SIGTERM (the watchers of wr_daemon_signals, installed here),
 * then logs "shutting down" and stops those watchers; the caller tears its own objects down
 * afterwards. */
void wr_daemon_run(struct ev_loop *loop);

#endif
