/* root_http_fleet: the fleet-aggregate answers of the HTTP API (docs/API.md "Fleet
 * aggregates"): GET /api/v1/fleet/{metric} (count, sum, min, mean, p50, p90, p99, max from the
 * merged rollup and its quantile sketch) and GET /api/v1/top/{metric}?n= (the merged top-K
 * nodes). Both read tier_rollups() of the root's tier; nothing here blocks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "root_http_int.h"
#include "wr_error.h"
#include "wr_rollup.h"

/* Finds metric in the tier's merged rollups: returns the array (caller frees) and sets *e, or
 * NULL with a 404 in r. */
static wr_rollup_entry_t *find_rollup(tier_t *tier, const char *metric, const wr_rollup_entry_t **e,
                                      rh_resp_t *r)
{
    wr_rollup_entry_t *ru = NULL;
    size_t n = tier_rollups(tier, &ru);
    for (size_t i = 0; i < n; i++)
        if (strncmp(ru[i].metric, metric, WR_METRIC_NAME_MAX) == 0 && ru[i].agg.count > 0) {
            *e = &ru[i];
            return ru;
        }
    free(ru);
    if (wr_metric_find(metric) < 0)
        rh_resp_json_error(r, 404, "unknown metric '%s': no such metric in the catalogue and no tier reports it", metric);
    else
        rh_resp_json_error(r, 404, "metric '%s': no values in the latest interval (no live node reports it)", metric);
    return NULL;
}

static void put_q(rh_buf_t *b, const char *key, const wr_rollup_entry_t *e, double q)
{
    double v = NAN;
    if (wr_rollup_quantile(e, q, &v) != 0)
        v = NAN;                                   /* no sketch (old child): null */
    rh_buf_printf(b, ",\"%s\":", key);
    rh_buf_json_num(b, v);
}

void rh_api_fleet(tier_t *tier, const char *metric, rh_resp_t *r)
{
    const wr_rollup_entry_t *e = NULL;
    wr_rollup_entry_t *ru = find_rollup(tier, metric, &e, r);
    if (!ru)
        return;
    r->status = 200;
    r->ctype = "application/json";
    rh_buf_t *b = &r->body;
    const wr_agg_t *a = &e->agg;
    rh_buf_puts(b, "{\"metric\":");
    rh_buf_json_str(b, metric);
    rh_buf_printf(b, ",\"at\":%lld,\"count\":%llu,\"sum\":", (long long)tier_rollups_at(tier),
                  (unsigned long long)a->count);
    rh_buf_json_num(b, a->sum);
    rh_buf_puts(b, ",\"min\":");
    rh_buf_json_num(b, a->min);
    rh_buf_puts(b, ",\"mean\":");
    rh_buf_json_num(b, wr_agg_mean(a));
    put_q(b, "p50", e, 0.50);
    put_q(b, "p90", e, 0.90);
    put_q(b, "p99", e, 0.99);
    rh_buf_puts(b, ",\"max\":");
    rh_buf_json_num(b, a->max);
    rh_buf_printf(b, ",\"sketch_collapsed\":%llu}\n",
                  (unsigned long long)(e->sketch ? wr_sketch_collapsed(e->sketch) : 0));
    free(ru);
}

void rh_api_top(tier_t *tier, const char *metric, int n, rh_resp_t *r)
{
    const wr_rollup_entry_t *e = NULL;
    wr_rollup_entry_t *ru = find_rollup(tier, metric, &e, r);
    if (!ru)
        return;
    if (!e->topk) {
        free(ru);
        rh_resp_json_error(r, 503, "metric '%s': some tier below runs a version without top-K", metric);
        return;
    }
    r->status = 200;
    r->ctype = "application/json";
    rh_buf_t *b = &r->body;
    rh_buf_puts(b, "{\"metric\":");
    rh_buf_json_str(b, metric);
    rh_buf_printf(b, ",\"at\":%lld,\"k\":%u,\"top\":[", (long long)tier_rollups_at(tier),
                  (unsigned)wr_topk_k(e->topk));
    size_t m = wr_topk_size(e->topk);
    for (size_t i = 0; i < m && (int)i < n; i++) {
        const wr_topk_item_t *it = wr_topk_item(e->topk, i);
        rh_buf_puts(b, i ? ",{\"node\":" : "{\"node\":");
        rh_buf_json_str(b, it->node);
        rh_buf_puts(b, ",\"value\":");
        rh_buf_json_num(b, it->value);
        rh_buf_puts(b, "}");
    }
    rh_buf_puts(b, "]}\n");
    free(ru);
}
