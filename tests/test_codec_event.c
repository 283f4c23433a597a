/* test_codec_event: single events (alarm, notification) and ALARM / NOTIF batch frames:
 * round trips, every malformed class with its reason, ACK with an epoch, and a mutation loop
 * over a valid frame that must never crash or read out of bounds (run under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <msgpack.h>
#include "wr_codec.h"
#include "wr_error.h"
#include "wr_event.h"

static wr_event_t *alarm_ev(void)
{
    wr_event_t *ev = calloc(1, sizeof *ev);
    ev->kind = WR_MSG_ALARM;
    snprintf(ev->id.origin, sizeof ev->id.origin, "leaf-3");
    ev->id.epoch = 1763890000123456ull;
    ev->id.seq = 42;
    assert_int_equal(wr_alarm_event_set(&ev->alarm, "a@h", "message_queue", "<0.77.0> my_server",
                                        WR_SEV_MAJOR, "queue 23,114 messages", 1763890000999, "leaf-3"), 0);
    return ev;
}

static wr_event_t *notif_ev(void)
{
    wr_event_t *ev = calloc(1, sizeof *ev);
    ev->kind = WR_MSG_NOTIF;
    snprintf(ev->id.origin, sizeof ev->id.origin, "leaf-9");
    ev->id.epoch = 5;
    ev->id.seq = UINT64_MAX;
    wr_notif_t *n = &ev->notif;
    snprintf(n->node, sizeof n->node, "b@h");
    snprintf(n->type, sizeof n->type, "shell_command");
    n->severity = WR_SEV_WARNING;
    n->at_ms = -5;
    snprintf(n->leaf, sizeof n->leaf, "leaf-9");
    snprintf(n->fields, sizeof n->fields, "{\"user\":\"ops\",\"text\":\"application:stop(ssl).\"}");
    return ev;
}

static void test_pack_roundtrip(void **state)
{
    (void)state;
    wr_encoder_t *enc = wr_encoder_new();
    wr_event_t *a = alarm_ev(), *n = notif_ev(), *got = calloc(1, sizeof *got);
    char why[256];

    assert_int_equal(wr_event_pack(enc, a), 0);
    assert_int_equal(wr_event_unpack(wr_encoder_data(enc), wr_encoder_size(enc), got, why, sizeof why), 0);
    assert_int_equal(got->kind, WR_MSG_ALARM);
    assert_string_equal(got->id.origin, "leaf-3");
    assert_true(got->id.epoch == a->id.epoch && got->id.seq == 42);
    assert_true(wr_alarm_key_equal(&got->alarm.key, &a->alarm.key));
    assert_int_equal(got->alarm.severity, WR_SEV_MAJOR);
    assert_string_equal(got->alarm.text, "queue 23,114 messages");
    assert_true(got->alarm.at_ms == 1763890000999);
    assert_string_equal(got->alarm.origin, "leaf-3");

    /* a clear is severity 0 */
    a->alarm.severity = WR_SEV_CLEARED;
    assert_int_equal(wr_event_pack(enc, a), 0);
    assert_int_equal(wr_event_unpack(wr_encoder_data(enc), wr_encoder_size(enc), got, why, sizeof why), 0);
    assert_int_equal(got->alarm.severity, WR_SEV_CLEARED);

    assert_int_equal(wr_event_pack(enc, n), 0);
    assert_int_equal(wr_event_unpack(wr_encoder_data(enc), wr_encoder_size(enc), got, why, sizeof why), 0);
    assert_int_equal(got->kind, WR_MSG_NOTIF);
    assert_true(got->id.seq == UINT64_MAX);
    assert_string_equal(got->notif.node, "b@h");
    assert_string_equal(got->notif.type, "shell_command");
    assert_int_equal(got->notif.severity, WR_SEV_WARNING);
    assert_true(got->notif.at_ms == -5);
    assert_string_equal(got->notif.fields, n->notif.fields);

    /* the encoder refuses what the decoder would reject */
    n->notif.severity = WR_SEV_CLEARED;
    assert_int_equal(wr_event_pack(enc, n), WR_EINVAL);
    n->notif.severity = WR_SEV_MINOR;
    snprintf(n->notif.fields, sizeof n->notif.fields, "[1]");
    assert_int_equal(wr_event_pack(enc, n), WR_EINVAL);
    n->id.origin[0] = '\0';
    assert_int_equal(wr_event_pack(enc, n), WR_EINVAL);
    a->alarm.severity = 9;
    assert_int_equal(wr_event_pack(enc, a), WR_EINVAL);
    a->kind = WR_MSG_HELLO;
    assert_int_equal(wr_event_pack(enc, a), WR_EINVAL);

    free(a); free(n); free(got);
    wr_encoder_destroy(&enc);
}

