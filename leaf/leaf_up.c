/* leaf_up: the leaf's link to its parents (core/wr_link.h wr_client). HELLO says kind "leaf";
 * a parent coming up gets a SNAPSHOT (every node); every poll interval, and 100 ms after any
 * node changes state (coalesced), a DELTA goes upward with the changed nodes, the rollups of
 * the interval and the leaf's tier entry. COMMAND "snapshot" is answered with a SNAPSHOT;
 * QUERY kind "metric" is answered with a REPLY from the store, to the parent that asked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "leaf.h"
#include "leaf_census.h"
#include "wr_error.h"
#include "wr_log.h"
#include "wr_time.h"

static const char *parent_name(leaf_t *lf, int i)
{
    return i >= 0 && (size_t)i < lf->cfg.n_parents ? lf->cfg.parents[i] : "?";
}

/* Builds the state message: every node (snapshot) or the dirty ones (delta); only the nodes
 * this leaf owns (leaf_group.c). snapshot == 2: an empty SNAPSHOT (no nodes, rollups or
 * tiers), sent to a standby parent in failover mode so it keeps no stale copy of our nodes. */
static void build_state(leaf_t *lf, int snapshot, wr_state_msg_t *msg, wr_tier_entry_t *tier)
{
    if (snapshot == 2) {
        memset(msg, 0, sizeof *msg);
        msg->interval_ms = (uint32_t)(lf->cfg.interval * 1000.0);
        msg->at_ms = wr_wall_ms();
        return;
    }
    memset(msg, 0, sizeof *msg);
    msg->interval_ms = (uint32_t)(lf->cfg.interval * 1000.0);
    msg->at_ms = wr_wall_ms();
    size_t k = 0;
    uint32_t up = 0;
    size_t n_owned;
    const uint32_t *own = leaf_owned_nodes(lf, &n_owned);
    for (size_t j = 0; j < n_owned; j++) {
        leaf_node_t *n = &lf->nodes[own[j]];
        if (n->state == WR_NODE_UP)
            up++;
        if (!snapshot && !n->dirty)
            continue;
        wr_node_entry_t *e = &lf->msg_nodes[k++];
        memcpy(e->name, n->name, sizeof e->name);
        e->state = (uint8_t)n->state;
        e->since_ms = n->since_ms;
        snprintf(e->leaf, sizeof e->leaf, "%s", lf->cfg.id);
    }
    msg->n_nodes = k;
    msg->nodes = lf->msg_nodes;
    msg->n_rollups = leaf_rollup_fill(lf, lf->msg_rollups, LEAF_METRICS_MAX);
    msg->rollups = lf->msg_rollups;
    leaf_census_fill(lf, msg, snapshot);   /* the census summary, when it changed */
    memset(tier, 0, sizeof *tier);
    snprintf(tier->id, sizeof tier->id, "%s", lf->cfg.id);
    snprintf(tier->kind, sizeof tier->kind, "leaf");
    tier->parent = -1;
    tier->up = 1;
    tier->nodes_total = (uint32_t)n_owned;
    tier->nodes_up = up;
    tier->samples_per_s = lf->samples_per_s;
    if (lf->cli) {
        wr_link_stats_t st;
        wr_client_stats(lf->cli, &st);
        wr_link_meter_update(&lf->link_meter, &st, wr_mono_ms(),
                             (int64_t)(lf->cfg.interval * 500.0));
    }
    tier->frames_in_per_s = lf->link_meter.rates.frames_in;
    tier->frames_out_per_s = lf->link_meter.rates.frames_out;
    tier->bytes_in_per_s = lf->link_meter.rates.bytes_in;
    tier->bytes_out_per_s = lf->link_meter.rates.bytes_out;
    msg->n_tiers = 1;
    msg->tiers = tier;
}

