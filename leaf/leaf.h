/* leaf: the internal state of warren-leaf, shared by its source files.
 *
 * leaf_main.c      start-up, loop, shutdown
 * leaf_config.c    the "leaf" config section, nodes file, cookie
 * leaf_connector.c the handshake worker thread (connects off the loop)
 * leaf_beam.c      the ei C node: connections, reading, node up/down, reconnect backoff
 * leaf_poll.c      the poll tick: rex calls, reply matching, sample collection
 * leaf_agent.c     warren_agent: md5 check, code:load_binary, one collect call per interval
 * leaf_samples.c   LMDB: raw rows (one per node and poll), metric codes, batched writes,
 *                  retention, full-map pruning
 * leaf_query.c     "metric" queries on the history (raw rows and tiers)
 * leaf_up.c        upstream: HELLO/SNAPSHOT/DELTA, COMMAND, QUERY/REPLY
 * leaf_parse.c     reply term decoding (pure)
 * leaf_rollup.c    this interval's per-metric aggregates, carried upward as rollups
 * leaf_procs.c     QUERY kind "procs": the live top-N processes of a node, through the agent
 * leaf_alarms.c    node alarm checks (thresholds, forecasts, node_down) -> ALARM events
 * leaf_events.c    the at-least-once outlet of alarm events and notifications (wr_evsend)
 * leaf_notify.c    notifications: node up/down/restarted, the agent's pushes, rate limits
 * Everything but the connector's worker runs on the loop thread. Not a public API. */
#ifndef LEAF_H
#define LEAF_H
/* libei.a is the thread-safe build: erl_errno is per thread only with _REENTRANT. */
#ifndef _REENTRANT
#define _REENTRANT 1
#endif
#include <ev.h>
#include <ei.h>
#include <stdint.h>
#include "wr_codec.h"
#include "wr_config.h"
#include "wr_link.h"
#include "wr_metric.h"
#include "wr_outbox.h"
#include "wr_store.h"
#include "leaf_parse.h"
#include "leaf_alarms.h"
#include "leaf_events.h"
#include "leaf_frame.h"

#define LEAF_METRICS_MAX 320         /* >= wr_metric_count (259 in this build) */
#define LEAF_CALLS       13          /* agentless rex calls per node per poll */
#define LEAF_ADDR_MAX    64
#define LEAF_CLUSTER_MAX 64          /* a node's cluster name, incl. NUL */
#define LEAF_PATH_MAX    1024
#define LEAF_MAX_NODES   100000
#define LEAF_COUNTERS_MAX 16         /* >= counters in the catalogue (9 in this build; checked at start) */

#define LEAF_HIST_TIERS_MAX 6       /* downsampled history tiers (leaf_hist.c) */
typedef struct {
    int64_t step_ms, keep_ms;
} leaf_hist_tier_cfg_t;

typedef struct {
    char name[WR_NODE_NAME_MAX];
    int  port;                        /* 0: ask epmd */
    char address[LEAF_ADDR_MAX];      /* "" : resolve the host part */
    char cluster[LEAF_CLUSTER_MAX];   /* fleet checks (leaf_census.c); "": the node's release */
} leaf_node_cfg_t;

