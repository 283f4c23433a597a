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
#include "wr_codec_priv.h"

#define WR_STATE_MAX_NODES_DEFAULT 1000000u
#define WR_STATE_MAX_ROLLUPS       4096u
#define WR_STATE_MAX_TIERS         100000u


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

/* ---- envelope ------------------------------------------------------------------------ */

static int check_envelope(wr_decoder_t *dec, wr_envelope_t *env, char *why, size_t whylen)
{
    const msgpack_object *r = &dec->root;
    uint64_t u;
    int64_t i;
    const char *s;
    size_t n;

    if (r->type != MSGPACK_OBJECT_ARRAY)
        return wr_cf_fail(WR_EPROTO, why, whylen, "envelope: expected array of 7, got %s", wr_cf_type_of(r));
    if (r->via.array.size != 7)
        return wr_cf_fail(WR_EPROTO, why, whylen, "envelope: expected array of 7, got array of %u",
                    (unsigned)r->via.array.size);
    const msgpack_object *e = r->via.array.ptr;
    TRY(wr_cf_uint(&e[0], UINT32_MAX, PATH(NULL, "v", -1, -1, NULL), &u, why, whylen));
    if (u != WR_WIRE_VERSION)
        return wr_cf_fail(WR_EUNSUPPORTED, why, whylen, "v: unsupported wire version %llu (this build "
                    "speaks %d)", (unsigned long long)u, WR_WIRE_VERSION);
    env->v = (uint32_t)u;
    TRY(wr_cf_uint(&e[1], UINT64_MAX, PATH(NULL, "type", -1, -1, NULL), &u, why, whylen));
    if (u < 1 || u > WR_MSG_TYPE_MAX)
        return wr_cf_fail(WR_EUNSUPPORTED, why, whylen, "type: unknown message type %llu",
                    (unsigned long long)u);
    env->type = (int)u;
    TRY(wr_cf_str(&e[2], 1, WR_ID_MAX - 1, PATH(NULL, "from", -1, -1, NULL), &s, &n, why,
                 whylen));
    memcpy(env->from, s, n);
    env->from[n] = '\0';
    TRY(wr_cf_uint(&e[3], UINT64_MAX, PATH(NULL, "epoch", -1, -1, NULL), &env->epoch, why,
                  whylen));
    TRY(wr_cf_uint(&e[4], UINT64_MAX, PATH(NULL, "seq", -1, -1, NULL), &env->seq, why, whylen));
    TRY(wr_cf_int(&e[5], INT64_MIN, INT64_MAX, PATH(NULL, "ts", -1, -1, NULL), &i, why, whylen));
    env->ts_ms = i;
    if (e[6].type != MSGPACK_OBJECT_MAP)
        return wr_cf_fail(WR_EPROTO, why, whylen, "body: expected map, got %s", wr_cf_type_of(&e[6]));
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
        return wr_cf_fail(WR_EINVAL, why, whylen, "no decoder or envelope");
    dec->have = 0;
    dec->body = NULL;
    TRY(wr_codec_prescan(buf, len, dec->max_frame, why, whylen));
    if (len > dec->cap) {
        char *nb = realloc(dec->buf, len);
        if (!nb)
            return wr_cf_fail(WR_ENOMEM, why, whylen, "no memory for a frame of %zu bytes", len);
        dec->buf = nb;
        dec->cap = len;
    }
    memcpy(dec->buf, buf, len);
    msgpack_zone_clear(&dec->zone);
    size_t off = 0;
    msgpack_unpack_return ur = msgpack_unpack(dec->buf, len, &off, &dec->zone, &dec->root);
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR)
        return wr_cf_fail(WR_ENOMEM, why, whylen, "no memory to unpack a frame of %zu bytes", len);
    if (ur != MSGPACK_UNPACK_SUCCESS || off != len)   /* the pre-scan should have caught it */
        return wr_cf_fail(WR_EPROTO, why, whylen, "msgpack: unpack failed (%d) at offset %zu",
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
    TRY(wr_cf_want_frame(dec, WR_MSG_HELLO, WR_MSG_HELLO, why, whylen));
    memset(out, 0, sizeof(*out));
    TRY(wr_cf_get_fields(dec, f, 4, why, whylen));
    TRY(wr_cf_copy_str(f[0].val, out->kind, sizeof(out->kind), 1, PATH("HELLO", "kind", -1, -1, NULL),
                 why, whylen));
    if (strcmp(out->kind, "leaf") && strcmp(out->kind, "relay") && strcmp(out->kind, "root"))
        return wr_cf_fail(WR_EPROTO, why, whylen,
                    "HELLO kind: \"%s\" is not leaf, relay or root", out->kind);
    TRY(wr_cf_copy_str(f[1].val, out->id, sizeof(out->id), 1, PATH("HELLO", "id", -1, -1, NULL),
                 why, whylen));
    if (f[2].val)
        TRY(wr_cf_copy_str(f[2].val, out->version, sizeof(out->version), 0,
                     PATH("HELLO", "version", -1, -1, NULL), why, whylen));
    if (f[3].val)
        TRY(wr_cf_uint(f[3].val, UINT32_MAX, PATH("HELLO", "interval_ms", -1, -1, NULL), &u,
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

    TRY(wr_cf_array(o, 0, PATH(tn, "nodes", -1, -1, NULL), &items, &n, why, whylen));
    if (n > max_nodes)
        return wr_cf_fail(WR_ETOOBIG, why, whylen, "%s nodes: %u entries over cap %zu", tn,
                    (unsigned)n, max_nodes);
    if (n && !(out->nodes = calloc(n, sizeof(*out->nodes))))
        return wr_cf_fail(WR_ENOMEM, why, whylen, "%s nodes: no memory for %u entries", tn,
                    (unsigned)n);
    for (long i = 0; i < (long)n; i++) {
        wr_node_entry_t *ne = &out->nodes[i];
        TRY(wr_cf_array(&items[i], 4, PATH(tn, "nodes", i, -1, NULL), &e, &k, why, whylen));
        TRY(wr_cf_copy_str(&e[0], ne->name, sizeof(ne->name), 1, PATH(tn, "nodes", i, 0, "node name"),
                     why, whylen));
        TRY(wr_cf_uint(&e[1], WR_NODE_STATE_MAX, PATH(tn, "nodes", i, 1, "node state"), &u,
                      why, whylen));
        ne->state = (uint8_t)u;
        TRY(wr_cf_int(&e[2], INT64_MIN, INT64_MAX, PATH(tn, "nodes", i, 2, "since"),
                     &ne->since_ms, why, whylen));
        TRY(wr_cf_copy_str(&e[3], ne->leaf, sizeof(ne->leaf), 1, PATH(tn, "nodes", i, 3, "leaf id"),
                     why, whylen));
        out->n_nodes = (size_t)i + 1;
    }
    return WR_OK;
}

/* One sketch store: offset (e[0]) and counts (e[1]) into sk; adds the counts to *total. */
static int decode_store(const msgpack_object *e, int sign, wr_sketch_t *sk, const char *tn,
                        long i, uint64_t *total, char *why, size_t whylen)
{
    const char *which = sign > 0 ? "positive" : "negative";
    const msgpack_object *c = NULL;
    uint32_t n = 0;
    int64_t off;
    uint64_t u;
    TRY(wr_cf_int(&e[0], WR_SKETCH_INDEX_MIN, WR_SKETCH_INDEX_MAX,
                 PATH(tn, "rollups", i, 5, sign > 0 ? "sketch positive offset" : "sketch negative offset"),
                 &off, why, whylen));
    TRY(wr_cf_array(&e[1], 0, PATH(tn, "rollups", i, 5, sign > 0 ? "sketch positive counts" : "sketch negative counts"),
                   &c, &n, why, whylen));
    if (n > WR_SKETCH_MAX_BUCKETS)
        return wr_cf_fail(WR_ETOOBIG, why, whylen, "%s rollups[%ld][5]: sketch %s store of %u buckets over cap %d",
                    tn, i, which, (unsigned)n, WR_SKETCH_MAX_BUCKETS);
    if (n && off + (int64_t)n - 1 > WR_SKETCH_INDEX_MAX)
        return wr_cf_fail(WR_EPROTO, why, whylen, "%s rollups[%ld][5]: sketch %s buckets %lld..%lld beyond index %d",
                    tn, i, which, (long long)off, (long long)(off + n - 1), WR_SKETCH_INDEX_MAX);
    for (uint32_t k = 0; k < n; k++) {
        TRY(wr_cf_uint(&c[k], UINT64_MAX, PATH(tn, "rollups", i, 5, "sketch bucket count"), &u, why, whylen));
        if (u > UINT64_MAX - *total)
            return wr_cf_fail(WR_EPROTO, why, whylen, "%s rollups[%ld][5]: sketch counts overflow", tn, i);
        *total += u;
        if (u && wr_sketch_add_bucket(sk, sign, (int32_t)(off + k), u) != 0)
            return wr_cf_fail(WR_ENOMEM, why, whylen, "%s rollups[%ld][5]: no memory for the sketch", tn, i);
    }
    return WR_OK;
}

/* sketch: nil or [zero, collapsed, pos_offset, [counts], neg_offset, [counts]] (wr_codec.h). */
static int decode_sketch(const msgpack_object *o, const char *tn, long i, wr_rollup_entry_t *r,
                         char *why, size_t whylen)
{
    const msgpack_object *e = NULL;
    uint32_t k = 0;
    uint64_t zero, collapsed, total;
    if (o->type == MSGPACK_OBJECT_NIL)
        return WR_OK;
    TRY(wr_cf_array(o, 6, PATH(tn, "rollups", i, 5, "sketch"), &e, &k, why, whylen));
    TRY(wr_cf_uint(&e[0], UINT64_MAX, PATH(tn, "rollups", i, 5, "sketch zero count"), &zero, why, whylen));
    TRY(wr_cf_uint(&e[1], UINT64_MAX, PATH(tn, "rollups", i, 5, "sketch collapsed"), &collapsed, why, whylen));
    if (!(r->sketch = wr_sketch_new()))
        return wr_cf_fail(WR_ENOMEM, why, whylen, "%s rollups[%ld][5]: no memory for the sketch", tn, i);
    total = zero;
    (void)wr_sketch_add_bucket(r->sketch, 0, 0, zero);
    wr_sketch_add_collapsed(r->sketch, collapsed);
    TRY(decode_store(&e[2], 1, r->sketch, tn, i, &total, why, whylen));
    TRY(decode_store(&e[4], -1, r->sketch, tn, i, &total, why, whylen));
    if (total != r->agg.count)
        return wr_cf_fail(WR_EPROTO, why, whylen, "%s rollups[%ld][5]: sketch holds %llu values but count is %llu",
                    tn, i, (unsigned long long)total, (unsigned long long)r->agg.count);
    return WR_OK;
}

/* topk: nil or [k, [[node, value], ...]] (wr_codec.h). */
static int decode_topk(const msgpack_object *o, const char *tn, long i, wr_rollup_entry_t *r,
                       char *why, size_t whylen)
{
    const msgpack_object *e = NULL, *items = NULL, *it = NULL;
    uint32_t k = 0, n = 0, two = 0;
    uint64_t kk;
    if (o->type == MSGPACK_OBJECT_NIL)
        return WR_OK;
    TRY(wr_cf_array(o, 2, PATH(tn, "rollups", i, 6, "topk"), &e, &k, why, whylen));
    TRY(wr_cf_uint(&e[0], UINT64_MAX, PATH(tn, "rollups", i, 6, "topk k"), &kk, why, whylen));
    if (kk < 1 || kk > WR_TOPK_MAX)
        return wr_cf_fail(WR_ETOOBIG, why, whylen, "%s rollups[%ld][6]: topk k %llu outside 1..%d", tn, i,
                    (unsigned long long)kk, WR_TOPK_MAX);
    TRY(wr_cf_array(&e[1], 0, PATH(tn, "rollups", i, 6, "topk items"), &items, &n, why, whylen));
    if (n > kk)
        return wr_cf_fail(WR_ETOOBIG, why, whylen, "%s rollups[%ld][6]: topk of %u items over its k %llu", tn, i,
                    (unsigned)n, (unsigned long long)kk);
    if (!(r->topk = wr_topk_new(n ? n : 1)))
        return wr_cf_fail(WR_ENOMEM, why, whylen, "%s rollups[%ld][6]: no memory for the topk", tn, i);
    wr_topk_set_k(r->topk, (uint32_t)kk);
    for (uint32_t j = 0; j < n; j++) {
        char node[WR_NODE_NAME_MAX];
        double v;
        TRY(wr_cf_array(&items[j], 2, PATH(tn, "rollups", i, 6, "topk item"), &it, &two, why, whylen));
        TRY(wr_cf_copy_str(&it[0], node, sizeof node, 1, PATH(tn, "rollups", i, 6, "topk node name"), why, whylen));
        TRY(wr_cf_num(&it[1], PATH(tn, "rollups", i, 6, "topk value"), &v, why, whylen));
        if (!isfinite(v))
            return wr_cf_fail(WR_EPROTO, why, whylen, "%s rollups[%ld][6]: topk value not finite", tn, i);
        (void)wr_topk_add(r->topk, node, v);
    }
    return WR_OK;
}

static int decode_rollups(const msgpack_object *o, const char *tn, wr_state_msg_t *out,
                          char *why, size_t whylen)
{
    char pr[WR_METRIC_NAME_MAX];
    const msgpack_object *items = NULL, *e = NULL;
    uint32_t n = 0, k = 0;

    TRY(wr_cf_array(o, 0, PATH(tn, "rollups", -1, -1, NULL), &items, &n, why, whylen));
    if (n > WR_STATE_MAX_ROLLUPS)
        return wr_cf_fail(WR_ETOOBIG, why, whylen, "%s rollups: %u entries over cap %u", tn,
                    (unsigned)n, WR_STATE_MAX_ROLLUPS);
    if (n && !(out->rollups = calloc(n, sizeof(*out->rollups))))
        return wr_cf_fail(WR_ENOMEM, why, whylen, "%s rollups: no memory", tn);
    for (long i = 0; i < (long)n; i++) {
        wr_rollup_entry_t *r = &out->rollups[i];
        char pb[PBUF];
        TRY(wr_cf_array(&items[i], 0, PATH(tn, "rollups", i, -1, NULL), &e, &k, why, whylen));
        if (k != 5 && k != 7)
            return wr_cf_fail(WR_EPROTO, why, whylen, "%s: expected array of 7 (or 5), got array of %u",
                        PS(PATH(tn, "rollups", i, -1, NULL)), (unsigned)k);
        TRY(wr_cf_copy_str(&e[0], r->metric, sizeof(r->metric), 1,
                     PATH(tn, "rollups", i, 0, "metric name"), why, whylen));
        if (!wr_metric_name_valid(r->metric))
            return wr_cf_fail(WR_EPROTO, why, whylen, "%s rollups[%ld][0]: invalid metric name \"%s\"",
                        tn, i, printable(r->metric, pr, sizeof(pr)));
        TRY(wr_cf_uint(&e[1], UINT64_MAX, PATH(tn, "rollups", i, 1, "count"), &r->agg.count,
                      why, whylen));
        TRY(wr_cf_num(&e[2], PATH(tn, "rollups", i, 2, "sum"), &r->agg.sum, why, whylen));
        TRY(wr_cf_num(&e[3], PATH(tn, "rollups", i, 3, "min"), &r->agg.min, why, whylen));
        TRY(wr_cf_num(&e[4], PATH(tn, "rollups", i, 4, "max"), &r->agg.max, why, whylen));
        out->n_rollups = (size_t)i + 1;       /* from here on, wr_state_msg_clear frees r */
        if (k == 7) {
            TRY(decode_sketch(&e[5], tn, i, r, why, whylen));
            TRY(decode_topk(&e[6], tn, i, r, why, whylen));
        }
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

    TRY(wr_cf_array(o, 0, PATH(tn, "tiers", -1, -1, NULL), &items, &n, why, whylen));
    if (n > WR_STATE_MAX_TIERS)
        return wr_cf_fail(WR_ETOOBIG, why, whylen, "%s tiers: %u entries over cap %u", tn,
                    (unsigned)n, WR_STATE_MAX_TIERS);
    if (n && !(out->tiers = calloc(n, sizeof(*out->tiers))))
        return wr_cf_fail(WR_ENOMEM, why, whylen, "%s tiers: no memory", tn);
    for (long i = 0; i < (long)n; i++) {
        wr_tier_entry_t *t = &out->tiers[i];
        TRY(wr_cf_array(&items[i], 0, PATH(tn, "tiers", i, -1, NULL), &e, &k, why, whylen));
        if (k != 7 && k != 11)
            return wr_cf_fail(WR_EPROTO, why, whylen,
                        "%s tiers[%ld]: expected array of 7 or 11, got array of %u", tn, i,
                        (unsigned)k);
        TRY(wr_cf_copy_str(&e[0], t->id, sizeof(t->id), 1, PATH(tn, "tiers", i, 0, "tier id"),
                     why, whylen));
        TRY(wr_cf_copy_str(&e[1], t->kind, sizeof(t->kind), 0, PATH(tn, "tiers", i, 1, "kind"),
                     why, whylen));
        TRY(wr_cf_int(&e[2], -1, INT32_MAX, PATH(tn, "tiers", i, 2, "parent"), &i64, why,
                     whylen));
        if (i64 >= i)
            return wr_cf_fail(WR_EPROTO, why, whylen,
                        "%s tiers[%ld][2]: parent %lld is not -1 or an earlier index (< %ld)",
                        tn, i, (long long)i64, i);
        t->parent = (int32_t)i64;
        TRY(wr_cf_bool(&e[3], PATH(tn, "tiers", i, 3, "up"), &t->up, why, whylen));
        TRY(wr_cf_uint(&e[4], UINT32_MAX, PATH(tn, "tiers", i, 4, "nodes_total"), &u, why,
                      whylen));
        t->nodes_total = (uint32_t)u;
        TRY(wr_cf_uint(&e[5], UINT32_MAX, PATH(tn, "tiers", i, 5, "nodes_up"), &u, why, whylen));
        t->nodes_up = (uint32_t)u;
        TRY(wr_cf_num(&e[6], PATH(tn, "tiers", i, 6, "samples_per_s"), &t->samples_per_s, why,
                     whylen));
        if (k == 11) {
            TRY(wr_cf_num(&e[7], PATH(tn, "tiers", i, 7, "frames_in_per_s"), &t->frames_in_per_s,
                          why, whylen));
            TRY(wr_cf_num(&e[8], PATH(tn, "tiers", i, 8, "frames_out_per_s"),
                          &t->frames_out_per_s, why, whylen));
            TRY(wr_cf_num(&e[9], PATH(tn, "tiers", i, 9, "bytes_in_per_s"), &t->bytes_in_per_s,
                          why, whylen));
            TRY(wr_cf_num(&e[10], PATH(tn, "tiers", i, 10, "bytes_out_per_s"), &t->bytes_out_per_s,
                          why, whylen));
        }
        out->n_tiers = (size_t)i + 1;
    }
    return WR_OK;
}

void wr_state_msg_clear(wr_state_msg_t *msg)
{
    if (!msg)
        return;
    free(msg->nodes);
    for (size_t i = 0; msg->rollups && i < msg->n_rollups; i++) {
        wr_sketch_destroy(&msg->rollups[i].sketch);
        wr_topk_destroy(&msg->rollups[i].topk);
    }
    free(msg->rollups);
    free(msg->tiers);
    memset(msg, 0, sizeof(*msg));
}

static int decode_state(wr_decoder_t *dec, size_t max_nodes, wr_state_msg_t *out, char *why,
                        size_t whylen)
{
    field_t f[] = { { "interval_ms", 0, NULL }, { "at", 1, NULL }, { "nodes", 1, NULL },
                    { "rollups", 1, NULL }, { "tiers", 1, NULL }, { "census", 0, NULL } };
    const char *tn = wr_msg_type_name(dec->type);
    uint64_t u = 0;

    TRY(wr_cf_get_fields(dec, f, 6, why, whylen));
    if (f[0].val)
        TRY(wr_cf_uint(f[0].val, UINT32_MAX, PATH(tn, "interval_ms", -1, -1, NULL), &u, why,
                      whylen));
    out->interval_ms = (uint32_t)u;
    TRY(wr_cf_int(f[1].val, INT64_MIN, INT64_MAX, PATH(tn, "at", -1, -1, NULL), &out->at_ms,
                 why, whylen));
    TRY(decode_nodes(f[2].val, tn, max_nodes ? max_nodes : WR_STATE_MAX_NODES_DEFAULT, out,
                     why, whylen));
    TRY(decode_rollups(f[3].val, tn, out, why, whylen));
    TRY(decode_tiers(f[4].val, tn, out, why, whylen));
    if (f[5].val) {
        const msgpack_object *c = f[5].val;
        if (c->type != MSGPACK_OBJECT_BIN)
            return wr_cf_fail(WR_EPROTO, why, whylen, "%s census: expected binary, got %s", tn,
                              wr_cf_type_of(c));
        if (c->via.bin.size == 0 || c->via.bin.size > WR_CENSUS_WIRE_MAX)
            return wr_cf_fail(WR_ETOOBIG, why, whylen, "%s census: %u bytes, outside 1..%u", tn,
                              (unsigned)c->via.bin.size, (unsigned)WR_CENSUS_WIRE_MAX);
        out->census = c->via.bin.ptr;
        out->census_len = c->via.bin.size;
    }
    return WR_OK;
}

int wr_decode_state(wr_decoder_t *dec, size_t max_nodes, wr_state_msg_t *out, char *why,
                    size_t whylen)
{
    memset(out, 0, sizeof(*out));
    TRY(wr_cf_want_frame(dec, WR_MSG_SNAPSHOT, WR_MSG_DELTA, why, whylen));
    int rc = decode_state(dec, max_nodes, out, why, whylen);
    if (rc != 0)
        wr_state_msg_clear(out);
    return rc;
}

int wr_decode_ack(wr_decoder_t *dec, wr_ack_t *out, char *why, size_t whylen)
{
    field_t f[] = { { "seq", 1, NULL }, { "epoch", 0, NULL } };
    TRY(wr_cf_want_frame(dec, WR_MSG_ACK, WR_MSG_ACK, why, whylen));
    memset(out, 0, sizeof(*out));
    TRY(wr_cf_get_fields(dec, f, 2, why, whylen));
    TRY(wr_cf_uint(f[0].val, UINT64_MAX, PATH("ACK", "seq", -1, -1, NULL), &out->seq, why,
                   whylen));
    if (f[1].val)
        TRY(wr_cf_uint(f[1].val, UINT64_MAX, PATH("ACK", "epoch", -1, -1, NULL), &out->epoch,
                       why, whylen));
    return WR_OK;
}

int wr_decode_query(wr_decoder_t *dec, wr_query_t *out, char *why, size_t whylen)
{
    field_t f[] = { { "qid", 1, NULL }, { "node", 1, NULL }, { "kind", 1, NULL },
                    { "args", 0, NULL } };
    wr_query_t q = { 0, "", 0, "", 0, "", 0 };
    TRY(wr_cf_want_frame(dec, WR_MSG_QUERY, WR_MSG_QUERY, why, whylen));
    TRY(wr_cf_get_fields(dec, f, 4, why, whylen));
    TRY(wr_cf_uint(f[0].val, UINT64_MAX, PATH("QUERY", "qid", -1, -1, NULL), &q.qid, why,
                  whylen));
    TRY(wr_cf_str(f[1].val, 1, WR_NODE_NAME_MAX - 1, PATH("QUERY", "node", -1, -1, NULL),
                 &q.node, &q.node_len, why, whylen));
    TRY(wr_cf_str(f[2].val, 1, WR_WIRE_MAX_STR, PATH("QUERY", "kind", -1, -1, NULL), &q.kind,
                 &q.kind_len, why, whylen));
    if (f[3].val)
        TRY(wr_cf_str(f[3].val, 0, WR_WIRE_MAX_STR, PATH("QUERY", "args", -1, -1, NULL), &q.args,
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
    TRY(wr_cf_want_frame(dec, WR_MSG_REPLY, WR_MSG_REPLY, why, whylen));
    TRY(wr_cf_get_fields(dec, f, 4, why, whylen));
    TRY(wr_cf_uint(f[0].val, UINT64_MAX, PATH("REPLY", "qid", -1, -1, NULL), &r.qid, why,
                  whylen));
    TRY(wr_cf_int(f[1].val, INT32_MIN, 0, PATH("REPLY", "status", -1, -1, NULL), &st, why,
                 whylen));
    r.status = (int32_t)st;
    if (f[2].val)
        TRY(wr_cf_str(f[2].val, 0, WR_WIRE_MAX_STR, PATH("REPLY", "error", -1, -1, NULL),
                     &r.error, &r.error_len, why, whylen));
    if (f[3].val)
        TRY(wr_cf_str(f[3].val, 0, WR_WIRE_MAX_STR, PATH("REPLY", "result", -1, -1, NULL),
                     &r.result, &r.result_len, why, whylen));
    *out = r;
    return WR_OK;
}

int wr_decode_command(wr_decoder_t *dec, wr_command_t *out, char *why, size_t whylen)
{
    field_t f[] = { { "cmd", 1, NULL }, { "args", 0, NULL } };
    wr_command_t c = { "", 0, "", 0 };
    TRY(wr_cf_want_frame(dec, WR_MSG_COMMAND, WR_MSG_COMMAND, why, whylen));
    TRY(wr_cf_get_fields(dec, f, 2, why, whylen));
    TRY(wr_cf_str(f[0].val, 1, WR_WIRE_MAX_STR, PATH("COMMAND", "cmd", -1, -1, NULL), &c.cmd,
                 &c.cmd_len, why, whylen));
    if (f[1].val)
        TRY(wr_cf_str(f[1].val, 0, WR_WIRE_MAX_STR, PATH("COMMAND", "args", -1, -1, NULL),
                     &c.args, &c.args_len, why, whylen));
    *out = c;
    return WR_OK;
}