static int encode_state(leaf_t *lf, int type, int empty)
{
    wr_state_msg_t msg;
    wr_tier_entry_t tier;
    wr_envelope_t env;
    build_state(lf, empty ? 2 : type == WR_MSG_SNAPSHOT, &msg, &tier);
    wr_envelope_next(&lf->origin, type, &env);
    /* State frames are numbered on their own counter (relay/tier.h): a DELTA is the last
     * DELTA + 1, a SNAPSHOT repeats the last DELTA's seq, so a parent sees a gap only when a
     * DELTA really went missing. */
    env.seq = type == WR_MSG_DELTA ? ++lf->state_seq : lf->state_seq;
    int rc = wr_encode_state(lf->enc, &env, &msg);
    if (rc)
        WR_ERROR("encoding %s failed: %s", wr_msg_type_name(type), wr_strerror(rc));
    return rc;
}

static void send_snapshot_ex(leaf_t *lf, int parent, int empty)
{
    if (encode_state(lf, WR_MSG_SNAPSHOT, empty) != 0)
        return;
    int rc = wr_client_send_to(lf->cli, parent, wr_encoder_data(lf->enc), wr_encoder_size(lf->enc));
    if (rc) {
        lf->send_errors++;
        WR_WARN("SNAPSHOT to parent %s not sent: %s", parent_name(lf, parent), wr_strerror(rc));
    } else {
        WR_DEBUG("%sSNAPSHOT sent to parent %s", empty ? "empty " : "", parent_name(lf, parent));
    }
}

static void send_snapshot(leaf_t *lf, int parent)
{
    send_snapshot_ex(lf, parent, 0);
}

static int failover_pair(const leaf_t *lf)
{
    return lf->cli && lf->cfg.parent_mode == WR_PARENTS_FAILOVER && lf->cfg.n_parents > 1;
}

/* Failover with several parents: only the active parent holds our state. When the active
 * parent changes, the new one gets a SNAPSHOT and the old one (if still up) an empty SNAPSHOT,
 * so a standby relay never streams a stale copy of our nodes upward. */
static void check_active(leaf_t *lf)
{
    if (!failover_pair(lf))
        return;
    int a = wr_client_active(lf->cli), old = lf->up_active;
    if (a == old)
        return;
    lf->up_active = a;
    if (a >= 0) {
        WR_INFO("active parent now %s", parent_name(lf, a));
        send_snapshot(lf, a);
    }
    if (old >= 0 && wr_client_parent_up(lf->cli, old))
        send_snapshot_ex(lf, old, 1);
}

void leaf_up_send_delta(leaf_t *lf)
{
    if (!lf->cli)
        goto clear;
    check_active(lf);
    if (encode_state(lf, WR_MSG_DELTA, 0) != 0)
        return;
    int rc = wr_client_send(lf->cli, wr_encoder_data(lf->enc), wr_encoder_size(lf->enc));
    if (rc == WR_EAGAIN) {
        lf->send_errors++;           /* keep the dirty marks: the next DELTA carries them */
        WR_DEBUG("DELTA not sent: every parent at its high-water mark");
        return;
    }
    /* sent, or no parent up (a parent coming up gets a SNAPSHOT) */
clear:;
    size_t n_owned;            /* an unowned node is never dirty (leaf_beam_release) */
    const uint32_t *own = leaf_owned_nodes(lf, &n_owned);
    for (size_t j = 0; j < n_owned; j++)
        lf->nodes[own[j]].dirty = 0;
}

static void on_delta_soon(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    leaf_up_send_delta(w->data);
}

void leaf_up_state_changed(leaf_t *lf)
{
    if (!ev_is_active(&lf->delta_soon)) {
        ev_timer_set(&lf->delta_soon, 0.1, 0.);
        ev_timer_start(lf->loop, &lf->delta_soon);
    }
}

static void on_parent_up(void *ud, int parent)
{
    leaf_t *lf = ud;
    WR_INFO("parent %s up", parent_name(lf, parent));
    if (!failover_pair(lf)) {
        send_snapshot(lf, parent);
        leaf_events_parent_up(lf, parent);   /* after the state: resend unacknowledged events */
        return;
    }
    if (parent == wr_client_active(lf->cli) && parent == lf->up_active)
        send_snapshot(lf, parent);   /* it restarted while we thought it up */
    else if (parent != wr_client_active(lf->cli))
        send_snapshot_ex(lf, parent, 1);
    check_active(lf);
    leaf_events_parent_up(lf, parent);
}

