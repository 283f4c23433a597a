/* wr_evsend: the at-least-once event sender (see wr_evsend.h): outboxes in LMDB, first sends,
 * resend passes (oldest first, batched), ACK handling and failover following.
 *
 * An outbox entry is one kind byte (WR_MSG_ALARM / WR_MSG_NOTIF) followed by the packed event,
 * so a resend pass can group events into frames of one kind without unpacking them.
 *
 * Batching (one synced LMDB commit per burst, not per event): wr_evsend_push_txn appends inside
 * the caller's transaction and remembers, per outbox, the first staged seq; wr_evsend_txn_end,
 * after the commit, sends the staged events read back from the outbox in frames (the same path
 * as a resend pass, counted as first sends). With a loop (wr_evsend_set_loop) wr_evsend_push
 * only queues a copy in memory; an ev_prepare watcher (run when the loop has handled every event
 * of an iteration, before it waits) commits the whole queue in one transaction and then sends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wr_evsend.h"
#include "wr_error.h"
#include "wr_time.h"

#define EVSEND_FRAME_BYTES  (256u << 10)
#define EVSEND_EXPIRE_MS    10000
#define EVSEND_QUEUE_EVENTS 4096         /* queued pushes: flushed at once beyond these */
#define EVSEND_QUEUE_BYTES  (4u << 20)
#define EVSEND_QUEUE_HARD   (16u << 20)  /* queue bytes while flushes fail: pushes refused */
#define EVSEND_OVF_SELF     4            /* drops an overflow alarm update may cause itself */
#define EVSEND_OVF_UPDATE_MS 10000
#define QHDR                13           /* kind u8, be64 at_ms, be32 len */

typedef struct {
    wr_outbox_t *ob;
    int64_t      due_ms;       /* mono ms when an unacknowledged event is resent; 0 = none */
    int64_t      backoff_ms;   /* wait after a resend pass: doubles while no ACK comes, so a
                                * slow parent is not buried under resends (RESEND_MS..MAX) */
    uint64_t     ack_epoch;    /* the newest ACK not yet applied (ack_seq 0: none): ACKs are */
    uint64_t     ack_seq;      /* applied in one transaction per tick, not one per frame */
    uint64_t     st_epoch;     /* staged by push_txn: the first seq and how many (0: none) */
    uint64_t     st_first;
    uint64_t     st_n;
} evbox_t;

struct wr_evsend {
    wr_store_t      *store;
    wr_client_t     *cli;
    wr_origin_t     *origin;
    size_t           n_ob;
    evbox_t          box[WR_EVSEND_MAX_PARENTS];
    int              last_active;     /* n_ob == 1: the parent the outbox was last sent to */
    int              prev_target;     /* n_ob == 1: the last parent >= 0 it went to (-1: none) */
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
    int              bfirst;          /* the batch holds first sends (counted in sent) */
    int              bdouble;         /* a resend pass's first frame: announce its first seq */
    wr_outbox_t     *bob;             /* the outbox of the pass */
    uint64_t         fl_epoch, fl_seq;/* the pass's floor: oldest held seq of fl_epoch (0: none) */
    /* push_txn */
    uint64_t         staged;          /* pushes staged in the caller's txn */
    uint64_t         staged_bad;      /* of them, refused by an outbox (WR_ETOOBIG) */
    /* deferred pushes (set_loop) */
    struct ev_loop  *loop;
    ev_prepare       prep;
    uint8_t         *q;               /* QHDR + bytes per queued push */
    size_t           qlen, qcap, qn;
    wr_evsend_stats_t st;
    /* the outbox_overflow alarm (wr_evsend_overflow) */
    uint64_t         ovf_reported;    /* dropped total at the last report */
    uint64_t         ovf_seen;        /* dropped total at the last look */
    uint64_t         ovf_want;        /* the total a pending MAJOR report names */
    int64_t          ovf_drop_ms;     /* mono ms the total last grew */
    int64_t          ovf_report_ms;   /* mono ms of the last MAJOR report */
    int              ovf_active;
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
    s->store = store;
    s->cli = cli;
    s->origin = origin;
    s->n_ob = n_parents;
    s->last_active = -1;
    s->prev_target = -1;
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
    wr_evsend_stats_t st;
    wr_evsend_stats(s, &st);
    s->ovf_reported = s->ovf_seen = st.dropped;
    s->ovf_active = st.dropped > 0;
    s->ovf_drop_ms = wr_mono_ms();
    return s;
}

static void apply_ack(wr_evsend_t *s, size_t o);

