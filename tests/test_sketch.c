/* test_sketch: wr_sketch's accuracy guarantee (1% relative error on the value of rank
 * floor(q (n-1))) on several distributions, zeros, negatives and huge ranges; exact,
 * associative and commutative merge (bucket by bucket); the bucket cap and its collapse
 * counter; bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "wr_error.h"
#include "wr_sketch.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t next_u64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static double unif(void) { return (double)(next_u64() >> 11) / 9007199254740992.0; }
static double normal(void)
{
    double u = unif(), v = unif();
    return sqrt(-2.0 * log(u + 1e-300)) * cos(2 * M_PI * v);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const double QS[] = {0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1};
#define NQ (sizeof QS / sizeof QS[0])

/* Every quantile of s is within 1% of the exact one of v[0..n) (sorted here). */
static void check_accuracy(const wr_sketch_t *s, double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_d);
    assert_int_equal(wr_sketch_count(s), n);
    for (size_t i = 0; i < NQ; i++) {
        double exact = v[(size_t)floor(QS[i] * (double)(n - 1))], est;
        assert_int_equal(wr_sketch_quantile(s, QS[i], &est), 0);
        if (fabs(exact) < WR_SKETCH_MIN_VALUE) {
            assert_true(est == 0.0);
            continue;
        }
        double rel = fabs(est - exact) / fabs(exact);
        if (rel > WR_SKETCH_ALPHA * (1 + 1e-9))
            fail_msg("q=%g: estimate %.17g, exact %.17g: relative error %g over %g", QS[i], est, exact,
                     rel, WR_SKETCH_ALPHA);
    }
}

typedef double (*gen_fn)(size_t i);
static double g_uniform(size_t i) { (void)i; return 1 + unif() * 1e6; }
static double g_lognormal(size_t i) { (void)i; return exp(normal() * 4); }           /* ~1e-8..1e8 */
static double g_mixed(size_t i)
{
    switch (i % 5) {
    case 0:  return 0.0;
    case 1:  return -exp(normal() * 4);
    case 2:  return 1e-12 * unif();                                                   /* "zero" */
    default: return exp(normal() * 4);
    }
}
static double g_counts(size_t i) { (void)i; return (double)(next_u64() % 50); }      /* small ints */
static double g_huge(size_t i) { (void)i; return (unif() < 0.5 ? -1 : 1) * pow(10, unif() * 600 - 300); }
static double g_const(size_t i) { (void)i; return 123456.789; }

static void test_accuracy(void **state)
{
    (void)state;
    gen_fn gens[] = {g_uniform, g_lognormal, g_mixed, g_counts, g_const, g_huge};
    const size_t n = 20000;
    double *v = malloc(n * sizeof *v);
    wr_sketch_t *s = wr_sketch_new();
    assert_non_null(v);
    assert_non_null(s);
    for (size_t g = 0; g < sizeof gens / sizeof gens[0]; g++) {
        wr_sketch_reset(s);
        for (size_t i = 0; i < n; i++) {
            v[i] = gens[g](i);
            assert_int_equal(wr_sketch_add(s, v[i]), 0);
        }
        if (gens[g] == g_huge) {
            /* 600 decades on each side need more than 2048 buckets: the lowest magnitudes
             * collapse (counted); the top quantiles of each sign keep the guarantee */
            assert_true(wr_sketch_collapsed(s) > 0);
            qsort(v, n, sizeof *v, cmp_d);
            /* the kept window is 2048 buckets = a factor gamma^2048 ~ 6e17 below the top */
            static const double top_q[] = {0.996, 0.998, 0.999, 1.0};
            for (size_t k = 0; k < 4; k++) {
                double exact = v[(size_t)floor(top_q[k] * (double)(n - 1))], est;
                assert_int_equal(wr_sketch_quantile(s, top_q[k], &est), 0);
                assert_true(exact > 1e283);
                assert_true(fabs(est - exact) <= WR_SKETCH_ALPHA * (1 + 1e-9) * fabs(exact));
            }
            double lo;
            assert_int_equal(wr_sketch_quantile(s, 0, &lo), 0);
            assert_true(fabs(lo - v[0]) <= WR_SKETCH_ALPHA * (1 + 1e-9) * fabs(v[0]));
            continue;
        }
        assert_int_equal(wr_sketch_collapsed(s), 0);
        check_accuracy(s, v, n);
    }
    wr_sketch_destroy(&s);
    assert_null(s);
    free(v);
}

