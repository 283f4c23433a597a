/* leaf_parse: bounded validation and decoding of reply terms from BEAM nodes (see
 * leaf_parse.h). Pure code: usable from unit tests by including this file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "leaf_parse.h"
#include "wr_error.h"
#include "wr_metric.h"

const char *const leaf_memory_keys[] = {
    "total", "processes", "processes_used", "system", "atom",
    "atom_used", "binary", "code", "ets", NULL,
};

#ifndef ERL_NEW_FLOAT_EXT
#define ERL_NEW_FLOAT_EXT 'F'
#endif

static uint32_t get_be32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return ((uint32_t)u[0] << 24) | ((uint32_t)u[1] << 16) | ((uint32_t)u[2] << 8) | u[3];
}

static uint32_t get_be16(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return ((uint32_t)u[0] << 8) | u[1];
}

typedef struct {
    const char *buf;
    int         len;
    long        items;
    char       *why;
    size_t      whylen;
} check_t;

#define NEED(c, i, n)                                                                   \
    do {                                                                                \
        if ((long)(i) + (long)(n) > (long)(c)->len) {                                   \
            snprintf((c)->why, (c)->whylen, "term truncated at byte %d (need %ld more)", \
                     (int)(i), (long)(i) + (long)(n) - (long)(c)->len);                 \
            return WR_EPROTO;                                                           \
        }                                                                               \
    } while (0)

/* An atom (any of the four atom tags) at *i; advances *i. */
static int check_atom(check_t *c, int *i)
{
    NEED(c, *i, 1);
    unsigned char tag = (unsigned char)c->buf[*i];
    uint32_t n;
    switch (tag) {
    case ERL_ATOM_EXT:
    case ERL_ATOM_UTF8_EXT:
        NEED(c, *i, 3);
        n = get_be16(c->buf + *i + 1);
        *i += 3;
        break;
    case ERL_SMALL_ATOM_EXT:
    case ERL_SMALL_ATOM_UTF8_EXT:
        NEED(c, *i, 2);
        n = (unsigned char)c->buf[*i + 1];
        *i += 2;
        break;
    default:
        snprintf(c->why, c->whylen, "expected an atom at byte %d, got tag %u", *i, tag);
        return WR_EPROTO;
    }
    if (n > 255 * 4) {
        snprintf(c->why, c->whylen, "atom of %u bytes at byte %d", n, *i);
        return WR_EPROTO;
    }
    NEED(c, *i, n);
    *i += (int)n;
    return 0;
}

static int check_term(check_t *c, int *i, int depth);

/* n terms in a row (tuple elements, list elements, map pairs). */
static int check_seq(check_t *c, int *i, uint32_t n, int depth)
{
    if ((long)n > (long)(c->len - *i)) {
        snprintf(c->why, c->whylen, "container at byte %d claims %u elements in %d bytes",
                 *i, n, c->len - *i);
        return WR_EPROTO;
    }
    for (uint32_t k = 0; k < n; k++) {
        int rc = check_term(c, i, depth + 1);
        if (rc)
            return rc;
    }
    return 0;
}

