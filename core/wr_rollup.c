/* wr_rollup: the per-interval rollup builder and quantile reading (see wr_rollup.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wr_error.h"
#include "wr_metric.h"
#include "wr_rollup.h"

typedef struct {
    wr_agg_t     agg;
    wr_sketch_t *sketch;
    wr_topk_t   *topk;
    int          sketch_bad;     /* a value could not be added this interval */
} slot_t;

struct wr_rollup_builder {
    size_t   n;
    uint64_t errors;
    slot_t  *slots;
};

wr_rollup_builder_t *wr_rollup_builder_new(size_t n_metrics, uint32_t k)
{
    if (n_metrics > wr_metric_count || k < 1 || k > WR_TOPK_MAX)
        return NULL;
    wr_rollup_builder_t *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->n = n_metrics;
    b->slots = calloc(n_metrics ? n_metrics : 1, sizeof *b->slots);
    if (!b->slots) {
        free(b);
        return NULL;
    }
    for (size_t m = 0; m < n_metrics; m++) {
        slot_t *s = &b->slots[m];
        wr_agg_init(&s->agg);
        if (!(s->sketch = wr_sketch_new()) || !(s->topk = wr_topk_new(k))) {
            wr_rollup_builder_destroy(&b);
            return NULL;
        }
    }
    return b;
}

void wr_rollup_builder_destroy(wr_rollup_builder_t **b)
{
    if (!b || !*b)
        return;
    for (size_t m = 0; m < (*b)->n; m++) {
        wr_sketch_destroy(&(*b)->slots[m].sketch);
        wr_topk_destroy(&(*b)->slots[m].topk);
    }
    free((*b)->slots);
    free(*b);
    *b = NULL;
}

void wr_rollup_builder_reset(wr_rollup_builder_t *b)
{
    for (size_t m = 0; m < b->n; m++) {
        slot_t *s = &b->slots[m];
        wr_agg_init(&s->agg);
        wr_sketch_reset(s->sketch);
        wr_topk_reset(s->topk);
        s->sketch_bad = 0;
    }
}

int wr_rollup_builder_add(wr_rollup_builder_t *b, size_t metric, const char *node, double value)
{
    size_t len = 0;
    if (metric >= b->n || !isfinite(value) || !node || !node[0] ||
        (len = strnlen(node, WR_TOPK_NODE_MAX)) >= WR_TOPK_NODE_MAX) {
        b->errors++;
        return WR_EINVAL;
    }
    slot_t *s = &b->slots[metric];
    (void)wr_agg_add(&s->agg, value);
    (void)wr_topk_add_n(s->topk, node, len, value);
    int rc = wr_sketch_add(s->sketch, value);
    if (rc) {
        s->sketch_bad = 1;
        b->errors++;
    }
    return rc;
}

size_t wr_rollup_builder_fill(const wr_rollup_builder_t *b, wr_rollup_entry_t *out, size_t cap)
{
    size_t k = 0;
    for (size_t m = 0; m < b->n && k < cap; m++) {
        const slot_t *s = &b->slots[m];
        if (!s->agg.count)
            continue;
        wr_rollup_entry_t *e = &out[k++];
        snprintf(e->metric, sizeof e->metric, "%s", wr_metric_defs[m].name);
        e->agg = s->agg;
        e->sketch = s->sketch_bad ? NULL : s->sketch;
        e->topk = s->topk;
    }
    return k;
}

uint64_t wr_rollup_builder_errors(const wr_rollup_builder_t *b)
{
    return b->errors;
}

void wr_rollup_entry_clear(wr_rollup_entry_t *e)
{
    wr_sketch_destroy(&e->sketch);
    wr_topk_destroy(&e->topk);
}

void wr_rollup_entries_free(wr_rollup_entry_t *e, size_t n)
{
    for (size_t i = 0; e && i < n; i++)
        wr_rollup_entry_clear(&e[i]);
    free(e);
}

int wr_rollup_quantile(const wr_rollup_entry_t *e, double q, double *out)
{
    if (!(q >= 0.0 && q <= 1.0))
        return WR_EINVAL;
    if (!e->sketch || !e->agg.count)
        return WR_ENOTFOUND;
    /* ranks 0 and n-1 are the min and max, which the agg knows exactly */
    uint64_t rank = (uint64_t)floor(q * (double)(e->agg.count - 1));
    if (rank == 0) {
        *out = e->agg.min;
        return WR_OK;
    }
    if (rank >= e->agg.count - 1) {
        *out = e->agg.max;
        return WR_OK;
    }
    double v;
    int rc = wr_sketch_quantile(e->sketch, q, &v);
    if (rc)
        return rc;
    if (v < e->agg.min)
        v = e->agg.min;
    if (v > e->agg.max)
        v = e->agg.max;
    *out = v;
    return WR_OK;
}
