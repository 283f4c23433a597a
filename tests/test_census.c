/* test_census: the fleet checks' census summary (core/wr_census.c, wr_census_alarm.c): a
 * leaf's summary from node censuses, merging children's summaries at a tier, clash detection
 * at the lowest tier only (claimed upward), raise / update / clear through
 * wr_census_reconcile, example nodes (kept through the "release's examples" compaction),
 * cluster groups (different_module_versions, membership_divergence with its grace period,
 * version 1 / 2 encodings), caps, and malformed summaries. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <msgpack.h>
#include "wr_census.h"
#include "wr_error.h"

#define MD5A "0123456789abcdef0123456789abcdef"
#define MD5B "fedcba9876543210fedcba9876543210"

/* node i of release rel: modules m1 (md5 for i in bad: MD5B), m2; app a vsn. */
static void add_node(wr_census_t *c, const char *rel, const char *node, const char *m1md5,
                     const char *vsn)
{
    assert_int_equal(wr_census_add_node(c, rel, node), 0);
    assert_int_equal(wr_census_add_item(c, rel, WR_CENSUS_MODULE, "m1", m1md5, node), 0);
    assert_int_equal(wr_census_add_item(c, rel, WR_CENSUS_MODULE, "m2", MD5A, node), 0);
    assert_int_equal(wr_census_add_item(c, rel, WR_CENSUS_APP, "app", vsn, node), 0);
}

typedef struct {
    int  n, claimed;
    char text[512], name[64], rel[64];
    int  kind;
} seen_t;

static int visit(void *ud, const wr_census_clash_t *cl)
{
    seen_t *s = ud;
    s->n++;
    s->claimed += cl->claimed;
    s->kind = cl->kind;
    snprintf(s->name, sizeof s->name, "%s", cl->name);
    snprintf(s->rel, sizeof s->rel, "%s", cl->release);
    wr_census_clash_text(cl, s->text, sizeof s->text);
    return 0;
}

static void blob_of(wr_census_t *c, void **b, size_t *n)
{
    assert_int_equal(wr_census_encode(c, b, n), 0);
    assert_non_null(*b);
}

static void test_leaf_clash(void **state)
{
    (void)state;
    wr_census_t *c = wr_census_new();
    add_node(c, "rel-1", "a@h", MD5A, "1.0");
    add_node(c, "rel-1", "b@h", MD5A, "1.0");
    add_node(c, "rel-1", "x@h", MD5B, "1.0");
    add_node(c, "rel-2", "y@h", MD5B, "2.0");   /* another release: no clash with rel-1 */
    seen_t s = {0};
    assert_int_equal(wr_census_clashes(c, visit, &s), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.claimed, 0);
    assert_string_equal(s.name, "m1");
    assert_string_equal(s.rel, "rel-1");
    assert_int_equal(s.kind, WR_CENSUS_MODULE);
    assert_non_null(strstr(s.text, "md5 0123456789ab on 2 nodes (a@h, b@h)"));
    assert_non_null(strstr(s.text, "md5 fedcba987654 on 1 node (x@h)"));
    assert_string_equal(wr_census_alarm_type(WR_CENSUS_MODULE), "module_clash");
    assert_string_equal(wr_census_alarm_type(WR_CENSUS_APP), "different_application_versions");
    wr_census_destroy(&c);
    assert_null(c);
}

/* Two leaves, each uniform but different: the tier above raises; a leaf with its own clash
 * claims it, so the tier does not raise it again. Examples survive the compaction. */
