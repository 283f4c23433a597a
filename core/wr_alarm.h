/* wr_alarm: the alarm model (DESIGN section 3, docs/ALARMS.md) and the active-alarm table.
 *
 * An alarm is identified by its key (scope, type, resource): scope is what it is about (a node
 * name "name@host", a release or cluster name, a tier id), type is the catalogue name
 * ("process_limit", "message_queue", "node_down", ...), resource narrows it inside the scope
 * (a pid or registered name, a module, an application; "" when the type needs none).
 * Severities are the ITU X.733 words; "cleared" ends an alarm. The lifecycle is
 * raise -> update (severity or text change, count++) -> clear.
 *
 * The table holds the active alarms of one tier's subtree. Events go in through
 * wr_alarm_table_apply, which says what changed so the caller forwards, pages or records only
 * real changes. Lookup, apply and acknowledge cost O(1) (hash on the key); operations on a
 * scope cost O(alarms of that scope) (each scope keeps its own list). Iteration is in raise
 * order. The table is not thread-safe: one loop owns it. It allocates one record per active
 * alarm and per scope; nothing on the no-op (duplicate) path.
 *
 * What it is not: the wire codec (it carries wr_alarm_event_t later), the history store (the
 * root writes the wr_alarm_t that apply hands back on each change), or the threshold logic
 * (wr_threshold). */
#ifndef WR_ALARM_H
#define WR_ALARM_H
#include <stddef.h>
#include <stdint.h>

/* String caps, including the NUL. Keys that do not fit are rejected (never truncated: two
 * truncated keys could merge); text that does not fit is truncated (ends in "..."). */
#define WR_ALARM_SCOPE_MAX     256   /* a node name is at most 255 bytes */
#define WR_ALARM_TYPE_MAX      48
#define WR_ALARM_RESOURCE_MAX  256
#define WR_ALARM_TEXT_MAX      512
#define WR_ALARM_ORIGIN_MAX    64    /* a tier id (same cap as WR_ID_MAX) */

/* The catalogue's type names (docs/ALARMS.md tells the story of each). */
#define WR_ALARM_PROCESS_LIMIT      "process_limit"
#define WR_ALARM_PORT_LIMIT         "port_limit"
#define WR_ALARM_ATOM_LIMIT         "atom_limit"
#define WR_ALARM_ETS_LIMIT          "ets_limit"
#define WR_ALARM_MODULE_LIMIT       "module_limit"
#define WR_ALARM_MEMORY             "memory_usage"
#define WR_ALARM_FD_LIMIT           "fd_limit"
#define WR_ALARM_MESSAGE_QUEUE      "message_queue"
#define WR_ALARM_SHELL_SIZE         "shell_process_size"
#define WR_ALARM_NODE_DOWN          "node_down"
#define WR_ALARM_OLD_CODE           "old_code"
#define WR_ALARM_FILES_CHANGED      "boot_files_changed"
#define WR_ALARM_LONG_GC            "long_gc"
#define WR_ALARM_LARGE_HEAP         "large_heap"
#define WR_ALARM_BUSY_DIST_PORT     "busy_dist_port"
#define WR_ALARM_BEAM_ALARM         "beam_alarm"
#define WR_ALARM_LIMIT_FORECAST     "limit_forecast"
#define WR_ALARM_MODULE_CLASH       "module_clash"
#define WR_ALARM_APP_VERSIONS       "different_application_versions"
#define WR_ALARM_MODULE_VERSIONS    "different_module_versions"
#define WR_ALARM_MEMBERSHIP         "membership_divergence"
#define WR_ALARM_FULL_MESH          "full_mesh_size"
#define WR_ALARM_OUTBOX_OVERFLOW    "outbox_overflow"   /* a tier's outbox dropped events */
#define WR_ALARM_OUTBOX_DROPPED     WR_ALARM_OUTBOX_OVERFLOW   /* its earlier name */
#define WR_ALARM_STORAGE_FULL       "storage_full"

/* Severities, ordered: a larger value is worse. CLEARED is not a severity of an active alarm;
 * in an event it means "clear". */
typedef enum {
    WR_SEV_CLEARED = 0,
    WR_SEV_INDETERMINATE = 1,
    WR_SEV_WARNING = 2,
    WR_SEV_MINOR = 3,
    WR_SEV_MAJOR = 4,
    WR_SEV_CRITICAL = 5
} wr_severity_t;
#define WR_SEV_COUNT 6

/* "cleared" | "indeterminate" | "warning" | "minor" | "major" | "critical", or "?" */
const char *wr_alarm_severity_name(int sev);
/* Parses a severity word (exact, lower case; "clear" is accepted for "cleared").
 * Returns 0 and sets *sev, or WR_EINVAL. */
