/* wr_codec_decode: msgpack frames -> structs, for untrusted input. Each frame is pre-scanned
 * (wr_codec_prescan.c), copied into a buffer the decoder owns (so borrowed strings outlive the
 * caller's message), unpacked by msgpack-c into one reused zone, and then every field is
 * checked for type, range and cap, with a reason naming the field on any error. The schema
 * lives in wr_codec.h. Positional entries (nodes, rollups, tiers) must have exactly the
 * documented number of items; unknown keys of a body map are ignored. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>
#include "wr_codec.h"
#include "wr_error.h"

#define WR_STATE_MAX_NODES_DEFAULT 1000000u
#define WR_STATE_MAX_ROLLUPS       4096u
#define WR_STATE_MAX_TIERS         100000u

struct wr_decoder {
    size_t         max_frame;
    char          *buf;        /* private copy of the last frame: borrowed strings point here */
    size_t         cap;
    msgpack_zone   zone;       /* msgpack-c objects of the last frame, cleared per frame */
    msgpack_object root;
    int            have;       /* 1 after a successful wr_decoder_decode */
    int            type;
    const msgpack_object *body;
};

static int fail(int code, char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(int code, char *why, size_t whylen, const char *fmt, ...)
{
    if (why && whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return code;
}

#define TRY(call) do { int rc_ = (call); if (rc_ != 0) return rc_; } while (0)

wr_decoder_t *wr_decoder_new(size_t max_frame)
{
    wr_decoder_t *dec = calloc(1, sizeof(*dec));
    if (!dec)
        return NULL;
    dec->max_frame = max_frame ? max_frame : WR_WIRE_DEFAULT_MAX_FRAME;
    if (!msgpack_zone_init(&dec->zone, MSGPACK_ZONE_CHUNK_SIZE)) {
        free(dec);
        return NULL;
    }
    return dec;
}

void wr_decoder_destroy(wr_decoder_t **dec)
{
    if (!dec || !*dec)
        return;
    msgpack_zone_destroy(&(*dec)->zone);
    free((*dec)->buf);
    free(*dec);
    *dec = NULL;
}

/* ---- field helpers ----------------------------------------------------------------- */

static const char *type_of(const msgpack_object *o)
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
typedef struct {
    const char *msg;     /* "DELTA", or NULL for envelope items */
    const char *field;
    long        i, j;    /* -1: absent */
    const char *noun;
} path_t;

#define PATH(msg, field, i, j, noun) (&(const path_t){ (msg), (field), (i), (j), (noun) })

static const char *path_str(const path_t *p, char *buf, size_t n)
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

#define PBUF 128
#define PS(p) path_str((p), pb, sizeof(pb))

static int want_uint(const msgpack_object *o, uint64_t max, const path_t *p, uint64_t *out,
                     char *why, size_t whylen)
{
    char pb[PBUF];
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return fail(WR_EPROTO, why, whylen, "%s: expected unsigned integer, got %s", PS(p),
                    type_of(o));
    if (o->via.u64 > max)
        return fail(WR_EPROTO, why, whylen, "%s: %llu out of range (max %llu)", PS(p),
                    (unsigned long long)o->via.u64, (unsigned long long)max);
    *out = o->via.u64;
    return WR_OK;
}

static int want_int(const msgpack_object *o, int64_t min, int64_t max, const path_t *p,
                    int64_t *out, char *why, size_t whylen)
{
    char pb[PBUF];
    int64_t v;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > (uint64_t)max)
            return fail(WR_EPROTO, why, whylen, "%s: %llu out of range (max %lld)", PS(p),
                        (unsigned long long)o->via.u64, (long long)max);
        v = (int64_t)o->via.u64;
    } else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        v = o->via.i64;
    } else {
        return fail(WR_EPROTO, why, whylen, "%s: expected integer, got %s", PS(p), type_of(o));
    }
    if (v < min || v > max)
        return fail(WR_EPROTO, why, whylen, "%s: %lld out of range (%lld..%lld)", PS(p),
                    (long long)v, (long long)min, (long long)max);
    *out = v;
    return WR_OK;
}

