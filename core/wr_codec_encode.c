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

struct wr_encoder {
    msgpack_sbuffer sbuf;
    msgpack_packer  pk;
};

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

/* Every msgpack_pack_* call below returns 0 or -1 (the sbuffer could not grow). */
#define PK(call) do { if ((call) != 0) return WR_ENOMEM; } while (0)

/* Packs a NUL-terminated struct field of capacity cap. Must be terminated inside cap and at
 * least min_len bytes long. */
static int pack_field(msgpack_packer *pk, const char *s, size_t cap, size_t min_len)
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
static int pack_span(msgpack_packer *pk, const char *s, size_t len, size_t min_len)
{
    if ((!s && len) || len < min_len || len > WR_WIRE_MAX_STR || (len && memchr(s, 0, len)))
        return WR_EINVAL;
    PK(msgpack_pack_str(pk, len));
    if (len)
        PK(msgpack_pack_str_body(pk, s, len));
    return WR_OK;
}

static int pack_key(msgpack_packer *pk, const char *key)
{
    size_t n = strlen(key);
    PK(msgpack_pack_str(pk, n));
    PK(msgpack_pack_str_body(pk, key, n));
    return WR_OK;
}

#define TRY(call) do { int rc_ = (call); if (rc_ != 0) return rc_; } while (0)

/* Starts a frame: clears the buffer and packs the first 6 envelope items (the caller packs
 * the body map). */
static int begin(wr_encoder_t *enc, const wr_envelope_t *env, int want, int want2)
{
    if (!enc || !env || (env->type != want && env->type != want2))
        return WR_EINVAL;
    msgpack_sbuffer_clear(&enc->sbuf);
    msgpack_packer *pk = &enc->pk;
    PK(msgpack_pack_array(pk, 7));
    PK(msgpack_pack_uint32(pk, env->v ? env->v : WR_WIRE_VERSION));
    PK(msgpack_pack_int(pk, env->type));
    TRY(pack_field(pk, env->from, sizeof(env->from), 1));
    PK(msgpack_pack_uint64(pk, env->epoch));
    PK(msgpack_pack_uint64(pk, env->seq));
    PK(msgpack_pack_int64(pk, env->ts_ms));
    return WR_OK;
}

/* Runs one encode step; on failure leaves the encoder empty rather than half a frame. */
static int finish(wr_encoder_t *enc, int rc)
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
    TRY(begin(enc, env, WR_MSG_HELLO, WR_MSG_HELLO));
    PK(msgpack_pack_map(pk, 4));
    TRY(pack_key(pk, "kind"));
    TRY(pack_field(pk, b->kind, sizeof(b->kind), 1));
    TRY(pack_key(pk, "id"));
    TRY(pack_field(pk, b->id, sizeof(b->id), 1));
    TRY(pack_key(pk, "version"));
    TRY(pack_field(pk, b->version, sizeof(b->version), 0));
    TRY(pack_key(pk, "interval_ms"));
    PK(msgpack_pack_uint32(pk, b->interval_ms));
    return WR_OK;
}

int wr_encode_hello(wr_encoder_t *enc, const wr_envelope_t *env, const wr_hello_t *body)
{
    if (!enc)
        return WR_EINVAL;
    return finish(enc, encode_hello(enc, env, body));
}

static int encode_heartbeat(wr_encoder_t *enc, const wr_envelope_t *env)
{
    TRY(begin(enc, env, WR_MSG_HEARTBEAT, WR_MSG_HEARTBEAT));
    PK(msgpack_pack_map(&enc->pk, 0));
    return WR_OK;
}

int wr_encode_heartbeat(wr_encoder_t *enc, const wr_envelope_t *env)
{
    if (!enc)
        return WR_EINVAL;
    return finish(enc, encode_heartbeat(enc, env));
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
        TRY(pack_field(pk, n->name, sizeof(n->name), 1));
        PK(msgpack_pack_uint8(pk, n->state));
        PK(msgpack_pack_int64(pk, n->since_ms));
        TRY(pack_field(pk, n->leaf, sizeof(n->leaf), 1));
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
        PK(msgpack_pack_array(pk, 5));
        TRY(pack_field(pk, r->metric, sizeof(r->metric), 1));
        PK(msgpack_pack_uint64(pk, r->agg.count));
        PK(msgpack_pack_double(pk, r->agg.sum));
        PK(msgpack_pack_double(pk, r->agg.min));
        PK(msgpack_pack_double(pk, r->agg.max));
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
            isnan(t->samples_per_s))
            return WR_EINVAL;
        PK(msgpack_pack_array(pk, 7));
        TRY(pack_field(pk, t->id, sizeof(t->id), 1));
        TRY(pack_field(pk, t->kind, sizeof(t->kind), 0));
        PK(msgpack_pack_int32(pk, t->parent));
        PK(t->up ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
        PK(msgpack_pack_uint32(pk, t->nodes_total));
        PK(msgpack_pack_uint32(pk, t->nodes_up));
        PK(msgpack_pack_double(pk, t->samples_per_s));
    }
    return WR_OK;
}

