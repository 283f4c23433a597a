/* wr_census: the census summary of a subtree (see wr_census.h): groups (releases, clusters),
 * items (group, kind, name) in an open-addressing table, and per item its distinct values
 * with counts and example nodes. Encoding and decoding of the summary bytes (msgpack). The
 * alarm side (texts, reconciliation) is in wr_census_alarm.c. */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wr_census.h"
#include "wr_codec.h"
#include "wr_error.h"

typedef struct {
    char    *name;
    uint8_t  group;              /* WR_CENSUS_RELEASE or WR_CENSUS_CLUSTER */
    uint64_t nodes;
    size_t   n_ex;
    char    *ex[WR_CENSUS_EXAMPLES];
} rel_t;

typedef struct {
    char    *value;
    uint64_t count;
    size_t   n_ex;
    char    *ex[WR_CENSUS_EXAMPLES];
} val_t;

typedef struct {
    uint32_t hash;
    uint32_t rel;
    uint8_t  kind;
    uint8_t  claimed;
    uint8_t  n_val, cap_val;
    char    *name;
    val_t   *val;
} item_t;

struct wr_census {
    rel_t              rel[2 * WR_CENSUS_MAX_RELEASES];   /* releases and clusters */
    size_t             n_rel;
    size_t             n_group[2];       /* groups of each kind */
    item_t            *items;
    size_t             n_items, cap_items;
    uint32_t          *tab;              /* item index + 1, 0 = empty */
    size_t             tab_cap;          /* power of two */
    uint64_t           dropped;
    uint32_t          *order;            /* sorted item indexes (wr_census_clashes / encode) */
    wr_census_value_t *views;
    size_t             views_cap;
};

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static uint32_t hash_item(uint32_t rel, int kind, const char *name, size_t n)
{
    uint32_t h = 2166136261u ^ rel ^ ((uint32_t)kind << 24);
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)name[i]) * 16777619u;
    return h ? h : 1;
}

wr_census_t *wr_census_new(void)
{
    return calloc(1, sizeof(wr_census_t));
}

static void free_ex(char **ex, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ex[i]);
}

void wr_census_reset(wr_census_t *c)
{
    for (size_t i = 0; i < c->n_rel; i++) {
        free(c->rel[i].name);
        free_ex(c->rel[i].ex, c->rel[i].n_ex);
    }
    c->n_rel = 0;
    c->n_group[0] = c->n_group[1] = 0;
    for (size_t i = 0; i < c->n_items; i++) {
        item_t *it = &c->items[i];
        for (size_t v = 0; v < it->n_val; v++) {
            free(it->val[v].value);
            free_ex(it->val[v].ex, it->val[v].n_ex);
        }
        free(it->val);
        free(it->name);
    }
    c->n_items = 0;
    if (c->tab)
        memset(c->tab, 0, c->tab_cap * sizeof *c->tab);
    c->dropped = 0;
}

void wr_census_destroy(wr_census_t **cp)
{
    if (!cp || !*cp)
        return;
    wr_census_t *c = *cp;
    wr_census_reset(c);
    free(c->items);
    free(c->tab);
    free(c->order);
    free(c->views);
    free(c);
    *cp = NULL;
}

static int find_rel(wr_census_t *c, int group, const char *name, size_t n, int create)
{
    for (size_t i = 0; i < c->n_rel; i++)
        if (c->rel[i].group == group && strlen(c->rel[i].name) == n && memcmp(c->rel[i].name, name, n) == 0)
            return (int)i;
    if (!create)
        return WR_ENOTFOUND;
    if (c->n_group[group] >= WR_CENSUS_MAX_RELEASES) {
        c->dropped++;
        return WR_EFULL;
    }
    rel_t *r = &c->rel[c->n_rel];
    memset(r, 0, sizeof *r);
    if (!(r->name = dupn(name, n)))
        return WR_ENOMEM;
    r->group = (uint8_t)group;
    c->n_group[group]++;
    return (int)c->n_rel++;
}

