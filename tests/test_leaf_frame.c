/* test_leaf_frame: the leaf's distribution packet framing (leaf/leaf_frame.c): packets split
 * across reads at every position, several packets and ticks in one read, an oversized
 * length, a callback that stops the feed, garbage packets, and a REG_SEND header that decodes
 * back to what was sent; the in-place name match of leaf_parse_collect's position hints
 * and its number fast paths.
 * Includes the leaf sources (they are not in a library). */
#include "../leaf/leaf_parse.c"
#include "../leaf/leaf_frame.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define MAX_SEEN 64

typedef struct {
    size_t n;
    size_t len[MAX_SEEN];
    char   first[MAX_SEEN];     /* first byte of each packet (0 for a tick) */
    int    stop_at;             /* return 1 on this packet number (1-based); 0: never */
    char  *copy[MAX_SEEN];
} seen_t;

static int on_pkt(void *ud, const char *pkt, size_t len)
{
    seen_t *s = ud;
    assert_true(s->n < MAX_SEEN);
    s->len[s->n] = len;
    s->first[s->n] = len ? pkt[0] : 0;
    s->copy[s->n] = malloc(len + 1);
    memcpy(s->copy[s->n], pkt, len);
    s->n++;
    return s->stop_at && (int)s->n == s->stop_at;
}

static void seen_free(seen_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->copy[i]);
    memset(s, 0, sizeof *s);
}

static size_t put_packet(char *out, const char *body, uint32_t len)
{
    out[0] = (char)(len >> 24);
    out[1] = (char)(len >> 16);
    out[2] = (char)(len >> 8);
    out[3] = (char)len;
    memcpy(out + 4, body, len);
    return 4 + (size_t)len;
}

/* A stream: packet "pHello" (6), a tick, packet of 300 bytes 'x', a tick, packet "pZ". */
static size_t build_stream(char *buf)
{
    char big[300];
    memset(big, 'x', sizeof big);
    size_t n = 0;
    n += put_packet(buf + n, "pHello", 6);
    n += put_packet(buf + n, "", 0);
    n += put_packet(buf + n, big, sizeof big);
    n += put_packet(buf + n, "", 0);
    n += put_packet(buf + n, "pZ", 2);
    return n;
}

static void check_stream(const seen_t *s)
{
    assert_int_equal(s->n, 5);
    assert_int_equal(s->len[0], 6);
    assert_memory_equal(s->copy[0], "pHello", 6);
    assert_int_equal(s->len[1], 0);
    assert_int_equal(s->len[2], 300);
    assert_int_equal(s->first[2], 'x');
    assert_int_equal(s->copy[2][299], 'x');
    assert_int_equal(s->len[3], 0);
    assert_int_equal(s->len[4], 2);
    assert_memory_equal(s->copy[4], "pZ", 2);
}

static void test_whole_stream_in_one_read(void **state)
{
    (void)state;
    char buf[1024], why[128];
    size_t n = build_stream(buf);
    leaf_frame_t f = {0};
    seen_t s = {0};
    assert_int_equal(leaf_frame_feed(&f, buf, n, LEAF_FRAME_MAX, on_pkt, &s, why, sizeof why), 0);
    check_stream(&s);
    assert_null(f.buf);                 /* nothing was split: nothing copied */
    seen_free(&s);
    leaf_frame_free(&f);
}

static void test_split_everywhere(void **state)
{
    (void)state;
    char buf[1024], why[128];
    size_t n = build_stream(buf);
    for (size_t cut = 0; cut <= n; cut++) {      /* two reads, cut anywhere */
        leaf_frame_t f = {0};
        seen_t s = {0};
        assert_int_equal(leaf_frame_feed(&f, buf, cut, LEAF_FRAME_MAX, on_pkt, &s, why, sizeof why), 0);
        assert_int_equal(leaf_frame_feed(&f, buf + cut, n - cut, LEAF_FRAME_MAX, on_pkt, &s, why,
                                         sizeof why), 0);
        check_stream(&s);
        assert_int_equal(f.hlen, 0);
        seen_free(&s);
        leaf_frame_free(&f);
    }
    leaf_frame_t f = {0};                         /* one byte per read */
    seen_t s = {0};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(leaf_frame_feed(&f, buf + i, 1, LEAF_FRAME_MAX, on_pkt, &s, why, sizeof why), 0);
    check_stream(&s);
    seen_free(&s);
    leaf_frame_free(&f);
}

