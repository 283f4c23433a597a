/* wr_outbox: at-least-once sender side in an LMDB named database (see wr_outbox.h).
 * In memory it mirrors only counters (held events and bytes, dropped totals) so an append
 * costs one seek for the age check, one put and a commit; the counters are recomputed from
 * the database at open. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wr_config.h"
#include "wr_error.h"
#include "wr_outbox.h"
#include "wr_time.h"

#define KEY_LEN 17                   /* 'e' + be64 epoch + be64 seq */
#define DROP_BATCH 64

static const char META_EPOCH[] = "m:epoch";
static const char META_DROPPED[] = "m:dropped";   /* be64 count + be64 bytes */

struct wr_outbox {
    wr_store_t        *store;
    int                db;
    wr_outbox_limits_t lim;
    uint64_t           epoch, next_seq;
    uint64_t           count, bytes;
    uint64_t           dropped, dropped_bytes;
    /* wr_outbox_append_txn: the state before the first append of the caller's txn */
    int                staged;
    uint64_t           s_next_seq, s_count, s_bytes, s_dropped, s_dropped_bytes;
};

static void make_key(uint8_t k[KEY_LEN], uint64_t epoch, uint64_t seq)
{
    k[0] = 'e';
    wr_store_be64(k + 1, epoch);
    wr_store_be64(k + 9, seq);
}

static const uint8_t EV_FROM[1] = {'e'};
static const uint8_t EV_TO[1] = {'f'};

static void set_err(char *err, size_t errlen, const char *what, const char *detail)
{
    if (err && errlen)
        snprintf(err, errlen, "outbox: %s%s%s", what, detail && *detail ? ": " : "", detail ? detail : "");
}

typedef struct {
    uint64_t count, bytes;
} tally_t;

static int tally_fn(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
    tally_t *t = ud;
    if (klen == KEY_LEN && vlen >= 8) {
        t->count++;
        t->bytes += vlen - 8;
    }
    return 0;
}

static int put_dropped(wr_txn_t *txn, int db, uint64_t n, uint64_t b)
{
    uint8_t v[16];
    wr_store_be64(v, n);
    wr_store_be64(v + 8, b);
    return wr_store_put(txn, db, META_DROPPED, sizeof META_DROPPED - 1, v, sizeof v);
}

wr_outbox_t *wr_outbox_open(wr_store_t *store, const char *db_name, const wr_outbox_limits_t *limits,
                            char *err, size_t errlen)
{
    int db = wr_store_db(store, db_name);
    if (db < 0) {
        set_err(err, errlen, "no such database in the store", db_name);
        return NULL;
    }
    wr_outbox_t *ob = calloc(1, sizeof *ob);
    if (!ob) {
        set_err(err, errlen, "out of memory", NULL);
        return NULL;
    }
    ob->store = store;
    ob->db = db;
    if (limits)
        ob->lim = *limits;
    if (!ob->lim.max_count)
        ob->lim.max_count = WR_OUTBOX_DEFAULT_COUNT;
    if (!ob->lim.max_bytes)
        ob->lim.max_bytes = WR_OUTBOX_DEFAULT_BYTES;
    if (ob->lim.max_age_ms <= 0)
        ob->lim.max_age_ms = WR_OUTBOX_DEFAULT_AGE_MS;
    wr_txn_t *txn;
    int rc = wr_store_begin(store, 1, &txn);
    if (rc != 0) {
        set_err(err, errlen, "cannot begin a transaction", wr_store_last_error(store));
        free(ob);
        return NULL;
    }
    const void *v;
    size_t vlen;
    uint64_t old = 0;
    if (wr_store_get(txn, db, META_EPOCH, sizeof META_EPOCH - 1, &v, &vlen) == 0 && vlen == 8)
        old = wr_store_get_be64(v);
    if (wr_store_get(txn, db, META_DROPPED, sizeof META_DROPPED - 1, &v, &vlen) == 0 && vlen == 16) {
        ob->dropped = wr_store_get_be64(v);
        ob->dropped_bytes = wr_store_get_be64((const uint8_t *)v + 8);
    }
    uint64_t now_us = (uint64_t)wr_wall_ms() * 1000u;
    ob->epoch = old + 1 > now_us ? old + 1 : now_us;
    ob->next_seq = 1;
    tally_t t = {0, 0};
    rc = wr_store_scan(txn, db, EV_FROM, 1, EV_TO, 1, tally_fn, &t);
    uint8_t ev[8];
    wr_store_be64(ev, ob->epoch);
    if (rc == 0)
        rc = wr_store_put(txn, db, META_EPOCH, sizeof META_EPOCH - 1, ev, sizeof ev);
    if (rc == 0)
        rc = wr_store_commit(&txn);
    else
        wr_store_abort(&txn);
    if (rc != 0) {
        set_err(err, errlen, wr_strerror(rc), wr_store_last_error(store));
        free(ob);
        return NULL;
    }
    ob->count = t.count;
    ob->bytes = t.bytes;
    return ob;
}

