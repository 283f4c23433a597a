/* wr_store: a thin wrapper over one LMDB environment with named databases (see wr_store.h).
 * It maps LMDB's results onto WR_E... codes, checks key sizes, and walks key ranges with
 * cursors. It decides nothing: no pruning, no retention, no retries beyond LMDB's own
 * "map resized by another process" case. Prints nothing; the last LMDB error text is kept
 * for the caller's log. */
#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "wr_error.h"
#include "wr_store.h"

struct wr_store {
    MDB_env        *env;
    MDB_dbi         dbi[WR_STORE_MAX_DBS];
    char           *names[WR_STORE_MAX_DBS];
    int             ndbs;
    size_t          maxkey;
    uintptr_t       map_lo, map_hi;    /* LMDB's map of data.mdb in our address space (0: unknown) */
    pthread_mutex_t err_lock;       /* read txns of several threads may fail at once */
    char            last_error[256];
};

static void find_map(wr_store_t *st, const char *dir);

struct wr_txn {
    MDB_txn    *txn;
    wr_store_t *store;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Remembers the LMDB error of op and maps it onto a WR_E... code. */
static int store_fail(wr_store_t *st, const char *op, int rc)
{
    pthread_mutex_lock(&st->err_lock);
    snprintf(st->last_error, sizeof st->last_error, "%s: %s", op, mdb_strerror(rc));
    pthread_mutex_unlock(&st->err_lock);
    switch (rc) {
    case MDB_MAP_FULL:     return WR_EFULL;
    case MDB_NOTFOUND:     return WR_ENOTFOUND;
    case MDB_BAD_VALSIZE:  return WR_EINVAL;
    case ENOMEM:           return WR_ENOMEM;
    default:               return WR_ESTORE;
    }
}

/* mkdir -p with mode 0750 for every directory it creates. */
static int mkdir_p(const char *dir)
{
    char buf[4096];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0750) != 0 && errno != EEXIST)
            return -1;
        buf[i] = saved;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return -1;
    if (!S_ISDIR(sb.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

wr_store_t *wr_store_open(const char *dir, uint64_t map_size, const char *const *db_names,
                          char *err, size_t errlen)
{
    int n = 0;
    while (db_names && db_names[n])
        n++;
    if (n == 0 || n > WR_STORE_MAX_DBS) {
        set_err(err, errlen, "%s: between 1 and %d databases are needed, got %d", dir,
                WR_STORE_MAX_DBS, n);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(db_names[i], db_names[j]) == 0) {
                set_err(err, errlen, "%s: database '%s' named twice", dir, db_names[i]);
                return NULL;
            }
    if (mkdir_p(dir) != 0) {
        set_err(err, errlen, "%s: cannot create directory: %s", dir, strerror(errno));
        return NULL;
    }
    wr_store_t *st = calloc(1, sizeof *st);
    if (!st) {
        set_err(err, errlen, "%s: out of memory", dir);
        return NULL;
    }
    pthread_mutex_init(&st->err_lock, NULL);
    const char *op = "mdb_env_create";
    int rc = mdb_env_create(&st->env);
    if (rc == 0) {
        op = "mdb_env_set_maxdbs";
        rc = mdb_env_set_maxdbs(st->env, (MDB_dbi)n);
    }
    if (rc == 0) {
        op = "mdb_env_set_mapsize";
        rc = mdb_env_set_mapsize(st->env, (size_t)map_size);
    }
    if (rc == 0) {
        op = "mdb_env_open";
        /* not MDB_WRITEMAP: its commit msyncs the whole map; measured 15% more leaf CPU at
         * 1,600 nodes (docs/BENCHMARKS.md section 7) */
        /* MDB_NORDAHEAD: the databases are read at random (a node's rows, one bucket);
         * readahead only filled the page cache and the process's RSS with neighbours */
        rc = mdb_env_open(st->env, dir, MDB_NOTLS | MDB_NORDAHEAD, 0640);
    }
    if (rc == 0) {
        int dead = 0;
        mdb_reader_check(st->env, &dead);   /* slots left by a crashed process */
        st->maxkey = (size_t)mdb_env_get_maxkeysize(st->env);
        find_map(st, dir);
    }
    MDB_txn *txn = NULL;
    if (rc == 0) {
        op = "mdb_txn_begin";
        rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    }
    for (int i = 0; rc == 0 && i < n; i++) {
        op = "mdb_dbi_open";
        rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE, &st->dbi[i]);
        if (rc == 0 && !(st->names[i] = strdup(db_names[i])))
            rc = ENOMEM;
        if (rc == 0)
            st->ndbs = i + 1;
    }
    if (txn) {
        if (rc == 0) {
            op = "mdb_txn_commit";
            rc = mdb_txn_commit(txn);
        } else {
            mdb_txn_abort(txn);
        }
    }
    if (rc != 0) {
        set_err(err, errlen, "%s: %s: %s", dir, op, mdb_strerror(rc));
        wr_store_destroy(&st);
        return NULL;
    }
    return st;
}

void wr_store_destroy(wr_store_t **store)
{
    if (!store || !*store)
        return;
    wr_store_t *st = *store;
    if (st->env)
        mdb_env_close(st->env);
    for (int i = 0; i < WR_STORE_MAX_DBS; i++)
        free(st->names[i]);
    pthread_mutex_destroy(&st->err_lock);
    free(st);
    *store = NULL;
}

int wr_store_db(const wr_store_t *store, const char *name)
{
    for (int i = 0; i < store->ndbs; i++)
        if (strcmp(store->names[i], name) == 0)
            return i;
    return WR_ENOTFOUND;
}

const char *wr_store_last_error(const wr_store_t *store)
{
    return store->last_error;
}

/* ---- transactions ---------------------------------------------------------------------- */

int wr_store_begin(wr_store_t *store, int write, wr_txn_t **txn)
{
    *txn = NULL;
    wr_txn_t *t = malloc(sizeof *t);
    if (!t)
        return WR_ENOMEM;
    t->store = store;
    int rc = mdb_txn_begin(store->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
    if (rc == MDB_MAP_RESIZED) {
        /* another process grew the map: adopt its size and try once more */
        mdb_env_set_mapsize(store->env, 0);
        rc = mdb_txn_begin(store->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
    }
    if (rc != 0) {
        free(t);
        store_fail(store, "mdb_txn_begin", rc);
        return WR_ESTORE;
    }
    *txn = t;
    return 0;
}

int wr_store_commit(wr_txn_t **txn)
{
    if (!txn || !*txn)
        return WR_EINVAL;
    wr_txn_t *t = *txn;
    *txn = NULL;
    int rc = mdb_txn_commit(t->txn);   /* frees the MDB_txn even on failure */
    wr_store_t *st = t->store;
    free(t);
    if (rc == 0)
        return 0;
    rc = store_fail(st, "mdb_txn_commit", rc);
    return rc == WR_EFULL ? WR_EFULL : WR_ESTORE;
}

void wr_store_abort(wr_txn_t **txn)
{
    if (!txn || !*txn)
        return;
    mdb_txn_abort((*txn)->txn);
    free(*txn);
    *txn = NULL;
}

/* LMDB does not tell where it mapped data.mdb (mdb_env_info gives an address only with
 * MDB_FIXEDMAP): the mapping of that file in /proc/self/maps, found once after the open (the
 * map does not move: the map size is fixed at open). Left 0 when not found. */
static void find_map(wr_store_t *st, const char *dir)
{
    char want[4096], line[4096 + 256];
    if (snprintf(want, sizeof want, "%s/data.mdb", dir) >= (int)sizeof want)
        return;
    char real[PATH_MAX];
    const char *path = realpath(want, real) ? real : want;
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        int off = 0;
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &off) < 2 || off <= 0)
            continue;
        char *name = line + off;
        name[strcspn(name, "\n")] = '\0';
        if (strcmp(name, path) == 0 && hi - lo > st->map_hi - st->map_lo) {
            st->map_lo = lo;
            st->map_hi = hi;
        }
    }
    fclose(f);
}

