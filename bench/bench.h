/* bench: shared types and functions of warren-bench, the benchmark driver (bench_main.c is
 * the CLI). Not a library: nothing here prints except the CLI and the progress callback. */
#ifndef BENCH_H
#define BENCH_H
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

/* Process groups measured: the four kinds DIR/pids names, and the fabric (leaf+relay+root). */
enum { BENCH_EMULATOR, BENCH_LEAF, BENCH_RELAY, BENCH_ROOT, BENCH_FABRIC, BENCH_GROUPS };
extern const char *const bench_group_names[BENCH_GROUPS];

/* ---- bench_util.c: processes, signals, time, files ------------------------------------ */

/* 1 once SIGINT or SIGTERM arrived (bench_signals_install). */
extern volatile int bench_interrupted;
/* Installs SIGINT/SIGTERM handlers that set bench_interrupted, and ignores SIGPIPE. */
void bench_signals_install(void);
/* Sleeps ms milliseconds in short steps; returns early (-1) when interrupted, else 0. */
int bench_sleep_ms(int64_t ms);
/* The directory of this executable into out. Returns 0 or WR_EIO. */
int bench_self_dir(char *out, size_t outlen);
/* Runs argv (argv[0] a path) with stdout captured into out (NUL-terminated, truncated at
 * outlen-1) and stderr appended to errlog (NULL: /dev/null). Returns the exit status (0..255),
 * 128+signal, or WR_EIO when it cannot run. */
int bench_run(char *const argv[], char *out, size_t outlen, const char *errlog);
/* Reads a whole small file (at most outlen-1 bytes) into out. Returns bytes or WR_EIO. */
long bench_read_file(const char *path, char *out, size_t outlen);
/* In a forked child, before exec: its own process group (a terminal's SIGINT must not cut it
 * short: the bench decides when it stops), stdin from /dev/null, stdout onto out_fd and
 * stderr onto err_fd (each left alone when < 0). */
void bench_child_stdio(int out_fd, int err_fd);
/* The first line of /proc/loadavg into out, or "unknown". */
void bench_loadavg(char *out, size_t outlen);
/* The figure of the last line "... KEY ... after X s" of warren-sim up's log (e.g. KEY
 * "visible and up at the root", also with a root pair's " pair (both roots)"): X, or -1. */
double bench_sim_figure(const char *log, const char *key);

