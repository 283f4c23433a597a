/* tier_query: routing of per-node queries down the tree and of their replies back.
 * A query (from tier_query, or a QUERY from a parent) gets a new local qid, goes to the child
 * that owns the node, and waits in a hash table (qid -> origin) with its own timeout timer.
 * A REPLY from that child goes back to its origin: the caller's function, or a REPLY with the
 * parent's qid. Parent-origin queries that time out are just forgotten: the upper tier times
 * out on its own. Knows nothing of node state beyond ownership. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tier_int.h"
#include "wr_error.h"
#include "wr_log.h"

static size_t qbucket(uint64_t qid)
{
    return (size_t)(qid & (TIER_QBUCKETS - 1));
}

static tquery_t *q_find(tier_t *t, uint64_t qid)
{
    for (tquery_t *q = t->qbuckets[qbucket(qid)]; q; q = q->next)
        if (q->qid == qid)
            return q;
    return NULL;
}

/* Unlinks q from the table and stops its timer (q itself is not freed). */
static void q_unlink(tier_t *t, tquery_t *q)
{
    tquery_t **pp = &t->qbuckets[qbucket(q->qid)];
    while (*pp && *pp != q)
        pp = &(*pp)->next;
    if (*pp)
        *pp = q->next;
    q->next = NULL;
    ev_timer_stop(t->loop, &q->timer);
    t->n_pending--;
}

static void reply_up(tier_t *t, int parent, uint64_t qid, int status, const char *err, size_t elen,
                     const char *res, size_t rlen)
{
    if (!t->client)
        return;
    wr_envelope_t env;
    wr_envelope_next(&t->origin, WR_MSG_REPLY, &env);
    wr_reply_t r = {.qid = qid, .status = status, .error = err ? err : "", .error_len = err ? elen : 0,
                    .result = res ? res : "", .result_len = res ? rlen : 0};
    int rc = wr_encode_reply(t->enc, &env, &r);
    if (rc == 0)
        rc = wr_client_send_to(t->client, parent, wr_encoder_data(t->enc), wr_encoder_size(t->enc));
    if (rc != 0)
        WR_DEBUG("reply %llu to parent %d not sent: %s", (unsigned long long)qid, parent, wr_strerror(rc));
}

static void on_query_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    tquery_t *q = w->data;
    tier_t *t = q->tier;
    q_unlink(t, q);
    if (q->parent < 0) {
        char msg[WR_ERROR_TEXT_MAX];
        snprintf(msg, sizeof msg, "no reply from %s within %u ms", q->child, t->query_timeout_ms);
        q->fn(q->ud, WR_ETIMEDOUT, msg, "", 0);
    } else {
        WR_DEBUG("query %llu from parent %d: no reply from %s, forgotten",
                 (unsigned long long)q->up_qid, q->parent, q->child);
    }
    free(q);
}

/* Sends a query down. On failure returns a WR_E... code with a reason in why. */
static int q_start(tier_t *t, const char *node, size_t node_len, const char *kind, size_t kind_len,
                   const char *args, size_t args_len, int parent, uint64_t up_qid, tier_reply_fn fn,
                   void *ud, uint64_t *qid, char *why, size_t whylen)
{
    int nl = (int)(node_len > 255 ? 255 : node_len);
    tnode_t *n = node_len < WR_NODE_NAME_MAX ? tier_node_find(t, node, node_len) : NULL;
    if (!n) {
        snprintf(why, whylen, "node %.*s unknown at %s", nl, node, t->id);
        return WR_ENOTFOUND;
    }
    tchild_t *c = n->owner;
    if (!c->live) {
        snprintf(why, whylen, "node %.*s: %s (child of %s) is unreachable", nl, node, c->id, t->id);
        return WR_EAGAIN;
    }
    if (t->n_pending >= TIER_MAX_PENDING) {
        t->queries_rejected++;
        snprintf(why, whylen, "%s: too many pending queries (%d)", t->id, TIER_MAX_PENDING);
        return WR_EAGAIN;
    }
    tquery_t *q = calloc(1, sizeof *q);
    if (!q) {
        snprintf(why, whylen, "%s: out of memory", t->id);
        return WR_ENOMEM;
    }
    q->qid = ++t->next_qid;
    q->parent = parent;
    q->up_qid = up_qid;
    q->fn = fn;
    q->ud = ud;
    q->tier = t;
    memcpy(q->child, c->id, sizeof q->child);

    wr_envelope_t env;
    wr_envelope_next(&t->origin, WR_MSG_QUERY, &env);
    wr_query_t body = {.qid = q->qid, .node = node, .node_len = node_len, .kind = kind,
                       .kind_len = kind_len, .args = args, .args_len = args_len};
    int rc = wr_encode_query(t->enc, &env, &body);
    if (rc == 0)
        rc = wr_server_send(t->server, c->id, wr_encoder_data(t->enc), wr_encoder_size(t->enc));
    if (rc != 0) {
        snprintf(why, whylen, "node %.*s: cannot send to %s: %s", nl, node, c->id, wr_strerror(rc));
        free(q);
        return rc == WR_EINVAL ? WR_EINVAL : WR_EAGAIN;
    }
    size_t b = qbucket(q->qid);
    q->next = t->qbuckets[b];
    t->qbuckets[b] = q;
    t->n_pending++;
    ev_timer_init(&q->timer, on_query_timeout, t->query_timeout_ms / 1000.0, 0.);
    q->timer.data = q;
    ev_timer_start(t->loop, &q->timer);
    if (qid)
        *qid = q->qid;
    return WR_OK;
}

