/* leaf_hist: the leaf's downsampled history tiers (DESIGN section 3: "10s:1h 1m:1d 5m:7d"),
 * shared by leaf_samples.c (which owns the store, the row encoding and the flush txn) and
 * leaf_hist.c (the tiers). Not a public API: the daemon's other files see only leaf_samples_*
 * and leaf_hist_config_read.
 *
 * Per watched (node, metric) the leaf keeps in memory the previous raw sample (for counter rates)
 * and, per (node, tier), one open bucket with a (count, sum, min, max) per metric: a sample updates
 * them in place; a bucket that closes (a sample of a later bucket arrives, or its end + grace
 * passes) is encoded as one row holding all the node's metrics and written in the next flush
 * txn. No read-modify-write per sample.
 *   tiers: u8 tier, be32 node sid, be64 bucket start ms -> varint n, then n x (varint metric
 *          code, varint count, num sum, num min, num max); for counters the values are
 *          per-second rates. "num" and metric codes: see leaf_samples.c. */
#ifndef LEAF_HIST_H
#define LEAF_HIST_H
#include <jansson.h>
#include "leaf.h"

#define LEAF_HIST_POINTS_MAX 10000   /* points in one stepped answer */

/* Allocates the tiers' in-memory state (a node's own state comes with its first sample).
 * Returns 0 or WR_ENOMEM. */
int  leaf_hist_open(leaf_t *lf);
/* Re-opens the buckets in progress when the leaf stopped from the raw samples (after
 * leaf_hist_open, on start-up: from the start of the coarsest bucket of each series' newest
 * sample), without queueing points (buckets that closed before were written then). Rebuilt
 * buckets that are over are written by the next flush's sweep. */
int  leaf_hist_rebuild(leaf_t *lf, wr_txn_t *txn);
void leaf_hist_close(leaf_t *lf);
/* Feeds lf->pending into the tiers; closed buckets are queued. */
void leaf_hist_feed_pending(leaf_t *lf);
/* Closes the buckets whose end + grace (2 intervals, at least 1 s) is at or before now_ms. */
void leaf_hist_sweep(leaf_t *lf, int64_t now_ms);
/* Frees the state of every node the leaf no longer watches (owned == 0), queueing its buckets
 * in progress first (they are written by the flush). Returns the nodes freed. */
size_t leaf_hist_release(leaf_t *lf);
/* Nodes with in-memory tier state (for tests and stats). */
size_t leaf_hist_nodes(const leaf_t *lf);
/* Number of queued points. */
size_t leaf_hist_queued(const leaf_t *lf);
/* Writes the queued points into txn. Returns 0 or a WR_E code (the txn must then be aborted). */
int  leaf_hist_write(leaf_t *lf, wr_txn_t *txn);
/* Forgets the queued points: written (ok != 0) or dropped (counted). */
void leaf_hist_done(leaf_t *lf, int ok);
/* Deletes each tier's points older than its keep. */
void leaf_hist_retention(leaf_t *lf, int64_t now_ms);
/* A stepped query: points {t, count, min, max, avg} of buckets of step ms in [since, until],
 * from the coarsest tier with step <= step covering since (else raw samples re-bucketed), at
 * most cap, the newest kept. Sets *points (new JSON array), tier (its name or "raw"),
 * *truncated. Returns 0 or a WR_E code with err set. */
int  leaf_hist_query(leaf_t *lf, const leaf_node_t *n, int metric, int64_t since, int64_t until,
                     int64_t step, size_t cap, json_t **points, char *tier, size_t tierlen,
                     int *truncated, char *err, size_t errlen);

/* "30s", "5m", "1h", "7d", "1w", "500ms", or bare digits (ms) -> ms (> 0, at most ~100 years).
 * Returns 0 or WR_EINVAL. */
int  leaf_hist_parse_duration(const char *s, int64_t *ms);
/* The shortest exact name of ms: "10s", "1m", "1h", "1d", or "1500ms". */
void leaf_hist_duration_name(int64_t ms, char *buf, size_t len);

/* ---- leaf_samples.c: row encoding shared with the tiers ---- */
#define LEAF_NUM_MAX 9                /* bytes of one encoded number at most */
/* Unsigned LEB128. put returns the bytes written (at most 10); get returns 0 or -1 (truncated
 * or over 64 bits) and advances *p. */
size_t leaf_rows_put_varint(uint8_t *p, uint64_t v);
int    leaf_rows_get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);
/* A double: an integral value within +-2^53 as varint(zigzag << 1), anything else as the byte
 * 0x01 and the 8 bytes of its IEEE-754 bits (big-endian). Exact both ways (-0.0 and NaN too). */
size_t leaf_rows_put_num(uint8_t *p, double v);
int    leaf_rows_get_num(const uint8_t **p, const uint8_t *end, double *v);
/* The stable code of metric (never 0 once the store is open), and the metric of a code read
 * from the store (-1: a metric this build's catalogue lacks). */
uint32_t leaf_rows_code(const leaf_t *lf, uint32_t metric);
int      leaf_rows_metric(const leaf_t *lf, uint64_t code);
/* The store id of node (the rows' key prefix), created in txn if needed. */
int  leaf_samples_sid(leaf_t *lf, wr_txn_t *txn, uint32_t node, uint32_t *sid);
/* A raw row's value of code: 1 and *out set, 0 absent, -1 corrupt. */
int  leaf_rows_find(const void *val, size_t vlen, uint32_t code, double *out);
/* Calls fn for every (metric, value) of a raw row in stored order (codes unknown to this build
 * skipped). Returns 0 or -1 (corrupt). */
int  leaf_rows_each(const leaf_t *lf, const void *val, size_t vlen,
                    void (*fn)(void *ud, uint32_t metric, double v), void *ud);

#endif
