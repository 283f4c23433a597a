/* wr_threshold: hysteresis evaluation of one "higher is worse" value per alarm key.
 *
 * Two levels, minor and major, each with a raise level and a lower clear level, so a value
 * hovering around a level does not flap: at 70/65 a value going 71, 69, 71, 69 raises once and
 * stays raised until it falls below 65. Optional delays: a transition up happens only after
 * raise_after consecutive intervals beyond its raise level, a transition down only after
 * clear_after consecutive intervals below its clear level (1 = at once).
 *
 * Levels (state machine; v = the value fed this interval):
 *   none  -> major  when v >= major_raise   (for raise_after intervals)
 *   none  -> minor  when v >= minor_raise   (for raise_after intervals)
 *   minor -> major  when v >= major_raise   (escalate)
 *   minor -> none   when v <  minor_clear   (for clear_after intervals: clear)
 *   major -> none   when v <  minor_clear   (clear, straight down)
 *   major -> minor  when v <  major_clear   (de-escalate)
 * A single-level alarm sets minor_* equal to major_* (it then only ever is none or major).
 *
 * Pure: no allocation, no clock. The state is a plain struct the caller embeds per key (per
 * node and metric), zeroed (or wr_threshold_state_init) to start at "none". */
#ifndef WR_THRESHOLD_H
#define WR_THRESHOLD_H
#include <stddef.h>
#include <stdint.h>

/* Documented defaults (docs/ALARMS.md). Percent metrics clear 5 points below the raise level;
 * absolute metrics (message queue length, bytes) clear at 80% of the raise level. */
#define WR_THRESHOLD_PERCENT_GAP     5.0
#define WR_THRESHOLD_ABSOLUTE_RATIO  0.8

typedef struct {
    double   minor_raise, minor_clear;   /* raise at >= minor_raise, clear at < minor_clear */
    double   major_raise, major_clear;
    uint32_t raise_after;                /* consecutive intervals; 0 is taken as 1 */
    uint32_t clear_after;                /* consecutive intervals; 0 is taken as 1 */
    int      minor_severity;             /* wr_severity_t reported for the minor level (MINOR) */
    int      major_severity;             /* wr_severity_t reported for the major level (MAJOR) */
    int      enabled;                    /* 0: never raises; a raised state clears */
} wr_threshold_config_t;

enum { WR_LEVEL_NONE = 0, WR_LEVEL_MINOR = 1, WR_LEVEL_MAJOR = 2 };

typedef struct {
    uint8_t  level;              /* WR_LEVEL_... (read-only for the caller) */
    uint32_t above_minor;        /* consecutive intervals with v >= minor_raise */
    uint32_t above_major;        /* ... v >= major_raise */
    uint32_t below_minor;        /* ... v <  minor_clear */
    uint32_t below_major;        /* ... v <  major_clear */
    double   last;               /* the last value fed (NaN before any) */
} wr_threshold_state_t;

typedef enum {
    WR_THR_NONE = 0,        /* no change */
    WR_THR_RAISE = 1,       /* none -> minor or major */
    WR_THR_ESCALATE = 2,    /* minor -> major */
    WR_THR_DEESCALATE = 3,  /* major -> minor */
    WR_THR_CLEAR = 4        /* minor or major -> none */
} wr_threshold_transition_t;

/* "none" | "raise" | "escalate" | "deescalate" | "clear" | "?" */
const char *wr_threshold_transition_name(int tr);

/* Config for a percent-of-limit metric: raise at minor/major, clear WR_THRESHOLD_PERCENT_GAP
 * points lower (70/85 -> clear below 65/80), no delays, enabled, MINOR/MAJOR. */
void wr_threshold_config_percent(wr_threshold_config_t *cfg, double minor, double major);
/* Config for an absolute metric: clear at WR_THRESHOLD_ABSOLUTE_RATIO of each raise level
 * (5,000/20,000 -> clear below 4,000/16,000), otherwise as above. */
void wr_threshold_config_absolute(wr_threshold_config_t *cfg, double minor, double major);

/* 0 if cfg is consistent: finite levels, minor_clear <= minor_raise, major_clear <=
 * major_raise, minor_raise <= major_raise, minor_clear <= major_clear, severities in
 * WARNING..CRITICAL with minor_severity <= major_severity. Else WR_ECONFIG and a reason in err
 * (may be NULL). */
int wr_threshold_config_check(const wr_threshold_config_t *cfg, char *err, size_t errlen);

/* Starts state at "none". */
void wr_threshold_state_init(wr_threshold_state_t *st);

/* Feeds this interval's value; returns the transition (st->level is the new level).
 * A NaN value means "no sample this interval": nothing changes (counters kept). */
int wr_threshold_feed(const wr_threshold_config_t *cfg, wr_threshold_state_t *st, double value);

/* The severity of level under cfg: WR_SEV_CLEARED for none, else minor/major_severity. */
int wr_threshold_severity(const wr_threshold_config_t *cfg, int level);

#endif