static int check_term(check_t *c, int *i, int depth)
{
    if (depth > LEAF_TERM_MAX_DEPTH) {
        snprintf(c->why, c->whylen, "term nested deeper than %d", LEAF_TERM_MAX_DEPTH);
        return WR_ETOOBIG;
    }
    if (++c->items > LEAF_TERM_MAX_ITEMS) {
        snprintf(c->why, c->whylen, "term has more than %d elements", LEAF_TERM_MAX_ITEMS);
        return WR_ETOOBIG;
    }
    NEED(c, *i, 1);
    unsigned char tag = (unsigned char)c->buf[*i];
    uint32_t n;
    int rc;
    switch (tag) {
    case ERL_SMALL_INTEGER_EXT: NEED(c, *i, 2); *i += 2; return 0;
    case ERL_INTEGER_EXT:       NEED(c, *i, 5); *i += 5; return 0;
    case ERL_FLOAT_EXT:         NEED(c, *i, 32); *i += 32; return 0;
    case ERL_NEW_FLOAT_EXT:     NEED(c, *i, 9); *i += 9; return 0;
    case ERL_NIL_EXT:           *i += 1; return 0;
    case ERL_ATOM_EXT:
    case ERL_ATOM_UTF8_EXT:
    case ERL_SMALL_ATOM_EXT:
    case ERL_SMALL_ATOM_UTF8_EXT:
        return check_atom(c, i);
    case ERL_SMALL_TUPLE_EXT:
        NEED(c, *i, 2);
        n = (unsigned char)c->buf[*i + 1];
        *i += 2;
        return check_seq(c, i, n, depth);
    case ERL_LARGE_TUPLE_EXT:
        NEED(c, *i, 5);
        n = get_be32(c->buf + *i + 1);
        *i += 5;
        return check_seq(c, i, n, depth);
    case ERL_MAP_EXT:
        NEED(c, *i, 5);
        n = get_be32(c->buf + *i + 1);
        *i += 5;
        if (n > (uint32_t)LEAF_TERM_MAX_ITEMS) {
            snprintf(c->why, c->whylen, "map of %u pairs", n);
            return WR_ETOOBIG;
        }
        return check_seq(c, i, n * 2, depth);
    case ERL_LIST_EXT:
        NEED(c, *i, 5);
        n = get_be32(c->buf + *i + 1);
        *i += 5;
        if ((rc = check_seq(c, i, n, depth)) != 0)
            return rc;
        return check_term(c, i, depth + 1);          /* the tail */
    case ERL_STRING_EXT:
        NEED(c, *i, 3);
        n = get_be16(c->buf + *i + 1);
        NEED(c, *i, 3 + n);
        *i += 3 + (int)n;
        return 0;
    case ERL_BINARY_EXT:
        NEED(c, *i, 5);
        n = get_be32(c->buf + *i + 1);
        NEED(c, *i, 5 + (long)n);
        *i += 5 + (int)n;
        return 0;
    case ERL_BIT_BINARY_EXT:
        NEED(c, *i, 6);
        n = get_be32(c->buf + *i + 1);
        NEED(c, *i, 6 + (long)n);
        *i += 6 + (int)n;
        return 0;
    case ERL_SMALL_BIG_EXT:
        NEED(c, *i, 3);
        n = (unsigned char)c->buf[*i + 1];
        NEED(c, *i, 3 + n);
        *i += 3 + (int)n;
        return 0;
    case ERL_LARGE_BIG_EXT:
        NEED(c, *i, 6);
        n = get_be32(c->buf + *i + 1);
        NEED(c, *i, 6 + (long)n);
        *i += 6 + (int)n;
        return 0;
    case ERL_PID_EXT:
    case ERL_NEW_PID_EXT:
        *i += 1;
        if ((rc = check_atom(c, i)) != 0)
            return rc;
        n = tag == ERL_PID_EXT ? 9 : 12;
        NEED(c, *i, n);
        *i += (int)n;
        return 0;
    case ERL_PORT_EXT:
    case ERL_NEW_PORT_EXT:
    case ERL_V4_PORT_EXT:
        *i += 1;
        if ((rc = check_atom(c, i)) != 0)
            return rc;
        n = tag == ERL_PORT_EXT ? 5 : tag == ERL_NEW_PORT_EXT ? 8 : 12;
        NEED(c, *i, n);
        *i += (int)n;
        return 0;
    case ERL_REFERENCE_EXT:
        *i += 1;
        if ((rc = check_atom(c, i)) != 0)
            return rc;
        NEED(c, *i, 5);
        *i += 5;
        return 0;
    case ERL_NEW_REFERENCE_EXT:
    case ERL_NEWER_REFERENCE_EXT: {
        NEED(c, *i, 3);
        uint32_t words = get_be16(c->buf + *i + 1);
        if (words < 1 || words > 5) {
            snprintf(c->why, c->whylen, "reference of %u words at byte %d", words, *i);
            return WR_EPROTO;
        }
        *i += 3;
        if ((rc = check_atom(c, i)) != 0)
            return rc;
        n = (tag == ERL_NEW_REFERENCE_EXT ? 1 : 4) + 4 * words;
        NEED(c, *i, n);
        *i += (int)n;
        return 0;
    }
    case ERL_EXPORT_EXT:
        *i += 1;
        if ((rc = check_atom(c, i)) != 0 || (rc = check_atom(c, i)) != 0)
            return rc;
        NEED(c, *i, 2);
        if ((unsigned char)c->buf[*i] != ERL_SMALL_INTEGER_EXT) {
            snprintf(c->why, c->whylen, "export arity is not a small integer");
            return WR_EPROTO;
        }
        *i += 2;
        return 0;
    case ERL_NEW_FUN_EXT:
        NEED(c, *i, 5);
        n = get_be32(c->buf + *i + 1);        /* includes its own 4 bytes */
        if (n < 4) {
            snprintf(c->why, c->whylen, "fun of size %u", n);
            return WR_EPROTO;
        }
        NEED(c, *i, 1 + (long)n);
        *i += 1 + (int)n;
        return 0;
    default:
        snprintf(c->why, c->whylen, "unsupported term tag %u at byte %d", tag, *i);
        return WR_EPROTO;
    }
}

