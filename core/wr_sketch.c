/* wr_sketch: the log-bucketed quantile sketch (see wr_sketch.h for the guarantees).
 * Two dense stores (positive and negative magnitudes) of uint64 counts over a window of
 * consecutive bucket indexes, at most WR_SKETCH_MAX_BUCKETS wide, plus a zero bucket.
 * Growing a window reallocates (amortised doubling, kept across resets); the only other
 * work per sample is one log(). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "wr_error.h"
#include "wr_sketch.h"

/* log(gamma) and 2 / (1 + gamma) for gamma = 1.01 / 0.99. */
#define LOG_GAMMA   0.020000666706669435
#define GAMMA       1.02020202020202

typedef struct {
    int32_t   off;     /* index of counts[0] */
    uint32_t  len;     /* window width; 0 = empty */
    uint32_t  cap;
    uint64_t *c;
} store_t;

struct wr_sketch {
    uint64_t count;
    uint64_t zero;
    uint64_t collapsed;
    store_t  pos, neg;
    double   memo_m;   /* the last magnitude indexed and its index (a pure function: */
    int32_t  memo_i;   /* valid across resets and merges; memo_m 0 = none) */
};

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

wr_sketch_t *wr_sketch_new(void)
{
    return calloc(1, sizeof(wr_sketch_t));
}

void wr_sketch_destroy(wr_sketch_t **s)
{
    if (!s || !*s)
        return;
    free((*s)->pos.c);
    free((*s)->neg.c);
    free(*s);
    *s = NULL;
}

void wr_sketch_reset(wr_sketch_t *s)
{
    s->count = s->zero = s->collapsed = 0;
    s->pos.len = 0;
    s->neg.len = 0;
}

int32_t wr_sketch_index(double m)
{
    double i = ceil(log(m) / LOG_GAMMA);
    if (i < WR_SKETCH_INDEX_MIN)
        return WR_SKETCH_INDEX_MIN;
    if (i > WR_SKETCH_INDEX_MAX)
        return WR_SKETCH_INDEX_MAX;
    return (int32_t)i;
}

double wr_sketch_bucket_value(int32_t index)
{
    /* 2 gamma^i / (gamma + 1) = gamma^(i-1) * 2 gamma / (gamma + 1), kept finite */
    double v = exp((double)(index - 1) * LOG_GAMMA) * (2.0 * GAMMA / (GAMMA + 1.0));
    return isfinite(v) ? v : DBL_MAX;
}

/* Makes the window of st cover [lo, hi] (as far as the cap allows): the new window is
 * [max(lo', hi' - MAX + 1), hi'] with lo' = min(lo, old lo), hi' = max(hi, old hi); counts
 * below its bottom fold into the bottom bucket (added to *moved). Returns 0 or WR_ENOMEM. */
