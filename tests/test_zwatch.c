/* test_zwatch: the ZMQ_FD edge-trigger trap wrapper, with real ZeroMQ sockets and one libev
 * loop driven only by ev_run (a deadline timer fails the test instead of hanging). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <ev.h>
#include <zmq.h>
#include "wr_error.h"
#include "wr_zwatch.h"

#define N_MSGS 10000

static void set_int(void *s, int opt, int v)
{
    assert_int_equal(zmq_setsockopt(s, opt, &v, sizeof v), 0);
}

static void deadline_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    *(int *)t->data = 1;
    ev_break(loop, EVBREAK_ALL);
}

/* ---- 1: every message arrives, with sends inside the receive callback ---------------- */

typedef struct {
    void      *s;            /* sender; receives the echoes */
    void      *r;            /* receiver; echoes each message back */
    uint32_t   next_send;
    uint32_t   received;
    uint32_t   echoes;
    int        out_of_order;
    int        echo_failed;
    wr_zwatch_t ws, wr;
} burst_t;

static void burst_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    burst_t *b = t->data;
    (void)loop; (void)revents;
    for (int i = 0; i < 300 && b->next_send < N_MSGS; i++) {
        uint32_t v = b->next_send;
        if (zmq_send(b->s, &v, sizeof v, ZMQ_DONTWAIT) < 0) {
            assert_int_equal(zmq_errno(), EAGAIN);   /* HWM: retry on the next tick */
            break;
        }
        b->next_send++;
    }
}

static void recv_cb(wr_zwatch_t *w, void *zsock, void *ud)
{
    burst_t *b = ud;
    uint32_t v = 0;
    (void)w;
    int rc = zmq_recv(zsock, &v, sizeof v, ZMQ_DONTWAIT);
    if (rc < 0) {
        assert_int_equal(zmq_errno(), EAGAIN);
        return;
    }
    assert_int_equal(rc, (int)sizeof v);
    if (v != b->received)
        b->out_of_order++;
    b->received++;
    /* A send on the same socket may consume the ZMQ_FD edge of pending input. */
    if (zmq_send(zsock, &v, sizeof v, ZMQ_DONTWAIT) < 0)
        b->echo_failed++;
    if (b->received == N_MSGS && b->echoes == N_MSGS)
        ev_break(b->wr.loop, EVBREAK_ALL);
}

static void echo_cb(wr_zwatch_t *w, void *zsock, void *ud)
{
    burst_t *b = ud;
    uint32_t v = 0;
    (void)w;
    int rc = zmq_recv(zsock, &v, sizeof v, ZMQ_DONTWAIT);
    if (rc < 0)
        return;
    b->echoes++;
    if (b->received == N_MSGS && b->echoes == N_MSGS)
        ev_break(b->ws.loop, EVBREAK_ALL);
}

static void test_no_lost_messages(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    void *ctx = zmq_ctx_new();
    burst_t b;
    memset(&b, 0, sizeof b);
    b.s = zmq_socket(ctx, ZMQ_DEALER);
    b.r = zmq_socket(ctx, ZMQ_DEALER);
    set_int(b.s, ZMQ_LINGER, 0);
    set_int(b.r, ZMQ_LINGER, 0);
    set_int(b.s, ZMQ_SNDHWM, 1000);   /* forward direction: small, exercises EAGAIN */
    set_int(b.r, ZMQ_RCVHWM, 1000);
    set_int(b.r, ZMQ_SNDHWM, 0);      /* echo direction: unbounded, echoes never drop */
    set_int(b.s, ZMQ_RCVHWM, 0);
    assert_int_equal(zmq_bind(b.s, "tcp://127.0.0.1:21001"), 0);
    assert_int_equal(zmq_connect(b.r, "tcp://127.0.0.1:21001"), 0);

    assert_int_equal(wr_zwatch_start(&b.ws, loop, b.s, 0, echo_cb, &b), 0);
    assert_int_equal(wr_zwatch_start(&b.wr, loop, b.r, 16, recv_cb, &b), 0);

    ev_timer burst, deadline;
    int timed_out = 0;
    ev_timer_init(&burst, burst_timer_cb, 0.001, 0.001);
    burst.data = &b;
    ev_timer_start(loop, &burst);
    ev_timer_init(&deadline, deadline_cb, 10.0, 0.);
    deadline.data = &timed_out;
    ev_timer_start(loop, &deadline);

    ev_run(loop, 0);

    assert_int_equal(timed_out, 0);
    assert_int_equal(b.next_send, N_MSGS);
    assert_int_equal(b.received, N_MSGS);
    assert_int_equal(b.echoes, N_MSGS);
    assert_int_equal(b.out_of_order, 0);
    assert_int_equal(b.echo_failed, 0);

    ev_timer_stop(loop, &burst);
    ev_timer_stop(loop, &deadline);
    wr_zwatch_stop(&b.ws);
    wr_zwatch_stop(&b.wr);
    wr_zwatch_stop(&b.wr);              /* safe twice */
    zmq_close(b.s);
    zmq_close(b.r);
    zmq_ctx_term(ctx);
    ev_loop_destroy(loop);
}

/* ---- 2: the batch limit does not starve a second socket ------------------------------ */

#define FLOOD 5000
#define BATCH 10

typedef struct {
    uint32_t    a_count, b_count;
    uint32_t    a_count_when_b;
    wr_zwatch_t wa, wb;
} fair_t;