static void test_oversized_length(void **state)
{
    (void)state;
    char why[128] = "";
    const char hdr[8] = {0x7f, 0x00, 0x00, 0x00, 'p', 0, 0, 0};   /* 2 GB */
    leaf_frame_t f = {0};
    seen_t s = {0};
    assert_int_equal(leaf_frame_feed(&f, hdr, sizeof hdr, LEAF_FRAME_MAX, on_pkt, &s, why, sizeof why),
                     WR_ETOOBIG);
    assert_int_equal(s.n, 0);
    assert_non_null(strstr(why, "over the"));
    /* the same with the header split across two reads, against a small cap */
    leaf_frame_t g = {0};
    const char h2[4] = {0, 0, 0x10, 0};           /* 4096 > cap 1000 */
    assert_int_equal(leaf_frame_feed(&g, h2, 2, 1000, on_pkt, &s, why, sizeof why), 0);
    assert_int_equal(leaf_frame_feed(&g, h2 + 2, 2, 1000, on_pkt, &s, why, sizeof why), WR_ETOOBIG);
    assert_int_equal(s.n, 0);
    leaf_frame_free(&f);
    leaf_frame_free(&g);
}

static void test_stop_drops_the_rest(void **state)
{
    (void)state;
    char buf[1024], why[128];
    size_t n = build_stream(buf);
    leaf_frame_t f = {0};
    seen_t s = {.stop_at = 2};
    assert_int_equal(leaf_frame_feed(&f, buf, n, LEAF_FRAME_MAX, on_pkt, &s, why, sizeof why), 1);
    assert_int_equal(s.n, 2);
    seen_free(&s);
    leaf_frame_free(&f);
}

static void test_large_split_packet_buffer_freed(void **state)
{
    (void)state;
    size_t body = 1u << 20;                       /* over FRAME_KEEP */
    char *buf = malloc(body + 4);
    memset(buf + 4, 'p', body);
    buf[0] = 0; buf[1] = 0x10; buf[2] = 0; buf[3] = 0;
    char why[128];
    leaf_frame_t f = {0};
    seen_t s = {0};
    for (size_t off = 0; off < body + 4; off += 65536) {
        size_t k = body + 4 - off < 65536 ? body + 4 - off : 65536;
        assert_int_equal(leaf_frame_feed(&f, buf + off, k, LEAF_FRAME_MAX, on_pkt, &s, why, sizeof why), 0);
    }
    assert_int_equal(s.n, 1);
    assert_int_equal(s.len[0], body);
    assert_null(f.buf);                           /* a big buffer is not kept */
    seen_free(&s);
    free(buf);
}

static void test_reg_send_round_trip(void **state)
{
    (void)state;
    erlang_pid self = {.num = 42, .serial = 0, .creation = 7};
    snprintf(self.node, sizeof self.node, "leaf@host");
    ei_x_buff msg;
    ei_x_new_with_version(&msg);
    ei_x_encode_tuple_header(&msg, 2);
    ei_x_encode_atom(&msg, "hello");
    ei_x_encode_long(&msg, 12345);
    char pkt[2048];
    int h = leaf_frame_reg_send_header(pkt, sizeof pkt, &self, "rex", (size_t)msg.index);
    assert_true(h > 10);
    assert_true(leaf_frame_reg_send_header(pkt, 8, &self, "rex", (size_t)msg.index) == WR_ETOOBIG);
    memcpy(pkt + h, msg.buff, (size_t)msg.index);
    size_t total = (size_t)h + (size_t)msg.index;
    leaf_frame_t f = {0};
    seen_t s = {0};
    char why[128];
    assert_int_equal(leaf_frame_feed(&f, pkt, total, LEAF_FRAME_MAX, on_pkt, &s, why, sizeof why), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.len[0], total - 4);
    leaf_frame_ctl_t c;
    assert_int_equal(leaf_frame_decode(s.copy[0], s.len[0], &c, why, sizeof why), 0);
    assert_int_equal(c.op, ERL_REG_SEND);
    assert_string_equal(c.toname, "rex");
    assert_int_equal(s.len[0] - (size_t)c.payload, (size_t)msg.index);
    assert_memory_equal(s.copy[0] + c.payload, msg.buff, (size_t)msg.index);
    seen_free(&s);
    ei_x_free(&msg);
}

