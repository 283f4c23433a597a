/* leaf_samples: the leaf's raw history in LMDB (DESIGN section 7).
 *   series : "node\0metric"            -> be32 series id (ids from 1; kept in memory too)
 *   samples: be32(series id) be64(ts)  -> be64(IEEE-754 bits of the value)
 *   meta   : "next_series_id"          -> be32
 *   history: downsampled tiers (leaf_hist.c, leaf_hist.h)
 * Samples are buffered per interval and written, with the tier points that closed, in one
 * write txn per poll tick. Retention (once a minute) deletes raw samples older than
 * store.retention and tier points older than their keep. Size: when the raw samples' estimated
 * size passes store.max_mb, the oldest samples of all series (by time) are pruned down to 90%
 * of it (counted, logged at most once a minute). A full map never kills the leaf: the write is
 * aborted, the oldest 10% of every series is pruned (counted, logged), and the write is retried
 * once; if it still fails the batch is dropped and counted. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "leaf.h"
#include "leaf_hist.h"
#include "wr_error.h"
#include "wr_log.h"
#include "wr_time.h"

#define LEAF_PENDING_MAX  (4u << 20)       /* samples buffered between two ticks */
#define LEAF_QUERY_LIMIT_MAX 100000
/* Estimated LMDB cost of one raw sample: 30 bytes of node header, key, value and page index
 * in leaf pages that stay about half full (a series grows in the middle of the tree, so its
 * pages split in two and the left half is never refilled), plus branch pages. Measured with
 * 258 metrics x 3..100 nodes: 61..80 bytes per sample of the environment's high-water mark. */
#define LEAF_RAW_SAMPLE_BYTES 64
#define LEAF_DB_SAMPLES_IDX   1    /* order of dbs[] in leaf_samples_open */
static const char META_NEXT_SID[] = "next_series_id";
static int64_t size_log_ms;         /* last "pruned for size" log line (wall ms) */
static uint64_t size_log_count;     /* pruned since */

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
    static const char *const dbs[] = {"series", "samples", "meta", "history", NULL};
    lf->store = wr_store_open(lf->cfg.store_path, (uint64_t)lf->cfg.map_size_mb << 20, dbs, err, errlen);
    if (!lf->store)
        return WR_ESTORE;
    lf->db_series = wr_store_db(lf->store, "series");
    lf->db_samples = wr_store_db(lf->store, "samples");
    lf->db_meta = wr_store_db(lf->store, "meta");
    lf->db_hist = wr_store_db(lf->store, "history");
    int rc = load_series(lf);
    if (rc == 0) {
        series_load_t sl = {lf, 0, 0};
        wr_txn_t *txn = NULL;
        if ((rc = wr_store_begin(lf->store, 0, &txn)) == 0) {
            rc = wr_store_scan(txn, lf->db_series, NULL, 0, NULL, 0, visit_series, &sl);
            if (rc == 0 && (rc = leaf_hist_open(lf)) == 0)
                rc = leaf_hist_rebuild(lf, txn);
            wr_store_abort(&txn);
        }
        if (rc == 0)
            WR_INFO("store %s: %zu series of watched nodes, %zu of others kept for retention",
                    lf->cfg.store_path, sl.known, sl.foreign);
    }
    if (rc) {
        snprintf(err, errlen, "store %s: reading series: %s", lf->cfg.store_path,
                 wr_store_last_error(lf->store));
        leaf_hist_close(lf);
        wr_store_destroy(&lf->store);
        return rc;
    }
    return 0;
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

int leaf_samples_sid(leaf_t *lf, wr_txn_t *txn, uint32_t node, uint32_t metric, uint32_t *sid)
{
    leaf_node_t *n = &lf->nodes[node];
    *sid = n->series[metric];
    if (*sid)
        return 0;
    char key[WR_NODE_NAME_MAX + WR_METRIC_NAME_MAX];
    size_t nl = strlen(n->name), ml = strlen(wr_metric_defs[metric].name);
    memcpy(key, n->name, nl + 1);
    memcpy(key + nl + 1, wr_metric_defs[metric].name, ml);
    uint8_t v[4];
    uint32_t id = lf->next_sid++;
    wr_store_be32(v, id);
    int rc = wr_store_put(txn, lf->db_series, key, nl + 1 + ml, v, 4);
    if (rc == 0)
        *sid = n->series[metric] = id;
    return rc;
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
        uint32_t sid;
        if ((rc = leaf_samples_sid(lf, txn, s->node, s->metric, &sid)) != 0)
            break;
        uint8_t key[12], val[8];
        uint64_t bits;
        memcpy(&bits, &s->value, 8);
        sample_key(key, sid, s->ts_ms);
        wr_store_be64(val, bits);
        rc = wr_store_put(txn, lf->db_samples, key, sizeof key, val, sizeof val);
    }
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

