/* root_http_evstore: the root's event history in LMDB (see root_events.h; named so because the
 * build globs root/root_http*.c into the root's library): record formats, the tier's sink,
 * retention and the queries.
 *
 * alarm_history: key be64(at_ms) + be64(n) (n: a counter started at the wall clock in
 * microseconds, so keys of one millisecond stay unique across restarts); value v2:
 *   [2][change][severity][suppressed][acked][be32 count][be64 raised][be64 changed]
 *   [be64 cleared][be64 acked_ms][be64 received] scope\0 type\0 resource\0 text\0 origin\0 acked_by\0
 * received: the root's wall ms when the change arrived (applied, just before its commit); v1
 * records (written before it existed) lack it and read as 0.
 * notifications: key be64(at_ms) + be64(epoch) + be64(seq) + origin; value: the packed event.
 * Stored records are parsed as untrusted input; a bad one is skipped and counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "root_events.h"
#include "wr_error.h"
#include "wr_time.h"

#define HIST_HDR       (1 + 4 + 4 + 8 * 4)
#define HIST_MAX       (HIST_HDR + 8 + WR_ALARM_SCOPE_MAX + WR_ALARM_TYPE_MAX + WR_ALARM_RESOURCE_MAX + \
                        WR_ALARM_TEXT_MAX + 2 * WR_ALARM_ORIGIN_MAX)
#define QUERY_DEFAULT  1000

struct root_events {
    wr_store_t          *store;
    int                  db_hist, db_notif;
    root_events_limits_t lim;
    uint64_t             hist_n;
    wr_event_t          *ev;         /* scratch (large) */
    root_events_stats_t  st;
};

root_events_t *root_events_new(wr_store_t *store, const root_events_limits_t *limits, char *err,
                               size_t errlen)
{
    int dh = store ? wr_store_db(store, "alarm_history") : WR_ENOTFOUND;
    int dn = store ? wr_store_db(store, "notifications") : WR_ENOTFOUND;
    if (dh < 0 || dn < 0) {
        snprintf(err, errlen, "root events: the store lacks the alarm_history / notifications databases");
        return NULL;
    }
    root_events_t *re = calloc(1, sizeof *re);
    if (!re || !(re->ev = malloc(sizeof *re->ev))) {
        free(re);
        snprintf(err, errlen, "root events: out of memory");
        return NULL;
    }
    re->store = store;
    re->db_hist = dh;
    re->db_notif = dn;
    if (limits)
        re->lim = *limits;
    if (re->lim.alarm_max_age_ms <= 0) re->lim.alarm_max_age_ms = ROOT_EVENTS_DEFAULT_AGE_MS;
    if (re->lim.notif_max_age_ms <= 0) re->lim.notif_max_age_ms = ROOT_EVENTS_DEFAULT_AGE_MS;
    if (!re->lim.alarm_max_count) re->lim.alarm_max_count = ROOT_EVENTS_DEFAULT_COUNT;
    if (!re->lim.notif_max_count) re->lim.notif_max_count = ROOT_EVENTS_DEFAULT_COUNT;
    re->hist_n = (uint64_t)wr_wall_ms() * 1000;
    return re;
}

void root_events_destroy(root_events_t **rp)
{
    if (!rp || !*rp)
        return;
    free((*rp)->ev);
    free(*rp);
    *rp = NULL;
}

/* ---- records ---------------------------------------------------------------------------------- */