/* ---- single keys ----------------------------------------------------------------------- */

static int check_db(const wr_txn_t *txn, int db)
{
    return txn && db >= 0 && db < txn->store->ndbs ? 0 : WR_EINVAL;
}

static int check_key(const wr_txn_t *txn, const void *key, size_t klen)
{
    return key && klen > 0 && klen <= txn->store->maxkey ? 0 : WR_EINVAL;
}

int wr_store_put(wr_txn_t *txn, int db, const void *key, size_t klen, const void *val, size_t vlen)
{
    if (check_db(txn, db) || check_key(txn, key, klen) || (!val && vlen))
        return WR_EINVAL;
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int rc = mdb_put(txn->txn, txn->store->dbi[db], &k, &v, 0);
    if (rc == 0)
        return 0;
    rc = store_fail(txn->store, "mdb_put", rc);
    return rc == WR_EFULL || rc == WR_EINVAL ? rc : WR_ESTORE;
}

int wr_store_get(wr_txn_t *txn, int db, const void *key, size_t klen, const void **val, size_t *vlen)
{
    if (check_db(txn, db) || check_key(txn, key, klen))
        return WR_EINVAL;
    MDB_val k = {klen, (void *)key}, v;
    int rc = mdb_get(txn->txn, txn->store->dbi[db], &k, &v);
    if (rc == MDB_NOTFOUND)
        return WR_ENOTFOUND;
    if (rc != 0) {
        store_fail(txn->store, "mdb_get", rc);
        return WR_ESTORE;
    }
    *val = v.mv_data;
    *vlen = v.mv_size;
    return 0;
}