/* A progress line (no newline) for the user; the CLI prints it on stderr. */
typedef void (*bench_progress_fn)(const char *line);
/* Formats a progress line (cut at 511 bytes) and hands it to progress (NULL: dropped). */
void bench_say(bench_progress_fn progress, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Formats a one-line error into err (e.g. a run's error field) and returns code, so that a
 * failing step reads `return bench_fail(r->error, sizeof r->error, WR_EIO, "...")`. */
int bench_fail(char *err, size_t errlen, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- bench_http.c: JSON GETs against a root (libcurl + jansson) ----------------------- */

typedef struct bench_http bench_http_t;
/* A reusable HTTP client for base (e.g. "http://127.0.0.1:7380"). NULL on failure. */
bench_http_t *bench_http_new(const char *base);
void bench_http_destroy(bench_http_t **h);
/* GETs base+path within timeout_ms; on 200 with a JSON object body stores it in *out (the
 * caller decrefs). Returns 0, WR_EIO (no answer), WR_EPROTO (non-200 or not a JSON object),
 * WR_ETOOBIG (body over 1 MiB). err gets a one-line reason. */
int bench_http_get_json(bench_http_t *h, const char *path, long timeout_ms, json_t **out, char *err,
                        size_t errlen);
/* Numeric member of obj (integer or real), or dflt when missing or not a number. */
double bench_json_num(const json_t *obj, const char *key, double dflt);

/* ---- bench_proc.c: the fabric's processes, sampled from /proc ------------------------- */

typedef struct {
    int                pid;
    int                kind;          /* BENCH_EMULATOR..BENCH_ROOT */
    char               id[64];
    unsigned long long start_time;    /* /proc/PID/stat field 22: detects a reused pid */
    unsigned long long ticks_first;   /* utime+stime at the first sample */
    unsigned long long ticks_prev;    /* at the previous sample */
    unsigned long long ticks_last;    /* at the last sample it was alive */
    long               rss_kb;        /* VmRSS at the last sample (0 once dead) */
    int                alive;
    int64_t            died_ms;       /* ms since the bench started; -1 while alive */
} bench_proc_t;

typedef struct {
    bench_proc_t *v;
    size_t        n;
    long          count[BENCH_GROUPS];   /* processes per group */
} bench_procs_t;

/* Loads DIR/pids ("PID KIND ID" lines; unknown kinds and malformed lines are counted in
 * *skipped). Returns 0, WR_EIO (cannot read), WR_ENOTFOUND (no process), WR_ENOMEM. */
int bench_procs_load(const char *pids_path, bench_procs_t *out, long *skipped);
void bench_procs_free(bench_procs_t *p);
/* Reads one process: utime+stime ticks, VmRSS kB, start time. Returns 0, or WR_ENOTFOUND
 * when it is gone or a zombie. */
int bench_proc_read(int pid, unsigned long long *ticks, long *rss_kb, unsigned long long *start_time);
/* Proportional set size (Pss of /proc/PID/smaps_rollup) in kB: each shared page (the
 * libraries every process of the fabric maps) counted once across its sharers. Returns 0 or
 * WR_ENOTFOUND. */
int bench_proc_pss(int pid, long *pss_kb);
/* VmRSS split: anonymous kB (heap, stacks) and file-backed + shared kB (mapped files such as
 * LMDB's pages, which the kernel may reclaim). Returns 0 or WR_ENOTFOUND. */
int bench_proc_rss_split(int pid, long *anon_kb, long *file_kb);

/* One steady-state sample: per group, CPU in cores since the previous sample and RSS kB. */
typedef struct {
    int64_t t_ms;                    /* since the window started */
    double  cpu_cores[BENCH_GROUPS];
    long    rss_kb[BENCH_GROUPS];
    long    rss_anon_kb[BENCH_GROUPS];   /* RssAnon */
    long    rss_file_kb[BENCH_GROUPS];   /* RssFile + RssShmem */
    long    pss_kb[BENCH_GROUPS];        /* Pss: shared pages divided among their sharers */
    long    alive[BENCH_GROUPS];
    double  samples_per_s;           /* from /api/v1/status; < 0 when the root did not answer */
    long    nodes_up;                /* -1 when the root did not answer */
} bench_sample_t;

/* Link traffic per tier kind (bench_links.c), from the root's /api/v1/tree. */
typedef struct {
    int    ok;                                 /* fetched */
    long   tiers[BENCH_GROUPS];                /* live tiers of each kind (LEAF, RELAY, ROOT) */
    double frames_in[BENCH_GROUPS], frames_out[BENCH_GROUPS];
    double bytes_in[BENCH_GROUPS], bytes_out[BENCH_GROUPS];
} bench_links_t;

/* Samples every process: fills s (t_ms left to the caller) with the CPU used since the
 * previous call over dt_s seconds (first call: pass dt_s <= 0, CPU is 0) and marks processes
 * that died (died_ms = now_ms). Returns how many processes died at this sample. */
int bench_procs_sample(bench_procs_t *p, double dt_s, int64_t now_ms, bench_sample_t *s);
/* Mean cores per group between the first and the last sample, over window_s seconds. */
void bench_procs_mean_cpu(const bench_procs_t *p, double window_s, double out[BENCH_GROUPS]);

/* A measured window sampled every step_ms: a first sample at once (CPU 0), then one every
 * step_ms after the start, the last one exactly at the window's end. */
typedef struct {
    int64_t t0;        /* wr_mono_ms() at the start */
    int64_t prev;      /* when the last sample was taken (t0 before the first) */
    int64_t due;       /* the last sample's due time, ms after t0: 0 for the first */
    int64_t step_ms, win_ms;
    int     started, done;
} bench_window_t;
/* Starts the window now. */
void bench_window_start(bench_window_t *w, double duration_s, int64_t step_ms);
/* Sleeps until the next sample is due and samples p into s (zeroed first; s->t_ms set) with
 * bench_procs_sample, *died its result. Returns 1 with a sample, 0 when the window is over,
 * WR_ECLOSED when interrupted (bench_interrupted) while waiting. */
int bench_window_next(bench_window_t *w, bench_procs_t *p, bench_sample_t *s, int *died);

/* ---- bench_antfarm.c: the antfarm run -------------------------------------------------- */

typedef struct bench_antfarm_opts {
    long   nodes;
    double duration;       /* steady-state window, s */
    double warmup;         /* wait after start-up before the window, s */
    long   seed;
    double interval;       /* leaf poll interval, s */
    long   fanout;
    long   base_port, tier_port, http_port;
    double timeout;        /* for warren-sim up */
    int    ceiling;        /* also run the relay-ceiling sub-benchmark after the fabric stops */
    long   faults_per_kind;      /* faults of each kind injected after the window (0: none) */
    double down_grace;           /* leaves' node_down grace, s (warren-sim up --node-down-grace) */
    long   forecast_min_points;  /* leaves' forecast points before an opinion (step: interval) */
    char   out[PATH_MAX];
    char   sim[PATH_MAX];
    char   command[8192];  /* the exact command line, for the report */
} bench_antfarm_opts_t;

typedef struct {
    int64_t t_ms;
    long    total, up;     /* -1 when the root did not answer */
} bench_vis_t;

/* ---- bench_faults.c: injected faults and their alarms at the root ------------------------ */

#define BENCH_FAULT_KINDS 6
typedef struct {
    const char *fault;     /* warren-sim inject FAULT */
    const char *alarm;     /* the alarm type it must end in */
    const char *resource;  /* the alarm's resource, "" for any */
} bench_fault_kind_t;
extern const bench_fault_kind_t bench_fault_kinds[BENCH_FAULT_KINDS];

typedef struct {
    int     kind;                  /* index in bench_fault_kinds */
    char    node[64];
    int64_t inject_wall_ms;        /* wall ms when `warren-sim inject` started */
    int64_t inject_done_ms;        /* ... and when it returned */
    int     inject_failed;
    int     detected;
    int64_t seen_wall_ms;          /* the first poll that showed the alarm at the root */
    int64_t raised_ms;             /* the alarm's raised_ms (the leaf's raise time); -1 unknown */
    int64_t root_recv_ms;          /* the root's receipt of that raise (alarm history received_ms);
                                    * 0: unknown (a root without it: seen_wall_ms is used) */
} bench_fault_t;

typedef struct {
    int     ran;
    bench_fault_t *v;
    size_t  n, found, inject_failed;
    long    polls, poll_errors;
    double  deadline_s;
    char    error[256];            /* "" when every fault was seen */
    int     plotted;               /* latency.png was drawn */
} bench_faults_t;

typedef struct {
    size_t injected, n;            /* faults injected; latencies measured */
    double p50, p99, max;          /* ms; NAN when n == 0 */
} bench_lat_t;

struct bench_antfarm_opts;


/* Everything a run measured; the report is written from this alone. */
typedef struct {
    const bench_antfarm_opts_t *opts;
    char    started_iso[32];
    char    loadavg_start[64], loadavg_end[64];
    char    url[128];
    char    error[512];            /* "" when the run completed */
    int     interrupted;
    /* start-up */
    bench_vis_t *vis;
    size_t  nvis, capvis;
    int64_t time_to_visible_ms;    /* -1: never */
    long    nodes_visible;         /* nodes_up at the root when the start-up ended */
    double  sim_reported_s;        /* -1: not found in sim-up.log */
    int     sim_exit;
    /* steady state */
    bench_procs_t procs;
    long    pids_skipped;
    bench_sample_t *samples;
    size_t  nsamples, capsamples;
    double  window_s;
    double  cpu_mean[BENCH_GROUPS];
    double  rss_mean_kb[BENCH_GROUPS];
    long    rss_max_kb[BENCH_GROUPS];
    long    rss_anon_max_kb[BENCH_GROUPS];
    long    rss_file_max_kb[BENCH_GROUPS];
    long    pss_max_kb[BENCH_GROUPS];
    bench_links_t links;                 /* link traffic at the end of the window */
    double  samples_per_s_mean;    /* -1: never answered */
    double  samples_per_s_end;     /* last answer in the window; -1: none */
    long    nodes_up_end;
    long    deaths;
    int     sim_started;           /* warren-sim up was forked */
    int     fabric_stopped;        /* warren-sim down ran and succeeded (or nothing ran) */
    /* fault injection after the window (bench_faults.c), when opts->faults_per_kind > 0 */
    bench_faults_t faults;
    /* relay ceiling (bench_ceiling.c), when opts->ceiling */
    struct bench_ceiling_opts   *ceil_opts;
    struct bench_ceiling_result *ceil;
    int     ceil_rc;
    /* plots */
    int     gnuplot_rc;            /* 0 ok, > 0 gnuplot failed, < 0 missing */
    char    plot_note[256];
} bench_antfarm_t;


/* Runs the antfarm benchmark into r (zeroed here; free with bench_antfarm_free): starts the
 * fabric, measures start-up and the steady state, ALWAYS stops the fabric (also on errors and
 * SIGINT), then draws the plots. Returns 0 when every step ran, or a WR_E... code with
 * r->error saying what went wrong; r holds whatever was measured either way, so the caller
 * writes the report in both cases. */
int bench_antfarm_run(const bench_antfarm_opts_t *o, bench_antfarm_t *r, bench_progress_fn progress);
void bench_antfarm_free(bench_antfarm_t *r);

/* Injects o->faults_per_kind faults of each kind into the running fabric (warren-sim inject
 * --dir fabric) and polls url's /api/v1/alarms every 50 ms until each shows its alarm or the
 * deadline passes (f->error says which did not). Returns 0 (also when some were not seen),
 * or a WR_E... code when it could not run. */
int bench_faults_run(const bench_antfarm_opts_t *o, bench_faults_t *f, const char *url, const char *fabric,
                     bench_progress_fn progress);
void bench_faults_free(bench_faults_t *f);
/* Latency of kind (-1: all): injection -> root visible, or (propagation) leaf raise -> root. */
void bench_faults_stats(const bench_faults_t *f, int kind, int propagation, bench_lat_t *out);
/* The report's fault_latency object / Markdown section. */
json_t *bench_faults_json(const bench_antfarm_opts_t *o, const bench_faults_t *f);
void bench_faults_markdown(FILE *out, const bench_antfarm_opts_t *o, const bench_faults_t *f);
/* Writes faults.dat and faults.gp into o->out and draws latency.png with gnuplot (when
 * installed); sets f->plotted. Never fatal. */
void bench_faults_plot(const bench_antfarm_opts_t *o, bench_faults_t *f);

/* ---- bench_ceiling.c: one relay's ceiling ------------------------------------------------ */

typedef struct bench_ceiling_opts {
    long   children, nodes, changed, rollups, tier_port;
    double rate, factor, max_rate, step_s, relay_interval, interval;
    char   relay[PATH_MAX];   /* warren-relay to run */
    char   dir[PATH_MAX];     /* where relay.conf and relay.log go (must exist) */
} bench_ceiling_opts_t;

typedef struct {
    double   offered_per_s, sent_per_s, relay_cores, bench_cores;
    double   relay_wait;       /* share of the step the relay spent runnable but waiting for a
                                * CPU (/proc/PID/schedstat); < 0 when unknown */
    uint64_t refused, snapshots_asked, backlog;
    int64_t  catch_up_ms;      /* -1: the relay's upward view never caught up */
    int      sustained, bench_limited;
    char     why[160];
} bench_ceiling_step_t;

#define BENCH_CEILING_MAX_STEPS 64
typedef struct bench_ceiling_result {
    bench_ceiling_step_t steps[BENCH_CEILING_MAX_STEPS];
    size_t n;
    double sustained;          /* DELTAs/s of the last step kept up with; 0: none */
    int    bench_limited;      /* this process could not offer more: the ceiling is higher */
    size_t delta_bytes;
    char   error[256];
} bench_ceiling_result_t;

/* Defaults: 16 children x 100 nodes, every node in each DELTA, 25 rollups, from 50 DELTAs/s
 * up by x1.5 per 4 s step to 100000, relay interval 1 s, tree computed for 10 s. */
void bench_ceiling_defaults(bench_ceiling_opts_t *o);
/* Starts the relay, feeds it step by step until it falls behind, stops it. Returns 0 (res
 * holds the steps) or a WR_E... code with res->error set. */
int bench_ceiling_run(const bench_ceiling_opts_t *o, bench_ceiling_result_t *res, bench_progress_fn progress);
/* The result as JSON (parameters, steps, sustained rate, largest fan-out and tree sizes). */
json_t *bench_ceiling_json(const bench_ceiling_opts_t *o, const bench_ceiling_result_t *res);
/* Largest fan-out at o->interval: one DELTA per child per interval. */
double bench_ceiling_fanout(const bench_ceiling_opts_t *o, const bench_ceiling_result_t *res);
/* The markdown table of the steps and the tree sizes, into f. */
void bench_ceiling_markdown(FILE *f, const bench_ceiling_opts_t *o, const bench_ceiling_result_t *res);

/* ---- bench_machine.c ------------------------------------------------------------------ */

/* A new JSON object: hostname, nproc, cpu_model, mem_total_kb, kernel, warren_version,
 * git_commit (null outside a git tree), git_tree_modified. */
json_t *bench_machine_json(void);

/* ---- bench_report.c / bench_plot.c ----------------------------------------------------- */

/* Writes OUT/report.json and OUT/report.md. Returns 0 or WR_EIO (err says which file). */
int bench_report_write(const bench_antfarm_t *r, char *err, size_t errlen);
/* Writes the .dat and .gp files into OUT and runs gnuplot on them; r->gnuplot_rc and
 * r->plot_note tell the outcome (never fails the run). */
void bench_plot_write(bench_antfarm_t *r);
/* Names of the PNG files bench_plot_write makes, NULL-terminated. */
extern const char *const bench_plot_files[];

#endif
