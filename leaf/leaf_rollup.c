/* leaf_rollup: this interval's per-metric aggregates over the leaf's UP nodes, which the
 * DELTA/SNAPSHOT carries upward as rollups (relay/tier.h merges them). Counters arrive here
 * already turned into per-second rates by leaf_poll.c. */
#include <stdio.h>
#include <string.h>
#include "leaf.h"
#include "wr_agg.h"

void leaf_rollup_reset(leaf_t *lf)
{
    for (size_t m = 0; m < wr_metric_count && m < LEAF_METRICS_MAX; m++)
        wr_agg_init(&lf->interval_agg[m]);
}

void leaf_rollup_add(leaf_t *lf, const leaf_node_t *n, uint32_t metric, double value)
{
    (void)n;
    if (metric < wr_metric_count && metric < LEAF_METRICS_MAX)
        (void)wr_agg_add(&lf->interval_agg[metric], value);
}

size_t leaf_rollup_fill(leaf_t *lf, wr_rollup_entry_t *out, size_t cap)
{
    size_t k = 0;
    for (size_t m = 0; m < wr_metric_count && m < LEAF_METRICS_MAX && k < cap; m++) {
        snprintf(out[k].metric, sizeof out[k].metric, "%s", wr_metric_defs[m].name);
        out[k].agg = lf->interval_agg[m];
        k++;
    }
    return k;
}
