/* wr_census: the fleet checks' census summary (DESIGN section 3 "Fleet checks";
 * docs/DESIGN-NOTES.md "Fleet checks"): per group of nodes, for each item the distinct values
 * seen among the nodes of a subtree, each with a count of nodes and up to WR_CENSUS_EXAMPLES
 * example node names. Groups are releases (items: each module's md5, each application's vsn)
 * and clusters (items: each module's md5 when the cluster was named explicitly, and the
 * nodes' membership view). A leaf builds one from its nodes' censuses; a tier merges its
 * children's summaries (the same structure) and ships its own upward as bytes (the optional
 * "census" bin of a state frame, wr_codec.h).
 *
 * An item (group, kind, name) with more than one value is a clash: module_clash /
 * different_application_versions (release), different_module_versions / membership_divergence
 * (cluster). A summary remembers, per item, whether a child summary already had it with more
 * than one value ("claimed": a lower tier raised it), so only the lowest tier that sees the
 * difference raises the alarm.
 *
 * Not thread-safe; owns no sockets and no policy about when to send. */
#ifndef WR_CENSUS_H
#define WR_CENSUS_H
#include <stddef.h>
#include <stdint.h>

#define WR_CENSUS_MODULE        0        /* item kinds */
#define WR_CENSUS_APP           1        /* release groups only */
#define WR_CENSUS_VIEW          2        /* cluster groups only: name WR_CENSUS_VIEW_ITEM, value
                                          * "<members>:<md5 hex of the sorted member list>" */
#define WR_CENSUS_VIEW_ITEM     "membership"
#define WR_CENSUS_RELEASE       0        /* group kinds */
#define WR_CENSUS_CLUSTER       1
#define WR_CENSUS_EXAMPLES      3        /* example nodes per value */
#define WR_CENSUS_NAME_MAX      256      /* release, module, application, node: incl. NUL */
#define WR_CENSUS_VALUE_MAX     72       /* md5 hex (32) or vsn, incl. NUL */
#define WR_CENSUS_MAX_RELEASES  64       /* and as many clusters */
#define WR_CENSUS_MAX_ENTRIES   200000   /* distinct (release, kind, name, value) */
#define WR_CENSUS_MAX_VALUES    16       /* per item: more are dropped (counted) */

typedef struct wr_census wr_census_t;

wr_census_t *wr_census_new(void);
void         wr_census_destroy(wr_census_t **c);
/* Forgets everything (keeps the memory). */
void         wr_census_reset(wr_census_t *c);

/* Counts node once in release (call once per node, before its items). Returns 0, WR_EINVAL
 * (empty or over-long names) or WR_EFULL (over WR_CENSUS_MAX_RELEASES; counted as dropped). */
int wr_census_add_node(wr_census_t *c, const char *release, const char *node);
/* One item of that node: kind WR_CENSUS_MODULE (value = md5 hex) or WR_CENSUS_APP (value =
 * vsn). Returns 0, WR_EINVAL, WR_EFULL (a cap: counted in dropped) or WR_ENOMEM. */
int wr_census_add_item(wr_census_t *c, const char *release, int kind, const char *name,
                       const char *value, const char *node);

/* The same for a group of either kind (WR_CENSUS_RELEASE / WR_CENSUS_CLUSTER); an item's kind
 * must suit its group (module or app in a release, module or view in a cluster: WR_EINVAL). */
int wr_census_add_group_node(wr_census_t *c, int group, const char *name, const char *node);
int wr_census_add_group_item(wr_census_t *c, int group, const char *gname, int kind,
                             const char *name, const char *value, const char *node);

/* Merges an encoded summary (a child's, untrusted) into c: counts add, examples fill up to
 * the cap, items with more than one value in it are marked claimed. On error (WR_EPROTO /
 * WR_ETOOBIG with a reason in why) c may hold part of it: callers rebuild from scratch. */
int wr_census_merge(wr_census_t *c, const void *buf, size_t len, char *why, size_t whylen);

