/* root_http_north_int: internals of the northbound pushes (root_http_north*.c), not a public
 * contract: the HTTP POSTs (libcurl's multi interface driven by the root's libev loop,
 * root_http_north_post.c), and the UDP formatting of notifications for syslog and GELF. */
#ifndef ROOT_HTTP_NORTH_INT_H
#define ROOT_HTTP_NORTH_INT_H
#include <curl/curl.h>
#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "root_http_int.h"
#include "wr_event.h"

#define NH_URL_MAX 1400

/* A checked http:// URL (what curl is given) and the address its host was resolved to, once,
 * at start-up: every request goes to that address (curl's CURLOPT_RESOLVE), so no push ever
 * waits for DNS. */
typedef struct {
    char                    url[NH_URL_MAX];
    char                    resolve[NH_URL_MAX];  /* "host:port:address", "" for an IP literal */
    struct sockaddr_storage addr;
    socklen_t               addrlen;
} nh_url_t;

/* Resolves host:port (getaddrinfo; may block) into addr / *addrlen for sockets of socktype.
 * Returns 0 or getaddrinfo's error code. */
int nh_resolve(const char *host, const char *port, int socktype, struct sockaddr_storage *addr,
               socklen_t *addrlen);

/* Checks "http://host[:port][/path][?query]" (host a name, an IPv4 address or [IPv6]) and
 * resolves the host. With api_path non-NULL the path gets api_path appended (trailing slashes
 * dropped first) unless it already ends with it. Returns 0, or WR_EINVAL / WR_ENOTFOUND /
 * WR_ENOMEM with a reason in err. */
int nh_url_parse(const char *url, const char *api_path, nh_url_t *out, char *err, size_t errlen);

/* The curl multi handle of one root_north, its sockets and timer on a libev loop. */
typedef struct nh_multi nh_multi_t;
nh_multi_t *nh_multi_new(struct ev_loop *loop);
/* Call after every nh_conn_fini of its connections. */
void nh_multi_destroy(nh_multi_t **m);

/* Called once per request: status is the HTTP status, or 0 on a transport failure (err says
 * which, e.g. "Failed to connect to 127.0.0.1 port 9093 ...: Couldn't connect to server"). */
typedef void (*nh_done_fn)(void *ud, int status, const char *err);

/* One target's connection: a curl easy handle reused for every POST (keep-alive). Private. */
typedef struct {
    nh_multi_t        *m;
    CURL              *easy;        /* NULL until nh_conn_init succeeded */
    struct curl_slist *headers, *resolve;
    char              *body;        /* of the running request */
    int                busy;
    nh_done_fn         done;
    void              *ud;
    char               errbuf[CURL_ERROR_SIZE];
} nh_conn_t;

/* Sets c up to POST JSON to u (one request at a time, each at most timeout_s). Returns 0 or
 * WR_ENOMEM. */
int  nh_conn_init(nh_conn_t *c, nh_multi_t *m, const nh_url_t *u, double timeout_s, nh_done_fn done,
                  void *ud);
/* Starts POSTing body (malloc'd JSON, len bytes; taken over and freed in every case); done is
 * called later from the loop, never from inside this call. Returns 0, WR_EAGAIN (a request is
 * already running), WR_EINVAL (no connection) or WR_EIO. */
int  nh_conn_post(nh_conn_t *c, char *body, size_t len);
/* 1 while a request runs. */
int  nh_conn_busy(const nh_conn_t *c);
/* Aborts a running request (done is not called) and frees c's resources. Idempotent. */
void nh_conn_fini(nh_conn_t *c);

/* Largest datagram sent to syslog / GELF receivers. */
#define NU_DGRAM_MAX 8192

/* Formats notification n as an RFC 5424 message into out (at most outcap-1 bytes, NUL added;
 * the MSG part is cut to fit). facility 0..23. root_id goes in PROCID. Returns the length. */
size_t nu_syslog_format(const wr_notif_t *n, const char *origin, int facility, const char *root_id,
                        char *out, size_t outcap);
/* Formats n as a GELF 1.1 JSON message (uncompressed) into out; if it would exceed outcap-1
 * the flattened fields are left out and full_message is cut. Returns the length, 0 on failure. */
size_t nu_gelf_format(const wr_notif_t *n, const char *origin, const char *root_id, char *out,
                      size_t outcap);
/* Syslog severity (0..7) of a wr_severity_t. */
int nu_syslog_severity(int sev);

/* root_http_north_api.c: the counters of every target appended to the status object
 * (",\"northbound\":[...]") and to /metrics (warren_northbound_*). north may be NULL. */
struct root_north;
void rh_north_status_json(const struct root_north *north, rh_buf_t *b);
void rh_north_prometheus(const struct root_north *north, rh_buf_t *b);

#endif
