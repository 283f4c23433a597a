/* wr_zwatch: a libev watcher for a ZeroMQ socket.
 *
 * ZMQ_FD signals edge-triggered and only means "ZMQ_EVENTS may have changed". This watcher
 * hides that: an ev_io on ZMQ_FD wakes the loop, an ev_check drains the socket (calling the
 * callback once per readable message while ZMQ_EVENTS shows ZMQ_POLLIN, up to a batch limit
 * per loop iteration so one busy socket cannot starve the loop), and an ev_prepare + ev_idle
 * pair keeps the loop from blocking while messages are still queued (also after a send, which
 * can consume the edge). The callback receives nothing: it calls zmq_msg_recv itself with
 * ZMQ_DONTWAIT. The watcher is a plain struct to embed (libev style); it allocates nothing. */
#ifndef WR_ZWATCH_H
#define WR_ZWATCH_H
#include <ev.h>

typedef struct wr_zwatch wr_zwatch_t;
/* Called while the socket has a message to read; must read at most one message (multipart:
 * all its parts) with ZMQ_DONTWAIT and return. */
typedef void (*wr_zwatch_fn)(wr_zwatch_t *w, void *zsock, void *ud);

struct wr_zwatch {
    /* private */
    struct ev_loop *loop;
    void           *zsock;
    wr_zwatch_fn    fn;
    void           *ud;
    int             batch;
    ev_io           io;
    ev_prepare      prepare;
    ev_check        check;
    ev_idle         idle;
};

/* Starts watching zsock on loop. batch = max messages handled per loop iteration (0 = 256).
 * Returns 0 or WR_EIO (ZMQ_FD unavailable). */
int  wr_zwatch_start(wr_zwatch_t *w, struct ev_loop *loop, void *zsock, int batch, wr_zwatch_fn fn, void *ud);
/* Stops every watcher; the socket is not closed. Safe on a stopped watcher. */
void wr_zwatch_stop(wr_zwatch_t *w);

#endif
