/* sim_ctl: `warren-sim kill` and `warren-sim restart`, the fault controls of a fabric that
 * `warren-sim up` started in DIR. kill sends SIGKILL to one process of a tier (the first alive
 * one in DIR/pids, or the one named by --id), waits until it is gone and removes its line from
 * DIR/pids; restart runs a process again from DIR/run/ID.argv and appends it to DIR/pids, so
 * `warren-sim down` still stops everything. Not here: starting a fabric (sim_fabric.c). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sim.h"
#include "sim_fabric.h"
#include "wr_time.h"

#define CTL_MAX_PIDS 100000

typedef struct {
    int  pid;
    char kind[32];
    char id[64];
} pid_line_t;

/* Reads DIR/pids into a malloc'd array; returns the count or -1 (message printed). */
static long read_pids(const char *cmd, const char *dir, pid_line_t **out)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/pids", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "warren-sim %s: %s: %s (no fabric in %s?)\n", cmd, path, strerror(errno), dir);
        return -1;
    }
    pid_line_t *v = calloc(CTL_MAX_PIDS, sizeof *v);
    long n = 0;
    if (!v) {
        fclose(f);
        return -1;
    }
    while (n < CTL_MAX_PIDS && fscanf(f, "%d %31s %63s", &v[n].pid, v[n].kind, v[n].id) == 3)
        n++;
    fclose(f);
    *out = v;
    return n;
}

static int write_pids(const char *dir, const pid_line_t *v, long n, long skip)
{
    char path[PATH_MAX + 16], tmp[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/pids", dir);
    snprintf(tmp, sizeof tmp, "%s/pids.tmp", dir);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    for (long i = 0; i < n; i++)
        if (i != skip)
            fprintf(f, "%d %s %s\n", v[i].pid, v[i].kind, v[i].id);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return -1;
    return 0;
}

static void kill_usage(FILE *out)
{
    fprintf(out,
            "Usage: warren-sim kill --dir DIR leaf|relay|root|emulator [--id ID]\n"
            "Kills (SIGKILL, as a crash would) one process of that tier of the fabric `warren-sim up`\n"
            "started in DIR: the one named ID, else the first one alive in DIR/pids. Prints\n"
            "\"killed ID pid PID\", waits until it is gone and removes it from DIR/pids (so\n"
            "`warren-sim down` still works). Start it again with `warren-sim restart --dir DIR ID`;\n"
            "watch the tree heal meanwhile with `warrenctl --root $(cat DIR/root.url) tree`.\n\n"
            "Options:\n"
            "  --dir DIR   the fabric's directory (required)\n"
            "  --id ID     the process to kill (e.g. leaf-2, relay-1-1a, root-b)\n"
            "  -h, --help  this help\n");
}

int sim_kill_main(int argc, char **argv)
{
    static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
                                         {"id", required_argument, NULL, 'i'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL, *id = NULL, *kind = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'i': id = optarg; break;
        case 'h': kill_usage(stdout); return 0;
        default: kill_usage(stderr); return 2;
        }
    }
    if (optind < argc)
        kind = argv[optind++];
    if (!dir || !kind || optind < argc) {
        fprintf(stderr, "warren-sim kill: %s\n",
                !dir ? "--dir DIR is required" : !kind ? "which tier? leaf, relay, root or emulator" : "too many arguments");
        kill_usage(stderr);
        return 2;
    }
    if (strcmp(kind, "leaf") && strcmp(kind, "relay") && strcmp(kind, "root") && strcmp(kind, "emulator")) {
        fprintf(stderr, "warren-sim kill: unknown tier '%s' (leaf, relay, root or emulator)\n", kind);
        return 2;
    }
    pid_line_t *v = NULL;
    long n = read_pids("kill", dir, &v);
    if (n < 0)
        return 1;
    long pick = -1;
    for (long i = 0; i < n && pick < 0; i++)
        if (!strcmp(v[i].kind, kind) && (!id || !strcmp(v[i].id, id)) && sim_pid_alive(v[i].pid))
            pick = i;
    if (pick < 0) {
        fprintf(stderr, "warren-sim kill: no live %s%s%s in %s/pids\n", kind, id ? " named " : "", id ? id : "", dir);
        free(v);
        return 1;
    }
    if (kill(v[pick].pid, SIGKILL) != 0) {
        fprintf(stderr, "warren-sim kill: kill %d: %s\n", v[pick].pid, strerror(errno));
        free(v);
        return 1;
    }
    printf("killed %s pid %d\n", v[pick].id, v[pick].pid);
    fflush(stdout);
    int64_t deadline = wr_mono_ms() + 5000;
    while (sim_pid_alive(v[pick].pid) && wr_mono_ms() < deadline)
        usleep(10 * 1000);
    int rc = 0;
    if (sim_pid_alive(v[pick].pid)) {
        fprintf(stderr, "warren-sim kill: pid %d still there 5 s after SIGKILL\n", v[pick].pid);
        rc = 1;
    } else if (write_pids(dir, v, n, pick) != 0) {
        fprintf(stderr, "warren-sim kill: cannot rewrite %s/pids: %s\n", dir, strerror(errno));
        rc = 1;
    }
    free(v);
    return rc;
}

