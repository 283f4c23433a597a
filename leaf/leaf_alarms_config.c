/* leaf_alarms_config: the leaf.alarms configuration section (docs/CONFIG.md, "Leaf alarms"):
 * per alarm type its enablement, levels, clear levels and delays, with the defaults of
 * docs/ALARMS.md. Every key is optional; errors name the file, the line and the key. */
#include <stdio.h>
#include <string.h>
#include "leaf_alarms.h"
#include "wr_alarm.h"
#include "wr_config.h"
#include "wr_forecast.h"

void leaf_alarms_config_default(leaf_alarms_cfg_t *c)
{
    memset(c, 0, sizeof *c);
    for (int i = LEAF_AL_PROCESS; i <= LEAF_AL_ETS; i++)
        wr_threshold_config_percent(&c->thr[i], 70.0, 85.0);
    wr_threshold_config_percent(&c->thr[LEAF_AL_MODULE], 70.0, 85.0);
    c->thr[LEAF_AL_MODULE].enabled = 0;              /* on once module_limit.limit is set */
    wr_threshold_config_percent(&c->thr[LEAF_AL_MEMORY], 70.0, 85.0);
    wr_threshold_config_absolute(&c->thr[LEAF_AL_MSGQ], 5000.0, 20000.0);
    wr_threshold_config_absolute(&c->thr[LEAF_AL_SHELL], 20.0, 100.0);    /* MB */
    /* old code: single level (any module with old code), minor */
    wr_threshold_config_absolute(&c->thr[LEAF_AL_OLD_CODE], 1.0, 1.0);
    c->thr[LEAF_AL_OLD_CODE].minor_clear = c->thr[LEAF_AL_OLD_CODE].major_clear = 0.5;
    c->thr[LEAF_AL_OLD_CODE].minor_severity = WR_SEV_MINOR;
    c->thr[LEAF_AL_OLD_CODE].major_severity = WR_SEV_MINOR;
    for (int i = LEAF_AL_LONG_GC; i <= LEAF_AL_BUSY_DIST; i++) {
        /* single level, warning: at least 10 events a minute, clear below 5 */
        wr_threshold_config_absolute(&c->thr[i], 10.0, 10.0);
        c->thr[i].minor_clear = c->thr[i].major_clear = 5.0;
        c->thr[i].minor_severity = c->thr[i].major_severity = WR_SEV_WARNING;
    }
    wr_threshold_config_percent(&c->thr[LEAF_AL_FD], 75.0, 90.0);
    /* full mesh: single level, warning at 120 visible nodes, clear below 110 */
    wr_threshold_config_absolute(&c->thr[LEAF_AL_MESH], 120.0, 120.0);
    c->thr[LEAF_AL_MESH].minor_clear = c->thr[LEAF_AL_MESH].major_clear = 110.0;
    c->thr[LEAF_AL_MESH].minor_severity = c->thr[LEAF_AL_MESH].major_severity = WR_SEV_WARNING;
    c->files_enabled = 1;
    c->beam_enabled = 1;
    c->module_limit = 0;
    c->machine_mb = 0;
    c->node_down_enabled = 1;
    c->node_down_grace = 30.0;
    c->forecast_enabled = 1;
    c->forecast_horizon = WR_FORECAST_DEFAULT_HORIZON_S;
    c->forecast_step = 60.0;
    c->forecast_points = WR_FORECAST_DEFAULT_POINTS;
    c->forecast_min_points = WR_FORECAST_MIN_POINTS;
}

/* Reads leaf.alarms.<name>: enabled, <minor|major>[_clear]<suffix>, raise_after, clear_after.
 * percent: default clear levels 5 points below; else 80% of the raise level. levels = 0: only
 * enabled and the delays (single-level alarms with fixed levels). */
