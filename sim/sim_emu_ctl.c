/* sim_emu_ctl: fault injection inside `warren-sim emulate`: the control socket (a unix stream
 * socket; one command line in, one reply line out, then the connection closes), the scenario
 * player, and the crash / restart of nodes. What faults do to values is sim_inject.c's.
 * Protocol (docs/SIM.md), lines of at most CTL_LINE_MAX bytes:
 *   ping                                  -> ok <count> nodes <first>..<last>
 *   inject NODE FAULT [DURATION_MS [ARG]] -> ok injected FAULT on NODE [for N ms]
 *   clear NODE FAULT|all                  -> ok cleared ... | ok nothing active ...
 *   status NODE                           -> ok NODE up|down restarts=N faults=a,b|none
 * anything else -> "error: <why>". */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "sim_emu.h"
#include "sim_scenario.h"
#include "wr_error.h"
#include "wr_log.h"

#define CTL_LINE_MAX 256
#define CTL_CLIENTS 8
#define CTL_CLIENT_TMO_S 2.0
#define CTL_TICK_S 0.1

typedef struct {
    ev_io io;
    ev_timer tmo;
    int fd;
    size_t len;
    char buf[CTL_LINE_MAX + 2];
    sim_emu_ctl_t *ctl;
} ctl_client_t;

struct sim_emu_ctl {
    sim_emu_t *emu;
    int lfd;
    ev_io lio;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    ctl_client_t clients[CTL_CLIENTS];
    sim_scenario_t *sc;
    size_t next;                     /* next scenario entry to play */
    ev_timer tick;                   /* scenario entries due, crashed nodes to restart */
    int *down;                       /* slots of crashed nodes */
    int ndown, capdown;
};

static sim_emu_node_t *find_node(sim_emu_t *emu, const char *name)
{
    for (int k = 0; k < emu->count; k++)
        if (!strcmp(emu->nodes[k].ec.thisnodename, name))
            return &emu->nodes[k];
    return NULL;
}

static int faults_of(sim_emu_node_t *n)
{
    if (n->faults)
        return 0;
    n->faults = malloc(sizeof *n->faults);
    if (!n->faults)
        return WR_ENOMEM;
    sim_inject_init(n->faults);
    return 0;
}

static void restart_node(sim_emu_t *emu, sim_emu_node_t *n)
{
    char err[512];
    if (sim_emu_node_restart(n, sim_emu_now(emu), err, sizeof err) != 0) {
        WR_WARN("%s: restart after crash failed (%s): retrying", n->ec.thisnodename, err);
        return;
    }
    emu->st.restarts++;
    WR_INFO("%s: restarted (creation %u, restart %u)", n->ec.thisnodename, n->ec.creation,
            n->life.restarts);
}

