/* bench_proc: the processes of a running fabric (DIR/pids), and their CPU time and resident
 * memory read from /proc/PID/stat and /proc/PID/status, summed per tier, sampled over a
 * measured window. Linux only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench.h"
#include "wr_error.h"
#include "wr_time.h"

static int kind_of(const char *s)
{
    for (int k = BENCH_EMULATOR; k <= BENCH_ROOT; k++)
        if (strcmp(s, bench_group_names[k]) == 0)
            return k;
    return -1;
}

int bench_procs_load(const char *pids_path, bench_procs_t *out, long *skipped)
{
    memset(out, 0, sizeof *out);
    *skipped = 0;
    FILE *f = fopen(pids_path, "r");
    if (!f)
        return WR_EIO;
    char line[256];
    size_t cap = 0;
    while (fgets(line, sizeof line, f)) {
        int pid;
        char kind[32], id[64];
        int k;
        if (sscanf(line, "%d %31s %63s", &pid, kind, id) != 3 || pid <= 1 || (k = kind_of(kind)) < 0) {
            (*skipped)++;
            continue;
        }
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            bench_proc_t *v = realloc(out->v, ncap * sizeof *v);
            if (!v) {
                fclose(f);
                bench_procs_free(out);
                return WR_ENOMEM;
            }
            out->v = v;
            cap = ncap;
        }
        bench_proc_t *p = &out->v[out->n++];
        memset(p, 0, sizeof *p);
        p->pid = pid;
        p->kind = k;
        snprintf(p->id, sizeof p->id, "%s", id);
        p->alive = 1;
        p->died_ms = -1;
        out->count[k]++;
        if (k != BENCH_EMULATOR)
            out->count[BENCH_FABRIC]++;
    }
    fclose(f);
    return out->n ? 0 : WR_ENOTFOUND;
}

void bench_procs_free(bench_procs_t *p)
{
    free(p->v);
    memset(p, 0, sizeof *p);
}

int bench_proc_read(int pid, unsigned long long *ticks, long *rss_kb, unsigned long long *start_time)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if (bench_read_file(path, buf, sizeof buf) <= 0)
        return WR_ENOTFOUND;
    /* The command name may hold spaces and ')': the fields start after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return WR_ENOTFOUND;
    p += 2;
    if (*p == 'Z' || *p == 'X')
        return WR_ENOTFOUND;
    /* Tokens from field 3 (state): utime is field 14, stime 15, starttime 22. */
    unsigned long long utime = 0, stime = 0, start = 0;
    int field = 3;
    for (char *save = NULL, *tok = strtok_r(p, " ", &save); tok; tok = strtok_r(NULL, " ", &save), field++) {
        if (field == 14)
            utime = strtoull(tok, NULL, 10);
        else if (field == 15)
            stime = strtoull(tok, NULL, 10);
        else if (field == 22) {
            start = strtoull(tok, NULL, 10);
            break;
        }
    }
    if (field != 22)
        return WR_ENOTFOUND;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    long rss = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return WR_ENOTFOUND;
    char line[256];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            rss = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    *ticks = utime + stime;
    *rss_kb = rss;
    *start_time = start;
    return 0;
}

int bench_proc_pss(int pid, long *pss_kb)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return WR_ENOTFOUND;
    long pss = -1;
    while (pss < 0 && fgets(line, sizeof line, f))
        if (strncmp(line, "Pss:", 4) == 0)
            pss = strtol(line + 4, NULL, 10);
    fclose(f);
    if (pss < 0)
        return WR_ENOTFOUND;
    *pss_kb = pss;
    return 0;
}

int bench_proc_rss_split(int pid, long *anon_kb, long *file_kb)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return WR_ENOTFOUND;
    long anon = 0, file = 0, shmem = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "RssAnon:", 8) == 0)
            anon = strtol(line + 8, NULL, 10);
        else if (strncmp(line, "RssFile:", 8) == 0)
            file = strtol(line + 8, NULL, 10);
        else if (strncmp(line, "RssShmem:", 9) == 0)
            shmem = strtol(line + 9, NULL, 10);
    }
    fclose(f);
    *anon_kb = anon;
    *file_kb = file + shmem;
    return 0;
}

