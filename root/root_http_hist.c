/* root_http_hist: parsing of the history route's time and step parameters (root_http_hist.h). */
#include <string.h>
#include "root_http_hist.h"
#include "wr_error.h"

#define HIST_MAX_MS (100LL * 366 * 86400 * 1000)

/* digits + optional unit -> ms; unit_required: bare digits are refused. */
static int parse_duration(const char *s, int unit_required, int64_t *out)
{
    size_t nd = 0;
    while (s[nd] >= '0' && s[nd] <= '9')
        nd++;
    if (nd == 0 || nd > 13)
        return WR_EINVAL;
    int64_t n = 0;
    for (size_t i = 0; i < nd; i++)
        n = n * 10 + (s[i] - '0');
    const char *u = s + nd;
    int64_t mult;
    if (*u == '\0' && !unit_required) mult = 1;
    else if (strcmp(u, "ms") == 0) mult = 1;
    else if (strcmp(u, "s") == 0) mult = 1000;
    else if (strcmp(u, "m") == 0) mult = 60 * 1000;
    else if (strcmp(u, "h") == 0) mult = 3600 * 1000;
    else if (strcmp(u, "d") == 0) mult = 86400 * 1000;
    else if (strcmp(u, "w") == 0) mult = 7LL * 86400 * 1000;
    else return WR_EINVAL;
    if (n > HIST_MAX_MS / mult)
        return WR_EINVAL;
    *out = n * mult;
    return 0;
}

int rh_hist_parse_time(const char *s, int64_t now_ms, int64_t *out)
{
    if (!s || !*s || strlen(s) > 20)
        return WR_EINVAL;
    int neg = s[0] == '-';
    int64_t v;
    size_t nd = strspn(s, "0123456789");
    if (!neg && s[nd] == '\0') {            /* absolute ms */
        if (nd > 16)
            return WR_EINVAL;
        int64_t n = 0;
        for (size_t i = 0; i < nd; i++)
            n = n * 10 + (s[i] - '0');
        *out = n;
        return 0;
    }
    if (parse_duration(s + neg, 1, &v) != 0)
        return WR_EINVAL;
    *out = now_ms - v < 0 ? 0 : now_ms - v;
    return 0;
}

int rh_hist_parse_step(const char *s, int64_t *out)
{
    int64_t v;
    if (!s || !*s || strlen(s) > 20 || parse_duration(s, 0, &v) != 0 || v <= 0)
        return WR_EINVAL;
    *out = v;
    return 0;
}
