/* test_leaf_parse: the leaf's decoding of rex replies (leaf/leaf_parse.c, included directly:
 * the parser is pure). Terms are built with ei_x_encode_* in the shapes an OTP 25 node sends,
 * plus badrpc, wrong types, 64-bit and larger integers, truncated and hostile buffers, and
 * the agent's collect reply (well-formed, malformed, huge, mutated). */
#include "../leaf/leaf_parse.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static erlang_ref test_ref(unsigned k)
{
    erlang_ref r;
    memset(&r, 0, sizeof r);
    snprintf(r.node, sizeof r.node, "leafdevc@vm");
    r.len = 3;
    r.n[0] = k;
    r.n[1] = 2;
    r.n[2] = 3;
    r.creation = 7;
    return r;
}

/* Starts {Ref, ...}: the caller encodes the reply next. */
static void begin(ei_x_buff *x, unsigned k)
{
    erlang_ref r = test_ref(k);
    ei_x_new_with_version(x);
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_ref(x, &r);
}

typedef struct {
    int           rc;
    leaf_values_t v;
    char          why[256];
} result_t;

static result_t parse(ei_x_buff *x, leaf_shape_t shape)
{
    result_t res;
    memset(&res, 0, sizeof res);
    erlang_ref ref;
    int ri = 0;
    /* an exact-size copy, so ASan sees any read past the end */
    char *buf = malloc((size_t)x->index);
    memcpy(buf, x->buff, (size_t)x->index);
    res.rc = leaf_parse_envelope(buf, x->index, &ref, &ri, res.why, sizeof res.why);
    if (res.rc == 0) {
        erlang_ref want = test_ref(41);
        assert_int_equal(ref.len, want.len);
        assert_int_equal(ref.n[0], 41);
        res.rc = leaf_parse_reply(buf, ri, shape, &res.v, res.why, sizeof res.why);
    }
    free(buf);
    return res;
}

static void memory_pair(ei_x_buff *x, const char *key, long long v)
{
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, key);
    ei_x_encode_longlong(x, v);
}

static void test_memory(void **state)
{
    (void)state;
    ei_x_buff x;
    begin(&x, 41);
    static const long long vals[] = {15180520, 3942416, 3937504, 11238104, 278697, 256213, 722240, 5369334, 350736};
    ei_x_encode_list_header(&x, 9);
    for (int i = 0; i < 9; i++)
        memory_pair(&x, leaf_memory_keys[i], vals[i]);
    ei_x_encode_empty_list(&x);
    result_t r = parse(&x, LEAF_SHAPE_MEMORY);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.v.mask, 0x1ff);
    for (int i = 0; i < 9; i++)
        assert_true(r.v.v[i] == (double)vals[i]);
    ei_x_free(&x);

    /* other order, an unknown key, a 64-bit value */
    begin(&x, 41);
    ei_x_encode_list_header(&x, 3);
    memory_pair(&x, "ets", 5);
    memory_pair(&x, "maximum", 99);
    memory_pair(&x, "total", 1LL << 40);
    ei_x_encode_empty_list(&x);
    r = parse(&x, LEAF_SHAPE_MEMORY);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.v.mask, (1u << 8) | 1u);
    assert_true(r.v.v[0] == (double)(1LL << 40));
    assert_true(r.v.v[8] == 5.0);
    ei_x_free(&x);

    /* an element of the wrong shape */
    begin(&x, 41);
    ei_x_encode_list_header(&x, 2);
    memory_pair(&x, "total", 1);
    ei_x_encode_atom(&x, "oops");
    ei_x_encode_empty_list(&x);
    r = parse(&x, LEAF_SHAPE_MEMORY);
    assert_int_equal(r.rc, WR_EPROTO);
    assert_non_null(strstr(r.why, "memory element 1"));
    ei_x_free(&x);

    /* not a list at all */
    begin(&x, 41);
    ei_x_encode_long(&x, 5);
    r = parse(&x, LEAF_SHAPE_MEMORY);
    assert_int_equal(r.rc, WR_EPROTO);
    assert_non_null(strstr(r.why, "got integer"));
    ei_x_free(&x);
}