/* Packs an arbitrary msgpack array built by fn and expects unpack to fail naming `want`. */
typedef void (*build_fn)(msgpack_packer *pk);
static void expect_bad(build_fn fn, const char *want)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    fn(&pk);
    wr_event_t *got = calloc(1, sizeof *got);
    char why[256] = "";
    int rc = wr_event_unpack(sb.data, sb.size, got, why, sizeof why);
    if (rc == 0 || !strstr(why, want))
        fail_msg("expected an error naming '%s', got rc %d why '%s'", want, rc, why);
    free(got);
    msgpack_sbuffer_destroy(&sb);
}

static void str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static void head(msgpack_packer *pk, const char *kind, int n)
{
    msgpack_pack_array(pk, (size_t)n);
    str(pk, kind);
    str(pk, "leaf-1");
    msgpack_pack_uint64(pk, 1);
    msgpack_pack_uint64(pk, 2);
    msgpack_pack_int64(pk, 3);
}
static void b_not_array(msgpack_packer *pk) { msgpack_pack_int(pk, 5); }
static void nils(msgpack_packer *pk, int n) { while (n-- > 0) msgpack_pack_nil(pk); }
static void b_kind(msgpack_packer *pk) { head(pk, "X", 11); nils(pk, 6); }
static void b_short(msgpack_packer *pk) { head(pk, "A", 6); str(pk, "a@h"); }
static void b_sev(msgpack_packer *pk)
{
    head(pk, "A", 11); str(pk, "a@h"); str(pk, "t"); str(pk, ""); msgpack_pack_uint32(pk, 6); str(pk, "x"); str(pk, "o");
}
static void b_empty_scope(msgpack_packer *pk)
{
    head(pk, "A", 11); str(pk, ""); str(pk, "t"); str(pk, ""); msgpack_pack_uint32(pk, 3); str(pk, "x"); str(pk, "o");
}
static void b_long_type(msgpack_packer *pk)
{
    char t[200];
    memset(t, 'a', sizeof t - 1);
    t[sizeof t - 1] = '\0';
    head(pk, "A", 11); str(pk, "a@h"); str(pk, t); str(pk, ""); msgpack_pack_uint32(pk, 3); str(pk, "x"); str(pk, "o");
}
static void b_notif_cleared(msgpack_packer *pk)
{
    head(pk, "N", 10); str(pk, "a@h"); str(pk, "node_up"); msgpack_pack_uint32(pk, 0); str(pk, "l"); str(pk, "{}");
}
static void b_notif_fields(msgpack_packer *pk)
{
    head(pk, "N", 10); str(pk, "a@h"); str(pk, "node_up"); msgpack_pack_uint32(pk, 2); str(pk, "l"); str(pk, "\"x\"");
}
static void b_origin_type(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 11);
    str(pk, "A");
    msgpack_pack_int(pk, 7);
    nils(pk, 9);
}

static void test_unpack_malformed(void **state)
{
    (void)state;
    expect_bad(b_not_array, "expected a non-empty array");
    expect_bad(b_kind, "unknown event kind");
    expect_bad(b_short, "expected array of 11");
    expect_bad(b_sev, "severity");
    expect_bad(b_empty_scope, "scope");
    expect_bad(b_long_type, "type");
    expect_bad(b_notif_cleared, "cannot be \"cleared\"");
    expect_bad(b_notif_fields, "JSON object");
    expect_bad(b_origin_type, "origin");
    char why[128];
    wr_event_t *got = calloc(1, sizeof *got);
    assert_int_not_equal(wr_event_unpack("\x93\x01", 2, got, why, sizeof why), 0);   /* truncated */
    assert_true(strlen(why) > 0);
    assert_int_equal(wr_event_unpack(NULL, 0, got, why, sizeof why), WR_EINVAL);
    free(got);
}

