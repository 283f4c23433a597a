/* wr_evsend: the at-least-once event sender (see wr_evsend.h): outboxes in LMDB, first sends,
 * resend passes (oldest first, batched), ACK handling and failover following.
 *
 * An outbox entry is one kind byte (WR_MSG_ALARM / WR_MSG_NOTIF) followed by the packed event,
 * so a resend pass can group events into frames of one kind without unpacking them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wr_evsend.h"
#include "wr_error.h"
#include "wr_time.h"

#define EVSEND_FRAME_BYTES  (256u << 10)
#define EVSEND_EXPIRE_MS    10000

typedef struct {
    wr_outbox_t *ob;
    int64_t      due_ms;       /* mono ms when an unacknowledged event is resent; 0 = none */
    uint64_t     ack_epoch;    /* the newest ACK not yet applied (ack_seq 0: none): ACKs are */
    uint64_t     ack_seq;      /* applied in one transaction per tick, not one per frame */
} evbox_t;

struct wr_evsend {
    wr_client_t     *cli;
    wr_origin_t     *origin;
    size_t           n_ob;
    evbox_t          box[WR_EVSEND_MAX_PARENTS];
    int              last_active;     /* n_ob == 1: the parent the outbox was last sent to */
    uint64_t         id_counter;
    int64_t          expire_ms;       /* mono ms of the last expiry pass */
    wr_encoder_t    *enc;
    uint8_t         *scratch;         /* kind byte + event (push) */
    /* resend batch */
    uint8_t         *bbuf;            /* EVSEND_FRAME_BYTES + one event */
    size_t           blen;
    wr_event_item_t  items[WR_EVSEND_BATCH];
    size_t           boff[WR_EVSEND_BATCH];
    size_t           n_items;
    int              bkind;
    int              btarget;
    int              bfailed;
    wr_evsend_stats_t st;
};

wr_evsend_t *wr_evsend_new(wr_store_t *store, const char *prefix, size_t n_parents,
                           const wr_outbox_limits_t *limits, wr_client_t *cli, wr_origin_t *origin,
                           char *err, size_t errlen)
{
    if (!store || !prefix || !cli || !origin || n_parents == 0 || n_parents > WR_EVSEND_MAX_PARENTS) {
        snprintf(err, errlen, "evsend: store, prefix, client, origin and 1..%d outboxes are required",
                 WR_EVSEND_MAX_PARENTS);
        return NULL;
    }
    wr_evsend_t *s = calloc(1, sizeof *s);
    if (!s || !(s->enc = wr_encoder_new()) || !(s->scratch = malloc(WR_EVENT_BYTES_MAX + 1)) ||
        !(s->bbuf = malloc(EVSEND_FRAME_BYTES + WR_EVENT_BYTES_MAX + 1))) {
        snprintf(err, errlen, "evsend: out of memory");
        wr_evsend_destroy(&s);
        return NULL;
    }
    s->cli = cli;
    s->origin = origin;
    s->n_ob = n_parents;
    s->last_active = -1;
    s->expire_ms = wr_mono_ms();
    for (size_t i = 0; i < n_parents; i++) {
        char name[96];
        snprintf(name, sizeof name, "%s.%zu", prefix, i);
        s->box[i].ob = wr_outbox_open(store, name, limits, err, errlen);
        if (!s->box[i].ob) {
            wr_evsend_destroy(&s);
            return NULL;
        }
    }
    return s;
}

static void apply_ack(wr_evsend_t *s, size_t o);

void wr_evsend_destroy(wr_evsend_t **sp)
{
    if (!sp || !*sp)
        return;
    wr_evsend_t *s = *sp;
    for (size_t i = 0; i < s->n_ob; i++) {
        if (s->box[i].ob)
            apply_ack(s, i);
        wr_outbox_destroy(&s->box[i].ob);
    }
    wr_encoder_destroy(&s->enc);
    free(s->scratch);
    free(s->bbuf);
    free(s);
    *sp = NULL;
}