int wr_store_del(wr_txn_t *txn, int db, const void *key, size_t klen)
{
    if (check_db(txn, db) || check_key(txn, key, klen))
        return WR_EINVAL;
    MDB_val k = {klen, (void *)key};
    int rc = mdb_del(txn->txn, txn->store->dbi[db], &k, NULL);
    if (rc == MDB_NOTFOUND)
        return WR_ENOTFOUND;
    if (rc != 0) {
        rc = store_fail(txn->store, "mdb_del", rc);
        return rc == WR_EFULL ? rc : WR_ESTORE;
    }
    return 0;
}

/* ---- ranges ---------------------------------------------------------------------------- */

/* LMDB's default order: memcmp, the shorter key first on a common prefix. */
static int key_cmp(const MDB_val *a, const void *b, size_t blen)
{
    size_t n = a->mv_size < blen ? a->mv_size : blen;
    int c = n ? memcmp(a->mv_data, b, n) : 0;
    if (c != 0)
        return c;
    return a->mv_size < blen ? -1 : a->mv_size > blen ? 1 : 0;
}

/* Checks scan bounds: an empty from means "from the start"; a bound LMDB must seek to
 * (from; to when scanning backwards) must be a valid key size. */
static int check_bounds(const wr_txn_t *txn, const void **from, size_t from_len,
                        const void *to, size_t to_len)
{
    if (*from && from_len == 0)
        *from = NULL;
    if (*from && from_len > txn->store->maxkey)
        return WR_EINVAL;
    if (to && to_len > txn->store->maxkey)
        return WR_EINVAL;
    return 0;
}

static int cursor_open(wr_txn_t *txn, int db, MDB_cursor **cur)
{
    int rc = mdb_cursor_open(txn->txn, txn->store->dbi[db], cur);
    if (rc != 0) {
        store_fail(txn->store, "mdb_cursor_open", rc);
        return WR_ESTORE;
    }
    return 0;
}

/* Checks db and the bounds of a range (an empty from becomes NULL) and opens a cursor on db.
 * Returns 0, WR_EINVAL or WR_ESTORE. */
static int range_open(wr_txn_t *txn, int db, const void **from, size_t from_len, const void *to, size_t to_len,
                      MDB_cursor **cur)
{
    if (check_db(txn, db) || check_bounds(txn, from, from_len, to, to_len))
        return WR_EINVAL;
    return cursor_open(txn, db, cur);
}

/* Positions cur on the first key >= from (or the first key). */
static int seek_first(MDB_cursor *cur, const void *from, size_t from_len, MDB_val *k, MDB_val *v)
{
    if (!from)
        return mdb_cursor_get(cur, k, v, MDB_FIRST);
    k->mv_size = from_len;
    k->mv_data = (void *)from;
    return mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
}

/* Hands fn the records from cur's position (rc: how getting there went) stepping by step,
 * MDB_NEXT up to and without the key `stop`, or MDB_PREV down to and with it (stop NULL: to
 * the end); closes cur. Returns 0, fn's negative return, or WR_ENOMEM / WR_ESTORE. */
static int visit(wr_txn_t *txn, MDB_cursor *cur, int rc, MDB_val *k, MDB_val *v, MDB_cursor_op step,
                 const void *stop, size_t stop_len, wr_store_visit_fn fn, void *ud)
{
    int ret = 0;
    while (rc == 0) {
        if (stop) {
            int c = key_cmp(k, stop, stop_len);
            if (step == MDB_NEXT ? c >= 0 : c < 0)
                break;
        }
        int r = fn(ud, k->mv_data, k->mv_size, v->mv_data, v->mv_size);
        if (r != 0) {
            ret = r < 0 ? r : 0;
            break;
        }
        rc = mdb_cursor_get(cur, k, v, step);
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        ret = store_fail(txn->store, "mdb_cursor_get", rc) == WR_ENOMEM ? WR_ENOMEM : WR_ESTORE;
    mdb_cursor_close(cur);
    return ret;
}

int wr_store_scan(wr_txn_t *txn, int db, const void *from, size_t from_len,
                  const void *to, size_t to_len, wr_store_visit_fn fn, void *ud)
{
    MDB_cursor *cur;
    int ret = range_open(txn, db, &from, from_len, to, to_len, &cur);
    if (ret != 0)
        return ret;
    MDB_val k, v;
    int rc = seek_first(cur, from, from_len, &k, &v);
    return visit(txn, cur, rc, &k, &v, MDB_NEXT, to, to_len, fn, ud);
}

int wr_store_scan_reverse(wr_txn_t *txn, int db, const void *from, size_t from_len,
                          const void *to, size_t to_len, wr_store_visit_fn fn, void *ud)
{
    MDB_cursor *cur;
    int ret = range_open(txn, db, &from, from_len, to, to_len, &cur);
    if (ret != 0)
        return ret;
    if (to && to_len == 0) {
        mdb_cursor_close(cur);
        return 0;   /* no key is below the empty key */
    }
    MDB_val k, v;
    int rc;
    if (to) {
        /* the last key < to: step back from the first key >= to, or start at the end */
        k.mv_size = to_len;
        k.mv_data = (void *)to;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc == 0)
            rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
        else if (rc == MDB_NOTFOUND)
            rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    } else {
        rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    }
    return visit(txn, cur, rc, &k, &v, MDB_PREV, from, from_len, fn, ud);
}