static void test_int_shapes(void **state)
{
    (void)state;
    ei_x_buff x;
    begin(&x, 41);
    ei_x_encode_long(&x, 262144);
    result_t r = parse(&x, LEAF_SHAPE_INT);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.v.mask, 1);
    assert_true(r.v.v[0] == 262144.0);
    ei_x_free(&x);

    begin(&x, 41);                       /* small integer */
    ei_x_encode_long(&x, 0);
    r = parse(&x, LEAF_SHAPE_INT);
    assert_int_equal(r.rc, 0);
    assert_true(r.v.v[0] == 0.0);
    ei_x_free(&x);

    begin(&x, 41);                       /* unsigned 64-bit over INT64_MAX */
    ei_x_encode_ulonglong(&x, 18000000000000000000ULL);
    r = parse(&x, LEAF_SHAPE_INT);
    assert_int_equal(r.rc, 0);
    assert_true(r.v.v[0] == 18000000000000000000.0);
    ei_x_free(&x);

    begin(&x, 41);                       /* negative bignum */
    ei_x_encode_longlong(&x, -(1LL << 50));
    r = parse(&x, LEAF_SHAPE_INT);
    assert_int_equal(r.rc, 0);
    assert_true(r.v.v[0] == -(double)(1LL << 50));
    ei_x_free(&x);

    begin(&x, 41);                       /* wrong type */
    ei_x_encode_atom(&x, "undefined");
    r = parse(&x, LEAF_SHAPE_INT);
    assert_int_equal(r.rc, WR_EPROTO);
    assert_string_equal(r.why, "expected integer, got atom");
    ei_x_free(&x);

    begin(&x, 41);                       /* a float is not accepted either */
    ei_x_encode_double(&x, 1.5);
    r = parse(&x, LEAF_SHAPE_INT);
    assert_int_equal(r.rc, WR_EPROTO);
    assert_string_equal(r.why, "expected integer, got float");
    ei_x_free(&x);

    begin(&x, 41);                       /* statistics(reductions) -> {Total, SinceLast} */
    ei_x_encode_tuple_header(&x, 2);
    ei_x_encode_long(&x, 185046);
    ei_x_encode_long(&x, 12);
    r = parse(&x, LEAF_SHAPE_PAIR_FIRST);
    assert_int_equal(r.rc, 0);
    assert_true(r.v.v[0] == 185046.0);
    ei_x_free(&x);

    begin(&x, 41);                       /* pair expected, 3-tuple given */
    ei_x_encode_tuple_header(&x, 3);
    ei_x_encode_long(&x, 1);
    ei_x_encode_long(&x, 2);
    ei_x_encode_long(&x, 3);
    r = parse(&x, LEAF_SHAPE_PAIR_FIRST);
    assert_int_equal(r.rc, WR_EPROTO);
    ei_x_free(&x);
}

/* {Ref, {{input, In}, {output, 780}}}: erlang:statistics(io)'s reply. */
static void io_reply(ei_x_buff *x, long long in)
{
    begin(x, 41);
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, "input");
    ei_x_encode_longlong(x, in);
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, "output");
    ei_x_encode_long(x, 780);
}

static void test_io(void **state)
{
    (void)state;
    ei_x_buff x;
    io_reply(&x, 26);
    result_t r = parse(&x, LEAF_SHAPE_IO);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.v.mask, 3);
    assert_true(r.v.v[0] == 26.0 && r.v.v[1] == 780.0);
    ei_x_free(&x);

    begin(&x, 41);                       /* swapped */
    ei_x_encode_tuple_header(&x, 2);
    ei_x_encode_tuple_header(&x, 2);
    ei_x_encode_atom(&x, "output");
    ei_x_encode_long(&x, 26);
    ei_x_encode_tuple_header(&x, 2);
    ei_x_encode_atom(&x, "input");
    ei_x_encode_long(&x, 780);
    r = parse(&x, LEAF_SHAPE_IO);
    assert_int_equal(r.rc, WR_EPROTO);
    assert_string_equal(r.why, "expected {input, Int}");
    ei_x_free(&x);
}

static void test_badrpc(void **state)
{
    (void)state;
    ei_x_buff x;
    begin(&x, 41);
    ei_x_encode_tuple_header(&x, 2);
    ei_x_encode_atom(&x, "badrpc");
    ei_x_encode_tuple_header(&x, 2);
    ei_x_encode_atom(&x, "EXIT");
    ei_x_encode_atom(&x, "undef");
    for (int shape = 0; shape <= LEAF_SHAPE_IO; shape++) {
        result_t r = parse(&x, (leaf_shape_t)shape);
        assert_int_equal(r.rc, WR_EPROTO);
        assert_true(strncmp(r.why, "badrpc: ", 8) == 0);
        assert_non_null(strstr(r.why, "undef"));
        assert_int_equal(r.v.mask, 0);
    }
    ei_x_free(&x);
}

