/* leaf_notify: notifications observed by the leaf (node up / down / restarted) and pushed by
 * warren_agent (logger reports, code loads, shell commands, crash dumps, system monitor
 * events): decoded from untrusted terms, rate-limited per node and type, counted, and handed
 * to leaf_events_push as NOTIF events. See leaf_notify.h for the contract; the agent side is
 * at the end of leaf/agent/warren_agent.erl. Not the outbox (leaf_events.c). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "leaf_notify.h"
#include "leaf_events.h"
#include "leaf_parse.h"
#include "wr_alarm.h"
#include "wr_error.h"
#include "wr_log.h"
#include "wr_time.h"

#define SUB_RENEW_MS    60000     /* subscribed: renew (the agent's lease is 300 s) */
#define SUB_FAST_TRIES  6         /* failures retried every interval (1..10 s): agent loading */
#define SUB_SLOW_MS     30000     /* then doubling from this... */
#define SUB_MAX_MS      600000    /* ...up to this (an agent without subscribe/2, warren-sim) */
#define CALL_TMO_MS     10000     /* a call of ours unanswered this long is given up */
#define WARN_EVERY_MS   60000
#define UPTIME_SLACK_MS 5000
#define SKEW_MAX_MS     (24 * 3600 * 1000LL)

const char *const leaf_notify_type_names[LEAF_NT_COUNT] = {
    "node_up", "node_down", "node_restarted",
    "code_loaded", "code_purged", "shell_command", "crash_dump",
    "error_report", "warning_report", "crash_report", "supervisor_report", "config_changed",
    "long_gc", "long_schedule", "large_heap", "busy_port", "busy_dist_port",
};

int leaf_notify_type_find(const char *name)
{
    for (int t = 0; t < LEAF_NT_COUNT; t++)
        if (strcmp(name, leaf_notify_type_names[t]) == 0)
            return t;
    return -1;
}

int leaf_notify_type_pushable(int t)
{
    return t > LEAF_NT_NODE_RESTARTED && t < LEAF_NT_COUNT;
}

int leaf_notify_type_sysmon(int t)
{
    return t >= LEAF_NT_LONG_GC && t < LEAF_NT_COUNT;
}

int leaf_notify_bucket_take(leaf_notify_bucket_t *b, double rate, double burst, int64_t now_ms)
{
    if (b->last_ms == 0) {
        b->tokens = burst;
    } else if (now_ms > b->last_ms) {
        b->tokens += rate * (double)(now_ms - b->last_ms) / 1000.0;
        if (b->tokens > burst)
            b->tokens = burst;
    }
    b->last_ms = now_ms > 0 ? now_ms : 1;
    if (b->tokens < 1.0)
        return 0;
    b->tokens -= 1.0;
    return 1;
}

/* ---- decoding pushed terms (pure) ------------------------------------------------------ */

/* A printable copy of an untrusted name for messages. */
static const char *printable(const char *s, char *out, size_t cap)
{
    size_t k = 0;
    for (; s[k] && k + 1 < cap && k < 48; k++)
        out[k] = s[k] >= 0x20 && s[k] < 0x7f ? s[k] : '?';
    out[k] = '\0';
    return out;
}

