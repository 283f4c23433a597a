/* test_root_north: the root's northbound pushes (root/root_http_north.h) over real sockets:
 * a libmicrohttpd receiver (its own thread) stands in for Alertmanager and the webhook, UDP
 * sockets for syslog and GELF. The pushes run on a libev loop in the main thread; every wait
 * runs that loop until a condition holds or a deadline passes. Ports 26000-26999. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "root_http_north.h"
#include "root_http_north_int.h"
#include "test_util.h"
#include "wr_error.h"
#include "wr_time.h"

static int port_base(void)
{
    return 26100 + (int)(getpid() % 80) * 10;
}

/* ---- HTTP receiver ------------------------------------------------------------------- */
#define RX_MAX 64
typedef struct {
    struct MHD_Daemon *d;
    pthread_mutex_t    mu;
    char              *body[RX_MAX];
    char               path[RX_MAX][128];
    int                n;
    unsigned           status;      /* answer */
} rx_t;

typedef struct {
    char  *buf;
    size_t len;
} post_t;

static enum MHD_Result rx_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **con_cls)
{
    (void)version;
    rx_t *rx = cls;
    post_t *p = *con_cls;
    if (!p) {
        p = calloc(1, sizeof *p);
        *con_cls = p;
        return MHD_YES;
    }
    if (*size) {
        char *nb = realloc(p->buf, p->len + *size + 1);
        if (!nb)
            return MHD_NO;
        p->buf = nb;
        memcpy(p->buf + p->len, data, *size);
        p->len += *size;
        p->buf[p->len] = 0;
        *size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&rx->mu);
    if (rx->n < RX_MAX && strcmp(method, "POST") == 0) {
        rx->body[rx->n] = p->buf ? p->buf : strdup("");
        snprintf(rx->path[rx->n], sizeof rx->path[0], "%s", url);
        p->buf = NULL;
        rx->n++;
    }
    unsigned st = rx->status;
    pthread_mutex_unlock(&rx->mu);
    struct MHD_Response *r = MHD_create_response_from_buffer(2, (void *)"{}", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(conn, st, r);
    MHD_destroy_response(r);
    return ret;
}

static void rx_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
    (void)cls;
    (void)c;
    (void)t;
    post_t *p = *con_cls;
    if (p) {
        free(p->buf);
        free(p);
    }
    *con_cls = NULL;
}

static rx_t *rx_start(int port, unsigned status)
{
    rx_t *rx = calloc(1, sizeof *rx);
    pthread_mutex_init(&rx->mu, NULL);
    rx->status = status;
    rx->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL,
                             rx_handler, rx, MHD_OPTION_NOTIFY_COMPLETED, rx_done, rx, MHD_OPTION_END);
    assert_non_null(rx->d);
    return rx;
}

static int rx_count(rx_t *rx)
{
    pthread_mutex_lock(&rx->mu);
    int n = rx->n;
    pthread_mutex_unlock(&rx->mu);
    return n;
}

static json_t *rx_json(rx_t *rx, int i)
{
    pthread_mutex_lock(&rx->mu);
    json_t *j = i < rx->n ? json_loads(rx->body[i], 0, NULL) : NULL;
    pthread_mutex_unlock(&rx->mu);
    assert_non_null(j);
    return j;
}

static void rx_stop(rx_t **prx)
{
    rx_t *rx = *prx;
    MHD_stop_daemon(rx->d);
    for (int i = 0; i < rx->n; i++)
        free(rx->body[i]);
    pthread_mutex_destroy(&rx->mu);
    free(rx);
    *prx = NULL;
}

typedef struct {
    rx_t *rx;
    int   n;
} rxn_t;
static int rx_has(void *ud)
{
    rxn_t *c = ud;
    return rx_count(c->rx) >= c->n;
}

static root_north_target_t target(root_north_t *nb, size_t i)
{
    root_north_target_t t;
    assert_int_equal(root_north_target(nb, i, &t), 0);
    return t;
}

