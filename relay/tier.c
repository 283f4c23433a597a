/* tier: one subtree's merged state and its links (see tier.h): the ROUTER for children and
 * their SNAPSHOT / DELTA frames, liveness of children, the merge of rollups and tiers, and the
 * upward stream (SNAPSHOT on parent up or request, DELTA every interval and within
 * TIER_QUICK_MS of a node state change). The node table lives in tier_nodes.c, query routing
 * in tier_query.c.
 *
 * Sequence numbers of state frames: this tier numbers its upward SNAPSHOT / DELTA frames on
 * their own (not with heartbeats, replies...): each DELTA carries the previous DELTA's seq + 1
 * and a SNAPSHOT carries the seq of the last DELTA sent, so a SNAPSHOT sent to one parent does
 * not look like a gap to another. Receiving, a SNAPSHOT sets the base and a DELTA must carry
 * the base + 1 of the same epoch.
 *
 * Pending queries are dropped without calling their functions by tier_destroy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tier_int.h"
#include "wr_rollup.h"
#include "wr_error.h"
#include "wr_log.h"
#include "wr_time.h"

/* ---- small helpers --------------------------------------------------------------------- */

void tier_count_bad(tier_t *t, const char *peer, const char *why)
{
    t->bad_frames++;
    int64_t now = wr_mono_ms();
    if (now - t->bad_log_ms >= 1000) {
        WR_WARN("bad frame from %s dropped: %s (%llu more since last report)", peer, why,
                (unsigned long long)t->bad_log_suppressed);
        t->bad_log_ms = now;
        t->bad_log_suppressed = 0;
    } else {
        t->bad_log_suppressed++;
    }
}

const char *tier_text(tier_t *t, const char *s, size_t len)
{
    if (len + 1 > t->text_cap) {
        size_t ncap = len + 1 < 4096 ? 4096 : len + 1;
        char *nb = realloc(t->text_buf, ncap);
        if (!nb)
            return NULL;
        t->text_buf = nb;
        t->text_cap = ncap;
    }
    if (len)
        memcpy(t->text_buf, s, len);
    t->text_buf[len] = '\0';
    return t->text_buf;
}

void tier_state_changed(tier_t *t)
{
    if (t->client && !ev_is_active(&t->quick_timer)) {
        ev_timer_set(&t->quick_timer, TIER_QUICK_MS / 1000.0, 0.);
        ev_timer_start(t->loop, &t->quick_timer);
    }
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return WR_OK;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    void *na = realloc(*arr, ncap * elem);
    if (!na)
        return WR_ENOMEM;
    *arr = na;
    *cap = ncap;
    return WR_OK;
}

static uint32_t count_up(const tier_t *t)
{
    uint32_t up = 0;
    for (const tchild_t *c = t->child_list; c; c = c->next)
        if (c->live && c->synced)
            up += (uint32_t)c->n_up;
    return up;
}

/* ---- merged tiers and rollups ---------------------------------------------------------- */

/* A standby child (its last SNAPSHOT was empty: it streams to our twin) is not listed. */
static size_t child_entry_count(const tchild_t *c)
{
    return c->n_tiers ? c->n_tiers : c->standby ? 0 : 1;
}

/* Entry k of child c as this tier reports it; base is the index of c's first entry. */
static void child_entry(const tchild_t *c, size_t k, size_t base, wr_tier_entry_t *e)
{
    if (c->n_tiers == 0) {
        memset(e, 0, sizeof *e);
        memcpy(e->id, c->id, sizeof e->id);
        memcpy(e->kind, c->kind, sizeof e->kind);
        e->parent = 0;
        e->up = (uint8_t)c->live;
        e->nodes_total = (uint32_t)c->n_nodes;
        e->nodes_up = c->live && c->synced ? (uint32_t)c->n_up : 0;
        return;
    }
    *e = c->tiers[k];
    e->id[WR_ID_MAX - 1] = '\0';
    e->kind[WR_KIND_MAX - 1] = '\0';
    e->parent = e->parent < 0 || (size_t)e->parent >= k ? 0 : (int32_t)(base + (size_t)e->parent);
    if (!c->live) {
        e->up = 0;
        e->nodes_up = 0;
        e->samples_per_s = 0;
        e->frames_in_per_s = e->frames_out_per_s = 0;
        e->bytes_in_per_s = e->bytes_out_per_s = 0;
    }
}