/* Extremes: the largest and smallest finite magnitudes stay finite and within 1%. */
static void test_extremes(void **state)
{
    (void)state;
    wr_sketch_t *s = wr_sketch_new();
    double v[] = {DBL_MAX, -DBL_MAX, 1.0000001e-9, -1.0000001e-9, 5e-324, 1.0};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(wr_sketch_add(s, v[i]), 0);
    double est;
    assert_int_equal(wr_sketch_quantile(s, 1, &est), 0);
    assert_true(isfinite(est) && est >= DBL_MAX * (1 - WR_SKETCH_ALPHA));
    assert_int_equal(wr_sketch_quantile(s, 0, &est), 0);
    assert_true(isfinite(est) && est <= -DBL_MAX * (1 - WR_SKETCH_ALPHA));
    /* both windows are far wider than 2048 buckets (1e-9..1e308): collapsed */
    assert_true(wr_sketch_collapsed(s) > 0);
    wr_sketch_destroy(&s);
}

static void test_bad_input(void **state)
{
    (void)state;
    wr_sketch_t *s = wr_sketch_new();
    double est;
    assert_int_equal(wr_sketch_quantile(s, 0.5, &est), WR_ENOTFOUND);
    assert_int_equal(wr_sketch_add(s, NAN), WR_EINVAL);
    assert_int_equal(wr_sketch_add(s, INFINITY), WR_EINVAL);
    assert_int_equal(wr_sketch_add(s, -INFINITY), WR_EINVAL);
    assert_int_equal(wr_sketch_count(s), 0);
    assert_int_equal(wr_sketch_add(s, 7), 0);
    assert_int_equal(wr_sketch_quantile(s, -0.1, &est), WR_EINVAL);
    assert_int_equal(wr_sketch_quantile(s, 1.1, &est), WR_EINVAL);
    assert_int_equal(wr_sketch_quantile(s, NAN, &est), WR_EINVAL);
    assert_int_equal(wr_sketch_add_bucket(s, 1, WR_SKETCH_INDEX_MAX + 1, 1), WR_EINVAL);
    assert_int_equal(wr_sketch_add_bucket(s, -1, WR_SKETCH_INDEX_MIN - 1, 1), WR_EINVAL);
    assert_int_equal(wr_sketch_count(s), 1);
    /* counts saturate instead of wrapping */
    assert_int_equal(wr_sketch_add_bucket(s, 0, 0, UINT64_MAX), 0);
    assert_true(wr_sketch_count(s) == UINT64_MAX);
    wr_sketch_destroy(&s);
    wr_sketch_destroy(&s);   /* NULL-safe */
}

/* Sketches of parts, merged in several groupings and orders, equal the sketch of the whole
 * bucket by bucket; with and without collapsing. */
static void check_merge(gen_fn gen, size_t n, size_t parts)
{
    wr_sketch_t *whole = wr_sketch_new(), *p[16], *left = wr_sketch_new(), *right = wr_sketch_new(),
                *rev = wr_sketch_new();
    assert_true(parts <= 16);
    for (size_t k = 0; k < parts; k++)
        p[k] = wr_sketch_new();
    for (size_t i = 0; i < n; i++) {
        double v = gen(i);
        assert_int_equal(wr_sketch_add(whole, v), 0);
        assert_int_equal(wr_sketch_add(p[next_u64() % parts], v), 0);
    }
    /* left fold, reverse fold, and a tree ((p0+p1)+(p2+p3))+... */
    for (size_t k = 0; k < parts; k++) {
        assert_int_equal(wr_sketch_merge(left, p[k]), 0);
        assert_int_equal(wr_sketch_merge(rev, p[parts - 1 - k]), 0);
    }
    for (size_t step = 1; step < parts; step *= 2)
        for (size_t k = 0; k + step < parts; k += 2 * step)
            assert_int_equal(wr_sketch_merge(p[k], p[k + step]), 0);
    assert_int_equal(wr_sketch_copy(right, p[0]), 0);
    assert_true(wr_sketch_equal(left, whole));
    assert_true(wr_sketch_equal(rev, whole));
    assert_true(wr_sketch_equal(right, whole));
    for (size_t i = 0; i < NQ; i++) {
        double a, b, c;
        assert_int_equal(wr_sketch_quantile(whole, QS[i], &a), 0);
        assert_int_equal(wr_sketch_quantile(left, QS[i], &b), 0);
        assert_int_equal(wr_sketch_quantile(right, QS[i], &c), 0);
        assert_true(a == b && a == c);
    }
    /* and a differing sketch is not equal */
    assert_int_equal(wr_sketch_add(left, 1.0), 0);
    assert_false(wr_sketch_equal(left, whole));
    for (size_t k = 0; k < parts; k++)
        wr_sketch_destroy(&p[k]);
    wr_sketch_destroy(&whole);
    wr_sketch_destroy(&left);
    wr_sketch_destroy(&right);
    wr_sketch_destroy(&rev);
}

