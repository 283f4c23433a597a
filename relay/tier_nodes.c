/* tier_nodes: the tier's node table (name -> state, owner, leaf), its children table and the
 * interned leaf ids. Open addressing with linear probing and backward-shift deletion, so a
 * lookup or update is O(1) and a table of 1,000,000 nodes needs no rehash storms; every node
 * is also on its owner's list, so replacing one child's nodes costs O(that child's nodes).
 * Knows nothing of links or frames. */
#include <stdlib.h>
#include <string.h>
#include "tier_int.h"
#include "wr_rollup.h"
#include "wr_error.h"
#include "wr_time.h"

/* ---- tmap ------------------------------------------------------------------------------ */

uint32_t tmap_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;                  /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

void tmap_init(tmap_t *m, size_t key_off)
{
    memset(m, 0, sizeof *m);
    m->key_off = key_off;
}

void tmap_free(tmap_t *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}

static const char *tmap_key(const tmap_t *m, const void *item)
{
    return (const char *)item + m->key_off;
}

void *tmap_get(const tmap_t *m, const char *key, size_t len, uint32_t hash)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        const tmap_slot_t *s = &m->slots[i];
        if (!s->item)
            return NULL;
        if (s->hash == hash) {
            const char *k = tmap_key(m, s->item);
            if (memcmp(k, key, len) == 0 && k[len] == '\0')
                return s->item;
        }
    }
}

static void tmap_insert_slot(tmap_slot_t *slots, size_t cap, void *item, uint32_t hash)
{
    size_t mask = cap - 1, i = hash & mask;
    while (slots[i].item)
        i = (i + 1) & mask;
    slots[i].item = item;
    slots[i].hash = hash;
}

int tmap_put(tmap_t *m, void *item, uint32_t hash)
{
    if ((m->count + 1) * 10 > m->cap * 7) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        tmap_slot_t *ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return WR_ENOMEM;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].item)
                tmap_insert_slot(ns, ncap, m->slots[i].item, m->slots[i].hash);
        free(m->slots);
        m->slots = ns;
        m->cap = ncap;
    }
    tmap_insert_slot(m->slots, m->cap, item, hash);
    m->count++;
    return WR_OK;
}

void tmap_del(tmap_t *m, const void *item, uint32_t hash)
{
    if (!m->cap)
        return;
    size_t mask = m->cap - 1, i = hash & mask;
    while (m->slots[i].item != item) {
        if (!m->slots[i].item)
            return;                            /* not present */
        i = (i + 1) & mask;
    }
    m->slots[i].item = NULL;
    m->count--;
    for (size_t j = i;;) {
        j = (j + 1) & mask;
        if (!m->slots[j].item)
            break;
        size_t k = m->slots[j].hash & mask;
        int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        m->slots[i] = m->slots[j];
        m->slots[j].item = NULL;
        i = j;
    }
}

/* ---- leaf ids ---------------------------------------------------------------------------- */

static tleaf_t *leaf_ref(tier_t *t, const char *id)
{
    size_t len = strnlen(id, WR_ID_MAX - 1);
    uint32_t h = tmap_hash(id, len);
    tleaf_t *l = tmap_get(&t->leaves, id, len, h);
    if (!l) {
        l = calloc(1, sizeof *l);
        if (!l)
            return NULL;
        memcpy(l->id, id, len);
        l->hash = h;
        if (tmap_put(&t->leaves, l, h) != 0) {
            free(l);
            return NULL;
        }
    }
    l->refs++;
    return l;
}

static void leaf_unref(tier_t *t, tleaf_t *l)
{
    if (l && --l->refs == 0) {
        tmap_del(&t->leaves, l, l->hash);
        free(l);
    }
}

/* ---- children ---------------------------------------------------------------------------- */

tchild_t *tier_child_get(tier_t *t, const char *id, int create)
{
    size_t len = strnlen(id, WR_ID_MAX - 1);
    uint32_t h = tmap_hash(id, len);
    tchild_t *c = tmap_get(&t->children, id, len, h);
    if (c || !create)
        return c;
    c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    memcpy(c->id, id, len);
    strcpy(c->kind, "?");
    c->hash = h;
    c->down_ms = wr_wall_ms();
    if (tmap_put(&t->children, c, h) != 0) {
        free(c);
        return NULL;
    }
    if (t->child_tail)
        t->child_tail->next = c;
    else
        t->child_list = c;
    t->child_tail = c;
    return c;
}

/* ---- nodes -------------------------------------------------------------------------------- */

int tier_nodes_init(tier_t *t)
{
    tmap_init(&t->nodes, offsetof(tnode_t, name));
    tmap_init(&t->leaves, offsetof(tleaf_t, id));
    tmap_init(&t->children, offsetof(tchild_t, id));
    return WR_OK;
}

void tier_nodes_fini(tier_t *t)
{
    for (size_t i = 0; i < t->nodes.cap; i++)
        free(t->nodes.slots[i].item);
    for (size_t i = 0; i < t->leaves.cap; i++)
        free(t->leaves.slots[i].item);
    tchild_t *c = t->child_list;
    while (c) {
        tchild_t *next = c->next;
        wr_rollup_entries_free(c->rollups, c->n_rollups);
        free(c->tiers);
        free(c);
        c = next;
    }
    t->child_list = t->child_tail = NULL;
    t->dirty_head = NULL;
    tmap_free(&t->nodes);
    tmap_free(&t->leaves);
    tmap_free(&t->children);
}

