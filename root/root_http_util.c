/* root_http_util: the output buffer (JSON / Prometheus escaping) and the parsers of untrusted
 * URL pieces used by root_http. No I/O, no MHD. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "root_http_int.h"
#include "wr_error.h"

void rh_buf_init(rh_buf_t *b)
{
    b->buf = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

void rh_buf_free(rh_buf_t *b)
{
    free(b->buf);
    rh_buf_init(b);
}

static int rh_buf_reserve(rh_buf_t *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *nb = realloc(b->buf, cap);
    if (!nb) {
        b->oom = 1;
        return -1;
    }
    b->buf = nb;
    b->cap = cap;
    return 0;
}

void rh_buf_put(rh_buf_t *b, const char *s, size_t n)
{
    if (rh_buf_reserve(b, n) < 0)
        return;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

void rh_buf_puts(rh_buf_t *b, const char *s)
{
    rh_buf_put(b, s, strlen(s));
}

void rh_buf_printf(rh_buf_t *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        rh_buf_put(b, small, (size_t)n);
        return;
    }
    if (rh_buf_reserve(b, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if it is not valid UTF-8. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned cp;
    if (c >= 0xc2 && c <= 0xdf) { n = 2; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { n = 3; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 4; cp = c & 0x07; }
    else return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)      /* also stops at the NUL */
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

void rh_buf_json_str(rh_buf_t *b, const char *s)
{
    rh_buf_put(b, "\"", 1);
    const char *run = s;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        const char *esc = NULL;
        char u[8];
        size_t adv = 1;
        switch (*p) {
        case '"':  esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                snprintf(u, sizeof u, "\\u%04x", *p);
                esc = u;
            } else if (*p >= 0x80) {
                adv = utf8_len(p);
                if (adv == 0) {             /* not UTF-8: the replacement character */
                    esc = "\\ufffd";
                    adv = 1;
                }
            }
        }
        if (esc) {
            rh_buf_put(b, run, (size_t)((const char *)p - run));
            rh_buf_puts(b, esc);
            run = (const char *)p + adv;
        }
        p += adv;
    }
    rh_buf_puts(b, run);
    rh_buf_put(b, "\"", 1);
}

void rh_buf_json_num(rh_buf_t *b, double v)
{
    if (!isfinite(v))
        rh_buf_puts(b, "null");
    else if (v == floor(v) && fabs(v) < 9.007199254740992e15)
        rh_buf_printf(b, "%.1f", v);
    else
        rh_buf_printf(b, "%.15g", v);
}

void rh_buf_prom_label(rh_buf_t *b, const char *s)
{
    const char *run = s;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        const char *esc = NULL;
        size_t adv = 1;
        if (*p == '\\') esc = "\\\\";
        else if (*p == '"') esc = "\\\"";
        else if (*p == '\n') esc = "\\n";
        else if (*p >= 0x80 && (adv = utf8_len(p)) == 0) {
            esc = "\xef\xbf\xbd";          /* U+FFFD */
            adv = 1;
        }
        if (esc) {
            rh_buf_put(b, run, (size_t)((const char *)p - run));
            rh_buf_puts(b, esc);
            run = (const char *)p + adv;
        }
        p += adv;
    }
    rh_buf_puts(b, run);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int rh_url_decode(const char *in, size_t inlen, char *out, size_t outcap, size_t *outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < inlen; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '%') {
            if (i + 2 >= inlen)
                return WR_EINVAL;
            int h = hexval(in[i + 1]), l = hexval(in[i + 2]);
            if (h < 0 || l < 0)
                return WR_EINVAL;
            c = (unsigned char)(h * 16 + l);
            i += 2;
        }
        if (c < 0x20 || c == 0x7f)
            return WR_EINVAL;
        if (o + 1 >= outcap)
            return WR_ETOOBIG;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    if (outlen)
        *outlen = o;
    return 0;
}

int rh_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s || !*s || strlen(s) > 20)
        return WR_EINVAL;
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    if (!*p)
        return WR_EINVAL;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return WR_EINVAL;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return WR_EINVAL;
    *out = v;
    return 0;
}

int rh_parse_time(const char *s, int64_t now_ms, int64_t *out)
{
    if (!s || !*s || strlen(s) > 20)
        return WR_EINVAL;
    if (s[0] != '-')
        return rh_parse_int(s, 0, INT64_MAX / 2, out);
    /* -<digits><unit> */
    const char *p = s + 1;
    size_t nd = 0;
    while (p[nd] >= '0' && p[nd] <= '9')
        nd++;
    if (nd == 0 || nd > 12)
        return WR_EINVAL;
    char digits[16];
    memcpy(digits, p, nd);
    digits[nd] = '\0';
    int64_t n;
    if (rh_parse_int(digits, 0, 999999999999LL, &n) < 0)
        return WR_EINVAL;
    const char *unit = p + nd;
    int64_t mult;
    if (strcmp(unit, "ms") == 0) mult = 1;
    else if (strcmp(unit, "s") == 0) mult = 1000;
    else if (strcmp(unit, "m") == 0) mult = 60 * 1000;
    else if (strcmp(unit, "h") == 0) mult = 3600 * 1000;
    else if (strcmp(unit, "d") == 0) mult = 86400 * 1000;
    else if (strcmp(unit, "w") == 0) mult = 7LL * 86400 * 1000;
    else return WR_EINVAL;
    /* at most ~100 years back: also keeps the product far from overflow */
    const int64_t max_back = 100LL * 366 * 86400 * 1000;
    if (n > max_back / mult)
        return WR_EINVAL;
    int64_t t = now_ms - n * mult;
    *out = t < 0 ? 0 : t;
    return 0;
}