int leaf_notify_decode_head(const char *buf, int len, leaf_notify_head_t *out, char *why,
                            size_t whylen)
{
    memset(out, 0, sizeof *out);
    if (len > LEAF_NOTIFY_MSG_MAX) {
        snprintf(why, whylen, "message of %d bytes (max %d)", len, LEAF_NOTIFY_MSG_MAX);
        return WR_ETOOBIG;
    }
    int i = 0, ver = 0, end = 0, arity = 0;
    if (len < 1 || ei_decode_version(buf, &i, &ver) != 0) {
        snprintf(why, whylen, "no version byte");
        return WR_EPROTO;
    }
    int rc = leaf_term_check(buf, len, i, &end, why, whylen);
    if (rc != 0)
        return rc;
    if (end != len) {
        snprintf(why, whylen, "%d bytes after the term", len - end);
        return WR_EPROTO;
    }
    char atom[MAXATOMLEN_UTF8], pr[64];
    if (ei_decode_tuple_header(buf, &i, &arity) != 0 || arity < 1 ||
        ei_decode_atom(buf, &i, atom) != 0) {
        snprintf(why, whylen, "expected a tuple starting with an atom");
        return WR_EPROTO;
    }
    if (arity == 2 && strcmp(atom, "warren_notif_dropped") == 0) {
        double d = 0;
        if (leaf_decode_number(buf, &i, &d, why, whylen) != 0 || d < 0 || d > 1e15) {
            snprintf(why, whylen, "warren_notif_dropped: expected a count");
            return WR_EPROTO;
        }
        out->kind = LEAF_NOTIFY_TERM_DROPPED;
        out->dropped = (uint64_t)d;
        return 0;
    }
    if (arity != 5 || strcmp(atom, "warren_notif") != 0) {
        snprintf(why, whylen, "expected {warren_notif, Type, Severity, Ts, Fields}, got a %d-tuple "
                 "tagged '%s'", arity, printable(atom, pr, sizeof pr));
        return WR_EPROTO;
    }
    if (ei_decode_atom(buf, &i, atom) != 0) {
        snprintf(why, whylen, "notification type: expected an atom");
        return WR_EPROTO;
    }
    int t = leaf_notify_type_find(atom);
    if (t < 0 || !leaf_notify_type_pushable(t)) {
        snprintf(why, whylen, "%s notification type '%s'", t < 0 ? "unknown" : "not pushable",
                 printable(atom, pr, sizeof pr));
        return WR_EPROTO;
    }
    int sev = 0;
    if (ei_decode_atom(buf, &i, atom) != 0 || wr_alarm_severity_parse(atom, &sev) != 0 ||
        sev < WR_SEV_INDETERMINATE || sev > WR_SEV_CRITICAL) {
        snprintf(why, whylen, "%s: bad severity", leaf_notify_type_names[t]);
        return WR_EPROTO;
    }
    double ts = 0;
    if (leaf_decode_number(buf, &i, &ts, why, whylen) != 0 || ts < 0 || ts > 9007199254740992.0) {
        snprintf(why, whylen, "%s: bad timestamp", leaf_notify_type_names[t]);
        return WR_EPROTO;
    }
    int type = 0, size = 0;
    if (ei_get_type(buf, &i, &type, &size) != 0 || (type != ERL_NIL_EXT && type != ERL_LIST_EXT)) {
        snprintf(why, whylen, "%s: fields: expected a list of {Key, Value}", leaf_notify_type_names[t]);
        return WR_EPROTO;
    }
    out->kind = LEAF_NOTIFY_TERM_NOTIF;
    out->type = t;
    out->severity = sev;
    out->ts_ms = (int64_t)ts;
    out->fields_index = i;
    return 0;
}

static char scratch[LEAF_NOTIFY_MSG_MAX + 8];   /* one string value, cleaned (loop thread) */

/* Copies in[0..len) into scratch as valid UTF-8: bad bytes (and NUL) become '?'. */
static size_t utf8_clean(const unsigned char *in, size_t len)
{
    size_t o = 0;
    for (size_t k = 0; k < len;) {
        unsigned c = in[k];
        size_t need = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2
                    : (c & 0xF8) == 0xF0 ? 3 : 9;
        int ok = need <= 3 && c != 0xC0 && c != 0xC1 && c < 0xF5;
        for (size_t j = 1; ok && j <= need; j++)
            ok = k + j < len && (in[k + j] & 0xC0) == 0x80;
        if (ok && need == 2) {       /* overlongs and surrogates */
            unsigned cp = (c & 0x0F) << 12 | (in[k + 1] & 0x3F) << 6 | (in[k + 2] & 0x3F);
            ok = cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF);
        } else if (ok && need == 3) {
            unsigned cp = (c & 0x07) << 18 | (in[k + 1] & 0x3F) << 12 | (in[k + 2] & 0x3F) << 6 |
                          (in[k + 3] & 0x3F);
            ok = cp >= 0x10000 && cp <= 0x10FFFF;
        }
        if (!ok || c == 0) {
            scratch[o++] = '?';
            k++;
            continue;
        }
        memcpy(scratch + o, in + k, need + 1);
        o += need + 1;
        k += need + 1;
    }
    scratch[o] = '\0';
    return o;
}

