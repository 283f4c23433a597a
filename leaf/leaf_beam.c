/* leaf_beam: the leaf's side of Erlang distribution. One ei_cnode; handshakes run on the
 * connector's worker thread (leaf_connector.c); once a node is connected the loop owns its
 * socket outright: non-blocking, one ev_io per node, read() as much as is there into a shared
 * buffer, packets split by leaf_frame.c and handed to the handlers (ticks answered here),
 * every send built as one packet and written with one call, what the socket does not take
 * queued (capped) and finished on EV_WRITE. Node state transitions with their reasons;
 * reconnects with exponential backoff and jitter. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "leaf.h"
#include "leaf_notify.h"
#include "wr_error.h"
#include "wr_log.h"
#include "wr_time.h"

#define LEAF_OUTQ_MAX  (16u << 20)   /* bytes queued for one node before it counts as lost */
#define LEAF_OUTQ_KEEP (256u << 10)  /* a larger queue buffer is freed once drained */
#define LEAF_READ_CHUNK (64u << 10)
#define LEAF_IO_COLLECT_MAX 0.02     /* s: the longest a ready socket waits to be polled */

static char rdbuf[LEAF_READ_CHUNK];  /* every read lands here first (loop thread only) */

static uint64_t jitter_state;

static double jitter(void)       /* [0, 1) */
{
    uint64_t x = jitter_state ? jitter_state : (uint64_t)wr_mono_ms() * 2654435761u + 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    jitter_state = x;
    return (double)(x >> 11) / (double)(1ull << 53);
}

static uint64_t name_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

leaf_node_t *leaf_node_find(leaf_t *lf, const char *name, size_t len)
{
    if (!lf->hash_cap)
        return NULL;
    size_t mask = lf->hash_cap - 1;
    for (size_t i = name_hash(name, len) & mask;; i = (i + 1) & mask) {
        uint32_t v = lf->hash[i];
        if (v == 0)
            return NULL;
        leaf_node_t *n = &lf->nodes[v - 1];
        if (strlen(n->name) == len && memcmp(n->name, name, len) == 0)
            return n;
    }
}

void leaf_node_set_state(leaf_t *lf, leaf_node_t *n, int state)
{
    if (n->state == state)
        return;
    n->state = state;
    n->since_ms = wr_wall_ms();
    n->dirty = 1;
    leaf_up_state_changed(lf);
}

static void schedule_reconnect(leaf_t *lf, leaf_node_t *n)
{
    double delay = n->backoff * (1.0 + 0.2 * jitter());
    ev_timer_stop(lf->loop, &n->retry);
    ev_timer_set(&n->retry, delay, 0.);
    ev_timer_start(lf->loop, &n->retry);
    n->backoff *= 2;
    if (n->backoff > lf->cfg.reconnect_max)
        n->backoff = lf->cfg.reconnect_max;
}

static void close_conn(leaf_t *lf, leaf_node_t *n)
{
    if (n->fd >= 0) {
        ev_io_stop(lf->loop, &n->io);
        close(n->fd);   /* not ei_close_connection: only the connector thread touches ei's socket table */
        n->fd = -1;
    }
    leaf_frame_reset(&n->frame);     /* the buffer is kept: a handler may still read it */
    n->outq_off = n->outq_len = 0;
    for (int i = 0; i < LEAF_CALLS; i++)
        n->inflight[i].live = 0;
}

void leaf_node_lost(leaf_t *lf, leaf_node_t *n, const char *reason)
{
    close_conn(lf, n);
    if (!n->owned)
        return;                      /* let go of (leaf_group.c): not ours to report */
    leaf_notify_node_lost(lf, n, reason);   /* node_down if it was UP (leaf_notify.c) */
    if (n->state != WR_NODE_DOWN)
        WR_INFO("node %s down: %s", n->name, reason);
    leaf_node_set_state(lf, n, WR_NODE_DOWN);
    n->backoff = 1.0;
    schedule_reconnect(lf, n);
}

static void set_events(leaf_t *lf, leaf_node_t *n, int events)
{
    if ((n->io.events & (EV_READ | EV_WRITE)) == events)
        return;
    ev_io_stop(lf->loop, &n->io);
    ev_io_set(&n->io, n->fd, events);
    ev_io_start(lf->loop, &n->io);
}

