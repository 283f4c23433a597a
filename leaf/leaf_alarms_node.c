/* leaf_alarms_node: the node alarms that come as lists in the agent's collect reply rather
 * than as metrics (docs/ALARMS.md "Node state", "Passthrough"): config_changed and
 * config_unparseable (one per file: the node's -config files, boot script and .app files that
 * differ from the agent's first look), and beam_alarm (one per alarm id set in the node's
 * alarm_handler). Each reply is reconciled at once with what this leaf has reported for the
 * node: new entries are raised, changed texts updated, entries no longer listed cleared.
 * Reported entries are kept in the store's "alarms" database beside the threshold checks'
 * (key: node NUL "<type>#<16 hex of the resource's hash>", value: severity, text hash,
 * resource), so a restarted leaf neither re-raises nor forgets them.
 * Also the small helpers leaf_alarms.c shares (numbers, system process names, the system
 * monitor rate ring). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "leaf.h"
#include "leaf_alarms.h"
#include "wr_alarm.h"
#include "wr_error.h"
#include "wr_time.h"

enum { LK_CHANGED, LK_UNPARSEABLE, LK_BEAM, LK_COUNT };
static const char *const lk_types[LK_COUNT] = {
    LEAF_ALARM_CONFIG_CHANGED, LEAF_ALARM_CONFIG_UNPARSEABLE, WR_ALARM_BEAM_ALARM};

typedef struct {
    uint8_t  kind, sev, seen;
    uint64_t text_hash;                         /* of the reported text (an update if it moves) */
    char     res[WR_ALARM_RESOURCE_MAX];
} litem_t;

typedef struct {
    litem_t *v;
    size_t   n, cap;
} lnode_t;

struct leaf_alarms_list {
    lnode_t *nodes;
    size_t   n;
};

#define REC_VAL_MAX (1 + 8 + WR_ALARM_RESOURCE_MAX)

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

leaf_alarms_list_t *leaf_alarms_list_new(size_t n_nodes)
{
    leaf_alarms_list_t *l = calloc(1, sizeof *l);
    if (l && !(l->nodes = calloc(n_nodes ? n_nodes : 1, sizeof *l->nodes))) {
        free(l);
        return NULL;
    }
    if (l)
        l->n = n_nodes;
    return l;
}

void leaf_alarms_list_free(leaf_alarms_list_t **lp)
{
    if (!lp || !*lp)
        return;
    for (size_t i = 0; i < (*lp)->n; i++)
        free((*lp)->nodes[i].v);
    free((*lp)->nodes);
    free(*lp);
    *lp = NULL;
}

static lnode_t *lnode(leaf_t *lf, const leaf_node_t *n)
{
    leaf_alarms_list_t *l = leaf_alarms_list_of(lf);
    return l && n && n->idx < l->n ? &l->nodes[n->idx] : NULL;
}

static litem_t *lfind(lnode_t *ln, int kind, const char *res)
{
    for (size_t k = 0; k < ln->n; k++)
        if (ln->v[k].kind == kind && strcmp(ln->v[k].res, res) == 0)
            return &ln->v[k];
    return NULL;
}

static litem_t *ladd(lnode_t *ln, int kind, const char *res)
{
    if (ln->n == ln->cap) {
        size_t cap = ln->cap ? ln->cap * 2 : 4;
        litem_t *p = realloc(ln->v, cap * sizeof *p);
        if (!p)
            return NULL;
        ln->v = p;
        ln->cap = cap;
    }
    litem_t *it = &ln->v[ln->n++];
    memset(it, 0, sizeof *it);
    it->kind = (uint8_t)kind;
    it->sev = WR_SEV_CLEARED;
    snprintf(it->res, sizeof it->res, "%s", res);
    return it;
}

static size_t rec_key(const char *node, int kind, const char *res, char *key, size_t cap)
{
    int a = snprintf(key, cap, "%s", node);
    int b = a >= 0 && (size_t)a + 1 < cap
                ? snprintf(key + a + 1, cap - (size_t)a - 1, "%s#%016llx", lk_types[kind],
                           (unsigned long long)fnv(res))
                : -1;
    if (b < 0 || (size_t)a + 1 + (size_t)b >= cap)
        return 0;
    return (size_t)a + 1 + (size_t)b;
}

static void rec_write(leaf_t *lf, const char *node, const litem_t *it)
{
    char key[WR_NODE_NAME_MAX + 80];
    uint8_t val[REC_VAL_MAX];
    size_t klen = rec_key(node, it->kind, it->res, key, sizeof key), rl = strlen(it->res);
    if (!klen)
        return;
    val[0] = it->sev;
    memcpy(val + 1, &it->text_hash, 8);
    memcpy(val + 9, it->res, rl);
    leaf_alarms_persist_raw(lf, key, klen, it->sev == WR_SEV_CLEARED ? NULL : val, 9 + rl);
}

