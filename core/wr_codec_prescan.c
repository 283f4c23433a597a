/* wr_codec_prescan: the structural safety net run on every untrusted frame before msgpack-c
 * builds any object. A non-recursive walk over the raw msgpack bytes (an explicit stack of at
 * most WR_WIRE_MAX_DEPTH open containers) that checks every length against the bytes that
 * remain, so no later allocation can be driven by a lie in the frame. It only reads; it does
 * not build objects and does not know the warren schema (wr_codec_decode.c does). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "wr_codec.h"
#include "wr_error.h"

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

static uint64_t be_read(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* What one format byte announces: the size of its fixed header after the type byte (hdr), how
 * many payload bytes follow the header (inline, or read from the header: lenbytes), and whether
 * it opens an array or map. */
enum { K_SCALAR, K_STR, K_BIN, K_EXT, K_ARRAY, K_MAP };

typedef struct {
    int      kind;
    unsigned lenbytes;   /* size of the big-endian length field after the type byte */
    uint64_t fixed;      /* payload bytes (scalars, fixext) or element count (fix containers) */
    int      ext;        /* ext formats: one type byte after the length */
    const char *name;
} fmt_t;

/* Fills f for format byte b; returns 0 or -1 for the invalid byte 0xc1. */
static int classify(uint8_t b, fmt_t *f)
{
    memset(f, 0, sizeof(*f));
    f->kind = K_SCALAR;
    if (b <= 0x7f) { f->name = "positive fixint"; return 0; }
    if (b >= 0xe0) { f->name = "negative fixint"; return 0; }
    if (b >= 0x80 && b <= 0x8f) { f->kind = K_MAP; f->fixed = b & 0x0f; f->name = "fixmap"; return 0; }
    if (b >= 0x90 && b <= 0x9f) { f->kind = K_ARRAY; f->fixed = b & 0x0f; f->name = "fixarray"; return 0; }
    if (b >= 0xa0 && b <= 0xbf) { f->kind = K_STR; f->fixed = b & 0x1f; f->name = "fixstr"; return 0; }
    switch (b) {
    case 0xc0: f->name = "nil"; return 0;
    case 0xc1: return -1;
    case 0xc2: f->name = "false"; return 0;
    case 0xc3: f->name = "true"; return 0;
    case 0xc4: f->kind = K_BIN; f->lenbytes = 1; f->name = "bin8"; return 0;
    case 0xc5: f->kind = K_BIN; f->lenbytes = 2; f->name = "bin16"; return 0;
    case 0xc6: f->kind = K_BIN; f->lenbytes = 4; f->name = "bin32"; return 0;
    case 0xc7: f->kind = K_EXT; f->lenbytes = 1; f->ext = 1; f->name = "ext8"; return 0;
    case 0xc8: f->kind = K_EXT; f->lenbytes = 2; f->ext = 1; f->name = "ext16"; return 0;
    case 0xc9: f->kind = K_EXT; f->lenbytes = 4; f->ext = 1; f->name = "ext32"; return 0;
    case 0xca: f->fixed = 4; f->name = "float32"; return 0;
    case 0xcb: f->fixed = 8; f->name = "float64"; return 0;
    case 0xcc: f->fixed = 1; f->name = "uint8"; return 0;
    case 0xcd: f->fixed = 2; f->name = "uint16"; return 0;
    case 0xce: f->fixed = 4; f->name = "uint32"; return 0;
    case 0xcf: f->fixed = 8; f->name = "uint64"; return 0;
    case 0xd0: f->fixed = 1; f->name = "int8"; return 0;
    case 0xd1: f->fixed = 2; f->name = "int16"; return 0;
    case 0xd2: f->fixed = 4; f->name = "int32"; return 0;
    case 0xd3: f->fixed = 8; f->name = "int64"; return 0;
    case 0xd4: f->kind = K_EXT; f->ext = 1; f->fixed = 1; f->name = "fixext1"; return 0;
    case 0xd5: f->kind = K_EXT; f->ext = 1; f->fixed = 2; f->name = "fixext2"; return 0;
    case 0xd6: f->kind = K_EXT; f->ext = 1; f->fixed = 4; f->name = "fixext4"; return 0;
    case 0xd7: f->kind = K_EXT; f->ext = 1; f->fixed = 8; f->name = "fixext8"; return 0;
    case 0xd8: f->kind = K_EXT; f->ext = 1; f->fixed = 16; f->name = "fixext16"; return 0;
    case 0xd9: f->kind = K_STR; f->lenbytes = 1; f->name = "str8"; return 0;
    case 0xda: f->kind = K_STR; f->lenbytes = 2; f->name = "str16"; return 0;
    case 0xdb: f->kind = K_STR; f->lenbytes = 4; f->name = "str32"; return 0;
    case 0xdc: f->kind = K_ARRAY; f->lenbytes = 2; f->name = "array16"; return 0;
    case 0xdd: f->kind = K_ARRAY; f->lenbytes = 4; f->name = "array32"; return 0;
    case 0xde: f->kind = K_MAP; f->lenbytes = 2; f->name = "map16"; return 0;
    case 0xdf: f->kind = K_MAP; f->lenbytes = 4; f->name = "map32"; return 0;
    default: return -1;   /* unreachable: every byte is covered above */
    }
}

