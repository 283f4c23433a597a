/* bench_ceiling: one relay's ceiling. Starts one real warren-relay with this process as both
 * its children (C fake leaves, bench_fleet.c) and its parent, raises the total DELTA rate step
 * by step until the relay falls behind (it refuses frames at its high-water mark, asks for
 * snapshots after lost frames, its upward view takes too long to catch up, or it burns a
 * whole core), and keeps the last rate it sustained, from which the largest tree at a given
 * interval follows (DESIGN section 9). The CLI is bench_ceiling_cli.c. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench.h"
#include "bench_fleet.h"
#include "wr_error.h"
#include "wr_time.h"

void bench_ceiling_defaults(bench_ceiling_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->children = 16;
    o->nodes = 100;
    o->changed = 100;
    o->rollups = 25;
    o->rate = 50;
    o->factor = 1.5;
    o->max_rate = 100000;
    o->step_s = 4;
    o->relay_interval = 1;
    o->interval = 10;
    o->tier_port = 7300;
}

static pid_t start_relay(const bench_ceiling_opts_t *o, char *err, size_t errlen)
{
    char conf[PATH_MAX + 32], log[PATH_MAX + 32];
    snprintf(conf, sizeof conf, "%s/relay.conf", o->dir);
    snprintf(log, sizeof log, "%s/relay.log", o->dir);
    FILE *f = fopen(conf, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", conf, strerror(errno));
        return -1;
    }
    fprintf(f, "# written by warren-bench relay-ceiling\nrelay = {\n  id = \"relay-bench\";\n"
               "  bind = \"tcp://127.0.0.1:%ld\";\n  parents = [\"tcp://127.0.0.1:%ld\"];\n  interval = %g;\n"
               "  log = { level = \"warn\"; };\n};\n",
            o->tier_port + 1, o->tier_port, o->relay_interval);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: write failed", conf);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(o->relay, o->relay, "--config", conf, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void stop_relay(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    int64_t deadline = wr_mono_ms() + 3000;
    int status;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (wr_mono_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return;
        }
        usleep(20 * 1000);
    }
}

/* Nanoseconds the process has waited on a run queue (/proc/PID/schedstat, 2nd field), or -1. */
static double run_wait_ns(pid_t pid)
{
    char path[64], buf[128];
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
    double cpu, wait;
    if (bench_read_file(path, buf, sizeof buf) <= 0 || sscanf(buf, "%lf %lf", &cpu, &wait) != 2)
        return -1;
    return wait;
}

static double self_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* One step at rate: send, measure the relay's CPU, let it catch up, judge. */
static int run_step(bench_fleet_t *fl, pid_t relay, const bench_ceiling_opts_t *o, double rate,
                    bench_ceiling_step_t *st)
{
    memset(st, 0, sizeof *st);
    st->offered_per_s = rate;
    long hz = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
    unsigned long long t0, t1, start;
    long rss;
    if (bench_proc_read(relay, &t0, &rss, &start) != 0) {
        snprintf(st->why, sizeof st->why, "the relay is gone");
        return WR_ECLOSED;
    }
    double b0 = self_seconds(), w0 = run_wait_ns(relay);
    bench_fleet_step_t s;
    int rc = bench_fleet_run(fl, rate, o->step_s, &s);
    double b1 = self_seconds(), w1 = run_wait_ns(relay);
    if (bench_proc_read(relay, &t1, &rss, &start) != 0) {
        snprintf(st->why, sizeof st->why, "the relay died during the step");
        return WR_ECLOSED;
    }
    if (rc != 0) {
        snprintf(st->why, sizeof st->why, "interrupted");
        return rc;
    }
    st->sent_per_s = (double)s.sent / s.seconds;
    st->refused = s.refused;
    st->snapshots_asked = s.snapshots_asked;
    st->backlog = s.backlog;
    st->relay_cores = (double)(t1 - t0) / (double)hz / s.seconds;
    st->bench_cores = (b1 - b0) / s.seconds;
    st->relay_wait = w0 >= 0 && w1 >= w0 ? (w1 - w0) / 1e9 / s.seconds : -1;
    double limit_ms = 2 * o->relay_interval * 1000 + 1000;
    st->catch_up_ms = bench_fleet_drain(fl, limit_ms / 1000.0 + 2);
    double achieved = (double)s.offered / s.seconds;
    st->bench_limited = achieved < 0.9 * rate;
    if (s.refused)
        snprintf(st->why, sizeof st->why, "%llu DELTAs refused at the high-water mark", (unsigned long long)s.refused);
    else if (s.snapshots_asked)
        snprintf(st->why, sizeof st->why, "the relay lost frames (%llu snapshots asked)",
                 (unsigned long long)s.snapshots_asked);
    else if (st->catch_up_ms < 0 || st->catch_up_ms > limit_ms)
        snprintf(st->why, sizeof st->why, "its upward view lagged (caught up %s)",
                 st->catch_up_ms < 0 ? "not at all" : "too late");
    else if (st->relay_cores >= 0.95)
        snprintf(st->why, sizeof st->why, "it used %.2f cores", st->relay_cores);
    else if ((long)s.children_up < o->children)
        snprintf(st->why, sizeof st->why, "%zu of %ld children up", s.children_up, o->children);
    else
        st->sustained = 1;
    if (!st->sustained && st->relay_wait > 0.2) {
        size_t l = strlen(st->why);
        snprintf(st->why + l, sizeof st->why - l, "; it waited %.0f%% of the step for a CPU (machine busy)",
                 st->relay_wait * 100);
    }
    if (st->sustained && st->bench_limited)
        snprintf(st->why, sizeof st->why, "this process could offer only %.0f/s", achieved);
    return 0;
}

