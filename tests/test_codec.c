/* test_codec: the wire codec (core/wr_codec*.c): round trips of every message type with
 * every field checked, the encoder's refusals, and malformed envelopes and body maps rejected
 * with the right code and a reason naming the field. Malformed entries, pre-scan limits and
 * the fuzz loop are in test_codec_fuzz.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "test_codec_util.h"

/* ---- names and origin ------------------------------------------------------------------ */

static void test_names(void **state)
{
    (void)state;
    const char *want[] = { "?", "HELLO", "SNAPSHOT", "DELTA", "ALARM", "NOTIF", "ACK",
                           "HEARTBEAT", "QUERY", "REPLY", "COMMAND", "?" };
    for (int t = 0; t <= 11; t++)
        assert_string_equal(wr_msg_type_name(t), want[t]);
    assert_string_equal(wr_msg_type_name(-5), "?");
    assert_string_equal(wr_node_state_name(WR_NODE_UNKNOWN), "unknown");
    assert_string_equal(wr_node_state_name(WR_NODE_UP), "up");
    assert_string_equal(wr_node_state_name(WR_NODE_DOWN), "down");
    assert_string_equal(wr_node_state_name(9), "unknown");
}

static void test_origin(void **state)
{
    (void)state;
    char longid[200];
    wr_origin_t o;
    wr_envelope_t e;
    fill(longid, 'x', 150);
    int64_t before = wr_wall_ms();
    wr_origin_init(&o, longid);
    assert_int_equal(strlen(o.id), WR_ID_MAX - 1);
    assert_true(o.epoch >= (uint64_t)before * 1000u);
    assert_true(o.epoch <= (uint64_t)wr_wall_ms() * 1000u + 1000u);
    assert_true(o.next_seq == 1);
    wr_origin_init(&o, "leaf-3");
    wr_envelope_next(&o, WR_MSG_ACK, &e);
    assert_int_equal(e.v, WR_WIRE_VERSION);
    assert_int_equal(e.type, WR_MSG_ACK);
    assert_string_equal(e.from, "leaf-3");
    assert_true(e.epoch == o.epoch);
    assert_true(e.seq == 1);
    assert_true(e.ts_ms >= before && e.ts_ms <= wr_wall_ms());
    wr_envelope_next(&o, WR_MSG_HEARTBEAT, &e);
    assert_true(e.seq == 2);
    assert_true(o.next_seq == 3);
}

/* ---- round trips ---------------------------------------------------------------------- */

static void test_roundtrip_hello_heartbeat_ack(void **state)
{
    (void)state;
    wr_encoder_t *enc = wr_encoder_new();
    wr_decoder_t *dec = wr_decoder_new(0);
    wr_envelope_t e = env_of(WR_MSG_HELLO), got;
    wr_hello_t h, hg;
    char why[WHY];
    memset(&h, 0, sizeof(h));
    strcpy(h.kind, "relay");
    fill(h.id, 'i', WR_ID_MAX - 1);
    fill(h.version, 'v', sizeof(h.version) - 1);
    h.interval_ms = UINT32_MAX;
    fill(e.from, 'f', WR_ID_MAX - 1);
    assert_int_equal(wr_encode_hello(enc, &e, &h), 0);
    assert_int_equal(wr_decoder_decode(dec, wr_encoder_data(enc), wr_encoder_size(enc), &got,
                                       why, WHY), 0);
    check_env(&got, &e);
    assert_int_equal(wr_decode_hello(dec, &hg, why, WHY), 0);
    assert_string_equal(hg.kind, "relay");
    assert_string_equal(hg.id, h.id);
    assert_string_equal(hg.version, h.version);
    assert_true(hg.interval_ms == UINT32_MAX);

    /* Optional keys absent/empty; the buffer is reused, not reallocated. */
    const void *data = wr_encoder_data(enc);
    strcpy(h.kind, "leaf");
    h.version[0] = '\0';
    h.interval_ms = 0;
    assert_int_equal(wr_encode_hello(enc, &e, &h), 0);
    assert_ptr_equal(wr_encoder_data(enc), data);
    assert_int_equal(wr_decoder_decode(dec, data, wr_encoder_size(enc), &got, why, WHY), 0);
    assert_int_equal(wr_decode_hello(dec, &hg, why, WHY), 0);
    assert_string_equal(hg.kind, "leaf");
    assert_string_equal(hg.version, "");
    assert_int_equal(hg.interval_ms, 0);

    e = env_of(WR_MSG_HEARTBEAT);
    e.ts_ms = -5;   /* ts is a signed int */
    assert_int_equal(wr_encode_heartbeat(enc, &e), 0);
    assert_ptr_equal(wr_encoder_data(enc), data);
    assert_int_equal(wr_decoder_decode(dec, data, wr_encoder_size(enc), &got, why, WHY), 0);
    check_env(&got, &e);
    /* A body decoder of another type refuses the frame. */
    EXPECT_FAIL(wr_decode_hello(dec, &hg, why, WHY), WR_EINVAL, "HEARTBEAT");

    e = env_of(WR_MSG_ACK);
    e.epoch = UINT64_MAX;
    e.seq = UINT64_MAX - 1;
    wr_ack_t a = { UINT64_MAX, 7 }, ag;
    assert_int_equal(wr_encode_ack(enc, &e, &a), 0);
    assert_int_equal(wr_decoder_decode(dec, data, wr_encoder_size(enc), &got, why, WHY), 0);
    check_env(&got, &e);
    assert_int_equal(wr_decode_ack(dec, &ag, why, WHY), 0);
    assert_true(ag.seq == UINT64_MAX);
    assert_true(ag.epoch == 7);
    wr_encoder_destroy(&enc);
    wr_decoder_destroy(&dec);
    assert_null(enc);
}

