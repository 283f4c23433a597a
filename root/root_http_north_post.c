/* root_http_north_post: the HTTP POSTs of the northbound pushes (Alertmanager, webhooks), made
 * with libcurl's multi interface on the root's libev loop (the pattern of curl's
 * docs/examples/evhiperfifo.c): curl tells us which sockets to watch and when to wake it, the
 * loop tells curl what is ready. Plain http:// only, no redirects; the answer's body is
 * discarded, only its status counts. Also the URL checks and the start-up name resolution. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "root_http_north_int.h"
#include "wr_error.h"

/* ---- URLs ------------------------------------------------------------------------------ */

int nh_resolve(const char *host, const char *port, int socktype, struct sockaddr_storage *addr,
               socklen_t *addrlen)
{
    struct addrinfo hints = {.ai_socktype = socktype}, *ai = NULL;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0)
        return rc;
    if (!ai || ai->ai_addrlen > sizeof *addr) {
        freeaddrinfo(ai);
        return EAI_FAIL;
    }
    memcpy(addr, ai->ai_addr, ai->ai_addrlen);
    *addrlen = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

/* Appends api to path (a curl-allocated string) unless it already ends with it. */
static int url_set_api_path(CURLU *h, const char *api)
{
    char *path = NULL;
    if (curl_url_get(h, CURLUPART_PATH, &path, 0) != CURLUE_OK)
        return WR_EINVAL;
    char buf[NH_URL_MAX];
    size_t l = strlen(path), al = strlen(api);
    while (l > 0 && path[l - 1] == '/')
        l--;
    int n;
    if (l >= al && memcmp(path + l - al, api, al) == 0)
        n = snprintf(buf, sizeof buf, "%.*s", (int)l, path);
    else
        n = snprintf(buf, sizeof buf, "%.*s%s", (int)l, path, api);
    curl_free(path);
    if (n < 0 || (size_t)n >= sizeof buf)
        return WR_EINVAL;
    return curl_url_set(h, CURLUPART_PATH, buf, 0) == CURLUE_OK ? 0 : WR_EINVAL;
}

int nh_url_parse(const char *url, const char *api_path, nh_url_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!url || strncmp(url, "http://", 7) != 0) {
        snprintf(err, errlen, "\"%s\": only http:// URLs are supported", url ? url : "");
        return WR_EINVAL;
    }
    if (strlen(url) >= NH_URL_MAX - 64 || strpbrk(url, " \r\n")) {
        snprintf(err, errlen, "\"%.200s\": too long or has white space", url);
        return WR_EINVAL;
    }
    CURLU *h = curl_url();
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return WR_ENOMEM;
    }
    char *host = NULL, *port = NULL, *full = NULL;
    int rc = WR_EINVAL;
    CURLUcode uc = curl_url_set(h, CURLUPART_URL, url, 0);
    if (uc == CURLUE_BAD_PORT_NUMBER || uc == CURLUE_BAD_HOSTNAME || uc == CURLUE_NO_HOST ||
        uc == CURLUE_BAD_IPV6) {
        snprintf(err, errlen, "\"%s\": bad host or port", url);
        goto out;
    }
    if (uc != CURLUE_OK) {
        snprintf(err, errlen, "\"%s\": %s", url, curl_url_strerror(uc));
        goto out;
    }
    if (api_path && url_set_api_path(h, api_path) != 0) {
        snprintf(err, errlen, "\"%s\": bad path", url);
        goto out;
    }
    if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(h, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK || !host[0]) {
        snprintf(err, errlen, "\"%s\": bad host or port", url);
        goto out;
    }
    if (curl_url_get(h, CURLUPART_URL, &full, 0) != CURLUE_OK || strlen(full) >= sizeof out->url) {
        snprintf(err, errlen, "\"%s\": bad URL", url);
        goto out;
    }
    snprintf(out->url, sizeof out->url, "%s", full);
    /* An IPv6 literal comes bracketed: resolve what is inside, pin nothing (curl does not
     * resolve a literal). */
    char name[NH_URL_MAX];
    int literal6 = host[0] == '[';
    snprintf(name, sizeof name, "%.*s", (int)strlen(host) - 2 * literal6, host + literal6);
    int gai = nh_resolve(name, port, SOCK_STREAM, &out->addr, &out->addrlen);
    if (gai != 0) {
        snprintf(err, errlen, "\"%s\": cannot resolve %s: %s", url, name, gai_strerror(gai));
        rc = WR_ENOTFOUND;
        goto out;
    }
    char num[INET6_ADDRSTRLEN + 2];
    if (!literal6 && getnameinfo((const struct sockaddr *)&out->addr, out->addrlen, num, sizeof num, NULL, 0,
                                 NI_NUMERICHOST) == 0)
        snprintf(out->resolve, sizeof out->resolve, out->addr.ss_family == AF_INET6 ? "%s:%s:[%s]" : "%s:%s:%s",
                 host, port, num);
    rc = 0;
out:
    curl_free(host);
    curl_free(port);
    curl_free(full);
    curl_url_cleanup(h);
    return rc;
}

/* ---- the multi handle on libev ---------------------------------------------------------- */

typedef struct nh_sock {
    ev_io           io;
    nh_multi_t     *m;
    curl_socket_t   fd;
    struct nh_sock *prev, *next;
} nh_sock_t;

struct nh_multi {
    struct ev_loop *loop;
    CURLM          *multi;
    ev_timer        timer;
    nh_sock_t      *socks;       /* every watched socket, freed at the latest by destroy */
};