/* Appends a[alen] + b[blen] to n's send queue. Returns 0 or WR_ETOOBIG / WR_ENOMEM. */
static int outq_append(leaf_node_t *n, const char *a, size_t alen, const char *b, size_t blen)
{
    size_t pending = n->outq_len - n->outq_off;
    if (pending + alen + blen > LEAF_OUTQ_MAX)
        return WR_ETOOBIG;
    if (n->outq_off) {
        memmove(n->outq, n->outq + n->outq_off, pending);
        n->outq_off = 0;
        n->outq_len = pending;
    }
    size_t need = pending + alen + blen;
    if (need > n->outq_cap) {
        size_t ncap = n->outq_cap ? n->outq_cap : 4096;
        while (ncap < need)
            ncap *= 2;
        char *q = realloc(n->outq, ncap);
        if (!q)
            return WR_ENOMEM;
        n->outq = q;
        n->outq_cap = ncap;
    }
    if (alen)
        memcpy(n->outq + n->outq_len, a, alen);
    if (blen)
        memcpy(n->outq + n->outq_len + alen, b, blen);
    n->outq_len += alen + blen;
    return 0;
}

/* Writes a[alen] + b[blen] to node n with one call, queuing what the socket does not take
 * (sent on EV_WRITE, in order). Returns 0, or -1 with erl_errno set: the connection is broken,
 * or its queue is over LEAF_OUTQ_MAX (the node does not read). The caller drops the node. */
static int out_write(leaf_t *lf, leaf_node_t *n, const char *a, size_t alen, const char *b, size_t blen)
{
    if (n->fd < 0) {
        erl_errno = ENOTCONN;
        return -1;
    }
    size_t done = 0;
    n->sent_since_tick = 1;
    if (n->outq_len == n->outq_off) {
        struct iovec iov[2] = {{(void *)a, alen}, {(void *)b, blen}};
        struct msghdr mh;
        memset(&mh, 0, sizeof mh);
        mh.msg_iov = iov;
        mh.msg_iovlen = blen ? 2 : 1;
        ssize_t w;
        do
            w = sendmsg(n->fd, &mh, MSG_NOSIGNAL);
        while (w < 0 && errno == EINTR);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            erl_errno = errno;
            return -1;
        }
        done = w > 0 ? (size_t)w : 0;
        if (done == alen + blen)
            return 0;
    }
    if (done >= alen) {
        b += done - alen;
        blen -= done - alen;
        alen = 0;
    } else {
        a += done;
        alen -= done;
    }
    int rc = outq_append(n, a, alen, b, blen);
    if (rc != 0) {
        WR_WARN("node %s: %s bytes waiting to be sent (cap %u): the node does not read", n->name,
                rc == WR_ETOOBIG ? "too many" : "no memory for the", LEAF_OUTQ_MAX);
        erl_errno = ENOBUFS;
        return -1;
    }
    set_events(lf, n, EV_READ | EV_WRITE);
    return 0;
}

