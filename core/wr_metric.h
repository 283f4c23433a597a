/* wr_metric: the catalogue of metrics warren knows: name, unit, kind, meaning.
 * Shared by the leaf (what it polls), the sim (what it emulates), the tiers (what they merge)
 * and the docs. Indexes into wr_metric_defs are stable within one build only; names are the
 * identity on the wire and on disk. */
#ifndef WR_METRIC_H
#define WR_METRIC_H
#include <stddef.h>

#define WR_METRIC_NAME_MAX 64     /* including the NUL */
#define WR_METRIC_SCHEDULERS_MAX 64  /* scheduler.N.* entries exist for N = 1..64 */

typedef enum { WR_GAUGE = 0, WR_COUNTER = 1 } wr_metric_kind_t;

typedef struct {
    const char      *name;   /* dotted: "memory.total" */
    const char      *unit;   /* "bytes", "processes", "ms", ... */
    wr_metric_kind_t kind;
    const char      *help;   /* one line: what it means and where it comes from */
} wr_metric_def_t;

extern const wr_metric_def_t wr_metric_defs[];
extern const size_t          wr_metric_count;

/* Index of the metric called name, or -1 (also for NULL). O(log n); thread-safe. */
int wr_metric_find(const char *name);

/* 1 if name is a syntactically valid metric name ([a-z0-9_] words joined by '.',
 * 1..WR_METRIC_NAME_MAX-1 bytes), else 0. Used to reject junk from the wire. */
int wr_metric_name_valid(const char *name);

#endif
