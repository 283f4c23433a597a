/* sim_inject_cli: `warren-sim inject`: applies (or clears) one fault on one emulated node of a
 * fabric started by `warren-sim up --dir DIR`, now. Finds the emulator owning the node in
 * DIR/manifest.K and sends one line to its control socket DIR/emu-K.sock (sim_emu_ctl.c). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include "sim.h"
#include "wr_cli.h"
#include "sim_inject.h"
#include "sim_scenario.h"

#define MAX_EMULATORS 10000

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: warren-sim inject --dir DIR --node NODE FAULT [--duration SEC] [--proc NAME | --module NAME]\n"
            "       warren-sim inject --dir DIR --node NODE --clear FAULT|all\n"
            "       warren-sim inject --dir DIR --node NODE --status\n"
            "Applies one fault to one emulated node of the fabric `warren-sim up --dir DIR` started,\n"
            "now, through its emulator's control socket (DIR/emu-K.sock).\n\n"
            "Faults: mqueue_flood, atom_leak, memory_growth, module_clash, crash, silent,\n"
            "        busy_dist_port, log_storm (docs/SIM.md says what each does)\n"
            "  --duration SEC   end the fault after SEC seconds (default: until --clear; crash:\n"
            "                   down for SEC, default 10, then the node restarts)\n"
            "  --proc NAME      mqueue_flood: the flooded process's registered name (ant_stats)\n"
            "  --module NAME    module_clash: the module whose md5 differs (ant_colony)\n"
            "  --clear          end FAULT (or all faults; a crashed node restarts now)\n"
            "  --status         print the node's state and active faults\n"
            "Exit: 0 done, 1 refused or the emulator is not running, 2 bad command line.\n");
}

/* Finds NODE in DIR/manifest.K; returns K or -1. */
static long find_emulator(const char *dir, const char *node)
{
    char path[PATH_MAX], line[512];
    size_t nl = strlen(node);
    for (long k = 0; k < MAX_EMULATORS; k++) {
        snprintf(path, sizeof path, "%s/manifest.%ld", dir, k);
        FILE *f = fopen(path, "r");
        if (!f)
            return -1;
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, node, nl) && line[nl] == ' ') {
                fclose(f);
                return k;
            }
        fclose(f);
    }
    return -1;
}

int sim_inject_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},    {"node", required_argument, NULL, 'n'},
        {"duration", required_argument, NULL, 't'}, {"proc", required_argument, NULL, 'p'},
        {"module", required_argument, NULL, 'm'}, {"clear", no_argument, NULL, 'c'},
        {"status", no_argument, NULL, 's'},       {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *node = NULL, *arg = NULL;
    double duration = 0;
    int clear = 0, status = 0, ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': dir = optarg; break;
        case 'n': node = optarg; break;
        case 'p': case 'm': arg = optarg; break;
        case 'c': clear = 1; break;
        case 's': status = 1; break;
        case 't':
            if (wr_cli_parse_double(optarg, 0, 86400, &duration) != 0 || !(duration > 0)) {
                fprintf(stderr, "warren-sim inject: --duration: '%s' is not a number of seconds in (0, 86400]\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!dir || !node) {
        fprintf(stderr, "warren-sim inject: --dir and --node are required\n");
        usage(stderr);
        return 2;
    }
    const char *fault = optind < argc ? argv[optind] : NULL;
    if ((status && fault) || (!status && !fault) || optind + (fault ? 1 : 0) < argc) {
        fprintf(stderr, "warren-sim inject: give one FAULT (or --status)\n");
        usage(stderr);
        return 2;
    }
    if (fault && sim_inject_parse(fault) < 0 && !(clear && !strcmp(fault, "all"))) {
        fprintf(stderr, "warren-sim inject: unknown fault '%s' (mqueue_flood, atom_leak, memory_growth, "
                "module_clash, crash, silent, busy_dist_port, log_storm)\n", fault);
        return 2;
    }
    if (arg && !sim_inject_valid_arg(arg)) {
        fprintf(stderr, "warren-sim inject: '%s': expected an atom of [a-z0-9_], at most %d bytes\n", arg,
                SIM_INJECT_ARG_MAX - 1);
        return 2;
    }
    if (strlen(node) >= SIM_NODE_NAME_MAX || strchr(node, ' ') || strchr(node, '\n') || !strchr(node, '@')) {
        fprintf(stderr, "warren-sim inject: --node '%s' is not a node name (name@host)\n", node);
        return 2;
    }
    long k = find_emulator(dir, node);
    if (k < 0) {
        fprintf(stderr, "warren-sim inject: unknown node '%s': not in any %s/manifest.K\n", node, dir);
        return 1;
    }
    char line[512];
    if (status)
        snprintf(line, sizeof line, "status %s\n", node);
    else if (clear)
        snprintf(line, sizeof line, "clear %s %s\n", node, fault);
    else
        snprintf(line, sizeof line, "inject %s %s %lld%s%s\n", node, fault, (long long)(duration * 1000.0),
                 arg ? " " : "", arg ? arg : "");
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (snprintf(sa.sun_path, sizeof sa.sun_path, "%s/emu-%ld.sock", dir, k) >= (int)sizeof sa.sun_path) {
        fprintf(stderr, "warren-sim inject: %s/emu-%ld.sock: path too long for a unix socket\n", dir, k);
        return 1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "warren-sim inject: emulator emu-%ld (owner of %s) is not running: %s: %s\n", k, node,
                sa.sun_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 1;
    }
    struct timeval tv = {.tv_sec = 5, .tv_usec = 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    size_t len = strlen(line);
    if (write(fd, line, len) != (ssize_t)len) {
        fprintf(stderr, "warren-sim inject: cannot send to %s: %s\n", sa.sun_path, strerror(errno));
        close(fd);
        return 1;
    }
    char rep[600];
    size_t got = 0;
    while (got < sizeof rep - 1) {
        ssize_t r = read(fd, rep + got, sizeof rep - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
        if (memchr(rep, '\n', got))
            break;
    }
    close(fd);
    rep[got] = '\0';
    rep[strcspn(rep, "\n")] = '\0';
    if (got == 0) {
        fprintf(stderr, "warren-sim inject: no reply from emulator emu-%ld within 5 s\n", k);
        return 1;
    }
    if (strncmp(rep, "ok", 2) != 0) {
        fprintf(stderr, "warren-sim inject: emu-%ld: %s\n", k, rep);
        return 1;
    }
    printf("%s\n", rep);
    return 0;
}
