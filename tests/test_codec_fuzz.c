/* test_codec_fuzz: the codec against hostile frames: every truncation of valid frames, bad
 * node/rollup/tier entries, the pre-scan's limits (lying lengths, depth, object count, string
 * size, frame size, trailing bytes, 0xc1), every msgpack format byte, and a deterministic fuzz
 * loop of 200,000 seeded mutations that must never crash, leak, or fail without a reason.
 * Round trips and envelope/body-key errors are in test_codec.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "test_codec_util.h"

static void test_truncated_every_prefix(void **state)
{
    (void)state;
    static uint8_t frames[8][1024];
    size_t lens[8];
    char why[WHY];
    wr_encoder_t *enc = wr_encoder_new();
    wr_decoder_t *dec = wr_decoder_new(0);
    wr_envelope_t env;
    size_t nf = valid_frames(enc, frames, lens);
    for (size_t f = 0; f < nf; f++) {
        assert_int_equal(wr_decoder_decode(dec, frames[f], lens[f], &env, why, WHY), 0);
        assert_int_equal(decode_body(dec, env.type, why), 0);
        for (size_t len = 0; len < lens[f]; len++) {
            why[0] = '\0';
            assert_int_equal(wr_codec_prescan(frames[f], len, 0, why, WHY), WR_EPROTO);
            why[0] = '\0';
            assert_int_equal(wr_decoder_decode(dec, frames[f], len, &env, why, WHY), WR_EPROTO);
            if (!strstr(why, "truncated") && !strstr(why, "claims") && !strstr(why, "empty"))
                fail_msg("prefix %zu of frame %zu: reason \"%s\"", len, f, why);
            /* A failed decode leaves nothing for the body decoders. */
            EXPECT_FAIL(decode_body(dec, WR_MSG_HELLO, why), WR_EINVAL, "no decoded frame");
        }
    }
    wr_encoder_destroy(&enc);
    wr_decoder_destroy(&dec);
}
/* ---- bad entries of SNAPSHOT / DELTA ------------------------------------------------- */

static void pk_node(raw_t *r, const char *name, size_t nlen, int state, const char *leaf)
{
    msgpack_pack_array(&r->pk, 4);
    raw_strn(r, name, nlen);
    if (state < 0)
        raw_str(r, "up");
    else
        msgpack_pack_uint32(&r->pk, (uint32_t)state);
    msgpack_pack_int64(&r->pk, 1);
    raw_str(r, leaf);
}

/* A DELTA whose nodes, rollups and tiers are packed by the callbacks (NULL: empty array). */
static void state_frame(raw_t *r, void (*nodes)(raw_t *), void (*rollups)(raw_t *),
                        void (*tiers)(raw_t *))
{
    raw_env(r, WR_MSG_DELTA);
    msgpack_pack_map(&r->pk, 4);
    raw_str(r, "at");
    msgpack_pack_int64(&r->pk, 5);
    raw_str(r, "nodes");
    if (nodes) nodes(r); else msgpack_pack_array(&r->pk, 0);
    raw_str(r, "rollups");
    if (rollups) rollups(r); else msgpack_pack_array(&r->pk, 0);
    raw_str(r, "tiers");
    if (tiers) tiers(r); else msgpack_pack_array(&r->pk, 0);
}

