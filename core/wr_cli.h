/* wr_cli: checked numbers from a command line (the options of warren-sim, warren-bench,
 * warrenctl...). Every value is untrusted: the whole string must be the number (base 10 for
 * integers, no trailing text, no overflow, finite for reals) and lie in [min, max]. Nothing
 * here prints: the caller reports err under its own program name. */
#ifndef WR_CLI_H
#define WR_CLI_H
#include <stddef.h>

/* Size of an err buffer that always holds the whole complaint of wr_cli_long/_double about a
 * value of up to 64 characters. */
#define WR_CLI_ERR_MAX 256

/* Parses s as a base-10 integer in [min, max] into *out (left alone on failure).
 * Returns 0 or WR_EINVAL (NULL or empty s, trailing text, overflow, out of range). */
int wr_cli_parse_long(const char *s, long min, long max, long *out);

/* Parses s as a finite real number (strtod syntax) in [min, max] into *out (left alone on
 * failure). Returns 0 or WR_EINVAL (NULL or empty s, trailing text, overflow, NaN, inf, out
 * of range). */
int wr_cli_parse_double(const char *s, double min, double max, double *out);

/* wr_cli_parse_long for the value s of option opt; on failure err gets
 * "OPT: expected an integer in MIN..MAX, got 'S'" (S cut to 64 characters). Returns 0 or
 * WR_EINVAL. */
int wr_cli_long(const char *opt, const char *s, long min, long max, long *out, char *err, size_t errlen);

/* wr_cli_parse_double for the value s of option opt; on failure err gets
 * "OPT: expected a number in MIN..MAX, got 'S'". Returns 0 or WR_EINVAL. */
int wr_cli_double(const char *opt, const char *s, double min, double max, double *out, char *err,
                  size_t errlen);

#endif
