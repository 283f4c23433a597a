/* root_http_params: the query-string parameters of a root_http request, read against the
 * route's list of allowed names (see root_http_int.h). Untrusted: unknown names, bad escapes
 * and over-long values are reported in p->bad, never dropped silently. */
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include "root_http_int.h"
#include "wr_error.h"

static enum MHD_Result param_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    rh_params_t *p = cls;
    (void)kind;
    if (p->bad[0])
        return MHD_NO;
    if (strcmp(key, "_") == 0)          /* cache-buster of browsers' scripts */
        return MHD_YES;
    for (int i = 0; i < RH_PARAMS_MAX && p->allowed[i]; i++) {
        if (strcmp(key, p->allowed[i]) != 0)
            continue;
        if (!value)
            value = "";
        int rc = rh_url_decode(value, strlen(value), p->values[i], p->value_cap, NULL);
        if (rc < 0)
            snprintf(p->bad, sizeof p->bad, "%s: %s", p->allowed[i],
                     rc == WR_ETOOBIG ? "value too long" : "bad escape or control character");
        p->present[i] = 1;
        return MHD_YES;
    }
    char k[32];
    if (rh_url_decode(key, strlen(key), k, sizeof k, NULL) < 0)
        snprintf(k, sizeof k, "?");
    snprintf(p->bad, sizeof p->bad, "unknown parameter '%s'", k);
    return MHD_NO;
}

int rh_params_read(struct MHD_Connection *conn, const char *const *allowed, size_t value_cap, rh_params_t *p)
{
    memset(p, 0, sizeof *p);
    p->allowed = allowed;
    p->value_cap = value_cap < RH_PARAM_CAP ? value_cap : RH_PARAM_CAP;
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, param_iter, p);
    return p->bad[0] ? -1 : 0;
}
