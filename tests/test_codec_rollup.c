/* test_codec_rollup: the rollup entries' sketch and top-K on the wire (core/wr_codec*.c):
 * round trips (bucket-exact sketches, collapsed counter, K and items of the top-K, absent
 * ones), the old 5-item entry, the encoder's refusal of an inconsistent sketch, every cap
 * and malformed sketch / top-K rejected with a reason naming it, and a seeded mutation loop
 * over frames that carry them. The rest of the codec: test_codec.c, test_codec_fuzz.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "test_codec_state.h"
#include "wr_rollup.h"

static wr_sketch_t *sketch_of(const double *v, size_t n)
{
    wr_sketch_t *s = wr_sketch_new();
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(wr_sketch_add(s, v[i]), 0);
    return s;
}

/* Encodes a DELTA with the entries, decodes it into *g. */
static void roundtrip(wr_rollup_entry_t *ro, size_t n, wr_state_msg_t *g)
{
    wr_decoder_t *dec = wr_decoder_new(0);
    wr_state_msg_t s;
    memset(&s, 0, sizeof s);
    s.at_ms = 5;
    s.rollups = ro;
    s.n_rollups = n;
    state_roundtrip(dec, &s, g);
    wr_decoder_destroy(&dec);
}

static void test_roundtrip(void **state)
{
    (void)state;
    double v1[] = {0, 0, 1e-12, -3, -3e9, 5, 5, 7.25, 1e15, 42};
    double v2[] = {1e-8, 1e40};        /* 48 decades: collapses */
    wr_rollup_entry_t ro[3];
    memset(ro, 0, sizeof ro);
    strcpy(ro[0].metric, "memory.total");
    for (size_t i = 0; i < 10; i++)
        wr_agg_add(&ro[0].agg, v1[i]);
    ro[0].sketch = sketch_of(v1, 10);
    ro[0].topk = wr_topk_new(4);
    char longname[WR_NODE_NAME_MAX];
    fill(longname, 'n', WR_NODE_NAME_MAX - 1);
    wr_topk_add(ro[0].topk, longname, 1e15);
    wr_topk_add(ro[0].topk, "b@h", 42);
    wr_topk_add(ro[0].topk, "a@h", 42);
    wr_topk_add(ro[0].topk, "c@h", -3e9);
    wr_topk_add(ro[0].topk, "d@h", 7.25);
    strcpy(ro[1].metric, "run_queue");
    wr_agg_add(&ro[1].agg, v2[0]);
    wr_agg_add(&ro[1].agg, v2[1]);
    ro[1].sketch = sketch_of(v2, 2);
    assert_true(wr_sketch_collapsed(ro[1].sketch) > 0);
    ro[1].topk = wr_topk_new(WR_TOPK_MAX);
    strcpy(ro[2].metric, "process.count");       /* no sketch, no top-K */
    wr_agg_add(&ro[2].agg, 3);

    wr_state_msg_t g;
    roundtrip(ro, 3, &g);
    assert_int_equal(g.n_rollups, 3);
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(g.rollups[i].metric, ro[i].metric);
        assert_non_null(g.rollups[i].sketch);
        assert_true(wr_sketch_equal(g.rollups[i].sketch, ro[i].sketch));
        assert_true(wr_sketch_collapsed(g.rollups[i].sketch) == wr_sketch_collapsed(ro[i].sketch));
        assert_non_null(g.rollups[i].topk);
        assert_true(wr_topk_equal(g.rollups[i].topk, ro[i].topk));
    }
    assert_int_equal(wr_topk_k(g.rollups[1].topk), WR_TOPK_MAX);   /* K survives, no items */
    assert_int_equal(wr_topk_size(g.rollups[1].topk), 0);
    assert_string_equal(wr_topk_item(g.rollups[0].topk, 0)->node, longname);
    assert_string_equal(wr_topk_item(g.rollups[0].topk, 1)->node, "a@h");
    double q;
    assert_int_equal(wr_sketch_quantile(g.rollups[0].sketch, 0.5, &q), 0);
    assert_true(q == 0.0);                         /* 3 zeros + 3 negatives of 10: rank 4 */
    assert_null(g.rollups[2].sketch);
    assert_null(g.rollups[2].topk);
    assert_int_equal(g.rollups[2].agg.count, 1);
    wr_state_msg_clear(&g);                        /* frees the decoded sketches (ASan) */

    /* the encoder refuses a sketch that does not hold the entry's count */
    wr_agg_add(&ro[0].agg, 1);
    wr_encoder_t *enc = wr_encoder_new();
    wr_state_msg_t s;
    memset(&s, 0, sizeof s);
    s.rollups = ro;
    s.n_rollups = 1;
    wr_envelope_t e = env_of(WR_MSG_SNAPSHOT);
    assert_int_equal(wr_encode_state(enc, &e, &s), WR_EINVAL);
    assert_int_equal(wr_encoder_size(enc), 0);
    wr_encoder_destroy(&enc);
    for (size_t i = 0; i < 3; i++)
        wr_rollup_entry_clear(&ro[i]);
    assert_null(ro[0].sketch);
}

