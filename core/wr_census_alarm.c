/* wr_census_alarm: the alarm side of the census summary (see wr_census.h): alarm types and
 * texts of clashes, and the raised-alarm bookkeeping of one tier (raise / re-raise / clear,
 * with a grace period for membership views). Uses only wr_census.h's public API. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wr_census.h"
#include "wr_error.h"

const char *wr_census_alarm_type(int kind)
{
    return kind == WR_CENSUS_APP ? "different_application_versions" : "module_clash";
}

const char *wr_census_clash_type(const wr_census_clash_t *cl)
{
    if (cl->group == WR_CENSUS_CLUSTER)
        return cl->kind == WR_CENSUS_VIEW ? "membership_divergence" : "different_module_versions";
    return wr_census_alarm_type(cl->kind);
}

static const char *type_of(int group, int kind)
{
    wr_census_clash_t cl;
    memset(&cl, 0, sizeof cl);
    cl.group = group;
    cl.kind = kind;
    return wr_census_clash_type(&cl);
}

/* Appends to out at *o (bounded by cap). */
__attribute__((format(printf, 4, 5)))
static void put(char *out, size_t cap, size_t *o, const char *fmt, ...)
{
    if (*o >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(out + *o, cap - *o, fmt, ap);
    va_end(ap);
    *o += k > 0 ? (size_t)k : 0;
}

static void put_ex(char *out, size_t cap, size_t *o, const wr_census_value_t *w)
{
    for (size_t e = 0; e < w->n_ex && *o < cap; e++)
        put(out, cap, o, "%s%s", e ? ", " : "", w->ex[e]);
    if (w->count > w->n_ex)
        put(out, cap, o, ", ...");
}

/* "<members>:<hex>": the members, 0 if unreadable. */
static unsigned long long view_members(const char *v)
{
    return strtoull(v, NULL, 10);
}

/* The most common view: the highest count, then the larger view, then the first. */
static size_t view_major(const wr_census_clash_t *cl)
{
    size_t m = 0;
    for (size_t v = 1; v < cl->n_values; v++) {
        const wr_census_value_t *a = &cl->values[v], *b = &cl->values[m];
        if (a->count > b->count || (a->count == b->count && view_members(a->value) > view_members(b->value)))
            m = v;
    }
    return m;
}

static void view_text(const wr_census_clash_t *cl, char *out, size_t cap, size_t *o)
{
    size_t m = view_major(cl);
    put(out, cap, o, "odd nodes:");
    for (size_t v = 0, first = 1; v < cl->n_values; v++) {
        if (v == m)
            continue;
        const wr_census_value_t *w = &cl->values[v];
        put(out, cap, o, "%s", first ? " " : "; ");
        first = 0;
        put_ex(out, cap, o, w);
        unsigned long long mem = view_members(w->value);
        put(out, cap, o, " (%s %llu node%s)", w->count == 1 ? "sees" : "each sees", mem, mem == 1 ? "" : "s");
    }
    const wr_census_value_t *w = &cl->values[m];
    unsigned long long mem = view_members(w->value);
    put(out, cap, o, "; the most common view (%llu node%s) is on %llu node%s (", mem, mem == 1 ? "" : "s",
        (unsigned long long)w->count, w->count == 1 ? "" : "s");
    put_ex(out, cap, o, w);
    put(out, cap, o, ")");
}

void wr_census_clash_text(const wr_census_clash_t *cl, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return;
    out[0] = '\0';
    if (cl->kind == WR_CENSUS_VIEW) {
        view_text(cl, out, cap, &o);
    } else {
        for (size_t v = 0; v < cl->n_values && o < cap; v++) {
            const wr_census_value_t *w = &cl->values[v];
            int n = snprintf(out + o, cap - o, "%s%s%.*s on %llu node%s (", v ? "; " : "",
                             cl->kind == WR_CENSUS_MODULE ? "md5 " : "vsn ",
                             cl->kind == WR_CENSUS_MODULE ? 12 : 64, w->value,
                             (unsigned long long)w->count, w->count == 1 ? "" : "s");
            o += n > 0 ? (size_t)n : 0;
            put_ex(out, cap, &o, w);
            put(out, cap, &o, ")");
        }
    }
    if (o >= cap && cap > 4)
        memcpy(out + cap - 4, "...", 4);
}

/* ---- raised-alarm bookkeeping ---------------------------------------------------------- */

typedef struct {
    int     group, kind;
    char    release[WR_CENSUS_NAME_MAX];
    char    name[WR_CENSUS_NAME_MAX];
    char    text[512];
    int     seen;
    int     raised;            /* 0: waiting for its grace period */
    int64_t since;             /* first seen (pending ones) */
} raised_t;

struct wr_census_raised {
    raised_t *r;
    size_t    n, cap;
};

wr_census_raised_t *wr_census_raised_new(void)
{
    return calloc(1, sizeof(wr_census_raised_t));
}

void wr_census_raised_destroy(wr_census_raised_t **rp)
{
    if (!rp || !*rp)
        return;
    free((*rp)->r);
    free(*rp);
    *rp = NULL;
}

size_t wr_census_raised_count(const wr_census_raised_t *r)
{
    size_t n = 0;
    for (size_t i = 0; r && i < r->n; i++)
        n += r->r[i].raised != 0;
    return n;
}

size_t wr_census_raised_pending(const wr_census_raised_t *r)
{
    return r ? r->n - wr_census_raised_count(r) : 0;
}

typedef struct {
    wr_census_raised_t *r;
    int                 severity;
    int64_t             now, grace;
    wr_census_emit_fn   fn;
    void               *ud;
    int                 failed;
} rec_ctx_t;

static raised_t *add_entry(wr_census_raised_t *r, const wr_census_clash_t *cl)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        raised_t *nr = realloc(r->r, cap * sizeof *nr);
        if (!nr)
            return NULL;
        r->r = nr;
        r->cap = cap;
    }
    raised_t *e = &r->r[r->n++];
    memset(e, 0, sizeof *e);
    e->group = cl->group;
    e->kind = cl->kind;
    snprintf(e->release, sizeof e->release, "%s", cl->release);
    snprintf(e->name, sizeof e->name, "%s", cl->name);
    return e;
}