int leaf_term_check(const char *buf, int len, int index, int *end, char *why, size_t whylen)
{
    check_t c = {buf, len, 0, why, whylen};
    if (!buf || len < 0 || index < 0 || index > len) {
        snprintf(why, whylen, "bad buffer");
        return WR_EPROTO;
    }
    int i = index;
    int rc = check_term(&c, &i, 0);
    if (rc == 0 && end)
        *end = i;
    return rc;
}

static const char *type_name(int type)
{
    switch (type) {
    case ERL_SMALL_INTEGER_EXT: case ERL_INTEGER_EXT:
    case ERL_SMALL_BIG_EXT: case ERL_LARGE_BIG_EXT: return "integer";
    case ERL_FLOAT_EXT: case ERL_NEW_FLOAT_EXT: return "float";
    case ERL_ATOM_EXT: case ERL_ATOM_UTF8_EXT:
    case ERL_SMALL_ATOM_EXT: case ERL_SMALL_ATOM_UTF8_EXT: return "atom";
    case ERL_SMALL_TUPLE_EXT: case ERL_LARGE_TUPLE_EXT: return "tuple";
    case ERL_NIL_EXT: return "[]";
    case ERL_LIST_EXT: return "list";
    case ERL_STRING_EXT: return "string";
    case ERL_BINARY_EXT: case ERL_BIT_BINARY_EXT: return "binary";
    case ERL_MAP_EXT: return "map";
    case ERL_PID_EXT: case ERL_NEW_PID_EXT: return "pid";
    case ERL_REFERENCE_EXT: case ERL_NEW_REFERENCE_EXT: case ERL_NEWER_REFERENCE_EXT: return "reference";
    case ERL_PORT_EXT: case ERL_NEW_PORT_EXT: case ERL_V4_PORT_EXT: return "port";
    default: return "other term";
    }
}

int leaf_decode_number(const char *buf, int *index, double *out, char *why, size_t whylen)
{
    int type = 0, size = 0, i = *index;
    if (ei_get_type(buf, &i, &type, &size) < 0) {
        snprintf(why, whylen, "undecodable term");
        return WR_EPROTO;
    }
    switch (type) {
    case ERL_SMALL_INTEGER_EXT:
    case ERL_INTEGER_EXT: {
        long v;
        if (ei_decode_long(buf, index, &v) < 0)
            break;
        *out = (double)v;
        return 0;
    }
    case ERL_SMALL_BIG_EXT:
    case ERL_LARGE_BIG_EXT: {
        if (size > 8) {
            snprintf(why, whylen, "integer of %d bytes over 64 bits", size);
            return WR_ETOOBIG;
        }
        long long s;
        unsigned long long u;
        int j = *index;
        if (ei_decode_longlong(buf, &j, &s) == 0) {
            *out = (double)s;
            *index = j;
            return 0;
        }
        j = *index;
        if (ei_decode_ulonglong(buf, &j, &u) == 0) {
            *out = (double)u;
            *index = j;
            return 0;
        }
        snprintf(why, whylen, "integer over 64 bits");
        return WR_ETOOBIG;
    }
    default:
        break;
    }
    snprintf(why, whylen, "expected integer, got %s", type_name(type));
    return WR_EPROTO;
}

