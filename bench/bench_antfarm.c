/* bench_antfarm: one run of `warren-bench antfarm`: starts `warren-sim up` as a child and
 * times it to every node visible and up at the root (polling /api/v1/status every 200 ms),
 * samples every fabric process from /proc for the steady-state window, injects faults and
 * times them to their root alarms (bench_faults.c), always stops the fabric with
 * `warren-sim down`, then draws the plots. The report is written by the caller
 * (bench_report.c) from what this collects. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"
#include "bench_links.h"
#include "wr_error.h"
#include "wr_time.h"

#define POLL_MS 200
#define SAMPLE_MS 5000

/* A step that fails sets r->error and returns code. */
#define fail(r, code, ...) bench_fail((r)->error, sizeof (r)->error, (code), __VA_ARGS__)

static int mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return WR_EIO;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return WR_EIO;
    return 0;
}

static int push_vis(bench_antfarm_t *r, int64_t t_ms, long total, long up)
{
    if (r->nvis == r->capvis) {
        size_t cap = r->capvis ? r->capvis * 2 : 256;
        bench_vis_t *v = realloc(r->vis, cap * sizeof *v);
        if (!v)
            return WR_ENOMEM;
        r->vis = v;
        r->capvis = cap;
    }
    r->vis[r->nvis++] = (bench_vis_t){.t_ms = t_ms, .total = total, .up = up};
    return 0;
}

static int push_sample(bench_antfarm_t *r, const bench_sample_t *s)
{
    if (r->nsamples == r->capsamples) {
        size_t cap = r->capsamples ? r->capsamples * 2 : 64;
        bench_sample_t *v = realloc(r->samples, cap * sizeof *v);
        if (!v)
            return WR_ENOMEM;
        r->samples = v;
        r->capsamples = cap;
    }
    r->samples[r->nsamples++] = *s;
    return 0;
}

/* One status poll: 0 and the figures, or -1 when the root did not answer. */
static int poll_status(bench_http_t *h, long timeout_ms, long *total, long *up, double *sps)
{
    json_t *j;
    char err[256];
    if (bench_http_get_json(h, "/api/v1/status", timeout_ms, &j, err, sizeof err) != 0)
        return -1;
    *total = (long)bench_json_num(j, "nodes_total", -1);
    *up = (long)bench_json_num(j, "nodes_up", -1);
    if (sps)
        *sps = bench_json_num(j, "samples_per_s", -1);
    json_decref(j);
    return *total >= 0 && *up >= 0 ? 0 : -1;
}