int sim_emu_ctl_apply(sim_emu_t *emu, sim_emu_node_t *n, int fault, int clear, int64_t duration_ms,
                      const char *arg, char *err, size_t errlen)
{
    int64_t now = sim_emu_now(emu);
    if (clear) {
        if (fault < -1 || fault >= SIM_FAULT_COUNT) {
            snprintf(err, errlen, "unknown fault");
            return WR_EINVAL;
        }
        if (n->down && (fault == -1 || fault == SIM_FAULT_CRASH)) {
            if (n->faults)
                n->faults->end_ms[SIM_FAULT_CRASH] = now;   /* the tick restarts it */
            restart_node(emu, n);
            return 0;
        }
        if (n->faults)
            sim_inject_clear(n->faults, fault, now);
        return 0;
    }
    if (fault < 0 || fault >= SIM_FAULT_COUNT) {
        snprintf(err, errlen, "unknown fault");
        return WR_EINVAL;
    }
    if (n->down) {
        snprintf(err, errlen, "%s is down (crashed): clear crash first", n->ec.thisnodename);
        return WR_EINVAL;
    }
    if (faults_of(n) != 0) {
        snprintf(err, errlen, "out of memory");
        return WR_ENOMEM;
    }
    if (sim_inject_start(n->faults, fault, now, duration_ms, arg) != 0) {
        snprintf(err, errlen, "bad argument '%.40s': expected an atom of [a-z0-9_]", arg ? arg : "");
        return WR_EINVAL;
    }
    if (fault == SIM_FAULT_CRASH) {
        sim_emu_ctl_t *c = emu->ctl;
        if (c && c->ndown == c->capdown) {
            int cap = c->capdown ? c->capdown * 2 : 16;
            int *nd = realloc(c->down, (size_t)cap * sizeof *nd);
            if (!nd) {
                snprintf(err, errlen, "out of memory");
                return WR_ENOMEM;
            }
            c->down = nd;
            c->capdown = cap;
        }
        sim_emu_node_crash(n);
        if (c)
            c->down[c->ndown++] = (int)(n - emu->nodes);
        emu->st.crashes++;
        WR_INFO("%s: crashed for %lld ms", n->ec.thisnodename,
                (long long)(n->faults->end_ms[SIM_FAULT_CRASH] - now));
    }
    return 0;
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    sim_emu_ctl_t *c = w->data;
    sim_emu_t *emu = c->emu;
    int64_t now = sim_emu_now(emu);
    for (size_t n = sim_scenario_count(c->sc); c->next < n; c->next++) {
        const sim_scenario_entry_t *e = sim_scenario_entry(c->sc, c->next);
        if (e->at_ms > now)
            break;
        sim_emu_node_t *node = find_node(emu, e->node);
        if (!node)
            continue;                                /* another emulator's node */
        char err[256];
        if (sim_emu_ctl_apply(emu, node, e->fault, e->clear, e->duration_ms, e->arg, err, sizeof err) != 0)
            WR_WARN("scenario line %d: %s", e->line, err);
        else
            WR_INFO("scenario line %d: %s %s on %s", e->line, e->clear ? "cleared" : "injected",
                    e->fault < 0 ? "all" : sim_inject_name(e->fault), e->node);
        emu->st.scenario_fired++;
    }
    for (int i = 0; i < emu->count; i++)             /* pushes of subscribed agents */
        if (emu->nodes[i].faults)
            sim_emu_agent_push(emu, &emu->nodes[i], CTL_TICK_S);
    for (int i = 0; i < c->ndown;) {
        sim_emu_node_t *node = &emu->nodes[c->down[i]];
        if (node->down && node->faults && now < node->faults->end_ms[SIM_FAULT_CRASH]) {
            i++;
            continue;
        }
        if (node->down)
            restart_node(emu, node);
        if (node->down) {
            i++;
            continue;
        }
        c->down[i] = c->down[--c->ndown];
    }
}

/* ---- the control socket ---------------------------------------------------------------- */

static void client_close(ctl_client_t *cl)
{
    struct ev_loop *loop = cl->ctl->emu->loop;
    ev_io_stop(loop, &cl->io);
    ev_timer_stop(loop, &cl->tmo);
    close(cl->fd);
    cl->fd = -1;
}

