/* leaf_census: per-node census calls, the leaf's census summary and its fleet alarms (see
 * leaf_census.h). Each node's lists are kept as one packed buffer of [kind byte, name NUL,
 * value NUL] records; the summary is rebuilt only when the set of (node, census hash) it was
 * built from changes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "leaf_census.h"
#include "wr_census.h"
#include "wr_error.h"
#include "wr_event.h"
#include "wr_log.h"
#include "wr_time.h"

typedef struct {
    leaf_ref_t ref;
    int        live;
    int64_t    epoch;          /* since_ms of the UP period the call / census belongs to */
    int        ticks;          /* intervals until the next call */
    int        unsupported;    /* this UP period: the agent has no census/0 */
    uint64_t   hash;           /* of release + items; 0: no census */
    uint64_t   raw_hash;       /* of the last parsed reply's bytes: an equal reply is not parsed */
    char       release[WR_CENSUS_NAME_MAX];
    char       view[WR_CENSUS_VALUE_MAX];   /* "<members>:<md5 hex>"; "": none (census v1) */
    char      *items;          /* sh->data (or the census's scratch while a reply is parsed) */
    size_t     len, n;
    struct shared_items *sh;   /* the items, shared with every node that has the same ones */
} cnode_t;

/* A node's census is ~300-1,000 modules with their md5s (15-45 kB); the nodes of one release
 * all have the same, so each distinct list is kept once with a count of its users. */
typedef struct shared_items {
    uint64_t hash;
    size_t   len, n, refs;
    char     data[];
} shared_items_t;