int leaf_parse_envelope(const char *buf, int len, erlang_ref *ref, int *reply_index,
                        char *why, size_t whylen)
{
    int i = 0, version = 0, end = 0, arity = 0, rc;
    if (len < 1 || ei_decode_version(buf, &i, &version) < 0) {
        snprintf(why, whylen, "no version byte");
        return WR_EPROTO;
    }
    if ((rc = leaf_term_check(buf, len, i, &end, why, whylen)) != 0)
        return rc;
    if (end != len) {     /* ei_xreceive_msg leaves x.index = the payload's length */
        snprintf(why, whylen, "%d bytes after the term", len - end);
        return WR_EPROTO;
    }
    if (ei_decode_tuple_header(buf, &i, &arity) < 0 || arity != 2) {
        snprintf(why, whylen, "expected {Ref, Reply}");
        return WR_EPROTO;
    }
    if (ei_decode_ref(buf, &i, ref) < 0) {
        snprintf(why, whylen, "expected {Ref, Reply}: first element is not a reference");
        return WR_EPROTO;
    }
    *reply_index = i;
    return 0;
}

/* {badrpc, Reason}: writes "badrpc: <Reason>" into why and returns 1; else 0. */
static int is_badrpc(const char *buf, int index, char *why, size_t whylen)
{
    int i = index, arity = 0;
    char atom[MAXATOMLEN_UTF8];
    if (ei_decode_tuple_header(buf, &i, &arity) < 0 || arity != 2)
        return 0;
    if (ei_decode_atom(buf, &i, atom) < 0 || strcmp(atom, "badrpc") != 0)
        return 0;
    char *s = NULL;
    int j = i;
    if (ei_s_print_term(&s, buf, &j) >= 0 && s) {
        snprintf(why, whylen, "badrpc: %.200s", s);
    } else {
        snprintf(why, whylen, "badrpc");
    }
    free(s);
    return 1;
}

/* {Tag, Int} with the given atom tag. */
static int tagged_number(const char *buf, int *i, const char *tag, double *out, char *why, size_t whylen)
{
    int arity = 0;
    char atom[MAXATOMLEN_UTF8];
    if (ei_decode_tuple_header(buf, i, &arity) < 0 || arity != 2 ||
        ei_decode_atom(buf, i, atom) < 0 || strcmp(atom, tag) != 0) {
        snprintf(why, whylen, "expected {%s, Int}", tag);
        return WR_EPROTO;
    }
    return leaf_decode_number(buf, i, out, why, whylen);
}

static int parse_memory(const char *buf, int i, leaf_values_t *out, char *why, size_t whylen)
{
    int type = 0, size = 0, n = 0, rc;
    ei_get_type(buf, &i, &type, &size);
    if (type != ERL_LIST_EXT) {
        snprintf(why, whylen, "expected list of {atom, integer}, got %s", type_name(type));
        return WR_EPROTO;
    }
    if (ei_decode_list_header(buf, &i, &n) < 0) {
        snprintf(why, whylen, "bad list");
        return WR_EPROTO;
    }
    if (n > 256) {
        snprintf(why, whylen, "memory list of %d elements (cap 256)", n);
        return WR_ETOOBIG;
    }
    for (int k = 0; k < n; k++) {
        int arity = 0;
        char key[MAXATOMLEN_UTF8];
        double v;
        if (ei_decode_tuple_header(buf, &i, &arity) < 0 || arity != 2 ||
            ei_decode_atom(buf, &i, key) < 0) {
            snprintf(why, whylen, "memory element %d: expected {atom, integer}", k);
            return WR_EPROTO;
        }
        if ((rc = leaf_decode_number(buf, &i, &v, why, whylen)) != 0)
            return rc;
        for (int s = 0; leaf_memory_keys[s]; s++) {
            if (strcmp(leaf_memory_keys[s], key) == 0) {
                out->v[s] = v;
                out->mask |= 1u << s;
                break;
            }
        }
    }
    ei_get_type(buf, &i, &type, &size);
    if (type != ERL_NIL_EXT) {
        snprintf(why, whylen, "memory list is improper");
        return WR_EPROTO;
    }
    if (out->mask == 0) {
        snprintf(why, whylen, "memory list has none of the known keys");
        return WR_EPROTO;
    }
    return 0;
}