static void n_empty12(raw_t *r)
{
    msgpack_pack_array(&r->pk, 13);
    for (int i = 0; i < 12; i++)
        pk_node(r, "a@h", 3, 1, "leaf-1");
    pk_node(r, "", 0, 1, "leaf-1");
}
static void n_long(raw_t *r)
{
    char s[WR_NODE_NAME_MAX + 1];
    fill(s, 'n', WR_NODE_NAME_MAX);
    msgpack_pack_array(&r->pk, 1);
    pk_node(r, s, WR_NODE_NAME_MAX, 1, "leaf-1");
}
static void n_nul(raw_t *r)    { msgpack_pack_array(&r->pk, 1); pk_node(r, "a\0h", 3, 1, "l"); }
static void n_state3(raw_t *r) { msgpack_pack_array(&r->pk, 1); pk_node(r, "a@h", 3, 3, "l"); }
static void n_statestr(raw_t *r) { msgpack_pack_array(&r->pk, 1); pk_node(r, "a@h", 3, -1, "l"); }
static void n_leafempty(raw_t *r) { msgpack_pack_array(&r->pk, 1); pk_node(r, "a@h", 3, 1, ""); }
static void n_leaflong(raw_t *r)
{
    char s[WR_ID_MAX + 1];
    fill(s, 'l', WR_ID_MAX);
    msgpack_pack_array(&r->pk, 1);
    pk_node(r, "a@h", 3, 1, s);
}
static void n_arity3(raw_t *r)
{
    msgpack_pack_array(&r->pk, 1);
    msgpack_pack_array(&r->pk, 3);
    raw_str(r, "a@h");
    msgpack_pack_uint32(&r->pk, 1);
    msgpack_pack_int(&r->pk, 1);
}
static void n_entrymap(raw_t *r) { msgpack_pack_array(&r->pk, 1); msgpack_pack_map(&r->pk, 0); }
static void n_map(raw_t *r)      { msgpack_pack_map(&r->pk, 0); }

static void pk_rollup(raw_t *r, const char *metric, double sum, int sum_as_str)
{
    msgpack_pack_array(&r->pk, 5);
    raw_str(r, metric);
    msgpack_pack_uint32(&r->pk, 3);
    if (sum_as_str)
        raw_str(r, "1");
    else
        msgpack_pack_double(&r->pk, sum);
    msgpack_pack_int(&r->pk, -4);      /* ints are accepted where floats are expected */
    msgpack_pack_float(&r->pk, 2.5f);
}
static void r_badname(raw_t *r) { msgpack_pack_array(&r->pk, 1); pk_rollup(r, "Bad.Name", 1, 0); }
static void r_dots(raw_t *r)    { msgpack_pack_array(&r->pk, 1); pk_rollup(r, "a..b", 1, 0); }
static void r_long(raw_t *r)
{
    char s[WR_METRIC_NAME_MAX + 1];
    fill(s, 'm', WR_METRIC_NAME_MAX);
    msgpack_pack_array(&r->pk, 1);
    pk_rollup(r, s, 1, 0);
}
static void r_nan(raw_t *r)     { msgpack_pack_array(&r->pk, 1); pk_rollup(r, "a.b", NAN, 0); }
static void r_str(raw_t *r)     { msgpack_pack_array(&r->pk, 1); pk_rollup(r, "a.b", 1, 1); }
static void r_good(raw_t *r)    { msgpack_pack_array(&r->pk, 1); pk_rollup(r, "a.b", 7, 0); }
static void r_4097(raw_t *r)
{
    msgpack_pack_array(&r->pk, 4097);
    for (int i = 0; i < 4097; i++)
        pk_rollup(r, "a.b", 1, 0);
}

static void pk_tier(raw_t *r, const char *id, int64_t parent, int up_as_int, double sps)
{
    msgpack_pack_array(&r->pk, 7);
    raw_str(r, id);
    raw_str(r, "relay");
    msgpack_pack_int64(&r->pk, parent);
    if (up_as_int)
        msgpack_pack_int(&r->pk, 1);
    else
        msgpack_pack_true(&r->pk);
    msgpack_pack_uint32(&r->pk, 10);
    msgpack_pack_uint32(&r->pk, 9);
    msgpack_pack_double(&r->pk, sps);
}
static void t_order(raw_t *r)
{
    msgpack_pack_array(&r->pk, 3);
    pk_tier(r, "a", -1, 0, 1);
    pk_tier(r, "b", 0, 0, 1);
    pk_tier(r, "c", 2, 0, 1);
}
static void t_minus2(raw_t *r) { msgpack_pack_array(&r->pk, 1); pk_tier(r, "a", -2, 0, 1); }
static void t_upint(raw_t *r)  { msgpack_pack_array(&r->pk, 1); pk_tier(r, "a", -1, 1, 1); }
static void t_noid(raw_t *r)   { msgpack_pack_array(&r->pk, 1); pk_tier(r, "", -1, 0, 1); }
static void t_nan(raw_t *r)    { msgpack_pack_array(&r->pk, 1); pk_tier(r, "a", -1, 0, NAN); }
static void t_many(raw_t *r)
{
    msgpack_pack_array(&r->pk, 100001);
    for (int i = 0; i < 100001; i++)
        msgpack_pack_nil(&r->pk);
}

