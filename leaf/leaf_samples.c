/* leaf_samples: the leaf's raw history in LMDB (DESIGN section 7).
 *   series : "node\0metric"            -> be32 series id (ids from 1; kept in memory too)
 *   samples: be32(series id) be64(ts)  -> be64(IEEE-754 bits of the value)
 *   meta   : "next_series_id"          -> be32
 * Samples are buffered per interval and written in one write txn per poll tick. Retention
 * deletes samples older than store.retention once a minute. A full map never kills the leaf:
 * the write is aborted, the oldest 10% of every series is pruned (counted, logged), and the
 * write is retried once; if it still fails the batch is dropped and counted. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "leaf.h"
#include "wr_error.h"
#include "wr_log.h"
#include "wr_time.h"

#define LEAF_PENDING_MAX  (4u << 20)       /* samples buffered between two ticks */
#define LEAF_QUERY_LIMIT_MAX 100000
static const char META_NEXT_SID[] = "next_series_id";

static void sample_key(uint8_t key[12], uint32_t sid, int64_t ts)
{
    wr_store_be32(key, sid);
    wr_store_be64(key + 4, (uint64_t)(ts < 0 ? 0 : ts));
}

static int load_series(leaf_t *lf)
{
    wr_txn_t *txn = NULL;
    int rc = wr_store_begin(lf->store, 0, &txn);
    if (rc)
        return rc;
    const void *val;
    size_t vlen;
    lf->next_sid = 1;
    if (wr_store_get(txn, lf->db_meta, META_NEXT_SID, sizeof META_NEXT_SID - 1, &val, &vlen) == 0 && vlen == 4)
        lf->next_sid = wr_store_get_be32(val);
    if (lf->next_sid == 0)
        lf->next_sid = 1;
    wr_store_abort(&txn);
    return 0;
}

typedef struct {
    leaf_t  *lf;
    size_t   known, foreign;
} series_load_t;

static int visit_series(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
    series_load_t *sl = ud;
    const char *k = key;
    const char *nul = memchr(k, '\0', klen);
    if (!nul || vlen != 4)
        return 0;
    uint32_t sid = wr_store_get_be32(val);
    if (sid >= sl->lf->next_sid)
        sl->lf->next_sid = sid + 1;
    char metric[WR_METRIC_NAME_MAX];
    size_t mlen = klen - (size_t)(nul + 1 - k);
    leaf_node_t *n = leaf_node_find(sl->lf, k, (size_t)(nul - k));
    if (!n || mlen >= sizeof metric) {
        sl->foreign++;
        return 0;
    }
    memcpy(metric, nul + 1, mlen);
    metric[mlen] = '\0';
    int m = wr_metric_find(metric);
    if (m < 0) {
        sl->foreign++;
        return 0;
    }
    n->series[m] = sid;
    sl->known++;
    return 0;
}

int leaf_samples_open(leaf_t *lf, char *err, size_t errlen)
{
    static const char *const dbs[] = {"series", "samples", "meta", NULL};
    lf->store = wr_store_open(lf->cfg.store_path, (uint64_t)lf->cfg.map_size_mb << 20, dbs, err, errlen);
    if (!lf->store)
        return WR_ESTORE;
    lf->db_series = wr_store_db(lf->store, "series");
    lf->db_samples = wr_store_db(lf->store, "samples");
    lf->db_meta = wr_store_db(lf->store, "meta");
    int rc = load_series(lf);
    if (rc == 0) {
        series_load_t sl = {lf, 0, 0};
        wr_txn_t *txn = NULL;
        if ((rc = wr_store_begin(lf->store, 0, &txn)) == 0) {
            rc = wr_store_scan(txn, lf->db_series, NULL, 0, NULL, 0, visit_series, &sl);
            wr_store_abort(&txn);
        }
        if (rc == 0)
            WR_INFO("store %s: %zu series of watched nodes, %zu of others kept for retention",
                    lf->cfg.store_path, sl.known, sl.foreign);
    }
    if (rc) {
        snprintf(err, errlen, "store %s: reading series: %s", lf->cfg.store_path,
                 wr_store_last_error(lf->store));
        wr_store_destroy(&lf->store);
        return rc;
    }
    return 0;
}