static void flush_outq(leaf_t *lf, leaf_node_t *n)
{
    while (n->outq_off < n->outq_len) {
        ssize_t w = send(n->fd, n->outq + n->outq_off, n->outq_len - n->outq_off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (w <= 0) {
            char why[160];
            snprintf(why, sizeof why, "send failed (%s)", w < 0 ? strerror(errno) : "closed");
            leaf_node_lost(lf, n, why);
            return;
        }
        n->outq_off += (size_t)w;
    }
    n->outq_off = n->outq_len = 0;
    if (n->outq_cap > LEAF_OUTQ_KEEP) {
        free(n->outq);
        n->outq = NULL;
        n->outq_cap = 0;
    }
    set_events(lf, n, EV_READ);
}

/* One packet from node n (leaf_frame_fn): a tick is answered; a message is handed to its
 * handler with its payload in lf->rx (from the version byte; rx.index = its length).
 * Returns 1 when the connection went away meanwhile. */
static int on_packet(void *ud, const char *pkt, size_t len)
{
    leaf_node_t *n = ud;
    leaf_t *lf = n->leaf;
    int fd = n->fd;
    char why[200];
    if (len == 0) {
        /* the peer only needs to hear from us once per tick period: the interval's calls do */
        if (n->sent_since_tick) {
            n->sent_since_tick = 0;
            return 0;
        }
        static const char tock[4] = {0, 0, 0, 0};
        if (out_write(lf, n, tock, sizeof tock, NULL, 0) != 0) {
            snprintf(why, sizeof why, "send failed (%s)", strerror(erl_errno));
            leaf_node_lost(lf, n, why);
            return 1;
        }
        n->sent_since_tick = 0;       /* a tock does not excuse the next one */
        return 0;
    }
    leaf_frame_ctl_t c;
    if (leaf_frame_decode(pkt, len, &c, why, sizeof why) != 0) {
        lf->bad_messages++;
        char r[256];
        snprintf(r, sizeof r, "bad distribution packet: %s", why);
        leaf_node_lost(lf, n, r);
        return 1;
    }
    if (c.payload < 0 || c.op == ERL_LINK || c.op == ERL_EXIT || c.op == ERL_UNLINK) {
        /* links, exits, monitors: not used by the leaf */
        lf->bad_messages++;
        WR_DEBUG("node %s: ignored control message type %ld", n->name, c.op);
        return 0;
    }
    ei_x_buff saved = lf->rx;
    lf->rx.buff = (char *)(uintptr_t)(pkt + c.payload);   /* read-only view for the handlers */
    lf->rx.buffsz = lf->rx.index = (int)(len - (size_t)c.payload);
    switch (c.op) {
    case ERL_SEND:
    case ERL_SEND_TT:
    case 22:                             /* SEND_SENDER, SEND_SENDER_TT (not negotiated by ei) */
    case 23:
        if (!leaf_notify_on_reply(lf, n))   /* leaf_notify.c's own calls, else the poll's */
            leaf_poll_on_message(lf, n);
        break;
    case ERL_REG_SEND:
    case ERL_REG_SEND_TT:
        leaf_notify_on_reg_send(lf, n, c.toname);   /* the agent's notifications */
        break;
    default:
        lf->bad_messages++;
        WR_DEBUG("node %s: ignored control message type %ld", n->name, c.op);
        break;
    }
    lf->rx = saved;
    return n->fd != fd;
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    leaf_node_t *n = w->data;
    leaf_t *lf = n->leaf;
    int fd = n->fd;
    if (revents & EV_WRITE) {
        flush_outq(lf, n);
        if (n->fd != fd)
            return;
    }
    if (!(revents & EV_READ))
        return;
    for (;;) {
        ssize_t r = read(fd, rdbuf, sizeof rdbuf);
        if (r > 0) {
            char why[160];
            int rc = leaf_frame_feed(&n->frame, rdbuf, (size_t)r, LEAF_FRAME_MAX, on_packet, n, why,
                                     sizeof why);
            if (rc == 1 || n->fd != fd)
                return;
            if (rc < 0) {
                lf->bad_messages++;
                leaf_node_lost(lf, n, why);
                return;
            }
            if ((size_t)r < sizeof rdbuf)
                return;               /* drained (level-triggered: more wakes us again) */
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        char why[160];
        snprintf(why, sizeof why, r == 0 ? "connection closed" : "connection error: %s",
                 r == 0 ? "" : strerror(errno));
        leaf_node_lost(lf, n, why);
        return;
    }
}

static void on_connect_done(void *ud, uint32_t idx, int fd, const char *error)
{
    leaf_t *lf = ud;
    if (idx >= lf->n_nodes) {
        if (fd >= 0)
            close(fd);
        return;
    }
    leaf_node_t *n = &lf->nodes[idx];
    n->connecting = 0;
    if (!n->owned) {                 /* let go of while the handshake ran */
        if (fd >= 0)
            close(fd);
        return;
    }
    if (fd < 0) {
        lf->connects_failed++;
        if (n->state != WR_NODE_DOWN)
            WR_INFO("node %s down: %s", n->name, error);
        else
            WR_DEBUG("reconnect to %s failed: %s (next try in about %.0f s)", n->name, error, n->backoff);
        leaf_node_set_state(lf, n, WR_NODE_DOWN);
        schedule_reconnect(lf, n);
        return;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        WR_WARN("node %s: cannot make the connection non-blocking: %s", n->name, strerror(errno));
        close(fd);
        lf->connects_failed++;
        leaf_node_set_state(lf, n, WR_NODE_DOWN);
        schedule_reconnect(lf, n);
        return;
    }
    lf->connects_ok++;
    n->fd = fd;
    leaf_frame_reset(&n->frame);
    n->outq_off = n->outq_len = 0;
    n->backoff = 1.0;
    n->last_reply_mono = wr_mono_ms();
    for (int i = 0; i < LEAF_CALLS; i++)
        n->inflight[i].live = 0;
    ev_io_init(&n->io, on_io, fd, EV_READ);
    n->io.data = n;
    ev_io_start(lf->loop, &n->io);
    WR_INFO("node %s up (fd %d)", n->name, fd);
    leaf_node_set_state(lf, n, WR_NODE_UP);
    leaf_notify_node_up(lf, n);      /* node_up, restart probe (leaf_notify.c) */
}

static void submit(leaf_t *lf, leaf_node_t *n)
{
    if (!n->owned || n->connecting || n->fd >= 0)
        return;
    if (leaf_connector_submit(lf->conn, n->idx, n->name, n->host, n->port, n->address) == 0)
        n->connecting = 1;
    else
        schedule_reconnect(lf, n);
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    leaf_node_t *n = w->data;
    submit(n->leaf, n);
}

int leaf_beam_init(leaf_t *lf)
{
    char alive[WR_NODE_NAME_MAX], host[WR_NODE_NAME_MAX];
    const char *at = strchr(lf->cfg.node_name, '@');
    snprintf(alive, sizeof alive, "%.*s", (int)(at - lf->cfg.node_name), lf->cfg.node_name);
    snprintf(host, sizeof host, "%s", at + 1);
    if (strlen(alive) > EI_MAXALIVELEN || strlen(host) > EI_MAXHOSTNAMELEN) {
        WR_ERROR("node_name %s: alive or host part too long", lf->cfg.node_name);
        return WR_EINVAL;
    }
    if (ei_init() != 0) {
        WR_ERROR("ei_init failed");
        return WR_EIO;
    }
    struct in_addr none;
    memset(&none, 0, sizeof none);
    unsigned creation = (unsigned)time(NULL);
    if (ei_connect_xinit(&lf->ec, host, alive, lf->cfg.node_name, &none, lf->cfg.cookie, creation) < 0) {
        WR_ERROR("ei_connect_xinit(%s) failed: %s", lf->cfg.node_name, strerror(erl_errno));
        return WR_EIO;
    }
    if (ei_x_new(&lf->rx) != 0 || ei_x_new(&lf->tx) != 0)
        return WR_ENOMEM;

    lf->n_nodes = lf->cfg.n_nodes;
    lf->nodes = calloc(lf->n_nodes ? lf->n_nodes : 1, sizeof *lf->nodes);
    lf->hash_cap = 16;
    while (lf->hash_cap < lf->n_nodes * 2)
        lf->hash_cap *= 2;
    lf->hash = calloc(lf->hash_cap, sizeof *lf->hash);
    if (!lf->nodes || !lf->hash)
        return WR_ENOMEM;
    for (size_t i = 0; i < lf->n_nodes; i++) {
        leaf_node_t *n = &lf->nodes[i];
        const leaf_node_cfg_t *c = &lf->cfg.nodes[i];
        n->leaf = lf;
        n->idx = (uint32_t)i;
        snprintf(n->name, sizeof n->name, "%s", c->name);
        n->host = strchr(n->name, '@') ? strchr(n->name, '@') + 1 : n->name;
        n->port = c->port;
        snprintf(n->address, sizeof n->address, "%s", c->address);
        n->state = WR_NODE_UNKNOWN;
        n->since_ms = wr_wall_ms();
        n->fd = -1;
        n->backoff = 1.0;
        n->owned = 1;
        ev_timer_init(&n->retry, on_retry, 1., 0.);
        n->retry.data = n;
        size_t mask = lf->hash_cap - 1;
        size_t h = name_hash(n->name, strlen(n->name)) & mask;
        while (lf->hash[h])
            h = (h + 1) & mask;
        lf->hash[h] = (uint32_t)i + 1;
    }
    /* batch wake-ups: after a wake-up the loop waits up to this long before polling again,
     * so one epoll_wait returns the replies of many nodes at once (each wake-up is a context
     * switch, the largest kernel cost after the sends); a reply waits at most this long */
    double collect = lf->cfg.interval / 100.0;
    ev_set_io_collect_interval(lf->loop, collect < LEAF_IO_COLLECT_MAX ? collect : LEAF_IO_COLLECT_MAX);
    unsigned tmo = (unsigned)(lf->cfg.connect_timeout * 1000.0);
    lf->conn = leaf_connector_new(lf->loop, &lf->ec, tmo ? tmo : 1, on_connect_done, lf);
    if (!lf->conn) {
        WR_ERROR("cannot start the connector thread");
        return WR_ENOMEM;
    }
    WR_INFO("C node %s ready, %zu nodes to watch", lf->cfg.node_name, lf->n_nodes);
    return 0;
}

void leaf_beam_acquire(leaf_t *lf, leaf_node_t *n)
{
    if (n->owned)
        return;
    n->owned = 1;
    lf->owned_stale = 1;
    n->backoff = 1.0;
    n->dirty = 0;                    /* reported once connected (UP) or failed (DOWN) */
    submit(lf, n);
}

void leaf_beam_release(leaf_t *lf, leaf_node_t *n)
{
    if (!n->owned)
        return;
    n->owned = 0;
    lf->owned_stale = 1;
    ev_timer_stop(lf->loop, &n->retry);
    close_conn(lf, n);
    n->state = WR_NODE_UNKNOWN;      /* not reported: the new owner reports it */
    n->since_ms = wr_wall_ms();
    n->dirty = 0;
}

void leaf_beam_start(leaf_t *lf)
{
    for (size_t i = 0; i < lf->n_nodes; i++)
        submit(lf, &lf->nodes[i]);
}

int leaf_beam_send_rex(leaf_t *lf, leaf_node_t *n)
{
    /* length, 'p', version, {6, Self, '', rex}: built once per self pid, only the length
     * changes from one send to the next (loop thread only) */
    static char hdr[1280];
    static int h = -1;
    static erlang_pid built_for;
    const erlang_pid *self = ei_self(&lf->ec);
    size_t msglen = (size_t)lf->tx.index;
    if (h < 0 || self->num != built_for.num || self->serial != built_for.serial ||
        self->creation != built_for.creation || strcmp(self->node, built_for.node) != 0) {
        h = leaf_frame_reg_send_header(hdr, sizeof hdr, self, "rex", 0);
        if (h < 0) {
            erl_errno = EMSGSIZE;
            return -1;
        }
        built_for = *self;
    }
    if (msglen > LEAF_FRAME_MAX) {
        erl_errno = EMSGSIZE;
        return -1;
    }
    uint32_t l = (uint32_t)((size_t)h - 4 + msglen);
    hdr[0] = (char)(l >> 24);
    hdr[1] = (char)(l >> 16);
    hdr[2] = (char)(l >> 8);
    hdr[3] = (char)l;
    return out_write(lf, n, hdr, (size_t)h, lf->tx.buff, msglen) < 0 ? -1 : 0;
}

void leaf_beam_fini(leaf_t *lf)
{
    leaf_connector_destroy(&lf->conn);   /* joins the worker; closes fds it still held */
    for (size_t i = 0; i < lf->n_nodes; i++) {
        leaf_node_t *n = &lf->nodes[i];
        ev_timer_stop(lf->loop, &n->retry);
        close_conn(lf, n);
        leaf_frame_free(&n->frame);
        free(n->outq);
        n->outq = NULL;
    }
    free(lf->nodes);
    lf->nodes = NULL;
    lf->n_nodes = 0;
    free(lf->hash);
    free(lf->owned_list);
    lf->owned_list = NULL;
    lf->hash = NULL;
    lf->hash_cap = 0;
    if (lf->rx.buff)
        ei_x_free(&lf->rx);
    if (lf->tx.buff)
        ei_x_free(&lf->tx);
}
