/* wr_outbox: the sender side of at-least-once delivery (DESIGN section 2): alarm events and
 * notifications wait in an LMDB named database until the parent acknowledges them.
 *
 * Each event gets an identity (epoch, seq): the epoch is new on every open of the outbox
 * (a process restart) and strictly greater than every earlier one, persisted in the database
 * (max(stored + 1, wall-clock microseconds), so it keeps growing even if the database is wiped
 * or the clock steps back); seq starts at 1 in each epoch. Events of an earlier epoch that
 * were never acknowledged survive the restart and are resent with their original identity, so
 * the receiver's dedup (wr_dedup) recognises them.
 *
 * Storage: in the database given at open (its own, e.g. "outbox": DESIGN section 7 never
 * lets metrics pruning touch it), key 'e' + be64(epoch) + be64(seq) -> be64(at_ms) + bytes,
 * plus meta keys under 'm'. The outbox is bounded by count, bytes (of event payloads) and age;
 * what it ever has to drop (oldest first) is counted in a persisted counter that the caller
 * turns into the outbox_dropped alarm. A full LMDB map is NOT a reason to drop: append returns
 * WR_EFULL and the caller prunes metrics and retries.
 *
 * Each call runs its own LMDB transaction (append and ack commit before returning: an event
 * is durable before it is sent), except wr_outbox_append_txn, which appends inside the caller's
 * transaction so that a burst costs one synced commit, not one per event. The caller must not hold another write transaction of the
 * same store in the same thread while calling (LMDB allows one writer). Not thread-safe: one
 * loop owns an outbox. The outbox does not send anything and owns no link. */
#ifndef WR_OUTBOX_H
#define WR_OUTBOX_H
#include <stddef.h>
#include <stdint.h>
#include "wr_store.h"

#define WR_OUTBOX_DEFAULT_COUNT   100000
#define WR_OUTBOX_DEFAULT_BYTES   (64u << 20)
#define WR_OUTBOX_DEFAULT_AGE_MS  (7LL * 24 * 3600 * 1000)
#define WR_OUTBOX_MAX_EVENT       (1u << 20)   /* one event's payload */

typedef struct {
    uint64_t max_count;    /* events held; 0 = WR_OUTBOX_DEFAULT_COUNT */
    uint64_t max_bytes;    /* payload bytes held; 0 = WR_OUTBOX_DEFAULT_BYTES */
    int64_t  max_age_ms;   /* older events are dropped (counted); 0 = WR_OUTBOX_DEFAULT_AGE_MS */
} wr_outbox_limits_t;

typedef struct {
    uint64_t epoch;          /* this run's epoch */
    uint64_t next_seq;       /* the seq the next append gets */
    uint64_t pending;        /* unacknowledged events held (all epochs) */
    uint64_t pending_bytes;  /* their payload bytes */
    int64_t  oldest_ms;      /* at_ms of the oldest held event, 0 if none */
    uint64_t dropped;        /* events ever dropped to stay within the limits (persisted) */
    uint64_t dropped_bytes;  /* their payload bytes (persisted) */
} wr_outbox_stats_t;

typedef struct wr_outbox wr_outbox_t;

/* Opens the outbox kept in the named database db_name of store (which must have been opened
 * with it), starting a new epoch (persisted before returning). limits may be NULL (defaults).
 * On failure returns NULL with a reason in err. The store must outlive the outbox. */
wr_outbox_t *wr_outbox_open(wr_store_t *store, const char *db_name, const wr_outbox_limits_t *limits,
                            char *err, size_t errlen);
void wr_outbox_destroy(wr_outbox_t **ob);

/* Appends one event (opaque bytes, 1..WR_OUTBOX_MAX_EVENT) stamped at_ms (used for the age
 * bound), durably. Older events are dropped first if the limits require (expired by age, then
 * oldest first to make room), counted. Sets *epoch and *seq (either may be NULL).
 * Returns 0; WR_EINVAL (empty); WR_ETOOBIG (over WR_OUTBOX_MAX_EVENT or max_bytes: the event
 * is counted as dropped); WR_EFULL (LMDB map full: nothing changed, the caller frees space and
 * retries); WR_ESTORE. */
