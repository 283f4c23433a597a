/* test_forecast: time to exhaustion from a trend: an exact linear leak, a leak under noise and
 * wild outliers (where least squares would be dragged), flat and shrinking series, too few
 * points, node restarts (a monotone series restarts its window on a drop), the window bound,
 * rejected points, the horizon test and the projection text. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "wr_error.h"
#include "wr_forecast.h"

#define ATOM_LIMIT 1048576.0

static uint64_t rng = 0x243F6A8885A308D3ull;
static double unit_rand(void)   /* [0, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static void test_linear_leak(void **state)
{
    (void)state;
    wr_forecast_series_t s;
    wr_forecast_init(&s, 30, 1);
    /* atoms: 400,331 at t=0, +1,200/min, one sample a minute for 30 minutes */
    for (int i = 0; i < 30; i++)
        assert_int_equal(wr_forecast_add(&s, 1000000 + i * 60000LL, 377131 + 1200.0 * i), 0);
    wr_forecast_t f;
    assert_int_equal(wr_forecast_eval(&s, ATOM_LIMIT, 0, &f), 0);
    assert_int_equal(f.status, WR_FORECAST_ETA);
    assert_int_equal(f.points, 30);
    assert_true(fabs(f.slope_per_s - 20.0) < 1e-9);            /* 1,200/min */
    assert_true(f.last == 377131 + 1200.0 * 29);
    assert_true(fabs(f.fitted - f.last) < 1e-6);
    double want = (ATOM_LIMIT - f.last) / 20.0;
    assert_true(fabs(f.eta_s - want) < 1e-6);
    assert_false(wr_forecast_within(&f, 3600));                  /* ~8.8 h away */
    assert_true(wr_forecast_within(&f, 10 * 3600));
    char buf[128];
    size_t n = wr_forecast_text(&f, "atoms", buf, sizeof buf);
    assert_int_equal(n, strlen(buf));
    assert_string_equal(buf, "atoms 411,931/1,048,576, +1,200/min: limit in 8.8 h");
    /* truncation keeps a NUL and reports the length written */
    char small[10];
    assert_int_equal(wr_forecast_text(&f, "atoms", small, sizeof small), 9);
    assert_string_equal(small, "atoms 411");
}

static void test_noise_and_outliers(void **state)
{
    (void)state;
    /* memory: 2 GB growing 1 MB/s with +-50 MB noise, and every 8th sample a 3 GB spike */
    wr_forecast_series_t s;
    wr_forecast_init(&s, 60, 0);
    double ls_x[60], ls_y[60];
    for (int i = 0; i < 60; i++) {
        double v = 2e9 + 1e6 * 10 * i + (unit_rand() - 0.5) * 1e8;
        if (i % 8 == 3)
            v += 3e9;
        assert_int_equal(wr_forecast_add(&s, i * 10000LL, v), 0);
        ls_x[i] = i * 10.0;
        ls_y[i] = v;
    }
    wr_forecast_t f;
    assert_int_equal(wr_forecast_eval(&s, 8e9, 0, &f), 0);
    assert_int_equal(f.status, WR_FORECAST_ETA);
    assert_true(fabs(f.slope_per_s - 1e6) < 0.15e6);   /* within 15% of the true slope */
    double true_eta = (8e9 - (2e9 + 1e6 * 590)) / 1e6;
    assert_true(fabs(f.eta_s - true_eta) < 0.2 * true_eta);
    /* least squares on the same points, for contrast: the spikes pull it off by far more */
    double mx = 0, my = 0, sxy = 0, sxx = 0;
    for (int i = 0; i < 60; i++) {
        mx += ls_x[i] / 60;
        my += ls_y[i] / 60;
    }
    for (int i = 0; i < 60; i++) {
        sxy += (ls_x[i] - mx) * (ls_y[i] - my);
        sxx += (ls_x[i] - mx) * (ls_x[i] - mx);
    }
    double ls = sxy / sxx;
    assert_true(fabs(f.slope_per_s - 1e6) < fabs(ls - 1e6));
}

static void test_flat_and_shrinking(void **state)
{
    (void)state;
    wr_forecast_series_t s;
    wr_forecast_t f;
    wr_forecast_init(&s, 0, 1);
    assert_int_equal(s.cap, WR_FORECAST_DEFAULT_POINTS);
    for (int i = 0; i < 40; i++)
        wr_forecast_add(&s, i * 1000LL, 5000);   /* atoms not moving */
    assert_int_equal(wr_forecast_eval(&s, ATOM_LIMIT, 0, &f), 0);
    assert_int_equal(f.status, WR_FORECAST_FLAT);
    assert_false(wr_forecast_within(&f, 1e12));
    char buf[128];
    wr_forecast_text(&f, "atoms", buf, sizeof buf);
    assert_string_equal(buf, "atoms 5,000/1,048,576, +0.0/h: flat");

    /* processes going down with noise: flat (no projection) */
    wr_forecast_init(&s, 60, 0);
    for (int i = 0; i < 60; i++)
        wr_forecast_add(&s, i * 1000LL, 20000 - 10.0 * i + (unit_rand() - 0.5) * 200);
    assert_int_equal(wr_forecast_eval(&s, 262144, 0, &f), 0);
    assert_int_equal(f.status, WR_FORECAST_FLAT);
    assert_true(f.slope_per_s < 0);

    /* a flat series with one-off jitter: the median slope is 0, not a growth */
    wr_forecast_init(&s, 60, 0);
    for (int i = 0; i < 60; i++)
        wr_forecast_add(&s, i * 1000LL, i == 59 ? 9000 : 1000);
    assert_int_equal(wr_forecast_eval(&s, 10000, 0, &f), 0);
    assert_int_equal(f.status, WR_FORECAST_FLAT);
}