void wr_evsend_new_id(wr_evsend_t *s, wr_event_id_t *id)
{
    memset(id, 0, sizeof *id);
    snprintf(id->origin, sizeof id->origin, "%s", s->origin->id);
    id->epoch = s->origin->epoch;
    id->seq = ++s->id_counter;
}

/* The parent outbox o feeds now, or -1. */
static int target_of(const wr_evsend_t *s, size_t o)
{
    if (s->n_ob == 1)
        return wr_client_active(s->cli);
    if (o >= wr_client_parent_count(s->cli))
        return -1;
    return wr_client_parent_up(s->cli, (int)o) ? (int)o : -1;
}

static int send_frame(wr_evsend_t *s, int kind, int target, const wr_event_item_t *items, size_t n)
{
    wr_envelope_t env;
    wr_envelope_next(s->origin, kind, &env);
    int rc = wr_encode_events(s->enc, &env, items, n);
    if (rc != 0)
        return rc;
    return wr_client_send_to(s->cli, target, wr_encoder_data(s->enc), wr_encoder_size(s->enc));
}

/* ---- resend passes ------------------------------------------------------------------------- */

static int flush_batch(wr_evsend_t *s)
{
    if (s->n_items == 0)
        return 0;
    for (size_t i = 0; i < s->n_items; i++)
        s->items[i].data = s->bbuf + s->boff[i];
    int rc = send_frame(s, s->bkind, s->btarget, s->items, s->n_items);
    if (rc == 0)
        s->st.resent += s->n_items;
    else
        s->st.send_failed += s->n_items, s->bfailed = 1;
    s->n_items = 0;
    s->blen = 0;
    return rc;
}

static int resend_visit(void *ud, uint64_t epoch, uint64_t seq, int64_t at_ms, const void *data, size_t len)
{
    wr_evsend_t *s = ud;
    (void)at_ms;
    const uint8_t *p = data;
    if (len < 2 || len - 1 > WR_EVENT_BYTES_MAX || (p[0] != WR_MSG_ALARM && p[0] != WR_MSG_NOTIF))
        return 0;   /* not ours (cannot happen unless the database was tampered with): skip */
    int kind = p[0];
    if (s->n_items && (kind != s->bkind || s->n_items == WR_EVSEND_BATCH ||
                       s->blen + len - 1 > EVSEND_FRAME_BYTES))
        if (flush_batch(s) != 0)
            return 1;   /* stop: never send a later seq after a failed earlier one */
    s->bkind = kind;
    memcpy(s->bbuf + s->blen, p + 1, len - 1);
    s->boff[s->n_items] = s->blen;
    s->items[s->n_items] = (wr_event_item_t){.hop_epoch = epoch, .hop_seq = seq, .data = NULL, .len = len - 1};
    s->n_items++;
    s->blen += len - 1;
    return 0;
}

/* Applies outbox o's pending ACK (one LMDB transaction). */
static void apply_ack(wr_evsend_t *s, size_t o)
{
    evbox_t *b = &s->box[o];
    uint64_t n = 0;
    if (!b->ack_seq)
        return;
    if (wr_outbox_ack(b->ob, b->ack_epoch, b->ack_seq, &n) == 0) {
        b->ack_seq = 0;
        s->st.acked += n;
    }
}

/* Resends every unacknowledged event of outbox o to target, oldest first. */
static void resend(wr_evsend_t *s, size_t o, int target)
{
    apply_ack(s, o);
    s->n_items = 0;
    s->blen = 0;
    s->btarget = target;
    s->bfailed = 0;
    wr_outbox_foreach(s->box[o].ob, 0, 0, resend_visit, s);
    if (!s->bfailed)
        flush_batch(s);
    s->n_items = 0;
    s->box[o].due_ms = wr_mono_ms() + WR_EVSEND_RESEND_MS;
}

/* ---- the public verbs ------------------------------------------------------------------------ */

