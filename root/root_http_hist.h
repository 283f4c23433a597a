/* root_http_hist: the parameters of the per-node metric history route
 * (GET /api/v1/nodes/{node}/metrics/{metric}?since=&until=&step=&limit=, docs/API.md).
 * Pure parsing: no MHD, no I/O. Internal to warren-root. */
#ifndef ROOT_HTTP_HIST_H
#define ROOT_HTTP_HIST_H
#include <stdint.h>

/* Parses a time: absolute Unix ms (bare digits: "1763890000000") or a duration before now_ms,
 * with or without a leading '-': "30s", "-15m", "1h", "7d", "2w", "500ms" (at most 100 years;
 * clamped at 0). Returns 0 or WR_EINVAL. */
int rh_hist_parse_time(const char *s, int64_t now_ms, int64_t *out);

/* Parses a step: a duration ("10s", "1m", "5m", "1h", "1d") or bare milliseconds ("60000"),
 * > 0 and at most 100 years. Returns 0 or WR_EINVAL. */
int rh_hist_parse_step(const char *s, int64_t *out);

#endif
