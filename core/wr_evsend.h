/* wr_evsend: the at-least-once event sender (DESIGN section 2) that a leaf or a relay tier uses
 * to send alarm events and notifications to its parent(s): it keeps every event in an LMDB
 * outbox (wr_outbox) until the parent ACKs it, sends it at once to the live parent(s), resends
 * what stays unacknowledged, and counts whatever an outbox ever has to drop.
 *
 * Outboxes: n_parents outboxes, named "<prefix>.0" .. "<prefix>.<n-1>", which the caller must
 * have listed when opening the store. The number of outboxes picks the policy:
 *  - n_parents == 1: one outbox; its events go to the ACTIVE parent of the client
 *    (wr_client_active: the failover mode, or a single parent). When the active parent
 *    changes (failover), everything unacknowledged is resent to the new one.
 *  - n_parents == wr_client_parent_count(cli) > 1: parent mode `all`: outbox i feeds parent i,
 *    with its own ACK cursor, so each parent gets every event.
 * So a caller in `failover` mode passes 1, in `all` mode the number of parents.
 *
 * Wire: each event travels as the bytes of wr_event_pack (its identity inside never changes),
 * in ALARM / NOTIF frames (wr_encode_events) whose items carry the outbox position
 * (hop_epoch, hop_seq) that the parent ACKs cumulatively (wr_ack_t {seq, epoch}). Resends go
 * oldest first, in order, batched (at most WR_EVSEND_BATCH items or ~256 KiB a frame); a send
 * that fails (high-water mark) stops the batch so the parent never sees a later seq of an
 * outbox before an earlier one of the same pass.
 *
 * A resend pass that brings no ACK doubles the wait before the next one (2 s, 4 s ... 30 s):
 * a parent that is slow, not gone, is not buried under copies of what it has not yet read;
 * an ACK or the parent coming up (again) starts over at 2 s.
 * The sender owns no loop and no timer: the owner calls wr_evsend_tick about every second,
 * wr_evsend_parent_up from its on_parent_up callback and wr_evsend_on_ack for every ACK frame.
 * Nothing is sent before it is durable in the outbox. Bursts cost one synced LMDB commit, not
 * one per event: a receiver forwarding a frame appends its events inside its own transaction
 * (wr_evsend_push_txn + wr_evsend_txn_end); an owner with a loop (wr_evsend_set_loop) lets
 * wr_evsend_push queue events in memory, committed together (then sent) when the loop has
 * handled the events of an iteration. Staged events go out in frames of up to WR_EVSEND_BATCH.
 * Not thread-safe: one loop owns it; the caller must not hold a write transaction of the same
 * store while calling anything but wr_evsend_push_txn. Never prints. */
#ifndef WR_EVSEND_H
#define WR_EVSEND_H
#include <stddef.h>
#include <stdint.h>
#include "wr_codec.h"
#include "wr_event.h"
#include "wr_link.h"
#include "wr_outbox.h"
#include "wr_store.h"

#define WR_EVSEND_MAX_PARENTS  8
#define WR_EVSEND_BATCH        256      /* events per resend frame */
#define WR_EVSEND_RESEND_MS    2000     /* unacknowledged this long: resend */
#define WR_EVSEND_RESEND_MAX_MS 30000   /* ... doubling while no ACK comes, up to this */

typedef struct wr_evsend wr_evsend_t;

typedef struct {
    uint64_t pending;        /* events held unacknowledged, summed over the outboxes, plus queued */
    uint64_t queued;         /* pushes accepted, not yet committed (set_loop mode) */
    uint64_t pending_bytes;
    uint64_t pushed;         /* events accepted by wr_evsend_push */
    uint64_t sent;           /* event sends (first sends) that a parent took */
    uint64_t resent;         /* event sends by resend passes */
    uint64_t send_failed;    /* sends refused (no parent up, high-water mark) */
    uint64_t acked;          /* events removed by ACKs */
    uint64_t dropped;        /* events the outboxes dropped to stay in their limits (persisted) */
    uint64_t push_failed;    /* pushes refused (malformed, map full, store error) */
    uint64_t ids;            /* identities given by wr_evsend_new_id: the last seq of the origin's epoch */
} wr_evsend_stats_t;

/* Opens one outbox per parent (LMDB named databases "<prefix>.<i>" of store; see above for
 * what n_parents means), sending over cli with origin (both kept by pointer: they must outlive
 * the sender; origin is the envelope origin the client uses). limits may be NULL (defaults).
 * Events left unacknowledged by an earlier run are kept and resent when a parent comes up.
 * Returns NULL with a reason in err. */
wr_evsend_t *wr_evsend_new(wr_store_t *store, const char *prefix, size_t n_parents,
                           const wr_outbox_limits_t *limits, wr_client_t *cli, wr_origin_t *origin,
                           char *err, size_t errlen);
void wr_evsend_destroy(wr_evsend_t **s);

/* A fresh identity for an event this process originates: (origin id, origin epoch, ++counter).
 * The origin's epoch is new on every start, so identities never repeat. */
