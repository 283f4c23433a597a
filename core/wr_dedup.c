/* wr_dedup: duplicate detection by (origin, epoch, seq) (see wr_dedup.h).
 * Origins live in a chained hash table, on an LRU list (most recent first) and, when changed
 * since the last save, on a dirty list. Each epoch is a contiguous mark plus a 512-bit window. */
#include <stdlib.h>
#include <string.h>
#include "wr_dedup.h"
#include "wr_error.h"

#define WORDS (WR_DEDUP_WINDOW / 64)
#define REC_VERSION 1
#define REC_HEAD 10                  /* version, n, floor */
#define REC_EPOCH (16 + 8 * WORDS)

typedef struct {
    uint64_t epoch;
    uint64_t hi;                     /* every seq <= hi seen */
    uint64_t bits[WORDS];            /* bit i: seq hi + 1 + i seen */
} ep_t;

typedef struct origin {
    char           name[WR_DEDUP_ORIGIN_MAX];
    uint64_t       hash;
    struct origin *hnext;
    struct origin *lprev, *lnext;    /* LRU */
    struct origin *dprev, *dnext;    /* dirty list */
    int            dirty;
    uint64_t       floor;            /* epochs <= floor are stale (0: none) */
    size_t         n;
    ep_t           ep[];
} origin_t;

struct wr_dedup {
    wr_dedup_config_t cfg;
    origin_t        **buckets;
    size_t            cap;
    origin_t         *lru_head, *lru_tail;
    origin_t         *dirty;
    wr_dedup_stats_t  st;
};

wr_dedup_t *wr_dedup_new(const wr_dedup_config_t *cfg)
{
    wr_dedup_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    if (cfg)
        d->cfg = *cfg;
    if (!d->cfg.max_origins)
        d->cfg.max_origins = WR_DEDUP_DEFAULT_ORIGINS;
    if (!d->cfg.max_epochs)
        d->cfg.max_epochs = WR_DEDUP_DEFAULT_EPOCHS;
    if (d->cfg.max_epochs > WR_DEDUP_MAX_EPOCHS)
        d->cfg.max_epochs = WR_DEDUP_MAX_EPOCHS;
    d->cap = 64;
    d->buckets = calloc(d->cap, sizeof *d->buckets);
    if (!d->buckets) {
        free(d);
        return NULL;
    }
    return d;
}

void wr_dedup_destroy(wr_dedup_t **dp)
{
    if (!dp || !*dp)
        return;
    wr_dedup_t *d = *dp;
    for (origin_t *o = d->lru_head, *next; o; o = next) {
        next = o->lnext;
        free(o);
    }
    free(d->buckets);
    free(d);
    *dp = NULL;
}