static int store_cover(store_t *st, int32_t lo, int32_t hi, uint64_t *moved)
{
    int32_t nlo = lo, nhi = hi;
    if (st->len) {
        int32_t ohi = st->off + (int32_t)st->len - 1;
        if (st->off < nlo)
            nlo = st->off;
        if (ohi > nhi)
            nhi = ohi;
        if (nlo >= st->off && nhi == ohi)
            return WR_OK;                         /* already covered */
    }
    if (nhi - nlo + 1 > WR_SKETCH_MAX_BUCKETS)
        nlo = nhi - WR_SKETCH_MAX_BUCKETS + 1;
    uint32_t nlen = (uint32_t)(nhi - nlo + 1);
    if (nlen > st->cap) {
        uint32_t ncap = st->cap ? st->cap : 64;
        while (ncap < nlen)
            ncap *= 2;
        if (ncap > WR_SKETCH_MAX_BUCKETS)
            ncap = WR_SKETCH_MAX_BUCKETS;
        uint64_t *nc = realloc(st->c, ncap * sizeof *nc);
        if (!nc)
            return WR_ENOMEM;
        st->c = nc;
        st->cap = ncap;
    }
    if (!st->len) {
        memset(st->c, 0, nlen * sizeof *st->c);
        st->off = nlo;
        st->len = nlen;
        return WR_OK;
    }
    /* fold the buckets below nlo */
    uint64_t fold = 0;
    uint32_t k0 = 0;
    if (nlo > st->off) {
        k0 = (uint32_t)(nlo - st->off);
        if (k0 > st->len)
            k0 = st->len;
        for (uint32_t k = 0; k < k0; k++)
            fold = sat_add(fold, st->c[k]);
    }
    uint32_t keep = st->len - k0;
    uint32_t dst = keep ? (uint32_t)(st->off + (int32_t)k0 - nlo) : 0;
    if (keep)
        memmove(st->c + dst, st->c + k0, keep * sizeof *st->c);
    if (dst)
        memset(st->c, 0, dst * sizeof *st->c);
    if (dst + keep < nlen)
        memset(st->c + dst + keep, 0, (nlen - dst - keep) * sizeof *st->c);
    st->c[0] = sat_add(st->c[0], fold);
    *moved = sat_add(*moved, fold);
    st->off = nlo;
    st->len = nlen;
    return WR_OK;
}

/* Adds n at index i of st (folded into the bottom when below it). */
static int store_add(wr_sketch_t *s, store_t *st, int32_t i, uint64_t n)
{
    int rc = store_cover(st, i, i, &s->collapsed);
    if (rc)
        return rc;
    if (i < st->off) {
        i = st->off;
        s->collapsed = sat_add(s->collapsed, n);
    }
    st->c[i - st->off] = sat_add(st->c[i - st->off], n);
    s->count = sat_add(s->count, n);
    return WR_OK;
}

int wr_sketch_add(wr_sketch_t *s, double v)
{
    if (!isfinite(v))
        return WR_EINVAL;
    double m = fabs(v);
    if (m < WR_SKETCH_MIN_VALUE) {
        s->zero = sat_add(s->zero, 1);
        s->count = sat_add(s->count, 1);
        return WR_OK;
    }
    int32_t i;
    if (m == s->memo_m) {
        i = s->memo_i;           /* repeated values (limits, gauges at rest): no log() */
    } else {
        i = wr_sketch_index(m);
        s->memo_m = m;
        s->memo_i = i;
    }
    store_t *st = v > 0 ? &s->pos : &s->neg;
    if (st->len && i >= st->off && i - st->off < (int32_t)st->len) {   /* inside the window */
        st->c[i - st->off] = sat_add(st->c[i - st->off], 1);
        s->count = sat_add(s->count, 1);
        return WR_OK;
    }
    return store_add(s, st, i, 1);
}

int wr_sketch_add_bucket(wr_sketch_t *s, int sign, int32_t index, uint64_t count)
{
    if (sign == 0) {
        s->zero = sat_add(s->zero, count);
        s->count = sat_add(s->count, count);
        return WR_OK;
    }
    if (index < WR_SKETCH_INDEX_MIN || index > WR_SKETCH_INDEX_MAX)
        return WR_EINVAL;
    if (!count)
        return WR_OK;
    return store_add(s, sign > 0 ? &s->pos : &s->neg, index, count);
}

void wr_sketch_add_collapsed(wr_sketch_t *s, uint64_t n)
{
    s->collapsed = sat_add(s->collapsed, n);
}

static int store_merge(wr_sketch_t *d, store_t *st, const store_t *src)
{
    if (!src->len)
        return WR_OK;
    int32_t shi = src->off + (int32_t)src->len - 1;
    int rc = store_cover(st, src->off, shi, &d->collapsed);
    if (rc)
        return rc;
    for (uint32_t k = 0; k < src->len; k++) {
        uint64_t n = src->c[k];
        if (!n)
            continue;
        int32_t i = src->off + (int32_t)k;
        if (i < st->off) {
            i = st->off;
            d->collapsed = sat_add(d->collapsed, n);
        }
        st->c[i - st->off] = sat_add(st->c[i - st->off], n);
    }
    return WR_OK;
}

