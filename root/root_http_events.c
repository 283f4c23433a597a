/* root_http_events: the HTTP API of alarms and notifications (docs/API.md):
 *   GET  /api/v1/alarms[?all=1&since=&until=&limit=&node=&type=]  active alarms (+ history)
 *   GET  /api/v1/notifications?node=&type=&since=&until=&limit=
 *   POST /api/v1/alarms/ack   {"scope":..., "type":..., "resource":..., "by":...}
 * from the tier's alarm table and the root's history (root_events.h). Query parameters and
 * the POST body are untrusted: unknown parameters, bad values and bad JSON are 400s naming
 * what was wrong. */
#include <jansson.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "root_http_events.h"
#include "root_http_hist.h"
#include "wr_error.h"
#include "wr_time.h"

#define CT_JSON       "application/json"
#define EV_PARAM_MAX  256      /* a value's buffer here, NUL included */

static void json_ok(rh_resp_t *r)
{
    r->status = 200;
    r->ctype = CT_JSON;
}

/* ---- JSON of alarms and notifications -------------------------------------------------------- */

static void put_alarm_fields(rh_buf_t *b, const wr_alarm_t *a)
{
    rh_buf_puts(b, "\"scope\":");
    rh_buf_json_str(b, a->key.scope);
    rh_buf_puts(b, ",\"type\":");
    rh_buf_json_str(b, a->key.type);
    rh_buf_puts(b, ",\"resource\":");
    rh_buf_json_str(b, a->key.resource);
    rh_buf_printf(b, ",\"severity\":\"%s\",\"text\":", wr_alarm_severity_name(a->severity));
    rh_buf_json_str(b, a->text);
    rh_buf_puts(b, ",\"origin\":");
    rh_buf_json_str(b, a->origin);
    rh_buf_printf(b, ",\"raised_ms\":%lld,\"changed_ms\":%lld,\"cleared_ms\":%lld,\"count\":%u,"
                  "\"suppressed\":%s,\"acked\":%s,\"acked_by\":",
                  (long long)a->raised_ms, (long long)a->changed_ms, (long long)a->cleared_ms,
                  (unsigned)a->count, a->suppressed ? "true" : "false", a->acked ? "true" : "false");
    rh_buf_json_str(b, a->acked_by);
    rh_buf_printf(b, ",\"acked_ms\":%lld", (long long)a->acked_ms);
}

typedef struct {
    rh_buf_t   *b;
    const char *node, *type;
    size_t      n;
} alarm_ctx_t;

static int active_fn(void *ud, const wr_alarm_t *a)
{
    alarm_ctx_t *c = ud;
    if ((c->node && strcmp(c->node, a->key.scope) != 0) || (c->type && strcmp(c->type, a->key.type) != 0))
        return 0;
    rh_buf_puts(c->b, c->n++ ? ",\n{" : "\n{");
    put_alarm_fields(c->b, a);
    rh_buf_puts(c->b, "}");
    return 0;
}

static const char *change_name(int change)
{
    return change == ROOT_EVENTS_CHANGE_ACKED ? "acked" : wr_alarm_change_name(change);
}

static int history_fn(void *ud, const root_alarm_change_t *ch)
{
    alarm_ctx_t *c = ud;
    rh_buf_printf(c->b, "%s{\"at\":%lld,\"change\":\"%s\",", c->n++ ? ",\n" : "\n", (long long)ch->at_ms,
                  change_name(ch->change));
    put_alarm_fields(c->b, &ch->alarm);
    if (ch->received_ms > 0)           /* when the root got it (tier propagation = it - at) */
        rh_buf_printf(c->b, ",\"received_ms\":%lld", (long long)ch->received_ms);
    rh_buf_puts(c->b, "}");
    return 0;
}

static int notif_fn(void *ud, const wr_event_t *ev)
{
    alarm_ctx_t *c = ud;
    const wr_notif_t *nf = &ev->notif;
    rh_buf_printf(c->b, "%s{\"at\":%lld,\"node\":", c->n++ ? ",\n" : "\n", (long long)nf->at_ms);
    rh_buf_json_str(c->b, nf->node);
    rh_buf_puts(c->b, ",\"type\":");
    rh_buf_json_str(c->b, nf->type);
    rh_buf_printf(c->b, ",\"severity\":\"%s\",\"leaf\":", wr_alarm_severity_name(nf->severity));
    rh_buf_json_str(c->b, nf->leaf);
    rh_buf_puts(c->b, ",\"origin\":");
    rh_buf_json_str(c->b, ev->id.origin);
    rh_buf_printf(c->b, ",\"epoch\":%llu,\"seq\":%llu,\"fields\":", (unsigned long long)ev->id.epoch,
                  (unsigned long long)ev->id.seq);
    /* the fields come from a leaf: re-serialised, so the answer is valid JSON whatever they hold */
    json_error_t jerr;
    json_t *j = json_loads(nf->fields, JSON_REJECT_DUPLICATES, &jerr);
    char *s = j && json_is_object(j) ? json_dumps(j, JSON_COMPACT) : NULL;
    if (s) {
        rh_buf_puts(c->b, s);
    } else {
        rh_buf_puts(c->b, "{\"raw\":");
        rh_buf_json_str(c->b, nf->fields);
        rh_buf_puts(c->b, "}");
    }
    free(s);
    json_decref(j);
    rh_buf_puts(c->b, "}");
    return 0;
}

