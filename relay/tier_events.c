/* tier_events: a tier's side of the events that must not be lost (DESIGN sections 2, 3, 7;
 * core/wr_event.h): the ALARM / NOTIF frames of its children, deduplicated by event identity
 * (wr_dedup, persisted), applied to the tier's table of active alarms (persisted in "alarms"),
 * then forwarded unchanged toward the parents (a relay: wr_evsend_push_txn into its outbox) or
 * handed to the event sink (a root: history). A whole frame is one LMDB write transaction (the
 * outbox appends or history, active alarms, dedup records: one synced commit per frame, not per
 * event); only after its commit are the events sent upward and the child ACKed, per hop epoch,
 * cumulatively.
 *
 * Hop positions (what a child's ACK means): per (child, hop epoch) the highest contiguous hop
 * seq processed, "hi". Each item carries the sender's floor (core/wr_event.h: the oldest seq of
 * the epoch it still holds for this parent; everything below was acknowledged, by us or by a
 * twin, or dropped and counted), so hi is at least floor - 1, and a gap above hi (a restarted
 * parent that first sees a newer event while the sender still holds older ones) holds hi back:
 * nothing is acknowledged that was not stored. For senders that give no floor: the first item
 * seen of a hop epoch sets the base (hi = seq - 1), and a frame that starts twice with the same
 * seq above hi is a resend from the sender's oldest event, so the base moves there. Malformed events inside a well-formed frame are
 * counted and consumed (ACKed) so that they cannot block the outbox behind them.
 *
 * Node suppression: a node reported DOWN suppresses its scope (except node_down itself);
 * reported UP lifts it. Not thread-safe: the tier's loop owns all of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tier_int.h"
#include "wr_dedup.h"
#include "wr_error.h"
#include "wr_evsend.h"
#include "wr_log.h"
#include "wr_time.h"

#define HOP_EPOCHS        8
#define EV_TICK_S         0.5
#define ALARM_KEY_MAX     (WR_ALARM_SCOPE_MAX + WR_ALARM_TYPE_MAX + WR_ALARM_RESOURCE_MAX)

static const char *const tier_db_names[] = {
    "meta", "dedup", "alarms", "alarm_history", "notifications",
    "outbox.0", "outbox.1", "outbox.2", "outbox.3", "outbox.4", "outbox.5", "outbox.6", "outbox.7",
    NULL,
};

typedef struct {
    uint64_t epoch, hi, pending_first, used;
    int      ack;               /* touched by the current frame */
} hop_t;

typedef struct {
    uint32_t hash;
    char     id[WR_ID_MAX];
    hop_t    hop[HOP_EPOCHS];
} hop_child_t;

typedef struct {
    uint64_t hop_epoch, hop_seq, floor;
} hop_pos_t;

struct tier_events {
    wr_store_t        *store;
    int                db_dedup, db_alarms;
    wr_dedup_t        *dedup;
    wr_alarm_table_t  *alarms;
    wr_evsend_t       *evsend;
    tier_event_sink_fn sink;
    void              *sink_ud;
    tmap_t             hops;          /* child id -> hop_child_t */
    uint64_t           hop_clock;
    wr_event_t        *ev;            /* scratch: one decoded event (large) */
    wr_event_t        *own_ev;        /* scratch: tier_events_alarm's event */
    wr_encoder_t      *own_enc;       /* packs the events this tier originates */
    uint64_t           own_epoch, own_seq;   /* their identity (epoch chosen at start) */
    hop_pos_t         *done;          /* scratch: processed hop positions of a frame */
    size_t             done_cap;
    ev_timer           tick;
    int                dedup_dirty;   /* marks not yet saved (a failed frame save: by the tick) */
    int                dedup_all;     /* a save failed: the next one rewrites every record */
    /* counters */
    uint64_t received, duplicates, forwarded, stored, acks, bad, failed, refused, originated;
};

/* ---- small helpers ---------------------------------------------------------------------- */

static size_t alarm_db_key(const wr_alarm_key_t *k, char *out)
{
    size_t a = strlen(k->scope), b = strlen(k->type), c = strlen(k->resource);
    memcpy(out, k->scope, a);
    out[a] = '\0';
    memcpy(out + a + 1, k->type, b);
    out[a + 1 + b] = '\0';
    memcpy(out + a + b + 2, k->resource, c);
    return a + b + c + 2;
}