int wr_sketch_merge(wr_sketch_t *dst, const wr_sketch_t *src)
{
    int rc = store_merge(dst, &dst->pos, &src->pos);
    if (rc == 0)
        rc = store_merge(dst, &dst->neg, &src->neg);
    if (rc)
        return rc;
    dst->zero = sat_add(dst->zero, src->zero);
    dst->count = sat_add(dst->count, src->count);
    dst->collapsed = sat_add(dst->collapsed, src->collapsed);
    return WR_OK;
}

int wr_sketch_copy(wr_sketch_t *dst, const wr_sketch_t *src)
{
    if (dst == src)
        return WR_OK;
    wr_sketch_reset(dst);
    return wr_sketch_merge(dst, src);
}

uint64_t wr_sketch_count(const wr_sketch_t *s)
{
    return s->count;
}

uint64_t wr_sketch_collapsed(const wr_sketch_t *s)
{
    return s->collapsed;
}

uint64_t wr_sketch_zero_count(const wr_sketch_t *s)
{
    return s->zero;
}

void wr_sketch_store(const wr_sketch_t *s, int sign, wr_sketch_store_view_t *out)
{
    const store_t *st = sign > 0 ? &s->pos : &s->neg;
    out->offset = st->len ? st->off : 0;
    out->len = st->len;
    out->counts = st->c;
}

int wr_sketch_quantile(const wr_sketch_t *s, double q, double *out)
{
    if (!(q >= 0.0 && q <= 1.0))
        return WR_EINVAL;
    if (!s->count)
        return WR_ENOTFOUND;
    uint64_t rank = (uint64_t)floor(q * (double)(s->count - 1));
    if (rank >= s->count)
        rank = s->count - 1;
    uint64_t seen = 0;
    /* negatives, most negative (highest magnitude index) first */
    for (uint32_t k = s->neg.len; k-- > 0;) {
        seen = sat_add(seen, s->neg.c[k]);
        if (seen > rank) {
            *out = -wr_sketch_bucket_value(s->neg.off + (int32_t)k);
            return WR_OK;
        }
    }
    seen = sat_add(seen, s->zero);
    if (seen > rank) {
        *out = 0.0;
        return WR_OK;
    }
    for (uint32_t k = 0; k < s->pos.len; k++) {
        seen = sat_add(seen, s->pos.c[k]);
        if (seen > rank) {
            *out = wr_sketch_bucket_value(s->pos.off + (int32_t)k);
            return WR_OK;
        }
    }
    /* saturated counts: answer with the highest bucket */
    if (s->pos.len)
        *out = wr_sketch_bucket_value(s->pos.off + (int32_t)s->pos.len - 1);
    else
        *out = 0.0;
    return WR_OK;
}

/* Trims zero counts at both ends: [*lo, *hi) of non-zero content. */
static void store_trim(const store_t *st, uint32_t *lo, uint32_t *hi)
{
    uint32_t a = 0, b = st->len;
    while (a < b && st->c[a] == 0)
        a++;
    while (b > a && st->c[b - 1] == 0)
        b--;
    *lo = a;
    *hi = b;
}

static int store_equal(const store_t *x, const store_t *y)
{
    uint32_t xl, xh, yl, yh;
    store_trim(x, &xl, &xh);
    store_trim(y, &yl, &yh);
    if (xh - xl != yh - yl)
        return 0;
    if (xh == xl)
        return 1;
    if (x->off + (int32_t)xl != y->off + (int32_t)yl)
        return 0;
    return memcmp(x->c + xl, y->c + yl, (xh - xl) * sizeof *x->c) == 0;
}

int wr_sketch_equal(const wr_sketch_t *a, const wr_sketch_t *b)
{
    return a->count == b->count && a->zero == b->zero && store_equal(&a->pos, &b->pos) &&
           store_equal(&a->neg, &b->neg);
}
