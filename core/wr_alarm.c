/* wr_alarm: the alarm model and the active-alarm table (see wr_alarm.h).
 * Two chained hash tables (alarms by key, scopes by name) with power-of-two bucket arrays that
 * double at load factor 1; every alarm sits on three lists: its hash chain, the table's
 * raise-order list, and its scope's list. Counts by severity are kept incrementally. */
#include <stdlib.h>
#include <string.h>
#include "wr_alarm.h"
#include "wr_error.h"

typedef struct scope scope_t;

typedef struct anode {
    wr_alarm_t    a;
    uint64_t      hash;
    struct anode *hnext;
    struct anode *prev, *next;     /* raise order */
    struct anode *sprev, *snext;   /* within its scope */
    scope_t      *scope;
} anode_t;

struct scope {
    char     name[WR_ALARM_SCOPE_MAX];
    char     exempt[WR_ALARM_TYPE_MAX];
    uint64_t hash;
    scope_t *hnext;
    anode_t *head, *tail;
    size_t   n;
    int      suppressed;
};

typedef struct {
    uint64_t hash;                 /* of the cleared key; 0: empty */
    int64_t  at_ms;                /* the clear's time */
} tomb_t;

struct wr_alarm_table {
    tomb_t            tombs[WR_ALARM_TOMBS];   /* direct-mapped by key hash */
    anode_t         **abuckets;
    size_t            acap;        /* power of two */
    scope_t         **sbuckets;
    size_t            scap;
    size_t            nscopes;
    anode_t          *head, *tail;
    size_t            max_alarms;
    uint64_t          rejected;
    wr_alarm_counts_t counts;
};

static const char *const sev_names[WR_SEV_COUNT] = {
    "cleared", "indeterminate", "warning", "minor", "major", "critical"};

const char *wr_alarm_severity_name(int sev)
{
    return sev >= 0 && sev < WR_SEV_COUNT ? sev_names[sev] : "?";
}

int wr_alarm_severity_parse(const char *s, int *sev)
{
    if (!s)
        return WR_EINVAL;
    for (int i = 0; i < WR_SEV_COUNT; i++)
        if (strcmp(s, sev_names[i]) == 0) {
            *sev = i;
            return 0;
        }
    if (strcmp(s, "clear") == 0) {
        *sev = WR_SEV_CLEARED;
        return 0;
    }
    return WR_EINVAL;
}

const char *wr_alarm_change_name(int change)
{
    static const char *const names[] = {"noop", "new", "updated", "cleared", "stale", "late"};
    return change >= 0 && change <= WR_ALARM_LATE ? names[change] : "?";
}

/* ---- keys and events ------------------------------------------------------------------- */

static int fits(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

/* Copies src into dst[cap], truncating at a UTF-8 character boundary and ending in "...". */
static void copy_trunc(char *dst, size_t cap, const char *src)
{
    if (!src)
        src = "";
    size_t len = strlen(src);
    if (len < cap) {
        memcpy(dst, src, len + 1);
        return;
    }
    size_t cut = cap - 4;
    while (cut > 0 && ((unsigned char)src[cut] & 0xC0) == 0x80)
        cut--;
    memcpy(dst, src, cut);
    memcpy(dst + cut, "...", 4);
}

int wr_alarm_key_set(wr_alarm_key_t *key, const char *scope, const char *type, const char *resource)
{
    if (!scope || !type || !*scope || !*type)
        return WR_EINVAL;
    if (!resource)
        resource = "";
    size_t ls = strlen(scope), lt = strlen(type), lr = strlen(resource);
    if (ls >= WR_ALARM_SCOPE_MAX || lt >= WR_ALARM_TYPE_MAX || lr >= WR_ALARM_RESOURCE_MAX)
        return WR_ETOOBIG;
    memset(key, 0, sizeof *key);
    memcpy(key->scope, scope, ls);
    memcpy(key->type, type, lt);
    memcpy(key->resource, resource, lr);
    return 0;
}

int wr_alarm_key_check(const wr_alarm_key_t *key)
{
    if (!key || !fits(key->scope, sizeof key->scope) || !fits(key->type, sizeof key->type) ||
        !fits(key->resource, sizeof key->resource) || !key->scope[0] || !key->type[0])
        return WR_EINVAL;
    return 0;
}

int wr_alarm_key_equal(const wr_alarm_key_t *a, const wr_alarm_key_t *b)
{
    return strcmp(a->scope, b->scope) == 0 && strcmp(a->type, b->type) == 0 &&
           strcmp(a->resource, b->resource) == 0;
}

int wr_alarm_event_set(wr_alarm_event_t *ev, const char *scope, const char *type,
                       const char *resource, int severity, const char *text, int64_t at_ms,
                       const char *origin)
{
    int rc = wr_alarm_key_set(&ev->key, scope, type, resource);
    if (rc != 0)
        return rc;
    if (severity < 0 || severity >= WR_SEV_COUNT)
        return WR_EINVAL;
    if (!origin)
        origin = "";
    size_t lo = strlen(origin);
    if (lo >= WR_ALARM_ORIGIN_MAX)
        return WR_ETOOBIG;
    ev->severity = severity;
    copy_trunc(ev->text, sizeof ev->text, text);
    ev->at_ms = at_ms;
    memset(ev->origin, 0, sizeof ev->origin);
    memcpy(ev->origin, origin, lo);
    return 0;
}

int wr_alarm_event_check(const wr_alarm_event_t *ev)
{
    if (!ev || wr_alarm_key_check(&ev->key) != 0 || ev->severity < 0 ||
        ev->severity >= WR_SEV_COUNT || !fits(ev->text, sizeof ev->text) ||
        !fits(ev->origin, sizeof ev->origin))
        return WR_EINVAL;
    return 0;
}

/* ---- hashing --------------------------------------------------------------------------- */

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    h ^= 0xff;   /* field separator: ("ab","c") != ("a","bc") */
    return h * 1099511628211ull;
}