static void test_merge_lowest_tier(void **state)
{
    (void)state;
    wr_census_t *l1 = wr_census_new(), *l2 = wr_census_new(), *t = wr_census_new();
    add_node(l1, "rel", "a@h", MD5A, "1.0");
    add_node(l1, "rel", "b@h", MD5A, "1.0");
    add_node(l2, "rel", "c@h", MD5A, "1.1");
    void *b1, *b2;
    size_t n1, n2;
    blob_of(l1, &b1, &n1);
    blob_of(l2, &b2, &n2);
    char why[256];
    assert_int_equal(wr_census_merge(t, b1, n1, why, sizeof why), 0);
    assert_int_equal(wr_census_merge(t, b2, n2, why, sizeof why), 0);
    seen_t s = {0};
    assert_int_equal(wr_census_clashes(t, visit, &s), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.claimed, 0);
    assert_int_equal(s.kind, WR_CENSUS_APP);
    assert_string_equal(s.name, "app");
    assert_non_null(strstr(s.text, "vsn 1.0 on 2 nodes (a@h, b@h)"));
    assert_non_null(strstr(s.text, "vsn 1.1 on 1 node (c@h)"));
    free(b1);
    free(b2);

    /* the tier's own summary, merged one level up: claimed there */
    void *bt;
    size_t nt;
    blob_of(t, &bt, &nt);
    wr_census_t *root = wr_census_new();
    assert_int_equal(wr_census_merge(root, bt, nt, why, sizeof why), 0);
    memset(&s, 0, sizeof s);
    assert_int_equal(wr_census_clashes(root, visit, &s), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.claimed, 1);
    assert_non_null(strstr(s.text, "(a@h, b@h)"));
    /* equal summaries encode equally */
    void *bt2;
    size_t nt2;
    blob_of(root, &bt2, &nt2);
    assert_int_equal(nt, nt2);
    assert_memory_equal(bt, bt2, nt);
    free(bt);
    free(bt2);
    wr_census_destroy(&root);
    wr_census_destroy(&l1);
    wr_census_destroy(&l2);
    wr_census_destroy(&t);
}

typedef struct {
    int  raises, clears, fail;
    char last[512];
} emit_t;

static int emit(void *ud, const char *scope, const char *type, const char *resource, int sev,
                const char *text)
{
    emit_t *e = ud;
    if (e->fail)
        return WR_EIO;
    if (sev)
        e->raises++;
    else
        e->clears++;
    snprintf(e->last, sizeof e->last, "%s %s %s %d %s", scope, type, resource, sev, text);
    return 0;
}

static void test_reconcile(void **state)
{
    (void)state;
    wr_census_t *c = wr_census_new();
    wr_census_raised_t *r = wr_census_raised_new();
    emit_t e = {0};
    add_node(c, "rel", "a@h", MD5A, "1.0");
    add_node(c, "rel", "x@h", MD5B, "1.0");
    assert_int_equal(wr_census_reconcile(r, c, 4, emit, &e), 0);
    assert_int_equal(e.raises, 1);
    assert_non_null(strstr(e.last, "rel module_clash m1 4 md5"));
    assert_int_equal(wr_census_raised_count(r), 1);
    assert_int_equal(wr_census_reconcile(r, c, 4, emit, &e), 0);   /* unchanged: nothing */
    assert_int_equal(e.raises, 1);
    add_node(c, "rel", "y@h", MD5B, "1.0");                          /* text changes: update */
    assert_int_equal(wr_census_reconcile(r, c, 4, emit, &e), 0);
    assert_int_equal(e.raises, 2);
    assert_non_null(strstr(e.last, "on 2 nodes (x@h, y@h)"));
    /* gone: cleared; a failed clear is kept and retried */
    wr_census_reset(c);
    add_node(c, "rel", "a@h", MD5A, "1.0");
    e.fail = 1;
    assert_int_equal(wr_census_reconcile(r, c, 4, emit, &e), 1);
    assert_int_equal(wr_census_raised_count(r), 1);
    e.fail = 0;
    assert_int_equal(wr_census_reconcile(r, c, 4, emit, &e), 0);
    assert_int_equal(e.clears, 1);
    assert_non_null(strstr(e.last, "rel module_clash m1 0"));
    assert_int_equal(wr_census_raised_count(r), 0);
    /* claimed by a lower tier: this tier clears what it raised and does not raise it */
    wr_census_t *l = wr_census_new();
    add_node(l, "rel", "a@h", MD5A, "1.0");
    add_node(l, "rel", "b@h", MD5B, "1.0");
    wr_census_reset(c);
    add_node(c, "rel", "p@h", MD5A, "1.0");
    add_node(c, "rel", "q@h", MD5B, "1.0");
    assert_int_equal(wr_census_reconcile(r, c, 4, emit, &e), 0);
    assert_int_equal(e.raises, 3);
    void *b;
    size_t n;
    char why[128];
    blob_of(l, &b, &n);
    wr_census_reset(c);
    assert_int_equal(wr_census_merge(c, b, n, why, sizeof why), 0);
    assert_int_equal(wr_census_reconcile(r, c, 4, emit, &e), 0);
    assert_int_equal(e.raises, 3);
    assert_int_equal(e.clears, 2);
    free(b);
    wr_census_destroy(&l);
    wr_census_raised_destroy(&r);
    assert_null(r);
    wr_census_destroy(&c);
}

