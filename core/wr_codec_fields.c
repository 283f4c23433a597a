/* wr_codec_fields: the checked accessors every body decoder uses (numbers in range, strings
 * within caps and without NUL bytes, arrays of the expected length, body-map fields), each
 * writing a reason that names the field on failure. Private to the codec (wr_codec_priv.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>
#include "wr_codec.h"
#include "wr_codec_priv.h"
#include "wr_error.h"

int wr_cf_fail(int code, char *why, size_t whylen, const char *fmt, ...)
{
    if (why && whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return code;
}


/* ---- field helpers ----------------------------------------------------------------- */

const char *wr_cf_type_of(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:              return "nil";
    case MSGPACK_OBJECT_BOOLEAN:          return "bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return "unsigned integer";
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "negative integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:          return "float";
    case MSGPACK_OBJECT_STR:              return "str";
    case MSGPACK_OBJECT_ARRAY:            return "array";
    case MSGPACK_OBJECT_MAP:              return "map";
    case MSGPACK_OBJECT_BIN:              return "bin";
    case MSGPACK_OBJECT_EXT:              return "ext";
    default:                              return "?";
    }
}

/* Where a field sits, "<msg> <field>[i][j]" ("DELTA nodes[12][0]", "HELLO id", "seq"), and
 * what it holds ("node name") or NULL. Formatted only when a reason is written, so the
 * per-entry loops of a 1,000,000-node SNAPSHOT do no string work. */

const char *wr_cf_path_str(const path_t *p, char *buf, size_t n)
{
    size_t k = 0;
    int w = snprintf(buf, n, "%s%s%s", p->msg ? p->msg : "", p->msg ? " " : "", p->field);
    k = w > 0 ? (size_t)w : 0;
    if (p->i >= 0 && k < n && (w = snprintf(buf + k, n - k, "[%ld]", p->i)) > 0)
        k += (size_t)w;
    if (p->j >= 0 && k < n && (w = snprintf(buf + k, n - k, "[%ld]", p->j)) > 0)
        k += (size_t)w;
    if (p->noun && k < n)
        snprintf(buf + k, n - k, ": %s", p->noun);
    return buf;
}


int wr_cf_uint(const msgpack_object *o, uint64_t max, const path_t *p, uint64_t *out,
                     char *why, size_t whylen)
{
    char pb[PBUF];
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return wr_cf_fail(WR_EPROTO, why, whylen, "%s: expected unsigned integer, got %s", PS(p),
                    wr_cf_type_of(o));
    if (o->via.u64 > max)
        return wr_cf_fail(WR_EPROTO, why, whylen, "%s: %llu out of range (max %llu)", PS(p),
                    (unsigned long long)o->via.u64, (unsigned long long)max);
    *out = o->via.u64;
    return WR_OK;
}

int wr_cf_int(const msgpack_object *o, int64_t min, int64_t max, const path_t *p,
                    int64_t *out, char *why, size_t whylen)
{
    char pb[PBUF];
    int64_t v;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > (uint64_t)max)
            return wr_cf_fail(WR_EPROTO, why, whylen, "%s: %llu out of range (max %lld)", PS(p),
                        (unsigned long long)o->via.u64, (long long)max);
        v = (int64_t)o->via.u64;
    } else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        v = o->via.i64;
    } else {
        return wr_cf_fail(WR_EPROTO, why, whylen, "%s: expected integer, got %s", PS(p), wr_cf_type_of(o));
    }
    if (v < min || v > max)
        return wr_cf_fail(WR_EPROTO, why, whylen, "%s: %lld out of range (%lld..%lld)", PS(p),
                    (long long)v, (long long)min, (long long)max);
    *out = v;
    return WR_OK;
}

/* A number where a float is expected: ints are accepted, NaN is not (infinities are). */
int wr_cf_num(const msgpack_object *o, const path_t *p, double *out, char *why,
                    size_t whylen)
{
    char pb[PBUF];
    double v;
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: v = (double)o->via.u64; break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: v = (double)o->via.i64; break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:          v = o->via.f64; break;
    default:
        return wr_cf_fail(WR_EPROTO, why, whylen, "%s: expected number, got %s", PS(p), wr_cf_type_of(o));
    }
    if (isnan(v))
        return wr_cf_fail(WR_EPROTO, why, whylen, "%s: NaN", PS(p));
    *out = v;
    return WR_OK;
}

int wr_cf_bool(const msgpack_object *o, const path_t *p, uint8_t *out, char *why,
                     size_t whylen)
{
    char pb[PBUF];
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return wr_cf_fail(WR_EPROTO, why, whylen, "%s: expected bool, got %s", PS(p), wr_cf_type_of(o));
    *out = o->via.boolean ? 1 : 0;
    return WR_OK;
}

