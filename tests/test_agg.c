/* test_agg: the mergeable aggregate. Merging per-part aggregates in any grouping and order
 * must give exactly what one pass over all samples gives (count, min, max exactly; sum up to
 * floating-point reassociation). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "wr_agg.h"
#include "wr_error.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_empty(void **state)
{
    (void)state;
    wr_agg_t a, b;
    wr_agg_init(&a);
    wr_agg_init(&b);
    assert_int_equal(a.count, 0);
    assert_true(wr_agg_mean(&a) == 0.0);
    wr_agg_merge(&a, &b);
    assert_int_equal(a.count, 0);
    assert_int_equal(wr_agg_add(&b, -5), WR_OK);
    wr_agg_merge(&a, &b);   /* empty <- one sample */
    assert_int_equal(a.count, 1);
    assert_true(a.min == -5 && a.max == -5 && a.sum == -5);
    wr_agg_init(&b);
    wr_agg_merge(&a, &b);   /* one sample <- empty: unchanged */
    assert_int_equal(a.count, 1);
    assert_true(a.min == -5 && a.max == -5);
}

static void test_rejects_non_finite(void **state)
{
    (void)state;
    wr_agg_t a;
    wr_agg_init(&a);
    assert_int_equal(wr_agg_add(&a, NAN), WR_EINVAL);
    assert_int_equal(wr_agg_add(&a, INFINITY), WR_EINVAL);
    assert_int_equal(wr_agg_add(&a, -INFINITY), WR_EINVAL);
    assert_int_equal(a.count, 0);
    assert_int_equal(wr_agg_add(&a, 3.5), WR_OK);
    assert_true(a.count == 1 && a.sum == 3.5);
}

/* 10,000 samples split at random into up to 64 parts, merged in a random tree shape and
 * order, equal the single pass. Repeated over 200 random splits. */
static void test_merge_equals_single_pass(void **state)
{
    (void)state;
    enum { N = 10000, PARTS = 64 };
    static double samples[N];
    for (int round = 0; round < 200; round++) {
        wr_agg_t whole, parts[PARTS];
        wr_agg_init(&whole);
        for (int p = 0; p < PARTS; p++)
            wr_agg_init(&parts[p]);
        for (int i = 0; i < N; i++) {
            /* integers, so sums are exact in a double whatever the order */
            samples[i] = (double)((int64_t)(next_rand() % 2000001) - 1000000);
            wr_agg_add(&whole, samples[i]);
            wr_agg_add(&parts[next_rand() % PARTS], samples[i]);
        }
        /* Random pairwise merges until one aggregate is left. */
        int live = PARTS;
        while (live > 1) {
            int a = (int)(next_rand() % (uint64_t)live), b = (int)(next_rand() % (uint64_t)live);
            if (a == b)
                continue;
            wr_agg_merge(&parts[a], &parts[b]);
            parts[b] = parts[live - 1];
            live--;
        }
        assert_int_equal(parts[0].count, whole.count);
        assert_true(parts[0].min == whole.min);
        assert_true(parts[0].max == whole.max);
        assert_true(parts[0].sum == whole.sum);
        assert_true(fabs(wr_agg_mean(&parts[0]) - wr_agg_mean(&whole)) < 1e-9);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_rejects_non_finite),
        cmocka_unit_test(test_merge_equals_single_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