int wr_codec_prescan(const void *buf, size_t len, size_t max_frame, char *why, size_t whylen)
{
    const uint8_t *p = buf;
    uint64_t stack[WR_WIRE_MAX_DEPTH];   /* elements still expected by each open container */
    unsigned depth = 0;
    uint64_t objects = 0;
    size_t pos = 0;

    if (max_frame == 0)
        max_frame = WR_WIRE_DEFAULT_MAX_FRAME;
    if (why && whylen)
        why[0] = '\0';
    if (len > max_frame)
        return fail(WR_ETOOBIG, why, whylen, "frame of %zu bytes over cap %zu", len, max_frame);
    if (!buf || len == 0)
        return fail(WR_EPROTO, why, whylen, "empty frame");

    for (;;) {
        fmt_t f;
        size_t at = pos;
        if (pos >= len)
            return fail(WR_EPROTO, why, whylen,
                        "truncated: frame ends at byte %zu inside a container (depth %u)",
                        len, depth);
        uint8_t b = p[pos++];
        if (classify(b, &f) < 0)
            return fail(WR_EPROTO, why, whylen, "invalid msgpack byte 0x%02x at offset %zu", b, at);
        if (++objects > WR_WIRE_MAX_OBJECTS)
            return fail(WR_ETOOBIG, why, whylen, "more than %u objects in frame (at offset %zu)",
                        (unsigned)WR_WIRE_MAX_OBJECTS, at);
        size_t left = len - pos;
        uint64_t n = f.fixed;
        if (f.lenbytes) {
            if (left < f.lenbytes)
                return fail(WR_EPROTO, why, whylen,
                            "truncated: %s at offset %zu needs %u length bytes, %zu left",
                            f.name, at, f.lenbytes, left);
            n = be_read(p + pos, f.lenbytes);
            pos += f.lenbytes;
            left -= f.lenbytes;
        }
        if (f.ext) {   /* one signed type byte before the ext payload */
            if (left < 1)
                return fail(WR_EPROTO, why, whylen,
                            "truncated: %s at offset %zu has no type byte", f.name, at);
            pos++;
            left--;
        }
        switch (f.kind) {
        case K_SCALAR:
        case K_STR:
        case K_BIN:
        case K_EXT:
            if (n > left)
                return fail(WR_EPROTO, why, whylen,
                            "truncated: %s at offset %zu needs %llu bytes, %zu left",
                            f.name, at, (unsigned long long)n, left);
            if (f.kind != K_SCALAR && n > WR_WIRE_MAX_STR)
                return fail(WR_ETOOBIG, why, whylen,
                            "%s of %llu bytes at offset %zu over cap %u",
                            f.name, (unsigned long long)n, at, (unsigned)WR_WIRE_MAX_STR);
            pos += (size_t)n;
            break;
        case K_ARRAY:
        case K_MAP: {
            /* Every element takes at least one byte: a claim the rest of the frame cannot
             * hold is a lie, caught before anyone allocates n slots. */
            uint64_t need = f.kind == K_MAP ? 2 * n : n;
            if (need > left)
                return fail(WR_EPROTO, why, whylen,
                            "%s at offset %zu claims %llu %s but only %zu bytes remain",
                            f.name, at, (unsigned long long)n,
                            f.kind == K_MAP ? "pairs" : "elements", left);
            if (need > 0) {
                if (depth >= WR_WIRE_MAX_DEPTH)
                    return fail(WR_ETOOBIG, why, whylen,
                                "nesting deeper than %d at offset %zu", WR_WIRE_MAX_DEPTH, at);
                stack[depth++] = need;
                continue;   /* its first element comes next */
            }
            break;
        }
        }
        /* One object finished: close every container it completes. */
        while (depth > 0) {
            if (--stack[depth - 1] > 0)
                break;
            depth--;
        }
        if (depth == 0)
            break;
    }
    if (pos != len)
        return fail(WR_EPROTO, why, whylen,
                    "trailing garbage: %zu bytes after the object (which ends at offset %zu)",
                    len - pos, pos);
    return WR_OK;
}