typedef struct {
    root_north_t *nb;
    uint64_t      pushed, failed, retried, queued_zero;
} tgt_cond_t;
static int tgt_reached(void *ud)
{
    tgt_cond_t *c = ud;
    root_north_target_t t = target(c->nb, 0);
    return t.pushed >= c->pushed && t.failed >= c->failed && t.retried >= c->retried &&
           (!c->queued_zero || t.queued == 0);
}

/* ---- events -------------------------------------------------------------------------- */
static void make_alarm(wr_alarm_t *a, int sev, int64_t raised, int64_t cleared)
{
    memset(a, 0, sizeof *a);
    wr_alarm_key_set(&a->key, "a@h1", "process_limit", "procs");
    a->severity = sev;
    snprintf(a->text, sizeof a->text, "processes at %d%%", sev == WR_SEV_MAJOR ? 90 : 75);
    snprintf(a->origin, sizeof a->origin, "leaf-1");
    a->raised_ms = raised;
    a->changed_ms = cleared ? cleared : raised;
    a->cleared_ms = cleared;
    a->count = 1;
}

static void make_alarm_event(wr_event_t *ev, const wr_alarm_t *a, uint64_t seq)
{
    memset(ev, 0, sizeof *ev);
    ev->kind = WR_MSG_ALARM;
    snprintf(ev->id.origin, sizeof ev->id.origin, "leaf-1");
    ev->id.epoch = 1;
    ev->id.seq = seq;
    ev->alarm.key = a->key;
    ev->alarm.severity = a->severity;
    ev->alarm.at_ms = a->changed_ms;
}

/* Hands nb a new minor process_limit alarm (event seq seq). */
static void push_minor(root_north_t *nb, uint64_t seq)
{
    wr_alarm_t a;
    wr_event_t ev;
    make_alarm(&a, WR_SEV_MINOR, 1763890000000LL, 0);
    make_alarm_event(&ev, &a, seq);
    root_north_event(nb, &ev, WR_ALARM_NEW, &a);
}

static root_north_t *north_new(struct ev_loop *loop, const char *am, const char *hook, size_t qmax,
                               const char *root_id)
{
    const char *ams[2] = {am, NULL}, *hooks[2] = {hook, NULL};
    root_north_params_t p = {.alertmanager = am ? ams : NULL, .webhook = hook ? hooks : NULL,
                             .root_id = root_id, .resend_s = 60, .timeout_s = 2, .backoff_min_s = 0.05,
                             .backoff_max_s = 0.2, .queue_max = qmax};
    char err[256];
    root_north_t *nb = root_north_new(loop, &p, err, sizeof err);
    assert_non_null(nb);
    return nb;
}

/* ---- tests --------------------------------------------------------------------------- */