void wr_outbox_destroy(wr_outbox_t **ob)
{
    if (!ob || !*ob)
        return;
    free(*ob);
    *ob = NULL;
}

/* ---- dropping the oldest --------------------------------------------------------------- */

typedef struct {
    /* policy: drop while any holds */
    uint64_t count, bytes;         /* held, updated as entries are chosen */
    uint64_t max_count, max_bytes; /* room wanted: count <= max_count, bytes <= max_bytes */
    int64_t  cutoff_ms;            /* drop at_ms < cutoff */
    /* chosen */
    uint8_t  keys[DROP_BATCH][KEY_LEN];
    int      n;
    uint64_t nbytes;
} drop_t;

static int drop_fn(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
    drop_t *d = ud;
    if (d->n == DROP_BATCH)
        return 1;
    if (klen != KEY_LEN || vlen < 8)
        return 0;   /* not an event of ours: leave it */
    uint64_t size = vlen - 8;
    int64_t at = (int64_t)wr_store_get_be64(val);
    if (!(d->count > d->max_count || d->bytes > d->max_bytes || at < d->cutoff_ms))
        return 1;
    memcpy(d->keys[d->n++], key, KEY_LEN);
    d->count--;
    d->bytes -= size;
    d->nbytes += size;
    return 0;
}

/* Drops oldest events inside txn until count <= max_count, bytes <= max_bytes and none is
 * older than cutoff; adds to *n / *b what it dropped. Counters of ob are not touched. */
static int drop_oldest(wr_outbox_t *ob, wr_txn_t *txn, uint64_t *count, uint64_t *bytes,
                       uint64_t max_count, uint64_t max_bytes, int64_t cutoff, uint64_t *n, uint64_t *b)
{
    for (;;) {
        drop_t d = {.count = *count, .bytes = *bytes, .max_count = max_count,
                    .max_bytes = max_bytes, .cutoff_ms = cutoff};
        int rc = wr_store_scan(txn, ob->db, EV_FROM, 1, EV_TO, 1, drop_fn, &d);
        if (rc != 0)
            return rc;
        for (int i = 0; i < d.n; i++) {
            rc = wr_store_del(txn, ob->db, d.keys[i], KEY_LEN);
            if (rc != 0)
                return rc;
        }
        *count = d.count;
        *bytes = d.bytes;
        *n += (uint64_t)d.n;
        *b += d.nbytes;
        if (d.n < DROP_BATCH)
            return 0;
    }
}

int wr_outbox_append(wr_outbox_t *ob, const void *data, size_t len, int64_t at_ms,
                     uint64_t *epoch, uint64_t *seq)
{
    if (!data || len == 0)
        return WR_EINVAL;
    wr_txn_t *txn;
    if (wr_store_begin(ob->store, 1, &txn) != 0)
        return WR_ESTORE;
    int rc = wr_outbox_append_txn(ob, txn, data, len, at_ms, epoch, seq);
    /* a rejected event is committed too: its drop is counted on disk */
    int crc = rc == 0 || rc == WR_ETOOBIG ? wr_store_commit(&txn) : rc;
    wr_store_abort(&txn);
    wr_outbox_txn_end(ob, crc == 0);
    if (crc != 0 && crc != rc)
        return crc == WR_EFULL ? WR_EFULL : WR_ESTORE;
    return rc;
}