/* A number where a float is expected: ints are accepted, NaN is not (infinities are). */
static int want_num(const msgpack_object *o, const path_t *p, double *out, char *why,
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
        return fail(WR_EPROTO, why, whylen, "%s: expected number, got %s", PS(p), type_of(o));
    }
    if (isnan(v))
        return fail(WR_EPROTO, why, whylen, "%s: NaN", PS(p));
    *out = v;
    return WR_OK;
}

static int want_bool(const msgpack_object *o, const path_t *p, uint8_t *out, char *why,
                     size_t whylen)
{
    char pb[PBUF];
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return fail(WR_EPROTO, why, whylen, "%s: expected bool, got %s", PS(p), type_of(o));
    *out = o->via.boolean ? 1 : 0;
    return WR_OK;
}

/* A str of min_len..max_len bytes without NUL bytes. Empty strings come back as "" (never a
 * pointer into nothing). Over max_len is WR_ETOOBIG. */
static int want_str(const msgpack_object *o, size_t min_len, size_t max_len, const path_t *p,
                    const char **s, size_t *n, char *why, size_t whylen)
{
    char pb[PBUF];
    if (o->type != MSGPACK_OBJECT_STR)
        return fail(WR_EPROTO, why, whylen, "%s: expected str, got %s", PS(p), type_of(o));
    size_t len = o->via.str.size;
    if (len < min_len)
        return fail(WR_EPROTO, why, whylen, "%s empty", PS(p));
    if (len > max_len)
        return fail(WR_ETOOBIG, why, whylen, "%s: %zu bytes over cap %zu", PS(p), len, max_len);
    if (len && memchr(o->via.str.ptr, 0, len))
        return fail(WR_EPROTO, why, whylen, "%s: contains a NUL byte", PS(p));
    *s = len ? o->via.str.ptr : "";
    *n = len;
    return WR_OK;
}

/* Copies a str into a fixed struct field of size cap, NUL-terminated. */
static int copy_str(const msgpack_object *o, char *dst, size_t cap, size_t min_len,
                    const path_t *p, char *why, size_t whylen)
{
    const char *s;
    size_t n;
    TRY(want_str(o, min_len, cap - 1, p, &s, &n, why, whylen));
    memcpy(dst, s, n);
    dst[n] = '\0';
    return WR_OK;
}

/* Checks that o is an array (of exactly n items, unless n is 0) and returns its items. */
static int want_array(const msgpack_object *o, uint32_t n, const path_t *p,
                      const msgpack_object **items, uint32_t *count, char *why, size_t whylen)
{
    char pb[PBUF];
    if (o->type != MSGPACK_OBJECT_ARRAY && n)
        return fail(WR_EPROTO, why, whylen, "%s: expected array of %u, got %s", PS(p),
                    (unsigned)n, type_of(o));
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return fail(WR_EPROTO, why, whylen, "%s: expected array, got %s", PS(p), type_of(o));
    if (n && o->via.array.size != n)
        return fail(WR_EPROTO, why, whylen, "%s: expected array of %u, got array of %u", PS(p),
                    (unsigned)n, (unsigned)o->via.array.size);
    *items = o->via.array.ptr;
    *count = o->via.array.size;
    return WR_OK;
}

/* A body key and where its value was found. */
typedef struct {
    const char           *key;
    int                   required;
    const msgpack_object *val;
} field_t;

/* Finds the known keys of a body map; unknown keys (string or not) are ignored, duplicates
 * of known keys and missing required keys are errors. */
