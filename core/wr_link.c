/* wr_link: parameters and socket helpers shared by the server (wr_link_server.c) and client
 * (wr_link_client.c) sides of the links between tiers. */
#include <stdio.h>
#include <string.h>
#include <zmq.h>
#include "wr_error.h"
#include "wr_link.h"
#include "wr_link_priv.h"

void wr_link_params_default(wr_link_params_t *p)
{
    memset(p, 0, sizeof *p);
    p->heartbeat_ms = 1000;
    p->misses = 3;
    p->sndhwm = 10000;
    p->rcvhwm = 10000;
    p->max_frame = WR_WIRE_DEFAULT_MAX_FRAME;
}

void wr_link_params_resolve(const wr_link_params_t *in, wr_link_params_t *out)
{
    wr_link_params_t d;
    wr_link_params_default(&d);
    if (!in) {
        *out = d;
        return;
    }
    *out = *in;
    if (out->heartbeat_ms == 0) out->heartbeat_ms = d.heartbeat_ms;
    if (out->misses == 0)       out->misses = d.misses;
    if (out->sndhwm <= 0)       out->sndhwm = d.sndhwm;
    if (out->rcvhwm <= 0)       out->rcvhwm = d.rcvhwm;
    if (out->max_frame == 0)    out->max_frame = d.max_frame;
}

int wr_link_setopt_int(void *zsock, int opt, int value, const char *name, char *err, size_t errlen)
{
    if (zmq_setsockopt(zsock, opt, &value, sizeof value) == 0)
        return 0;
    if (err && errlen)
        snprintf(err, errlen, "setsockopt %s: %s", name, zmq_strerror(zmq_errno()));
    return WR_EIO;
}

int wr_link_sock_setup(void *zsock, const wr_link_params_t *p, char *err, size_t errlen)
{
    /* Frames over max_frame are refused by ZeroMQ before it allocates them (the sending
     * connection is dropped); the decoder enforces the same cap on everything else. */
    int64_t maxmsg = (int64_t)p->max_frame;
    if (wr_link_setopt_int(zsock, ZMQ_LINGER, 0, "ZMQ_LINGER", err, errlen) ||
        wr_link_setopt_int(zsock, ZMQ_SNDHWM, p->sndhwm, "ZMQ_SNDHWM", err, errlen) ||
        wr_link_setopt_int(zsock, ZMQ_RCVHWM, p->rcvhwm, "ZMQ_RCVHWM", err, errlen))
        return WR_EIO;
    if (zmq_setsockopt(zsock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0) {
        if (err && errlen)
            snprintf(err, errlen, "setsockopt ZMQ_MAXMSGSIZE: %s", zmq_strerror(zmq_errno()));
        return WR_EIO;
    }
    return 0;
}

int wr_link_drain_parts(void *zsock)
{
    int n = 0, more = 1;
    size_t len = sizeof more;
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (more) {
        if (zmq_getsockopt(zsock, ZMQ_RCVMORE, &more, &len) != 0 || !more)
            break;
        if (zmq_msg_recv(&m, zsock, ZMQ_DONTWAIT) < 0)
            break;
        n++;
    }
    zmq_msg_close(&m);
    return n;
}
