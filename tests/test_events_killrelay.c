/* test_events_killrelay: the zero-loss test of issue 4 item 6 and issue 5 item 5. A sender in
 * this process (a fake leaf: real wr_client + wr_evsend over real LMDB on the real disk, in a
 * mkdtemp directory under /tmp) pushes 5,000 notifications in bursts of 500 (each burst from one
 * callback, so one outbox transaction) through a REAL warren-relay process to a REAL warren-root
 * process (both spawned from the build's bin directory, next to this program). Midway the relay
 * is killed with SIGKILL and restarted on the same store. At the end GET /api/v1/notifications
 * must hold every notification exactly once (the set of seqs), and the sender must never have
 * seen its relay declared dead except around the kill (bursts must not stall the relay past
 * its heartbeat timeout: a false failure). Prints the events/s achieved.
 * Bench mode: WARREN_EVBENCH=N pushes N events without the kill and prints the rate.
 * Every wait has a deadline. Ports 15280-15289. Skipped when the daemons are not built. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <ev.h>
#include <jansson.h>
#include <zmq.h>
#include "wr_error.h"
#include "wr_event.h"
#include "wr_evsend.h"
#include "wr_log.h"
#include "wr_time.h"
#include "test_util.h"

#define N_MAX       5000
#define BURST       500
#define RATE_S      0.005           /* a burst when fewer than BURST are unacknowledged */
#define KILL_QUIET_MS 5000          /* parent-down events this long after the kill are expected */
#define ROOT_ZMQ    15280
#define ROOT_HTTP   15281
#define RELAY_ZMQ   15282

static char g_dir[64] = "/tmp/test_killrelay.XXXXXX";
static int g_n = N_MAX;             /* events to push */
static int g_kill_at = N_MAX / 2;   /* -1: no kill (bench mode) */
static char g_bin[1024];
static struct ev_loop *g_loop;
static void *g_zctx;
static pid_t g_root = -1, g_relay = -1;

/* ---- processes -------------------------------------------------------------------------------- */

static pid_t spawn(const char *prog, const char *conf, const char *log)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", g_bin, prog);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(path, prog, "--config", conf, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void stop(pid_t *pid, int sig)
{
    if (*pid <= 0)
        return;
    kill(*pid, sig);
    int64_t deadline = wr_mono_ms() + 5000;
    int st;
    while (waitpid(*pid, &st, WNOHANG) == 0) {
        if (wr_mono_ms() > deadline) {
            kill(*pid, SIGKILL);
            waitpid(*pid, &st, 0);
            break;
        }
        usleep(10000);
    }
    *pid = -1;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* ---- HTTP -------------------------------------------------------------------------------------- */

typedef struct {
    char  *buf;
    size_t len;
} body_t;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    body_t *b = ud;
    char *nb = realloc(b->buf, b->len + sz * n + 1);
    if (!nb)
        return 0;
    b->buf = nb;
    memcpy(b->buf + b->len, p, sz * n);
    b->len += sz * n;
    b->buf[b->len] = '\0';
    return sz * n;
}

/* GET url; returns the parsed JSON or NULL. */
static json_t *http_get_json(const char *url)
{
    CURL *c = curl_easy_init();
    body_t b = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    json_t *j = NULL;
    if (rc == CURLE_OK && status == 200 && b.buf)
        j = json_loads(b.buf, 0, NULL);
    free(b.buf);
    return j;
}

/* ---- the sender ------------------------------------------------------------------------------------ */

typedef struct {
    wr_origin_t   origin;
    wr_client_t  *cli;
    wr_store_t   *store;
    wr_evsend_t  *es;
    wr_encoder_t *enc;
    int           pushed;
    uint64_t      acked_seq;            /* the highest ACK seen (one outbox epoch) */
    int           downs, false_downs;   /* parent-down events; those away from the kill */
    int64_t       kill_ms;              /* mono ms of the kill, 0 before */
    int64_t       t_first, t_done;      /* mono ms of the first push, of the last ACK */
    ev_timer      push_timer, tick_timer;
} sender_t;

