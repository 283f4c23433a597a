/* tier_int: the tier's private structures, shared by tier.c (links, merge, upward stream),
 * tier_nodes.c (the node table) and tier_query.c (query routing). Not a public header. */
#ifndef TIER_INT_H
#define TIER_INT_H
#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include "tier.h"

/* ---- generic string-keyed open-addressing table (linear probing, backward-shift delete) --
 * Items embed their key as a NUL-terminated char array at key_off. */
typedef struct {
    void    *item;
    uint32_t hash;
} tmap_slot_t;

typedef struct {
    tmap_slot_t *slots;
    size_t       cap;      /* power of two, or 0 */
    size_t       count;
    size_t       key_off;
} tmap_t;

uint32_t tmap_hash(const char *s, size_t len);
void     tmap_init(tmap_t *m, size_t key_off);
void     tmap_free(tmap_t *m);
void    *tmap_get(const tmap_t *m, const char *key, size_t len, uint32_t hash);
int      tmap_put(tmap_t *m, void *item, uint32_t hash);       /* key must be absent; 0 or WR_ENOMEM */
void     tmap_del(tmap_t *m, const void *item, uint32_t hash);

/* ---- leaf ids, interned and reference-counted -------------------------------------- */
typedef struct {
    uint32_t hash;
    uint32_t refs;
    char     id[WR_ID_MAX];
} tleaf_t;

struct tchild;

/* ---- one node ---------------------------------------------------------------------- */
typedef struct tnode {
    uint32_t       hash;
    uint8_t        state;         /* as the owner reported it */
    uint8_t        dirty;         /* in the tier's dirty list */
    int64_t        since_ms;
    uint64_t       mark;          /* snapshot generation that last listed it */
    tleaf_t       *leaf;
    struct tchild *owner;
    struct tnode  *cprev, *cnext; /* owner's node list */
    struct tnode  *dprev, *dnext; /* dirty list */
    char           name[];        /* NUL-terminated */
} tnode_t;

/* ---- one direct child ---------------------------------------------------------------- */
typedef struct tchild {
    uint32_t           hash;
    int                live;
    int                synced;        /* a SNAPSHOT arrived since it came up */
    int                standby;       /* its last SNAPSHOT was empty (failover standby) */
    char               id[WR_ID_MAX];
    char               kind[WR_KIND_MAX];
    uint64_t           epoch;         /* epoch of the last state frame */
    uint64_t           last_seq;      /* seq of the last state frame */
    int                have_seq;
    int64_t            down_ms;       /* wall ms it went down */
    int64_t            snap_asked_ms; /* last COMMAND snapshot sent (mono ms) */
    tnode_t           *nodes;         /* list head */
    size_t             n_nodes;
    size_t             n_up;          /* nodes with reported state UP */
    wr_rollup_entry_t *rollups;       /* owned, with their sketches / top-Ks */
    size_t             n_rollups;
    int64_t            rollups_at;    /* at_ms of the frame that carried them */
    wr_tier_entry_t   *tiers;
    size_t             n_tiers;
    struct tchild     *next;          /* creation order */
} tchild_t;

/* ---- a routed query ------------------------------------------------------------------- */
typedef struct tquery {
    uint64_t       qid;           /* local id (sent down) */
    int            parent;        /* -1: local (fn), else parent index */
    uint64_t       up_qid;        /* the parent's qid */
    tier_reply_fn  fn;
    void          *ud;
    char           child[WR_ID_MAX];
    struct tier   *tier;
    ev_timer       timer;
    struct tquery *next;          /* hash chain */
} tquery_t;

#define TIER_QBUCKETS     4096
#define TIER_MAX_PENDING  10000
#define TIER_QUICK_MS     100