static int get_fields(const wr_decoder_t *dec, field_t *f, size_t nf, char *why, size_t whylen)
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
                return fail(WR_EPROTO, why, whylen, "%s body: duplicate key \"%s\"", tname,
                            f[i].key);
            f[i].val = &m->ptr[k].val;
        }
    }
    for (size_t i = 0; i < nf; i++)
        if (f[i].required && !f[i].val)
            return fail(WR_EPROTO, why, whylen, "%s body: missing required key \"%s\"", tname,
                        f[i].key);
    return WR_OK;
}

/* Checks that the decoder holds a frame of one of the wanted types. */
static int want_frame(const wr_decoder_t *dec, int t1, int t2, char *why, size_t whylen)
{
    if (!dec || !dec->have)
        return fail(WR_EINVAL, why, whylen, "decoder holds no decoded frame");
    if (dec->type != t1 && dec->type != t2)
        return fail(WR_EINVAL, why, whylen, "frame is a %s, not a %s", wr_msg_type_name(dec->type),
                    wr_msg_type_name(t1));
    return WR_OK;
}

/* ---- envelope ------------------------------------------------------------------------ */

static int check_envelope(wr_decoder_t *dec, wr_envelope_t *env, char *why, size_t whylen)
{
    const msgpack_object *r = &dec->root;
    uint64_t u;
    int64_t i;
    const char *s;
    size_t n;

    if (r->type != MSGPACK_OBJECT_ARRAY)
        return fail(WR_EPROTO, why, whylen, "envelope: expected array of 7, got %s", type_of(r));
    if (r->via.array.size != 7)
        return fail(WR_EPROTO, why, whylen, "envelope: expected array of 7, got array of %u",
                    (unsigned)r->via.array.size);
    const msgpack_object *e = r->via.array.ptr;
    TRY(want_uint(&e[0], UINT32_MAX, PATH(NULL, "v", -1, -1, NULL), &u, why, whylen));
    if (u != WR_WIRE_VERSION)
        return fail(WR_EUNSUPPORTED, why, whylen, "v: unsupported wire version %llu (this build "
                    "speaks %d)", (unsigned long long)u, WR_WIRE_VERSION);
    env->v = (uint32_t)u;
    TRY(want_uint(&e[1], UINT64_MAX, PATH(NULL, "type", -1, -1, NULL), &u, why, whylen));
    if (u < 1 || u > WR_MSG_TYPE_MAX)
        return fail(WR_EUNSUPPORTED, why, whylen, "type: unknown message type %llu",
                    (unsigned long long)u);
    env->type = (int)u;
    TRY(want_str(&e[2], 1, WR_ID_MAX - 1, PATH(NULL, "from", -1, -1, NULL), &s, &n, why,
                 whylen));
    memcpy(env->from, s, n);
    env->from[n] = '\0';
    TRY(want_uint(&e[3], UINT64_MAX, PATH(NULL, "epoch", -1, -1, NULL), &env->epoch, why,
                  whylen));
    TRY(want_uint(&e[4], UINT64_MAX, PATH(NULL, "seq", -1, -1, NULL), &env->seq, why, whylen));
    TRY(want_int(&e[5], INT64_MIN, INT64_MAX, PATH(NULL, "ts", -1, -1, NULL), &i, why, whylen));
    env->ts_ms = i;
    if (e[6].type != MSGPACK_OBJECT_MAP)
        return fail(WR_EPROTO, why, whylen, "body: expected map, got %s", type_of(&e[6]));
    dec->body = &e[6];
    return WR_OK;
}
int wr_decoder_decode(wr_decoder_t *dec, const void *buf, size_t len, wr_envelope_t *env,
                      char *why, size_t whylen)
{
    wr_envelope_t tmp;
    if (why && whylen)
        why[0] = '\0';
    if (!dec || !env)
        return fail(WR_EINVAL, why, whylen, "no decoder or envelope");
    dec->have = 0;
    dec->body = NULL;
    TRY(wr_codec_prescan(buf, len, dec->max_frame, why, whylen));
    if (len > dec->cap) {
        char *nb = realloc(dec->buf, len);
        if (!nb)
            return fail(WR_ENOMEM, why, whylen, "no memory for a frame of %zu bytes", len);
        dec->buf = nb;
        dec->cap = len;
    }
    memcpy(dec->buf, buf, len);
    msgpack_zone_clear(&dec->zone);
    size_t off = 0;
    msgpack_unpack_return ur = msgpack_unpack(dec->buf, len, &off, &dec->zone, &dec->root);
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR)
        return fail(WR_ENOMEM, why, whylen, "no memory to unpack a frame of %zu bytes", len);
    if (ur != MSGPACK_UNPACK_SUCCESS || off != len)   /* the pre-scan should have caught it */
        return fail(WR_EPROTO, why, whylen, "msgpack: unpack failed (%d) at offset %zu",
                    (int)ur, off);
    memset(&tmp, 0, sizeof(tmp));
    TRY(check_envelope(dec, &tmp, why, whylen));
    *env = tmp;
    dec->type = tmp.type;
    dec->have = 1;
    return WR_OK;
}

