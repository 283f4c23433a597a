/* test_log: wr_log line format, level filtering, level names, truncation, sanitizing.
 * stderr is redirected into a pipe for each test and read back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "wr_error.h"
#include "wr_log.h"

typedef struct {
    int pipe_rd;
    int saved_stderr;
} capture_t;

static void capture_start(capture_t *c)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    c->saved_stderr = dup(STDERR_FILENO);
    assert_true(c->saved_stderr >= 0);
    assert_true(dup2(fds[1], STDERR_FILENO) >= 0);
    close(fds[1]);
    c->pipe_rd = fds[0];
}

/* Restores stderr and returns everything written meanwhile (malloc'd, NUL-terminated). */
static char *capture_end(capture_t *c)
{
    dup2(c->saved_stderr, STDERR_FILENO);
    close(c->saved_stderr);
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        ssize_t n = read(c->pipe_rd, buf + len, cap - 1 - len);
        if (n <= 0)
            break;   /* write end closed: EOF; the writes are already in the pipe */
        len += (size_t)n;
        if (len == cap - 1)
            break;
    }
    buf[len] = '\0';
    close(c->pipe_rd);
    return buf;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void assert_matches(const char *text, const char *pattern)
{
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE), 0);
    int rc = regexec(&re, text, 0, NULL, 0);
    regfree(&re);
    if (rc != 0)
        fail_msg("'%s' does not match /%s/", text, pattern);
}

#define TS "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"

static void test_defaults_before_init(void **state)
{
    (void)state;
    /* this test runs first: nothing has called wr_log_init yet */
    assert_int_equal(wr_log_level(), WR_LOG_INFO);
    capture_t c;
    capture_start(&c);
    WR_INFO("hello %d", 42);
    WR_DEBUG("not shown");
    char *out = capture_end(&c);
    assert_matches(out, "^" TS " INFO warren: hello 42\n$");
    free(out);
}

static void test_format_and_levels(void **state)
{
    (void)state;
    wr_log_init("warren-leaf[leaf-1]", WR_LOG_DEBUG, 0);
    assert_int_equal(wr_log_level(), WR_LOG_DEBUG);
    capture_t c;
    capture_start(&c);
    WR_ERROR("e %s", "one");
    WR_WARN("w");
    WR_INFO("i");
    WR_DEBUG("d %u", 7u);
    char *out = capture_end(&c);
    assert_int_equal(count_lines(out), 4);
    assert_matches(out, "^" TS " ERROR warren-leaf\\[leaf-1\\]: e one$");
    assert_matches(out, "^" TS " WARN warren-leaf\\[leaf-1\\]: w$");
    assert_matches(out, "^" TS " INFO warren-leaf\\[leaf-1\\]: i$");
    assert_matches(out, "^" TS " DEBUG warren-leaf\\[leaf-1\\]: d 7$");
    free(out);
}

static void test_filtering(void **state)
{
    (void)state;
    wr_log_init("filt", WR_LOG_WARN, 0);
    capture_t c;
    capture_start(&c);
    WR_ERROR("kept-error");
    WR_WARN("kept-warn");
    WR_INFO("dropped-info");
    WR_DEBUG("dropped-debug");
    char *out = capture_end(&c);
    assert_int_equal(count_lines(out), 2);
    assert_non_null(strstr(out, "kept-error"));
    assert_non_null(strstr(out, "kept-warn"));
    assert_null(strstr(out, "dropped"));
    free(out);

    wr_log_init("filt", WR_LOG_ERROR, 0);
    capture_start(&c);
    WR_WARN("dropped");
    WR_ERROR("only");
    out = capture_end(&c);
    assert_int_equal(count_lines(out), 1);
    assert_matches(out, "^" TS " ERROR filt: only$");
    free(out);
}

static void test_level_parse(void **state)
{
    (void)state;
    int lv = -1;
    assert_int_equal(wr_log_level_parse("error", &lv), 0);
    assert_int_equal(lv, WR_LOG_ERROR);
    assert_int_equal(wr_log_level_parse("warn", &lv), 0);
    assert_int_equal(lv, WR_LOG_WARN);
    assert_int_equal(wr_log_level_parse("Warning", &lv), 0);
    assert_int_equal(lv, WR_LOG_WARN);
    assert_int_equal(wr_log_level_parse("INFO", &lv), 0);
    assert_int_equal(lv, WR_LOG_INFO);
    assert_int_equal(wr_log_level_parse("debug", &lv), 0);
    assert_int_equal(lv, WR_LOG_DEBUG);
    lv = 99;
    assert_int_equal(wr_log_level_parse("verbose", &lv), WR_EINVAL);
    assert_int_equal(wr_log_level_parse("", &lv), WR_EINVAL);
    assert_int_equal(wr_log_level_parse("info ", &lv), WR_EINVAL);
    assert_int_equal(wr_log_level_parse(NULL, &lv), WR_EINVAL);
    assert_int_equal(lv, 99);   /* untouched on error */
}

static void test_truncation(void **state)
{
    (void)state;
    wr_log_init("trunc", WR_LOG_INFO, 0);
    char *big = malloc(10241);
    assert_non_null(big);
    memset(big, 'x', 10240);
    big[10240] = '\0';
    capture_t c;
    capture_start(&c);
    WR_INFO("start %s", big);
    WR_INFO("after");
    char *out = capture_end(&c);
    free(big);
    assert_int_equal(count_lines(out), 2);
    char *nl = strchr(out, '\n');
    assert_non_null(nl);
    size_t len1 = (size_t)(nl - out);
    assert_true(len1 < 10240);
    assert_true(len1 > 1000);
    assert_memory_equal(nl - 3, "...", 3);
    assert_matches(out, "^" TS " INFO trunc: start xxxx");
    assert_matches(nl + 1, "^" TS " INFO trunc: after\n$");
    free(out);
}

static void test_control_chars_and_errno(void **state)
{
    (void)state;
    wr_log_init("ctl", WR_LOG_INFO, 0);
    capture_t c;
    capture_start(&c);
    errno = ENOENT;
    WR_INFO("a\nb\rc\x01" "d: %m");
    assert_int_equal(errno, ENOENT);   /* logging keeps errno */
    char *out = capture_end(&c);
    assert_int_equal(count_lines(out), 1);
    assert_matches(out, "^" TS " INFO ctl: a b c\\?d: No such file or directory$");
    free(out);
}

static void test_syslog_enabled(void **state)
{
    (void)state;
    /* syslog output cannot be read back portably; check it does not disturb stderr */
    wr_log_init("sys", WR_LOG_INFO, 1);
    capture_t c;
    capture_start(&c);
    WR_WARN("to both");
    char *out = capture_end(&c);
    assert_matches(out, "^" TS " WARN sys: to both\n$");
    free(out);
    wr_log_init("sys", WR_LOG_INFO, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_before_init),
        cmocka_unit_test(test_format_and_levels),
        cmocka_unit_test(test_filtering),
        cmocka_unit_test(test_level_parse),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_control_chars_and_errno),
        cmocka_unit_test(test_syslog_enabled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