static void fair_a_cb(wr_zwatch_t *w, void *zsock, void *ud)
{
    fair_t *f = ud;
    char buf[8];
    (void)w;
    if (zmq_recv(zsock, buf, sizeof buf, ZMQ_DONTWAIT) >= 0)
        f->a_count++;
    if (f->a_count == FLOOD && f->b_count == 1)
        ev_break(w->loop, EVBREAK_ALL);
}

static void fair_b_cb(wr_zwatch_t *w, void *zsock, void *ud)
{
    fair_t *f = ud;
    char buf[8];
    (void)w;
    if (zmq_recv(zsock, buf, sizeof buf, ZMQ_DONTWAIT) >= 0) {
        f->b_count++;
        f->a_count_when_b = f->a_count;
    }
    if (f->a_count == FLOOD && f->b_count == 1)
        ev_break(w->loop, EVBREAK_ALL);
}

static void test_batch_does_not_starve(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    void *ctx = zmq_ctx_new();
    void *a_out = zmq_socket(ctx, ZMQ_PUSH), *a_in = zmq_socket(ctx, ZMQ_PULL);
    void *b_out = zmq_socket(ctx, ZMQ_PUSH), *b_in = zmq_socket(ctx, ZMQ_PULL);
    void *socks[] = {a_out, a_in, b_out, b_in};
    for (int i = 0; i < 4; i++) {
        set_int(socks[i], ZMQ_LINGER, 0);
        set_int(socks[i], ZMQ_SNDHWM, 0);
        set_int(socks[i], ZMQ_RCVHWM, 0);
    }
    assert_int_equal(zmq_bind(a_in, "inproc://zwatch-a"), 0);
    assert_int_equal(zmq_bind(b_in, "inproc://zwatch-b"), 0);
    assert_int_equal(zmq_connect(a_out, "inproc://zwatch-a"), 0);
    assert_int_equal(zmq_connect(b_out, "inproc://zwatch-b"), 0);
    /* Everything is queued before the loop runs: one wake-up edge for all of it. */
    for (int i = 0; i < FLOOD; i++)
        assert_int_equal(zmq_send(a_out, "a", 1, ZMQ_DONTWAIT), 1);
    assert_int_equal(zmq_send(b_out, "b", 1, ZMQ_DONTWAIT), 1);

    fair_t f;
    memset(&f, 0, sizeof f);
    assert_int_equal(wr_zwatch_start(&f.wa, loop, a_in, BATCH, fair_a_cb, &f), 0);
    assert_int_equal(wr_zwatch_start(&f.wb, loop, b_in, BATCH, fair_b_cb, &f), 0);
    ev_timer deadline;
    int timed_out = 0;
    ev_timer_init(&deadline, deadline_cb, 10.0, 0.);
    deadline.data = &timed_out;
    ev_timer_start(loop, &deadline);

    ev_run(loop, 0);

    assert_int_equal(timed_out, 0);
    assert_int_equal(f.a_count, FLOOD);
    assert_int_equal(f.b_count, 1);
    /* b was served within the first couple of loop iterations, not after a's 5000. */
    assert_true(f.a_count_when_b <= 2 * BATCH);

    ev_timer_stop(loop, &deadline);
    wr_zwatch_stop(&f.wa);
    wr_zwatch_stop(&f.wb);
    for (int i = 0; i < 4; i++)
        zmq_close(socks[i]);
    zmq_ctx_term(ctx);
    ev_loop_destroy(loop);
}

/* ---- 3: stopping from inside the callback; ev_run returns once only the loop is left -- */

static void stop_cb(wr_zwatch_t *w, void *zsock, void *ud)
{
    char buf[8];
    (void)ud;
    if (zmq_recv(zsock, buf, sizeof buf, ZMQ_DONTWAIT) >= 0)
        (*(int *)ud)++;
    wr_zwatch_stop(w);
}

static void test_stop_inside_callback(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    void *ctx = zmq_ctx_new();
    void *out = zmq_socket(ctx, ZMQ_PUSH), *in = zmq_socket(ctx, ZMQ_PULL);
    set_int(out, ZMQ_LINGER, 0);
    set_int(in, ZMQ_LINGER, 0);
    assert_int_equal(zmq_bind(in, "inproc://zwatch-stop"), 0);
    assert_int_equal(zmq_connect(out, "inproc://zwatch-stop"), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(zmq_send(out, "x", 1, ZMQ_DONTWAIT), 1);

    wr_zwatch_t w;
    memset(&w, 0, sizeof w);
    wr_zwatch_stop(&w);                 /* never started: safe */
    assert_int_equal(wr_zwatch_start(&w, loop, NULL, 0, stop_cb, NULL), WR_EINVAL);
    int got = 0;
    assert_int_equal(wr_zwatch_start(&w, loop, in, 0, stop_cb, &got), 0);
    ev_timer deadline;
    int timed_out = 0;
    ev_timer_init(&deadline, deadline_cb, 5.0, 0.);
    deadline.data = &timed_out;
    ev_timer_start(loop, &deadline);
    ev_unref(loop);                     /* the deadline alone must not keep ev_run alive */

    ev_run(loop, 0);                    /* returns when the watcher stopped itself */

    assert_int_equal(timed_out, 0);
    assert_int_equal(got, 1);           /* exactly one message handled, then stopped */
    ev_ref(loop);
    ev_timer_stop(loop, &deadline);
    wr_zwatch_stop(&w);
    zmq_close(out);
    zmq_close(in);
    zmq_ctx_term(ctx);
    ev_loop_destroy(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_lost_messages),
        cmocka_unit_test(test_batch_does_not_starve),
        cmocka_unit_test(test_stop_inside_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