static uint64_t key_hash(const wr_alarm_key_t *k)
{
    return fnv(fnv(fnv(14695981039346656037ull, k->scope), k->type), k->resource);
}

static uint64_t scope_hash(const char *scope)
{
    return fnv(14695981039346656037ull, scope);
}

/* ---- table ----------------------------------------------------------------------------- */

wr_alarm_table_t *wr_alarm_table_new(size_t max_alarms)
{
    wr_alarm_table_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->max_alarms = max_alarms ? max_alarms : 1000000;
    t->acap = t->scap = 64;
    t->abuckets = calloc(t->acap, sizeof *t->abuckets);
    t->sbuckets = calloc(t->scap, sizeof *t->sbuckets);
    if (!t->abuckets || !t->sbuckets) {
        wr_alarm_table_destroy(&t);
        return NULL;
    }
    return t;
}

void wr_alarm_table_destroy(wr_alarm_table_t **table)
{
    if (!table || !*table)
        return;
    wr_alarm_table_t *t = *table;
    for (anode_t *n = t->head, *next; n; n = next) {
        next = n->next;
        free(n);
    }
    for (size_t i = 0; t->sbuckets && i < t->scap; i++)
        for (scope_t *s = t->sbuckets[i], *next; s; s = next) {
            next = s->hnext;
            free(s);
        }
    free(t->abuckets);
    free(t->sbuckets);
    free(t);
    *table = NULL;
}

static void count(wr_alarm_table_t *t, const anode_t *n, int sign)
{
    wr_alarm_counts_t *c = &t->counts;
    int sev = n->a.severity;
    if (sign > 0) {
        c->total++;
        c->by_severity[sev]++;
        c->suppressed += n->a.suppressed != 0;
        c->acked += n->a.acked != 0;
        if (!n->a.suppressed && !n->a.acked)
            c->paged_by_severity[sev]++;
    } else {
        c->total--;
        c->by_severity[sev]--;
        c->suppressed -= n->a.suppressed != 0;
        c->acked -= n->a.acked != 0;
        if (!n->a.suppressed && !n->a.acked)
            c->paged_by_severity[sev]--;
    }
}

static anode_t *find(const wr_alarm_table_t *t, const wr_alarm_key_t *key, uint64_t h)
{
    for (anode_t *n = t->abuckets[h & (t->acap - 1)]; n; n = n->hnext)
        if (n->hash == h && wr_alarm_key_equal(&n->a.key, key))
            return n;
    return NULL;
}

