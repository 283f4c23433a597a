/* root_http_north: the root's northbound pushes (see root_http_north.h): per-target bounded
 * queues, the Alertmanager / webhook payloads, retry with exponential backoff, the periodic
 * re-push of active alarms, the UDP sends to syslog / GELF, and the counters. The HTTP POSTs
 * (libcurl on the loop) are root_http_north_post.c, the datagram formats root_http_north_udp.c. */
#include <errno.h>
#include <stdarg.h>
#include <jansson.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "root_http_north.h"
#include "root_http_north_int.h"
#include "wr_error.h"
#include "wr_time.h"

#define AM_BATCH_MAX 64          /* alerts per POST to Alertmanager */

enum { K_AM, K_HOOK, K_SYSLOG, K_GELF };
static const char *const kind_names[] = {"alertmanager", "webhook", "syslog", "gelf"};

typedef struct {
    json_t *obj;
    int     active;              /* Alertmanager alert whose endsAt is set when sent */
} item_t;

typedef struct {
    struct root_north *north;
    int       kind;
    char      dest[NH_URL_MAX];
    nh_url_t  url;
    nh_conn_t conn;
    item_t   *q;                 /* ring of queue_max items */
    size_t    qhead, qlen, inflight;
    ev_timer  backoff;
    double    backoff_s;         /* current delay; 0 after a success */
    int       fd;                /* UDP */
    int       resend_ok;
    uint64_t  pushed, failed, retried, dropped, rejected;
    int64_t   last_ok_ms;
    char      last_error[160];
} target_t;

struct root_north {
    struct ev_loop     *loop;
    root_north_params_t p;
    char                root_id[WR_ID_MAX];
    char                generator_url[512];
    target_t           *t;
    size_t              n, cap;
    ev_timer            resend;
    nh_multi_t         *multi;
    char                dgram[NU_DGRAM_MAX];
};

static void rfc3339(int64_t ms, char *out, size_t cap)
{
    if (ms < 0)
        ms = 0;
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char b[32];
    strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%03dZ", b, (int)(ms % 1000));
}

/* ---- queues and HTTP delivery ------------------------------------------------------- */

static item_t *q_at(target_t *t, size_t i)
{
    return &t->q[(t->qhead + i) % t->north->p.queue_max];
}

static void q_push(target_t *t, json_t *obj, int active)
{
    if (!obj)
        return;
    if (t->qlen >= t->north->p.queue_max) {
        t->dropped++;
        json_decref(obj);
        return;
    }
    item_t *it = q_at(t, t->qlen);
    it->obj = obj;
    it->active = active;
    t->qlen++;
}

static void q_pop(target_t *t, size_t n)
{
    for (size_t i = 0; i < n && t->qlen > 0; i++) {
        json_decref(t->q[t->qhead].obj);
        t->q[t->qhead].obj = NULL;
        t->qhead = (t->qhead + 1) % t->north->p.queue_max;
        t->qlen--;
    }
}

static void set_error(target_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(target_t *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->last_error, sizeof t->last_error, fmt, ap);
    va_end(ap);
}

static void start_backoff(target_t *t)
{
    const root_north_params_t *p = &t->north->p;
    t->backoff_s = t->backoff_s <= 0 ? p->backoff_min_s : t->backoff_s * 2;
    if (t->backoff_s > p->backoff_max_s)
        t->backoff_s = p->backoff_max_s;
    ev_timer_set(&t->backoff, t->backoff_s, 0.);
    ev_timer_start(t->north->loop, &t->backoff);
}

/* Sends the head of the queue if the target is idle (no request running, not backing off). */
static void kick(target_t *t)
{
    if (t->qlen == 0 || nh_conn_busy(&t->conn) || ev_is_active(&t->backoff))
        return;
    json_t *body;
    if (t->kind == K_AM) {
        char ends[40];
        rfc3339(wr_wall_ms() + (int64_t)(3 * t->north->p.resend_s * 1000), ends, sizeof ends);
        body = json_array();
        size_t n = t->qlen < AM_BATCH_MAX ? t->qlen : AM_BATCH_MAX;
        for (size_t i = 0; body && i < n; i++) {
            item_t *it = q_at(t, i);
            json_t *a = json_copy(it->obj);   /* shallow: endsAt is set on the copy only */
            if (a && it->active)
                json_object_set_new(a, "endsAt", json_string(ends));
            json_array_append_new(body, a);
        }
        t->inflight = n;
    } else {
        body = json_incref(q_at(t, 0)->obj);
        t->inflight = 1;
    }
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    int rc = text ? nh_conn_post(&t->conn, text, strlen(text)) : WR_ENOMEM;   /* takes text */
    if (rc != 0) {
        t->failed++;
        set_error(t, "cannot send: %s", wr_strerror(rc));
        t->inflight = 0;
        start_backoff(t);
    }
}

