/* warrenctl_procs: `warrenctl procs NODE [--by KEY] [-n N]`: the path of the API call
 * (GET /api/v1/nodes/NODE/procs?by=KEY&n=N; the root checks KEY and N) and the etop-like
 * table of its answer
 * {"node", "by", "procs": [{"pid", "name", "initial_call", "current_function", "value"}]}. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include "warrenctl_int.h"

static char procs_err[160];

const char *ctl_procs_error(void)
{
    return procs_err;
}

int ctl_procs_path(const char *node, const char *by, const char *n, char *path, size_t len)
{
    /* by and n are checked by the root (400 naming the parameter, exit 1), like metric's
     * --since: one place knows the rules */
    char *e = curl_easy_escape(NULL, node, 0);
    char *eb = by ? curl_easy_escape(NULL, by, 0) : NULL;
    char *en = n ? curl_easy_escape(NULL, n, 0) : NULL;
    int w = -1;
    if (e && (!by || eb) && (!n || en))
        w = snprintf(path, len, "/api/v1/nodes/%s/procs%s%s%s%s", e, by ? "?by=" : "", by ? eb : "",
                     n ? (by ? "&n=" : "?n=") : "", n ? en : "");
    curl_free(e);
    curl_free(eb);
    curl_free(en);
    if (w < 0 || (size_t)w >= len) {
        snprintf(procs_err, sizeof procs_err, w < 0 ? "out of memory" : "arguments too long");
        return -1;
    }
    return 0;
}

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : dflt;
}

int ctl_print_procs(FILE *out, json_t *j)
{
    json_t *procs = json_object_get(j, "procs");
    const char *by = json_string_value(json_object_get(j, "by"));
    if (!json_is_array(procs) || !by) {
        fprintf(stderr, "warrenctl: unexpected answer from the root: no procs list\n");
        return -1;
    }
    const char *vhead = !strcmp(by, "memory") ? "MEMORY" : !strcmp(by, "message_queue") ? "MSGQ"
                        : !strcmp(by, "reductions") ? "REDUCTIONS" : !strcmp(by, "binary") ? "BINARY" : "VALUE";
    size_t n = json_array_size(procs);
    char (*vals)[32] = calloc(n + 1, sizeof *vals);
    if (!vals) {
        fprintf(stderr, "warrenctl: out of memory\n");
        return -1;
    }
    static const char *const heads[4] = {"PID", "NAME", "INITIAL CALL", "CURRENT FUNCTION"};
    static const char *const keys[4] = {"pid", "name", "initial_call", "current_function"};
    size_t w[5];
    for (int c = 0; c < 4; c++)
        w[c] = strlen(heads[c]);
    w[4] = strlen(vhead);
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(procs, i);
        json_t *v = json_object_get(p, "value");
        if (!json_is_object(p) || !json_is_number(v)) {
            free(vals);
            fprintf(stderr, "warrenctl: unexpected answer from the root: process %zu has no value\n", i);
            return -1;
        }
        if (json_is_integer(v))
            snprintf(vals[i], sizeof vals[i], "%lld", (long long)json_integer_value(v));
        else
            snprintf(vals[i], sizeof vals[i], "%.0f", json_number_value(v));
        for (int c = 0; c < 4; c++) {
            size_t l = strlen(str_or(p, keys[c], "-"));
            if (l > w[c]) w[c] = l;
        }
        if (strlen(vals[i]) > w[4]) w[4] = strlen(vals[i]);
    }
    fprintf(out, "%-*s  %-*s  %-*s  %-*s  %*s\n", (int)w[0], heads[0], (int)w[1], heads[1], (int)w[2],
            heads[2], (int)w[3], heads[3], (int)w[4], vhead);
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(procs, i);
        fprintf(out, "%-*s  %-*s  %-*s  %-*s  %*s\n", (int)w[0], str_or(p, keys[0], "-"), (int)w[1],
                str_or(p, keys[1], "-"), (int)w[2], str_or(p, keys[2], "-"), (int)w[3],
                str_or(p, keys[3], "-"), (int)w[4], vals[i]);
    }
    free(vals);
    return 0;
}
