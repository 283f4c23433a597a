/* wr_store: a thin, policy-free wrapper over one LMDB environment with named databases.
 *
 * One environment per process (DESIGN section 7), opened with a fixed set of named databases.
 * Keys and values are opaque bytes; keys compare as bytes (memcmp order, shorter first on a
 * tie), so big-endian integers in keys sort numerically. The store decides nothing: what to
 * prune when the map is full is the caller's policy (it gets WR_EFULL and acts).
 * A write transaction is used from one thread at a time (LMDB's rule); read transactions may
 * run alongside. Opened with MDB_NOTLS so read transactions are not tied to threads. */
#ifndef WR_STORE_H
#define WR_STORE_H
#include <stddef.h>
#include <stdint.h>

typedef struct wr_store wr_store_t;
typedef struct wr_txn   wr_txn_t;

#define WR_STORE_MAX_DBS 16

typedef struct {
    uint64_t map_size;      /* bytes configured */
    uint64_t used_bytes;    /* pages in use x page size (last txn's view) */
    uint64_t entries[WR_STORE_MAX_DBS];  /* per database, in the order given at open */
} wr_store_info_t;

/* Opens (creating the directory if needed) the environment at dir with the given map size
 * and the named databases (NULL-terminated, at most WR_STORE_MAX_DBS), creating them.
 * On failure returns NULL and writes a reason naming the path into err. */
wr_store_t *wr_store_open(const char *dir, uint64_t map_size, const char *const *db_names,
                          char *err, size_t errlen);
void wr_store_destroy(wr_store_t **store);

/* Index of the named database (as given at open), or WR_ENOTFOUND. */
int wr_store_db(const wr_store_t *store, const char *name);

/* Begins a transaction: write != 0 for a write transaction. Returns 0 or WR_ESTORE. */
int wr_store_begin(wr_store_t *store, int write, wr_txn_t **txn);
/* Commits and frees *txn, setting it to NULL. Returns 0, WR_EFULL (map full: nothing of the
 * txn was kept) or WR_ESTORE. */
int wr_store_commit(wr_txn_t **txn);
/* Aborts and frees *txn (no-op on NULL). */
void wr_store_abort(wr_txn_t **txn);

/* Puts key -> value (replacing). Returns 0, WR_EFULL (map full: the txn must be aborted),
 * WR_EINVAL (empty key or key over 511 bytes) or WR_ESTORE. */
int wr_store_put(wr_txn_t *txn, int db, const void *key, size_t klen, const void *val, size_t vlen);
/* Looks key up. *val points into the map and is valid until the txn ends.
 * Returns 0 or WR_ENOTFOUND or WR_ESTORE (WR_EINVAL for a key that cannot exist: empty or
 * over 511 bytes, or a bad db index). */
int wr_store_get(wr_txn_t *txn, int db, const void *key, size_t klen, const void **val, size_t *vlen);
/* Deletes key. Returns 0 or WR_ENOTFOUND or WR_ESTORE (WR_EINVAL as for get; WR_EFULL if even
 * the copy-on-write of the delete finds no page: the txn must then be aborted). */
int wr_store_del(wr_txn_t *txn, int db, const void *key, size_t klen);

/* Visits, in key order, every entry with from <= key < to (to == NULL: to the end;
 * from == NULL or from_len == 0: from the start). The callback returns 0 to go on, 1 to stop
 * early, or a negative code that is returned. Pointers are valid only during the callback, which
 * must not write to the same database. Returns 0, the callback's code, WR_EINVAL (a bound over
 * 511 bytes) or WR_ESTORE. */
typedef int (*wr_store_visit_fn)(void *ud, const void *key, size_t klen, const void *val, size_t vlen);
int wr_store_scan(wr_txn_t *txn, int db, const void *from, size_t from_len,
                  const void *to, size_t to_len, wr_store_visit_fn fn, void *ud);

/* Visits, in reverse key order, entries with from <= key < to, like wr_store_scan. */
int wr_store_scan_reverse(wr_txn_t *txn, int db, const void *from, size_t from_len,
                          const void *to, size_t to_len, wr_store_visit_fn fn, void *ud);

/* Deletes every entry with from <= key < to (NULL bounds as in scan), lowest keys first; at most
 * max entries (0 = no limit). *deleted (may be NULL) gets the count. Returns 0 or WR_ESTORE
 * (WR_EINVAL for a bound over 511 bytes; WR_EFULL as for del). */
int wr_store_delete_range(wr_txn_t *txn, int db, const void *from, size_t from_len,
                          const void *to, size_t to_len, uint64_t max, uint64_t *deleted);

/* Fills info (entry counts read in a short read transaction). */
int wr_store_info(wr_store_t *store, wr_store_info_t *info);
/* Drops the map's pages from this process's page tables; they stay in the kernel's page cache.
 * LMDB reads through the map, so every page a lookup or a copy-on-write ever touched stays
 * mapped and counts in the process's RSS, growing towards the file's size; after this the next
 * access faults the page back in from the cache. Data and open transactions are unaffected.
 * Returns the bytes of map released (0 when none) or WR_ESTORE. */
long wr_store_release_pages(wr_store_t *store);

/* The last LMDB error text seen by this store (for logging), or "". */
const char *wr_store_last_error(const wr_store_t *store);

/* Key helpers: big-endian encode/decode of 32- and 64-bit integers into keys. */
void     wr_store_be32(uint8_t out[4], uint32_t v);
void     wr_store_be64(uint8_t out[8], uint64_t v);
uint32_t wr_store_get_be32(const uint8_t in[4]);
uint64_t wr_store_get_be64(const uint8_t in[8]);

#endif