/* Phase 1: warren-sim up as a child, the root polled every 200 ms while it runs. */
static int startup(const bench_antfarm_opts_t *o, bench_antfarm_t *r, const char *fabric, int *started,
                   bench_progress_fn progress)
{
    char log[PATH_MAX + 32], a_nodes[32], a_fan[32], a_int[32], a_seed[32], a_bp[32], a_tp[32], a_hp[32], a_to[32];
    char a_grace[32], a_fcp[32];
    snprintf(log, sizeof log, "%s/sim-up.log", o->out);
    snprintf(a_nodes, sizeof a_nodes, "%ld", o->nodes);
    snprintf(a_fan, sizeof a_fan, "%ld", o->fanout);
    snprintf(a_int, sizeof a_int, "%g", o->interval);
    snprintf(a_seed, sizeof a_seed, "%ld", o->seed);
    snprintf(a_bp, sizeof a_bp, "%ld", o->base_port);
    snprintf(a_tp, sizeof a_tp, "%ld", o->tier_port);
    snprintf(a_hp, sizeof a_hp, "%ld", o->http_port);
    snprintf(a_to, sizeof a_to, "%g", o->timeout);
    snprintf(a_grace, sizeof a_grace, "%g", o->down_grace);
    snprintf(a_fcp, sizeof a_fcp, "%ld", o->forecast_min_points);
    /* the leaves' alarm knobs for the fault phase: forecasts sampled every interval */
    char *argv[] = {(char *)o->sim, "up", "--nodes", a_nodes, "--dir", (char *)fabric, "--fanout", a_fan,
                    "--interval", a_int, "--seed", a_seed, "--base-port", a_bp, "--tier-port", a_tp,
                    "--http-port", a_hp, "--timeout", a_to, "--node-down-grace", a_grace,
                    "--forecast-step", a_int, "--forecast-min-points", a_fcp, NULL};
    bench_http_t *h = bench_http_new(r->url);
    if (!h)
        return fail(r, WR_ENOMEM, "cannot set up the HTTP client");
    int fds[2];
    if (pipe(fds) != 0) {
        bench_http_destroy(&h);
        return fail(r, WR_EIO, "pipe: %s", strerror(errno));
    }
    int64_t t0 = wr_mono_ms();
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        bench_http_destroy(&h);
        return fail(r, WR_EIO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        bench_child_stdio(fds[1], open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644));
        close(fds[0]);
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    *started = 1;
    close(fds[1]);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    char out[256] = "";
    size_t outlen = 0;
    int status = 0, exited = 0, rc = 0;
    int64_t next = t0, last_say = t0;
    double give_up = (o->timeout + 30) * 1000;
    while (!exited) {
        long total = -1, up = -1;
        int64_t now = wr_mono_ms();
        int ok = poll_status(h, 150, &total, &up, NULL) == 0;
        int64_t t = now - t0;
        if (push_vis(r, t, ok ? total : -1, ok ? up : -1) != 0) {
            rc = fail(r, WR_ENOMEM, "out of memory");
            break;
        }
        if (ok && up > r->nodes_visible)
            r->nodes_visible = up;
        if (ok && up >= o->nodes && r->time_to_visible_ms < 0)
            r->time_to_visible_ms = t;
        if (wr_mono_ms() - last_say >= 1000) {
            bench_say(progress, "antfarm: start-up t=%.1fs visible %ld up %ld/%ld", t / 1000.0, ok ? total : 0,
                ok ? up : 0, o->nodes);
            last_say = wr_mono_ms();
        }
        ssize_t n;
        while (outlen + 1 < sizeof out && (n = read(fds[0], out + outlen, sizeof out - 1 - outlen)) > 0)
            outlen += (size_t)n;
        out[outlen] = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            exited = 1;
            break;
        }
        if (bench_interrupted || t > give_up) {
            rc = fail(r, bench_interrupted ? WR_ECLOSED : WR_ETIMEDOUT, "%s during start-up",
                      bench_interrupted ? "interrupted" : "warren-sim up did not return in time");
            kill(pid, SIGTERM);
            waitpid(pid, &status, 0);
            exited = 1;
            break;
        }
        next += POLL_MS;
        int64_t wait = next - wr_mono_ms();
        if (wait > 0) {
            struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)wait * 1000000L};
            nanosleep(&ts, NULL);
        } else {
            next = wr_mono_ms();
        }
    }
    ssize_t n;
    while (outlen + 1 < sizeof out && (n = read(fds[0], out + outlen, sizeof out - 1 - outlen)) > 0)
        outlen += (size_t)n;
    out[outlen] = 0;
    close(fds[0]);
    r->sim_exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    r->sim_reported_s = bench_sim_figure(log, "visible and up at the root");
    if (rc == 0 && r->sim_exit != 0)
        rc = fail(r, WR_EIO, "warren-sim up exited with status %d (see %s)", r->sim_exit, log);
    if (rc == 0) {
        out[strcspn(out, "\n")] = 0;
        size_t ul = strlen(r->url);          /* a root pair prints "URL-A,URL-B": we watch root-a */
        if (strncmp(out, r->url, ul) != 0 || (out[ul] != '\0' && out[ul] != ','))
            bench_say(progress, "antfarm: warning: warren-sim printed the root URL '%s', expected %s", out, r->url);
        /* The sim saw every node up between two of our polls: one more poll to time it. */
        if (r->time_to_visible_ms < 0) {
            long total, up;
            int64_t t = wr_mono_ms() - t0;
            if (poll_status(h, 1000, &total, &up, NULL) == 0) {
                push_vis(r, t, total, up);
                if (up > r->nodes_visible)
                    r->nodes_visible = up;
                if (up >= o->nodes)
                    r->time_to_visible_ms = t;
            }
        }
        bench_say(progress, "antfarm: all %ld nodes visible and up at the root after %.2f s (warren-sim: %.1f s)", o->nodes,
            r->time_to_visible_ms / 1000.0, r->sim_reported_s);
    }
    bench_http_destroy(&h);
    return rc;
}

