/* test_cli_parse: the command-line number checks (core/wr_cli.h): what is taken, what is
 * refused (trailing text, overflow, NaN / inf, out of range) and the complaint's wording. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include "wr_cli.h"
#include "wr_error.h"

static void test_long_ok(void **state)
{
    (void)state;
    long v = -7;
    assert_int_equal(wr_cli_parse_long("42", 1, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(wr_cli_parse_long("1", 1, 100, &v), 0);    /* bounds are inclusive */
    assert_int_equal(v, 1);
    assert_int_equal(wr_cli_parse_long("100", 1, 100, &v), 0);
    assert_int_equal(v, 100);
    assert_int_equal(wr_cli_parse_long("-5", -10, 0, &v), 0);
    assert_int_equal(v, -5);
    assert_int_equal(wr_cli_parse_long("010", 0, 100, &v), 0);  /* base 10, not octal */
    assert_int_equal(v, 10);
    char max[32];
    snprintf(max, sizeof max, "%ld", LONG_MAX);
    assert_int_equal(wr_cli_parse_long(max, 0, LONG_MAX, &v), 0);
    assert_true(v == LONG_MAX);
}

static void test_long_refused(void **state)
{
    (void)state;
    const char *bad[] = {"", "abc", "12x", "1.5", "0x10", "1e3", "101", "0", "99999999999999999999999", " "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long v = 77;
        assert_int_equal(wr_cli_parse_long(bad[i], 1, 100, &v), WR_EINVAL);
        assert_int_equal(v, 77);   /* left alone */
    }
    long v = 77;
    assert_int_equal(wr_cli_parse_long(NULL, 1, 100, &v), WR_EINVAL);
    assert_int_equal(v, 77);
}

static void test_double(void **state)
{
    (void)state;
    double d = -1;
    assert_int_equal(wr_cli_parse_double("0.1", 0.1, 3600, &d), 0);
    assert_true(d == 0.1);
    assert_int_equal(wr_cli_parse_double("2.5e1", 0, 100, &d), 0);
    assert_true(d == 25.0);
    assert_int_equal(wr_cli_parse_double("7", 0, 100, &d), 0);
    assert_true(d == 7.0);
    const char *bad[] = {"", "x", "1.5s", "nan", "inf", "-inf", "1e999", "100.01", "-0.5", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = 3;
        assert_int_equal(wr_cli_parse_double(bad[i], 0, 100, &d), WR_EINVAL);
        assert_true(d == 3);
    }
}

static void test_messages(void **state)
{
    (void)state;
    char err[WR_CLI_ERR_MAX] = "";
    long v = 0;
    assert_int_equal(wr_cli_long("--nodes", "12x", 1, 100000, &v, err, sizeof err), WR_EINVAL);
    assert_string_equal(err, "--nodes: expected an integer in 1..100000, got '12x'");
    double d = 0;
    assert_int_equal(wr_cli_double("--interval", "0", 0.1, 3600, &d, err, sizeof err), WR_EINVAL);
    assert_string_equal(err, "--interval: expected a number in 0.1..3600, got '0'");
    /* a long value is cut: the message always fits WR_CLI_ERR_MAX */
    char huge[500];
    memset(huge, '9', sizeof huge - 1);
    huge[sizeof huge - 1] = 0;
    assert_int_equal(wr_cli_long("--seed-with-a-long-name", huge, 0, LONG_MAX, &v, err, sizeof err), WR_EINVAL);
    assert_true(strlen(err) < sizeof err - 1);
    assert_non_null(strstr(err, "got '9999"));
    /* success leaves err alone */
    strcpy(err, "untouched");
    assert_int_equal(wr_cli_long("--n", "5", 1, 9, &v, err, sizeof err), 0);
    assert_int_equal(v, 5);
    assert_string_equal(err, "untouched");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_ok),
        cmocka_unit_test(test_long_refused),
        cmocka_unit_test(test_double),
        cmocka_unit_test(test_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