int wr_alarm_severity_parse(const char *s, int *sev);

typedef struct {
    char scope[WR_ALARM_SCOPE_MAX];
    char type[WR_ALARM_TYPE_MAX];
    char resource[WR_ALARM_RESOURCE_MAX];
} wr_alarm_key_t;

/* Fills key. scope and type must be non-empty; resource may be NULL or "". Returns 0,
 * WR_EINVAL (NULL/empty scope or type) or WR_ETOOBIG (a field over its cap; key untouched). */
int wr_alarm_key_set(wr_alarm_key_t *key, const char *scope, const char *type, const char *resource);
/* 0 if the key is well formed: every field NUL-terminated within its cap, scope and type
 * non-empty; else WR_EINVAL. Used on keys decoded from the wire. */
int wr_alarm_key_check(const wr_alarm_key_t *key);
/* 1 if equal, else 0. */
int wr_alarm_key_equal(const wr_alarm_key_t *a, const wr_alarm_key_t *b);

/* One alarm event, as raised by a leaf (or a tier for fleet checks) and forwarded upward.
 * severity WR_SEV_CLEARED clears the alarm. */
typedef struct {
    wr_alarm_key_t key;
    int            severity;                     /* wr_severity_t */
    char           text[WR_ALARM_TEXT_MAX];      /* for people: "queue 23,114 msgs in <0.7.0> (my_server)" */
    int64_t        at_ms;                        /* wall ms at the origin */
    char           origin[WR_ALARM_ORIGIN_MAX];  /* the tier id that raised it */
} wr_alarm_event_t;

/* Fills ev. Key rules as wr_alarm_key_set; severity must be a wr_severity_t (WR_EINVAL);
 * text (NULL = "") is truncated to fit, ending in "..."; origin over its cap is WR_ETOOBIG.
 * Returns 0 or the error (ev is then unspecified). */
int wr_alarm_event_set(wr_alarm_event_t *ev, const char *scope, const char *type,
                       const char *resource, int severity, const char *text, int64_t at_ms,
                       const char *origin);
/* 0 if ev is well formed (key, severity in range, text and origin NUL-terminated within their
 * caps), else WR_EINVAL. apply() runs it on every event. */
int wr_alarm_event_check(const wr_alarm_event_t *ev);

/* An active alarm (or, handed back by apply on a clear, its final state). */
typedef struct {
    wr_alarm_key_t key;
    int            severity;                     /* current; WR_SEV_CLEARED once cleared */
    char           text[WR_ALARM_TEXT_MAX];
    char           origin[WR_ALARM_ORIGIN_MAX];  /* the tier of the last raise/update */
    int64_t        raised_ms;                    /* at_ms of the first raise */
    int64_t        changed_ms;                   /* at_ms of the last raise/update/clear */
    int64_t        cleared_ms;                   /* 0 while active */
    uint32_t       count;                        /* 1 on raise, +1 per update (saturates) */
    int            suppressed;                   /* 1: kept and shown, not paged */
    int            acked;                        /* 1 once an operator acknowledged it */
    char           acked_by[WR_ALARM_ORIGIN_MAX];
    int64_t        acked_ms;
} wr_alarm_t;

/* What apply did. */
typedef enum {
    WR_ALARM_NOOP = 0,      /* duplicate: same severity and text as the active alarm, or a clear
                             * of an alarm that is not active */
    WR_ALARM_NEW = 1,       /* raised: a new active alarm */
    WR_ALARM_UPDATED = 2,   /* severity and/or text changed; count++ */
    WR_ALARM_CLEARED = 3,   /* removed from the table */
    WR_ALARM_STALE = 4,     /* older (at_ms) than the active alarm's last change: ignored */
    WR_ALARM_LATE = 5       /* a raise older than a clear of its key already applied (events
                             * of one key can arrive out of order after resends): it happened
                             * and is over, so it is reported (out: its state, cleared_ms = the
                             * clear's time) but not active */
} wr_alarm_change_t;

#define WR_ALARM_TOMBS 4096     /* recent clears remembered (by key hash) against late raises */

/* "noop" | "new" | "updated" | "cleared" | "stale" | "late" | "?" */
const char *wr_alarm_change_name(int change);

typedef struct wr_alarm_table wr_alarm_table_t;

/* Creates a table holding at most max_alarms active alarms (0 = 1,000,000). NULL on ENOMEM. */
wr_alarm_table_t *wr_alarm_table_new(size_t max_alarms);
void wr_alarm_table_destroy(wr_alarm_table_t **table);

