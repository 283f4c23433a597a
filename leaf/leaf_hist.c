/* leaf_hist: downsampled history tiers computed at the leaf (see leaf_hist.h for the layout).
 * The in-memory state of a node is allocated at its first sample and freed when the leaf stops
 * watching it (leaf_hist_release: a takeover group's leaf knows every node of its group but
 * watches only its share). It holds, per metric the leaf has seen (a leaf-wide slot: a metric
 * gets one the first time any node reports it, so nodes need no map of their own), 16 bytes
 * (previous raw sample) + 32 bytes per tier (the open bucket's aggregate): 112 bytes with the
 * default three tiers, ~13.5 kB per node with the agent's ~121 metrics. Buckets are aligned to
 * multiples of the tier's step in Unix ms; a node's metrics share its bucket per tier, closed
 * and written together as one row. This file owns no store and no txn: leaf_samples.c calls it
 * inside its flush. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include "leaf_hist.h"
#include "wr_error.h"
#include "wr_log.h"
#include "wr_time.h"

#define HIST_QUEUE_MAX (4u << 20)
#define HIST_QBUF_MAX  (256u << 20)
#define HIST_ENTRY_MAX (3 + 5 + 3 * LEAF_NUM_MAX)

typedef struct {
    int64_t ts;          /* 0: none */
    double  v;
} hist_prev_t;

typedef struct {
    double   sum, min, max;
    uint32_t count;      /* 0: nothing in the open bucket */
} hist_acc_t;

typedef struct {
    uint32_t bucket;     /* ts / step + 1 of the open or last closed bucket; 0: none yet */
    uint32_t closed;     /* 1: bucket was closed (written or queued) */
} hist_nt_t;

typedef struct {         /* the state of one watched node */
    hist_nt_t    nt[LEAF_HIST_TIERS_MAX];
    uint32_t     cap;            /* slots allocated (<= the leaf's n_slots) */
    hist_prev_t *prev;           /* cap */
    hist_acc_t  *acc;            /* cap x n_tiers, slot-major: a sample updates one run */
} hist_node_t;

typedef struct {         /* a closed bucket of one node and tier, encoded in qbuf */
    uint32_t node, tier, points;
    int64_t  t;
    size_t   off, len;
} hist_point_t;

struct leaf_hist {
    size_t        n_tiers, n_metrics, n_nodes;
    hist_node_t **node;          /* n_nodes; NULL: not watched (or no sample yet) */
    size_t        n_live;        /* nodes with state */
    int16_t       slot_of[LEAF_METRICS_MAX];   /* metric -> slot, -1: none yet */
    uint16_t      metric_of[LEAF_METRICS_MAX]; /* slot -> metric */
    uint32_t      n_slots;
    hist_point_t *q;
    size_t        nq, capq, q_points;
    uint8_t      *qbuf;
    size_t        qlen, qcap;
    int64_t       last_sweep;
    int           rebuilding;
    int64_t       memo_ts[LEAF_HIST_TIERS_MAX];  /* the last ts seen per tier and its bucket: */
    int64_t       memo_b[LEAF_HIST_TIERS_MAX];   /* a poll's samples share one ts (no division) */
};

/* ---- durations and configuration ------------------------------------------------------ */

int leaf_hist_parse_duration(const char *s, int64_t *ms)
{
    if (!s)
        return WR_EINVAL;
    size_t nd = 0;
    while (s[nd] >= '0' && s[nd] <= '9')
        nd++;
    if (nd == 0 || nd > 13)
        return WR_EINVAL;
    int64_t n = 0;
    for (size_t i = 0; i < nd; i++)
        n = n * 10 + (s[i] - '0');
    const char *u = s + nd;
    int64_t mult;
    if (*u == '\0' || strcmp(u, "ms") == 0) mult = 1;
    else if (strcmp(u, "s") == 0) mult = 1000;
    else if (strcmp(u, "m") == 0) mult = 60 * 1000;
    else if (strcmp(u, "h") == 0) mult = 3600 * 1000;
    else if (strcmp(u, "d") == 0) mult = 86400 * 1000;
    else if (strcmp(u, "w") == 0) mult = 7LL * 86400 * 1000;
    else return WR_EINVAL;
    const int64_t max = 100LL * 366 * 86400 * 1000;
    if (n <= 0 || n > max / mult)
        return WR_EINVAL;
    *ms = n * mult;
    return 0;
}