static void test_few_points_and_reached(void **state)
{
    (void)state;
    wr_forecast_series_t s;
    wr_forecast_t f;
    wr_forecast_init(&s, 60, 0);
    assert_int_equal(wr_forecast_eval(&s, 100, 0, &f), 0);
    assert_int_equal(f.status, WR_FORECAST_FEW_POINTS);
    for (int i = 0; i < WR_FORECAST_MIN_POINTS - 1; i++)
        wr_forecast_add(&s, i * 1000LL, 10.0 * i);
    assert_int_equal(wr_forecast_eval(&s, 1000, 0, &f), 0);
    assert_int_equal(f.status, WR_FORECAST_FEW_POINTS);
    assert_int_equal(wr_forecast_eval(&s, 1000, 3, &f), 0);   /* caller's smaller minimum */
    assert_int_equal(f.status, WR_FORECAST_ETA);
    wr_forecast_add(&s, 100000, 1000);
    assert_int_equal(wr_forecast_eval(&s, 1000, 0, &f), 0);
    assert_int_equal(f.status, WR_FORECAST_REACHED);
    assert_true(wr_forecast_within(&f, 0));
    char buf[64];
    wr_forecast_text(&f, "fds", buf, sizeof buf);
    assert_string_equal(buf, "fds 1,000/1,000: at the limit");
    assert_int_equal(wr_forecast_eval(&s, 0, 0, &f), WR_EINVAL);
    assert_int_equal(wr_forecast_eval(&s, NAN, 0, &f), WR_EINVAL);
}

static void test_restart_and_window(void **state)
{
    (void)state;
    wr_forecast_series_t s;
    wr_forecast_t f;
    wr_forecast_init(&s, 20, 1);
    for (int i = 0; i < 20; i++)
        wr_forecast_add(&s, i * 1000LL, 100000 + 1000.0 * i);
    assert_int_equal(s.n, 20);
    /* the node restarts: atoms drop to a fresh node's count; the window restarts */
    assert_int_equal(wr_forecast_add(&s, 20000, 9000), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.resets, 1);
    assert_int_equal(wr_forecast_eval(&s, ATOM_LIMIT, 0, &f), 0);
    assert_int_equal(f.status, WR_FORECAST_FEW_POINTS);
    /* the new incarnation is flat: no alarm from the old leak */
    for (int i = 1; i < 15; i++)
        wr_forecast_add(&s, 20000 + i * 1000LL, 9000);
    assert_int_equal(wr_forecast_eval(&s, ATOM_LIMIT, 0, &f), 0);
    assert_int_equal(f.status, WR_FORECAST_FLAT);

    /* the window holds at most cap points: the oldest fall out, so an old leak that stopped
     * is forgotten after cap samples */
    wr_forecast_init(&s, 10, 0);
    for (int i = 0; i < 10; i++)
        wr_forecast_add(&s, i * 1000LL, 100.0 * i);
    for (int i = 10; i < 20; i++)
        wr_forecast_add(&s, i * 1000LL, 900);
    assert_int_equal(s.n, 10);
    assert_int_equal(wr_forecast_eval(&s, 10000, 0, &f), 0);
    assert_int_equal(f.status, WR_FORECAST_FLAT);

    /* a non-monotone series does not restart on a drop; the caller may reset it */
    wr_forecast_init(&s, 10, 0);
    wr_forecast_add(&s, 1, 50);
    wr_forecast_add(&s, 2, 10);
    assert_int_equal(s.n, 2);
    wr_forecast_reset(&s);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.resets, 1);

    /* bad points are refused and change nothing */
    wr_forecast_add(&s, 100, 1);
    assert_int_equal(wr_forecast_add(&s, 100, 2), WR_EINVAL);   /* same time */
    assert_int_equal(wr_forecast_add(&s, 50, 2), WR_EINVAL);    /* backwards */
    assert_int_equal(wr_forecast_add(&s, 200, NAN), WR_EINVAL);
    assert_int_equal(wr_forecast_add(&s, 200, INFINITY), WR_EINVAL);
    assert_int_equal(s.n, 1);
    /* capacity is clamped */
    wr_forecast_init(&s, 1000, 0);
    assert_int_equal(s.cap, WR_FORECAST_MAX_POINTS);
    wr_forecast_init(&s, 1, 0);
    assert_int_equal(s.cap, 2);
}

/* An atom leak at 2% of the limit is projected as surely as one at 60%: the slope does not
 * depend on the level, so the horizon test fires long before the 70% threshold alarm. */
static void test_early_atom_leak(void **state)
{
    (void)state;
    wr_forecast_series_t s;
    wr_forecast_t f;
    wr_forecast_init(&s, 60, 1);
    for (int i = 0; i < 60; i++)   /* 20,000 atoms (2%), +300/s for a minute */
        wr_forecast_add(&s, i * 1000LL, 20000 + 300.0 * i);
    assert_int_equal(wr_forecast_eval(&s, ATOM_LIMIT, 0, &f), 0);
    assert_int_equal(f.status, WR_FORECAST_ETA);
    assert_true(wr_forecast_within(&f, WR_FORECAST_DEFAULT_HORIZON_S));   /* ~57 min */
    char buf[128];
    wr_forecast_text(&f, "atoms", buf, sizeof buf);
    assert_string_equal(buf, "atoms 37,700/1,048,576, +18,000/min: limit in 56 min");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_leak),
        cmocka_unit_test(test_noise_and_outliers),
        cmocka_unit_test(test_flat_and_shrinking),
        cmocka_unit_test(test_few_points_and_reached),
        cmocka_unit_test(test_restart_and_window),
        cmocka_unit_test(test_early_atom_leak),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