static int valid_key(const char *k, size_t len)
{
    if (len == 0 || len >= LEAF_NOTIFY_KEY_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
            return 0;
    return 1;
}

/* One {Key, Value} at *i into o. Returns 1 if added, 0 if skipped (bad). */
static int add_field(json_t *o, const char *buf, int i, size_t strmax, int *cut)
{
    int arity = 0, type = 0, size = 0;
    char key[LEAF_NOTIFY_KEY_MAX + 8];
    if (ei_decode_tuple_header(buf, &i, &arity) != 0 || arity != 2 ||
        ei_get_type(buf, &i, &type, &size) != 0)
        return 0;
    if (type == ERL_BINARY_EXT) {
        if (size <= 0 || size >= LEAF_NOTIFY_KEY_MAX || !valid_key(buf + i + 5, (size_t)size))
            return 0;
        memcpy(key, buf + i + 5, (size_t)size);
        key[size] = '\0';
        ei_skip_term(buf, &i);
    } else {
        char atom[MAXATOMLEN_UTF8];
        if (ei_decode_atom(buf, &i, atom) != 0 || !valid_key(atom, strlen(atom)))
            return 0;
        memcpy(key, atom, strlen(atom) + 1);      /* valid_key: shorter than the key */
    }
    if (ei_get_type(buf, &i, &type, &size) != 0)
        return 0;
    json_t *v = NULL;
    switch (type) {
    case ERL_BINARY_EXT:
    case ERL_STRING_EXT: {
        const unsigned char *p = (const unsigned char *)buf + i + (type == ERL_BINARY_EXT ? 5 : 3);
        size_t n = (size_t)size;
        if (n > strmax) {
            n = strmax;
            *cut = 1;
        }
        size_t m = utf8_clean(p, n);
        v = json_stringn(scratch, m);
        break;
    }
    case ERL_SMALL_INTEGER_EXT:
    case ERL_INTEGER_EXT:
    case ERL_SMALL_BIG_EXT: {
        long long ll = 0;
        if (ei_decode_longlong(buf, &i, &ll) == 0)
            v = json_integer(ll);
        break;
    }
    case ERL_FLOAT_EXT:
    case NEW_FLOAT_EXT: {
        double d = 0;
        if (ei_decode_double(buf, &i, &d) == 0 && isfinite(d))
            v = json_real(d);
        break;
    }
    case ERL_ATOM_EXT:
    case ERL_SMALL_ATOM_EXT:
    case ERL_ATOM_UTF8_EXT:
    case ERL_SMALL_ATOM_UTF8_EXT: {
        char atom[MAXATOMLEN_UTF8];
        if (ei_decode_atom(buf, &i, atom) != 0)
            break;
        if (strcmp(atom, "true") == 0 || strcmp(atom, "false") == 0) {
            v = json_boolean(atom[0] == 't');
        } else {
            size_t m = utf8_clean((const unsigned char *)atom, strlen(atom));
            v = json_stringn(scratch, m);
        }
        break;
    }
    default:
        break;
    }
    if (!v)
        return 0;
    return json_object_set_new(o, key, v) == 0;
}

static json_t *build_object(const char *buf, int index, size_t strmax, size_t *bad, int *cut)
{
    json_t *o = json_object();
    int i = index, type = 0, size = 0, n = 0;
    if (!o || ei_get_type(buf, &i, &type, &size) != 0 || type != ERL_LIST_EXT ||
        ei_decode_list_header(buf, &i, &n) != 0)
        return o;                    /* [] (or nothing usable) */
    for (int k = 0; k < n; k++) {
        if (k >= LEAF_NOTIFY_FIELDS_MAX)
            *cut = 1;
        else if (!add_field(o, buf, i, strmax, cut))
            (*bad)++;
        ei_skip_term(buf, &i);
    }
    return o;
}

int leaf_notify_build_fields(const char *buf, int index, const char *extra_key,
                             uint64_t extra_val, char *out, size_t cap, size_t *bad)
{
    static const size_t caps[] = {LEAF_NOTIFY_STR_MAX, 256, 32};
    if (cap > WR_NOTIF_FIELDS_MAX)
        cap = WR_NOTIF_FIELDS_MAX;
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
        size_t nbad = 0;
        int cut = 0;
        json_t *o = build_object(buf, index, caps[c], &nbad, &cut);
        if (!o)
            return WR_ENOMEM;
        if (extra_key)
            json_object_set_new(o, extra_key, json_integer((json_int_t)extra_val));
        if (cut || c > 0)
            json_object_set_new(o, "truncated", json_true());
        char *s = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (!s)
            return WR_ENOMEM;
        size_t len = strlen(s);
        if (len < cap) {
            memcpy(out, s, len + 1);
            free(s);
            if (bad)
                *bad = nbad;
            return 0;
        }
        free(s);
    }
    snprintf(out, cap, "{\"truncated\":true}");
    return 0;
}