static size_t tree_count(const tier_t *t)
{
    size_t n = 1;
    for (const tchild_t *c = t->child_list; c; c = c->next)
        n += child_entry_count(c);
    return n;
}

/* Fills arr (tree_count entries) in pre-order, this tier first. */
static void tree_fill(const tier_t *t, wr_tier_entry_t *arr)
{
    wr_tier_entry_t *top = &arr[0];
    memset(top, 0, sizeof *top);
    memcpy(top->id, t->id, sizeof top->id);
    memcpy(top->kind, t->kind, sizeof top->kind);
    top->parent = -1;
    top->up = 1;
    top->nodes_total = (uint32_t)t->nodes.count;
    top->nodes_up = count_up(t);
    top->frames_in_per_s = t->meter.rates.frames_in;
    top->frames_out_per_s = t->meter.rates.frames_out;
    top->bytes_in_per_s = t->meter.rates.bytes_in;
    top->bytes_out_per_s = t->meter.rates.bytes_out;
    size_t idx = 1;
    for (const tchild_t *c = t->child_list; c; c = c->next) {
        size_t base = idx, n = child_entry_count(c);
        for (size_t k = 0; k < n; k++, idx++) {
            child_entry(c, k, base, &arr[idx]);
            if (arr[idx].up && strcmp(arr[idx].kind, "leaf") == 0)
                top->samples_per_s += arr[idx].samples_per_s;
        }
    }
}

static int rollup_ptr_cmp(const void *a, const void *b)
{
    const wr_rollup_entry_t *x = *(const wr_rollup_entry_t *const *)a;
    const wr_rollup_entry_t *y = *(const wr_rollup_entry_t *const *)b;
    return strncmp(x->metric, y->metric, WR_METRIC_NAME_MAX);
}

static size_t rollup_input_count(const tier_t *t)
{
    size_t n = 0;
    for (const tchild_t *c = t->child_list; c; c = c->next)
        if (c->live)
            n += c->n_rollups;
    return n;
}

/* Output slot o's sketch and a top-K of capacity >= k (created or regrown as needed). */
static int merge_slot(tier_t *t, size_t o, uint32_t k)
{
    if (o >= t->merge_cap) {
        size_t ncap = t->merge_cap ? t->merge_cap * 2 : 64;
        while (ncap <= o)
            ncap *= 2;
        wr_sketch_t **nsk = realloc(t->merge_sk, ncap * sizeof *nsk);
        if (!nsk)
            return WR_ENOMEM;
        t->merge_sk = nsk;
        wr_topk_t **ntk = realloc(t->merge_tk, ncap * sizeof *ntk);
        if (!ntk)
            return WR_ENOMEM;
        t->merge_tk = ntk;
        for (size_t i = t->merge_cap; i < ncap; i++)
            t->merge_sk[i] = NULL, t->merge_tk[i] = NULL;
        t->merge_cap = ncap;
    }
    if (!t->merge_sk[o] && !(t->merge_sk[o] = wr_sketch_new()))
        return WR_ENOMEM;
    if (k && t->merge_tk[o] && wr_topk_capacity(t->merge_tk[o]) < k)
        wr_topk_destroy(&t->merge_tk[o]);
    if (k && !t->merge_tk[o] && !(t->merge_tk[o] = wr_topk_new(k)))
        return WR_ENOMEM;
    return WR_OK;
}

/* Merges the group in[0..n) (one metric) into out, with slot o's sketch and top-K. A sketch
 * (top-K) is merged only when every part has one: a partial merge would not be exact. */