static void test_caps(void **state)
{
    (void)state;
    wr_census_t *c = wr_census_new();
    char rel[32], md5[40], name[300];
    for (int i = 0; i < WR_CENSUS_MAX_RELEASES; i++) {
        snprintf(rel, sizeof rel, "r%d", i);
        assert_int_equal(wr_census_add_node(c, rel, "a@h"), 0);
    }
    assert_int_equal(wr_census_add_node(c, "one-more", "a@h"), WR_EFULL);
    for (int i = 0; i < WR_CENSUS_MAX_VALUES; i++) {
        snprintf(md5, sizeof md5, "%032d", i);
        assert_int_equal(wr_census_add_item(c, "r0", WR_CENSUS_MODULE, "m", md5, "a@h"), 0);
    }
    assert_int_equal(wr_census_add_item(c, "r0", WR_CENSUS_MODULE, "m", "x", "a@h"), WR_EFULL);
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    assert_int_equal(wr_census_add_item(c, "r0", WR_CENSUS_MODULE, name, "x", "a@h"), WR_EINVAL);
    assert_int_equal(wr_census_add_item(c, "r0", 7, "m", "x", "a@h"), WR_EINVAL);
    assert_int_equal(wr_census_add_item(c, "nope", WR_CENSUS_MODULE, "m", "x", "a@h"), WR_EINVAL);
    assert_int_equal(wr_census_add_item(c, "r0", WR_CENSUS_MODULE, "", "x", "a@h"), WR_EINVAL);
    wr_census_stats_t st;
    wr_census_stats(c, &st);
    assert_int_equal(st.releases, WR_CENSUS_MAX_RELEASES);
    assert_int_equal(st.dropped, 2);
    /* many example nodes: at most WR_CENSUS_EXAMPLES kept, the count is exact */
    wr_census_t *d = wr_census_new();
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "n%d@h", i);
        add_node(d, "rel", name, i == 9 ? MD5B : MD5A, "1");
    }
    seen_t s = {0};
    assert_int_equal(wr_census_clashes(d, visit, &s), 0);
    assert_non_null(strstr(s.text, "on 9 nodes (n0@h, n1@h, n2@h, ...)"));
    wr_census_destroy(&d);
    wr_census_destroy(&c);
}

/* ---- clusters --------------------------------------------------------------------------- */

#define VIEW3 "3:00112233445566778899aabbccddeeff"
#define VIEW1 "1:ffeeddccbbaa99887766554433221100"
#define VIEW2 "2:0123456789abcdef0123456789abcdef"

/* node of release rel in cluster cl: module m1 (md5), its view (NULL: none) */
static void add_cnode(wr_census_t *c, const char *rel, const char *cl, const char *node, const char *md5,
                      const char *view)
{
    assert_int_equal(wr_census_add_node(c, rel, node), 0);
    assert_int_equal(wr_census_add_item(c, rel, WR_CENSUS_MODULE, "m1", md5, node), 0);
    assert_int_equal(wr_census_add_group_node(c, WR_CENSUS_CLUSTER, cl, node), 0);
    assert_int_equal(wr_census_add_group_item(c, WR_CENSUS_CLUSTER, cl, WR_CENSUS_MODULE, "m1", md5, node), 0);
    if (view)
        assert_int_equal(wr_census_add_group_item(c, WR_CENSUS_CLUSTER, cl, WR_CENSUS_VIEW,
                                                  WR_CENSUS_VIEW_ITEM, view, node), 0);
}

