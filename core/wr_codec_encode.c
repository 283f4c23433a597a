/* wr_codec_encode: structs -> msgpack frames. One reusable msgpack_sbuffer per encoder,
 * cleared (never reallocated) between frames. The encoder refuses what the decoder would
 * reject (strings over their caps or unterminated, empty ids and node names, bad states,
 * invalid metric names, NaN, tier parents out of order), so a bad frame fails at its source
 * with WR_EINVAL instead of being dropped by the peer. It owns no sockets. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>
#include "wr_codec.h"
#include "wr_error.h"
#include "wr_codec_priv.h"


wr_encoder_t *wr_encoder_new(void)
{
    wr_encoder_t *enc = calloc(1, sizeof(*enc));
    if (!enc)
        return NULL;
    msgpack_sbuffer_init(&enc->sbuf);
    msgpack_packer_init(&enc->pk, &enc->sbuf, msgpack_sbuffer_write);
    return enc;
}

void wr_encoder_destroy(wr_encoder_t **enc)
{
    if (!enc || !*enc)
        return;
    msgpack_sbuffer_destroy(&(*enc)->sbuf);
    free(*enc);
    *enc = NULL;
}

const void *wr_encoder_data(const wr_encoder_t *enc)
{
    return enc->sbuf.data;
}

size_t wr_encoder_size(const wr_encoder_t *enc)
{
    return enc->sbuf.size;
}

/* Every msgpack_pack_* call returns 0 or -1 (the sbuffer could not grow): PK() turns that
 * into WR_ENOMEM (wr_codec_priv.h). */

/* Packs a NUL-terminated struct field of capacity cap. Must be terminated inside cap and at
 * least min_len bytes long. */
int wr_ce_pack_field(msgpack_packer *pk, const char *s, size_t cap, size_t min_len)
{
    size_t n = strnlen(s, cap);
    if (n == cap || n < min_len)
        return WR_EINVAL;
    PK(msgpack_pack_str(pk, n));
    PK(msgpack_pack_str_body(pk, s, n));
    return WR_OK;
}

/* Packs a caller's (ptr, len) string; NULL with len 0 is the empty string. Strings with NUL
 * bytes are refused, as the decoder refuses them. */
int wr_ce_pack_span(msgpack_packer *pk, const char *s, size_t len, size_t min_len)
{
    if ((!s && len) || len < min_len || len > WR_WIRE_MAX_STR || (len && memchr(s, 0, len)))
        return WR_EINVAL;
    PK(msgpack_pack_str(pk, len));
    if (len)
        PK(msgpack_pack_str_body(pk, s, len));
    return WR_OK;
}

int wr_ce_pack_key(msgpack_packer *pk, const char *key)
{
    size_t n = strlen(key);
    PK(msgpack_pack_str(pk, n));
    PK(msgpack_pack_str_body(pk, key, n));
    return WR_OK;
}


/* Starts a frame: clears the buffer and packs the first 6 envelope items (the caller packs
 * the body map). */
int wr_ce_begin(wr_encoder_t *enc, const wr_envelope_t *env, int want, int want2)
{
    if (!enc || !env || (env->type != want && env->type != want2))
        return WR_EINVAL;
    msgpack_sbuffer_clear(&enc->sbuf);
    msgpack_packer *pk = &enc->pk;
    PK(msgpack_pack_array(pk, 7));
    PK(msgpack_pack_uint32(pk, env->v ? env->v : WR_WIRE_VERSION));
    PK(msgpack_pack_int(pk, env->type));
    TRY(wr_ce_pack_field(pk, env->from, sizeof(env->from), 1));
    PK(msgpack_pack_uint64(pk, env->epoch));
    PK(msgpack_pack_uint64(pk, env->seq));
    PK(msgpack_pack_int64(pk, env->ts_ms));
    return WR_OK;
}

/* Runs one encode step; on failure leaves the encoder empty rather than half a frame. */
int wr_ce_finish(wr_encoder_t *enc, int rc)
{
    if (rc != 0 && enc)
        msgpack_sbuffer_clear(&enc->sbuf);
    return rc;
}