int wr_store_delete_range(wr_txn_t *txn, int db, const void *from, size_t from_len,
                          const void *to, size_t to_len, uint64_t max, uint64_t *deleted)
{
    if (deleted)
        *deleted = 0;
    MDB_cursor *cur;
    int ret = range_open(txn, db, &from, from_len, to, to_len, &cur);
    if (ret != 0)
        return ret;
    uint64_t count = 0;
    MDB_val k, v;
    int rc = seek_first(cur, from, from_len, &k, &v);
    while (rc == 0) {
        if (to && key_cmp(&k, to, to_len) >= 0)
            break;
        if (max && count >= max)
            break;
        rc = mdb_cursor_del(cur, 0);
        if (rc != 0)
            break;
        count++;
        /* after a delete the cursor already stands on the next entry: MDB_NEXT yields it */
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        ret = store_fail(txn->store, "mdb_cursor_del", rc);
        if (ret != WR_EFULL && ret != WR_ENOMEM)
            ret = WR_ESTORE;
    }
    mdb_cursor_close(cur);
    if (deleted)
        *deleted = count;
    return ret;
}

/* ---- information ----------------------------------------------------------------------- */

int wr_store_info(wr_store_t *store, wr_store_info_t *info)
{
    memset(info, 0, sizeof *info);
    MDB_envinfo ei;
    MDB_stat es;
    int rc = mdb_env_info(store->env, &ei);
    if (rc == 0)
        rc = mdb_env_stat(store->env, &es);
    if (rc != 0) {
        store_fail(store, "mdb_env_info", rc);
        return WR_ESTORE;
    }
    info->map_size = ei.me_mapsize;
    info->used_bytes = ((uint64_t)ei.me_last_pgno + 1) * es.ms_psize;
    wr_txn_t *txn;
    if (wr_store_begin(store, 0, &txn) != 0)
        return WR_ESTORE;
    for (int i = 0; i < store->ndbs; i++) {
        MDB_stat s;
        rc = mdb_stat(txn->txn, store->dbi[i], &s);
        if (rc != 0) {
            store_fail(store, "mdb_stat", rc);
            wr_store_abort(&txn);
            return WR_ESTORE;
        }
        info->entries[i] = s.ms_entries;
    }
    wr_store_abort(&txn);
    return 0;
}

/* ---- key helpers ----------------------------------------------------------------------- */

void wr_store_be32(uint8_t out[4], uint32_t v)
{
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

void wr_store_be64(uint8_t out[8], uint64_t v)
{
    wr_store_be32(out, (uint32_t)(v >> 32));
    wr_store_be32(out + 4, (uint32_t)v);
}

long wr_store_release_pages(wr_store_t *store)
{
    if (!store || !store->env || !store->map_lo)
        return WR_ESTORE;
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(store->env, &info) != 0 || mdb_env_stat(store->env, &st) != 0)
        return WR_ESTORE;
    size_t used = ((size_t)info.me_last_pgno + 1) * st.ms_psize;
    long page = sysconf(_SC_PAGESIZE);
    used = (used + (size_t)page - 1) / (size_t)page * (size_t)page;
    if (used > store->map_hi - store->map_lo)
        used = store->map_hi - store->map_lo;
    if (used == 0)
        return 0;
    return madvise((void *)store->map_lo, used, MADV_DONTNEED) == 0 ? (long)used : WR_ESTORE;
}

uint32_t wr_store_get_be32(const uint8_t in[4])
{
    return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | (uint32_t)in[3];
}

uint64_t wr_store_get_be64(const uint8_t in[8])
{
    return (uint64_t)wr_store_get_be32(in) << 32 | wr_store_get_be32(in + 4);
}
