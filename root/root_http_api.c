/* root_http_api: the bodies of root_http's answers, built from the tier's state: JSON for
 * /api/v1/... and the Prometheus text exposition for /metrics. Knows nothing of MHD. */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "root_http_int.h"
#include "root_http_north_int.h"
#include "wr_rollup.h"
#include "wr_error.h"
#include "wr_metric.h"
#include "wr_time.h"

#define CT_JSON "application/json"
#define CT_PROM "text/plain; version=0.0.4; charset=utf-8"

unsigned rh_status_of(int wr_status)
{
    switch (wr_status) {
    case 0:            return 200;
    case WR_ENOTFOUND: return 404;
    case WR_ETIMEDOUT: return 504;
    case WR_EAGAIN:    return 502;
    case WR_EINVAL:    return 400;   /* the leaf refused the query's arguments */
    case WR_ECLOSED:   return 503;   /* the node is down (live queries: procs) */
    case WR_EUNSUPPORTED: return 501; /* e.g. no agent on the node for procs */
    default:           return 500;
    }
}

void rh_resp_json_error(rh_resp_t *r, unsigned status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rh_buf_free(&r->body);
    r->status = status;
    r->ctype = CT_JSON;
    rh_buf_puts(&r->body, "{\"error\":");
    rh_buf_json_str(&r->body, msg);
    rh_buf_puts(&r->body, "}\n");
}

static void resp_json(rh_resp_t *r)
{
    r->status = 200;
    r->ctype = CT_JSON;
}

/* The id of this tier: the first entry of its tree. */
static void tier_id(tier_t *tier, char *out, size_t outlen)
{
    wr_tier_entry_t *tiers = NULL;
    size_t n = tier_tree(tier, &tiers);
    snprintf(out, outlen, "%s", n > 0 ? tiers[0].id : "");
    free(tiers);
}

void rh_api_status(tier_t *tier, const struct root_north *north, rh_resp_t *r)
{
    tier_status_t st;
    memset(&st, 0, sizeof st);
    tier_status(tier, &st);
    char id[WR_ID_MAX];
    tier_id(tier, id, sizeof id);
    int64_t now = wr_wall_ms();
    double uptime = st.started_ms > 0 && now > st.started_ms ? (double)(now - st.started_ms) / 1000.0 : 0.0;
    rh_buf_t *b = &r->body;
    resp_json(r);
    rh_buf_puts(b, "{\"root\":");
    rh_buf_json_str(b, id);
    rh_buf_printf(b, ",\"nodes_total\":%u,\"nodes_up\":%u,\"nodes_down\":%u"
                  ",\"leaves_total\":%u,\"leaves_up\":%u,\"relays_total\":%u,\"relays_up\":%u"
                  ",\"children\":%u,\"samples_per_s\":",
                  st.nodes_total, st.nodes_up, st.nodes_down, st.leaves_total, st.leaves_up,
                  st.relays_total, st.relays_up, st.children);
    rh_buf_json_num(b, st.samples_per_s);
    rh_events_status_json(&st, b);     /* "alarms", "events": root_http_events.c */
    if (north)
        rh_north_status_json(north, b); /* "northbound": root_http_north_api.c */
    rh_buf_printf(b, ",\"uptime_s\":%.1f,\"started\":%lld,\"now\":%lld,\"seq_gaps\":%llu"
                  ",\"bad_frames\":%llu,\"version\":\"%s\"}\n",
                  uptime, (long long)st.started_ms, (long long)now,
                  (unsigned long long)st.seq_gaps, (unsigned long long)st.bad_frames,
                  WARREN_VERSION);
}

static void node_json(rh_buf_t *b, const tier_node_view_t *n)
{
    rh_buf_puts(b, "{\"name\":");
    rh_buf_json_str(b, n->name ? n->name : "");
    rh_buf_puts(b, ",\"state\":");
    rh_buf_json_str(b, wr_node_state_name(n->state));
    rh_buf_printf(b, ",\"since\":%lld,\"leaf\":", (long long)n->since_ms);
    rh_buf_json_str(b, n->leaf ? n->leaf : "");
    rh_buf_puts(b, ",\"child\":");
    rh_buf_json_str(b, n->child ? n->child : "");
    rh_buf_puts(b, "}");
}

typedef struct {
    tier_node_view_t *v;
    size_t            n, cap;
    int               filter;
    int               oom;
} node_list_t;

static int collect_node(void *ud, const tier_node_view_t *n)
{
    node_list_t *l = ud;
    if (l->filter >= 0 && n->state != l->filter)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        tier_node_view_t *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv) {
            l->oom = 1;
            return 1;
        }
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = *n;
    return 0;
}

