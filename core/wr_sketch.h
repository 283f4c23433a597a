/* wr_sketch: a mergeable quantile sketch with log-spaced buckets (DDSketch-style).
 *
 * A value v > 0 goes to bucket i = ceil(log(v) / log(gamma)), gamma = (1 + a) / (1 - a) with
 * a = WR_SKETCH_ALPHA = 0.01; bucket i holds (gamma^(i-1), gamma^i] and answers with
 * 2 gamma^i / (gamma + 1), which is within a (1%) of every value in the bucket. Negative
 * values go to a second store by |v|; values with |v| < WR_SKETCH_MIN_VALUE (and 0) are
 * counted in a zero bucket (they answer 0).
 *
 * Merge is bucket-wise addition: associative, commutative and exact (the merge of the
 * sketches of parts is, bucket by bucket, the sketch of the union), so tiers can merge
 * their children's sketches in any grouping and order.
 *
 * Size is bounded: each store (positive, negative) spans at most WR_SKETCH_MAX_BUCKETS
 * consecutive bucket indexes. A wider range collapses its LOWEST buckets (the smallest
 * magnitudes) into the lowest kept one. The result still depends only on the multiset of
 * values (so merge stays exact), and quantiles whose rank falls among the high 2048
 * buckets (a factor gamma^2048 ~ 4e17 below the largest magnitude) keep the 1% guarantee;
 * the collapsed values answer with the lowest kept bucket, i.e. they are over-estimated in
 * magnitude (positive ones answer too high, negative ones too low). wr_sketch_collapsed()
 * counts values moved by a collapse (an upper bound: a value moved again by a later collapse
 * at another tier is counted again); 0 means every answer has the 1% guarantee.
 *
 * Opaque; memory grows with the span of the values (8 bytes per bucket of span, at most
 * 2 x 2048 buckets) and is kept across wr_sketch_reset, so a warmed-up sketch adds samples
 * without allocating. Not thread-safe. */
#ifndef WR_SKETCH_H
#define WR_SKETCH_H
#include <stddef.h>
#include <stdint.h>

#define WR_SKETCH_ALPHA        0.01
#define WR_SKETCH_MAX_BUCKETS  2048
#define WR_SKETCH_MIN_VALUE    1e-9
/* Bucket indexes are within these bounds for finite values (|v| <= DBL_MAX). */
#define WR_SKETCH_INDEX_MIN    (-1100)
#define WR_SKETCH_INDEX_MAX    35500

typedef struct wr_sketch wr_sketch_t;

/* A new empty sketch, or NULL (no memory). */
wr_sketch_t *wr_sketch_new(void);
/* Frees *s and sets *s = NULL; NULL-safe. */
void wr_sketch_destroy(wr_sketch_t **s);
/* Empties s, keeping its memory. */
void wr_sketch_reset(wr_sketch_t *s);

/* Adds one value. Returns 0, WR_EINVAL (NaN or infinite: not added) or WR_ENOMEM (the store
 * could not grow: not added). */
int wr_sketch_add(wr_sketch_t *s, double v);
/* Adds count values at bucket index of one store: sign > 0 positive, < 0 negative, 0 the
 * zero bucket (index ignored). Used by the wire decoder. Returns 0, WR_EINVAL (index outside
 * WR_SKETCH_INDEX_MIN..MAX) or WR_ENOMEM. Counts saturate at UINT64_MAX. */
int wr_sketch_add_bucket(wr_sketch_t *s, int sign, int32_t index, uint64_t count);
/* Adds n to the collapsed counter (wire decoder). */
void wr_sketch_add_collapsed(wr_sketch_t *s, uint64_t n);

/* Merges src into dst (exact, see above). Returns 0 or WR_ENOMEM (dst is then unchanged
 * or partly merged: reset it). */
int wr_sketch_merge(wr_sketch_t *dst, const wr_sketch_t *src);
/* dst = src. Returns 0 or WR_ENOMEM. */
int wr_sketch_copy(wr_sketch_t *dst, const wr_sketch_t *src);

/* Number of values held. */
uint64_t wr_sketch_count(const wr_sketch_t *s);
/* Values moved by collapsing (see above); 0 = full accuracy everywhere. */
uint64_t wr_sketch_collapsed(const wr_sketch_t *s);

/* The q-quantile (0 <= q <= 1): an estimate of the value of 0-based rank floor(q * (n - 1))
 * in sorted order, within relative error WR_SKETCH_ALPHA of it (values in the zero bucket
 * answer 0; see collapsing above). Returns 0, WR_EINVAL (q outside [0, 1] or NaN) or
 * WR_ENOTFOUND (empty sketch). */
int wr_sketch_quantile(const wr_sketch_t *s, double q, double *out);

/* 1 if a and b hold the same count in every bucket (the collapsed counter is not compared),
 * else 0. */
int wr_sketch_equal(const wr_sketch_t *a, const wr_sketch_t *b);

/* Bucket index of a magnitude m >= WR_SKETCH_MIN_VALUE, and the value bucket i answers with. */
int32_t wr_sketch_index(double m);
double  wr_sketch_bucket_value(int32_t index);

/* Read-only view of one store for the wire encoder: counts[k] is the count of bucket
 * offset + k, k < len (len 0: empty). sign > 0 positive, < 0 negative. */
typedef struct {
    int32_t         offset;
    size_t          len;
    const uint64_t *counts;
} wr_sketch_store_view_t;
void     wr_sketch_store(const wr_sketch_t *s, int sign, wr_sketch_store_view_t *out);
uint64_t wr_sketch_zero_count(const wr_sketch_t *s);

#endif
