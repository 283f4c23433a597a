/* leaf_notify: notifications (DESIGN section 3, issue 4 item 5) as the leaf sees them.
 *
 * Two sources, one way out:
 *  - observed by the leaf itself, agent or not: node_up, node_down (an UP node lost) and
 *    node_restarted (a node back with another creation, or an uptime lower than the one seen
 *    before plus the time since). At every connect the leaf asks rex for
 *    erlang:system_info(creation) and erlang:statistics(wall_clock) to tell.
 *  - pushed by warren_agent (leaf/agent/warren_agent.erl) as registered sends to warren_leaf
 *    on the leaf's C node: {warren_notif, Type, Severity, TsMs, [{Key, Value}]} and
 *    {warren_notif_dropped, N} (what the agent dropped at the source). The leaf subscribes
 *    each UP node where the agent runs: warren_agent:subscribe(LeafNodeName, Opts) through rex,
 *    retried every interval (1..10 s) while the agent loads, then backing off from 30 s to
 *    10 min, until it answers {ok, Pid}; renewed every 60 s (the agent's lease is 300 s).
 * Every notification is rate-limited per node and per type (token bucket: leaf.notify.rate a
 * second, leaf.notify.burst at most); what the limit drops is counted per type (and the next
 * one delivered of that node and type carries "suppressed": N), logged at WARN at most once
 * a minute and summed at stop. What passes becomes a wr_event_t of kind NOTIF (fields: a JSON
 * object built with jansson, strings capped, within WR_NOTIF_FIELDS_MAX) handed to
 * leaf_events_push (at-least-once upward). Terms from nodes are untrusted: validated with
 * leaf_term_check, every size capped, malformed ones counted and dropped.
 * Runs on the loop thread. Not a public API. */
#ifndef LEAF_NOTIFY_H
#define LEAF_NOTIFY_H
#include <stddef.h>
#include <stdint.h>
#include "leaf.h"
#include "wr_event.h"

#define LEAF_NOTIFY_MSG_MAX    (64 << 10)   /* bytes of one pushed term; larger: rejected */
#define LEAF_NOTIFY_FIELDS_MAX 32           /* fields of one notification; more: cut */
#define LEAF_NOTIFY_KEY_MAX    48           /* bytes of a field name ([a-z0-9_]) */
#define LEAF_NOTIFY_STR_MAX    2048         /* bytes of a string value; longer: cut */

/* The types the leaf knows (anything else pushed is rejected and counted). */
enum {
    LEAF_NT_NODE_UP = 0, LEAF_NT_NODE_DOWN, LEAF_NT_NODE_RESTARTED,
    LEAF_NT_CODE_LOADED, LEAF_NT_CODE_PURGED, LEAF_NT_SHELL_COMMAND, LEAF_NT_CRASH_DUMP,
    LEAF_NT_ERROR_REPORT, LEAF_NT_WARNING_REPORT, LEAF_NT_CRASH_REPORT,
    LEAF_NT_SUPERVISOR_REPORT, LEAF_NT_CONFIG_CHANGED,
    LEAF_NT_LONG_GC, LEAF_NT_LONG_SCHEDULE, LEAF_NT_LARGE_HEAP, LEAF_NT_BUSY_PORT,
    LEAF_NT_BUSY_DIST_PORT,
    LEAF_NT_COUNT
};
extern const char *const leaf_notify_type_names[LEAF_NT_COUNT];

/* The type index of name, or -1. */
int leaf_notify_type_find(const char *name);
/* 1 if the agent may push type t (every type but node_up / node_down / node_restarted). */
int leaf_notify_type_pushable(int t);
/* 1 if t is a system monitor event (long_gc ... busy_dist_port). */
int leaf_notify_type_sysmon(int t);

/* A token bucket: starts full. */
typedef struct {
    double  tokens;
    int64_t last_ms;      /* 0: never used (full) */
} leaf_notify_bucket_t;

/* Takes one token at now_ms (monotonic ms), refilling rate tokens a second up to burst.
 * Returns 1 if taken, 0 if the bucket is empty (the caller drops and counts). */
int leaf_notify_bucket_take(leaf_notify_bucket_t *b, double rate, double burst, int64_t now_ms);

