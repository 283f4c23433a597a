/* root_events: the root's durable event history (DESIGN sections 3, 7): every change of an
 * alarm (new, updated, cleared, acknowledged) in LMDB "alarm_history", keyed by time, and every
 * notification in "notifications", keyed by (at_ms, origin epoch, origin seq, origin); both
 * with retention by age and count; and the queries the HTTP API answers from them.
 *
 * It lives in the tier's store (tier_store) and is fed by the tier's event sink
 * (root_events_sink, registered with tier_set_event_sink), which writes into the tier's
 * transaction so that history and dedup records commit together: each event is kept exactly
 * once however often it is resent. Implemented in root_http_evstore.c (the build globs
 * root/root_http*.c into the root's library). Not thread-safe: the root's loop owns it. */
#ifndef ROOT_EVENTS_H
#define ROOT_EVENTS_H
#include <stddef.h>
#include <stdint.h>
#include "wr_alarm.h"
#include "wr_event.h"
#include "wr_store.h"

#define ROOT_EVENTS_DEFAULT_AGE_MS  (30LL * 24 * 3600 * 1000)
#define ROOT_EVENTS_DEFAULT_COUNT   1000000
#define ROOT_EVENTS_CHANGE_ACKED    16      /* history record of an operator's acknowledgement */

typedef struct root_events root_events_t;

typedef struct {
    int64_t  alarm_max_age_ms;   /* 0 = ROOT_EVENTS_DEFAULT_AGE_MS */
    uint64_t alarm_max_count;    /* 0 = ROOT_EVENTS_DEFAULT_COUNT */
    int64_t  notif_max_age_ms;
    uint64_t notif_max_count;
} root_events_limits_t;

typedef struct {
    uint64_t notifications;      /* written since start */
    uint64_t alarm_changes;      /* written since start */
    uint64_t pruned;             /* records removed by retention since start */
    uint64_t bad_records;        /* stored records that failed to parse (skipped) */
} root_events_stats_t;

/* Uses the databases "alarm_history" and "notifications" of store (the tier's). limits may be
 * NULL. NULL with a reason in err (e.g. the store lacks the databases). */
root_events_t *root_events_new(wr_store_t *store, const root_events_limits_t *limits, char *err,
                               size_t errlen);
void root_events_destroy(root_events_t **re);

/* The tier's event sink (tier_event_sink_fn; ud is the root_events_t): a notification is
 * written to "notifications"; an alarm change NEW / UPDATED / CLEARED to "alarm_history".
 * Returns 0 or the store's error (the tier then aborts the frame). */
int root_events_sink(void *ud, wr_txn_t *txn, const wr_event_t *ev, const void *bytes, size_t len,
                     int change, const wr_alarm_t *alarm);

/* Records an operator's acknowledgement of alarm (its state after tier_alarm_ack) in the
 * history, in a transaction of its own. Returns 0 or the store's error. */
int root_events_record_ack(root_events_t *re, const wr_alarm_t *alarm, int64_t at_ms);

/* Applies retention (age, then count) to both databases. *removed (may be NULL) gets the
 * number of records removed. Returns 0 or the store's error. */
int root_events_prune(root_events_t *re, int64_t now_ms, uint64_t *removed);

typedef struct {
    int64_t     since_ms;    /* inclusive; 0 = no bound */
    int64_t     until_ms;    /* inclusive; 0 = no bound */
    const char *node;        /* NULL = any: notification node / alarm scope */
    const char *type;        /* NULL = any */
    size_t      limit;       /* at most this many (0 = 1000) */
} root_events_filter_t;

/* Matching notifications, in ascending time order: with since_ms, the first `limit` from
 * since; without, the newest `limit`. fn returns 0 to go on, non-zero to stop.
 * Returns 0, WR_ENOMEM or the store's error. */
typedef int (*root_notif_fn)(void *ud, const wr_event_t *ev);
int root_events_notifications(root_events_t *re, const root_events_filter_t *f, root_notif_fn fn,
                              void *ud);

/* One record of the alarm history: change is a wr_alarm_change_t or ROOT_EVENTS_CHANGE_ACKED,
 * at_ms when it happened, alarm the alarm's state right after. */
typedef struct {
    int        change;
    int64_t    at_ms;
    wr_alarm_t alarm;
    int64_t    received_ms;   /* root wall ms the change arrived; 0: unknown (an older record) */
} root_alarm_change_t;
typedef int (*root_alarm_hist_fn)(void *ud, const root_alarm_change_t *c);
/* Matching alarm history records, ordered as for root_events_notifications. */
int root_events_alarm_history(root_events_t *re, const root_events_filter_t *f, root_alarm_hist_fn fn,
                              void *ud);

void root_events_stats(const root_events_t *re, root_events_stats_t *out);

#endif
