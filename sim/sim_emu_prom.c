/* sim_emu_prom: GET /metrics/<alive name> of every emulated node in the Prometheus text
 * format (0.0.4), one HTTP target per node, served by libmicrohttpd in external epoll mode on
 * the emulator's libev loop (as root/root_http.c). Values: sim_emu_values_metric over the
 * catalogue, exactly what warren_agent:collect/1 answers for the node at that instant. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sim_emu_prom.h"
#include "wr_error.h"
#include "wr_metric.h"

#define PROM_NAME_MAX   128
#define PROM_LABEL_MAX  32
#define PROM_BODY_MAX   (256 * 1024)    /* a node's exposition is ~40 KB */
#define PROM_CONN_TMO_S 60

struct sim_emu_prom {
    sim_emu_t            *emu;
    struct MHD_Daemon    *mhd;
    ev_io                 io;
    ev_timer              timer;
    char                (*names)[PROM_NAME_MAX];   /* per catalogue entry, computed once */
    char                 *body;                    /* reused for every answer */
    sim_emu_prom_stats_t  st;
};

/* ---- names and rendering ----------------------------------------------------------------- */

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

int sim_emu_prom_name(const wr_metric_def_t *def, char *out, size_t outlen, char *label, size_t labellen)
{
    char base[PROM_NAME_MAX];
    const char *name = def->name;
    if (label && labellen)
        label[0] = '\0';
    if (!strncmp(name, "scheduler.", 10) && name[10] >= '1' && name[10] <= '9') {
        const char *dot = strchr(name + 10, '.');
        if (!dot)
            return WR_EINVAL;
        if (label && snprintf(label, labellen, "scheduler=\"%.*s\"", (int)(dot - name - 10), name + 10) >= (int)labellen)
            return WR_EINVAL;
        if (snprintf(base, sizeof base, "scheduler_each_%s", dot + 1) >= (int)sizeof base)
            return WR_EINVAL;
    } else if (snprintf(base, sizeof base, "%s", name) >= (int)sizeof base) {
        return WR_EINVAL;
    }
    for (char *p = base; *p; p++)
        if (*p == '.')
            *p = '_';
    static const struct { const char *unit, *suffix; } units[] = {
        {"bytes", "_bytes"}, {"ms", "_milliseconds"}, {"us", "_microseconds"}, {"s", "_seconds"},
        {"percent", "_percent"}, {"words", "_words"},
    };
    const char *suffix = "";
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
        if (def->unit && !strcmp(def->unit, units[k].unit)) {
            suffix = units[k].suffix;
            break;
        }
    if (*suffix && (ends_with(base, suffix) || strstr(base, suffix)))
        suffix = "";
    int w = snprintf(out, outlen, "beam_%s%s%s", base, suffix, def->kind == WR_COUNTER ? "_total" : "");
    return w < 0 || (size_t)w >= outlen ? WR_EINVAL : 0;
}

typedef struct {
    char  *buf;
    size_t len, cap;
    int    overflow;
} out_t;

static void put(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out_t *o, const char *fmt, ...)
{
    if (o->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= o->cap - o->len)
        o->overflow = 1;
    else
        o->len += (size_t)w;
}

/* HELP text: backslash and newline escaped, as the format asks. */
static void put_help(out_t *o, const char *name, const char *help)
{
    put(o, "# HELP %s ", name);
    for (const char *p = help ? help : ""; *p && !o->overflow; p++) {
        if (*p == '\\')
            put(o, "\\\\");
        else if (*p == '\n')
            put(o, "\\n");
        else if (o->len + 1 < o->cap)
            o->buf[o->len++] = *p;
        else
            o->overflow = 1;
    }
    put(o, "\n");
}

static void put_value(out_t *o, const char *name, const char *label, double v, int is_int)
{
    const char *lb = label && *label ? "{" : "", *rb = label && *label ? "}" : "";
    if (is_int)
        put(o, "%s%s%s%s %lld\n", name, lb, label ? label : "", rb, (long long)v);
    else
        put(o, "%s%s%s%s %.10g\n", name, lb, label ? label : "", rb, v);
}

