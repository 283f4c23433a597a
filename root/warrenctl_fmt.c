/* warrenctl_fmt: warrenctl's human output: aligned tables and the indented tier tree, built
 * from the JSON answers of the root's HTTP API (docs/API.md). No network here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "warrenctl_int.h"

void ctl_fmt_iso(int64_t ms, char *buf, size_t len)
{
    if (ms <= 0) {
        snprintf(buf, len, "-");
        return;
    }
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char tmp[32];
    strftime(tmp, sizeof tmp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03dZ", tmp, (int)(ms % 1000));
}

static void fmt_dur(int64_t s, char *buf, size_t len)
{
    if (s >= 86400)
        snprintf(buf, len, "%lldd%02lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
    else if (s >= 3600)
        snprintf(buf, len, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else if (s >= 60)
        snprintf(buf, len, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
    else
        snprintf(buf, len, "%llds", (long long)s);
}

void ctl_fmt_ago(int64_t ms, int64_t now_ms, char *buf, size_t len)
{
    if (ms <= 0) {
        snprintf(buf, len, "-");
        return;
    }
    int64_t d = (now_ms - ms) / 1000;
    if (d < 0) {
        char t[32];
        fmt_dur(-d, t, sizeof t);
        snprintf(buf, len, "in %s", t);
    } else if (d == 0) {
        snprintf(buf, len, "just now");
    } else {
        char t[32];
        fmt_dur(d, t, sizeof t);
        snprintf(buf, len, "%s ago", t);
    }
}

static void fmt_num(double v, char *buf, size_t len)
{
    if (!isfinite(v))
        snprintf(buf, len, "-");
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%.6g", v);
}

static const char *str_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int64_t int_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? (int64_t)json_number_value(v) : 0;
}

static int bad_shape(const char *what)
{
    fprintf(stderr, "warrenctl: unexpected answer from the root: %s\n", what);
    return -1;
}

/* ---- a small table ----------------------------------------------------------------- */
#define TBL_COLS 8
typedef struct {
    int     ncols;
    char  **cells;      /* rows * ncols, malloc'd strings */
    size_t  rows, cap;
    int     right[TBL_COLS];
} table_t;

static void tbl_add(table_t *t, const char *const *cols)
{
    if (t->rows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        char **nc = realloc(t->cells, t->cap * (size_t)t->ncols * sizeof *nc);
        if (!nc) {
            fprintf(stderr, "warrenctl: out of memory\n");
            exit(1);
        }
        t->cells = nc;
    }
    for (int c = 0; c < t->ncols; c++)
        t->cells[t->rows * (size_t)t->ncols + (size_t)c] = strdup(cols[c] ? cols[c] : "");
    t->rows++;
}

static void tbl_free(table_t *t);

static void tbl_print(FILE *out, table_t *t)
{
    size_t w[TBL_COLS] = {0};
    for (size_t r = 0; r < t->rows; r++)
        for (int c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * (size_t)t->ncols + (size_t)c];
            size_t l = s ? strlen(s) : 0;
            if (l > w[c]) w[c] = l;
        }
    for (size_t r = 0; r < t->rows; r++) {
        for (int c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * (size_t)t->ncols + (size_t)c];
            if (!s) s = "";
            int last = c == t->ncols - 1;
            if (t->right[c])
                fprintf(out, "%*s%s", (int)w[c], s, last ? "" : "  ");
            else if (last)
                fprintf(out, "%s", s);
            else
                fprintf(out, "%-*s  ", (int)w[c], s);
        }
        fputc('\n', out);
    }
    tbl_free(t);
}

static void tbl_free(table_t *t)
{
    for (size_t i = 0; i < t->rows * (size_t)t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->rows = t->cap = 0;
}

/* ---- commands ---------------------------------------------------------------------- */

static void kv_value(json_t *v, char *buf, size_t len)
{
    if (json_is_string(v)) snprintf(buf, len, "%s", json_string_value(v));
    else if (json_is_integer(v)) snprintf(buf, len, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) fmt_num(json_real_value(v), buf, len);
    else if (json_is_true(v)) snprintf(buf, len, "true");
    else if (json_is_false(v)) snprintf(buf, len, "false");
    else if (json_is_null(v)) snprintf(buf, len, "-");
    else {
        char *s = json_dumps(v, JSON_COMPACT);
        snprintf(buf, len, "%s", s ? s : "?");
        free(s);
    }
}

int ctl_print_status(FILE *out, json_t *j, int64_t now_ms)
{
    if (!json_is_object(j))
        return bad_shape("status is not an object");
    table_t t = {.ncols = 2};
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        char val[512];
        const char *label = key;       /* never reassign key: the foreach walks on from it */
        kv_value(v, val, sizeof val);
        if (strcmp(key, "uptime_s") == 0 && json_is_number(v)) {
            char d[32];
            fmt_dur((int64_t)json_number_value(v), d, sizeof d);
            snprintf(val, sizeof val, "%s", d);
            label = "uptime";
        } else if ((strcmp(key, "started") == 0 || strcmp(key, "now") == 0) && json_is_integer(v)) {
            ctl_fmt_iso((int64_t)json_integer_value(v), val, sizeof val);
        }
        const char *row[2] = {label, val};
        tbl_add(&t, row);
    }
    tbl_print(out, &t);
    (void)now_ms;
    return 0;
}