typedef struct {
    int  n, claimed;
    char types[256], text[512];
} cseen_t;

static int cvisit(void *ud, const wr_census_clash_t *cl)
{
    cseen_t *s = ud;
    s->n++;
    s->claimed += cl->claimed;
    size_t o = strlen(s->types);
    snprintf(s->types + o, sizeof s->types - o, "%s/%s/%s ", wr_census_clash_type(cl), cl->release, cl->name);
    if (cl->kind == WR_CENSUS_VIEW || cl->group == WR_CENSUS_CLUSTER)
        wr_census_clash_text(cl, s->text, sizeof s->text);
    return 0;
}

/* Two releases in one cluster: each release is uniform (no module_clash) but the cluster's
 * nodes differ (different_module_versions); merged upward it is claimed; version 2 bytes. */
static void test_cluster_modules(void **state)
{
    (void)state;
    wr_census_t *l = wr_census_new(), *t = wr_census_new();
    add_cnode(l, "front-1", "ring", "a@h", MD5A, VIEW3);
    add_cnode(l, "front-1", "ring", "b@h", MD5A, VIEW3);
    add_cnode(l, "back-1", "ring", "c@h", MD5B, VIEW3);
    cseen_t s = {0};
    assert_int_equal(wr_census_clashes(l, cvisit, &s), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.types, "different_module_versions/ring/m1 ");
    assert_non_null(strstr(s.text, "md5 0123456789ab on 2 nodes (a@h, b@h); md5 fedcba987654 on 1 node (c@h)"));
    wr_census_stats_t st;
    wr_census_stats(l, &st);
    assert_int_equal(st.releases, 2);
    assert_int_equal(st.clusters, 1);
    void *b;
    size_t n;
    blob_of(l, &b, &n);
    assert_true(n > 2);
    assert_int_equal(((unsigned char *)b)[0], 0x93);      /* [2, releases, clusters] */
    assert_int_equal(((unsigned char *)b)[1], 2);
    char why[256];
    assert_int_equal(wr_census_merge(t, b, n, why, sizeof why), 0);
    memset(&s, 0, sizeof s);
    assert_int_equal(wr_census_clashes(t, cvisit, &s), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.claimed, 1);                        /* the leaf raised it */
    void *b2;
    size_t n2;
    blob_of(t, &b2, &n2);                                  /* canonical: re-encodes equally */
    assert_int_equal(n, n2);
    assert_memory_equal(b, b2, n);
    free(b);
    free(b2);
    /* no cluster group: version 1 bytes, as before */
    wr_census_t *v1 = wr_census_new();
    add_node(v1, "rel", "a@h", MD5A, "1");
    blob_of(v1, &b, &n);
    assert_int_equal(((unsigned char *)b)[0], 0x92);
    assert_int_equal(((unsigned char *)b)[1], 1);
    /* a tier merges version 1 and 2 children together */
    assert_int_equal(wr_census_merge(t, b, n, why, sizeof why), 0);
    wr_census_stats(t, &st);
    assert_int_equal(st.releases, 3);
    assert_int_equal(st.clusters, 1);
    free(b);
    /* item kinds must suit their group */
    assert_int_equal(wr_census_add_group_item(v1, WR_CENSUS_RELEASE, "rel", WR_CENSUS_VIEW, "membership", VIEW1, "a@h"),
                     WR_EINVAL);
    assert_int_equal(wr_census_add_group_node(v1, WR_CENSUS_CLUSTER, "ring", "a@h"), 0);
    assert_int_equal(wr_census_add_group_item(v1, WR_CENSUS_CLUSTER, "ring", WR_CENSUS_APP, "app", "1", "a@h"),
                     WR_EINVAL);
    assert_int_equal(wr_census_add_group_item(v1, WR_CENSUS_CLUSTER, "nope", WR_CENSUS_MODULE, "m", MD5A, "a@h"),
                     WR_EINVAL);
    /* a release and a cluster of the same name are distinct groups */
    assert_int_equal(wr_census_add_group_item(v1, WR_CENSUS_CLUSTER, "ring", WR_CENSUS_MODULE, "m1", MD5B, "a@h"), 0);
    memset(&s, 0, sizeof s);
    assert_int_equal(wr_census_clashes(v1, cvisit, &s), 0);
    assert_int_equal(s.n, 0);
    wr_census_destroy(&v1);
    wr_census_destroy(&l);
    wr_census_destroy(&t);
}