/* ---- handlers ------------------------------------------------------------------------------------ */

/* Parses the shared filter parameters since, until, limit, node, type (indexes given). */
static int read_filter(const rh_params_t *p, int i_since, int i_until, int i_limit, int i_node, int i_type,
                       root_events_filter_t *f, rh_resp_t *r)
{
    int64_t now = wr_wall_ms(), limit = RH_LIMIT_DEFAULT;
    memset(f, 0, sizeof *f);
    if (p->present[i_since] && (rh_hist_parse_time(p->values[i_since], now, &f->since_ms) < 0 || f->since_ms <= 0)) {
        rh_resp_json_error(r, 400, "since: expected Unix ms or a duration like 1h, 15m, 30s, 2d (got '%s')",
                           p->values[i_since]);
        return -1;
    }
    if (p->present[i_until] && rh_hist_parse_time(p->values[i_until], now, &f->until_ms) < 0) {
        rh_resp_json_error(r, 400, "until: expected Unix ms or a duration like 1h, 15m, 30s, 2d (got '%s')",
                           p->values[i_until]);
        return -1;
    }
    if (p->present[i_limit] && rh_parse_int(p->values[i_limit], 1, RH_LIMIT_MAX, &limit) < 0) {
        rh_resp_json_error(r, 400, "limit: expected an integer from 1 to %d (got '%s')", RH_LIMIT_MAX,
                           p->values[i_limit]);
        return -1;
    }
    f->limit = (size_t)limit;
    f->node = p->present[i_node] && p->values[i_node][0] ? p->values[i_node] : NULL;
    f->type = p->present[i_type] && p->values[i_type][0] ? p->values[i_type] : NULL;
    return 0;
}

static void api_alarms(tier_t *tier, root_events_t *events, struct MHD_Connection *conn, rh_resp_t *r)
{
    static const char *const allowed[] = {"all", "since", "until", "limit", "node", "type", NULL};
    rh_params_t p;
    if (rh_params_read(conn, allowed, EV_PARAM_MAX, &p) < 0)
        return rh_resp_json_error(r, 400, "%s", p.bad);
    int all = 0;
    if (p.present[0]) {
        if (strcmp(p.values[0], "1") == 0 || strcmp(p.values[0], "true") == 0 || !p.values[0][0])
            all = 1;
        else if (strcmp(p.values[0], "0") != 0 && strcmp(p.values[0], "false") != 0)
            return rh_resp_json_error(r, 400, "all: expected 1 or 0 (got '%s')", p.values[0]);
    }
    root_events_filter_t f;
    if (read_filter(&p, 1, 2, 3, 4, 5, &f, r) < 0)
        return;
    tier_status_t st;
    tier_status(tier, &st);
    json_ok(r);
    rh_buf_t *b = &r->body;
    rh_buf_printf(b, "{\"counts\":{\"total\":%zu,\"critical\":%zu,\"major\":%zu,\"minor\":%zu,\"warning\":%zu,"
                  "\"indeterminate\":%zu,\"suppressed\":%zu,\"acked\":%zu},\n\"alarms\":[",
                  st.alarms_total, st.alarms_by_severity[WR_SEV_CRITICAL], st.alarms_by_severity[WR_SEV_MAJOR],
                  st.alarms_by_severity[WR_SEV_MINOR], st.alarms_by_severity[WR_SEV_WARNING],
                  st.alarms_by_severity[WR_SEV_INDETERMINATE], st.alarms_suppressed, st.alarms_acked);
    alarm_ctx_t c = {.b = b, .node = f.node, .type = f.type};
    tier_alarms_foreach(tier, active_fn, &c);
    rh_buf_puts(b, "]");
    if (all) {
        if (!events)
            return rh_resp_json_error(r, 503, "no alarm history on this tier (no store)");
        rh_buf_puts(b, ",\n\"history\":[");
        c.n = 0;
        int rc = root_events_alarm_history(events, &f, history_fn, &c);
        if (rc != 0)
            return rh_resp_json_error(r, 500, "reading the alarm history: %s", wr_strerror(rc));
        rh_buf_puts(b, "]");
    }
    rh_buf_puts(b, "}\n");
}