static int cmp_node(const void *a, const void *b)
{
    const tier_node_view_t *x = a, *y = b;
    return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

void rh_api_nodes(tier_t *tier, int state_filter, rh_resp_t *r)
{
    node_list_t l = {.filter = state_filter};
    tier_nodes_foreach(tier, collect_node, &l);
    if (l.oom) {
        free(l.v);
        rh_resp_json_error(r, 500, "out of memory listing nodes");
        return;
    }
    if (l.n)   /* qsort(NULL, 0) is undefined (UBSan aborts the root) */
        qsort(l.v, l.n, sizeof *l.v, cmp_node);
    resp_json(r);
    rh_buf_t *b = &r->body;
    rh_buf_puts(b, "{\"nodes\":[");
    for (size_t i = 0; i < l.n; i++) {
        if (i)
            rh_buf_puts(b, ",");
        node_json(b, &l.v[i]);
    }
    rh_buf_printf(b, "],\"count\":%zu}\n", l.n);
    free(l.v);
}

void rh_api_node(tier_t *tier, const char *name, rh_resp_t *r)
{
    tier_node_view_t v;
    memset(&v, 0, sizeof v);
    if (tier_node_lookup(tier, name, &v) != 0) {
        rh_resp_json_error(r, 404, "unknown node '%s'", name);
        return;
    }
    resp_json(r);
    node_json(&r->body, &v);
    rh_buf_puts(&r->body, "\n");
}

void rh_api_tree(tier_t *tier, rh_resp_t *r)
{
    wr_tier_entry_t *t = NULL;
    size_t n = tier_tree(tier, &t);
    resp_json(r);
    rh_buf_t *b = &r->body;
    rh_buf_puts(b, "{\"tiers\":[");
    for (size_t i = 0; i < n; i++) {
        char id[WR_ID_MAX], kind[WR_KIND_MAX];
        snprintf(id, sizeof id, "%s", t[i].id);         /* NUL-terminate whatever came in */
        snprintf(kind, sizeof kind, "%s", t[i].kind);
        rh_buf_puts(b, i ? ",{\"id\":" : "{\"id\":");
        rh_buf_json_str(b, id);
        rh_buf_puts(b, ",\"kind\":");
        rh_buf_json_str(b, kind);
        rh_buf_printf(b, ",\"parent\":%d,\"up\":%s,\"nodes_total\":%u,\"nodes_up\":%u,\"samples_per_s\":",
                      (int)t[i].parent, t[i].up ? "true" : "false", t[i].nodes_total, t[i].nodes_up);
        rh_buf_json_num(b, t[i].samples_per_s);
        rh_buf_puts(b, ",\"links\":{\"frames_in_per_s\":");
        rh_buf_json_num(b, t[i].frames_in_per_s);
        rh_buf_puts(b, ",\"frames_out_per_s\":");
        rh_buf_json_num(b, t[i].frames_out_per_s);
        rh_buf_puts(b, ",\"bytes_in_per_s\":");
        rh_buf_json_num(b, t[i].bytes_in_per_s);
        rh_buf_puts(b, ",\"bytes_out_per_s\":");
        rh_buf_json_num(b, t[i].bytes_out_per_s);
        rh_buf_puts(b, "}}");
    }
    rh_buf_puts(b, "]}\n");
    free(t);
}

static int cmp_rollup(const void *a, const void *b)
{
    const wr_rollup_entry_t *x = a, *y = b;
    return strncmp(x->metric, y->metric, WR_METRIC_NAME_MAX);
}

void rh_api_rollups(tier_t *tier, rh_resp_t *r)
{
    wr_rollup_entry_t *ru = NULL;
    size_t n = tier_rollups(tier, &ru);
    if (n > 1)
        qsort(ru, n, sizeof *ru, cmp_rollup);
    resp_json(r);
    rh_buf_t *b = &r->body;
    rh_buf_puts(b, "{\"metrics\":[");
    for (size_t i = 0; i < n; i++) {
        char name[WR_METRIC_NAME_MAX];
        snprintf(name, sizeof name, "%s", ru[i].metric);
        int def = wr_metric_find(name);
        const wr_agg_t *a = &ru[i].agg;
        rh_buf_puts(b, i ? ",{\"metric\":" : "{\"metric\":");
        rh_buf_json_str(b, name);
        rh_buf_puts(b, ",\"unit\":");
        rh_buf_json_str(b, def >= 0 ? wr_metric_defs[def].unit : "");
        rh_buf_puts(b, ",\"kind\":");
        rh_buf_json_str(b, def >= 0 && wr_metric_defs[def].kind == WR_COUNTER ? "counter" : "gauge");
        rh_buf_printf(b, ",\"count\":%llu,\"sum\":", (unsigned long long)a->count);
        rh_buf_json_num(b, a->sum);
        rh_buf_puts(b, ",\"min\":");
        rh_buf_json_num(b, a->count ? a->min : NAN);
        rh_buf_puts(b, ",\"max\":");
        rh_buf_json_num(b, a->count ? a->max : NAN);
        rh_buf_puts(b, ",\"mean\":");
        rh_buf_json_num(b, a->count ? wr_agg_mean(a) : NAN);
        double p50 = NAN, p99 = NAN;          /* from the merged sketch; null without one */
        if (wr_rollup_quantile(&ru[i], 0.5, &p50) != 0)
            p50 = NAN;
        if (wr_rollup_quantile(&ru[i], 0.99, &p99) != 0)
            p99 = NAN;
        rh_buf_puts(b, ",\"p50\":");
        rh_buf_json_num(b, p50);
        rh_buf_puts(b, ",\"p99\":");
        rh_buf_json_num(b, p99);
        rh_buf_puts(b, "}");
    }
    rh_buf_puts(b, "]}\n");
    free(ru);
}

void rh_api_metric_reply(int status, const char *error, const char *result, size_t result_len,
                         rh_resp_t *r)
{
    if (status != 0) {
        rh_resp_json_error(r, rh_status_of(status), "%s", error && *error ? error : wr_strerror(status));
        return;
    }
    json_error_t jerr;
    json_t *j = result ? json_loadb(result, result_len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!j || !json_is_object(j)) {
        json_decref(j);
        rh_resp_json_error(r, 502, "the leaf answered with invalid JSON");
        return;
    }
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text) {
        rh_resp_json_error(r, 500, "out of memory");
        return;
    }
    resp_json(r);
    rh_buf_puts(&r->body, text);
    rh_buf_puts(&r->body, "\n");
    free(text);
}

