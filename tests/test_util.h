/* test_util: scaffolding shared by the unit tests (header only: static inline functions, so
 * every tests/test_*.c program may include it without a CMake change). Include it after
 * <cmocka.h> (the helpers assert). What it has:
 *  - tu_run_until: run a libev loop until a condition holds or a deadline passes (the one way
 *    the tests wait: nothing sleeps and hopes); tu_run_for: run it a fixed time;
 *  - tu_link_params: wr_link parameters with a short heartbeat;
 *  - tu_ep: a tcp://127.0.0.1:PORT endpoint; tu_env_setup / tu_env_teardown: the group
 *    fixture of the loop tests (a mkdtemp directory, a ZeroMQ context, a libev loop);
 *  - (from test_tmpdir.h) tu_tmpdir_make, tu_rm_rf, tu_store_open;
 *  - tu_req_*: one HTTP request by libcurl in a thread while the test's loop keeps serving;
 *  - tu_ctl_*: one command (warrenctl...) in a thread, its output captured. */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H
#include <curl/curl.h>
#include <ev.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>
#include "wr_link.h"
#include "wr_log.h"
#include "test_tmpdir.h"

/* ---- waiting on the loop ---------------------------------------------------------------- */

typedef int (*tu_pred_fn)(void *ud);
typedef void (*tu_tick_fn)(void *ud);

typedef struct {
    int        expired;
    tu_tick_fn tick;
    void      *tick_ud;
} tu_wait_t;

static inline void tu_on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    ((tu_wait_t *)w->data)->expired = 1;
}

static inline void tu_on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    tu_wait_t *wt = w->data;
    if (wt->tick)
        wt->tick(wt->tick_ud);
}

/* Runs loop until pred(ud) holds or timeout_ms passes, waking at least every tick_s seconds
 * (then calling tick(tick_ud) when tick is not NULL). Returns pred's last value. */
static inline int tu_run_until_tick(struct ev_loop *loop, tu_pred_fn pred, void *ud, int timeout_ms,
                                    double tick_s, tu_tick_fn tick, void *tick_ud)
{
    tu_wait_t wt = {0, tick, tick_ud};
    ev_timer deadline, ticker;
    ev_timer_init(&deadline, tu_on_deadline, timeout_ms / 1000.0, 0.);
    deadline.data = &wt;
    ev_timer_init(&ticker, tu_on_tick, tick_s, tick_s);
    ticker.data = &wt;
    ev_timer_start(loop, &deadline);
    ev_timer_start(loop, &ticker);
    int ok;
    while (!(ok = pred(ud)) && !wt.expired)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &deadline);
    ev_timer_stop(loop, &ticker);
    return ok;
}

/* tu_run_until_tick waking every 5 ms, no tick function. */
static inline int tu_run_until(struct ev_loop *loop, tu_pred_fn pred, void *ud, int timeout_ms)
{
    return tu_run_until_tick(loop, pred, ud, timeout_ms, 0.005, NULL, NULL);
}

static inline int tu_never(void *ud)
{
    (void)ud;
    return 0;
}

/* Runs loop for ms milliseconds (what must not happen meanwhile is checked after). */
static inline void tu_run_for(struct ev_loop *loop, int ms)
{
    tu_run_until(loop, tu_never, NULL, ms);
}

/* wr_link defaults with the given heartbeat and misses (fast failure detection in tests). */
static inline wr_link_params_t tu_link_params(int heartbeat_ms, int misses)
{
    wr_link_params_t p;
    wr_link_params_default(&p);
    p.heartbeat_ms = heartbeat_ms;
    p.misses = misses;
    return p;
}

/* "tcp://127.0.0.1:PORT" in one of 16 rotating static buffers (so a few may be alive at once). */
static inline const char *tu_ep(int port)
{
    static char buf[16][40];
    static int k;
    char *b = buf[k++ % 16];
    snprintf(b, 40, "tcp://127.0.0.1:%d", port);
    return b;
}

/* Group setup of a loop test: logs at ERROR as log_name (when not NULL), makes the directory
 * dir (a template ending in XXXXXX, changed in place), a ZeroMQ context and a libev loop.
 * Returns 0, or -1 when one of them failed (cmocka's convention). */
static inline int tu_env_setup(const char *log_name, char *dir, void **zctx, struct ev_loop **loop)
{
    if (log_name)
        wr_log_init(log_name, WR_LOG_ERROR, 0);
    if (!mkdtemp(dir))
        return -1;
    *zctx = zmq_ctx_new();
    *loop = ev_loop_new(EVFLAG_AUTO);
    return *zctx && *loop ? 0 : -1;
}

/* Group teardown of tu_env_setup: removes dir, then (when that worked) destroys the loop and
 * terminates the context. Returns 0, or -1 when dir could not be removed. */
static inline int tu_env_teardown(const char *dir, void *zctx, struct ev_loop *loop)
{
    if (tu_rm_rf(dir) != 0)
        return -1;
    ev_loop_destroy(loop);
    zmq_ctx_term(zctx);
    return 0;
}

