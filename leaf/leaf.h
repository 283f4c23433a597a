/* leaf: the internal state of warren-leaf, shared by its source files.
 *
 * leaf_main.c      start-up, loop, shutdown
 * leaf_config.c    the "leaf" config section, nodes file, cookie
 * leaf_connector.c the handshake worker thread (connects off the loop)
 * leaf_beam.c      the ei C node: connections, reading, node up/down, reconnect backoff
 * leaf_poll.c      the poll tick: rex calls, reply matching, sample collection
 * leaf_samples.c   LMDB: series ids, batched sample writes, retention, full-map pruning,
 *                  metric queries
 * leaf_up.c        upstream: HELLO/SNAPSHOT/DELTA, COMMAND, QUERY/REPLY
 * leaf_parse.c     reply term decoding (pure)
 * leaf_rollup.c    this interval's per-metric aggregates, carried upward as rollups
 * leaf_procs.c     QUERY kind "procs": the live top-N processes of a node, through the agent
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
#include "wr_store.h"
#include "leaf_parse.h"

#define LEAF_METRICS_MAX 64          /* >= wr_metric_count */
#define LEAF_CALLS       13          /* rex calls per node per poll */
#define LEAF_ADDR_MAX    64
#define LEAF_PATH_MAX    1024
#define LEAF_MAX_NODES   100000

typedef struct {
    char name[WR_NODE_NAME_MAX];
    int  port;                        /* 0: ask epmd */
    char address[LEAF_ADDR_MAX];      /* "" : resolve the host part */
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
    char     nodes_file[LEAF_PATH_MAX];
    leaf_node_cfg_t *nodes;
    size_t   n_nodes;
} leaf_cfg_t;

typedef struct leaf leaf_t;

typedef struct {
    erlang_ref ref;
    int        live;                  /* waiting for the reply */
} leaf_inflight_t;

typedef struct leaf_node {
    leaf_t  *leaf;
    uint32_t idx;
    char     name[WR_NODE_NAME_MAX];
    char     host[WR_NODE_NAME_MAX];
    int      port;
    char     address[LEAF_ADDR_MAX];
    int      state;                   /* WR_NODE_... */
    int64_t  since_ms;
    int      dirty;                   /* state changed since the last DELTA */
    int      fd;                      /* -1: not connected */
    int      connecting;              /* a request is with the worker */
    ev_io    io;
    ev_timer retry;
    double   backoff;                 /* seconds, next reconnect delay */
    int64_t  last_reply_mono;         /* ms; set at connect and on every matched reply */
    int64_t  round_ts;                /* wall ms of the current poll round */
    leaf_inflight_t inflight[LEAF_CALLS];
    uint32_t series[LEAF_METRICS_MAX];   /* 0: no series id yet */
    double   last_val[LEAF_METRICS_MAX]; /* for counter rates */
    int64_t  last_ts[LEAF_METRICS_MAX];  /* 0: none */
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

    /* BEAM side */
    ei_cnode          ec;
    ei_x_buff         rx, tx;
    leaf_connector_t *conn;
    int               call_metric[LEAF_CALLS][LEAF_PARSE_MAX_VALUES];  /* slot -> metric or -1 */
    ev_periodic       poll;
    ev_timer          retention_timer;
    ev_timer          delta_soon;

    /* samples */
    wr_store_t     *store;
    int             db_series, db_samples, db_meta;
    uint32_t        next_sid;
    leaf_sample_t  *pending;
    size_t          n_pending, cap_pending;
    double          samples_per_s;

    /* upstream */
    void           *zctx;
    wr_client_t    *cli;
    wr_origin_t     origin;
    uint64_t        state_seq;      /* seq of the last DELTA (see leaf_up.c) */
    wr_encoder_t   *enc;
    wr_node_entry_t   *msg_nodes;     /* n_nodes entries, reused */
    wr_rollup_entry_t  msg_rollups[LEAF_METRICS_MAX];
    wr_agg_t        interval_agg[LEAF_METRICS_MAX];

    /* counters */
    uint64_t unknown_refs, parse_errors, bad_messages, samples_written, samples_dropped,
             samples_pruned, calls_unanswered, connects_ok, connects_failed, send_errors, queries;
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
/* Answers a "metric" query; returns a status and sets *result (malloc'd JSON) or err. */
int  leaf_samples_query(leaf_t *lf, leaf_node_t *n, const char *args, size_t args_len,
                        char **result, char *err, size_t errlen);

/* leaf_rollup.c */
void   leaf_rollup_reset(leaf_t *lf);                 /* start a new interval */
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