static void merge_group(tier_t *t, const wr_rollup_entry_t *const *in, size_t n, size_t o,
                        wr_rollup_entry_t *out)
{
    int all_sk = 1, all_tk = 1;
    uint32_t k = WR_TOPK_MAX;
    memcpy(out->metric, in[0]->metric, sizeof out->metric);
    out->metric[WR_METRIC_NAME_MAX - 1] = '\0';
    wr_agg_init(&out->agg);
    for (size_t i = 0; i < n; i++) {
        wr_agg_merge(&out->agg, &in[i]->agg);
        all_sk &= in[i]->sketch != NULL;
        all_tk &= in[i]->topk != NULL;
        if (in[i]->topk && wr_topk_k(in[i]->topk) < k)
            k = wr_topk_k(in[i]->topk);
    }
    out->sketch = NULL;
    out->topk = NULL;
    if (merge_slot(t, o, all_tk ? k : 0) != 0) {
        WR_WARN("out of memory merging the sketch of %s", out->metric);
        return;
    }
    if (all_sk) {
        wr_sketch_t *sk = t->merge_sk[o];
        wr_sketch_reset(sk);
        int rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = wr_sketch_merge(sk, in[i]->sketch);
        if (rc == 0)
            out->sketch = sk;
        else
            WR_WARN("out of memory merging the sketch of %s", out->metric);
    }
    if (all_tk) {
        wr_topk_t *tk = t->merge_tk[o];
        wr_topk_reset(tk);
        wr_topk_set_k(tk, k);
        for (size_t i = 0; i < n; i++)
            wr_topk_merge(tk, in[i]->topk);
        out->topk = tk;
    }
}

/* Merges the live children's rollups into buf (rollup_input_count entries), sorted by metric.
 * Returns the number of metrics. The entries' sketches and top-Ks are the tier's own (kept
 * in merge_sk / merge_tk), valid until the next call. Logically const: only the tier's
 * merge scratch changes. */
static size_t rollups_fill(const tier_t *ct, wr_rollup_entry_t *buf)
{
    tier_t *t = (tier_t *)ct;
    size_t n = rollup_input_count(t);
    if (!n)
        return 0;
    if (n > t->merge_in_cap) {
        const wr_rollup_entry_t **ni = realloc(t->merge_in, n * sizeof *ni);
        if (!ni) {
            WR_ERROR("out of memory merging %zu rollups", n);
            return 0;
        }
        t->merge_in = ni;
        t->merge_in_cap = n;
    }
    size_t k = 0;
    for (const tchild_t *c = t->child_list; c; c = c->next)
        if (c->live)
            for (size_t i = 0; i < c->n_rollups; i++)
                t->merge_in[k++] = &c->rollups[i];
    qsort(t->merge_in, n, sizeof *t->merge_in, rollup_ptr_cmp);
    size_t out = 0;
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && strncmp(t->merge_in[a]->metric, t->merge_in[b]->metric, WR_METRIC_NAME_MAX) == 0)
            b++;
        merge_group(t, t->merge_in + a, b - a, out, &buf[out]);
        out++;
        a = b;
    }
    return out;
}

/* ---- upward stream ------------------------------------------------------------------------ */

static void node_entry(const tnode_t *n, wr_node_entry_t *e)
{
    tier_node_view_t v;
    tier_node_view(n, &v);
    size_t len = strlen(n->name);
    memcpy(e->name, n->name, len + 1);
    e->state = (uint8_t)v.state;
    e->since_ms = v.since_ms;
    snprintf(e->leaf, sizeof e->leaf, "%s", v.leaf);
}