/* What the head of a pushed term says. */
typedef struct {
    int      kind;          /* LEAF_NOTIFY_TERM_NOTIF or LEAF_NOTIFY_TERM_DROPPED */
    int      type;          /* LEAF_NT_... (NOTIF) */
    int      severity;      /* wr_severity_t 1..5 (NOTIF) */
    int64_t  ts_ms;         /* the node's time (NOTIF) */
    int      fields_index;  /* where the field list starts in buf (NOTIF) */
    uint64_t dropped;       /* DROPPED: notifications the agent dropped at the source */
} leaf_notify_head_t;

enum { LEAF_NOTIFY_TERM_NOTIF = 1, LEAF_NOTIFY_TERM_DROPPED = 2 };

/* Decodes a pushed message payload (buf[0..len), starting with the version byte): validates
 * the whole term, then reads its head. Returns 0 with *out filled, WR_ETOOBIG (over
 * LEAF_NOTIFY_MSG_MAX or a term cap) or WR_EPROTO (not one of the two shapes, unknown or
 * non-pushable type, bad severity, bad field list) with a reason in why. */
int leaf_notify_decode_head(const char *buf, int len, leaf_notify_head_t *out, char *why,
                            size_t whylen);

/* Builds the JSON object text of the field list at index (validated by decode_head) into
 * out (cap bytes, at most WR_NOTIF_FIELDS_MAX): keys must be atoms or binaries of
 * [a-z0-9_] (<= LEAF_NOTIFY_KEY_MAX), values binaries (strings, invalid UTF-8 replaced by
 * '?'), integers, floats or atoms (true/false as booleans); other fields are skipped and
 * counted in *bad. Strings are cut at LEAF_NOTIFY_STR_MAX (smaller when needed to fit cap),
 * and a cut adds "truncated": true. extra_key/extra_val (NULL: none) add one integer field.
 * Returns 0 or WR_EPROTO / WR_ENOMEM. */
int leaf_notify_build_fields(const char *buf, int index, const char *extra_key,
                             uint64_t extra_val, char *out, size_t cap, size_t *bad);

/* Counters since start. */
typedef struct {
    uint64_t received[LEAF_NT_COUNT];   /* notifications seen (pushed or observed) */
    uint64_t sent[LEAF_NT_COUNT];       /* handed to leaf_events_push and accepted */
    uint64_t dropped[LEAF_NT_COUNT];    /* dropped by the leaf's rate limit */
    uint64_t dropped_source;            /* reported dropped by the agents (source limit) */
    uint64_t rejected;                  /* malformed, oversized, unknown type */
    uint64_t filtered;                  /* system monitor events while system_monitor = false */
    uint64_t push_failed;
    uint64_t bad_fields;
    uint64_t subscribes, subscribe_failures, probes;
} leaf_notify_stats_t;

/* Reads leaf.notify = { rate (10.0), burst (50), system_monitor (false),
 * source_rate (100) } into out. Returns 0 (errors are recorded in cfg). */
int  leaf_notify_config_read(wr_config_t *cfg, leaf_cfg_t *out);
/* Allocates the per-node state (after leaf_beam_init) and starts the 1 s tick. */
int  leaf_notify_init(leaf_t *lf);
/* Logs the counters, stops the tick, frees. Safe without init. */
void leaf_notify_fini(leaf_t *lf);
void leaf_notify_stats(const leaf_t *lf, leaf_notify_stats_t *out);

/* leaf_beam.c hooks. */
/* n just connected (state UP): node_up, and the restart probe. */
void leaf_notify_node_up(leaf_t *lf, leaf_node_t *n);
/* n is being lost (before its state changes): node_down if it was UP. */
void leaf_notify_node_lost(leaf_t *lf, leaf_node_t *n, const char *reason);
/* A message to our pid from n (payload in lf->rx): returns 1 if it answered one of this
 * module's calls (handled), 0 if not (the caller passes it on). */
int  leaf_notify_on_reply(leaf_t *lf, leaf_node_t *n);
/* A registered send from n (payload in lf->rx) to name toname. */
void leaf_notify_on_reg_send(leaf_t *lf, leaf_node_t *n, const char *toname);

#endif
