/* test_topk: wr_topk's order (value desc, node name asc), exactness under merge in any
 * grouping and order (checked against a sort of the union), the K rules (min K on merge,
 * capacity vs K for decoded lists) and bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wr_error.h"
#include "wr_topk.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next_u64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

typedef struct {
    char   node[32];
    double value;
} sample_t;

static int cmp_sample(const void *a, const void *b)
{
    const sample_t *x = a, *y = b;
    if (x->value != y->value)
        return x->value > y->value ? -1 : 1;
    return strcmp(x->node, y->node);
}

static void test_order_and_ties(void **state)
{
    (void)state;
    wr_topk_t *t = wr_topk_new(3);
    assert_non_null(t);
    assert_int_equal(wr_topk_add(t, "c@h", 5), 0);
    assert_int_equal(wr_topk_add(t, "b@h", 5), 0);
    assert_int_equal(wr_topk_add(t, "z@h", 1), 0);
    assert_int_equal(wr_topk_add(t, "a@h", 5), 0);     /* pushes z out; ties by name */
    assert_int_equal(wr_topk_add(t, "d@h", 5), 0);     /* same value, name after c: out */
    assert_int_equal(wr_topk_size(t), 3);
    assert_string_equal(wr_topk_item(t, 0)->node, "a@h");
    assert_string_equal(wr_topk_item(t, 1)->node, "b@h");
    assert_string_equal(wr_topk_item(t, 2)->node, "c@h");
    assert_null(wr_topk_item(t, 3));
    assert_int_equal(wr_topk_add(t, "y@h", -1e300), 0);
    assert_int_equal(wr_topk_add(t, "x@h", 6), 0);
    assert_string_equal(wr_topk_item(t, 0)->node, "x@h");
    assert_true(wr_topk_item(t, 0)->value == 6);
    assert_string_equal(wr_topk_item(t, 2)->node, "b@h");
    wr_topk_reset(t);
    assert_int_equal(wr_topk_size(t), 0);
    wr_topk_destroy(&t);
    assert_null(t);
    wr_topk_destroy(&t);
}

static void test_bad_input(void **state)
{
    (void)state;
    assert_null(wr_topk_new(0));
    assert_null(wr_topk_new(WR_TOPK_MAX + 1));
    wr_topk_t *t = wr_topk_new(WR_TOPK_MAX);
    char longname[WR_TOPK_NODE_MAX + 1];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(wr_topk_add(t, "a@h", NAN), WR_EINVAL);
    assert_int_equal(wr_topk_add(t, "a@h", INFINITY), WR_EINVAL);
    assert_int_equal(wr_topk_add(t, "", 1), WR_EINVAL);
    assert_int_equal(wr_topk_add(t, NULL, 1), WR_EINVAL);
    assert_int_equal(wr_topk_add(t, longname, 1), WR_EINVAL);
    longname[WR_TOPK_NODE_MAX - 1] = '\0';                 /* 255 bytes: the longest allowed */
    assert_int_equal(wr_topk_add(t, longname, 1), 0);
    assert_int_equal(wr_topk_size(t), 1);
    assert_int_equal(strlen(wr_topk_item(t, 0)->node), WR_TOPK_NODE_MAX - 1);
    wr_topk_destroy(&t);
}

/* n samples (many ties: values from a small set) split into parts; the merge of the parts'
 * top-Ks, in several groupings, equals the top-K of a full sort of the union. */