#define BIG_NODES 10000

static void test_roundtrip_state(void **state)
{
    (void)state;
    wr_encoder_t *enc = wr_encoder_new();
    wr_decoder_t *dec = wr_decoder_new(0);
    wr_envelope_t e = env_of(WR_MSG_SNAPSHOT), got;
    wr_state_msg_t s, g;
    char why[WHY];
    memset(&s, 0, sizeof(s));
    s.interval_ms = 1000;
    s.at_ms = 1700000001000ll;
    s.n_nodes = BIG_NODES;
    s.nodes = calloc(BIG_NODES, sizeof(*s.nodes));
    for (size_t i = 0; i < BIG_NODES; i++) {
        wr_node_entry_t *n = &s.nodes[i];
        if (i % 1000 == 0)
            fill(n->name, 'n', WR_NODE_NAME_MAX - 1);
        else
            snprintf(n->name, sizeof(n->name), "node%zu@host%zu", i, i / 7);
        n->state = (uint8_t)(i % 3);
        n->since_ms = 1700000000000ll + (int64_t)i - (i == 5 ? 1800000000000ll : 0);
        if (i == 1)
            fill(n->leaf, 'l', WR_ID_MAX - 1);
        else
            snprintf(n->leaf, sizeof(n->leaf), "leaf-%zu", i / 100);
    }
    wr_rollup_entry_t ro[3];
    memset(ro, 0, sizeof(ro));
    strcpy(ro[0].metric, "process.count");
    ro[0].agg = (wr_agg_t){ 10000, 1.5e9, 12, 900000 };
    fill(ro[1].metric, 'a', WR_METRIC_NAME_MAX - 1);
    ro[1].agg = (wr_agg_t){ 0, 0, 0, 0 };
    strcpy(ro[2].metric, "memory.total");
    ro[2].agg = (wr_agg_t){ UINT64_MAX, -2.25, -INFINITY, INFINITY };
    s.rollups = ro;
    s.n_rollups = 3;
    wr_tier_entry_t ti[4] = {
        { "relay-a", "relay", -1, 1, 10000, 6667, 22000.5, 40.5, 20.25, 81920, 1e6 },
        { "leaf-0", "leaf", 0, 1, 5000, 3334, 11000.25, 3, 2, 300, 2e5 },
        { "leaf-1", "leaf", 0, 0, 5000, 0, 0, 0, 0, 0, 0 },
        { "leaf-1b", "", 2, 1, UINT32_MAX, UINT32_MAX, 1e-9, 1e-9, 0, 0, 1e12 },
    };
    fill(ti[3].id, 't', WR_ID_MAX - 1);
    strcpy(ti[3].kind, "leaf");
    fill(ti[3].kind, 'k', WR_KIND_MAX - 1);
    s.tiers = ti;
    s.n_tiers = 4;

    assert_int_equal(wr_encode_state(enc, &e, &s), 0);
    assert_int_equal(wr_decoder_decode(dec, wr_encoder_data(enc), wr_encoder_size(enc), &got,
                                       why, WHY), 0);
    check_env(&got, &e);
    assert_int_equal(wr_decode_state(dec, 0, &g, why, WHY), 0);
    assert_int_equal(g.interval_ms, 1000);
    assert_true(g.at_ms == s.at_ms);
    assert_int_equal(g.n_nodes, BIG_NODES);
    for (size_t i = 0; i < BIG_NODES; i++) {
        assert_string_equal(g.nodes[i].name, s.nodes[i].name);
        assert_int_equal(g.nodes[i].state, s.nodes[i].state);
        assert_true(g.nodes[i].since_ms == s.nodes[i].since_ms);
        assert_string_equal(g.nodes[i].leaf, s.nodes[i].leaf);
    }
    assert_int_equal(g.n_rollups, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(g.rollups[i].metric, ro[i].metric);
        assert_true(g.rollups[i].agg.count == ro[i].agg.count);
        assert_true(g.rollups[i].agg.sum == ro[i].agg.sum);
        assert_true(g.rollups[i].agg.min == ro[i].agg.min);
        assert_true(g.rollups[i].agg.max == ro[i].agg.max);
    }
    assert_int_equal(g.n_tiers, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(g.tiers[i].id, ti[i].id);
        assert_string_equal(g.tiers[i].kind, ti[i].kind);
        assert_int_equal(g.tiers[i].parent, ti[i].parent);
        assert_int_equal(g.tiers[i].up, ti[i].up);
        assert_int_equal(g.tiers[i].nodes_total, ti[i].nodes_total);
        assert_int_equal(g.tiers[i].nodes_up, ti[i].nodes_up);
        assert_true(g.tiers[i].samples_per_s == ti[i].samples_per_s);
        assert_true(g.tiers[i].frames_in_per_s == ti[i].frames_in_per_s);
        assert_true(g.tiers[i].frames_out_per_s == ti[i].frames_out_per_s);
        assert_true(g.tiers[i].bytes_in_per_s == ti[i].bytes_in_per_s);
        assert_true(g.tiers[i].bytes_out_per_s == ti[i].bytes_out_per_s);
    }
    wr_state_msg_clear(&g);
    assert_null(g.nodes);
    assert_int_equal(g.n_nodes, 0);

    /* The node cap is the caller's. */
    EXPECT_FAIL(wr_decode_state(dec, BIG_NODES - 1, &g, why, WHY), WR_ETOOBIG,
                "SNAPSHOT nodes: 10000 entries over cap 9999");
    assert_null(g.nodes);
    wr_state_msg_clear(&g);

    /* A DELTA with every array empty. */
    free(s.nodes);
    memset(&s, 0, sizeof(s));
    s.at_ms = -1;
    e = env_of(WR_MSG_DELTA);
    assert_int_equal(wr_encode_state(enc, &e, &s), 0);
    assert_int_equal(wr_decoder_decode(dec, wr_encoder_data(enc), wr_encoder_size(enc), &got,
                                       why, WHY), 0);
    assert_int_equal(got.type, WR_MSG_DELTA);
    assert_int_equal(wr_decode_state(dec, 0, &g, why, WHY), 0);
    assert_true(g.at_ms == -1);
    assert_int_equal(g.n_nodes + g.n_rollups + g.n_tiers, 0);
    assert_null(g.nodes);
    wr_state_msg_clear(&g);
    wr_encoder_destroy(&enc);
    wr_decoder_destroy(&dec);
}