/* Moves item it of node n to (sev, text); removes it from the list once cleared. Returns 0
 * or the push error (the item is kept as it was: tried again at the next reply). */
static int lset(leaf_t *lf, leaf_node_t *n, lnode_t *ln, litem_t *it, int sev, const char *text,
                int64_t now)
{
    uint64_t th = fnv(text);
    if (sev == it->sev && (sev == WR_SEV_CLEARED || th == it->text_hash))
        return 0;
    int rc = leaf_alarms_emit(lf, n->name, lk_types[it->kind], it->res, sev, it->sev, text, now);
    if (rc)
        return rc;
    it->sev = (uint8_t)sev;
    it->text_hash = th;
    rec_write(lf, n->name, it);
    if (sev == WR_SEV_CLEARED)
        *it = ln->v[--ln->n];                    /* the caller's loop re-examines this index */
    return 0;
}

/* Reconciles the kinds [k0, k1] of node n with want (n_want items; kinds from kind_of). With
 * partial (the list was capped), entries not listed are kept rather than cleared. */
static void reconcile_list(leaf_t *lf, leaf_node_t *n, int k0, int k1, const leaf_collect_item_t *want,
                           size_t n_want, int beam, int partial, int64_t now)
{
    lnode_t *ln = lnode(lf, n);
    if (!ln)
        return;
    for (size_t k = 0; k < ln->n; k++)
        ln->v[k].seen = 0;
    char text[WR_ALARM_TEXT_MAX];
    for (size_t w = 0; w < n_want; w++) {
        const leaf_collect_item_t *ci = &want[w];
        int kind = beam ? LK_BEAM : ci->status == LEAF_FILE_UNPARSEABLE ? LK_UNPARSEABLE : LK_CHANGED;
        litem_t *it = lfind(ln, kind, ci->name);
        if (!it && !(it = ladd(ln, kind, ci->name)))
            continue;
        it->seen = 1;
        if (beam)
            snprintf(text, sizeof text, "%s", ci->detail[0] ? ci->detail : "(no description)");
        else if (ci->status == LEAF_FILE_UNPARSEABLE)
            snprintf(text, sizeof text, "no longer parses as the boot reads it (%s): the node "
                     "will not start with this file", ci->detail);
        else if (ci->status == LEAF_FILE_MISSING)
            snprintf(text, sizeof text, "removed since the agent's first look: the node will not "
                     "start without it");
        else
            snprintf(text, sizeof text, "changed since the agent's first look (%s): the node "
                     "starts with the new file at its next restart", ci->detail);
        int sev = beam ? WR_SEV_INDETERMINATE : WR_SEV_MAJOR;
        if (lset(lf, n, ln, it, sev, text, now) != 0 && it->sev == WR_SEV_CLEARED) {
            ln->n--;                                 /* never reported: forget it */
        }
    }
    for (size_t k = 0; k < ln->n;) {
        litem_t *it = &ln->v[k];
        if (it->kind < k0 || it->kind > k1 || it->seen || partial) {
            k++;
            continue;
        }
        snprintf(text, sizeof text, "%s", beam ? "cleared in the node's alarm_handler"
                 : "the file is as at the agent's first look again, or parses again");
        size_t before = ln->n;
        if (lset(lf, n, ln, it, WR_SEV_CLEARED, text, now) != 0 || ln->n == before)
            k++;                                     /* kept: try again next time */
    }
}

void leaf_alarms_on_collect(leaf_t *lf, leaf_node_t *n, const leaf_collect_t *c)
{
    if (!lf->alarms || !n || !c || !n->owned)
        return;
    const leaf_alarms_cfg_t *cfg = &lf->cfg.alarms;
    int64_t now = wr_wall_ms();
    if (c->has_files)
        reconcile_list(lf, n, LK_CHANGED, LK_UNPARSEABLE, c->files,
                       cfg->files_enabled ? c->n_files : 0, 0,
                       cfg->files_enabled && c->files_over > 0, now);
    if (c->has_beam)
        reconcile_list(lf, n, LK_BEAM, LK_BEAM, c->beam, cfg->beam_enabled ? c->n_beam : 0, 1,
                       cfg->beam_enabled && c->beam_over > 0, now);
}

void leaf_alarms_list_release(leaf_t *lf, leaf_node_t *n, const char *text, int64_t now)
{
    lnode_t *ln = lnode(lf, n);
    if (!ln)
        return;
    for (size_t k = 0; k < ln->n;) {
        size_t before = ln->n;
        if (lset(lf, n, ln, &ln->v[k], WR_SEV_CLEARED, text, now) != 0 || ln->n == before)
            k++;
    }
}