/* ---- the leaf's side ------------------------------------------------------------------- */

typedef struct {                 /* our own refs: the numbers (the node part is ours) */
    unsigned n[5];
    int      len;
} notify_ref_t;

typedef struct {
    leaf_notify_bucket_t bucket[LEAF_NT_COUNT];
    uint32_t   suppressed[LEAF_NT_COUNT];   /* dropped since the last one delivered */
    notify_ref_t sub_ref, creation_ref, uptime_ref;
    int        sub_live, creation_live, uptime_live;
    int64_t    sub_sent, probe_sent;        /* mono ms */
    int64_t    sub_next;                    /* mono ms of the next subscribe */
    int        subscribed, sub_failures;
    /* restart detection: the previous UP period's identity, and this one's */
    int        have_prev, prev_has_creation, prev_has_uptime;
    int64_t    prev_creation, prev_uptime, prev_wall;
    int        got_creation, got_uptime;
    int64_t    creation, uptime;
} notify_node_t;

struct leaf_notify {
    notify_node_t      *nodes;
    size_t              n;
    ev_periodic         tick;   /* at lf->tick_phase of each second, with the other 1 s ticks */
    leaf_notify_stats_t st;
    uint64_t            warned_dropped, warned_source;
    int64_t             last_warn;
    uint64_t            push_warned;
    wr_event_t          ev;             /* reused for every notification */
};

int leaf_notify_config_read(wr_config_t *cfg, leaf_cfg_t *out)
{
    int64_t source = 100;
    wr_config_double(cfg, "leaf.notify.rate", 10.0, 0.001, 1e6, &out->notify_rate);
    wr_config_double(cfg, "leaf.notify.burst", 50.0, 1.0, 1e6, &out->notify_burst);
    wr_config_bool(cfg, "leaf.notify.system_monitor", 0, &out->notify_sysmon);
    wr_config_int(cfg, "leaf.notify.source_rate", 100, 1, 100000, &source);
    out->notify_source_rate = (int)source;
    return 0;
}

void leaf_notify_stats(const leaf_t *lf, leaf_notify_stats_t *out)
{
    if (lf->notify)
        *out = lf->notify->st;
    else
        memset(out, 0, sizeof *out);
}

static uint64_t sum(const uint64_t *v)
{
    uint64_t s = 0;
    for (int t = 0; t < LEAF_NT_COUNT; t++)
        s += v[t];
    return s;
}

/* "type n, type n" for the nonzero entries of v. */
static void by_type(const uint64_t *v, char *out, size_t cap)
{
    size_t k = 0;
    out[0] = '\0';
    for (int t = 0; t < LEAF_NT_COUNT && k + 1 < cap; t++)
        if (v[t]) {
            int w = snprintf(out + k, cap - k, "%s%s %llu", k ? ", " : "", leaf_notify_type_names[t],
                             (unsigned long long)v[t]);
            if (w < 0)
                break;
            k += (size_t)w < cap - k ? (size_t)w : cap - k - 1;
        }
}

/* Rate check for (n, t): 1 and *supp (the drops since the last delivered) if it passes. */
static int admit(leaf_t *lf, leaf_node_t *n, int t, uint64_t *supp)
{
    struct leaf_notify *N = lf->notify;
    notify_node_t *nn = &N->nodes[n->idx];
    N->st.received[t]++;
    if (!leaf_notify_bucket_take(&nn->bucket[t], lf->cfg.notify_rate, lf->cfg.notify_burst,
                                 wr_mono_ms())) {
        N->st.dropped[t]++;
        if (nn->suppressed[t] < UINT32_MAX)
            nn->suppressed[t]++;
        WR_DEBUG("notification %s %s dropped by the rate limit", n->name, leaf_notify_type_names[t]);
        return 0;
    }
    *supp = nn->suppressed[t];
    nn->suppressed[t] = 0;
    return 1;
}