static void test_bad_entries(void **state)
{
    (void)state;
    static const struct {
        void (*n)(raw_t *), (*ro)(raw_t *), (*t)(raw_t *);
        int code;
        const char *needle;
    } cases[] = {
        { n_empty12, NULL, NULL, WR_EPROTO, "DELTA nodes[12][0]: node name empty" },
        { n_long, NULL, NULL, WR_ETOOBIG, "DELTA nodes[0][0]: node name: 256 bytes over cap 255" },
        { n_nul, NULL, NULL, WR_EPROTO, "DELTA nodes[0][0]: node name: contains a NUL byte" },
        { n_state3, NULL, NULL, WR_EPROTO, "DELTA nodes[0][1]: node state: 3 out of range (max 2)" },
        { n_statestr, NULL, NULL, WR_EPROTO, "nodes[0][1]: node state: expected unsigned integer" },
        { n_leafempty, NULL, NULL, WR_EPROTO, "DELTA nodes[0][3]: leaf id empty" },
        { n_leaflong, NULL, NULL, WR_ETOOBIG, "DELTA nodes[0][3]: leaf id: 64 bytes over cap 63" },
        { n_arity3, NULL, NULL, WR_EPROTO, "DELTA nodes[0]: expected array of 4, got array of 3" },
        { n_entrymap, NULL, NULL, WR_EPROTO, "DELTA nodes[0]: expected array of 4, got map" },
        { n_map, NULL, NULL, WR_EPROTO, "DELTA nodes: expected array, got map" },
        { NULL, r_badname, NULL, WR_EPROTO, "DELTA rollups[0][0]: invalid metric name \"Bad.Name\"" },
        { NULL, r_dots, NULL, WR_EPROTO, "rollups[0][0]: invalid metric name" },
        { NULL, r_long, NULL, WR_ETOOBIG, "rollups[0][0]: metric name: 64 bytes over cap 63" },
        { NULL, r_nan, NULL, WR_EPROTO, "DELTA rollups[0][2]: sum: NaN" },
        { NULL, r_str, NULL, WR_EPROTO, "DELTA rollups[0][2]: sum: expected number, got str" },
        { NULL, r_4097, NULL, WR_ETOOBIG, "DELTA rollups: 4097 entries over cap 4096" },
        { NULL, NULL, t_order, WR_EPROTO, "DELTA tiers[2][2]: parent 2 is not -1 or an earlier" },
        { NULL, NULL, t_minus2, WR_EPROTO, "DELTA tiers[0][2]: parent: -2 out of range" },
        { NULL, NULL, t_upint, WR_EPROTO, "DELTA tiers[0][3]: up: expected bool" },
        { NULL, NULL, t_noid, WR_EPROTO, "DELTA tiers[0][0]: tier id empty" },
        { NULL, NULL, t_nan, WR_EPROTO, "DELTA tiers[0][6]: samples_per_s: NaN" },
        { NULL, NULL, t_many, WR_ETOOBIG, "DELTA tiers: 100001 entries over cap 100000" },
    };
    char why[WHY];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        raw_t r;
        raw_init(&r);
        state_frame(&r, cases[i].n, cases[i].ro, cases[i].t);
        EXPECT_FAIL(decode_raw(&r, WR_MSG_DELTA, why), cases[i].code, cases[i].needle);
        raw_free(&r);
    }
    /* Ints and float32 where floats are expected are fine. */
    raw_t r;
    wr_decoder_t *dec = wr_decoder_new(0);
    wr_envelope_t env;
    wr_state_msg_t s;
    raw_init(&r);
    state_frame(&r, NULL, r_good, NULL);
    assert_int_equal(wr_decoder_decode(dec, r.sb.data, r.sb.size, &env, why, WHY), 0);
    assert_int_equal(wr_decode_state(dec, 0, &s, why, WHY), 0);
    assert_int_equal(s.n_rollups, 1);
    assert_true(s.rollups[0].agg.sum == 7 && s.rollups[0].agg.min == -4);
    assert_true(s.rollups[0].agg.max == 2.5);
    wr_state_msg_clear(&s);
    raw_free(&r);
    wr_decoder_destroy(&dec);
}

