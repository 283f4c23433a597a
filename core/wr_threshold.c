/* wr_threshold: hysteresis state machine for "higher is worse" values (see wr_threshold.h). */
#include <math.h>
#include <stdio.h>
#include "wr_alarm.h"
#include "wr_error.h"
#include "wr_threshold.h"

const char *wr_threshold_transition_name(int tr)
{
    static const char *const names[] = {"none", "raise", "escalate", "deescalate", "clear"};
    return tr >= 0 && tr <= WR_THR_CLEAR ? names[tr] : "?";
}

static void base(wr_threshold_config_t *cfg)
{
    cfg->raise_after = 1;
    cfg->clear_after = 1;
    cfg->minor_severity = WR_SEV_MINOR;
    cfg->major_severity = WR_SEV_MAJOR;
    cfg->enabled = 1;
}

void wr_threshold_config_percent(wr_threshold_config_t *cfg, double minor, double major)
{
    base(cfg);
    cfg->minor_raise = minor;
    cfg->minor_clear = minor - WR_THRESHOLD_PERCENT_GAP;
    cfg->major_raise = major;
    cfg->major_clear = major - WR_THRESHOLD_PERCENT_GAP;
}

void wr_threshold_config_absolute(wr_threshold_config_t *cfg, double minor, double major)
{
    base(cfg);
    cfg->minor_raise = minor;
    cfg->minor_clear = minor * WR_THRESHOLD_ABSOLUTE_RATIO;
    cfg->major_raise = major;
    cfg->major_clear = major * WR_THRESHOLD_ABSOLUTE_RATIO;
}

#define FAIL(...) do { if (err && errlen) snprintf(err, errlen, __VA_ARGS__); return WR_ECONFIG; } while (0)

int wr_threshold_config_check(const wr_threshold_config_t *c, char *err, size_t errlen)
{
    if (!isfinite(c->minor_raise) || !isfinite(c->minor_clear) || !isfinite(c->major_raise) ||
        !isfinite(c->major_clear))
        FAIL("threshold levels must be finite numbers");
    if (c->minor_clear > c->minor_raise)
        FAIL("minor clear level %g is above its raise level %g", c->minor_clear, c->minor_raise);
    if (c->major_clear > c->major_raise)
        FAIL("major clear level %g is above its raise level %g", c->major_clear, c->major_raise);
    if (c->minor_raise > c->major_raise)
        FAIL("minor raise level %g is above the major raise level %g", c->minor_raise, c->major_raise);
    if (c->minor_clear > c->major_clear)
        FAIL("minor clear level %g is above the major clear level %g", c->minor_clear, c->major_clear);
    if (c->minor_severity < WR_SEV_WARNING || c->minor_severity > WR_SEV_CRITICAL ||
        c->major_severity < WR_SEV_WARNING || c->major_severity > WR_SEV_CRITICAL ||
        c->minor_severity > c->major_severity)
        FAIL("threshold severities must be warning..critical, minor <= major");
    return 0;
}

void wr_threshold_state_init(wr_threshold_state_t *st)
{
    st->level = WR_LEVEL_NONE;
    st->above_minor = st->above_major = st->below_minor = st->below_major = 0;
    st->last = NAN;
}

static uint32_t bump(uint32_t n, int cond)
{
    return cond ? (n < UINT32_MAX ? n + 1 : n) : 0;
}

int wr_threshold_feed(const wr_threshold_config_t *cfg, wr_threshold_state_t *st, double v)
{
    if (!cfg->enabled) {
        int was = st->level;
        wr_threshold_state_init(st);
        return was != WR_LEVEL_NONE ? WR_THR_CLEAR : WR_THR_NONE;
    }
    if (isnan(v))
        return WR_THR_NONE;
    st->last = v;
    st->above_minor = bump(st->above_minor, v >= cfg->minor_raise);
    st->above_major = bump(st->above_major, v >= cfg->major_raise);
    st->below_minor = bump(st->below_minor, v < cfg->minor_clear);
    st->below_major = bump(st->below_major, v < cfg->major_clear);
    uint32_t up = cfg->raise_after ? cfg->raise_after : 1;
    uint32_t down = cfg->clear_after ? cfg->clear_after : 1;
    switch (st->level) {
    case WR_LEVEL_NONE:
        if (st->above_major >= up) {
            st->level = WR_LEVEL_MAJOR;
            return WR_THR_RAISE;
        }
        if (st->above_minor >= up) {
            st->level = WR_LEVEL_MINOR;
            return WR_THR_RAISE;
        }
        return WR_THR_NONE;
    case WR_LEVEL_MINOR:
        if (st->above_major >= up) {
            st->level = WR_LEVEL_MAJOR;
            return WR_THR_ESCALATE;
        }
        if (st->below_minor >= down) {
            st->level = WR_LEVEL_NONE;
            return WR_THR_CLEAR;
        }
        return WR_THR_NONE;
    default:
        if (st->below_minor >= down) {
            st->level = WR_LEVEL_NONE;
            return WR_THR_CLEAR;
        }
        if (st->below_major >= down) {
            st->level = WR_LEVEL_MINOR;
            return WR_THR_DEESCALATE;
        }
        return WR_THR_NONE;
    }
}

int wr_threshold_severity(const wr_threshold_config_t *cfg, int level)
{
    if (level == WR_LEVEL_MINOR)
        return cfg->minor_severity;
    if (level == WR_LEVEL_MAJOR)
        return cfg->major_severity;
    return WR_SEV_CLEARED;
}