static void test_roundtrip_query_reply_command(void **state)
{
    (void)state;
    wr_encoder_t *enc = wr_encoder_new();
    wr_decoder_t *dec = wr_decoder_new(0);
    wr_envelope_t e = env_of(WR_MSG_QUERY), got;
    char why[WHY], node[WR_NODE_NAME_MAX];
    fill(node, 'q', WR_NODE_NAME_MAX - 1);
    const char *args = "{\"limit\": 10}";
    wr_query_t q = { 77, node, strlen(node), "history", 7, args, strlen(args) }, qg;
    assert_int_equal(wr_encode_query(enc, &e, &q), 0);
    /* Borrowed strings must outlive the caller's buffer: decode from a copy, then free it. */
    size_t n = wr_encoder_size(enc);
    char *copy = malloc(n);
    memcpy(copy, wr_encoder_data(enc), n);
    assert_int_equal(wr_decoder_decode(dec, copy, n, &got, why, WHY), 0);
    memset(copy, 0xee, n);
    free(copy);
    check_env(&got, &e);
    assert_int_equal(wr_decode_query(dec, &qg, why, WHY), 0);
    assert_true(qg.qid == 77);
    assert_int_equal(qg.node_len, WR_NODE_NAME_MAX - 1);
    assert_memory_equal(qg.node, node, qg.node_len);
    assert_int_equal(qg.kind_len, 7);
    assert_memory_equal(qg.kind, "history", 7);
    assert_int_equal(qg.args_len, strlen(args));
    assert_memory_equal(qg.args, args, qg.args_len);
    /* Empty optional string: "" and 0, never NULL (NULL,0 accepted on encode). */
    q.args = NULL;
    q.args_len = 0;
    assert_int_equal(wr_encode_query(enc, &e, &q), 0);
    assert_int_equal(wr_decoder_decode(dec, wr_encoder_data(enc), wr_encoder_size(enc), &got,
                                       why, WHY), 0);
    assert_int_equal(wr_decode_query(dec, &qg, why, WHY), 0);
    assert_non_null(qg.args);
    assert_string_equal(qg.args, "");
    assert_int_equal(qg.args_len, 0);

    e = env_of(WR_MSG_REPLY);
    wr_reply_t r = { 78, WR_ENOTFOUND, "no such node", 12, "", 0 }, rg;
    assert_int_equal(wr_encode_reply(enc, &e, &r), 0);
    assert_int_equal(wr_decoder_decode(dec, wr_encoder_data(enc), wr_encoder_size(enc), &got,
                                       why, WHY), 0);
    check_env(&got, &e);
    assert_int_equal(wr_decode_reply(dec, &rg, why, WHY), 0);
    assert_true(rg.qid == 78);
    assert_int_equal(rg.status, WR_ENOTFOUND);
    assert_int_equal(rg.error_len, 12);
    assert_memory_equal(rg.error, "no such node", 12);
    assert_non_null(rg.result);
    assert_int_equal(rg.result_len, 0);
    r = (wr_reply_t){ 79, 0, NULL, 0, "[1,2,3]", 7 };
    assert_int_equal(wr_encode_reply(enc, &e, &r), 0);
    assert_int_equal(wr_decoder_decode(dec, wr_encoder_data(enc), wr_encoder_size(enc), &got,
                                       why, WHY), 0);
    assert_int_equal(wr_decode_reply(dec, &rg, why, WHY), 0);
    assert_int_equal(rg.status, 0);
    assert_string_equal(rg.error, "");
    assert_int_equal(rg.result_len, 7);
    assert_memory_equal(rg.result, "[1,2,3]", 7);

    e = env_of(WR_MSG_COMMAND);
    wr_command_t c = { "reload", 6, "{}", 2 }, cg;
    assert_int_equal(wr_encode_command(enc, &e, &c), 0);
    assert_int_equal(wr_decoder_decode(dec, wr_encoder_data(enc), wr_encoder_size(enc), &got,
                                       why, WHY), 0);
    check_env(&got, &e);
    assert_int_equal(wr_decode_command(dec, &cg, why, WHY), 0);
    assert_int_equal(cg.cmd_len, 6);
    assert_memory_equal(cg.cmd, "reload", 6);
    assert_int_equal(cg.args_len, 2);
    assert_memory_equal(cg.args, "{}", 2);
    wr_encoder_destroy(&enc);
    wr_decoder_destroy(&dec);
}