/* A str of min_len..max_len bytes without NUL bytes. Empty strings come back as "" (never a
 * pointer into nothing). Over max_len is WR_ETOOBIG. */
int wr_cf_str(const msgpack_object *o, size_t min_len, size_t max_len, const path_t *p,
                    const char **s, size_t *n, char *why, size_t whylen)
{
    char pb[PBUF];
    if (o->type != MSGPACK_OBJECT_STR)
        return wr_cf_fail(WR_EPROTO, why, whylen, "%s: expected str, got %s", PS(p), wr_cf_type_of(o));
    size_t len = o->via.str.size;
    if (len < min_len)
        return wr_cf_fail(WR_EPROTO, why, whylen, "%s empty", PS(p));
    if (len > max_len)
        return wr_cf_fail(WR_ETOOBIG, why, whylen, "%s: %zu bytes over cap %zu", PS(p), len, max_len);
    if (len && memchr(o->via.str.ptr, 0, len))
        return wr_cf_fail(WR_EPROTO, why, whylen, "%s: contains a NUL byte", PS(p));
    *s = len ? o->via.str.ptr : "";
    *n = len;
    return WR_OK;
}

/* Copies a str into a fixed struct field of size cap, NUL-terminated. */
int wr_cf_copy_str(const msgpack_object *o, char *dst, size_t cap, size_t min_len,
                    const path_t *p, char *why, size_t whylen)
{
    const char *s;
    size_t n;
    TRY(wr_cf_str(o, min_len, cap - 1, p, &s, &n, why, whylen));
    memcpy(dst, s, n);
    dst[n] = '\0';
    return WR_OK;
}

/* Checks that o is an array (of exactly n items, unless n is 0) and returns its items. */
int wr_cf_array(const msgpack_object *o, uint32_t n, const path_t *p,
                      const msgpack_object **items, uint32_t *count, char *why, size_t whylen)
{
    char pb[PBUF];
    if (o->type != MSGPACK_OBJECT_ARRAY && n)
        return wr_cf_fail(WR_EPROTO, why, whylen, "%s: expected array of %u, got %s", PS(p),
                    (unsigned)n, wr_cf_type_of(o));
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return wr_cf_fail(WR_EPROTO, why, whylen, "%s: expected array, got %s", PS(p), wr_cf_type_of(o));
    if (n && o->via.array.size != n)
        return wr_cf_fail(WR_EPROTO, why, whylen, "%s: expected array of %u, got array of %u", PS(p),
                    (unsigned)n, (unsigned)o->via.array.size);
    *items = o->via.array.ptr;
    *count = o->via.array.size;
    return WR_OK;
}


/* Finds the known keys of a body map; unknown keys (string or not) are ignored, duplicates
 * of known keys and missing required keys are errors. */
int wr_cf_get_fields(const wr_decoder_t *dec, field_t *f, size_t nf, char *why, size_t whylen)
{
    const char *tname = wr_msg_type_name(dec->type);
    const msgpack_object_map *m = &dec->body->via.map;
    for (size_t i = 0; i < nf; i++)
        f[i].val = NULL;
    for (uint32_t k = 0; k < m->size; k++) {
        const msgpack_object *key = &m->ptr[k].key;
        if (key->type != MSGPACK_OBJECT_STR)
            continue;
        for (size_t i = 0; i < nf; i++) {
            if (key->via.str.size != strlen(f[i].key) ||
                memcmp(key->via.str.ptr, f[i].key, key->via.str.size) != 0)
                continue;
            if (f[i].val)
                return wr_cf_fail(WR_EPROTO, why, whylen, "%s body: duplicate key \"%s\"", tname,
                            f[i].key);
            f[i].val = &m->ptr[k].val;
        }
    }
    for (size_t i = 0; i < nf; i++)
        if (f[i].required && !f[i].val)
            return wr_cf_fail(WR_EPROTO, why, whylen, "%s body: missing required key \"%s\"", tname,
                        f[i].key);
    return WR_OK;
}

/* Checks that the decoder holds a frame of one of the wanted types. */
int wr_cf_want_frame(const wr_decoder_t *dec, int t1, int t2, char *why, size_t whylen)
{
    if (!dec || !dec->have)
        return wr_cf_fail(WR_EINVAL, why, whylen, "decoder holds no decoded frame");
    if (dec->type != t1 && dec->type != t2)
        return wr_cf_fail(WR_EINVAL, why, whylen, "frame is a %s, not a %s", wr_msg_type_name(dec->type),
                    wr_msg_type_name(t1));
    return WR_OK;
}