static uint64_t hash(const char *s)
{
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static int valid_origin(const char *o)
{
    return o && *o && memchr(o, '\0', WR_DEDUP_ORIGIN_MAX) != NULL;
}

static origin_t *find(const wr_dedup_t *d, const char *name, uint64_t h)
{
    for (origin_t *o = d->buckets[h & (d->cap - 1)]; o; o = o->hnext)
        if (o->hash == h && strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

static ep_t *find_ep(origin_t *o, uint64_t epoch)
{
    for (size_t i = 0; i < o->n; i++)
        if (o->ep[i].epoch == epoch)
            return &o->ep[i];
    return NULL;
}

static void set_dirty(wr_dedup_t *d, origin_t *o)
{
    if (o->dirty)
        return;
    o->dirty = 1;
    o->dprev = NULL;
    o->dnext = d->dirty;
    if (d->dirty)
        d->dirty->dprev = o;
    d->dirty = o;
}

static void clear_dirty(wr_dedup_t *d, origin_t *o)
{
    if (!o->dirty)
        return;
    if (o->dprev)
        o->dprev->dnext = o->dnext;
    else
        d->dirty = o->dnext;
    if (o->dnext)
        o->dnext->dprev = o->dprev;
    o->dirty = 0;
    o->dprev = o->dnext = NULL;
}

static void lru_unlink(wr_dedup_t *d, origin_t *o)
{
    if (o->lprev)
        o->lprev->lnext = o->lnext;
    else
        d->lru_head = o->lnext;
    if (o->lnext)
        o->lnext->lprev = o->lprev;
    else
        d->lru_tail = o->lprev;
    o->lprev = o->lnext = NULL;
}

static void lru_front(wr_dedup_t *d, origin_t *o)
{
    if (d->lru_head == o)
        return;
    if (o->lprev || o->lnext || d->lru_tail == o)
        lru_unlink(d, o);
    o->lnext = d->lru_head;
    if (d->lru_head)
        d->lru_head->lprev = o;
    d->lru_head = o;
    if (!d->lru_tail)
        d->lru_tail = o;
}

static void remove_origin(wr_dedup_t *d, origin_t *o)
{
    origin_t **pp = &d->buckets[o->hash & (d->cap - 1)];
    while (*pp != o)
        pp = &(*pp)->hnext;
    *pp = o->hnext;
    lru_unlink(d, o);
    clear_dirty(d, o);
    d->st.origins--;
    free(o);
}

static void grow(wr_dedup_t *d)
{
    size_t ncap = d->cap * 2;
    origin_t **nb = calloc(ncap, sizeof *nb);
    if (!nb)
        return;   /* longer chains, still correct */
    for (origin_t *o = d->lru_head; o; o = o->lnext) {
        size_t i = o->hash & (ncap - 1);
        o->hnext = nb[i];
        nb[i] = o;
    }
    free(d->buckets);
    d->buckets = nb;
    d->cap = ncap;
}

/* The record of name, created (evicting the least recently seen origin at the cap). */
static origin_t *get_origin(wr_dedup_t *d, const char *name)
{
    uint64_t h = hash(name);
    origin_t *o = find(d, name, h);
    if (o) {
        lru_front(d, o);
        return o;
    }
    if (d->st.origins >= d->cfg.max_origins && d->lru_tail) {
        remove_origin(d, d->lru_tail);
        d->st.origins_evicted++;
    }
    o = calloc(1, sizeof *o + d->cfg.max_epochs * sizeof(ep_t));
    if (!o)
        return NULL;
    strcpy(o->name, name);
    o->hash = h;
    size_t i = h & (d->cap - 1);
    o->hnext = d->buckets[i];
    d->buckets[i] = o;
    lru_front(d, o);
    if (++d->st.origins > d->cap)
        grow(d);
    return o;
}

/* ---- the window ------------------------------------------------------------------------ */

static int bit_get(const ep_t *e, uint64_t i)
{
    return (e->bits[i / 64] >> (i % 64)) & 1u;
}

/* Moves the window up by k seqs (hi += k); returns how many of the k seqs were unseen. */
static uint64_t slide(ep_t *e, uint64_t k)
{
    uint64_t seen = 0;
    uint64_t inwin = k < WR_DEDUP_WINDOW ? k : WR_DEDUP_WINDOW;
    for (uint64_t i = 0; i < inwin; i++)
        seen += (uint64_t)bit_get(e, i);
    if (k >= WR_DEDUP_WINDOW) {
        memset(e->bits, 0, sizeof e->bits);
    } else {
        size_t w = (size_t)(k / 64), b = (size_t)(k % 64);
        for (size_t i = 0; i < WORDS; i++) {
            uint64_t lo = i + w < WORDS ? e->bits[i + w] : 0;
            uint64_t hi = i + w + 1 < WORDS ? e->bits[i + w + 1] : 0;
            e->bits[i] = b ? (lo >> b) | (hi << (64 - b)) : lo;
        }
    }
    e->hi += k;
    return k - seen;
}

/* Advances hi over the run of seen seqs right above it. */
static void advance(ep_t *e)
{
    uint64_t k = 0;
    for (size_t w = 0; w < WORDS; w++) {
        if (e->bits[w] == ~0ull) {
            k += 64;
            continue;
        }
        k += (uint64_t)__builtin_ctzll(~e->bits[w]);
        break;
    }
    if (k)
        slide(e, k);
}

/* ---- queries --------------------------------------------------------------------------- */

static int seen_in(const origin_t *o, uint64_t epoch, uint64_t seq)
{
    if (epoch <= o->floor)
        return 1;
    for (size_t i = 0; i < o->n; i++) {
        const ep_t *e = &o->ep[i];
        if (e->epoch != epoch)
            continue;
        if (seq <= e->hi)
            return 1;
        if (seq - e->hi > WR_DEDUP_WINDOW)
            return 0;
        return bit_get(e, seq - e->hi - 1);
    }
    return 0;
}

int wr_dedup_seen(const wr_dedup_t *d, const char *origin, uint64_t epoch, uint64_t seq)
{
    if (!valid_origin(origin) || seq == 0)
        return WR_EINVAL;
    const origin_t *o = find(d, origin, hash(origin));
    return o ? seen_in(o, epoch, seq) : 0;
}

int wr_dedup_mark(wr_dedup_t *d, const char *origin, uint64_t epoch, uint64_t seq)
{
    if (!valid_origin(origin) || seq == 0)
        return WR_EINVAL;
    origin_t *o = get_origin(d, origin);
    if (!o)
        return WR_ENOMEM;
    if (epoch <= o->floor) {
        d->st.stale++;
        return 0;
    }
    ep_t *e = find_ep(o, epoch);
    if (!e) {
        if (o->n < d->cfg.max_epochs) {
            e = &o->ep[o->n++];
        } else {
            size_t low = 0;
            for (size_t i = 1; i < o->n; i++)
                if (o->ep[i].epoch < o->ep[low].epoch)
                    low = i;
            if (epoch < o->ep[low].epoch) {   /* older than every tracked epoch */
                o->floor = epoch;
                set_dirty(d, o);
                d->st.stale++;
                return 0;
            }
            if (o->ep[low].epoch > o->floor)
                o->floor = o->ep[low].epoch;
            d->st.epochs_evicted++;
            e = &o->ep[low];
        }
        memset(e, 0, sizeof *e);
        e->epoch = epoch;
    }
    if (seq <= e->hi || (seq - e->hi <= WR_DEDUP_WINDOW && bit_get(e, seq - e->hi - 1)))
        return 0;
    if (seq - e->hi > WR_DEDUP_WINDOW)
        d->st.window_skipped += slide(e, seq - e->hi - WR_DEDUP_WINDOW);
    uint64_t i = seq - e->hi - 1;
    e->bits[i / 64] |= 1ull << (i % 64);
    advance(e);
    set_dirty(d, o);
    d->st.accepted++;
    return 1;
}

int wr_dedup_check(wr_dedup_t *d, const char *origin, uint64_t epoch, uint64_t seq)
{
    int rc = wr_dedup_seen(d, origin, epoch, seq);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        origin_t *o = find(d, origin, hash(origin));
        if (o && epoch <= o->floor)
            d->st.stale++;
        else
            d->st.duplicates++;
        if (o)
            lru_front(d, o);
        return 0;
    }
    return wr_dedup_mark(d, origin, epoch, seq);
}

int wr_dedup_contiguous(const wr_dedup_t *d, const char *origin, uint64_t epoch, uint64_t *seq)
{
    if (!valid_origin(origin))
        return WR_ENOTFOUND;
    origin_t *o = find(d, origin, hash(origin));
    ep_t *e = o ? find_ep(o, epoch) : NULL;
    if (!e)
        return WR_ENOTFOUND;
    *seq = e->hi;
    return 0;
}

int wr_dedup_forget(wr_dedup_t *d, const char *origin)
{
    if (!valid_origin(origin))
        return WR_ENOTFOUND;
    origin_t *o = find(d, origin, hash(origin));
    if (!o)
        return WR_ENOTFOUND;
    remove_origin(d, o);
    return 0;
}

void wr_dedup_stats(const wr_dedup_t *d, wr_dedup_stats_t *st)
{
    *st = d->st;
}

/* ---- persistence ----------------------------------------------------------------------- */

static int save_one(origin_t *o, wr_txn_t *txn, int db)
{
    uint8_t key[1 + WR_DEDUP_ORIGIN_MAX];
    size_t nl = strlen(o->name);
    key[0] = 'o';
    memcpy(key + 1, o->name, nl);
    uint8_t val[REC_HEAD + WR_DEDUP_MAX_EPOCHS * REC_EPOCH];
    val[0] = REC_VERSION;
    val[1] = (uint8_t)o->n;
    wr_store_be64(val + 2, o->floor);
    uint8_t *p = val + REC_HEAD;
    for (size_t i = 0; i < o->n; i++) {
        wr_store_be64(p, o->ep[i].epoch);
        wr_store_be64(p + 8, o->ep[i].hi);
        for (size_t w = 0; w < WORDS; w++)
            wr_store_be64(p + 16 + 8 * w, o->ep[i].bits[w]);
        p += REC_EPOCH;
    }
    return wr_store_put(txn, db, key, 1 + nl, val, (size_t)(p - val));
}

int wr_dedup_save(wr_dedup_t *d, wr_txn_t *txn, int db, int all)
{
    int rc = 0;
    if (all) {
        static const uint8_t from[1] = {'o'}, to[1] = {'p'};
        rc = wr_store_delete_range(txn, db, from, 1, to, 1, 0, NULL);
        for (origin_t *o = d->lru_head; rc == 0 && o; o = o->lnext)
            rc = save_one(o, txn, db);
        if (rc == 0)
            while (d->dirty)
                clear_dirty(d, d->dirty);
        return rc;
    }
    while (rc == 0 && d->dirty) {
        origin_t *o = d->dirty;
        rc = save_one(o, txn, db);
        if (rc == 0)
            clear_dirty(d, o);
    }
    return rc;
}

typedef struct {
    wr_dedup_t *d;
    int         err;
} load_t;

static int load_fn(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
    load_t *l = ud;
    wr_dedup_t *d = l->d;
    const uint8_t *k = key, *v = val;
    char name[WR_DEDUP_ORIGIN_MAX];
    if (klen < 2 || klen > WR_DEDUP_ORIGIN_MAX || k[0] != 'o' || memchr(k + 1, '\0', klen - 1) ||
        vlen < REC_HEAD || v[0] != REC_VERSION || v[1] > WR_DEDUP_MAX_EPOCHS ||
        vlen != REC_HEAD + (size_t)v[1] * REC_EPOCH) {
        d->st.load_rejected++;
        return 0;
    }
    size_t n = v[1];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (wr_store_get_be64(v + REC_HEAD + i * REC_EPOCH) ==
                wr_store_get_be64(v + REC_HEAD + j * REC_EPOCH)) {
                d->st.load_rejected++;
                return 0;
            }
    memcpy(name, k + 1, klen - 1);
    name[klen - 1] = '\0';
    origin_t *o = get_origin(d, name);
    if (!o) {
        l->err = WR_ENOMEM;
        return WR_ENOMEM;
    }
    o->floor = wr_store_get_be64(v + 2);
    o->n = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = v + REC_HEAD + i * REC_EPOCH;
        ep_t e;
        e.epoch = wr_store_get_be64(p);
        e.hi = wr_store_get_be64(p + 8);
        for (size_t w = 0; w < WORDS; w++)
            e.bits[w] = wr_store_get_be64(p + 16 + 8 * w);
        if (e.epoch <= o->floor)
            continue;
        if (o->n < d->cfg.max_epochs) {
            o->ep[o->n++] = e;
            continue;
        }
        /* more epochs than this instance keeps: keep the highest, raise the floor */
        size_t low = 0;
        for (size_t j = 1; j < o->n; j++)
            if (o->ep[j].epoch < o->ep[low].epoch)
                low = j;
        uint64_t drop = e.epoch < o->ep[low].epoch ? e.epoch : o->ep[low].epoch;
        if (e.epoch > o->ep[low].epoch)
            o->ep[low] = e;
        if (drop > o->floor)
            o->floor = drop;
    }
    return 0;
}

int wr_dedup_load(wr_dedup_t *d, wr_txn_t *txn, int db)
{
    static const uint8_t from[1] = {'o'}, to[1] = {'p'};
    load_t l = {d, 0};
    int rc = wr_store_scan(txn, db, from, 1, to, 1, load_fn, &l);
    return rc == WR_ENOMEM ? WR_ENOMEM : rc != 0 ? WR_ESTORE : 0;
}
