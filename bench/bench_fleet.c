/* bench_fleet: fake leaves and a fake parent around one real relay (see bench_fleet.h).
 * Single-threaded on one libev loop; the DELTAs are re-encoded per send (fresh envelope,
 * seq and counter) into one reused encoder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "bench.h"
#include "bench_fleet.h"
#include "wr_codec.h"
#include "wr_error.h"
#include "wr_link.h"
#include "wr_metric.h"
#include "wr_rollup.h"
#include "wr_time.h"

typedef struct {
    bench_fleet_t   *fleet;
    size_t           index;
    wr_client_t     *cli;
    wr_origin_t      origin;
    uint64_t         state_seq;     /* DELTAs sent (the counter the relay forwards) */
    double           seen;          /* that counter as the relay's upward view shows it */
    wr_node_entry_t *nodes;
    char             id[WR_ID_MAX];
} fake_leaf_t;

struct bench_fleet {
    struct ev_loop       *loop;
    void                 *zctx;
    bench_fleet_params_t  p;
    fake_leaf_t          *leaves;
    wr_server_t          *parent;
    wr_origin_t           parent_origin;
    wr_encoder_t         *enc;
    wr_rollup_builder_t  *rollup;
    wr_rollup_entry_t    *rollups;
    size_t                n_rollups;
    size_t                frame_bytes;
    size_t                next_child;
    /* the running step */
    bench_fleet_step_t   *step;
    double                rate;
    int64_t               t0_ms;
    int                   sending;
    int                   (*done)(bench_fleet_t *f);
    int64_t               deadline_ms;
    int                   timed_out;
    ev_timer              tick;
    uint64_t              upward_frames;
    uint64_t              snapshots_asked;
    size_t                listed;       /* fake leaves listed up in the relay's last upward frame */
};

static int encode_state(bench_fleet_t *f, fake_leaf_t *l, int type, uint64_t seq)
{
    wr_tier_entry_t tier;
    memset(&tier, 0, sizeof tier);
    snprintf(tier.id, sizeof tier.id, "%s", l->id);
    snprintf(tier.kind, sizeof tier.kind, "leaf");
    tier.parent = -1;
    tier.up = 1;
    tier.nodes_total = (uint32_t)f->p.nodes_per_child;
    tier.nodes_up = tier.nodes_total;
    tier.samples_per_s = (double)seq;
    wr_state_msg_t msg = {
        .interval_ms = 10000, .at_ms = wr_wall_ms(),
        .n_nodes = type == WR_MSG_SNAPSHOT ? f->p.nodes_per_child : f->p.changed, .nodes = l->nodes,
        .n_rollups = f->n_rollups, .rollups = f->rollups, .n_tiers = 1, .tiers = &tier};
    wr_envelope_t env;
    wr_envelope_next(&l->origin, type, &env);
    env.seq = seq;
    int rc = wr_encode_state(f->enc, &env, &msg);
    if (rc == 0)
        f->frame_bytes = wr_encoder_size(f->enc);
    return rc;
}

static void leaf_up(void *ud, int parent)
{
    fake_leaf_t *l = ud;
    if (encode_state(l->fleet, l, WR_MSG_SNAPSHOT, l->state_seq) == 0)
        wr_client_send_to(l->cli, parent, wr_encoder_data(l->fleet->enc), wr_encoder_size(l->fleet->enc));
}

static void leaf_down(void *ud, int parent)
{
    (void)ud;
    (void)parent;
}

static void leaf_message(void *ud, int parent, const wr_envelope_t *env, wr_decoder_t *dec)
{
    fake_leaf_t *l = ud;
    wr_command_t c;
    char why[128];
    if (env->type == WR_MSG_COMMAND && wr_decode_command(dec, &c, why, sizeof why) == 0 && c.cmd_len == 8 &&
        memcmp(c.cmd, "snapshot", 8) == 0) {
        l->fleet->snapshots_asked++;
        leaf_up(l, parent);
    }
}

static void leaf_bad(void *ud, int parent, const char *why)
{
    (void)ud;
    (void)parent;
    (void)why;
}

static void parent_peer_up(void *ud, const char *peer, const wr_envelope_t *env, const wr_hello_t *hello)
{
    (void)ud;
    (void)peer;
    (void)env;
    (void)hello;
}

static void parent_peer_down(void *ud, const char *peer)
{
    (void)ud;
    (void)peer;
}