static void test_alertmanager_payload(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(0);
    int port = port_base();
    rx_t *rx = rx_start(port, 200);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    root_north_t *nb = north_new(loop, url, NULL, 100, "root-a");
    int64_t t0 = 1763890000000LL;
    wr_alarm_t a;
    wr_event_t ev;
    make_alarm(&a, WR_SEV_MINOR, t0, 0);
    make_alarm_event(&ev, &a, 1);
    int64_t before = wr_wall_ms();
    root_north_event(nb, &ev, WR_ALARM_NEW, &a);
    rxn_t c = {rx, 1};
    assert_true(tu_run_until(loop, rx_has, &c, 5000));
    assert_string_equal(rx->path[0], "/api/v2/alerts");
    json_t *j = rx_json(rx, 0);
    assert_true(json_is_array(j));
    assert_int_equal(json_array_size(j), 1);
    json_t *al = json_array_get(j, 0), *lb = json_object_get(al, "labels");
    assert_string_equal(json_string_value(json_object_get(lb, "alertname")), "process_limit");
    assert_string_equal(json_string_value(json_object_get(lb, "scope")), "a@h1");
    assert_string_equal(json_string_value(json_object_get(lb, "resource")), "procs");
    assert_string_equal(json_string_value(json_object_get(lb, "severity")), "minor");
    assert_int_equal(json_object_size(lb), 4);      /* no root id among the labels */
    json_t *an = json_object_get(al, "annotations");
    assert_string_equal(json_string_value(json_object_get(an, "warren_root")), "root-a");
    assert_string_equal(json_string_value(json_object_get(an, "summary")), "processes at 75%");
    assert_string_equal(json_string_value(json_object_get(al, "startsAt")), "2025-11-23T09:26:40.000Z");
    /* endsAt = now + 3 x 60 s, in the future */
    const char *ends = json_string_value(json_object_get(al, "endsAt"));
    assert_non_null(ends);
    struct tm tm = {0};
    assert_non_null(strptime(ends, "%Y-%m-%dT%H:%M:%S", &tm));
    int64_t ends_ms = (int64_t)timegm(&tm) * 1000;
    assert_true(ends_ms >= before + 170000 && ends_ms <= wr_wall_ms() + 181000);
    json_decref(j);

    /* cleared: resolved under every severity, endsAt = the clear time */
    make_alarm(&a, WR_SEV_CLEARED, t0, t0 + 5000);
    make_alarm_event(&ev, &a, 2);
    root_north_event(nb, &ev, WR_ALARM_CLEARED, &a);
    c.n = 2;
    assert_true(tu_run_until(loop, rx_has, &c, 5000));
    j = rx_json(rx, 1);
    assert_int_equal(json_array_size(j), 5);
    int saw_minor = 0;
    for (size_t i = 0; i < 5; i++) {
        json_t *x = json_array_get(j, i);
        assert_string_equal(json_string_value(json_object_get(x, "endsAt")), "2025-11-23T09:26:45.000Z");
        saw_minor |= strcmp(json_string_value(json_object_get(json_object_get(x, "labels"), "severity")), "minor") == 0;
    }
    assert_true(saw_minor);
    json_decref(j);
    tgt_cond_t tc = {.nb = nb, .pushed = 6, .queued_zero = 1};
    assert_true(tu_run_until(loop, tgt_reached, &tc, 5000));
    root_north_target_t t = target(nb, 0);
    assert_string_equal(t.kind, "alertmanager");
    assert_int_equal(t.failed, 0);
    assert_int_equal(t.dropped, 0);

    /* the counters in /metrics and status */
    rh_buf_t b;
    rh_buf_init(&b);
    rh_north_prometheus(nb, &b);
    rh_north_status_json(nb, &b);
    assert_false(b.oom);
    assert_non_null(strstr(b.buf, "warren_northbound_pushed_total{kind=\"alertmanager\",dest=\"http://127.0.0.1:"));
    assert_non_null(strstr(b.buf, "\"northbound\":[{\"kind\":\"alertmanager\""));
    assert_non_null(strstr(b.buf, "\"pushed\":6,"));
    rh_buf_free(&b);
    root_north_destroy(&nb);
    assert_null(nb);
    rx_stop(&rx);
    ev_loop_destroy(loop);
}

static int alarms_one(void *ud, wr_alarm_visit_fn fn, void *fn_ud)
{
    return fn(fn_ud, ud);
}

