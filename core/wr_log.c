/* wr_log: the one logging facility of warren processes (see wr_log.h).
 * Each line is formatted into a stack buffer and written to stderr with one write(2), so
 * lines from several threads never interleave. Control characters in the message are
 * replaced (a message from a BEAM node cannot forge extra log lines). Not a library for
 * structured logs; not buffered. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "wr_error.h"
#include "wr_log.h"

#define WR_LOG_LINE_MAX  4096
#define WR_LOG_IDENT_MAX 128

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_ident[WR_LOG_IDENT_MAX] = "warren";
/* openlog() keeps the pointer it is given: this copy only changes under closelog(). */
static char g_syslog_ident[WR_LOG_IDENT_MAX] = "warren";
static atomic_int g_level = WR_LOG_INFO;
static atomic_int g_syslog = 0;

static const char *const level_words[] = {"ERROR", "WARN", "INFO", "DEBUG"};
static const int syslog_prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

static int clamp_level(int level)
{
    if (level < WR_LOG_ERROR)
        return WR_LOG_ERROR;
    if (level > WR_LOG_DEBUG)
        return WR_LOG_DEBUG;
    return level;
}

void wr_log_init(const char *ident, int level, int use_syslog)
{
    pthread_mutex_lock(&g_lock);
    snprintf(g_ident, sizeof g_ident, "%s", ident && *ident ? ident : "warren");
    if (atomic_load(&g_syslog))
        closelog();
    if (use_syslog) {
        memcpy(g_syslog_ident, g_ident, sizeof g_syslog_ident);
        openlog(g_syslog_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
    }
    atomic_store(&g_syslog, use_syslog ? 1 : 0);
    atomic_store(&g_level, clamp_level(level));
    pthread_mutex_unlock(&g_lock);
}

int wr_log_level_parse(const char *name, int *level)
{
    static const struct { const char *name; int level; } names[] = {
        {"error", WR_LOG_ERROR}, {"warn", WR_LOG_WARN}, {"warning", WR_LOG_WARN},
        {"info", WR_LOG_INFO}, {"debug", WR_LOG_DEBUG},
    };
    if (!name)
        return WR_EINVAL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            if (level)
                *level = names[i].level;
            return 0;
        }
    }
    return WR_EINVAL;
}

int wr_log_level(void)
{
    return atomic_load(&g_level);
}

/* Replaces line breaks and tabs by spaces and other control bytes by '?'. */
static void sanitize(char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n' || c == '\r' || c == '\t')
            s[i] = ' ';
        else if (c < 0x20 || c == 0x7f)
            s[i] = '?';
    }
}

static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;   /* nowhere left to report a failing stderr */
        }
        buf += n;
        len -= (size_t)n;
    }
}

void wr_log(int level, const char *fmt, ...)
{
    level = clamp_level(level);
    if (level > atomic_load(&g_level))
        return;
    int saved_errno = errno;

    char line[WR_LOG_LINE_MAX];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);

    pthread_mutex_lock(&g_lock);
    int head = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                        tm.tm_sec, ts.tv_nsec / 1000000L, level_words[level], g_ident);
    pthread_mutex_unlock(&g_lock);
    if (head < 0)
        head = 0;
    if ((size_t)head > sizeof line - 64)   /* cannot happen with the ident cap; be safe */
        head = (int)(sizeof line - 64);

    /* room for the message: keep 1 byte for '\n' (the NUL of vsnprintf takes its place) */
    size_t room = sizeof line - (size_t)head - 1;
    va_list ap;
    va_start(ap, fmt);
    errno = saved_errno;   /* so that %m names the caller's error */
    int n = vsnprintf(line + head, room + 1, fmt, ap);
    va_end(ap);
    size_t mlen;
    if (n < 0) {
        mlen = 0;
    } else if ((size_t)n > room) {
        mlen = room;
        memcpy(line + head + room - 3, "...", 3);
    } else {
        mlen = (size_t)n;
    }
    sanitize(line + head, mlen);
    size_t len = (size_t)head + mlen;
    line[len++] = '\n';
    write_all(STDERR_FILENO, line, len);

    if (atomic_load(&g_syslog)) {
        line[len - 1] = '\0';
        syslog(syslog_prio[level], "%s", line + head);
    }
    errno = saved_errno;
}