/* Field values of HELLO / QUERY / REPLY over their caps or out of their sets. */
static void test_bad_fields(void **state)
{
    (void)state;
    char why[WHY], s64[65], s32[33], s256[257];
    fill(s64, 'i', 64);
    fill(s32, 'v', 32);
    fill(s256, 'n', 256);
    static const struct { int type; const char *k1, *k2, *k3; int code; const char *needle; } c[] = {
        { WR_MSG_HELLO, "banana", "x", "", WR_EPROTO, "HELLO kind: \"banana\" is not leaf" },
        { WR_MSG_HELLO, "leaf", "", "", WR_EPROTO, "HELLO id empty" },
        { WR_MSG_HELLO, "leaf", "@64", "", WR_ETOOBIG, "HELLO id: 64 bytes over cap 63" },
        { WR_MSG_HELLO, "leaf", "x", "@32", WR_ETOOBIG, "HELLO version: 32 bytes over cap 31" },
        { WR_MSG_QUERY, "@256", "k", "", WR_ETOOBIG, "QUERY node: 256 bytes over cap 255" },
        { WR_MSG_QUERY, "", "k", "", WR_EPROTO, "QUERY node empty" },
        { WR_MSG_QUERY, "a@h", "", "", WR_EPROTO, "QUERY kind empty" },
        { WR_MSG_COMMAND, "", "", "", WR_EPROTO, "COMMAND cmd empty" },
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        const char *v[3] = { c[i].k1, c[i].k2, c[i].k3 };
        for (int j = 0; j < 3; j++)
            v[j] = !strcmp(v[j], "@64") ? s64 : !strcmp(v[j], "@32") ? s32
                 : !strcmp(v[j], "@256") ? s256 : v[j];
        raw_t r;
        raw_init(&r);
        raw_env(&r, c[i].type);
        if (c[i].type == WR_MSG_HELLO) {
            msgpack_pack_map(&r.pk, 3);
            raw_str(&r, "kind"); raw_str(&r, v[0]);
            raw_str(&r, "id"); raw_str(&r, v[1]);
            raw_str(&r, "version"); raw_str(&r, v[2]);
        } else if (c[i].type == WR_MSG_QUERY) {
            msgpack_pack_map(&r.pk, 3);
            raw_str(&r, "qid"); msgpack_pack_uint32(&r.pk, 1);
            raw_str(&r, "node"); raw_str(&r, v[0]);
            raw_str(&r, "kind"); raw_str(&r, v[1]);
        } else {
            msgpack_pack_map(&r.pk, 1);
            raw_str(&r, "cmd"); raw_str(&r, v[0]);
        }
        EXPECT_FAIL(decode_raw(&r, c[i].type, why), c[i].code, c[i].needle);
        raw_free(&r);
    }
    /* Numbers out of range. */
    static const struct { int type; const char *key; int64_t val; int neg; const char *needle; } n[] = {
        { WR_MSG_HELLO, "interval_ms", 4294967296ll, 0, "HELLO interval_ms: 4294967296 out of range" },
        { WR_MSG_REPLY, "status", 1, 0, "REPLY status: 1 out of range" },
        { WR_MSG_REPLY, "status", -2147483649ll, 1, "REPLY status: -2147483649 out of range" },
        { WR_MSG_ACK, "seq", -1, 1, "ACK seq: expected unsigned integer, got negative" },
    };
    for (size_t i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
        raw_t r;
        raw_init(&r);
        raw_env(&r, n[i].type);
        msgpack_pack_map(&r.pk, 4);
        raw_str(&r, "kind"); raw_str(&r, "root");
        raw_str(&r, "id"); raw_str(&r, "root-a");
        raw_str(&r, n[i].type == WR_MSG_REPLY ? "qid" : "unused");
        msgpack_pack_uint32(&r.pk, 1);
        raw_str(&r, n[i].key);
        msgpack_pack_int64(&r.pk, n[i].val);
        EXPECT_FAIL(decode_raw(&r, n[i].type, why), WR_EPROTO, n[i].needle);
        raw_free(&r);
    }
}