static int rec_visit(void *ud, const wr_census_clash_t *cl)
{
    rec_ctx_t *x = ud;
    if (cl->claimed)
        return 0;                              /* a lower tier raised it */
    wr_census_raised_t *r = x->r;
    char text[512];
    wr_census_clash_text(cl, text, sizeof text);
    raised_t *e = NULL;
    for (size_t i = 0; i < r->n && !e; i++)
        if (r->r[i].group == cl->group && r->r[i].kind == cl->kind &&
            !strcmp(r->r[i].release, cl->release) && !strcmp(r->r[i].name, cl->name))
            e = &r->r[i];
    if (e && e->raised && !strcmp(e->text, text)) {
        e->seen = 1;
        return 0;
    }
    if (cl->kind == WR_CENSUS_VIEW && x->grace > 0 && (!e || !e->raised)) {
        if (!e && !(e = add_entry(r, cl)))
            return 0;                          /* retried next time */
        if (!e->since)
            e->since = x->now ? x->now : 1;
        e->seen = 1;
        if (x->now - e->since < x->grace)
            return 0;                          /* pending */
    }
    if (x->fn(x->ud, cl->release, wr_census_clash_type(cl), cl->name, x->severity, text) != 0) {
        x->failed++;
        if (e)
            e->seen = 1;                       /* still raised (old text) or pending: keep it */
        return 0;
    }
    if (!e && !(e = add_entry(r, cl)))
        return 0;                              /* retried (re-raised: a NOOP upstream) next time */
    snprintf(e->text, sizeof e->text, "%s", text);
    e->raised = 1;
    e->seen = 1;
    return 0;
}

int wr_census_reconcile_at(wr_census_raised_t *r, wr_census_t *c, int severity, int64_t now_ms,
                           int64_t grace_ms, wr_census_emit_fn fn, void *ud)
{
    rec_ctx_t x = { r, severity, now_ms, grace_ms, fn, ud, 0 };
    for (size_t i = 0; i < r->n; i++)
        r->r[i].seen = 0;
    if (wr_census_clashes(c, rec_visit, &x) != 0)
        return 1;                              /* ENOMEM: nothing cleared this time */
    for (size_t i = 0; i < r->n;) {
        raised_t *e = &r->r[i];
        if (e->seen) {
            i++;
            continue;
        }
        if (e->raised && fn(ud, e->release, type_of(e->group, e->kind), e->name, 0, "") != 0) {
            x.failed++;
            i++;
            continue;
        }
        r->r[i] = r->r[--r->n];                /* cleared, or pending and gone: forgotten */
    }
    return x.failed;
}

int wr_census_reconcile(wr_census_raised_t *r, wr_census_t *c, int severity,
                        wr_census_emit_fn fn, void *ud)
{
    return wr_census_reconcile_at(r, c, severity, 0, 0, fn, ud);
}
