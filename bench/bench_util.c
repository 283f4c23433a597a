/* bench_util: process running, signal flag, interruptible sleep, small files, progress lines
 * and error strings for warren-bench. No printing here (progress goes to the callback). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench.h"
#include "wr_error.h"
#include "wr_time.h"

volatile int bench_interrupted;

const char *const bench_group_names[BENCH_GROUPS] = {"emulator", "leaf", "relay", "root", "fabric"};

static void on_signal(int sig)
{
    (void)sig;
    bench_interrupted = 1;
}

void bench_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int bench_sleep_ms(int64_t ms)
{
    int64_t end = wr_mono_ms() + ms;
    for (;;) {
        if (bench_interrupted)
            return -1;
        int64_t left = end - wr_mono_ms();
        if (left <= 0)
            return 0;
        if (left > 100)
            left = 100;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)left * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int bench_self_dir(char *out, size_t outlen)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return WR_EIO;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return WR_EIO;
    *slash = 0;
    snprintf(out, outlen, "%s", exe);
    return 0;
}

int bench_run(char *const argv[], char *out, size_t outlen, const char *errlog)
{
    int fds[2];
    if (pipe(fds) != 0)
        return WR_EIO;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return WR_EIO;
    }
    if (pid == 0) {
        int err = errlog ? open(errlog, O_WRONLY | O_CREAT | O_APPEND, 0644) : open("/dev/null", O_WRONLY);
        bench_child_stdio(fds[1], err);   /* a terminal's SIGINT must not cut `warren-sim down` short */
        close(fds[0]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0;
    char sink[512];
    for (;;) {
        char *dst = sink;
        size_t cap = sizeof sink;
        int keep = 0;
        if (out && len + 1 < outlen) {
            dst = out + len;
            cap = outlen - 1 - len;
            keep = 1;
        }
        ssize_t n = read(fds[0], dst, cap);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (keep)
            len += (size_t)n;
    }
    if (out && outlen)
        out[len] = 0;
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return WR_EIO;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

long bench_read_file(const char *path, char *out, size_t outlen)
{
    FILE *f = fopen(path, "r");
    if (!f || outlen == 0) {
        if (f)
            fclose(f);
        return WR_EIO;
    }
    size_t n = fread(out, 1, outlen - 1, f);
    out[n] = 0;
    fclose(f);
    return (long)n;
}

void bench_child_stdio(int out_fd, int err_fd)
{
    setpgid(0, 0);
    int in = open("/dev/null", O_RDONLY);
    if (out_fd >= 0)
        dup2(out_fd, 1);
    if (err_fd >= 0)
        dup2(err_fd, 2);
    if (in >= 0)
        dup2(in, 0);
}

void bench_loadavg(char *out, size_t outlen)
{
    if (bench_read_file("/proc/loadavg", out, outlen) <= 0)
        snprintf(out, outlen, "unknown");
    out[strcspn(out, "\n")] = 0;
}

double bench_sim_figure(const char *log, const char *key)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return -1;
    char line[1024];
    double s = -1;
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, key);
        const char *a = p ? strstr(p, " after ") : NULL;
        double v;
        if (a && sscanf(a + 7, "%lf", &v) == 1)
            s = v;
    }
    fclose(f);
    return s;
}

void bench_say(bench_progress_fn progress, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (progress)
        progress(line);
}

int bench_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}