static sender_t g_s;

static void s_on_up(void *ud, int parent)
{
    sender_t *s = ud;
    wr_evsend_parent_up(s->es, parent);
}

static void s_on_down(void *ud, int parent)
{
    sender_t *s = ud;
    (void)parent;
    s->downs++;
    if (!s->kill_ms || wr_mono_ms() - s->kill_ms > KILL_QUIET_MS)
        s->false_downs++;
}

static void s_on_message(void *ud, int parent, const wr_envelope_t *env, wr_decoder_t *dec)
{
    sender_t *s = ud;
    if (env->type == WR_MSG_ACK) {
        wr_ack_t ack;
        char why[128];
        if (wr_decode_ack(dec, &ack, why, sizeof why) == 0) {
            wr_evsend_on_ack(s->es, parent, &ack);
            if (ack.seq > s->acked_seq)
                s->acked_seq = ack.seq;
        }
    }
}

static void restart_relay(void)
{
    char conf[300], log[300];
    snprintf(conf, sizeof conf, "%s/relay.conf", g_dir);
    snprintf(log, sizeof log, "%s/relay.log", g_dir);
    g_relay = spawn("warren-relay", conf, log);
    assert_true(g_relay > 0);
}

static void push_one(sender_t *s)
{
    static wr_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = WR_MSG_NOTIF;
    wr_evsend_new_id(s->es, &ev.id);
    snprintf(ev.notif.node, sizeof ev.notif.node, "n%llu@h", (unsigned long long)(ev.id.seq % 10));
    strcpy(ev.notif.type, "code_loaded");
    ev.notif.severity = WR_SEV_WARNING;
    ev.notif.at_ms = wr_wall_ms();
    strcpy(ev.notif.leaf, "leaf-k");
    snprintf(ev.notif.fields, sizeof ev.notif.fields, "{\"module\":\"m%llu\"}", (unsigned long long)ev.id.seq);
    assert_int_equal(wr_event_pack(s->enc, &ev), 0);
    assert_int_equal(wr_evsend_push(s->es, WR_MSG_NOTIF, wr_encoder_data(s->enc), wr_encoder_size(s->enc),
                                    ev.notif.at_ms), 0);
    s->pushed++;
}

static void on_push(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    sender_t *s = w->data;
    if ((uint64_t)s->pushed - s->acked_seq >= BURST)
        return;                     /* keep about one burst in flight */
    if (!s->t_first)
        s->t_first = wr_mono_ms();
    for (int i = 0; i < BURST && s->pushed < g_n; i++) {
        push_one(s);
        if (s->pushed == g_kill_at) {
            /* mid-burst: the relay dies without a chance to flush anything, and comes back */
            kill(g_relay, SIGKILL);
            int wst;
            waitpid(g_relay, &wst, 0);
            assert_true(WIFSIGNALED(wst));
            s->kill_ms = wr_mono_ms();
            restart_relay();
        }
    }
    if (s->pushed >= g_n)
        ev_timer_stop(loop, w);
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    sender_t *s = w->data;
    wr_evsend_tick(s->es, wr_wall_ms());
}

static int run_until(tu_pred_fn pred, void *ud, int timeout_ms)
{
    return tu_run_until(g_loop, pred, ud, timeout_ms);
}

static int all_pushed_and_acked(void *ud)
{
    sender_t *s = ud;
    wr_evsend_stats_t st;
    wr_evsend_stats(s->es, &st);
    if (s->pushed >= g_n && st.pending == 0 && !s->t_done)
        s->t_done = wr_mono_ms();
    return s->pushed >= g_n && st.pending == 0;
}

static int up(void *ud)
{
    sender_t *s = ud;
    return wr_client_active(s->cli) >= 0;
}

/* ---- the test ------------------------------------------------------------------------------------------ */

