/* leaf_events: the leaf's one outlet for alarm events and notifications (see leaf_events.h).
 * A thin owner of core/wr_evsend: identity, packing, the 1 s resend tick, the parent-up and
 * ACK hooks, counters and rate-limited logging of failures. It decides nothing about which
 * events exist (leaf_alarms.c raises alarms; notifications come from the agent's pushes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "leaf.h"
#include "leaf_events.h"
#include "wr_error.h"
#include "wr_evsend.h"
#include "wr_log.h"
#include "wr_time.h"

#define STATS_LOG_MS 10000

struct leaf_events {
    wr_evsend_t  *snd;
    wr_encoder_t *enc;
    wr_event_t   *own;                /* scratch: the leaf's own outbox_overflow alarm */
    ev_periodic   tick;     /* at lf->tick_phase of each second, with the other 1 s ticks */
    int64_t       stats_log_ms;       /* mono ms of the last counters line */
    uint64_t      stats_logged;       /* ids + acked + dropped at that line */
    uint64_t      pushed, push_failed, alarms, notifs;
    int64_t       last_fail_log_ms;   /* mono ms: failures are logged at most every 10 s */
    uint64_t      fails_unlogged;
};

/* The counters as one line: origin epoch and the last id given (so an operator, or a test, can
 * check the root holds seqs 1..N of each epoch), pushes, pending, ACKed, dropped. */
static void log_counters(leaf_t *lf, const char *when)
{
    wr_evsend_stats_t st;
    struct leaf_events *e = lf->events;
    wr_evsend_stats(e->snd, &st);
    WR_INFO("events%s: origin %s epoch %llu ids 1..%llu, %llu pushed (%llu alarms, %llu "
            "notifications), %llu push failures, %llu pending, %llu acked, %llu resent, %llu dropped "
            "by the outbox", when, lf->origin.id, (unsigned long long)lf->origin.epoch,
            (unsigned long long)st.ids, (unsigned long long)e->pushed, (unsigned long long)e->alarms,
            (unsigned long long)e->notifs, (unsigned long long)e->push_failed,
            (unsigned long long)st.pending, (unsigned long long)st.acked,
            (unsigned long long)st.resent, (unsigned long long)st.dropped);
    e->stats_log_ms = wr_mono_ms();
    e->stats_logged = st.ids + st.acked + st.dropped;
}

/* outbox_overflow (wr_evsend_overflow): raised, updated or cleared by the leaf itself. */
static void check_overflow(leaf_t *lf)
{
    struct leaf_events *e = lf->events;
    char text[WR_ALARM_TEXT_MAX];
    int sev = wr_evsend_overflow(e->snd, text, sizeof text);
    if (sev < 0)
        return;
    if (sev != WR_SEV_CLEARED)
        WR_WARN("outbox overflow: %s", text);
    wr_event_t *ev = e->own;
    memset(ev, 0, sizeof *ev);
    ev->kind = WR_MSG_ALARM;
    if (wr_alarm_event_set(&ev->alarm, lf->cfg.id, WR_ALARM_OUTBOX_OVERFLOW, "", sev, text, wr_wall_ms(),
                           lf->cfg.id) == 0 &&
        leaf_events_push(lf, ev) == 0)
        wr_evsend_overflow_reported(e->snd, sev);
}

static void on_tick(struct ev_loop *loop, ev_periodic *w, int revents)
{
    (void)loop;
    (void)revents;
    leaf_t *lf = w->data;
    struct leaf_events *e = lf->events;
    if (!e || !e->snd)
        return;
    wr_evsend_tick(e->snd, wr_wall_ms());
    check_overflow(lf);
    if (wr_mono_ms() - e->stats_log_ms >= STATS_LOG_MS) {
        wr_evsend_stats_t st;
        wr_evsend_stats(e->snd, &st);
        if (st.ids + st.acked + st.dropped != e->stats_logged)
            log_counters(lf, "");
    }
}

int leaf_events_init(leaf_t *lf, char *err, size_t errlen)
{
    struct leaf_events *e = calloc(1, sizeof *e);
    if (!e || !(e->enc = wr_encoder_new()) || !(e->own = calloc(1, sizeof *e->own))) {
        if (e)
            wr_encoder_destroy(&e->enc);
        free(e);
        snprintf(err, errlen, "events: out of memory");
        return WR_ENOMEM;
    }
    lf->events = e;
    if (!lf->cli) {
        WR_WARN("no parents: alarm events and notifications are counted, not sent");
        return 0;
    }
    size_t n = lf->cfg.parent_mode == WR_PARENTS_ALL ? lf->cfg.n_parents : 1;
    if (n > LEAF_EVENTS_OUTBOXES) {
        snprintf(err, errlen, "events: parent_mode \"all\" supports at most %d parents (%zu given)",
                 LEAF_EVENTS_OUTBOXES, n);
        return WR_ECONFIG;
    }
    e->snd = wr_evsend_new(lf->store, LEAF_EVENTS_PREFIX, n, &lf->cfg.outbox, lf->cli, &lf->origin, err,
                           errlen);
    if (!e->snd)
        return WR_ESTORE;
    /* pushes of one loop iteration (alarms of one evaluation, a notification burst) are
     * committed together, before anything is sent */
    wr_evsend_set_loop(e->snd, lf->loop);
    wr_evsend_stats_t st;
    wr_evsend_stats(e->snd, &st);
    if (st.pending)
        WR_INFO("events: %llu unacknowledged event(s) from an earlier run will be resent",
                (unsigned long long)st.pending);
    ev_periodic_init(&e->tick, on_tick, lf->tick_phase, 1.0, 0);
    e->tick.data = lf;
    ev_periodic_start(lf->loop, &e->tick);
    return 0;
}

