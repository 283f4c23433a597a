/* leaf_alarms: the node-level alarm checks of a leaf (see leaf_alarms.h and docs/ALARMS.md).
 *
 * Per node: this round's values of the metrics the checks read, one hysteresis state per
 * threshold check, the trends of the limit series (allocated on first use), and what this
 * leaf has reported upward per check ("slot"). Evaluation computes what should be raised;
 * reconcile() turns every difference from what was reported into one ALARM event. A refused
 * push leaves the slot as it was, so the next evaluation tries again. Reported alarms are
 * persisted in the store's "alarms" database (key: node NUL slot, value: severity byte +
 * resource), reloaded at start: the hysteresis states are seeded from them, so a restarted
 * leaf clears what is no longer true and does not re-raise what it already reported. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "leaf.h"
#include "leaf_alarms.h"
#include "leaf_events.h"
#include "wr_alarm.h"
#include "wr_error.h"
#include "wr_forecast.h"
#include "wr_log.h"
#include "wr_time.h"

/* The metrics the checks read. */
enum {
    W_PROC, W_PROC_LIM, W_PORT, W_PORT_LIM, W_ATOM, W_ATOM_LIM, W_ETS, W_ETS_LIM, W_MODULES,
    W_OLD_CODE, W_MEM, W_OS_SYSTOTAL, W_OS_TOTAL, W_MSGQ_MAX, W_SHELL_MEM, W_DISK_PCT, W_UPTIME,
    W_FD, W_FD_LIM, W_VISIBLE, W_COUNT
};
static const char *const watched[W_COUNT] = {
    "process.count", "process.limit", "port.count", "port.limit", "atom.count", "atom.limit",
    "ets.count", "ets.limit", "module.loaded", "module.old_code", "memory.total",
    "os.memory.system_total_memory", "os.memory.total_memory", "process.message_queue.max",
    "shell.memory", "os.disk.max_used_percent", "uptime", "fd.open", "fd.limit", "dist.visible",
};

/* The forecast series (resource names of limit_forecast). */
enum { FC_ATOMS, FC_PROCESSES, FC_PORTS, FC_ETS, FC_MEMORY, FC_DISK, FC_FDS, FC_COUNT };
static const char *const fc_names[FC_COUNT] = {"atoms", "processes", "ports", "ets", "memory", "disk",
                                               "fds"};

/* Slots: the threshold checks, node_down, one per forecast series. */
#define SLOT_DOWN  LEAF_AL_THR_COUNT
#define SLOT_FC0   (SLOT_DOWN + 1)
#define SLOTS      (SLOT_FC0 + FC_COUNT)
static const char *const thr_types[LEAF_AL_THR_COUNT] = {
    WR_ALARM_PROCESS_LIMIT, WR_ALARM_PORT_LIMIT, WR_ALARM_ATOM_LIMIT, WR_ALARM_ETS_LIMIT,
    WR_ALARM_MODULE_LIMIT, WR_ALARM_MEMORY, WR_ALARM_MESSAGE_QUEUE, WR_ALARM_SHELL_SIZE,
    WR_ALARM_OLD_CODE, WR_ALARM_LONG_GC, WR_ALARM_LARGE_HEAP, WR_ALARM_BUSY_DIST_PORT,
    WR_ALARM_FD_LIMIT, WR_ALARM_FULL_MESH,
};

#define SM_TYPES LEAF_SYSMON_COUNT   /* long_gc, large_heap, busy_dist_port: LEAF_AL_LONG_GC + i */

typedef struct {
    int  sev;                                   /* reported; WR_SEV_CLEARED: nothing */
} rep_t;

typedef struct {
    double   v[W_COUNT];                        /* this round; NaN: absent */
    int      fresh;
    int      has_maxq;
    char     maxq_pid[32], maxq_name[256];
    double   maxq_len;
    wr_threshold_state_t thr[LEAF_AL_THR_COUNT];
    rep_t    rep[SLOTS];
    char     mq_rep[WR_ALARM_RESOURCE_MAX];     /* the reported message_queue resource */
    wr_forecast_series_t *fc;                   /* FC_COUNT, NULL until needed */
    int64_t  fc_last_ms;
    double   last_uptime;
    int64_t  down_since;                        /* mono ms the node was first seen not up; 0 */
    leaf_alarms_rate_t sm;                      /* system monitor events, last minute */
} node_al_t;


struct leaf_alarms {
    node_al_t **nodes;                          /* per node, allocated while it is watched */
    uint8_t   *released;                        /* per node: not owned, released: nothing to redo */
    size_t     n;
    int8_t     map[LEAF_METRICS_MAX];           /* metric index -> W_..., or -1 */
    int        db;                              /* "alarms" database, or -1 */
    ev_periodic down_timer;   /* at lf->tick_phase of each second, with the other 1 s ticks */
    uint64_t    owned_gen;        /* lf->owned_gen when released[] was last brought up to date */
    int         release_retry;    /* a release failed: try again next second */   /* on the wall-clock second, with the leaf's other 1 s ticks */
    int        timer_on;
    int64_t    now_mono;                        /* of the current node_down check */
    leaf_alarms_list_t *list;                   /* files and beam alarms (leaf_alarms_node.c) */
    leaf_alarms_stats_t st;
};