int wr_outbox_append(wr_outbox_t *ob, const void *data, size_t len, int64_t at_ms,
                     uint64_t *epoch, uint64_t *seq);

/* Appends one event like wr_outbox_append, but inside the caller's write transaction txn (of
 * the outbox's store), so that many appends, and the caller's own records, share one synced
 * commit. The event is durable only once the caller commits txn: the caller must not send it
 * before. After committing (or aborting) txn the caller MUST call wr_outbox_txn_end, before any
 * other call on this outbox: it keeps (committed != 0) or rolls back (0) the in-memory
 * positions and counters the appends advanced (the seqs of an aborted txn are given again: they
 * were never durable, so never sent). Several outboxes of one store may append in one txn.
 * Returns as wr_outbox_append (WR_ETOOBIG: the drop is counted in txn); on WR_EFULL / WR_ESTORE
 * the caller must abort txn (then wr_outbox_txn_end(ob, 0)). */
int wr_outbox_append_txn(wr_outbox_t *ob, wr_txn_t *txn, const void *data, size_t len, int64_t at_ms,
                         uint64_t *epoch, uint64_t *seq);

/* Ends the appends of wr_outbox_append_txn: committed != 0 when the caller's txn committed.
 * A no-op when no append_txn is outstanding. */
void wr_outbox_txn_end(wr_outbox_t *ob, int committed);

/* Acknowledges, cumulatively, every held event of epoch with seq <= seq. *acked (may be NULL)
 * gets the number removed (0 for a repeated ACK). Returns 0, WR_EFULL or WR_ESTORE. */
int wr_outbox_ack(wr_outbox_t *ob, uint64_t epoch, uint64_t seq, uint64_t *acked);

/* Calls fn for every held event after (after_epoch, after_seq) in (epoch, seq) order;
 * (0, 0) = from the oldest. data is valid only during the call; fn must not call the outbox.
 * fn returns 0 to go on, 1 to stop, or a negative code that is returned. Returns 0, fn's
 * code or WR_ESTORE. */
typedef int (*wr_outbox_visit_fn)(void *ud, uint64_t epoch, uint64_t seq, int64_t at_ms,
                                  const void *data, size_t len);
int wr_outbox_foreach(wr_outbox_t *ob, uint64_t after_epoch, uint64_t after_seq,
                      wr_outbox_visit_fn fn, void *ud);

/* Drops (counted) events older than max_age_ms before now_ms; for the caller's periodic timer
 * when nothing is appended. *dropped (may be NULL) gets the number. Returns 0 or an error as
 * for ack. */
int wr_outbox_expire(wr_outbox_t *ob, int64_t now_ms, uint64_t *dropped);

/* The oldest seq of epoch still held, into *seq. Returns 0, WR_ENOTFOUND (none of that
 * epoch) or WR_ESTORE. */
int wr_outbox_oldest_seq(wr_outbox_t *ob, uint64_t epoch, uint64_t *seq);

/* Fills st. Returns 0 or WR_ESTORE (reading the oldest entry failed). */
int wr_outbox_stats(wr_outbox_t *ob, wr_outbox_stats_t *st);

/* Reads the bounds of a daemon's outboxes from the config group `prefix` ("leaf.outbox",
 * "relay.outbox"; every key optional, docs/CONFIG.md): max_mb (payload MiB per outbox, a
 * number >= 0.001), max_events (per outbox, 1..100,000,000), max_age (seconds, 1..10 years).
 * n_outboxes outboxes share one LMDB map of map_size_mb: an explicit max_mb x n_outboxes over
 * half the map is an error (recorded in cfg naming the key); the default max_mb is 64 or half
 * the map shared by the outboxes, whichever is smaller. Fills every field of out. Returns 0, or
 * WR_ECONFIG when it recorded an error. */
typedef struct wr_config wr_config_t;
int wr_outbox_limits_read(wr_config_t *cfg, const char *prefix, int64_t map_size_mb, size_t n_outboxes,
                          wr_outbox_limits_t *out);

#endif