/* Membership views: the odd nodes named, raised only after the grace period, cleared when
 * they agree; a divergence shorter than the grace is forgotten without a raise or a clear. */
static void test_membership(void **state)
{
    (void)state;
    wr_census_t *c = wr_census_new();
    wr_census_raised_t *r = wr_census_raised_new();
    emit_t e = {0};
    add_cnode(c, "rel", "ring", "a@h", MD5A, VIEW3);
    add_cnode(c, "rel", "ring", "b@h", MD5A, VIEW3);
    add_cnode(c, "rel", "ring", "c@h", MD5A, VIEW1);
    cseen_t s = {0};
    assert_int_equal(wr_census_clashes(c, cvisit, &s), 0);
    assert_string_equal(s.types, "membership_divergence/ring/membership ");
    assert_string_equal(s.text, "odd nodes: c@h (sees 1 node); the most common view (3 nodes) is on 2 nodes "
                                "(a@h, b@h)");
    assert_int_equal(wr_census_reconcile_at(r, c, 4, 1000, 5000, emit, &e), 0);
    assert_int_equal(e.raises, 0);
    assert_int_equal(wr_census_raised_pending(r), 1);
    assert_int_equal(wr_census_raised_count(r), 0);
    assert_int_equal(wr_census_reconcile_at(r, c, 4, 5999, 5000, emit, &e), 0);
    assert_int_equal(e.raises, 0);
    assert_int_equal(wr_census_reconcile_at(r, c, 4, 6000, 5000, emit, &e), 0);
    assert_int_equal(e.raises, 1);
    assert_non_null(strstr(e.last, "ring membership_divergence membership 4 odd nodes: c@h"));
    assert_int_equal(wr_census_raised_pending(r), 0);
    assert_int_equal(wr_census_raised_count(r), 1);
    assert_int_equal(wr_census_reconcile_at(r, c, 4, 7000, 5000, emit, &e), 0);
    assert_int_equal(e.raises, 1);                          /* unchanged */
    /* they agree again: cleared at once */
    wr_census_reset(c);
    add_cnode(c, "rel", "ring", "a@h", MD5A, VIEW3);
    add_cnode(c, "rel", "ring", "c@h", MD5A, VIEW3);
    assert_int_equal(wr_census_reconcile_at(r, c, 4, 8000, 5000, emit, &e), 0);
    assert_int_equal(e.clears, 1);
    assert_non_null(strstr(e.last, "ring membership_divergence membership 0"));
    assert_int_equal(wr_census_raised_count(r), 0);
    /* a short divergence: pending, then gone: no raise, no clear */
    add_cnode(c, "rel", "ring", "d@h", MD5A, VIEW2);
    assert_int_equal(wr_census_reconcile_at(r, c, 4, 9000, 5000, emit, &e), 0);
    assert_int_equal(wr_census_raised_pending(r), 1);
    wr_census_reset(c);
    add_cnode(c, "rel", "ring", "a@h", MD5A, VIEW3);
    assert_int_equal(wr_census_reconcile_at(r, c, 4, 10000, 5000, emit, &e), 0);
    assert_int_equal(wr_census_raised_pending(r), 0);
    assert_int_equal(e.raises, 1);
    assert_int_equal(e.clears, 1);
    /* a tie of counts goes to the larger view: the node that sees fewer is the odd one */
    wr_census_reset(c);
    add_cnode(c, "rel", "ring", "a@h", MD5A, VIEW1);
    add_cnode(c, "rel", "ring", "b@h", MD5A, VIEW2);
    memset(&s, 0, sizeof s);
    assert_int_equal(wr_census_clashes(c, cvisit, &s), 0);
    assert_string_equal(s.text, "odd nodes: a@h (sees 1 node); the most common view (2 nodes) is on 1 node (b@h)");
    /* no grace (plain reconcile): raised at once */
    assert_int_equal(wr_census_reconcile(r, c, 4, emit, &e), 0);
    assert_int_equal(e.raises, 2);
    wr_census_raised_destroy(&r);
    wr_census_destroy(&c);
}