int leaf_parse_reply(const char *buf, int index, leaf_shape_t shape, leaf_values_t *out,
                     char *why, size_t whylen)
{
    int i = index, arity = 0, rc;
    memset(out, 0, sizeof *out);
    if (is_badrpc(buf, index, why, whylen))
        return WR_EPROTO;
    switch (shape) {
    case LEAF_SHAPE_MEMORY:
        return parse_memory(buf, i, out, why, whylen);
    case LEAF_SHAPE_INT:
        if ((rc = leaf_decode_number(buf, &i, &out->v[0], why, whylen)) != 0)
            return rc;
        out->mask = 1;
        return 0;
    case LEAF_SHAPE_PAIR_FIRST:
        if (ei_decode_tuple_header(buf, &i, &arity) < 0 || arity != 2) {
            snprintf(why, whylen, "expected {Int, Int}");
            return WR_EPROTO;
        }
        if ((rc = leaf_decode_number(buf, &i, &out->v[0], why, whylen)) != 0)
            return rc;
        out->mask = 1;
        return 0;
    case LEAF_SHAPE_IO:
        if (ei_decode_tuple_header(buf, &i, &arity) < 0 || arity != 2) {
            snprintf(why, whylen, "expected {{input, I}, {output, O}}");
            return WR_EPROTO;
        }
        if ((rc = tagged_number(buf, &i, "input", &out->v[0], why, whylen)) != 0 ||
            (rc = tagged_number(buf, &i, "output", &out->v[1], why, whylen)) != 0)
            return rc;
        out->mask = 3;
        return 0;
    }
    snprintf(why, whylen, "unknown shape %d", (int)shape);
    return WR_EINVAL;
}

/* ---- warren_agent:collect/1 ---------------------------------------------------------- */

/* A number (integer up to 64 bits, or a finite float) at *i; advances *i. */
static int collect_value(const char *buf, int *i, double *out, char *why, size_t whylen)
{
    /* fast paths for what the agent sends (the term is validated: the bytes are there) */
    const unsigned char *p = (const unsigned char *)buf + *i;
    if (p[0] == ERL_SMALL_INTEGER_EXT) {
        *out = p[1];
        *i += 2;
        return 0;
    }
    if (p[0] == ERL_INTEGER_EXT) {
        *out = (int32_t)get_be32((const char *)p + 1);
        *i += 5;
        return 0;
    }
    if (p[0] == ERL_NEW_FLOAT_EXT) {
        uint64_t bits = (uint64_t)get_be32((const char *)p + 1) << 32 | get_be32((const char *)p + 5);
        double d;
        memcpy(&d, &bits, sizeof d);
        if (d != d || d > 1e308 || d < -1e308) {
            snprintf(why, whylen, "bad float");
            return WR_EPROTO;
        }
        *out = d;
        *i += 9;
        return 0;
    }
    int type = 0, size = 0;
    ei_get_type(buf, i, &type, &size);
    if (type == ERL_FLOAT_EXT || type == ERL_NEW_FLOAT_EXT) {
        double d;
        if (ei_decode_double(buf, i, &d) < 0 || d != d || d > 1e308 || d < -1e308) {
            snprintf(why, whylen, "bad float");
            return WR_EPROTO;
        }
        *out = d;
        return 0;
    }
    return leaf_decode_number(buf, i, out, why, whylen);
}

/* A binary of at most cap-1 bytes at *i into out (NUL-terminated); advances *i. */
static int collect_binary(const char *buf, int *i, char *out, size_t cap)
{
    int type = 0, size = 0;
    long got = 0;
    if (ei_get_type(buf, i, &type, &size) < 0 || type != ERL_BINARY_EXT || size < 0 ||
        (size_t)size >= cap || ei_decode_binary(buf, i, out, &got) < 0)
        return -1;
    out[got] = '\0';
    return 0;
}