/* ALARM and NOTIF: envelope only, no body decoder accepts them. */
static void test_alarm_notif_envelope(void **state)
{
    (void)state;
    char why[WHY];
    for (int type = WR_MSG_ALARM; type <= WR_MSG_NOTIF; type++) {
        raw_t r;
        wr_envelope_t env;
        wr_hello_t h;
        raw_init(&r);
        raw_env(&r, type);
        msgpack_pack_map(&r.pk, 1);
        raw_str(&r, "anything");
        msgpack_pack_array(&r.pk, 0);
        wr_decoder_t *dec = wr_decoder_new(0);
        assert_int_equal(wr_decoder_decode(dec, r.sb.data, r.sb.size, &env, why, WHY), 0);
        assert_int_equal(env.type, type);
        assert_string_equal(env.from, "leaf-1");
        EXPECT_FAIL(wr_decode_hello(dec, &h, why, WHY), WR_EINVAL, wr_msg_type_name(type));
        wr_decoder_destroy(&dec);
        raw_free(&r);
    }
}

/* Reasons are optional and always truncated to the caller's buffer. */
static void test_why_buffer(void **state)
{
    (void)state;
    const uint8_t junk[3] = { 0x93, 0xc1, 0xc0 };
    char small[8];
    wr_envelope_t env;
    wr_decoder_t *dec = wr_decoder_new(0);
    assert_int_equal(wr_decoder_decode(dec, junk, 3, &env, NULL, 0), WR_EPROTO);
    memset(small, 'z', sizeof(small));
    assert_int_equal(wr_decoder_decode(dec, junk, 3, &env, small, sizeof(small)), WR_EPROTO);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_int_equal(wr_codec_prescan(junk, 3, 0, small, 1), WR_EPROTO);
    assert_string_equal(small, "");
    wr_hello_t h;
    assert_int_equal(wr_decode_hello(dec, &h, NULL, 0), WR_EINVAL);
    assert_int_equal(wr_decoder_decode(NULL, junk, 3, &env, small, sizeof(small)), WR_EINVAL);
    wr_decoder_destroy(&dec);
    wr_decoder_destroy(&dec);                            /* NULL-safe */
}