int wr_outbox_append_txn(wr_outbox_t *ob, wr_txn_t *txn, const void *data, size_t len, int64_t at_ms,
                         uint64_t *epoch, uint64_t *seq)
{
    if (!txn || !data || len == 0)
        return WR_EINVAL;
    if (!ob->staged) {
        ob->staged = 1;
        ob->s_next_seq = ob->next_seq;
        ob->s_count = ob->count;
        ob->s_bytes = ob->bytes;
        ob->s_dropped = ob->dropped;
        ob->s_dropped_bytes = ob->dropped_bytes;
    }
    if (len > WR_OUTBOX_MAX_EVENT || len > ob->lim.max_bytes) {
        if (put_dropped(txn, ob->db, ob->dropped + 1, ob->dropped_bytes + len) == 0) {
            ob->dropped++;
            ob->dropped_bytes += len;
        }
        return WR_ETOOBIG;
    }
    uint64_t count = ob->count, bytes = ob->bytes, n = 0, b = 0;
    int rc = 0;
    if (count + 1 > ob->lim.max_count || bytes + len > ob->lim.max_bytes || count > 0)
        rc = drop_oldest(ob, txn, &count, &bytes, ob->lim.max_count - 1, ob->lim.max_bytes - len,
                         at_ms - ob->lim.max_age_ms, &n, &b);
    uint8_t key[KEY_LEN];
    make_key(key, ob->epoch, ob->next_seq);
    uint8_t stackbuf[4096];
    uint8_t *val = NULL;
    if (rc == 0) {
        val = len + 8 <= sizeof stackbuf ? stackbuf : malloc(len + 8);
        if (!val)
            return WR_ENOMEM;
        wr_store_be64(val, (uint64_t)at_ms);
        memcpy(val + 8, data, len);
        rc = wr_store_put(txn, ob->db, key, KEY_LEN, val, len + 8);
        if (val != stackbuf)
            free(val);
    }
    if (rc == 0 && n > 0)
        rc = put_dropped(txn, ob->db, ob->dropped + n, ob->dropped_bytes + b);
    if (rc != 0)
        return rc == WR_EFULL ? WR_EFULL : WR_ESTORE;
    ob->count = count + 1;
    ob->bytes = bytes + len;
    ob->dropped += n;
    ob->dropped_bytes += b;
    if (epoch)
        *epoch = ob->epoch;
    if (seq)
        *seq = ob->next_seq;
    ob->next_seq++;
    return 0;
}

void wr_outbox_txn_end(wr_outbox_t *ob, int committed)
{
    if (!ob->staged)
        return;
    ob->staged = 0;
    if (committed)
        return;
    ob->next_seq = ob->s_next_seq;
    ob->count = ob->s_count;
    ob->bytes = ob->s_bytes;
    ob->dropped = ob->s_dropped;
    ob->dropped_bytes = ob->s_dropped_bytes;
}

int wr_outbox_expire(wr_outbox_t *ob, int64_t now_ms, uint64_t *dropped)
{
    if (dropped)
        *dropped = 0;
    if (ob->count == 0)
        return 0;
    wr_txn_t *txn;
    int rc = wr_store_begin(ob->store, 1, &txn);
    uint64_t count = ob->count, bytes = ob->bytes, n = 0, b = 0;
    if (rc == 0)
        rc = drop_oldest(ob, txn, &count, &bytes, ob->lim.max_count, ob->lim.max_bytes,
                         now_ms - ob->lim.max_age_ms, &n, &b);
    if (rc == 0 && n > 0) {
        rc = put_dropped(txn, ob->db, ob->dropped + n, ob->dropped_bytes + b);
        if (rc == 0)
            rc = wr_store_commit(&txn);
    }
    wr_store_abort(&txn);
    if (rc != 0)
        return rc == WR_EFULL ? WR_EFULL : WR_ESTORE;
    ob->count = count;
    ob->bytes = bytes;
    ob->dropped += n;
    ob->dropped_bytes += b;
    if (dropped)
        *dropped = n;
    return 0;
}

int wr_outbox_ack(wr_outbox_t *ob, uint64_t epoch, uint64_t seq, uint64_t *acked)
{
    if (acked)
        *acked = 0;
    if (seq == 0 || ob->count == 0)
        return 0;
    uint8_t from[KEY_LEN], to[KEY_LEN];
    make_key(from, epoch, 1);
    if (seq == UINT64_MAX)
        make_key(to, epoch + 1, 0);   /* epoch + 1 cannot wrap: epochs are wall microseconds */
    else
        make_key(to, epoch, seq + 1);
    wr_txn_t *txn;
    int rc = wr_store_begin(ob->store, 1, &txn);
    tally_t t = {0, 0};
    if (rc == 0)
        rc = wr_store_scan(txn, ob->db, from, KEY_LEN, to, KEY_LEN, tally_fn, &t);
    if (rc == 0 && t.count > 0) {
        rc = wr_store_delete_range(txn, ob->db, from, KEY_LEN, to, KEY_LEN, 0, NULL);
        if (rc == 0)
            rc = wr_store_commit(&txn);
    }
    wr_store_abort(&txn);
    if (rc != 0)
        return rc == WR_EFULL ? WR_EFULL : WR_ESTORE;
    ob->count -= t.count;
    ob->bytes -= t.bytes;
    if (acked)
        *acked = t.count;
    return 0;
}

typedef struct {
    wr_outbox_visit_fn fn;
    void              *ud;
} visit_t;

static int visit_fn(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
    visit_t *v = ud;
    if (klen != KEY_LEN || vlen < 8)
        return 0;
    const uint8_t *k = key;
    return v->fn(v->ud, wr_store_get_be64(k + 1), wr_store_get_be64(k + 9),
                 (int64_t)wr_store_get_be64(val), (const uint8_t *)val + 8, vlen - 8);
}