static void test_kill_relay_zero_loss(void **state)
{
    (void)state;
    char path[300], conf[1200], log[300];
    snprintf(conf, sizeof conf,
             "root = { id = \"root-k\"; bind = \"tcp://127.0.0.1:%d\"; http = { listen = \"127.0.0.1\"; port = %d; };\n"
             "  interval = 0.5; heartbeat = { interval = 0.1; misses = 5; };\n"
             "  store = { path = \"%s/root.lmdb\"; map_size_mb = 64; }; log = { level = \"warn\"; }; };\n",
             ROOT_ZMQ, ROOT_HTTP, g_dir);
    snprintf(path, sizeof path, "%s/root.conf", g_dir);
    write_file(path, conf);
    snprintf(log, sizeof log, "%s/root.log", g_dir);
    g_root = spawn("warren-root", path, log);
    snprintf(conf, sizeof conf,
             "relay = { id = \"relay-k\"; bind = \"tcp://127.0.0.1:%d\"; parents = [\"tcp://127.0.0.1:%d\"];\n"
             "  interval = 0.5; heartbeat = { interval = 0.1; misses = 5; };\n"
             "  store = { path = \"%s/relay.lmdb\"; map_size_mb = 64; }; log = { level = \"warn\"; }; };\n",
             RELAY_ZMQ, ROOT_ZMQ, g_dir);
    snprintf(path, sizeof path, "%s/relay.conf", g_dir);
    write_file(path, conf);
    restart_relay();

    sender_t *s = &g_s;
    char err[256], dir[300];
    snprintf(dir, sizeof dir, "%s/leaf.lmdb", g_dir);
    static const char *const dbs[] = {"outbox.0", NULL};
    s->store = wr_store_open(dir, 64u << 20, dbs, err, sizeof err);
    assert_non_null(s->store);
    wr_origin_init(&s->origin, "leaf-k");
    wr_hello_t hello;
    memset(&hello, 0, sizeof hello);
    strcpy(hello.kind, "leaf");
    strcpy(hello.id, "leaf-k");
    wr_link_params_t lp;
    wr_link_params_default(&lp);
    lp.heartbeat_ms = 100;
    lp.misses = 5;
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", RELAY_ZMQ);
    const char *eps[] = {ep};
    static const wr_client_callbacks_t cb = {.on_parent_up = s_on_up, .on_parent_down = s_on_down,
                                              .on_message = s_on_message};
    s->cli = wr_client_new(g_loop, g_zctx, eps, 1, WR_PARENTS_FAILOVER, &s->origin, &hello, &lp, &cb, s, err,
                           sizeof err);
    assert_non_null(s->cli);
    s->es = wr_evsend_new(s->store, "outbox", 1, NULL, s->cli, &s->origin, err, sizeof err);
    assert_non_null(s->es);
    wr_evsend_set_loop(s->es, g_loop);   /* a burst is one outbox transaction, like a leaf's */
    s->enc = wr_encoder_new();
    ev_timer_init(&s->tick_timer, on_tick, 0.2, 0.2);
    s->tick_timer.data = s;
    ev_timer_start(g_loop, &s->tick_timer);
    assert_true(run_until(up, s, 10000));

    ev_timer_init(&s->push_timer, on_push, RATE_S, RATE_S);
    s->push_timer.data = s;
    ev_timer_start(g_loop, &s->push_timer);
    assert_true(run_until(all_pushed_and_acked, s, 120000));
    double secs = (double)(s->t_done - s->t_first) / 1000.0;
    print_message("%d notifications in bursts of %d%s: all ACKed after %.2f s: %.0f events/s; "
                  "parent-down events %d (%d away from the kill)\n", g_n, BURST,
                  g_kill_at > 0 ? " with the relay killed midway" : "", secs,
                  secs > 0 ? g_n / secs : 0.0, s->downs, s->false_downs);

    /* every notification at the root, exactly once */
    char url[200];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/notifications?limit=10000", ROOT_HTTP);
    static uint32_t seen[N_MAX + 1];
    size_t total = 0, distinct = 0;
    int64_t deadline = wr_mono_ms() + 30000;
    for (;;) {
        memset(seen, 0, sizeof seen);
        total = distinct = 0;
        json_t *j = http_get_json(url);
        json_t *arr = j ? json_object_get(j, "notifications") : NULL;
        size_t i;
        json_t *it;
        json_array_foreach(arr, i, it) {
            json_int_t seq = json_integer_value(json_object_get(it, "seq"));
            const char *origin = json_string_value(json_object_get(it, "origin"));
            assert_non_null(origin);
            assert_string_equal(origin, "leaf-k");
            assert_true(seq >= 1 && seq <= g_n);
            total++;
            if (seen[seq]++ == 0)
                distinct++;
        }
        json_decref(j);
        if ((int)distinct == g_n || wr_mono_ms() > deadline)
            break;
        ev_run(g_loop, EVRUN_NOWAIT);
        usleep(200000);
    }
    if ((int)distinct != g_n)
        fail_msg("the root holds %zu distinct notifications of %d (%zu in all)", distinct, g_n, total);
    assert_int_equal(total, g_n);        /* exactly once */
    wr_evsend_stats_t st;
    wr_evsend_stats(s->es, &st);
    assert_int_equal(st.dropped, 0);
    print_message("zero loss: %d notifications, %llu resent by the leaf\n", g_n,
                  (unsigned long long)st.resent);
    /* the relay was never declared dead by its child during the bursts (a false failure) */
    assert_int_equal(s->false_downs, 0);

    ev_timer_stop(g_loop, &s->tick_timer);
    wr_evsend_destroy(&s->es);
    wr_client_destroy(&s->cli);
    wr_store_destroy(&s->store);
    wr_encoder_destroy(&s->enc);
}

