/* sim_emu_node: one emulated BEAM node's sockets: its listener (ei_xlisten on 127.0.0.1, no
 * epmd), the handshake (ei_accept, blocking but bounded by socket timeouts) and reading its
 * connections (ei_xreceive_msg, never the *_tmo variants: they use select()). What the
 * messages mean is sim_emu_calls.c's business. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "sim_emu.h"
#include "wr_log.h"
#include "wr_error.h"
#include "wr_time.h"

/* Warn about the first few of a kind, then every 1000th, so a flood cannot flood the log. */
static int worth_logging(uint64_t count)
{
    return count <= 10 || count % 1000 == 0;
}

static void set_timeouts(int fd, int seconds)
{
    struct timeval tv = {.tv_sec = seconds, .tv_usec = 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static void conn_close(sim_emu_node_t *n, int slot)
{
    sim_emu_conn_t *c = n->conns[slot];
    if (!c)
        return;
    ev_io_stop(n->emu->loop, &c->io);
    if (c->fd == n->notif_fd)
        n->notif_fd = -1;                            /* the subscribed leaf is gone */
    ei_close_connection(c->fd);
    free(c);
    n->conns[slot] = NULL;
    n->nconns--;
    n->emu->conns_open--;
}

static int conn_slot(const sim_emu_node_t *n, const sim_emu_conn_t *c)
{
    for (int i = 0; i < SIM_EMU_MAX_CONNS; i++)
        if (n->conns[i] == c)
            return i;
    return -1;
}

static void on_conn(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    sim_emu_conn_t *c = (sim_emu_conn_t *)w;
    sim_emu_node_t *n = c->node;
    sim_emu_t *emu = n->emu;
    erlang_msg msg;
    emu->rx.index = 0;
    int r = ei_xreceive_msg(c->fd, &msg, &emu->rx);
    if (r == ERL_TICK) {
        emu->st.ticks++;
        return;
    }
    if (r == ERL_ERROR || sim_emu_calls_handle(emu, n, c->fd, &msg) != 0) {
        int e = erl_errno;
        emu->st.closed++;
        if (e != EIO && e != 0 && worth_logging(emu->st.closed))
            WR_INFO("%s: connection closed (%s)", n->ec.thisnodename, strerror(e));
        conn_close(n, conn_slot(n, c));
    }
}

static void on_pause_end(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    sim_emu_node_t *n = (sim_emu_node_t *)((char *)w - offsetof(sim_emu_node_t, pause));
    if (n->lfd >= 0)
        ev_io_start(loop, &n->listen_io);
}

static void on_listen(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    sim_emu_node_t *n = (sim_emu_node_t *)w;
    sim_emu_t *emu = n->emu;
    ErlConnect con;
    if (n->faults && sim_inject_active(n->faults, SIM_FAULT_SILENT, sim_emu_now(emu))) {
        /* a hung node does not finish a handshake either: the peer stays disconnected */
        int raw = accept(n->lfd, NULL, NULL);
        if (raw >= 0) {
            close(raw);
            emu->st.refused_silent++;
        }
        return;
    }
    errno = 0;
    int fd = ei_accept(&n->ec, n->lfd, &con);
    if (fd < 0) {
        int e = errno ? errno : erl_errno;
        if (e == EAGAIN && erl_errno == 0)
            return;                                  /* spurious wake-up: nobody waiting */
        emu->st.handshake_failed++;
        if (worth_logging(emu->st.handshake_failed))
            WR_WARN("%s: handshake failed on port %d (%s; %llu so far)",
                        n->ec.thisnodename, n->port, strerror(e),
                        (unsigned long long)emu->st.handshake_failed);
        if (e == EMFILE || e == ENFILE) {            /* out of descriptors: back off 1 s */
            ev_io_stop(loop, &n->listen_io);
            ev_timer_set(&n->pause, 1.0, 0.0);
            ev_timer_start(loop, &n->pause);
        }
        return;
    }
    int slot = -1;
    for (int i = 0; i < SIM_EMU_MAX_CONNS && slot < 0; i++)
        if (!n->conns[i])
            slot = i;
    sim_emu_conn_t *c = slot >= 0 ? calloc(1, sizeof *c) : NULL;
    if (!c) {
        emu->st.refused_full++;
        if (worth_logging(emu->st.refused_full))
            WR_WARN("%s: refused a connection from %s: %d already open",
                        n->ec.thisnodename, con.nodename, n->nconns);
        ei_close_connection(fd);
        return;
    }
    set_timeouts(fd, SIM_EMU_IO_TMO_S);
    c->node = n;
    c->fd = fd;
    ev_io_init(&c->io, on_conn, fd, EV_READ);
    ev_io_start(loop, &c->io);
    n->conns[slot] = c;
    n->nconns++;
    emu->conns_open++;
    emu->st.accepted++;
}

int sim_emu_node_open(sim_emu_t *emu, sim_emu_node_t *n, uint32_t index, int port, const char *alive,
                      const char *host, const char *cookie, unsigned creation, char *err, size_t errlen)
{
    char nodename[MAXNODELEN + 1];
    memset(n, 0, sizeof *n);
    n->emu = emu;
    n->index = index;
    n->port = port;
    n->lfd = -1;
    n->notif_fd = -1;
    if (snprintf(nodename, sizeof nodename, "%s@%s", alive, host) >= (int)sizeof nodename) {
        snprintf(err, errlen, "node name %s@%s too long", alive, host);
        return WR_EINVAL;
    }
    struct in_addr lo;
    inet_pton(AF_INET, "127.0.0.1", &lo);
    if (ei_connect_xinit(&n->ec, host, alive, nodename, &lo, cookie, creation) < 0) {
        snprintf(err, errlen, "%s: ei_connect_xinit failed (erl_errno %d)", nodename, erl_errno);
        return WR_EINVAL;
    }
    int p = port;
    errno = 0;
    int lfd = ei_xlisten(&n->ec, &lo, &p, 128);
    if (lfd < 0) {
        int e = errno ? errno : erl_errno;
        snprintf(err, errlen, "%s: cannot listen on 127.0.0.1:%d: %s", nodename, port, strerror(e));
        return WR_EIO;
    }
    /* The handshake runs inside ei_accept and blocks: accepted sockets inherit these
     * timeouts from the listener, so a silent peer costs at most SIM_EMU_HANDSHAKE_TMO_S.
     * A non-blocking listener makes a wake-up without a pending connection harmless. */
    set_timeouts(lfd, SIM_EMU_HANDSHAKE_TMO_S);
    (void)fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL, 0) | O_NONBLOCK);
    n->lfd = lfd;
    ev_io_init(&n->listen_io, on_listen, lfd, EV_READ);
    ev_timer_init(&n->pause, on_pause_end, 1.0, 0.0);
    ev_io_start(emu->loop, &n->listen_io);
    return 0;
}