/* Sends a SNAPSHOT or DELTA: to parent `parent`, or (parent < 0) by the parent mode. */
static int send_state(tier_t *t, int type, int parent)
{
    if (!t->client)
        return WR_ENOTFOUND;
    wr_state_msg_t *m = &t->out;
    size_t nn = 0;
    if (type == WR_MSG_SNAPSHOT) {
        if (grow((void **)&m->nodes, &t->out_nodes_cap, t->nodes.count, sizeof *m->nodes) != 0)
            return WR_ENOMEM;
        for (size_t i = 0; i < t->nodes.cap; i++)
            if (t->nodes.slots[i].item)
                node_entry(t->nodes.slots[i].item, &m->nodes[nn++]);
    } else {
        size_t nd = 0;
        for (tnode_t *n = t->dirty_head; n; n = n->dnext)
            nd++;
        if (grow((void **)&m->nodes, &t->out_nodes_cap, nd, sizeof *m->nodes) != 0)
            return WR_ENOMEM;
        for (tnode_t *n = t->dirty_head; n; n = n->dnext)
            node_entry(n, &m->nodes[nn++]);
    }
    m->n_nodes = nn;
    size_t nt = tree_count(t);
    if (grow((void **)&m->tiers, &t->out_tiers_cap, nt, sizeof *m->tiers) != 0)
        return WR_ENOMEM;
    tree_fill(t, m->tiers);
    m->n_tiers = nt;
    if (grow((void **)&m->rollups, &t->out_rollups_cap, rollup_input_count(t), sizeof *m->rollups) != 0)
        return WR_ENOMEM;
    m->n_rollups = rollups_fill(t, m->rollups);
    tier_census_fill(t, m, type == WR_MSG_SNAPSHOT);
    m->interval_ms = t->interval_ms;
    m->at_ms = wr_wall_ms();

    wr_envelope_t env;
    wr_envelope_next(&t->origin, type, &env);
    env.seq = type == WR_MSG_DELTA ? t->state_seq + 1 : t->state_seq;
    int rc = wr_encode_state(t->enc, &env, m);
    if (rc == 0) {
        const void *d = wr_encoder_data(t->enc);
        size_t len = wr_encoder_size(t->enc);
        rc = parent < 0 ? wr_client_send(t->client, d, len) : wr_client_send_to(t->client, parent, d, len);
    }
    if (rc != 0) {
        WR_DEBUG("%s upward (parent %d) not sent: %s", wr_msg_type_name(type), parent, wr_strerror(rc));
        return rc;
    }
    /* The dirty set is relative to what the DELTA targets have: clear it when they all got it. */
    int all_targets = parent < 0 || wr_client_parent_count(t->client) == 1 ||
                      (t->parent_mode == WR_PARENTS_FAILOVER && parent == wr_client_active(t->client));
    if (type == WR_MSG_DELTA)
        t->state_seq++;
    if (all_targets) {
        while (t->dirty_head)
            tier_node_clear_dirty(t, t->dirty_head);
        if (type == WR_MSG_SNAPSHOT)
            t->removed = 0;
    }
    if (parent < 0)
        ev_timer_stop(t->loop, &t->quick_timer);
    return WR_OK;
}

/* Failover with several parents (issue 5): only the active parent holds our state; a standby
 * parent gets an empty SNAPSHOT (no nodes, rollups or tiers), so it never streams a stale copy
 * of our subtree upward. When the active parent changes, the new one gets a SNAPSHOT and the
 * old one (if still up) an empty one. */
static int failover_pair(const tier_t *t)
{
    return t->client && t->parent_mode == WR_PARENTS_FAILOVER && wr_client_parent_count(t->client) > 1;
}

static void send_standby(tier_t *t, int parent)
{
    wr_state_msg_t m;
    memset(&m, 0, sizeof m);
    m.interval_ms = t->interval_ms;
    m.at_ms = wr_wall_ms();
    wr_envelope_t env;
    wr_envelope_next(&t->origin, WR_MSG_SNAPSHOT, &env);
    env.seq = t->state_seq;
    int rc = wr_encode_state(t->enc, &env, &m);
    if (rc == 0)
        rc = wr_client_send_to(t->client, parent, wr_encoder_data(t->enc), wr_encoder_size(t->enc));
    if (rc != 0)
        WR_DEBUG("empty SNAPSHOT to standby parent %d not sent: %s", parent, wr_strerror(rc));
}

static void check_active(tier_t *t)
{
    if (!failover_pair(t))
        return;
    int a = wr_client_active(t->client), old = t->up_active;
    if (a == old)
        return;
    t->up_active = a;
    if (a >= 0) {
        WR_INFO("active parent now %d: sending SNAPSHOT (%zu nodes)", a, t->nodes.count);
        send_state(t, WR_MSG_SNAPSHOT, a);
    }
    if (old >= 0 && wr_client_parent_up(t->client, old))
        send_standby(t, old);
}

static void send_upward(tier_t *t)
{
    check_active(t);
    if (!t->client || wr_client_active(t->client) < 0)
        return;
    send_state(t, t->removed ? WR_MSG_SNAPSHOT : WR_MSG_DELTA, -1);
}

/* Link rates of this tier: server (children) + client (parents) counters. */
static void update_meter(tier_t *t)
{
    wr_link_stats_t sum, one;
    memset(&sum, 0, sizeof sum);
    if (t->server) {
        wr_server_stats(t->server, &one);
        wr_link_stats_add(&sum, &one);
    }
    if (t->client) {
        wr_client_stats(t->client, &one);
        wr_link_stats_add(&sum, &one);
    }
    wr_link_meter_update(&t->meter, &sum, wr_mono_ms(), t->interval_ms / 2);
}

static void on_interval(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    tier_census_tick(w->data);       /* fleet checks: merge, raise / clear (tier_census.c) */
    update_meter(w->data);
    send_upward(w->data);            /* roots: nothing to send */
}