static void reply(ctl_client_t *cl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(ctl_client_t *cl, const char *fmt, ...)
{
    char out[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, sizeof out - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n > sizeof out - 2)
        n = (int)sizeof out - 2;
    out[n++] = '\n';
    ssize_t w = write(cl->fd, out, (size_t)n);       /* short: fits the socket buffer */
    (void)w;
    if (!strncmp(out, "error", 5))
        cl->ctl->emu->st.ctl_errors++;
}

static void command(ctl_client_t *cl, char *line)
{
    sim_emu_t *emu = cl->ctl->emu;
    char *w[6];
    int nw = 0;
    for (char *save = NULL, *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
        if (nw == 6) {
            reply(cl, "error: too many words");
            return;
        }
        w[nw++] = t;
    }
    emu->st.ctl_commands++;
    if (nw == 0) {
        reply(cl, "error: empty command (ping, inject, clear, status)");
        return;
    }
    if (!strcmp(w[0], "ping") && nw == 1) {
        reply(cl, "ok %d nodes %ld..%ld", emu->count, emu->first, emu->first + emu->count - 1);
        return;
    }
    int is_inject = !strcmp(w[0], "inject"), is_clear = !strcmp(w[0], "clear"), is_status = !strcmp(w[0], "status");
    if (!is_inject && !is_clear && !is_status) {
        reply(cl, "error: unknown command '%.32s' (ping, inject, clear, status)", w[0]);
        return;
    }
    if (nw < 2) {
        reply(cl, "error: %s needs a node", w[0]);
        return;
    }
    sim_emu_node_t *n = find_node(emu, w[1]);
    if (!n) {
        reply(cl, "error: unknown node '%.64s' (not in this emulator)", w[1]);
        return;
    }
    char err[256];
    if (is_status) {
        if (nw != 2) {
            reply(cl, "error: usage: status NODE");
            return;
        }
        char list[256] = "";
        int64_t now = sim_emu_now(emu);
        for (int k = 0; k < SIM_FAULT_COUNT && n->faults; k++)
            if (sim_inject_active(n->faults, k, now) && strlen(list) + 24 < sizeof list)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", *list ? "," : "",
                         sim_inject_name(k));
        reply(cl, "ok %s %s restarts=%u creation=%u faults=%s", n->ec.thisnodename, n->down ? "down" : "up",
              n->life.restarts, n->ec.creation, *list ? list : "none");
        return;
    }
    if (nw < 3) {
        reply(cl, "error: %s needs a fault", w[0]);
        return;
    }
    int fault = is_clear && !strcmp(w[2], "all") ? -1 : sim_inject_parse(w[2]);
    if (fault < 0 && !(is_clear && !strcmp(w[2], "all"))) {
        reply(cl, "error: unknown fault '%.40s' (mqueue_flood, atom_leak, memory_growth, module_clash, "
              "crash, silent, busy_dist_port, log_storm)", w[2]);
        return;
    }
    if (is_clear) {
        if (nw != 3) {
            reply(cl, "error: usage: clear NODE FAULT|all");
            return;
        }
        int was = n->down || (n->faults && (fault < 0 ? 1 : sim_inject_active(n->faults, fault, sim_emu_now(emu))));
        if (sim_emu_ctl_apply(emu, n, fault, 1, 0, NULL, err, sizeof err) != 0)
            reply(cl, "error: %s", err);
        else
            reply(cl, "ok %s %s on %s", was ? "cleared" : "nothing active:", fault < 0 ? "all" : w[2], w[1]);
        return;
    }
    long long dur = 0;
    if (nw >= 4) {
        char *end;
        errno = 0;
        dur = strtoll(w[3], &end, 10);
        if (errno || end == w[3] || *end || dur < 0 || dur > 86400000LL) {
            reply(cl, "error: duration '%.32s': expected ms from 0 (until cleared) to 86400000", w[3]);
            return;
        }
    }
    if (nw == 6) {
        reply(cl, "error: usage: inject NODE FAULT [DURATION_MS [ARG]]");
        return;
    }
    if (sim_emu_ctl_apply(emu, n, fault, 0, dur, nw == 5 ? w[4] : NULL, err, sizeof err) != 0) {
        reply(cl, "error: %s", err);
        return;
    }
    WR_INFO("control: injected %s on %s (%lld ms)", w[2], w[1], dur);
    if (dur > 0 || fault == SIM_FAULT_CRASH)
        reply(cl, "ok injected %s on %s for %lld ms", w[2], w[1],
              (long long)(n->faults->end_ms[fault] - n->faults->start_ms[fault]));
    else
        reply(cl, "ok injected %s on %s until cleared", w[2], w[1]);
}

static void on_client_tmo(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    ctl_client_t *cl = w->data;
    reply(cl, "error: no complete line within %.0f s", CTL_CLIENT_TMO_S);
    client_close(cl);
}