static void sock_free(nh_multi_t *m, nh_sock_t *s)
{
    ev_io_stop(m->loop, &s->io);
    if (s->prev)
        s->prev->next = s->next;
    else
        m->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    free(s);
}

/* Every finished transfer: its handle leaves the multi, its owner learns the outcome. */
static void check_done(nh_multi_t *m)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode res = msg->data.result;
        nh_conn_t *c = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&c);
        curl_multi_remove_handle(m->multi, easy);   /* msg is invalid from here */
        if (!c)
            continue;
        long status = 0;
        if (res == CURLE_OK)
            curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        c->busy = 0;
        free(c->body);
        c->body = NULL;
        const char *err = res == CURLE_OK ? NULL : c->errbuf[0] ? c->errbuf : curl_easy_strerror(res);
        if (res == CURLE_OK && (status < 100 || status > 999)) {
            status = 0;
            err = "bad response";
        }
        c->done(c->ud, (int)status, err);   /* may start the next request on c */
    }
}

static void on_sock(struct ev_loop *loop, ev_io *w, int revents)
{
    nh_sock_t *s = w->data;
    nh_multi_t *m = s->m;
    int action = (revents & EV_READ ? CURL_CSELECT_IN : 0) | (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(m->multi, s->fd, action, &running);   /* may free s */
    check_done(m);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    nh_multi_t *m = w->data;
    int running;
    curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(m);
}

/* CURLMOPT_SOCKETFUNCTION: watch socket fd for what curl asks, or stop watching it. */
static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    nh_multi_t *m = userp;
    nh_sock_t *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s)
            sock_free(m, s);
        return 0;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            return -1;   /* curl fails the transfer */
        s->m = m;
        s->fd = fd;
        s->next = m->socks;
        if (m->socks)
            m->socks->prev = s;
        m->socks = s;
        ev_init(&s->io, on_sock);
        s->io.data = s;
        curl_multi_assign(m->multi, fd, s);
    }
    int ev = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
    ev_io_stop(m->loop, &s->io);
    ev_io_set(&s->io, fd, ev);
    ev_io_start(m->loop, &s->io);
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: wake curl in timeout_ms (-1: never). Never acts at once: curl must
 * not be re-entered from its own callback. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    nh_multi_t *m = userp;
    ev_timer_stop(m->loop, &m->timer);
    if (timeout_ms >= 0) {
        ev_timer_set(&m->timer, (double)timeout_ms / 1000.0, 0.);
        ev_timer_start(m->loop, &m->timer);
    }
    return 0;
}

nh_multi_t *nh_multi_new(struct ev_loop *loop)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    nh_multi_t *m = calloc(1, sizeof *m);
    if (!m || !(m->multi = curl_multi_init())) {
        free(m);
        curl_global_cleanup();
        return NULL;
    }
    m->loop = loop;
    ev_init(&m->timer, on_timer);
    m->timer.data = m;
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
    return m;
}

void nh_multi_destroy(nh_multi_t **pm)
{
    if (!pm || !*pm)
        return;
    nh_multi_t *m = *pm;
    curl_multi_cleanup(m->multi);   /* closes the cached connections */
    while (m->socks)
        sock_free(m, m->socks);
    ev_timer_stop(m->loop, &m->timer);
    free(m);
    curl_global_cleanup();
    *pm = NULL;
}

/* ---- connections ------------------------------------------------------------------------ */

static size_t discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
    return size * nmemb;
}

int nh_conn_init(nh_conn_t *c, nh_multi_t *m, const nh_url_t *u, double timeout_s, nh_done_fn done, void *ud)
{
    memset(c, 0, sizeof *c);
    c->m = m;
    c->done = done;
    c->ud = ud;
    c->headers = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *h2 = c->headers ? curl_slist_append(c->headers, "Expect:") : NULL;  /* no 100-continue */
    if (h2)
        c->headers = h2;
    if (u->resolve[0])
        c->resolve = curl_slist_append(NULL, u->resolve);
    c->easy = curl_easy_init();
    if (!h2 || (u->resolve[0] && !c->resolve) || !c->easy) {
        nh_conn_fini(c);
        return WR_ENOMEM;
    }
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, u->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
    if (c->resolve)
        curl_easy_setopt(e, CURLOPT_RESOLVE, c->resolve);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "warren-root/" WARREN_VERSION);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)((timeout_s > 0 ? timeout_s : 10.0) * 1000));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)c);
    return 0;
}

int nh_conn_busy(const nh_conn_t *c)
{
    return c->busy;
}

int nh_conn_post(nh_conn_t *c, char *body, size_t len)
{
    if (!c->easy) {
        free(body);
        return WR_EINVAL;
    }
    if (c->busy) {
        free(body);
        return WR_EAGAIN;
    }
    c->body = body;
    c->errbuf[0] = 0;
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, c->body);
    if (curl_multi_add_handle(c->m->multi, c->easy) != CURLM_OK) {
        free(c->body);
        c->body = NULL;
        return WR_EIO;
    }
    c->busy = 1;
    return 0;
}

void nh_conn_fini(nh_conn_t *c)
{
    if (c->easy) {
        if (c->busy)
            curl_multi_remove_handle(c->m->multi, c->easy);
        curl_easy_cleanup(c->easy);
        c->easy = NULL;
    }
    c->busy = 0;
    free(c->body);
    c->body = NULL;
    curl_slist_free_all(c->headers);
    curl_slist_free_all(c->resolve);
    c->headers = c->resolve = NULL;
}