static void api_notifications(root_events_t *events, struct MHD_Connection *conn, rh_resp_t *r)
{
    static const char *const allowed[] = {"since", "until", "limit", "node", "type", NULL};
    rh_params_t p;
    if (rh_params_read(conn, allowed, EV_PARAM_MAX, &p) < 0)
        return rh_resp_json_error(r, 400, "%s", p.bad);
    root_events_filter_t f;
    if (read_filter(&p, 0, 1, 2, 3, 4, &f, r) < 0)
        return;
    if (!events)
        return rh_resp_json_error(r, 503, "no notification history on this tier (no store)");
    json_ok(r);
    rh_buf_puts(&r->body, "{\"notifications\":[");
    alarm_ctx_t c = {.b = &r->body};
    int rc = root_events_notifications(events, &f, notif_fn, &c);
    if (rc != 0)
        return rh_resp_json_error(r, 500, "reading the notifications: %s", wr_strerror(rc));
    rh_buf_printf(&r->body, "],\n\"count\":%zu}\n", c.n);
}

/* One string member of the ack body: required (non-empty) or optional. 0 or -1 (answered). */
static int body_str(json_t *o, const char *name, int required, char *out, size_t cap, rh_resp_t *r)
{
    json_t *v = json_object_get(o, name);
    out[0] = '\0';
    if (!v || json_is_null(v)) {
        if (required) {
            rh_resp_json_error(r, 400, "%s: required (a string)", name);
            return -1;
        }
        return 0;
    }
    if (!json_is_string(v)) {
        rh_resp_json_error(r, 400, "%s: expected a string", name);
        return -1;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len >= cap || strlen(s) != len) {
        rh_resp_json_error(r, 400, "%s: longer than %zu bytes or holds a NUL", name, cap - 1);
        return -1;
    }
    if (required && len == 0) {
        rh_resp_json_error(r, 400, "%s: must not be empty", name);
        return -1;
    }
    memcpy(out, s, len + 1);
    return 0;
}

static void api_ack(tier_t *tier, root_events_t *events, const char *body, size_t len, rh_resp_t *r)
{
    json_error_t jerr;
    json_t *o = len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!o || !json_is_object(o)) {
        json_decref(o);
        if (!len)
            return rh_resp_json_error(r, 400, "body: expected a JSON object {\"scope\", \"type\", \"resource\", \"by\"}");
        return rh_resp_json_error(r, 400, "body: not a JSON object (%s at offset %d)",
                                  o ? "not an object" : jerr.text, o ? 0 : jerr.position);
    }
    char scope[WR_ALARM_SCOPE_MAX], type[WR_ALARM_TYPE_MAX], resource[WR_ALARM_RESOURCE_MAX];
    char by[WR_ALARM_ORIGIN_MAX];
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        if (strcmp(key, "scope") && strcmp(key, "type") && strcmp(key, "resource") && strcmp(key, "by")) {
            char k[32];
            snprintf(k, sizeof k, "%s", key);
            json_decref(o);
            return rh_resp_json_error(r, 400, "unknown field '%s' (expected scope, type, resource, by)", k);
        }
    }
    int bad = body_str(o, "scope", 1, scope, sizeof scope, r) || body_str(o, "type", 1, type, sizeof type, r) ||
              body_str(o, "resource", 0, resource, sizeof resource, r) || body_str(o, "by", 0, by, sizeof by, r);
    json_decref(o);
    if (bad)
        return;
    wr_alarm_key_t k;
    if (wr_alarm_key_set(&k, scope, type, resource) != 0)
        return rh_resp_json_error(r, 400, "scope/type/resource: not a valid alarm key");
    wr_alarm_t a;
    int64_t now = wr_wall_ms();
    int rc = tier_alarm_ack(tier, &k, by[0] ? by : "operator", now, &a);
    if (rc == WR_ENOTFOUND)
        return rh_resp_json_error(r, 404, "no active alarm (%s, %s, '%s')", scope, type, resource);
    if (rc != 0)
        return rh_resp_json_error(r, 400, "acknowledgement refused: %s", wr_strerror(rc));
    if (events && (rc = root_events_record_ack(events, &a, now)) != 0)
        return rh_resp_json_error(r, 500, "acknowledged, but not recorded in the history: %s", wr_strerror(rc));
    json_ok(r);
    rh_buf_puts(&r->body, "{\"acked\":{");
    put_alarm_fields(&r->body, &a);
    rh_buf_puts(&r->body, "}}\n");
}

