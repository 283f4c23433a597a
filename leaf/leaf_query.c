/* leaf_query: "metric" queries on the leaf's history (docs/API.md "Per-node metric history"):
 * raw points read from the node's rows (leaf_samples.c), stepped answers from the tiers
 * (leaf_hist.c). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "leaf.h"
#include "leaf_hist.h"
#include "wr_error.h"
#include "wr_time.h"

#define LEAF_QUERY_LIMIT_MAX 100000

static void row_key(uint8_t key[12], uint32_t sid, int64_t ts)
{
    wr_store_be32(key, sid);
    wr_store_be64(key + 4, (uint64_t)(ts < 0 ? 0 : ts));
}

/* ---- queries ------------------------------------------------------------------------ */

typedef struct {
    int64_t *ts;
    double  *v;
    size_t   n, limit;
    uint32_t code;
} collect_t;

static int collect_visit(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
    collect_t *c = ud;
    double v;
    if (klen != 12 || leaf_rows_find(val, vlen, c->code, &v) != 1)
        return 0;
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

/* The newest `limit` raw points in [since, until] (the node's rows, newest first, holding
 * the metric), ascending: [ts, value] for gauges,
 * [ts, value, rate] for counters (rate per second against the previous sample; null for the
 * first one or after a reset). */
static int raw_points(leaf_t *lf, leaf_node_t *n, int m, int64_t since, int64_t until, int64_t limit,
                      json_t *pts, int *truncated, char *err, size_t errlen)
{
    collect_t c = {NULL, NULL, 0, (size_t)limit + 1, leaf_rows_code(lf, (uint32_t)m)};
    uint32_t sid = n->sid;
    int rc = 0, counter = wr_metric_defs[m].kind == WR_COUNTER;
    *truncated = 0;
    if (!sid || !c.code || until < 0 || !lf->store)
        return 0;
    c.ts = malloc(c.limit * sizeof *c.ts);
    c.v = malloc(c.limit * sizeof *c.v);
    wr_txn_t *txn = NULL;
    if (!c.ts || !c.v) {
        rc = WR_ENOMEM;
    } else if ((rc = wr_store_begin(lf->store, 0, &txn)) == 0) {
        uint8_t from[12], to[12];
        row_key(from, sid, since);
        if (until == INT64_MAX)
            wr_store_be32(to, sid + 1);
        else
            row_key(to, sid, until + 1);
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
