/* wr_dedup: the receiver side of at-least-once delivery: recognises events already seen by
 * their identity (origin, epoch, seq) (DESIGN section 2; the sender side is wr_outbox).
 *
 * Per origin (a tier id) it keeps up to max_epochs epochs; per epoch the highest contiguous
 * seq seen ("every seq <= hi was seen") plus a bitmap of the WR_DEDUP_WINDOW seqs above hi, so
 * events that arrive out of order after a failover (the new parent's resend overtaking the old
 * parent's) are still recognised. Bounds and what they cost, each counted:
 *  - a seq more than WR_DEDUP_WINDOW above hi slides the window up: the seqs skipped are
 *    presumed lost (usually the sender's outbox dropped them, which it counts and alarms), and
 *    if one of them arrives after all it is taken as a duplicate ("window_skipped");
 *  - a new epoch beyond max_epochs evicts the origin's lowest epoch and raises the origin's
 *    floor: events of epochs at or below the floor are taken as duplicates ("stale");
 *  - a new origin beyond max_origins evicts the least recently seen origin ("evicted"); if it
 *    comes back, its old events may be accepted again (a duplicate, never a loss).
 * On every doubt it errs towards accepting a duplicate rather than losing an event, except
 * the two cases named above, whose counters the caller exposes.
 *
 * Receiver flow: if (!wr_dedup_seen(...)) { store or forward; wr_dedup_mark(...); } then ACK
 * (wr_dedup_contiguous gives the cumulative seq). Marking only after storing means a failed
 * store does not turn the resend into a "duplicate".
 *
 * Persistence (the root's copy must survive its restart): save writes origins into a caller's
 * write transaction (commit it together with the stored events for exactly-once at the root),
 * load reads them back. Key "o" + origin, value a small versioned record; records read are
 * checked like any untrusted input. Not thread-safe. */
#ifndef WR_DEDUP_H
#define WR_DEDUP_H
#include <stddef.h>
#include <stdint.h>
#include "wr_store.h"

#define WR_DEDUP_WINDOW        512    /* seqs tracked above the contiguous mark, per epoch */
#define WR_DEDUP_ORIGIN_MAX    64     /* origin id, incl. NUL (= WR_ID_MAX) */
#define WR_DEDUP_DEFAULT_ORIGINS 100000
#define WR_DEDUP_DEFAULT_EPOCHS  4
#define WR_DEDUP_MAX_EPOCHS      16

typedef struct {
    size_t max_origins;   /* 0 = WR_DEDUP_DEFAULT_ORIGINS */
    size_t max_epochs;    /* per origin, 1..WR_DEDUP_MAX_EPOCHS; 0 = WR_DEDUP_DEFAULT_EPOCHS */
} wr_dedup_config_t;

typedef struct {
    size_t   origins;          /* tracked now */
    uint64_t accepted;         /* marks of new events */
    uint64_t duplicates;       /* events reported seen by wr_dedup_check */
    uint64_t window_skipped;   /* seqs presumed lost when a window slid */
    uint64_t stale;            /* events refused for an epoch at or below the floor */
    uint64_t epochs_evicted;
    uint64_t origins_evicted;
    uint64_t load_rejected;    /* malformed records skipped by load */
} wr_dedup_stats_t;

typedef struct wr_dedup wr_dedup_t;

/* cfg may be NULL (defaults). NULL on ENOMEM. */
wr_dedup_t *wr_dedup_new(const wr_dedup_config_t *cfg);
void wr_dedup_destroy(wr_dedup_t **d);

/* 1 if (origin, epoch, seq) was seen (or is presumed seen: below a slid window or at/below
 * the origin's epoch floor), 0 if not, WR_EINVAL for an empty or over-long origin or seq 0.
 * Changes nothing. */
int wr_dedup_seen(const wr_dedup_t *d, const char *origin, uint64_t epoch, uint64_t seq);

/* Records (origin, epoch, seq) as seen. Returns 1 if it was new, 0 if already seen, or
 * WR_EINVAL / WR_ENOMEM. */
int wr_dedup_mark(wr_dedup_t *d, const char *origin, uint64_t epoch, uint64_t seq);

/* seen + mark in one step (when nothing can fail in between): 1 new, 0 duplicate (counted in
 * duplicates, or in stale for an epoch at or below the floor), or an error as for mark. */
int wr_dedup_check(wr_dedup_t *d, const char *origin, uint64_t epoch, uint64_t seq);

/* The highest seq such that every seq <= it of (origin, epoch) was seen: what to ACK.
 * Returns 0 and sets *seq, or WR_ENOTFOUND (epoch not tracked). */
int wr_dedup_contiguous(const wr_dedup_t *d, const char *origin, uint64_t epoch, uint64_t *seq);

/* Forgets origin (e.g. a decommissioned tier). Returns 0 or WR_ENOTFOUND. */
int wr_dedup_forget(wr_dedup_t *d, const char *origin);

void wr_dedup_stats(const wr_dedup_t *d, wr_dedup_stats_t *st);

/* Writes every origin changed since the last save (all = 0), or every origin after deleting
 * all records of the database (all = 1: also removes evicted and forgotten origins), into the
 * named database db of txn (a write transaction the caller commits). The changed flags are
 * reset here: if the caller then aborts, it must call again with all = 1.
 * Returns 0 or the store's error (WR_EFULL: abort and retry after freeing space). */
int wr_dedup_save(wr_dedup_t *d, wr_txn_t *txn, int db, int all);

/* Reads every record of db into d (a loaded origin's record replaces what d tracked for it;
 * meant for start-up). Malformed records are skipped and counted in load_rejected.
 * Returns 0 or WR_ESTORE / WR_ENOMEM. */
int wr_dedup_load(wr_dedup_t *d, wr_txn_t *txn, int db);

#endif