tnode_t *tier_node_find(const tier_t *t, const char *name, size_t len)
{
    return tmap_get(&t->nodes, name, len, tmap_hash(name, len));
}

int tier_node_state(const tnode_t *n)
{
    return n->owner && n->owner->live && n->owner->synced ? n->state : WR_NODE_UNKNOWN;
}

void tier_node_view(const tnode_t *n, tier_node_view_t *out)
{
    out->name = n->name;
    out->state = tier_node_state(n);
    out->since_ms = n->since_ms;
    if (out->state == WR_NODE_UNKNOWN && n->owner && n->owner->down_ms > n->since_ms)
        out->since_ms = n->owner->down_ms;
    out->leaf = n->leaf ? n->leaf->id : "";
    out->child = n->owner ? n->owner->id : "";
}

void tier_node_mark_dirty(tier_t *t, tnode_t *n)
{
    if (n->dirty)
        return;
    n->dirty = 1;
    n->dprev = NULL;
    n->dnext = t->dirty_head;
    if (t->dirty_head)
        t->dirty_head->dprev = n;
    t->dirty_head = n;
}

void tier_node_clear_dirty(tier_t *t, tnode_t *n)
{
    if (!n->dirty)
        return;
    if (n->dprev)
        n->dprev->dnext = n->dnext;
    else
        t->dirty_head = n->dnext;
    if (n->dnext)
        n->dnext->dprev = n->dprev;
    n->dirty = 0;
    n->dprev = n->dnext = NULL;
}

static void child_unlink(tchild_t *c, tnode_t *n)
{
    if (n->cprev)
        n->cprev->cnext = n->cnext;
    else
        c->nodes = n->cnext;
    if (n->cnext)
        n->cnext->cprev = n->cprev;
    n->cprev = n->cnext = NULL;
    c->n_nodes--;
    if (n->state == WR_NODE_UP)
        c->n_up--;
}

static void child_link(tchild_t *c, tnode_t *n)
{
    n->cprev = NULL;
    n->cnext = c->nodes;
    if (c->nodes)
        c->nodes->cprev = n;
    c->nodes = n;
    c->n_nodes++;
    if (n->state == WR_NODE_UP)
        c->n_up++;
}

int tier_node_apply(tier_t *t, tchild_t *c, const wr_node_entry_t *e, uint64_t gen)
{
    size_t len = strnlen(e->name, WR_NODE_NAME_MAX - 1);
    uint32_t h = tmap_hash(e->name, len);
    tnode_t *n = tmap_get(&t->nodes, e->name, len, h);
    int old_eff = -1, changed = 0;
    if (!n) {
        n = calloc(1, sizeof *n + len + 1);
        if (!n)
            return WR_ENOMEM;
        memcpy(n->name, e->name, len);
        n->hash = h;
        n->state = e->state;
        n->since_ms = e->since_ms;
        n->leaf = leaf_ref(t, e->leaf);
        if (!n->leaf || tmap_put(&t->nodes, n, h) != 0) {
            leaf_unref(t, n->leaf);
            free(n);
            return WR_ENOMEM;
        }
        n->owner = c;
        child_link(c, n);
        changed = 1;
    } else {
        /* Handover (issue 5): an UNKNOWN report (a relay whose children died) never takes a
         * node from a live owner that knows its state. */
        if (n->owner && n->owner != c && e->state == WR_NODE_UNKNOWN && n->owner->live && n->owner->synced &&
            n->state != WR_NODE_UNKNOWN)
            return WR_OK;
        old_eff = tier_node_state(n);
        if (n->owner != c) {
            child_unlink(n->owner, n);
            n->owner = c;
            child_link(c, n);
            changed = 1;
        }
        if (n->state != e->state) {
            if (n->state == WR_NODE_UP)
                c->n_up--;
            if (e->state == WR_NODE_UP)
                c->n_up++;
            n->state = e->state;
            changed = 1;
        }
        if (n->since_ms != e->since_ms) {
            n->since_ms = e->since_ms;
            changed = 1;
        }
        if (strncmp(n->leaf->id, e->leaf, WR_ID_MAX) != 0) {
            tleaf_t *l = leaf_ref(t, e->leaf);
            if (l) {
                leaf_unref(t, n->leaf);
                n->leaf = l;
                changed = 1;
            }
        }
    }
    n->mark = gen;
    if (changed)
        tier_node_mark_dirty(t, n);
    if (old_eff != tier_node_state(n))
        tier_state_changed(t);
    return WR_OK;
}

static void node_remove(tier_t *t, tnode_t *n)
{
    child_unlink(n->owner, n);
    tier_node_clear_dirty(t, n);
    leaf_unref(t, n->leaf);
    tmap_del(&t->nodes, n, n->hash);
    free(n);
}

void tier_child_sweep(tier_t *t, tchild_t *c, uint64_t gen)
{
    int any = 0;
    tnode_t *n = c->nodes;
    while (n) {
        tnode_t *next = n->cnext;
        if (n->mark != gen) {
            node_remove(t, n);
            any = 1;
        }
        n = next;
    }
    if (any) {
        t->removed = 1;
        tier_state_changed(t);
    }
}