/* ---- hand-built entries ---------------------------------------------------------------- */

typedef void (*pack_fn)(raw_t *r);

/* A DELTA with one rollup entry: metric, count, sum, min, max, then extra(r) packs the rest
 * and says how many items the entry has. */
static void entry_frame(raw_t *r, uint32_t items, uint64_t count, pack_fn extra)
{
    raw_env(r, WR_MSG_DELTA);
    msgpack_pack_map(&r->pk, 4);
    raw_str(r, "at");
    msgpack_pack_int64(&r->pk, 5);
    raw_str(r, "nodes");
    msgpack_pack_array(&r->pk, 0);
    raw_str(r, "tiers");
    msgpack_pack_array(&r->pk, 0);
    raw_str(r, "rollups");
    msgpack_pack_array(&r->pk, 1);
    msgpack_pack_array(&r->pk, items);
    raw_str(r, "memory.total");
    msgpack_pack_uint64(&r->pk, count);
    msgpack_pack_double(&r->pk, 10);
    msgpack_pack_double(&r->pk, 1);
    msgpack_pack_double(&r->pk, 9);
    if (extra)
        extra(r);
}

/* sketch [zero, collapsed, pos_off, [pos...], neg_off, [neg...]] with npos counts of 1 */
static void pk_sketch(raw_t *r, uint64_t zero, int64_t pos_off, uint32_t npos)
{
    msgpack_pack_array(&r->pk, 6);
    msgpack_pack_uint64(&r->pk, zero);
    msgpack_pack_uint64(&r->pk, 0);
    msgpack_pack_int64(&r->pk, pos_off);
    msgpack_pack_array(&r->pk, npos);
    for (uint32_t i = 0; i < npos; i++)
        msgpack_pack_uint64(&r->pk, 1);
    msgpack_pack_int64(&r->pk, 0);
    msgpack_pack_array(&r->pk, 0);
}
static void pk_topk_empty(raw_t *r)
{
    msgpack_pack_array(&r->pk, 2);
    msgpack_pack_uint32(&r->pk, 10);
    msgpack_pack_array(&r->pk, 0);
}

static void x_ok(raw_t *r)          { pk_sketch(r, 1, 100, 2); pk_topk_empty(r); }
static void x_nil(raw_t *r)         { msgpack_pack_nil(&r->pk); msgpack_pack_nil(&r->pk); }
static void x_one(raw_t *r)         { msgpack_pack_nil(&r->pk); }
static void x_sk_str(raw_t *r)      { raw_str(r, "x"); msgpack_pack_nil(&r->pk); }
static void x_sk_arity(raw_t *r)    { msgpack_pack_array(&r->pk, 5); for (int i = 0; i < 5; i++) msgpack_pack_uint32(&r->pk, 0); msgpack_pack_nil(&r->pk); }
static void x_sk_wide(raw_t *r)     { pk_sketch(r, 0, 0, WR_SKETCH_MAX_BUCKETS + 1); msgpack_pack_nil(&r->pk); }
static void x_sk_low(raw_t *r)      { pk_sketch(r, 1, WR_SKETCH_INDEX_MIN - 1, 2); msgpack_pack_nil(&r->pk); }
static void x_sk_high(raw_t *r)     { pk_sketch(r, 1, WR_SKETCH_INDEX_MAX, 2); msgpack_pack_nil(&r->pk); }
static void x_sk_count(raw_t *r)    { pk_sketch(r, 0, 10, 2); msgpack_pack_nil(&r->pk); }
static void x_sk_negcount(raw_t *r)
{
    msgpack_pack_array(&r->pk, 6);
    msgpack_pack_uint64(&r->pk, 0);
    msgpack_pack_uint64(&r->pk, 0);
    msgpack_pack_int64(&r->pk, 0);
    msgpack_pack_array(&r->pk, 0);
    msgpack_pack_int64(&r->pk, 0);
    msgpack_pack_array(&r->pk, 1);
    msgpack_pack_int64(&r->pk, -3);
    msgpack_pack_nil(&r->pk);
}
static void x_sk_overflow(raw_t *r)
{
    msgpack_pack_array(&r->pk, 6);
    msgpack_pack_uint64(&r->pk, UINT64_MAX);
    msgpack_pack_uint64(&r->pk, 0);
    msgpack_pack_int64(&r->pk, 0);
    msgpack_pack_array(&r->pk, 1);
    msgpack_pack_uint64(&r->pk, 2);
    msgpack_pack_int64(&r->pk, 0);
    msgpack_pack_array(&r->pk, 0);
    msgpack_pack_nil(&r->pk);
}
static void x_tk(raw_t *r, uint64_t k, uint32_t n, const char *node, size_t nlen, double v)
{
    pk_sketch(r, 3, 0, 0);
    msgpack_pack_array(&r->pk, 2);
    msgpack_pack_uint64(&r->pk, k);
    msgpack_pack_array(&r->pk, n);
    for (uint32_t i = 0; i < n; i++) {
        msgpack_pack_array(&r->pk, 2);
        raw_strn(r, node, nlen);
        msgpack_pack_double(&r->pk, v);
    }
}
static void x_tk_k0(raw_t *r)       { x_tk(r, 0, 0, "a@h", 3, 1); }
static void x_tk_k101(raw_t *r)     { x_tk(r, WR_TOPK_MAX + 1, 0, "a@h", 3, 1); }
static void x_tk_items(raw_t *r)    { x_tk(r, 2, 3, "a@h", 3, 1); }
static void x_tk_empty(raw_t *r)    { x_tk(r, 2, 1, "", 0, 1); }
static void x_tk_long(raw_t *r)
{
    char s[WR_NODE_NAME_MAX + 1];
    fill(s, 'n', WR_NODE_NAME_MAX);
    x_tk(r, 2, 1, s, WR_NODE_NAME_MAX, 1);
}
static void x_tk_nan(raw_t *r)      { x_tk(r, 2, 1, "a@h", 3, NAN); }
static void x_tk_inf(raw_t *r)      { x_tk(r, 2, 1, "a@h", 3, INFINITY); }
static void x_tk_map(raw_t *r)      { pk_sketch(r, 3, 0, 0); msgpack_pack_map(&r->pk, 0); }
static void x_tk_item(raw_t *r)
{
    pk_sketch(r, 3, 0, 0);
    msgpack_pack_array(&r->pk, 2);
    msgpack_pack_uint32(&r->pk, 2);
    msgpack_pack_array(&r->pk, 1);
    raw_str(r, "a@h");
}

