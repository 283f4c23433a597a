/* leaf_rollup: this interval's per-metric rollups over the leaf's UP nodes (count, sum, min,
 * max, quantile sketch, top-K nodes), which the DELTA/SNAPSHOT carries upward (relay/tier.h
 * merges them). A thin wrapper of core/wr_rollup.h's builder, which tests drive directly.
 * Counters arrive here already turned into per-second rates by leaf_poll.c. Only metrics with
 * at least one value this interval are sent. */
#include <stdio.h>
#include <string.h>
#include "leaf.h"
#include "wr_log.h"
#include "wr_rollup.h"

void leaf_rollup_reset(leaf_t *lf)
{
    if (!lf->rollup) {
        size_t n = wr_metric_count < LEAF_METRICS_MAX ? wr_metric_count : LEAF_METRICS_MAX;
        lf->rollup = wr_rollup_builder_new(n, WR_TOPK_DEFAULT);
        if (!lf->rollup) {
            WR_ERROR("out of memory for the interval's rollups: none are sent");
            return;
        }
    }
    wr_rollup_builder_reset(lf->rollup);
}

void leaf_rollup_fini(leaf_t *lf)
{
    wr_rollup_builder_destroy(&lf->rollup);
}

void leaf_rollup_add(leaf_t *lf, const leaf_node_t *n, uint32_t metric, double value)
{
    if (lf->rollup)
        (void)wr_rollup_builder_add(lf->rollup, metric, n->name, value);   /* errors counted */
}

size_t leaf_rollup_fill(leaf_t *lf, wr_rollup_entry_t *out, size_t cap)
{
    return lf->rollup ? wr_rollup_builder_fill(lf->rollup, out, cap) : 0;
}
