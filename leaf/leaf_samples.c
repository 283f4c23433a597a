/* leaf_samples: the leaf's raw history in LMDB (DESIGN section 7), stored as rows: one record
 * per (node, poll) holding all the node's values of that poll.
 *   nodes: node name                    -> be32 node sid (ids from 1)
 *   raw  : be32(node sid) be64(ts ms)   -> varint n, then n x (varint metric code, num value)
 *   meta : "next_series_id"             -> be32 (the next node sid)
 *          "mc:" metric name            -> be16 metric code (assigned once, from 1, never reused)
 *   tiers: downsampled history rows (leaf_hist.c, leaf_hist.h)
 * Metric codes are persisted so that a build with a different catalogue reads old rows right
 * (a code whose name this build lacks is skipped). A "num" is an integral double within +-2^53
 * as varint(zigzag << 1), else 0x01 and 8 bytes of IEEE-754 bits: most values take 1..5 bytes.
 * Samples are buffered per interval and written, with the tier rows that closed, in one write
 * txn per poll tick: the pending samples are grouped by node (a counting sort) and by ts, so
 * an interval costs one put per node. A row for a (node, ts) already on disk (a late reply)
 * is merged, not replaced. Retention (once a minute) deletes rows older than store.retention
 * and tier rows older than their keep. Size: when the raw rows' estimated size passes
 * store.max_mb, the oldest rows of all nodes (by time) are pruned down to 90% of it (counted in
 * samples, logged at most once a minute). A full map never kills the leaf: the write is
 * aborted, the oldest 10% of every node's rows are pruned (counted, logged), and the write is
 * retried once; if it still fails the batch is dropped and counted. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "leaf.h"
#include "leaf_hist.h"
#include "wr_error.h"
#include "wr_log.h"
#include "wr_time.h"

#define LEAF_PENDING_MAX  (4u << 20)       /* samples buffered between two ticks */
#define LEAF_CODES_MAX    65535
/* Estimated LMDB cost of one raw row beyond its value: 8 bytes of node header, 12 of key, 2 of
 * page index; rows land in the middle of the tree (one node's range), so leaf pages split in
 * two and stay about 2/3 full: x 3/2. */
#define LEAF_ROW_OVERHEAD 22
#define LEAF_DB_SAMPLES_IDX   1    /* order of dbs[] in leaf_samples_open */
#define ROW_MAX (10 + LEAF_METRICS_MAX * (3 + LEAF_NUM_MAX))
static const char META_NEXT_SID[] = "next_series_id";
static const char META_CODE[] = "mc:";
static int64_t size_log_ms;         /* last "pruned for size" log line (wall ms) */
static uint64_t size_log_count;     /* pruned since */

struct leaf_rows {
    uint16_t code_of[LEAF_METRICS_MAX];    /* metric -> code */
    int16_t *metric_of;                    /* code -> metric or -1; n_codes entries */
    size_t   n_codes;
    uint32_t *start;                       /* n_nodes + 1: counting sort of the pending samples */
    uint32_t *perm;
    size_t   cap_perm;
    uint32_t stamp[LEAF_METRICS_MAX], gen; /* a row being built: metrics present */
    double   val[LEAF_METRICS_MAX];
    uint16_t list[LEAF_METRICS_MAX];
    size_t   n_list;
    uint8_t  buf[ROW_MAX];
    uint64_t rows_written, vbytes_written; /* for the size estimate */
};

/* ---- encoding ------------------------------------------------------------------------ */

size_t leaf_rows_put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