/* Node i's alarm state, allocated at its first use (a watched node), or NULL (no memory). */
static node_al_t *al_get(struct leaf_alarms *la, size_t i)
{
    node_al_t *na = la->nodes[i];
    if (na || !(na = calloc(1, sizeof *na)))
        return na;
    for (int w = 0; w < W_COUNT; w++)
        na->v[w] = NAN;
    for (int s = 0; s < LEAF_AL_THR_COUNT; s++)
        wr_threshold_state_init(&na->thr[s]);
    na->last_uptime = NAN;
    la->nodes[i] = na;
    return na;
}

/* Frees node i's alarm state (a node handed to a sibling keeps none here). */
static void al_free(struct leaf_alarms *la, size_t i)
{
    if (la->nodes[i]) {
        free(la->nodes[i]->fc);
        free(la->nodes[i]);
        la->nodes[i] = NULL;
    }
}

static const char *slot_type(int slot)
{
    if (slot < LEAF_AL_THR_COUNT)
        return thr_types[slot];
    return slot == SLOT_DOWN ? WR_ALARM_NODE_DOWN : WR_ALARM_LIMIT_FORECAST;
}

/* The persisted name of a slot: its type, or "limit_forecast/<series>". */
static void slot_name(int slot, char *buf, size_t len)
{
    if (slot >= SLOT_FC0)
        snprintf(buf, len, "%s/%s", WR_ALARM_LIMIT_FORECAST, fc_names[slot - SLOT_FC0]);
    else
        snprintf(buf, len, "%s", slot_type(slot));
}

static int slot_find(const char *name, size_t len)
{
    char buf[96];
    for (int s = 0; s < SLOTS; s++) {
        slot_name(s, buf, sizeof buf);
        if (strlen(buf) == len && memcmp(buf, name, len) == 0)
            return s;
    }
    return -1;
}

/* The resource reported in slot: the queue's process, a forecast's series, else "". */
static const char *rep_res(const node_al_t *na, int slot)
{
    if (slot == LEAF_AL_MSGQ)
        return na->mq_rep;
    return slot >= SLOT_FC0 ? fc_names[slot - SLOT_FC0] : "";
}

static void rep_set(node_al_t *na, int slot, int sev, const char *resource)
{
    na->rep[slot].sev = sev;
    if (slot == LEAF_AL_MSGQ)
        snprintf(na->mq_rep, sizeof na->mq_rep, "%s", sev == WR_SEV_CLEARED ? "" : resource);
}

/* ---- persistence ------------------------------------------------------------------------ */

static size_t persist_key(const char *node, int slot, uint8_t *key, size_t cap)
{
    char sn[96];
    slot_name(slot, sn, sizeof sn);
    size_t a = strlen(node), b = strlen(sn);
    if (a + 1 + b > cap)
        return 0;
    memcpy(key, node, a);
    key[a] = 0;
    memcpy(key + a + 1, sn, b);
    return a + 1 + b;
}

void leaf_alarms_persist_raw(leaf_t *lf, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct leaf_alarms *la = lf->alarms;
    if (!lf->store || !la || la->db < 0)
        return;
    wr_txn_t *txn = NULL;
    int rc = wr_store_begin(lf->store, 1, &txn);
    if (rc == 0) {
        if (!val) {
            rc = wr_store_del(txn, la->db, key, klen);
            if (rc == WR_ENOTFOUND)
                rc = 0;
        } else {
            rc = wr_store_put(txn, la->db, key, klen, val, vlen);
        }
        if (rc == 0)
            rc = wr_store_commit(&txn);
        wr_store_abort(&txn);
    }
    if (rc)
        WR_WARN("alarms: keeping the alarm %s in the store failed: %s (a restart may not clear "
                "it)", (const char *)key, wr_strerror(rc));
}

static void persist(leaf_t *lf, const char *node, int slot, int sev, const char *resource)
{
    uint8_t key[WR_NODE_NAME_MAX + 100], val[1 + WR_ALARM_RESOURCE_MAX];
    size_t klen = persist_key(node, slot, key, sizeof key);
    if (!klen)
        return;
    size_t rl = strlen(resource);
    if (rl > WR_ALARM_RESOURCE_MAX - 1)
        rl = WR_ALARM_RESOURCE_MAX - 1;
    val[0] = (uint8_t)sev;
    memcpy(val + 1, resource, rl);
    leaf_alarms_persist_raw(lf, key, klen, sev == WR_SEV_CLEARED ? NULL : val, 1 + rl);
}

/* ---- events ----------------------------------------------------------------------------- */