int bench_procs_sample(bench_procs_t *p, double dt_s, int64_t now_ms, bench_sample_t *s)
{
    static long hz;
    if (!hz)
        hz = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
    unsigned long long dticks[BENCH_GROUPS] = {0};
    memset(s->cpu_cores, 0, sizeof s->cpu_cores);
    memset(s->rss_kb, 0, sizeof s->rss_kb);
    memset(s->rss_anon_kb, 0, sizeof s->rss_anon_kb);
    memset(s->rss_file_kb, 0, sizeof s->rss_file_kb);
    memset(s->pss_kb, 0, sizeof s->pss_kb);
    memset(s->alive, 0, sizeof s->alive);
    int died = 0;
    for (size_t i = 0; i < p->n; i++) {
        bench_proc_t *q = &p->v[i];
        if (!q->alive)
            continue;
        unsigned long long ticks, start;
        long rss;
        int first = dt_s <= 0;
        if (bench_proc_read(q->pid, &ticks, &rss, &start) != 0 || (!first && start != q->start_time)) {
            q->alive = 0;
            q->rss_kb = 0;
            q->died_ms = now_ms;
            died++;
            continue;
        }
        if (first) {
            q->start_time = start;
            q->ticks_first = q->ticks_prev = ticks;
        }
        unsigned long long d = ticks >= q->ticks_prev ? ticks - q->ticks_prev : 0;
        q->ticks_prev = q->ticks_last = ticks;
        q->rss_kb = rss;
        long anon = 0, file = 0;
        if (bench_proc_rss_split(q->pid, &anon, &file) != 0)
            anon = file = 0;
        long pss = 0;
        if (bench_proc_pss(q->pid, &pss) != 0)
            pss = rss;                     /* no smaps_rollup (old kernel): RSS bounds it */
        int groups[2] = {q->kind, q->kind == BENCH_EMULATOR ? -1 : BENCH_FABRIC};
        for (int g = 0; g < 2; g++) {
            if (groups[g] < 0)
                continue;
            dticks[groups[g]] += d;
            s->rss_kb[groups[g]] += rss;
            s->rss_anon_kb[groups[g]] += anon;
            s->rss_file_kb[groups[g]] += file;
            s->pss_kb[groups[g]] += pss;
            s->alive[groups[g]]++;
        }
    }
    for (int g = 0; g < BENCH_GROUPS; g++)
        s->cpu_cores[g] = dt_s > 0 ? (double)dticks[g] / (double)hz / dt_s : 0;
    return died;
}

void bench_procs_mean_cpu(const bench_procs_t *p, double window_s, double out[BENCH_GROUPS])
{
    long hz = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
    unsigned long long ticks[BENCH_GROUPS] = {0};
    for (size_t i = 0; i < p->n; i++) {
        const bench_proc_t *q = &p->v[i];
        unsigned long long d = q->ticks_last >= q->ticks_first ? q->ticks_last - q->ticks_first : 0;
        ticks[q->kind] += d;
        if (q->kind != BENCH_EMULATOR)
            ticks[BENCH_FABRIC] += d;
    }
    for (int g = 0; g < BENCH_GROUPS; g++)
        out[g] = window_s > 0 ? (double)ticks[g] / (double)hz / window_s : 0;
}

void bench_window_start(bench_window_t *w, double duration_s, int64_t step_ms)
{
    memset(w, 0, sizeof *w);
    w->t0 = w->prev = wr_mono_ms();
    w->step_ms = step_ms;
    w->win_ms = (int64_t)(duration_s * 1000);
}

int bench_window_next(bench_window_t *w, bench_procs_t *p, bench_sample_t *s, int *died)
{
    if (w->done)
        return 0;
    w->due = w->started ? w->due + w->step_ms : 0;
    w->started = 1;
    if (w->due > w->win_ms)
        w->due = w->win_ms;
    if (w->due > 0 && bench_sleep_ms(w->t0 + w->due - wr_mono_ms()) != 0) {
        w->done = 1;
        return WR_ECLOSED;
    }
    int64_t now = wr_mono_ms();
    memset(s, 0, sizeof *s);
    s->t_ms = now - w->t0;
    *died = bench_procs_sample(p, w->due > 0 ? (now - w->prev) / 1000.0 : 0, now - w->t0, s);
    w->prev = now;
    if (w->due >= w->win_ms)
        w->done = 1;
    return 1;
}