/* ---- the pre-scan's limits ------------------------------------------------------------ */

/* Both the pre-scan alone and the decoder reject buf with code and a reason holding needle. */
static void expect_reject(const void *buf, size_t len, size_t max_frame, int code,
                          const char *needle)
{
    char why[WHY];
    wr_envelope_t env;
    why[0] = '\0';
    EXPECT_FAIL(wr_codec_prescan(buf, len, max_frame, why, WHY), code, needle);
    wr_decoder_t *dec = wr_decoder_new(max_frame);
    why[0] = '\0';
    EXPECT_FAIL(wr_decoder_decode(dec, buf, len, &env, why, WHY), code, needle);
    wr_decoder_destroy(&dec);
}

static void test_prescan_limits(void **state)
{
    (void)state;
    /* Containers and strings claiming 2^32-1 items in a 10-byte frame: rejected by length
     * before msgpack-c could allocate 2^32 objects. */
    const uint8_t arr32[10] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0 };
    expect_reject(arr32, 10, 0, WR_EPROTO, "array32 at offset 0 claims 4294967295 elements");
    const uint8_t map32[10] = { 0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0 };
    expect_reject(map32, 10, 0, WR_EPROTO, "map32 at offset 0 claims 4294967295 pairs");
    const uint8_t str32[10] = { 0xdb, 0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c', 'd', 'e' };
    expect_reject(str32, 10, 0, WR_EPROTO, "truncated: str32 at offset 0 needs 4294967295");
    const uint8_t inner[10] = { 0x92, 0xc0, 0xdc, 0xff, 0xff, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0 };
    expect_reject(inner, 10, 0, WR_EPROTO, "array16 at offset 2 claims 65535 elements");

    /* Nesting: 16 levels pass the pre-scan, 17 and 1000 do not. */
    uint8_t deep[1001];
    memset(deep, 0x91, 1000);
    deep[16] = 0xc0;
    char why[WHY];
    assert_int_equal(wr_codec_prescan(deep, 17, 0, why, WHY), 0);
    deep[16] = 0x91;
    deep[17] = 0xc0;
    expect_reject(deep, 18, 0, WR_ETOOBIG, "nesting deeper than 16 at offset 16");
    memset(deep, 0x91, 1000);
    deep[1000] = 0xc0;
    expect_reject(deep, 1001, 0, WR_ETOOBIG, "nesting deeper than 16");

    /* Frame size: the decoder's cap, and the default one. */
    wr_encoder_t *enc = wr_encoder_new();
    wr_envelope_t e = env_of(WR_MSG_COMMAND);
    char args[200];
    fill(args, 'a', 150);
    wr_command_t c = { "x", 1, args, strlen(args) };
    assert_int_equal(wr_encode_command(enc, &e, &c), 0);
    size_t n = wr_encoder_size(enc);
    char want[96];
    snprintf(want, sizeof(want), "frame of %zu bytes over cap %zu", n, n - 1);
    expect_reject(wr_encoder_data(enc), n, n - 1, WR_ETOOBIG, want);
    assert_int_equal(wr_codec_prescan(wr_encoder_data(enc), n, n, why, WHY), 0);
    size_t huge = WR_WIRE_DEFAULT_MAX_FRAME + 1;
    uint8_t *big = calloc(1, huge);
    assert_non_null(big);
    expect_reject(big, huge, 0, WR_ETOOBIG, "frame of 33554433 bytes over cap 33554432");

    /* One string over WR_WIRE_MAX_STR inside a frame under the frame cap. */
    size_t slen = WR_WIRE_MAX_STR + 1;
    big[0] = 0xdb;
    big[1] = (uint8_t)(slen >> 24); big[2] = (uint8_t)(slen >> 16);
    big[3] = (uint8_t)(slen >> 8);  big[4] = (uint8_t)slen;
    expect_reject(big, 5 + slen, 0, WR_ETOOBIG, "str32 of 4194305 bytes at offset 0 over cap");
    big[0] = 0xc6;   /* bin32, same length */
    expect_reject(big, 5 + slen, 0, WR_ETOOBIG, "bin32 of 4194305 bytes");

    /* More objects than WR_WIRE_MAX_OBJECTS (all nils). */
    size_t nobj = WR_WIRE_MAX_OBJECTS;    /* + the array itself = one too many */
    memset(big, 0xc0, 5 + nobj);
    big[0] = 0xdd;
    big[1] = (uint8_t)(nobj >> 24); big[2] = (uint8_t)(nobj >> 16);
    big[3] = (uint8_t)(nobj >> 8);  big[4] = (uint8_t)nobj;
    expect_reject(big, 5 + nobj, 0, WR_ETOOBIG, "more than 8388608 objects");
    nobj--;                               /* exactly at the cap: fine */
    big[1] = (uint8_t)(nobj >> 24); big[2] = (uint8_t)(nobj >> 16);
    big[3] = (uint8_t)(nobj >> 8);  big[4] = (uint8_t)nobj;
    assert_int_equal(wr_codec_prescan(big, 5 + nobj, 0, why, WHY), 0);
    free(big);

    /* Trailing bytes, the invalid byte 0xc1, empty input. */
    const uint8_t *f = wr_encoder_data(enc);
    uint8_t tmp[512];
    memcpy(tmp, f, n);
    tmp[n] = 0xc0;
    expect_reject(tmp, n + 1, 0, WR_EPROTO, "trailing garbage: 1 bytes after the object");
    memcpy(tmp + n, f, n);
    expect_reject(tmp, 2 * n, 0, WR_EPROTO, "trailing garbage");
    tmp[0] = 0xc1;
    expect_reject(tmp, 1, 0, WR_EPROTO, "invalid msgpack byte 0xc1 at offset 0");
    memcpy(tmp, f, n);
    tmp[1] = 0xc1;                        /* the version */
    expect_reject(tmp, n, 0, WR_EPROTO, "invalid msgpack byte 0xc1 at offset 1");
    expect_reject(tmp, 0, 0, WR_EPROTO, "empty frame");
    expect_reject(NULL, 0, 0, WR_EPROTO, "empty frame");
    wr_encoder_destroy(&enc);
}