static int emit(leaf_t *lf, const char *scope, const char *type, const char *resource, int sev,
                const char *text, int64_t at_ms)
{
    static wr_event_t ev;    /* large (the notification part): one, reused; loop thread only */
    memset(&ev.id, 0, sizeof ev.id);
    ev.kind = WR_MSG_ALARM;
    int rc = wr_alarm_event_set(&ev.alarm, scope, type, resource, sev, text, at_ms, lf->cfg.id);
    if (rc == 0)
        rc = leaf_events_push(lf, &ev);
    if (rc) {
        lf->alarms->st.push_failed++;
        return rc;
    }
    WR_INFO("alarm %s %s %s%s%s: %s", sev == WR_SEV_CLEARED ? "clear" : wr_alarm_severity_name(sev),
            scope, type, resource[0] ? " " : "", resource, text);
    return 0;
}

int leaf_alarms_emit(leaf_t *lf, const char *scope, const char *type, const char *resource,
                     int sev, int prev_sev, const char *text, int64_t at_ms)
{
    int rc = emit(lf, scope, type, resource, sev, text, at_ms);
    if (rc == 0) {
        struct leaf_alarms *la = lf->alarms;
        if (sev == WR_SEV_CLEARED)
            la->st.cleared++;
        else if (prev_sev == WR_SEV_CLEARED)
            la->st.raised++;
        else
            la->st.updated++;
    }
    return rc;
}

leaf_alarms_list_t *leaf_alarms_list_of(leaf_t *lf)
{
    return lf->alarms ? lf->alarms->list : NULL;
}

/* Makes what is reported in slot of node n match (sev, resource): one event per difference
 * (a change of resource clears the old one first). text is built only when needed. */
typedef void (*text_fn)(leaf_t *lf, const node_al_t *na, int slot, int sev, char *buf, size_t len);

static void reconcile(leaf_t *lf, leaf_node_t *n, int slot, int sev, const char *resource,
                      text_fn fn, int64_t at_ms)
{
    struct leaf_alarms *la = lf->alarms;
    node_al_t *na = al_get(la, n->idx);
    if (!na)
        return;
    rep_t *r = &na->rep[slot];
    const char *type = slot_type(slot);
    if (!resource)
        resource = "";
    if (sev == WR_SEV_CLEARED && r->sev == WR_SEV_CLEARED)
        return;                                 /* the common case, every node every second */
    char old_res[WR_ALARM_RESOURCE_MAX];
    snprintf(old_res, sizeof old_res, "%s", rep_res(na, slot));
    int same_res = strcmp(resource, old_res) == 0;
    if (sev == r->sev && (sev == WR_SEV_CLEARED || same_res))
        return;
    char text[WR_ALARM_TEXT_MAX];
    if (r->sev != WR_SEV_CLEARED && sev != WR_SEV_CLEARED && !same_res) {
        snprintf(text, sizeof text, "no longer the longest: %s", resource[0] ? resource : "?");
        if (emit(lf, n->name, type, old_res, WR_SEV_CLEARED, text, at_ms) != 0)
            return;
        la->st.cleared++;
        rep_set(na, slot, WR_SEV_CLEARED, "");
        persist(lf, n->name, slot, WR_SEV_CLEARED, "");
    }
    text[0] = '\0';
    fn(lf, na, slot, sev, text, sizeof text);
    const char *res = sev == WR_SEV_CLEARED ? old_res : resource;
    if (emit(lf, n->name, type, res, sev, text, at_ms) != 0)
        return;
    if (sev == WR_SEV_CLEARED)
        la->st.cleared++;
    else if (r->sev == WR_SEV_CLEARED)
        la->st.raised++;
    else
        la->st.updated++;
    rep_set(na, slot, sev, resource);
    persist(lf, n->name, slot, sev, resource);
}

/* ---- texts ------------------------------------------------------------------------------ */

#define num leaf_alarms_num

static double machine_bytes(const leaf_t *lf, const node_al_t *na)
{
    if (lf->cfg.alarms.machine_mb > 0)
        return lf->cfg.alarms.machine_mb * 1048576.0;
    if (isfinite(na->v[W_OS_SYSTOTAL]) && na->v[W_OS_SYSTOTAL] > 0)
        return na->v[W_OS_SYSTOTAL];
    if (isfinite(na->v[W_OS_TOTAL]) && na->v[W_OS_TOTAL] > 0)
        return na->v[W_OS_TOTAL];
    return NAN;
}