/* The encoder refuses what the decoder would reject. */
static void test_encode_rejects(void **state)
{
    (void)state;
    wr_encoder_t *enc = wr_encoder_new();
    wr_envelope_t e = env_of(WR_MSG_HELLO);
    wr_hello_t h = { "leaf", "leaf-1", "0.1", 1000 };
    assert_int_equal(wr_encode_hello(enc, &e, &h), 0);
    size_t good = wr_encoder_size(enc);
    assert_true(good > 0);
    e.type = WR_MSG_ACK;
    assert_int_equal(wr_encode_hello(enc, &e, &h), WR_EINVAL);
    assert_int_equal(wr_encoder_size(enc), 0);          /* no half frame left behind */
    e.type = WR_MSG_HELLO;
    memset(e.from, 'x', sizeof(e.from));                 /* unterminated */
    assert_int_equal(wr_encode_hello(enc, &e, &h), WR_EINVAL);
    e = env_of(WR_MSG_HELLO);
    strcpy(h.kind, "banana");
    assert_int_equal(wr_encode_hello(enc, &e, &h), WR_EINVAL);

    wr_node_entry_t n = { "a@h", 1, 0, "leaf-1" };
    wr_rollup_entry_t ro = { "memory.total", { 1, 1, 1, 1 }, NULL, NULL };
    wr_tier_entry_t t[2] = { { "r", "relay", -1, 1, 1, 1, 1, 0, 0, 0, 0 }, { "l", "leaf", 0, 1, 1, 1, 1, 0, 0, 0, 0 } };
    wr_state_msg_t s = { 1000, 1, 1, &n, 1, &ro, 2, t, NULL, 0 };
    e = env_of(WR_MSG_SNAPSHOT);
    assert_int_equal(wr_encode_state(enc, &e, &s), 0);
    e.type = WR_MSG_HELLO;
    assert_int_equal(wr_encode_state(enc, &e, &s), WR_EINVAL);
    e.type = WR_MSG_DELTA;
    n.state = 3;
    assert_int_equal(wr_encode_state(enc, &e, &s), WR_EINVAL);
    n.state = 2;
    n.name[0] = '\0';
    assert_int_equal(wr_encode_state(enc, &e, &s), WR_EINVAL);
    strcpy(n.name, "a@h");
    strcpy(ro.metric, "Memory..total");
    assert_int_equal(wr_encode_state(enc, &e, &s), WR_EINVAL);
    strcpy(ro.metric, "memory.total");
    ro.agg.sum = NAN;
    assert_int_equal(wr_encode_state(enc, &e, &s), WR_EINVAL);
    ro.agg.sum = 1;
    t[1].parent = 1;
    assert_int_equal(wr_encode_state(enc, &e, &s), WR_EINVAL);
    t[1].parent = 0;
    s.nodes = NULL;
    assert_int_equal(wr_encode_state(enc, &e, &s), WR_EINVAL);
    s.nodes = &n;
    assert_int_equal(wr_encode_state(enc, &e, &s), 0);

    char big[WR_NODE_NAME_MAX + 1];
    fill(big, 'b', WR_NODE_NAME_MAX);
    e = env_of(WR_MSG_QUERY);
    wr_query_t q = { 1, big, strlen(big), "k", 1, NULL, 0 };
    assert_int_equal(wr_encode_query(enc, &e, &q), WR_EINVAL);
    q.node = "a@h";
    q.node_len = 3;
    q.kind_len = 0;
    assert_int_equal(wr_encode_query(enc, &e, &q), WR_EINVAL);
    q.kind_len = 1;
    q.args_len = 4;                                      /* NULL with a length */
    assert_int_equal(wr_encode_query(enc, &e, &q), WR_EINVAL);
    e = env_of(WR_MSG_REPLY);
    wr_reply_t r = { 1, 5, NULL, 0, NULL, 0 };
    assert_int_equal(wr_encode_reply(enc, &e, &r), WR_EINVAL);
    e = env_of(WR_MSG_COMMAND);
    wr_command_t c = { "", 0, NULL, 0 };
    assert_int_equal(wr_encode_command(enc, &e, &c), WR_EINVAL);
    wr_encoder_destroy(&enc);
    wr_encoder_destroy(&enc);                            /* NULL-safe */
}