/* Two roots re-pushing the same active alarm send identical labels (Alertmanager keeps one). */
static void test_resend_pair_identical_labels(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(0);
    int port = port_base() + 1;
    rx_t *rx = rx_start(port, 200);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    wr_alarm_t a;
    make_alarm(&a, WR_SEV_MAJOR, 1763890000000LL, 0);
    const char *ams[2] = {url, NULL};
    root_north_t *nb[2];
    for (int i = 0; i < 2; i++) {
        root_north_params_t p = {.alertmanager = ams, .root_id = i ? "root-b" : "root-a", .resend_s = 60,
                                 .alarms = alarms_one, .alarms_ud = &a};
        char err[256];
        nb[i] = root_north_new(loop, &p, err, sizeof err);
        assert_non_null(nb[i]);
        root_north_resend(nb[i]);
    }
    rxn_t c = {rx, 2};
    assert_true(tu_run_until(loop, rx_has, &c, 5000));
    json_t *j0 = rx_json(rx, 0), *j1 = rx_json(rx, 1);
    json_t *l0 = json_object_get(json_array_get(j0, 0), "labels");
    json_t *l1 = json_object_get(json_array_get(j1, 0), "labels");
    assert_true(json_equal(l0, l1));
    assert_string_equal(json_string_value(json_object_get(l0, "severity")), "major");
    assert_false(json_equal(json_object_get(json_array_get(j0, 0), "annotations"),
                            json_object_get(json_array_get(j1, 0), "annotations")));
    json_decref(j0);
    json_decref(j1);
    root_north_destroy(&nb[0]);
    root_north_destroy(&nb[1]);
    rx_stop(&rx);
    ev_loop_destroy(loop);
}

static void test_webhook_changes(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(0);
    int port = port_base() + 2;
    rx_t *rx = rx_start(port, 204);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook/x", port);
    root_north_t *nb = north_new(loop, NULL, url, 100, "root-a");
    wr_alarm_t a;
    wr_event_t ev;
    make_alarm(&a, WR_SEV_MINOR, 1763890000000LL, 0);
    make_alarm_event(&ev, &a, 7);
    root_north_event(nb, &ev, WR_ALARM_NEW, &a);
    make_alarm(&a, WR_SEV_MAJOR, 1763890000000LL, 0);
    a.count = 2;
    root_north_event(nb, &ev, WR_ALARM_UPDATED, &a);
    root_north_event(nb, &ev, WR_ALARM_NOOP, &a);    /* ignored */
    make_alarm(&a, WR_SEV_CLEARED, 1763890000000LL, 1763890009000LL);
    root_north_event(nb, &ev, WR_ALARM_CLEARED, &a);
    rxn_t c = {rx, 3};
    assert_true(tu_run_until(loop, rx_has, &c, 5000));
    static const char *const changes[3] = {"new", "updated", "cleared"};
    static const char *const sevs[3] = {"minor", "major", "cleared"};
    for (int i = 0; i < 3; i++) {
        json_t *j = rx_json(rx, i);
        assert_string_equal(rx->path[i], "/hook/x");
        assert_true(json_is_object(j));
        assert_string_equal(json_string_value(json_object_get(j, "change")), changes[i]);
        assert_string_equal(json_string_value(json_object_get(j, "severity")), sevs[i]);
        assert_string_equal(json_string_value(json_object_get(j, "type")), "process_limit");
        assert_string_equal(json_string_value(json_object_get(j, "root")), "root-a");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "event"), "seq")), 7);
        json_decref(j);
    }
    tgt_cond_t tc = {.nb = nb, .pushed = 3, .queued_zero = 1};
    assert_true(tu_run_until(loop, tgt_reached, &tc, 5000));
    assert_int_equal(rx_count(rx), 3);
    root_north_destroy(&nb);
    rx_stop(&rx);
    ev_loop_destroy(loop);
}

/* The receiver is down: attempts fail and are retried with backoff; once it is up, the
 * queued alert is delivered. */