static hop_child_t *hop_child(tier_events_t *e, const char *id, int create)
{
    size_t len = strlen(id);
    uint32_t h = tmap_hash(id, len);
    hop_child_t *hc = tmap_get(&e->hops, id, len, h);
    if (hc || !create)
        return hc;
    hc = calloc(1, sizeof *hc);
    if (!hc)
        return NULL;
    hc->hash = h;
    snprintf(hc->id, sizeof hc->id, "%s", id);
    if (tmap_put(&e->hops, hc, h) != 0) {
        free(hc);
        return NULL;
    }
    return hc;
}

static hop_t *hop_get(tier_events_t *e, hop_child_t *hc, uint64_t epoch, uint64_t base)
{
    hop_t *lru = &hc->hop[0];
    for (int i = 0; i < HOP_EPOCHS; i++) {
        if (hc->hop[i].used && hc->hop[i].epoch == epoch) {
            hc->hop[i].used = ++e->hop_clock;
            return &hc->hop[i];
        }
        if (hc->hop[i].used < lru->used)
            lru = &hc->hop[i];
    }
    memset(lru, 0, sizeof *lru);
    lru->epoch = epoch;
    lru->hi = base;             /* first sight: below the sender's oldest unacknowledged */
    lru->used = ++e->hop_clock;
    return lru;
}

/* floor: the sender's oldest held seq of the epoch (0: an old sender that does not say it). */
static void hop_advance(tier_events_t *e, hop_child_t *hc, uint64_t epoch, uint64_t seq, uint64_t floor,
                        int first)
{
    hop_t *h = hop_get(e, hc, epoch, floor ? floor - 1 : seq - 1);
    h->ack = 1;
    if (floor && floor - 1 > h->hi)
        h->hi = floor - 1;      /* everything below was acknowledged (or dropped) already */
    if (seq <= h->hi)
        return;
    if (seq == h->hi + 1) {
        h->hi = seq;
        return;
    }
    if (first && !floor) {      /* the old heuristic, for senders that do not give a floor */
        if (h->pending_first == seq)
            h->hi = seq;        /* a resend from the sender's oldest: nothing is below */
        else
            h->pending_first = seq;
    }
}

static void send_acks(tier_t *t, hop_child_t *hc)
{
    tier_events_t *e = t->events;
    for (int i = 0; i < HOP_EPOCHS; i++) {
        hop_t *h = &hc->hop[i];
        if (!h->used || !h->ack)
            continue;
        h->ack = 0;
        if (h->hi == 0)
            continue;
        wr_envelope_t env;
        wr_envelope_next(&t->origin, WR_MSG_ACK, &env);
        wr_ack_t ack = {.seq = h->hi, .epoch = h->epoch};
        int rc = wr_encode_ack(t->enc, &env, &ack);
        if (rc == 0)
            rc = wr_server_send(t->server, hc->id, wr_encoder_data(t->enc), wr_encoder_size(t->enc));
        if (rc == 0)
            e->acks++;
        else
            WR_DEBUG("ACK to %s not sent: %s (the child resends)", hc->id, wr_strerror(rc));
    }
}

/* Writes the alarm's persisted state (the last raising event) or removes it. */
static int persist_alarm(tier_events_t *e, wr_txn_t *txn, const wr_event_t *ev, int change,
                         const void *bytes, size_t len)
{
    char key[ALARM_KEY_MAX];
    size_t kl = alarm_db_key(&ev->alarm.key, key);
    if (kl > 511)
        return WR_OK;           /* too long for an LMDB key: kept in memory only */
    if (change == WR_ALARM_CLEARED) {
        int rc = wr_store_del(txn, e->db_alarms, key, kl);
        return rc == WR_ENOTFOUND ? WR_OK : rc;
    }
    if (change == WR_ALARM_NEW || change == WR_ALARM_UPDATED)
        return wr_store_put(txn, e->db_alarms, key, kl, bytes, len);
    return WR_OK;
}

/* ---- taking one event: a child's, or one this tier originates ------------------------------- */

/* One new event into the frame's write transaction (begun here if *txn is NULL): a relay's
 * outbox append, the alarm table (+ its persisted state), a root's sink. Returns 0 or the
 * error that aborts the whole transaction. */