static void on_quick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    send_upward(w->data);
}

/* ---- children --------------------------------------------------------------------------- */

static void ask_snapshot(tier_t *t, tchild_t *c)
{
    wr_envelope_t env;
    wr_envelope_next(&t->origin, WR_MSG_COMMAND, &env);
    wr_command_t cmd = {.cmd = "snapshot", .cmd_len = 8, .args = "", .args_len = 0};
    int rc = wr_encode_command(t->enc, &env, &cmd);
    if (rc == 0)
        rc = wr_server_send(t->server, c->id, wr_encoder_data(t->enc), wr_encoder_size(t->enc));
    if (rc != 0)
        WR_DEBUG("COMMAND snapshot to %s not sent: %s", c->id, wr_strerror(rc));
    c->snap_asked_ms = wr_mono_ms();
}

/* Reported states of c's nodes become visible (synced) or hidden (dead): mark them dirty. */
static void child_nodes_flip(tier_t *t, tchild_t *c)
{
    for (tnode_t *n = c->nodes; n; n = n->cnext)
        tier_node_mark_dirty(t, n);
    tier_state_changed(t);
}

static void handle_state(tier_t *t, tchild_t *c, const wr_envelope_t *env, wr_decoder_t *dec)
{
    wr_state_msg_t m;
    memset(&m, 0, sizeof m);
    char why[WR_ERROR_TEXT_MAX];
    int rc = wr_decode_state(dec, t->max_nodes, &m, why, sizeof why);
    if (rc != 0) {
        wr_state_msg_clear(&m);
        tier_count_bad(t, c->id, why);
        return;
    }
    uint64_t gen = ++t->snap_gen;
    if (env->type == WR_MSG_SNAPSHOT) {
        if (!c->synced) {
            c->synced = 1;
            child_nodes_flip(t, c);
        }
    } else if (c->have_seq && env->epoch == c->epoch && env->seq != c->last_seq + 1) {
        t->seq_gaps++;
        int64_t now = wr_mono_ms();
        if (now - t->gap_log_ms >= 1000) {
            WR_WARN("DELTA gap from %s: seq %llu after %llu; asking for a SNAPSHOT (%llu more gaps since last report)",
                    c->id, (unsigned long long)env->seq, (unsigned long long)c->last_seq,
                    (unsigned long long)t->gap_log_suppressed);
            t->gap_log_ms = now;
            t->gap_log_suppressed = 0;
        } else {
            t->gap_log_suppressed++;
        }
        ask_snapshot(t, c);
    } else if ((!c->synced || (c->have_seq && env->epoch != c->epoch)) &&
               wr_mono_ms() - c->snap_asked_ms >= 1000) {
        WR_DEBUG("DELTA from %s before any SNAPSHOT of its epoch: asking for one", c->id);
        ask_snapshot(t, c);
    }
    for (size_t i = 0; i < m.n_nodes; i++)
        if (tier_node_apply(t, c, &m.nodes[i], gen) != 0) {
            WR_ERROR("out of memory applying %s's nodes", c->id);
            break;
        }
    for (size_t i = 0; i < m.n_nodes; i++)   /* alarm suppression of down nodes */
        tier_events_node_state(t, m.nodes[i].name, m.nodes[i].state);
    if (env->type == WR_MSG_SNAPSHOT)
        tier_child_sweep(t, c, gen);
    tier_census_from_child(t, c->id, m.census, m.census_len, env->type == WR_MSG_SNAPSHOT);
    c->have_seq = 1;
    c->epoch = env->epoch;
    c->last_seq = env->seq;
    wr_rollup_entries_free(c->rollups, c->n_rollups);
    c->rollups = m.rollups;
    c->n_rollups = m.n_rollups;
    c->rollups_at = m.at_ms;
    m.rollups = NULL;
    m.n_rollups = 0;
    free(c->tiers);
    c->tiers = m.tiers;
    c->n_tiers = m.n_tiers;
    if (env->type == WR_MSG_SNAPSHOT)
        c->standby = c->n_tiers == 0 && c->n_nodes == 0;
    m.tiers = NULL;
    m.n_tiers = 0;
    wr_state_msg_clear(&m);
}

