/* test_codec_util.h: helpers shared by the codec's test programs (tests/test_codec.c,
 * tests/test_codec_fuzz.c): canned envelopes, hand-built msgpack frames for what the encoder
 * refuses to produce, one valid frame per body type, and a body-decoder dispatcher. */
#ifndef TEST_CODEC_UTIL_H
#define TEST_CODEC_UTIL_H
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>
#include "wr_codec.h"
#include "wr_error.h"
#include "wr_time.h"

#define WHY 512

/* ---- helpers -------------------------------------------------------------------------- */

static inline wr_envelope_t env_of(int type)
{
    wr_envelope_t e;
    memset(&e, 0, sizeof(e));
    e.v = WR_WIRE_VERSION;
    e.type = type;
    strcpy(e.from, "relay-a");
    e.epoch = 1700000000123456ull;
    e.seq = 42;
    e.ts_ms = 1700000000123ll;
    return e;
}

static inline void check_env(const wr_envelope_t *got, const wr_envelope_t *want)
{
    assert_int_equal(got->v, want->v);
    assert_int_equal(got->type, want->type);
    assert_string_equal(got->from, want->from);
    assert_true(got->epoch == want->epoch);
    assert_true(got->seq == want->seq);
    assert_true(got->ts_ms == want->ts_ms);
}

static inline void fill(char *dst, char c, size_t n)
{
    memset(dst, c, n);
    dst[n] = '\0';
}

/* Hand-built frames, for what the encoder refuses to produce. */
typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer  pk;
} raw_t;

static inline void raw_init(raw_t *r)
{
    msgpack_sbuffer_init(&r->sb);
    msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
}

static inline void raw_free(raw_t *r)
{
    msgpack_sbuffer_destroy(&r->sb);
}

static inline void raw_strn(raw_t *r, const char *s, size_t n)
{
    msgpack_pack_str(&r->pk, n);
    msgpack_pack_str_body(&r->pk, s, n);
}

static inline void raw_str(raw_t *r, const char *s)
{
    raw_strn(r, s, strlen(s));
}

/* Packs the array header and the six envelope items before the body. */
static inline void raw_env(raw_t *r, int type)
{
    msgpack_pack_array(&r->pk, 7);
    msgpack_pack_uint32(&r->pk, WR_WIRE_VERSION);
    msgpack_pack_int(&r->pk, type);
    raw_str(r, "leaf-1");
    msgpack_pack_uint64(&r->pk, 7);
    msgpack_pack_uint64(&r->pk, 8);
    msgpack_pack_int64(&r->pk, 9);
}

/* Runs the body decoder for type on the decoder's last frame. */
static inline int decode_body(wr_decoder_t *dec, int type, char *why)
{
    wr_hello_t h;
    wr_state_msg_t s;
    wr_ack_t a;
    wr_query_t q;
    wr_reply_t rp;
    wr_command_t c;
    int rc;
    switch (type) {
    case WR_MSG_HELLO:   return wr_decode_hello(dec, &h, why, WHY);
    case WR_MSG_SNAPSHOT:
    case WR_MSG_DELTA:
        rc = wr_decode_state(dec, 0, &s, why, WHY);
        wr_state_msg_clear(&s);
        return rc;
    case WR_MSG_ACK:     return wr_decode_ack(dec, &a, why, WHY);
    case WR_MSG_QUERY:   return wr_decode_query(dec, &q, why, WHY);
    case WR_MSG_REPLY:   return wr_decode_reply(dec, &rp, why, WHY);
    case WR_MSG_COMMAND: return wr_decode_command(dec, &c, why, WHY);
    default:             return 0;
    }
}

/* Decodes r's bytes (envelope, then body); returns the first error. */
static inline int decode_raw(raw_t *r, int type, char *why)
{
    wr_decoder_t *dec = wr_decoder_new(0);
    wr_envelope_t env;
    assert_non_null(dec);
    why[0] = '\0';
    int rc = wr_decoder_decode(dec, r->sb.data, r->sb.size, &env, why, WHY);
    if (rc == 0)
        rc = decode_body(dec, type, why);
    wr_decoder_destroy(&dec);
    assert_null(dec);
    return rc;
}

#define EXPECT_FAIL(rc, code, needle) do {                                              \
        assert_int_equal((rc), (code));                                                 \
        if (!strstr(why, (needle)))                                                     \
            fail_msg("reason \"%s\" lacks \"%s\"", why, (needle));                      \
    } while (0)

/* A few valid frames (one per body type) for the prefix and fuzz tests. */
static inline size_t valid_frames(wr_encoder_t *enc, uint8_t frames[][1024], size_t *lens)
{
    static wr_node_entry_t n[2] = { { "a@h", 1, 5, "leaf-1" }, { "b@h", 2, -5, "leaf-2" } };
    static wr_rollup_entry_t ro[1] = { { "process.count", { 2, 30, 10, 20 }, NULL, NULL } };
    static wr_tier_entry_t t[2] = { { "r", "relay", -1, 1, 2, 1, 3.5, 0, 0, 0, 0 },
                                    { "l", "leaf", 0, 0, 2, 1, 0.5, 0, 0, 0, 0 } };
    wr_state_msg_t s = { 1000, 77, 2, n, 1, ro, 2, t, NULL, 0 };
    wr_hello_t h = { "leaf", "leaf-1", "0.1.0", 1000 };
    wr_ack_t a = { 9, 0 };
    wr_query_t q = { 3, "a@h", 3, "processes", 9, "{\"n\":5}", 7 };
    wr_reply_t r = { 3, -6, "gone", 4, "{}", 2 };
    wr_command_t c = { "reload", 6, "{}", 2 };
    size_t k = 0;
    wr_envelope_t e;
#define KEEP() do { lens[k] = wr_encoder_size(enc); assert_true(lens[k] <= 1024);   \
                    memcpy(frames[k++], wr_encoder_data(enc), wr_encoder_size(enc)); } while (0)
    e = env_of(WR_MSG_HELLO);     assert_int_equal(wr_encode_hello(enc, &e, &h), 0); KEEP();
    e = env_of(WR_MSG_HEARTBEAT); assert_int_equal(wr_encode_heartbeat(enc, &e), 0); KEEP();
    e = env_of(WR_MSG_SNAPSHOT);  assert_int_equal(wr_encode_state(enc, &e, &s), 0); KEEP();
    e = env_of(WR_MSG_DELTA);     assert_int_equal(wr_encode_state(enc, &e, &s), 0); KEEP();
    e = env_of(WR_MSG_ACK);       assert_int_equal(wr_encode_ack(enc, &e, &a), 0); KEEP();
    e = env_of(WR_MSG_QUERY);     assert_int_equal(wr_encode_query(enc, &e, &q), 0); KEEP();
    e = env_of(WR_MSG_REPLY);     assert_int_equal(wr_encode_reply(enc, &e, &r), 0); KEEP();
    e = env_of(WR_MSG_COMMAND);   assert_int_equal(wr_encode_command(enc, &e, &c), 0); KEEP();
#undef KEEP
    return k;
}

#endif
