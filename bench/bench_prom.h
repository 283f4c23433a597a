/* bench_prom: `warren-bench prometheus-vs-warren`: one emulated fleet (warren-sim up
 * --prom-port), watched at once by the warren fabric that `up` starts and by a stock
 * Prometheus scraping every emulated node's /metrics/<name>; CPU, RSS and time-to-visible of
 * both over the same window. bench_prom.c runs it, bench_prom_report.c writes the report and
 * holds the command line. */
#ifndef BENCH_PROM_H
#define BENCH_PROM_H
#include <limits.h>
#include <stdint.h>
#include "bench.h"

typedef struct {
    long   nodes;
    double interval;       /* warren's poll interval and Prometheus' scrape_interval, s */
    double duration;       /* measured window, s */
    double timeout;        /* warren-sim up's --timeout, and Prometheus' start-up deadline floor */
    long   base_port;      /* emulated nodes */
    long   prom_port;      /* emulator k serves Prometheus text on prom_port + k */
    long   tier_port, http_port;
    long   web_port;       /* Prometheus' own web/API */
    long   seed;
    char   out[PATH_MAX];
    char   sim[PATH_MAX];
    char   prometheus[PATH_MAX];
    char   command[4096];
} bench_prom_opts_t;

/* One side's figures over the window. */
typedef struct {
    double ttv_s;          /* time to all N visible; < 0: never */
    double cpu_cores;      /* mean over the window */
    double rss_mean_mb, rss_max_mb;
    long   procs;          /* processes measured */
    double samples_per_s;  /* ingested (warren: root status; Prometheus: head appends) */
    long   up_end;         /* nodes (targets) up at the end of the window */
} bench_prom_side_t;

typedef struct {
    const bench_prom_opts_t *opts;
    char   started_iso[32];
    char   loadavg_start[64], loadavg_end[64];
    char   prom_version[128];
    char   error[512];
    int    fabric_started, fabric_stopped;
    double sim_listening_s, sim_visible_s;
    double window_s;
    long   samples;                 /* /proc samples in the window */
    bench_prom_side_t warren, prom;
    double emu_cpu_cores, emu_rss_mean_mb;
    double prom_head_series, prom_scrape_avg_s;
    long   prom_deaths, fabric_deaths;
} bench_prom_t;

/* Runs the comparison (always stops Prometheus and the fleet). Returns 0, or a WR_E... code
 * with r->error set; r holds what was measured either way. */
int bench_prom_run(const bench_prom_opts_t *o, bench_prom_t *r, bench_progress_fn progress);
/* Writes OUT/report.json and OUT/report.md. Returns 0 or WR_EIO. */
int bench_prom_report(const bench_prom_t *r, char *err, size_t errlen);
/* The CLI: warren-bench prometheus-vs-warren ... (argv[0] is the command name). */
int bench_prom_main(int argc, char **argv);

#endif
