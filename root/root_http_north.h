/* root_http_north: the root's northbound pushes (DESIGN section 8, docs/NORTHBOUND.md).
 *
 * Alarms go to Prometheus Alertmanager (POST /api/v2/alerts) and to generic JSON webhooks (one
 * object per change); notifications go to syslog (RFC 5424) and GELF 1.1, one UDP datagram
 * each. Nothing here blocks the root: HTTP requests are non-blocking sockets on the root's
 * libev loop (one request at a time per target), each target has a bounded queue, failures are
 * retried with exponential backoff, and everything is counted (pushed, failed, retried,
 * dropped on overflow, rejected by the receiver).
 *
 * Alertmanager labels are {alertname = type, scope, resource, severity} only, so the two roots
 * of a pair produce identical alerts and Alertmanager keeps one; the root's id is an
 * annotation. Active alarms are re-pushed every resend interval with endsAt = now + 3 x that
 * interval; a cleared alarm is pushed with endsAt = its clear time. Not thread-safe: the
 * root's loop owns it. */
#ifndef ROOT_HTTP_NORTH_H
#define ROOT_HTTP_NORTH_H
#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include "wr_alarm.h"
#include "wr_event.h"

typedef struct root_north root_north_t;

/* Visits the active alarms (tier_alarms_foreach with its tier): used for the periodic re-push. */
typedef int (*root_north_alarms_fn)(void *ud, wr_alarm_visit_fn fn, void *fn_ud);

typedef struct {
    const char *const *alertmanager;  /* base URLs ("http://127.0.0.1:9093"), NULL-terminated; may be NULL */
    const char *const *webhook;       /* full URLs, NULL-terminated; may be NULL */
    const char *syslog_host;          /* NULL or "" = no syslog */
    int         syslog_port;          /* default 514 */
    int         syslog_facility;      /* 0..23, default 16 (local0) */
    const char *gelf_host;            /* NULL or "" = no GELF */
    int         gelf_port;            /* default 12201 */
    const char *root_id;              /* this root's id (annotation / PROCID / _root) */
    const char *generator_url;        /* Alertmanager generatorURL, or NULL */
    double      resend_s;             /* re-push period of active alarms; default 60 */
    double      timeout_s;            /* per HTTP request; default 10 */
    double      backoff_min_s;        /* first retry delay; default 1 */
    double      backoff_max_s;        /* cap; default 60 */
    size_t      queue_max;            /* items waiting per target; default 10000 */
    root_north_alarms_fn alarms;      /* may be NULL (no re-push) */
    void       *alarms_ud;
} root_north_params_t;

/* Resolves every target (getaddrinfo: may block at start-up) and opens the UDP sockets.
 * NULL with a reason in err naming the bad target. With no target at all it still works (and
 * does nothing). */
root_north_t *root_north_new(struct ev_loop *loop, const root_north_params_t *p, char *err, size_t errlen);
void root_north_destroy(root_north_t **north);

/* Hands one new event to the pushes (call it from the root's event sink after the history
 * accepted it): an alarm change (change a wr_alarm_change_t, alarm its state; NOOP / STALE are
 * ignored) goes to Alertmanager and the webhooks, a notification to syslog and GELF. Never
 * blocks; a full queue drops the item and counts it. */
void root_north_event(root_north_t *north, const wr_event_t *ev, int change, const wr_alarm_t *alarm);

/* Re-pushes every active, unsuppressed alarm to Alertmanager now (the periodic timer does it
 * every resend_s). */
void root_north_resend(root_north_t *north);

/* Counters of one target. */
typedef struct {
    const char *kind;          /* "alertmanager" | "webhook" | "syslog" | "gelf" */
    const char *dest;          /* URL or host:port */
    uint64_t    pushed;        /* items delivered (alerts, changes, datagrams) */
    uint64_t    failed;        /* failed attempts (transport error, 5xx, send error) */
    uint64_t    retried;       /* attempts after a failure */
    uint64_t    dropped;       /* items dropped because the queue was full */
    uint64_t    rejected;      /* items the receiver refused (4xx) and that were dropped */
    size_t      queued;        /* items waiting */
    int64_t     last_ok_ms;    /* 0 = never */
    const char *last_error;    /* "" when none */
} root_north_target_t;

/* Number of targets; *out (may be NULL) gets target i's counters (valid until the next call
 * into north). */
size_t root_north_count(const root_north_t *north);
int    root_north_target(const root_north_t *north, size_t i, root_north_target_t *out);

#endif