/* Oldest and newest raw sample over all series (INT64_MAX, INT64_MIN when none). */
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

/* Deletes raw samples older than cutoff in every series (txns of 1024 series). */
static int delete_raw_before(leaf_t *lf, int64_t cutoff, uint64_t *deleted)
{
    *deleted = 0;
    int rc = 0;
    for (uint32_t sid = 1; rc == 0 && sid < lf->next_sid;) {
        wr_txn_t *txn = NULL;
        uint64_t in_txn = 0;
        if ((rc = wr_store_begin(lf->store, 1, &txn)) != 0)
            break;
        for (uint32_t k = 0; rc == 0 && k < 1024 && sid < lf->next_sid; k++, sid++) {
            uint8_t from[12], to[12];
            uint64_t del = 0;
            sample_key(from, sid, 0);
            sample_key(to, sid, cutoff);
            rc = wr_store_delete_range(txn, lf->db_samples, from, sizeof from, to, sizeof to, 0, &del);
            in_txn += del;
        }
        if (rc == 0)
            rc = wr_store_commit(&txn);
        else
            wr_store_abort(&txn);
        if (rc == 0)
            *deleted += in_txn;
    }
    return rc;
}

/* Retention by size: when the raw samples' estimated size is over store.max_mb, deletes the
 * oldest samples of all series, by time, down to 90% of it (assuming an even rate over the
 * span kept; repeated a few times if not enough went). Counted in samples_pruned_size. */
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
        uint64_t entries = info.entries[LEAF_DB_SAMPLES_IDX];
        if (entries * LEAF_RAW_SAMPLE_BYTES <= cap)
            break;
        uint64_t target = cap / LEAF_RAW_SAMPLE_BYTES * 9 / 10;
        span_t sp;
        if ((rc = raw_span(lf, &sp)) != 0 || sp.oldest >= sp.newest)
            break;
        double frac = (double)(entries - target) / (double)entries;
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
            WR_WARN("store %s full (map_size_mb = %lld): pruned the oldest 10%% of every series, "
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

/* A time: a number of ms (>= 0: absolute Unix ms; < 0: relative to now) or a duration string
 * ("1h" or "-1h": that long before now). */
static int get_time(json_t *args, const char *key, int64_t now, int64_t *out, char *err, size_t errlen)
{
    json_t *j = json_object_get(args, key);
    int64_t d;
    if (!j || json_is_null(j))
        return 0;
    if (json_is_integer(j))
        *out = (int64_t)json_integer_value(j);
    else if (json_is_real(j) && json_real_value(j) > -9.2e18 && json_real_value(j) < 9.2e18)
        *out = (int64_t)json_real_value(j);
    else if (json_is_string(j) &&
             leaf_hist_parse_duration(json_string_value(j) + (json_string_value(j)[0] == '-'), &d) == 0) {
        *out = now - d;
        return 0;
    } else {
        snprintf(err, errlen, "args: %s must be a number of ms or a duration like \"1h\"%s%.40s%s",
                 key, json_is_string(j) ? " (got \"" : "", json_is_string(j) ? json_string_value(j) : "",
                 json_is_string(j) ? "\")" : "");
        return WR_EINVAL;
    }
    if (*out < 0)
        *out = now + *out < 0 ? 0 : now + *out;
    return 0;
}

static int get_step(json_t *args, int64_t *out, char *err, size_t errlen)
{
    json_t *j = json_object_get(args, "step");
    if (!j || json_is_null(j))
        return 0;
    if (json_is_integer(j) && json_integer_value(j) > 0 && json_integer_value(j) <= 100LL * 366 * 86400 * 1000) {
        *out = (int64_t)json_integer_value(j);
        return 0;
    }
    if (json_is_string(j) && leaf_hist_parse_duration(json_string_value(j), out) == 0)
        return 0;
    snprintf(err, errlen, "args: step must be a positive number of ms or a duration like \"1m\"%s%.40s%s",
             json_is_string(j) ? " (got \"" : "", json_is_string(j) ? json_string_value(j) : "",
             json_is_string(j) ? "\")" : "");
    return WR_EINVAL;
}

/* The newest `limit` raw points in [since, until], ascending: [ts, value] for gauges,
 * [ts, value, rate] for counters (rate per second against the previous sample; null for the
 * first one or after a reset). */
static int raw_points(leaf_t *lf, leaf_node_t *n, int m, int64_t since, int64_t until, int64_t limit,
                      json_t *pts, int *truncated, char *err, size_t errlen)
{
    collect_t c = {NULL, NULL, 0, (size_t)limit + 1};
    uint32_t sid = n->series[m];
    int rc = 0, counter = wr_metric_defs[m].kind == WR_COUNTER;
    *truncated = 0;
    if (!sid || until < 0 || !lf->store)
        return 0;
    c.ts = malloc(c.limit * sizeof *c.ts);
    c.v = malloc(c.limit * sizeof *c.v);
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
    if (rc < 0) {
        snprintf(err, errlen, "store: %s", wr_strerror(rc));
    } else {
        rc = 0;
        size_t shown = c.n;
        if (shown > (size_t)limit) {
            shown = (size_t)limit;
            *truncated = 1;
        }
        for (size_t i = shown; i-- > 0;) {
            json_t *p = json_pack("[If]", (json_int_t)c.ts[i], c.v[i]);
            if (p && counter) {
                int ok = i + 1 < c.n && c.ts[i] > c.ts[i + 1] && c.v[i] >= c.v[i + 1];
                json_array_append_new(p, ok ? json_real((c.v[i] - c.v[i + 1]) * 1000.0 /
                                                        (double)(c.ts[i] - c.ts[i + 1]))
                                            : json_null());
            }
            json_array_append_new(pts, p);
        }
    }
    free(c.ts);
    free(c.v);
    return rc;
}

int leaf_samples_query(leaf_t *lf, leaf_node_t *n, const char *args, size_t args_len,
                       char **result, char *err, size_t errlen)
{
    int64_t now = wr_wall_ms(), since = now - 3600 * 1000, until = now, limit = -1, step = 0;
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
    } else if ((rc = get_time(a, "since", now, &since, err, errlen)) != 0 ||
               (rc = get_time(a, "until", now, &until, err, errlen)) != 0 ||
               (rc = get_step(a, &step, err, errlen)) != 0) {
        /* err set */
    } else if (jl && !json_is_null(jl) &&
               (!json_is_integer(jl) || json_integer_value(jl) < 1 ||
                json_integer_value(jl) > (step ? LEAF_HIST_POINTS_MAX : LEAF_QUERY_LIMIT_MAX))) {
        snprintf(err, errlen, "args: limit must be an integer in 1..%d%s",
                 step ? LEAF_HIST_POINTS_MAX : LEAF_QUERY_LIMIT_MAX, step ? " with a step" : "");
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

    const wr_metric_def_t *d = &wr_metric_defs[m];
    json_t *pts = NULL;
    int truncated = 0;
    char tier[32] = "";
    if (step) {
        rc = leaf_hist_query(lf, n, m, since, until, step,
                             limit > 0 ? (size_t)limit : LEAF_HIST_POINTS_MAX, &pts, tier, sizeof tier,
                             &truncated, err, errlen);
    } else {
        pts = json_array();
        rc = pts ? raw_points(lf, n, m, since, until, limit > 0 ? limit : 1000, pts, &truncated, err, errlen)
                 : WR_ENOMEM;
    }
    if (rc) {
        if (!pts)
            snprintf(err, errlen, "out of memory");
        json_decref(pts);
        return rc;
    }
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:b}", "node", n->name, "metric", d->name,
                          "unit", d->unit, "kind", d->kind == WR_COUNTER ? "counter" : "gauge",
                          "points", pts, "truncated", truncated);
    if (o && step) {
        json_object_set_new(o, "step", json_integer(step));
        json_object_set_new(o, "tier", json_string(tier));
        json_object_set_new(o, "since", json_integer(since));
        json_object_set_new(o, "until", json_integer(until));
        json_object_set_new(o, "values", json_string(d->kind == WR_COUNTER ? "rate" : "value"));
    }
    if (o)
        *result = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!*result) {
        snprintf(err, errlen, "out of memory building the result");
        return WR_ENOMEM;
    }
    return 0;
}