struct tier {
    struct ev_loop   *loop;
    char              id[WR_ID_MAX];
    char              kind[WR_KIND_MAX];
    uint32_t          interval_ms;
    uint32_t          query_timeout_ms;
    size_t            max_nodes;
    wr_parent_mode_t  parent_mode;
    int64_t           started_ms;
    wr_origin_t       origin;         /* shared with the links (HELLO, HEARTBEAT) */
    uint64_t          state_seq;      /* seq of the last DELTA sent upward */
    int               up_active;      /* failover: the parent holding our state, or -1 */
    wr_server_t      *server;
    wr_client_t      *client;
    wr_encoder_t     *enc;

    tmap_t            nodes;          /* name -> tnode_t */
    tmap_t            leaves;         /* leaf id -> tleaf_t */
    tmap_t            children;       /* child id -> tchild_t */
    tchild_t         *child_list, *child_tail;
    uint64_t          snap_gen;
    tnode_t          *dirty_head;     /* nodes changed since the last upward state frame */
    int               removed;        /* nodes were removed: next upward frame is a SNAPSHOT */

    ev_timer          interval_timer;
    ev_timer          quick_timer;
    wr_link_meter_t   meter;          /* this tier's links (server + client), per second */
    struct tier_group *group;         /* tier_group.c: live-leaf announcements */
    struct tier_events *events;       /* tier_events.c: ALARM / NOTIF, NULL without a store */
    struct tier_census *census;       /* tier_census.c: fleet checks (lazy) */
    uint32_t          membership_grace_ms;  /* tier_census.c (set by tier_events_init) */

    tquery_t         *qbuckets[TIER_QBUCKETS];
    size_t            n_pending;
    uint64_t          next_qid;

    /* counters */
    uint64_t          seq_gaps;
    uint64_t          bad_frames;
    uint64_t          unexpected;
    uint64_t          queries_rejected;
    uint64_t          late_replies;
    int64_t           bad_log_ms;     /* rate limit of bad-frame log lines */
    uint64_t          bad_log_suppressed;
    int64_t           gap_log_ms;     /* rate limit of seq-gap log lines */
    uint64_t          gap_log_suppressed;

    /* reusable buffers */
    wr_state_msg_t    out;            /* upward state frame */
    size_t            out_nodes_cap, out_rollups_cap, out_tiers_cap;
    /* rollup merge (tier.c rollups_fill): inputs sorted by metric, and per output slot the
     * sketch and top-K this tier owns (lent to the merged entries) */
    const wr_rollup_entry_t **merge_in;
    size_t            merge_in_cap;
    wr_sketch_t     **merge_sk;
    wr_topk_t       **merge_tk;
    size_t            merge_cap;
    char             *text_buf;       /* NUL-terminated copies of reply payloads */
    size_t            text_cap;
};

/* tier_nodes.c */
int      tier_nodes_init(tier_t *t);
void     tier_nodes_fini(tier_t *t);
tnode_t *tier_node_find(const tier_t *t, const char *name, size_t len);
/* Creates or updates node e as reported by child c (marks gen). Returns 0 or WR_ENOMEM. */
int      tier_node_apply(tier_t *t, tchild_t *c, const wr_node_entry_t *e, uint64_t gen);
/* Removes c's nodes whose mark != gen. */
void     tier_child_sweep(tier_t *t, tchild_t *c, uint64_t gen);
void     tier_node_mark_dirty(tier_t *t, tnode_t *n);
void     tier_node_clear_dirty(tier_t *t, tnode_t *n);
/* Effective state: UNKNOWN when the owner is dead. */
int      tier_node_state(const tnode_t *n);
void     tier_node_view(const tnode_t *n, tier_node_view_t *out);
tchild_t *tier_child_get(tier_t *t, const char *id, int create);

/* tier_query.c */
void tier_queries_fini(tier_t *t);
void tier_query_from_parent(tier_t *t, int parent, wr_decoder_t *dec);
void tier_reply_from_child(tier_t *t, tchild_t *c, wr_decoder_t *dec);
void tier_queries_child_down(tier_t *t, const tchild_t *c);