int bench_ceiling_run(const bench_ceiling_opts_t *o, bench_ceiling_result_t *res, bench_progress_fn progress)
{
    memset(res, 0, sizeof *res);
    char err[512], ep_relay[64], ep_parent[64];
    snprintf(ep_relay, sizeof ep_relay, "tcp://127.0.0.1:%ld", o->tier_port + 1);
    snprintf(ep_parent, sizeof ep_parent, "tcp://127.0.0.1:%ld", o->tier_port);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    if (!loop) {
        snprintf(res->error, sizeof res->error, "cannot create the event loop");
        return WR_ENOMEM;
    }
    bench_fleet_params_t fp = {(size_t)o->children, (size_t)o->nodes, (size_t)o->changed, (size_t)o->rollups,
                               ep_relay, ep_parent};
    bench_fleet_t *fl = bench_fleet_new(loop, &fp, err, sizeof err);
    if (!fl) {
        snprintf(res->error, sizeof res->error, "%s", err);
        ev_loop_destroy(loop);
        return WR_EIO;
    }
    int rc = 0;
    pid_t relay = start_relay(o, err, sizeof err);
    if (relay < 0) {
        snprintf(res->error, sizeof res->error, "%s", err);
        rc = WR_EIO;
        goto out;
    }
    bench_say(progress, "relay-ceiling: relay pid %d, %ld fake leaves x %ld nodes (%ld per DELTA), %ld rollups", (int)relay,
        o->children, o->nodes, o->changed, o->rollups);
    rc = bench_fleet_wait_ready(fl, 20);
    if (rc != 0) {
        snprintf(res->error, sizeof res->error, "the relay did not take every fake leaf within 20 s (%s); see %s/relay.log",
                 wr_strerror(rc), o->dir);
        goto out;
    }
    int retried = 0;
    for (double rate = o->rate; rate <= o->max_rate && res->n < BENCH_CEILING_MAX_STEPS; rate *= o->factor) {
        bench_ceiling_step_t *st = &res->steps[res->n];
        int src = run_step(fl, relay, o, rate, st);
        if (src != 0) {
            if (src == WR_ECLOSED && bench_interrupted) {
                snprintf(res->error, sizeof res->error, "interrupted");
                rc = src;
            } else {
                bench_say(progress, "relay-ceiling: stopped at %.0f DELTAs/s: %s", rate, st->why);
            }
            break;
        }
        res->n++;
        bench_say(progress, "relay-ceiling: %.0f DELTAs/s offered, %.0f sent, relay %.3f cores, caught up in %lld ms: %s%s%s",
            rate, st->sent_per_s, st->relay_cores, (long long)st->catch_up_ms, st->sustained ? "kept up" : "behind",
            st->why[0] ? ": " : "", st->why);
        if (!st->sustained && (st->relay_cores < 0.8 || st->relay_wait > 0.2) && !retried && !st->bench_limited) {
            /* Behind without using a core, or after waiting for a CPU: on a shared machine
             * something else had the CPU. Try the same rate once more before calling it. */
            retried = 1;
            rate /= o->factor;
            continue;
        }
        if (!st->sustained)
            break;
        retried = 0;
        res->sustained = st->sent_per_s;
        if (st->bench_limited) {
            res->bench_limited = 1;
            break;
        }
    }
out:
    res->delta_bytes = bench_fleet_frame_bytes(fl);
    stop_relay(relay);
    bench_fleet_destroy(&fl);
    ev_loop_destroy(loop);
    return rc;
}

double bench_ceiling_fanout(const bench_ceiling_opts_t *o, const bench_ceiling_result_t *res)
{
    return floor(res->sustained * o->interval);
}