int ctl_print_nodes(FILE *out, json_t *j, int64_t now_ms)
{
    json_t *nodes = json_object_get(j, "nodes");
    if (!json_is_array(nodes))
        return bad_shape("no \"nodes\" array");
    table_t t = {.ncols = 4};
    const char *head[4] = {"NAME", "STATE", "SINCE", "LEAF"};
    tbl_add(&t, head);
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n) {
        char ago[48];
        ctl_fmt_ago(int_of(n, "since"), now_ms, ago, sizeof ago);
        const char *row[4] = {str_of(n, "name"), str_of(n, "state"), ago, str_of(n, "leaf")};
        tbl_add(&t, row);
    }
    tbl_print(out, &t);
    return 0;
}

int ctl_print_node(FILE *out, json_t *j, int64_t now_ms)
{
    if (!json_is_object(j) || !json_is_string(json_object_get(j, "name")))
        return bad_shape("node without a name");
    char iso[40], ago[48], since[96];
    int64_t s = int_of(j, "since");
    ctl_fmt_iso(s, iso, sizeof iso);
    ctl_fmt_ago(s, now_ms, ago, sizeof ago);
    snprintf(since, sizeof since, "%s (%s)", iso, ago);
    table_t t = {.ncols = 2};
    const char *rows[][2] = {{"name", str_of(j, "name")}, {"state", str_of(j, "state")},
                             {"since", since}, {"leaf", str_of(j, "leaf")},
                             {"child", str_of(j, "child")}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        tbl_add(&t, rows[i]);
    tbl_print(out, &t);
    return 0;
}

/* Raw points: TIME VALUE [RATE/S] UNIT ([ts, value] or, for counters, [ts, value, rate]);
 * with a step: TIME COUNT MIN AVG MAX UNIT from {t, count, min, max, avg} objects. */
int ctl_print_metric(FILE *out, json_t *j)
{
    json_t *pts = json_object_get(j, "points");
    if (!json_is_array(pts))
        return bad_shape("no \"points\" array");
    const char *unit = str_of(j, "unit");
    int counter = strcmp(str_of(j, "kind"), "counter") == 0;
    int stepped = json_is_string(json_object_get(j, "tier"));
    char runit[80];
    snprintf(runit, sizeof runit, "%s/s", unit);
    table_t t = {.ncols = stepped ? 6 : counter ? 4 : 3, .right = {0, 1, 0}};
    for (int c = 1; c < t.ncols - 1; c++)
        t.right[c] = 1;            /* numbers right, TIME and UNIT left */
    const char *head_s[6] = {"TIME", "COUNT", "MIN", "AVG", "MAX", "UNIT"};
    const char *head_c[4] = {"TIME", "VALUE", "RATE", "UNIT"};
    const char *head_g[3] = {"TIME", "VALUE", "UNIT"};
    tbl_add(&t, stepped ? head_s : counter ? head_c : head_g);
    size_t i;
    json_t *p;
    json_array_foreach(pts, i, p) {
        char iso[40], num[4][48];
        if (stepped) {
            json_t *ts = json_object_get(p, "t");
            if (!json_is_number(ts) || !json_is_number(json_object_get(p, "count"))) {
                tbl_free(&t);
                return bad_shape("a point is not {t, count, min, max, avg}");
            }
            ctl_fmt_iso((int64_t)json_number_value(ts), iso, sizeof iso);
            static const char *const keys[4] = {"count", "min", "avg", "max"};
            for (int k = 0; k < 4; k++) {
                json_t *v = json_object_get(p, keys[k]);
                fmt_num(json_is_number(v) ? json_number_value(v) : NAN, num[k], sizeof num[k]);
            }
            const char *row[6] = {iso, num[0], num[1], num[2], num[3], counter ? runit : unit};
            tbl_add(&t, row);
            continue;
        }
        json_t *ts = json_array_get(p, 0), *val = json_array_get(p, 1), *rate = json_array_get(p, 2);
        if (!json_is_number(ts) || !(json_is_number(val) || json_is_null(val))) {
            tbl_free(&t);
            return bad_shape("a point is not [ts, value]");
        }
        ctl_fmt_iso((int64_t)json_number_value(ts), iso, sizeof iso);
        fmt_num(json_is_number(val) ? json_number_value(val) : NAN, num[0], sizeof num[0]);
        fmt_num(json_is_number(rate) ? json_number_value(rate) : NAN, num[1], sizeof num[1]);
        const char *row_c[4] = {iso, num[0], num[1], unit}, *row_g[3] = {iso, num[0], unit};
        tbl_add(&t, counter ? row_c : row_g);
    }
    tbl_print(out, &t);
    if (stepped)
        fprintf(out, "# tier %s, step %lld ms, %zu points%s\n", str_of(j, "tier"),
                (long long)int_of(j, "step"), json_array_size(pts),
                counter ? " (counters: per-second rates)" : "");
    if (json_is_true(json_object_get(j, "truncated")))
        fprintf(out, "# truncated: only the newest %zu points; narrow --since or widen --step\n",
                json_array_size(pts));
    return 0;
}

int ctl_print_tree(FILE *out, json_t *j)
{
    json_t *tiers = json_object_get(j, "tiers");
    if (!json_is_array(tiers))
        return bad_shape("no \"tiers\" array");
    size_t n = json_array_size(tiers);
    int *depth = calloc(n ? n : 1, sizeof *depth);
    if (!depth)
        return bad_shape("out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_array_get(tiers, i);
        int64_t parent = int_of(t, "parent");
        /* pre-order: a parent is always an earlier entry; anything else is drawn at the top */
        depth[i] = parent >= 0 && (size_t)parent < i ? depth[parent] + 1 : 0;
        int up = json_is_true(json_object_get(t, "up"));
        char sps[48] = "";
        json_t *rate = json_object_get(t, "samples_per_s");
        if (json_is_number(rate))
            snprintf(sps, sizeof sps, ", %.1f samples/s", json_number_value(rate));
        char lk[96] = "";
        json_t *links = json_object_get(t, "links");
        if (json_is_object(links) && up)
            snprintf(lk, sizeof lk, ", links in %.0f/s %.1f kB/s out %.0f/s %.1f kB/s",
                     json_number_value(json_object_get(links, "frames_in_per_s")),
                     json_number_value(json_object_get(links, "bytes_in_per_s")) / 1000.0,
                     json_number_value(json_object_get(links, "frames_out_per_s")),
                     json_number_value(json_object_get(links, "bytes_out_per_s")) / 1000.0);
        fprintf(out, "%*s%s (%s) %s %lld/%lld nodes%s%s%s\n", depth[i] * 2, "", str_of(t, "id"),
                str_of(t, "kind"), up ? "up" : "DOWN", (long long)int_of(t, "nodes_up"),
                (long long)int_of(t, "nodes_total"), sps, lk, up ? "" : "   <-- down");
    }
    free(depth);
    return 0;
}

int ctl_print_rollups(FILE *out, json_t *j)
{
    json_t *ms = json_object_get(j, "metrics");
    if (!json_is_array(ms))
        return bad_shape("no \"metrics\" array");
    table_t t = {.ncols = 7, .right = {0, 1, 1, 1, 1, 1, 0}};
    const char *head[7] = {"METRIC", "COUNT", "MIN", "MEAN", "MAX", "SUM", "UNIT"};
    tbl_add(&t, head);
    size_t i;
    json_t *m;
    json_array_foreach(ms, i, m) {
        char c[32], mn[48], me[48], mx[48], su[48];
        snprintf(c, sizeof c, "%lld", (long long)int_of(m, "count"));
        json_t *v;
        fmt_num(json_is_number(v = json_object_get(m, "min")) ? json_number_value(v) : NAN, mn, sizeof mn);
        fmt_num(json_is_number(v = json_object_get(m, "mean")) ? json_number_value(v) : NAN, me, sizeof me);
        fmt_num(json_is_number(v = json_object_get(m, "max")) ? json_number_value(v) : NAN, mx, sizeof mx);
        fmt_num(json_is_number(v = json_object_get(m, "sum")) ? json_number_value(v) : NAN, su, sizeof su);
        const char *unit = str_of(m, "unit");
        char u[64];
        snprintf(u, sizeof u, "%s%s", unit, strcmp(str_of(m, "kind"), "counter") == 0 ? "/s" : "");
        const char *row[7] = {str_of(m, "metric"), c, mn, me, mx, su, u};
        tbl_add(&t, row);
    }
    tbl_print(out, &t);
    return 0;
}