static void on_done(void *ud, int status, const char *err)
{
    target_t *t = ud;
    size_t n = t->inflight;
    t->inflight = 0;
    if (status >= 200 && status < 300) {
        q_pop(t, n);
        t->pushed += n;
        t->backoff_s = 0;
        t->last_ok_ms = wr_wall_ms();
        kick(t);
    } else if (status >= 400 && status < 500 && status != 408 && status != 429) {
        q_pop(t, n);             /* the receiver refuses them: resending would not help */
        t->rejected += n;
        set_error(t, "rejected: HTTP %d", status);
        kick(t);
    } else {
        t->failed++;
        if (status)
            set_error(t, "HTTP %d", status);
        else
            set_error(t, "%s", err ? err : "failed");
        start_backoff(t);
    }
}

static void on_backoff(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    target_t *t = w->data;
    if (t->qlen > 0)
        t->retried++;
    kick(t);
}

/* ---- payloads ------------------------------------------------------------------------ */

static json_t *am_alert(root_north_t *nb, const wr_alarm_t *a, int sev, int64_t end_ms)
{
    char starts[40], ends[40], count[16];
    rfc3339(a->raised_ms, starts, sizeof starts);
    snprintf(count, sizeof count, "%u", (unsigned)a->count);
    json_t *labels = json_pack("{s:s, s:s, s:s}", "alertname", a->key.type, "scope", a->key.scope,
                               "severity", wr_alarm_severity_name(sev));
    if (labels && a->key.resource[0])
        json_object_set_new(labels, "resource", json_string(a->key.resource));
    json_t *ann = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "summary", a->text, "warren_root", nb->root_id,
                            "origin", a->origin, "count", count, "acked", a->acked ? "true" : "false",
                            "suppressed", a->suppressed ? "true" : "false");
    json_t *o = json_pack("{s:o, s:o, s:s}", "labels", labels, "annotations", ann, "startsAt", starts);
    if (o && end_ms > 0) {
        rfc3339(end_ms, ends, sizeof ends);
        json_object_set_new(o, "endsAt", json_string(ends));
    }
    if (o && nb->generator_url[0])
        json_object_set_new(o, "generatorURL", json_string(nb->generator_url));
    return o;
}

/* Queues alarm a for every Alertmanager target: active (sev = a->severity) or resolved for
 * the severities in mask (bit s = severity s) at end_ms. */
static void am_queue(root_north_t *nb, const wr_alarm_t *a, int active, unsigned resolved_mask,
                     int64_t end_ms, int resend)
{
    for (size_t i = 0; i < nb->n; i++) {
        target_t *t = &nb->t[i];
        if (t->kind != K_AM || (resend && !t->resend_ok))
            continue;
        if (active)
            q_push(t, am_alert(nb, a, a->severity, 0), 1);
        for (int s = WR_SEV_INDETERMINATE; s <= WR_SEV_CRITICAL; s++)
            if (resolved_mask & (1u << s))
                q_push(t, am_alert(nb, a, s, end_ms), 0);
        kick(t);
    }
}

static json_t *hook_change(root_north_t *nb, const wr_event_t *ev, int change, const wr_alarm_t *a)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:b, s:b}",
                          "change", wr_alarm_change_name(change), "root", nb->root_id,
                          "scope", a->key.scope, "type", a->key.type, "resource", a->key.resource,
                          "severity", wr_alarm_severity_name(a->severity), "text", a->text,
                          "origin", a->origin, "raised_at", (json_int_t)a->raised_ms,
                          "changed_at", (json_int_t)a->changed_ms, "cleared_at", (json_int_t)a->cleared_ms,
                          "count", (json_int_t)a->count, "suppressed", a->suppressed ? 1 : 0,
                          "acked", a->acked ? 1 : 0);
    if (o && a->acked)
        json_object_set_new(o, "acked_by", json_string(a->acked_by));
    if (o && ev)
        json_object_set_new(o, "event", json_pack("{s:s, s:I, s:I, s:I}", "origin", ev->id.origin,
                                                  "epoch", (json_int_t)ev->id.epoch, "seq",
                                                  (json_int_t)ev->id.seq, "at", (json_int_t)ev->alarm.at_ms));
    return o;
}