typedef struct {
    char     id[WR_ID_MAX];
    char     node_name[WR_NODE_NAME_MAX];
    char     cookie_file[LEAF_PATH_MAX];
    char     cookie[256];
    double   interval;                /* seconds */
    int      down_after;              /* intervals */
    double   connect_timeout;         /* seconds */
    double   reconnect_max;           /* seconds */
    char   **parents;                 /* NULL-terminated */
    size_t   n_parents;
    int      parent_mode;             /* wr_parent_mode_t */
    double   hb_interval;
    int      hb_misses;
    char     store_path[LEAF_PATH_MAX];
    int64_t  map_size_mb;
    double   retention;               /* seconds */
    int64_t  max_mb;                  /* cap on the raw samples' estimated size; 0: none */
    leaf_hist_tier_cfg_t hist[LEAF_HIST_TIERS_MAX];   /* steps increasing */
    size_t   n_hist;
    char     nodes_file[LEAF_PATH_MAX];
    leaf_node_cfg_t *nodes;
    size_t   n_nodes;
    int      agent;                   /* 1: load and use warren_agent (leaf_agent.c) */
    char     agent_dir[LEAF_PATH_MAX];
    unsigned char *agent_beam;        /* warren_agent.beam read at start-up (agent = 1) */
    size_t   agent_beam_len;
    unsigned char agent_md5[16];      /* from warren_agent.md5 */
    char   **group_leaves;            /* leaf.group.leaves (leaf_group.c); NULL: no group */
    size_t   n_group_leaves;
    leaf_alarms_cfg_t alarms;         /* leaf.alarms (leaf_alarms.c) */
    double   notify_rate;             /* leaf.notify (leaf_notify.c): per node and type, a second */
    double   notify_burst;
    int      notify_sysmon;           /* forward system monitor events (always counted) */
    int      notify_source_rate;      /* the agent's own cap, all types, a second */
    wr_outbox_limits_t outbox;        /* leaf.outbox: bounds of each outbox (leaf_events.c) */
    double   membership_grace;        /* leaf.membership_grace (leaf_census.c): seconds */
} leaf_cfg_t;

typedef struct leaf leaf_t;

/* The numbers of a ref we made: enough to match a reply from the node we sent it to. An
 * erlang_ref also carries a 1 KB node-name buffer; keeping 14 of them per node made every
 * leaf_node_t 20 kB (and a takeover group keeps a leaf_node_t for every node of the group). */
typedef struct {
    unsigned int n[5];
    int          len;
} leaf_ref_t;

static inline void leaf_ref_keep(leaf_ref_t *k, const erlang_ref *r)
{
    k->len = r->len;
    for (int i = 0; i < 5; i++)
        k->n[i] = r->n[i];
}

/* 1 if r is the ref kept in k. */
static inline int leaf_ref_match(const leaf_ref_t *k, const erlang_ref *r)
{
    if (k->len != r->len || k->len < 1 || k->len > 5)
        return 0;
    for (int i = 0; i < k->len; i++)
        if (k->n[i] != r->n[i])
            return 0;
    return 1;
}

typedef struct {
    leaf_ref_t ref;
    int        live;                  /* waiting for the reply */
} leaf_inflight_t;

typedef struct leaf_node {
    leaf_t  *leaf;
    uint32_t idx;
    char     name[WR_NODE_NAME_MAX];
    const char *host;                 /* within name, after the '@' */
    int      port;
    char     address[LEAF_ADDR_MAX];
    int      state;                   /* WR_NODE_... */
    int64_t  since_ms;
    int      dirty;                   /* state changed since the last DELTA */
    int      fd;                      /* -1: not connected */
    int      connecting;              /* a request is with the worker */
    ev_io    io;                      /* EV_READ, plus EV_WRITE while outq holds bytes */
    leaf_frame_t frame;               /* incoming packet split across reads (leaf_beam.c) */
    char    *outq;                    /* bytes a write could not take yet (leaf_beam.c) */
    size_t   outq_off, outq_len, outq_cap;
    int      sent_since_tick;         /* bytes went out since the node's last tick: no tock */
    ev_timer retry;
    double   backoff;                 /* seconds, next reconnect delay */
    int64_t  last_reply_mono;         /* ms; set at connect and on every matched reply */
    int64_t  round_ts;                /* wall ms of the current poll round */
    leaf_inflight_t inflight[LEAF_CALLS];
    uint32_t sid;                     /* store id of the node (row keys, leaf_samples.c); 0: none yet */
    int64_t  row_ts;                  /* ts of the newest raw row written (0: unknown) */
    double   ctr_val[LEAF_COUNTERS_MAX]; /* previous sample of each counter (leaf_counter_slot), */
    int64_t  ctr_ts[LEAF_COUNTERS_MAX];  /* for the rollups' rates; 0: none */
    leaf_inflight_t agent_call;       /* the agent call in flight (leaf_agent.c) */
    int      agent_state;             /* LEAF_AGENT_... (leaf_agent.c) */
    int      agent_waits;             /* ticks the current agent check/load has waited */
    int      agent_retries;           /* re-checks after failed collects, this UP period */
    int      agent_warned;            /* the agent failure was logged at WARN once */
    int64_t  agent_epoch;             /* since_ms of the UP period agent_state belongs to */
    int      owned;                   /* 1: this leaf watches it (leaf_group.c); 1 without a group */
} leaf_node_t;