#define LEAF_COLLECT_SEEN_BYTES 128    /* duplicate detection for the first 1024 metrics */

/* One element of Metrics; the index always ends past it (validated term). */
static void collect_pair(const char *buf, int *i, leaf_collect_t *out, unsigned char *seen)
{
    int start = *i, arity = 0;
    char name[WR_METRIC_NAME_MAX], why[64];
    double v = 0;
    /* the agent sends its names in the same order every time: try the metric seen at this
     * position last time, compared in place, before copying the name for the catalogue's
     * binary search */
    size_t pos = out->n + out->unknown + out->bad;
    int m = -1, ok;
    if ((unsigned char)buf[*i] == ERL_SMALL_TUPLE_EXT && buf[*i + 1] == 2) {   /* validated */
        *i += 2;
        ok = 1;
    } else {
        ok = ei_decode_tuple_header(buf, i, &arity) == 0 && arity == 2;
    }
    if (ok && out->hint && pos < out->hint_cap && out->hint[pos] > 0 &&
        (unsigned char)buf[*i] == ERL_BINARY_EXT) {
        const unsigned char *p = (const unsigned char *)buf + *i + 1;   /* validated term */
        size_t blen = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
        const char *want = wr_metric_defs[out->hint[pos] - 1].name;
        if (blen < WR_METRIC_NAME_MAX && strnlen(want, blen + 1) == blen &&
            memcmp(want, p + 4, blen) == 0) {
            m = out->hint[pos] - 1;
            *i += 5 + (int)blen;
        }
    }
    ok = ok && (m >= 0 || collect_binary(buf, i, name, sizeof name) == 0) &&
         collect_value(buf, i, &v, why, sizeof why) == 0;
    if (ok && m < 0 && !wr_metric_name_valid(name))
        ok = 0;
    if (!ok) {
        *i = start;
        ei_skip_term(buf, i);
        out->bad++;
        return;
    }
    if (m < 0 && (m = wr_metric_find(name)) >= 0 && out->hint && pos < out->hint_cap)
        out->hint[pos] = (int16_t)(m + 1);
    if (m < 0) {
        out->unknown++;
        return;
    }
    int tracked = m / 8 < LEAF_COLLECT_SEEN_BYTES;
    if ((tracked && (seen[m / 8] & (1u << (m % 8)))) || out->n >= out->cap) {
        out->bad++;                        /* a duplicate, or no room */
        return;
    }
    if (tracked)
        seen[m / 8] |= (unsigned char)(1u << (m % 8));
    out->v[out->n].metric = m;
    out->v[out->n].value = v;
    out->n++;
}

const char *const leaf_sysmon_names[LEAF_SYSMON_COUNT] = {"long_gc", "large_heap", "busy_dist_port"};

/* Info's {system_monitor, [{Event, Count}]} (after the key): the counts of the events the leaf
 * knows (others are skipped); a malformed list is ignored as a whole. */
static void collect_sysmon(const char *buf, int *i, leaf_collect_t *out)
{
    int n = 0, arity = 0;
    double counts[LEAF_SYSMON_COUNT] = {0};
    if (ei_decode_list_header(buf, i, &n) != 0 || n < 0 || n > 64)
        return;
    for (int k = 0; k < n; k++) {
        char ev[MAXATOMLEN_UTF8], why[64];
        double c = 0;
        if (ei_decode_tuple_header(buf, i, &arity) != 0 || arity != 2 ||
            ei_decode_atom(buf, i, ev) != 0 || leaf_decode_number(buf, i, &c, why, sizeof why) != 0)
            return;
        for (int s = 0; s < LEAF_SYSMON_COUNT; s++)
            if (strcmp(ev, leaf_sysmon_names[s]) == 0)
                counts[s] = c;
    }
    memcpy(out->sysmon, counts, sizeof counts);
    out->has_sysmon = 1;
}

/* A binary of any length at *i (validated term) into out as text: NULs become '?'; longer
 * than cap-1 keeps "..." and its tail (from a UTF-8 character start). Advances *i. */
