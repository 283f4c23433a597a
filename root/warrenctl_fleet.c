/* warrenctl_fleet: `warrenctl fleet METRIC` (GET /api/v1/fleet/METRIC: count, sum, min, mean,
 * p50, p90, p99, max of the fleet's latest interval) and `warrenctl top METRIC [-n N]`
 * (GET /api/v1/top/METRIC?n=N: the nodes with the largest values). Builds the paths, picks
 * what --json prints (fleet: the API's object; top: just its list of {node, value}) and
 * prints the human tables. */
#include <curl/curl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "warrenctl_int.h"

static char fleet_err[160];

const char *ctl_fleet_error(void)
{
    return fleet_err;
}

int ctl_fleet_cmd(const char *name)
{
    return strcmp(name, "fleet") == 0 ? CTL_FLEET : strcmp(name, "top") == 0 ? CTL_TOP : 0;
}

int ctl_fleet_path(int which, const char *metric, const char *n, char *path, size_t len)
{
    /* metric and n are checked by the root (400 naming them), like procs' arguments */
    char *e = curl_easy_escape(NULL, metric, 0);
    char *en = n ? curl_easy_escape(NULL, n, 0) : NULL;
    int w = -1;
    if (e && (!n || en))
        w = snprintf(path, len, "/api/v1/%s/%s%s%s", which == CTL_TOP ? "top" : "fleet", e,
                     n ? "?n=" : "", n ? en : "");
    curl_free(e);
    curl_free(en);
    if (w < 0 || (size_t)w >= len) {
        snprintf(fleet_err, sizeof fleet_err, w < 0 ? "out of memory" : "arguments too long");
        return -1;
    }
    return 0;
}

json_t *ctl_fleet_json(int which, json_t *j)
{
    if (which != CTL_TOP)
        return j;
    json_t *top = json_object_get(j, "top");
    return json_is_array(top) ? top : j;
}

static void num(json_t *o, const char *key, char *buf, size_t len)
{
    json_t *v = json_object_get(o, key);
    double d = json_is_number(v) ? json_number_value(v) : NAN;
    if (!isfinite(d))
        snprintf(buf, len, "-");
    else if (d == floor(d) && fabs(d) < 1e15)
        snprintf(buf, len, "%.0f", d);
    else
        snprintf(buf, len, "%.6g", d);
}

int ctl_print_fleet(FILE *out, json_t *j)
{
    static const char *const keys[] = {"count", "sum", "min", "mean", "p50", "p90", "p99", "max"};
    const char *metric = json_string_value(json_object_get(j, "metric"));
    if (!metric || !json_is_integer(json_object_get(j, "count"))) {
        fprintf(stderr, "warrenctl: unexpected answer from the root: no metric or count\n");
        return -1;
    }
    char at[32];
    json_t *a = json_object_get(j, "at");
    ctl_fmt_iso(json_is_integer(a) ? json_integer_value(a) : 0, at, sizeof at);
    fprintf(out, "%s (fleet, interval at %s)\n", metric, json_is_integer(a) && json_integer_value(a) > 0 ? at : "-");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char v[48];
        num(j, keys[i], v, sizeof v);
        fprintf(out, "  %-6s %20s\n", keys[i], v);
    }
    json_t *c = json_object_get(j, "sketch_collapsed");
    if (json_is_integer(c) && json_integer_value(c) > 0)
        fprintf(out, "  (%lld values were outside the sketch's range: the lowest quantiles are approximate)\n",
                (long long)json_integer_value(c));
    return 0;
}

int ctl_print_top(FILE *out, json_t *j)
{
    json_t *top = json_object_get(j, "top");
    const char *metric = json_string_value(json_object_get(j, "metric"));
    if (!json_is_array(top) || !metric) {
        fprintf(stderr, "warrenctl: unexpected answer from the root: no top list\n");
        return -1;
    }
    size_t n = json_array_size(top), w = strlen("NODE");
    for (size_t i = 0; i < n; i++) {
        const char *node = json_string_value(json_object_get(json_array_get(top, i), "node"));
        if (node && strlen(node) > w)
            w = strlen(node);
    }
    fprintf(out, "%4s  %-*s  %s\n", "RANK", (int)w, "NODE", metric);
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(top, i);
        const char *node = json_string_value(json_object_get(it, "node"));
        char v[48];
        num(it, "value", v, sizeof v);
        fprintf(out, "%4zu  %-*s  %s\n", i + 1, (int)w, node ? node : "?", v);
    }
    return 0;
}