static int is_sched_each(const char *name, const char *what)
{
    if (strncmp(name, "scheduler.", 10) || name[10] < '1' || name[10] > '9')
        return 0;
    const char *dot = strchr(name + 10, '.');
    return dot && (!what || !strcmp(dot + 1, what));
}

static int render(sim_emu_t *emu, const sim_emu_node_t *n, char (*names)[PROM_NAME_MAX], char *buf, size_t buflen)
{
    out_t o = {buf, 0, buflen, 0};
    sim_emu_sample_t s;
    sim_emu_node_sample(emu, n, &s);
    char own[PROM_NAME_MAX], label[PROM_LABEL_MAX];
    double v;
    int is_int;
    for (size_t k = 0; k < wr_metric_count && !o.overflow; k++) {
        const wr_metric_def_t *d = &wr_metric_defs[k];
        if (is_sched_each(d->name, NULL))
            continue;
        if (!sim_emu_values_metric(emu->seed, n->index, &s, d, &v, &is_int))
            continue;
        const char *nm = names ? names[k] : (sim_emu_prom_name(d, own, sizeof own, NULL, 0) ? "" : own);
        put_help(&o, nm, d->help);
        put(&o, "# TYPE %s %s\n", nm, d->kind == WR_COUNTER ? "counter" : "gauge");
        put_value(&o, nm, NULL, v, is_int);
    }
    /* per-scheduler families: every sample of a family together, after one HELP/TYPE */
    static const char *const each[] = {"run_queue", "utilization"};
    for (size_t f = 0; f < sizeof each / sizeof each[0]; f++) {
        int first = 1;
        for (size_t k = 0; k < wr_metric_count && !o.overflow; k++) {
            const wr_metric_def_t *d = &wr_metric_defs[k];
            if (!is_sched_each(d->name, each[f]) ||
                !sim_emu_values_metric(emu->seed, n->index, &s, d, &v, &is_int) ||
                sim_emu_prom_name(d, own, sizeof own, label, sizeof label) != 0)
                continue;
            if (first) {
                put(&o, "# HELP %s per normal scheduler: %s\n", own,
                    f == 0 ? "erlang:statistics(run_queue_lengths_all)" : "scheduler_wall_time active/total");
                put(&o, "# TYPE %s gauge\n", own);
                first = 0;
            }
            put_value(&o, own, label, v, is_int);
        }
    }
    return o.overflow ? WR_ETOOBIG : (int)o.len;
}

int sim_emu_prom_render(sim_emu_t *emu, const sim_emu_node_t *n, char *buf, size_t buflen)
{
    return render(emu, n, NULL, buf, buflen);
}

/* ---- HTTP ------------------------------------------------------------------------------ */

/* The node whose alive name is alive, or NULL. Names are <prefix><5 digits>: the digits give
 * the index directly; the full name is compared to be sure. */
static sim_emu_node_t *find_node(sim_emu_t *emu, const char *alive)
{
    size_t len = strlen(alive);
    if (len < 6 || len > MAXATOMLEN)
        return NULL;
    char *end;
    long idx = strtol(alive + len - 5, &end, 10) - emu->first;
    if (*end || idx < 0 || idx >= emu->count)
        return NULL;
    sim_emu_node_t *n = &emu->nodes[idx];
    return strcmp(n->ec.thisalivename, alive) ? NULL : n;
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, const char *body, size_t len,
                              const char *ctype)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size,
                                  void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_size;
    sim_emu_prom_t *p = cls;
    if (!*con_cls) {                    /* first call: headers only */
        *con_cls = p;
        return MHD_YES;
    }
    static const char txt[] = "text/plain; charset=utf-8";
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
        p->st.bad_method++;
        return answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n", 9, txt);
    }
    sim_emu_node_t *n = !strncmp(url, "/metrics/", 9) ? find_node(p->emu, url + 9) : NULL;
    if (!n) {
        p->st.not_found++;
        static const char msg[] = "no such node: use /metrics/<alive name>\n";
        return answer(conn, MHD_HTTP_NOT_FOUND, msg, sizeof msg - 1, txt);
    }
    if (n->down) {
        p->st.down++;
        static const char msg[] = "node down\n";
        return answer(conn, MHD_HTTP_SERVICE_UNAVAILABLE, msg, sizeof msg - 1, txt);
    }
    int len = render(p->emu, n, p->names, p->body, PROM_BODY_MAX);
    if (len < 0) {
        static const char msg[] = "exposition too large\n";
        return answer(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, msg, sizeof msg - 1, txt);
    }
    p->st.scrapes++;
    p->st.bytes += (uint64_t)len;
    return answer(conn, MHD_HTTP_OK, p->body, (size_t)len, "text/plain; version=0.0.4; charset=utf-8");
}