static void test_retry_after_receiver_returns(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(0);
    int port = port_base() + 3;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    root_north_t *nb = north_new(loop, url, NULL, 100, "root-a");
    push_minor(nb, 1);
    tgt_cond_t tc = {.nb = nb, .failed = 3, .retried = 2};
    assert_true(tu_run_until(loop, tgt_reached, &tc, 5000));
    root_north_target_t t = target(nb, 0);
    assert_int_equal(t.pushed, 0);
    assert_int_equal(t.queued, 1);
    assert_non_null(strstr(t.last_error, "connect"));
    rx_t *rx = rx_start(port, 200);
    tc = (tgt_cond_t){.nb = nb, .pushed = 1, .queued_zero = 1};
    assert_true(tu_run_until(loop, tgt_reached, &tc, 5000));
    assert_int_equal(rx_count(rx), 1);
    t = target(nb, 0);
    assert_true(t.retried >= 3);
    assert_true(t.last_ok_ms > 0);
    root_north_destroy(&nb);
    rx_stop(&rx);
    ev_loop_destroy(loop);
}

/* A 5xx is retried; a 4xx is not (counted as rejected). */
static void test_server_errors(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(0);
    int port = port_base() + 4;
    rx_t *rx = rx_start(port, 503);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/h", port);
    root_north_t *nb = north_new(loop, NULL, url, 100, "root-a");
    push_minor(nb, 1);
    tgt_cond_t tc = {.nb = nb, .failed = 2, .retried = 1};
    assert_true(tu_run_until(loop, tgt_reached, &tc, 5000));
    assert_string_equal(target(nb, 0).last_error, "HTTP 503");
    pthread_mutex_lock(&rx->mu);
    rx->status = 400;
    pthread_mutex_unlock(&rx->mu);
    int64_t deadline = wr_mono_ms() + 5000;
    while (target(nb, 0).rejected == 0 && wr_mono_ms() < deadline)
        ev_run(loop, EVRUN_ONCE);
    root_north_target_t t = target(nb, 0);
    assert_int_equal(t.rejected, 1);
    assert_int_equal(t.queued, 0);
    assert_int_equal(t.pushed, 0);
    root_north_destroy(&nb);
    rx_stop(&rx);
    ev_loop_destroy(loop);
}

static void test_queue_overflow(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(0);
    int port = port_base() + 5;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/h", port);
    root_north_t *nb = north_new(loop, NULL, url, 3, "root-a");
    for (uint64_t i = 1; i <= 10; i++)
        push_minor(nb, i);
    root_north_target_t t = target(nb, 0);
    assert_int_equal(t.queued, 3);
    assert_int_equal(t.dropped, 7);
    rx_t *rx = rx_start(port, 200);
    tgt_cond_t tc = {.nb = nb, .pushed = 3, .queued_zero = 1};
    assert_true(tu_run_until(loop, tgt_reached, &tc, 5000));
    assert_int_equal(rx_count(rx), 3);
    json_t *j = rx_json(rx, 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "event"), "seq")), 3);
    json_decref(j);
    root_north_destroy(&nb);
    rx_stop(&rx);
    ev_loop_destroy(loop);
}

static int udp_bind(int port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static ssize_t udp_recv(int fd, char *buf, size_t cap)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 5000), 1);
    ssize_t n = recv(fd, buf, cap - 1, 0);
    assert_true(n > 0);
    buf[n] = 0;
    return n;
}