typedef struct {
    uint32_t node;
    uint32_t metric;
    int64_t  ts_ms;
    double   value;
} leaf_sample_t;

typedef struct leaf_connector leaf_connector_t;

struct leaf {
    struct ev_loop *loop;
    leaf_cfg_t      cfg;
    leaf_node_t    *nodes;
    size_t          n_nodes;
    uint32_t       *hash;             /* open addressing: node idx + 1, 0 = empty */
    size_t          hash_cap;
    /* the indices of the owned nodes (a takeover group configures ~16x more nodes than a
     * leaf watches: per-second and per-interval loops walk this, not every leaf_node_t) */
    uint32_t       *owned_list;
    size_t          n_owned;
    int             owned_stale;      /* an owned flag changed: rebuilt by leaf_owned_nodes */
    uint64_t        owned_gen;        /* bumped by every rebuild */
    uint64_t        group_applied;    /* hash of the live-leaf list last applied (0: none) */

    /* BEAM side */
    ei_cnode          ec;
    ei_x_buff         rx, tx;
    leaf_connector_t *conn;
    int               call_metric[LEAF_CALLS][LEAF_PARSE_MAX_VALUES];  /* slot -> metric or -1 */
    ev_periodic       poll;
    double            tick_phase;     /* s into each second of the 1 s ticks (leaf_main.c) */
    ev_timer          retention_timer;
    ev_timer          delta_soon;

    /* samples */
    wr_store_t     *store;
    int             db_series, db_samples, db_meta, db_hist;
    uint32_t        next_sid;
    leaf_sample_t  *pending;
    size_t          n_pending, cap_pending;
    double          samples_per_s;
    wr_link_meter_t link_meter;     /* the parent links' frame / byte rates (leaf_up.c) */
    struct leaf_hist *hist;           /* downsampled tiers (leaf_hist.c) */
    struct leaf_rows *rows;           /* raw rows: metric codes, write buffers (leaf_samples.c) */

    /* upstream */
    void           *zctx;
    wr_client_t    *cli;
    wr_origin_t     origin;
    uint64_t        state_seq;      /* seq of the last DELTA (see leaf_up.c) */
    wr_encoder_t   *enc;
    wr_node_entry_t   *msg_nodes;     /* n_nodes entries, reused */
    wr_rollup_entry_t  msg_rollups[LEAF_METRICS_MAX];
    struct wr_rollup_builder *rollup;  /* leaf_rollup.c: this interval's aggregates */
    struct leaf_procs *procs;         /* pending procs queries (leaf_procs.c) */
    int             up_active;        /* leaf_up.c: parent holding our state (failover), -1 */
    uint64_t        group_version;    /* leaf_group.c: last group announcement applied */
    uint64_t        group_changes, group_ignored;
    struct leaf_events *events;       /* leaf_events.c: the at-least-once event outlet */
    struct leaf_alarms *alarms;       /* leaf_alarms.c: node alarm checks */
    struct leaf_notify *notify;       /* leaf_notify.c: notifications */
    struct leaf_census *census;       /* leaf_census.c: fleet checks' census (lazy) */

    /* counters */
    uint64_t unknown_refs, parse_errors, bad_messages, samples_written, samples_dropped,
             samples_pruned, calls_unanswered, connects_ok, connects_failed, send_errors, queries;
    uint64_t agent_loads, agent_load_failures, agent_collects, agent_errors,
             agent_unknown_metrics, agent_bad_items;   /* leaf_agent.c */
    uint64_t samples_expired, samples_pruned_size, hist_points_written, hist_points_dropped,
             hist_points_expired, hist_late;   /* leaf_samples.c / leaf_hist.c */
};

/* leaf_config.c */
int  leaf_config_read(wr_config_t *cfg, leaf_cfg_t *out);
/* Reads cookie_file into out->cookie; returns 0 or WR_ECONFIG with a reason in err. */
int  leaf_config_read_cookie(leaf_cfg_t *out, char *err, size_t errlen);
void leaf_config_free(leaf_cfg_t *cfg);
int  leaf_node_name_valid(const char *name, char *why, size_t whylen);

