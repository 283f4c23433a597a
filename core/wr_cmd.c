/* wr_cmd: subcommand dispatch and complaining option parsers of warren's tools (see wr_cmd.h). */
#include "wr_cmd.h"
#include <string.h>
#include "wr_cli.h"

int wr_cmd_dispatch(const char *prog, const wr_cmd_t *cmds, void (*usage)(FILE *out), int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    for (const wr_cmd_t *c = cmds; c->name; c++) {
        if (strcmp(cmd, c->name) != 0)
            continue;
        if (c->run)
            return c->run(argc - 1, argv + 1);
        printf("%s %s\n", prog, WARREN_VERSION);
        return 0;
    }
    fprintf(stderr, "%s: unknown command '%s'\n", prog, cmd);
    usage(stderr);
    return 2;
}

int wr_cmd_long(const char *prog, const char *opt, const char *s, long min, long max, long *out)
{
    char err[WR_CLI_ERR_MAX];
    if (wr_cli_long(opt, s, min, max, out, err, sizeof err) == 0)
        return 0;
    fprintf(stderr, "%s: %s\n", prog, err);
    return -1;
}

int wr_cmd_double(const char *prog, const char *opt, const char *s, double min, double max, double *out)
{
    char err[WR_CLI_ERR_MAX];
    if (wr_cli_double(opt, s, min, max, out, err, sizeof err) == 0)
        return 0;
    fprintf(stderr, "%s: %s\n", prog, err);
    return -1;
}
