/* leaf_poll: the poll tick and the replies. Every interval: write the samples that arrived
 * since the previous tick (one txn), send the DELTA, mark silent nodes down, then send each UP
 * node either the agent's one collect call (leaf_agent.c, when the agent runs there) or the
 * agentless calls to rex, pipelined, each tagged with a fresh ref:
 *     {'$gen_call', {SelfPid, Ref}, {call, M, F, A, user}}
 * Replies arrive as {Ref, Reply} messages to our pid and are matched by ref (unknown refs,
 * e.g. late replies, are counted and dropped). */
#include <assert.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include "leaf.h"
#include "wr_agg.h"
#include "wr_error.h"
#include "wr_log.h"
#include "wr_time.h"

typedef struct {
    const char  *mod, *fun, *arg;     /* arg NULL: no argument */
    leaf_shape_t shape;
    const char  *metrics[LEAF_PARSE_MAX_VALUES];   /* per value slot */
} leaf_call_t;

static const leaf_call_t calls[LEAF_CALLS] = {
    {"erlang", "memory", NULL, LEAF_SHAPE_MEMORY,
     {"memory.total", "memory.processes", "memory.processes_used", "memory.system", "memory.atom",
      "memory.atom_used", "memory.binary", "memory.code", "memory.ets"}},
    {"erlang", "system_info", "process_count", LEAF_SHAPE_INT, {"process.count"}},
    {"erlang", "system_info", "process_limit", LEAF_SHAPE_INT, {"process.limit"}},
    {"erlang", "system_info", "port_count", LEAF_SHAPE_INT, {"port.count"}},
    {"erlang", "system_info", "port_limit", LEAF_SHAPE_INT, {"port.limit"}},
    {"erlang", "system_info", "atom_count", LEAF_SHAPE_INT, {"atom.count"}},
    {"erlang", "system_info", "atom_limit", LEAF_SHAPE_INT, {"atom.limit"}},
    {"erlang", "system_info", "ets_count", LEAF_SHAPE_INT, {"ets.count"}},
    {"erlang", "system_info", "ets_limit", LEAF_SHAPE_INT, {"ets.limit"}},
    {"erlang", "statistics", "run_queue", LEAF_SHAPE_INT, {"run_queue"}},
    {"erlang", "statistics", "reductions", LEAF_SHAPE_PAIR_FIRST, {"reductions"}},
    {"erlang", "statistics", "io", LEAF_SHAPE_IO, {"io.input", "io.output"}},
    {"erlang", "statistics", "wall_clock", LEAF_SHAPE_PAIR_FIRST, {"uptime"}},
};

void leaf_poll_init(leaf_t *lf)
{
    assert(wr_metric_count <= LEAF_METRICS_MAX);
    for (int c = 0; c < LEAF_CALLS; c++)
        for (int s = 0; s < LEAF_PARSE_MAX_VALUES; s++) {
            const char *m = calls[c].metrics[s];
            lf->call_metric[c][s] = m ? wr_metric_find(m) : -1;
            if (m && lf->call_metric[c][s] < 0)
                WR_WARN("metric %s is not in the catalogue: not kept", m);
        }
}

static int encode_call(leaf_t *lf, const leaf_call_t *c, const erlang_ref *ref)
{
    int rc = leaf_rpc_head(lf, ref, c->mod, c->fun, c->arg ? 1 : 0);
    if (c->arg)
        rc |= ei_x_encode_atom(&lf->tx, c->arg) ? WR_ENOMEM : 0;
    return rc | leaf_rpc_tail(lf);
}

static void send_calls(leaf_t *lf, leaf_node_t *n, int64_t now_wall)
{
    n->round_ts = now_wall;
    for (int c = 0; c < LEAF_CALLS; c++) {
        leaf_inflight_t *f = &n->inflight[c];
        if (f->live)
            lf->calls_unanswered++;   /* previous round unanswered: its ref is replaced */
        erlang_ref ref;
        if (ei_make_ref(&lf->ec, &ref) < 0 || encode_call(lf, &calls[c], &ref) != 0) {
            WR_WARN("node %s: cannot build call %s:%s", n->name, calls[c].mod, calls[c].fun);
            continue;
        }
        if (leaf_beam_send_rex(lf, n) != 0) {
            char why[128];
            snprintf(why, sizeof why, "send failed (%s)", erl_errno ? strerror(erl_errno) : "closed");
            leaf_node_lost(lf, n, why);
            return;
        }
        leaf_ref_keep(&f->ref, &ref);
        f->live = 1;
    }
}