int leaf_rows_get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned s = 0; s < 64 && *p < end; s += 7) {
        uint8_t b = *(*p)++;
        r |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

size_t leaf_rows_put_num(uint8_t *p, double v)
{
    if (v >= -9007199254740992.0 && v <= 9007199254740992.0 && v == (double)(int64_t)v &&
        !(v == 0 && signbit(v))) {
        int64_t i = (int64_t)v;
        uint64_t z = ((uint64_t)i << 1) ^ (uint64_t)(i >> 63);
        return leaf_rows_put_varint(p, z << 1);
    }
    uint64_t bits;
    memcpy(&bits, &v, 8);
    p[0] = 1;
    wr_store_be64(p + 1, bits);
    return 9;
}

int leaf_rows_get_num(const uint8_t **p, const uint8_t *end, double *v)
{
    uint64_t x;
    if (leaf_rows_get_varint(p, end, &x) != 0)
        return -1;
    if (x & 1) {
        if (x != 1 || end - *p < 8)
            return -1;
        uint64_t bits = wr_store_get_be64(*p);
        memcpy(v, &bits, 8);
        *p += 8;
        return 0;
    }
    uint64_t z = x >> 1;
    *v = (double)((int64_t)(z >> 1) ^ -(int64_t)(z & 1));
    return 0;
}

uint32_t leaf_rows_code(const leaf_t *lf, uint32_t metric)
{
    return metric < LEAF_METRICS_MAX ? lf->rows->code_of[metric] : 0;
}

int leaf_rows_metric(const leaf_t *lf, uint64_t code)
{
    return code < lf->rows->n_codes ? lf->rows->metric_of[code] : -1;
}

int leaf_rows_find(const void *val, size_t vlen, uint32_t code, double *out)
{
    const uint8_t *p = val, *end = p + vlen;
    uint64_t n, c;
    if (leaf_rows_get_varint(&p, end, &n) != 0)
        return -1;
    for (uint64_t k = 0; k < n; k++) {
        double v;
        if (leaf_rows_get_varint(&p, end, &c) != 0 || leaf_rows_get_num(&p, end, &v) != 0)
            return -1;
        if (c == code) {
            *out = v;
            return 1;
        }
    }
    return 0;
}

int leaf_rows_each(const leaf_t *lf, const void *val, size_t vlen,
                   void (*fn)(void *ud, uint32_t metric, double v), void *ud)
{
    const uint8_t *p = val, *end = p + vlen;
    uint64_t n, c;
    if (leaf_rows_get_varint(&p, end, &n) != 0)
        return -1;
    for (uint64_t k = 0; k < n; k++) {
        double v;
        if (leaf_rows_get_varint(&p, end, &c) != 0 || leaf_rows_get_num(&p, end, &v) != 0)
            return -1;
        int m = leaf_rows_metric(lf, c);
        if (m >= 0)
            fn(ud, (uint32_t)m, v);
    }
    return 0;
}

/* Samples in a stored row (its first varint; 0 if corrupt). */
static uint64_t row_count(const void *val, size_t vlen)
{
    const uint8_t *p = val;
    uint64_t n;
    return leaf_rows_get_varint(&p, p + vlen, &n) == 0 ? n : 0;
}

static void sample_key(uint8_t key[12], uint32_t sid, int64_t ts)
{
    wr_store_be32(key, sid);
    wr_store_be64(key + 4, (uint64_t)(ts < 0 ? 0 : ts));
}

/* ---- open: node sids and metric codes ------------------------------------------------- */

typedef struct {
    leaf_t  *lf;
    size_t   known, foreign;
} series_load_t;

static int visit_node(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
    series_load_t *sl = ud;
    if (vlen != 4 || memchr(key, '\0', klen))
        return 0;                              /* not a node (an older layout's series) */
    uint32_t sid = wr_store_get_be32(val);
    if (sid >= sl->lf->next_sid)
        sl->lf->next_sid = sid + 1;
    leaf_node_t *n = leaf_node_find(sl->lf, key, klen);
    if (!n) {
        sl->foreign++;
        return 0;
    }
    n->sid = sid;
    n->row_ts = 0;
    sl->known++;
    return 0;
}

static int visit_code(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
    leaf_t *lf = ud;
    struct leaf_rows *r = lf->rows;
    char name[WR_METRIC_NAME_MAX];
    size_t pl = sizeof META_CODE - 1;
    if (vlen != 2 || klen <= pl || klen - pl >= sizeof name)
        return 0;
    uint32_t code = ((uint32_t)((const uint8_t *)val)[0] << 8) | ((const uint8_t *)val)[1];
    if (code == 0)
        return 0;
    memcpy(name, (const char *)key + pl, klen - pl);
    name[klen - pl] = '\0';
    if (code >= r->n_codes) {
        int16_t *mo = realloc(r->metric_of, (code + 1) * sizeof *mo);
        if (!mo)
            return WR_ENOMEM;
        for (size_t c = r->n_codes; c <= code; c++)
            mo[c] = -1;
        r->metric_of = mo;
        r->n_codes = code + 1;
    }
    int m = wr_metric_find(name);
    r->metric_of[code] = (int16_t)m;
    if (m >= 0 && m < LEAF_METRICS_MAX)
        r->code_of[m] = (uint16_t)code;
    return 0;
}

/* Reads the metric codes and gives every metric of this build's catalogue one (persisted). */
static int load_codes(leaf_t *lf)
{
    struct leaf_rows *r = lf->rows;
    r->n_codes = 1;
    r->metric_of = malloc(sizeof *r->metric_of);
    if (!r->metric_of)
        return WR_ENOMEM;
    r->metric_of[0] = -1;
    wr_txn_t *txn = NULL;
    int rc = wr_store_begin(lf->store, 1, &txn);
    if (rc)
        return rc;
    rc = wr_store_scan(txn, lf->db_meta, META_CODE, sizeof META_CODE - 1, "mc;", 3, visit_code, lf);
    size_t nm = wr_metric_count < LEAF_METRICS_MAX ? wr_metric_count : LEAF_METRICS_MAX, added = 0;
    for (size_t m = 0; rc == 0 && m < nm; m++) {
        if (r->code_of[m])
            continue;
        if (r->n_codes > LEAF_CODES_MAX) {
            rc = WR_EFULL;
            break;
        }
        int16_t *mo = realloc(r->metric_of, (r->n_codes + 1) * sizeof *mo);
        if (!mo) {
            rc = WR_ENOMEM;
            break;
        }
        r->metric_of = mo;
        uint32_t code = (uint32_t)r->n_codes++;
        mo[code] = (int16_t)m;
        r->code_of[m] = (uint16_t)code;
        char key[sizeof META_CODE + WR_METRIC_NAME_MAX];
        size_t nl = strlen(wr_metric_defs[m].name);
        memcpy(key, META_CODE, sizeof META_CODE - 1);
        memcpy(key + sizeof META_CODE - 1, wr_metric_defs[m].name, nl);
        uint8_t v[2] = {(uint8_t)(code >> 8), (uint8_t)code};
        rc = wr_store_put(txn, lf->db_meta, key, sizeof META_CODE - 1 + nl, v, 2);
        added++;
    }
    if (rc == 0 && added)
        rc = wr_store_commit(&txn);
    else
        wr_store_abort(&txn);
    return rc;
}

static int8_t counter_slot[LEAF_METRICS_MAX];
static size_t n_counters;
static int    counters_init;

static void counters_build(void)
{
    size_t nm = wr_metric_count < LEAF_METRICS_MAX ? wr_metric_count : LEAF_METRICS_MAX;
    n_counters = 0;
    for (size_t m = 0; m < nm; m++)
        counter_slot[m] = (int8_t)(wr_metric_defs[m].kind == WR_COUNTER && n_counters < LEAF_COUNTERS_MAX
                                   ? (int)n_counters++ : -1);
    for (size_t m = nm; m < LEAF_METRICS_MAX; m++)
        counter_slot[m] = -1;
    counters_init = 1;
}

int leaf_counter_slot(uint32_t metric)
{
    if (!counters_init)
        counters_build();
    return metric < LEAF_METRICS_MAX ? counter_slot[metric] : -1;
}

int leaf_samples_open(leaf_t *lf, char *err, size_t errlen)
{
    size_t nc = 0;
    for (size_t m = 0; m < wr_metric_count; m++)
        nc += wr_metric_defs[m].kind == WR_COUNTER;
    if (nc > LEAF_COUNTERS_MAX) {
        snprintf(err, errlen, "the metric catalogue has %zu counters, over LEAF_COUNTERS_MAX (%d): "
                 "raise it in leaf/leaf.h", nc, LEAF_COUNTERS_MAX);
        return WR_EINVAL;
    }
    static const char *const dbs[] = {"nodes", "raw", "meta", "tiers", LEAF_EVENTS_DBS, NULL};
    lf->store = wr_store_open(lf->cfg.store_path, (uint64_t)lf->cfg.map_size_mb << 20, dbs, err, errlen);
    if (!lf->store)
        return WR_ESTORE;
    lf->db_series = wr_store_db(lf->store, "nodes");
    lf->db_samples = wr_store_db(lf->store, "raw");
    lf->db_meta = wr_store_db(lf->store, "meta");
    lf->db_hist = wr_store_db(lf->store, "tiers");
    lf->rows = calloc(1, sizeof *lf->rows);
    int rc = lf->rows ? 0 : WR_ENOMEM;
    if (rc == 0) {
        lf->rows->start = calloc(lf->n_nodes + 1, sizeof *lf->rows->start);
        rc = lf->rows->start ? load_codes(lf) : WR_ENOMEM;
    }
    series_load_t sl = {lf, 0, 0};
    if (rc == 0) {
        wr_txn_t *txn = NULL;
        if ((rc = wr_store_begin(lf->store, 0, &txn)) == 0) {
            const void *val;
            size_t vlen;
            lf->next_sid = 1;
            if (wr_store_get(txn, lf->db_meta, META_NEXT_SID, sizeof META_NEXT_SID - 1, &val, &vlen) == 0 &&
                vlen == 4 && wr_store_get_be32(val) > 0)
                lf->next_sid = wr_store_get_be32(val);
            rc = wr_store_scan(txn, lf->db_series, NULL, 0, NULL, 0, visit_node, &sl);
            if (rc == 0 && (rc = leaf_hist_open(lf)) == 0)
                rc = leaf_hist_rebuild(lf, txn);
            wr_store_abort(&txn);
        }
    }
    if (rc == 0) {
        WR_INFO("store %s: %zu watched nodes with history, %zu others kept for retention, %zu metric codes",
                lf->cfg.store_path, sl.known, sl.foreign, lf->rows->n_codes - 1);
        return 0;
    }
    snprintf(err, errlen, "store %s: reading nodes and metric codes: %s %s", lf->cfg.store_path,
             wr_strerror(rc), wr_store_last_error(lf->store));
    leaf_samples_close(lf);
    return rc;
}

void leaf_samples_close(leaf_t *lf)
{
    if (lf->store)
        WR_INFO("history: %llu samples expired by age, %llu pruned for size, %llu for a full map; "
                "tier points %llu written, %llu dropped, %llu expired; %llu late samples",
                (unsigned long long)lf->samples_expired, (unsigned long long)lf->samples_pruned_size,
                (unsigned long long)lf->samples_pruned, (unsigned long long)lf->hist_points_written,
                (unsigned long long)lf->hist_points_dropped, (unsigned long long)lf->hist_points_expired,
                (unsigned long long)lf->hist_late);
    leaf_hist_close(lf);
    wr_store_destroy(&lf->store);
    if (lf->rows) {
        free(lf->rows->metric_of);
        free(lf->rows->start);
        free(lf->rows->perm);
        free(lf->rows);
        lf->rows = NULL;
    }
    free(lf->pending);
    lf->pending = NULL;
    lf->n_pending = lf->cap_pending = 0;
}

void leaf_samples_add(leaf_t *lf, uint32_t node, uint32_t metric, int64_t ts_ms, double v)
{
    if (lf->n_pending == lf->cap_pending) {
        size_t ncap = lf->cap_pending ? lf->cap_pending * 2 : 1024;
        leaf_sample_t *p = ncap <= LEAF_PENDING_MAX ? realloc(lf->pending, ncap * sizeof *p) : NULL;
        if (!p) {
            lf->samples_dropped++;
            return;
        }
        lf->pending = p;
        lf->cap_pending = ncap;
    }
    lf->pending[lf->n_pending++] = (leaf_sample_t){node, metric, ts_ms, v};
}

/* ---- writing ------------------------------------------------------------------------- */

static void rollback_sids(leaf_t *lf, uint32_t saved)
{
    for (size_t i = 0; i < lf->n_nodes; i++)
        if (lf->nodes[i].sid >= saved)
            lf->nodes[i].sid = 0;
    lf->next_sid = saved;
}

int leaf_samples_sid(leaf_t *lf, wr_txn_t *txn, uint32_t node, uint32_t *sid)
{
    leaf_node_t *n = &lf->nodes[node];
    *sid = n->sid;
    if (*sid)
        return 0;
    uint8_t v[4];
    uint32_t id = lf->next_sid++;
    wr_store_be32(v, id);
    int rc = wr_store_put(txn, lf->db_series, n->name, strlen(n->name), v, 4);
    if (rc == 0) {
        *sid = n->sid = id;
        n->row_ts = 0;
    }
    return rc;
}

static void row_value(struct leaf_rows *r, uint32_t metric, double v)
{
    if (r->stamp[metric] != r->gen) {
        r->stamp[metric] = r->gen;
        r->list[r->n_list++] = (uint16_t)metric;
    }
    r->val[metric] = v;
}

static void merge_old(void *ud, uint32_t metric, double v)
{
    struct leaf_rows *r = ud;
    if (metric < LEAF_METRICS_MAX && r->stamp[metric] != r->gen)   /* the new value wins */
        row_value(r, metric, v);
}

/* Writes the row (node, ts) of pending samples perm[a..b) (all of that node and ts). */
static int put_row(leaf_t *lf, wr_txn_t *txn, uint32_t node, int64_t ts, size_t a, size_t b)
{
    struct leaf_rows *r = lf->rows;
    leaf_node_t *n = &lf->nodes[node];
    uint32_t sid;
    int rc = leaf_samples_sid(lf, txn, node, &sid);
    if (rc)
        return rc;
    if (++r->gen == 0) {
        memset(r->stamp, 0, sizeof r->stamp);
        r->gen = 1;
    }
    r->n_list = 0;
    for (size_t k = a; k < b; k++) {
        const leaf_sample_t *s = &lf->pending[r->perm[k]];
        if (s->metric < LEAF_METRICS_MAX && r->code_of[s->metric])
            row_value(r, s->metric, s->value);
    }
    uint8_t key[12];
    sample_key(key, sid, ts);
    if (n->row_ts == 0 || ts <= n->row_ts) {   /* maybe on disk already: merge */
        const void *old;
        size_t olen;
        if (wr_store_get(txn, lf->db_samples, key, sizeof key, &old, &olen) == 0)
            (void)leaf_rows_each(lf, old, olen, merge_old, r);
    }
    size_t len = leaf_rows_put_varint(r->buf, r->n_list);
    for (size_t k = 0; k < r->n_list; k++) {
        uint32_t m = r->list[k];
        len += leaf_rows_put_varint(r->buf + len, r->code_of[m]);
        len += leaf_rows_put_num(r->buf + len, r->val[m]);
    }
    if ((rc = wr_store_put(txn, lf->db_samples, key, sizeof key, r->buf, len)) == 0) {
        if (ts > n->row_ts)
            n->row_ts = ts;
        r->rows_written++;
        r->vbytes_written += len;
    }
    return rc;
}

/* Groups the pending samples by node (counting sort, arrival order kept) and each node's by
 * ts, one put per (node, ts). */
static int write_rows(leaf_t *lf, wr_txn_t *txn)
{
    struct leaf_rows *r = lf->rows;
    size_t nn = lf->n_nodes;
    if (r->cap_perm < lf->n_pending) {
        uint32_t *p = realloc(r->perm, lf->cap_pending * sizeof *p);
        if (!p)
            return WR_ENOMEM;
        r->perm = p;
        r->cap_perm = lf->cap_pending;
    }
    memset(r->start, 0, (nn + 1) * sizeof *r->start);
    for (size_t i = 0; i < lf->n_pending; i++)
        if (lf->pending[i].node < nn)
            r->start[lf->pending[i].node + 1]++;
    for (size_t i = 0; i < nn; i++)
        r->start[i + 1] += r->start[i];
    for (size_t i = 0; i < lf->n_pending; i++)
        if (lf->pending[i].node < nn)
            r->perm[r->start[lf->pending[i].node]++] = (uint32_t)i;
    /* start[node] is now the end of node's slice, the start of the next */
    int rc = 0;
    for (size_t node = 0, a = 0; node < nn && rc == 0; a = r->start[node], node++) {
        size_t b = r->start[node];
        if (a == b)
            continue;
        /* usually one ts; otherwise a stable insertion sort by ts */
        int sorted = 1;
        for (size_t k = a + 1; k < b && sorted; k++)
            sorted = lf->pending[r->perm[k]].ts_ms == lf->pending[r->perm[a]].ts_ms;
        for (size_t k = a + 1; !sorted && k < b; k++) {
            uint32_t x = r->perm[k];
            size_t j = k;
            while (j > a && lf->pending[r->perm[j - 1]].ts_ms > lf->pending[x].ts_ms) {
                r->perm[j] = r->perm[j - 1];
                j--;
            }
            r->perm[j] = x;
        }
        for (size_t g = a; g < b && rc == 0;) {
            int64_t ts = lf->pending[r->perm[g]].ts_ms;
            size_t e = g + 1;
            while (e < b && lf->pending[r->perm[e]].ts_ms == ts)
                e++;
            rc = put_row(lf, txn, (uint32_t)node, ts, g, e);
            g = e;
        }
    }
    return rc;
}

static int write_batch(leaf_t *lf)
{
    uint32_t saved = lf->next_sid;
    wr_txn_t *txn = NULL;
    int rc = wr_store_begin(lf->store, 1, &txn);
    if (rc)
        return rc;
    if (lf->n_pending)
        rc = write_rows(lf, txn);
    if (rc == 0)
        rc = leaf_hist_write(lf, txn);
    if (rc == 0 && lf->next_sid != saved) {
        uint8_t v[4];
        wr_store_be32(v, lf->next_sid);
        rc = wr_store_put(txn, lf->db_meta, META_NEXT_SID, sizeof META_NEXT_SID - 1, v, 4);
    }
    if (rc == 0)
        rc = wr_store_commit(&txn);
    else
        wr_store_abort(&txn);
    if (rc)
        rollback_sids(lf, saved);
    return rc;
}

typedef struct {
    uint64_t rows, samples, max;
} count_t;

static int count_visit(void *ud, const void *k, size_t kl, const void *v, size_t vl)
{
    (void)k; (void)kl;
    count_t *c = ud;
    c->rows++;
    c->samples += row_count(v, vl);
    return c->max && c->rows >= c->max ? 1 : 0;
}

/* Deletes rows [from, to) of db, at most max (0: all), adding their samples to *samples. */
static int delete_counted(wr_txn_t *txn, int db, const uint8_t *from, size_t fl, const uint8_t *to,
                          size_t tl, uint64_t max, uint64_t *rows, uint64_t *samples)
{
    count_t c = {0, 0, max};
    int rc = wr_store_scan(txn, db, from, fl, to, tl, count_visit, &c);
    if (rc < 0)
        return rc;
    if (c.rows == 0)
        return 0;
    uint64_t del = 0;
    rc = wr_store_delete_range(txn, db, from, fl, to, tl, c.rows, &del);
    if (rc == 0) {
        *rows += del;
        *samples += c.samples;
    }
    return rc;
}

/* Deletes the oldest 10% (at least one) of every node's rows. In a full map even a delete needs
 * fresh pages (copy-on-write), so it runs in small txns, each committing pages the next can
 * reuse; the chunk shrinks when a txn still does not fit. *pruned counts samples. */
static int prune_oldest(leaf_t *lf, uint64_t *pruned)
{
    *pruned = 0;
    uint32_t nsid = lf->next_sid;
    uint64_t *want = calloc(nsid ? nsid : 1, sizeof *want);
    if (!want)
        return WR_ENOMEM;
    wr_txn_t *txn = NULL;
    int rc = wr_store_begin(lf->store, 0, &txn);
    for (uint32_t sid = 1; rc == 0 && sid < nsid; sid++) {
        uint8_t from[4], to[4];
        count_t c = {0, 0, 0};
        wr_store_be32(from, sid);
        wr_store_be32(to, sid + 1);
        rc = wr_store_scan(txn, lf->db_samples, from, 4, to, 4, count_visit, &c);
        want[sid] = c.rows ? (c.rows / 10 ? c.rows / 10 : 1) : 0;
    }
    wr_store_abort(&txn);
    uint64_t chunk = 64;
    uint32_t sid = 1;
    while (rc == 0 && sid < nsid) {
        uint64_t in_txn = 0, rows = 0, samples = 0;
        rc = wr_store_begin(lf->store, 1, &txn);
        for (uint32_t s = sid; rc == 0 && s < nsid && in_txn < chunk; s++) {
            if (want[s] == 0)
                continue;
            uint8_t from[4], to[4];
            uint64_t max = want[s] < chunk - in_txn ? want[s] : chunk - in_txn;
            wr_store_be32(from, s);
            wr_store_be32(to, s + 1);
            rc = delete_counted(txn, lf->db_samples, from, 4, to, 4, max, &rows, &samples);
            in_txn += max;
        }
        if (rc == 0)
            rc = wr_store_commit(&txn);
        else
            wr_store_abort(&txn);
        if (rc == WR_EFULL || (rc == WR_ESTORE && chunk > 1)) {
            if (chunk == 1)
                break;
            chunk /= 8;
            if (chunk == 0)
                chunk = 1;
            rc = 0;
            continue;
        }
        if (rc)
            break;
        /* committed: take the deleted counts off the wants, in order */
        *pruned += samples;
        uint64_t left = in_txn;
        while (sid < nsid && left > 0) {
            uint64_t t = want[sid] < left ? want[sid] : left;
            want[sid] -= t;
            left -= t;
            if (want[sid] == 0)
                sid++;
        }
        while (sid < nsid && want[sid] == 0)
            sid++;
    }
    free(want);
    return rc;
}

typedef struct {
    int64_t oldest, newest;
} span_t;

static int span_first(void *ud, const void *key, size_t klen, const void *v, size_t vl)
{
    (void)v; (void)vl;
    span_t *sp = ud;
    if (klen == 12) {
        int64_t ts = (int64_t)wr_store_get_be64((const uint8_t *)key + 4);
        if (ts < sp->oldest) sp->oldest = ts;
        if (ts > sp->newest) sp->newest = ts;
    }
    return 1;
}

/* Oldest and newest raw row over all nodes (INT64_MAX, INT64_MIN when none). */
static int raw_span(leaf_t *lf, span_t *sp)
{
    sp->oldest = INT64_MAX;
    sp->newest = INT64_MIN;
    wr_txn_t *txn = NULL;
    int rc = wr_store_begin(lf->store, 0, &txn);
    for (uint32_t sid = 1; rc == 0 && sid < lf->next_sid; sid++) {
        uint8_t from[4], to[4];
        wr_store_be32(from, sid);
        wr_store_be32(to, sid + 1);
        rc = wr_store_scan(txn, lf->db_samples, from, 4, to, 4, span_first, sp);
        if (rc == 0 || rc == 1)
            rc = wr_store_scan_reverse(txn, lf->db_samples, from, 4, to, 4, span_first, sp);
        if (rc == 1)
            rc = 0;
    }
    wr_store_abort(&txn);
    return rc;
}

/* Deletes raw rows older than cutoff of every node (txns of 256 nodes); *deleted counts
 * samples. */
static int delete_raw_before(leaf_t *lf, int64_t cutoff, uint64_t *deleted)
{
    *deleted = 0;
    int rc = 0;
    for (uint32_t sid = 1; rc == 0 && sid < lf->next_sid;) {
        wr_txn_t *txn = NULL;
        uint64_t rows = 0, samples = 0;
        if ((rc = wr_store_begin(lf->store, 1, &txn)) != 0)
            break;
        for (uint32_t k = 0; rc == 0 && k < 256 && sid < lf->next_sid; k++, sid++) {
            uint8_t from[12], to[12];
            sample_key(from, sid, 0);
            sample_key(to, sid, cutoff);
            rc = delete_counted(txn, lf->db_samples, from, sizeof from, to, sizeof to, 0, &rows, &samples);
        }
        if (rc == 0)
            rc = wr_store_commit(&txn);
        else
            wr_store_abort(&txn);
        if (rc == 0)
            *deleted += samples;
    }
    return rc;
}

/* The estimated size of `rows` raw rows (0 before this process wrote any: no estimate). */
static uint64_t raw_estimate(const leaf_t *lf, uint64_t rows)
{
    const struct leaf_rows *r = lf->rows;
    if (!r || r->rows_written == 0)
        return 0;
    double per = ((double)r->vbytes_written / (double)r->rows_written + LEAF_ROW_OVERHEAD) * 1.5;
    return (uint64_t)((double)rows * per);
}

/* Retention by size: when the raw rows' estimated size is over store.max_mb, deletes the
 * oldest rows of all nodes, by time, down to 90% of it (assuming an even rate over the span
 * kept; repeated a few times if not enough went). Counted in samples_pruned_size. */
static void enforce_size(leaf_t *lf)
{
    if (lf->cfg.max_mb <= 0 || !lf->store)
        return;
    uint64_t cap = (uint64_t)lf->cfg.max_mb << 20, pruned = 0;
    int rc = 0;
    for (int round = 0; round < 4 && rc == 0; round++) {
        wr_store_info_t info;
        if ((rc = wr_store_info(lf->store, &info)) != 0)
            break;
        uint64_t entries = info.entries[LEAF_DB_SAMPLES_IDX], est = raw_estimate(lf, entries);
        if (est <= cap)
            break;
        uint64_t target = cap / 10 * 9;
        span_t sp;
        if ((rc = raw_span(lf, &sp)) != 0 || sp.oldest >= sp.newest)
            break;
        double frac = (double)(est - target) / (double)est;
        int64_t cutoff = sp.oldest + (int64_t)((double)(sp.newest - sp.oldest) * frac);
        if (cutoff <= sp.oldest)
            cutoff = sp.oldest + 1;
        uint64_t del = 0;
        rc = delete_raw_before(lf, cutoff, &del);
        pruned += del;
        if (del == 0)
            break;
    }
    lf->samples_pruned_size += pruned;
    size_log_count += pruned;
    int64_t now = wr_wall_ms();
    if (rc)
        WR_ERROR("store %s: pruning for size failed: %s (%s)", lf->cfg.store_path, wr_strerror(rc),
                 wr_store_last_error(lf->store));
    if (size_log_count && now - size_log_ms >= 60000) {
        WR_WARN("store %s: raw samples over store.max_mb = %lld: pruned the oldest %llu samples "
                "(%llu in total)", lf->cfg.store_path, (long long)lf->cfg.max_mb,
                (unsigned long long)size_log_count, (unsigned long long)lf->samples_pruned_size);
        size_log_ms = now;
        size_log_count = 0;
    }
}

size_t leaf_samples_flush(leaf_t *lf)
{
    size_t n = lf->n_pending;
    if (!lf->store)
        return 0;
    leaf_hist_release(lf);          /* nodes handed back to another leaf of the group */
    leaf_hist_feed_pending(lf);
    leaf_hist_sweep(lf, wr_wall_ms());
    size_t q = leaf_hist_queued(lf);
    if (n == 0 && q == 0)
        return 0;
    int rc = write_batch(lf);
    if (rc == WR_EFULL) {
        uint64_t pruned = 0;
        int prc = prune_oldest(lf, &pruned);
        lf->samples_pruned += pruned;
        if (prc)
            WR_ERROR("store %s full and pruning failed: %s (%s)", lf->cfg.store_path,
                     wr_strerror(prc), wr_store_last_error(lf->store));
        else
            WR_WARN("store %s full (map_size_mb = %lld): pruned the oldest 10%% of every node's rows, "
                    "%llu samples (%llu in total)", lf->cfg.store_path, (long long)lf->cfg.map_size_mb,
                    (unsigned long long)pruned, (unsigned long long)lf->samples_pruned);
        rc = write_batch(lf);
    }
    lf->n_pending = 0;
    leaf_hist_done(lf, rc == 0);
    if (rc) {
        lf->samples_dropped += n;
        WR_ERROR("store %s: writing %zu samples and %zu tier points failed: %s (%s); dropped "
                 "(%llu samples in total)", lf->cfg.store_path, n, q, wr_strerror(rc),
                 wr_store_last_error(lf->store), (unsigned long long)lf->samples_dropped);
        return 0;
    }
    lf->samples_written += n;
    if (n)
        enforce_size(lf);
    return n;
}

void leaf_samples_retention(leaf_t *lf)
{
    if (!lf->store)
        return;
    int64_t now = wr_wall_ms();
    int64_t cutoff = now - (int64_t)(lf->cfg.retention * 1000.0);
    uint64_t total = 0;
    int rc = delete_raw_before(lf, cutoff, &total);
    lf->samples_expired += total;
    if (rc)
        WR_ERROR("store %s: retention failed: %s (%s)", lf->cfg.store_path, wr_strerror(rc),
                 wr_store_last_error(lf->store));
    else if (total)
        WR_DEBUG("retention: deleted %llu samples older than %.0f s", (unsigned long long)total,
                 lf->cfg.retention);
    leaf_hist_retention(lf, now);
    enforce_size(lf);
    (void)wr_store_release_pages(lf->store);   /* the pages the scans read (leaf_poll.c) */
}