int wr_evsend_push(wr_evsend_t *s, int kind, const void *bytes, size_t len, int64_t at_ms)
{
    if ((kind != WR_MSG_ALARM && kind != WR_MSG_NOTIF) || !bytes || len == 0 || len > WR_EVENT_BYTES_MAX) {
        s->st.push_failed++;
        return WR_EINVAL;
    }
    s->scratch[0] = (uint8_t)kind;
    memcpy(s->scratch + 1, bytes, len);
    int64_t now = wr_mono_ms();
    int first_rc = 0;
    for (size_t o = 0; o < s->n_ob; o++) {
        uint64_t epoch = 0, seq = 0;
        int rc = wr_outbox_append(s->box[o].ob, s->scratch, len + 1, at_ms, &epoch, &seq);
        if (rc != 0) {
            if (!first_rc)
                first_rc = rc;
            continue;
        }
        int target = target_of(s, o);
        if (target < 0)
            continue;           /* sent by parent_up when a parent comes */
        wr_event_item_t item = {.hop_epoch = epoch, .hop_seq = seq, .data = bytes, .len = len};
        if (send_frame(s, kind, target, &item, 1) == 0) {
            s->st.sent++;
            if (!s->box[o].due_ms)
                s->box[o].due_ms = now + WR_EVSEND_RESEND_MS;
        } else {
            s->st.send_failed++;
            s->box[o].due_ms = now;   /* the next tick resends */
        }
    }
    if (first_rc) {
        s->st.push_failed++;
        return first_rc;
    }
    s->st.pushed++;
    return WR_OK;
}

void wr_evsend_parent_up(wr_evsend_t *s, int parent)
{
    if (parent < 0)
        return;
    if (s->n_ob == 1) {
        int active = wr_client_active(s->cli);
        if (active != parent)
            return;             /* a standby parent: the active one has everything */
        s->last_active = active;
        resend(s, 0, active);
    } else if ((size_t)parent < s->n_ob) {
        resend(s, (size_t)parent, parent);
    }
}

void wr_evsend_on_ack(wr_evsend_t *s, int parent, const wr_ack_t *ack)
{
    size_t o = s->n_ob == 1 ? 0 : (size_t)parent;
    if (parent < 0 || o >= s->n_ob)
        return;
    evbox_t *b = &s->box[o];
    if (b->ack_seq && b->ack_epoch == ack->epoch && ack->seq <= b->ack_seq)
        return;                         /* an older ACK than one already noted */
    if (b->ack_seq && b->ack_epoch != ack->epoch)
        apply_ack(s, o);                /* another epoch: apply the noted one first */
    b->ack_epoch = ack->epoch;
    b->ack_seq = ack->seq;
    b->due_ms = wr_mono_ms() + WR_EVSEND_RESEND_MS;
}

void wr_evsend_tick(wr_evsend_t *s, int64_t now_ms)
{
    int64_t mono = wr_mono_ms();
    int expire = mono - s->expire_ms >= EVSEND_EXPIRE_MS;
    if (expire)
        s->expire_ms = mono;
    for (size_t o = 0; o < s->n_ob; o++) {
        evbox_t *b = &s->box[o];
        apply_ack(s, o);
        if (expire)
            wr_outbox_expire(b->ob, now_ms, NULL);
        int target = target_of(s, o);
        if (s->n_ob == 1 && target != s->last_active) {
            s->last_active = target;          /* failover: the new parent gets everything */
            if (target >= 0)
                resend(s, o, target);
            continue;
        }
        wr_outbox_stats_t os;
        if (wr_outbox_stats(b->ob, &os) != 0)
            continue;
        if (os.pending == 0) {
            b->due_ms = 0;
            continue;
        }
        if (target >= 0 && (b->due_ms == 0 || mono >= b->due_ms))
            resend(s, o, target);
    }
}

void wr_evsend_stats(const wr_evsend_t *s, wr_evsend_stats_t *out)
{
    *out = s->st;
    out->pending = out->pending_bytes = out->dropped = 0;
    for (size_t o = 0; o < s->n_ob; o++) {
        wr_outbox_stats_t os;
        if (wr_outbox_stats(s->box[o].ob, &os) == 0) {
            out->pending += os.pending;
            out->pending_bytes += os.pending_bytes;
            out->dropped += os.dropped;
        }
    }
}