static void test_bignum_over_64_bits(void **state)
{
    (void)state;
    ei_x_buff x;
    begin(&x, 41);
    static const char big[] = {ERL_SMALL_BIG_EXT, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    ei_x_append_buf(&x, big, sizeof big);
    result_t r = parse(&x, LEAF_SHAPE_INT);
    assert_int_equal(r.rc, WR_ETOOBIG);
    assert_non_null(strstr(r.why, "9 bytes"));
    ei_x_free(&x);

    begin(&x, 41);                       /* a large bignum inside memory() */
    ei_x_encode_list_header(&x, 1);
    ei_x_encode_tuple_header(&x, 2);
    ei_x_encode_atom(&x, "total");
    static const char large[] = {ERL_LARGE_BIG_EXT, 0, 0, 1, 0, 0};  /* 256 digit bytes follow */
    ei_x_append_buf(&x, large, sizeof large);
    char zeros[256];
    memset(zeros, 0xff, sizeof zeros);
    ei_x_append_buf(&x, zeros, sizeof zeros);
    ei_x_encode_empty_list(&x);
    r = parse(&x, LEAF_SHAPE_MEMORY);
    assert_int_equal(r.rc, WR_ETOOBIG);
    ei_x_free(&x);
}

static void test_envelope_errors(void **state)
{
    (void)state;
    ei_x_buff x;
    result_t r;

    ei_x_new_with_version(&x);           /* not {Ref, Reply} */
    ei_x_encode_tuple_header(&x, 2);
    ei_x_encode_atom(&x, "rex");
    ei_x_encode_long(&x, 1);
    r = parse(&x, LEAF_SHAPE_INT);
    assert_int_equal(r.rc, WR_EPROTO);
    assert_non_null(strstr(r.why, "not a reference"));
    ei_x_free(&x);

    begin(&x, 41);                       /* trailing bytes */
    ei_x_encode_long(&x, 1);
    ei_x_encode_long(&x, 2);
    r = parse(&x, LEAF_SHAPE_INT);
    assert_int_equal(r.rc, WR_EPROTO);
    assert_non_null(strstr(r.why, "after the term"));
    ei_x_free(&x);

    begin(&x, 41);                       /* a list claiming 4 billion elements */
    static const char huge[] = {ERL_LIST_EXT, (char)0xff, (char)0xff, (char)0xff, (char)0xff, ERL_NIL_EXT};
    ei_x_append_buf(&x, huge, sizeof huge);
    r = parse(&x, LEAF_SHAPE_MEMORY);
    assert_int_equal(r.rc, WR_EPROTO);
    assert_non_null(strstr(r.why, "claims"));
    ei_x_free(&x);

    begin(&x, 41);                       /* nested deeper than the cap */
    for (int i = 0; i < LEAF_TERM_MAX_DEPTH + 10; i++)
        ei_x_encode_tuple_header(&x, 1);
    ei_x_encode_long(&x, 1);
    r = parse(&x, LEAF_SHAPE_INT);
    assert_int_equal(r.rc, WR_ETOOBIG);
    ei_x_free(&x);

    begin(&x, 41);                       /* unknown tag */
    static const char junk[] = {(char)200, 1, 2};
    ei_x_append_buf(&x, junk, sizeof junk);
    r = parse(&x, LEAF_SHAPE_INT);
    assert_int_equal(r.rc, WR_EPROTO);
    assert_non_null(strstr(r.why, "unsupported term tag"));
    ei_x_free(&x);

    char one = (char)131;                /* only the version byte */
    erlang_ref ref;
    int ri;
    char why[128];
    assert_int_equal(leaf_parse_envelope(&one, 1, &ref, &ri, why, sizeof why), WR_EPROTO);
}

/* Every prefix of a valid reply is rejected, without reading past the end (ASan). */
static void test_truncated(void **state)
{
    (void)state;
    ei_x_buff x;
    begin(&x, 41);
    ei_x_encode_list_header(&x, 9);
    for (int i = 0; i < 9; i++)
        memory_pair(&x, leaf_memory_keys[i], 1LL << (20 + i * 4));
    ei_x_encode_empty_list(&x);
    for (int cut = 0; cut < x.index; cut++) {
        char *buf = malloc(cut ? (size_t)cut : 1);
        memcpy(buf, x.buff, (size_t)cut);
        erlang_ref ref;
        int ri = 0;
        char why[256];
        int rc = leaf_parse_envelope(buf, cut, &ref, &ri, why, sizeof why);
        assert_int_not_equal(rc, 0);
        free(buf);
    }
    ei_x_free(&x);
}

/* The body parse of one mutated reply: rc is the envelope's outcome (ri its body's index when
 * 0); returns the final outcome (0 or a WR_E code), asserting what else it must. */
typedef int (*mut_body_fn)(const char *buf, int ri, int rc, int iter);

/* 20,000 times: flips 1-3 random bytes (seeded, never the version byte) of a copy of x's
 * term, parses its envelope and hands it to body; every outcome must be 0, WR_EPROTO or
 * WR_ETOOBIG, and both successes and failures must occur. Frees x. */
static void mutate_and_parse(ei_x_buff *x, unsigned seed, mut_body_fn body)
{
    int ok = 0, failed = 0;
    for (int iter = 0; iter < 20000; iter++) {
        char *buf = malloc((size_t)x->index);
        memcpy(buf, x->buff, (size_t)x->index);
        int flips = 1 + (int)(rand_r(&seed) % 3);
        for (int f = 0; f < flips; f++)
            buf[1 + rand_r(&seed) % (unsigned)(x->index - 1)] = (char)rand_r(&seed);
        erlang_ref ref;
        int ri = 0;
        char why[256];
        int rc = leaf_parse_envelope(buf, x->index, &ref, &ri, why, sizeof why);
        rc = body(buf, ri, rc, iter);
        assert_true(rc == 0 || rc == WR_EPROTO || rc == WR_ETOOBIG);
        if (rc == 0)
            ok++;
        else
            failed++;
        free(buf);
    }
    assert_true(ok > 0 && failed > 0);
    ei_x_free(x);
}

static int reply_body(const char *buf, int ri, int rc, int iter)
{
    char why[256];
    leaf_values_t v;
    if (rc == 0)
        rc = leaf_parse_reply(buf, ri, (leaf_shape_t)(iter % 4), &v, why, sizeof why);
    return rc;
}

/* Random byte flips of valid replies: every outcome is 0 or a WR_E code, never a crash. */
static void test_mutations(void **state)
{
    (void)state;
    ei_x_buff x;
    io_reply(&x, 1LL << 45);
    mutate_and_parse(&x, 12345, reply_body);
}

/* ---- warren_agent:collect/1 replies ---------------------------------------------------- */

static int parse_collect(ei_x_buff *x, leaf_collect_t *out, leaf_metric_value_t *vals, size_t cap,
                         char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    out->v = vals;
    out->cap = cap;
    erlang_ref ref;
    int ri = 0;
    char *buf = malloc((size_t)x->index);   /* exact size: ASan sees reads past the end */
    memcpy(buf, x->buff, (size_t)x->index);
    int rc = leaf_parse_envelope(buf, x->index, &ref, &ri, why, whylen);
    if (rc == 0)
        rc = leaf_parse_collect(buf, ri, out, why, whylen);
    free(buf);
    return rc;
}

static void bin_pair(ei_x_buff *x, const char *name)
{
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_binary(x, name, (long)strlen(name));
}

static void collect_head(ei_x_buff *x, const char *tag, long version, int n_metrics)
{
    begin(x, 41);
    ei_x_encode_tuple_header(x, 4);
    ei_x_encode_atom(x, tag);
    ei_x_encode_long(x, version);
    if (n_metrics > 0)
        ei_x_encode_list_header(x, n_metrics);
}

static double value_of(const leaf_collect_t *c, const char *name)
{
    int m = wr_metric_find(name);
    for (size_t k = 0; k < c->n; k++)
        if (c->v[k].metric == m)
            return c->v[k].value;
    return -1;
}

/* The well-formed reply of the tests below, with every kind of skippable element. */
static void good_collect(ei_x_buff *x)
{
    collect_head(x, "warren_agent", 1, 10);
    bin_pair(x, "process.count");       ei_x_encode_long(x, 42);
    bin_pair(x, "memory.total");        ei_x_encode_longlong(x, 1LL << 40);
    bin_pair(x, "scheduler.utilization"); ei_x_encode_double(x, 12.5);
    bin_pair(x, "scheduler.64.run_queue"); ei_x_encode_long(x, 3);
    bin_pair(x, "no.such.metric");      ei_x_encode_long(x, 1);      /* unknown */
    bin_pair(x, "Bad Name");            ei_x_encode_long(x, 1);      /* bad: invalid name */
    ei_x_encode_tuple_header(x, 2);                                    /* bad: atom name */
    ei_x_encode_atom(x, "atom_count");  ei_x_encode_long(x, 1);
    bin_pair(x, "atom.count");          ei_x_encode_atom(x, "foo");  /* bad: value */
    ei_x_encode_atom(x, "not_a_tuple");                                /* bad */
    bin_pair(x, "process.count");       ei_x_encode_long(x, 43);     /* bad: duplicate */
    ei_x_encode_empty_list(x);
    ei_x_encode_list_header(x, 2);                                     /* Info */
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, "max_message_queue");
    ei_x_encode_tuple_header(x, 3);
    ei_x_encode_binary(x, "<0.88.0>", 8);
    ei_x_encode_binary(x, "wa_flood", 8);
    ei_x_encode_long(x, 20000);
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, "future_key");
    ei_x_encode_atom(x, "ignored");
    ei_x_encode_empty_list(x);
}