static int collect_text(const char *buf, int *i, char *out, size_t cap)
{
    if ((unsigned char)buf[*i] != ERL_BINARY_EXT)
        return -1;
    const unsigned char *p = (const unsigned char *)buf + *i + 1;
    size_t len = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
    const char *src = (const char *)p + 4;
    size_t o = 0, from = 0;
    if (len >= cap) {
        memcpy(out, "...", 3);
        o = 3;
        from = len - (cap - 4);
        while (from < len && ((unsigned char)src[from] & 0xC0) == 0x80)
            from++;
    }
    for (size_t k = from; k < len; k++)
        out[o++] = src[k] ? src[k] : '?';
    out[o] = '\0';
    *i += 5 + (int)len;
    return 0;
}

/* Info's {files, [...]} / {beam_alarms, [...]} list (after the key) into items (at most
 * LEAF_COLLECT_LIST_MAX; more: *over; malformed elements: *bad). files: 3-tuples with a status
 * atom; else pairs. A list that is not a proper list leaves *has at 0. */
static void collect_items(const char *buf, int *i, int files, leaf_collect_item_t *items,
                          size_t *n, size_t *over, size_t *bad, int *has)
{
    int cnt = 0, arity = 0, type = 0, size = 0;
    if (ei_get_type(buf, i, &type, &size) != 0 || (type != ERL_LIST_EXT && type != ERL_NIL_EXT) ||
        ei_decode_list_header(buf, i, &cnt) != 0 || cnt < 0)
        return;
    for (int k = 0; k < cnt; k++) {
        int start = *i;
        leaf_collect_item_t tmp, *it = *n < LEAF_COLLECT_LIST_MAX ? &items[*n] : &tmp;
        char st[MAXATOMLEN_UTF8] = "";
        int ok = ei_decode_tuple_header(buf, i, &arity) == 0 && arity == (files ? 3 : 2) &&
                 collect_text(buf, i, it->name, sizeof it->name) == 0 &&
                 (!files || ei_decode_atom(buf, i, st) == 0) &&
                 collect_text(buf, i, it->detail, sizeof it->detail) == 0 && it->name[0];
        it->status = !strcmp(st, "unparseable") ? LEAF_FILE_UNPARSEABLE
                   : !strcmp(st, "missing") ? LEAF_FILE_MISSING : LEAF_FILE_CHANGED;
        if (ok && files && strcmp(st, "changed") && strcmp(st, "unparseable") && strcmp(st, "missing"))
            ok = 0;
        *i = start;
        ei_skip_term(buf, i);
        if (!ok)
            (*bad)++;
        else if (*n >= LEAF_COLLECT_LIST_MAX)
            (*over)++;
        else
            (*n)++;
    }
    if (cnt > 0 && (ei_get_type(buf, i, &type, &size) != 0 || type != ERL_NIL_EXT))
        return;
    *has = 1;
}

/* One element of Info: {max_message_queue, {PidBin, NameBin, Len}},
 * {system_monitor, [{Event, Count}]}, {files, [...]} and {beam_alarms, [...]} are read. */
static void collect_info(const char *buf, int *i, leaf_collect_t *out)
{
    int start = *i, arity = 0;
    char key[MAXATOMLEN_UTF8];
    int is_pair = ei_decode_tuple_header(buf, i, &arity) == 0 && arity == 2 &&
                  ei_decode_atom(buf, i, key) == 0;
    if (is_pair && strcmp(key, "system_monitor") == 0)
        collect_sysmon(buf, i, out);
    else if (is_pair && strcmp(key, "files") == 0)
        collect_items(buf, i, 1, out->files, &out->n_files, &out->files_over, &out->files_bad,
                      &out->has_files);
    else if (is_pair && strcmp(key, "beam_alarms") == 0)
        collect_items(buf, i, 0, out->beam, &out->n_beam, &out->beam_over, &out->beam_bad,
                      &out->has_beam);
    else if (is_pair && strcmp(key, "max_message_queue") == 0 &&
        ei_decode_tuple_header(buf, i, &arity) == 0 && arity == 3 &&
        collect_binary(buf, i, out->maxq_pid, sizeof out->maxq_pid) == 0 &&
        collect_binary(buf, i, out->maxq_name, sizeof out->maxq_name) == 0) {
        char why[64];
        if (leaf_decode_number(buf, i, &out->maxq_len, why, sizeof why) == 0)
            out->has_maxq = 1;
    }
    *i = start;
    ei_skip_term(buf, i);
}