static void add_ex(char **ex, size_t *n_ex, const char *node, size_t n)
{
    if (*n_ex >= WR_CENSUS_EXAMPLES)
        return;
    for (size_t i = 0; i < *n_ex; i++)
        if (strlen(ex[i]) == n && memcmp(ex[i], node, n) == 0)
            return;
    char *d = dupn(node, n);
    if (d)
        ex[(*n_ex)++] = d;
}

static int tab_grow(wr_census_t *c)
{
    size_t cap = c->tab_cap ? c->tab_cap * 2 : 1024;
    uint32_t *t = calloc(cap, sizeof *t);
    if (!t)
        return WR_ENOMEM;
    for (size_t i = 0; i < c->n_items; i++) {
        size_t s = c->items[i].hash & (cap - 1);
        while (t[s])
            s = (s + 1) & (cap - 1);
        t[s] = (uint32_t)i + 1;
    }
    free(c->tab);
    c->tab = t;
    c->tab_cap = cap;
    return 0;
}

/* The item (rel, kind, name), created if absent; NULL on a cap (counted) or ENOMEM. */
static item_t *get_item(wr_census_t *c, uint32_t rel, int kind, const char *name, size_t n)
{
    uint32_t h = hash_item(rel, kind, name, n);
    if (c->tab_cap) {
        for (size_t s = h & (c->tab_cap - 1); c->tab[s]; s = (s + 1) & (c->tab_cap - 1)) {
            item_t *it = &c->items[c->tab[s] - 1];
            if (it->hash == h && it->rel == rel && it->kind == kind && strlen(it->name) == n &&
                memcmp(it->name, name, n) == 0)
                return it;
        }
    }
    if (c->n_items >= WR_CENSUS_MAX_ENTRIES) {
        c->dropped++;
        return NULL;
    }
    if ((c->n_items + 1) * 2 > c->tab_cap && tab_grow(c) != 0)
        return NULL;
    if (c->n_items == c->cap_items) {
        size_t cap = c->cap_items ? c->cap_items * 2 : 256;
        item_t *ni = realloc(c->items, cap * sizeof *ni);
        if (!ni)
            return NULL;
        c->items = ni;
        c->cap_items = cap;
    }
    item_t *it = &c->items[c->n_items];
    memset(it, 0, sizeof *it);
    if (!(it->name = dupn(name, n)))
        return NULL;
    it->hash = h;
    it->rel = rel;
    it->kind = (uint8_t)kind;
    size_t s = h & (c->tab_cap - 1);
    while (c->tab[s])
        s = (s + 1) & (c->tab_cap - 1);
    c->tab[s] = (uint32_t)c->n_items + 1;
    c->n_items++;
    return it;
}

static val_t *get_val(wr_census_t *c, item_t *it, const char *value, size_t n)
{
    for (size_t v = 0; v < it->n_val; v++)
        if (strlen(it->val[v].value) == n && memcmp(it->val[v].value, value, n) == 0)
            return &it->val[v];
    if (it->n_val >= WR_CENSUS_MAX_VALUES) {
        c->dropped++;
        return NULL;
    }
    if (it->n_val == it->cap_val) {
        size_t cap = it->cap_val ? it->cap_val * 2u : 1u;
        if (cap > WR_CENSUS_MAX_VALUES)
            cap = WR_CENSUS_MAX_VALUES;
        val_t *nv = realloc(it->val, cap * sizeof *nv);
        if (!nv)
            return NULL;
        it->val = nv;
        it->cap_val = (uint8_t)cap;
    }
    val_t *v = &it->val[it->n_val];
    memset(v, 0, sizeof *v);
    if (!(v->value = dupn(value, n)))
        return NULL;
    it->n_val++;
    return v;
}

static int name_ok(const char *s, size_t cap)
{
    return s && s[0] && strnlen(s, cap) < cap;
}