static void test_syslog_gelf(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(0);
    int sport = port_base() + 6, gport = port_base() + 7;
    int sfd = udp_bind(sport), gfd = udp_bind(gport);
    root_north_params_t p = {.syslog_host = "127.0.0.1", .syslog_port = sport, .syslog_facility = 16,
                             .gelf_host = "127.0.0.1", .gelf_port = gport, .root_id = "root-a"};
    char err[256];
    root_north_t *nb = root_north_new(loop, &p, err, sizeof err);
    assert_non_null(nb);
    assert_int_equal(root_north_count(nb), 2);
    wr_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = WR_MSG_NOTIF;
    snprintf(ev.id.origin, sizeof ev.id.origin, "leaf-1");
    snprintf(ev.notif.node, sizeof ev.notif.node, "app@host1");
    snprintf(ev.notif.type, sizeof ev.notif.type, "code_loaded");
    snprintf(ev.notif.leaf, sizeof ev.notif.leaf, "leaf-1");
    snprintf(ev.notif.fields, sizeof ev.notif.fields, "{\"module\":\"m\",\"md5\":\"ab]\\\"c\",\"n\":3,\"ok\":true}");
    ev.notif.severity = WR_SEV_MAJOR;
    ev.notif.at_ms = 1763890000123LL;
    root_north_event(nb, &ev, 0, NULL);
    char buf[9000];
    udp_recv(sfd, buf, sizeof buf);
    /* PRI = local0 (16) * 8 + err (3) = 131 */
    assert_string_equal(buf + strlen(buf) - strlen(ev.notif.fields), ev.notif.fields);
    const char *head = "<131>1 2025-11-23T09:26:40.123Z host1 warren root-a code_loaded [warren@32473 node=\"app@host1\" type=\"code_loaded\" severity=\"major\" leaf=\"leaf-1\" origin=\"leaf-1\"] ";
    assert_int_equal(strncmp(buf, head, strlen(head)), 0);
    udp_recv(gfd, buf, sizeof buf);
    json_t *g = json_loads(buf, 0, NULL);
    assert_non_null(g);
    assert_string_equal(json_string_value(json_object_get(g, "version")), "1.1");
    assert_string_equal(json_string_value(json_object_get(g, "host")), "app@host1");
    assert_string_equal(json_string_value(json_object_get(g, "short_message")), "code_loaded on app@host1");
    assert_int_equal(json_integer_value(json_object_get(g, "level")), 3);
    assert_true(json_real_value(json_object_get(g, "timestamp")) > 1763890000.1);
    assert_string_equal(json_string_value(json_object_get(g, "_module")), "m");
    assert_int_equal(json_integer_value(json_object_get(g, "_n")), 3);
    assert_string_equal(json_string_value(json_object_get(g, "_ok")), "true");
    assert_string_equal(json_string_value(json_object_get(g, "full_message")), ev.notif.fields);
    json_decref(g);
    assert_int_equal(target(nb, 0).pushed, 1);
    assert_int_equal(target(nb, 1).pushed, 1);

    /* a huge notification stays under 8 KiB for GELF and syslog */
    char *f = ev.notif.fields;
    size_t o = (size_t)snprintf(f, WR_NOTIF_FIELDS_MAX, "{\"text\":\"");
    while (o < WR_NOTIF_FIELDS_MAX - 10)
        f[o++] = 'x';
    snprintf(f + o, WR_NOTIF_FIELDS_MAX - o, "\"}");
    root_north_event(nb, &ev, 0, NULL);
    assert_true(udp_recv(sfd, buf, sizeof buf) <= NU_DGRAM_MAX - 1);
    assert_true(udp_recv(gfd, buf, sizeof buf) <= NU_DGRAM_MAX - 1);
    g = json_loads(buf, 0, NULL);
    assert_non_null(g);
    assert_true(json_is_true(json_object_get(g, "_truncated")));
    json_decref(g);
    root_north_destroy(&nb);
    close(sfd);
    close(gfd);
    ev_loop_destroy(loop);
}

static void test_bad_targets(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(0);
    char err[256];
    const char *bad[2] = {"https://example.invalid", NULL};
    root_north_params_t p = {.alertmanager = bad};
    assert_null(root_north_new(loop, &p, err, sizeof err));
    assert_non_null(strstr(err, "only http://"));
    const char *bad2[2] = {"http://127.0.0.1:99999/x", NULL};
    p.alertmanager = NULL;
    p.webhook = bad2;
    assert_null(root_north_new(loop, &p, err, sizeof err));
    assert_non_null(strstr(err, "bad host or port"));
    root_north_params_t none = {0};
    root_north_t *nb = root_north_new(loop, &none, err, sizeof err);
    assert_non_null(nb);
    assert_int_equal(root_north_count(nb), 0);
    root_north_destroy(&nb);
    ev_loop_destroy(loop);
}