/* leaf_connector.c: a worker thread running handshakes. */
typedef void (*leaf_connect_done_fn)(void *ud, uint32_t node, int fd, const char *error);
leaf_connector_t *leaf_connector_new(struct ev_loop *loop, const ei_cnode *ec, unsigned timeout_ms,
                                     leaf_connect_done_fn done, void *ud);
/* Queues a connect of node (name "alive@host"; port 0 = epmd; address may be ""). */
int  leaf_connector_submit(leaf_connector_t *c, uint32_t node, const char *name, const char *host,
                           int port, const char *address);
void leaf_connector_destroy(leaf_connector_t **c);

/* leaf_beam.c */
int  leaf_beam_init(leaf_t *lf);
void leaf_beam_start(leaf_t *lf);          /* queues the first connect of every node */
void leaf_beam_fini(leaf_t *lf);
/* Marks node down for reason, closes its connection, schedules a reconnect. */
void leaf_node_lost(leaf_t *lf, leaf_node_t *n, const char *reason);
void leaf_node_set_state(leaf_t *lf, leaf_node_t *n, int state);
leaf_node_t *leaf_node_find(leaf_t *lf, const char *name, size_t len);
/* Sends one encoded message (tx) to rex of node n. Returns 0 or -1 (connection broken). */
int  leaf_beam_send_rex(leaf_t *lf, leaf_node_t *n);
/* Starts lf->tx as the rpc call {'$gen_call', {Self, Ref}, {call, Mod, Fun, Args, user}}, up to
 * the header of an Args list of nargs elements (none for 0); the caller encodes the arguments,
 * then leaf_rpc_tail. Both return 0 or WR_ENOMEM. */
int  leaf_rpc_head(leaf_t *lf, const erlang_ref *ref, const char *mod, const char *fun, int nargs);
int  leaf_rpc_tail(leaf_t *lf);

/* leaf_poll.c */
void leaf_poll_init(leaf_t *lf);
void leaf_poll_tick(leaf_t *lf);
/* A message to our pid from node n (payload in lf->rx). */
void leaf_poll_on_message(leaf_t *lf, leaf_node_t *n);

/* leaf_samples.c */
int  leaf_samples_open(leaf_t *lf, char *err, size_t errlen);
void leaf_samples_close(leaf_t *lf);
void leaf_samples_add(leaf_t *lf, uint32_t node, uint32_t metric, int64_t ts_ms, double v);
/* Writes the pending samples in one txn (pruning on a full map). Returns samples written. */
size_t leaf_samples_flush(leaf_t *lf);
void leaf_samples_retention(leaf_t *lf);
/* The slot of a counter metric in leaf_node_t.ctr_val/ctr_ts (0..LEAF_COUNTERS_MAX-1), or -1
 * for a gauge (or a counter past the cap: leaf_samples_open refuses such a catalogue). */
int  leaf_counter_slot(uint32_t metric);
/* Answers a "metric" query; returns a status and sets *result (malloc'd JSON) or err. */
int  leaf_samples_query(leaf_t *lf, leaf_node_t *n, const char *args, size_t args_len,
                        char **result, char *err, size_t errlen);

/* leaf_hist.c: downsampled history tiers (the rest of its API is in leaf_hist.h) */
/* Reads leaf.store.history (["10s:1h", "1m:1d", "5m:7d"] by default) and leaf.store.max_mb
 * into out, recording config errors naming the key. Returns 0 (errors are in cfg). */
int  leaf_hist_config_read(wr_config_t *cfg, leaf_cfg_t *out);

/* leaf_agent.c: warren_agent, loaded into each node, collects every metric in one call. */
/* Reads leaf.agent (true) and leaf.agent_dir (<dir of the executable>/../agent), and with
 * agent = true reads warren_agent.beam and .md5 from agent_dir into out; problems are
 * recorded as config errors naming the path. Returns 0. */
int  leaf_agent_config_read(wr_config_t *cfg, leaf_cfg_t *out);
/* This poll round of UP node n: checks/loads the agent when needed, sends the collect call
 * when the agent runs. Returns 1 if the agent covers this round, 0 if the caller must send
 * the agentless calls (agent off, failed, or still being checked), -1 if the node was lost
 * (a send failed: the caller skips it). */