static void test_old_and_nil(void **state)
{
    (void)state;
    char why[WHY];
    raw_t r;
    wr_decoder_t *dec = wr_decoder_new(0);
    wr_envelope_t env;
    wr_state_msg_t g;
    pack_fn extras[] = {NULL, x_nil, x_ok};
    uint32_t items[] = {5, 7, 7};
    uint64_t counts[] = {3, 3, 3};
    for (int i = 0; i < 3; i++) {
        raw_init(&r);
        entry_frame(&r, items[i], counts[i], extras[i]);
        assert_int_equal(wr_decoder_decode(dec, r.sb.data, r.sb.size, &env, why, WHY), 0);
        if (wr_decode_state(dec, 0, &g, why, WHY) != 0)
            fail_msg("case %d: %s", i, why);
        assert_int_equal(g.n_rollups, 1);
        assert_int_equal(g.rollups[0].agg.count, 3);
        if (i < 2) {
            assert_null(g.rollups[0].sketch);
            assert_null(g.rollups[0].topk);
        } else {
            assert_int_equal(wr_sketch_count(g.rollups[0].sketch), 3);
            wr_sketch_store_view_t v;
            wr_sketch_store(g.rollups[0].sketch, 1, &v);
            assert_int_equal(v.offset, 100);
            assert_int_equal(v.len, 2);
            assert_int_equal(wr_topk_k(g.rollups[0].topk), 10);
        }
        wr_state_msg_clear(&g);
        raw_free(&r);
    }
    wr_decoder_destroy(&dec);
}