static void udp_send(root_north_t *nb, target_t *t, const wr_event_t *ev)
{
    size_t len = t->kind == K_SYSLOG
                     ? nu_syslog_format(&ev->notif, ev->id.origin, nb->p.syslog_facility, nb->root_id,
                                        nb->dgram, sizeof nb->dgram)
                     : nu_gelf_format(&ev->notif, ev->id.origin, nb->root_id, nb->dgram, sizeof nb->dgram);
    if (len == 0) {
        t->failed++;
        set_error(t, "cannot format the notification");
        return;
    }
    ssize_t n = sendto(t->fd, nb->dgram, len, MSG_DONTWAIT | MSG_NOSIGNAL,
                       (const struct sockaddr *)&t->url.addr, t->url.addrlen);
    if (n == (ssize_t)len) {
        t->pushed++;
        t->last_ok_ms = wr_wall_ms();
    } else if (n < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
        t->dropped++;
    } else {
        t->failed++;
        set_error(t, "sendto: %s", n < 0 ? strerror(errno) : "short write");
    }
}

void root_north_event(root_north_t *nb, const wr_event_t *ev, int change, const wr_alarm_t *alarm)
{
    if (!nb || !ev)
        return;
    if (ev->kind == WR_MSG_NOTIF) {
        for (size_t i = 0; i < nb->n; i++)
            if (nb->t[i].kind == K_SYSLOG || nb->t[i].kind == K_GELF)
                udp_send(nb, &nb->t[i], ev);
        return;
    }
    if (!alarm || (change != WR_ALARM_NEW && change != WR_ALARM_UPDATED && change != WR_ALARM_CLEARED))
        return;
    for (size_t i = 0; i < nb->n; i++)
        if (nb->t[i].kind == K_HOOK) {
            q_push(&nb->t[i], hook_change(nb, ev, change, alarm), 0);
            kick(&nb->t[i]);
        }
    unsigned all = 0x3e;   /* severities 1..5 */
    if (change == WR_ALARM_CLEARED) {
        int64_t end = alarm->cleared_ms > 0 ? alarm->cleared_ms : wr_wall_ms();
        am_queue(nb, alarm, 0, all, end, 0);
    } else {
        /* The severity is a label: after an update, the alert under any other severity ends. */
        unsigned others = change == WR_ALARM_UPDATED ? all & ~(1u << alarm->severity) : 0;
        am_queue(nb, alarm, !alarm->suppressed, others, alarm->changed_ms > 0 ? alarm->changed_ms : wr_wall_ms(), 0);
    }
}

static int resend_one(void *ud, const wr_alarm_t *a)
{
    if (!a->suppressed && a->severity != WR_SEV_CLEARED)
        am_queue(ud, a, 1, 0, 0, 1);
    return 0;
}

void root_north_resend(root_north_t *nb)
{
    if (!nb || !nb->p.alarms)
        return;
    int any = 0;
    for (size_t i = 0; i < nb->n; i++) {
        /* A target still working through its queue (e.g. down) gets no duplicate copies. */
        nb->t[i].resend_ok = nb->t[i].kind == K_AM && nb->t[i].qlen == 0;
        any |= nb->t[i].resend_ok;
    }
    if (any)
        nb->p.alarms(nb->p.alarms_ud, resend_one, nb);
}

static void on_resend(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    root_north_resend(w->data);
}

/* ---- life cycle ---------------------------------------------------------------------- */

static int add_http(root_north_t *nb, int kind, const char *url, char *err, size_t errlen)
{
    target_t *t = &nb->t[nb->n];
    char why[400];
    /* A base URL ("http://am:9093", ".../prefix/") gets Alertmanager's path appended. */
    int rc = nh_url_parse(url, kind == K_AM ? "/api/v2/alerts" : NULL, &t->url, why, sizeof why);
    if (rc != 0) {
        snprintf(err, errlen, "%s %s", kind_names[kind], why);
        return rc;
    }
    t->q = calloc(nb->p.queue_max, sizeof *t->q);
    if (!t->q || nh_conn_init(&t->conn, nb->multi, &t->url, nb->p.timeout_s, on_done, t) != 0)
        return WR_ENOMEM;   /* destroy frees t->q: it visits every slot */
    t->kind = kind;
    snprintf(t->dest, sizeof t->dest, "%s", url);
    nb->n++;
    return 0;
}