/* tier_group.c: leaf takeover (DESIGN section 5). The live children of kind "leaf" are
 * announced to each of them (COMMAND "group" {"leaves": [...], "version": n}) shortly after
 * any of them comes up or dies (debounced; never before the start-up grace, so a restarted
 * relay does not announce a partial group), and again every 10 s. */
int  tier_group_init(tier_t *t, uint32_t grace_ms);   /* 0 or WR_ENOMEM */
void tier_group_fini(tier_t *t);
void tier_group_changed(tier_t *t);                  /* a child came up or died */

/* tier_events.c: events from children, to parents (see its file comment) */
typedef struct tier_events tier_events_t;
int  tier_events_init(tier_t *t, const tier_params_t *p, char *err, size_t errlen);  /* before links */
int  tier_events_start(tier_t *t, const tier_params_t *p, char *err, size_t errlen); /* after the client */
void tier_events_fini(tier_t *t);
void tier_events_from_child(tier_t *t, tchild_t *c, const wr_envelope_t *env, wr_decoder_t *dec);
void tier_events_child_up(tier_t *t, tchild_t *c);
void tier_events_node_state(tier_t *t, const char *name, int state);
void tier_events_parent_up(tier_t *t, int parent);
void tier_events_parent_ack(tier_t *t, int parent, wr_decoder_t *dec);
void tier_events_status(const tier_t *t, tier_status_t *out);
/* Originates one event of this tier itself (not a child's): an alarm it raises or clears
 * (module_clash at a relay, outbox_overflow...) or a notification. ev->kind is WR_MSG_ALARM
 * (ev->alarm filled, origin = the tier id) or WR_MSG_NOTIF (ev->notif filled); ev->id is
 * overwritten with this tier's identity: origin = the tier id, an epoch chosen when the tier
 * started (wall ms x 1000), the next seq. The event takes the ordinary path in one synced
 * commit: the tier's alarm table (+ persisted active alarms), then the outbox toward the
 * parents (a relay) or the event sink (a root: history); at-least-once from there. Returns 0
 * once committed; WR_EUNSUPPORTED (a tier without a store), WR_EINVAL (malformed), or a store
 * error (nothing kept: the caller retries later). Loop thread only; not from an event sink. */
int  tier_events_originate(tier_t *t, wr_event_t *ev);
/* The same for an alarm given by its parts (severity 0 = clear; text NULL = ""), raised by
 * this tier: fills a scratch event (wr_alarm_event_set, now) and calls tier_events_originate. */
int  tier_events_alarm(tier_t *t, const char *scope, const char *type, const char *resource,
                       int severity, const char *text);

/* tier_census.c: fleet checks (module_clash, different_application_versions) */
/* A child's state frame carried a census summary (blob, len, borrowed; absent = unchanged,
 * except in a SNAPSHOT: a SNAPSHOT without one, e.g. a failover standby's empty one, drops
 * the child's summary). */
void   tier_census_from_child(tier_t *t, const char *child, const void *blob, size_t len,
                              int snapshot);
/* Every interval: re-merges when a child's summary changed, raises / clears the clashes. */
void   tier_census_tick(tier_t *t);
/* A child died: its summary leaves the merge (its SNAPSHOT brings it back). */
void   tier_census_child_down(tier_t *t, const char *child);
/* Building an upward state frame: sets m->census (lent) when the summary changed, on a
 * snapshot, or every so many frames; else clears it. */
void   tier_census_fill(tier_t *t, wr_state_msg_t *m, int snapshot);
size_t tier_census_raised(const tier_t *t);   /* fleet alarms this tier holds raised */
void   tier_census_fini(tier_t *t);

/* tier.c */
void tier_count_bad(tier_t *t, const char *peer, const char *why);
void tier_state_changed(tier_t *t);   /* arms the quick upward DELTA */
const char *tier_text(tier_t *t, const char *s, size_t len);  /* NUL-terminated copy */

#endif