static size_t put_str(uint8_t *p, const char *s, size_t cap)
{
    size_t n = strnlen(s, cap - 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return n + 1;
}

static size_t hist_encode(uint8_t *out, int change, const wr_alarm_t *a, int64_t received_ms)
{
    uint8_t *p = out;
    *p++ = 2;
    *p++ = (uint8_t)change;
    *p++ = (uint8_t)a->severity;
    *p++ = (uint8_t)(a->suppressed != 0);
    *p++ = (uint8_t)(a->acked != 0);
    wr_store_be32(p, a->count), p += 4;
    wr_store_be64(p, (uint64_t)a->raised_ms), p += 8;
    wr_store_be64(p, (uint64_t)a->changed_ms), p += 8;
    wr_store_be64(p, (uint64_t)a->cleared_ms), p += 8;
    wr_store_be64(p, (uint64_t)a->acked_ms), p += 8;
    wr_store_be64(p, (uint64_t)received_ms), p += 8;
    p += put_str(p, a->key.scope, sizeof a->key.scope);
    p += put_str(p, a->key.type, sizeof a->key.type);
    p += put_str(p, a->key.resource, sizeof a->key.resource);
    p += put_str(p, a->text, sizeof a->text);
    p += put_str(p, a->origin, sizeof a->origin);
    p += put_str(p, a->acked_by, sizeof a->acked_by);
    return (size_t)(p - out);
}

static int get_str(const uint8_t **p, const uint8_t *end, char *out, size_t cap)
{
    const uint8_t *z = memchr(*p, 0, (size_t)(end - *p));
    if (!z || (size_t)(z - *p) >= cap)
        return -1;
    memcpy(out, *p, (size_t)(z - *p) + 1);
    *p = z + 1;
    return 0;
}

static int hist_decode(const void *val, size_t len, root_alarm_change_t *c)
{
    const uint8_t *p = val, *end = p + len;
    if (len < HIST_HDR || (p[0] != 1 && p[0] != 2) || (p[0] == 2 && len < HIST_HDR + 8) ||
        p[2] > WR_SEV_CRITICAL)
        return -1;
    int v2 = p[0] == 2;
    memset(c, 0, sizeof *c);
    c->change = p[1];
    c->alarm.severity = p[2];
    c->alarm.suppressed = p[3];
    c->alarm.acked = p[4];
    p += 5;
    c->alarm.count = wr_store_get_be32(p), p += 4;
    c->alarm.raised_ms = (int64_t)wr_store_get_be64(p), p += 8;
    c->alarm.changed_ms = (int64_t)wr_store_get_be64(p), p += 8;
    c->alarm.cleared_ms = (int64_t)wr_store_get_be64(p), p += 8;
    c->alarm.acked_ms = (int64_t)wr_store_get_be64(p), p += 8;
    if (v2)
        c->received_ms = (int64_t)wr_store_get_be64(p), p += 8;
    if (get_str(&p, end, c->alarm.key.scope, sizeof c->alarm.key.scope) ||
        get_str(&p, end, c->alarm.key.type, sizeof c->alarm.key.type) ||
        get_str(&p, end, c->alarm.key.resource, sizeof c->alarm.key.resource) ||
        get_str(&p, end, c->alarm.text, sizeof c->alarm.text) ||
        get_str(&p, end, c->alarm.origin, sizeof c->alarm.origin) ||
        get_str(&p, end, c->alarm.acked_by, sizeof c->alarm.acked_by))
        return -1;
    return 0;
}

static int hist_put(root_events_t *re, wr_txn_t *txn, int change, int64_t at_ms, const wr_alarm_t *a)
{
    uint8_t key[16], val[HIST_MAX];
    wr_store_be64(key, (uint64_t)at_ms);
    wr_store_be64(key + 8, ++re->hist_n);
    size_t vl = hist_encode(val, change, a, wr_wall_ms());
    int rc = wr_store_put(txn, re->db_hist, key, sizeof key, val, vl);
    if (rc == 0)
        re->st.alarm_changes++;
    return rc;
}

int root_events_sink(void *ud, wr_txn_t *txn, const wr_event_t *ev, const void *bytes, size_t len,
                     int change, const wr_alarm_t *alarm)
{
    root_events_t *re = ud;
    if (ev->kind == WR_MSG_NOTIF) {
        uint8_t key[24 + WR_ID_MAX];
        size_t ol = strnlen(ev->id.origin, sizeof ev->id.origin);
        wr_store_be64(key, (uint64_t)ev->notif.at_ms);
        wr_store_be64(key + 8, ev->id.epoch);
        wr_store_be64(key + 16, ev->id.seq);
        memcpy(key + 24, ev->id.origin, ol);
        int rc = wr_store_put(txn, re->db_notif, key, 24 + ol, bytes, len);
        if (rc == 0)
            re->st.notifications++;
        return rc;
    }
    if (alarm && (change == WR_ALARM_NEW || change == WR_ALARM_UPDATED || change == WR_ALARM_CLEARED))
        return hist_put(re, txn, change, ev->alarm.at_ms, alarm);
    if (alarm && change == WR_ALARM_LATE) {    /* raised and already cleared: history only */
        int rc = hist_put(re, txn, WR_ALARM_NEW, ev->alarm.at_ms, alarm);
        wr_alarm_t gone = *alarm;
        gone.severity = WR_SEV_CLEARED;
        gone.changed_ms = alarm->cleared_ms;
        return rc ? rc : hist_put(re, txn, WR_ALARM_CLEARED, alarm->cleared_ms, &gone);
    }
    return WR_OK;
}

int root_events_record_ack(root_events_t *re, const wr_alarm_t *alarm, int64_t at_ms)
{
    wr_txn_t *txn = NULL;
    int rc = wr_store_begin(re->store, 1, &txn);
    if (rc == 0)
        rc = hist_put(re, txn, ROOT_EVENTS_CHANGE_ACKED, at_ms, alarm);
    if (rc == 0)
        return wr_store_commit(&txn);
    wr_store_abort(&txn);
    return rc;
}

/* ---- retention ---------------------------------------------------------------------------------- */

static int prune_db(root_events_t *re, wr_txn_t *txn, int db, uint64_t entries, int64_t max_age,
                    uint64_t max_count, int64_t now_ms, uint64_t *removed)
{
    uint8_t to[8];
    uint64_t n = 0;
    wr_store_be64(to, (uint64_t)(now_ms > max_age ? now_ms - max_age : 0));
    int rc = wr_store_delete_range(txn, db, NULL, 0, to, sizeof to, 0, &n);
    if (rc != 0)
        return rc;
    *removed += n;
    entries = entries > n ? entries - n : 0;
    if (entries > max_count) {
        rc = wr_store_delete_range(txn, db, NULL, 0, NULL, 0, entries - max_count, &n);
        if (rc == 0)
            *removed += n;
    }
    (void)re;
    return rc;
}

int root_events_prune(root_events_t *re, int64_t now_ms, uint64_t *removed)
{
    wr_store_info_t info;
    uint64_t n = 0;
    int rc = wr_store_info(re->store, &info);
    wr_txn_t *txn = NULL;
    if (rc == 0)
        rc = wr_store_begin(re->store, 1, &txn);
    if (rc == 0)
        rc = prune_db(re, txn, re->db_hist, info.entries[re->db_hist], re->lim.alarm_max_age_ms,
                      re->lim.alarm_max_count, now_ms, &n);
    if (rc == 0)
        rc = prune_db(re, txn, re->db_notif, info.entries[re->db_notif], re->lim.notif_max_age_ms,
                      re->lim.notif_max_count, now_ms, &n);
    if (rc == 0)
        rc = wr_store_commit(&txn);
    else
        wr_store_abort(&txn);
    if (rc == 0) {
        re->st.pruned += n;
        if (removed)
            *removed = n;
    }
    return rc;
}

/* ---- queries -------------------------------------------------------------------------------------- */

typedef struct {
    root_events_t              *re;
    const root_events_filter_t *f;
    int                         notif;      /* 1: notifications, 0: alarm history */
    size_t                      limit;
    uint8_t                   **vals;
    size_t                     *lens;
    size_t                      n;
    int                         oom;
} collect_t;

static int matches(const char *want, const char *have)
{
    return !want || !want[0] || strcmp(want, have) == 0;
}

static int collect_fn(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
    collect_t *c = ud;
    (void)key;
    (void)klen;
    root_events_t *re = c->re;
    if (c->notif) {
        char why[16];
        if (wr_event_unpack(val, vlen, re->ev, why, sizeof why) != 0 || re->ev->kind != WR_MSG_NOTIF) {
            re->st.bad_records++;
            return 0;
        }
        if (!matches(c->f->node, re->ev->notif.node) || !matches(c->f->type, re->ev->notif.type))
            return 0;
    } else {
        root_alarm_change_t ch;
        if (hist_decode(val, vlen, &ch) != 0) {
            re->st.bad_records++;
            return 0;
        }
        if (!matches(c->f->node, ch.alarm.key.scope) || !matches(c->f->type, ch.alarm.key.type))
            return 0;
    }
    uint8_t *copy = malloc(vlen ? vlen : 1);
    if (!copy) {
        c->oom = 1;
        return 1;
    }
    memcpy(copy, val, vlen);
    c->vals[c->n] = copy;
    c->lens[c->n] = vlen;
    return ++c->n >= c->limit ? 1 : 0;
}

static int query(root_events_t *re, const root_events_filter_t *f, int notif,
                 int (*emit)(void *ud, collect_t *c, size_t i), void *ud)
{
    collect_t c = {.re = re, .f = f, .notif = notif, .limit = f->limit ? f->limit : QUERY_DEFAULT};
    c.vals = calloc(c.limit, sizeof *c.vals);
    c.lens = calloc(c.limit, sizeof *c.lens);
    if (!c.vals || !c.lens) {
        free(c.vals);
        free(c.lens);
        return WR_ENOMEM;
    }
    uint8_t from[8], to[8];
    wr_store_be64(from, (uint64_t)(f->since_ms > 0 ? f->since_ms : 0));
    int has_to = f->until_ms > 0 && f->until_ms < INT64_MAX;
    if (has_to)
        wr_store_be64(to, (uint64_t)f->until_ms + 1);
    wr_txn_t *txn = NULL;
    int db = notif ? re->db_notif : re->db_hist;
    int rc = wr_store_begin(re->store, 0, &txn);
    int asc = f->since_ms > 0;
    if (rc == 0)
        rc = asc ? wr_store_scan(txn, db, from, 8, has_to ? to : NULL, has_to ? 8 : 0, collect_fn, &c)
                 : wr_store_scan_reverse(txn, db, NULL, 0, has_to ? to : NULL, has_to ? 8 : 0, collect_fn, &c);
    wr_store_abort(&txn);
    if (rc == 0 && c.oom)
        rc = WR_ENOMEM;
    for (size_t k = 0; k < c.n && rc == 0; k++) {
        size_t i = asc ? k : c.n - 1 - k;
        if (emit(ud, &c, i) != 0)
            break;
    }
    for (size_t i = 0; i < c.n; i++)
        free(c.vals[i]);
    free(c.vals);
    free(c.lens);
    return rc;
}

typedef struct {
    root_notif_fn      nfn;
    root_alarm_hist_fn afn;
    void              *ud;
} emit_ctx_t;

static int emit_notif(void *ud, collect_t *c, size_t i)
{
    emit_ctx_t *e = ud;
    char why[16];
    if (wr_event_unpack(c->vals[i], c->lens[i], c->re->ev, why, sizeof why) != 0)
        return 0;
    return e->nfn(e->ud, c->re->ev);
}

static int emit_alarm(void *ud, collect_t *c, size_t i)
{
    emit_ctx_t *e = ud;
    root_alarm_change_t ch;
    if (hist_decode(c->vals[i], c->lens[i], &ch) != 0)
        return 0;
    ch.at_ms = ch.change == ROOT_EVENTS_CHANGE_ACKED ? ch.alarm.acked_ms : ch.alarm.changed_ms;
    if (ch.change == WR_ALARM_CLEARED)
        ch.at_ms = ch.alarm.cleared_ms;
    return e->afn(e->ud, &ch);
}

int root_events_notifications(root_events_t *re, const root_events_filter_t *f, root_notif_fn fn, void *ud)
{
    emit_ctx_t e = {.nfn = fn, .ud = ud};
    return query(re, f, 1, emit_notif, &e);
}

int root_events_alarm_history(root_events_t *re, const root_events_filter_t *f, root_alarm_hist_fn fn,
                              void *ud)
{
    emit_ctx_t e = {.afn = fn, .ud = ud};
    return query(re, f, 0, emit_alarm, &e);
}

void root_events_stats(const root_events_t *re, root_events_stats_t *out)
{
    *out = re->st;
}