struct leaf_census {
    cnode_t            *nodes;
    size_t              n;
    wr_census_t        *sum;
    wr_census_raised_t *raised;
    uint64_t            sig;         /* of the inputs of the current summary */
    int                 retry;       /* an alarm emit failed: reconcile again */
    void               *blob;
    size_t              blob_len;
    shared_items_t    **shared;      /* the distinct item lists */
    size_t              n_shared, cap_shared;
    char               *scratch;     /* a reply's items while they are parsed */
    size_t              scratch_cap;
    uint64_t            blob_hash, sent_hash;
    unsigned            frames;
    uint64_t            asked, answered, errors, unsupported, rebuilt, sent, raised_n, cleared_n;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

static struct leaf_census *get(leaf_t *lf)
{
    if (lf->census)
        return lf->census;
    struct leaf_census *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->nodes = calloc(lf->n_nodes ? lf->n_nodes : 1, sizeof *c->nodes);
    c->sum = wr_census_new();
    c->raised = wr_census_raised_new();
    if (!c->nodes || !c->sum || !c->raised) {
        free(c->nodes);
        wr_census_destroy(&c->sum);
        wr_census_raised_destroy(&c->raised);
        free(c);
        return NULL;
    }
    c->n = lf->n_nodes;
    lf->census = c;
    return c;
}

/* ---- the call ----------------------------------------------------------------------- */

static int encode_call(leaf_t *lf, const erlang_ref *ref)
{
    return leaf_rpc_head(lf, ref, "warren_agent", "census", 0) | leaf_rpc_tail(lf);
}

int leaf_census_tick(leaf_t *lf, leaf_node_t *n)
{
    struct leaf_census *c = get(lf);
    if (!c || n->idx >= c->n)
        return 0;
    cnode_t *cn = &c->nodes[n->idx];
    if (cn->epoch != n->since_ms) {          /* a new UP period: ask now */
        cn->epoch = n->since_ms;
        cn->ticks = 0;
        cn->unsupported = 0;
        cn->live = 0;
        cn->hash = 0;
    }
    if (cn->unsupported || cn->ticks-- > 0)
        return 0;
    cn->ticks = LEAF_CENSUS_EVERY - 1;
    erlang_ref ref;
    if (ei_make_ref(&lf->ec, &ref) < 0 || encode_call(lf, &ref) != 0)
        return 0;
    leaf_ref_keep(&cn->ref, &ref);
    if (leaf_beam_send_rex(lf, n) != 0) {
        char why[128];
        snprintf(why, sizeof why, "send failed (%s)", erl_errno ? strerror(erl_errno) : "closed");
        cn->live = 0;
        leaf_node_lost(lf, n, why);
        return -1;
    }
    cn->live = 1;
    c->asked++;
    return 0;
}

/* ---- the reply ---------------------------------------------------------------------- */

static int append(cnode_t *cn, size_t *cap, int kind, const char *name, size_t nl, const char *val, size_t vl)
{
    size_t need = cn->len + 1 + nl + 1 + vl + 1;
    if (need > *cap) {
        size_t nc = *cap ? *cap * 2 : 16384;
        while (nc < need)
            nc *= 2;
        char *p = realloc(cn->items, nc);
        if (!p)
            return WR_ENOMEM;
        cn->items = p;
        *cap = nc;
    }
    char *o = cn->items + cn->len;
    *o++ = (char)kind;
    memcpy(o, name, nl);
    o[nl] = '\0';
    o += nl + 1;
    memcpy(o, val, vl);
    o[vl] = '\0';
    cn->len = need;
    cn->n++;
    return 0;
}

/* A binary at *i of at most max bytes into out (NUL-terminated); its length or -1. */
static long get_bin(const char *buf, int *i, char *out, long max)
{
    int type = 0, size = 0;
    long got = 0;
    if (ei_get_type(buf, i, &type, &size) != 0 || type != ERL_BINARY_EXT || size < 1 || size > max ||
        ei_decode_binary(buf, i, out, &got) != 0)
        return -1;
    out[got] = '\0';
    return memchr(out, '\0', (size_t)got) ? -1 : got;
}

/* 16 bytes as 32 lowercase hex digits and a NUL into out (33 bytes). */
static void hex16(const unsigned char *b, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (int k = 0; k < 16; k++) {
        out[2 * k] = digits[b[k] >> 4];
        out[2 * k + 1] = digits[b[k] & 15];
    }
    out[32] = '\0';
}

/* View = {Members, Md5}: the number of nodes the node sees (itself included) and the md5 of
 * their sorted list, into "<members>:<md5 hex>". */
static int parse_view(const char *buf, int *i, char *out, size_t cap)
{
    int arity = 0, type = 0, size = 0;
    long members = 0, got = 0;
    unsigned char md5[16];
    if (ei_decode_tuple_header(buf, i, &arity) != 0 || arity != 2 || ei_decode_long(buf, i, &members) != 0 ||
        members < 1 || members > 10000000 || ei_get_type(buf, i, &type, &size) != 0 ||
        type != ERL_BINARY_EXT || size != 16 || ei_decode_binary(buf, i, md5, &got) != 0 || got != 16)
        return WR_EPROTO;
    int o = snprintf(out, cap, "%ld:", members);
    if (o > 0 && (size_t)o + 33 <= cap)
        hex16(md5, out + o);
    return 0;
}

/* The shared list equal to data (one more user), or a new one; NULL when out of memory. */
static shared_items_t *items_intern(struct leaf_census *c, const char *data, size_t len, size_t n)
{
    uint64_t h = fnv(1469598103934665603ull, data, len);
    for (size_t i = 0; i < c->n_shared; i++) {
        shared_items_t *sh = c->shared[i];
        if (sh->hash == h && sh->len == len && memcmp(sh->data, data, len) == 0) {
            sh->refs++;
            return sh;
        }
    }
    if (c->n_shared == c->cap_shared) {
        size_t nc = c->cap_shared ? c->cap_shared * 2 : 8;
        shared_items_t **t = realloc(c->shared, nc * sizeof *t);
        if (!t)
            return NULL;
        c->shared = t;
        c->cap_shared = nc;
    }
    shared_items_t *sh = malloc(sizeof *sh + len + 1);
    if (!sh)
        return NULL;
    sh->hash = h;
    sh->len = len;
    sh->n = n;
    sh->refs = 1;
    memcpy(sh->data, data, len);
    sh->data[len] = '\0';
    c->shared[c->n_shared++] = sh;
    return sh;
}

/* One user less of cn's list (freed with its last user); cn then has no items. */
static void items_release(struct leaf_census *c, cnode_t *cn)
{
    shared_items_t *sh = cn->sh;
    cn->sh = NULL;
    cn->items = NULL;
    cn->len = cn->n = 0;
    if (!sh || --sh->refs > 0)
        return;
    for (size_t i = 0; i < c->n_shared; i++)
        if (c->shared[i] == sh) {
            c->shared[i] = c->shared[--c->n_shared];
            break;
        }
    free(sh);
}

/* {warren_census, 1, Release, [{Mod, Md5}], [{App, Vsn}]} or {warren_census, 2, Release,
 * [{Mod, Md5}], [{App, Vsn}], {Members, ViewMd5}} at ri into cn (its items into cn->items,
 * a buffer of *cap bytes that append may grow). */
static int parse(const char *buf, int ri, cnode_t *cn, size_t *capp, char *why, size_t whylen)
{
    int i = ri, arity = 0;
    long ver = 0;
    char atom[MAXATOMLEN_UTF8];
    char name[WR_CENSUS_NAME_MAX], val[WR_CENSUS_NAME_MAX], rel[WR_CENSUS_NAME_MAX];
    if (ei_decode_tuple_header(buf, &i, &arity) != 0 || (arity != 5 && arity != 6) ||
        ei_decode_atom(buf, &i, atom) != 0 || strcmp(atom, "warren_census") != 0 ||
        ei_decode_long(buf, &i, &ver) != 0 || ver != arity - 4) {
        snprintf(why, whylen, "not {warren_census, 1, ...} or {warren_census, 2, ...}");
        return WR_EPROTO;
    }
    if (get_bin(buf, &i, rel, WR_CENSUS_NAME_MAX - 1) < 0) {
        snprintf(why, whylen, "release: expected a binary of 1..255 bytes");
        return WR_EPROTO;
    }
    size_t *cap = capp;
    cn->len = cn->n = 0;
    for (int kind = WR_CENSUS_MODULE; kind <= WR_CENSUS_APP; kind++) {
        int len = 0;
        if (ei_decode_list_header(buf, &i, &len) != 0 || len < 0) {
            snprintf(why, whylen, "%s: expected a list", kind ? "applications" : "modules");
            return WR_EPROTO;
        }
        for (int k = 0; k < len; k++) {
            int ta = 0;
            long nl, vl;
            if (ei_decode_tuple_header(buf, &i, &ta) != 0 || ta != 2 ||
                (nl = get_bin(buf, &i, name, WR_CENSUS_NAME_MAX - 1)) < 0) {
                snprintf(why, whylen, "%s item %d: expected {Name, _}", kind ? "application" : "module", k);
                return WR_EPROTO;
            }
            char hex[33];
            const char *v = val;
            if (kind == WR_CENSUS_MODULE) {
                unsigned char md5[16];
                int type = 0, size = 0;
                long got = 0;
                if (ei_get_type(buf, &i, &type, &size) != 0 || type != ERL_BINARY_EXT || size != 16 ||
                    ei_decode_binary(buf, &i, md5, &got) != 0 || got != 16) {
                    snprintf(why, whylen, "module item %d: expected a 16-byte md5", k);
                    return WR_EPROTO;
                }
                hex16(md5, hex);
                v = hex;
                vl = 32;
            } else if ((vl = get_bin(buf, &i, val, WR_CENSUS_VALUE_MAX - 1)) < 0) {
                snprintf(why, whylen, "application item %d: expected {App, Vsn} binaries", k);
                return WR_EPROTO;
            }
            if (cn->n >= LEAF_CENSUS_ITEMS_MAX)
                continue;                      /* over the cap: counted by the caller */
            if (append(cn, cap, kind, name, (size_t)nl, v, (size_t)vl) != 0) {
                snprintf(why, whylen, "out of memory");
                return WR_ENOMEM;
            }
        }
        if (len > 0 && ei_skip_term(buf, &i) != 0) {     /* the list's tail ([]) */
            snprintf(why, whylen, "improper list");
            return WR_EPROTO;
        }
    }
    cn->view[0] = '\0';
    if (arity == 6 && parse_view(buf, &i, cn->view, sizeof cn->view) != 0) {
        snprintf(why, whylen, "view: expected {Members >= 1, 16-byte md5}");
        return WR_EPROTO;
    }
    snprintf(cn->release, sizeof cn->release, "%s", rel);
    cn->hash = fnv(fnv(fnv(1469598103934665603ull, cn->release, strlen(cn->release)), cn->items, cn->len),
                   cn->view, strlen(cn->view)) | 1;
    return 0;
}

int leaf_census_on_reply(leaf_t *lf, leaf_node_t *n, const erlang_ref *ref, int ri)
{
    struct leaf_census *c = lf->census;
    if (!c || n->idx >= c->n)
        return 0;
    cnode_t *cn = &c->nodes[n->idx];
    if (!cn->live || !leaf_ref_match(&cn->ref, ref))
        return 0;
    cn->live = 0;
    n->last_reply_mono = wr_mono_ms();
    char why[160];
    int end = ri;
    uint64_t raw = ei_skip_term(lf->rx.buff, &end) == 0 && end > ri ?
                   fnv(1469598103934665603ull, lf->rx.buff + ri, (size_t)(end - ri)) : 0;
    if (raw && raw == cn->raw_hash && cn->hash) {   /* the same census as last time */
        c->answered++;
        return 1;
    }
    cn->raw_hash = 0;
    shared_items_t *old = cn->sh;
    cn->sh = NULL;
    cn->items = c->scratch;
    int prc = parse(lf->rx.buff, ri, cn, &c->scratch_cap, why, sizeof why);
    c->scratch = cn->items;                    /* append may have moved it */
    if (prc == 0 && !(cn->sh = items_intern(c, cn->items, cn->len, cn->n))) {
        snprintf(why, sizeof why, "out of memory");
        prc = WR_ENOMEM;
    }
    cn->items = cn->sh ? cn->sh->data : NULL;
    if (old) {                                 /* after the intern: an equal list is kept */
        cnode_t tmp = {.sh = old};
        items_release(c, &tmp);
    }
    if (prc != 0) {
        cn->len = cn->n = 0;
        c->errors++;
        cn->hash = 0;
        cn->unsupported = 1;                   /* an old agent, or a bad answer: not again this UP period */
        c->unsupported++;
        WR_DEBUG("node %s: warren_agent:census(): %s", n->name, why);
        return 1;
    }
    cn->raw_hash = raw;
    c->answered++;
    return 1;
}

/* ---- the summary and its alarms ---------------------------------------------------- */

static int emit(void *ud, const char *scope, const char *type, const char *resource, int sev,
                const char *text)
{
    leaf_t *lf = ud;
    static wr_event_t ev;    /* large (the notification part): one, reused; loop thread only */
    memset(&ev.id, 0, sizeof ev.id);
    ev.kind = WR_MSG_ALARM;
    int rc = wr_alarm_event_set(&ev.alarm, scope, type, resource, sev, text, wr_wall_ms(), lf->cfg.id);
    if (rc == 0)
        rc = leaf_events_push(lf, &ev);
    if (rc)
        return rc;
    if (sev)
        lf->census->raised_n++;
    else
        lf->census->cleared_n++;
    WR_INFO("alarm %s %s %s %s: %s", sev ? wr_alarm_severity_name(sev) : "clear", scope, type,
            resource, text);
    return 0;
}

static void rebuild(leaf_t *lf, struct leaf_census *c)
{
    wr_census_reset(c->sum);
    for (size_t i = 0; i < c->n && i < lf->n_nodes; i++) {
        const cnode_t *cn = &c->nodes[i];
        const leaf_node_t *n = &lf->nodes[i];
        if (!cn->hash || !n->owned || n->state != WR_NODE_UP || cn->epoch != n->since_ms)
            continue;
        if (wr_census_add_node(c->sum, cn->release, n->name) != 0)
            continue;
        /* its cluster: named in the config (its modules are compared there too), else its
         * release (only the membership view: the modules are module_clash's) */
        const char *cl = i < lf->cfg.n_nodes && lf->cfg.nodes[i].cluster[0] ? lf->cfg.nodes[i].cluster : NULL;
        int in_cluster = (cl || cn->view[0]) &&
                         wr_census_add_group_node(c->sum, WR_CENSUS_CLUSTER, cl ? cl : cn->release, n->name) == 0;
        for (const char *p = cn->items, *end = cn->items + cn->len; p < end;) {
            int kind = p[0];
            const char *name = p + 1;
            const char *val = name + strlen(name) + 1;
            p = val + strlen(val) + 1;
            wr_census_add_item(c->sum, cn->release, kind, name, val, n->name);
            if (cl && in_cluster && kind == WR_CENSUS_MODULE)
                wr_census_add_group_item(c->sum, WR_CENSUS_CLUSTER, cl, kind, name, val, n->name);
        }
        if (in_cluster && cn->view[0])
            wr_census_add_group_item(c->sum, WR_CENSUS_CLUSTER, cl ? cl : cn->release, WR_CENSUS_VIEW,
                                     WR_CENSUS_VIEW_ITEM, cn->view, n->name);
    }
    void *blob = NULL;
    size_t len = 0;
    if (wr_census_encode(c->sum, &blob, &len) != 0) {
        WR_WARN("census: encoding the summary failed (out of memory)");
        return;
    }
    free(c->blob);
    c->blob = blob;
    c->blob_len = len;
    c->blob_hash = fnv(1469598103934665603ull, blob, len);
    c->rebuilt++;
}

void leaf_census_fill(leaf_t *lf, wr_state_msg_t *msg, int snapshot)
{
    struct leaf_census *c = lf->census;
    if (!c)
        return;
    uint64_t sig = 0;
    for (size_t i = 0; i < c->n && i < lf->n_nodes; i++) {
        const cnode_t *cn = &c->nodes[i];
        const leaf_node_t *n = &lf->nodes[i];
        if (cn->hash && n->owned && n->state == WR_NODE_UP && cn->epoch == n->since_ms)
            sig += fnv(cn->hash, &i, sizeof i);
    }
    if (sig != c->sig || !c->blob) {
        c->sig = sig;
        rebuild(lf, c);
        c->retry = 1;
    }
    if (c->retry || wr_census_raised_pending(c->raised))
        c->retry = wr_census_reconcile_at(c->raised, c->sum, WR_SEV_MAJOR, wr_mono_ms(),
                                          (int64_t)(lf->cfg.membership_grace * 1000.0), emit, lf) != 0;
    if (!c->blob)
        return;
    if (snapshot || c->blob_hash != c->sent_hash || ++c->frames >= LEAF_CENSUS_RESEND) {
        msg->census = c->blob;
        msg->census_len = c->blob_len;
        c->sent_hash = c->blob_hash;
        c->frames = 0;
        c->sent++;
    }
}

void leaf_census_fini(leaf_t *lf)
{
    struct leaf_census *c = lf->census;
    if (!c)
        return;
    wr_census_stats_t st;
    wr_census_stats(c->sum, &st);
    WR_INFO("census: asked=%llu answered=%llu errors=%llu rebuilt=%llu sent=%llu raised=%llu "
            "cleared=%llu releases=%zu clusters=%zu items=%zu dropped=%llu",
            (unsigned long long)c->asked, (unsigned long long)c->answered,
            (unsigned long long)c->errors, (unsigned long long)c->rebuilt,
            (unsigned long long)c->sent, (unsigned long long)c->raised_n,
            (unsigned long long)c->cleared_n, st.releases, st.clusters, st.entries,
            (unsigned long long)st.dropped);
    for (size_t i = 0; i < c->n; i++)
        items_release(c, &c->nodes[i]);
    free(c->shared);
    free(c->scratch);
    free(c->nodes);
    free(c->blob);
    wr_census_destroy(&c->sum);
    wr_census_raised_destroy(&c->raised);
    free(c);
    lf->census = NULL;
}
