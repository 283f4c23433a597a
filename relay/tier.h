/* tier: the state of one subtree as a relay or root holds it, and the links that feed it.
 *
 * A tier binds a ROUTER for its children (leaves or relays), merges what they send
 * (SNAPSHOT / DELTA: node states, per-metric rollups, the tiers below), keeps the routing
 * table node -> child, routes QUERYs down and REPLYs back, and (when it has parents) streams
 * its merged state upward every interval: SNAPSHOT when a parent comes up or asks, DELTA
 * otherwise. warren-relay is a tier with parents; warren-root is a tier without parents plus
 * HTTP. Everything runs on the loop's thread; nothing here blocks.
 *
 * Data rules:
 *  - A child's SNAPSHOT replaces everything that child said before; a DELTA updates the nodes
 *    it lists and replaces the child's rollups and tiers.
 *  - A DELTA whose seq is not the previous seq + 1 of the same epoch means frames were lost:
 *    the tier asks the child for a SNAPSHOT (COMMAND {cmd:"snapshot"}) and counts the gap.
 *    "Previous" means the previous SNAPSHOT/DELTA of that child: senders number their state
 *    frames on their own counter (the link's HEARTBEATs and other frames take seqs from the
 *    shared origin, so they must not be used): each DELTA carries the last DELTA's seq + 1,
 *    and a SNAPSHOT carries the seq of the last DELTA sent (so a SNAPSHOT to one parent is no
 *    gap for another). A receiver takes a SNAPSHOT's seq as the new base.
 *  - A node's owner is the child that last reported it. A SNAPSHOT from the owner that no
 *    longer lists the node removes it.
 *  - While a child is dead (no frame within the heartbeat timeout) its nodes are kept but
 *    reported with state WR_NODE_UNKNOWN, and its tiers are kept with up = 0.
 *  - Rollups: the tier's rollup of metric M is the merge of its live children's latest
 *    rollups of M: wr_agg_merge, wr_sketch_merge and wr_topk_merge (exact; a sketch or top-K
 *    is dropped when some child's rollup of M lacks one).
 *
 * Children must understand COMMAND "snapshot" (send a SNAPSHOT to that parent now). */
#ifndef TIER_H
#define TIER_H
#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include "wr_alarm.h"
#include "wr_codec.h"
#include "wr_event.h"
#include "wr_link.h"
#include "wr_outbox.h"
#include "wr_store.h"

typedef struct tier tier_t;

typedef struct {
    const char        *id;              /* this tier's id: "relay-1", "root-a" */
    const char        *kind;            /* "relay" | "root" */
    const char        *bind;            /* ROUTER endpoint for children */
    const char *const *parents;         /* parent endpoints (none for a root) */
    size_t             n_parents;
    wr_parent_mode_t   parent_mode;
    uint32_t           interval_ms;     /* period of the upward DELTA; default 10000 */
    uint32_t           query_timeout_ms;/* default 5000 */
    size_t             max_nodes;       /* cap of nodes per child frame; default 1,000,000 */
    wr_link_params_t   link;
    /* events (relay/tier_events.c): the LMDB directory for the outbox, dedup records, active
     * alarms and (root) history; NULL = ALARM / NOTIF frames are refused (counted) */
    const char        *store_path;
    uint64_t           store_map_size;  /* bytes; default 256 MiB */
    wr_outbox_limits_t outbox;          /* bounds of each outbox toward the parents (0: defaults) */
    /* fleet checks (relay/tier_census.c): how long nodes of one cluster must disagree about
     * its membership before membership_divergence is raised; 0 = default 60000 */
    uint32_t           membership_grace_ms;
} tier_params_t;

/* Creates the tier, binds, connects to parents. NULL with a reason in err. */
tier_t *tier_new(struct ev_loop *loop, void *zctx, const tier_params_t *params, char *err, size_t errlen);
void    tier_destroy(tier_t **tier);

typedef struct {
    uint32_t nodes_total;     /* every node known in the subtree */
    uint32_t nodes_up;
    uint32_t nodes_down;      /* nodes_total - nodes_up */
    uint32_t leaves_total, leaves_up;
    uint32_t relays_total, relays_up;   /* below this tier (this tier not counted) */
    uint32_t children;        /* live direct children */
    double   samples_per_s;   /* sum over live leaves */
    int64_t  started_ms;      /* wall ms this tier started */
    uint64_t seq_gaps;        /* DELTA gaps seen (snapshots asked for) */
    uint64_t bad_frames;      /* frames dropped as malformed */
    int      parents_up;      /* live parents (0 for a root) */
    /* active alarms of the subtree and event counters (relay/tier_events.c) */
    size_t   alarms_total, alarms_suppressed, alarms_acked;
    size_t   alarms_by_severity[WR_SEV_COUNT];
    uint64_t ev_received;     /* events in children's ALARM / NOTIF frames */
    uint64_t ev_duplicates;   /* of those, already seen (by identity): ACKed, not kept */
    uint64_t ev_forwarded;    /* queued toward the parents (relay) */
    uint64_t ev_stored;       /* new events kept (applied, forwarded or written to history) */
    uint64_t ev_acks;         /* ACK frames sent to children */
    uint64_t ev_bad;          /* malformed events or frames */
    uint64_t ev_failed;       /* store / outbox failures (the child resends) */
    uint64_t ev_pending;      /* relay: events in the outbox(es), not yet ACKed by a parent */
    uint64_t ev_dropped;      /* relay: events the outbox(es) dropped to stay in their limits */
    uint64_t ev_acked_up;     /* relay: events ACKed by parents */
} tier_status_t;

