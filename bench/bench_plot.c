/* bench_plot: the antfarm run's plots. Writes the data (visible.dat, steady.dat) and one
 * gnuplot script (plots.gp) into OUT, and runs `gnuplot plots.gp` to make visible.png,
 * cpu.png and rss.png. A missing or failing gnuplot is noted for the report, never fatal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench.h"

const char *const bench_plot_files[] = {"visible.png", "cpu.png", "rss.png", NULL};

static int in_path(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path)
        return 0;
    char dir[PATH_MAX], full[PATH_MAX * 2];
    while (*path) {
        size_t n = strcspn(path, ":");
        snprintf(dir, sizeof dir, "%.*s", (int)n, path);
        snprintf(full, sizeof full, "%s/%s", n ? dir : ".", prog);
        if (access(full, X_OK) == 0)
            return 1;
        path += n + (path[n] == ':');
    }
    return 0;
}

static void num(FILE *f, double v, int valid)
{
    if (valid)
        fprintf(f, " %.6g", v);
    else
        fputs(" NaN", f);
}

static int write_data(const bench_antfarm_t *r, const char *out)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/visible.dat", out);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "# t_s nodes_visible nodes_up (NaN: the root did not answer)\n");
    for (size_t i = 0; i < r->nvis; i++) {
        fprintf(f, "%.3f", r->vis[i].t_ms / 1000.0);
        num(f, (double)r->vis[i].total, r->vis[i].total >= 0);
        num(f, (double)r->vis[i].up, r->vis[i].up >= 0);
        fputc('\n', f);
    }
    if (fclose(f) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/steady.dat", out);
    f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "# t_s cpu_cores(emulator leaf relay root fabric) rss_mb(emulator leaf relay root fabric) "
               "samples_per_s nodes_up fabric_anon_mb fabric_file_mb\n");
    for (size_t i = 0; i < r->nsamples; i++) {
        const bench_sample_t *s = &r->samples[i];
        fprintf(f, "%.3f", s->t_ms / 1000.0);
        for (int g = 0; g < BENCH_GROUPS; g++)
            num(f, s->cpu_cores[g], i > 0 && r->procs.count[g] > 0);
        for (int g = 0; g < BENCH_GROUPS; g++)
            num(f, s->rss_kb[g] / 1024.0, r->procs.count[g] > 0);
        num(f, s->samples_per_s, s->samples_per_s >= 0);
        num(f, (double)s->nodes_up, s->nodes_up >= 0);
        num(f, s->rss_anon_kb[BENCH_FABRIC] / 1024.0, r->procs.count[BENCH_FABRIC] > 0);
        num(f, s->rss_file_kb[BENCH_FABRIC] / 1024.0, r->procs.count[BENCH_FABRIC] > 0);
        fputc('\n', f);
    }
    return fclose(f) == 0 ? 0 : -1;
}

static int write_script(const bench_antfarm_t *r, const char *out)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/plots.gp", out);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    long n = r->opts->nodes;
    fprintf(f, "# made by warren-bench antfarm: run `gnuplot plots.gp` in this directory\n"
               "set terminal pngcairo size 960,540 font ',10'\nset grid\nset key left top\n"
               "set datafile missing 'NaN'\n");
    fprintf(f, "set output '%s/visible.png'\nset title 'Nodes visible at the root after start (%ld nodes)'\n"
               "set xlabel 'seconds since start'\nset ylabel 'nodes'\nset yrange [0:%ld]\n"
               "plot '%s/visible.dat' using 1:2 with lines lw 2 title 'visible', \\\n"
               "     '' using 1:3 with lines lw 2 title 'up', %ld with lines dt 2 title 'all'\n"
               "set yrange [*:*]\n",
            out, n, n + n / 20 + 1, out, n);
    if (r->nsamples > 1) {
        fprintf(f, "set output '%s/cpu.png'\nset title 'CPU per tier, steady state (%ld nodes, interval %g s)'\n"
                   "set xlabel 'seconds into the window'\nset ylabel 'cores'\nset yrange [0:*]\n"
                   "plot '%s/steady.dat' using 1:2 with linespoints title 'emulator', '' using 1:3 with linespoints "
                   "title 'leaves', '' using 1:4 with linespoints title 'relays', '' using 1:5 with linespoints "
                   "title 'root', '' using 1:6 with linespoints lw 3 lc rgb 'black' title 'fabric'\n",
                out, n, r->opts->interval, out);
        fprintf(f, "set output '%s/rss.png'\nset title 'RSS per tier, steady state (%ld nodes)'\n"
                   "set ylabel 'MB'\n"
                   "plot '%s/steady.dat' using 1:7 with linespoints title 'emulator', '' using 1:8 with linespoints "
                   "title 'leaves', '' using 1:9 with linespoints title 'relays', '' using 1:10 with linespoints "
                   "title 'root', '' using 1:11 with linespoints lw 3 lc rgb 'black' title 'fabric', '' using 1:14 with lines "
                   "dt 2 lc rgb 'black' title 'fabric: anon', '' using 1:15 with lines dt 3 lc rgb 'black' "
                   "title 'fabric: file-backed'\n",
                out, n, out);
    }
    return fclose(f) == 0 ? 0 : -1;
}

void bench_plot_write(bench_antfarm_t *r)
{
    const char *out = r->opts->out;
    if (strchr(out, '\'') || strchr(out, '\n')) {
        r->gnuplot_rc = 1;
        snprintf(r->plot_note, sizeof r->plot_note, "no plots: the output path holds a quote or newline");
        return;
    }
    if (write_data(r, out) != 0 || write_script(r, out) != 0) {
        r->gnuplot_rc = 1;
        snprintf(r->plot_note, sizeof r->plot_note, "no plots: cannot write the data files into %s", out);
        return;
    }
    if (!in_path("gnuplot")) {
        r->gnuplot_rc = -1;
        snprintf(r->plot_note, sizeof r->plot_note,
                 "no plots: gnuplot is not installed (apt-get install gnuplot-nox); data and script are in %s", out);
        return;
    }
    char script[PATH_MAX + 32], log[PATH_MAX + 32];
    snprintf(script, sizeof script, "%s/plots.gp", out);
    snprintf(log, sizeof log, "%s/gnuplot.log", out);
    char *argv[] = {"gnuplot", script, NULL};
    int rc = bench_run(argv, NULL, 0, log);
    r->gnuplot_rc = rc == 0 ? 0 : rc < 0 ? 1 : rc;
    if (rc != 0)
        snprintf(r->plot_note, sizeof r->plot_note, "gnuplot failed (status %d): see %s", rc, log);
    else
        snprintf(r->plot_note, sizeof r->plot_note, "%s", r->nsamples > 1 ? "visible.png, cpu.png, rss.png" : "visible.png only (no steady-state samples)");
}