static scope_t *find_scope(const wr_alarm_table_t *t, const char *name, uint64_t h)
{
    for (scope_t *s = t->sbuckets[h & (t->scap - 1)]; s; s = s->hnext)
        if (s->hash == h && strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

/* Doubles the alarm bucket array (failure is harmless: chains just get longer). */
static void grow_alarms(wr_alarm_table_t *t)
{
    size_t ncap = t->acap * 2;
    anode_t **nb = calloc(ncap, sizeof *nb);
    if (!nb)
        return;
    for (anode_t *n = t->head; n; n = n->next) {
        size_t i = n->hash & (ncap - 1);
        n->hnext = nb[i];
        nb[i] = n;
    }
    free(t->abuckets);
    t->abuckets = nb;
    t->acap = ncap;
}

static void grow_scopes(wr_alarm_table_t *t)
{
    size_t ncap = t->scap * 2;
    scope_t **nb = calloc(ncap, sizeof *nb);
    if (!nb)
        return;
    for (size_t i = 0; i < t->scap; i++)
        for (scope_t *s = t->sbuckets[i], *next; s; s = next) {
            next = s->hnext;
            size_t j = s->hash & (ncap - 1);
            s->hnext = nb[j];
            nb[j] = s;
        }
    free(t->sbuckets);
    t->sbuckets = nb;
    t->scap = ncap;
}

/* The scope record of name, created if needed (NULL on ENOMEM). */
static scope_t *get_scope(wr_alarm_table_t *t, const char *name)
{
    uint64_t h = scope_hash(name);
    scope_t *s = find_scope(t, name, h);
    if (s)
        return s;
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    strcpy(s->name, name);   /* callers checked the length */
    s->hash = h;
    size_t i = h & (t->scap - 1);
    s->hnext = t->sbuckets[i];
    t->sbuckets[i] = s;
    if (++t->nscopes > t->scap)
        grow_scopes(t);
    return s;
}

/* Frees s if it holds nothing worth keeping. */
static void release_scope(wr_alarm_table_t *t, scope_t *s)
{
    if (s->n > 0 || s->suppressed)
        return;
    scope_t **pp = &t->sbuckets[s->hash & (t->scap - 1)];
    while (*pp != s)
        pp = &(*pp)->hnext;
    *pp = s->hnext;
    t->nscopes--;
    free(s);
}

static int exempt(const scope_t *s, const char *type)
{
    return s->exempt[0] && strcmp(s->exempt, type) == 0;
}

/* Unlinks n from every list, releases its scope if empty, frees it. */
static void remove_node(wr_alarm_table_t *t, anode_t *n)
{
    count(t, n, -1);
    anode_t **pp = &t->abuckets[n->hash & (t->acap - 1)];
    while (*pp != n)
        pp = &(*pp)->hnext;
    *pp = n->hnext;
    if (n->prev)
        n->prev->next = n->next;
    else
        t->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        t->tail = n->prev;
    scope_t *s = n->scope;
    if (n->sprev)
        n->sprev->snext = n->snext;
    else
        s->head = n->snext;
    if (n->snext)
        n->snext->sprev = n->sprev;
    else
        s->tail = n->sprev;
    s->n--;
    release_scope(t, s);
    free(n);
}

static int raise_new(wr_alarm_table_t *t, const wr_alarm_event_t *ev, uint64_t h, wr_alarm_t *out)
{
    if (t->counts.total >= t->max_alarms) {
        t->rejected++;
        return WR_EFULL;
    }
    anode_t *n = calloc(1, sizeof *n);
    if (!n)
        return WR_ENOMEM;
    scope_t *s = get_scope(t, ev->key.scope);
    if (!s) {
        free(n);
        return WR_ENOMEM;
    }
    n->a.key = ev->key;
    n->a.severity = ev->severity;
    memcpy(n->a.text, ev->text, sizeof n->a.text);
    memcpy(n->a.origin, ev->origin, sizeof n->a.origin);
    n->a.raised_ms = n->a.changed_ms = ev->at_ms;
    n->a.count = 1;
    n->a.suppressed = s->suppressed && !exempt(s, ev->key.type);
    n->hash = h;
    n->scope = s;
    size_t i = h & (t->acap - 1);
    n->hnext = t->abuckets[i];
    t->abuckets[i] = n;
    n->prev = t->tail;
    if (t->tail)
        t->tail->next = n;
    else
        t->head = n;
    t->tail = n;
    n->sprev = s->tail;
    if (s->tail)
        s->tail->snext = n;
    else
        s->head = n;
    s->tail = n;
    s->n++;
    count(t, n, +1);
    if (t->counts.total > t->acap)
        grow_alarms(t);
    if (out)
        *out = n->a;
    return 0;
}

static void tomb_put(wr_alarm_table_t *t, uint64_t h, int64_t at_ms)
{
    tomb_t *tb = &t->tombs[h & (WR_ALARM_TOMBS - 1)];
    if (tb->hash != (h | 1) || at_ms > tb->at_ms) {
        tb->hash = h | 1;          /* never 0 */
        tb->at_ms = at_ms;
    }
}

/* The time key h was last cleared (remembered), or INT64_MIN. */
static int64_t tomb_at(const wr_alarm_table_t *t, uint64_t h)
{
    const tomb_t *tb = &t->tombs[h & (WR_ALARM_TOMBS - 1)];
    return tb->hash == (h | 1) ? tb->at_ms : INT64_MIN;
}

/* The state an event describes by itself (a key that is not active). */
static void event_state(const wr_alarm_event_t *ev, int64_t raised_ms, wr_alarm_t *out)
{
    memset(out, 0, sizeof *out);
    out->key = ev->key;
    out->severity = ev->severity;
    memcpy(out->text, ev->text, sizeof out->text);
    memcpy(out->origin, ev->origin, sizeof out->origin);
    out->raised_ms = raised_ms;
    out->changed_ms = ev->at_ms;
    out->cleared_ms = ev->severity == WR_SEV_CLEARED ? ev->at_ms : 0;
    out->count = 1;
}

int wr_alarm_table_apply(wr_alarm_table_t *t, const wr_alarm_event_t *ev, int *change,
                         wr_alarm_t *out)
{
    *change = WR_ALARM_NOOP;
    if (wr_alarm_event_check(ev) != 0)
        return WR_EINVAL;
    uint64_t h = key_hash(&ev->key);
    anode_t *n = find(t, &ev->key, h);
    if (!n) {
        int64_t cleared_at = tomb_at(t, h);
        if (ev->severity == WR_SEV_CLEARED) {
            tomb_put(t, h, ev->at_ms);   /* its raise may still come, late */
            return 0;                    /* nothing active: a no-op (two leaves watching one
                                          * node during a handover both clear it) */
        }
        if (cleared_at >= ev->at_ms) {   /* raised before a clear we already have */
            if (out) {
                event_state(ev, ev->at_ms, out);
                out->cleared_ms = cleared_at;
            }
            *change = WR_ALARM_LATE;
            return 0;
        }
        int rc = raise_new(t, ev, h, out);
        if (rc == 0)
            *change = WR_ALARM_NEW;
        return rc;
    }
    if (ev->at_ms < n->a.changed_ms) {
        *change = WR_ALARM_STALE;
        return 0;
    }
    if (ev->severity == WR_SEV_CLEARED) {
        if (out) {
            *out = n->a;
            out->severity = WR_SEV_CLEARED;
            out->changed_ms = out->cleared_ms = ev->at_ms;
            memcpy(out->origin, ev->origin, sizeof out->origin);
        }
        remove_node(t, n);
        tomb_put(t, h, ev->at_ms);
        *change = WR_ALARM_CLEARED;
        return 0;
    }
    memcpy(n->a.origin, ev->origin, sizeof n->a.origin);
    if (ev->severity == n->a.severity && strcmp(ev->text, n->a.text) == 0)
        return 0;   /* duplicate */
    count(t, n, -1);
    if (ev->severity > n->a.severity) {
        n->a.acked = 0;
        n->a.acked_by[0] = '\0';
        n->a.acked_ms = 0;
    }
    n->a.severity = ev->severity;
    memcpy(n->a.text, ev->text, sizeof n->a.text);
    n->a.changed_ms = ev->at_ms;
    if (n->a.count < UINT32_MAX)
        n->a.count++;
    count(t, n, +1);
    *change = WR_ALARM_UPDATED;
    if (out)
        *out = n->a;
    return 0;
}

const wr_alarm_t *wr_alarm_table_lookup(const wr_alarm_table_t *t, const wr_alarm_key_t *key)
{
    if (wr_alarm_key_check(key) != 0)
        return NULL;
    anode_t *n = find(t, key, key_hash(key));
    return n ? &n->a : NULL;
}

int wr_alarm_table_foreach(const wr_alarm_table_t *t, wr_alarm_visit_fn fn, void *ud)
{
    for (const anode_t *n = t->head; n; n = n->next) {
        int rc = fn(ud, &n->a);
        if (rc != 0)
            return rc < 0 ? rc : 0;
    }
    return 0;
}

static scope_t *lookup_scope(const wr_alarm_table_t *t, const char *scope)
{
    if (!scope || !fits(scope, WR_ALARM_SCOPE_MAX))
        return NULL;
    return find_scope(t, scope, scope_hash(scope));
}

int wr_alarm_table_foreach_scope(const wr_alarm_table_t *t, const char *scope,
                                 wr_alarm_visit_fn fn, void *ud)
{
    scope_t *s = lookup_scope(t, scope);
    for (const anode_t *n = s ? s->head : NULL; n; n = n->snext) {
        int rc = fn(ud, &n->a);
        if (rc != 0)
            return rc < 0 ? rc : 0;
    }
    return 0;
}

void wr_alarm_table_counts(const wr_alarm_table_t *t, wr_alarm_counts_t *counts)
{
    *counts = t->counts;
}

int wr_alarm_table_remove_scope(wr_alarm_table_t *t, const char *scope, wr_alarm_visit_fn fn,
                                void *ud, size_t *removed)
{
    size_t k = 0;
    scope_t *s = lookup_scope(t, scope);
    if (s) {
        /* keep the scope record alive while its last alarm goes if it is suppressed;
         * otherwise remove_node frees it with the last alarm, so stop on the count */
        size_t n = s->n;
        anode_t *a = s->head;
        for (size_t i = 0; i < n; i++) {
            anode_t *next = a->snext;
            if (fn)
                fn(ud, &a->a);
            remove_node(t, a);
            a = next;
            k++;
        }
    }
    if (removed)
        *removed = k;
    return 0;
}

int wr_alarm_table_remove_if(wr_alarm_table_t *t, wr_alarm_visit_fn pred, void *ud, size_t *removed)
{
    size_t k = 0;
    for (anode_t *n = t->head, *next; n; n = next) {
        next = n->next;
        if (pred(ud, &n->a) == 1) {
            remove_node(t, n);
            k++;
        }
    }
    if (removed)
        *removed = k;
    return 0;
}

/* Sets each alarm's suppressed flag from the scope's state; returns how many changed. */
static size_t resync_scope(wr_alarm_table_t *t, scope_t *s)
{
    size_t k = 0;
    for (anode_t *n = s->head; n; n = n->snext) {
        int want = s->suppressed && !exempt(s, n->a.key.type);
        if (want != n->a.suppressed) {
            count(t, n, -1);
            n->a.suppressed = want;
            count(t, n, +1);
            k++;
        }
    }
    return k;
}

int wr_alarm_table_suppress_scope(wr_alarm_table_t *t, const char *scope, const char *exempt_type,
                                  size_t *changed)
{
    if (changed)
        *changed = 0;
    if (!scope || !*scope || strlen(scope) >= WR_ALARM_SCOPE_MAX ||
        (exempt_type && strlen(exempt_type) >= WR_ALARM_TYPE_MAX))
        return WR_EINVAL;
    scope_t *s = get_scope(t, scope);
    if (!s)
        return WR_ENOMEM;
    s->suppressed = 1;
    memset(s->exempt, 0, sizeof s->exempt);
    if (exempt_type)
        strcpy(s->exempt, exempt_type);
    size_t k = resync_scope(t, s);
    if (changed)
        *changed = k;
    return 0;
}

int wr_alarm_table_unsuppress_scope(wr_alarm_table_t *t, const char *scope, size_t *changed)
{
    if (changed)
        *changed = 0;
    scope_t *s = lookup_scope(t, scope);
    if (!s || !s->suppressed)
        return 0;
    s->suppressed = 0;
    s->exempt[0] = '\0';
    size_t k = resync_scope(t, s);
    if (changed)
        *changed = k;
    release_scope(t, s);
    return 0;
}

int wr_alarm_table_scope_suppressed(const wr_alarm_table_t *t, const char *scope)
{
    scope_t *s = lookup_scope(t, scope);
    return s && s->suppressed;
}

int wr_alarm_table_ack(wr_alarm_table_t *t, const wr_alarm_key_t *key, const char *by, int64_t at_ms)
{
    if (wr_alarm_key_check(key) != 0)
        return WR_EINVAL;
    anode_t *n = find(t, key, key_hash(key));
    if (!n)
        return WR_ENOTFOUND;
    count(t, n, -1);
    n->a.acked = 1;
    copy_trunc(n->a.acked_by, sizeof n->a.acked_by, by);
    n->a.acked_ms = at_ms;
    count(t, n, +1);
    return 0;
}

uint64_t wr_alarm_table_rejected(const wr_alarm_table_t *t)
{
    return t->rejected;
}