static void test_batch_frames(void **state)
{
    (void)state;
    wr_encoder_t *ev_enc = wr_encoder_new(), *enc = wr_encoder_new();
    wr_decoder_t *dec = wr_decoder_new(0);
    wr_event_t *a = alarm_ev(), *n = notif_ev(), *got = calloc(1, sizeof *got);
    char why[256];
    wr_origin_t o;
    wr_origin_init(&o, "relay-1");
    wr_envelope_t env, genv;

    /* three alarms, packed once each, carried with their hop positions */
    void *bytes[3];
    size_t lens[3];
    wr_event_item_t items[3];
    for (int i = 0; i < 3; i++) {
        a->id.seq = 100 + (uint64_t)i;
        assert_int_equal(wr_event_pack(ev_enc, a), 0);
        lens[i] = wr_encoder_size(ev_enc);
        bytes[i] = malloc(lens[i]);
        memcpy(bytes[i], wr_encoder_data(ev_enc), lens[i]);
        /* the first without a floor (an old sender's 3-item entry), the others with one */
        items[i] = (wr_event_item_t){ 77, 10 + (uint64_t)i, bytes[i], lens[i], i ? 9 + (uint64_t)i : 0 };
    }
    wr_envelope_next(&o, WR_MSG_ALARM, &env);
    assert_int_equal(wr_encode_events(enc, &env, items, 3), 0);
    assert_int_equal(wr_decoder_decode(dec, wr_encoder_data(enc), wr_encoder_size(enc), &genv, why, sizeof why), 0);
    assert_int_equal(genv.type, WR_MSG_ALARM);
    size_t count = 0;
    assert_int_equal(wr_decode_events(dec, &count, why, sizeof why), 0);
    assert_int_equal(count, 3);
    for (size_t i = 0; i < count; i++) {
        wr_event_item_t it;
        assert_int_equal(wr_decode_event_at(dec, i, &it, got, why, sizeof why), 0);
        assert_true(it.hop_epoch == 77 && it.hop_seq == 10 + i);
        assert_true(it.floor == (i ? 9 + i : 0));
        assert_int_equal(it.len, lens[i]);
        assert_memory_equal(it.data, bytes[i], lens[i]);        /* forwardable as is */
        assert_true(got->id.seq == 100 + i);
        assert_string_equal(got->alarm.key.type, "message_queue");
    }
    assert_int_equal(wr_decode_event_at(dec, 3, NULL, got, why, sizeof why), WR_EINVAL);

    /* an alarm inside a NOTIF frame is refused with a reason */
    wr_envelope_next(&o, WR_MSG_NOTIF, &env);
    assert_int_equal(wr_encode_events(enc, &env, items, 1), 0);
    assert_int_equal(wr_decoder_decode(dec, wr_encoder_data(enc), wr_encoder_size(enc), &genv, why, sizeof why), 0);
    assert_int_equal(wr_decode_events(dec, &count, why, sizeof why), 0);
    assert_int_equal(wr_decode_event_at(dec, 0, NULL, got, why, sizeof why), WR_EPROTO);
    assert_non_null(strstr(why, "ALARM in a NOTIF frame"));

    /* a notification round trip */
    assert_int_equal(wr_event_pack(ev_enc, n), 0);
    wr_event_item_t ni = { 1, 1, wr_encoder_data(ev_enc), wr_encoder_size(ev_enc), 0 };
    assert_int_equal(wr_encode_events(enc, &env, &ni, 1), 0);
    assert_int_equal(wr_decoder_decode(dec, wr_encoder_data(enc), wr_encoder_size(enc), &genv, why, sizeof why), 0);
    assert_int_equal(wr_decode_event_at(dec, 0, NULL, got, why, sizeof why), 0);
    assert_string_equal(got->notif.type, "shell_command");

    /* encoder refusals: empty batch, wrong frame type, empty or oversized item */
    assert_int_equal(wr_encode_events(enc, &env, items, 0), WR_EINVAL);
    wr_envelope_next(&o, WR_MSG_DELTA, &env);
    assert_int_equal(wr_encode_events(enc, &env, items, 1), WR_EINVAL);
    wr_envelope_next(&o, WR_MSG_ALARM, &env);
    wr_event_item_t bad = { 1, 1, bytes[0], 0, 0 };
    assert_int_equal(wr_encode_events(enc, &env, &bad, 1), WR_EINVAL);
    wr_event_item_t high = { 1, 5, bytes[0], lens[0], 6 };      /* floor above the seq */
    assert_int_equal(wr_encode_events(enc, &env, &high, 1), WR_EINVAL);
    bad.len = WR_EVENT_BYTES_MAX + 1;
    assert_int_equal(wr_encode_events(enc, &env, &bad, 1), WR_EINVAL);

    /* a body whose item is not [uint, uint, bin] */
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 7);
    msgpack_pack_uint32(&pk, WR_WIRE_VERSION);
    msgpack_pack_int(&pk, WR_MSG_ALARM);
    str(&pk, "x");
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_int64(&pk, 1);
    msgpack_pack_map(&pk, 1);
    str(&pk, "events");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_uint64(&pk, 1);
    str(&pk, "not a bin");
    assert_int_equal(wr_decoder_decode(dec, sb.data, sb.size, &genv, why, sizeof why), 0);
    assert_int_equal(wr_decode_events(dec, &count, why, sizeof why), WR_EPROTO);
    assert_non_null(strstr(why, "expected bin"));
    msgpack_sbuffer_destroy(&sb);

    for (int i = 0; i < 3; i++)
        free(bytes[i]);
    free(a); free(n); free(got);
    wr_encoder_destroy(&ev_enc);
    wr_encoder_destroy(&enc);
    wr_decoder_destroy(&dec);
}