void wr_evsend_destroy(wr_evsend_t **sp)
{
    if (!sp || !*sp)
        return;
    wr_evsend_t *s = *sp;
    if (s->loop) {
        wr_evsend_flush(s);
        ev_prepare_stop(s->loop, &s->prep);
    }
    free(s->q);
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
    if (s->bdouble) {
        /* A resend pass starts at the oldest unacknowledged event, which a parent that saw an
         * older part of this outbox epoch (a failover back to it) takes for a gap. Its rule
         * (relay/tier_events.c): two frames in a row starting at the same seq mean "nothing is
         * below": so the pass first sends its oldest event alone (a duplicate the parent drops
         * by identity). Without this, a steady flow of first sends between passes would keep
         * that parent from ever ACKing again. */
        s->bdouble = 0;
        if (send_frame(s, s->bkind, s->btarget, s->items, 1) == 0)
            s->st.resent++;
    }
    int rc = send_frame(s, s->bkind, s->btarget, s->items, s->n_items);
    if (rc == 0 && s->bfirst)
        s->st.sent += s->n_items;
    else if (rc == 0)
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
    if (epoch != s->fl_epoch || !s->fl_seq) {   /* once per epoch and pass: the frame's floor */
        uint64_t oldest = 0;
        s->fl_epoch = epoch;
        s->fl_seq = s->bob && wr_outbox_oldest_seq(s->bob, epoch, &oldest) == 0 ? oldest : 0;
    }
    memcpy(s->bbuf + s->blen, p + 1, len - 1);
    s->boff[s->n_items] = s->blen;
    s->items[s->n_items] = (wr_event_item_t){.hop_epoch = epoch, .hop_seq = seq, .data = NULL, .len = len - 1,
                                             .floor = s->fl_seq <= seq ? s->fl_seq : 0};
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

/* Resends every unacknowledged event of outbox o to target, oldest first; announce: the
 * target may hold an older position of this outbox (a failover, a parent that came back), so
 * the first frame's first seq is announced (bdouble). */
static void resend(wr_evsend_t *s, size_t o, int target, int announce)
{
    apply_ack(s, o);
    s->n_items = 0;
    s->blen = 0;
    s->btarget = target;
    s->bfailed = 0;
    s->bfirst = 0;
    s->bdouble = announce;
    s->bob = s->box[o].ob;
    s->fl_epoch = s->fl_seq = 0;
    wr_outbox_foreach(s->box[o].ob, 0, 0, resend_visit, s);
    if (!s->bfailed)
        flush_batch(s);
    s->bdouble = 0;
    s->n_items = 0;
    evbox_t *b = &s->box[o];
    if (b->backoff_ms < WR_EVSEND_RESEND_MS)
        b->backoff_ms = WR_EVSEND_RESEND_MS;
    b->due_ms = wr_mono_ms() + b->backoff_ms;
    b->backoff_ms = b->backoff_ms * 2 > WR_EVSEND_RESEND_MAX_MS ? WR_EVSEND_RESEND_MAX_MS : b->backoff_ms * 2;
}

/* ---- the public verbs ------------------------------------------------------------------------ */

static int check_event(int kind, const void *bytes, size_t len)
{
    if ((kind != WR_MSG_ALARM && kind != WR_MSG_NOTIF) || !bytes || len == 0 || len > WR_EVENT_BYTES_MAX)
        return WR_EINVAL;
    return 0;
}

int wr_evsend_push_txn(wr_evsend_t *s, wr_txn_t *txn, int kind, const void *bytes, size_t len,
                       int64_t at_ms)
{
    if (!txn || check_event(kind, bytes, len) != 0) {
        s->st.push_failed++;
        return WR_EINVAL;
    }
    s->scratch[0] = (uint8_t)kind;
    memcpy(s->scratch + 1, bytes, len);
    int rc = 0;
    for (size_t o = 0; o < s->n_ob; o++) {
        evbox_t *b = &s->box[o];
        uint64_t epoch = 0, seq = 0;
        int arc = wr_outbox_append_txn(b->ob, txn, s->scratch, len + 1, at_ms, &epoch, &seq);
        if (arc == WR_ETOOBIG) {
            rc = arc;           /* counted as dropped by that outbox; the others keep it */
            continue;
        }
        if (arc != 0)
            return arc;         /* the caller aborts its txn */
        if (b->st_n++ == 0) {
            b->st_epoch = epoch;
            b->st_first = seq;
        }
    }
    s->staged++;
    if (rc)
        s->staged_bad++;
    return rc;
}

/* Sends outbox o's staged events (just committed) to target in frames, oldest first. */
static void send_staged(wr_evsend_t *s, size_t o, int target)
{
    evbox_t *b = &s->box[o];
    int64_t now = wr_mono_ms();
    s->n_items = 0;
    s->blen = 0;
    s->btarget = target;
    s->bfailed = 0;
    s->bfirst = 1;
    s->bob = b->ob;
    s->fl_epoch = s->fl_seq = 0;
    wr_outbox_foreach(b->ob, b->st_epoch, b->st_first - 1, resend_visit, s);
    if (!s->bfailed)
        flush_batch(s);
    s->n_items = 0;
    s->bfirst = 0;
    if (s->bfailed)
        b->due_ms = now;        /* the next tick resends */
    else if (!b->due_ms)
        b->due_ms = now + WR_EVSEND_RESEND_MS;
}

void wr_evsend_txn_end(wr_evsend_t *s, int committed)
{
    for (size_t o = 0; o < s->n_ob; o++)
        wr_outbox_txn_end(s->box[o].ob, committed);
    if (committed) {
        s->st.push_failed += s->staged_bad;
        s->st.pushed += s->staged - s->staged_bad;
        for (size_t o = 0; o < s->n_ob; o++) {
            if (!s->box[o].st_n)
                continue;
            int target = target_of(s, o);
            if (target >= 0)
                send_staged(s, o, target);   /* else parent_up sends it when a parent comes */
        }
    } else {
        s->st.push_failed += s->staged;
    }
    for (size_t o = 0; o < s->n_ob; o++)
        s->box[o].st_n = 0;
    s->staged = 0;
    s->staged_bad = 0;
}

/* Appends n queued pushes (or the one push given) in one transaction, commits, then sends. */
static int commit_pushes(wr_evsend_t *s, const uint8_t *q, size_t n, int kind, const void *bytes,
                         size_t len, int64_t at_ms)
{
    wr_txn_t *txn = NULL;
    int rc = wr_store_begin(s->store, 1, &txn), first_rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint32_t l = wr_store_get_be32(q + 9);
        rc = wr_evsend_push_txn(s, txn, q[0], q + QHDR, l, (int64_t)wr_store_get_be64(q + 1));
        if (rc == WR_ETOOBIG)
            first_rc = rc, rc = 0;
        q += QHDR + l;
    }
    if (rc == 0 && n == 0) {
        rc = wr_evsend_push_txn(s, txn, kind, bytes, len, at_ms);
        if (rc == WR_ETOOBIG)
            first_rc = rc, rc = 0;
    }
    if (rc == 0)
        rc = wr_store_commit(&txn);
    else
        wr_store_abort(&txn);
    if (rc != 0) {
        /* nothing of it is durable: the outboxes roll back; the caller counts (a push) or keeps
         * the queue for another try (a flush) */
        s->staged = s->staged_bad = 0;
        wr_evsend_txn_end(s, 0);
        return rc == WR_EFULL ? WR_EFULL : WR_ESTORE;
    }
    wr_evsend_txn_end(s, 1);
    return first_rc;
}

