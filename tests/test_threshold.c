/* test_threshold: the hysteresis state machine at every boundary: raise exactly at the raise
 * level, hold down to the clear level, clear strictly below it, escalate, de-escalate, straight
 * clear from major, hovering without flapping, the consecutive-interval delays, NaN, disabling,
 * single-level alarms and configuration checks. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "wr_alarm.h"
#include "wr_error.h"
#include "wr_threshold.h"

/* Feeds values in order; checks the transition and level after each. */
typedef struct {
    double v;
    int    tr;
    int    level;
} step_t;

static void run(const wr_threshold_config_t *cfg, wr_threshold_state_t *st, const step_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int tr = wr_threshold_feed(cfg, st, s[i].v);
        if (tr != s[i].tr || st->level != s[i].level)
            fail_msg("step %zu value %g: got %s/level %d, want %s/level %d", i, s[i].v,
                     wr_threshold_transition_name(tr), st->level,
                     wr_threshold_transition_name(s[i].tr), s[i].level);
    }
}

static void test_defaults(void **state)
{
    (void)state;
    wr_threshold_config_t c;
    wr_threshold_config_percent(&c, 70, 85);
    assert_true(c.minor_raise == 70 && c.minor_clear == 65 && c.major_raise == 85 && c.major_clear == 80);
    assert_int_equal(c.enabled, 1);
    assert_int_equal(wr_threshold_config_check(&c, NULL, 0), 0);
    wr_threshold_config_absolute(&c, 5000, 20000);
    assert_true(c.minor_clear == 4000 && c.major_clear == 16000);
    assert_int_equal(wr_threshold_severity(&c, WR_LEVEL_MINOR), WR_SEV_MINOR);
    assert_int_equal(wr_threshold_severity(&c, WR_LEVEL_MAJOR), WR_SEV_MAJOR);
    assert_int_equal(wr_threshold_severity(&c, WR_LEVEL_NONE), WR_SEV_CLEARED);
    assert_string_equal(wr_threshold_transition_name(WR_THR_DEESCALATE), "deescalate");
}

static void test_boundaries(void **state)
{
    (void)state;
    wr_threshold_config_t c;
    wr_threshold_config_percent(&c, 70, 85);
    wr_threshold_state_t st;
    wr_threshold_state_init(&st);
    const step_t steps[] = {
        {69.999, WR_THR_NONE, WR_LEVEL_NONE},
        {70, WR_THR_RAISE, WR_LEVEL_MINOR},        /* >= raise level */
        {65, WR_THR_NONE, WR_LEVEL_MINOR},         /* at the clear level: still raised */
        {64.999, WR_THR_CLEAR, WR_LEVEL_NONE},     /* strictly below: cleared */
        {84.999, WR_THR_RAISE, WR_LEVEL_MINOR},
        {85, WR_THR_ESCALATE, WR_LEVEL_MAJOR},
        {80, WR_THR_NONE, WR_LEVEL_MAJOR},         /* at the major clear level: held */
        {79.999, WR_THR_DEESCALATE, WR_LEVEL_MINOR},
        {84.9, WR_THR_NONE, WR_LEVEL_MINOR},       /* under major raise: stays minor */
        {100, WR_THR_ESCALATE, WR_LEVEL_MAJOR},
        {10, WR_THR_CLEAR, WR_LEVEL_NONE},         /* straight from major to clear */
        {90, WR_THR_RAISE, WR_LEVEL_MAJOR},        /* straight from none to major */
    };
    run(&c, &st, steps, sizeof steps / sizeof steps[0]);
}

static void test_no_flapping(void **state)
{
    (void)state;
    wr_threshold_config_t c;
    wr_threshold_config_percent(&c, 70, 85);
    wr_threshold_state_t st;
    wr_threshold_state_init(&st);
    int raises = 0, clears = 0, changes = 0;
    /* hover around 70 (between 66 and 74) for 1,000 intervals: exactly one raise, no clear */
    for (int i = 0; i < 1000; i++) {
        double v = 70 + ((i % 2) ? 4.0 : -4.0) * ((i % 7) / 6.0);
        int tr = wr_threshold_feed(&c, &st, v);
        raises += tr == WR_THR_RAISE;
        clears += tr == WR_THR_CLEAR;
        changes += tr != WR_THR_NONE;
    }
    assert_int_equal(raises, 1);
    assert_int_equal(clears, 0);
    assert_int_equal(changes, 1);
    /* hover around 85 between 81 and 89: one escalation, no de-escalation */
    changes = 0;
    for (int i = 0; i < 1000; i++)
        changes += wr_threshold_feed(&c, &st, i % 2 ? 89 : 81) != WR_THR_NONE;
    assert_int_equal(changes, 1);
    assert_int_equal(st.level, WR_LEVEL_MAJOR);
}

