/* root_http: the root's HTTP server (libmicrohttpd driven from the root's libev loop).
 *
 * Serves the JSON API under /api/v1/ from the tier's merged state, routes per-node questions
 * down through tier_query (the HTTP connection is suspended until the reply or the timeout),
 * and /metrics in Prometheus text format. Runs on the loop's thread: MHD in external-select
 * mode with its epoll descriptor watched by an ev_io and its timeout by an ev_timer.
 * Not thread-safe; does not own the tier. */
#ifndef ROOT_HTTP_H
#define ROOT_HTTP_H
#include <ev.h>
#include <stddef.h>
#include "tier.h"

typedef struct root_http root_http_t;

typedef struct {
    const char *listen;       /* address to bind; default "127.0.0.1" */
    int         port;         /* 0 = any free port (see root_http_port) */
    size_t      max_connections; /* default 256 */
    const char *www_dir;      /* dashboard files, or NULL */
    struct root_events *events; /* alarm / notification history (root_events.h), or NULL */
    struct root_north *north;   /* northbound pushes, for their counters (root_http_north.h), or NULL */
} root_http_params_t;

/* Starts serving. NULL with a reason in err ("listen 127.0.0.1:7380: Address in use"). */
root_http_t *root_http_new(struct ev_loop *loop, tier_t *tier, const root_http_params_t *params,
                           char *err, size_t errlen);
void root_http_destroy(root_http_t **http);
/* The port actually bound. */
int root_http_port(const root_http_t *http);

#endif