static void on_parent_down(void *ud, int parent)
{
    leaf_t *lf = ud;
    WR_WARN("parent %s down", parent_name(lf, parent));
    check_active(lf);
}

static void on_bad_frame(void *ud, int parent, const char *why)
{
    leaf_t *lf = ud;
    WR_WARN("bad frame from parent %s: %s", parent_name(lf, parent), why);
}

void leaf_up_reply(leaf_t *lf, int parent, uint64_t qid, int status, const char *err, const char *result)
{
    wr_reply_t r;
    memset(&r, 0, sizeof r);
    r.qid = qid;
    r.status = status;
    r.error = err ? err : "";
    r.error_len = strlen(r.error);
    r.result = result ? result : "";
    r.result_len = result ? strlen(result) : 0;
    wr_envelope_t env;
    wr_envelope_next(&lf->origin, WR_MSG_REPLY, &env);
    int rc = lf->cli ? wr_encode_reply(lf->enc, &env, &r) : WR_ENOTFOUND;
    if (rc == 0)
        rc = wr_client_send_to(lf->cli, parent, wr_encoder_data(lf->enc), wr_encoder_size(lf->enc));
    if (rc) {
        lf->send_errors++;
        WR_WARN("REPLY %llu to parent %s not sent: %s", (unsigned long long)qid,
                parent_name(lf, parent), wr_strerror(rc));
    }
}

static void answer_query(leaf_t *lf, int parent, wr_decoder_t *dec)
{
    char why[256], err[WR_ERROR_TEXT_MAX];
    wr_query_t q;
    if (wr_decode_query(dec, &q, why, sizeof why) != 0) {
        WR_WARN("bad QUERY from parent %s: %s", parent_name(lf, parent), why);
        return;
    }
    lf->queries++;
    char *result = NULL;
    int status;
    err[0] = '\0';
    leaf_node_t *n = NULL;
    int is_metric = q.kind_len == 6 && memcmp(q.kind, "metric", 6) == 0;
    int is_procs = q.kind_len == 5 && memcmp(q.kind, "procs", 5) == 0;
    if (!is_metric && !is_procs) {
        status = WR_EUNSUPPORTED;
        snprintf(err, sizeof err, "unknown query kind %.*s", (int)(q.kind_len > 64 ? 64 : q.kind_len), q.kind);
    } else if (!(n = leaf_node_find(lf, q.node, q.node_len))) {
        status = WR_ENOTFOUND;
        snprintf(err, sizeof err, "node %.*s is not monitored by %s", (int)(q.node_len > 200 ? 200 : q.node_len),
                 q.node, lf->cfg.id);
    } else if (is_procs) {
        status = leaf_procs_start(lf, n, parent, q.qid, q.args, q.args_len, err, sizeof err);
        if (status == 0)
            return;                  /* answered when the node replies (leaf_procs.c) */
    } else {
        status = leaf_samples_query(lf, n, q.args, q.args_len, &result, err, sizeof err);
    }
    WR_DEBUG("QUERY %llu %.*s %.*s: %s%s%s", (unsigned long long)q.qid, (int)(q.kind_len > 64 ? 64 : q.kind_len),
             q.kind, (int)(q.node_len > 200 ? 200 : q.node_len), q.node, wr_strerror(status),
             err[0] ? ": " : "", err);
    leaf_up_reply(lf, parent, q.qid, status, err, result);
    free(result);
}