/* 'p' + {2, '', Pid} + payload, as a node sends a reply to our pid. */
static void test_send_decodes(void **state)
{
    (void)state;
    erlang_pid to = {.num = 1, .serial = 0, .creation = 3};
    snprintf(to.node, sizeof to.node, "leaf@host");
    ei_x_buff x;
    ei_x_new(&x);
    ei_x_append_buf(&x, "p", 1);
    ei_x_encode_version(&x);
    ei_x_encode_tuple_header(&x, 3);
    ei_x_encode_long(&x, ERL_SEND);
    ei_x_encode_atom(&x, "");
    ei_x_encode_pid(&x, &to);
    int at = x.index;
    ei_x_encode_version(&x);
    ei_x_encode_atom(&x, "reply");
    leaf_frame_ctl_t c;
    char why[128];
    assert_int_equal(leaf_frame_decode(x.buff, (size_t)x.index, &c, why, sizeof why), 0);
    assert_int_equal(c.op, ERL_SEND);
    assert_int_equal(c.payload, at);
    /* a control message alone (a link): no payload */
    assert_int_equal(leaf_frame_decode(x.buff, (size_t)at, &c, why, sizeof why), 0);
    assert_int_equal(c.payload, -1);
    /* truncated inside the control tuple */
    assert_int_equal(leaf_frame_decode(x.buff, (size_t)at - 3, &c, why, sizeof why), WR_EPROTO);
    ei_x_free(&x);
}

static void test_garbage_packets(void **state)
{
    (void)state;
    leaf_frame_ctl_t c;
    char why[128];
    assert_int_equal(leaf_frame_decode("", 0, &c, why, sizeof why), WR_EPROTO);
    assert_int_equal(leaf_frame_decode("x\x83", 2, &c, why, sizeof why), WR_EPROTO);
    assert_non_null(strstr(why, "pass-through"));
    assert_int_equal(leaf_frame_decode("p\x01", 2, &c, why, sizeof why), WR_EPROTO);   /* no version */
    assert_int_equal(leaf_frame_decode("p\x83\x61\x02", 4, &c, why, sizeof why), WR_EPROTO); /* not a tuple */
    const char bigarity[] = "p\x83\x69\xff\xff\xff\xff";     /* a huge tuple, no elements */
    assert_int_equal(leaf_frame_decode(bigarity, sizeof bigarity - 1, &c, why, sizeof why), WR_EPROTO);
    const char atomfirst[] = "p\x83\x68\x01\x77\x01" "a";    /* {a}: op is not an integer */
    assert_int_equal(leaf_frame_decode(atomfirst, sizeof atomfirst - 1, &c, why, sizeof why), WR_EPROTO);
    /* random bytes after "p\x83": never a crash (ASan), an error or a decoded op */
    unsigned seed = 12345;
    char *r = malloc(64);
    for (int round = 0; round < 20000; round++) {
        size_t len = 2 + (size_t)(rand_r(&seed) % 62);
        r[0] = 'p';
        r[1] = (char)131;
        for (size_t i = 2; i < len; i++)
            r[i] = (char)(rand_r(&seed) % 5 == 0 ? 0x68 : rand_r(&seed));
        int rc = leaf_frame_decode(r, len, &c, why, sizeof why);
        assert_true(rc == 0 || rc == WR_EPROTO);
        if (rc == 0)
            assert_true(c.payload == -1 || (c.payload > 2 && (size_t)c.payload < len));
    }
    free(r);
}

static void encode_collect(ei_x_buff *x, const char *const *names, const size_t *lens, int n)
{
    x->index = 0;
    ei_x_encode_version(x);
    ei_x_encode_tuple_header(x, 4);
    ei_x_encode_atom(x, "warren_agent");
    ei_x_encode_long(x, 1);
    ei_x_encode_list_header(x, n);
    for (int k = 0; k < n; k++) {
        ei_x_encode_tuple_header(x, 2);
        ei_x_encode_binary(x, names[k], (long)lens[k]);
        ei_x_encode_long(x, 100 + k);
    }
    ei_x_encode_empty_list(x);
    ei_x_encode_empty_list(x);
}

static size_t parse_collect(ei_x_buff *x, leaf_collect_t *c)
{
    int end = 0, v = 0, i = 0;
    char why[128];
    assert_int_equal(ei_decode_version(x->buff, &i, &v), 0);
    assert_int_equal(leaf_term_check(x->buff, x->index, i, &end, why, sizeof why), 0);
    assert_int_equal(leaf_parse_collect(x->buff, i, c, why, sizeof why), 0);
    return c->n;
}