static void thr_text(leaf_t *lf, const node_al_t *na, int slot, int sev, char *buf, size_t len)
{
    char a[32], b[32];
    const leaf_alarms_cfg_t *c = &lf->cfg.alarms;
    static const struct { int cnt, lim; const char *what; } lims[] = {
        {W_PROC, W_PROC_LIM, "processes"}, {W_PORT, W_PORT_LIM, "ports"},
        {W_ATOM, W_ATOM_LIM, "atoms"}, {W_ETS, W_ETS_LIM, "ets tables"}};
    double v = na->thr[slot < LEAF_AL_THR_COUNT ? slot : 0].last;
    const char *state = sev == WR_SEV_CLEARED ? "back below the clear level: " : "";
    if (slot < LEAF_AL_THR_COUNT && !c->thr[slot].enabled) {
        snprintf(buf, len, "alarm disabled in the configuration");
        return;
    }
    switch (slot) {
    case LEAF_AL_PROCESS:
    case LEAF_AL_PORT:
    case LEAF_AL_ATOM:
    case LEAF_AL_ETS:
        snprintf(buf, len, "%s%s %s/%s (%.1f%% of the limit)", state, lims[slot].what,
                 num(na->v[lims[slot].cnt], a, sizeof a), num(na->v[lims[slot].lim], b, sizeof b), v);
        break;
    case LEAF_AL_MODULE:
        snprintf(buf, len, "%smodules loaded %s/%s (%.1f%% of the configured limit)", state,
                 num(na->v[W_MODULES], a, sizeof a), num(c->module_limit, b, sizeof b), v);
        break;
    case LEAF_AL_MEMORY:
        snprintf(buf, len, "%sBEAM memory %.1f MB of %.1f MB machine memory (%.1f%%)", state,
                 na->v[W_MEM] / 1048576.0, machine_bytes(lf, na) / 1048576.0, v);
        break;
    case LEAF_AL_MSGQ: {
        int named = na->has_maxq && na->maxq_pid[0];
        const char *sys = named ? leaf_alarms_system_process(na->maxq_name) : NULL;
        char who[300] = "";
        if (named)
            snprintf(who, sizeof who, "%s%s%s%s", na->maxq_pid, na->maxq_name[0] ? " (" : "",
                     na->maxq_name, na->maxq_name[0] ? ")" : "");
        if (sev == WR_SEV_CLEARED)
            snprintf(buf, len, "%sthe longest message queue now holds %s messages%s%s", state,
                     num(v, a, sizeof a), named ? ", in " : "", who);
        else if (named)
            snprintf(buf, len, "message queue %s messages in %s%s%s", num(v, a, sizeof a), who,
                     sys ? ": " : "", sys ? sys : "");
        else
            snprintf(buf, len, "longest message queue %s messages (process not known: agentless)",
                     num(v, a, sizeof a));
        break;
    }
    case LEAF_AL_SHELL:
        snprintf(buf, len, "%sshell processes hold %.1f MB (results of past commands are kept: "
                 "v(N), f())", state, v);
        break;
    case LEAF_AL_LONG_GC:
    case LEAF_AL_LARGE_HEAP:
    case LEAF_AL_BUSY_DIST:
        snprintf(buf, len, "%s%s system monitor %s events in the last minute%s", state,
                 num(v, a, sizeof a), thr_types[slot],
                 slot == LEAF_AL_BUSY_DIST ? " (senders to a peer were suspended: see the "
                 "busy_dist_port notifications for the peer)" : "");
        break;
    case LEAF_AL_FD:
        snprintf(buf, len, "%sfile descriptors %s/%s (%.1f%% of the process's limit, ulimit -n)",
                 state, num(na->v[W_FD], a, sizeof a), num(na->v[W_FD_LIM], b, sizeof b), v);
        break;
    case LEAF_AL_MESH:
        snprintf(buf, len, "%s%s visible nodes connected (warning at %s): a full mesh this size "
                 "strains distribution and global", state, num(v, a, sizeof a),
                 num(c->thr[slot].major_raise, b, sizeof b));
        break;
    case LEAF_AL_OLD_CODE:
        snprintf(buf, len, "%s%s module(s) with old code: the next load of one kills the processes "
                 "still running it", state, num(v, a, sizeof a));
        break;
    default:
        snprintf(buf, len, "?");
    }
}

static void down_text(leaf_t *lf, const node_al_t *na, int slot, int sev, char *buf, size_t len)
{
    (void)slot;
    if (sev == WR_SEV_CLEARED)
        snprintf(buf, len, "node reachable again from leaf %s", lf->cfg.id);
    else
        snprintf(buf, len, "node unreachable from leaf %s for %.0f s", lf->cfg.id,
                 (double)(lf->alarms->now_mono - na->down_since) / 1000.0);
}

static void release_text(leaf_t *lf, const node_al_t *na, int slot, int sev, char *buf, size_t len)
{
    (void)na;
    (void)slot;
    (void)sev;
    snprintf(buf, len, "node no longer watched by leaf %s (taken over or removed)", lf->cfg.id);
}

/* limit_forecast: the text is computed by eval_forecast before reconcile. */
static char fc_text_buf[WR_ALARM_TEXT_MAX];
static void fc_text(leaf_t *lf, const node_al_t *na, int slot, int sev, char *buf, size_t len)
{
    (void)lf;
    (void)na;
    (void)slot;
    if (sev == WR_SEV_CLEARED)
        snprintf(buf, len, "no exhaustion projected within the horizon: %s", fc_text_buf);
    else
        snprintf(buf, len, "%s", fc_text_buf);
}

