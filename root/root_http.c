/* root_http: the root's HTTP server. libmicrohttpd in external epoll mode, driven from the
 * root's libev loop (an ev_io on MHD's epoll descriptor, an ev_timer from MHD_get_timeout),
 * request routing and validation of untrusted URLs, and the suspend/resume dance for queries
 * routed down to a leaf. Response bodies are built in root_http_api.c. */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "root_http.h"
#include "root_http_int.h"
#include "root_http_hist.h"
#include "root_http_events.h"
#include "wr_error.h"
#include "wr_metric.h"
#include "wr_time.h"

#define RH_CONN_TIMEOUT_S   30
#define RH_CONN_MEMORY      (32 * 1024)
#define RH_PATH_MAX         1024
#define RH_POST_MAX         4096    /* body of POST /api/v1/alarms/ack */

enum { RQ_NEW = 0, RQ_WAITING, RQ_READY };

typedef struct http_req http_req_t;

struct root_http {
    struct ev_loop    *loop;
    tier_t            *tier;
    struct MHD_Daemon *mhd;
    ev_io              io;
    ev_timer           timer;
    int                port;
    char              *www_dir;
    http_req_t        *waiting;     /* suspended connections with a query in flight */
    root_events_t     *events;      /* history (root_http_events.c), may be NULL */
    struct root_north *north;       /* northbound counters (root_http_north.h), may be NULL */
    rh_stats_t         stats;
};

struct http_req {
    root_http_t           *http;
    struct MHD_Connection *conn;
    int                    state;
    uint64_t               qid;
    rh_resp_t              resp;
    int                    static_fd;      /* >= 0: answer with this file */
    uint64_t               static_size;
    const char            *static_ctype;
    int                    is_post;        /* POST /api/v1/alarms/ack: body in post */
    const char            *allow;          /* Allow header of a 405 (static), NULL: GET, HEAD */
    int                    post_too_big;
    rh_buf_t               post;
    http_req_t            *prev, *next;
};

/* ---- libev glue ------------------------------------------------------------------ */

static void rearm(root_http_t *h)
{
    MHD_UNSIGNED_LONG_LONG to = 0;
    ev_timer_stop(h->loop, &h->timer);
    if (MHD_get_timeout(h->mhd, &to) == MHD_YES) {
        ev_timer_set(&h->timer, (double)to / 1000.0, 0.);
        ev_timer_start(h->loop, &h->timer);
    }
}

static void run_mhd(root_http_t *h)
{
    MHD_run(h->mhd);
    rearm(h);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    run_mhd(w->data);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    run_mhd(w->data);
}

/* Makes MHD_run happen on the next loop iteration (after a resume). */
static void run_soon(root_http_t *h)
{
    ev_timer_stop(h->loop, &h->timer);
    ev_timer_set(&h->timer, 0., 0.);
    ev_timer_start(h->loop, &h->timer);
}

/* ---- requests -------------------------------------------------------------------- */

static void waiting_unlink(http_req_t *rq)
{
    root_http_t *h = rq->http;
    if (rq->prev) rq->prev->next = rq->next;
    else if (h->waiting == rq) h->waiting = rq->next;
    if (rq->next) rq->next->prev = rq->prev;
    rq->prev = rq->next = NULL;
}

static void set_error(http_req_t *rq, unsigned status, const char *fmt, const char *arg)
{
    rh_resp_json_error(&rq->resp, status, fmt, arg ? arg : "");
    rq->state = RQ_READY;
}

