/* wr_rollup: building one interval's rollups (wr_rollup_entry_t, wr_codec.h) from samples,
 * and reading quantiles out of a rollup.
 *
 * The builder holds, per metric of the catalogue (wr_metric_defs), the interval's wr_agg_t,
 * quantile sketch and top-K of (node, value). warren-leaf feeds it one value per UP node and
 * metric per interval (leaf/leaf_rollup.c is a thin wrapper); tests use the very same code to
 * emulate leaves. Memory is allocated at _new and when a sketch's window first grows: a
 * warmed-up builder adds samples and resets without allocating. */
#ifndef WR_ROLLUP_H
#define WR_ROLLUP_H
#include <stddef.h>
#include <stdint.h>
#include "wr_codec.h"

typedef struct wr_rollup_builder wr_rollup_builder_t;

/* A builder for metrics 0..n_metrics-1 (indexes into wr_metric_defs; n_metrics <=
 * wr_metric_count) keeping the top k (1..WR_TOPK_MAX) nodes. NULL on bad arguments or no
 * memory. */
wr_rollup_builder_t *wr_rollup_builder_new(size_t n_metrics, uint32_t k);
void wr_rollup_builder_destroy(wr_rollup_builder_t **b);
/* Starts a new interval: every metric empty. */
void wr_rollup_builder_reset(wr_rollup_builder_t *b);
/* One value of node for metric. Returns 0, WR_EINVAL (metric out of range, value not finite,
 * node name empty or too long: nothing added) or WR_ENOMEM (the sketch could not grow: the
 * value is in the agg and top-K but not the sketch, which is then dropped from the rollup;
 * counted in wr_rollup_builder_errors). */
int  wr_rollup_builder_add(wr_rollup_builder_t *b, size_t metric, const char *node, double value);
/* Writes the rollups of the metrics with count > 0 into out (at most cap), in catalogue
 * order; returns how many. Their sketch and topk point into the builder (borrowed: valid
 * until the next reset/add/destroy; do not wr_rollup_entry_clear them). */
size_t wr_rollup_builder_fill(const wr_rollup_builder_t *b, wr_rollup_entry_t *out, size_t cap);
/* Values refused or only partly added since _new (see _add). */
uint64_t wr_rollup_builder_errors(const wr_rollup_builder_t *b);

/* Destroys the sketch and topk an entry owns and sets them NULL (for decoded entries). */
void wr_rollup_entry_clear(wr_rollup_entry_t *e);
/* Clears n owned entries and frees the array (NULL-safe). */
void wr_rollup_entries_free(wr_rollup_entry_t *e, size_t n);

/* The q-quantile of a rollup: the value of rank floor(q (count-1)) in sorted order, exact
 * for ranks 0 and count-1 (agg.min / agg.max), else from the sketch (within 1%) clamped to
 * [agg.min, agg.max]. Returns 0, WR_EINVAL (bad q) or WR_ENOTFOUND (no sketch or count 0). */
int wr_rollup_quantile(const wr_rollup_entry_t *e, double q, double *out);

#endif