/* Every msgpack format, inside the unknown key of a HELLO body: the pre-scan and msgpack-c
 * must agree on its length, and every prefix must be rejected. */
static const uint8_t all_formats[] = {
    0xdc, 0x00, 39,                                         /* array16 of 39: */
    0x05, 0xff, 0xc0, 0xc2, 0xc3,                           /* fixint -fixint nil false true */
    0xcc, 1, 0xcd, 0, 1, 0xce, 0, 0, 0, 1, 0xcf, 0, 0, 0, 0, 0, 0, 0, 1,       /* uint8..64 */
    0xd0, 0xff, 0xd1, 0xff, 0xff, 0xd2, 0xff, 0xff, 0xff, 0xff,                  /* int8..32 */
    0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,                        /* int64 */
    0xca, 0x3f, 0x80, 0, 0, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0,                 /* floats */
    0xa1, 'a', 0xd9, 1, 'b', 0xda, 0, 1, 'c', 0xdb, 0, 0, 0, 1, 'd',           /* strs */
    0xc4, 1, 0, 0xc5, 0, 1, 0, 0xc6, 0, 0, 0, 1, 0,                             /* bins */
    0xc7, 1, 5, 0, 0xc8, 0, 1, 5, 0, 0xc9, 0, 0, 0, 1, 5, 0,                    /* exts */
    0xd4, 5, 0, 0xd5, 5, 0, 0, 0xd6, 5, 0, 0, 0, 0,                             /* fixext */
    0xd7, 5, 0, 0, 0, 0, 0, 0, 0, 0,
    0xd8, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0x91, 0xc0, 0x81, 0xa1, 'k', 0xc0,                      /* fixarray fixmap */
    0xdd, 0, 0, 0, 1, 0xc0, 0xde, 0, 1, 0xa1, 'k', 0xc0,    /* array32 map16 */
    0xdf, 0, 0, 0, 1, 0xa1, 'k', 0xc0,                      /* map32 */
    0x90, 0x80, 0xdc, 0, 0, 0xdf, 0, 0, 0, 0,               /* empty containers */
};

