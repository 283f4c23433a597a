/* test_root_http_hist: the history route's parameter parsing (root/root_http_hist.c): times as
 * absolute ms or durations before now (with or without '-'), steps as durations or bare ms,
 * and the refusals (bad units, zero, overflow, junk). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "../root/root_http_hist.h"
#include "wr_error.h"

static void test_time(void **state)
{
    (void)state;
    const int64_t now = 1763890000000LL;
    int64_t t = -1;
    assert_int_equal(rh_hist_parse_time("1763886400000", now, &t), 0);
    assert_int_equal(t, 1763886400000LL);
    assert_int_equal(rh_hist_parse_time("0", now, &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(rh_hist_parse_time("1h", now, &t), 0);
    assert_int_equal(t, now - 3600000);
    assert_int_equal(rh_hist_parse_time("-1h", now, &t), 0);
    assert_int_equal(t, now - 3600000);
    assert_int_equal(rh_hist_parse_time("30s", now, &t), 0);
    assert_int_equal(t, now - 30000);
    assert_int_equal(rh_hist_parse_time("7d", now, &t), 0);
    assert_int_equal(t, now - 7 * 86400000LL);
    assert_int_equal(rh_hist_parse_time("-500ms", now, &t), 0);
    assert_int_equal(t, now - 500);
    assert_int_equal(rh_hist_parse_time("2w", now, &t), 0);
    assert_int_equal(t, now - 14 * 86400000LL);
    assert_int_equal(rh_hist_parse_time("36500d", 1000, &t), 0);   /* clamped at 0 */
    assert_int_equal(t, 0);
    static const char *const bad[] = {"", "-", "h", "1y", "5x", "-1", "1.5h", "1h ", " 1h",
                                      "99999999999999d", "yesterday", "--1h", "12abc",
                                      "123456789012345678901"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (rh_hist_parse_time(bad[i], now, &t) != WR_EINVAL)
            fail_msg("time '%s' accepted", bad[i]);
}

static void test_step(void **state)
{
    (void)state;
    int64_t s = 0;
    assert_int_equal(rh_hist_parse_step("10s", &s), 0);
    assert_int_equal(s, 10000);
    assert_int_equal(rh_hist_parse_step("1m", &s), 0);
    assert_int_equal(s, 60000);
    assert_int_equal(rh_hist_parse_step("5m", &s), 0);
    assert_int_equal(s, 300000);
    assert_int_equal(rh_hist_parse_step("60000", &s), 0);
    assert_int_equal(s, 60000);
    assert_int_equal(rh_hist_parse_step("250ms", &s), 0);
    assert_int_equal(s, 250);
    assert_int_equal(rh_hist_parse_step("1d", &s), 0);
    assert_int_equal(s, 86400000);
    static const char *const bad[] = {"", "0", "0s", "-1m", "nope", "1q", "1 m", "m",
                                      "99999999999999w"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (rh_hist_parse_step(bad[i], &s) != WR_EINVAL)
            fail_msg("step '%s' accepted", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