/* Encodes c into *buf (malloc'd, caller frees) of *len bytes; Returns 0 or WR_ENOMEM.
 * Format (msgpack): [1, releases] while there is no cluster group (what older decoders read),
 * else [2, releases, clusters]; each list [[name str, nodes uint, [example str...],
 *                          [[kind uint, name str, [[value str, count uint, ex], ...]], ...]],
 *                         ...]
 * where ex is nil ("the group's examples": the value is on every node of the group) or
 * [example str, ...]. Items and values are sorted, so equal summaries encode equally. A
 * decoder accepts both versions. */
int wr_census_encode(wr_census_t *c, void **buf, size_t *len);

typedef struct {
    const char *value;
    uint64_t    count;
    size_t      n_ex;
    const char *ex[WR_CENSUS_EXAMPLES];
} wr_census_value_t;

typedef struct {
    const char              *release;     /* the group's name (a release or a cluster) */
    int                      kind;
    const char              *name;
    int                      claimed;     /* a child summary had it with >1 values */
    size_t                   n_values;    /* >= 2 */
    const wr_census_value_t *values;      /* sorted by value */
    int                      group;       /* WR_CENSUS_RELEASE or WR_CENSUS_CLUSTER */
    uint64_t                 nodes;       /* nodes of the group */
} wr_census_clash_t;

/* Calls fn for every item with more than one value (claimed ones too: see the flag), in
 * sorted order; stops at a non-zero return and returns it. Pointers live until c changes. */
typedef int (*wr_census_clash_fn)(void *ud, const wr_census_clash_t *cl);
int wr_census_clashes(wr_census_t *c, wr_census_clash_fn fn, void *ud);

/* "module_clash" or "different_application_versions" (a release's item kinds). */
const char *wr_census_alarm_type(int kind);
/* The alarm type of a clash: module_clash, different_application_versions (release),
 * different_module_versions, membership_divergence (cluster). */
const char *wr_census_clash_type(const wr_census_clash_t *cl);
/* The alarm text of a clash: "md5 1a2b3c4d5e6f on 2 nodes (a@h, b@h); 9f8e... on 1 node
 * (x@h)" (md5s shortened to 12 hex digits); for a membership view "odd nodes: x@h (sees 1
 * node); the most common view (3 nodes) is on 2 nodes (a@h, b@h)" (the odd nodes: those
 * whose view is not the most common one; ties go to the larger view); truncated to cap with
 * "...". */
void wr_census_clash_text(const wr_census_clash_t *cl, char *out, size_t cap);

typedef struct {
    size_t   releases, clusters, entries;
    uint64_t dropped;          /* items, nodes or values refused by a cap */
} wr_census_stats_t;
void wr_census_stats(const wr_census_t *c, wr_census_stats_t *out);

/* ---- raised-alarm bookkeeping (one per tier) ------------------------------------------ */
typedef struct wr_census_raised wr_census_raised_t;
wr_census_raised_t *wr_census_raised_new(void);
void wr_census_raised_destroy(wr_census_raised_t **r);

/* emit raises (severity > 0) or clears (severity 0) one alarm; returns 0 once accepted. */
typedef int (*wr_census_emit_fn)(void *ud, const char *scope, const char *type,
                                 const char *resource, int severity, const char *text);
/* Compares the unclaimed clashes of c with what r holds as raised: raises new ones (and
 * re-raises with a changed text), clears those gone or now claimed by a lower tier. A failed
 * emit is retried at the next call. severity: the raise severity (WR_SEV_MAJOR). Returns the
 * number of emits that failed. */
int wr_census_reconcile(wr_census_raised_t *r, wr_census_t *c, int severity,
                        wr_census_emit_fn fn, void *ud);
/* The same with a grace period for membership_divergence: a view difference is raised only
 * once it has lasted grace_ms (now_ms: monotonic or wall ms, always the same clock); until
 * then it is pending (wr_census_raised_pending), and one that ends meanwhile is forgotten
 * without a clear. Callers reconcile again while something is pending. */
int wr_census_reconcile_at(wr_census_raised_t *r, wr_census_t *c, int severity, int64_t now_ms,
                           int64_t grace_ms, wr_census_emit_fn fn, void *ud);
/* Differences waiting for their grace period. */
size_t wr_census_raised_pending(const wr_census_raised_t *r);
/* Alarms r holds as raised (not counting the pending ones). */
size_t wr_census_raised_count(const wr_census_raised_t *r);

#endif
