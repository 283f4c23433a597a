/* wr_codec: warren's wire format (DESIGN section 2), msgpack via msgpack-c.
 *
 * One message per ZeroMQ frame: a msgpack array of 7 items
 *     [v, type, from, epoch, seq, ts, body]
 * v = WR_WIRE_VERSION, type = wr_msg_type_t, from = sender id (string), epoch = sender's
 * restart counter (uint, changes on every restart), seq = grows within an epoch (uint),
 * ts = sender's wall clock in ms (int), body = a map with short string keys, per type (below).
 * Unknown keys in a body map are ignored (forward compatibility); missing required keys,
 * wrong types and any size over its cap are rejected with a reason.
 *
 * Decoding is defensive: frames are untrusted. Before msgpack-c builds any object, a pre-scan
 * walks the bytes and rejects truncated data, nesting deeper than WR_WIRE_MAX_DEPTH, containers
 * that claim more elements than the remaining bytes could hold, more than WR_WIRE_MAX_OBJECTS
 * objects, strings over WR_WIRE_MAX_STR, and frames over the decoder's max_frame. The codec
 * never reads past the buffer and never crashes on any input (fuzzed in tests/test_codec.c).
 *
 * The codec owns no sockets: it turns structs into bytes and back.
 *
 * Body schemas (keys -> msgpack types; R = required):
 *   HELLO     {kind: str R ("leaf"|"relay"|"root"), id: str R, version: str, interval_ms: uint}
 *   HEARTBEAT {}
 *   SNAPSHOT / DELTA (one struct, wr_state_msg_t)
 *             {interval_ms: uint, at: int (ms) R,
 *              nodes:   [[name str, state uint, since int, leaf str], ...]  R (may be empty)
 *              rollups: [[metric str, count uint, sum float, min float, max float,
 *                          sketch, topk], ...] R
 *                 sketch: nil (none) or [zero uint, collapsed uint,
 *                                       pos_offset int, [count uint, ...],
 *                                       neg_offset int, [count uint, ...]]
 *                         (wr_sketch.h: bucket pos_offset + k of the positive store holds
 *                         the k-th count; at most WR_SKETCH_MAX_BUCKETS counts per store,
 *                         indexes within WR_SKETCH_INDEX_MIN..MAX, and zero + every count
 *                         must equal the entry's count)
 *                 topk:   nil (none) or [k uint (1..WR_TOPK_MAX), [[node str, value float],
 *                         ...]] with at most k items, node names 1..255 bytes, finite values
 *             The old 5-item entry (no sketch, no topk) is accepted too.
 *              tiers:   [[id str, kind str, parent int, up bool, nodes_total uint,
 *                         nodes_up uint, samples_per_s float, frames_in_per_s float,
 *                         frames_out_per_s float, bytes_in_per_s float,
 *                         bytes_out_per_s float], ...] R }
 *             (the last four: the tier's link traffic; the old 7-item entry is accepted too)
 *             SNAPSHOT carries every node of the subtree; DELTA only nodes whose state changed
 *             since the previous SNAPSHOT/DELTA. Both carry the full rollups and tiers.
 *             Optional: census: bin (1..WR_CENSUS_WIRE_MAX bytes), the subtree's module /
 *             application census summary (core/wr_census.h), opaque to the codec; sent only
 *             when it changed (and in SNAPSHOTs); absent = unchanged. Old decoders ignore it.
 *   ACK       {seq: uint R, epoch: uint}   (cumulative: every outbox event <= seq of epoch)
 *   QUERY     {qid: uint R, node: str R, kind: str R, args: str (JSON text, may be "")}
 *   REPLY     {qid: uint R, status: int R (0 or WR_E...), error: str, result: str (JSON text)}
 *   COMMAND   {cmd: str R, args: str (JSON text)}
 *   ALARM, NOTIF: batches of events that must not be lost; see wr_event.h for the body.
 */
#ifndef WR_CODEC_H
#define WR_CODEC_H
#include <stddef.h>
#include <stdint.h>
#include "wr_agg.h"
#include "wr_metric.h"
#include "wr_sketch.h"
#include "wr_topk.h"

#define WR_WIRE_VERSION      1
#define WR_ID_MAX            64          /* tier ids, incl. NUL: "leaf-12", "relay-a" */
#define WR_NODE_NAME_MAX     256         /* Erlang node names are at most 255 bytes */
#define WR_KIND_MAX          16
#define WR_ERROR_TEXT_MAX    256
#define WR_WIRE_MAX_DEPTH    16
#define WR_WIRE_MAX_STR      (4u << 20)  /* one string (JSON payloads included) */
#define WR_WIRE_MAX_OBJECTS  (8u << 20)  /* objects in one frame */
#define WR_WIRE_DEFAULT_MAX_FRAME (32u << 20)
#define WR_CENSUS_WIRE_MAX   (4u << 20)  /* the optional census bin of a state body */