static enum MHD_Result send_response(http_req_t *rq)
{
    root_http_t *h = rq->http;
    struct MHD_Response *resp;
    unsigned status = rq->resp.status;
    if (rq->static_fd >= 0) {
        resp = MHD_create_response_from_fd64(rq->static_size, rq->static_fd);
        if (!resp) {
            close(rq->static_fd);
            rq->static_fd = -1;
            return MHD_NO;
        }
        rq->static_fd = -1;               /* owned by the response now */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rq->static_ctype);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
        status = 200;
    } else {
        if (rq->resp.body.oom)
            rh_resp_json_error(&rq->resp, 500, "out of memory");
        if (rq->resp.body.oom)
            return MHD_NO;
        resp = MHD_create_response_from_buffer(rq->resp.body.len,
                                               rq->resp.body.buf ? rq->resp.body.buf : (char *)"",
                                               rq->resp.body.buf ? MHD_RESPMEM_MUST_FREE
                                                                 : MHD_RESPMEM_PERSISTENT);
        if (!resp)
            return MHD_NO;
        rh_buf_init(&rq->resp.body);      /* owned by the response now */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                rq->resp.ctype ? rq->resp.ctype : "application/json");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        if (status == 405)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rq->allow ? rq->allow : "GET, HEAD");
    }
    if (status >= 500) h->stats.responses_5xx++;
    else if (status >= 400) h->stats.responses_4xx++;
    enum MHD_Result ret = MHD_queue_response(rq->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* The leaf's answer (or the timeout) for a suspended request. */
static void on_query_reply(void *ud, int status, const char *error, const char *result, size_t result_len)
{
    http_req_t *rq = ud;
    root_http_t *h = rq->http;
    if (rq->state != RQ_WAITING)
        return;
    waiting_unlink(rq);
    h->stats.active_queries--;
    if (status != 0)
        h->stats.queries_failed++;
    rh_buf_free(&rq->resp.body);
    rh_api_metric_reply(status, error, result, result_len, &rq->resp);
    rq->state = RQ_READY;
    MHD_resume_connection(rq->conn);
    run_soon(h);
}

/* ---- query-string parameters ------------------------------------------------------ */

#define RH_PARAM_VALUE_MAX 64   /* a value's buffer here, NUL included */

/* Reads the query string; 0 or -1 with the request answered 400. */
static int read_params(http_req_t *rq, const char *const *allowed, rh_params_t *p)
{
    if (rh_params_read(rq->conn, allowed, RH_PARAM_VALUE_MAX, p) < 0) {
        set_error(rq, 400, "%s", p->bad);
        return -1;
    }
    return 0;
}

/* ---- routes ------------------------------------------------------------------------ */

/* Routes query cmd with args (freed here) to node's leaf and suspends the request until
 * on_query_reply; answers it 404 / 502 / 500 at once when the query cannot be sent. */
static void send_query(http_req_t *rq, const char *node, const char *cmd, rh_buf_t *args)
{
    root_http_t *h = rq->http;
    h->stats.queries++;
    int rc = tier_query(h->tier, node, cmd, args->buf, on_query_reply, rq, &rq->qid);
    rh_buf_free(args);
    if (rc == 0) {
        rq->state = RQ_WAITING;
        rq->next = h->waiting;
        if (h->waiting) h->waiting->prev = rq;
        h->waiting = rq;
        h->stats.active_queries++;
        MHD_suspend_connection(rq->conn);
        return;
    }
    h->stats.queries_failed++;
    if (rc == WR_ENOTFOUND)
        set_error(rq, 404, "unknown node '%s'", node);
    else if (rc == WR_EAGAIN)
        set_error(rq, 502, "the subtree of node '%s' is unreachable", node);
    else
        rh_resp_json_error(&rq->resp, 500, "query failed: %s", wr_strerror(rc)), rq->state = RQ_READY;
}

static void route_metric(http_req_t *rq, const char *node, const char *metric)
{
    static const char *const allowed[] = {"since", "until", "limit", "step", NULL};
    rh_params_t p;
    if (read_params(rq, allowed, &p) < 0)
        return;
    int64_t now = wr_wall_ms(), since = 0, until = 0, limit = RH_LIMIT_DEFAULT, step = 0;
    if (p.present[0] && rh_hist_parse_time(p.values[0], now, &since) < 0)
        return set_error(rq, 400, "since: expected Unix ms or a duration like 1h, 15m, 30s, 2d, -1h (got '%s')", p.values[0]);
    if (p.present[1] && rh_hist_parse_time(p.values[1], now, &until) < 0)
        return set_error(rq, 400, "until: expected Unix ms or a duration like 1h, 15m, 30s, 2d, -1h (got '%s')", p.values[1]);
    if (p.present[3] && rh_hist_parse_step(p.values[3], &step) < 0)
        return set_error(rq, 400, "step: expected a duration like 10s, 1m, 5m, 1h or ms (got '%s')", p.values[3]);
    if (p.present[2] && rh_parse_int(p.values[2], 1, step ? 10000 : RH_LIMIT_MAX, &limit) < 0)
        return set_error(rq, 400, step ? "limit: expected an integer from 1 to 10000 with a step (got '%s')"
                                       : "limit: expected an integer from 1 to 100000 (got '%s')", p.values[2]);
    if (p.present[0] && p.present[1] && until < since)
        return set_error(rq, 400, "until: earlier than since%s", NULL);

    rh_buf_t args;
    rh_buf_init(&args);
    rh_buf_puts(&args, "{\"metric\":");
    rh_buf_json_str(&args, metric);
    if (!step || p.present[2])          /* with a step the leaf caps at 10000 points */
        rh_buf_printf(&args, ",\"limit\":%lld", (long long)limit);
    if (step)
        rh_buf_printf(&args, ",\"step\":%lld", (long long)step);
    if (p.present[0])
        rh_buf_printf(&args, ",\"since\":%lld", (long long)since);
    if (p.present[1])
        rh_buf_printf(&args, ",\"until\":%lld", (long long)until);
    rh_buf_puts(&args, "}");
    if (args.oom) {
        rh_buf_free(&args);
        return set_error(rq, 500, "out of memory%s", NULL);
    }
    send_query(rq, node, "metric", &args);
}

/* GET /api/v1/nodes/{node}/procs?by=&n=: the live top-N processes, routed to the leaf like
 * route_metric (rh_api_procs_args checks the parameters and builds the query's args). */
static void route_procs(http_req_t *rq, const char *node)
{
    static const char *const allowed[] = {"by", "n", NULL};
    rh_params_t p;
    if (read_params(rq, allowed, &p) < 0)
        return;
    rh_buf_t args;
    char err[160];
    rh_buf_init(&args);
    if (rh_api_procs_args(p.present[0] ? p.values[0] : NULL, p.present[1] ? p.values[1] : NULL, &args,
                          err, sizeof err) != 0) {
        rh_buf_free(&args);
        return set_error(rq, 400, "%s", err);
    }
    send_query(rq, node, "procs", &args);
}

/* Decodes one path segment into out; 0 or -1 with the request answered 400. */
static int decode_segment(http_req_t *rq, const char *what, const char *seg, size_t seglen,
                          char *out, size_t outcap)
{
    int rc = rh_url_decode(seg, seglen, out, outcap, NULL);
    if (rc == WR_ETOOBIG) {
        rh_resp_json_error(&rq->resp, 400, "%s: longer than %zu bytes", what, outcap - 1);
        rq->state = RQ_READY;
        return -1;
    }
    if (rc < 0 || out[0] == '\0') {
        rh_resp_json_error(&rq->resp, 400, "%s: empty, bad percent-escape or control character", what);
        rq->state = RQ_READY;
        return -1;
    }
    return 0;
}

static void route_api(http_req_t *rq, const char *path)
{
    root_http_t *h = rq->http;
    static const char *const none[] = {NULL};
    /* split the raw path (after "/api/v1/") into at most 5 segments */
    const char *seg[6];
    size_t len[6], n = 0;
    const char *s = path;
    while (n < 6) {
        const char *e = strchr(s, '/');
        seg[n] = s;
        len[n] = e ? (size_t)(e - s) : strlen(s);
        n++;
        if (!e)
            break;
        s = e + 1;
    }
    rh_params_t p;
#define IS(i, lit) (len[i] == sizeof(lit) - 1 && memcmp(seg[i], lit, len[i]) == 0)
    if (n == 1 && IS(0, "status")) {
        if (read_params(rq, none, &p) == 0)
            rh_api_status(h->tier, h->north, &rq->resp), rq->state = RQ_READY;
    } else if (n == 1 && IS(0, "nodes")) {
        static const char *const allowed[] = {"state", NULL};
        if (read_params(rq, allowed, &p) < 0)
            return;
        int filter = -1;
        if (p.present[0]) {
            for (int st = 0; st <= WR_NODE_STATE_MAX; st++)
                if (strcmp(p.values[0], wr_node_state_name(st)) == 0)
                    filter = st;
            if (filter < 0)
                return set_error(rq, 400, "state: expected up, down or unknown (got '%s')", p.values[0]);
        }
        rh_api_nodes(h->tier, filter, &rq->resp);
        rq->state = RQ_READY;
    } else if ((n == 2 || n == 4) && IS(0, "nodes") && (n == 2 || IS(2, "metrics"))) {
        char node[RH_NODE_MAX + 1], metric[RH_METRIC_MAX + 1];
        if (decode_segment(rq, "node", seg[1], len[1], node, sizeof node) < 0)
            return;
        if (n == 2) {
            if (read_params(rq, none, &p) == 0)
                rh_api_node(h->tier, node, &rq->resp), rq->state = RQ_READY;
            return;
        }
        if (decode_segment(rq, "metric", seg[3], len[3], metric, sizeof metric) < 0)
            return;
        if (!wr_metric_name_valid(metric))
            return set_error(rq, 400, "metric: '%s' is not a metric name (lowercase dotted words)", metric);
        route_metric(rq, node, metric);
    } else if (n == 3 && IS(0, "nodes") && IS(2, "procs")) {
        char node[RH_NODE_MAX + 1];
        if (decode_segment(rq, "node", seg[1], len[1], node, sizeof node) < 0)
            return;
        route_procs(rq, node);
    } else if (rh_events_route(h->tier, h->events, rq->conn, rq->is_post, rq->post.buf, rq->post.len,
                               seg, len, n, &rq->resp)) {
        rq->state = RQ_READY;           /* alarms, notifications: root_http_events.c */
    } else if (n == 1 && IS(0, "tree")) {
        if (read_params(rq, none, &p) == 0)
            rh_api_tree(h->tier, &rq->resp), rq->state = RQ_READY;
    } else if (n == 1 && IS(0, "rollups")) {
        if (read_params(rq, none, &p) == 0)
            rh_api_rollups(h->tier, &rq->resp), rq->state = RQ_READY;
    } else if (n == 2 && (IS(0, "fleet") || IS(0, "top"))) {
        /* fleet aggregates: root_http_fleet.c */
        static const char *const top_allowed[] = {"n", NULL};
        char metric[RH_METRIC_MAX + 1];
        int is_top = IS(0, "top");
        int64_t top_n = WR_TOPK_DEFAULT;
        if (decode_segment(rq, "metric", seg[1], len[1], metric, sizeof metric) < 0)
            return;
        if (!wr_metric_name_valid(metric))
            return set_error(rq, 400, "metric: '%s' is not a metric name (lowercase dotted words)", metric);
        if (read_params(rq, is_top ? top_allowed : none, &p) < 0)
            return;
        if (is_top && p.present[0] && rh_parse_int(p.values[0], 1, WR_TOPK_MAX, &top_n) < 0)
            return set_error(rq, 400, "n: expected an integer from 1 to 100 (got '%s')", p.values[0]);
        if (is_top)
            rh_api_top(h->tier, metric, (int)top_n, &rq->resp);
        else
            rh_api_fleet(h->tier, metric, &rq->resp);
        rq->state = RQ_READY;
    } else {
        set_error(rq, 404, "no such API path%s", NULL);
    }
#undef IS
}

static const char *content_type_of(const char *path)
{
    static const struct { const char *ext, *ct; } types[] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"}, {".json", "application/json"},
        {".svg", "image/svg+xml"}, {".png", "image/png"}, {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"}, {".map", "application/json"},
    };
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcmp(dot, types[i].ext) == 0)
                return types[i].ct;
    return "application/octet-stream";
}