static int take_event(tier_t *t, wr_txn_t **txn, const wr_event_t *ev, const void *data, size_t len,
                      const char *from)
{
    tier_events_t *e = t->events;
    int is_root = t->client == NULL, rc;
    if (!*txn && (rc = wr_store_begin(e->store, 1, txn)) != 0)
        return rc;
    if (!is_root) {
        int prc = wr_evsend_push_txn(e->evsend, *txn, ev->kind, data, len, wr_wall_ms());
        if (prc == WR_ETOOBIG) {
            e->failed++;        /* over the outbox's bound: dropped there, counted, consumed */
        } else if (prc != 0) {
            /* nothing of the frame is kept (abort by the caller): the sender resends it */
            WR_WARN("event from %s not queued upward: %s (resent)", from, wr_strerror(prc));
            return prc;
        } else {
            e->forwarded++;
        }
    }
    int change = WR_ALARM_NOOP;
    wr_alarm_t alarm;
    if (ev->kind == WR_MSG_ALARM) {
        int arc = wr_alarm_table_apply(e->alarms, &ev->alarm, &change, &alarm);
        if (arc != 0) {
            change = WR_ALARM_NOOP;
            if (arc == WR_EINVAL)
                e->bad++;
            else
                WR_WARN("alarm %s/%s not applied: %s", ev->alarm.key.scope, ev->alarm.key.type,
                        wr_strerror(arc));
        }
        if ((rc = persist_alarm(e, *txn, ev, change, data, len)) != 0)
            return rc;
    }
    if (is_root && e->sink &&
        (rc = e->sink(e->sink_ud, *txn, ev, data, len, change, change ? &alarm : NULL)) != 0)
        return rc;
    return 0;
}

/* Ends a frame's transaction: saves the dedup marks (when marked), commits, lets the outbox
 * send what was committed. On failure nothing is kept and the in-memory dedup marks are
 * reloaded from the store. Returns 0 or the error. */
static int finish_txn(tier_t *t, wr_txn_t **txn, int marked, int rc)
{
    tier_events_t *e = t->events;
    if (rc != 0)
        wr_store_abort(txn);    /* nothing of this transaction is kept; the forwarded events
                                 * are in the outbox: duplicates upward at worst */
    if (*txn && marked && (rc = wr_dedup_save(e->dedup, *txn, e->db_dedup, 0)) != 0)
        wr_store_abort(txn);
    if (*txn && rc == 0 && marked)
        e->dedup_dirty = 0;
    int had_txn = *txn != NULL;
    if (*txn && (rc = wr_store_commit(txn)) != 0)
        *txn = NULL;
    if (t->client && e->evsend)
        wr_evsend_txn_end(e->evsend, had_txn && rc == 0);   /* sends upward what was committed */
    if (rc != 0 && marked) {
        /* the in-memory dedup marks may name events that were not stored: reload */
        wr_dedup_t *fresh = wr_dedup_new(NULL);
        wr_txn_t *r = NULL;
        if (fresh && wr_store_begin(e->store, 0, &r) == 0 && wr_dedup_load(fresh, r, e->db_dedup) == 0) {
            wr_dedup_destroy(&e->dedup);
            e->dedup = fresh;
            fresh = NULL;
        }
        wr_store_abort(&r);
        wr_dedup_destroy(&fresh);
    }
    return rc;
}

/* ---- a child's ALARM / NOTIF frame ---------------------------------------------------------- */

