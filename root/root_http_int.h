/* root_http_int: internals shared by the root_http_*.c files (not a public contract).
 * A growable output buffer with JSON / Prometheus escaping, input parsers for untrusted
 * URL pieces, and the API handlers that turn tier state into response bodies. */
#ifndef ROOT_HTTP_INT_H
#define ROOT_HTTP_INT_H
#include <stddef.h>
#include <stdint.h>
#include "tier.h"

#define RH_NODE_MAX   255   /* bytes of a node name in a URL (decoded) */
#define RH_METRIC_MAX 63    /* bytes of a metric name */
#define RH_LIMIT_DEFAULT 1000
#define RH_LIMIT_MAX     100000

/* ---- output buffer ---------------------------------------------------------------- */
typedef struct {
    char  *buf;
    size_t len, cap;
    int    oom;              /* an append failed: the content is incomplete */
} rh_buf_t;

void  rh_buf_init(rh_buf_t *b);
void  rh_buf_free(rh_buf_t *b);
void  rh_buf_put(rh_buf_t *b, const char *s, size_t n);
void  rh_buf_puts(rh_buf_t *b, const char *s);
void  rh_buf_printf(rh_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a quoted JSON string (escapes quotes, backslashes and control bytes). */
void  rh_buf_json_str(rh_buf_t *b, const char *s);
/* Appends a JSON number, or null when not finite. */
void  rh_buf_json_num(rh_buf_t *b, double v);
/* Appends s escaped for a Prometheus label value (\\, \", \n). */
void  rh_buf_prom_label(rh_buf_t *b, const char *s);

/* ---- input parsing ---------------------------------------------------------------- */
/* Percent-decodes in[0..inlen) into out (capacity outcap incl. NUL). Returns 0, WR_EINVAL
 * (bad %XX escape or a decoded NUL / control byte) or WR_ETOOBIG (longer than outcap-1). */
int rh_url_decode(const char *in, size_t inlen, char *out, size_t outcap, size_t *outlen);
/* Parses a time: absolute ms ("1763890000000") or a negative duration relative to now_ms
 * ("-1h", "-15m", "-30s", "-2d", "-500ms", "-1w"). Returns 0 or WR_EINVAL. */
int rh_parse_time(const char *s, int64_t now_ms, int64_t *out);
/* Parses a decimal integer in [min, max]. Returns 0 or WR_EINVAL. */
int rh_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);

/* ---- query-string parameters (root_http_params.c) ------------------------------------ */
#define RH_PARAMS_MAX 6        /* names one route allows at most */
#define RH_PARAM_CAP  256      /* a value's largest buffer, NUL included */
typedef struct {
    const char *const *allowed;           /* the route's names, NULL-terminated */
    size_t value_cap;                     /* the buffer a value may fill, NUL included */
    char   values[RH_PARAMS_MAX][RH_PARAM_CAP];   /* values[i] of allowed[i], decoded */
    int    present[RH_PARAMS_MAX];
    char   bad[128];                      /* the first error, "" if none */
} rh_params_t;
struct MHD_Connection;
/* Reads conn's query string into p (zeroed first): each name must be one of allowed (at most
 * RH_PARAMS_MAX; "_", browsers' cache-buster, is ignored), each value percent-decodes into
 * value_cap bytes (at most RH_PARAM_CAP). Returns 0, or -1 with p->bad naming the first
 * unknown name ("unknown parameter 'X'") or bad value ("NAME: value too long" / "NAME: bad
 * escape or control character"). */
int rh_params_read(struct MHD_Connection *conn, const char *const *allowed, size_t value_cap, rh_params_t *p);

/* ---- handlers ------------------------------------------------------------------- */
typedef struct {
    unsigned    status;       /* HTTP status */
    const char *ctype;        /* static string */
    rh_buf_t    body;
} rh_resp_t;

void rh_resp_json_error(rh_resp_t *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* north (root_http_north.h) may be NULL: its counters are added when given. */
struct root_north;
void rh_api_status(tier_t *tier, const struct root_north *north, rh_resp_t *r);
/* state_filter: -1 = all, else WR_NODE_... */
void rh_api_nodes(tier_t *tier, int state_filter, rh_resp_t *r);
void rh_api_node(tier_t *tier, const char *name, rh_resp_t *r);
void rh_api_tree(tier_t *tier, rh_resp_t *r);
void rh_api_rollups(tier_t *tier, rh_resp_t *r);
/* root_http_fleet.c: GET /api/v1/fleet/{metric} and /api/v1/top/{metric}?n= (1..n of the
 * merged top-K); 404 when no live node reports metric. */
void rh_api_fleet(tier_t *tier, const char *metric, rh_resp_t *r);
void rh_api_top(tier_t *tier, const char *metric, int n, rh_resp_t *r);
/* http_requests/http_errors: the server's own counters, exported too. */
typedef struct {
    uint64_t requests, responses_4xx, responses_5xx, queries, queries_failed;
    uint64_t active_queries;
} rh_stats_t;
void rh_api_prometheus(tier_t *tier, const rh_stats_t *stats, const struct root_north *north, rh_resp_t *r);
/* Builds the response for a routed metric query's reply (see tier_reply_fn). */
void rh_api_metric_reply(int status, const char *error, const char *result, size_t result_len,
                         rh_resp_t *r);
/* Checks the procs parameters (by: memory | message_queue | reductions | binary, default
 * memory; n: 1..1000, default 20; NULL = absent) and appends the QUERY args JSON
 * {"by":"memory","n":20} to args. Returns 0, or WR_EINVAL with an error naming the parameter. */
int rh_api_procs_args(const char *by, const char *n, rh_buf_t *args, char *err, size_t errlen);
/* root_http_events.c: the alarm counts and event counters of tier_status, appended to the
 * status object (",\"alarms\":{...},\"events\":{...}") and to /metrics. */
void rh_events_status_json(const tier_status_t *st, rh_buf_t *b);
void rh_events_prometheus(const tier_status_t *st, rh_buf_t *b);
/* HTTP status of a WR_E... error from the tier. */
unsigned rh_status_of(int wr_status);

#endif