/* A host name is resolved once, at start-up, and pinned: pushes to it never wait for DNS. */
static void test_url_parse_and_pinned_name(void **state)
{
    (void)state;
    nh_url_t u;
    char err[256];
    assert_int_equal(nh_url_parse("http://localhost:9093/prefix//", "/api/v2/alerts", &u, err, sizeof err), 0);
    assert_string_equal(u.url, "http://localhost:9093/prefix/api/v2/alerts");
    assert_string_equal(u.resolve, "localhost:9093:127.0.0.1");
    assert_int_equal(nh_url_parse("http://127.0.0.1:9093/api/v2/alerts/", "/api/v2/alerts", &u, err, sizeof err), 0);
    assert_string_equal(u.url, "http://127.0.0.1:9093/api/v2/alerts");
    assert_int_equal(nh_url_parse("http://[::1]:8080/h?x=1", NULL, &u, err, sizeof err), 0);
    assert_string_equal(u.url, "http://[::1]:8080/h?x=1");
    assert_string_equal(u.resolve, "");
    assert_int_equal(nh_url_parse("http://[::1/h", NULL, &u, err, sizeof err), WR_EINVAL);
    assert_int_equal(nh_url_parse("http://h/a b", NULL, &u, err, sizeof err), WR_EINVAL);

    struct ev_loop *loop = ev_loop_new(0);
    int port = port_base() + 8;
    rx_t *rx = rx_start(port, 200);
    char url[64];
    snprintf(url, sizeof url, "http://localhost:%d/hook", port);
    root_north_t *nb = north_new(loop, NULL, url, 100, "root-a");
    for (uint64_t i = 1; i <= 3; i++)    /* three POSTs on one kept-alive connection */
        push_minor(nb, i);
    tgt_cond_t tc = {.nb = nb, .pushed = 3, .queued_zero = 1};
    assert_true(tu_run_until(loop, tgt_reached, &tc, 5000));
    assert_int_equal(rx_count(rx), 3);
    assert_string_equal(rx->path[2], "/hook");
    assert_int_equal(target(nb, 0).failed, 0);
    root_north_destroy(&nb);
    rx_stop(&rx);
    ev_loop_destroy(loop);
}

/* A receiver that takes the connection and never answers: each attempt times out, is counted
 * as failed and retried after the backoff; the item stays queued. */
static void test_timeout_retried(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(0);
    int port = port_base() + 9;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(lfd >= 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(lfd, 8), 0);    /* never accepted: the kernel completes connects */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/h", port);
    const char *hooks[2] = {url, NULL};
    root_north_params_t p = {.webhook = hooks, .root_id = "root-a", .timeout_s = 0.2,
                             .backoff_min_s = 0.05, .backoff_max_s = 0.1, .queue_max = 10};
    char err[256];
    root_north_t *nb = root_north_new(loop, &p, err, sizeof err);
    assert_non_null(nb);
    push_minor(nb, 1);
    tgt_cond_t tc = {.nb = nb, .failed = 2, .retried = 1};
    assert_true(tu_run_until(loop, tgt_reached, &tc, 5000));
    root_north_target_t t = target(nb, 0);
    assert_int_equal(t.pushed, 0);
    assert_int_equal(t.queued, 1);
    assert_non_null(strstr(t.last_error, "timed out"));
    root_north_destroy(&nb);
    close(lfd);
    ev_loop_destroy(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alertmanager_payload),
        cmocka_unit_test(test_resend_pair_identical_labels),
        cmocka_unit_test(test_webhook_changes),
        cmocka_unit_test(test_retry_after_receiver_returns),
        cmocka_unit_test(test_server_errors),
        cmocka_unit_test(test_queue_overflow),
        cmocka_unit_test(test_syslog_gelf),
        cmocka_unit_test(test_bad_targets),
        cmocka_unit_test(test_url_parse_and_pinned_name),
        cmocka_unit_test(test_timeout_retried),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