/* ---- procs (live per-node process view) ------------------------------------------ */

int rh_api_procs_args(const char *by, const char *n, rh_buf_t *args, char *err, size_t errlen)
{
    static const char *const keys[] = {"memory", "message_queue", "reductions", "binary"};
    const char *key = by ? NULL : keys[0];
    for (size_t k = 0; by && k < sizeof keys / sizeof keys[0]; k++)
        if (strcmp(by, keys[k]) == 0)
            key = keys[k];
    if (!key) {
        snprintf(err, errlen, "by: expected memory, message_queue, reductions or binary (got '%.40s')", by);
        return WR_EINVAL;
    }
    int64_t count = 20;
    if (n && rh_parse_int(n, 1, 1000, &count) < 0) {
        snprintf(err, errlen, "n: expected an integer from 1 to 1000 (got '%.40s')", n);
        return WR_EINVAL;
    }
    rh_buf_printf(args, "{\"by\":\"%s\",\"n\":%lld}", key, (long long)count);
    if (args->oom) {
        snprintf(err, errlen, "out of memory");
        return WR_ENOMEM;
    }
    return 0;
}

/* ---- Prometheus ------------------------------------------------------------------ */

static void prom_num(rh_buf_t *b, double v)
{
    if (isnan(v)) rh_buf_puts(b, "NaN");
    else if (isinf(v)) rh_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
    else rh_buf_printf(b, "%.17g", v);
}

