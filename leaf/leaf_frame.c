/* leaf_frame: distribution packet framing for the leaf's connections (see leaf_frame.h).
 * Packets that arrive whole in one read are handed out in place; only a packet split across
 * reads is copied into the connection's buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "leaf_frame.h"
#include "leaf_parse.h"
#include "wr_error.h"

#define FRAME_KEEP (256u << 10)     /* a buffer larger than this is freed after its packet */
#define PASS_THROUGH 'p'

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int too_big(uint32_t l, size_t max, char *why, size_t whylen)
{
    snprintf(why, whylen, "a packet of %u bytes is over the %zu-byte cap", l, max);
    return WR_ETOOBIG;
}

int leaf_frame_feed(leaf_frame_t *f, const char *data, size_t n, size_t max, leaf_frame_fn cb,
                    void *ud, char *why, size_t whylen)
{
    size_t i = 0;
    while (i < n) {
        if (f->hlen == 0) {                 /* at a packet boundary: whole packets in place */
            if (n - i < 4) {
                memcpy(f->hdr, data + i, n - i);
                f->hlen = (uint32_t)(n - i);
                return 0;
            }
            uint32_t l = be32((const unsigned char *)data + i);
            if (l > max)
                return too_big(l, max, why, whylen);
            if (n - i - 4 >= l) {
                i += 4 + (size_t)l;
                if (cb(ud, data + i - l, l))
                    return 1;
                continue;
            }
            memcpy(f->hdr, data + i, 4);
            f->hlen = 4;
            i += 4;
        } else if (f->hlen < 4) {           /* the rest of a split length header */
            size_t k = 4 - f->hlen < n - i ? 4 - f->hlen : n - i;
            memcpy(f->hdr + f->hlen, data + i, k);
            f->hlen += (uint32_t)k;
            i += k;
            if (f->hlen < 4)
                return 0;
            uint32_t l = be32(f->hdr);
            if (l > max) {
                f->hlen = 0;
                return too_big(l, max, why, whylen);
            }
            if (l == 0) {
                f->hlen = 0;
                if (cb(ud, "", 0))
                    return 1;
                continue;
            }
        } else {                            /* the rest of a split body */
            goto body;
        }
        /* a packet starts in buf: its header is complete */
        f->need = be32(f->hdr);
        f->len = 0;
        if (f->need > f->cap) {
            size_t ncap = f->need < 4096 ? 4096 : f->need;
            char *b = malloc(ncap);          /* nothing to keep: no realloc copy */
            if (!b) {
                f->hlen = 0;
                snprintf(why, whylen, "no memory for a packet of %u bytes", f->need);
                return WR_ENOMEM;
            }
            free(f->buf);
            f->buf = b;
            f->cap = ncap;
        }
        if (i == n)
            return 0;
    body:;
        size_t k = f->need - f->len < n - i ? f->need - f->len : n - i;
        memcpy(f->buf + f->len, data + i, k);
        f->len += (uint32_t)k;
        i += k;
        if (f->len < f->need)
            return 0;
        f->hlen = 0;
        f->len = 0;
        if (cb(ud, f->buf, f->need))
            return 1;
        if (f->cap > FRAME_KEEP && f->hlen == 0)
            leaf_frame_free(f);
    }
    return 0;
}

void leaf_frame_reset(leaf_frame_t *f)
{
    f->hlen = 0;
    f->need = 0;
    f->len = 0;
}

void leaf_frame_free(leaf_frame_t *f)
{
    free(f->buf);
    f->buf = NULL;
    f->cap = 0;
    leaf_frame_reset(f);
}

int leaf_frame_decode(const char *pkt, size_t len, leaf_frame_ctl_t *c, char *why, size_t whylen)
{
    int i = 1, version = 0, arity = 0, type = 0, size = 0;
    c->op = -1;
    c->toname[0] = '\0';
    c->payload = -1;
    if (len < 2 || (unsigned char)pkt[0] != PASS_THROUGH) {
        snprintf(why, whylen, "not a pass-through packet (first byte %d, %zu bytes)",
                 len ? (unsigned char)pkt[0] : -1, len);
        return WR_EPROTO;
    }
    if (len > 0x7fffffff) {
        snprintf(why, whylen, "packet of %zu bytes", len);
        return WR_EPROTO;
    }
    /* ei_decode_* take no length: prove the control term lies within the packet first */
    int end = 0;
    char sub[160];
    if ((unsigned char)pkt[1] != 131) {
        snprintf(why, whylen, "control message: no version byte");
        return WR_EPROTO;
    }
    if (leaf_term_check(pkt, (int)len, 2, &end, sub, sizeof sub) != 0) {
        snprintf(why, whylen, "control message: %s", sub);
        return WR_EPROTO;
    }
    if (ei_decode_version(pkt, &i, &version) < 0 || ei_get_type(pkt, &i, &type, &size) < 0 ||
        (type != ERL_SMALL_TUPLE_EXT && type != ERL_LARGE_TUPLE_EXT) ||
        ei_decode_tuple_header(pkt, &i, &arity) < 0 || arity < 1 ||
        ei_get_type(pkt, &i, &type, &size) < 0 ||
        (type != ERL_SMALL_INTEGER_EXT && type != ERL_INTEGER_EXT) ||
        ei_decode_long(pkt, &i, &c->op) < 0) {
        snprintf(why, whylen, "control message is not a tuple starting with an integer");
        return WR_EPROTO;
    }
    int name_at = 0;                  /* position of ToName in the tuple, 0: none */
    if ((c->op == ERL_REG_SEND && arity == 4) || (c->op == ERL_REG_SEND_TT && arity == 5))
        name_at = 3;
    for (int k = 1; k < arity && name_at; k++) {
        if (k < name_at) {
            if (ei_skip_term(pkt, &i) < 0)
                break;
            continue;
        }
        if (ei_get_type(pkt, &i, &type, &size) < 0 || size >= MAXATOMLEN_UTF8 ||
            ei_decode_atom(pkt, &i, c->toname) < 0) {
            snprintf(why, whylen, "REG_SEND: the name is not an atom");
            return WR_EPROTO;
        }
        break;
    }
    i = end;
    if ((size_t)i < len)
        c->payload = i;
    return 0;
}

int leaf_frame_reg_send_header(char *hdr, size_t cap, const erlang_pid *from, const char *to,
                               size_t msglen)
{
    int n = 0;
    if (ei_encode_version(NULL, &n) < 0 || ei_encode_tuple_header(NULL, &n, 4) < 0 ||
        ei_encode_long(NULL, &n, ERL_REG_SEND) < 0 || ei_encode_pid(NULL, &n, from) < 0 ||
        ei_encode_atom(NULL, &n, "") < 0 || ei_encode_atom(NULL, &n, to) < 0)
        return WR_EINVAL;
    size_t total = 5 + (size_t)n;
    if (total > cap || msglen > LEAF_FRAME_MAX)
        return WR_ETOOBIG;
    uint32_t l = (uint32_t)(total - 4 + msglen);
    unsigned char *p = (unsigned char *)hdr;
    p[0] = (unsigned char)(l >> 24);
    p[1] = (unsigned char)(l >> 16);
    p[2] = (unsigned char)(l >> 8);
    p[3] = (unsigned char)l;
    p[4] = PASS_THROUGH;
    int i = 5;
    ei_encode_version(hdr, &i);
    ei_encode_tuple_header(hdr, &i, 4);
    ei_encode_long(hdr, &i, ERL_REG_SEND);
    ei_encode_pid(hdr, &i, from);
    ei_encode_atom(hdr, &i, "");
    ei_encode_atom(hdr, &i, to);
    return i;
}
