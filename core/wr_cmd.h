/* wr_cmd: the front end shared by warren's multi-command tools (warren-sim, warren-bench):
 * dispatching argv[1] to a subcommand, and option values checked with wr_cli whose complaint
 * is printed on stderr under the tool's name. Unlike wr_cli this prints, like wr_daemon: it is
 * for a program's main, not for library code. */
#ifndef WR_CMD_H
#define WR_CMD_H
#include <stdio.h>

/* One subcommand: argv[1] == name runs run(argc - 1, argv + 1). run == NULL marks name as
 * a way to ask for the version instead ("--version"). */
typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
} wr_cmd_t;

/* The main of a multi-command tool prog. cmds ends with {NULL, NULL}; usage(out) prints the
 * tool's help. No argv[1]: usage on stderr, returns 2. "-h", "--help", "help": usage on
 * stdout, returns 0. A version entry: prints "PROG WARREN_VERSION", returns 0. A command:
 * returns what its run returns. Anything else: "PROG: unknown command 'X'" and usage on
 * stderr, returns 2. */
int wr_cmd_dispatch(const char *prog, const wr_cmd_t *cmds, void (*usage)(FILE *out), int argc, char **argv);

/* wr_cli_long for option opt's value s; on failure prints "PROG: <wr_cli's complaint>" on
 * stderr. Returns 0 or -1 (*out left alone). */
int wr_cmd_long(const char *prog, const char *opt, const char *s, long min, long max, long *out);

/* wr_cli_double for option opt's value s, complaining like wr_cmd_long. Returns 0 or -1. */
int wr_cmd_double(const char *prog, const char *opt, const char *s, double min, double max, double *out);

#endif