/* The item kinds a group of kind g holds. */
static int kind_ok(int group, uint64_t kind)
{
    return group == WR_CENSUS_RELEASE ? kind == WR_CENSUS_MODULE || kind == WR_CENSUS_APP
                                      : kind == WR_CENSUS_MODULE || kind == WR_CENSUS_VIEW;
}

int wr_census_add_node(wr_census_t *c, const char *release, const char *node)
{
    return wr_census_add_group_node(c, WR_CENSUS_RELEASE, release, node);
}

int wr_census_add_item(wr_census_t *c, const char *release, int kind, const char *name,
                       const char *value, const char *node)
{
    return wr_census_add_group_item(c, WR_CENSUS_RELEASE, release, kind, name, value, node);
}

int wr_census_add_group_node(wr_census_t *c, int group, const char *release, const char *node)
{
    if (!c || (group != WR_CENSUS_RELEASE && group != WR_CENSUS_CLUSTER) ||
        !name_ok(release, WR_CENSUS_NAME_MAX) || !name_ok(node, WR_CENSUS_NAME_MAX))
        return WR_EINVAL;
    int r = find_rel(c, group, release, strlen(release), 1);
    if (r < 0)
        return r;
    c->rel[r].nodes++;
    add_ex(c->rel[r].ex, &c->rel[r].n_ex, node, strlen(node));
    return 0;
}

int wr_census_add_group_item(wr_census_t *c, int group, const char *release, int kind,
                             const char *name, const char *value, const char *node)
{
    if (!c || (group != WR_CENSUS_RELEASE && group != WR_CENSUS_CLUSTER) || !kind_ok(group, (uint64_t)kind) ||
        !name_ok(release, WR_CENSUS_NAME_MAX) || !name_ok(name, WR_CENSUS_NAME_MAX) ||
        !name_ok(value, WR_CENSUS_VALUE_MAX) || !name_ok(node, WR_CENSUS_NAME_MAX))
        return WR_EINVAL;
    int r = find_rel(c, group, release, strlen(release), 0);
    if (r < 0)
        return WR_EINVAL;                       /* add_node first */
    item_t *it = get_item(c, (uint32_t)r, kind, name, strlen(name));
    if (!it)
        return c->n_items >= WR_CENSUS_MAX_ENTRIES ? WR_EFULL : WR_ENOMEM;
    val_t *v = get_val(c, it, value, strlen(value));
    if (!v)
        return it->n_val >= WR_CENSUS_MAX_VALUES ? WR_EFULL : WR_ENOMEM;
    v->count++;
    add_ex(v->ex, &v->n_ex, node, strlen(node));
    return 0;
}

/* ---- sorting ------------------------------------------------------------------------- */

static const wr_census_t *sort_ctx;   /* qsort has no context argument; single-threaded use */

