/* wr_topk: at most K (node, value) items (see wr_topk.h), kept in place and sorted through an
 * order array of item indexes: an insertion shifts bytes of ord, never the 264-byte items.
 * Insertion is a linear scan from the bottom: K <= 100, and most samples of a large set fail
 * the first comparison with the current K-th item. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "wr_error.h"
#include "wr_topk.h"

struct wr_topk {
    uint32_t       cap;     /* items allocated */
    uint32_t       k;       /* current K (may exceed cap for decoded lists) */
    uint32_t       n;       /* items held <= min(k, cap) */
    uint8_t        ord[WR_TOPK_MAX];  /* a permutation of 0..cap-1: items[ord[0..n-1]] held,
                                       * best first; ord[n..cap-1] free */
    wr_topk_item_t items[];
};

#define IT(t, i) (&(t)->items[(t)->ord[i]])

static void ord_identity(wr_topk_t *t)
{
    for (uint32_t i = 0; i < t->cap; i++)
        t->ord[i] = (uint8_t)i;
}

/* <0 if (va, na) ranks before (vb, nb). */
static int rank_cmp(double va, const char *na, double vb, const char *nb)
{
    if (va > vb)
        return -1;
    if (va < vb)
        return 1;
    return strcmp(na, nb);
}

wr_topk_t *wr_topk_new(uint32_t k)
{
    if (k < 1 || k > WR_TOPK_MAX)
        return NULL;
    wr_topk_t *t = malloc(sizeof *t + k * sizeof t->items[0]);
    if (!t)
        return NULL;
    t->cap = t->k = k;
    t->n = 0;
    ord_identity(t);
    return t;
}

void wr_topk_destroy(wr_topk_t **t)
{
    if (!t || !*t)
        return;
    free(*t);
    *t = NULL;
}

void wr_topk_reset(wr_topk_t *t)
{
    t->k = t->cap;
    t->n = 0;
}

static uint32_t limit(const wr_topk_t *t)
{
    return t->k < t->cap ? t->k : t->cap;
}

/* Inserts (node of length len, value) if it ranks within the limit. */
static void insert(wr_topk_t *t, const char *node, size_t len, double value)
{
    uint32_t lim = limit(t);
    if (t->n == lim && rank_cmp(value, node, IT(t, t->n - 1)->value, IT(t, t->n - 1)->node) >= 0)
        return;
    uint32_t pos = t->n < lim ? t->n : lim - 1;       /* the slot freed at the bottom */
    uint8_t slot = t->ord[pos];
    while (pos > 0 && rank_cmp(value, node, IT(t, pos - 1)->value, IT(t, pos - 1)->node) < 0) {
        t->ord[pos] = t->ord[pos - 1];
        pos--;
    }
    t->ord[pos] = slot;
    memcpy(t->items[slot].node, node, len);
    t->items[slot].node[len] = '\0';
    t->items[slot].value = value;
    if (t->n < lim)
        t->n++;
}

int wr_topk_add(wr_topk_t *t, const char *node, double value)
{
    if (!isfinite(value) || !node)
        return WR_EINVAL;
    size_t len = strnlen(node, WR_TOPK_NODE_MAX);
    if (len == 0 || len == WR_TOPK_NODE_MAX)
        return WR_EINVAL;
    insert(t, node, len, value);
    return WR_OK;
}

int wr_topk_add_n(wr_topk_t *t, const char *node, size_t len, double value)
{
    if (!isfinite(value) || !node || len == 0 || len >= WR_TOPK_NODE_MAX)
        return WR_EINVAL;
    /* most samples of a large set rank below a full list's last item: one comparison */
    uint32_t lim = limit(t);
    if (t->n == lim && value < IT(t, t->n - 1)->value)
        return WR_OK;
    insert(t, node, len, value);
    return WR_OK;
}

void wr_topk_set_k(wr_topk_t *t, uint32_t k)
{
    if (k < 1)
        k = 1;
    if (k > WR_TOPK_MAX)
        k = WR_TOPK_MAX;
    t->k = k;
    if (t->n > k)
        t->n = k;
}

uint32_t wr_topk_capacity(const wr_topk_t *t)
{
    return t->cap;
}

void wr_topk_merge(wr_topk_t *dst, const wr_topk_t *src)
{
    if (src->k < dst->k)
        wr_topk_set_k(dst, src->k);
    uint32_t lim = limit(dst);
    for (uint32_t i = 0; i < src->n && i < lim; i++) {
        const wr_topk_item_t *it = IT(src, i);
        if (dst->n == lim &&
            rank_cmp(it->value, it->node, IT(dst, dst->n - 1)->value, IT(dst, dst->n - 1)->node) >= 0)
            break;                                  /* src is sorted: nothing later fits */
        insert(dst, it->node, strnlen(it->node, WR_TOPK_NODE_MAX - 1), it->value);
    }
}

void wr_topk_copy(wr_topk_t *dst, const wr_topk_t *src)
{
    if (dst == src)
        return;
    wr_topk_reset(dst);
    wr_topk_set_k(dst, src->k);
    uint32_t lim = limit(dst);
    uint32_t n = src->n < lim ? src->n : lim;
    ord_identity(dst);
    for (uint32_t i = 0; i < n; i++)
        dst->items[i] = *IT(src, i);
    dst->n = n;
}

uint32_t wr_topk_k(const wr_topk_t *t)
{
    return t->k;
}

size_t wr_topk_size(const wr_topk_t *t)
{
    return t->n;
}

const wr_topk_item_t *wr_topk_item(const wr_topk_t *t, size_t i)
{
    return i < t->n ? IT(t, i) : NULL;
}

int wr_topk_equal(const wr_topk_t *a, const wr_topk_t *b)
{
    if (a->k != b->k || a->n != b->n)
        return 0;
    for (uint32_t i = 0; i < a->n; i++)
        if (IT(a, i)->value != IT(b, i)->value || strcmp(IT(a, i)->node, IT(b, i)->node) != 0)
            return 0;
    return 1;
}