/* ---- evaluation ------------------------------------------------------------------------- */

static double pct(double count, double limit)
{
    if (!isfinite(count) || !isfinite(limit) || limit <= 0)
        return NAN;
    return 100.0 * count / limit;
}

static void eval_forecast(leaf_t *lf, leaf_node_t *n, node_al_t *na, int64_t ts, int64_t now)
{
    const leaf_alarms_cfg_t *c = &lf->cfg.alarms;
    if (!c->forecast_enabled) {
        for (int f = 0; f < FC_COUNT; f++)
            reconcile(lf, n, SLOT_FC0 + f, WR_SEV_CLEARED, "", fc_text, now);
        return;
    }
    if (!na->fc) {
        na->fc = calloc(FC_COUNT, sizeof *na->fc);
        if (!na->fc)
            return;
        for (int f = 0; f < FC_COUNT; f++)
            wr_forecast_init(&na->fc[f], c->forecast_points, f == FC_ATOMS);
    }
    if (isfinite(na->v[W_UPTIME])) {
        if (isfinite(na->last_uptime) && na->v[W_UPTIME] < na->last_uptime)
            for (int f = 0; f < FC_COUNT; f++)
                wr_forecast_reset(&na->fc[f]);      /* the node restarted */
        na->last_uptime = na->v[W_UPTIME];
    }
    double step_ms = c->forecast_step * 1000.0;
    if (step_ms < lf->cfg.interval * 1000.0 * 0.9)
        step_ms = lf->cfg.interval * 1000.0 * 0.9;
    int add = na->fc_last_ms == 0 || (double)(ts - na->fc_last_ms) >= step_ms;
    const double vals[FC_COUNT] = {na->v[W_ATOM], na->v[W_PROC], na->v[W_PORT], na->v[W_ETS],
                                   na->v[W_MEM], na->v[W_DISK_PCT], na->v[W_FD]};
    const double lims[FC_COUNT] = {na->v[W_ATOM_LIM], na->v[W_PROC_LIM], na->v[W_PORT_LIM],
                                   na->v[W_ETS_LIM], machine_bytes(lf, na), 100.0, na->v[W_FD_LIM]};
    if (add)
        na->fc_last_ms = ts;
    for (int f = 0; f < FC_COUNT; f++) {
        if (!isfinite(vals[f]))
            continue;
        if (add)
            wr_forecast_add(&na->fc[f], ts, vals[f]);
        if (!isfinite(lims[f]) || lims[f] <= 0)
            continue;
        wr_forecast_t fr;
        if (wr_forecast_eval(&na->fc[f], lims[f], c->forecast_min_points, &fr) != 0)
            continue;
        int slot = SLOT_FC0 + f;
        int raised = na->rep[slot].sev != WR_SEV_CLEARED;
        int sev = raised ? na->rep[slot].sev : WR_SEV_CLEARED;
        if (fr.status == WR_FORECAST_FEW_POINTS)
            continue;                               /* no opinion: keep what is reported */
        if (wr_forecast_within(&fr, c->forecast_horizon))
            sev = WR_SEV_WARNING;
        else if (raised && (fr.status == WR_FORECAST_FLAT ||
                            !wr_forecast_within(&fr, c->forecast_horizon * 1.25)))
            sev = WR_SEV_CLEARED;                   /* a margin so it does not flap */
        if (sev != na->rep[slot].sev)
            wr_forecast_text(&fr, fc_names[f], fc_text_buf, sizeof fc_text_buf);
        reconcile(lf, n, slot, sev, fc_names[f], fc_text, now);
    }
}

void leaf_alarms_on_sysmon(leaf_t *lf, leaf_node_t *n, const double counts[3], int64_t now_mono_ms)
{
    struct leaf_alarms *la = lf->alarms;
    node_al_t *na = la && n && n->idx < la->n && counts ? al_get(la, n->idx) : NULL;
    if (na)
        leaf_alarms_rate_add(&na->sm, counts, now_mono_ms / 1000);
}

