/* wr_zwatch: drives a ZeroMQ socket from libev without losing the ZMQ_FD edge.
 *
 * ev_io on ZMQ_FD only wakes the loop; the ev_check watcher (run after every poll) drains the
 * socket up to the batch limit; the ev_prepare watcher (run before every poll) looks at
 * ZMQ_EVENTS once more and keeps an ev_idle running while messages are still queued, so the
 * loop never blocks with readable messages (batch limit hit, or a zmq_send elsewhere consumed
 * the edge). Knows nothing of the protocol; allocates nothing. */
#include <stddef.h>
#include <zmq.h>
#include "wr_error.h"
#include "wr_zwatch.h"

#define WR_ZWATCH_DEFAULT_BATCH 256

/* 1 if the socket has a message to read now (also processes pending ZeroMQ commands, which
 * resets the ZMQ_FD signal). */
static int zw_readable(void *zsock)
{
    int events = 0;
    size_t len = sizeof events;
    if (zmq_getsockopt(zsock, ZMQ_EVENTS, &events, &len) != 0)
        return 0;
    return (events & ZMQ_POLLIN) != 0;
}

static void zw_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    /* Wake-up only: the check watcher does the work after this poll. */
    (void)loop; (void)io; (void)revents;
}

static void zw_idle_cb(struct ev_loop *loop, ev_idle *idle, int revents)
{
    /* Its being active is what matters: the loop polls without blocking. */
    (void)loop; (void)idle; (void)revents;
}

static void zw_check_cb(struct ev_loop *loop, ev_check *check, int revents)
{
    wr_zwatch_t *w = (wr_zwatch_t *)((char *)check - offsetof(wr_zwatch_t, check));
    (void)loop; (void)revents;
    for (int n = 0; n < w->batch; n++) {
        if (!w->zsock || !zw_readable(w->zsock))
            break;
        w->fn(w, w->zsock, w->ud);
        if (!ev_is_active(&w->check))   /* the callback stopped us */
            break;
    }
}

static void zw_prepare_cb(struct ev_loop *loop, ev_prepare *prepare, int revents)
{
    wr_zwatch_t *w = (wr_zwatch_t *)((char *)prepare - offsetof(wr_zwatch_t, prepare));
    (void)revents;
    if (w->zsock && zw_readable(w->zsock)) {
        if (!ev_is_active(&w->idle))
            ev_idle_start(loop, &w->idle);
    } else if (ev_is_active(&w->idle)) {
        ev_idle_stop(loop, &w->idle);
    }
}

int wr_zwatch_start(wr_zwatch_t *w, struct ev_loop *loop, void *zsock, int batch, wr_zwatch_fn fn, void *ud)
{
    int fd = -1;
    size_t len = sizeof fd;
    if (!w || !loop || !zsock || !fn)
        return WR_EINVAL;
    if (zmq_getsockopt(zsock, ZMQ_FD, &fd, &len) != 0 || fd < 0)
        return WR_EIO;
    w->loop = loop;
    w->zsock = zsock;
    w->fn = fn;
    w->ud = ud;
    w->batch = batch > 0 ? batch : WR_ZWATCH_DEFAULT_BATCH;
    ev_io_init(&w->io, zw_io_cb, fd, EV_READ);
    ev_prepare_init(&w->prepare, zw_prepare_cb);
    ev_check_init(&w->check, zw_check_cb);
    ev_idle_init(&w->idle, zw_idle_cb);
    ev_io_start(loop, &w->io);
    /* prepare/check alone must not keep ev_run alive: only the socket (io) does. */
    ev_prepare_start(loop, &w->prepare);
    ev_unref(loop);
    ev_check_start(loop, &w->check);
    ev_unref(loop);
    return 0;
}

void wr_zwatch_stop(wr_zwatch_t *w)
{
    if (!w || !w->loop)
        return;
    struct ev_loop *loop = w->loop;
    ev_io_stop(loop, &w->io);
    if (ev_is_active(&w->prepare)) {
        ev_ref(loop);
        ev_prepare_stop(loop, &w->prepare);
    }
    if (ev_is_active(&w->check)) {
        ev_ref(loop);
        ev_check_stop(loop, &w->check);
    }
    ev_idle_stop(loop, &w->idle);
    w->zsock = NULL;
    w->loop = NULL;
}
