/* leaf_beam: the leaf's side of Erlang distribution. One ei_cnode; one ev_io per connected
 * node, read whenever readable (ticks are answered only while reading); node state
 * transitions with their reasons; reconnects with exponential backoff and jitter.
 * Handshakes themselves run on the connector's worker thread (leaf_connector.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "leaf.h"
#include "leaf_notify.h"
#include "wr_error.h"
#include "wr_log.h"
#include "wr_time.h"

#define LEAF_IO_TMO_MS 2000u    /* a message started must complete within this */

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
        ei_close_connection(n->fd);
        n->fd = -1;
    }
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

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    leaf_node_t *n = w->data;
    leaf_t *lf = n->leaf;
    erlang_msg msg;
    lf->rx.index = 0;
    int rc = n->fd < 1000 ? ei_xreceive_msg_tmo(n->fd, &msg, &lf->rx, LEAF_IO_TMO_MS)
                          : ei_xreceive_msg(n->fd, &msg, &lf->rx);
    if (rc == ERL_TICK)
        return;
    if (rc == ERL_ERROR) {
        int e = erl_errno;
        if (e == EAGAIN) {
            /* "try again", unless the socket is in fact at EOF or broken (no busy loop) */
            char b;
            ssize_t r = recv(n->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
            if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)))
                return;
            e = r == 0 ? 0 : errno;
        }
        char why[160];
        if (e == ETIMEDOUT)
            snprintf(why, sizeof why, "a message stalled for %u ms", LEAF_IO_TMO_MS);
        else
            snprintf(why, sizeof why, e == 0 || e == EIO ? "connection closed" : "connection error: %s",
                     strerror(e));
        leaf_node_lost(lf, n, why);
        return;
    }
    switch (msg.msgtype) {
    case ERL_SEND:
    case ERL_SEND_TT:
        if (!leaf_notify_on_reply(lf, n))   /* leaf_notify.c's own calls, else the poll's */
            leaf_poll_on_message(lf, n);
        break;
    case ERL_REG_SEND:
    case ERL_REG_SEND_TT:
        leaf_notify_on_reg_send(lf, n, msg.toname);   /* the agent's notifications */
        break;
    default:
        /* links, exits, registered sends: not used by the agentless leaf */
        lf->bad_messages++;
        WR_DEBUG("node %s: ignored control message type %ld", n->name, msg.msgtype);
        break;
    }
}

static void on_connect_done(void *ud, uint32_t idx, int fd, const char *error)
{
    leaf_t *lf = ud;
    if (idx >= lf->n_nodes) {
        if (fd >= 0)
            ei_close_connection(fd);
        return;
    }
    leaf_node_t *n = &lf->nodes[idx];
    n->connecting = 0;
    if (!n->owned) {                 /* let go of while the handshake ran */
        if (fd >= 0)
            ei_close_connection(fd);
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
    lf->connects_ok++;
    n->fd = fd;
    n->backoff = 1.0;
    n->last_reply_mono = wr_mono_ms();
    for (int i = 0; i < LEAF_CALLS; i++)
        n->inflight[i].live = 0;
    ev_io_init(&n->io, on_readable, fd, EV_READ);
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
        snprintf(n->host, sizeof n->host, "%s", strchr(c->name, '@') + 1);
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
    n->backoff = 1.0;
    n->dirty = 0;                    /* reported once connected (UP) or failed (DOWN) */
    submit(lf, n);
}

void leaf_beam_release(leaf_t *lf, leaf_node_t *n)
{
    if (!n->owned)
        return;
    n->owned = 0;
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
    int rc = n->fd < 1000 ? ei_reg_send_tmo(&lf->ec, n->fd, "rex", lf->tx.buff, lf->tx.index, LEAF_IO_TMO_MS)
                          : ei_reg_send(&lf->ec, n->fd, "rex", lf->tx.buff, lf->tx.index);
    return rc < 0 ? -1 : 0;
}

void leaf_beam_fini(leaf_t *lf)
{
    leaf_connector_destroy(&lf->conn);   /* joins the worker; closes fds it still held */
    for (size_t i = 0; i < lf->n_nodes; i++) {
        leaf_node_t *n = &lf->nodes[i];
        ev_timer_stop(lf->loop, &n->retry);
        close_conn(lf, n);
    }
    free(lf->nodes);
    lf->nodes = NULL;
    lf->n_nodes = 0;
    free(lf->hash);
    lf->hash = NULL;
    lf->hash_cap = 0;
    if (lf->rx.buff)
        ei_x_free(&lf->rx);
    if (lf->tx.buff)
        ei_x_free(&lf->tx);
}