static void eval_node(leaf_t *lf, leaf_node_t *n, node_al_t *na, int64_t ts, int64_t now)
{
    const leaf_alarms_cfg_t *c = &lf->cfg.alarms;
    double val[LEAF_AL_THR_COUNT];
    val[LEAF_AL_PROCESS] = pct(na->v[W_PROC], na->v[W_PROC_LIM]);
    val[LEAF_AL_PORT] = pct(na->v[W_PORT], na->v[W_PORT_LIM]);
    val[LEAF_AL_ATOM] = pct(na->v[W_ATOM], na->v[W_ATOM_LIM]);
    val[LEAF_AL_ETS] = pct(na->v[W_ETS], na->v[W_ETS_LIM]);
    val[LEAF_AL_MODULE] = pct(na->v[W_MODULES], c->module_limit);
    val[LEAF_AL_MEMORY] = pct(na->v[W_MEM], machine_bytes(lf, na));
    val[LEAF_AL_MSGQ] = na->has_maxq ? na->maxq_len : na->v[W_MSGQ_MAX];
    val[LEAF_AL_SHELL] = isfinite(na->v[W_SHELL_MEM]) ? na->v[W_SHELL_MEM] / 1048576.0 : NAN;
    val[LEAF_AL_OLD_CODE] = na->v[W_OLD_CODE];
    val[LEAF_AL_FD] = pct(na->v[W_FD], na->v[W_FD_LIM]);
    val[LEAF_AL_MESH] = na->v[W_VISIBLE];
    for (int t = 0; t < SM_TYPES; t++)
        val[LEAF_AL_LONG_GC + t] = leaf_alarms_rate_sum(&na->sm, t, lf->alarms->now_mono / 1000);
    char mq_res[WR_ALARM_RESOURCE_MAX];
    int named = na->has_maxq && na->maxq_pid[0];
    if (named)
        snprintf(mq_res, sizeof mq_res, "%s%s%s", na->maxq_pid, na->maxq_name[0] ? " " : "",
                 na->maxq_name);
    else
        mq_res[0] = '\0';
    for (int s = 0; s < LEAF_AL_THR_COUNT; s++) {
        wr_threshold_feed(&c->thr[s], &na->thr[s], val[s]);
        int sev = wr_threshold_severity(&c->thr[s], na->thr[s].level);
        /* the queue alarm names the process; a round without the name keeps the reported one */
        const char *res = s == LEAF_AL_MSGQ && named ? mq_res : rep_res(na, s);
        reconcile(lf, n, s, sev, res, thr_text, now);
    }
    eval_forecast(lf, n, na, ts, now);
    lf->alarms->st.evaluations++;
}

/* Clears what was reported for a node this leaf no longer watches and frees its state.
 * Returns 1 when everything is cleared, 0 when a clear could not be sent (retried). */
static int release_node(leaf_t *lf, leaf_node_t *n, int64_t now)
{
    struct leaf_alarms *la = lf->alarms;
    node_al_t *na = la->nodes[n->idx];
    int done = 1;
    for (int s = 0; na && s < SLOTS; s++)
        if (na->rep[s].sev != WR_SEV_CLEARED)
            reconcile(lf, n, s, WR_SEV_CLEARED, "", release_text, now);
    char text[WR_ALARM_TEXT_MAX];
    release_text(lf, na, 0, WR_SEV_CLEARED, text, sizeof text);
    leaf_alarms_list_release(lf, n, text, now);
    for (int s = 0; na && s < SLOTS; s++)
        if (na->rep[s].sev != WR_SEV_CLEARED)
            done = 0;
    if (done)
        al_free(la, n->idx);
    return done;
}

void leaf_alarms_check_down(leaf_t *lf, int64_t now_mono, int64_t now)
{
    struct leaf_alarms *la = lf->alarms;
    if (!la)
        return;
    const leaf_alarms_cfg_t *c = &lf->cfg.alarms;
    la->now_mono = now_mono;
    size_t n_owned;
    const uint32_t *owned = leaf_owned_nodes(lf, &n_owned);
    if (la->owned_gen != lf->owned_gen || la->release_retry) {
        /* ownership changed (or a release failed): once per hand-over, not every second */
        la->owned_gen = lf->owned_gen;
        la->release_retry = 0;
        for (size_t i = 0; i < la->n && i < lf->n_nodes; i++) {
            if (lf->nodes[i].owned)
                la->released[i] = 0;
            else if (!la->released[i] || la->nodes[i]) {     /* alarm state: owned briefly */
                la->released[i] = (uint8_t)release_node(lf, &lf->nodes[i], now);
                la->release_retry |= !la->released[i];
            }
        }
    }
    for (size_t k = 0; k < n_owned; k++) {
        size_t i = owned[k];
        if (i >= la->n)
            continue;
        leaf_node_t *n = &lf->nodes[i];
        node_al_t *na = al_get(la, i);
        if (!na)
            continue;
        int sev = WR_SEV_CLEARED;
        if (n->state == WR_NODE_UP) {
            na->down_since = 0;
        } else {
            if (na->down_since == 0)
                na->down_since = now_mono;
            if (c->node_down_enabled && now_mono - na->down_since >= (int64_t)(c->node_down_grace * 1000.0))
                sev = WR_SEV_MAJOR;
            else
                sev = na->rep[SLOT_DOWN].sev;       /* within the grace: keep what is reported */
            if (!c->node_down_enabled)
                sev = WR_SEV_CLEARED;
        }
        reconcile(lf, n, SLOT_DOWN, sev, "", down_text, now);
    }
}