/* Applies one event. On success returns 0, sets *change, and, if out is not NULL and the
 * change is NEW, UPDATED or CLEARED, copies the alarm's resulting state into out (for a clear:
 * its final state, severity CLEARED, cleared_ms = at_ms; the alarm is gone from the table).
 * Rules: a raise of an unknown key creates it (suppressed if its scope is suppressed, unless
 * its type is the scope's exempt type); a raise with the same severity and text is a NOOP
 * (origin refreshed, count unchanged); with another severity or text it is UPDATED (count++,
 * changed_ms = at_ms; a severity increase withdraws the acknowledgement: it needs a new look);
 * an event with at_ms older than the alarm's changed_ms is STALE and ignored. A clear is
 * remembered (WR_ALARM_TOMBS recent ones, by key hash; a clear of a key that is not active is a
 * NOOP but remembered too), and a raise of a key cleared at or after its at_ms is LATE (out: its
 * state with cleared_ms; nothing becomes active).
 * Errors: WR_EINVAL (malformed event, nothing changed), WR_EFULL (a new alarm would exceed
 * max_alarms: counted in wr_alarm_table_rejected), WR_ENOMEM. */
int wr_alarm_table_apply(wr_alarm_table_t *table, const wr_alarm_event_t *ev, int *change,
                         wr_alarm_t *out);

/* The active alarm with this key, or NULL. The pointer is valid until the next call that
 * changes the table. */
const wr_alarm_t *wr_alarm_table_lookup(const wr_alarm_table_t *table, const wr_alarm_key_t *key);

/* Calls fn for every active alarm in raise order. fn returns 0 to go on, 1 to stop, or a
 * negative code that is returned. fn must not change the table. Returns 0 or fn's code. */
typedef int (*wr_alarm_visit_fn)(void *ud, const wr_alarm_t *alarm);
int wr_alarm_table_foreach(const wr_alarm_table_t *table, wr_alarm_visit_fn fn, void *ud);
/* Same, only the alarms of one scope (in raise order). */
int wr_alarm_table_foreach_scope(const wr_alarm_table_t *table, const char *scope,
                                 wr_alarm_visit_fn fn, void *ud);

typedef struct {
    size_t total;                        /* active alarms */
    size_t by_severity[WR_SEV_COUNT];    /* index wr_severity_t; [WR_SEV_CLEARED] is 0 */
    size_t suppressed;                   /* of total */
    size_t acked;                        /* of total */
    size_t paged_by_severity[WR_SEV_COUNT]; /* neither suppressed nor acknowledged */
} wr_alarm_counts_t;

/* Fills counts (kept incrementally: O(1)). */
void wr_alarm_table_counts(const wr_alarm_table_t *table, wr_alarm_counts_t *counts);

/* Removes every alarm of scope without a clear (e.g. a child's subtree was lost and will be
 * re-sent by whoever owns it next). If fn is not NULL it is called with each alarm before its
 * removal (fn's return value is ignored). *removed (may be NULL) gets the count. Returns 0. */
int wr_alarm_table_remove_scope(wr_alarm_table_t *table, const char *scope, wr_alarm_visit_fn fn,
                                void *ud, size_t *removed);
/* Removes every alarm for which pred returns 1 (O(n): caller-driven, e.g. all alarms whose
 * origin is a lost child). *removed (may be NULL) gets the count. Returns 0. */
int wr_alarm_table_remove_if(wr_alarm_table_t *table, wr_alarm_visit_fn pred, void *ud,
                             size_t *removed);

/* Suppresses scope: its active alarms, and those raised while it stays suppressed, are marked
 * suppressed, except those of type exempt_type (NULL or "": none exempt), typically
 * "node_down". Idempotent (a second call replaces exempt_type). *changed (may be NULL) gets the
 * number of alarms whose flag changed. Returns 0, WR_EINVAL (empty scope or over its cap,
 * exempt_type over its cap) or WR_ENOMEM. */
int wr_alarm_table_suppress_scope(wr_alarm_table_t *table, const char *scope,
                                  const char *exempt_type, size_t *changed);
/* Lifts the suppression of scope (no-op if it was not suppressed). *changed as above. */
int wr_alarm_table_unsuppress_scope(wr_alarm_table_t *table, const char *scope, size_t *changed);
/* 1 if scope is suppressed, else 0. */
int wr_alarm_table_scope_suppressed(const wr_alarm_table_t *table, const char *scope);

/* Acknowledges the active alarm key: by (an operator name, truncated to fit), at at_ms.
 * Returns 0, WR_ENOTFOUND (not active) or WR_EINVAL. Acknowledging again updates by/at. */
int wr_alarm_table_ack(wr_alarm_table_t *table, const wr_alarm_key_t *key, const char *by,
                       int64_t at_ms);

/* Events refused because the table was full (WR_EFULL), since creation. */
uint64_t wr_alarm_table_rejected(const wr_alarm_table_t *table);

#endif
