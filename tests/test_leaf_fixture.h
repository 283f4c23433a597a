/* test_leaf_fixture.h: scaffolding of the leaf tests that include leaf sources directly
 * (tests/test_leaf_notify.c, tests/test_leaf_procs.c): a leaf_t with two fake nodes, and the
 * decoding of the rex call a stubbed leaf_beam_send_rex receives. Include it after the leaf
 * sources (for leaf_t) and <cmocka.h>. */
#ifndef TEST_LEAF_FIXTURE_H
#define TEST_LEAF_FIXTURE_H
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ei.h>

/* Sets up lf (zeroed by the caller) as leaf "leaf-t" on the default libev loop, a C node
 * named cnode with cookie "cookie", rx / tx buffers, and its n nodes "n0@h", "n1@h", ... UP on
 * fds 10, 11, ... (nodes zeroed by the caller). Fails the test when ei refuses. */
static inline void tl_leaf_init(leaf_t *lf, leaf_node_t *nodes, uint32_t n, const char *cnode)
{
    lf->loop = ev_default_loop(0);
    snprintf(lf->cfg.id, sizeof lf->cfg.id, "leaf-t");
    assert_true(ei_connect_init(&lf->ec, cnode, "cookie", 1) >= 0);
    assert_int_equal(ei_x_new(&lf->rx), 0);
    assert_int_equal(ei_x_new(&lf->tx), 0);
    for (uint32_t i = 0; i < n; i++) {
        nodes[i].leaf = lf;
        nodes[i].idx = i;
        snprintf(nodes[i].name, sizeof nodes[i].name, "n%u@h", i);
        nodes[i].state = WR_NODE_UP;
        nodes[i].fd = 10 + (int)i;
    }
    lf->nodes = nodes;
    lf->n_nodes = n;
}

/* Decodes the head of the call in b, {'$gen_call', {Pid, Ref}, {call, M, F, Args, user}},
 * asserting its shape up to the inner 5-tuple: *outer = the first tuple's arity, *ref = Ref.
 * Returns the index of M in b. */
static inline int tl_decode_gen_call(const char *b, int *outer, erlang_ref *ref)
{
    int i = 0, v, ar;
    char a[MAXATOMLEN_UTF8];
    erlang_pid pid;
    assert_int_equal(ei_decode_version(b, &i, &v), 0);
    assert_int_equal(ei_decode_tuple_header(b, &i, outer), 0);
    assert_int_equal(ei_decode_atom(b, &i, a), 0);
    assert_string_equal(a, "$gen_call");
    assert_int_equal(ei_decode_tuple_header(b, &i, &ar), 0);
    assert_int_equal(ei_decode_pid(b, &i, &pid), 0);
    assert_int_equal(ei_decode_ref(b, &i, ref), 0);
    assert_int_equal(ei_decode_tuple_header(b, &i, &ar), 0);
    assert_int_equal(ar, 5);
    return i;
}

#endif