void leaf_alarms_eval(leaf_t *lf, int64_t now)
{
    struct leaf_alarms *la = lf->alarms;
    if (!la)
        return;
    la->now_mono = wr_mono_ms();
    int64_t ts_max = 0;
    for (size_t i = 0; i < lf->n_pending; i++) {
        const leaf_sample_t *s = &lf->pending[i];
        if (s->node >= la->n || s->metric >= LEAF_METRICS_MAX)
            continue;
        int w = la->map[s->metric];
        if (w < 0)
            continue;
        node_al_t *na = al_get(la, s->node);
        if (!na)
            continue;
        na->v[w] = s->value;
        na->fresh = 1;
        if (s->ts_ms > ts_max)
            ts_max = s->ts_ms;
    }
    for (size_t i = 0; i < la->n && i < lf->n_nodes; i++) {
        leaf_node_t *n = &lf->nodes[i];
        node_al_t *na = la->nodes[i];
        if (!na)
            continue;
        if ((na->fresh || na->has_maxq) && n->owned && n->state == WR_NODE_UP)
            eval_node(lf, n, na, n->round_ts > 0 ? n->round_ts : (ts_max ? ts_max : now),
                      wr_wall_ms());   /* raise/clear stamped when evaluated, not the tick's start */
        for (int w = 0; w < W_COUNT; w++)
            na->v[w] = NAN;
        na->fresh = 0;
        na->has_maxq = 0;
    }
    leaf_alarms_check_down(lf, la->now_mono, now);
}

void leaf_alarms_on_maxq(leaf_t *lf, leaf_node_t *n, const char *pid, const char *name, double len)
{
    struct leaf_alarms *la = lf->alarms;
    node_al_t *na = la && n->idx < la->n && pid && isfinite(len) ? al_get(la, n->idx) : NULL;
    if (!na)
        return;
    /* per node per poll: a bounded copy, not snprintf */
    size_t lp = strnlen(pid, sizeof na->maxq_pid - 1);
    size_t ln = name ? strnlen(name, sizeof na->maxq_name - 1) : 0;
    memcpy(na->maxq_pid, pid, lp);
    na->maxq_pid[lp] = '\0';
    if (ln)
        memcpy(na->maxq_name, name, ln);
    na->maxq_name[ln] = '\0';
    na->maxq_len = len;
    na->has_maxq = 1;
}

/* ---- start / stop ----------------------------------------------------------------------- */

/* A record to clear and delete after the scan (no write while the read txn is open). */
typedef struct {
    uint8_t key[WR_NODE_NAME_MAX + 100];
    size_t  klen;
    int     slot;                              /* -1: not understood, deleted only */
    char    type[WR_ALARM_TYPE_MAX];           /* slot -1: a list alarm's type, or "" */
    char    res[WR_ALARM_RESOURCE_MAX];
} stale_t;

typedef struct {
    leaf_t  *lf;
    stale_t *stale;
    size_t   n_stale, cap;
} reload_t;

static int reload_visit(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
    reload_t *rl = ud;
    leaf_t *lf = rl->lf;
    const char *k = key;
    const char *nul = memchr(k, 0, klen);
    int sev = vlen >= 1 ? ((const uint8_t *)val)[0] : -1;
    char res[WR_ALARM_RESOURCE_MAX] = "";
    if (vlen > 1 && vlen - 1 < sizeof res) {
        memcpy(res, (const char *)val + 1, vlen - 1);
        res[vlen - 1] = '\0';
    }
    leaf_node_t *n = nul ? leaf_node_find(lf, k, (size_t)(nul - k)) : NULL;
    int slot = nul ? slot_find(nul + 1, klen - (size_t)(nul - k) - 1) : -1;
    if (n && n->idx < lf->alarms->n && slot >= 0 && sev > WR_SEV_CLEARED && sev < WR_SEV_COUNT) {
        node_al_t *na = al_get(lf->alarms, n->idx);
        if (!na)
            return 0;
        rep_set(na, slot, sev, res);
        if (slot < LEAF_AL_THR_COUNT) {
            const wr_threshold_config_t *t = &lf->cfg.alarms.thr[slot];
            na->thr[slot].level = sev >= t->major_severity ? WR_LEVEL_MAJOR : WR_LEVEL_MINOR;
        }
        lf->alarms->st.reloaded++;
        return 0;
    }
    char ltype[WR_ALARM_TYPE_MAX] = "";
    if (nul && slot < 0 && leaf_alarms_list_reload(lf, n, nul + 1, klen - (size_t)(nul - k) - 1,
                                                   val, vlen, ltype, res) && n)
        return 0;                                   /* a list alarm of a watched node */
    /* a node this leaf no longer watches, or a record it does not understand: clear it */
    if (klen > sizeof rl->stale[0].key)
        return 0;
    if (rl->n_stale == rl->cap) {
        size_t cap = rl->cap ? rl->cap * 2 : 16;
        stale_t *p = realloc(rl->stale, cap * sizeof *p);
        if (!p)
            return 0;
        rl->stale = p;
        rl->cap = cap;
    }
    stale_t *st = &rl->stale[rl->n_stale++];
    memcpy(st->key, key, klen);
    st->klen = klen;
    st->slot = nul && (size_t)(nul - k) < WR_NODE_NAME_MAX ? slot : -1;
    memcpy(st->res, res, sizeof st->res);
    memcpy(st->type, ltype, sizeof st->type);
    return 0;
}

