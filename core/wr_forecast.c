/* wr_forecast: Theil-Sen trend and time-to-limit projection over a bounded window
 * (see wr_forecast.h for the method and why). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "wr_error.h"
#include "wr_forecast.h"

#define MAX_PAIRS (WR_FORECAST_MAX_POINTS * (WR_FORECAST_MAX_POINTS - 1) / 2)

void wr_forecast_init(wr_forecast_series_t *s, size_t capacity, int monotone)
{
    memset(s, 0, sizeof *s);
    if (capacity == 0)
        capacity = WR_FORECAST_DEFAULT_POINTS;
    if (capacity < 2)
        capacity = 2;
    if (capacity > WR_FORECAST_MAX_POINTS)
        capacity = WR_FORECAST_MAX_POINTS;
    s->cap = (uint16_t)capacity;
    s->monotone = monotone != 0;
}

void wr_forecast_reset(wr_forecast_series_t *s)
{
    s->n = 0;
    s->head = 0;
    s->resets++;
}

/* The i-th oldest point's index in the ring. */
static size_t at(const wr_forecast_series_t *s, size_t i)
{
    return (s->head + i) % s->cap;
}

int wr_forecast_add(wr_forecast_series_t *s, int64_t t_ms, double value)
{
    if (!isfinite(value))
        return WR_EINVAL;
    if (s->n > 0) {
        size_t newest = at(s, s->n - 1u);
        if (t_ms <= s->t_ms[newest])
            return WR_EINVAL;
        if (s->monotone && value < s->v[newest])
            wr_forecast_reset(s);
    }
    size_t slot;
    if (s->n < s->cap) {
        slot = at(s, s->n);
        s->n++;
    } else {
        slot = s->head;
        s->head = (uint16_t)((s->head + 1u) % s->cap);
    }
    s->t_ms[slot] = t_ms;
    s->v[slot] = value;
    return 0;
}

/* Quickselect with a three-way partition (equal values are common: a flat series gives
 * many zero slopes): the k-th smallest of a[0..n), reordering a. */
static void swap(double *a, long i, long j)
{
    double t = a[i];
    a[i] = a[j];
    a[j] = t;
}

static double select_kth(double *a, size_t n, size_t k)
{
    long lo = 0, hi = (long)n - 1, kk = (long)k;
    while (lo < hi) {
        double p = a[lo + (hi - lo) / 2];
        long lt = lo, i = lo, gt = hi;   /* [lo,lt) < p, [lt,i) == p, (gt,hi] > p */
        while (i <= gt) {
            if (a[i] < p)
                swap(a, lt++, i++);
            else if (a[i] > p)
                swap(a, i, gt--);
            else
                i++;
        }
        if (kk < lt)
            hi = lt - 1;
        else if (kk > gt)
            lo = gt + 1;
        else
            return p;
    }
    return a[kk];
}

static double median(double *a, size_t n)
{
    double m = select_kth(a, n, n / 2);
    if (n % 2)
        return m;
    /* the lower middle is the largest of a[0..n/2) after the selection */
    double lower = a[0];
    for (size_t i = 1; i < n / 2; i++)
        if (a[i] > lower)
            lower = a[i];
    return (lower + m) / 2;
}

int wr_forecast_eval(const wr_forecast_series_t *s, double limit, size_t min_points,
                     wr_forecast_t *out)
{
    memset(out, 0, sizeof *out);
    if (!(limit > 0) || !isfinite(limit))
        return WR_EINVAL;
    if (min_points == 0)
        min_points = WR_FORECAST_MIN_POINTS;
    if (min_points < 2)
        min_points = 2;
    out->limit = limit;
    out->points = s->n;
    if (s->n == 0) {
        out->status = WR_FORECAST_FEW_POINTS;
        return 0;
    }
    size_t n = s->n;
    double x[WR_FORECAST_MAX_POINTS], y[WR_FORECAST_MAX_POINTS];
    int64_t t0 = s->t_ms[at(s, 0)];
    for (size_t i = 0; i < n; i++) {
        x[i] = (double)(s->t_ms[at(s, i)] - t0) / 1000.0;
        y[i] = s->v[at(s, i)];
    }
    out->last = out->fitted = y[n - 1];
    if (y[n - 1] >= limit) {
        out->status = WR_FORECAST_REACHED;
        return 0;
    }
    if (n < min_points) {
        out->status = WR_FORECAST_FEW_POINTS;
        return 0;
    }
    double slopes[MAX_PAIRS];
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            slopes[m++] = (y[j] - y[i]) / (x[j] - x[i]);   /* x strictly increases */
    double b = median(slopes, m);
    double r[WR_FORECAST_MAX_POINTS];
    for (size_t i = 0; i < n; i++)
        r[i] = y[i] - b * x[i];
    double a = median(r, n);
    out->slope_per_s = b;
    out->fitted = a + b * x[n - 1];
    if (!(b > 0)) {
        out->status = WR_FORECAST_FLAT;
        return 0;
    }
    double eta = (limit - out->fitted) / b;
    out->eta_s = eta > 0 ? eta : 0;
    out->status = WR_FORECAST_ETA;
    return 0;
}