static void on_message(void *ud, int parent, const wr_envelope_t *env, wr_decoder_t *dec)
{
    leaf_t *lf = ud;
    char why[256];
    switch (env->type) {
    case WR_MSG_COMMAND: {
        wr_command_t c;
        if (wr_decode_command(dec, &c, why, sizeof why) != 0) {
            WR_WARN("bad COMMAND from parent %s: %s", parent_name(lf, parent), why);
        } else if (c.cmd_len == 8 && memcmp(c.cmd, "snapshot", 8) == 0) {
            send_snapshot_ex(lf, parent, failover_pair(lf) && parent != wr_client_active(lf->cli));
        } else if (c.cmd_len == 5 && memcmp(c.cmd, "group", 5) == 0) {
            leaf_group_on_command(lf, parent, c.args, c.args_len);
        } else {
            WR_DEBUG("COMMAND %.*s from parent %s ignored", (int)(c.cmd_len > 64 ? 64 : c.cmd_len), c.cmd,
                     parent_name(lf, parent));
        }
        break;
    }
    case WR_MSG_QUERY:
        answer_query(lf, parent, dec);
        break;
    case WR_MSG_ACK: {
        wr_ack_t ack;
        if (wr_decode_ack(dec, &ack, why, sizeof why) != 0)
            WR_WARN("bad ACK from parent %s: %s", parent_name(lf, parent), why);
        else
            leaf_events_on_ack(lf, parent, &ack);   /* leaf_events.c */
        break;
    }
    default:
        WR_DEBUG("%s from parent %s ignored", wr_msg_type_name(env->type), parent_name(lf, parent));
        break;
    }
}

int leaf_up_init(leaf_t *lf, char *err, size_t errlen)
{
    wr_origin_init(&lf->origin, lf->cfg.id);
    lf->up_active = -1;
    lf->enc = wr_encoder_new();
    lf->msg_nodes = calloc(lf->n_nodes ? lf->n_nodes : 1, sizeof *lf->msg_nodes);
    if (!lf->enc || !lf->msg_nodes) {
        snprintf(err, errlen, "out of memory");
        return WR_ENOMEM;
    }
    leaf_rollup_reset(lf);
    ev_timer_init(&lf->delta_soon, on_delta_soon, 0.1, 0.);
    lf->delta_soon.data = lf;
    if (lf->cfg.n_parents == 0) {
        WR_WARN("no parents configured: nothing is streamed upward");
        return 0;
    }
    lf->zctx = zmq_ctx_new();
    if (!lf->zctx) {
        snprintf(err, errlen, "zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
        return WR_EIO;
    }
    wr_hello_t hello;
    memset(&hello, 0, sizeof hello);
    snprintf(hello.kind, sizeof hello.kind, "leaf");
    snprintf(hello.id, sizeof hello.id, "%s", lf->cfg.id);
    snprintf(hello.version, sizeof hello.version, "%s", WARREN_VERSION);
    hello.interval_ms = (uint32_t)(lf->cfg.interval * 1000.0);
    wr_link_params_t params;
    wr_link_params_default(&params);
    params.heartbeat_ms = (uint32_t)(lf->cfg.hb_interval * 1000.0);
    params.misses = (uint32_t)lf->cfg.hb_misses;
    static const wr_client_callbacks_t cb = {on_parent_up, on_parent_down, on_message, on_bad_frame};
    lf->cli = wr_client_new(lf->loop, lf->zctx, (const char *const *)lf->cfg.parents, lf->cfg.n_parents,
                            (wr_parent_mode_t)lf->cfg.parent_mode, &lf->origin, &hello, &params, &cb, lf,
                            err, errlen);
    if (!lf->cli)
        return WR_EIO;
    return 0;
}

void leaf_up_fini(leaf_t *lf)
{
    ev_timer_stop(lf->loop, &lf->delta_soon);
    wr_client_destroy(&lf->cli);
    if (lf->zctx) {
        zmq_ctx_term(lf->zctx);
        lf->zctx = NULL;
    }
    wr_encoder_destroy(&lf->enc);
    free(lf->msg_nodes);
    lf->msg_nodes = NULL;
    leaf_rollup_fini(lf);
    leaf_census_fini(lf);
}