void sim_emu_node_close(sim_emu_node_t *n)
{
    if (!n->emu)
        return;
    for (int i = 0; i < SIM_EMU_MAX_CONNS; i++)
        conn_close(n, i);
    ev_timer_stop(n->emu->loop, &n->pause);
    if (n->lfd >= 0) {
        ev_io_stop(n->emu->loop, &n->listen_io);
        ei_close_connection(n->lfd);
        n->lfd = -1;
    }
}

/* ---- crash and restart (fault injection) ----------------------------------------------- */

void sim_emu_node_crash(sim_emu_node_t *n)
{
    if (!n->emu || n->down)
        return;
    sim_emu_node_close(n);
    n->down = 1;
}

int sim_emu_node_restart(sim_emu_node_t *n, int64_t now_ms, char *err, size_t errlen)
{
    char alive[EI_MAXALIVELEN + 1], host[EI_MAXHOSTNAMELEN + 1], cookie[EI_MAX_COOKIE_SIZE + 1];
    snprintf(alive, sizeof alive, "%s", n->ec.thisalivename);
    snprintf(host, sizeof host, "%s", n->ec.thishostname);
    snprintf(cookie, sizeof cookie, "%s", n->ec.ei_connect_cookie);
    unsigned creation = ((n->ec.creation + 1u) & 0x7fffffffu) | 4u;
    sim_emu_t *emu = n->emu;
    sim_emu_life_t life = n->life;
    sim_inject_faults_t *faults = n->faults;
    uint32_t index = n->index;
    int port = n->port;
    sim_emu_node_close(n);
    int rc = sim_emu_node_open(emu, n, index, port, alive, host, cookie, creation, err, errlen);
    /* sim_emu_node_open cleared the node: what survives a restart comes back */
    n->faults = faults;
    n->life = life;
    if (rc != 0) {
        n->emu = emu;
        n->index = index;
        n->port = port;
        n->lfd = -1;
        n->down = 1;
        return rc;
    }
    n->life.restarts++;
    n->life.boot_ms = now_ms;
    if (n->faults)
        sim_inject_init(n->faults);                  /* a fresh node has no fault */
    n->down = 0;
    return 0;
}

int64_t sim_emu_now(const sim_emu_t *emu)
{
    return wr_mono_ms() - emu->start_ms;
}

void sim_emu_node_sample(sim_emu_t *emu, const sim_emu_node_t *n, sim_emu_sample_t *s)
{
    int64_t now = sim_emu_now(emu);
    sim_emu_values_at(emu->seed, emu->workload, n->index, now, &n->life, s);
    if (n->faults)
        sim_inject_apply(n->faults, now, s);
}