static void test_all_formats(void **state)
{
    (void)state;
    char why[WHY];
    raw_t r;
    raw_init(&r);
    raw_env(&r, WR_MSG_HELLO);
    msgpack_pack_map(&r.pk, 3);
    raw_str(&r, "kind"); raw_str(&r, "leaf");
    raw_str(&r, "x");
    msgpack_sbuffer_write(&r.sb, (const char *)all_formats, sizeof(all_formats));
    raw_str(&r, "id"); raw_str(&r, "leaf-9");
    assert_int_equal(wr_codec_prescan(all_formats, sizeof(all_formats), 0, why, WHY), 0);
    assert_int_equal(wr_codec_prescan(r.sb.data, r.sb.size, 0, why, WHY), 0);
    wr_decoder_t *dec = wr_decoder_new(0);
    wr_envelope_t env;
    wr_hello_t h;
    assert_int_equal(wr_decoder_decode(dec, r.sb.data, r.sb.size, &env, why, WHY), 0);
    assert_int_equal(wr_decode_hello(dec, &h, why, WHY), 0);
    assert_string_equal(h.id, "leaf-9");
    for (size_t len = 0; len < r.sb.size; len++)
        assert_int_equal(wr_decoder_decode(dec, r.sb.data, len, &env, why, WHY), WR_EPROTO);
    wr_decoder_destroy(&dec);
    raw_free(&r);
}

/* ---- fuzz ------------------------------------------------------------------------------- */