static void on_client(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    ctl_client_t *cl = (ctl_client_t *)w;
    ssize_t r = read(cl->fd, cl->buf + cl->len, sizeof cl->buf - 1 - cl->len);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0) {
        client_close(cl);
        return;
    }
    cl->len += (size_t)r;
    cl->buf[cl->len] = '\0';
    char *nl = memchr(cl->buf, '\n', cl->len);
    if (!nl) {
        if (cl->len > CTL_LINE_MAX) {
            reply(cl, "error: line longer than %d bytes", CTL_LINE_MAX);
            client_close(cl);
        }
        return;
    }
    *nl = '\0';
    if (strlen(cl->buf) != (size_t)(nl - cl->buf)) {
        reply(cl, "error: NUL byte in the line");
    } else {
        command(cl, cl->buf);
    }
    client_close(cl);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    sim_emu_ctl_t *c = w->data;
    int fd = accept(c->lfd, NULL, NULL);
    if (fd < 0)
        return;
    ctl_client_t *cl = NULL;
    for (int i = 0; i < CTL_CLIENTS && !cl; i++)
        if (c->clients[i].fd < 0)
            cl = &c->clients[i];
    if (!cl) {
        const char busy[] = "error: busy, retry\n";
        ssize_t wr = write(fd, busy, sizeof busy - 1);
        (void)wr;
        close(fd);
        c->emu->st.ctl_errors++;
        return;
    }
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
    cl->fd = fd;
    cl->len = 0;
    cl->ctl = c;
    ev_io_init(&cl->io, on_client, fd, EV_READ);
    ev_timer_init(&cl->tmo, on_client_tmo, CTL_CLIENT_TMO_S, 0.0);
    cl->tmo.data = cl;
    ev_io_start(loop, &cl->io);
    ev_timer_start(loop, &cl->tmo);
}

static int listen_unix(sim_emu_ctl_t *c, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "control socket path %s: longer than %zu bytes", path, sizeof sa.sun_path - 1);
        return WR_EINVAL;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return WR_EIO;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        close(fd);
        snprintf(err, errlen, "control socket %s: another emulator answers there", path);
        return WR_EEXIST;
    }
    unlink(path);                                    /* a stale socket of a dead emulator */
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 16) != 0) {
        snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
        close(fd);
        return WR_EIO;
    }
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
    c->lfd = fd;
    snprintf(c->path, sizeof c->path, "%s", path);
    return 0;
}

int sim_emu_ctl_start(sim_emu_t *emu, const char *sock_path, const char *scenario_path,
                      char *err, size_t errlen)
{
    sim_emu_ctl_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return WR_ENOMEM;
    }
    c->emu = emu;
    c->lfd = -1;
    for (int i = 0; i < CTL_CLIENTS; i++)
        c->clients[i].fd = -1;
    emu->ctl = c;
    int rc;
    if (scenario_path && (rc = sim_scenario_load(scenario_path, &c->sc, err, errlen)) != 0) {
        sim_emu_ctl_stop(emu);
        return rc;
    }
    if (sock_path && (rc = listen_unix(c, sock_path, err, errlen)) != 0) {
        sim_emu_ctl_stop(emu);
        return rc;
    }
    if (c->lfd >= 0) {
        ev_io_init(&c->lio, on_accept, c->lfd, EV_READ);
        c->lio.data = c;
        ev_io_start(emu->loop, &c->lio);
    }
    ev_timer_init(&c->tick, on_tick, CTL_TICK_S, CTL_TICK_S);
    c->tick.data = c;
    ev_timer_start(emu->loop, &c->tick);
    return 0;
}

void sim_emu_ctl_stop(sim_emu_t *emu)
{
    sim_emu_ctl_t *c = emu->ctl;
    if (!c)
        return;
    ev_timer_stop(emu->loop, &c->tick);
    for (int i = 0; i < CTL_CLIENTS; i++)
        if (c->clients[i].fd >= 0)
            client_close(&c->clients[i]);
    if (c->lfd >= 0) {
        ev_io_stop(emu->loop, &c->lio);
        close(c->lfd);
        unlink(c->path);
    }
    sim_scenario_destroy(&c->sc);
    free(c->down);
    free(c);
    emu->ctl = NULL;
}