int rh_events_route(tier_t *tier, root_events_t *events, struct MHD_Connection *conn, int is_post,
                    const char *body, size_t body_len, const char *const *seg, const size_t *len, size_t n,
                    rh_resp_t *r)
{
#define SEG(i, lit) (len[i] == sizeof(lit) - 1 && memcmp(seg[i], lit, len[i]) == 0)
    if (n == 2 && SEG(0, "alarms") && SEG(1, "ack")) {
        if (!is_post)
            rh_resp_json_error(r, 405, "use POST with a JSON body {\"scope\", \"type\", \"resource\", \"by\"}");
        else
            api_ack(tier, events, body, body_len, r);
        return 1;
    }
    if (n == 1 && SEG(0, "alarms")) {
        api_alarms(tier, events, conn, r);
        return 1;
    }
    if (n == 1 && SEG(0, "notifications")) {
        api_notifications(events, conn, r);
        return 1;
    }
    return 0;
#undef SEG
}

/* ---- status and /metrics ------------------------------------------------------------------------ */

static const int sev_order[] = {WR_SEV_CRITICAL, WR_SEV_MAJOR, WR_SEV_MINOR, WR_SEV_WARNING, WR_SEV_INDETERMINATE};

void rh_events_status_json(const tier_status_t *st, rh_buf_t *b)
{
    rh_buf_printf(b, ",\"alarms\":{\"total\":%zu", st->alarms_total);
    for (size_t i = 0; i < sizeof sev_order / sizeof sev_order[0]; i++)
        rh_buf_printf(b, ",\"%s\":%zu", wr_alarm_severity_name(sev_order[i]), st->alarms_by_severity[sev_order[i]]);
    rh_buf_printf(b, ",\"suppressed\":%zu,\"acked\":%zu}", st->alarms_suppressed, st->alarms_acked);
    rh_buf_printf(b, ",\"events\":{\"received\":%llu,\"duplicates\":%llu,\"forwarded\":%llu,\"stored\":%llu,"
                  "\"acks_sent\":%llu,\"bad\":%llu,\"failed\":%llu}",
                  (unsigned long long)st->ev_received, (unsigned long long)st->ev_duplicates,
                  (unsigned long long)st->ev_forwarded, (unsigned long long)st->ev_stored,
                  (unsigned long long)st->ev_acks, (unsigned long long)st->ev_bad, (unsigned long long)st->ev_failed);
}

static void prom_counter(rh_buf_t *b, const char *name, const char *help, uint64_t v)
{
    rh_buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, (unsigned long long)v);
}

void rh_events_prometheus(const tier_status_t *st, rh_buf_t *b)
{
    rh_buf_puts(b, "# HELP warren_alarms_active Active alarms of the fleet, by severity.\n"
                   "# TYPE warren_alarms_active gauge\n");
    for (size_t i = 0; i < sizeof sev_order / sizeof sev_order[0]; i++)
        rh_buf_printf(b, "warren_alarms_active{severity=\"%s\"} %zu\n", wr_alarm_severity_name(sev_order[i]),
                      st->alarms_by_severity[sev_order[i]]);
    rh_buf_printf(b, "# HELP warren_alarms_suppressed Active alarms suppressed (their node is down).\n"
                     "# TYPE warren_alarms_suppressed gauge\nwarren_alarms_suppressed %zu\n", st->alarms_suppressed);
    rh_buf_printf(b, "# HELP warren_alarms_acked Active alarms acknowledged by an operator.\n"
                     "# TYPE warren_alarms_acked gauge\nwarren_alarms_acked %zu\n", st->alarms_acked);
    prom_counter(b, "warren_events_received_total", "Alarm events and notifications received from children.",
                 st->ev_received);
    prom_counter(b, "warren_events_duplicates_total", "Received events already seen (resends), ACKed and dropped.",
                 st->ev_duplicates);
    prom_counter(b, "warren_events_stored_total", "New events kept (history written).", st->ev_stored);
    prom_counter(b, "warren_events_acks_total", "ACK frames sent to children.", st->ev_acks);
    prom_counter(b, "warren_events_bad_total", "Malformed events or event frames dropped.", st->ev_bad);
    prom_counter(b, "warren_events_failed_total", "Event frames not stored (store error); the child resends.",
                 st->ev_failed);
}