/* Every single-byte mutation and every truncation of a valid two-event frame: decoding and
 * unpacking either succeed or fail with a reason; never a crash (ASan watches reads). */
static void test_mutations(void **state)
{
    (void)state;
    wr_encoder_t *ev_enc = wr_encoder_new(), *enc = wr_encoder_new();
    wr_decoder_t *dec = wr_decoder_new(0);
    wr_event_t *a = alarm_ev(), *got = calloc(1, sizeof *got);
    char why[256];
    assert_int_equal(wr_event_pack(ev_enc, a), 0);
    wr_event_item_t it[2] = { { 1, 1, wr_encoder_data(ev_enc), wr_encoder_size(ev_enc), 0 },
                              { 1, 2, wr_encoder_data(ev_enc), wr_encoder_size(ev_enc), 0 } };
    wr_origin_t o;
    wr_origin_init(&o, "leaf-1");
    wr_envelope_t env;
    wr_envelope_next(&o, WR_MSG_ALARM, &env);
    assert_int_equal(wr_encode_events(enc, &env, it, 2), 0);
    size_t len = wr_encoder_size(enc);
    unsigned char *frame = malloc(len), *m = malloc(len);
    memcpy(frame, wr_encoder_data(enc), len);
    size_t ok = 0, bad = 0;
    static const unsigned char vals[] = { 0x00, 0x7f, 0x80, 0xc0, 0xc1, 0xc4, 0xd9, 0xdc, 0xdd, 0xff };
    for (size_t i = 0; i < len; i++) {
        for (size_t v = 0; v < sizeof vals; v++) {
            memcpy(m, frame, len);
            m[i] = vals[v];
            wr_envelope_t g;
            size_t count = 0;
            if (wr_decoder_decode(dec, m, len, &g, why, sizeof why) != 0 ||
                (g.type != WR_MSG_ALARM && g.type != WR_MSG_NOTIF) ||
                wr_decode_events(dec, &count, why, sizeof why) != 0) {
                bad++;
                continue;
            }
            for (size_t k = 0; k < count; k++) {
                if (wr_decode_event_at(dec, k, NULL, got, why, sizeof why) == 0)
                    ok++;
                else
                    bad++;
            }
        }
        wr_envelope_t g;
        if (wr_decoder_decode(dec, frame, i, &g, why, sizeof why) == 0)   /* truncations */
            fail_msg("a frame truncated to %zu of %zu bytes decoded", i, len);
    }
    assert_true(ok > 0 && bad > 0);
    free(frame); free(m); free(a); free(got);
    wr_encoder_destroy(&ev_enc);
    wr_encoder_destroy(&enc);
    wr_decoder_destroy(&dec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pack_roundtrip),
        cmocka_unit_test(test_unpack_malformed),
        cmocka_unit_test(test_batch_frames),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