static void on_peer_up(void *ud, const char *peer, const wr_envelope_t *env, const wr_hello_t *hello)
{
    tier_t *t = ud;
    tchild_t *c = tier_child_get(t, peer, 1);
    if (!c) {
        WR_ERROR("out of memory adding child %s", peer);
        return;
    }
    if (hello->kind[0])
        snprintf(c->kind, sizeof c->kind, "%s", hello->kind);
    if (!c->live) {
        WR_INFO("child %s (%s, version %s) up", peer, c->kind, hello->version[0] ? hello->version : "?");
        c->live = 1;
        c->synced = 0;          /* its nodes stay unknown until its SNAPSHOT */
        tier_state_changed(t);
        tier_group_changed(t);
    } else if (env->epoch != c->epoch) {
        WR_INFO("child %s restarted (new epoch)", peer);
        tier_group_changed(t);
    }
    c->have_seq = 0;
    tier_events_child_up(t, c);
}

static void on_peer_down(void *ud, const char *peer)
{
    tier_t *t = ud;
    tchild_t *c = tier_child_get(t, peer, 0);
    if (!c || !c->live)
        return;
    WR_WARN("child %s (%s) down: %zu nodes now unknown", peer, c->kind, c->n_nodes);
    c->live = 0;
    c->down_ms = wr_wall_ms();
    if (c->synced)
        child_nodes_flip(t, c);
    c->synced = 0;
    tier_state_changed(t);
    tier_queries_child_down(t, c);
    tier_census_child_down(t, peer);   /* its census leaves the merge until it is back */
    tier_group_changed(t);
}

static void on_child_message(void *ud, const char *peer, const wr_envelope_t *env, wr_decoder_t *dec)
{
    tier_t *t = ud;
    tchild_t *c = tier_child_get(t, peer, 1);
    if (!c) {
        WR_ERROR("out of memory adding child %s", peer);
        return;
    }
    if (!c->live) {
        c->live = 1;
        c->synced = 0;
    }
    switch (env->type) {
    case WR_MSG_SNAPSHOT:
    case WR_MSG_DELTA:
        handle_state(t, c, env, dec);
        break;
    case WR_MSG_REPLY:
        tier_reply_from_child(t, c, dec);
        break;
    case WR_MSG_ALARM:
    case WR_MSG_NOTIF:
        tier_events_from_child(t, c, env, dec);
        break;
    default:
        t->unexpected++;
        WR_DEBUG("%s from child %s ignored", wr_msg_type_name(env->type), peer);
        break;
    }
}

static void on_child_bad_frame(void *ud, const char *peer, const char *why)
{
    tier_count_bad(ud, peer, why);
}

/* ---- parents ------------------------------------------------------------------------------ */

static void on_parent_up(void *ud, int parent)
{
    tier_t *t = ud;
    WR_INFO("parent %d up: sending SNAPSHOT (%zu nodes)", parent, t->nodes.count);
    if (!failover_pair(t)) {
        send_state(t, WR_MSG_SNAPSHOT, parent);
    } else {
        int a = wr_client_active(t->client);
        if (parent == a && parent == t->up_active)
            send_state(t, WR_MSG_SNAPSHOT, parent);   /* it restarted while we thought it up */
        else if (parent != a)
            send_standby(t, parent);
        check_active(t);
    }
    tier_events_parent_up(t, parent);
}

static void on_parent_down(void *ud, int parent)
{
    WR_WARN("parent %d down", parent);
    check_active(ud);
}

static void on_parent_message(void *ud, int parent, const wr_envelope_t *env, wr_decoder_t *dec)
{
    tier_t *t = ud;
    if (env->type == WR_MSG_QUERY) {
        tier_query_from_parent(t, parent, dec);
    } else if (env->type == WR_MSG_ACK) {
        tier_events_parent_ack(t, parent, dec);
    } else if (env->type == WR_MSG_COMMAND) {
        wr_command_t cmd;
        char why[WR_ERROR_TEXT_MAX];
        if (wr_decode_command(dec, &cmd, why, sizeof why) != 0) {
            t->bad_frames++;
            WR_WARN("bad COMMAND from parent %d: %s", parent, why);
        } else if (cmd.cmd_len == 8 && memcmp(cmd.cmd, "snapshot", 8) == 0) {
            WR_DEBUG("parent %d asked for a SNAPSHOT", parent);
            if (failover_pair(t) && parent != wr_client_active(t->client))
                send_standby(t, parent);
            else
                send_state(t, WR_MSG_SNAPSHOT, parent);
        } else {
            t->unexpected++;
            WR_DEBUG("unknown COMMAND '%.*s' from parent %d ignored", (int)(cmd.cmd_len > 64 ? 64 : cmd.cmd_len),
                     cmd.cmd, parent);
        }
    } else {
        t->unexpected++;
        WR_DEBUG("%s from parent %d ignored", wr_msg_type_name(env->type), parent);
    }
}