static void test_delays(void **state)
{
    (void)state;
    wr_threshold_config_t c;
    wr_threshold_config_percent(&c, 70, 85);
    c.raise_after = 3;
    c.clear_after = 2;
    wr_threshold_state_t st;
    wr_threshold_state_init(&st);
    const step_t steps[] = {
        {75, WR_THR_NONE, WR_LEVEL_NONE},
        {75, WR_THR_NONE, WR_LEVEL_NONE},
        {60, WR_THR_NONE, WR_LEVEL_NONE},          /* the run breaks: count starts again */
        {75, WR_THR_NONE, WR_LEVEL_NONE},
        {90, WR_THR_NONE, WR_LEVEL_NONE},          /* above minor for 2, above major for 1 */
        {90, WR_THR_RAISE, WR_LEVEL_MINOR},        /* above minor for 3 */
        {90, WR_THR_ESCALATE, WR_LEVEL_MAJOR},     /* above major for 3 */
        {82, WR_THR_NONE, WR_LEVEL_MAJOR},
        {79, WR_THR_NONE, WR_LEVEL_MAJOR},         /* below major clear for 1 */
        {79, WR_THR_DEESCALATE, WR_LEVEL_MINOR},   /* for 2 */
        {60, WR_THR_NONE, WR_LEVEL_MINOR},
        {66, WR_THR_NONE, WR_LEVEL_MINOR},         /* back above 65: run broken */
        {60, WR_THR_NONE, WR_LEVEL_MINOR},
        {60, WR_THR_CLEAR, WR_LEVEL_NONE},
    };
    run(&c, &st, steps, sizeof steps / sizeof steps[0]);
    /* raise_after = 0 behaves as 1 */
    c.raise_after = 0;
    wr_threshold_state_init(&st);
    assert_int_equal(wr_threshold_feed(&c, &st, 71), WR_THR_RAISE);
}

static void test_nan_and_disable(void **state)
{
    (void)state;
    wr_threshold_config_t c;
    wr_threshold_config_percent(&c, 70, 85);
    c.raise_after = 2;
    wr_threshold_state_t st;
    wr_threshold_state_init(&st);
    assert_true(isnan(st.last));
    assert_int_equal(wr_threshold_feed(&c, &st, 72), WR_THR_NONE);
    assert_int_equal(wr_threshold_feed(&c, &st, NAN), WR_THR_NONE);   /* a missing sample */
    assert_int_equal(wr_threshold_feed(&c, &st, 72), WR_THR_RAISE);   /* the run survived it */
    assert_true(st.last == 72);
    c.enabled = 0;
    assert_int_equal(wr_threshold_feed(&c, &st, 99), WR_THR_CLEAR);   /* disabling clears */
    assert_int_equal(st.level, WR_LEVEL_NONE);
    assert_int_equal(wr_threshold_feed(&c, &st, 99), WR_THR_NONE);
    assert_int_equal(st.level, WR_LEVEL_NONE);
}

static void test_single_level(void **state)
{
    (void)state;
    /* a warning-only rate alarm: raise at 10/s, clear below 5/s */
    wr_threshold_config_t c;
    wr_threshold_config_absolute(&c, 10, 10);
    c.minor_clear = c.major_clear = 5;
    c.minor_severity = c.major_severity = WR_SEV_WARNING;
    assert_int_equal(wr_threshold_config_check(&c, NULL, 0), 0);
    wr_threshold_state_t st;
    wr_threshold_state_init(&st);
    const step_t steps[] = {
        {9, WR_THR_NONE, WR_LEVEL_NONE},
        {10, WR_THR_RAISE, WR_LEVEL_MAJOR},
        {6, WR_THR_NONE, WR_LEVEL_MAJOR},
        {4, WR_THR_CLEAR, WR_LEVEL_NONE},          /* never passes through minor */
    };
    run(&c, &st, steps, sizeof steps / sizeof steps[0]);
    assert_int_equal(wr_threshold_severity(&c, WR_LEVEL_MAJOR), WR_SEV_WARNING);
}

static void test_config_check(void **state)
{
    (void)state;
    wr_threshold_config_t c;
    char err[128] = "";
    wr_threshold_config_percent(&c, 70, 85);
    c.minor_clear = 71;
    assert_int_equal(wr_threshold_config_check(&c, err, sizeof err), WR_ECONFIG);
    assert_non_null(strstr(err, "minor clear level 71"));
    wr_threshold_config_percent(&c, 90, 85);
    assert_int_equal(wr_threshold_config_check(&c, err, sizeof err), WR_ECONFIG);
    assert_non_null(strstr(err, "above the major raise"));
    wr_threshold_config_percent(&c, 70, 85);
    c.major_clear = 60;
    assert_int_equal(wr_threshold_config_check(&c, err, sizeof err), WR_ECONFIG);
    wr_threshold_config_percent(&c, 70, 85);
    c.major_raise = NAN;
    assert_int_equal(wr_threshold_config_check(&c, err, sizeof err), WR_ECONFIG);
    assert_non_null(strstr(err, "finite"));
    wr_threshold_config_percent(&c, 70, 85);
    c.minor_severity = WR_SEV_CRITICAL;
    assert_int_equal(wr_threshold_config_check(&c, err, sizeof err), WR_ECONFIG);
    c.minor_severity = WR_SEV_CLEARED;
    assert_int_equal(wr_threshold_config_check(&c, NULL, 0), WR_ECONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_boundaries),
        cmocka_unit_test(test_no_flapping),
        cmocka_unit_test(test_delays),
        cmocka_unit_test(test_nan_and_disable),
        cmocka_unit_test(test_single_level),
        cmocka_unit_test(test_config_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