int wr_outbox_foreach(wr_outbox_t *ob, uint64_t after_epoch, uint64_t after_seq,
                      wr_outbox_visit_fn fn, void *ud)
{
    uint8_t from[KEY_LEN];
    if (after_seq == UINT64_MAX)
        make_key(from, after_epoch + 1, 0);
    else
        make_key(from, after_epoch, after_seq + 1);
    wr_txn_t *txn;
    int rc = wr_store_begin(ob->store, 0, &txn);
    if (rc != 0)
        return rc;
    visit_t v = {fn, ud};
    rc = wr_store_scan(txn, ob->db, from, KEY_LEN, EV_TO, 1, visit_fn, &v);
    wr_store_abort(&txn);
    return rc;
}

static int oldest_fn(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
    if (klen != KEY_LEN || vlen < 8)
        return 0;
    *(int64_t *)ud = (int64_t)wr_store_get_be64(val);
    return 1;
}

static int first_seq_fn(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)val;
    (void)vlen;
    if (klen != KEY_LEN)
        return 0;
    *(uint64_t *)ud = wr_store_get_be64((const uint8_t *)key + 9);
    return 1;
}

int wr_outbox_oldest_seq(wr_outbox_t *ob, uint64_t epoch, uint64_t *seq)
{
    uint8_t from[KEY_LEN], to[KEY_LEN];
    make_key(from, epoch, 0);
    if (epoch == UINT64_MAX)
        memcpy(to, EV_TO, 1);
    else
        make_key(to, epoch + 1, 0);
    wr_txn_t *txn;
    int rc = wr_store_begin(ob->store, 0, &txn);
    if (rc != 0)
        return rc;
    uint64_t found = 0;
    rc = wr_store_scan(txn, ob->db, from, KEY_LEN, to, epoch == UINT64_MAX ? 1 : KEY_LEN,
                       first_seq_fn, &found);
    wr_store_abort(&txn);
    if (rc != 0)
        return rc;
    if (!found)
        return WR_ENOTFOUND;
    *seq = found;
    return 0;
}

int wr_outbox_stats(wr_outbox_t *ob, wr_outbox_stats_t *st)
{
    memset(st, 0, sizeof *st);
    st->epoch = ob->epoch;
    st->next_seq = ob->next_seq;
    st->pending = ob->count;
    st->pending_bytes = ob->bytes;
    st->dropped = ob->dropped;
    st->dropped_bytes = ob->dropped_bytes;
    if (ob->count == 0)
        return 0;
    wr_txn_t *txn;
    int rc = wr_store_begin(ob->store, 0, &txn);
    if (rc != 0)
        return rc;
    rc = wr_store_scan(txn, ob->db, EV_FROM, 1, EV_TO, 1, oldest_fn, &st->oldest_ms);
    wr_store_abort(&txn);
    return rc;
}

/* ---- configuration --------------------------------------------------------------------------- */

int wr_outbox_limits_read(wr_config_t *cfg, const char *prefix, int64_t map_size_mb, size_t n_outboxes,
                          wr_outbox_limits_t *out)
{
    char path[160];
    int before = wr_config_error_count(cfg);
    if (n_outboxes == 0)
        n_outboxes = 1;
    double half = map_size_mb > 0 ? (double)map_size_mb / 2.0 / (double)n_outboxes : 64.0;
    double def_mb = half < 64.0 ? half : 64.0, mb = def_mb, age = 7.0 * 86400;
    int64_t events = WR_OUTBOX_DEFAULT_COUNT;
    if (def_mb < 0.001)
        def_mb = mb = 0.001;
    snprintf(path, sizeof path, "%s.max_mb", prefix);
    if (wr_config_double(cfg, path, def_mb, 0.001, 1048576.0, &mb) == 0 && wr_config_has(cfg, path) &&
        mb > half)
        wr_config_error(cfg, path, "%g MB x %zu outbox(es) must stay within half of store.map_size_mb "
                        "(%lld MB): lower it or raise the map size", mb, n_outboxes, (long long)map_size_mb);
    snprintf(path, sizeof path, "%s.max_events", prefix);
    wr_config_int(cfg, path, WR_OUTBOX_DEFAULT_COUNT, 1, 100000000, &events);
    snprintf(path, sizeof path, "%s.max_age", prefix);
    wr_config_double(cfg, path, 7.0 * 86400, 1.0, 10.0 * 365 * 86400, &age);
    out->max_bytes = (uint64_t)(mb * 1048576.0);
    if (out->max_bytes < 1024)
        out->max_bytes = 1024;
    out->max_count = (uint64_t)events;
    out->max_age_ms = (int64_t)(age * 1000.0);
    return wr_config_error_count(cfg) > before ? WR_ECONFIG : WR_OK;
}