static void restart_usage(FILE *out)
{
    fprintf(out,
            "Usage: warren-sim restart --dir DIR ID\n"
            "Starts process ID of the fabric in DIR again (after `warren-sim kill` or a crash), with\n"
            "the command line `warren-sim up` gave it (DIR/run/ID.argv); its log goes on in\n"
            "DIR/logs/ID.log. Prints \"restarted ID pid PID\" and adds it to DIR/pids.\n\n"
            "Options:\n"
            "  --dir DIR   the fabric's directory (required)\n"
            "  -h, --help  this help\n");
}

int sim_restart_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *dir = NULL, *id = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'h': restart_usage(stdout); return 0;
        default: restart_usage(stderr); return 2;
        }
    }
    if (optind < argc)
        id = argv[optind++];
    if (!dir || !id || optind < argc) {
        fprintf(stderr, "warren-sim restart: %s\n",
                !dir ? "--dir DIR is required" : !id ? "which process? give its ID (e.g. leaf-2)" : "too many arguments");
        restart_usage(stderr);
        return 2;
    }
    if (strchr(id, '/') || strlen(id) > 63) {
        fprintf(stderr, "warren-sim restart: '%s' is not a process id of the fabric\n", id);
        return 2;
    }
    pid_line_t *v = NULL;
    long n = read_pids("restart", dir, &v);
    if (n < 0)
        return 1;
    for (long i = 0; i < n; i++) {
        if (!strcmp(v[i].id, id) && sim_pid_alive(v[i].pid)) {
            fprintf(stderr, "warren-sim restart: %s is running (pid %d)\n", id, v[i].pid);
            free(v);
            return 1;
        }
    }
    free(v);
    char path[PATH_MAX + 96], line[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/run/%s.argv", dir, id);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "warren-sim restart: %s: %s (unknown id?)\n", path, strerror(errno));
        return 1;
    }
    enum { MAX_ARGS = 64 };
    char *av[MAX_ARGS + 1];
    int ac = 0;
    while (ac < MAX_ARGS && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        av[ac++] = strdup(line);
    }
    fclose(f);
    av[ac] = NULL;
    int rc = 1;
    if (ac == 0 || !av[0]) {
        fprintf(stderr, "warren-sim restart: %s is empty\n", path);
        goto out;
    }
    const char *base = strrchr(av[0], '/') ? strrchr(av[0], '/') + 1 : av[0];
    const char *kind = !strcmp(base, "warren-leaf")    ? "leaf"
                       : !strcmp(base, "warren-relay") ? "relay"
                       : !strcmp(base, "warren-root")  ? "root"
                       : !strcmp(base, "warren-sim")   ? "emulator"
                                                       : NULL;
    if (!kind) {
        fprintf(stderr, "warren-sim restart: %s: unexpected program %s\n", path, av[0]);
        goto out;
    }
    snprintf(path, sizeof path, "%s/pids", dir);
    FILE *pids = fopen(path, "a");
    if (!pids) {
        fprintf(stderr, "warren-sim restart: %s: %s\n", path, strerror(errno));
        goto out;
    }
    char logpath[PATH_MAX + 96];
    snprintf(logpath, sizeof logpath, "%s/logs/%s.log", dir, id);
    pid_t pid = sim_spawn(dir, pids, kind, id, av, logpath);
    fclose(pids);
    if (pid < 0) {
        fprintf(stderr, "warren-sim restart: fork: %s\n", strerror(errno));
        goto out;
    }
    printf("restarted %s pid %d\n", id, (int)pid);
    rc = 0;
out:
    for (int i = 0; i < ac; i++)
        free(av[i]);
    return rc;
}