static void on_parent_bad_frame(void *ud, int parent, const char *why)
{
    char who[32];
    snprintf(who, sizeof who, "parent %d", parent);
    tier_count_bad(ud, who, why);
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

tier_t *tier_new(struct ev_loop *loop, void *zctx, const tier_params_t *params, char *err, size_t errlen)
{
    if (!params || !params->id || !params->id[0] || strlen(params->id) >= WR_ID_MAX || !params->bind) {
        snprintf(err, errlen, "tier: id (1..%d bytes) and bind are required", WR_ID_MAX - 1);
        return NULL;
    }
    tier_t *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "tier: out of memory");
        return NULL;
    }
    t->loop = loop;
    snprintf(t->id, sizeof t->id, "%s", params->id);
    snprintf(t->kind, sizeof t->kind, "%s", params->kind ? params->kind : "relay");
    t->interval_ms = params->interval_ms ? params->interval_ms : 10000;
    t->query_timeout_ms = params->query_timeout_ms ? params->query_timeout_ms : 5000;
    t->max_nodes = params->max_nodes ? params->max_nodes : 1000000;
    t->parent_mode = params->parent_mode;
    t->started_ms = wr_wall_ms();
    t->state_seq = 1;
    t->up_active = -1;
    wr_origin_init(&t->origin, t->id);
    tier_nodes_init(t);
    ev_timer_init(&t->interval_timer, on_interval, t->interval_ms / 1000.0, t->interval_ms / 1000.0);
    t->interval_timer.data = t;
    ev_timer_init(&t->quick_timer, on_quick, TIER_QUICK_MS / 1000.0, 0.);
    t->quick_timer.data = t;
    t->enc = wr_encoder_new();
    if (!t->enc) {
        snprintf(err, errlen, "tier: out of memory");
        tier_destroy(&t);
        return NULL;
    }
    wr_link_params_t lp, def;
    wr_link_params_default(&def);
    lp = params->link;
    if (!lp.heartbeat_ms) lp.heartbeat_ms = def.heartbeat_ms;
    if (!lp.misses) lp.misses = def.misses;
    if (!lp.sndhwm) lp.sndhwm = def.sndhwm;
    if (!lp.rcvhwm) lp.rcvhwm = def.rcvhwm;
    if (!lp.max_frame) lp.max_frame = def.max_frame;

    if (tier_events_init(t, params, err, errlen) != 0) {
        tier_destroy(&t);
        return NULL;
    }
    static const wr_server_callbacks_t scb = {
        .on_peer_up = on_peer_up, .on_peer_down = on_peer_down,
        .on_message = on_child_message, .on_bad_frame = on_child_bad_frame,
    };
    t->server = wr_server_new(loop, zctx, params->bind, &t->origin, &lp, &scb, t, err, errlen);
    if (!t->server || tier_group_init(t, lp.heartbeat_ms * 3 / 2) != 0) {
        if (t->server)
            snprintf(err, errlen, "tier: out of memory");
        tier_destroy(&t);
        return NULL;
    }
    if (params->n_parents > 0) {
        static const wr_client_callbacks_t ccb = {
            .on_parent_up = on_parent_up, .on_parent_down = on_parent_down,
            .on_message = on_parent_message, .on_bad_frame = on_parent_bad_frame,
        };
        wr_hello_t hello;
        memset(&hello, 0, sizeof hello);
        snprintf(hello.kind, sizeof hello.kind, "%s", t->kind);
        snprintf(hello.id, sizeof hello.id, "%s", t->id);
        snprintf(hello.version, sizeof hello.version, "%s", WARREN_VERSION);
        hello.interval_ms = t->interval_ms;
        t->client = wr_client_new(loop, zctx, params->parents, params->n_parents, params->parent_mode,
                                  &t->origin, &hello, &lp, &ccb, t, err, errlen);
        if (!t->client) {
            tier_destroy(&t);
            return NULL;
        }
        if (tier_events_start(t, params, err, errlen) != 0) {
            tier_destroy(&t);
            return NULL;
        }
    }
    /* every tier, roots too: fleet checks (a clash only the root sees) and link rates */
    ev_timer_start(loop, &t->interval_timer);
    update_meter(t);
    return t;
}