void wr_evsend_new_id(wr_evsend_t *s, wr_event_id_t *id);

/* Durably queues one packed event (wr_event_pack bytes; kind WR_MSG_ALARM or WR_MSG_NOTIF) in
 * every outbox, then sends it to the live target parent(s). at_ms (wall ms) is used for the
 * outboxes' age bound. Without a loop (set_loop) it commits and sends before returning: 0 once
 * it is durable (sent or not: a send that fails is retried by tick / parent_up). With a loop it
 * copies the event into a memory queue and returns 0; the queue is committed in one transaction
 * and then sent at the end of the loop iteration (ev_prepare), at once when it holds 4096 events
 * or 4 MiB, or by wr_evsend_flush / tick / destroy; if that commit fails the queue is kept and
 * retried (tick), and pushes are refused with the store's error once it holds 16 MiB.
 * Errors: WR_EINVAL (bad kind, empty or over WR_EVENT_BYTES_MAX), WR_ETOOBIG (over an outbox's
 * byte bound: counted as dropped), WR_EFULL (LMDB map full: the caller frees space and retries;
 * outboxes that took it keep it), WR_ENOMEM or WR_ESTORE. */
int  wr_evsend_push(wr_evsend_t *s, int kind, const void *bytes, size_t len, int64_t at_ms);

/* Deferred mode: wr_evsend_push queues and an ev_prepare watcher on loop commits the queue
 * (see above). loop NULL: back to committing each push (flush first). */
void wr_evsend_set_loop(wr_evsend_t *s, struct ev_loop *loop);

/* Commits the queued pushes now (one transaction), then sends them. Returns 0 or WR_EFULL /
 * WR_ESTORE (they stay queued). */
int  wr_evsend_flush(wr_evsend_t *s);

/* Appends one event to every outbox inside the caller's write transaction txn (of the sender's
 * store), e.g. with the receiver's dedup records: nothing is sent yet. After committing or
 * aborting txn the caller MUST call wr_evsend_txn_end before any other call on the sender.
 * Returns 0; WR_EINVAL; WR_ETOOBIG (an outbox refused it, counted as dropped: txn is still
 * good); WR_EFULL / WR_ESTORE / WR_ENOMEM (the caller aborts txn). */
int  wr_evsend_push_txn(wr_evsend_t *s, wr_txn_t *txn, int kind, const void *bytes, size_t len,
                        int64_t at_ms);

/* Ends the pushes of wr_evsend_push_txn: committed != 0 when txn was committed: then the
 * events are sent to the live target parent(s) (frames of up to WR_EVSEND_BATCH); else the
 * outboxes roll back (the pushes count as failed). A no-op without staged pushes. */
void wr_evsend_txn_end(wr_evsend_t *s, int committed);

/* Parent `parent` came up (call from on_parent_up): resends everything unacknowledged that is
 * meant for it. */
void wr_evsend_parent_up(wr_evsend_t *s, int parent);

/* An ACK {seq, epoch} arrived from parent `parent`: notes it; the acknowledged events are
 * removed from the outbox by the next tick (one transaction for all the ACKs of a tick) or
 * before the next resend pass. */
void wr_evsend_on_ack(wr_evsend_t *s, int parent, const wr_ack_t *ack);

/* Periodic work (call about every second; now_ms is wall ms, used for expiry): resends to
 * their parent the outboxes whose oldest event has waited WR_EVSEND_RESEND_MS without an ACK,
 * follows a change of the active parent (failover), and drops events past the age bound
 * (counted). */
void wr_evsend_tick(wr_evsend_t *s, int64_t now_ms);

/* Fills out (counters since creation; pending and dropped read from the outboxes). */
void wr_evsend_stats(const wr_evsend_t *s, wr_evsend_stats_t *out);

/* The owner's outbox_overflow alarm (WR_ALARM_OUTBOX_OVERFLOW, DESIGN section 2: whatever an
 * outbox drops is counted and alarmed, never silent). Call after wr_evsend_tick. Returns
 * WR_SEV_MAJOR when the outboxes dropped events since the last report (text: how many since
 * then and in total), WR_SEV_CLEARED when an active report can be cleared (the outboxes are
 * empty and nothing was dropped for WR_EVSEND_OVERFLOW_CLEAR_MS), or -1 (nothing to say). The
 * owner emits the alarm (scope = its tier id) and, once it is durable, calls
 * wr_evsend_overflow_reported with the severity; if not, the next call asks again. A sender
 * that opens outboxes with drops from an earlier run treats the alarm as active (so it is
 * cleared once they drain) and reports only new drops. Once raised, the alarm is updated at
 * most every 10 s and only for more drops than the update itself may cause in a full outbox. */
#define WR_EVSEND_OVERFLOW_CLEAR_MS 60000
int  wr_evsend_overflow(wr_evsend_t *s, char *text, size_t textlen);
void wr_evsend_overflow_reported(wr_evsend_t *s, int severity);

#endif