void tier_events_from_child(tier_t *t, tchild_t *c, const wr_envelope_t *env, wr_decoder_t *dec)
{
    tier_events_t *e = t->events;
    char why[WR_ERROR_TEXT_MAX];
    size_t n = 0;
    if (!e) {
        t->unexpected++;
        return;
    }
    if (wr_decode_events(dec, &n, why, sizeof why) != 0) {
        e->bad++;
        tier_count_bad(t, c->id, why);
        return;
    }
    hop_child_t *hc = hop_child(e, c->id, 1);
    if (!hc || (n > e->done_cap && !(e->done = realloc(e->done, n * sizeof *e->done)))) {
        e->done_cap = 0;
        e->failed++;
        WR_ERROR("out of memory receiving %zu events from %s", n, c->id);
        return;
    }
    if (n > e->done_cap)
        e->done_cap = n;
    wr_txn_t *txn = NULL;
    size_t n_done = 0;
    int marked = 0, rc = 0;
    for (size_t i = 0; i < n; i++) {
        wr_event_item_t item;
        if (wr_decode_event_at(dec, i, &item, NULL, why, sizeof why) != 0)
            break;              /* cannot happen: the frame was checked */
        e->received++;
        wr_event_t *ev = e->ev;
        if (wr_event_unpack(item.data, item.len, ev, why, sizeof why) != 0 || ev->kind != env->type) {
            e->bad++;
            tier_count_bad(t, c->id, ev->kind != env->type ? "event kind differs from the frame's" : why);
            e->done[n_done++] = (hop_pos_t){item.hop_epoch, item.hop_seq, item.floor};
            continue;
        }
        int seen = wr_dedup_seen(e->dedup, ev->id.origin, ev->id.epoch, ev->id.seq);
        if (seen != 0) {
            if (seen == 1)
                e->duplicates++;
            else
                e->bad++;
            e->done[n_done++] = (hop_pos_t){item.hop_epoch, item.hop_seq, item.floor};
            continue;
        }
        /* the whole frame goes into one write transaction (one synced commit): a relay's
         * outbox appends, active alarms and dedup records; a root's history and dedup records */
        if ((rc = take_event(t, &txn, ev, item.data, item.len, c->id)) != 0)
            break;
        if (wr_dedup_mark(e->dedup, ev->id.origin, ev->id.epoch, ev->id.seq) < 0) {
            rc = WR_ENOMEM;
            break;
        }
        marked = 1;
        e->dedup_dirty = 1;
        e->stored++;
        e->done[n_done++] = (hop_pos_t){item.hop_epoch, item.hop_seq, item.floor};
    }
    if ((rc = finish_txn(t, &txn, marked, rc)) != 0) {
        e->failed++;
        WR_ERROR("events from %s not stored: %s (%s); the child resends", c->id, wr_strerror(rc),
                 wr_store_last_error(e->store));
        return;                 /* ACK nothing: the child resends the frame */
    }
    for (size_t i = 0; i < n_done; i++)
        hop_advance(e, hc, e->done[i].hop_epoch, e->done[i].hop_seq, e->done[i].floor, i == 0);
    send_acks(t, hc);
}

/* ---- events this tier originates ------------------------------------------------------------ */

int tier_events_originate(tier_t *t, wr_event_t *ev)
{
    tier_events_t *e = t->events;
    if (!e)
        return WR_EUNSUPPORTED;
    if (!ev || (ev->kind != WR_MSG_ALARM && ev->kind != WR_MSG_NOTIF))
        return WR_EINVAL;
    snprintf(ev->id.origin, sizeof ev->id.origin, "%s", t->id);
    ev->id.epoch = e->own_epoch;
    ev->id.seq = e->own_seq + 1;
    int rc = wr_event_pack(e->own_enc, ev);
    if (rc != 0) {
        e->bad++;
        return rc;
    }
    wr_txn_t *txn = NULL;
    rc = take_event(t, &txn, ev, wr_encoder_data(e->own_enc), wr_encoder_size(e->own_enc), t->id);
    if ((rc = finish_txn(t, &txn, 0, rc)) != 0) {
        e->failed++;
        WR_WARN("event of this tier not stored: %s (%s); retried by its owner", wr_strerror(rc),
                wr_store_last_error(e->store));
        return rc;
    }
    e->own_seq++;
    e->originated++;
    return 0;
}

int tier_events_alarm(tier_t *t, const char *scope, const char *type, const char *resource,
                      int severity, const char *text)
{
    tier_events_t *e = t->events;
    if (!e)
        return WR_EUNSUPPORTED;
    wr_event_t *ev = e->own_ev;
    memset(ev, 0, sizeof *ev);
    ev->kind = WR_MSG_ALARM;
    int rc = wr_alarm_event_set(&ev->alarm, scope, type, resource, severity, text, wr_wall_ms(), t->id);
    return rc != 0 ? rc : tier_events_originate(t, ev);
}

void tier_events_child_up(tier_t *t, tchild_t *c)
{
    if (!t->events)
        return;
    hop_child_t *hc = hop_child(t->events, c->id, 0);
    if (hc)
        memset(hc->hop, 0, sizeof hc->hop);
}

void tier_events_node_state(tier_t *t, const char *name, int state)
{
    tier_events_t *e = t->events;
    if (!e)
        return;
    if (state == WR_NODE_DOWN)
        wr_alarm_table_suppress_scope(e->alarms, name, WR_ALARM_NODE_DOWN, NULL);
    else if (state == WR_NODE_UP && wr_alarm_table_scope_suppressed(e->alarms, name))
        wr_alarm_table_unsuppress_scope(e->alarms, name, NULL);
}

