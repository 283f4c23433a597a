/* wr_agg: the mergeable per-metric aggregate (count, sum, min, max).
 * Merge is associative and commutative, so any tier can combine its children's aggregates
 * and get exactly what one pass over every sample would give. Plain value struct.
 * (Quantile sketch and top-K join it in later modules.) */
#ifndef WR_AGG_H
#define WR_AGG_H
#include <stdint.h>

typedef struct {
    uint64_t count;
    double   sum;
    double   min;   /* meaningless while count == 0 */
    double   max;
} wr_agg_t;

/* Sets *agg to the empty aggregate (count 0). */
void wr_agg_init(wr_agg_t *agg);
/* Adds one sample. NaN and infinities are ignored (returns WR_EINVAL), never merged. */
int  wr_agg_add(wr_agg_t *agg, double value);
/* Merges src into dst. */
void wr_agg_merge(wr_agg_t *dst, const wr_agg_t *src);
/* Mean, or 0 when empty. */
double wr_agg_mean(const wr_agg_t *agg);

#endif