/* The relay's upward SNAPSHOT / DELTA: which DELTA of each fake leaf it reflects. */
static void parent_message(void *ud, const char *peer, const wr_envelope_t *env, wr_decoder_t *dec)
{
    bench_fleet_t *f = ud;
    (void)peer;
    if (env->type != WR_MSG_SNAPSHOT && env->type != WR_MSG_DELTA)
        return;
    wr_state_msg_t msg;
    char why[128];
    if (wr_decode_state(dec, 0, &msg, why, sizeof why) == 0) {
        f->upward_frames++;
        size_t listed = 0;
        for (size_t i = 0; i < msg.n_tiers; i++) {
            const wr_tier_entry_t *t = &msg.tiers[i];
            unsigned idx;
            if (strcmp(t->kind, "leaf") != 0 || sscanf(t->id, "bl-%u", &idx) != 1 || idx >= f->p.children)
                continue;
            if (t->up) {
                listed++;
                f->leaves[idx].seen = t->samples_per_s;
            }
        }
        f->listed = listed;
    }
    wr_state_msg_clear(&msg);
}

static void parent_bad(void *ud, const char *peer, const char *why)
{
    (void)ud;
    (void)peer;
    (void)why;
}

bench_fleet_t *bench_fleet_new(struct ev_loop *loop, const bench_fleet_params_t *p, char *err, size_t errlen)
{
    bench_fleet_t *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    f->loop = loop;
    f->p = *p;
    if (f->p.rollups > wr_metric_count)
        f->p.rollups = wr_metric_count;
    if (f->p.changed > f->p.nodes_per_child)
        f->p.changed = f->p.nodes_per_child;
    f->zctx = zmq_ctx_new();
    f->enc = wr_encoder_new();
    f->leaves = calloc(p->children, sizeof *f->leaves);
    f->rollups = calloc(f->p.rollups ? f->p.rollups : 1, sizeof *f->rollups);
    f->rollup = f->p.rollups ? wr_rollup_builder_new(f->p.rollups, WR_TOPK_DEFAULT) : NULL;
    if (!f->zctx || !f->enc || !f->leaves || !f->rollups || (f->p.rollups && !f->rollup)) {
        snprintf(err, errlen, "out of memory");
        bench_fleet_destroy(&f);
        return NULL;
    }
    /* One interval's rollups over nodes_per_child nodes: every fake leaf sends the same. */
    uint64_t x = 88172645463325252ull;
    for (size_t n = 0; n < f->p.nodes_per_child; n++) {
        char name[64];
        snprintf(name, sizeof name, "bl-0-n%05zu@bench", n);
        for (size_t m = 0; m < f->p.rollups; m++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            wr_rollup_builder_add(f->rollup, m, name, (double)(x % 100000) + 1);
        }
    }
    f->n_rollups = f->rollup ? wr_rollup_builder_fill(f->rollup, f->rollups, f->p.rollups) : 0;

    wr_link_params_t lp;
    wr_link_params_default(&lp);
    wr_origin_init(&f->parent_origin, "bench-parent");
    static const wr_server_callbacks_t scb = {parent_peer_up, parent_peer_down, parent_message, parent_bad};
    f->parent = wr_server_new(loop, f->zctx, p->parent_endpoint, &f->parent_origin, &lp, &scb, f, err, errlen);
    if (!f->parent) {
        bench_fleet_destroy(&f);
        return NULL;
    }
    static const wr_client_callbacks_t ccb = {leaf_up, leaf_down, leaf_message, leaf_bad};
    const char *eps[1] = {p->relay_endpoint};
    for (size_t i = 0; i < p->children; i++) {
        fake_leaf_t *l = &f->leaves[i];
        l->fleet = f;
        l->index = i;
        snprintf(l->id, sizeof l->id, "bl-%zu", i);
        l->nodes = calloc(f->p.nodes_per_child, sizeof *l->nodes);
        if (!l->nodes) {
            snprintf(err, errlen, "out of memory");
            bench_fleet_destroy(&f);
            return NULL;
        }
        int64_t now = wr_wall_ms();
        for (size_t n = 0; n < f->p.nodes_per_child; n++) {
            snprintf(l->nodes[n].name, sizeof l->nodes[n].name, "bl-%zu-n%05zu@bench", i, n);
            l->nodes[n].state = WR_NODE_UP;
            l->nodes[n].since_ms = now;
            snprintf(l->nodes[n].leaf, sizeof l->nodes[n].leaf, "%s", l->id);
        }
        wr_origin_init(&l->origin, l->id);
        wr_hello_t hello;
        memset(&hello, 0, sizeof hello);
        snprintf(hello.kind, sizeof hello.kind, "leaf");
        snprintf(hello.id, sizeof hello.id, "%s", l->id);
        snprintf(hello.version, sizeof hello.version, "%s", WARREN_VERSION);
        hello.interval_ms = 10000;
        l->cli = wr_client_new(loop, f->zctx, eps, 1, WR_PARENTS_FAILOVER, &l->origin, &hello, &lp, &ccb, l, err,
                               errlen);
        if (!l->cli) {
            bench_fleet_destroy(&f);
            return NULL;
        }
    }
    return f;
}

