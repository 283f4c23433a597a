/* wr_cli: checked numbers from a command line (see wr_cli.h). */
#include "wr_cli.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "wr_error.h"

int wr_cli_parse_long(const char *s, long min, long max, long *out)
{
    if (!s || !*s)
        return WR_EINVAL;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < min || v > max)
        return WR_EINVAL;
    *out = v;
    return 0;
}

int wr_cli_parse_double(const char *s, double min, double max, double *out)
{
    if (!s || !*s)
        return WR_EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || !isfinite(v) || !(v >= min && v <= max))
        return WR_EINVAL;
    *out = v;
    return 0;
}

int wr_cli_long(const char *opt, const char *s, long min, long max, long *out, char *err, size_t errlen)
{
    int rc = wr_cli_parse_long(s, min, max, out);
    if (rc != 0 && err && errlen)
        snprintf(err, errlen, "%s: expected an integer in %ld..%ld, got '%.64s'", opt, min, max, s ? s : "");
    return rc;
}

int wr_cli_double(const char *opt, const char *s, double min, double max, double *out, char *err,
                  size_t errlen)
{
    int rc = wr_cli_parse_double(s, min, max, out);
    if (rc != 0 && err && errlen)
        snprintf(err, errlen, "%s: expected a number in %g..%g, got '%.64s'", opt, min, max, s ? s : "");
    return rc;
}