/* Pushes N->ev (fields already set) as a notification of n. */
static void push(leaf_t *lf, leaf_node_t *n, int t, int sev, int64_t at_ms)
{
    struct leaf_notify *N = lf->notify;
    wr_event_t *ev = &N->ev;
    ev->kind = WR_MSG_NOTIF;
    memset(&ev->id, 0, sizeof ev->id);
    snprintf(ev->notif.node, sizeof ev->notif.node, "%s", n->name);
    snprintf(ev->notif.type, sizeof ev->notif.type, "%s", leaf_notify_type_names[t]);
    snprintf(ev->notif.leaf, sizeof ev->notif.leaf, "%s", lf->cfg.id);
    ev->notif.severity = sev;
    ev->notif.at_ms = at_ms;
    int rc = leaf_events_push(lf, ev);
    if (rc != 0) {
        N->st.push_failed++;
        if (N->push_warned++ == 0 || wr_log_level() >= WR_LOG_DEBUG)
            WR_WARN("notification %s of %s not queued: %s (further failures are counted)",
                    ev->notif.type, n->name, wr_strerror(rc));
        return;
    }
    N->st.sent[t]++;
    WR_DEBUG("notification %s %s %s %s", n->name, ev->notif.type, wr_alarm_severity_name(sev),
             ev->notif.fields);
}

/* A notification the leaf itself observed: obj (owned) holds its fields. */
static void observed(leaf_t *lf, leaf_node_t *n, int t, int sev, json_t *obj)
{
    uint64_t supp = 0;
    if (!obj || !lf->notify || !admit(lf, n, t, &supp)) {
        json_decref(obj);
        return;
    }
    if (supp)
        json_object_set_new(obj, "suppressed", json_integer((json_int_t)supp));
    char *s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    wr_notif_t *nf = &lf->notify->ev.notif;
    snprintf(nf->fields, sizeof nf->fields, "%s", s && strlen(s) < sizeof nf->fields ? s : "{}");
    free(s);
    push(lf, n, t, sev, wr_wall_ms());
}

void leaf_notify_on_reg_send(leaf_t *lf, leaf_node_t *n, const char *toname)
{
    struct leaf_notify *N = lf->notify;
    if (!N)
        return;
    char why[256];
    int len = lf->rx.index > lf->rx.buffsz ? lf->rx.buffsz : lf->rx.index;
    leaf_notify_head_t h;
    int rc = strcmp(toname, "warren_leaf") == 0
                 ? leaf_notify_decode_head(lf->rx.buff, len, &h, why, sizeof why)
                 : (snprintf(why, sizeof why, "sent to an unknown name"), WR_EPROTO);
    if (rc != 0) {
        N->st.rejected++;
        WR_DEBUG("node %s: notification rejected: %s", n->name, why);
        return;
    }
    if (h.kind == LEAF_NOTIFY_TERM_DROPPED) {
        N->st.dropped_source += h.dropped;
        WR_DEBUG("node %s: %llu notifications dropped at the source", n->name,
                 (unsigned long long)h.dropped);
        return;
    }
    if (leaf_notify_type_sysmon(h.type) && !lf->cfg.notify_sysmon) {
        N->st.filtered++;
        return;
    }
    uint64_t supp = 0;
    if (!admit(lf, n, h.type, &supp))
        return;
    size_t bad = 0;
    wr_notif_t *nf = &N->ev.notif;
    if (leaf_notify_build_fields(lf->rx.buff, h.fields_index, supp ? "suppressed" : NULL, supp,
                                 nf->fields, sizeof nf->fields, &bad) != 0) {
        N->st.rejected++;
        return;
    }
    N->st.bad_fields += bad;
    int64_t now = wr_wall_ms(), at = h.ts_ms;
    if (at < now - SKEW_MAX_MS || at > now + SKEW_MAX_MS)
        at = now;                   /* the node's clock is off: the leaf's time */
    push(lf, n, h.type, h.severity, at);
}

/* ---- calls to the node (rex $gen_call, tagged by our own refs) --------------------------- */