/* Folds the pending samples into this interval's aggregates (UP nodes only); counters
 * contribute their per-second rate against the node's previous sample. */
static void aggregate_pending(leaf_t *lf)
{
    leaf_rollup_reset(lf);
    for (size_t i = 0; i < lf->n_pending; i++) {
        const leaf_sample_t *s = &lf->pending[i];
        leaf_node_t *n = &lf->nodes[s->node];
        double v = s->value;
        int ok = 1;
        int c = leaf_counter_slot(s->metric);     /* rates need the previous sample */
        if (c >= 0) {
            int64_t pts = n->ctr_ts[c];
            double pv = n->ctr_val[c];
            ok = pts > 0 && s->ts_ms > pts && v >= pv;
            if (ok)
                v = (v - pv) * 1000.0 / (double)(s->ts_ms - pts);
            n->ctr_ts[c] = s->ts_ms;
            n->ctr_val[c] = s->value;
        }
        if (ok && n->state == WR_NODE_UP)
            leaf_rollup_add(lf, n, s->metric, v);
    }
}

void leaf_poll_tick(leaf_t *lf)
{
    int64_t now_mono = wr_mono_ms(), now_wall = wr_wall_ms();
    aggregate_pending(lf);
    leaf_alarms_eval(lf, now_wall);     /* this round's samples, before the flush */
    leaf_events_flush(lf);              /* its alarms go up now, not after the flush and calls */
    size_t written = leaf_samples_flush(lf);
    lf->samples_per_s = (double)written / lf->cfg.interval;
    /* the pages this round's commit read through the map leave our RSS (page cache keeps
     * them; the next round faults back the few it needs): measured 2.7 MB a leaf after 90 s */
    if (lf->store)
        (void)wr_store_release_pages(lf->store);
    leaf_up_send_delta(lf);

    int64_t silent_max = (int64_t)(lf->cfg.down_after * lf->cfg.interval * 1000.0);
    size_t n_owned;
    const uint32_t *owned = leaf_owned_nodes(lf, &n_owned);
    for (size_t k = 0; k < n_owned; k++) {
        leaf_node_t *n = &lf->nodes[owned[k]];
        if (n->state != WR_NODE_UP || n->fd < 0)
            continue;
        if (now_mono - n->last_reply_mono > silent_max) {
            char why[64];
            snprintf(why, sizeof why, "no reply for %d intervals", lf->cfg.down_after);
            leaf_node_lost(lf, n, why);
            continue;
        }
        int agent = leaf_agent_tick(lf, n, now_wall);   /* 1: collect sent; -1: node lost */
        if (agent == 0)
            send_calls(lf, n, now_wall);
    }
}

void leaf_poll_on_message(leaf_t *lf, leaf_node_t *n)
{
    char why[256];
    erlang_ref ref;
    int ri = 0;
    int len = lf->rx.index > lf->rx.buffsz ? lf->rx.buffsz : lf->rx.index;
    if (leaf_parse_envelope(lf->rx.buff, len, &ref, &ri, why, sizeof why) != 0) {
        lf->bad_messages++;
        WR_DEBUG("node %s: unexpected message: %s", n->name, why);
        return;
    }
    int c;
    for (c = 0; c < LEAF_CALLS; c++)
        if (n->inflight[c].live && leaf_ref_match(&n->inflight[c].ref, &ref))
            break;
    if (c == LEAF_CALLS && leaf_agent_on_reply(lf, n, &ref, ri))
        return;
    if (c == LEAF_CALLS && leaf_procs_on_reply(lf, n, &ref, ri))
        return;
    if (c == LEAF_CALLS) {
        lf->unknown_refs++;
        WR_DEBUG("node %s: reply with an unknown ref (late or foreign), dropped", n->name);
        return;
    }
    n->inflight[c].live = 0;
    n->last_reply_mono = wr_mono_ms();
    leaf_values_t vals;
    if (leaf_parse_reply(lf->rx.buff, ri, calls[c].shape, &vals, why, sizeof why) != 0) {
        lf->parse_errors++;
        WR_DEBUG("node %s: %s:%s(%s): %s", n->name, calls[c].mod, calls[c].fun,
                 calls[c].arg ? calls[c].arg : "", why);
        return;
    }
    for (int s = 0; s < LEAF_PARSE_MAX_VALUES; s++) {
        int m = lf->call_metric[c][s];
        if ((vals.mask & (1u << s)) && m >= 0)
            leaf_samples_add(lf, n->idx, (uint32_t)m, n->round_ts, vals.v[s]);
    }
}