static void test_collect_good(void **state)
{
    (void)state;
    ei_x_buff x;
    good_collect(&x);
    leaf_metric_value_t vals[16];
    leaf_collect_t c;
    char why[256] = "";
    assert_int_equal(parse_collect(&x, &c, vals, 16, why, sizeof why), 0);
    assert_int_equal(c.n, 4);
    assert_int_equal(c.unknown, 1);
    assert_int_equal(c.bad, 5);
    assert_true(value_of(&c, "process.count") == 42.0);
    assert_true(value_of(&c, "memory.total") == (double)(1LL << 40));
    assert_true(value_of(&c, "scheduler.utilization") == 12.5);
    assert_true(value_of(&c, "scheduler.64.run_queue") == 3.0);
    assert_int_equal(c.has_maxq, 1);
    assert_string_equal(c.maxq_pid, "<0.88.0>");
    assert_string_equal(c.maxq_name, "wa_flood");
    assert_true(c.maxq_len == 20000.0);

    /* room for 2 values only: the rest is counted, not written */
    assert_int_equal(parse_collect(&x, &c, vals, 2, why, sizeof why), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.bad, 7);
    ei_x_free(&x);

    /* empty lists, and an Info that is not a list, are fine */
    collect_head(&x, "warren_agent", 1, 0);
    ei_x_encode_empty_list(&x);
    ei_x_encode_atom(&x, "whatever");
    assert_int_equal(parse_collect(&x, &c, vals, 16, why, sizeof why), 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(c.has_maxq, 0);
    ei_x_free(&x);
}

/* Info's files and beam_alarms lists: good items, malformed ones counted, a long path keeping
 * its tail, NULs replaced, the cap of LEAF_COLLECT_LIST_MAX, an improper list ignored. */
static void test_collect_node_lists(void **state)
{
    (void)state;
    ei_x_buff x;
    char longp[400];
    memset(longp, 'a', sizeof longp);
    memcpy(longp, "/very", 5);
    memcpy(longp + sizeof longp - 12, "/sys.config", 11);
    longp[sizeof longp - 1] = 'X';
    collect_head(&x, "warren_agent", 1, 0);
    ei_x_encode_empty_list(&x);
    ei_x_encode_list_header(&x, 3);                                   /* Info */
    ei_x_encode_tuple_header(&x, 2);
    ei_x_encode_atom(&x, "files");
    ei_x_encode_list_header(&x, 5);
    ei_x_encode_tuple_header(&x, 3);
    ei_x_encode_binary(&x, "/etc/app/sys.config", 19);
    ei_x_encode_atom(&x, "unparseable");
    ei_x_encode_binary(&x, "2: illegal character", 20);
    ei_x_encode_tuple_header(&x, 3);
    ei_x_encode_binary(&x, longp, sizeof longp);
    ei_x_encode_atom(&x, "changed");
    ei_x_encode_binary(&x, "md\0", 3);
    ei_x_encode_tuple_header(&x, 3);                                  /* bad: unknown status */
    ei_x_encode_binary(&x, "/x", 2);
    ei_x_encode_atom(&x, "weird");
    ei_x_encode_binary(&x, "", 0);
    ei_x_encode_tuple_header(&x, 2);                                  /* bad: a pair */
    ei_x_encode_binary(&x, "/y", 2);
    ei_x_encode_atom(&x, "missing");
    ei_x_encode_tuple_header(&x, 3);
    ei_x_encode_binary(&x, "/z.app", 6);
    ei_x_encode_atom(&x, "missing");
    ei_x_encode_binary(&x, "", 0);
    ei_x_encode_empty_list(&x);
    ei_x_encode_tuple_header(&x, 2);
    ei_x_encode_atom(&x, "beam_alarms");
    ei_x_encode_list_header(&x, LEAF_COLLECT_LIST_MAX + 2);
    for (int k = 0; k < LEAF_COLLECT_LIST_MAX + 2; k++) {
        char id[16];
        snprintf(id, sizeof id, "alarm_%d", k);
        ei_x_encode_tuple_header(&x, 2);
        ei_x_encode_binary(&x, id, (long)strlen(id));
        ei_x_encode_binary(&x, "desc", 4);
    }
    ei_x_encode_empty_list(&x);
    ei_x_encode_tuple_header(&x, 2);                                  /* a second, improper */
    ei_x_encode_atom(&x, "beam_alarms");
    ei_x_encode_atom(&x, "oops");
    ei_x_encode_empty_list(&x);
    leaf_metric_value_t vals[4];
    leaf_collect_t c;
    char why[256] = "";
    assert_int_equal(parse_collect(&x, &c, vals, 4, why, sizeof why), 0);
    assert_true(c.has_files);
    assert_int_equal(c.n_files, 3);
    assert_int_equal(c.files_bad, 2);
    assert_string_equal(c.files[0].name, "/etc/app/sys.config");
    assert_int_equal(c.files[0].status, LEAF_FILE_UNPARSEABLE);
    assert_string_equal(c.files[0].detail, "2: illegal character");
    assert_int_equal(strlen(c.files[1].name), LEAF_COLLECT_NAME_MAX - 1);
    assert_true(strncmp(c.files[1].name, "...", 3) == 0);
    assert_non_null(strstr(c.files[1].name, "/sys.configX"));
    assert_int_equal(c.files[1].status, LEAF_FILE_CHANGED);
    assert_string_equal(c.files[1].detail, "md?");
    assert_int_equal(c.files[2].status, LEAF_FILE_MISSING);
    assert_true(c.has_beam);
    assert_int_equal(c.n_beam, LEAF_COLLECT_LIST_MAX);
    assert_int_equal(c.beam_over, 2);
    assert_string_equal(c.beam[0].name, "alarm_0");
    assert_string_equal(c.beam[LEAF_COLLECT_LIST_MAX - 1].name, "alarm_15");
    assert_string_equal(c.beam[3].detail, "desc");
    ei_x_free(&x);
    /* without the keys: nothing */
    good_collect(&x);
    assert_int_equal(parse_collect(&x, &c, vals, 4, why, sizeof why), 0);
    assert_false(c.has_files);
    assert_false(c.has_beam);
    ei_x_free(&x);
}

static void expect_collect_error(ei_x_buff *x, int rc_want, const char *why_part)
{
    leaf_metric_value_t vals[16];
    leaf_collect_t c;
    char why[256] = "";
    int rc = parse_collect(x, &c, vals, 16, why, sizeof why);
    assert_int_equal(rc, rc_want);
    assert_int_equal(c.n, 0);
    if (!strstr(why, why_part))
        fail_msg("why '%s' lacks '%s'", why, why_part);
    ei_x_free(x);
}

static void test_collect_malformed(void **state)
{
    (void)state;
    ei_x_buff x;
    collect_head(&x, "warren_agent", 2, 0);               /* unknown version */
    ei_x_encode_empty_list(&x);
    ei_x_encode_empty_list(&x);
    expect_collect_error(&x, WR_EPROTO, "version");

    collect_head(&x, "other_agent", 1, 0);                /* wrong tag */
    ei_x_encode_empty_list(&x);
    ei_x_encode_empty_list(&x);
    expect_collect_error(&x, WR_EPROTO, "expected {warren_agent");

    begin(&x, 41);                                        /* 3-tuple */
    ei_x_encode_tuple_header(&x, 3);
    ei_x_encode_atom(&x, "warren_agent");
    ei_x_encode_long(&x, 1);
    ei_x_encode_empty_list(&x);
    expect_collect_error(&x, WR_EPROTO, "expected {warren_agent");

    begin(&x, 41);                                        /* a bare atom */
    ei_x_encode_atom(&x, "ok");
    expect_collect_error(&x, WR_EPROTO, "expected {warren_agent");

    begin(&x, 41);                                        /* badrpc (agent purged) */
    ei_x_encode_tuple_header(&x, 2);
    ei_x_encode_atom(&x, "badrpc");
    ei_x_encode_atom(&x, "undef");
    expect_collect_error(&x, WR_EPROTO, "badrpc: undef");

    collect_head(&x, "warren_agent", 1, 0);               /* Metrics a map */
    ei_x_encode_map_header(&x, 0);
    ei_x_encode_empty_list(&x);
    expect_collect_error(&x, WR_EPROTO, "Metrics is a map");

    collect_head(&x, "warren_agent", 1, 1);               /* improper Metrics */
    bin_pair(&x, "process.count");
    ei_x_encode_long(&x, 1);
    ei_x_encode_atom(&x, "tail");
    ei_x_encode_empty_list(&x);
    expect_collect_error(&x, WR_EPROTO, "improper");

    collect_head(&x, "warren_agent", 1, LEAF_COLLECT_MAX_ITEMS + 1);   /* huge list */
    for (int k = 0; k <= LEAF_COLLECT_MAX_ITEMS; k++) {
        bin_pair(&x, "process.count");
        ei_x_encode_long(&x, k);
    }
    ei_x_encode_empty_list(&x);
    ei_x_encode_empty_list(&x);
    expect_collect_error(&x, WR_ETOOBIG, "4097 elements");

    /* a value over 64 bits and a name longer than any metric: counted, skipped */
    collect_head(&x, "warren_agent", 1, 3);
    bin_pair(&x, "memory.total");
    static const char big[] = {ERL_SMALL_BIG_EXT, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    ei_x_append_buf(&x, big, sizeof big);
    char longname[200];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    bin_pair(&x, longname);
    ei_x_encode_long(&x, 1);
    bin_pair(&x, "uptime");
    ei_x_encode_long(&x, 5);
    ei_x_encode_empty_list(&x);
    ei_x_encode_empty_list(&x);
    leaf_metric_value_t vals[4];
    leaf_collect_t c;
    char why[256];
    assert_int_equal(parse_collect(&x, &c, vals, 4, why, sizeof why), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.bad, 2);
    assert_true(value_of(&c, "uptime") == 5.0);
    ei_x_free(&x);
}

static void test_collect_mutations(void **state)
{
    (void)state;
    ei_x_buff x;
    good_collect(&x);
    unsigned seed = 777;
    int ok = 0, failed = 0;
    for (int iter = 0; iter < 20000; iter++) {
        char *buf = malloc((size_t)x.index);
        memcpy(buf, x.buff, (size_t)x.index);
        int flips = 1 + (int)(rand_r(&seed) % 3);
        for (int f = 0; f < flips; f++)
            buf[1 + rand_r(&seed) % (unsigned)(x.index - 1)] = (char)rand_r(&seed);
        erlang_ref ref;
        int ri = 0;
        char why[256];
        leaf_metric_value_t vals[8];
        leaf_collect_t c = {.v = vals, .cap = 8};
        int rc = leaf_parse_envelope(buf, x.index, &ref, &ri, why, sizeof why);
        if (rc == 0)
            rc = leaf_parse_collect(buf, ri, &c, why, sizeof why);
        assert_true(rc == 0 || rc == WR_EPROTO || rc == WR_ETOOBIG);
        assert_true(c.n <= 8);
        for (size_t k = 0; rc == 0 && k < c.n; k++)
            assert_true(c.v[k].metric >= 0 && (size_t)c.v[k].metric < wr_metric_count);
        if (rc == 0)
            ok++;
        else
            failed++;
        free(buf);
    }
    assert_true(ok > 0 && failed > 0);
    ei_x_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_int_shapes),
        cmocka_unit_test(test_io),
        cmocka_unit_test(test_badrpc),
        cmocka_unit_test(test_bignum_over_64_bits),
        cmocka_unit_test(test_envelope_errors),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_collect_good),
        cmocka_unit_test(test_collect_node_lists),
        cmocka_unit_test(test_collect_malformed),
        cmocka_unit_test(test_collect_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