typedef enum {
    WR_MSG_HELLO = 1,
    WR_MSG_SNAPSHOT = 2,
    WR_MSG_DELTA = 3,
    WR_MSG_ALARM = 4,
    WR_MSG_NOTIF = 5,
    WR_MSG_ACK = 6,
    WR_MSG_HEARTBEAT = 7,
    WR_MSG_QUERY = 8,
    WR_MSG_REPLY = 9,
    WR_MSG_COMMAND = 10
} wr_msg_type_t;
#define WR_MSG_TYPE_MAX 10

/* "HELLO", "SNAPSHOT", ... or "?" */
const char *wr_msg_type_name(int type);

typedef struct {
    uint32_t v;
    int      type;                 /* wr_msg_type_t */
    char     from[WR_ID_MAX];
    uint64_t epoch;
    uint64_t seq;
    int64_t  ts_ms;
} wr_envelope_t;

/* The sender's side of envelopes: id, epoch (chosen at start-up), next seq. */
typedef struct {
    char     id[WR_ID_MAX];
    uint64_t epoch;
    uint64_t next_seq;             /* starts at 1 */
} wr_origin_t;

/* Sets origin id (truncated to WR_ID_MAX-1), epoch = wall-clock microseconds (unique per
 * restart), next_seq = 1. */
void wr_origin_init(wr_origin_t *origin, const char *id);
/* Fills env for a new message of type from origin: v, type, from, epoch, seq (taking
 * origin->next_seq++), ts = now. */
void wr_envelope_next(wr_origin_t *origin, int type, wr_envelope_t *env);

/* ---- bodies ------------------------------------------------------------------ */

typedef struct {
    char     kind[WR_KIND_MAX];    /* "leaf" | "relay" | "root" */
    char     id[WR_ID_MAX];
    char     version[32];
    uint32_t interval_ms;
} wr_hello_t;

enum { WR_NODE_UNKNOWN = 0, WR_NODE_UP = 1, WR_NODE_DOWN = 2 };
#define WR_NODE_STATE_MAX 2
const char *wr_node_state_name(int state);   /* "unknown" | "up" | "down" */

typedef struct {
    char    name[WR_NODE_NAME_MAX];   /* "name@host" */
    uint8_t state;                    /* WR_NODE_... */
    int64_t since_ms;                 /* wall ms of the last state change */
    char    leaf[WR_ID_MAX];          /* the leaf that owns it */
} wr_node_entry_t;

/* One metric's rollup. sketch and topk may be NULL (none: an old peer, or a merge that had
 * a part without one). In a decoded message they belong to the message (freed by
 * wr_state_msg_clear); in a message the caller builds, to the caller (wr_rollup_builder_fill
 * lends the builder's). Copying an entry by value copies the pointers, not what they own. */
typedef struct {
    char         metric[WR_METRIC_NAME_MAX];
    wr_agg_t     agg;
    wr_sketch_t *sketch;
    wr_topk_t   *topk;
} wr_rollup_entry_t;

/* One tier of a subtree, flattened in pre-order; parent is the index of its parent in the
 * same array, or -1 for the subtree's top. */
typedef struct {
    char     id[WR_ID_MAX];
    char     kind[WR_KIND_MAX];
    int32_t  parent;
    uint8_t  up;
    uint32_t nodes_total;
    uint32_t nodes_up;
    double   samples_per_s;
    /* the tier's own links (to children and parents, summed), per second; 0 if not known */
    double   frames_in_per_s, frames_out_per_s, bytes_in_per_s, bytes_out_per_s;
} wr_tier_entry_t;

typedef struct {
    uint32_t           interval_ms;
    int64_t            at_ms;        /* wall ms the state describes */
    size_t             n_nodes;
    wr_node_entry_t   *nodes;
    size_t             n_rollups;
    wr_rollup_entry_t *rollups;
    size_t             n_tiers;
    wr_tier_entry_t   *tiers;
    /* census summary bytes (wr_census.h), NULL/0 = absent. Encode: the caller's. Decode:
     * borrowed from the decoder, valid until its next wr_decoder_decode (not freed by clear). */
    const void        *census;
    size_t             census_len;
} wr_state_msg_t;

/* Frees the arrays of a decoded (or caller-built, malloc'd) state message, and the sketch and
 * topk of every rollup entry, and zeroes it. */
void wr_state_msg_clear(wr_state_msg_t *msg);

/* ACK of the sender's outbox events up to (epoch, seq), cumulative within that epoch
 * (epoch 0: absent, for acks of frames that are not outbox events). */
typedef struct { uint64_t seq; uint64_t epoch; } wr_ack_t;

