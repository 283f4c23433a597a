/* leaf_connector: the handshake worker. erl_interface connects and handshakes synchronously,
 * so one pthread takes connect requests from a queue, runs ei_connect_tmo (epmd) or
 * ei_[x]connect_host_port_tmo (known port), retries once, and hands (node, fd or error) back
 * to the loop through an ev_async and a mutex-protected result queue. The worker uses its own
 * copy of the ei_cnode, so it shares nothing with the loop thread but the two queues.
 * One worker, not several: two handshakes of one process in flight at once stalled in libei
 * (3 s, until the emulated node's handshake timeout) when both went to one emulator process.
 * Results reach the loop at once after a quiet spell or when the worker has nothing left to
 * do, and during a burst (start-up, a takeover) in batches every LEAF_CONNECT_BATCH_MS: the
 * nodes of a batch come up in one loop iteration, so their node_up events travel upward in
 * one frame (one synced commit at each tier instead of one per node: at 10,000 nodes the
 * roots' commits were most of the start-up time). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "leaf.h"
#include "wr_error.h"
#include "wr_time.h"

#define LEAF_CONNECT_BATCH_MS 2000   /* during a burst, results reach the loop this often */

typedef struct job {
    struct job *next;
    uint32_t    node;
    int         port;
    int         fd;                       /* result */
    char        name[WR_NODE_NAME_MAX];
    char        host[WR_NODE_NAME_MAX];
    char        address[LEAF_ADDR_MAX];
    char        error[200];               /* result */
} job_t;

typedef struct {
    job_t *head, *tail;
} queue_t;

struct leaf_connector {
    struct ev_loop      *loop;
    ev_async             async;
    ev_timer             batch;           /* the next handover of a burst */
    int64_t              last_handover;   /* mono ms */
    ei_cnode             ec;              /* the worker's copy */
    unsigned             timeout_ms;
    leaf_connect_done_fn done;
    void                *ud;
    pthread_t            thread;
    int                  started;
    pthread_mutex_t      mu;
    pthread_cond_t       cv;
    int                  stop;
    int                  busy;            /* the worker runs a job */
    queue_t              todo, results;
};

static void q_push(queue_t *q, job_t *j)
{
    j->next = NULL;
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
}

static job_t *q_pop(queue_t *q)
{
    job_t *j = q->head;
    if (j) {
        q->head = j->next;
        if (!q->head)
            q->tail = NULL;
    }
    return j;
}

static const char *errno_text(int e)
{
    switch (e) {
    case 0:            return "refused (no reason given)";
    case EHOSTUNREACH: return "not registered in epmd, or host unreachable";
    case ETIMEDOUT:    return "timed out";
    case EIO:          return "handshake refused (cookie mismatch, name in use, or peer closed)";
    default:           return strerror(e);
    }
}

static void set_timeout(int fd, unsigned ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);   /* bounds connect() too */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

/* After a failed connect through epmd: asks epmd on host (PORT_PLEASE2) whether alive is
 * registered, to tell "not registered" from a refused handshake. Returns 1 registered,
 * 0 not registered, -1 epmd unreachable. */
static int epmd_knows(const char *host, const char *alive, unsigned timeout_ms)
{
    const char *env = getenv("ERL_EPMD_PORT");
    char port[16];
    snprintf(port, sizeof port, "%d", env && atoi(env) > 0 ? atoi(env) : 4369);
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), result = -1;
    if (fd >= 0)
        set_timeout(fd, timeout_ms);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        unsigned char req[3 + 256];
        size_t n = strlen(alive) > 255 ? 255 : strlen(alive);
        req[0] = (unsigned char)((n + 1) >> 8);
        req[1] = (unsigned char)(n + 1);
        req[2] = 122;                                  /* PORT_PLEASE2_REQ */
        memcpy(req + 3, alive, n);
        struct pollfd p = {fd, POLLIN, 0};
        unsigned char resp[2];
        if (send(fd, req, 3 + n, MSG_NOSIGNAL) == (ssize_t)(3 + n) &&
            poll(&p, 1, (int)timeout_ms) == 1 && recv(fd, resp, 2, MSG_WAITALL) == 2 && resp[0] == 119)
            result = resp[1] == 0;
    }
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return result;
}

/* After a failed connect to a known port: 0 if a plain TCP connect to host:port works (so
 * the handshake itself failed), else the errno of the TCP connect. */
static int tcp_probe(const char *host, int port, unsigned timeout_ms)
{
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, ps, &hints, &ai) != 0 || !ai)
        return EHOSTUNREACH;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), e = 0;
    if (fd >= 0)
        set_timeout(fd, timeout_ms);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)
        e = errno ? errno : EIO;
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return e;
}