void leaf_events_fini(leaf_t *lf)
{
    struct leaf_events *e = lf->events;
    if (!e)
        return;
    if (lf->loop)
        ev_periodic_stop(lf->loop, &e->tick);
    if (e->snd) {
        wr_evsend_flush(e->snd);
        log_counters(lf, " at stop");
    }
    wr_evsend_destroy(&e->snd);
    wr_encoder_destroy(&e->enc);
    free(e->own);
    free(e);
    lf->events = NULL;
}

static void push_failed(leaf_t *lf, const wr_event_t *ev, int rc)
{
    struct leaf_events *e = lf->events;
    e->push_failed++;
    int64_t now = wr_mono_ms();
    if (e->last_fail_log_ms && now - e->last_fail_log_ms < 10000) {
        e->fails_unlogged++;
        return;
    }
    e->last_fail_log_ms = now;
    const char *what = ev->kind == WR_MSG_ALARM ? ev->alarm.key.type : ev->notif.type;
    const char *scope = ev->kind == WR_MSG_ALARM ? ev->alarm.key.scope : ev->notif.node;
    WR_WARN("event %s %s not queued: %s (%llu more failure(s) since the last message)", what,
            scope, rc == WR_ENOTFOUND ? "no parents configured" : wr_strerror(rc),
            (unsigned long long)e->fails_unlogged);
    e->fails_unlogged = 0;
}

int leaf_events_push(leaf_t *lf, wr_event_t *ev)
{
    struct leaf_events *e = lf->events;
    if (!e || !ev)
        return WR_EINVAL;
    int64_t at;
    if (ev->kind == WR_MSG_ALARM) {
        if (!ev->alarm.origin[0])
            snprintf(ev->alarm.origin, sizeof ev->alarm.origin, "%s", lf->cfg.id);
        at = ev->alarm.at_ms;
    } else if (ev->kind == WR_MSG_NOTIF) {
        if (!ev->notif.leaf[0])
            snprintf(ev->notif.leaf, sizeof ev->notif.leaf, "%s", lf->cfg.id);
        at = ev->notif.at_ms;
    } else {
        push_failed(lf, ev, WR_EINVAL);
        return WR_EINVAL;
    }
    if (!e->snd) {
        push_failed(lf, ev, WR_ENOTFOUND);
        return WR_ENOTFOUND;
    }
    wr_evsend_new_id(e->snd, &ev->id);
    int rc = wr_event_pack(e->enc, ev);
    if (rc == 0)
        rc = wr_evsend_push(e->snd, ev->kind, wr_encoder_data(e->enc), wr_encoder_size(e->enc),
                            at > 0 ? at : wr_wall_ms());
    /* WR_EFULL (map full): the next samples flush prunes the oldest samples (never events);
     * alarms are reconciled again at the next evaluation, so the push is retried then. */
    if (rc) {
        push_failed(lf, ev, rc);
        return rc;
    }
    e->pushed++;
    if (ev->kind == WR_MSG_ALARM)
        e->alarms++;
    else
        e->notifs++;
    return 0;
}

void leaf_events_parent_up(leaf_t *lf, int parent)
{
    if (lf->events && lf->events->snd)
        wr_evsend_parent_up(lf->events->snd, parent);
}

void leaf_events_on_ack(leaf_t *lf, int parent, const wr_ack_t *ack)
{
    if (lf->events && lf->events->snd)
        wr_evsend_on_ack(lf->events->snd, parent, ack);
}

int leaf_events_flush(leaf_t *lf)
{
    struct leaf_events *e = lf->events;
    return e && e->snd ? wr_evsend_flush(e->snd) : 0;
}

void leaf_events_stats(const leaf_t *lf, leaf_events_stats_t *out)
{
    memset(out, 0, sizeof *out);
    const struct leaf_events *e = lf->events;
    if (!e)
        return;
    out->pushed = e->pushed;
    out->push_failed = e->push_failed;
    out->alarms = e->alarms;
    out->notifs = e->notifs;
    if (e->snd) {
        wr_evsend_stats_t st;
        wr_evsend_stats(e->snd, &st);
        out->pending = st.pending;
        out->acked = st.acked;
        out->dropped = st.dropped;
        out->resent = st.resent;
    }
}