/* Envelope items, each replaceable by a bad value. */
static void p_nil(raw_t *r)     { msgpack_pack_nil(&r->pk); }
static void p_str(raw_t *r)     { raw_str(r, "x"); }
static void p_neg(raw_t *r)     { msgpack_pack_int(&r->pk, -1); }
static void p_float(raw_t *r)   { msgpack_pack_double(&r->pk, 1.5); }
static void p_arr(raw_t *r)     { msgpack_pack_array(&r->pk, 0); }
static void p_u0(raw_t *r)      { msgpack_pack_uint32(&r->pk, 0); }
static void p_u2(raw_t *r)      { msgpack_pack_uint32(&r->pk, 2); }
static void p_u11(raw_t *r)     { msgpack_pack_uint32(&r->pk, 11); }
static void p_u99(raw_t *r)     { msgpack_pack_uint32(&r->pk, 99); }
static void p_umax(raw_t *r)    { msgpack_pack_uint64(&r->pk, UINT64_MAX); }
static void p_empty(raw_t *r)   { raw_str(r, ""); }
static void p_id64(raw_t *r)    { char s[65]; fill(s, 'i', 64); raw_str(r, s); }
static void p_nul(raw_t *r)     { raw_strn(r, "le\0af", 5); }

static void raw_env_bad(raw_t *r, int bad, void (*packbad)(raw_t *))
{
    msgpack_pack_array(&r->pk, 7);
    if (bad == 0) packbad(r); else msgpack_pack_uint32(&r->pk, WR_WIRE_VERSION);
    if (bad == 1) packbad(r); else msgpack_pack_int(&r->pk, WR_MSG_HEARTBEAT);
    if (bad == 2) packbad(r); else raw_str(r, "leaf-1");
    if (bad == 3) packbad(r); else msgpack_pack_uint64(&r->pk, 1);
    if (bad == 4) packbad(r); else msgpack_pack_uint64(&r->pk, 2);
    if (bad == 5) packbad(r); else msgpack_pack_int64(&r->pk, 3);
    if (bad == 6) packbad(r); else msgpack_pack_map(&r->pk, 0);
}