static int add_udp(root_north_t *nb, int kind, const char *host, int port, char *err, size_t errlen)
{
    target_t *t = &nb->t[nb->n];
    char ps[8];
    snprintf(ps, sizeof ps, "%d", port);
    int rc = nh_resolve(host, ps, SOCK_DGRAM, &t->url.addr, &t->url.addrlen);
    if (rc != 0) {
        snprintf(err, errlen, "%s: cannot resolve %s: %s", kind_names[kind], host, gai_strerror(rc));
        return WR_ENOTFOUND;
    }
    t->fd = socket(t->url.addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (t->fd < 0) {
        snprintf(err, errlen, "%s: socket: %s", kind_names[kind], strerror(errno));
        return WR_EIO;
    }
    t->kind = kind;
    snprintf(t->dest, sizeof t->dest, "%s:%d", host, port);
    nb->n++;
    return 0;
}

static size_t list_len(const char *const *l)
{
    size_t n = 0;
    while (l && l[n])
        n++;
    return n;
}

root_north_t *root_north_new(struct ev_loop *loop, const root_north_params_t *p, char *err, size_t errlen)
{
    root_north_t *nb = calloc(1, sizeof *nb);
    if (!nb) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    nb->loop = loop;
    nb->p = *p;
    snprintf(nb->root_id, sizeof nb->root_id, "%s", p->root_id ? p->root_id : "");
    snprintf(nb->generator_url, sizeof nb->generator_url, "%s", p->generator_url ? p->generator_url : "");
    nb->p.root_id = nb->root_id;
    nb->p.generator_url = nb->generator_url;
    nb->p.alertmanager = nb->p.webhook = NULL;     /* not kept */
    if (nb->p.resend_s <= 0) nb->p.resend_s = 60;
    if (nb->p.timeout_s <= 0) nb->p.timeout_s = 10;
    if (nb->p.backoff_min_s <= 0) nb->p.backoff_min_s = 1;
    if (nb->p.backoff_max_s < nb->p.backoff_min_s) nb->p.backoff_max_s = nb->p.backoff_min_s < 60 ? 60 : nb->p.backoff_min_s;
    if (nb->p.queue_max == 0) nb->p.queue_max = 10000;
    if (nb->p.syslog_port <= 0) nb->p.syslog_port = 514;
    if (nb->p.gelf_port <= 0) nb->p.gelf_port = 12201;
    if (nb->p.syslog_facility < 0 || nb->p.syslog_facility > 23) nb->p.syslog_facility = 16;
    size_t max = list_len(p->alertmanager) + list_len(p->webhook) + 2;
    nb->t = calloc(max, sizeof *nb->t);
    nb->cap = max;
    nb->multi = nh_multi_new(loop);
    if (!nb->t || !nb->multi) {
        nh_multi_destroy(&nb->multi);
        free(nb->t);
        free(nb);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < max; i++) {
        nb->t[i].north = nb;
        nb->t[i].fd = -1;
        ev_init(&nb->t[i].backoff, on_backoff);
        nb->t[i].backoff.data = &nb->t[i];
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < list_len(p->alertmanager); i++)
        rc = add_http(nb, K_AM, p->alertmanager[i], err, errlen);
    for (size_t i = 0; rc == 0 && i < list_len(p->webhook); i++)
        rc = add_http(nb, K_HOOK, p->webhook[i], err, errlen);
    if (rc == 0 && p->syslog_host && p->syslog_host[0])
        rc = add_udp(nb, K_SYSLOG, p->syslog_host, nb->p.syslog_port, err, errlen);
    if (rc == 0 && p->gelf_host && p->gelf_host[0])
        rc = add_udp(nb, K_GELF, p->gelf_host, nb->p.gelf_port, err, errlen);
    if (rc != 0) {
        if (rc == WR_ENOMEM)
            snprintf(err, errlen, "out of memory");
        root_north_destroy(&nb);
        return NULL;
    }
    ev_timer_init(&nb->resend, on_resend, nb->p.resend_s, nb->p.resend_s);
    nb->resend.data = nb;
    if (nb->p.alarms)
        ev_timer_start(loop, &nb->resend);
    return nb;
}

void root_north_destroy(root_north_t **pnb)
{
    if (!pnb || !*pnb)
        return;
    root_north_t *nb = *pnb;
    ev_timer_stop(nb->loop, &nb->resend);
    for (size_t i = 0; nb->t && i < nb->cap; i++) {
        target_t *t = &nb->t[i];
        nh_conn_fini(&t->conn);
        ev_timer_stop(nb->loop, &t->backoff);
        if (t->q) {
            q_pop(t, t->qlen);
            free(t->q);
        }
        if (t->fd >= 0)
            close(t->fd);
    }
    nh_multi_destroy(&nb->multi);
    free(nb->t);
    free(nb);
    *pnb = NULL;
}

size_t root_north_count(const root_north_t *nb)
{
    return nb ? nb->n : 0;
}

int root_north_target(const root_north_t *nb, size_t i, root_north_target_t *out)
{
    if (!nb || i >= nb->n || !out)
        return WR_ENOTFOUND;
    const target_t *t = &nb->t[i];
    *out = (root_north_target_t){.kind = kind_names[t->kind], .dest = t->dest, .pushed = t->pushed,
                                 .failed = t->failed, .retried = t->retried, .dropped = t->dropped,
                                 .rejected = t->rejected, .queued = t->qlen, .last_ok_ms = t->last_ok_ms,
                                 .last_error = t->last_error};
    return 0;
}