int tier_query(tier_t *tier, const char *node, const char *kind, const char *args_json,
               tier_reply_fn fn, void *ud, uint64_t *qid)
{
    assert(tier && node && kind && fn);
    char why[WR_ERROR_TEXT_MAX];
    if (!args_json)
        args_json = "";
    int rc = q_start(tier, node, strlen(node), kind, strlen(kind), args_json, strlen(args_json), -1, 0,
                     fn, ud, qid, why, sizeof why);
    if (rc != 0)
        WR_DEBUG("query %s %s: %s", kind, node, why);
    return rc;
}

void tier_query_cancel(tier_t *tier, uint64_t qid)
{
    tquery_t *q = q_find(tier, qid);
    if (q && q->parent < 0) {
        q_unlink(tier, q);
        free(q);
    }
}

void tier_query_from_parent(tier_t *t, int parent, wr_decoder_t *dec)
{
    wr_query_t qu;
    char why[WR_ERROR_TEXT_MAX];
    int rc = wr_decode_query(dec, &qu, why, sizeof why);
    if (rc != 0) {
        char who[32];
        snprintf(who, sizeof who, "parent %d", parent);
        tier_count_bad(t, who, why);
        return;
    }
    rc = q_start(t, qu.node, qu.node_len, qu.kind, qu.kind_len, qu.args, qu.args_len, parent, qu.qid,
                 NULL, NULL, NULL, why, sizeof why);
    if (rc != 0)
        reply_up(t, parent, qu.qid, rc, why, strlen(why), NULL, 0);
}

void tier_reply_from_child(tier_t *t, tchild_t *c, wr_decoder_t *dec)
{
    wr_reply_t r;
    char why[WR_ERROR_TEXT_MAX];
    int rc = wr_decode_reply(dec, &r, why, sizeof why);
    if (rc != 0) {
        tier_count_bad(t, c->id, why);
        return;
    }
    tquery_t *q = q_find(t, r.qid);
    if (!q) {
        t->late_replies++;
        WR_DEBUG("reply %llu from %s: no such pending query (late or cancelled)",
                 (unsigned long long)r.qid, c->id);
        return;
    }
    if (strcmp(q->child, c->id) != 0) {
        t->unexpected++;
        WR_WARN("reply %llu from %s, but the query went to %s: dropped", (unsigned long long)r.qid,
                c->id, q->child);
        return;
    }
    q_unlink(t, q);
    if (q->parent < 0) {
        char err[WR_ERROR_TEXT_MAX];
        size_t el = r.error_len < sizeof err - 1 ? r.error_len : sizeof err - 1;
        memcpy(err, r.error ? r.error : "", r.error ? el : 0);
        err[r.error ? el : 0] = '\0';
        const char *res = tier_text(t, r.result, r.result_len);
        q->fn(q->ud, r.status, err, res ? res : "", res ? r.result_len : 0);
    } else {
        reply_up(t, q->parent, q->up_qid, r.status, r.error, r.error_len, r.result, r.result_len);
    }
    free(q);
}

void tier_queries_child_down(tier_t *t, const tchild_t *c)
{
    if (!t->n_pending)
        return;
    tquery_t *failed = NULL;
    for (size_t b = 0; b < TIER_QBUCKETS; b++) {
        tquery_t **pp = &t->qbuckets[b];
        while (*pp) {
            tquery_t *q = *pp;
            if (strcmp(q->child, c->id) == 0) {
                *pp = q->next;
                ev_timer_stop(t->loop, &q->timer);
                t->n_pending--;
                q->next = failed;
                failed = q;
            } else {
                pp = &q->next;
            }
        }
    }
    char msg[WR_ERROR_TEXT_MAX];
    snprintf(msg, sizeof msg, "%s (child of %s) went down before replying", c->id, t->id);
    while (failed) {
        tquery_t *q = failed;
        failed = q->next;
        if (q->parent < 0)
            q->fn(q->ud, WR_EAGAIN, msg, "", 0);
        else
            reply_up(t, q->parent, q->up_qid, WR_EAGAIN, msg, strlen(msg), NULL, 0);
        free(q);
    }
}

void tier_queries_fini(tier_t *t)
{
    for (size_t b = 0; b < TIER_QBUCKETS; b++) {
        tquery_t *q = t->qbuckets[b];
        while (q) {
            tquery_t *next = q->next;
            ev_timer_stop(t->loop, &q->timer);
            free(q);
            q = next;
        }
        t->qbuckets[b] = NULL;
    }
    t->n_pending = 0;
}