/* ---- bodies -------------------------------------------------------------------------- */

int wr_decode_hello(wr_decoder_t *dec, wr_hello_t *out, char *why, size_t whylen)
{
    field_t f[] = { { "kind", 1, NULL }, { "id", 1, NULL }, { "version", 0, NULL },
                    { "interval_ms", 0, NULL } };
    uint64_t u = 0;
    TRY(want_frame(dec, WR_MSG_HELLO, WR_MSG_HELLO, why, whylen));
    memset(out, 0, sizeof(*out));
    TRY(get_fields(dec, f, 4, why, whylen));
    TRY(copy_str(f[0].val, out->kind, sizeof(out->kind), 1, PATH("HELLO", "kind", -1, -1, NULL),
                 why, whylen));
    if (strcmp(out->kind, "leaf") && strcmp(out->kind, "relay") && strcmp(out->kind, "root"))
        return fail(WR_EPROTO, why, whylen,
                    "HELLO kind: \"%s\" is not leaf, relay or root", out->kind);
    TRY(copy_str(f[1].val, out->id, sizeof(out->id), 1, PATH("HELLO", "id", -1, -1, NULL),
                 why, whylen));
    if (f[2].val)
        TRY(copy_str(f[2].val, out->version, sizeof(out->version), 0,
                     PATH("HELLO", "version", -1, -1, NULL), why, whylen));
    if (f[3].val)
        TRY(want_uint(f[3].val, UINT32_MAX, PATH("HELLO", "interval_ms", -1, -1, NULL), &u,
                      why, whylen));
    out->interval_ms = (uint32_t)u;
    return WR_OK;
}

/* Writes a printable copy of a short untrusted string for a reason text. */
static const char *printable(const char *s, char *dst, size_t cap)
{
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++)
        dst[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
    dst[i] = '\0';
    return dst;
}

static int decode_nodes(const msgpack_object *o, const char *tn, size_t max_nodes,
                        wr_state_msg_t *out, char *why, size_t whylen)
{
    const msgpack_object *items = NULL, *e = NULL;
    uint32_t n = 0, k = 0;
    uint64_t u;

    TRY(want_array(o, 0, PATH(tn, "nodes", -1, -1, NULL), &items, &n, why, whylen));
    if (n > max_nodes)
        return fail(WR_ETOOBIG, why, whylen, "%s nodes: %u entries over cap %zu", tn,
                    (unsigned)n, max_nodes);
    if (n && !(out->nodes = calloc(n, sizeof(*out->nodes))))
        return fail(WR_ENOMEM, why, whylen, "%s nodes: no memory for %u entries", tn,
                    (unsigned)n);
    for (long i = 0; i < (long)n; i++) {
        wr_node_entry_t *ne = &out->nodes[i];
        TRY(want_array(&items[i], 4, PATH(tn, "nodes", i, -1, NULL), &e, &k, why, whylen));
        TRY(copy_str(&e[0], ne->name, sizeof(ne->name), 1, PATH(tn, "nodes", i, 0, "node name"),
                     why, whylen));
        TRY(want_uint(&e[1], WR_NODE_STATE_MAX, PATH(tn, "nodes", i, 1, "node state"), &u,
                      why, whylen));
        ne->state = (uint8_t)u;
        TRY(want_int(&e[2], INT64_MIN, INT64_MAX, PATH(tn, "nodes", i, 2, "since"),
                     &ne->since_ms, why, whylen));
        TRY(copy_str(&e[3], ne->leaf, sizeof(ne->leaf), 1, PATH(tn, "nodes", i, 3, "leaf id"),
                     why, whylen));
        out->n_nodes = (size_t)i + 1;
    }
    return WR_OK;
}

