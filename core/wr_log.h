/* wr_log: the one logging facility of every warren process.
 * Lines go to stderr as "2026-11-23T10:41:07.123Z LEVEL ident: message" and, when enabled,
 * to syslog. Library code below the daemons never logs: it returns errors; daemons log them.
 * Thread-safe (one write(2) per line). */
#ifndef WR_LOG_H
#define WR_LOG_H

enum { WR_LOG_ERROR = 0, WR_LOG_WARN = 1, WR_LOG_INFO = 2, WR_LOG_DEBUG = 3 };

/* Sets the process identity ("warren-leaf[leaf-1]"), threshold level, and whether lines are
 * also sent to syslog (LOG_DAEMON). May be called again to change them. ident is copied. */
void wr_log_init(const char *ident, int level, int use_syslog);

/* Parses "error" | "warn" | "info" | "debug" into *level. Returns 0 or WR_EINVAL. */
int wr_log_level_parse(const char *name, int *level);

/* Current threshold; lines above it are not formatted at all. */
int wr_log_level(void);

void wr_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define WR_ERROR(...) wr_log(WR_LOG_ERROR, __VA_ARGS__)
#define WR_WARN(...)  wr_log(WR_LOG_WARN, __VA_ARGS__)
#define WR_INFO(...)  wr_log(WR_LOG_INFO, __VA_ARGS__)
#define WR_DEBUG(...) do { if (wr_log_level() >= WR_LOG_DEBUG) wr_log(WR_LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