static void reload(leaf_t *lf)
{
    struct leaf_alarms *la = lf->alarms;
    if (!lf->store || la->db < 0)
        return;
    reload_t *rl = calloc(1, sizeof *rl);
    if (!rl)
        return;
    rl->lf = lf;
    int64_t now = wr_wall_ms();
    wr_txn_t *txn = NULL;
    /* read everything first: emit() writes the outbox in its own write transaction */
    if (wr_store_begin(lf->store, 0, &txn) == 0) {
        int rc = wr_store_scan(txn, la->db, NULL, 0, NULL, 0, reload_visit, rl);
        wr_store_abort(&txn);
        if (rc)
            WR_WARN("alarms: reading the reported alarms failed: %s", wr_strerror(rc));
    }
    size_t gone = 0;
    for (size_t i = 0; i < rl->n_stale; i++) {
        stale_t *st = &rl->stale[i];
        if (st->slot >= 0 || st->type[0]) {
            if (emit(lf, (const char *)st->key, st->slot >= 0 ? slot_type(st->slot) : st->type,
                     st->res, WR_SEV_CLEARED,
                     "node no longer configured at this leaf", now) != 0)
                continue;                           /* kept: tried again at the next start */
            la->st.cleared++;
        }
        if (wr_store_begin(lf->store, 1, &txn) == 0) {
            wr_store_del(txn, la->db, st->key, st->klen);
            if (wr_store_commit(&txn) != 0)
                wr_store_abort(&txn);
        }
        gone++;
    }
    if (la->st.reloaded || rl->n_stale)
        WR_INFO("alarms: %llu reported alarm(s) reloaded, %zu of nodes no longer watched cleared",
                (unsigned long long)la->st.reloaded, gone);
    free(rl->stale);
    free(rl);
}

static void on_down_timer(struct ev_loop *loop, ev_periodic *w, int revents)
{
    (void)loop;
    (void)revents;
    leaf_alarms_check_down(w->data, wr_mono_ms(), wr_wall_ms());
}

int leaf_alarms_init(leaf_t *lf, char *err, size_t errlen)
{
    struct leaf_alarms *la = calloc(1, sizeof *la);
    if (!la || !(la->nodes = calloc(lf->n_nodes ? lf->n_nodes : 1, sizeof *la->nodes)) ||
        !(la->released = calloc(lf->n_nodes ? lf->n_nodes : 1, 1))) {
        if (la)
            free(la->nodes);
        free(la);
        snprintf(err, errlen, "alarms: out of memory");
        return WR_ENOMEM;
    }
    la->n = lf->n_nodes;
    memset(la->map, -1, sizeof la->map);
    for (int w = 0; w < W_COUNT; w++) {
        int m = wr_metric_find(watched[w]);
        if (m >= 0 && m < LEAF_METRICS_MAX)
            la->map[m] = (int8_t)w;
    }
    lf->alarms = la;
    la->list = leaf_alarms_list_new(la->n);
    if (!la->list) {
        free(la->nodes);
        free(la->released);
        free(la);
        lf->alarms = NULL;
        snprintf(err, errlen, "alarms: out of memory");
        return WR_ENOMEM;
    }
    la->db = lf->store ? wr_store_db(lf->store, "alarms") : -1;
    if (lf->store && la->db < 0) {
        la->db = -1;
        WR_WARN("alarms: the store has no \"alarms\" database: reported alarms are not kept "
                "across restarts");
    }
    reload(lf);
    if (lf->loop) {
        ev_periodic_init(&la->down_timer, on_down_timer, lf->tick_phase, 1.0, 0);
        la->down_timer.data = lf;
        ev_periodic_start(lf->loop, &la->down_timer);
        la->timer_on = 1;
    }
    return 0;
}

void leaf_alarms_fini(leaf_t *lf)
{
    struct leaf_alarms *la = lf->alarms;
    if (!la)
        return;
    if (la->timer_on)
        ev_periodic_stop(lf->loop, &la->down_timer);
    for (size_t i = 0; i < la->n; i++)
        al_free(la, i);
    leaf_alarms_list_free(&la->list);
    free(la->nodes);
    free(la->released);
    free(la);
    lf->alarms = NULL;
}

void leaf_alarms_stats(const leaf_t *lf, leaf_alarms_stats_t *out)
{
    memset(out, 0, sizeof *out);
    const struct leaf_alarms *la = lf->alarms;
    if (!la)
        return;
    *out = la->st;
    out->active = 0;
    for (size_t i = 0; i < la->n; i++)
        for (int s = 0; la->nodes[i] && s < SLOTS; s++)
            if (la->nodes[i]->rep[s].sev != WR_SEV_CLEARED)
                out->active++;
    out->active += leaf_alarms_list_active(lf);
}