int leaf_alarms_list_reload(leaf_t *lf, leaf_node_t *n, const char *name, size_t len,
                            const void *val, size_t vlen, char type[48], char res[256])
{
    const char *hash = memchr(name, '#', len);
    if (!hash || vlen < 9 || vlen >= REC_VAL_MAX)           /* resource < 256 bytes */
        return 0;
    int kind = -1;
    for (int k = 0; k < LK_COUNT; k++)
        if (strlen(lk_types[k]) == (size_t)(hash - name) && !memcmp(lk_types[k], name, (size_t)(hash - name)))
            kind = k;
    const uint8_t *v = val;
    if (kind < 0 || v[0] <= WR_SEV_CLEARED || v[0] >= WR_SEV_COUNT)
        return 0;
    snprintf(type, 48, "%s", lk_types[kind]);
    memcpy(res, v + 9, vlen - 9);
    res[vlen - 9] = '\0';
    lnode_t *ln = lnode(lf, n);
    if (!ln)
        return 1;
    litem_t *it = lfind(ln, kind, res);
    if (!it && !(it = ladd(ln, kind, res)))
        return 1;
    it->sev = v[0];
    memcpy(&it->text_hash, v + 1, 8);
    return 1;
}

uint64_t leaf_alarms_list_active(const leaf_t *lf)
{
    leaf_alarms_list_t *l = leaf_alarms_list_of((leaf_t *)lf);
    uint64_t a = 0;
    for (size_t i = 0; l && i < l->n; i++)
        a += l->nodes[i].n;
    return a;
}

/* ---- helpers shared with leaf_alarms.c -------------------------------------------------- */

/* Moves the ring forward to second sec (zeroing the seconds skipped). */
static void rate_advance(leaf_alarms_rate_t *r, int64_t sec)
{
    if (r->sec == 0 || sec - r->sec >= LEAF_RATE_SECS) {
        memset(r->sm, 0, sizeof r->sm);
        r->sec = sec;
        return;
    }
    while (r->sec < sec) {
        r->sec++;
        for (int t = 0; t < LEAF_SYSMON_COUNT; t++)
            r->sm[t][r->sec % LEAF_RATE_SECS] = 0;
    }
}

double leaf_alarms_rate_sum(leaf_alarms_rate_t *r, int t, int64_t sec)
{
    rate_advance(r, sec);
    double sum = 0;
    for (int i = 0; i < LEAF_RATE_SECS; i++)
        sum += r->sm[t][i];
    return sum;
}

void leaf_alarms_rate_add(leaf_alarms_rate_t *r, const double counts[LEAF_SYSMON_COUNT], int64_t sec)
{
    if (sec < r->sec)
        sec = r->sec;                               /* never backwards */
    rate_advance(r, sec);
    for (int t = 0; t < LEAF_SYSMON_COUNT; t++) {
        double c = counts[t];
        if (!isfinite(c) || c < 0)
            continue;
        double d = r->have ? c - r->last[t] : 0;
        r->last[t] = c;
        if (d <= 0)
            continue;                               /* nothing new, or a restart: a new base */
        uint32_t *slot = &r->sm[t][r->sec % LEAF_RATE_SECS];
        *slot = d + *slot > (double)UINT32_MAX ? UINT32_MAX : *slot + (uint32_t)d;
    }
    r->have = 1;
}

const char *leaf_alarms_num(double v, char *buf, size_t len)
{
    char tmp[32];
    if (!isfinite(v)) {
        snprintf(buf, len, "?");
        return buf;
    }
    snprintf(tmp, sizeof tmp, "%.0f", fabs(v));
    size_t d = strlen(tmp), o = 0;
    if (v < 0 && o + 1 < len)
        buf[o++] = '-';
    for (size_t i = 0; i < d && o + 1 < len; i++) {
        buf[o++] = tmp[i];
        if ((d - i - 1) % 3 == 0 && i + 1 < d && o + 1 < len)
            buf[o++] = ',';
    }
    buf[o] = '\0';
    return buf;
}

const char *leaf_alarms_system_process(const char *name)
{
    static const char *const cluster[] = {
        "pg", "pg2", "global_name_server", "global_group", "global_group_check", "net_kernel",
        "net_sup", "rex", "auth", "erl_epmd", "dist_ac", "erl_distribution", "mnesia_tm",
        "mnesia_locker", "mnesia_controller", "mnesia_recover", "mnesia_monitor", NULL};
    static const char *const otp[] = {
        "logger", "logger_proxy", "logger_sup", "code_server", "application_controller", "init",
        "user", "user_drv", "standard_error", "file_server_2", "erts_code_purger", "kernel_sup",
        "kernel_safe_sup", "inet_db", "erl_prim_loader", "socket_registry", "erl_signal_server",
        "timer_server", "global_lock", NULL};
    if (!name || !name[0])
        return NULL;
    for (int i = 0; cluster[i]; i++)
        if (strcmp(name, cluster[i]) == 0)
            return "a system process of the cluster machinery: a cluster problem, not an "
                   "application one";
    for (int i = 0; otp[i]; i++)
        if (strcmp(name, otp[i]) == 0)
            return "an OTP system process";
    if (strncmp(name, "logger_", 7) == 0)
        return "an OTP system process (logger)";
    return NULL;
}