/* Phase 2: every 5 s, /proc for every process and the root's status, for the window. */
static int steady(const bench_antfarm_opts_t *o, bench_antfarm_t *r, const char *fabric, bench_progress_fn progress)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/pids", fabric);
    int rc = bench_procs_load(path, &r->procs, &r->pids_skipped);
    if (rc != 0)
        return fail(r, rc, "cannot read the fabric's processes from %s: %s", path, wr_strerror(rc));
    bench_http_t *h = bench_http_new(r->url);
    if (!h)
        return fail(r, WR_ENOMEM, "cannot set up the HTTP client");
    bench_say(progress, "antfarm: steady state for %g s: %ld emulator, %ld leaf, %ld relay, %ld root process(es)",
        o->duration, r->procs.count[BENCH_EMULATOR], r->procs.count[BENCH_LEAF], r->procs.count[BENCH_RELAY],
        r->procs.count[BENCH_ROOT]);
    if (o->warmup > 0) {
        bench_say(progress, "antfarm: warming up for %g s before the window", o->warmup);
        if (bench_sleep_ms((int64_t)(o->warmup * 1000)) != 0) {
            bench_http_destroy(&h);
            return fail(r, WR_ECLOSED, "interrupted during the warm-up");
        }
    }
    bench_window_t w;
    bench_window_start(&w, o->duration, SAMPLE_MS);
    double sps_sum = 0;
    long sps_n = 0;
    for (;;) {
        bench_sample_t s;
        int died, got = bench_window_next(&w, &r->procs, &s, &died);
        if (got == 0)
            break;
        if (got < 0) {
            rc = fail(r, WR_ECLOSED, "interrupted during the steady-state window");
            break;
        }
        long total;
        if (poll_status(h, 1000, &total, &s.nodes_up, &s.samples_per_s) != 0) {
            s.nodes_up = -1;
            s.samples_per_s = -1;
        } else if (s.samples_per_s >= 0 && w.due > 0) {
            sps_sum += s.samples_per_s;
            sps_n++;
        }
        if (s.nodes_up >= 0)
            r->nodes_up_end = s.nodes_up;
        if (s.samples_per_s >= 0)
            r->samples_per_s_end = s.samples_per_s;
        if (push_sample(r, &s) != 0) {
            rc = fail(r, WR_ENOMEM, "out of memory");
            break;
        }
        r->deaths += died;
        for (size_t i = 0; died && i < r->procs.n; i++)
            if (r->procs.v[i].died_ms == s.t_ms)
                bench_say(progress, "antfarm: %s %s (pid %d) is gone at t=%.1fs", bench_group_names[r->procs.v[i].kind],
                    r->procs.v[i].id, r->procs.v[i].pid, s.t_ms / 1000.0);
        if (w.due > 0)
            bench_say(progress, "antfarm: steady t=%.0f/%gs fabric %.3f cores %.1f MB, emulator %.3f cores, %.0f samples/s, %ld up",
                s.t_ms / 1000.0, o->duration, s.cpu_cores[BENCH_FABRIC], s.rss_kb[BENCH_FABRIC] / 1024.0,
                s.cpu_cores[BENCH_EMULATOR], s.samples_per_s, s.nodes_up);
    }
    r->window_s = (w.prev - w.t0) / 1000.0;
    bench_procs_mean_cpu(&r->procs, r->window_s, r->cpu_mean);
    for (int g = 0; g < BENCH_GROUPS; g++) {
        double sum = 0;
        long max = 0, n = 0;
        for (size_t i = 0; i < r->nsamples; i++) {
            const bench_sample_t *s = &r->samples[i];
            sum += (double)s->rss_kb[g];
            if (s->rss_kb[g] > max)
                max = s->rss_kb[g];
            if (s->rss_anon_kb[g] > r->rss_anon_max_kb[g])
                r->rss_anon_max_kb[g] = s->rss_anon_kb[g];
            if (s->rss_file_kb[g] > r->rss_file_max_kb[g])
                r->rss_file_max_kb[g] = s->rss_file_kb[g];
            if (s->pss_kb[g] > r->pss_max_kb[g])
                r->pss_max_kb[g] = s->pss_kb[g];
            n++;
        }
        r->rss_mean_kb[g] = n ? sum / (double)n : 0;
        r->rss_max_kb[g] = max;
    }
    r->samples_per_s_mean = sps_n ? sps_sum / (double)sps_n : -1;
    char lerr[256];
    if (bench_links_fetch(h, &r->links, lerr, sizeof lerr) != 0)
        bench_say(progress, "antfarm: link traffic not measured: %s", lerr);
    bench_http_destroy(&h);
    return rc;
}

static int stop_fabric(const bench_antfarm_opts_t *o, bench_antfarm_t *r, const char *fabric, bench_progress_fn progress)
{
    char log[PATH_MAX + 32];
    char *argv[] = {(char *)o->sim, "down", "--dir", (char *)fabric, NULL};
    snprintf(log, sizeof log, "%s/pids", fabric);
    if (access(log, F_OK) != 0) {   /* warren-sim up started nothing */
        r->fabric_stopped = 1;
        return 0;
    }
    snprintf(log, sizeof log, "%s/sim-down.log", o->out);
    bench_say(progress, "antfarm: stopping the fabric (warren-sim down)");
    int rc = bench_run(argv, NULL, 0, log);
    r->fabric_stopped = rc == 0;
    return rc == 0 ? 0 : WR_EIO;
}

