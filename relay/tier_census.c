/* tier_census: a tier's side of the fleet checks (docs/DESIGN-NOTES.md "Fleet checks"): keeps
 * the last census summary (core/wr_census.h) each child sent in its state frames, merges them
 * every interval when one changed, raises module_clash / different_application_versions
 * (releases), different_module_versions / membership_divergence (clusters; the latter after
 * the tier's membership grace period) for the clashes no child claimed (this tier is the lowest that sees them) and clears them when
 * gone, and lends the merged summary to the upward state frames when it changed.
 *
 * The alarms are originated through tier_events_alarm (tier_int.h): the ordinary path, the
 * tier's alarm table, then the outbox toward the parents (relay) or the history (root). Loop
 * thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tier_int.h"
#include "wr_census.h"
#include "wr_error.h"
#include "wr_event.h"
#include "wr_log.h"
#include "wr_time.h"

#define TIER_CENSUS_CHILDREN_MAX 4096
#define TIER_CENSUS_RESEND       60      /* upward frames between unconditional resends */

typedef struct {
    char   id[WR_ID_MAX];
    void  *blob;
    size_t len;
} cchild_t;

struct tier_census {
    cchild_t           *ch;
    size_t              n, cap;
    int                 dirty;
    int                 retry;
    wr_census_t        *sum;
    wr_census_raised_t *raised;
    void               *blob;
    size_t              blob_len;
    uint64_t            blob_hash, sent_hash;
    unsigned            frames;
    uint64_t            merges, bad, raised_n, cleared_n, emit_failed;
};

static uint64_t fnv(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

static struct tier_census *get(tier_t *t)
{
    if (t->census)
        return t->census;
    struct tier_census *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->sum = wr_census_new();
    c->raised = wr_census_raised_new();
    if (!c->sum || !c->raised) {
        t->census = c;
        tier_census_fini(t);
        return NULL;
    }
    t->census = c;
    return c;
}

void tier_census_from_child(tier_t *t, const char *child, const void *blob, size_t len,
                            int snapshot)
{
    if (!blob || !len) {
        if (snapshot)
            tier_census_child_down(t, child);    /* a SNAPSHOT always carries it if there is one */
        return;                                  /* absent from a DELTA: unchanged */
    }
    struct tier_census *c = get(t);
    if (!c)
        return;
    cchild_t *e = NULL;
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->ch[i].id, child))
            e = &c->ch[i];
    if (!e) {
        if (c->n >= TIER_CENSUS_CHILDREN_MAX)
            return;
        if (c->n == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 16;
            cchild_t *nc = realloc(c->ch, cap * sizeof *nc);
            if (!nc)
                return;
            c->ch = nc;
            c->cap = cap;
        }
        e = &c->ch[c->n++];
        memset(e, 0, sizeof *e);
        snprintf(e->id, sizeof e->id, "%s", child);
    } else if (e->len == len && memcmp(e->blob, blob, len) == 0) {
        return;                                  /* a resend */
    }
    void *copy = malloc(len);
    if (!copy)
        return;
    memcpy(copy, blob, len);
    free(e->blob);
    e->blob = copy;
    e->len = len;
    c->dirty = 1;
}

void tier_census_child_down(tier_t *t, const char *child)
{
    struct tier_census *c = t->census;
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->ch[i].id, child)) {
            free(c->ch[i].blob);
            c->ch[i] = c->ch[--c->n];
            c->dirty = 1;
            return;
        }
}

/* One alarm event originated by this tier (tier_events_originate: the ordinary path). */
static int emit(void *ud, const char *scope, const char *type, const char *resource, int sev,
                const char *text)
{
    tier_t *t = ud;
    struct tier_census *c = t->census;
    int rc = tier_events_alarm(t, scope, type, resource, sev, text);
    if (rc != 0) {
        c->emit_failed++;
        return rc;                               /* not kept: retried at the next interval */
    }
    if (sev)
        c->raised_n++;
    else
        c->cleared_n++;
    WR_INFO("alarm %s %s %s %s: %s", sev ? wr_alarm_severity_name(sev) : "clear", scope, type,
            resource, text);
    return 0;
}

void tier_census_tick(tier_t *t)
{
    struct tier_census *c = t->census;
    if (!c)
        return;
    if (c->dirty) {
        c->dirty = 0;
        wr_census_reset(c->sum);
        for (size_t i = 0; i < c->n; i++) {
            char why[WR_ERROR_TEXT_MAX];
            if (wr_census_merge(c->sum, c->ch[i].blob, c->ch[i].len, why, sizeof why) != 0) {
                c->bad++;
                tier_count_bad(t, c->ch[i].id, why);
                /* part of it may be in: the clash checks still run; the child resends */
            }
        }
        void *blob = NULL;
        size_t len = 0;
        if (wr_census_encode(c->sum, &blob, &len) == 0) {
            free(c->blob);
            c->blob = blob;
            c->blob_len = len;
            c->blob_hash = fnv(blob, len);
        }
        c->merges++;
        c->retry = 1;
    }
    if ((c->retry || wr_census_raised_pending(c->raised)) && t->events)
        c->retry = wr_census_reconcile_at(c->raised, c->sum, WR_SEV_MAJOR, wr_mono_ms(),
                                          t->membership_grace_ms, emit, t) != 0;
}

void tier_census_fill(tier_t *t, wr_state_msg_t *m, int snapshot)
{
    m->census = NULL;
    m->census_len = 0;
    struct tier_census *c = t->census;
    if (!c || !c->blob)
        return;
    if (snapshot || c->blob_hash != c->sent_hash || ++c->frames >= TIER_CENSUS_RESEND) {
        m->census = c->blob;
        m->census_len = c->blob_len;
        c->sent_hash = c->blob_hash;
        c->frames = 0;
    }
}

size_t tier_census_raised(const tier_t *t)
{
    return t->census ? wr_census_raised_count(t->census->raised) : 0;
}

void tier_census_fini(tier_t *t)
{
    struct tier_census *c = t->census;
    if (!c)
        return;
    if (c->merges)
        WR_DEBUG("census: merges=%llu bad=%llu raised=%llu cleared=%llu emit_failed=%llu",
                 (unsigned long long)c->merges, (unsigned long long)c->bad,
                 (unsigned long long)c->raised_n, (unsigned long long)c->cleared_n,
                 (unsigned long long)c->emit_failed);
    for (size_t i = 0; i < c->n; i++)
        free(c->ch[i].blob);
    free(c->ch);
    free(c->blob);
    wr_census_destroy(&c->sum);
    wr_census_raised_destroy(&c->raised);
    free(c);
    t->census = NULL;
}