/* ---- parents -------------------------------------------------------------------------------- */

void tier_events_parent_up(tier_t *t, int parent)
{
    if (t->events && t->events->evsend)
        wr_evsend_parent_up(t->events->evsend, parent);
}

void tier_events_parent_ack(tier_t *t, int parent, wr_decoder_t *dec)
{
    wr_ack_t ack;
    char why[WR_ERROR_TEXT_MAX];
    if (wr_decode_ack(dec, &ack, why, sizeof why) != 0) {
        char who[32];
        snprintf(who, sizeof who, "parent %d", parent);
        tier_count_bad(t, who, why);
        return;
    }
    if (t->events && t->events->evsend)
        wr_evsend_on_ack(t->events->evsend, parent, &ack);
}

/* Saves the dedup records changed since the last save (own transaction). */
static void save_dedup(tier_events_t *e)
{
    if (!e->dedup_dirty)
        return;
    wr_txn_t *txn = NULL;
    int rc = wr_store_begin(e->store, 1, &txn);
    if (rc == 0)
        rc = wr_dedup_save(e->dedup, txn, e->db_dedup, e->dedup_all);
    if (rc == 0)
        rc = wr_store_commit(&txn);
    else
        wr_store_abort(&txn);
    if (rc == 0)
        e->dedup_dirty = e->dedup_all = 0;
    else
        e->dedup_all = 1, WR_WARN("saving the dedup records: %s (retried)", wr_strerror(rc));
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    tier_t *t = w->data;
    if (!t->events)
        return;
    save_dedup(t->events);
    if (t->events->evsend) {
        wr_evsend_tick(t->events->evsend, wr_wall_ms());
        /* outbox_overflow of this tier's own outbox (wr_evsend_overflow; helper A) */
        char text[WR_ALARM_TEXT_MAX];
        int sev = wr_evsend_overflow(t->events->evsend, text, sizeof text);
        if (sev >= 0) {
            if (sev != WR_SEV_CLEARED)
                WR_WARN("outbox overflow: %s", text);
            if (tier_events_alarm(t, t->id, WR_ALARM_OUTBOX_OVERFLOW, "", sev, text) == 0)
                wr_evsend_overflow_reported(t->events->evsend, sev);
        }
    }
}

/* ---- life cycle ----------------------------------------------------------------------------- */

static int restore_alarm(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
    tier_events_t *e = ud;
    (void)key;
    (void)klen;
    char why[WR_ERROR_TEXT_MAX];
    int change;
    if (wr_event_unpack(val, vlen, e->ev, why, sizeof why) != 0 || e->ev->kind != WR_MSG_ALARM) {
        WR_WARN("stored alarm skipped: %s", why);
        return 0;
    }
    wr_alarm_table_apply(e->alarms, &e->ev->alarm, &change, NULL);
    return 0;
}

int tier_events_init(tier_t *t, const tier_params_t *p, char *err, size_t errlen)
{
    t->membership_grace_ms = p->membership_grace_ms ? p->membership_grace_ms : 60000;
    if (!p->store_path || !p->store_path[0])
        return WR_OK;           /* no store: ALARM / NOTIF frames are refused (counted) */
    tier_events_t *e = calloc(1, sizeof *e);
    if (!e || !(e->ev = malloc(sizeof *e->ev)) || !(e->own_ev = malloc(sizeof *e->own_ev)) ||
        !(e->own_enc = wr_encoder_new()) || !(e->dedup = wr_dedup_new(NULL)) ||
        !(e->alarms = wr_alarm_table_new(0))) {
        snprintf(err, errlen, "tier events: out of memory");
        t->events = e;
        return WR_ENOMEM;
    }
    t->events = e;
    e->own_epoch = (uint64_t)wr_wall_ms() * 1000u;   /* a restarted tier: a new epoch */
    tmap_init(&e->hops, offsetof(hop_child_t, id));
    uint64_t map = p->store_map_size ? p->store_map_size : (256ull << 20);
    e->store = wr_store_open(p->store_path, map, tier_db_names, err, errlen);
    if (!e->store)
        return WR_ESTORE;
    e->db_dedup = wr_store_db(e->store, "dedup");
    e->db_alarms = wr_store_db(e->store, "alarms");
    wr_txn_t *txn = NULL;
    int rc = wr_store_begin(e->store, 0, &txn);
    if (rc == 0)
        rc = wr_dedup_load(e->dedup, txn, e->db_dedup);
    if (rc == 0)
        rc = wr_store_scan(txn, e->db_alarms, NULL, 0, NULL, 0, restore_alarm, e);
    wr_store_abort(&txn);
    if (rc != 0) {
        snprintf(err, errlen, "tier events: reading %s: %s", p->store_path, wr_strerror(rc));
        return rc;
    }
    ev_timer_init(&e->tick, on_tick, EV_TICK_S, EV_TICK_S);
    e->tick.data = t;
    return WR_OK;
}