static int setup(void **state)
{
    (void)state;
    char self[1024];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    snprintf(g_bin, sizeof g_bin, "%s", dirname(self));
    const char *env = getenv("WARREN_BIN");
    if (env && *env)
        snprintf(g_bin, sizeof g_bin, "%s", env);
    const char *bench = getenv("WARREN_EVBENCH");
    if (bench && atoi(bench) > 0) {
        g_n = atoi(bench) < N_MAX ? atoi(bench) : N_MAX;
        g_kill_at = -1;
    }
    if (!mkdtemp(g_dir))
        return -1;
    wr_log_init("test_events_killrelay", getenv("WR_TEST_DEBUG") ? WR_LOG_DEBUG : WR_LOG_ERROR, 0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g_zctx = zmq_ctx_new();
    g_loop = ev_loop_new(EVFLAG_AUTO);
    return g_zctx && g_loop ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    stop(&g_relay, SIGTERM);
    stop(&g_root, SIGTERM);
    sender_t *s = &g_s;             /* after a failure: close the sockets, or zmq_ctx_term hangs */
    if (s->es || s->cli) {
        ev_timer_stop(g_loop, &s->tick_timer);
        ev_timer_stop(g_loop, &s->push_timer);
        wr_evsend_destroy(&s->es);
        wr_client_destroy(&s->cli);
        wr_store_destroy(&s->store);
        wr_encoder_destroy(&s->enc);
    }
    char cmd[300];
    if (getenv("KEEP_TEST_DIR"))
        fprintf(stderr, "kept %s\n", g_dir);
    else {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        if (system(cmd) != 0)
            return -1;
    }
    ev_loop_destroy(g_loop);
    zmq_ctx_term(g_zctx);
    curl_global_cleanup();
    return 0;
}

static void test_daemons_present(void **state)
{
    (void)state;
    char p1[1200], p2[1200];
    snprintf(p1, sizeof p1, "%s/warren-relay", g_bin);
    snprintf(p2, sizeof p2, "%s/warren-root", g_bin);
    if (access(p1, X_OK) != 0 || access(p2, X_OK) != 0) {
        print_message("warren-relay / warren-root not built in %s: skipped\n", g_bin);
        skip();
    }
    test_kill_relay_zero_loss(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daemons_present),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