static int encode_call(leaf_t *lf, const erlang_ref *ref, const char *mod, const char *fun,
                       const char *atom_arg, int subscribe)
{
    ei_x_buff *x = &lf->tx;
    int rc = leaf_rpc_head(lf, ref, mod, fun, subscribe ? 2 : atom_arg ? 1 : 0) ? -1 : 0;
    if (subscribe) {          /* [LeafNode, [{system_monitor, B}, {source_rate, N}]] */
        rc |= ei_x_encode_atom(x, lf->cfg.node_name);
        rc |= ei_x_encode_list_header(x, 2);
        rc |= ei_x_encode_tuple_header(x, 2);
        rc |= ei_x_encode_atom(x, "system_monitor");
        rc |= ei_x_encode_boolean(x, lf->cfg.notify_sysmon);
        rc |= ei_x_encode_tuple_header(x, 2);
        rc |= ei_x_encode_atom(x, "source_rate");
        rc |= ei_x_encode_long(x, lf->cfg.notify_source_rate);
        rc |= ei_x_encode_empty_list(x);
    } else if (atom_arg) {
        rc |= ei_x_encode_atom(x, atom_arg);
    }
    return rc ? WR_ENOMEM : leaf_rpc_tail(lf);
}

/* Sends one call; 0, or -1 when the node was lost (the caller must not touch it further). */
static int send_call(leaf_t *lf, leaf_node_t *n, notify_ref_t *r, int *live, const char *mod,
                     const char *fun, const char *arg, int subscribe)
{
    erlang_ref ref;
    *live = 0;
    if (ei_make_ref(&lf->ec, &ref) < 0 || ref.len < 1 || ref.len > 5 ||
        encode_call(lf, &ref, mod, fun, arg, subscribe) != 0)
        return 0;
    r->len = ref.len;
    memcpy(r->n, ref.n, sizeof r->n);
    if (leaf_beam_send_rex(lf, n) != 0) {
        leaf_node_lost(lf, n, "send failed (notifications)");
        return -1;
    }
    *live = 1;
    return 0;
}

/* When to try subscribing again after `failures` failed tries. */
static int64_t retry_ms(const leaf_t *lf, int failures)
{
    int64_t d = (int64_t)(lf->cfg.interval * 1000.0);
    if (failures <= SUB_FAST_TRIES)
        return d < 1000 ? 1000 : d > 10000 ? 10000 : d;
    d = SUB_SLOW_MS;
    for (int k = SUB_FAST_TRIES + 1; k < failures && d < SUB_MAX_MS; k++)
        d *= 2;
    return d > SUB_MAX_MS ? SUB_MAX_MS : d;
}

static int agent_on(const leaf_t *lf)
{
    return lf->cfg.agent && lf->cfg.agent_beam;
}

void leaf_notify_node_up(leaf_t *lf, leaf_node_t *n)
{
    struct leaf_notify *N = lf->notify;
    if (!N || n->idx >= N->n)
        return;
    notify_node_t *nn = &N->nodes[n->idx];
    int64_t now = wr_mono_ms();
    nn->subscribed = 0;
    nn->sub_failures = 0;
    nn->sub_live = 0;
    nn->sub_next = now + 1000;
    nn->got_creation = nn->got_uptime = 0;
    observed(lf, n, LEAF_NT_NODE_UP, WR_SEV_INDETERMINATE, json_object());
    N->st.probes++;
    nn->probe_sent = now;
    if (send_call(lf, n, &nn->creation_ref, &nn->creation_live, "erlang", "system_info",
                  "creation", 0) != 0)
        return;
    send_call(lf, n, &nn->uptime_ref, &nn->uptime_live, "erlang", "statistics", "wall_clock", 0);
}

void leaf_notify_node_lost(leaf_t *lf, leaf_node_t *n, const char *reason)
{
    struct leaf_notify *N = lf->notify;
    if (!N || n->idx >= N->n)
        return;
    notify_node_t *nn = &N->nodes[n->idx];
    nn->sub_live = nn->creation_live = nn->uptime_live = 0;
    nn->subscribed = 0;
    if (n->state == WR_NODE_UP)
        observed(lf, n, LEAF_NT_NODE_DOWN, WR_SEV_MAJOR, json_pack("{s:s}", "reason", reason ? reason : ""));
}