void leaf_hist_duration_name(int64_t ms, char *buf, size_t len)
{
    static const struct { int64_t ms; const char *u; } units[] = {
        {7LL * 86400000, "w"}, {86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (ms > 0 && ms % units[i].ms == 0) {
            snprintf(buf, len, "%lld%s", (long long)(ms / units[i].ms), units[i].u);
            return;
        }
    snprintf(buf, len, "%lldms", (long long)ms);
}

int leaf_hist_config_read(wr_config_t *cfg, leaf_cfg_t *out)
{
    static const char *const defaults[] = {"10s:1h", "1m:1d", "5m:7d"};
    wr_config_int(cfg, "leaf.store.max_mb", 0, 0, 1 << 20, &out->max_mb);
    if (out->max_mb > 0 && out->max_mb >= out->map_size_mb)
        wr_config_error(cfg, "leaf.store.max_mb", "%lld is not below store.map_size_mb (%lld)",
                        (long long)out->max_mb, (long long)out->map_size_mb);
    out->n_hist = 0;
    char **list = NULL;
    size_t n = 0;
    int given = wr_config_has(cfg, "leaf.store.history");
    if (given && wr_config_strings(cfg, "leaf.store.history", &list, &n) != 0) {
        wr_config_strings_free(&list);
        return 0;
    }
    if (!given)
        n = sizeof defaults / sizeof defaults[0];
    if (n > LEAF_HIST_TIERS_MAX) {
        wr_config_error(cfg, "leaf.store.history", "%zu tiers, at most %d", n, LEAF_HIST_TIERS_MAX);
        n = 0;
    }
    for (size_t i = 0; i < n; i++) {
        const char *e = given ? list[i] : defaults[i];
        char path[64], step[32], keep[32];
        snprintf(path, sizeof path, "leaf.store.history.[%zu]", i);
        const char *colon = strchr(e, ':');
        int64_t s = 0, k = 0;
        if (!colon || (size_t)(colon - e) >= sizeof step || strlen(colon + 1) >= sizeof keep) {
            wr_config_error(cfg, path, "'%.64s' is not STEP:KEEP (like \"1m:1d\")", e);
            continue;
        }
        memcpy(step, e, (size_t)(colon - e));
        step[colon - e] = '\0';
        snprintf(keep, sizeof keep, "%s", colon + 1);
        if (leaf_hist_parse_duration(step, &s) != 0 || s < 1000) {
            wr_config_error(cfg, path, "step '%s' is not a duration of at least 1s (30s, 5m, 1h, 1d)", step);
            continue;
        }
        if (leaf_hist_parse_duration(keep, &k) != 0) {
            wr_config_error(cfg, path, "keep '%s' is not a duration (1h, 1d, 7d, 4w)", keep);
            continue;
        }
        if (k <= s) {
            wr_config_error(cfg, path, "keep '%s' is not longer than step '%s'", keep, step);
            continue;
        }
        if (out->n_hist > 0 && s <= out->hist[out->n_hist - 1].step_ms) {
            wr_config_error(cfg, path, "step '%s' is not longer than the previous tier's", step);
            continue;
        }
        out->hist[out->n_hist++] = (leaf_hist_tier_cfg_t){s, k};
    }
    wr_config_strings_free(&list);
    return 0;
}

/* ---- in-memory state -------------------------------------------------------------------- */

int leaf_hist_open(leaf_t *lf)
{
    struct leaf_hist *h = calloc(1, sizeof *h);
    if (!h)
        return WR_ENOMEM;
    h->n_tiers = lf->cfg.n_hist;
    h->n_metrics = wr_metric_count < LEAF_METRICS_MAX ? wr_metric_count : LEAF_METRICS_MAX;
    h->n_nodes = lf->n_nodes;
    memset(h->slot_of, -1, sizeof h->slot_of);
    h->node = calloc(h->n_nodes ? h->n_nodes : 1, sizeof *h->node);
    if (!h->node) {
        free(h);
        return WR_ENOMEM;
    }
    lf->hist = h;
    return 0;
}

static void node_free(struct leaf_hist *h, size_t node)
{
    hist_node_t *hn = h->node[node];
    if (!hn)
        return;
    free(hn->prev);
    free(hn->acc);
    free(hn);
    h->node[node] = NULL;
    h->n_live--;
}

void leaf_hist_close(leaf_t *lf)
{
    struct leaf_hist *h = lf->hist;
    if (!h)
        return;
    for (size_t i = 0; i < h->n_nodes; i++)
        node_free(h, i);
    free(h->node);
    free(h->q);
    free(h->qbuf);
    free(h);
    lf->hist = NULL;
}

/* The node's state with room for slot (allocated or grown here); NULL when out of memory. */
static hist_node_t *node_get(struct leaf_hist *h, size_t node, uint32_t slot)
{
    hist_node_t *hn = h->node[node];
    if (!hn) {
        if (!(hn = calloc(1, sizeof *hn)))
            return NULL;
        h->node[node] = hn;
        h->n_live++;
    }
    if (slot < hn->cap)
        return hn;
    uint32_t ncap = h->n_slots > slot ? h->n_slots : slot + 1;   /* every metric seen so far */
    hist_prev_t *p = realloc(hn->prev, ncap * sizeof *p);
    if (p)
        hn->prev = p;
    hist_acc_t *a = p ? realloc(hn->acc, (size_t)ncap * (h->n_tiers ? h->n_tiers : 1) * sizeof *a) : NULL;
    if (!a)
        return NULL;
    hn->acc = a;
    memset(p + hn->cap, 0, (ncap - hn->cap) * sizeof *p);
    memset(a + (size_t)hn->cap * h->n_tiers, 0, (size_t)(ncap - hn->cap) * h->n_tiers * sizeof *a);
    hn->cap = ncap;
    return hn;
}

static hist_acc_t *acc_at(struct leaf_hist *h, hist_node_t *hn, uint32_t slot, size_t tier)
{
    return &hn->acc[(size_t)slot * h->n_tiers + tier];
}

/* Closes the open bucket of (node, tier): encodes its metrics into the queue (unless
 * rebuilding, or empty) and resets them. */
static void emit(leaf_t *lf, uint32_t node, uint32_t tier)
{
    struct leaf_hist *h = lf->hist;
    hist_node_t *hn = h->node[node];
    hist_nt_t *nt = &hn->nt[tier];
    nt->closed = 1;
    size_t need = 10 + (size_t)hn->cap * HIST_ENTRY_MAX;
    int ok = !h->rebuilding;
    if (ok && h->nq == h->capq) {
        size_t ncap = h->capq ? h->capq * 2 : 1024;
        hist_point_t *q = ncap <= HIST_QUEUE_MAX ? realloc(h->q, ncap * sizeof *q) : NULL;
        if (q) {
            h->q = q;
            h->capq = ncap;
        }
        ok = q != NULL;
    }
    if (ok && h->qcap - h->qlen < need) {
        size_t ncap = h->qcap ? h->qcap * 2 : 65536;
        while (ncap - h->qlen < need)
            ncap *= 2;
        uint8_t *b = ncap <= HIST_QBUF_MAX ? realloc(h->qbuf, ncap) : NULL;
        if (b) {
            h->qbuf = b;
            h->qcap = ncap;
        }
        ok = b != NULL;
    }
    uint32_t points = 0;
    for (uint32_t s = 0; s < hn->cap; s++)
        points += acc_at(h, hn, s, tier)->count != 0;
    if (ok && points) {
        uint8_t *p = h->qbuf + h->qlen;
        size_t len = leaf_rows_put_varint(p, points);
        for (uint32_t s = 0; s < hn->cap; s++) {
            const hist_acc_t *a = acc_at(h, hn, s, tier);
            if (!a->count)
                continue;
            len += leaf_rows_put_varint(p + len, leaf_rows_code(lf, h->metric_of[s]));
            len += leaf_rows_put_varint(p + len, a->count);
            len += leaf_rows_put_num(p + len, a->sum);
            len += leaf_rows_put_num(p + len, a->min);
            len += leaf_rows_put_num(p + len, a->max);
        }
        int64_t step = lf->cfg.hist[tier].step_ms;
        h->q[h->nq++] = (hist_point_t){node, tier, points, (int64_t)(nt->bucket - 1) * step, h->qlen, len};
        h->qlen += len;
        h->q_points += points;
    } else if (!h->rebuilding && points) {
        lf->hist_points_dropped += points;
    }
    for (uint32_t s = 0; s < hn->cap; s++)
        acc_at(h, hn, s, tier)->count = 0;
}

static void feed(leaf_t *lf, uint32_t node, uint32_t metric, int64_t ts, double v)
{
    struct leaf_hist *h = lf->hist;
    if (node >= h->n_nodes || metric >= h->n_metrics || ts <= 0)
        return;
    int slot = h->slot_of[metric];
    if (slot < 0) {
        slot = (int)h->n_slots++;
        h->slot_of[metric] = (int16_t)slot;
        h->metric_of[slot] = (uint16_t)metric;
    }
    hist_node_t *hn = node_get(h, node, (uint32_t)slot);
    if (!hn) {
        lf->hist_points_dropped++;    /* out of memory: this sample misses the tiers */
        return;
    }
    hist_prev_t *p = &hn->prev[slot];
    if (ts < p->ts) {
        lf->hist_late++;
        return;
    }
    double x = v;
    int has = 1;
    if (wr_metric_defs[metric].kind == WR_COUNTER) {
        has = p->ts > 0 && ts > p->ts && v >= p->v;   /* first sample, or a reset: no rate */
        if (has)
            x = (v - p->v) * 1000.0 / (double)(ts - p->ts);
    }
    p->ts = ts;
    p->v = v;
    if (!has || x != x)
        return;
    for (uint32_t t = 0; t < h->n_tiers; t++) {
        hist_nt_t *nt = &hn->nt[t];
        int64_t b;
        if (ts == h->memo_ts[t]) {
            b = h->memo_b[t];
        } else {
            b = ts / lf->cfg.hist[t].step_ms + 1;
            h->memo_ts[t] = ts;
            h->memo_b[t] = b;
        }
        if (b > (int64_t)UINT32_MAX)
            continue;
        if (nt->bucket && ((uint32_t)b < nt->bucket || ((uint32_t)b == nt->bucket && nt->closed))) {
            lf->hist_late++;          /* its bucket is already written */
            continue;
        }
        if ((uint32_t)b != nt->bucket) {
            if (nt->bucket && !nt->closed)
                emit(lf, node, t);
            nt->bucket = (uint32_t)b;
            nt->closed = 0;
        }
        hist_acc_t *a = acc_at(h, hn, (uint32_t)slot, t);
        if (a->count == 0) {
            a->sum = a->min = a->max = x;
        } else {
            a->sum += x;
            if (x < a->min) a->min = x;
            if (x > a->max) a->max = x;
        }
        a->count++;
    }
}

void leaf_hist_feed_pending(leaf_t *lf)
{
    if (!lf->hist || lf->hist->n_tiers == 0)
        return;
    for (size_t i = 0; i < lf->n_pending; i++) {
        const leaf_sample_t *s = &lf->pending[i];
        feed(lf, s->node, s->metric, s->ts_ms, s->value);
    }
}

void leaf_hist_sweep(leaf_t *lf, int64_t now_ms)
{
    struct leaf_hist *h = lf->hist;
    if (!h || h->n_tiers == 0 || now_ms - h->last_sweep < 1000)
        return;
    h->last_sweep = now_ms;
    int64_t grace = (int64_t)(lf->cfg.interval * 2000.0);
    if (grace < 1000)
        grace = 1000;
    for (size_t i = 0; i < h->n_nodes; i++)
        for (uint32_t t = 0; h->node[i] && t < h->n_tiers; t++) {
            hist_nt_t *nt = &h->node[i]->nt[t];
            if (nt->bucket && !nt->closed && (int64_t)nt->bucket * lf->cfg.hist[t].step_ms + grace <= now_ms)
                emit(lf, (uint32_t)i, t);
        }
}

size_t leaf_hist_release(leaf_t *lf)
{
    struct leaf_hist *h = lf->hist;
    size_t freed = 0;
    if (!h || h->n_live == 0)
        return 0;
    for (size_t i = 0; i < h->n_nodes && i < lf->n_nodes; i++) {
        if (!h->node[i] || lf->nodes[i].owned)
            continue;
        for (uint32_t t = 0; t < h->n_tiers; t++)   /* the buckets in progress are kept */
            if (h->node[i]->nt[t].bucket && !h->node[i]->nt[t].closed)
                emit(lf, (uint32_t)i, t);
        node_free(h, i);
        freed++;
    }
#ifdef __GLIBC__
    if (freed)
        malloc_trim(0);               /* hand the freed pages back (a takeover can free MBs) */
#endif
    return freed;
}

size_t leaf_hist_nodes(const leaf_t *lf)
{
    return lf->hist ? lf->hist->n_live : 0;
}

size_t leaf_hist_queued(const leaf_t *lf)
{
    return lf->hist ? lf->hist->q_points : 0;
}

static void point_key(uint8_t key[13], uint32_t tier, uint32_t sid, int64_t t)
{
    key[0] = (uint8_t)tier;
    wr_store_be32(key + 1, sid);
    wr_store_be64(key + 5, (uint64_t)(t < 0 ? 0 : t));
}

int leaf_hist_write(leaf_t *lf, wr_txn_t *txn)
{
    struct leaf_hist *h = lf->hist;
    int rc = 0;
    for (size_t i = 0; h && i < h->nq && rc == 0; i++) {
        const hist_point_t *p = &h->q[i];
        uint32_t sid;
        if ((rc = leaf_samples_sid(lf, txn, p->node, &sid)) != 0)
            break;
        uint8_t key[13];
        point_key(key, p->tier, sid, p->t);
        rc = wr_store_put(txn, lf->db_hist, key, sizeof key, h->qbuf + p->off, p->len);
    }
    return rc;
}

void leaf_hist_done(leaf_t *lf, int ok)
{
    struct leaf_hist *h = lf->hist;
    if (!h)
        return;
    if (ok)
        lf->hist_points_written += h->q_points;
    else
        lf->hist_points_dropped += h->q_points;
    h->nq = h->qlen = h->q_points = 0;
}

/* ---- rebuild and retention --------------------------------------------------------------- */

typedef struct {
    leaf_t  *lf;
    uint32_t node;
    int64_t  ts;
} rebuild_t;

static void rebuild_sample(void *ud, uint32_t metric, double v)
{
    rebuild_t *r = ud;
    feed(r->lf, r->node, metric, r->ts, v);
}

static int rebuild_visit(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
    rebuild_t *r = ud;
    if (klen != 12)
        return 0;
    r->ts = (int64_t)wr_store_get_be64((const uint8_t *)key + 4);
    (void)leaf_rows_each(r->lf, val, vlen, rebuild_sample, r);
    return 0;
}

static int newest_visit(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)val; (void)vlen;
    if (klen == 12)
        *(int64_t *)ud = (int64_t)wr_store_get_be64((const uint8_t *)key + 4);
    return 1;
}

int leaf_hist_rebuild(leaf_t *lf, wr_txn_t *txn)
{
    struct leaf_hist *h = lf->hist;
    if (!h || h->n_tiers == 0)
        return 0;
    int64_t coarse = lf->cfg.hist[h->n_tiers - 1].step_ms;
    int rc = 0;
    h->rebuilding = 1;
    for (size_t i = 0; i < lf->n_nodes && rc == 0; i++) {
        uint32_t sid = lf->nodes[i].sid;
        if (!sid)
            continue;
        /* from the start of the coarsest bucket of the newest row: every bucket that was open
         * when the leaf stopped (or crashed) is rebuilt, swept and written later */
        uint8_t lo[12], hi[4];
        int64_t newest = -1;
        wr_store_be32(lo, sid);
        wr_store_be32(hi, sid + 1);
        if ((rc = wr_store_scan_reverse(txn, lf->db_samples, lo, 4, hi, 4, newest_visit, &newest)) < 0)
            break;
        rc = 0;
        if (newest < 0)
            continue;
        lf->nodes[i].row_ts = newest;
        wr_store_be64(lo + 4, (uint64_t)(newest / coarse * coarse));
        rebuild_t r = {lf, (uint32_t)i, 0};
        rc = wr_store_scan(txn, lf->db_samples, lo, sizeof lo, hi, sizeof hi, rebuild_visit, &r);
    }
    h->rebuilding = 0;
    return rc;
}

typedef struct {
    uint64_t rows, points;
} tcount_t;

static int tcount_visit(void *ud, const void *k, size_t kl, const void *v, size_t vl)
{
    (void)k; (void)kl;
    tcount_t *c = ud;
    const uint8_t *p = v;
    uint64_t n = 0;
    c->rows++;
    if (leaf_rows_get_varint(&p, p + vl, &n) == 0)
        c->points += n;
    return 0;
}

void leaf_hist_retention(leaf_t *lf, int64_t now_ms)
{
    if (!lf->store || !lf->hist || lf->hist->n_tiers == 0)
        return;
    wr_txn_t *txn = NULL;
    uint64_t total = 0;
    int rc = wr_store_begin(lf->store, 1, &txn);
    for (uint32_t t = 0; rc == 0 && t < lf->hist->n_tiers; t++) {
        int64_t cutoff = now_ms - lf->cfg.hist[t].keep_ms;
        for (uint32_t sid = 1; rc == 0 && sid < lf->next_sid; sid++) {
            uint8_t from[13], to[13];
            tcount_t c = {0, 0};
            point_key(from, t, sid, 0);
            point_key(to, t, sid, cutoff);
            rc = wr_store_scan(txn, lf->db_hist, from, sizeof from, to, sizeof to, tcount_visit, &c);
            if (rc == 0 && c.rows)
                rc = wr_store_delete_range(txn, lf->db_hist, from, sizeof from, to, sizeof to, 0, NULL);
            total += c.points;
        }
    }
    if (rc == 0)
        rc = wr_store_commit(&txn);
    else
        wr_store_abort(&txn);
    if (rc)
        WR_ERROR("store %s: history retention failed: %s (%s)", lf->cfg.store_path,
                 wr_strerror(rc), wr_store_last_error(lf->store));
    else
        lf->hist_points_expired += total;
}

/* ---- stepped queries ---------------------------------------------------------------------- */

typedef struct {
    int64_t t;
    uint64_t count;
    double  sum, min, max;
} obucket_t;

typedef struct {
    obucket_t *b;
    size_t     n, cap;
    int64_t    step, skip_t;    /* skip_t: a disk point already counted from memory (or -1) */
    int        truncated;
    /* raw re-bucketing */
    int        counter, have_newer;
    int64_t    newer_ts;
    double     newer_v;
    uint32_t   code;            /* the metric's code in rows */
} oacc_t;

/* Adds an aggregate starting at t (visited newest first). Returns 1 when the cap is reached. */
static int oadd(oacc_t *o, int64_t t, uint64_t count, double sum, double min, double max)
{
    int64_t bt = t / o->step * o->step;
    if (o->n > 0 && o->b[o->n - 1].t == bt) {
        obucket_t *b = &o->b[o->n - 1];
        b->count += count;
        b->sum += sum;
        if (min < b->min) b->min = min;
        if (max > b->max) b->max = max;
        return 0;
    }
    if (o->n == o->cap) {
        o->truncated = 1;
        return 1;
    }
    o->b[o->n++] = (obucket_t){bt, count, sum, min, max};
    return 0;
}

static int tier_visit(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
    oacc_t *o = ud;
    if (klen != 13)
        return 0;
    int64_t t = (int64_t)wr_store_get_be64((const uint8_t *)key + 5);
    if (t == o->skip_t)
        return 0;
    const uint8_t *p = val, *end = p + vlen;
    uint64_t n, code, count;
    if (leaf_rows_get_varint(&p, end, &n) != 0)
        return 0;
    for (uint64_t k = 0; k < n; k++) {
        double sum, min, max;
        if (leaf_rows_get_varint(&p, end, &code) != 0 || leaf_rows_get_varint(&p, end, &count) != 0 ||
            leaf_rows_get_num(&p, end, &sum) != 0 || leaf_rows_get_num(&p, end, &min) != 0 ||
            leaf_rows_get_num(&p, end, &max) != 0)
            return 0;                  /* corrupt: skipped */
        if (code == o->code)
            return count ? oadd(o, t, count, sum, min, max) : 0;
    }
    return 0;
}

static int raw_visit(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
    oacc_t *o = ud;
    double v;
    if (klen != 12 || leaf_rows_find(val, vlen, o->code, &v) != 1)
        return 0;
    int64_t ts = (int64_t)wr_store_get_be64((const uint8_t *)key + 4);
    if (!o->counter)
        return v == v ? oadd(o, ts, 1, v, v, v) : 0;
    /* newest first: this sample is the previous one of the newer sample */
    int rc = 0;
    if (o->have_newer && o->newer_ts > ts && o->newer_v >= v) {
        double r = (o->newer_v - v) * 1000.0 / (double)(o->newer_ts - ts);
        rc = oadd(o, o->newer_ts, 1, r, r, r);
    }
    o->have_newer = 1;
    o->newer_ts = ts;
    o->newer_v = v;
    return rc;
}

int leaf_hist_query(leaf_t *lf, const leaf_node_t *n, int metric, int64_t since, int64_t until,
                    int64_t step, size_t cap, json_t **points, char *tier, size_t tierlen,
                    int *truncated, char *err, size_t errlen)
{
    struct leaf_hist *h = lf->hist;
    int64_t now = wr_wall_ms();
    size_t nt = h ? h->n_tiers : 0;
    int pick = -1;
    for (size_t t = nt; t-- > 0;)
        if (lf->cfg.hist[t].step_ms <= step && now - lf->cfg.hist[t].keep_ms <= since) {
            pick = (int)t;
            break;
        }
    if (pick < 0 && now - (int64_t)(lf->cfg.retention * 1000.0) > since) {
        /* nothing covers since: the tier (step <= step) that reaches furthest back */
        for (size_t t = 0; t < nt; t++)
            if (lf->cfg.hist[t].step_ms <= step &&
                (pick < 0 || lf->cfg.hist[t].keep_ms >= lf->cfg.hist[pick].keep_ms) &&
                lf->cfg.hist[t].keep_ms > (int64_t)(lf->cfg.retention * 1000.0))
                pick = (int)t;
    }
    oacc_t o = {0};
    o.step = step;
    o.cap = cap;
    o.skip_t = -1;
    o.counter = wr_metric_defs[metric].kind == WR_COUNTER;
    o.code = leaf_rows_code(lf, (uint32_t)metric);
    o.b = malloc((cap ? cap : 1) * sizeof *o.b);
    if (!o.b) {
        snprintf(err, errlen, "out of memory");
        return WR_ENOMEM;
    }
    uint32_t sid = o.code ? n->sid : 0;
    int rc = 0;
    if (pick >= 0) {
        int64_t ts = lf->cfg.hist[pick].step_ms;
        int64_t from = since / ts * ts;
        /* the bucket still open in memory is the newest */
        hist_node_t *hn = n->idx < h->n_nodes ? h->node[n->idx] : NULL;
        int slot = (size_t)metric < h->n_metrics ? h->slot_of[metric] : -1;
        const hist_nt_t *bk = hn && slot >= 0 && (uint32_t)slot < hn->cap ? &hn->nt[pick] : NULL;
        const hist_acc_t *a = bk ? acc_at(h, hn, (uint32_t)slot, (size_t)pick) : NULL;
        if (a && a->count && !bk->closed) {
            int64_t at = (int64_t)(bk->bucket - 1) * ts;
            if (at >= from && at <= until) {
                oadd(&o, at, a->count, a->sum, a->min, a->max);
                o.skip_t = at;
            }
        }
        leaf_hist_duration_name(ts, tier, tierlen);
        if (sid && lf->store && until >= from) {
            wr_txn_t *txn = NULL;
            if ((rc = wr_store_begin(lf->store, 0, &txn)) == 0) {
                uint8_t lo[13], hi[13];
                point_key(lo, (uint32_t)pick, sid, from);
                point_key(hi, (uint32_t)pick, sid, until == INT64_MAX ? INT64_MAX : until + 1);
                rc = wr_store_scan_reverse(txn, lf->db_hist, lo, sizeof lo, hi, sizeof hi, tier_visit, &o);
                wr_store_abort(&txn);
            }
        }
    } else {
        snprintf(tier, tierlen, "raw");
        if (sid && lf->store) {
            wr_txn_t *txn = NULL;
            if ((rc = wr_store_begin(lf->store, 0, &txn)) == 0) {
                uint8_t lo[12], hi[12];
                wr_store_be32(lo, sid);
                wr_store_be64(lo + 4, (uint64_t)since);
                wr_store_be32(hi, sid);
                wr_store_be64(hi + 4, (uint64_t)(until == INT64_MAX ? INT64_MAX : until + 1));
                rc = wr_store_scan_reverse(txn, lf->db_samples, lo, sizeof lo, hi, sizeof hi, raw_visit, &o);
                wr_store_abort(&txn);
            }
        }
    }
    if (rc < 0) {
        snprintf(err, errlen, "store: %s", wr_strerror(rc));
        free(o.b);
        return rc;
    }
    json_t *arr = json_array();
    for (size_t i = o.n; arr && i-- > 0;) {
        const obucket_t *b = &o.b[i];
        json_array_append_new(arr, json_pack("{s:I, s:I, s:f, s:f, s:f}", "t", (json_int_t)b->t,
                                             "count", (json_int_t)b->count, "min", b->min,
                                             "max", b->max, "avg", b->sum / (double)b->count));
    }
    free(o.b);
    if (!arr) {
        snprintf(err, errlen, "out of memory");
        return WR_ENOMEM;
    }
    *points = arr;
    *truncated = o.truncated;
    return 0;
}
