/* root_http_north_int: internals of the northbound pushes (root_http_north*.c), not a public
 * contract: a minimal non-blocking HTTP/1.1 POST client driven by libev (plain http://, one
 * request per connection), and the UDP formatting of notifications for syslog and GELF. */
#ifndef ROOT_HTTP_NORTH_INT_H
#define ROOT_HTTP_NORTH_INT_H
#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "root_http_int.h"
#include "wr_event.h"

#define NH_HOSTPORT_MAX 300
#define NH_PATH_MAX     1024
#define NH_RESP_MAX     512

/* A parsed and resolved http:// URL. */
typedef struct {
    struct sockaddr_storage addr;
    socklen_t               addrlen;
    char                    hostport[NH_HOSTPORT_MAX];  /* for the Host header */
    char                    path[NH_PATH_MAX];
} nh_url_t;

/* Parses "http://host[:port][/path]" (host a name, an IPv4 address or [IPv6]) and resolves
 * the host (getaddrinfo: may block once, at start-up). default_path is used when the URL has
 * none. Returns 0, or WR_EINVAL / WR_ENOTFOUND with a reason in err. */
int nh_url_parse(const char *url, const char *default_path, nh_url_t *out, char *err, size_t errlen);

/* Called once per request: status is the HTTP status, or 0 on a transport failure (err says
 * which: "connect: Connection refused", "timeout", "bad response"). */
typedef void (*nh_done_fn)(void *ud, int status, const char *err);

/* One connection slot, embedded in its owner. Private members. */
typedef struct {
    struct ev_loop *loop;
    ev_io           io;
    ev_timer        timer;
    int             fd;          /* -1 when idle */
    char           *req;
    size_t          req_len, req_off;
    char            resp[NH_RESP_MAX];
    size_t          resp_len;
    int             reading;
    char            err[96];     /* an error found before the loop runs */
    nh_done_fn      done;
    void           *ud;
} nh_conn_t;

void nh_conn_init(nh_conn_t *c, struct ev_loop *loop, nh_done_fn done, void *ud);
/* Starts POSTing body (JSON) to u; done is called later (never from inside this call).
 * Returns 0, WR_EAGAIN (a request is already running) or WR_ENOMEM / WR_EIO. */
int  nh_conn_post(nh_conn_t *c, const nh_url_t *u, const char *body, size_t len, double timeout_s);
/* 1 while a request runs. */
int  nh_conn_busy(const nh_conn_t *c);
/* Aborts a running request (done is not called). */
void nh_conn_cancel(nh_conn_t *c);

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
