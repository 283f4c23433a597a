/* leaf_events: the leaf's single outlet for the events that must not be lost (alarm
 * raise / update / clear, notifications): each event gets its identity, is packed, kept in the
 * leaf's LMDB outbox (wr_evsend, "leaf_outbox.<i>") and sent upward at-least-once.
 *
 * Owner: leaf_main.c calls init after leaf_up_init and fini before leaf_up_fini; leaf_up.c
 * forwards parent-up and ACK frames; a 1 s timer (inside this module) drives resends, raises /
 * updates / clears the leaf's own outbox_overflow alarm (bounds: leaf.outbox, docs/CONFIG.md),
 * and logs the counters every 10 s while they change and at fini ("events: origin L epoch E
 * ids 1..N, P pushed (A alarms, M notifications) ...": what tests compare with the root).
 * Everything runs on the loop thread. Not a public API. */
#ifndef LEAF_EVENTS_H
#define LEAF_EVENTS_H
#include <stddef.h>
#include <stdint.h>
#include "wr_event.h"

typedef struct leaf leaf_t;

/* The LMDB named databases the leaf's store must open for events (leaf_samples.c lists them):
 * one outbox per parent in parent_mode "all" (else only the first is used), and the leaf's
 * active alarms (leaf_alarms.c), reloaded at start so a restarted leaf clears what it raised. */
#define LEAF_EVENTS_PREFIX   "outbox"
#define LEAF_EVENTS_OUTBOXES 8
#define LEAF_EVENTS_DBS "outbox.0", "outbox.1", "outbox.2", "outbox.3", "outbox.4", "outbox.5", \
                        "outbox.6", "outbox.7", "alarms"

/* Counters (since start). */
typedef struct {
    uint64_t pushed;        /* events accepted (durable in the outbox) */
    uint64_t push_failed;   /* events refused (malformed, store error, map full after retry) */
    uint64_t alarms;        /* of pushed: kind ALARM */
    uint64_t notifs;        /* of pushed: kind NOTIF */
    uint64_t pending;       /* held unacknowledged now */
    uint64_t acked;         /* removed by parents' ACKs */
    uint64_t dropped;       /* dropped by the outbox limits (persisted count) */
    uint64_t resent;
} leaf_events_stats_t;

/* Opens the outbox(es) in the leaf's store (lf->store must be open, lf->cli created) and
 * starts the 1 s tick. Returns 0 or a WR_E... code with a reason in err. */
int  leaf_events_init(leaf_t *lf, char *err, size_t errlen);
/* Stops the tick and closes the sender (unacknowledged events stay in LMDB for the next run).
 * Safe to call without init. */
void leaf_events_fini(leaf_t *lf);

/* Sends one event upward: fills ev->id (origin = this leaf, fresh epoch/seq), packs it and
 * queues it durably. ev->kind is WR_MSG_ALARM or WR_MSG_NOTIF; for an alarm, alarm.origin
 * (if empty) becomes the leaf id; for a notification, notif.leaf (if empty) likewise.
 * Returns 0 once durable, or a WR_E... code (counted in push_failed). */
int  leaf_events_push(leaf_t *lf, wr_event_t *ev);

/* leaf_up.c hooks: a parent came up / an ACK frame arrived from parent. */
void leaf_events_parent_up(leaf_t *lf, int parent);
void leaf_events_on_ack(leaf_t *lf, int parent, const wr_ack_t *ack);

void leaf_events_stats(const leaf_t *lf, leaf_events_stats_t *out);
/* Commits the events pushed so far (one synced commit) and sends them now, instead of at the
 * end of the loop iteration: the poll tick calls it right after the alarm evaluation, so the
 * alarms do not wait for the samples' flush and the round's calls. Returns 0 or a WR_E code
 * (the events then stay queued and are retried as before). */
int  leaf_events_flush(leaf_t *lf);

#endif