json_t *bench_ceiling_json(const bench_ceiling_opts_t *o, const bench_ceiling_result_t *res)
{
    int ok = res->sustained > 0;
    double f = bench_ceiling_fanout(o, res);
    json_t *j = json_pack("{s:b, s:{s:I, s:I, s:I, s:I, s:f, s:f, s:f}, s:o, s:o, s:I, s:b, s:o, s:f}", "measured", ok,
                          "parameters", "children", (json_int_t)o->children, "nodes_per_child", (json_int_t)o->nodes,
                          "changed_per_delta", (json_int_t)o->changed, "rollups", (json_int_t)o->rollups, "step_s",
                          o->step_s, "relay_interval_s", o->relay_interval, "factor", o->factor,
                          "sustained_deltas_per_s", ok ? json_real(res->sustained) : json_null(),
                          "per_child_deltas_per_s", ok ? json_real(res->sustained / (double)o->children) : json_null(),
                          "delta_bytes", (json_int_t)res->delta_bytes, "bench_limited", res->bench_limited,
                          "largest_fanout", ok ? json_real(f) : json_null(), "interval_s", o->interval);
    if (!ok)
        json_object_set_new(j, "why", json_string(res->error[0] ? res->error : "no step was sustained"));
    json_t *tree = json_array();
    for (int d = 1; ok && d <= 3; d++)
        json_array_append_new(tree, json_pack("{s:i, s:f, s:f}", "depth", d, "leaves", pow(f, d), "nodes",
                                              pow(f, d) * (double)o->nodes));
    json_object_set_new(j, "largest_tree", tree);
    json_t *arr = json_array();
    for (size_t i = 0; i < res->n; i++) {
        const bench_ceiling_step_t *s = &res->steps[i];
        json_array_append_new(arr, json_pack("{s:f, s:f, s:I, s:I, s:f, s:o, s:f, s:I, s:I, s:b, s:s}", "offered_per_s",
                                             s->offered_per_s, "sent_per_s", s->sent_per_s, "refused",
                                             (json_int_t)s->refused, "snapshots_asked", (json_int_t)s->snapshots_asked,
                                             "relay_cpu_cores", s->relay_cores, "relay_run_queue_wait_share",
                                             s->relay_wait >= 0 ? json_real(s->relay_wait) : json_null(),
                                             "bench_cpu_cores", s->bench_cores,
                                             "backlog_end", (json_int_t)s->backlog, "catch_up_ms",
                                             (json_int_t)s->catch_up_ms, "sustained", s->sustained, "why", s->why));
    }
    json_object_set_new(j, "steps", arr);
    return j;
}

void bench_ceiling_markdown(FILE *f, const bench_ceiling_opts_t *o, const bench_ceiling_result_t *res)
{
    fprintf(f, "One warren-relay (upward interval %g s) fed by %ld fake leaves in the bench process; each DELTA "
               "lists %ld nodes and %ld rollups (%zu bytes); the rate rises x%g every %g s step until the relay "
               "falls behind (a step that falls behind while the relay uses under 0.8 core, or waits over 20%% of "
               "it for a CPU, is tried once more: on a shared machine something else had the CPU). \"Waiting for a "
               "CPU\" is the relay's run-queue wait from /proc/PID/schedstat: when it is high the ceiling is the "
               "machine's, not the relay's.\n\n",
            o->relay_interval, o->children, o->changed, o->rollups, res->delta_bytes, o->factor, o->step_s);
    fprintf(f, "| DELTAs/s offered | sent/s | refused | relay CPU (cores) | relay waiting for a CPU | bench CPU (cores) "
               "| backlog at end | caught up after (ms) | verdict |\n|---|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < res->n; i++) {
        const bench_ceiling_step_t *s = &res->steps[i];
        char wait[16] = "n/a";
        if (s->relay_wait >= 0)
            snprintf(wait, sizeof wait, "%.0f%%", s->relay_wait * 100);
        fprintf(f, "| %.0f | %.0f | %llu | %.3f | %s | %.3f | %llu | %lld | %s%s%s |\n", s->offered_per_s, s->sent_per_s,
                (unsigned long long)s->refused, s->relay_cores, wait, s->bench_cores, (unsigned long long)s->backlog,
                (long long)s->catch_up_ms, s->sustained ? "kept up" : "behind", s->why[0] ? ": " : "", s->why);
    }
    if (res->sustained <= 0) {
        fprintf(f, "\nNo rate was sustained%s%s.\n", res->error[0] ? ": " : "", res->error);
        return;
    }
    double fo = bench_ceiling_fanout(o, res);
    fprintf(f, "\n**Relay ceiling: %ld children x %.1f DELTAs/s each = %.0f DELTAs/s sustained**%s.\n\n", o->children,
            res->sustained / (double)o->children, res->sustained,
            res->bench_limited ? " (at least: the bench process could not offer more)" : "");
    fprintf(f, "Largest tree at a %g s interval (one DELTA per child per interval, DESIGN section 9): at most %.0f "
               "children per tier;\n", o->interval, fo);
    for (int d = 1; d <= 3; d++)
        fprintf(f, "depth %d: %.3g leaves x %ld nodes = %.3g nodes%s", d, pow(fo, d), o->nodes, pow(fo, d) * (double)o->nodes,
                d < 3 ? "; " : ".\n");
    fprintf(f, "\nAn upper bound: extrapolated from %ld children (each child also sends a heartbeat a second), and a "
               "relay's own upward DELTA lists every tier and changed node below it, so tiers above the first level get "
               "bigger messages.\n", o->children);
}