/* Files of the dashboard: no '..', no hidden files, no symlinks at the last step. */
static void route_static(http_req_t *rq, const char *raw)
{
    root_http_t *h = rq->http;
    char rel[RH_PATH_MAX], full[RH_PATH_MAX * 2 + 16];
    if (!h->www_dir)
        return set_error(rq, 404, "not found%s", NULL);
    if (rh_url_decode(raw, strlen(raw), rel, sizeof rel - 16, NULL) < 0)
        return set_error(rq, 400, "path: too long, bad percent-escape or control character%s", NULL);
    if (rel[0] != '/' || strstr(rel, "/.") || strchr(rel, '\\'))
        return set_error(rq, 404, "not found%s", NULL);
    size_t l = strlen(rel);
    if (rel[l - 1] == '/')
        strcat(rel, "index.html");
    snprintf(full, sizeof full, "%s%s", h->www_dir, rel);
    int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return set_error(rq, 404, "not found%s", NULL);
    }
    rq->static_fd = fd;
    rq->static_size = (uint64_t)st.st_size;
    rq->static_ctype = content_type_of(rel);
    rq->resp.status = 200;
    rq->state = RQ_READY;
}

static void dispatch(http_req_t *rq, const char *url)
{
    root_http_t *h = rq->http;
    static const char *const none[] = {NULL};
    rh_params_t p;
    if (strcmp(url, "/metrics") == 0) {
        if (read_params(rq, none, &p) == 0)
            rh_api_prometheus(h->tier, &h->stats, h->north, &rq->resp), rq->state = RQ_READY;
    } else if (strncmp(url, "/api/v1/", 8) == 0) {
        route_api(rq, url + 8);
    } else if (strcmp(url, "/api") == 0 || strncmp(url, "/api/", 5) == 0) {
        set_error(rq, 404, "no such API path%s", NULL);
    } else {
        route_static(rq, url);
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    root_http_t *h = cls;
    http_req_t *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        rq->http = h;
        rq->conn = conn;
        rq->static_fd = -1;
        rh_buf_init(&rq->resp.body);
        *con_cls = rq;
        h->stats.requests++;
        rh_buf_init(&rq->post);
        if (strcmp(url, "/api/v1/alarms/ack") == 0)
            rq->allow = "POST";         /* POST only: a 405 there says so */
        if (strcmp(method, MHD_HTTP_METHOD_POST) == 0 && strcmp(url, "/api/v1/alarms/ack") == 0) {
            rq->is_post = 1;            /* the only POST: dispatched once its body is in */
            return MHD_YES;
        }
        if (rq->allow && strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
            rh_resp_json_error(&rq->resp, 405, "method %.16s not allowed: use POST", method);
            rq->state = RQ_READY;
        } else if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
            rh_resp_json_error(&rq->resp, 405, "method %.16s not allowed: use GET or HEAD", method);
            rq->state = RQ_READY;
        } else {
            dispatch(rq, url);
        }
    }
    if (rq->is_post && rq->state == RQ_NEW) {
        if (*upload_data_size) {
            if (rq->post.len + *upload_data_size > RH_POST_MAX)
                rq->post_too_big = 1;   /* answered 413 once the body is read */
            else
                rh_buf_put(&rq->post, upload_data, *upload_data_size);
            *upload_data_size = 0;
            return MHD_YES;
        }
        if (rq->post_too_big || rq->post.oom)
            rh_resp_json_error(&rq->resp, 413, "body: larger than %d bytes", RH_POST_MAX), rq->state = RQ_READY;
        else
            dispatch(rq, url);
    }
    if (*upload_data_size)
        *upload_data_size = 0;          /* GET / HEAD only: any body is ignored */
    if (rq->state == RQ_READY)
        return send_response(rq);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    root_http_t *h = cls;
    http_req_t *rq = *con_cls;
    if (!rq)
        return;
    if (rq->state == RQ_WAITING) {
        tier_query_cancel(h->tier, rq->qid);
        waiting_unlink(rq);
        h->stats.active_queries--;
    }
    if (rq->static_fd >= 0)
        close(rq->static_fd);
    rh_buf_free(&rq->resp.body);
    rh_buf_free(&rq->post);
    free(rq);
    *con_cls = NULL;
}

