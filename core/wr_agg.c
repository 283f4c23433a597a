/* wr_agg: count/sum/min/max aggregate and its merge. */
#include <math.h>
#include "wr_agg.h"
#include "wr_error.h"

void wr_agg_init(wr_agg_t *agg)
{
    agg->count = 0;
    agg->sum = 0;
    agg->min = 0;
    agg->max = 0;
}

int wr_agg_add(wr_agg_t *agg, double value)
{
    if (!isfinite(value))
        return WR_EINVAL;
    if (agg->count == 0 || value < agg->min)
        agg->min = value;
    if (agg->count == 0 || value > agg->max)
        agg->max = value;
    agg->count++;
    agg->sum += value;
    return WR_OK;
}

void wr_agg_merge(wr_agg_t *dst, const wr_agg_t *src)
{
    if (src->count == 0)
        return;
    if (dst->count == 0) {
        *dst = *src;
        return;
    }
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->count += src->count;
    dst->sum += src->sum;
}

double wr_agg_mean(const wr_agg_t *agg)
{
    return agg->count ? agg->sum / (double)agg->count : 0.0;
}