static int merge_raw(void (*pack)(msgpack_packer *), char *why, size_t whylen)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack(&pk);
    wr_census_t *c = wr_census_new();
    int rc = wr_census_merge(c, sb.data, sb.size, why, whylen);
    wr_census_destroy(&c);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static void ps(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static void m_version(msgpack_packer *pk) { msgpack_pack_array(pk, 2); msgpack_pack_uint8(pk, 2); msgpack_pack_array(pk, 0); }
static void m_notarr(msgpack_packer *pk) { msgpack_pack_int(pk, 1); }
static void m_kind(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 2);
    msgpack_pack_uint8(pk, 1);
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 4);
    ps(pk, "rel");
    msgpack_pack_uint8(pk, 1);
    msgpack_pack_array(pk, 0);
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 3);
    msgpack_pack_uint8(pk, 9);                 /* bad kind */
    ps(pk, "m");
    msgpack_pack_array(pk, 0);
}
static void m_releases(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 2);
    msgpack_pack_uint8(pk, 1);
    msgpack_pack_array(pk, WR_CENSUS_MAX_RELEASES + 1);
    for (int i = 0; i <= WR_CENSUS_MAX_RELEASES; i++)
        msgpack_pack_nil(pk);
}

static void m_cluster_app(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 3);
    msgpack_pack_uint8(pk, 2);
    msgpack_pack_array(pk, 0);
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 4);
    ps(pk, "ring");
    msgpack_pack_uint8(pk, 1);
    msgpack_pack_array(pk, 0);
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 3);
    msgpack_pack_uint8(pk, WR_CENSUS_APP);     /* an application in a cluster group */
    ps(pk, "a");
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 3);
    ps(pk, "1.0");
    msgpack_pack_uint8(pk, 1);
    msgpack_pack_nil(pk);
}
static void m_v1_three(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 3);                 /* version 1 has two elements */
    msgpack_pack_uint8(pk, 1);
    msgpack_pack_array(pk, 0);
    msgpack_pack_array(pk, 0);
}

static void test_malformed(void **state)
{
    (void)state;
    char why[256];
    assert_int_equal(merge_raw(m_version, why, sizeof why), WR_EPROTO);
    assert_non_null(strstr(why, "version"));
    assert_int_equal(merge_raw(m_notarr, why, sizeof why), WR_EPROTO);
    assert_int_equal(merge_raw(m_kind, why, sizeof why), WR_EPROTO);
    assert_non_null(strstr(why, "malformed item"));
    assert_int_equal(merge_raw(m_releases, why, sizeof why), WR_ETOOBIG);
    assert_int_equal(merge_raw(m_cluster_app, why, sizeof why), WR_EPROTO);
    assert_int_equal(merge_raw(m_v1_three, why, sizeof why), WR_EPROTO);
    wr_census_t *c = wr_census_new();
    assert_int_equal(wr_census_merge(c, "\x92\x01", 2, why, sizeof why), WR_EPROTO);  /* truncated */
    /* every truncation of a valid summary is refused without a crash */
    wr_census_t *v = wr_census_new();
    add_node(v, "rel", "a@h", MD5A, "1");
    add_node(v, "rel", "b@h", MD5B, "2");
    void *b;
    size_t n;
    blob_of(v, &b, &n);
    for (size_t k = 1; k < n; k++) {
        wr_census_reset(c);
        assert_int_not_equal(wr_census_merge(c, b, k, why, sizeof why), 0);
    }
    wr_census_reset(c);
    assert_int_equal(wr_census_merge(c, b, n, why, sizeof why), 0);
    free(b);
    wr_census_destroy(&v);
    wr_census_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaf_clash),
        cmocka_unit_test(test_merge_lowest_tier),
        cmocka_unit_test(test_reconcile),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_cluster_modules),
        cmocka_unit_test(test_membership),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