static int cmp_item(const void *a, const void *b)
{
    const item_t *x = &sort_ctx->items[*(const uint32_t *)a], *y = &sort_ctx->items[*(const uint32_t *)b];
    const rel_t *rx = &sort_ctx->rel[x->rel], *ry = &sort_ctx->rel[y->rel];
    if (rx->group != ry->group)
        return rx->group < ry->group ? -1 : 1;
    int d = x->rel != y->rel ? strcmp(rx->name, ry->name) : 0;
    if (d)
        return d;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_val(const void *a, const void *b)
{
    return strcmp(((const val_t *)a)->value, ((const val_t *)b)->value);
}

static int sort_all(wr_census_t *c)
{
    free(c->order);
    c->order = malloc((c->n_items ? c->n_items : 1) * sizeof *c->order);
    if (!c->order)
        return WR_ENOMEM;
    for (size_t i = 0; i < c->n_items; i++) {
        c->order[i] = (uint32_t)i;
        if (c->items[i].n_val > 1)
            qsort(c->items[i].val, c->items[i].n_val, sizeof(val_t), cmp_val);
    }
    sort_ctx = c;
    qsort(c->order, c->n_items, sizeof *c->order, cmp_item);
    sort_ctx = NULL;
    return 0;
}

/* ---- encoding -------------------------------------------------------------------------- */

static int pk_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

static int pk_ex(msgpack_packer *pk, char *const *ex, size_t n)
{
    if (msgpack_pack_array(pk, n))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (pk_str(pk, ex[i]))
            return -1;
    return 0;
}

/* The groups of kind g: those of the sorted items from order[*k] on (sorted by group first),
 * then the empty ones. */
static int pk_groups(msgpack_packer *pk, wr_census_t *c, int g, size_t *k)
{
    if (msgpack_pack_array(pk, c->n_group[g]))
        return -1;
    uint8_t done[2 * WR_CENSUS_MAX_RELEASES] = {0};
    for (;;) {
        uint32_t r;
        if (*k < c->n_items && c->rel[c->items[c->order[*k]].rel].group == g) {
            r = c->items[c->order[*k]].rel;
        } else {
            size_t e = 0;
            while (e < c->n_rel && (done[e] || c->rel[e].group != g))
                e++;
            if (e == c->n_rel)
                return 0;
            r = (uint32_t)e;
        }
        done[r] = 1;
        const rel_t *rl = &c->rel[r];
        size_t first = *k;
        while (*k < c->n_items && c->items[c->order[*k]].rel == r)
            (*k)++;
        if (msgpack_pack_array(pk, 4) || pk_str(pk, rl->name) || msgpack_pack_uint64(pk, rl->nodes) ||
            pk_ex(pk, rl->ex, rl->n_ex) || msgpack_pack_array(pk, *k - first))
            return -1;
        for (size_t i = first; i < *k; i++) {
            const item_t *it = &c->items[c->order[i]];
            if (msgpack_pack_array(pk, 3) || msgpack_pack_uint8(pk, it->kind) ||
                pk_str(pk, it->name) || msgpack_pack_array(pk, it->n_val))
                return -1;
            for (size_t v = 0; v < it->n_val; v++) {
                const val_t *vl = &it->val[v];
                if (msgpack_pack_array(pk, 3) || pk_str(pk, vl->value) ||
                    msgpack_pack_uint64(pk, vl->count) ||
                    (vl->count == rl->nodes ? msgpack_pack_nil(pk) : pk_ex(pk, vl->ex, vl->n_ex)))
                    return -1;
            }
        }
    }
}

int wr_census_encode(wr_census_t *c, void **buf, size_t *len)
{
    if (sort_all(c) != 0)
        return WR_ENOMEM;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    /* version 1 (releases only) while there is no cluster group: old decoders read it */
    int v2 = c->n_group[WR_CENSUS_CLUSTER] > 0;
    size_t k = 0;
    int bad = msgpack_pack_array(&pk, v2 ? 3 : 2) || msgpack_pack_uint8(&pk, v2 ? 2 : 1) ||
              pk_groups(&pk, c, WR_CENSUS_RELEASE, &k) || (v2 && pk_groups(&pk, c, WR_CENSUS_CLUSTER, &k));
    if (bad) {
        msgpack_sbuffer_destroy(&sb);
        return WR_ENOMEM;
    }
    *len = sb.size;
    *buf = msgpack_sbuffer_release(&sb);
    return *buf ? 0 : WR_ENOMEM;
}

/* ---- merging (decoding) ---------------------------------------------------------------- */

static int fail(int code, char *why, size_t whylen, const char *what)
{
    if (why && whylen)
        snprintf(why, whylen, "census: %s", what);
    return code;
}

static int get_arr(const msgpack_object *o, uint32_t n, const msgpack_object **items, uint32_t *count)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || (n && o->via.array.size != n))
        return -1;
    *items = o->via.array.ptr;
    *count = o->via.array.size;
    return 0;
}

static int get_str(const msgpack_object *o, size_t cap, const char **s, size_t *n)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0 || o->via.str.size >= cap ||
        memchr(o->via.str.ptr, '\0', o->via.str.size))
        return -1;
    *s = o->via.str.ptr;
    *n = o->via.str.size;
    return 0;
}