static int decode_rollups(const msgpack_object *o, const char *tn, wr_state_msg_t *out,
                          char *why, size_t whylen)
{
    char pr[WR_METRIC_NAME_MAX];
    const msgpack_object *items = NULL, *e = NULL;
    uint32_t n = 0, k = 0;

    TRY(want_array(o, 0, PATH(tn, "rollups", -1, -1, NULL), &items, &n, why, whylen));
    if (n > WR_STATE_MAX_ROLLUPS)
        return fail(WR_ETOOBIG, why, whylen, "%s rollups: %u entries over cap %u", tn,
                    (unsigned)n, WR_STATE_MAX_ROLLUPS);
    if (n && !(out->rollups = calloc(n, sizeof(*out->rollups))))
        return fail(WR_ENOMEM, why, whylen, "%s rollups: no memory", tn);
    for (long i = 0; i < (long)n; i++) {
        wr_rollup_entry_t *r = &out->rollups[i];
        TRY(want_array(&items[i], 5, PATH(tn, "rollups", i, -1, NULL), &e, &k, why, whylen));
        TRY(copy_str(&e[0], r->metric, sizeof(r->metric), 1,
                     PATH(tn, "rollups", i, 0, "metric name"), why, whylen));
        if (!wr_metric_name_valid(r->metric))
            return fail(WR_EPROTO, why, whylen, "%s rollups[%ld][0]: invalid metric name \"%s\"",
                        tn, i, printable(r->metric, pr, sizeof(pr)));
        TRY(want_uint(&e[1], UINT64_MAX, PATH(tn, "rollups", i, 1, "count"), &r->agg.count,
                      why, whylen));
        TRY(want_num(&e[2], PATH(tn, "rollups", i, 2, "sum"), &r->agg.sum, why, whylen));
        TRY(want_num(&e[3], PATH(tn, "rollups", i, 3, "min"), &r->agg.min, why, whylen));
        TRY(want_num(&e[4], PATH(tn, "rollups", i, 4, "max"), &r->agg.max, why, whylen));
        out->n_rollups = (size_t)i + 1;
    }
    return WR_OK;
}