static void test_merge_exact(void **state)
{
    (void)state;
    check_merge(g_uniform, 5000, 7);
    check_merge(g_mixed, 5000, 10);
    check_merge(g_lognormal, 5000, 16);
    check_merge(g_huge, 5000, 9);     /* with collapsing */
}

/* The cap: a store never spans more than WR_SKETCH_MAX_BUCKETS buckets; when the range grows
 * upward the lowest buckets fold into the lowest kept one, and the count says how many. */
static void test_cap(void **state)
{
    (void)state;
    wr_sketch_t *s = wr_sketch_new();
    /* 1e-6 .. 1: ~690 buckets: no collapse */
    for (double v = 1e-6; v <= 1; v *= 1.5)
        assert_int_equal(wr_sketch_add(s, v), 0);
    assert_int_equal(wr_sketch_collapsed(s), 0);
    wr_sketch_store_view_t pos;
    wr_sketch_store(s, 1, &pos);
    assert_true(pos.len > 600 && pos.len < 800);
    /* 1e40: the window must move up; everything below idx(1e40) - 2047 folds */
    assert_int_equal(wr_sketch_add(s, 1e40), 0);
    wr_sketch_store(s, 1, &pos);
    assert_int_equal(pos.len, WR_SKETCH_MAX_BUCKETS);
    assert_int_equal(pos.offset + (int32_t)pos.len - 1, wr_sketch_index(1e40));
    assert_true(wr_sketch_collapsed(s) > 0);
    uint64_t total = 0;
    for (size_t k = 0; k < pos.len; k++)
        total += pos.counts[k];
    assert_int_equal(total, wr_sketch_count(s));          /* nothing lost */
    double est;
    assert_int_equal(wr_sketch_quantile(s, 1, &est), 0);
    assert_true(fabs(est - 1e40) <= 1e40 * WR_SKETCH_ALPHA);
    /* adding below the window lands in its lowest bucket, counted */
    uint64_t before = wr_sketch_collapsed(s);
    assert_int_equal(wr_sketch_add(s, 1e-8), 0);
    assert_int_equal(wr_sketch_collapsed(s), before + 1);
    wr_sketch_store(s, 1, &pos);
    assert_int_equal(pos.len, WR_SKETCH_MAX_BUCKETS);
    /* reset keeps nothing */
    wr_sketch_reset(s);
    assert_int_equal(wr_sketch_count(s), 0);
    assert_int_equal(wr_sketch_collapsed(s), 0);
    wr_sketch_store(s, 1, &pos);
    assert_int_equal(pos.len, 0);
    wr_sketch_destroy(&s);
}

/* Bucket values: each bucket answers within alpha of both of its edges. */
static void test_buckets(void **state)
{
    (void)state;
    for (int32_t i = -1000; i < 35000; i += 97) {
        double lo = exp((i - 1) * log((1 + WR_SKETCH_ALPHA) / (1 - WR_SKETCH_ALPHA)));
        double hi = lo * (1 + WR_SKETCH_ALPHA) / (1 - WR_SKETCH_ALPHA);
        double r = wr_sketch_bucket_value(i);
        if (!isfinite(hi))
            continue;
        assert_true(fabs(r - lo) <= WR_SKETCH_ALPHA * (1 + 1e-9) * lo);
        assert_true(fabs(r - hi) <= WR_SKETCH_ALPHA * (1 + 1e-9) * hi);
        assert_int_equal(wr_sketch_index(hi * (1 - 1e-12)), i);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accuracy),
        cmocka_unit_test(test_extremes),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_merge_exact),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_buckets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
