/* wr_forecast: time to exhaustion of a limit metric (atoms, processes, ports, ets tables,
 * memory, file descriptors, disk) from its recent trend, for the limit_forecast alarm.
 *
 * Each series keeps a bounded window (ring buffer, at most WR_FORECAST_MAX_POINTS) of
 * (t, value). The trend is the Theil-Sen slope: the median of the slopes of all pairs of
 * points. Why not least squares: one outlier (a burst of short-lived processes, a memory peak
 * before a major GC) drags a least-squares slope arbitrarily far, and a forecast alarm that
 * fires on one spike is noise; Theil-Sen ignores up to ~29% of wild points, and with the window
 * capped at 64 points it costs at most 2,016 slopes and an O(n) selection per evaluation.
 * The projection starts from the fitted line at the newest point (the median of
 * v_i - slope * t_i, plus slope * t_newest) and runs until it meets the limit.
 *
 * Resets: a monotone series (atoms: the atom table never shrinks) restarts its window whenever
 * the value drops, since a drop can only mean the node restarted. Any series may be reset by
 * the caller (a node restart seen another way). Monotone series also help: with no downs,
 * any sustained growth is a leak, so an atom leak is caught at 5% of the limit as surely as at
 * 60%, hours or days before the 70% threshold alarm.
 *
 * Pure: no allocation (the series is a plain struct the caller embeds), no clock, no I/O. */
#ifndef WR_FORECAST_H
#define WR_FORECAST_H
#include <stddef.h>
#include <stdint.h>

#define WR_FORECAST_MAX_POINTS   64
#define WR_FORECAST_DEFAULT_POINTS 60     /* e.g. one hour at 1/min, one minute at 1/s */
#define WR_FORECAST_MIN_POINTS   10       /* fewer points: no opinion */
#define WR_FORECAST_DEFAULT_HORIZON_S 3600.0

typedef struct {
    int64_t  t_ms[WR_FORECAST_MAX_POINTS];
    double   v[WR_FORECAST_MAX_POINTS];
    uint16_t cap;        /* window size, 2..WR_FORECAST_MAX_POINTS */
    uint16_t n;          /* points held */
    uint16_t head;       /* index of the oldest point */
    uint8_t  monotone;   /* 1: a drop restarts the window */
    uint32_t resets;     /* window restarts (automatic and by the caller) */
} wr_forecast_series_t;

typedef enum {
    WR_FORECAST_FEW_POINTS = 0,  /* not enough points to say anything */
    WR_FORECAST_FLAT = 1,        /* the trend is flat or going down: no exhaustion in sight */
    WR_FORECAST_ETA = 2,         /* the limit is projected eta_s seconds after the newest point */
    WR_FORECAST_REACHED = 3      /* the newest value is already at or over the limit */
} wr_forecast_status_t;

typedef struct {
    int    status;       /* wr_forecast_status_t */
    size_t points;       /* points used */
    double last;         /* the newest value */
    double fitted;       /* the trend line at the newest point */
    double limit;
    double slope_per_s;  /* value units per second (Theil-Sen) */
    double eta_s;        /* with WR_FORECAST_ETA: seconds until the limit (>= 0) */
} wr_forecast_t;

/* Starts an empty series with a window of capacity points (clamped to 2..MAX; 0 = DEFAULT).
 * monotone != 0 for a counter that never goes down except on restart (atoms). */
void wr_forecast_init(wr_forecast_series_t *s, size_t capacity, int monotone);
/* Empties the window (e.g. the node restarted), counting a reset. */
void wr_forecast_reset(wr_forecast_series_t *s);

/* Adds a point, evicting the oldest when the window is full. A monotone series whose value
 * drops restarts its window with this point. Returns 0, or WR_EINVAL (value not finite, or
 * t_ms not after the newest point's: the point is ignored). */
int wr_forecast_add(wr_forecast_series_t *s, int64_t t_ms, double value);

/* Evaluates the series against limit (> 0) with at least min_points points (0 =
 * WR_FORECAST_MIN_POINTS, at least 2). Fills out; returns 0 or WR_EINVAL (limit not > 0). */
int wr_forecast_eval(const wr_forecast_series_t *s, double limit, size_t min_points,
                     wr_forecast_t *out);

/* 1 if f projects the limit within horizon_s seconds (or has reached it), else 0. */
int wr_forecast_within(const wr_forecast_t *f, double horizon_s);

/* Writes the projection for people into buf, e.g.
 * "atoms 412,331/1,048,576, +1,200/min: limit in 8.8 h" (label first; values rounded to
 * integers with thousands separators). Other statuses: "...: at the limit", "...: flat",
 * "...: too few points". Returns the length written (truncated to buflen-1). */
size_t wr_forecast_text(const wr_forecast_t *f, const char *label, char *buf, size_t buflen);

#endif