int wr_evsend_flush(wr_evsend_t *s)
{
    if (s->qn == 0)
        return 0;
    int rc = commit_pushes(s, s->q, s->qn, 0, NULL, 0, 0);
    if (rc == WR_EFULL || rc == WR_ESTORE)
        return rc;              /* kept queued: retried by the next push, prepare or tick */
    s->qn = 0;
    s->qlen = 0;
    if (s->loop)
        ev_prepare_stop(s->loop, &s->prep);
    return 0;
}

static void on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)revents;
    wr_evsend_t *s = w->data;
    if (wr_evsend_flush(s) != 0)
        ev_prepare_stop(loop, w);   /* the store fails: retried by the tick, not in a spin */
}

void wr_evsend_set_loop(wr_evsend_t *s, struct ev_loop *loop)
{
    if (s->loop) {
        ev_prepare_stop(s->loop, &s->prep);
        if (!loop)
            wr_evsend_flush(s);
    }
    s->loop = loop;
    if (loop) {
        ev_prepare_init(&s->prep, on_prepare);
        s->prep.data = s;
    }
}

int wr_evsend_push(wr_evsend_t *s, int kind, const void *bytes, size_t len, int64_t at_ms)
{
    if (check_event(kind, bytes, len) != 0) {
        s->st.push_failed++;
        return WR_EINVAL;
    }
    if (!s->loop) {
        int rc = commit_pushes(s, NULL, 0, kind, bytes, len, at_ms);
        if (rc == WR_EFULL || rc == WR_ESTORE)
            s->st.push_failed++;
        return rc;
    }
    if (s->qlen + QHDR + len > EVSEND_QUEUE_HARD) {
        int rc = wr_evsend_flush(s);    /* the store has been failing: try once more */
        if (rc != 0) {
            s->st.push_failed++;
            return rc;
        }
    }
    if (s->qlen + QHDR + len > s->qcap) {
        size_t cap = s->qcap ? s->qcap : 64u << 10;
        while (cap < s->qlen + QHDR + len)
            cap *= 2;
        uint8_t *nq = realloc(s->q, cap);
        if (!nq) {
            s->st.push_failed++;
            return WR_ENOMEM;
        }
        s->q = nq;
        s->qcap = cap;
    }
    uint8_t *p = s->q + s->qlen;
    p[0] = (uint8_t)kind;
    wr_store_be64(p + 1, (uint64_t)at_ms);
    wr_store_be32(p + 9, (uint32_t)len);
    memcpy(p + QHDR, bytes, len);
    s->qlen += QHDR + len;
    s->qn++;
    if (s->qn >= EVSEND_QUEUE_EVENTS || s->qlen >= EVSEND_QUEUE_BYTES)
        wr_evsend_flush(s);     /* a failure keeps them queued for the next try */
    else if (s->qn == 1)
        ev_prepare_start(s->loop, &s->prep);
    return WR_OK;
}