/* Phase 3 (optional): the relay ceiling, on the fabric's ports once the fabric is stopped. */
static int ceiling(const bench_antfarm_opts_t *o, bench_antfarm_t *r, bench_progress_fn progress)
{
    r->ceil_opts = malloc(sizeof *r->ceil_opts);
    r->ceil = calloc(1, sizeof *r->ceil);
    if (!r->ceil_opts || !r->ceil)
        return fail(r, WR_ENOMEM, "out of memory");
    bench_ceiling_defaults(r->ceil_opts);
    r->ceil_opts->tier_port = o->tier_port;
    r->ceil_opts->interval = 10;   /* the tree is computed for issue 6's 10 s interval */
    snprintf(r->ceil_opts->relay, sizeof r->ceil_opts->relay, "%s", o->sim);
    char *slash = strrchr(r->ceil_opts->relay, '/');
    if (slash)
        snprintf(slash + 1, sizeof r->ceil_opts->relay - (size_t)(slash + 1 - r->ceil_opts->relay), "warren-relay");
    else
        snprintf(r->ceil_opts->relay, sizeof r->ceil_opts->relay, "warren-relay");
    snprintf(r->ceil_opts->dir, sizeof r->ceil_opts->dir, "%s/ceiling", o->out);
    if (mkdir_p(r->ceil_opts->dir) != 0)
        return fail(r, WR_EIO, "cannot create %s: %s", r->ceil_opts->dir, strerror(errno));
    bench_say(progress, "antfarm: relay ceiling (%ld fake leaves, one relay: %s)", r->ceil_opts->children, r->ceil_opts->relay);
    r->ceil_rc = bench_ceiling_run(r->ceil_opts, r->ceil, progress);
    if (r->ceil_rc != 0)
        return fail(r, r->ceil_rc, "relay ceiling: %s", r->ceil->error);
    return 0;
}

int bench_antfarm_run(const bench_antfarm_opts_t *o, bench_antfarm_t *r, bench_progress_fn progress)
{
    memset(r, 0, sizeof *r);
    r->opts = o;
    r->time_to_visible_ms = -1;
    r->sim_reported_s = -1;
    r->samples_per_s_mean = -1;
    r->samples_per_s_end = -1;
    r->nodes_up_end = -1;
    time_t now = time(NULL);
    strftime(r->started_iso, sizeof r->started_iso, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    bench_loadavg(r->loadavg_start, sizeof r->loadavg_start);
    snprintf(r->url, sizeof r->url, "http://127.0.0.1:%ld", o->http_port);
    if (mkdir_p(o->out) != 0)
        return fail(r, WR_EIO, "cannot create %s: %s", o->out, strerror(errno));
    char fabric[PATH_MAX + 16], pids[PATH_MAX + 32];
    snprintf(fabric, sizeof fabric, "%s/fabric", o->out);
    snprintf(pids, sizeof pids, "%s/pids", fabric);
    int rc = 0;
    if (strlen(fabric) > 200)
        rc = fail(r, WR_EINVAL, "%s: path too long for warren-sim (200 bytes at most)", fabric);
    else if (access(pids, F_OK) == 0)
        rc = fail(r, WR_EEXIST, "%s exists: a fabric of an earlier run may still be running there "
                                "(`warren-sim down --dir %s`, or choose another --out)", pids, fabric);
    if (rc == 0) {
        bench_say(progress, "antfarm: starting %ld emulated nodes and the fabric (interval %g s, fan-out %ld)", o->nodes,
            o->interval, o->fanout);
        rc = startup(o, r, fabric, &r->sim_started, progress);
        if (rc == 0)
            rc = steady(o, r, fabric, progress);
        if (rc == 0 && o->faults_per_kind > 0) {
            rc = bench_faults_run(o, &r->faults, r->url, fabric, progress);
            if (rc != 0)
                rc = fail(r, rc, "fault phase: %s", r->faults.error[0] ? r->faults.error : wr_strerror(rc));
        }
    }
    if (r->sim_started) {
        int src = stop_fabric(o, r, fabric, progress);
        if (src != 0 && rc == 0)
            rc = fail(r, src, "warren-sim down failed (see %s/sim-down.log): processes may still run", o->out);
        bench_plot_write(r);
        bench_faults_plot(o, &r->faults);
    } else {
        r->gnuplot_rc = 1;
        snprintf(r->plot_note, sizeof r->plot_note, "no plots: nothing was started");
    }
    if (rc == 0 && o->ceiling)
        rc = ceiling(o, r, progress);
    r->interrupted = bench_interrupted;
    bench_loadavg(r->loadavg_end, sizeof r->loadavg_end);
    return rc;
}

void bench_antfarm_free(bench_antfarm_t *r)
{
    free(r->vis);
    free(r->samples);
    free(r->ceil_opts);
    free(r->ceil);
    r->ceil_opts = NULL;
    r->ceil = NULL;
    bench_procs_free(&r->procs);
    bench_faults_free(&r->faults);
    r->vis = NULL;
    r->samples = NULL;
}