/* Both probe answers are in (or given up): node_restarted if the node is another one. */
static void probe_done(leaf_t *lf, leaf_node_t *n, notify_node_t *nn)
{
    int64_t now = wr_wall_ms();
    if (nn->have_prev) {
        int by_creation = nn->got_creation && nn->prev_has_creation && nn->creation != nn->prev_creation;
        int by_uptime = nn->got_uptime && nn->prev_has_uptime &&
                        nn->uptime + UPTIME_SLACK_MS < nn->prev_uptime + (now - nn->prev_wall);
        if (by_creation || by_uptime) {
            json_t *o = json_object();
            if (o && nn->got_creation)
                json_object_set_new(o, "creation", json_integer(nn->creation));
            if (o && nn->prev_has_creation)
                json_object_set_new(o, "previous_creation", json_integer(nn->prev_creation));
            if (o && nn->got_uptime)
                json_object_set_new(o, "uptime_ms", json_integer(nn->uptime));
            if (o)
                json_object_set_new(o, "by", json_string(by_creation ? "creation" : "uptime"));
            WR_INFO("node %s restarted (%s changed)", n->name, by_creation ? "creation" : "uptime");
            observed(lf, n, LEAF_NT_NODE_RESTARTED, WR_SEV_WARNING, o);
        }
    }
    if (nn->got_creation || nn->got_uptime) {
        nn->have_prev = 1;
        nn->prev_has_creation = nn->got_creation;
        nn->prev_creation = nn->creation;
        nn->prev_has_uptime = nn->got_uptime;
        nn->prev_uptime = nn->uptime;
        nn->prev_wall = now;
    }
}

static int ref_eq(const erlang_ref *a, const notify_ref_t *b)
{
    if (a->len != b->len || a->len < 1 || a->len > 5)
        return 0;
    for (int i = 0; i < a->len; i++)
        if (a->n[i] != b->n[i])
            return 0;
    return 1;
}

int leaf_notify_on_reply(leaf_t *lf, leaf_node_t *n)
{
    struct leaf_notify *N = lf->notify;
    if (!N || n->idx >= N->n)
        return 0;
    notify_node_t *nn = &N->nodes[n->idx];
    if (!nn->sub_live && !nn->creation_live && !nn->uptime_live)
        return 0;
    char why[256];
    erlang_ref ref;
    int ri = 0, len = lf->rx.index > lf->rx.buffsz ? lf->rx.buffsz : lf->rx.index;
    if (leaf_parse_envelope(lf->rx.buff, len, &ref, &ri, why, sizeof why) != 0)
        return 0;
    leaf_values_t vals;
    if (nn->creation_live && ref_eq(&ref, &nn->creation_ref)) {
        nn->creation_live = 0;
        nn->got_creation = leaf_parse_reply(lf->rx.buff, ri, LEAF_SHAPE_INT, &vals, why, sizeof why) == 0;
        nn->creation = nn->got_creation ? (int64_t)vals.v[0] : 0;
    } else if (nn->uptime_live && ref_eq(&ref, &nn->uptime_ref)) {
        nn->uptime_live = 0;
        nn->got_uptime = leaf_parse_reply(lf->rx.buff, ri, LEAF_SHAPE_PAIR_FIRST, &vals, why, sizeof why) == 0;
        nn->uptime = nn->got_uptime ? (int64_t)vals.v[0] : 0;
    } else if (nn->sub_live && ref_eq(&ref, &nn->sub_ref)) {
        nn->sub_live = 0;
        int i = ri, arity = 0;
        char a[MAXATOMLEN_UTF8];
        int64_t now = wr_mono_ms();
        if (ei_decode_tuple_header(lf->rx.buff, &i, &arity) == 0 && arity == 2 &&
            ei_decode_atom(lf->rx.buff, &i, a) == 0 && strcmp(a, "ok") == 0) {
            if (!nn->subscribed)
                WR_INFO("node %s: notifications subscribed", n->name);
            nn->subscribed = 1;
            nn->sub_failures = 0;
            nn->sub_next = now + SUB_RENEW_MS;
            N->st.subscribes++;
        } else {
            nn->subscribed = 0;
            N->st.subscribe_failures++;
            nn->sub_failures++;
            nn->sub_next = now + retry_ms(lf, nn->sub_failures);
            WR_DEBUG("node %s: warren_agent:subscribe/2 not accepted (try %d)", n->name, nn->sub_failures);
        }
        return 1;
    } else {
        return 0;
    }
    if (!nn->creation_live && !nn->uptime_live)
        probe_done(lf, n, nn);
    return 1;
}