static int encode_state(wr_encoder_t *enc, const wr_envelope_t *env, const wr_state_msg_t *b)
{
    msgpack_packer *pk = &enc->pk;
    if (!b)
        return WR_EINVAL;
    TRY(begin(enc, env, WR_MSG_SNAPSHOT, WR_MSG_DELTA));
    PK(msgpack_pack_map(pk, 5));
    TRY(pack_key(pk, "interval_ms"));
    PK(msgpack_pack_uint32(pk, b->interval_ms));
    TRY(pack_key(pk, "at"));
    PK(msgpack_pack_int64(pk, b->at_ms));
    TRY(pack_key(pk, "nodes"));
    TRY(pack_nodes(pk, b));
    TRY(pack_key(pk, "rollups"));
    TRY(pack_rollups(pk, b));
    TRY(pack_key(pk, "tiers"));
    TRY(pack_tiers(pk, b));
    return WR_OK;
}

int wr_encode_state(wr_encoder_t *enc, const wr_envelope_t *env, const wr_state_msg_t *body)
{
    if (!enc)
        return WR_EINVAL;
    return finish(enc, encode_state(enc, env, body));
}

static int encode_ack(wr_encoder_t *enc, const wr_envelope_t *env, const wr_ack_t *b)
{
    if (!b)
        return WR_EINVAL;
    TRY(begin(enc, env, WR_MSG_ACK, WR_MSG_ACK));
    PK(msgpack_pack_map(&enc->pk, 1));
    TRY(pack_key(&enc->pk, "seq"));
    PK(msgpack_pack_uint64(&enc->pk, b->seq));
    return WR_OK;
}

int wr_encode_ack(wr_encoder_t *enc, const wr_envelope_t *env, const wr_ack_t *body)
{
    if (!enc)
        return WR_EINVAL;
    return finish(enc, encode_ack(enc, env, body));
}

static int encode_query(wr_encoder_t *enc, const wr_envelope_t *env, const wr_query_t *b)
{
    msgpack_packer *pk = &enc->pk;
    if (!b || b->node_len >= WR_NODE_NAME_MAX)
        return WR_EINVAL;
    TRY(begin(enc, env, WR_MSG_QUERY, WR_MSG_QUERY));
    PK(msgpack_pack_map(pk, 4));
    TRY(pack_key(pk, "qid"));
    PK(msgpack_pack_uint64(pk, b->qid));
    TRY(pack_key(pk, "node"));
    TRY(pack_span(pk, b->node, b->node_len, 1));
    TRY(pack_key(pk, "kind"));
    TRY(pack_span(pk, b->kind, b->kind_len, 1));
    TRY(pack_key(pk, "args"));
    TRY(pack_span(pk, b->args, b->args_len, 0));
    return WR_OK;
}

int wr_encode_query(wr_encoder_t *enc, const wr_envelope_t *env, const wr_query_t *body)
{
    if (!enc)
        return WR_EINVAL;
    return finish(enc, encode_query(enc, env, body));
}

static int encode_reply(wr_encoder_t *enc, const wr_envelope_t *env, const wr_reply_t *b)
{
    msgpack_packer *pk = &enc->pk;
    if (!b || b->status > 0)
        return WR_EINVAL;
    TRY(begin(enc, env, WR_MSG_REPLY, WR_MSG_REPLY));
    PK(msgpack_pack_map(pk, 4));
    TRY(pack_key(pk, "qid"));
    PK(msgpack_pack_uint64(pk, b->qid));
    TRY(pack_key(pk, "status"));
    PK(msgpack_pack_int32(pk, b->status));
    TRY(pack_key(pk, "error"));
    TRY(pack_span(pk, b->error, b->error_len, 0));
    TRY(pack_key(pk, "result"));
    TRY(pack_span(pk, b->result, b->result_len, 0));
    return WR_OK;
}

int wr_encode_reply(wr_encoder_t *enc, const wr_envelope_t *env, const wr_reply_t *body)
{
    if (!enc)
        return WR_EINVAL;
    return finish(enc, encode_reply(enc, env, body));
}

static int encode_command(wr_encoder_t *enc, const wr_envelope_t *env, const wr_command_t *b)
{
    msgpack_packer *pk = &enc->pk;
    if (!b)
        return WR_EINVAL;
    TRY(begin(enc, env, WR_MSG_COMMAND, WR_MSG_COMMAND));
    PK(msgpack_pack_map(pk, 2));
    TRY(pack_key(pk, "cmd"));
    TRY(pack_span(pk, b->cmd, b->cmd_len, 1));
    TRY(pack_key(pk, "args"));
    TRY(pack_span(pk, b->args, b->args_len, 0));
    return WR_OK;
}

int wr_encode_command(wr_encoder_t *enc, const wr_envelope_t *env, const wr_command_t *body)
{
    if (!enc)
        return WR_EINVAL;
    return finish(enc, encode_command(enc, env, body));
}