static void check_merge(size_t n, size_t parts, uint32_t k, uint64_t values)
{
    sample_t *s = calloc(n, sizeof *s);
    wr_topk_t *p[20], *left = wr_topk_new(k), *rev = wr_topk_new(k), *whole = wr_topk_new(k);
    for (size_t i = 0; i < parts; i++)
        p[i] = wr_topk_new(k);
    for (size_t i = 0; i < n; i++) {
        snprintf(s[i].node, sizeof s[i].node, "n%05zu@host", (size_t)(next_u64() % 100000));
        s[i].value = (double)(next_u64() % values) - (double)values / 2;
        assert_int_equal(wr_topk_add(p[next_u64() % parts], s[i].node, s[i].value), 0);
        assert_int_equal(wr_topk_add(whole, s[i].node, s[i].value), 0);
    }
    for (size_t i = 0; i < parts; i++) {
        wr_topk_merge(left, p[i]);
        wr_topk_merge(rev, p[parts - 1 - i]);
    }
    for (size_t step = 1; step < parts; step *= 2)
        for (size_t i = 0; i + step < parts; i += 2 * step)
            wr_topk_merge(p[i], p[i + step]);
    qsort(s, n, sizeof *s, cmp_sample);
    size_t want = n < k ? n : k;
    const wr_topk_t *all[4] = {left, rev, p[0], whole};
    for (int a = 0; a < 4; a++) {
        assert_int_equal(wr_topk_size(all[a]), want);
        for (size_t i = 0; i < want; i++) {
            const wr_topk_item_t *it = wr_topk_item(all[a], i);
            if (strcmp(it->node, s[i].node) || it->value != s[i].value)
                fail_msg("merge %d item %zu: %s=%g, expected %s=%g", a, i, it->node, it->value,
                         s[i].node, s[i].value);
        }
    }
    assert_true(wr_topk_equal(left, whole) && wr_topk_equal(rev, whole) && wr_topk_equal(p[0], whole));
    for (size_t i = 0; i < parts; i++)
        wr_topk_destroy(&p[i]);
    wr_topk_destroy(&left);
    wr_topk_destroy(&rev);
    wr_topk_destroy(&whole);
    free(s);
}

static void test_merge_exact(void **state)
{
    (void)state;
    check_merge(10000, 13, 10, 1000000);
    check_merge(10000, 20, 10, 7);          /* mostly ties: decided by node name */
    check_merge(5000, 8, 100, 100);
    check_merge(5, 4, 10, 100);             /* fewer samples than K */
    check_merge(1000, 3, 1, 50);
}

/* K of a merge is the smaller K (the only exact one); a decoded list keeps its sender's K
 * with a smaller capacity. */
static void test_k_rules(void **state)
{
    (void)state;
    wr_topk_t *a = wr_topk_new(10), *b = wr_topk_new(5);
    for (int i = 0; i < 20; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%d@h", i);
        wr_topk_add(a, name, i);
        wr_topk_add(b, name, 100 + i);
    }
    wr_topk_merge(a, b);
    assert_int_equal(wr_topk_k(a), 5);
    assert_int_equal(wr_topk_size(a), 5);
    assert_true(wr_topk_item(a, 0)->value == 119 && wr_topk_item(a, 4)->value == 115);
    wr_topk_reset(a);
    assert_int_equal(wr_topk_k(a), 10);

    wr_topk_t *d = wr_topk_new(2);            /* a decoded list: 2 items of a K = 10 list */
    wr_topk_set_k(d, 10);
    assert_int_equal(wr_topk_k(d), 10);
    assert_int_equal(wr_topk_capacity(d), 2);
    wr_topk_add(d, "x@h", 3);
    wr_topk_add(d, "y@h", 2);
    wr_topk_add(d, "z@h", 1);                 /* over capacity: dropped */
    assert_int_equal(wr_topk_size(d), 2);
    wr_topk_merge(a, d);
    assert_int_equal(wr_topk_k(a), 10);
    assert_int_equal(wr_topk_size(a), 2);
    wr_topk_t *c = wr_topk_new(10);
    wr_topk_copy(c, b);
    assert_true(wr_topk_equal(c, b));
    wr_topk_set_k(c, 200);
    assert_int_equal(wr_topk_k(c), WR_TOPK_MAX);
    wr_topk_destroy(&a);
    wr_topk_destroy(&b);
    wr_topk_destroy(&c);
    wr_topk_destroy(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_ties),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_merge_exact),
        cmocka_unit_test(test_k_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