int  leaf_agent_tick(leaf_t *lf, leaf_node_t *n, int64_t now_wall);
/* A message from node n with ref (reply at index ri of lf->rx): returns 1 if it answered
 * the node's agent call (and was handled), 0 if not. */
int  leaf_agent_on_reply(leaf_t *lf, leaf_node_t *n, const erlang_ref *ref, int ri);

/* leaf_rollup.c */
void   leaf_rollup_reset(leaf_t *lf);                 /* start a new interval */
void   leaf_rollup_fini(leaf_t *lf);                  /* frees the interval's aggregates */
/* One sample value of node n (a counter's per-second rate) into this interval's rollup. */
void   leaf_rollup_add(leaf_t *lf, const leaf_node_t *n, uint32_t metric, double value);
/* Writes this interval's rollups into out (at most cap); returns how many. */
size_t leaf_rollup_fill(leaf_t *lf, wr_rollup_entry_t *out, size_t cap);

/* leaf_procs.c */
/* Starts answering QUERY qid (kind "procs", args JSON {"by":..., "n":...}) about node n for
 * parent: the reply is sent later, when the node answers or the query times out. Returns 0,
 * or a WR_E... status with err set (the caller replies with it at once). */
int  leaf_procs_start(leaf_t *lf, leaf_node_t *n, int parent, uint64_t qid, const char *args,
                      size_t args_len, char *err, size_t errlen);
/* A message from node n whose ref (at index ri of lf->rx) may answer a procs call: returns 1
 * if it did (and was handled), 0 if the ref is not one of ours. */
int  leaf_procs_on_reply(leaf_t *lf, leaf_node_t *n, const erlang_ref *ref, int ri);
void leaf_procs_fini(leaf_t *lf);

/* leaf_group.c: leaf takeover (DESIGN section 5). With leaf.group.leaves set, nodes/nodes_file
 * list every node of the group and this leaf watches the nodes that rendezvous hashing over
 * the group's live leaves gives it; the relay announces the live leaves (COMMAND "group"). */
/* Reads leaf.group.leaves (optional; must hold the leaf's own id). Returns 0 (errors in cfg). */
int  leaf_group_config_read(wr_config_t *cfg, leaf_cfg_t *out);
/* Sets every node's owned flag: all without a group, else rendezvous over the configured leaves. */
void leaf_group_init(leaf_t *lf);
/* COMMAND "group" from parent, args JSON {"leaves": [ids], "version": n}: re-computes ownership,
 * connects the nodes gained and lets go of the nodes lost. Ignored when not from the active
 * parent or when the list lacks this leaf (counted). */
void leaf_group_on_command(leaf_t *lf, int parent, const char *args, size_t len);
/* The rendezvous score of node for leaf (highest wins). Pure; exposed for tests. */
uint64_t leaf_group_score(const char *node, const char *leaf);

/* leaf_beam.c (takeover) */
/* The indices of the owned nodes, ascending, in *n; rebuilt after an owned flag changed (then
 * lf->owned_gen grows). Valid until the next change of ownership. */
const uint32_t *leaf_owned_nodes(leaf_t *lf, size_t *n);
/* Starts watching n (owned = 1; connects it; its state is reported once known). */
void leaf_beam_acquire(leaf_t *lf, leaf_node_t *n);
/* Stops watching n (owned = 0; disconnects; no state change is reported upward). */
void leaf_beam_release(leaf_t *lf, leaf_node_t *n);

/* leaf_up.c */
int  leaf_up_init(leaf_t *lf, char *err, size_t errlen);
void leaf_up_fini(leaf_t *lf);
/* Sends the interval's DELTA (rollups from leaf_rollup_fill). */
void leaf_up_send_delta(leaf_t *lf);
/* Sends a REPLY for qid to parent (result JSON may be NULL). */
void leaf_up_reply(leaf_t *lf, int parent, uint64_t qid, int status, const char *err, const char *result);
/* A node changed state: send a DELTA soon (coalesced). */
void leaf_up_state_changed(leaf_t *lf);

#endif
