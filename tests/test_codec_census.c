/* test_codec_census: the optional "census" bin of SNAPSHOT / DELTA bodies (core/wr_codec*.c):
 * round trip, absent when not set, old-style bodies without it, wrong type and empty bin
 * rejected with a reason, the encoder's size cap. The summary itself: test_census.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "test_codec_state.h"

static void roundtrip(const void *blob, size_t len, wr_state_msg_t *g, wr_decoder_t *dec)
{
    wr_state_msg_t s;
    memset(&s, 0, sizeof s);
    s.at_ms = 5;
    s.census = blob;
    s.census_len = len;
    state_roundtrip(dec, &s, g);
}

static void test_roundtrip(void **state)
{
    (void)state;
    wr_decoder_t *dec = wr_decoder_new(0);
    wr_state_msg_t g;
    const unsigned char blob[] = {0x92, 0x01, 0x90, 0x00, 0xff};
    roundtrip(blob, sizeof blob, &g, dec);
    assert_int_equal(g.census_len, sizeof blob);
    assert_memory_equal(g.census, blob, sizeof blob);
    assert_int_equal(g.at_ms, 5);
    wr_state_msg_clear(&g);
    roundtrip(NULL, 0, &g, dec);                 /* absent */
    assert_null(g.census);
    assert_int_equal(g.census_len, 0);
    wr_state_msg_clear(&g);
    wr_decoder_destroy(&dec);
}

static void test_encode_cap(void **state)
{
    (void)state;
    wr_encoder_t *enc = wr_encoder_new();
    wr_state_msg_t s;
    memset(&s, 0, sizeof s);
    static char big[1];
    s.census = big;
    s.census_len = (size_t)WR_CENSUS_WIRE_MAX + 1;
    wr_envelope_t e = env_of(WR_MSG_SNAPSHOT);
    assert_int_equal(wr_encode_state(enc, &e, &s), WR_EINVAL);
    wr_encoder_destroy(&enc);
}

/* A state body with census set by pack(). */
static int raw_state(void (*pack)(raw_t *), char *why)
{
    raw_t r;
    raw_init(&r);
    raw_env(&r, WR_MSG_DELTA);
    msgpack_pack_map(&r.pk, 5);
    raw_str(&r, "at");
    msgpack_pack_int64(&r.pk, 1);
    raw_str(&r, "nodes");
    msgpack_pack_array(&r.pk, 0);
    raw_str(&r, "rollups");
    msgpack_pack_array(&r.pk, 0);
    raw_str(&r, "tiers");
    msgpack_pack_array(&r.pk, 0);
    raw_str(&r, "census");
    pack(&r);
    int rc = decode_raw(&r, WR_MSG_DELTA, why);
    raw_free(&r);
    return rc;
}

static void p_int(raw_t *r) { msgpack_pack_int(&r->pk, 5); }
static void p_str(raw_t *r) { raw_str(r, "census"); }
static void p_empty(raw_t *r) { msgpack_pack_bin(&r->pk, 0); }
static void p_ok(raw_t *r) { msgpack_pack_bin(&r->pk, 2); msgpack_pack_bin_body(&r->pk, "ab", 2); }

static void test_malformed(void **state)
{
    (void)state;
    char why[WHY];
    EXPECT_FAIL(raw_state(p_int, why), WR_EPROTO, "census: expected binary");
    EXPECT_FAIL(raw_state(p_str, why), WR_EPROTO, "census: expected binary");
    EXPECT_FAIL(raw_state(p_empty, why), WR_ETOOBIG, "census: 0 bytes");
    assert_int_equal(raw_state(p_ok, why), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_encode_cap),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