static int get_uint(const msgpack_object *o, uint64_t *u)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return -1;
    *u = o->via.u64;
    return 0;
}

/* Example names of o (an array of node names, at most a few kept) into ex. */
static int merge_ex(const msgpack_object *o, char **ex, size_t *n_ex)
{
    const msgpack_object *a;
    uint32_t n;
    if (get_arr(o, 0, &a, &n) || n > 64)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        const char *s;
        size_t sl;
        if (get_str(&a[i], WR_CENSUS_NAME_MAX, &s, &sl))
            return -1;
        add_ex(ex, n_ex, s, sl);
    }
    return 0;
}

static int merge_groups(wr_census_t *c, int group, const msgpack_object *list, char *why, size_t whylen);

static int merge_obj(wr_census_t *c, const msgpack_object *root, char *why, size_t whylen)
{
    const msgpack_object *top;
    uint32_t n;
    uint64_t ver;
    if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size < 2 || get_arr(root, 0, &top, &n) ||
        get_uint(&top[0], &ver))
        return fail(WR_EPROTO, why, whylen, "expected [version, releases (, clusters)]");
    if ((ver != 1 || n != 2) && (ver != 2 || n != 3))
        return fail(WR_EPROTO, why, whylen, "unsupported version");
    int rc = merge_groups(c, WR_CENSUS_RELEASE, &top[1], why, whylen);
    if (rc == 0 && ver == 2)
        rc = merge_groups(c, WR_CENSUS_CLUSTER, &top[2], why, whylen);
    return rc;
}

static int merge_groups(wr_census_t *c, int group, const msgpack_object *list, char *why, size_t whylen)
{
    const msgpack_object *rels;
    uint32_t nr;
    if (get_arr(list, 0, &rels, &nr))
        return fail(WR_EPROTO, why, whylen, group ? "clusters: expected array" : "releases: expected array");
    if (nr > WR_CENSUS_MAX_RELEASES)
        return fail(WR_ETOOBIG, why, whylen, group ? "too many clusters" : "too many releases");
    for (uint32_t r = 0; r < nr; r++) {
        const msgpack_object *re, *items;
        uint32_t k, ni;
        const char *name;
        size_t nl;
        uint64_t nodes;
        if (get_arr(&rels[r], 4, &re, &k) || get_str(&re[0], WR_CENSUS_NAME_MAX, &name, &nl) ||
            get_uint(&re[1], &nodes) || nodes > UINT32_MAX || get_arr(&re[3], 0, &items, &ni))
            return fail(WR_EPROTO, why, whylen, "release: expected [name, nodes, examples, items]");
        int ri = find_rel(c, group, name, nl, 1);
        if (ri < 0)
            return fail(WR_ETOOBIG, why, whylen, group ? "too many clusters" : "too many releases");
        rel_t *rl = &c->rel[ri];
        rl->nodes += nodes;
        char *rex[WR_CENSUS_EXAMPLES];         /* this summary's own release examples */
        size_t n_rex = 0;
        int bad = merge_ex(&re[2], rex, &n_rex) || merge_ex(&re[2], rl->ex, &rl->n_ex);
        for (uint32_t i = 0; i < ni && !bad; i++) {
            const msgpack_object *ie, *vals;
            uint32_t k2, nv;
            uint64_t kind;
            const char *iname;
            size_t inl;
            if (get_arr(&items[i], 3, &ie, &k2) || get_uint(&ie[0], &kind) || !kind_ok(group, kind) ||
                get_str(&ie[1], WR_CENSUS_NAME_MAX, &iname, &inl) || get_arr(&ie[2], 0, &vals, &nv) ||
                nv == 0 || nv > WR_CENSUS_MAX_VALUES) {
                bad = 1;
                break;
            }
            item_t *it = get_item(c, (uint32_t)ri, (int)kind, iname, inl);
            if (!it)
                continue;                        /* a cap: counted */
            if (nv > 1)
                it->claimed = 1;
            for (uint32_t v = 0; v < nv && !bad; v++) {
                const msgpack_object *ve;
                uint32_t k3;
                const char *vs;
                size_t vsl;
                uint64_t cnt;
                if (get_arr(&vals[v], 3, &ve, &k3) || get_str(&ve[0], WR_CENSUS_VALUE_MAX, &vs, &vsl) ||
                    get_uint(&ve[1], &cnt) || cnt > UINT32_MAX ||
                    (ve[2].type != MSGPACK_OBJECT_NIL && ve[2].type != MSGPACK_OBJECT_ARRAY)) {
                    bad = 1;
                    break;
                }
                val_t *vl = get_val(c, it, vs, vsl);
                if (!vl)
                    continue;
                vl->count += cnt;
                if (ve[2].type == MSGPACK_OBJECT_NIL) {
                    for (size_t e = 0; e < n_rex; e++)
                        add_ex(vl->ex, &vl->n_ex, rex[e], strlen(rex[e]));
                } else if (merge_ex(&ve[2], vl->ex, &vl->n_ex)) {
                    bad = 1;
                }
            }
        }
        free_ex(rex, n_rex);
        if (bad)
            return fail(WR_EPROTO, why, whylen, "malformed item");
    }
    return 0;
}