/* ---- one HTTP request in a thread ---------------------------------------------------------- */

typedef struct {
    char         url[2048];
    const char  *method;        /* "GET" (NULL too), "HEAD" or "POST" (body "x=1") */
    long         timeout_ms;    /* 0: 8000 */
    long         status;
    CURLcode     rc;
    char        *body;          /* NUL-terminated; free with tu_req_free */
    size_t       len;
    char         headers[2048];
    size_t       hlen;
    volatile int done;
} tu_req_t;

static inline size_t tu_req_on_write(char *p, size_t s, size_t n, void *ud)
{
    tu_req_t *r = ud;
    char *nb = realloc(r->body, r->len + s * n + 1);
    if (!nb)
        return 0;
    memcpy(nb + r->len, p, s * n);
    r->len += s * n;
    nb[r->len] = '\0';
    r->body = nb;
    return s * n;
}

static inline size_t tu_req_on_header(char *p, size_t s, size_t n, void *ud)
{
    tu_req_t *r = ud;
    size_t k = s * n;
    if (r->hlen + k < sizeof r->headers) {
        memcpy(r->headers + r->hlen, p, k);
        r->hlen += k;
        r->headers[r->hlen] = '\0';
    }
    return k;
}

static inline void *tu_req_thread(void *arg)
{
    tu_req_t *r = arg;
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, r->url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tu_req_on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, tu_req_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->timeout_ms ? r->timeout_ms : 8000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (r->method && strcmp(r->method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (r->method && strcmp(r->method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "x=1");
    r->rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
    __atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static inline int tu_req_done(void *ud)
{
    return __atomic_load_n(&((tu_req_t *)ud)->done, __ATOMIC_ACQUIRE);
}

/* Starts method on base + path in a thread (r is reset); finish with tu_req_wait. */
static inline void tu_req_start(tu_req_t *r, pthread_t *th, const char *method, const char *base, const char *path)
{
    memset(r, 0, sizeof *r);
    r->method = method;
    snprintf(r->url, sizeof r->url, "%s%s", base, path);
    assert_int_equal(pthread_create(th, NULL, tu_req_thread, r), 0);
}

/* Runs loop until the request of th completes (10 s at most); asserts curl succeeded. */
static inline void tu_req_wait(struct ev_loop *loop, tu_req_t *r, pthread_t th)
{
    assert_true(tu_run_until(loop, tu_req_done, r, 10000));
    pthread_join(th, NULL);
    assert_int_equal(r->rc, CURLE_OK);
}

/* One request, start to end, the loop serving meanwhile; returns the parsed JSON body (or
 * NULL); r keeps status, headers and body. */
static inline json_t *tu_req(struct ev_loop *loop, tu_req_t *r, const char *method, const char *base,
                             const char *path)
{
    pthread_t th;
    tu_req_start(r, &th, method, base, path);
    tu_req_wait(loop, r, th);
    json_error_t e;
    return r->body ? json_loads(r->body, 0, &e) : NULL;
}

static inline void tu_req_free(tu_req_t *r)
{
    free(r->body);
    r->body = NULL;
}

/* ---- one command in a thread ------------------------------------------------------------- */

typedef struct {
    char         cmd[1400];
    char         out[16384];    /* its stdout (and whatever the command redirects there) */
    int          exit_code;     /* -1: did not exit normally */
    volatile int done;
} tu_ctl_t;

static inline void *tu_ctl_thread(void *arg)
{
    tu_ctl_t *j = arg;
    FILE *p = popen(j->cmd, "r");
    size_t n = 0, k;
    while (p && n + 1 < sizeof j->out && (k = fread(j->out + n, 1, sizeof j->out - 1 - n, p)) > 0)
        n += k;
    j->out[n] = '\0';
    int st = p ? pclose(p) : -1;
    j->exit_code = st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    __atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static inline int tu_ctl_done(void *ud)
{
    return __atomic_load_n(&((tu_ctl_t *)ud)->done, __ATOMIC_ACQUIRE);
}

/* Runs j->cmd (set by the caller) in a thread while loop serves, timeout_ms at most; returns
 * its exit code. */
static inline int tu_ctl_run(struct ev_loop *loop, tu_ctl_t *j, int timeout_ms)
{
    j->done = 0;
    j->out[0] = '\0';
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, tu_ctl_thread, j), 0);
    assert_true(tu_run_until(loop, tu_ctl_done, j, timeout_ms));
    pthread_join(th, NULL);
    return j->exit_code;
}

/* Fails the test unless needle is in j's output. */
static inline void tu_ctl_expect(const tu_ctl_t *j, const char *needle)
{
    if (!strstr(j->out, needle))
        fail_msg("'%s' not in output of %s:\n%s", needle, j->cmd, j->out);
}

/* out = the path of program name beside this test's executable (the build's bin/). Returns 0,
 * or -1 when it is missing or not executable. */
static inline int tu_sibling(const char *name, char *out, size_t cap)
{
    char self[900];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    snprintf(out, cap, "%s/%s", self, name);
    return access(out, X_OK) == 0 ? 0 : -1;
}

#endif