static int decode_tiers(const msgpack_object *o, const char *tn, wr_state_msg_t *out,
                        char *why, size_t whylen)
{
    const msgpack_object *items = NULL, *e = NULL;
    uint32_t n = 0, k = 0;
    uint64_t u;
    int64_t i64;

    TRY(want_array(o, 0, PATH(tn, "tiers", -1, -1, NULL), &items, &n, why, whylen));
    if (n > WR_STATE_MAX_TIERS)
        return fail(WR_ETOOBIG, why, whylen, "%s tiers: %u entries over cap %u", tn,
                    (unsigned)n, WR_STATE_MAX_TIERS);
    if (n && !(out->tiers = calloc(n, sizeof(*out->tiers))))
        return fail(WR_ENOMEM, why, whylen, "%s tiers: no memory", tn);
    for (long i = 0; i < (long)n; i++) {
        wr_tier_entry_t *t = &out->tiers[i];
        TRY(want_array(&items[i], 7, PATH(tn, "tiers", i, -1, NULL), &e, &k, why, whylen));
        TRY(copy_str(&e[0], t->id, sizeof(t->id), 1, PATH(tn, "tiers", i, 0, "tier id"),
                     why, whylen));
        TRY(copy_str(&e[1], t->kind, sizeof(t->kind), 0, PATH(tn, "tiers", i, 1, "kind"),
                     why, whylen));
        TRY(want_int(&e[2], -1, INT32_MAX, PATH(tn, "tiers", i, 2, "parent"), &i64, why,
                     whylen));
        if (i64 >= i)
            return fail(WR_EPROTO, why, whylen,
                        "%s tiers[%ld][2]: parent %lld is not -1 or an earlier index (< %ld)",
                        tn, i, (long long)i64, i);
        t->parent = (int32_t)i64;
        TRY(want_bool(&e[3], PATH(tn, "tiers", i, 3, "up"), &t->up, why, whylen));
        TRY(want_uint(&e[4], UINT32_MAX, PATH(tn, "tiers", i, 4, "nodes_total"), &u, why,
                      whylen));
        t->nodes_total = (uint32_t)u;
        TRY(want_uint(&e[5], UINT32_MAX, PATH(tn, "tiers", i, 5, "nodes_up"), &u, why, whylen));
        t->nodes_up = (uint32_t)u;
        TRY(want_num(&e[6], PATH(tn, "tiers", i, 6, "samples_per_s"), &t->samples_per_s, why,
                     whylen));
        out->n_tiers = (size_t)i + 1;
    }
    return WR_OK;
}

void wr_state_msg_clear(wr_state_msg_t *msg)
{
    if (!msg)
        return;
    free(msg->nodes);
    free(msg->rollups);
    free(msg->tiers);
    memset(msg, 0, sizeof(*msg));
}

static int decode_state(wr_decoder_t *dec, size_t max_nodes, wr_state_msg_t *out, char *why,
                        size_t whylen)
{
    field_t f[] = { { "interval_ms", 0, NULL }, { "at", 1, NULL }, { "nodes", 1, NULL },
                    { "rollups", 1, NULL }, { "tiers", 1, NULL } };
    const char *tn = wr_msg_type_name(dec->type);
    uint64_t u = 0;

    TRY(get_fields(dec, f, 5, why, whylen));
    if (f[0].val)
        TRY(want_uint(f[0].val, UINT32_MAX, PATH(tn, "interval_ms", -1, -1, NULL), &u, why,
                      whylen));
    out->interval_ms = (uint32_t)u;
    TRY(want_int(f[1].val, INT64_MIN, INT64_MAX, PATH(tn, "at", -1, -1, NULL), &out->at_ms,
                 why, whylen));
    TRY(decode_nodes(f[2].val, tn, max_nodes ? max_nodes : WR_STATE_MAX_NODES_DEFAULT, out,
                     why, whylen));
    TRY(decode_rollups(f[3].val, tn, out, why, whylen));
    TRY(decode_tiers(f[4].val, tn, out, why, whylen));
    return WR_OK;
}

int wr_decode_state(wr_decoder_t *dec, size_t max_nodes, wr_state_msg_t *out, char *why,
                    size_t whylen)
{
    memset(out, 0, sizeof(*out));
    TRY(want_frame(dec, WR_MSG_SNAPSHOT, WR_MSG_DELTA, why, whylen));
    int rc = decode_state(dec, max_nodes, out, why, whylen);
    if (rc != 0)
        wr_state_msg_clear(out);
    return rc;
}

int wr_decode_ack(wr_decoder_t *dec, wr_ack_t *out, char *why, size_t whylen)
{
    field_t f[] = { { "seq", 1, NULL } };
    TRY(want_frame(dec, WR_MSG_ACK, WR_MSG_ACK, why, whylen));
    memset(out, 0, sizeof(*out));
    TRY(get_fields(dec, f, 1, why, whylen));
    return want_uint(f[0].val, UINT64_MAX, PATH("ACK", "seq", -1, -1, NULL), &out->seq, why,
                     whylen);
}