void tier_status(const tier_t *tier, tier_status_t *out);

/* A node as the tier sees it. Strings are valid until the loop runs again. */
typedef struct {
    const char *name;
    int         state;        /* WR_NODE_UP / DOWN / UNKNOWN (owner unreachable) */
    int64_t     since_ms;
    const char *leaf;         /* owning leaf id */
    const char *child;        /* direct child that routes to it */
} tier_node_view_t;

/* Visits every node (unspecified order); fn returns 0 to go on, non-zero to stop. */
void tier_nodes_foreach(const tier_t *tier, int (*fn)(void *ud, const tier_node_view_t *n), void *ud);
/* Looks one node up. Returns 0 or WR_ENOTFOUND. */
int  tier_node_lookup(const tier_t *tier, const char *name, tier_node_view_t *out);

/* The subtree's tiers, flattened in pre-order, this tier first (parent -1). Returns the count
 * and a malloc'd array in *out (caller frees). */
size_t tier_tree(const tier_t *tier, wr_tier_entry_t **out);

/* The merged rollups of the latest interval, one per metric. Returns the count and a malloc'd
 * array in *out (caller frees the array only: the entries' sketch and topk belong to the tier
 * and stay valid until the loop runs again or tier_rollups is called again; either may be NULL
 * when some child sent none). */
size_t tier_rollups(const tier_t *tier, wr_rollup_entry_t **out);
/* The newest `at` (wall ms) among the live children's rollups, or 0 when there are none. */
int64_t tier_rollups_at(const tier_t *tier);

/* Routes a query about node down to its owning leaf. fn is called exactly once, on the loop's
 * thread, later (never from inside tier_query): with status 0 and the leaf's JSON result, or
 * with a WR_E... status and an error text (WR_ETIMEDOUT after query_timeout_ms, WR_ENOTFOUND
 * from the leaf...). Returns 0 and the query id in *qid, or WR_ENOTFOUND (unknown node; fn is
 * not called) or WR_EAGAIN (child unreachable; fn is not called). */
typedef void (*tier_reply_fn)(void *ud, int status, const char *error, const char *result, size_t result_len);
int  tier_query(tier_t *tier, const char *node, const char *kind, const char *args_json,
                tier_reply_fn fn, void *ud, uint64_t *qid);
/* Forgets a pending query: its fn will not be called. */
void tier_query_cancel(tier_t *tier, uint64_t qid);

/* ---- events (relay/tier_events.c) ---------------------------------------------------
 * A tier with a store receives its children's ALARM / NOTIF frames: dedup by identity,
 * applies alarms to its table of active alarms, forwards (relay) or hands each new event to the
 * sink (root), and ACKs the child once the event is durable. */

/* Called by a root tier for every new (not duplicate) event, inside the write transaction that
 * also records its identity as seen (so history and dedup commit together). change is the
 * wr_alarm_change_t of an alarm event (alarm is its resulting state, NULL for NOOP / STALE and
 * for notifications). bytes are the packed event. Return 0, or an error to abort the frame
 * (nothing of it is kept, the child resends). */
typedef int (*tier_event_sink_fn)(void *ud, wr_txn_t *txn, const wr_event_t *ev, const void *bytes,
                                  size_t len, int change, const wr_alarm_t *alarm);
void tier_set_event_sink(tier_t *tier, tier_event_sink_fn fn, void *ud);
/* The tier's LMDB store (named databases "meta", "dedup", "alarms", "alarm_history",
 * "notifications", "outbox.0".."outbox.7"), or NULL without store_path. */
wr_store_t *tier_store(tier_t *tier);
/* Visits the active alarms of the subtree in raise order (see wr_alarm_table_foreach). */
int tier_alarms_foreach(const tier_t *tier, wr_alarm_visit_fn fn, void *ud);
/* An operator acknowledges an active alarm. Returns 0 (and its state in *out, may be NULL),
 * WR_ENOTFOUND or WR_EINVAL. */
int tier_alarm_ack(tier_t *tier, const wr_alarm_key_t *key, const char *by, int64_t at_ms, wr_alarm_t *out);

#endif