/* ---- libev glue -------------------------------------------------------------------------- */

static void run_mhd(sim_emu_prom_t *p)
{
    MHD_run(p->mhd);
    MHD_UNSIGNED_LONG_LONG to = 0;
    ev_timer_stop(p->emu->loop, &p->timer);
    if (MHD_get_timeout(p->mhd, &to) == MHD_YES) {
        ev_timer_set(&p->timer, (double)to / 1000.0, 0.);
        ev_timer_start(p->emu->loop, &p->timer);
    }
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    run_mhd(w->data);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    run_mhd(w->data);
}

sim_emu_prom_t *sim_emu_prom_new(sim_emu_t *emu, int port, char *err, size_t errlen)
{
    if (!emu || port < 1 || port > 65535) {
        snprintf(err, errlen, "--prom-port %d: bad port", port);
        return NULL;
    }
    sim_emu_prom_t *p = calloc(1, sizeof *p);
    if (p) {
        p->names = calloc(wr_metric_count, sizeof *p->names);
        p->body = malloc(PROM_BODY_MAX);
    }
    if (!p || !p->names || !p->body) {
        snprintf(err, errlen, "prometheus: out of memory");
        sim_emu_prom_destroy(&p);
        return NULL;
    }
    p->emu = emu;
    for (size_t k = 0; k < wr_metric_count; k++)
        if (sim_emu_prom_name(&wr_metric_defs[k], p->names[k], PROM_NAME_MAX, NULL, 0) != 0)
            p->names[k][0] = '\0';
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    unsigned maxc = (unsigned)emu->count + 64;     /* Prometheus keeps one connection per target */
    p->mhd = MHD_start_daemon(MHD_USE_EPOLL, (uint16_t)port, NULL, NULL, on_request, p,
                              MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                              MHD_OPTION_CONNECTION_LIMIT, maxc,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)PROM_CONN_TMO_S,
                              MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
                              MHD_OPTION_END);
    const union MHD_DaemonInfo *info = p->mhd ? MHD_get_daemon_info(p->mhd, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
    if (!info) {
        snprintf(err, errlen, "prometheus: cannot serve on 127.0.0.1:%d (port in use?)", port);
        sim_emu_prom_destroy(&p);
        return NULL;
    }
    ev_io_init(&p->io, on_io, info->epoll_fd, EV_READ);
    p->io.data = p;
    ev_io_start(emu->loop, &p->io);
    ev_timer_init(&p->timer, on_timer, 0., 0.);
    p->timer.data = p;
    run_mhd(p);
    return p;
}

void sim_emu_prom_destroy(sim_emu_prom_t **pp)
{
    if (!pp || !*pp)
        return;
    sim_emu_prom_t *p = *pp;
    if (p->mhd) {
        ev_io_stop(p->emu->loop, &p->io);
        ev_timer_stop(p->emu->loop, &p->timer);
        MHD_stop_daemon(p->mhd);
    }
    free(p->names);
    free(p->body);
    free(p);
    *pp = NULL;
}

sim_emu_prom_stats_t sim_emu_prom_stats(const sim_emu_prom_t *p)
{
    sim_emu_prom_stats_t z;
    memset(&z, 0, sizeof z);
    return p ? p->st : z;
}