static void test_envelope_errors(void **state)
{
    (void)state;
    static const struct {
        int bad;
        void (*pack)(raw_t *);
        int code;
        const char *needle;
    } cases[] = {
        { 0, p_str,   WR_EPROTO,       "v: expected unsigned integer, got str" },
        { 0, p_neg,   WR_EPROTO,       "v: expected unsigned integer, got negative integer" },
        { 0, p_u2,    WR_EUNSUPPORTED, "v: unsupported wire version 2" },
        { 0, p_u0,    WR_EUNSUPPORTED, "v: unsupported wire version 0" },
        { 1, p_str,   WR_EPROTO,       "type: expected unsigned integer, got str" },
        { 1, p_u0,    WR_EUNSUPPORTED, "type: unknown message type 0" },
        { 1, p_u11,   WR_EUNSUPPORTED, "type: unknown message type 11" },
        { 1, p_u99,   WR_EUNSUPPORTED, "type: unknown message type 99" },
        { 1, p_neg,   WR_EPROTO,       "type: expected unsigned integer" },
        { 2, p_u2,    WR_EPROTO,       "from: expected str, got unsigned integer" },
        { 2, p_empty, WR_EPROTO,       "from empty" },
        { 2, p_id64,  WR_ETOOBIG,      "from: 64 bytes over cap 63" },
        { 2, p_nul,   WR_EPROTO,       "from: contains a NUL byte" },
        { 3, p_neg,   WR_EPROTO,       "epoch: expected unsigned integer, got negative integer" },
        { 3, p_float, WR_EPROTO,       "epoch: expected unsigned integer, got float" },
        { 4, p_nil,   WR_EPROTO,       "seq: expected unsigned integer, got nil" },
        { 5, p_str,   WR_EPROTO,       "ts: expected integer, got str" },
        { 5, p_umax,  WR_EPROTO,       "ts: 18446744073709551615 out of range" },
        { 6, p_arr,   WR_EPROTO,       "body: expected map, got array" },
        { 6, p_nil,   WR_EPROTO,       "body: expected map, got nil" },
    };
    char why[WHY];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        raw_t r;
        raw_init(&r);
        raw_env_bad(&r, cases[i].bad, cases[i].pack);
        EXPECT_FAIL(decode_raw(&r, WR_MSG_HEARTBEAT, why), cases[i].code, cases[i].needle);
        raw_free(&r);
    }
    /* Arity and shape of the envelope itself. */
    raw_t r;
    raw_init(&r);
    msgpack_pack_map(&r.pk, 0);
    EXPECT_FAIL(decode_raw(&r, 0, why), WR_EPROTO, "envelope: expected array of 7, got map");
    raw_free(&r);
    for (int n = 0; n <= 9; n++) {
        if (n == 7)
            continue;
        raw_init(&r);
        msgpack_pack_array(&r.pk, (size_t)n);
        for (int i = 0; i < n; i++)
            msgpack_pack_uint32(&r.pk, 1);
        char want[64];
        snprintf(want, sizeof(want), "envelope: expected array of 7, got array of %d", n);
        EXPECT_FAIL(decode_raw(&r, 0, why), WR_EPROTO, want);
        raw_free(&r);
    }
    /* The sanity case: the default envelope decodes. */
    raw_init(&r);
    raw_env_bad(&r, -1, NULL);
    assert_int_equal(decode_raw(&r, WR_MSG_HEARTBEAT, why), 0);
    raw_free(&r);
}

/* Body maps with one key left out, doubled or given the wrong type. */
static void v_leaf(raw_t *r) { raw_str(r, "leaf"); }
static void v_id(raw_t *r)   { raw_str(r, "leaf-1"); }
static void v_u(raw_t *r)    { msgpack_pack_uint32(&r->pk, 5); }
static void v_neg(raw_t *r)  { msgpack_pack_int(&r->pk, -3); }
static void v_arr0(raw_t *r) { msgpack_pack_array(&r->pk, 0); }
static void v_node(raw_t *r) { raw_str(r, "a@h"); }
static void v_json(raw_t *r) { raw_str(r, "{}"); }

typedef struct { const char *key; int required; void (*val)(raw_t *); } kv_t;