#define FUZZ_ITERS 200000
#define FUZZ_CAP   2048

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t xorshift(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static size_t rnd(size_t n) { return n ? (size_t)(xorshift() % n) : 0; }

static void mutate(uint8_t *b, size_t *len)
{
    static const uint8_t hot[] = { 0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1,
                                   0xc4, 0xc7, 0xca, 0xcb, 0xcf, 0xd3, 0xd8, 0xd9, 0xdb, 0xdc,
                                   0xdd, 0xde, 0xdf, 0xe0, 0xff };
    size_t n = *len, a, k;
    switch (rnd(8)) {
    case 0: if (n) b[rnd(n)] ^= (uint8_t)(1 + rnd(255)); break;
    case 1: if (n) b[rnd(n)] = hot[rnd(sizeof(hot))]; break;
    case 2: n = rnd(n + 1); break;                                       /* truncate */
    case 3:                                                              /* insert */
        k = 1 + rnd(8);
        if (n + k > FUZZ_CAP) break;
        a = rnd(n + 1);
        memmove(b + a + k, b + a, n - a);
        for (size_t i = 0; i < k; i++)
            b[a + i] = (uint8_t)xorshift();
        n += k;
        break;
    case 4:                                                              /* duplicate range */
        if (!n) break;
        a = rnd(n);
        k = 1 + rnd(n - a < 64 ? n - a : 64);
        if (n + k > FUZZ_CAP) break;
        {
            uint8_t tmp[64];
            size_t at = rnd(n + 1);
            memcpy(tmp, b + a, k);
            memmove(b + at + k, b + at, n - at);
            memcpy(b + at, tmp, k);
            n += k;
        }
        break;
    case 5:                                                              /* delete range */
        if (!n) break;
        a = rnd(n);
        k = 1 + rnd(n - a);
        memmove(b + a, b + a + k, n - a - k);
        n -= k;
        break;
    case 6:                                                              /* huge length */
        if (n >= 4) { a = rnd(n - 3); memset(b + a, 0xff, 4); }
        break;
    default: if (n) b[rnd(n)] = (uint8_t)xorshift(); break;
    }
    *len = n;
}

static void check_rc(int rc, const char *why, const char *what, size_t iter)
{
    if (rc > 0 || rc < WR_EUNSUPPORTED)
        fail_msg("iter %zu: %s returned %d", iter, what, rc);
    if (rc < 0 && why[0] == '\0')
        fail_msg("iter %zu: %s returned %d without a reason", iter, what, rc);
}

static void test_fuzz(void **state)
{
    (void)state;
    static uint8_t frames[9][1024];
    static uint8_t buf[FUZZ_CAP];
    size_t lens[9];
    char why[WHY];
    wr_encoder_t *enc = wr_encoder_new();
    wr_decoder_t *dec = wr_decoder_new(0);
    wr_envelope_t env;
    size_t nf = valid_frames(enc, frames, lens);
    memcpy(frames[nf], all_formats, sizeof(all_formats));
    lens[nf++] = sizeof(all_formats);
    size_t env_ok = 0, body_ok = 0, rejected = 0;
    for (size_t it = 0; it < FUZZ_ITERS; it++) {
        size_t f = it % nf, len = lens[f];
        memcpy(buf, frames[f], len);
        for (size_t m = 1 + rnd(4); m > 0; m--)
            mutate(buf, &len);
        why[0] = '\0';
        check_rc(wr_codec_prescan(buf, len, 0, why, WHY), why, "prescan", it);
        why[0] = '\0';
        int rc = wr_decoder_decode(dec, buf, len, &env, why, WHY);
        check_rc(rc, why, "decode", it);
        if (rc == 0) {
            env_ok++;
            assert_true(env.type >= 1 && env.type <= WR_MSG_TYPE_MAX);
            assert_true(strlen(env.from) > 0 && strlen(env.from) < WR_ID_MAX);
        } else {
            rejected++;
        }
        static const int types[] = { WR_MSG_HELLO, WR_MSG_SNAPSHOT, WR_MSG_ACK, WR_MSG_QUERY,
                                     WR_MSG_REPLY, WR_MSG_COMMAND };
        for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
            why[0] = '\0';
            int brc = decode_body(dec, types[t], why);
            check_rc(brc, why, wr_msg_type_name(types[t]), it);
            body_ok += brc == 0 && rc == 0;
        }
    }
    print_message("fuzz: %zu iterations, %zu envelopes decoded, %zu bodies decoded, "
                  "%zu rejected\n", (size_t)FUZZ_ITERS, env_ok, body_ok, rejected);
    /* The mutations reach both sides: some survive whole, many are rejected. */
    assert_true(env_ok > 1000);
    assert_true(body_ok > 1000);
    assert_true(rejected > 10000);
    wr_encoder_destroy(&enc);
    wr_decoder_destroy(&dec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncated_every_prefix),
        cmocka_unit_test(test_bad_entries),
        cmocka_unit_test(test_bad_fields),
        cmocka_unit_test(test_prescan_limits),
        cmocka_unit_test(test_all_formats),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