static void test_collect_hints_in_place(void **state)
{
    (void)state;
    const char *a = "memory.total", *b = "process.count";
    int ma = wr_metric_find(a), mb = wr_metric_find(b);
    assert_true(ma >= 0 && mb >= 0);
    leaf_metric_value_t vals[8];
    int16_t hint[8] = {0};
    leaf_collect_t c = {.v = vals, .cap = 8, .hint = hint, .hint_cap = 8};
    ei_x_buff x;
    ei_x_new(&x);
    const char *n1[] = {a, b};
    size_t l1[] = {strlen(a), strlen(b)};
    encode_collect(&x, n1, l1, 2);
    for (int round = 0; round < 2; round++) {    /* round 1 goes through the hints */
        assert_int_equal(parse_collect(&x, &c), 2);
        assert_int_equal(vals[0].metric, ma);
        assert_int_equal(vals[1].metric, mb);
        assert_true(vals[1].value == 101.0);
    }
    assert_int_equal(hint[0], ma + 1);
    /* swapped order: the hints miss, the names are still found */
    const char *n2[] = {b, a};
    size_t l2[] = {strlen(b), strlen(a)};
    encode_collect(&x, n2, l2, 2);
    assert_int_equal(parse_collect(&x, &c), 2);
    assert_int_equal(vals[0].metric, mb);
    assert_int_equal(vals[1].metric, ma);
    /* a hinted name followed by a NUL and more bytes: not the hinted metric (a bad name) */
    char nul[32];
    memcpy(nul, "process.count\0xy", 16);
    const char *n3[] = {b, nul};
    size_t l3[] = {strlen(b), 16};
    encode_collect(&x, n3, l3, 2);
    assert_int_equal(parse_collect(&x, &c), 1);
    assert_int_equal(c.bad, 1);
    /* an improper Metrics list is an error and yields nothing */
    x.index = 0;
    ei_x_encode_version(&x);
    ei_x_encode_tuple_header(&x, 4);
    ei_x_encode_atom(&x, "warren_agent");
    ei_x_encode_long(&x, 1);
    ei_x_encode_list_header(&x, 1);
    ei_x_encode_tuple_header(&x, 2);
    ei_x_encode_binary(&x, a, (long)strlen(a));
    ei_x_encode_long(&x, 1);
    ei_x_encode_atom(&x, "improper");
    ei_x_encode_empty_list(&x);
    int end = 0, v = 0, i = 0;
    char why[128];
    ei_decode_version(x.buff, &i, &v);
    assert_int_equal(leaf_term_check(x.buff, x.index, i, &end, why, sizeof why), 0);
    assert_int_equal(leaf_parse_collect(x.buff, i, &c, why, sizeof why), WR_EPROTO);
    assert_int_equal(c.n, 0);
    ei_x_free(&x);
}

/* The number fast paths of leaf_parse_collect (small and 32-bit integers, new floats) and
 * the general path (bignums) give the values sent; a NaN float is a bad element. */
static void test_collect_value_kinds(void **state)
{
    (void)state;
    const char *names[] = {"memory.total", "process.count", "atom.count", "port.count", "ets.count"};
    leaf_metric_value_t vals[8];
    leaf_collect_t c = {.v = vals, .cap = 8};
    ei_x_buff x;
    ei_x_new(&x);
    ei_x_encode_version(&x);
    ei_x_encode_tuple_header(&x, 4);
    ei_x_encode_atom(&x, "warren_agent");
    ei_x_encode_long(&x, 1);
    ei_x_encode_list_header(&x, 5);
    for (int k = 0; k < 5; k++) {
        ei_x_encode_tuple_header(&x, 2);
        ei_x_encode_binary(&x, names[k], (long)strlen(names[k]));
        switch (k) {
        case 0: ei_x_encode_long(&x, 200); break;                      /* SMALL_INTEGER_EXT */
        case 1: ei_x_encode_long(&x, -123456); break;                  /* INTEGER_EXT */
        case 2: ei_x_encode_double(&x, 2.5); break;                    /* NEW_FLOAT_EXT */
        case 3: ei_x_encode_longlong(&x, 5000000000LL); break;         /* SMALL_BIG_EXT */
        default: {                                                     /* a NaN, by hand */
            char nan[9] = {(char)ERL_NEW_FLOAT_EXT, 0x7f, (char)0xf8, 0, 0, 0, 0, 0, 0};
            ei_x_append_buf(&x, nan, sizeof nan);
            break;
        }
        }
    }
    ei_x_encode_empty_list(&x);
    ei_x_encode_empty_list(&x);
    assert_int_equal(parse_collect(&x, &c), 4);
    assert_true(vals[0].value == 200.0);
    assert_true(vals[1].value == -123456.0);
    assert_true(vals[2].value == 2.5);
    assert_true(vals[3].value == 5000000000.0);
    assert_int_equal(c.bad, 1);
    ei_x_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_stream_in_one_read),
        cmocka_unit_test(test_split_everywhere),
        cmocka_unit_test(test_oversized_length),
        cmocka_unit_test(test_stop_drops_the_rest),
        cmocka_unit_test(test_large_split_packet_buffer_freed),
        cmocka_unit_test(test_reg_send_round_trip),
        cmocka_unit_test(test_send_decodes),
        cmocka_unit_test(test_garbage_packets),
        cmocka_unit_test(test_collect_hints_in_place),
        cmocka_unit_test(test_collect_value_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