int wr_forecast_within(const wr_forecast_t *f, double horizon_s)
{
    if (f->status == WR_FORECAST_REACHED)
        return 1;
    return f->status == WR_FORECAST_ETA && f->eta_s <= horizon_s;
}

/* v rounded to an integer with thousands separators ("-1,234"). */
static void fmt_int(char *buf, size_t len, double v)
{
    char digits[32];
    double r = fabs(v) < 9.2e18 ? round(v) : (v < 0 ? -9.2e18 : 9.2e18);
    long long iv = (long long)r;
    unsigned long long u = iv < 0 ? 0ull - (unsigned long long)iv : (unsigned long long)iv;
    int nd = snprintf(digits, sizeof digits, "%llu", u);
    char tmp[48];
    size_t k = 0;
    if (iv < 0)
        tmp[k++] = '-';
    for (int i = 0; i < nd; i++) {
        if (i > 0 && (nd - i) % 3 == 0)
            tmp[k++] = ',';
        tmp[k++] = digits[i];
    }
    tmp[k] = '\0';
    snprintf(buf, len, "%s", tmp);
}

static void fmt_rate(char *buf, size_t len, double per_s)
{
    double per_min = per_s * 60;
    char n[48];
    if (fabs(per_min) >= 10) {
        fmt_int(n, sizeof n, per_min);
        snprintf(buf, len, "%s%s/min", per_min > 0 ? "+" : "", n);
    } else if (fabs(per_min) >= 1) {
        snprintf(buf, len, "%+.1f/min", per_min);
    } else {
        snprintf(buf, len, "%+.1f/h", per_min * 60);
    }
}

static void fmt_duration(char *buf, size_t len, double s)
{
    if (s < 60)
        snprintf(buf, len, "%.0f s", s);
    else if (s < 3600)
        snprintf(buf, len, "%.0f min", s / 60);
    else if (s < 48 * 3600)
        snprintf(buf, len, "%.1f h", s / 3600);
    else
        snprintf(buf, len, "%.1f d", s / 86400);
}

size_t wr_forecast_text(const wr_forecast_t *f, const char *label, char *buf, size_t buflen)
{
    if (!buf || buflen == 0)
        return 0;
    char cur[48], lim[48], rate[64], eta[32];
    fmt_int(cur, sizeof cur, f->last);
    fmt_int(lim, sizeof lim, f->limit);
    fmt_rate(rate, sizeof rate, f->slope_per_s);
    int n;
    switch (f->status) {
    case WR_FORECAST_ETA:
        fmt_duration(eta, sizeof eta, f->eta_s);
        n = snprintf(buf, buflen, "%s %s/%s, %s: limit in %s", label ? label : "", cur, lim, rate, eta);
        break;
    case WR_FORECAST_REACHED:
        n = snprintf(buf, buflen, "%s %s/%s: at the limit", label ? label : "", cur, lim);
        break;
    case WR_FORECAST_FLAT:
        n = snprintf(buf, buflen, "%s %s/%s, %s: flat", label ? label : "", cur, lim, rate);
        break;
    default:
        n = snprintf(buf, buflen, "%s %s/%s: too few points", label ? label : "", cur, lim);
        break;
    }
    if (n < 0)
        return 0;
    return (size_t)n < buflen ? (size_t)n : buflen - 1;
}
