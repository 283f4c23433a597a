/* bench_machine: facts about the machine and the build a report must carry (CPU count and
 * model, memory, kernel, warren version, git commit), as a JSON object. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "bench.h"

static void cpu_model(char *out, size_t outlen)
{
    snprintf(out, outlen, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0)
            continue;
        char *colon = strchr(line, ':');
        if (colon) {
            colon++;
            colon += strspn(colon, " \t");
            colon[strcspn(colon, "\n")] = 0;
            snprintf(out, outlen, "%s", colon);
        }
        break;
    }
    fclose(f);
}

static long mem_total_kb(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemTotal: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

json_t *bench_machine_json(void)
{
    char model[256], bindir[PATH_MAX], commit[128] = "";
    cpu_model(model, sizeof model);
    struct utsname u;
    char kernel[512] = "unknown";
    if (uname(&u) == 0)
        snprintf(kernel, sizeof kernel, "%s %s %s %s", u.sysname, u.release, u.version, u.machine);
    char host[256] = "unknown";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = 0;
    long mem = mem_total_kb();
    if (bench_self_dir(bindir, sizeof bindir) == 0) {
        char *argv[] = {"git", "-C", bindir, "rev-parse", "HEAD", NULL};
        if (bench_run(argv, commit, sizeof commit, NULL) != 0)
            commit[0] = 0;
        commit[strcspn(commit, "\n")] = 0;
    }
    char dirty[8] = "";
    if (commit[0]) {
        char status[64] = "";
        char *argv[] = {"git", "-C", bindir, "status", "--porcelain", "--untracked-files=no", NULL};
        if (bench_run(argv, status, sizeof status, NULL) == 0)
            snprintf(dirty, sizeof dirty, "%s", status[0] ? "yes" : "no");
    }
    json_t *m = json_object();
    json_object_set_new(m, "hostname", json_string(host));
    json_object_set_new(m, "nproc", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
    json_object_set_new(m, "cpu_model", json_string(model));
    json_object_set_new(m, "mem_total_kb", mem >= 0 ? json_integer(mem) : json_null());
    json_object_set_new(m, "kernel", json_string(kernel));
    json_object_set_new(m, "warren_version", json_string(WARREN_VERSION));
    json_object_set_new(m, "git_commit", commit[0] ? json_string(commit) : json_null());
    json_object_set_new(m, "git_tree_modified", dirty[0] ? json_boolean(dirty[0] == 'y') : json_null());
    return m;
}