void bench_fleet_destroy(bench_fleet_t **fp)
{
    if (!fp || !*fp)
        return;
    bench_fleet_t *f = *fp;
    ev_timer_stop(f->loop, &f->tick);
    for (size_t i = 0; f->leaves && i < f->p.children; i++) {
        wr_client_destroy(&f->leaves[i].cli);
        free(f->leaves[i].nodes);
    }
    wr_server_destroy(&f->parent);
    free(f->leaves);
    free(f->rollups);   /* the entries' sketches and top-Ks belong to the builder */
    wr_rollup_builder_destroy(&f->rollup);
    wr_encoder_destroy(&f->enc);
    if (f->zctx)
        zmq_ctx_term(f->zctx);
    free(f);
    *fp = NULL;
}

size_t bench_fleet_frame_bytes(const bench_fleet_t *f)
{
    return f->frame_bytes;
}

static void send_due(bench_fleet_t *f, int64_t now)
{
    bench_fleet_step_t *s = f->step;
    uint64_t due = (uint64_t)(f->rate * (double)(now - f->t0_ms) / 1000.0);
    while (s->offered < due) {
        fake_leaf_t *l = &f->leaves[f->next_child];
        f->next_child = (f->next_child + 1) % f->p.children;
        s->offered++;
        if (encode_state(f, l, WR_MSG_DELTA, l->state_seq + 1) != 0) {
            s->refused++;
            continue;
        }
        if (wr_client_send(l->cli, wr_encoder_data(f->enc), wr_encoder_size(f->enc)) == 0) {
            l->state_seq++;   /* numbered only when sent: a refused DELTA is no gap */
            s->sent++;
        } else {
            s->refused++;
        }
    }
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    bench_fleet_t *f = w->data;
    ev_now_update(loop);
    int64_t now = wr_mono_ms();
    if (f->sending)
        send_due(f, now);
    if (bench_interrupted || now >= f->deadline_ms) {
        f->timed_out = !bench_interrupted && (!f->done || !f->done(f));
        ev_break(loop, EVBREAK_ONE);
    } else if (f->done && f->done(f)) {
        ev_break(loop, EVBREAK_ONE);
    }
}

/* Runs the loop with a 2 ms tick until done(f) or the deadline. */
static void run_until(bench_fleet_t *f, int (*done)(bench_fleet_t *), double seconds)
{
    f->done = done;
    f->timed_out = 0;
    f->deadline_ms = wr_mono_ms() + (int64_t)(seconds * 1000);
    ev_timer_init(&f->tick, on_tick, 0.002, 0.002);
    f->tick.data = f;
    ev_timer_start(f->loop, &f->tick);
    ev_run(f->loop, 0);
    ev_timer_stop(f->loop, &f->tick);
}

static int all_ready(bench_fleet_t *f)
{
    for (size_t i = 0; i < f->p.children; i++)
        if (!wr_client_parent_up(f->leaves[i].cli, 0))
            return 0;
    return f->listed == f->p.children;
}

int bench_fleet_wait_ready(bench_fleet_t *f, double timeout_s)
{
    run_until(f, all_ready, timeout_s);
    if (bench_interrupted)
        return WR_ECLOSED;
    return all_ready(f) ? 0 : WR_ETIMEDOUT;
}

static uint64_t backlog(const bench_fleet_t *f)
{
    uint64_t b = 0;
    for (size_t i = 0; i < f->p.children; i++)
        if ((double)f->leaves[i].state_seq > f->leaves[i].seen)
            b += f->leaves[i].state_seq - (uint64_t)f->leaves[i].seen;
    return b;
}

static int drained(bench_fleet_t *f)
{
    return backlog(f) == 0;
}

int bench_fleet_run(bench_fleet_t *f, double rate, double seconds, bench_fleet_step_t *out)
{
    memset(out, 0, sizeof *out);
    f->step = out;
    f->rate = rate;
    f->t0_ms = wr_mono_ms();
    f->sending = 1;
    uint64_t up0 = f->upward_frames, snap0 = f->snapshots_asked;
    run_until(f, NULL, seconds);
    f->sending = 0;
    out->seconds = (wr_mono_ms() - f->t0_ms) / 1000.0;
    out->upward_frames = f->upward_frames - up0;
    out->snapshots_asked = f->snapshots_asked - snap0;
    out->backlog = backlog(f);
    for (size_t i = 0; i < f->p.children; i++)
        out->children_up += wr_client_parent_up(f->leaves[i].cli, 0) != 0;
    f->step = NULL;
    return bench_interrupted ? WR_ECLOSED : 0;
}

int64_t bench_fleet_drain(bench_fleet_t *f, double timeout_s)
{
    int64_t t0 = wr_mono_ms();
    run_until(f, drained, timeout_s);
    return drained(f) ? wr_mono_ms() - t0 : -1;
}