static int connect_once(leaf_connector_t *c, job_t *j)
{
    int fd;
    erl_errno = 0;
    if (j->port > 0 && j->address[0]) {
        struct in_addr addr;
        if (inet_pton(AF_INET, j->address, &addr) != 1) {
            snprintf(j->error, sizeof j->error, "bad address %s", j->address);
            return -1;
        }
        fd = ei_xconnect_host_port_tmo(&c->ec, &addr, j->port, c->timeout_ms);
    } else if (j->port > 0) {
        fd = ei_connect_host_port_tmo(&c->ec, j->host, j->port, c->timeout_ms);
    } else {
        fd = ei_connect_tmo(&c->ec, j->name, c->timeout_ms);
    }
    /* erl_interface's _tmo handshakes wait in select(2), which overwrites the stack for a
     * descriptor >= FD_SETSIZE: an established connection moves above it, so a leaf holding
     * 1,100 connections still handshakes on low descriptors (it crashed in ei_connect_helper,
     * tests/integration/test_leaf_many_conns.sh). Done here, on this thread: erl_interface's
     * socket table is not safe to change from two threads (the loop thread never calls into
     * it: it closes its connections with close(2)). */
    if (fd >= 0 && fd < FD_SETSIZE) {
        int hi = fcntl(fd, F_DUPFD_CLOEXEC, FD_SETSIZE);
        if (hi >= 0) {
            ei_close_connection(fd);
            fd = hi;
        }
    }
    if (fd < 0) {
        int e = erl_errno, known = 1;
        char alive[WR_NODE_NAME_MAX];
        snprintf(alive, sizeof alive, "%.*s", (int)strcspn(j->name, "@"), j->name);
        const char *target = j->address[0] ? j->address : j->host;
        int te = e == ETIMEDOUT || j->port == 0 ? 0 : tcp_probe(target, j->port, c->timeout_ms);
        if (te)
            snprintf(j->error, sizeof j->error, "connect to %s:%d failed: %s", target, j->port, strerror(te));
        else if (j->port == 0 && (known = epmd_knows(j->host, alive, c->timeout_ms)) == 0)
            snprintf(j->error, sizeof j->error, "not registered in epmd on %s", j->host);
        else if (known < 0)
            snprintf(j->error, sizeof j->error, "epmd on %s unreachable", j->host);
        else
            snprintf(j->error, sizeof j->error, "handshake failed: %s", errno_text(e));
    }
    return fd;
}

static void *worker(void *arg)
{
    leaf_connector_t *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        while (!c->stop && !c->todo.head)
            pthread_cond_wait(&c->cv, &c->mu);
        if (c->stop) {
            pthread_mutex_unlock(&c->mu);
            return NULL;
        }
        job_t *j = q_pop(&c->todo);
        c->busy = 1;
        pthread_mutex_unlock(&c->mu);

        j->error[0] = '\0';
        j->fd = connect_once(c, j);
        if (j->fd < 0) {
            /* Fast reconnects fail now and then: one retry after a short pause. */
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
            j->fd = connect_once(c, j);
        }
        pthread_mutex_lock(&c->mu);
        q_push(&c->results, j);
        c->busy = 0;
        pthread_mutex_unlock(&c->mu);
        ev_async_send(c->loop, &c->async);
    }
}

/* Hands every result waiting to the loop's callback, in this loop iteration. */
static void handover(leaf_connector_t *c)
{
    for (;;) {
        pthread_mutex_lock(&c->mu);
        job_t *j = q_pop(&c->results);
        pthread_mutex_unlock(&c->mu);
        if (!j)
            break;
        c->last_handover = wr_mono_ms();
        c->done(c->ud, j->node, j->fd, j->fd < 0 ? j->error : NULL);
        free(j);
    }
}

static void on_batch(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    handover(w->data);
}

/* A result is waiting: at once after a quiet spell or at the end of a burst (nothing left to
 * connect), else with the batch of this burst. */
static void on_async(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)revents;
    leaf_connector_t *c = w->data;
    pthread_mutex_lock(&c->mu);
    int idle = !c->busy && !c->todo.head;
    pthread_mutex_unlock(&c->mu);
    int64_t wait = c->last_handover + LEAF_CONNECT_BATCH_MS - wr_mono_ms();
    if (idle || wait <= 0) {
        ev_timer_stop(loop, &c->batch);
        handover(c);
        return;
    }
    if (ev_is_active(&c->batch))
        return;
    ev_timer_set(&c->batch, (double)wait / 1000.0, 0.);
    ev_timer_start(loop, &c->batch);
}

leaf_connector_t *leaf_connector_new(struct ev_loop *loop, const ei_cnode *ec, unsigned timeout_ms,
                                     leaf_connect_done_fn done, void *ud)
{
    leaf_connector_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->loop = loop;
    c->ec = *ec;
    c->timeout_ms = timeout_ms;
    c->done = done;
    c->ud = ud;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    ev_async_init(&c->async, on_async);
    c->async.data = c;
    ev_async_start(loop, &c->async);
    ev_timer_init(&c->batch, on_batch, 0., 0.);
    c->batch.data = c;
    c->last_handover = wr_mono_ms() - LEAF_CONNECT_BATCH_MS;
    if (pthread_create(&c->thread, NULL, worker, c) != 0) {
        leaf_connector_destroy(&c);
        return NULL;
    }
    c->started = 1;
    return c;
}

int leaf_connector_submit(leaf_connector_t *c, uint32_t node, const char *name, const char *host,
                          int port, const char *address)
{
    job_t *j = calloc(1, sizeof *j);
    if (!j)
        return WR_ENOMEM;
    j->node = node;
    j->port = port;
    j->fd = -1;
    snprintf(j->name, sizeof j->name, "%s", name);
    snprintf(j->host, sizeof j->host, "%s", host);
    snprintf(j->address, sizeof j->address, "%s", address ? address : "");
    pthread_mutex_lock(&c->mu);
    q_push(&c->todo, j);
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

void leaf_connector_destroy(leaf_connector_t **cp)
{
    leaf_connector_t *c = cp ? *cp : NULL;
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (c->started)
        pthread_join(c->thread, NULL);
    ev_async_stop(c->loop, &c->async);
    ev_timer_stop(c->loop, &c->batch);
    job_t *j;
    while ((j = q_pop(&c->todo)) != NULL)
        free(j);
    while ((j = q_pop(&c->results)) != NULL) {
        if (j->fd >= 0)
            close(j->fd);
        free(j);
    }
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
    *cp = NULL;
}