static void prom_head(rh_buf_t *b, const char *name, const char *type, const char *help)
{
    rh_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void prom_simple(rh_buf_t *b, const char *name, const char *type, const char *help, double v)
{
    prom_head(b, name, type, help);
    rh_buf_printf(b, "%s ", name);
    prom_num(b, v);
    rh_buf_puts(b, "\n");
}

static int count_state(void *ud, const tier_node_view_t *n)
{
    uint64_t *c = ud;
    if (n->state >= 0 && n->state <= WR_NODE_STATE_MAX)
        c[n->state]++;
    return 0;
}

#define PROM_KINDS 8
void rh_api_prometheus(tier_t *tier, const rh_stats_t *stats, const struct root_north *north, rh_resp_t *r)
{
    rh_buf_t *b = &r->body;
    r->status = 200;
    r->ctype = CT_PROM;

    uint64_t states[WR_NODE_STATE_MAX + 1] = {0};
    tier_nodes_foreach(tier, count_state, states);
    prom_head(b, "warren_nodes", "gauge", "BEAM nodes known to this root, by state.");
    for (int s = 0; s <= WR_NODE_STATE_MAX; s++)
        rh_buf_printf(b, "warren_nodes{state=\"%s\"} %llu\n", wr_node_state_name(s),
                      (unsigned long long)states[s]);

    wr_tier_entry_t *t = NULL;
    size_t nt = tier_tree(tier, &t);
    char kinds[PROM_KINDS][WR_KIND_MAX] = {"root", "relay", "leaf"};
    uint64_t up[PROM_KINDS] = {0}, down[PROM_KINDS] = {0};
    size_t nk = 3;
    for (size_t i = 0; i < nt; i++) {
        char kind[WR_KIND_MAX];
        snprintf(kind, sizeof kind, "%s", t[i].kind);
        size_t k = 0;
        while (k < nk && strcmp(kinds[k], kind) != 0)
            k++;
        if (k == nk) {
            if (nk == PROM_KINDS)
                continue;
            snprintf(kinds[nk++], WR_KIND_MAX, "%s", kind);
        }
        if (t[i].up) up[k]++; else down[k]++;
    }
    free(t);
    prom_head(b, "warren_tiers", "gauge", "warren tiers in this root's subtree (itself included), by kind and state.");
    for (size_t k = 0; k < nk; k++) {
        rh_buf_puts(b, "warren_tiers{kind=\"");
        rh_buf_prom_label(b, kinds[k]);
        rh_buf_printf(b, "\",state=\"up\"} %llu\n", (unsigned long long)up[k]);
        rh_buf_puts(b, "warren_tiers{kind=\"");
        rh_buf_prom_label(b, kinds[k]);
        rh_buf_printf(b, "\",state=\"down\"} %llu\n", (unsigned long long)down[k]);
    }

    tier_status_t st;
    memset(&st, 0, sizeof st);
    tier_status(tier, &st);
    int64_t now = wr_wall_ms();
    prom_simple(b, "warren_samples_per_second", "gauge", "Metric samples per second taken by the live leaves.", st.samples_per_s);
    prom_simple(b, "warren_children", "gauge", "Live direct children of this root.", st.children);
    prom_simple(b, "warren_uptime_seconds", "gauge", "Seconds since this root started.",
                st.started_ms > 0 ? (double)(now - st.started_ms) / 1000.0 : 0.0);
    prom_simple(b, "warren_seq_gaps_total", "counter", "DELTA sequence gaps seen (a snapshot was asked for each).", (double)st.seq_gaps);
    prom_simple(b, "warren_bad_frames_total", "counter", "Frames from children dropped as malformed.", (double)st.bad_frames);
    rh_events_prometheus(&st, b);      /* alarms and event counters: root_http_events.c */
    if (north)
        rh_north_prometheus(north, b); /* northbound counters: root_http_north_api.c */

    wr_rollup_entry_t *ru = NULL;
    size_t nr = tier_rollups(tier, &ru);
    if (nr > 1)
        qsort(ru, nr, sizeof *ru, cmp_rollup);
    prom_head(b, "warren_fleet_metric", "gauge", "Fleet-wide merge of the latest interval of each metric (counters as per-second rates).");
    static const char *const stats_names[] = {"min", "max", "mean", "sum", "count"};
    for (size_t i = 0; i < nr; i++) {
        char name[WR_METRIC_NAME_MAX];
        snprintf(name, sizeof name, "%s", ru[i].metric);
        const wr_agg_t *a = &ru[i].agg;
        double vals[5] = {a->count ? a->min : NAN, a->count ? a->max : NAN,
                          a->count ? wr_agg_mean(a) : NAN, a->sum, (double)a->count};
        for (int s = 0; s < 5; s++) {
            rh_buf_puts(b, "warren_fleet_metric{metric=\"");
            rh_buf_prom_label(b, name);
            rh_buf_printf(b, "\",stat=\"%s\"} ", stats_names[s]);
            prom_num(b, vals[s]);
            rh_buf_puts(b, "\n");
        }
    }
    free(ru);

    prom_simple(b, "warren_http_requests_total", "counter", "HTTP requests received by this root.", (double)stats->requests);
    prom_head(b, "warren_http_responses_total", "counter", "HTTP error responses sent, by class.");
    rh_buf_printf(b, "warren_http_responses_total{class=\"4xx\"} %llu\n", (unsigned long long)stats->responses_4xx);
    rh_buf_printf(b, "warren_http_responses_total{class=\"5xx\"} %llu\n", (unsigned long long)stats->responses_5xx);
    prom_simple(b, "warren_routed_queries_total", "counter", "Per-node queries routed down to leaves.", (double)stats->queries);
    prom_simple(b, "warren_routed_queries_failed_total", "counter", "Routed queries that failed (timeout, unreachable, error).", (double)stats->queries_failed);
    prom_simple(b, "warren_routed_queries_active", "gauge", "Routed queries waiting for their reply.", (double)stats->active_queries);
}