int wr_census_merge(wr_census_t *c, const void *buf, size_t len, char *why, size_t whylen)
{
    if (!c || !buf || len == 0)
        return fail(WR_EPROTO, why, whylen, "empty");
    if (len > WR_CENSUS_WIRE_MAX)
        return fail(WR_ETOOBIG, why, whylen, "over its size cap");
    int rc = wr_codec_prescan(buf, len, WR_CENSUS_WIRE_MAX, why, whylen);
    if (rc != 0)
        return rc;
    msgpack_zone zone;
    if (!msgpack_zone_init(&zone, 4096))
        return WR_ENOMEM;
    msgpack_object obj;
    size_t off = 0;
    msgpack_unpack_return ur = msgpack_unpack((const char *)buf, len, &off, &zone, &obj);
    if (ur != MSGPACK_UNPACK_SUCCESS || off != len)
        rc = fail(WR_EPROTO, why, whylen, "not one msgpack object");
    else
        rc = merge_obj(c, &obj, why, whylen);
    msgpack_zone_destroy(&zone);
    return rc;
}

/* ---- clashes ----------------------------------------------------------------------------- */

int wr_census_clashes(wr_census_t *c, wr_census_clash_fn fn, void *ud)
{
    if (sort_all(c) != 0)
        return WR_ENOMEM;
    for (size_t i = 0; i < c->n_items; i++) {
        const item_t *it = &c->items[c->order[i]];
        if (it->n_val < 2)
            continue;
        if (c->views_cap < it->n_val) {
            wr_census_value_t *nv = realloc(c->views, WR_CENSUS_MAX_VALUES * sizeof *nv);
            if (!nv)
                return WR_ENOMEM;
            c->views = nv;
            c->views_cap = WR_CENSUS_MAX_VALUES;
        }
        for (size_t v = 0; v < it->n_val; v++) {
            wr_census_value_t *w = &c->views[v];
            w->value = it->val[v].value;
            w->count = it->val[v].count;
            w->n_ex = it->val[v].n_ex;
            for (size_t e = 0; e < w->n_ex; e++)
                w->ex[e] = it->val[v].ex[e];
        }
        wr_census_clash_t cl = { c->rel[it->rel].name, it->kind, it->name, it->claimed, it->n_val, c->views,
                                 c->rel[it->rel].group, c->rel[it->rel].nodes };
        int rc = fn(ud, &cl);
        if (rc)
            return rc;
    }
    return 0;
}

void wr_census_stats(const wr_census_t *c, wr_census_stats_t *out)
{
    out->releases = c->n_group[WR_CENSUS_RELEASE];
    out->clusters = c->n_group[WR_CENSUS_CLUSTER];
    out->entries = c->n_items;
    out->dropped = c->dropped;
}