/* A list of at most LEAF_COLLECT_MAX_ITEMS at *i: sets *n and moves *i past the header. With
 * walk, also proves it proper first; without, the caller checks the tail after its elements
 * (the term is validated, so walking it cannot overrun). */
static int collect_list(const char *buf, int *i, const char *what, int *n, int walk, char *why,
                        size_t whylen)
{
    int type = 0, size = 0;
    ei_get_type(buf, i, &type, &size);
    if (type == ERL_NIL_EXT) {
        *n = 0;
        return ei_decode_list_header(buf, i, n) < 0 ? WR_EPROTO : 0;
    }
    if (type != ERL_LIST_EXT) {
        snprintf(why, whylen, "collect: %s is a %s, expected a list", what, type_name(type));
        return WR_EPROTO;
    }
    if (size > LEAF_COLLECT_MAX_ITEMS) {
        snprintf(why, whylen, "collect: %s has %d elements (cap %d)", what, size, LEAF_COLLECT_MAX_ITEMS);
        return WR_ETOOBIG;
    }
    if (!walk)
        return ei_decode_list_header(buf, i, n) < 0 ? WR_EPROTO : 0;
    /* the tail must be [] */
    int j = *i;
    if (ei_decode_list_header(buf, &j, n) < 0)
        goto improper;
    for (int k = 0; k < *n; k++)
        if (ei_skip_term(buf, &j) < 0)
            goto improper;
    ei_get_type(buf, &j, &type, &size);
    if (type != ERL_NIL_EXT)
        goto improper;
    return ei_decode_list_header(buf, i, n) < 0 ? WR_EPROTO : 0;
improper:
    snprintf(why, whylen, "collect: %s is an improper list", what);
    return WR_EPROTO;
}

int leaf_parse_collect(const char *buf, int index, leaf_collect_t *out, char *why, size_t whylen)
{
    int i = index, arity = 0, rc, n = 0;
    long version = 0;
    char tag[MAXATOMLEN_UTF8];
    out->n = 0;
    out->unknown = out->bad = 0;
    out->has_maxq = 0;
    out->maxq_pid[0] = out->maxq_name[0] = '\0';
    out->maxq_len = 0;
    out->has_sysmon = 0;
    out->has_files = out->has_beam = 0;
    out->n_files = out->files_over = out->files_bad = 0;
    out->n_beam = out->beam_over = out->beam_bad = 0;
    if (is_badrpc(buf, index, why, whylen))
        return WR_EPROTO;
    if (ei_decode_tuple_header(buf, &i, &arity) < 0 || arity != 4 ||
        ei_decode_atom(buf, &i, tag) < 0 || strcmp(tag, "warren_agent") != 0) {
        snprintf(why, whylen, "collect: expected {warren_agent, 1, Metrics, Info}");
        return WR_EPROTO;
    }
    if (ei_decode_long(buf, &i, &version) < 0 || version != 1) {
        snprintf(why, whylen, "collect: unsupported reply version");
        return WR_EPROTO;
    }
    if ((rc = collect_list(buf, &i, "Metrics", &n, 0, why, whylen)) != 0)
        return rc;
    unsigned char seen[LEAF_COLLECT_SEEN_BYTES] = {0};   /* one bit per catalogue entry */
    for (int k = 0; k < n; k++)
        collect_pair(buf, &i, out, seen);
    if (n > 0) {                           /* the tail must be [] (out is void on error) */
        int type = 0, size = 0;
        if (ei_get_type(buf, &i, &type, &size) < 0 || type != ERL_NIL_EXT) {
            out->n = out->unknown = out->bad = 0;
            snprintf(why, whylen, "collect: Metrics is an improper list");
            return WR_EPROTO;
        }
        i++;
    }
    int ni = 0;
    if (collect_list(buf, &i, "Info", &ni, 1, why, whylen) == 0)
        for (int k = 0; k < ni; k++)
            collect_info(buf, &i, out);
    return 0;
}