static void read_thr(wr_config_t *cfg, const char *name, wr_threshold_config_t *t, int levels,
                     int percent, const char *suffix, double max)
{
    char p[128], q[128];
    snprintf(p, sizeof p, "leaf.alarms.%s", name);
    wr_config_has(cfg, p);              /* an empty group is fine; members are checked */
    snprintf(p, sizeof p, "leaf.alarms.%s.enabled", name);
    wr_config_bool(cfg, p, t->enabled, &t->enabled);
    int64_t v;
    snprintf(p, sizeof p, "leaf.alarms.%s.raise_after", name);
    wr_config_int(cfg, p, t->raise_after, 1, 1000, &v);
    t->raise_after = (uint32_t)v;
    snprintf(p, sizeof p, "leaf.alarms.%s.clear_after", name);
    wr_config_int(cfg, p, t->clear_after, 1, 1000, &v);
    t->clear_after = (uint32_t)v;
    if (levels) {
        snprintf(p, sizeof p, "leaf.alarms.%s.minor%s", name, suffix);
        wr_config_double(cfg, p, t->minor_raise, 0.0, max, &t->minor_raise);
        snprintf(p, sizeof p, "leaf.alarms.%s.major%s", name, suffix);
        wr_config_double(cfg, p, t->major_raise, 0.0, max, &t->major_raise);
        double dmin = percent ? t->minor_raise - WR_THRESHOLD_PERCENT_GAP
                              : t->minor_raise * WR_THRESHOLD_ABSOLUTE_RATIO;
        double dmaj = percent ? t->major_raise - WR_THRESHOLD_PERCENT_GAP
                              : t->major_raise * WR_THRESHOLD_ABSOLUTE_RATIO;
        if (dmin < 0)
            dmin = 0;
        if (dmaj < 0)
            dmaj = 0;
        snprintf(p, sizeof p, "leaf.alarms.%s.minor_clear%s", name, suffix);
        wr_config_double(cfg, p, dmin, 0.0, max, &t->minor_clear);
        snprintf(p, sizeof p, "leaf.alarms.%s.major_clear%s", name, suffix);
        wr_config_double(cfg, p, dmaj, 0.0, max, &t->major_clear);
    }
    char err[256];
    if (wr_threshold_config_check(t, err, sizeof err) != 0) {
        snprintf(q, sizeof q, "leaf.alarms.%s", name);
        wr_config_error(cfg, q, "%s", err);
    }
}

/* Reads leaf.alarms.<name>.rate / clear_rate (events a minute) of a single-level rate alarm. */
static void read_rate(wr_config_t *cfg, const char *name, wr_threshold_config_t *t)
{
    char p[128];
    snprintf(p, sizeof p, "leaf.alarms.%s.rate", name);
    wr_config_double(cfg, p, t->major_raise, 0.0, 1e9, &t->major_raise);
    t->minor_raise = t->major_raise;
    snprintf(p, sizeof p, "leaf.alarms.%s.clear_rate", name);
    wr_config_double(cfg, p, t->major_raise / 2.0, 0.0, 1e9, &t->major_clear);
    t->minor_clear = t->major_clear;
    read_thr(cfg, name, t, 0, 0, "", 0);
}