void tier_destroy(tier_t **tier)
{
    if (!tier || !*tier)
        return;
    tier_t *t = *tier;
    ev_timer_stop(t->loop, &t->interval_timer);
    ev_timer_stop(t->loop, &t->quick_timer);
    tier_group_fini(t);
    tier_queries_fini(t);
    tier_census_fini(t);
    tier_events_fini(t);
    wr_client_destroy(&t->client);
    wr_server_destroy(&t->server);
    tier_nodes_fini(t);
    wr_encoder_destroy(&t->enc);
    free(t->out.nodes);
    free(t->out.rollups);
    free(t->out.tiers);
    for (size_t i = 0; i < t->merge_cap; i++) {
        wr_sketch_destroy(&t->merge_sk[i]);
        wr_topk_destroy(&t->merge_tk[i]);
    }
    free(t->merge_sk);
    free(t->merge_tk);
    free(t->merge_in);
    free(t->text_buf);
    free(t);
    *tier = NULL;
}

/* ---- read side ------------------------------------------------------------------------------ */

void tier_status(const tier_t *t, tier_status_t *out)
{
    memset(out, 0, sizeof *out);
    out->nodes_total = (uint32_t)t->nodes.count;
    out->nodes_up = count_up(t);
    out->nodes_down = out->nodes_total - out->nodes_up;
    size_t idx = 1;
    for (const tchild_t *c = t->child_list; c; c = c->next) {
        if (c->live)
            out->children++;
        size_t base = idx, n = child_entry_count(c);
        for (size_t k = 0; k < n; k++, idx++) {
            wr_tier_entry_t e;
            child_entry(c, k, base, &e);
            if (strcmp(e.kind, "leaf") == 0) {
                out->leaves_total++;
                if (e.up) {
                    out->leaves_up++;
                    out->samples_per_s += e.samples_per_s;
                }
            } else if (strcmp(e.kind, "relay") == 0) {
                out->relays_total++;
                out->relays_up += e.up ? 1 : 0;
            }
        }
    }
    out->started_ms = t->started_ms;
    out->seq_gaps = t->seq_gaps;
    out->bad_frames = t->bad_frames;
    if (t->client)
        for (size_t i = 0; i < wr_client_parent_count(t->client); i++)
            out->parents_up += wr_client_parent_up(t->client, (int)i) ? 1 : 0;
    tier_events_status(t, out);
}

void tier_nodes_foreach(const tier_t *t, int (*fn)(void *ud, const tier_node_view_t *n), void *ud)
{
    for (size_t i = 0; i < t->nodes.cap; i++) {
        const tnode_t *n = t->nodes.slots[i].item;
        if (!n)
            continue;
        tier_node_view_t v;
        tier_node_view(n, &v);
        if (fn(ud, &v) != 0)
            return;
    }
}

int tier_node_lookup(const tier_t *t, const char *name, tier_node_view_t *out)
{
    size_t len = strlen(name);
    const tnode_t *n = len < WR_NODE_NAME_MAX ? tier_node_find(t, name, len) : NULL;
    if (!n)
        return WR_ENOTFOUND;
    tier_node_view(n, out);
    return WR_OK;
}

size_t tier_tree(const tier_t *t, wr_tier_entry_t **out)
{
    size_t n = tree_count(t);
    *out = malloc(n * sizeof **out);
    if (!*out)
        return 0;
    tree_fill(t, *out);
    return n;
}

size_t tier_rollups(const tier_t *t, wr_rollup_entry_t **out)
{
    size_t n = rollup_input_count(t);
    *out = malloc((n ? n : 1) * sizeof **out);
    if (!*out)
        return 0;
    return rollups_fill(t, *out);
}

int64_t tier_rollups_at(const tier_t *t)
{
    int64_t at = 0;
    for (const tchild_t *c = t->child_list; c; c = c->next)
        if (c->live && c->n_rollups && c->rollups_at > at)
            at = c->rollups_at;
    return at;
}