int wr_decode_query(wr_decoder_t *dec, wr_query_t *out, char *why, size_t whylen)
{
    field_t f[] = { { "qid", 1, NULL }, { "node", 1, NULL }, { "kind", 1, NULL },
                    { "args", 0, NULL } };
    wr_query_t q = { 0, "", 0, "", 0, "", 0 };
    TRY(want_frame(dec, WR_MSG_QUERY, WR_MSG_QUERY, why, whylen));
    TRY(get_fields(dec, f, 4, why, whylen));
    TRY(want_uint(f[0].val, UINT64_MAX, PATH("QUERY", "qid", -1, -1, NULL), &q.qid, why,
                  whylen));
    TRY(want_str(f[1].val, 1, WR_NODE_NAME_MAX - 1, PATH("QUERY", "node", -1, -1, NULL),
                 &q.node, &q.node_len, why, whylen));
    TRY(want_str(f[2].val, 1, WR_WIRE_MAX_STR, PATH("QUERY", "kind", -1, -1, NULL), &q.kind,
                 &q.kind_len, why, whylen));
    if (f[3].val)
        TRY(want_str(f[3].val, 0, WR_WIRE_MAX_STR, PATH("QUERY", "args", -1, -1, NULL), &q.args,
                     &q.args_len, why, whylen));
    *out = q;
    return WR_OK;
}

int wr_decode_reply(wr_decoder_t *dec, wr_reply_t *out, char *why, size_t whylen)
{
    field_t f[] = { { "qid", 1, NULL }, { "status", 1, NULL }, { "error", 0, NULL },
                    { "result", 0, NULL } };
    wr_reply_t r = { 0, 0, "", 0, "", 0 };
    int64_t st;
    TRY(want_frame(dec, WR_MSG_REPLY, WR_MSG_REPLY, why, whylen));
    TRY(get_fields(dec, f, 4, why, whylen));
    TRY(want_uint(f[0].val, UINT64_MAX, PATH("REPLY", "qid", -1, -1, NULL), &r.qid, why,
                  whylen));
    TRY(want_int(f[1].val, INT32_MIN, 0, PATH("REPLY", "status", -1, -1, NULL), &st, why,
                 whylen));
    r.status = (int32_t)st;
    if (f[2].val)
        TRY(want_str(f[2].val, 0, WR_WIRE_MAX_STR, PATH("REPLY", "error", -1, -1, NULL),
                     &r.error, &r.error_len, why, whylen));
    if (f[3].val)
        TRY(want_str(f[3].val, 0, WR_WIRE_MAX_STR, PATH("REPLY", "result", -1, -1, NULL),
                     &r.result, &r.result_len, why, whylen));
    *out = r;
    return WR_OK;
}

int wr_decode_command(wr_decoder_t *dec, wr_command_t *out, char *why, size_t whylen)
{
    field_t f[] = { { "cmd", 1, NULL }, { "args", 0, NULL } };
    wr_command_t c = { "", 0, "", 0 };
    TRY(want_frame(dec, WR_MSG_COMMAND, WR_MSG_COMMAND, why, whylen));
    TRY(get_fields(dec, f, 2, why, whylen));
    TRY(want_str(f[0].val, 1, WR_WIRE_MAX_STR, PATH("COMMAND", "cmd", -1, -1, NULL), &c.cmd,
                 &c.cmd_len, why, whylen));
    if (f[1].val)
        TRY(want_str(f[1].val, 0, WR_WIRE_MAX_STR, PATH("COMMAND", "args", -1, -1, NULL),
                     &c.args, &c.args_len, why, whylen));
    *out = c;
    return WR_OK;
}