int leaf_alarms_config_read(wr_config_t *cfg, leaf_alarms_cfg_t *out)
{
    leaf_alarms_cfg_t *c = out;
    leaf_alarms_config_default(c);
    if (wr_config_has(cfg, "leaf.alarms") == 0)
        return 0;
    read_thr(cfg, WR_ALARM_PROCESS_LIMIT, &c->thr[LEAF_AL_PROCESS], 1, 1, "", 100.0);
    read_thr(cfg, WR_ALARM_PORT_LIMIT, &c->thr[LEAF_AL_PORT], 1, 1, "", 100.0);
    read_thr(cfg, WR_ALARM_ATOM_LIMIT, &c->thr[LEAF_AL_ATOM], 1, 1, "", 100.0);
    read_thr(cfg, WR_ALARM_ETS_LIMIT, &c->thr[LEAF_AL_ETS], 1, 1, "", 100.0);
    wr_config_double(cfg, "leaf.alarms.module_limit.limit", 0.0, 0.0, 1e9, &c->module_limit);
    c->thr[LEAF_AL_MODULE].enabled = c->module_limit > 0;
    read_thr(cfg, WR_ALARM_MODULE_LIMIT, &c->thr[LEAF_AL_MODULE], 1, 1, "", 100.0);
    if (c->thr[LEAF_AL_MODULE].enabled && c->module_limit <= 0) {
        wr_config_error(cfg, "leaf.alarms.module_limit.enabled",
                        "needs leaf.alarms.module_limit.limit (the BEAM reports no module limit)");
        c->thr[LEAF_AL_MODULE].enabled = 0;
    }
    wr_config_double(cfg, "leaf.alarms.memory_usage.machine_mb", 0.0, 0.0, 1e9, &c->machine_mb);
    read_thr(cfg, WR_ALARM_MEMORY, &c->thr[LEAF_AL_MEMORY], 1, 1, "", 1000.0);
    read_thr(cfg, WR_ALARM_MESSAGE_QUEUE, &c->thr[LEAF_AL_MSGQ], 1, 0, "", 1e12);
    read_thr(cfg, WR_ALARM_SHELL_SIZE, &c->thr[LEAF_AL_SHELL], 1, 0, "_mb", 1e9);
    read_thr(cfg, WR_ALARM_OLD_CODE, &c->thr[LEAF_AL_OLD_CODE], 0, 0, "", 0);
    read_rate(cfg, WR_ALARM_LONG_GC, &c->thr[LEAF_AL_LONG_GC]);
    read_rate(cfg, WR_ALARM_LARGE_HEAP, &c->thr[LEAF_AL_LARGE_HEAP]);
    read_rate(cfg, WR_ALARM_BUSY_DIST_PORT, &c->thr[LEAF_AL_BUSY_DIST]);
    read_thr(cfg, WR_ALARM_FD_LIMIT, &c->thr[LEAF_AL_FD], 1, 1, "", 100.0);
    wr_threshold_config_t *m = &c->thr[LEAF_AL_MESH];
    wr_config_double(cfg, "leaf.alarms.full_mesh_size.nodes", 120.0, 1.0, 1e6, &m->major_raise);
    m->minor_raise = m->major_raise;
    wr_config_double(cfg, "leaf.alarms.full_mesh_size.clear_nodes", m->major_raise - 10.0 > 0 ?
                     m->major_raise - 10.0 : 0.0, 0.0, 1e6, &m->major_clear);
    m->minor_clear = m->major_clear;
    read_thr(cfg, WR_ALARM_FULL_MESH, m, 0, 0, "", 0);
    wr_config_has(cfg, "leaf.alarms.config_files");
    wr_config_bool(cfg, "leaf.alarms.config_files.enabled", 1, &c->files_enabled);
    wr_config_has(cfg, "leaf.alarms.beam_alarm");
    wr_config_bool(cfg, "leaf.alarms.beam_alarm.enabled", 1, &c->beam_enabled);

    wr_config_has(cfg, "leaf.alarms.node_down");
    wr_config_has(cfg, "leaf.alarms.forecast");
    wr_config_bool(cfg, "leaf.alarms.node_down.enabled", 1, &c->node_down_enabled);
    wr_config_double(cfg, "leaf.alarms.node_down.grace", 30.0, 0.0, 86400.0, &c->node_down_grace);

    int64_t v;
    wr_config_bool(cfg, "leaf.alarms.forecast.enabled", 1, &c->forecast_enabled);
    wr_config_double(cfg, "leaf.alarms.forecast.horizon", WR_FORECAST_DEFAULT_HORIZON_S, 1.0,
                     90.0 * 86400, &c->forecast_horizon);
    wr_config_double(cfg, "leaf.alarms.forecast.step", 60.0, 0.0, 86400.0, &c->forecast_step);
    wr_config_int(cfg, "leaf.alarms.forecast.points", WR_FORECAST_DEFAULT_POINTS, 3,
                  WR_FORECAST_MAX_POINTS, &v);
    c->forecast_points = (uint32_t)v;
    wr_config_int(cfg, "leaf.alarms.forecast.min_points", WR_FORECAST_MIN_POINTS, 2,
                  WR_FORECAST_MAX_POINTS, &v);
    c->forecast_min_points = (uint32_t)v;
    if (c->forecast_min_points > c->forecast_points) {
        wr_config_error(cfg, "leaf.alarms.forecast.min_points", "%u is more than points (%u)",
                        c->forecast_min_points, c->forecast_points);
        c->forecast_min_points = c->forecast_points;
    }
    return 0;
}