/* ---- the tick ----------------------------------------------------------------------- */

static void warn_drops(leaf_t *lf, int64_t now)
{
    struct leaf_notify *N = lf->notify;
    uint64_t d = sum(N->st.dropped);
    if (now - N->last_warn < WARN_EVERY_MS || (d == N->warned_dropped && N->st.dropped_source == N->warned_source))
        return;
    char types[512];
    by_type(N->st.dropped, types, sizeof types);
    WR_WARN("notifications dropped since the last report: %llu by the leaf's rate limit (totals: %s), "
            "%llu by the nodes' source limit", (unsigned long long)(d - N->warned_dropped),
            types[0] ? types : "none", (unsigned long long)(N->st.dropped_source - N->warned_source));
    N->warned_dropped = d;
    N->warned_source = N->st.dropped_source;
    N->last_warn = now;
}

static void on_tick(struct ev_loop *loop, ev_periodic *w, int revents)
{
    (void)loop;
    (void)revents;
    leaf_t *lf = w->data;
    struct leaf_notify *N = lf->notify;
    int64_t now = wr_mono_ms();
    size_t n_owned;
    const uint32_t *owned = leaf_owned_nodes(lf, &n_owned);
    for (size_t k = 0; k < n_owned; k++) {
        size_t i = owned[k];
        if (i >= N->n)
            continue;
        leaf_node_t *n = &lf->nodes[i];
        notify_node_t *nn = &N->nodes[i];
        if (n->state != WR_NODE_UP || n->fd < 0)
            continue;
        if ((nn->creation_live || nn->uptime_live) && now - nn->probe_sent > CALL_TMO_MS) {
            nn->creation_live = nn->uptime_live = 0;
            probe_done(lf, n, nn);
        }
        if (nn->sub_live && now - nn->sub_sent > CALL_TMO_MS) {
            nn->sub_live = 0;
            nn->sub_failures++;
            N->st.subscribe_failures++;
        }
        if (agent_on(lf) && !nn->sub_live && now >= nn->sub_next) {
            nn->sub_sent = now;
            nn->sub_next = now + retry_ms(lf, nn->sub_failures + 1);   /* if unanswered */
            send_call(lf, n, &nn->sub_ref, &nn->sub_live, "warren_agent", "subscribe", NULL, 1);
        }
    }
    warn_drops(lf, now);
}

int leaf_notify_init(leaf_t *lf)
{
    struct leaf_notify *N = calloc(1, sizeof *N);
    if (!N)
        return WR_ENOMEM;
    N->n = lf->n_nodes;
    N->nodes = calloc(N->n ? N->n : 1, sizeof *N->nodes);
    if (!N->nodes) {
        free(N);
        return WR_ENOMEM;
    }
    N->last_warn = wr_mono_ms();
    lf->notify = N;
    ev_periodic_init(&N->tick, on_tick, lf->tick_phase, 1.0, 0);
    N->tick.data = lf;
    ev_periodic_start(lf->loop, &N->tick);
    return 0;
}

void leaf_notify_fini(leaf_t *lf)
{
    struct leaf_notify *N = lf->notify;
    if (!N)
        return;
    char d[512], s[512];
    by_type(N->st.dropped, d, sizeof d);
    by_type(N->st.sent, s, sizeof s);
    WR_INFO("notifications: %llu received, %llu sent (%s), %llu dropped by the rate limit (%s), "
            "%llu dropped at the nodes, %llu rejected, %llu filtered, %llu push failures, "
            "%llu subscribes", (unsigned long long)sum(N->st.received),
            (unsigned long long)sum(N->st.sent), s[0] ? s : "none",
            (unsigned long long)sum(N->st.dropped), d[0] ? d : "none",
            (unsigned long long)N->st.dropped_source, (unsigned long long)N->st.rejected,
            (unsigned long long)N->st.filtered, (unsigned long long)N->st.push_failed,
            (unsigned long long)N->st.subscribes);
    if (lf->loop)
        ev_periodic_stop(lf->loop, &N->tick);
    free(N->nodes);
    free(N);
    lf->notify = NULL;
}
