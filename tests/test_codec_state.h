/* test_codec_state.h: a SNAPSHOT / DELTA body round trip shared by the codec's test programs
 * (tests/test_codec_census.c, tests/test_codec_rollup.c); builds on test_codec_util.h.
 * Include it after <cmocka.h>. */
#ifndef TEST_CODEC_STATE_H
#define TEST_CODEC_STATE_H
#include "test_codec_util.h"

/* Encodes s as a DELTA (envelope env_of) and decodes it with dec into *g (the caller clears
 * it with wr_state_msg_clear); fails the test when either step fails. */
static inline void state_roundtrip(wr_decoder_t *dec, const wr_state_msg_t *s, wr_state_msg_t *g)
{
    char why[WHY];
    wr_encoder_t *enc = wr_encoder_new();
    wr_envelope_t e = env_of(WR_MSG_DELTA), got;
    assert_int_equal(wr_encode_state(enc, &e, s), 0);
    assert_int_equal(wr_decoder_decode(dec, wr_encoder_data(enc), wr_encoder_size(enc), &got, why, WHY), 0);
    if (wr_decode_state(dec, 0, g, why, WHY) != 0)
        fail_msg("decode: %s", why);
    wr_encoder_destroy(&enc);
}

#endif