static const struct {
    int type;
    kv_t kv[5];
} bodies[] = {
    { WR_MSG_HELLO, { { "kind", 1, v_leaf }, { "id", 1, v_id }, { "version", 0, v_id },
                      { "interval_ms", 0, v_u } } },
    { WR_MSG_SNAPSHOT, { { "interval_ms", 0, v_u }, { "at", 1, v_u }, { "nodes", 1, v_arr0 },
                         { "rollups", 1, v_arr0 }, { "tiers", 1, v_arr0 } } },
    { WR_MSG_DELTA, { { "at", 1, v_neg }, { "nodes", 1, v_arr0 }, { "rollups", 1, v_arr0 },
                      { "tiers", 1, v_arr0 } } },
    { WR_MSG_ACK, { { "seq", 1, v_u } } },
    { WR_MSG_QUERY, { { "qid", 1, v_u }, { "node", 1, v_node }, { "kind", 1, v_id },
                      { "args", 0, v_json } } },
    { WR_MSG_REPLY, { { "qid", 1, v_u }, { "status", 1, v_neg }, { "error", 0, v_id },
                      { "result", 0, v_json } } },
    { WR_MSG_COMMAND, { { "cmd", 1, v_id }, { "args", 0, v_json } } },
};

/* Packs body b: every key but omit, key dup twice, key nilkey as nil; plus unknown keys. */
static void pack_body(raw_t *r, size_t b, const char *omit, const char *dup, const char *nilkey)
{
    size_t n = 0;
    for (size_t k = 0; k < 5 && bodies[b].kv[k].key; k++)
        n += omit && !strcmp(bodies[b].kv[k].key, omit) ? 0 : 1;
    raw_env(r, bodies[b].type);
    msgpack_pack_map(&r->pk, n + 2 + (dup ? 1 : 0));
    raw_str(r, "zz_future");                       /* unknown keys are ignored */
    msgpack_pack_array(&r->pk, 1);
    msgpack_pack_map(&r->pk, 0);
    msgpack_pack_int(&r->pk, 5);                   /* so are non-string keys */
    msgpack_pack_true(&r->pk);
    for (size_t k = 0; k < 5 && bodies[b].kv[k].key; k++) {
        const kv_t *kv = &bodies[b].kv[k];
        if (omit && !strcmp(kv->key, omit))
            continue;
        for (int rep = 0; rep < (dup && !strcmp(kv->key, dup) ? 2 : 1); rep++) {
            raw_str(r, kv->key);
            if (nilkey && !strcmp(kv->key, nilkey))
                msgpack_pack_nil(&r->pk);
            else
                kv->val(r);
        }
    }
}

static void test_body_keys(void **state)
{
    (void)state;
    char why[WHY], want[128];
    for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
        int type = bodies[b].type;
        raw_t r;
        raw_init(&r);
        pack_body(&r, b, NULL, NULL, NULL);
        why[0] = '\0';
        if (decode_raw(&r, type, why) != 0)
            fail_msg("%s: %s", wr_msg_type_name(type), why);
        raw_free(&r);
        for (size_t k = 0; k < 5 && bodies[b].kv[k].key; k++) {
            const kv_t *kv = &bodies[b].kv[k];
            raw_init(&r);
            pack_body(&r, b, kv->key, NULL, NULL);
            if (kv->required) {
                snprintf(want, sizeof(want), "%s body: missing required key \"%s\"",
                         wr_msg_type_name(type), kv->key);
                EXPECT_FAIL(decode_raw(&r, type, why), WR_EPROTO, want);
            } else {
                assert_int_equal(decode_raw(&r, type, why), 0);
            }
            raw_free(&r);
            raw_init(&r);
            pack_body(&r, b, NULL, kv->key, NULL);
            snprintf(want, sizeof(want), "duplicate key \"%s\"", kv->key);
            EXPECT_FAIL(decode_raw(&r, type, why), WR_EPROTO, want);
            raw_free(&r);
            raw_init(&r);
            pack_body(&r, b, NULL, NULL, kv->key);
            snprintf(want, sizeof(want), "%s %s: expected", wr_msg_type_name(type), kv->key);
            EXPECT_FAIL(decode_raw(&r, type, why), WR_EPROTO, want);
            assert_non_null(strstr(why, "got nil"));
            raw_free(&r);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_origin),
        cmocka_unit_test(test_roundtrip_hello_heartbeat_ack),
        cmocka_unit_test(test_roundtrip_state),
        cmocka_unit_test(test_roundtrip_query_reply_command),
        cmocka_unit_test(test_alarm_notif_envelope),
        cmocka_unit_test(test_why_buffer),
        cmocka_unit_test(test_encode_rejects),
        cmocka_unit_test(test_envelope_errors),
        cmocka_unit_test(test_body_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
