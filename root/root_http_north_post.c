/* root_http_north_post: a minimal non-blocking HTTP/1.1 POST client on the root's libev loop,
 * for the northbound pushes (Alertmanager, webhooks). Plain http:// only; one request per
 * connection ("Connection: close"); only the status line of the answer is read. It is not a
 * general HTTP client: no redirects, no TLS, no chunked bodies. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "root_http_north_int.h"
#include "wr_error.h"

int nh_url_parse(const char *url, const char *default_path, nh_url_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!url || strncmp(url, "http://", 7) != 0) {
        snprintf(err, errlen, "\"%s\": only http:// URLs are supported", url ? url : "");
        return WR_EINVAL;
    }
    const char *h = url + 7, *slash = strchr(h, '/');
    size_t hl = slash ? (size_t)(slash - h) : strlen(h);
    if (hl == 0 || hl >= NH_HOSTPORT_MAX) {
        snprintf(err, errlen, "\"%s\": bad host", url);
        return WR_EINVAL;
    }
    memcpy(out->hostport, h, hl);
    const char *path = slash ? slash : (default_path ? default_path : "/");
    if (strlen(path) >= NH_PATH_MAX || strpbrk(path, " \r\n")) {
        snprintf(err, errlen, "\"%s\": bad path", url);
        return WR_EINVAL;
    }
    snprintf(out->path, sizeof out->path, "%s", path);
    char host[NH_HOSTPORT_MAX], port[8] = "80";
    snprintf(host, sizeof host, "%s", out->hostport);
    char *colon = NULL;
    if (host[0] == '[') {
        char *rb = strchr(host, ']');
        if (!rb) {
            snprintf(err, errlen, "\"%s\": bad IPv6 host", url);
            return WR_EINVAL;
        }
        *rb = 0;
        memmove(host, host + 1, strlen(host + 1) + 1);
        colon = rb[1] == ':' ? rb + 1 : NULL;
        if (colon) {
            snprintf(port, sizeof port, "%.7s", colon + 1);
            colon = NULL;
        }
    } else {
        colon = strrchr(host, ':');
    }
    if (colon) {
        *colon = 0;
        snprintf(port, sizeof port, "%.7s", colon + 1);
    }
    char *end = NULL;
    long p = strtol(port, &end, 10);
    if (!end || *end || p <= 0 || p > 65535 || !host[0]) {
        snprintf(err, errlen, "\"%s\": bad host or port", url);
        return WR_EINVAL;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0 || !ai) {
        snprintf(err, errlen, "\"%s\": cannot resolve %s: %s", url, host, gai_strerror(rc));
        return WR_ENOTFOUND;
    }
    memcpy(&out->addr, ai->ai_addr, ai->ai_addrlen);
    out->addrlen = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

static void conn_close(nh_conn_t *c)
{
    if (c->fd >= 0) {
        ev_io_stop(c->loop, &c->io);
        close(c->fd);
        c->fd = -1;
    }
    ev_timer_stop(c->loop, &c->timer);
    free(c->req);
    c->req = NULL;
}

static void conn_finish(nh_conn_t *c, int status, const char *err)
{
    conn_close(c);
    c->done(c->ud, status, err);
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    nh_conn_t *c = w->data;
    conn_finish(c, 0, c->err[0] ? c->err : "timeout");
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    nh_conn_t *c = w->data;
    char err[128];
    if (!c->reading) {
        if (c->req_off == 0) {    /* first writability: the connect's outcome */
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
                snprintf(err, sizeof err, "connect: %s", strerror(soerr ? soerr : errno));
                conn_finish(c, 0, err);
                return;
            }
        }
        ssize_t n = send(c->fd, c->req + c->req_off, c->req_len - c->req_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            snprintf(err, sizeof err, "send: %s", strerror(errno));
            conn_finish(c, 0, err);
            return;
        }
        c->req_off += (size_t)n;
        if (c->req_off == c->req_len) {
            c->reading = 1;
            ev_io_stop(loop, &c->io);
            ev_io_set(&c->io, c->fd, EV_READ);
            ev_io_start(loop, &c->io);
        }
        return;
    }
    ssize_t n = recv(c->fd, c->resp + c->resp_len, sizeof c->resp - 1 - c->resp_len, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return;
        snprintf(err, sizeof err, "recv: %s", strerror(errno));
        conn_finish(c, 0, err);
        return;
    }
    c->resp_len += (size_t)n;
    c->resp[c->resp_len] = 0;
    char *eol = strstr(c->resp, "\r\n");
    if (!eol && n > 0 && c->resp_len < sizeof c->resp - 1)
        return;
    int major = 0, minor = 0, status = 0;
    if (sscanf(c->resp, "HTTP/%d.%d %d", &major, &minor, &status) != 3 || status < 100 || status > 999)
        conn_finish(c, 0, n == 0 && c->resp_len == 0 ? "connection closed without a response" : "bad response");
    else
        conn_finish(c, status, NULL);
}

void nh_conn_init(nh_conn_t *c, struct ev_loop *loop, nh_done_fn done, void *ud)
{
    memset(c, 0, sizeof *c);
    c->loop = loop;
    c->fd = -1;
    c->done = done;
    c->ud = ud;
    ev_init(&c->io, on_io);
    c->io.data = c;
    ev_init(&c->timer, on_timeout);
    c->timer.data = c;
}

int nh_conn_busy(const nh_conn_t *c)
{
    return c->fd >= 0 || ev_is_active(&c->timer);
}

void nh_conn_cancel(nh_conn_t *c)
{
    conn_close(c);
}

int nh_conn_post(nh_conn_t *c, const nh_url_t *u, const char *body, size_t len, double timeout_s)
{
    if (nh_conn_busy(c))
        return WR_EAGAIN;
    char head[NH_HOSTPORT_MAX + NH_PATH_MAX + 256];
    int hn = snprintf(head, sizeof head,
                      "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: warren-root/" WARREN_VERSION
                      "\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      u->path, u->hostport, len);
    if (hn < 0 || (size_t)hn >= sizeof head)
        return WR_EINVAL;
    c->req = malloc((size_t)hn + len);
    if (!c->req)
        return WR_ENOMEM;
    memcpy(c->req, head, (size_t)hn);
    memcpy(c->req + hn, body, len);
    c->req_len = (size_t)hn + len;
    c->req_off = 0;
    c->resp_len = 0;
    c->reading = 0;
    c->fd = socket(u->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        free(c->req);
        c->req = NULL;
        return WR_EIO;
    }
    c->err[0] = 0;
    if (connect(c->fd, (const struct sockaddr *)&u->addr, u->addrlen) != 0 && errno != EINPROGRESS) {
        /* Failed at once: report through a zero-delay timer, so done always runs from the loop. */
        snprintf(c->err, sizeof c->err, "connect: %s", strerror(errno));
        close(c->fd);
        c->fd = -1;
        free(c->req);
        c->req = NULL;
        ev_timer_set(&c->timer, 0., 0.);
        ev_timer_start(c->loop, &c->timer);
        return 0;
    }
    ev_io_set(&c->io, c->fd, EV_WRITE);
    ev_io_start(c->loop, &c->io);
    ev_timer_set(&c->timer, timeout_s > 0 ? timeout_s : 10.0, 0.);
    ev_timer_start(c->loop, &c->timer);
    return 0;
}
