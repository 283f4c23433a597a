/* wr_topk: the K largest (node, value) pairs of a set of samples, exact under merge.
 *
 * Order: value descending, then node name ascending (strcmp), so ties are deterministic and
 * the top-K of a set is unique. Merge keeps the top min(K_dst, K_src) of the union of both
 * lists; since every item of the union's top-K is in the top-K of its own part, the merge of
 * the parts' top-Ks is exactly the top-K of the union, in any grouping and order.
 * Items are samples, not nodes: a node reported twice (two leaves during a hand-over) can
 * appear twice; de-duplicating would break exactness.
 *
 * Opaque; one allocation of K items at _new, none after. Not thread-safe. */
#ifndef WR_TOPK_H
#define WR_TOPK_H
#include <stddef.h>
#include <stdint.h>

#define WR_TOPK_DEFAULT   10
#define WR_TOPK_MAX       100
#define WR_TOPK_NODE_MAX  256      /* node name incl. NUL (= WR_NODE_NAME_MAX) */

typedef struct {
    char   node[WR_TOPK_NODE_MAX];
    double value;
} wr_topk_item_t;

typedef struct wr_topk wr_topk_t;

/* A new empty top-K with room for (capacity) and K = k items (1..WR_TOPK_MAX), or NULL (bad
 * k, no memory). */
wr_topk_t *wr_topk_new(uint32_t k);
/* Frees *t and sets *t = NULL; NULL-safe. */
void wr_topk_destroy(wr_topk_t **t);
/* Empties t and restores its K to the capacity given to _new. */
void wr_topk_reset(wr_topk_t *t);

/* Offers one sample. Returns 0 (kept or not), or WR_EINVAL (value NaN or infinite, node name
 * empty or WR_TOPK_NODE_MAX bytes or longer). */
int wr_topk_add(wr_topk_t *t, const char *node, double value);
/* The same with the node name's length given (len bytes at node, no NUL needed; 1 to
 * WR_TOPK_NODE_MAX - 1): for callers that know it, per sample. */
int wr_topk_add_n(wr_topk_t *t, const char *node, size_t len, double value);
/* dst = top min(K_dst, K_src) of the union of dst and src (exact, see above, when dst's
 * capacity is at least that K; otherwise the top capacity items). */
void wr_topk_merge(wr_topk_t *dst, const wr_topk_t *src);
/* dst = src, K included (items beyond dst's capacity are dropped). */
void wr_topk_copy(wr_topk_t *dst, const wr_topk_t *src);

/* Current K (the k given to _new, lowered by merges with smaller K, or set). */
uint32_t wr_topk_k(const wr_topk_t *t);
/* Items allocated. */
uint32_t wr_topk_capacity(const wr_topk_t *t);
/* Sets K to k (clamped to 1..WR_TOPK_MAX), dropping items beyond it. K may exceed the
 * capacity: a decoded list is allocated for the items it carries but keeps its sender's K
 * (which decides the K of merges); adding to such a list keeps at most capacity items. */
void wr_topk_set_k(wr_topk_t *t, uint32_t k);
/* Number of items held (<= K), and item i (0 = largest). */
size_t                wr_topk_size(const wr_topk_t *t);
const wr_topk_item_t *wr_topk_item(const wr_topk_t *t, size_t i);
/* 1 if a and b hold the same K and the same items in the same order, else 0. */
int wr_topk_equal(const wr_topk_t *a, const wr_topk_t *b);

#endif