/* Failover mode: the outbox now goes to target; 1 if it went to another parent before in
 * this run (that parent, or this one, may hold an older position of the outbox's epoch). */
static int switched(wr_evsend_t *s, int target)
{
    int sw = s->prev_target >= 0 && s->prev_target != target;
    s->prev_target = target;
    return sw;
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
        s->box[0].backoff_ms = WR_EVSEND_RESEND_MS;
        resend(s, 0, active, switched(s, active));
    } else if ((size_t)parent < s->n_ob) {
        s->box[parent].backoff_ms = WR_EVSEND_RESEND_MS;
        resend(s, (size_t)parent, parent, 0);
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
    b->backoff_ms = WR_EVSEND_RESEND_MS;     /* the parent makes progress */
}

void wr_evsend_tick(wr_evsend_t *s, int64_t now_ms)
{
    if (s->qn)
        wr_evsend_flush(s);     /* queued pushes a failing store left behind */
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
            b->backoff_ms = WR_EVSEND_RESEND_MS;
            if (target >= 0)
                resend(s, o, target, switched(s, target));
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
            resend(s, o, target, 0);
    }
}

void wr_evsend_stats(const wr_evsend_t *s, wr_evsend_stats_t *out)
{
    *out = s->st;
    out->pending = out->pending_bytes = out->dropped = 0;
    out->queued = s->qn;
    out->ids = s->id_counter;
    out->pending += s->qn;     /* accepted, durable at the end of this loop iteration */
    for (size_t o = 0; o < s->n_ob; o++) {
        wr_outbox_stats_t os;
        if (wr_outbox_stats(s->box[o].ob, &os) == 0) {
            out->pending += os.pending;
            out->pending_bytes += os.pending_bytes;
            out->dropped += os.dropped;
        }
    }
}

/* ---- the outbox_overflow alarm ---------------------------------------------------------------- */

int wr_evsend_overflow(wr_evsend_t *s, char *text, size_t textlen)
{
    wr_evsend_stats_t st;
    wr_evsend_stats(s, &st);
    int64_t now = wr_mono_ms();
    if (st.dropped != s->ovf_seen) {
        s->ovf_seen = st.dropped;
        s->ovf_drop_ms = now;
    }
    /* the first drop raises at once; later ones update the alarm at most every 10 s and only
     * beyond the few drops that the alarm event itself may cause in a full outbox (otherwise a
     * full outbox whose parent stays away would trade its backlog for alarm updates) */
    uint64_t fresh = st.dropped > s->ovf_reported ? st.dropped - s->ovf_reported : 0;
    if ((!s->ovf_active && fresh > 0) ||
        (s->ovf_active && fresh > EVSEND_OVF_SELF && now - s->ovf_report_ms >= EVSEND_OVF_UPDATE_MS)) {
        s->ovf_want = st.dropped;
        snprintf(text, textlen, "%llu event(s) dropped from the outbox to stay within its bounds "
                 "(%llu in total; %llu held): the parent is unreachable or too slow",
                 (unsigned long long)(st.dropped - s->ovf_reported), (unsigned long long)st.dropped,
                 (unsigned long long)st.pending);
        return WR_SEV_MAJOR;
    }
    if (s->ovf_active && st.pending == 0 && now - s->ovf_drop_ms >= WR_EVSEND_OVERFLOW_CLEAR_MS) {
        snprintf(text, textlen, "the outbox drained; %llu event(s) dropped in total",
                 (unsigned long long)st.dropped);
        return WR_SEV_CLEARED;
    }
    return -1;
}

void wr_evsend_overflow_reported(wr_evsend_t *s, int severity)
{
    if (severity == WR_SEV_CLEARED) {
        s->ovf_active = 0;
    } else if (severity > 0) {
        s->ovf_active = 1;
        s->ovf_report_ms = wr_mono_ms();
        if (s->ovf_want > s->ovf_reported)
            s->ovf_reported = s->ovf_want;
    }
}