static void test_malformed(void **state)
{
    (void)state;
    static const struct {
        uint32_t    items;
        uint64_t    count;
        pack_fn     extra;
        int         code;
        const char *needle;
    } cases[] = {
        {6, 3, x_one, WR_EPROTO, "DELTA rollups[0]: expected array of 7 (or 5), got array of 6"},
        {7, 3, x_sk_str, WR_EPROTO, "rollups[0][5]: sketch: expected array of 6, got str"},
        {7, 3, x_sk_arity, WR_EPROTO, "sketch: expected array of 6, got array of 5"},
        {7, 2049, x_sk_wide, WR_ETOOBIG, "DELTA rollups[0][5]: sketch positive store of 2049 buckets over cap 2048"},
        {7, 3, x_sk_low, WR_EPROTO, "sketch positive offset: -1101 out of range"},
        {7, 3, x_sk_high, WR_EPROTO, "sketch positive buckets 35500..35501 beyond index 35500"},
        {7, 3, x_sk_count, WR_EPROTO, "rollups[0][5]: sketch holds 2 values but count is 3"},
        {7, 3, x_sk_negcount, WR_EPROTO, "sketch bucket count: expected unsigned integer, got negative integer"},
        {7, 3, x_sk_overflow, WR_EPROTO, "sketch counts overflow"},
        {7, 3, x_tk_k0, WR_ETOOBIG, "rollups[0][6]: topk k 0 outside 1..100"},
        {7, 3, x_tk_k101, WR_ETOOBIG, "topk k 101 outside 1..100"},
        {7, 3, x_tk_items, WR_ETOOBIG, "rollups[0][6]: topk of 3 items over its k 2"},
        {7, 3, x_tk_empty, WR_EPROTO, "topk node name empty"},
        {7, 3, x_tk_long, WR_ETOOBIG, "topk node name: 256 bytes over cap 255"},
        {7, 3, x_tk_nan, WR_EPROTO, "topk value: NaN"},
        {7, 3, x_tk_inf, WR_EPROTO, "rollups[0][6]: topk value not finite"},
        {7, 3, x_tk_map, WR_EPROTO, "topk: expected array of 2, got map"},
        {7, 3, x_tk_item, WR_EPROTO, "topk item: expected array of 2, got str"},
    };
    char why[WHY];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        raw_t r;
        raw_init(&r);
        entry_frame(&r, cases[i].items, cases[i].count, cases[i].extra);
        int rc = decode_raw(&r, WR_MSG_DELTA, why);
        if (rc != cases[i].code || !strstr(why, cases[i].needle))
            fail_msg("case %zu: rc %d (want %d), reason \"%s\" (want \"%s\")", i, rc, cases[i].code, why,
                     cases[i].needle);
        raw_free(&r);
    }
}

/* Seeded mutations of a frame carrying sketches and top-Ks: never a crash or a leak (ASan),
 * never a failure without a reason, and every accepted frame's sketches hold their count. */
static void test_mutations(void **state)
{
    (void)state;
    double v[] = {0, 1, 2, 3, 1e6, -5, -7e3, 0.5};
    wr_rollup_entry_t ro[2];
    memset(ro, 0, sizeof ro);
    for (int i = 0; i < 2; i++) {
        strcpy(ro[i].metric, i ? "run_queue" : "memory.total");
        for (size_t k = 0; k < 8; k++)
            wr_agg_add(&ro[i].agg, v[k] * (i + 1));
        ro[i].sketch = wr_sketch_new();
        ro[i].topk = wr_topk_new(5);
        for (size_t k = 0; k < 8; k++) {
            char node[16];
            snprintf(node, sizeof node, "n%zu@h", k);
            wr_sketch_add(ro[i].sketch, v[k] * (i + 1));
            wr_topk_add(ro[i].topk, node, v[k] * (i + 1));
        }
    }
    wr_encoder_t *enc = wr_encoder_new();
    wr_decoder_t *dec = wr_decoder_new(0);
    wr_state_msg_t s;
    memset(&s, 0, sizeof s);
    s.rollups = ro;
    s.n_rollups = 2;
    wr_envelope_t e = env_of(WR_MSG_DELTA), got;
    assert_int_equal(wr_encode_state(enc, &e, &s), 0);
    size_t len = wr_encoder_size(enc);
    uint8_t *orig = malloc(len), *buf = malloc(len);
    memcpy(orig, wr_encoder_data(enc), len);
    uint64_t x = 12345;
    size_t accepted = 0;
    char why[WHY];
    for (int it = 0; it < 30000; it++) {
        memcpy(buf, orig, len);
        int nm = 1 + (int)(x % 4);
        for (int m = 0; m < nm; m++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            buf[(x >> 8) % len] = (uint8_t)(x >> 32);
        }
        why[0] = '\0';
        if (wr_decoder_decode(dec, buf, len, &got, why, WHY) != 0) {
            assert_true(why[0] != '\0');
            continue;
        }
        wr_state_msg_t g;
        why[0] = '\0';
        int rc = wr_decode_state(dec, 0, &g, why, WHY);
        if (rc != 0) {
            assert_true(why[0] != '\0');
        } else {
            accepted++;
            for (size_t i = 0; i < g.n_rollups; i++)
                if (g.rollups[i].sketch)
                    assert_true(wr_sketch_count(g.rollups[i].sketch) == g.rollups[i].agg.count);
        }
        wr_state_msg_clear(&g);
    }
    assert_true(accepted > 0);
    free(orig);
    free(buf);
    for (int i = 0; i < 2; i++)
        wr_rollup_entry_clear(&ro[i]);
    wr_encoder_destroy(&enc);
    wr_decoder_destroy(&dec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_old_and_nil),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