static int encode_hello(wr_encoder_t *enc, const wr_envelope_t *env, const wr_hello_t *b)
{
    msgpack_packer *pk = &enc->pk;
    if (!b || (strcmp(b->kind, "leaf") && strcmp(b->kind, "relay") && strcmp(b->kind, "root")))
        return WR_EINVAL;
    TRY(wr_ce_begin(enc, env, WR_MSG_HELLO, WR_MSG_HELLO));
    PK(msgpack_pack_map(pk, 4));
    TRY(wr_ce_pack_key(pk, "kind"));
    TRY(wr_ce_pack_field(pk, b->kind, sizeof(b->kind), 1));
    TRY(wr_ce_pack_key(pk, "id"));
    TRY(wr_ce_pack_field(pk, b->id, sizeof(b->id), 1));
    TRY(wr_ce_pack_key(pk, "version"));
    TRY(wr_ce_pack_field(pk, b->version, sizeof(b->version), 0));
    TRY(wr_ce_pack_key(pk, "interval_ms"));
    PK(msgpack_pack_uint32(pk, b->interval_ms));
    return WR_OK;
}

int wr_encode_hello(wr_encoder_t *enc, const wr_envelope_t *env, const wr_hello_t *body)
{
    if (!enc)
        return WR_EINVAL;
    return wr_ce_finish(enc, encode_hello(enc, env, body));
}

static int encode_heartbeat(wr_encoder_t *enc, const wr_envelope_t *env)
{
    TRY(wr_ce_begin(enc, env, WR_MSG_HEARTBEAT, WR_MSG_HEARTBEAT));
    PK(msgpack_pack_map(&enc->pk, 0));
    return WR_OK;
}

int wr_encode_heartbeat(wr_encoder_t *enc, const wr_envelope_t *env)
{
    if (!enc)
        return WR_EINVAL;
    return wr_ce_finish(enc, encode_heartbeat(enc, env));
}

static int pack_nodes(msgpack_packer *pk, const wr_state_msg_t *b)
{
    if (b->n_nodes && !b->nodes)
        return WR_EINVAL;
    PK(msgpack_pack_array(pk, b->n_nodes));
    for (size_t i = 0; i < b->n_nodes; i++) {
        const wr_node_entry_t *n = &b->nodes[i];
        if (n->state > WR_NODE_STATE_MAX)
            return WR_EINVAL;
        PK(msgpack_pack_array(pk, 4));
        TRY(wr_ce_pack_field(pk, n->name, sizeof(n->name), 1));
        PK(msgpack_pack_uint8(pk, n->state));
        PK(msgpack_pack_int64(pk, n->since_ms));
        TRY(wr_ce_pack_field(pk, n->leaf, sizeof(n->leaf), 1));
    }
    return WR_OK;
}

/* One store of a sketch: offset, [counts]. */
static int pack_store(msgpack_packer *pk, const wr_sketch_t *sk, int sign)
{
    wr_sketch_store_view_t v;
    wr_sketch_store(sk, sign, &v);
    PK(msgpack_pack_int32(pk, v.offset));
    PK(msgpack_pack_array(pk, v.len));
    for (size_t k = 0; k < v.len; k++)
        PK(msgpack_pack_uint64(pk, v.counts[k]));
    return WR_OK;
}

/* sketch: nil or [zero, collapsed, pos_offset, [counts], neg_offset, [counts]]; its count
 * must be the entry's (the decoder checks it). */
static int pack_sketch(msgpack_packer *pk, const wr_sketch_t *sk, uint64_t count)
{
    if (!sk) {
        PK(msgpack_pack_nil(pk));
        return WR_OK;
    }
    if (wr_sketch_count(sk) != count)
        return WR_EINVAL;
    PK(msgpack_pack_array(pk, 6));
    PK(msgpack_pack_uint64(pk, wr_sketch_zero_count(sk)));
    PK(msgpack_pack_uint64(pk, wr_sketch_collapsed(sk)));
    TRY(pack_store(pk, sk, 1));
    TRY(pack_store(pk, sk, -1));
    return WR_OK;
}

/* topk: nil or [k, [[node, value], ...]]. */
static int pack_topk(msgpack_packer *pk, const wr_topk_t *tk)
{
    if (!tk) {
        PK(msgpack_pack_nil(pk));
        return WR_OK;
    }
    size_t n = wr_topk_size(tk);
    PK(msgpack_pack_array(pk, 2));
    PK(msgpack_pack_uint32(pk, wr_topk_k(tk)));
    PK(msgpack_pack_array(pk, n));
    for (size_t i = 0; i < n; i++) {
        const wr_topk_item_t *it = wr_topk_item(tk, i);
        PK(msgpack_pack_array(pk, 2));
        TRY(wr_ce_pack_field(pk, it->node, sizeof(it->node), 1));
        PK(msgpack_pack_double(pk, it->value));
    }
    return WR_OK;
}