/* MHD must not decode the path: segments are decoded one by one (a node name may hold %2F). */
static size_t unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
    return strlen(s);
}

/* ---- life cycle --------------------------------------------------------------------- */

static int open_listener(const char *addr, int port, int *bound, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    int rc = getaddrinfo(addr, portstr, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(err, errlen, "listen %s:%d: %s", addr, port, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0
        || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 128) < 0) {
        snprintf(err, errlen, "listen %s:%d: %s", addr, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    *bound = port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            *bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            *bound = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return fd;
}

root_http_t *root_http_new(struct ev_loop *loop, tier_t *tier, const root_http_params_t *params,
                           char *err, size_t errlen)
{
    const char *addr = params && params->listen && *params->listen ? params->listen : "127.0.0.1";
    int port = params ? params->port : 7380;
    size_t maxc = params && params->max_connections ? params->max_connections : 256;
    if (port < 0 || port > 65535 || !loop || !tier) {
        snprintf(err, errlen, "http: bad parameters (port %d)", port);
        return NULL;
    }
    root_http_t *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "http: out of memory");
        return NULL;
    }
    h->loop = loop;
    h->tier = tier;
    h->events = params ? params->events : NULL;
    h->north = params ? params->north : NULL;
    if (params && params->www_dir && *params->www_dir) {
        h->www_dir = realpath(params->www_dir, NULL);
        if (!h->www_dir) {
            snprintf(err, errlen, "http www %s: %s", params->www_dir, strerror(errno));
            free(h);
            return NULL;
        }
    }
    int fd = open_listener(addr, port, &h->port, err, errlen);
    if (fd < 0) {
        free(h->www_dir);
        free(h);
        return NULL;
    }
    h->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL,
                              on_request, h,
                              MHD_OPTION_LISTEN_SOCKET, fd,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned int)maxc,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)RH_CONN_TIMEOUT_S,
                              MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)RH_CONN_MEMORY,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                              MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, h,
                              MHD_OPTION_END);
    const union MHD_DaemonInfo *info = h->mhd ? MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
    if (!info) {
        snprintf(err, errlen, "listen %s:%d: libmicrohttpd failed to start", addr, port);
        if (h->mhd)
            MHD_stop_daemon(h->mhd);
        else
            close(fd);
        free(h->www_dir);
        free(h);
        return NULL;
    }
    ev_io_init(&h->io, on_io, info->epoll_fd, EV_READ);
    h->io.data = h;
    ev_io_start(loop, &h->io);
    ev_timer_init(&h->timer, on_timer, 0., 0.);
    h->timer.data = h;
    rearm(h);
    return h;
}

void root_http_destroy(root_http_t **hp)
{
    if (!hp || !*hp)
        return;
    root_http_t *h = *hp;
    ev_io_stop(h->loop, &h->io);
    ev_timer_stop(h->loop, &h->timer);
    /* MHD must not be stopped with suspended connections: answer them first. */
    while (h->waiting) {
        http_req_t *rq = h->waiting;
        waiting_unlink(rq);
        h->stats.active_queries--;
        tier_query_cancel(h->tier, rq->qid);
        rh_resp_json_error(&rq->resp, 503, "the root is shutting down");
        rq->state = RQ_READY;
        MHD_resume_connection(rq->conn);
    }
    MHD_stop_daemon(h->mhd);
    free(h->www_dir);
    free(h);
    *hp = NULL;
}

int root_http_port(const root_http_t *http)
{
    return http ? http->port : 0;
}