/* Borrowed strings: for decode they point into the decoder and stay valid until the next
 * wr_decoder_decode() on the same decoder; for encode they are the caller's. Not NUL-terminated
 * on decode: use the _len fields. */
typedef struct {
    uint64_t    qid;
    const char *node;  size_t node_len;
    const char *kind;  size_t kind_len;
    const char *args;  size_t args_len;   /* JSON text, may be empty */
} wr_query_t;

typedef struct {
    uint64_t    qid;
    int32_t     status;                    /* 0 or a WR_E... code */
    const char *error;  size_t error_len;
    const char *result; size_t result_len; /* JSON text */
} wr_reply_t;

typedef struct {
    const char *cmd;   size_t cmd_len;
    const char *args;  size_t args_len;
} wr_command_t;

/* ---- encoding --------------------------------------------------------------------- */

typedef struct wr_encoder wr_encoder_t;   /* a reusable output buffer */

wr_encoder_t *wr_encoder_new(void);
void          wr_encoder_destroy(wr_encoder_t **enc);
/* The last encoded frame; valid until the next encode on this encoder. */
const void   *wr_encoder_data(const wr_encoder_t *enc);
size_t        wr_encoder_size(const wr_encoder_t *enc);

/* Each encodes one whole frame (envelope + body), replacing the encoder's previous content.
 * env->type must match the function (SNAPSHOT or DELTA for wr_encode_state).
 * Return 0, WR_EINVAL (bad argument: wrong type, string over its cap) or WR_ENOMEM. */
int wr_encode_hello(wr_encoder_t *enc, const wr_envelope_t *env, const wr_hello_t *body);
int wr_encode_heartbeat(wr_encoder_t *enc, const wr_envelope_t *env);
int wr_encode_state(wr_encoder_t *enc, const wr_envelope_t *env, const wr_state_msg_t *body);
int wr_encode_ack(wr_encoder_t *enc, const wr_envelope_t *env, const wr_ack_t *body);
int wr_encode_query(wr_encoder_t *enc, const wr_envelope_t *env, const wr_query_t *body);
int wr_encode_reply(wr_encoder_t *enc, const wr_envelope_t *env, const wr_reply_t *body);
int wr_encode_command(wr_encoder_t *enc, const wr_envelope_t *env, const wr_command_t *body);

/* ---- decoding --------------------------------------------------------------------- */

typedef struct wr_decoder wr_decoder_t;   /* reusable: holds the last frame's objects */

/* max_frame: frames larger than this are rejected (0 = WR_WIRE_DEFAULT_MAX_FRAME). */
wr_decoder_t *wr_decoder_new(size_t max_frame);
void          wr_decoder_destroy(wr_decoder_t **dec);

/* Decodes the envelope of one frame (and validates the whole frame structurally).
 * Returns 0, or WR_EPROTO / WR_ETOOBIG / WR_EUNSUPPORTED (version or type) with a reason in
 * why ("seq: expected unsigned integer", "frame of 40000000 bytes over cap 33554432", ...).
 * The body is kept in the decoder for one of the body decoders below. */
int wr_decoder_decode(wr_decoder_t *dec, const void *buf, size_t len, wr_envelope_t *env,
                      char *why, size_t whylen);

/* Body decoders for the last decoded frame; each checks the frame's type. Return 0 or
 * WR_EPROTO / WR_ETOOBIG / WR_EINVAL with a reason in why. */
int wr_decode_hello(wr_decoder_t *dec, wr_hello_t *out, char *why, size_t whylen);
/* Allocates the arrays of *out (free with wr_state_msg_clear, also after an error).
 * Caps: max_nodes nodes (0 = 1,000,000), 4096 rollups, 100,000 tiers, the sketch and top-K
 * caps of the schema above; node names must be
 * non-empty and under WR_NODE_NAME_MAX, metric names valid (wr_metric_name_valid), states
 * <= WR_NODE_STATE_MAX, tier parents -1 or a smaller index than their own. */
int wr_decode_state(wr_decoder_t *dec, size_t max_nodes, wr_state_msg_t *out, char *why, size_t whylen);
int wr_decode_ack(wr_decoder_t *dec, wr_ack_t *out, char *why, size_t whylen);
int wr_decode_query(wr_decoder_t *dec, wr_query_t *out, char *why, size_t whylen);
int wr_decode_reply(wr_decoder_t *dec, wr_reply_t *out, char *why, size_t whylen);
int wr_decode_command(wr_decoder_t *dec, wr_command_t *out, char *why, size_t whylen);

/* Structural pre-scan alone (used by the decoder; exposed for tests and fuzzing):
 * returns 0 if buf holds exactly one well-formed msgpack object within the caps above,
 * else WR_EPROTO / WR_ETOOBIG with a reason. */
int wr_codec_prescan(const void *buf, size_t len, size_t max_frame, char *why, size_t whylen);

#endif