static int pack_rollups(msgpack_packer *pk, const wr_state_msg_t *b)
{
    if (b->n_rollups && !b->rollups)
        return WR_EINVAL;
    PK(msgpack_pack_array(pk, b->n_rollups));
    for (size_t i = 0; i < b->n_rollups; i++) {
        const wr_rollup_entry_t *r = &b->rollups[i];
        if (strnlen(r->metric, sizeof(r->metric)) == sizeof(r->metric) ||
            !wr_metric_name_valid(r->metric) ||
            isnan(r->agg.sum) || isnan(r->agg.min) || isnan(r->agg.max))
            return WR_EINVAL;
        PK(msgpack_pack_array(pk, 7));
        TRY(wr_ce_pack_field(pk, r->metric, sizeof(r->metric), 1));
        PK(msgpack_pack_uint64(pk, r->agg.count));
        PK(msgpack_pack_double(pk, r->agg.sum));
        PK(msgpack_pack_double(pk, r->agg.min));
        PK(msgpack_pack_double(pk, r->agg.max));
        TRY(pack_sketch(pk, r->sketch, r->agg.count));
        TRY(pack_topk(pk, r->topk));
    }
    return WR_OK;
}

static int pack_tiers(msgpack_packer *pk, const wr_state_msg_t *b)
{
    if (b->n_tiers && !b->tiers)
        return WR_EINVAL;
    PK(msgpack_pack_array(pk, b->n_tiers));
    for (size_t i = 0; i < b->n_tiers; i++) {
        const wr_tier_entry_t *t = &b->tiers[i];
        if (t->parent < -1 || (t->parent >= 0 && (size_t)t->parent >= i) ||
            isnan(t->samples_per_s) || isnan(t->frames_in_per_s) || isnan(t->frames_out_per_s) ||
            isnan(t->bytes_in_per_s) || isnan(t->bytes_out_per_s))
            return WR_EINVAL;
        PK(msgpack_pack_array(pk, 11));
        TRY(wr_ce_pack_field(pk, t->id, sizeof(t->id), 1));
        TRY(wr_ce_pack_field(pk, t->kind, sizeof(t->kind), 0));
        PK(msgpack_pack_int32(pk, t->parent));
        PK(t->up ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
        PK(msgpack_pack_uint32(pk, t->nodes_total));
        PK(msgpack_pack_uint32(pk, t->nodes_up));
        PK(msgpack_pack_double(pk, t->samples_per_s));
        PK(msgpack_pack_double(pk, t->frames_in_per_s));
        PK(msgpack_pack_double(pk, t->frames_out_per_s));
        PK(msgpack_pack_double(pk, t->bytes_in_per_s));
        PK(msgpack_pack_double(pk, t->bytes_out_per_s));
    }
    return WR_OK;
}

static int encode_state(wr_encoder_t *enc, const wr_envelope_t *env, const wr_state_msg_t *b)
{
    msgpack_packer *pk = &enc->pk;
    if (!b)
        return WR_EINVAL;
    TRY(wr_ce_begin(enc, env, WR_MSG_SNAPSHOT, WR_MSG_DELTA));
    int census = b->census && b->census_len > 0;
    if (census && b->census_len > WR_CENSUS_WIRE_MAX)
        return WR_EINVAL;
    PK(msgpack_pack_map(pk, census ? 6 : 5));
    TRY(wr_ce_pack_key(pk, "interval_ms"));
    PK(msgpack_pack_uint32(pk, b->interval_ms));
    TRY(wr_ce_pack_key(pk, "at"));
    PK(msgpack_pack_int64(pk, b->at_ms));
    TRY(wr_ce_pack_key(pk, "nodes"));
    TRY(pack_nodes(pk, b));
    TRY(wr_ce_pack_key(pk, "rollups"));
    TRY(pack_rollups(pk, b));
    TRY(wr_ce_pack_key(pk, "tiers"));
    TRY(pack_tiers(pk, b));
    if (census) {
        TRY(wr_ce_pack_key(pk, "census"));
        PK(msgpack_pack_bin(pk, b->census_len));
        PK(msgpack_pack_bin_body(pk, b->census, b->census_len));
    }
    return WR_OK;
}

int wr_encode_state(wr_encoder_t *enc, const wr_envelope_t *env, const wr_state_msg_t *body)
{
    if (!enc)
        return WR_EINVAL;
    return wr_ce_finish(enc, encode_state(enc, env, body));
}

static int encode_ack(wr_encoder_t *enc, const wr_envelope_t *env, const wr_ack_t *b)
{
    if (!b)
        return WR_EINVAL;
    TRY(wr_ce_begin(enc, env, WR_MSG_ACK, WR_MSG_ACK));
    PK(msgpack_pack_map(&enc->pk, b->epoch ? 2 : 1));
    TRY(wr_ce_pack_key(&enc->pk, "seq"));
    PK(msgpack_pack_uint64(&enc->pk, b->seq));
    if (b->epoch) {
        TRY(wr_ce_pack_key(&enc->pk, "epoch"));
        PK(msgpack_pack_uint64(&enc->pk, b->epoch));
    }
    return WR_OK;
}

int wr_encode_ack(wr_encoder_t *enc, const wr_envelope_t *env, const wr_ack_t *body)
{
    if (!enc)
        return WR_EINVAL;
    return wr_ce_finish(enc, encode_ack(enc, env, body));
}

static int encode_query(wr_encoder_t *enc, const wr_envelope_t *env, const wr_query_t *b)
{
    msgpack_packer *pk = &enc->pk;
    if (!b || b->node_len >= WR_NODE_NAME_MAX)
        return WR_EINVAL;
    TRY(wr_ce_begin(enc, env, WR_MSG_QUERY, WR_MSG_QUERY));
    PK(msgpack_pack_map(pk, 4));
    TRY(wr_ce_pack_key(pk, "qid"));
    PK(msgpack_pack_uint64(pk, b->qid));
    TRY(wr_ce_pack_key(pk, "node"));
    TRY(wr_ce_pack_span(pk, b->node, b->node_len, 1));
    TRY(wr_ce_pack_key(pk, "kind"));
    TRY(wr_ce_pack_span(pk, b->kind, b->kind_len, 1));
    TRY(wr_ce_pack_key(pk, "args"));
    TRY(wr_ce_pack_span(pk, b->args, b->args_len, 0));
    return WR_OK;
}

int wr_encode_query(wr_encoder_t *enc, const wr_envelope_t *env, const wr_query_t *body)
{
    if (!enc)
        return WR_EINVAL;
    return wr_ce_finish(enc, encode_query(enc, env, body));
}

static int encode_reply(wr_encoder_t *enc, const wr_envelope_t *env, const wr_reply_t *b)
{
    msgpack_packer *pk = &enc->pk;
    if (!b || b->status > 0)
        return WR_EINVAL;
    TRY(wr_ce_begin(enc, env, WR_MSG_REPLY, WR_MSG_REPLY));
    PK(msgpack_pack_map(pk, 4));
    TRY(wr_ce_pack_key(pk, "qid"));
    PK(msgpack_pack_uint64(pk, b->qid));
    TRY(wr_ce_pack_key(pk, "status"));
    PK(msgpack_pack_int32(pk, b->status));
    TRY(wr_ce_pack_key(pk, "error"));
    TRY(wr_ce_pack_span(pk, b->error, b->error_len, 0));
    TRY(wr_ce_pack_key(pk, "result"));
    TRY(wr_ce_pack_span(pk, b->result, b->result_len, 0));
    return WR_OK;
}

int wr_encode_reply(wr_encoder_t *enc, const wr_envelope_t *env, const wr_reply_t *body)
{
    if (!enc)
        return WR_EINVAL;
    return wr_ce_finish(enc, encode_reply(enc, env, body));
}

static int encode_command(wr_encoder_t *enc, const wr_envelope_t *env, const wr_command_t *b)
{
    msgpack_packer *pk = &enc->pk;
    if (!b)
        return WR_EINVAL;
    TRY(wr_ce_begin(enc, env, WR_MSG_COMMAND, WR_MSG_COMMAND));
    PK(msgpack_pack_map(pk, 2));
    TRY(wr_ce_pack_key(pk, "cmd"));
    TRY(wr_ce_pack_span(pk, b->cmd, b->cmd_len, 1));
    TRY(wr_ce_pack_key(pk, "args"));
    TRY(wr_ce_pack_span(pk, b->args, b->args_len, 0));
    return WR_OK;
}

int wr_encode_command(wr_encoder_t *enc, const wr_envelope_t *env, const wr_command_t *body)
{
    if (!enc)
        return WR_EINVAL;
    return wr_ce_finish(enc, encode_command(enc, env, body));
}