void leaf_samples_close(leaf_t *lf)
{
    wr_store_destroy(&lf->store);
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

static void rollback_sids(leaf_t *lf, uint32_t saved)
{
    for (size_t i = 0; i < lf->n_nodes; i++)
        for (size_t m = 0; m < wr_metric_count; m++)
            if (lf->nodes[i].series[m] >= saved)
                lf->nodes[i].series[m] = 0;
    lf->next_sid = saved;
}

static int write_batch(leaf_t *lf)
{
    uint32_t saved = lf->next_sid;
    wr_txn_t *txn = NULL;
    int rc = wr_store_begin(lf->store, 1, &txn);
    if (rc)
        return rc;
    for (size_t i = 0; i < lf->n_pending && rc == 0; i++) {
        const leaf_sample_t *s = &lf->pending[i];
        leaf_node_t *n = &lf->nodes[s->node];
        uint32_t sid = n->series[s->metric];
        if (sid == 0) {
            char key[WR_NODE_NAME_MAX + WR_METRIC_NAME_MAX];
            size_t nl = strlen(n->name), ml = strlen(wr_metric_defs[s->metric].name);
            memcpy(key, n->name, nl + 1);
            memcpy(key + nl + 1, wr_metric_defs[s->metric].name, ml);
            uint8_t v[4];
            sid = lf->next_sid++;
            wr_store_be32(v, sid);
            if ((rc = wr_store_put(txn, lf->db_series, key, nl + 1 + ml, v, 4)) != 0)
                break;
            n->series[s->metric] = sid;
        }
        uint8_t key[12], val[8];
        uint64_t bits;
        memcpy(&bits, &s->value, 8);
        sample_key(key, sid, s->ts_ms);
        wr_store_be64(val, bits);
        rc = wr_store_put(txn, lf->db_samples, key, sizeof key, val, sizeof val);
    }
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

static int count_visit(void *ud, const void *k, size_t kl, const void *v, size_t vl)
{
    (void)k; (void)kl; (void)v; (void)vl;
    (*(uint64_t *)ud)++;
    return 0;
}

/* Deletes the oldest 10% (at least one) of every series. In a full map even a delete needs
 * fresh pages (copy-on-write), so it runs in small txns, each committing pages the next can
 * reuse; the chunk shrinks when a txn still does not fit. Returns 0 or a WR_E code. */
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
        uint64_t count = 0;
        wr_store_be32(from, sid);
        wr_store_be32(to, sid + 1);
        rc = wr_store_scan(txn, lf->db_samples, from, 4, to, 4, count_visit, &count);
        want[sid] = count ? (count / 10 ? count / 10 : 1) : 0;
    }
    wr_store_abort(&txn);
    uint64_t chunk = 512;
    uint32_t sid = 1;
    while (rc == 0 && sid < nsid) {
        uint64_t in_txn = 0, done = 0;
        rc = wr_store_begin(lf->store, 1, &txn);
        for (uint32_t s = sid; rc == 0 && s < nsid && in_txn < chunk; s++) {
            if (want[s] == 0)
                continue;
            uint8_t from[4], to[4];
            uint64_t del = 0, max = want[s] < chunk - in_txn ? want[s] : chunk - in_txn;
            wr_store_be32(from, s);
            wr_store_be32(to, s + 1);
            rc = wr_store_delete_range(txn, lf->db_samples, from, 4, to, 4, max, &del);
            in_txn += max;
            done += del;
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
        *pruned += done;
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

size_t leaf_samples_flush(leaf_t *lf)
{
    size_t n = lf->n_pending;
    if (n == 0 || !lf->store)
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
            WR_WARN("store %s full (map_size_mb = %lld): pruned the oldest 10%% of every series, "
                    "%llu samples (%llu in total)", lf->cfg.store_path, (long long)lf->cfg.map_size_mb,
                    (unsigned long long)pruned, (unsigned long long)lf->samples_pruned);
        rc = write_batch(lf);
    }
    lf->n_pending = 0;
    if (rc) {
        lf->samples_dropped += n;
        WR_ERROR("store %s: writing %zu samples failed: %s (%s); dropped (%llu in total)",
                 lf->cfg.store_path, n, wr_strerror(rc), wr_store_last_error(lf->store),
                 (unsigned long long)lf->samples_dropped);
        return 0;
    }
    lf->samples_written += n;
    return n;
}

void leaf_samples_retention(leaf_t *lf)
{
    if (!lf->store)
        return;
    int64_t cutoff = wr_wall_ms() - (int64_t)(lf->cfg.retention * 1000.0);
    wr_txn_t *txn = NULL;
    uint64_t total = 0;
    int rc = wr_store_begin(lf->store, 1, &txn);
    for (uint32_t sid = 1; rc == 0 && sid < lf->next_sid; sid++) {
        uint8_t from[12], to[12];
        uint64_t del = 0;
        sample_key(from, sid, 0);
        sample_key(to, sid, cutoff);
        rc = wr_store_delete_range(txn, lf->db_samples, from, sizeof from, to, sizeof to, 0, &del);
        total += del;
    }
    if (rc == 0)
        rc = wr_store_commit(&txn);
    else
        wr_store_abort(&txn);
    if (rc)
        WR_ERROR("store %s: retention failed: %s (%s)", lf->cfg.store_path, wr_strerror(rc),
                 wr_store_last_error(lf->store));
    else if (total)
        WR_DEBUG("retention: deleted %llu samples older than %.0f s", (unsigned long long)total,
                 lf->cfg.retention);
}

/* ---- queries ------------------------------------------------------------------------ */

typedef struct {
    int64_t *ts;
    double  *v;
    size_t   n, limit;
} collect_t;

static int collect_visit(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
    collect_t *c = ud;
    if (klen != 12 || vlen != 8)
        return 0;
    uint64_t bits = wr_store_get_be64(val);
    double v;
    memcpy(&v, &bits, 8);
    c->ts[c->n] = (int64_t)wr_store_get_be64((const uint8_t *)key + 4);
    c->v[c->n] = v;
    return ++c->n >= c->limit ? 1 : 0;
}

static int get_ms(json_t *args, const char *key, int64_t *out, char *err, size_t errlen)
{
    json_t *j = json_object_get(args, key);
    if (!j || json_is_null(j))
        return 0;
    if (json_is_integer(j))
        *out = (int64_t)json_integer_value(j);
    else if (json_is_real(j) && json_real_value(j) > -9.2e18 && json_real_value(j) < 9.2e18)
        *out = (int64_t)json_real_value(j);
    else {
        snprintf(err, errlen, "args: %s must be a number of ms", key);
        return WR_EINVAL;
    }
    return 0;
}

int leaf_samples_query(leaf_t *lf, leaf_node_t *n, const char *args, size_t args_len,
                       char **result, char *err, size_t errlen)
{
    int64_t now = wr_wall_ms(), since = now - 3600 * 1000, until = now, limit = 1000;
    json_error_t jerr;
    json_t *a = args_len ? json_loadb(args, args_len, 0, &jerr) : json_object();
    *result = NULL;
    if (!a || !json_is_object(a)) {
        snprintf(err, errlen, "args: not a JSON object%s%s", a ? "" : ": ", a ? "" : jerr.text);
        json_decref(a);
        return WR_EINVAL;
    }
    int rc = 0, m = -1;
    json_t *jm = json_object_get(a, "metric");
    json_t *jl = json_object_get(a, "limit");
    if (!json_is_string(jm)) {
        snprintf(err, errlen, "args: metric (a string) is required");
        rc = WR_EINVAL;
    } else if ((m = wr_metric_find(json_string_value(jm))) < 0) {
        snprintf(err, errlen, "unknown metric %.100s", json_string_value(jm));
        rc = WR_ENOTFOUND;
    } else if ((rc = get_ms(a, "since", &since, err, errlen)) != 0 ||
               (rc = get_ms(a, "until", &until, err, errlen)) != 0) {
        /* err set */
    } else if (jl && !json_is_null(jl) &&
               (!json_is_integer(jl) || json_integer_value(jl) < 1 || json_integer_value(jl) > LEAF_QUERY_LIMIT_MAX)) {
        snprintf(err, errlen, "args: limit must be an integer in 1..%d", LEAF_QUERY_LIMIT_MAX);
        rc = WR_EINVAL;
    } else if (since > until) {
        snprintf(err, errlen, "args: since (%lld) is after until (%lld)", (long long)since, (long long)until);
        rc = WR_EINVAL;
    }
    if (rc == 0 && jl && json_is_integer(jl))
        limit = json_integer_value(jl);
    json_decref(a);
    if (rc)
        return rc;

    collect_t c = {NULL, NULL, 0, (size_t)limit};
    uint32_t sid = n->series[m];
    if (sid && until >= 0 && lf->store) {
        c.ts = malloc((size_t)limit * sizeof *c.ts);
        c.v = malloc((size_t)limit * sizeof *c.v);
        wr_txn_t *txn = NULL;
        if (!c.ts || !c.v) {
            rc = WR_ENOMEM;
        } else if ((rc = wr_store_begin(lf->store, 0, &txn)) == 0) {
            uint8_t from[12], to[12];
            sample_key(from, sid, since);
            if (until == INT64_MAX)
                wr_store_be32(to, sid + 1);
            else
                sample_key(to, sid, until + 1);
            rc = wr_store_scan_reverse(txn, lf->db_samples, from, sizeof from, to,
                                       until == INT64_MAX ? 4 : sizeof to, collect_visit, &c);
            wr_store_abort(&txn);
        }
        if (rc) {
            snprintf(err, errlen, "store: %s", wr_strerror(rc));
            free(c.ts);
            free(c.v);
            return rc;
        }
    }
    const wr_metric_def_t *d = &wr_metric_defs[m];
    json_t *pts = json_array();
    for (size_t i = c.n; i-- > 0;)
        json_array_append_new(pts, json_pack("[If]", (json_int_t)c.ts[i], c.v[i]));
    free(c.ts);
    free(c.v);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o}", "node", n->name, "metric", d->name,
                          "unit", d->unit, "kind", d->kind == WR_COUNTER ? "counter" : "gauge",
                          "points", pts);
    if (o)
        *result = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!*result) {
        snprintf(err, errlen, "out of memory building the result");
        return WR_ENOMEM;
    }
    return 0;
}