int tier_events_start(tier_t *t, const tier_params_t *p, char *err, size_t errlen)
{
    tier_events_t *e = t->events;
    if (!e || !t->client)
        return WR_OK;
    size_t n = p->parent_mode == WR_PARENTS_ALL ? p->n_parents : 1;
    if (n > WR_EVSEND_MAX_PARENTS) {
        snprintf(err, errlen, "tier events: at most %d parents in mode all", WR_EVSEND_MAX_PARENTS);
        return WR_EINVAL;
    }
    e->evsend = wr_evsend_new(e->store, "outbox", n, &p->outbox, t->client, &t->origin, err, errlen);
    if (!e->evsend)
        return WR_ESTORE;
    ev_timer_start(t->loop, &e->tick);
    return WR_OK;
}

void tier_events_fini(tier_t *t)
{
    tier_events_t *e = t->events;
    if (!e)
        return;
    ev_timer_stop(t->loop, &e->tick);
    if (e->store)
        save_dedup(e);
    wr_evsend_destroy(&e->evsend);
    for (size_t i = 0; i < e->hops.cap; i++)
        free(e->hops.slots ? e->hops.slots[i].item : NULL);
    tmap_free(&e->hops);
    wr_dedup_destroy(&e->dedup);
    wr_alarm_table_destroy(&e->alarms);
    wr_store_destroy(&e->store);
    free(e->done);
    free(e->ev);
    free(e->own_ev);
    wr_encoder_destroy(&e->own_enc);
    free(e);
    t->events = NULL;
}

/* ---- public read side ------------------------------------------------------------------------ */

void tier_set_event_sink(tier_t *t, tier_event_sink_fn fn, void *ud)
{
    if (t->events) {
        t->events->sink = fn;
        t->events->sink_ud = ud;
    }
}

wr_store_t *tier_store(tier_t *t)
{
    return t->events ? t->events->store : NULL;
}

int tier_alarms_foreach(const tier_t *t, wr_alarm_visit_fn fn, void *ud)
{
    return t->events ? wr_alarm_table_foreach(t->events->alarms, fn, ud) : WR_OK;
}

int tier_alarm_ack(tier_t *t, const wr_alarm_key_t *key, const char *by, int64_t at_ms, wr_alarm_t *out)
{
    if (!t->events)
        return WR_ENOTFOUND;
    int rc = wr_alarm_table_ack(t->events->alarms, key, by, at_ms);
    if (rc == 0 && out) {
        const wr_alarm_t *a = wr_alarm_table_lookup(t->events->alarms, key);
        if (a)
            *out = *a;
    }
    return rc;
}

void tier_events_status(const tier_t *t, tier_status_t *out)
{
    const tier_events_t *e = t->events;
    if (!e)
        return;
    wr_alarm_counts_t ac;
    wr_alarm_table_counts(e->alarms, &ac);
    out->alarms_total = ac.total;
    out->alarms_suppressed = ac.suppressed;
    out->alarms_acked = ac.acked;
    for (int i = 0; i < WR_SEV_COUNT; i++)
        out->alarms_by_severity[i] = ac.by_severity[i];
    out->ev_received = e->received;
    out->ev_duplicates = e->duplicates;
    out->ev_forwarded = e->forwarded;
    out->ev_stored = e->stored;
    out->ev_acks = e->acks;
    out->ev_bad = e->bad;
    out->ev_failed = e->failed;
    if (e->evsend) {
        wr_evsend_stats_t s;
        wr_evsend_stats(e->evsend, &s);
        out->ev_pending = s.pending;
        out->ev_dropped = s.dropped;
        out->ev_acked_up = s.acked;
    }
}
