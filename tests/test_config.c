/* test_config: wr_config over real files in a temporary directory: values, defaults, every
 * error class with its file name and line, unknown keys, list paths, string lists. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "wr_config.h"
#include "wr_error.h"
#include "test_tmpdir.h"

static char g_dir[64];

TU_TMPDIR_FIXTURE(setup_dir, remove_dir, g_dir, "test_config")

/* Writes text to g_dir/name; path receives the full name. */
static void write_file(const char *name, const char *text, char *path, size_t pathlen)
{
    snprintf(path, pathlen, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static wr_config_t *load_file(const char *name, const char *text, char *path, size_t pathlen)
{
    char err[512] = "";
    write_file(name, text, path, pathlen);
    wr_config_t *cfg = wr_config_load(path, err, sizeof err);
    if (!cfg)
        fail_msg("load %s: %s", path, err);
    return cfg;
}

/* Asserts that some recorded error equals exactly "<path>:<rest>" */
static void assert_has_error(const wr_config_t *cfg, const char *path, const char *rest)
{
    char want[1024];
    snprintf(want, sizeof want, "%s:%s", path, rest);
    for (int i = 0; i < wr_config_error_count(cfg); i++)
        if (strcmp(wr_config_error_at(cfg, i), want) == 0)
            return;
    for (int i = 0; i < wr_config_error_count(cfg); i++)
        print_message("  recorded: %s\n", wr_config_error_at(cfg, i));
    fail_msg("missing error: %s", want);
}

static const char *const modes[] = {"failover", "all", NULL};

static void test_valid_values(void **state)
{
    (void)state;
    char path[256];
    wr_config_t *cfg = load_file("good.cfg",
        "leaf = {\n"
        "  id = \"leaf-1\";\n"
        "  interval = 10.5;\n"
        "  timeout = 5;             # an integer where a float is asked for\n"
        "  down_after = 3;\n"
        "  big = 10000000000L;\n"
        "  flag = true;\n"
        "  parent_mode = \"all\";\n"
        "  parents = [\"tcp://a:1\", \"tcp://b:2\"];\n"
        "  store = { path = \"/tmp/x\"; map_size_mb = 64; };\n"
        "};\n", path, sizeof path);
    char id[64];
    double d = 0;
    int64_t i = 0;
    int b = 0, e = -1;
    assert_int_equal(wr_config_string(cfg, "leaf.id", "none", id, sizeof id), 0);
    assert_string_equal(id, "leaf-1");
    assert_int_equal(wr_config_double(cfg, "leaf.interval", 1.0, 0.1, 3600, &d), 0);
    assert_true(d == 10.5);
    assert_int_equal(wr_config_double(cfg, "leaf.timeout", 1.0, 0.1, 3600, &d), 0);
    assert_true(d == 5.0);
    assert_int_equal(wr_config_int(cfg, "leaf.down_after", 9, 1, 100, &i), 0);
    assert_int_equal(i, 3);
    assert_int_equal(wr_config_int(cfg, "leaf.big", 0, 0, INT64_MAX, &i), 0);
    assert_true(i == 10000000000LL);
    assert_int_equal(wr_config_bool(cfg, "leaf.flag", 0, &b), 0);
    assert_int_equal(b, 1);
    assert_int_equal(wr_config_enum(cfg, "leaf.parent_mode", modes, 0, &e), 0);
    assert_int_equal(e, 1);
    char **parents = NULL;
    size_t n = 0;
    assert_int_equal(wr_config_strings(cfg, "leaf.parents", &parents, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(parents[0], "tcp://a:1");
    assert_string_equal(parents[1], "tcp://b:2");
    assert_null(parents[2]);
    wr_config_strings_free(&parents);
    assert_null(parents);
    assert_int_equal(wr_config_has(cfg, "leaf.store"), 1);
    char sp[64];
    assert_int_equal(wr_config_string(cfg, "leaf.store.path", "", sp, sizeof sp), 0);
    assert_string_equal(sp, "/tmp/x");
    assert_int_equal(wr_config_int(cfg, "leaf.store.map_size_mb", 1024, 1, 1 << 20, &i), 0);
    assert_int_equal(i, 64);
    assert_int_equal(wr_config_finish(cfg), 0);
    assert_int_equal(wr_config_error_count(cfg), 0);
    assert_null(wr_config_error_at(cfg, 0));
    wr_config_destroy(&cfg);
    assert_null(cfg);
}

static void test_defaults(void **state)
{
    (void)state;
    char err[256];
    wr_config_t *cfg = wr_config_load_string("leaf = { id = \"x\"; };\n", "mem.cfg", err, sizeof err);
    assert_non_null(cfg);
    double d = 0;
    int64_t i = 0;
    int b = -1, e = -1;
    char s[16];
    assert_int_equal(wr_config_double(cfg, "leaf.interval", 10.0, 0.1, 3600, &d), 0);
    assert_true(d == 10.0);
    assert_int_equal(wr_config_int(cfg, "leaf.down_after", 3, 1, 100, &i), 0);
    assert_int_equal(i, 3);
    assert_int_equal(wr_config_bool(cfg, "leaf.log.syslog", 0, &b), 0);
    assert_int_equal(b, 0);
    assert_int_equal(wr_config_enum(cfg, "leaf.parent_mode", modes, 0, &e), 0);
    assert_int_equal(e, 0);
    assert_int_equal(wr_config_string(cfg, "nothere.at.all", "dflt", s, sizeof s), 0);
    assert_string_equal(s, "dflt");
    assert_int_equal(wr_config_has(cfg, "leaf.store"), 0);
    assert_int_equal(wr_config_list_length(cfg, "leaf.nodes"), 0);
    char **list = NULL;
    size_t n = 99;
    assert_int_equal(wr_config_strings(cfg, "leaf.parents", &list, &n), 0);
    assert_non_null(list);
    assert_null(list[0]);
    assert_int_equal(n, 0);
    wr_config_strings_free(&list);
    assert_int_equal(wr_config_string(cfg, "leaf.id", "", s, sizeof s), 0);
    assert_int_equal(wr_config_finish(cfg), 0);
    wr_config_destroy(&cfg);
}

static void test_error_classes(void **state)
{
    (void)state;
    char path[256];
    wr_config_t *cfg = load_file("bad.cfg",
        "leaf = {\n"                                        /* 1 */
        "  interval = \"ten\";\n"                           /* 2 */
        "  down_after = 0;\n"                               /* 3 */
        "  parent_mode = \"fail\";\n"                       /* 4 */
        "  id = \"0123456789012345678901234567890123456789012345678901234567890123\";\n" /* 5 */
        "  retention = 10.5;\n"                             /* 6 */
        "  flag = 1;\n"                                     /* 7 */
        "  intervl = 5.0;\n"                                /* 8 */
        "  port = 99999;\n"                                 /* 9 */
        "  ratio = 1.5;\n"                                  /* 10 */
        "  name = 7;\n"                                     /* 11 */
        "};\n", path, sizeof path);
    double d = -1;
    int64_t i = -1;
    int b = -1, e = -1;
    char id[64];
    assert_int_equal(wr_config_double(cfg, "leaf.interval", 10.0, 0.1, 3600, &d), WR_ECONFIG);
    assert_true(d == 10.0);
    assert_int_equal(wr_config_int(cfg, "leaf.down_after", 3, 1, 3600, &i), WR_ECONFIG);
    assert_int_equal(i, 3);
    assert_int_equal(wr_config_enum(cfg, "leaf.parent_mode", modes, 0, &e), WR_ECONFIG);
    assert_int_equal(e, 0);
    assert_int_equal(wr_config_string(cfg, "leaf.id", "dflt", id, sizeof id), WR_ECONFIG);
    assert_string_equal(id, "dflt");
    assert_int_equal(wr_config_int(cfg, "leaf.retention", 60, 1, 1000000, &i), WR_ECONFIG);
    assert_int_equal(i, 60);
    assert_int_equal(wr_config_bool(cfg, "leaf.flag", 0, &b), WR_ECONFIG);
    assert_int_equal(b, 0);
    assert_int_equal(wr_config_int(cfg, "leaf.port", 0, 0, 65535, &i), WR_ECONFIG);
    assert_int_equal(wr_config_double(cfg, "leaf.ratio", 0.5, 0.0, 1.0, &d), WR_ECONFIG);
    assert_true(d == 0.5);
    assert_int_equal(wr_config_string(cfg, "leaf.name", "n", id, sizeof id), WR_ECONFIG);
    assert_string_equal(id, "n");
    assert_int_equal(wr_config_error_count(cfg), 9);
    assert_int_equal(wr_config_finish(cfg), 10);

    assert_has_error(cfg, path, "2: leaf.interval: expected a number, got a string");
    assert_has_error(cfg, path, "3: leaf.down_after: must be between 1 and 3600, got 0");
    assert_has_error(cfg, path, "4: leaf.parent_mode: must be one of: failover, all (got \"fail\")");
    assert_has_error(cfg, path, "5: leaf.id: too long (max 63 bytes)");
    assert_has_error(cfg, path, "6: leaf.retention: expected an integer, got a float");
    assert_has_error(cfg, path, "7: leaf.flag: expected true or false, got an integer");
    assert_has_error(cfg, path, "8: leaf.intervl: unknown setting");
    assert_has_error(cfg, path, "9: leaf.port: must be between 0 and 65535, got 99999");
    assert_has_error(cfg, path, "10: leaf.ratio: must be between 0 and 1, got 1.5");
    assert_has_error(cfg, path, "11: leaf.name: expected a string, got an integer");
    /* finish is idempotent */
    assert_int_equal(wr_config_finish(cfg), 10);
    wr_config_destroy(&cfg);
}

static void test_unknown_keys(void **state)
{
    (void)state;
    char path[256];
    wr_config_t *cfg = load_file("unknown.cfg",
        "leaf = {\n"                                  /* 1 */
        "  id = \"a\";\n"                             /* 2 */
        "  store = {\n"                               /* 3 */
        "    path = \"/x\";\n"                        /* 4 */
        "    map_sise_mb = 10;\n"                     /* 5: typo inside a read group */
        "  };\n"                                      /* 6 */
        "  tls = { cert = \"c\"; key = \"k\"; };\n"   /* 7: group never read */
        "  plugin = { a = 1; b = { c = 2; }; };\n"    /* 8: accepted subtree */
        "  checked = { used = 1; typo = 2; };\n"      /* 9: has() on a group */
        "};\n"                                        /* 10 */
        "relay = { id = \"r\"; };\n",                 /* 11: unknown top-level section */
        path, sizeof path);
    char s[32];
    int64_t i;
    wr_config_string(cfg, "leaf.id", "", s, sizeof s);
    wr_config_string(cfg, "leaf.store.path", "", s, sizeof s);
    wr_config_accept(cfg, "leaf.plugin");
    wr_config_accept(cfg, "leaf.absent");   /* accepting a missing key is harmless */
    assert_int_equal(wr_config_has(cfg, "leaf.checked"), 1);
    wr_config_int(cfg, "leaf.checked.used", 0, 0, 10, &i);
    assert_int_equal(wr_config_finish(cfg), 4);
    assert_has_error(cfg, path, "5: leaf.store.map_sise_mb: unknown setting");
    assert_has_error(cfg, path, "7: leaf.tls: unknown setting");
    assert_has_error(cfg, path, "9: leaf.checked.typo: unknown setting");
    assert_has_error(cfg, path, "11: relay: unknown setting");
    wr_config_destroy(&cfg);
}

static void test_syntax_error(void **state)
{
    (void)state;
    char path[256], err[512];
    write_file("syntax.cfg",
        "leaf = {\n"
        "  id = \"a\";\n"
        "  interval = 10.0;\n"
        "  port = = 3;\n"
        "};\n", path, sizeof path);
    assert_null(wr_config_load(path, err, sizeof err));
    char want[512];
    snprintf(want, sizeof want, "%s:4: syntax error", path);
    assert_string_equal(err, want);

    write_file("syntax2.cfg", "a = 1;\na = 2;\n", path, sizeof path);
    assert_null(wr_config_load(path, err, sizeof err));
    snprintf(want, sizeof want, "%s:2: duplicate setting name", path);
    assert_string_equal(err, want);
}

static void test_missing_file(void **state)
{
    (void)state;
    char path[256], err[512], want[512];
    snprintf(path, sizeof path, "%s/does-not-exist.cfg", g_dir);
    assert_null(wr_config_load(path, err, sizeof err));
    snprintf(want, sizeof want, "%s: cannot read: No such file or directory", path);
    assert_string_equal(err, want);

    assert_null(wr_config_load(g_dir, err, sizeof err));
    snprintf(want, sizeof want, "%s: cannot read: Is a directory", g_dir);
    assert_string_equal(err, want);
}

static void test_list_of_groups(void **state)
{
    (void)state;
    char path[256];
    wr_config_t *cfg = load_file("nodes.cfg",
        "x = {\n"                                                     /* 1 */
        "  nodes = (\n"                                               /* 2 */
        "    { name = \"app1@host1\"; },\n"                           /* 3 */
        "    { name = \"app2@host2\";\n"                              /* 4 */
        "      port = 4370;\n"                                        /* 5 */
        "      prot = 1; },\n"                                        /* 6: typo */
        "    { name = \"app3@host3\"; port = \"x\"; }\n"              /* 7 */
        "  );\n"                                                      /* 8 */
        "};\n", path, sizeof path);
    int n = wr_config_list_length(cfg, "x.nodes");
    assert_int_equal(n, 3);
    char name[64], key[64];
    int64_t port;
    assert_int_equal(wr_config_string(cfg, "x.nodes.[1].name", "", name, sizeof name), 0);
    assert_string_equal(name, "app2@host2");
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "x.nodes.[%d].name", i);
        assert_int_equal(wr_config_string(cfg, key, "", name, sizeof name), 0);
        snprintf(key, sizeof key, "x.nodes.[%d].port", i);
        wr_config_int(cfg, key, 0, 0, 65535, &port);
        if (i == 1)
            assert_int_equal(port, 4370);
        if (i == 0)
            assert_int_equal(port, 0);
    }
    assert_string_equal(name, "app3@host3");
    /* past the end, bad index syntax: absent, default */
    assert_int_equal(wr_config_string(cfg, "x.nodes.[3].name", "d", name, sizeof name), 0);
    assert_string_equal(name, "d");
    assert_int_equal(wr_config_has(cfg, "x.nodes.[-1]"), 0);
    assert_int_equal(wr_config_has(cfg, "x.nodes.1"), 0);
    assert_int_equal(wr_config_has(cfg, "x.nodes[1]"), 0);
    assert_int_equal(wr_config_has(cfg, "x..nodes"), 0);
    /* a missing key's error is reported at its nearest parent's line */
    wr_config_error(cfg, "x.nodes.[1].address", "required when port is set");
    assert_int_equal(wr_config_finish(cfg), 3);
    assert_has_error(cfg, path, "7: x.nodes.[2].port: expected an integer, got a string");
    assert_has_error(cfg, path, "6: x.nodes.[1].prot: unknown setting");
    assert_has_error(cfg, path, "4: x.nodes.[1].address: required when port is set");
    /* list_length on a scalar is an error */
    wr_config_destroy(&cfg);
}

static void test_strings_lists(void **state)
{
    (void)state;
    char err[256];
    wr_config_t *cfg = wr_config_load_string(
        "arr = [\"a\", \"b\"];\n"          /* 1 */
        "lst = (\"c\", \"d\", \"e\");\n"   /* 2 */
        "mixed = (\"f\", 3);\n"            /* 3 */
        "one = \"g\";\n"                   /* 4 */
        "ints = [1, 2];\n"                 /* 5 */
        "empty = [];\n",                   /* 6 */
        "strings.cfg", err, sizeof err);
    assert_non_null(cfg);
    char **l = NULL;
    size_t n = 0;
    assert_int_equal(wr_config_strings(cfg, "arr", &l, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(l[1], "b");
    wr_config_strings_free(&l);
    assert_int_equal(wr_config_strings(cfg, "lst", &l, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(l[0], "c");
    assert_string_equal(l[2], "e");
    assert_null(l[3]);
    wr_config_strings_free(&l);
    assert_int_equal(wr_config_strings(cfg, "mixed", &l, &n), WR_ECONFIG);
    assert_int_equal(n, 0);
    assert_non_null(l);
    assert_null(l[0]);
    wr_config_strings_free(&l);
    assert_int_equal(wr_config_strings(cfg, "one", &l, &n), WR_ECONFIG);
    wr_config_strings_free(&l);
    assert_int_equal(wr_config_strings(cfg, "empty", &l, &n), 0);
    assert_int_equal(n, 0);
    wr_config_strings_free(&l);
    assert_int_equal(wr_config_list_length(cfg, "ints"), 2);
    assert_int_equal(wr_config_list_length(cfg, "lst"), 3);
    assert_int_equal(wr_config_list_length(cfg, "one"), 0);   /* not a list: error */
    assert_int_equal(wr_config_finish(cfg), 3);
    assert_has_error(cfg, "strings.cfg", "3: mixed.[1]: expected a string, got an integer");
    assert_has_error(cfg, "strings.cfg", "4: one: expected a list of strings, got a string");
    assert_has_error(cfg, "strings.cfg", "4: one: expected a list, got a string");
    wr_config_destroy(&cfg);
}

static void test_load_string_names(void **state)
{
    (void)state;
    char err[256];
    assert_null(wr_config_load_string("a = 1;\nb = = 2;\n", "generated/leaf-3.cfg", err, sizeof err));
    assert_string_equal(err, "generated/leaf-3.cfg:2: syntax error");
    wr_config_t *cfg = wr_config_load_string("a = 1;\nb = true;\n", "generated/leaf-3.cfg", err, sizeof err);
    assert_non_null(cfg);
    double d;
    assert_int_equal(wr_config_double(cfg, "b", 0, 0, 1, &d), WR_ECONFIG);
    assert_string_equal(wr_config_error_at(cfg, 0), "generated/leaf-3.cfg:2: b: expected a number, got a boolean");
    /* an error about a missing top-level key has no line to name */
    wr_config_error(cfg, "id", "required");
    assert_string_equal(wr_config_error_at(cfg, 1), "generated/leaf-3.cfg: id: required");
    assert_int_equal(wr_config_finish(cfg), 3);
    assert_string_equal(wr_config_error_at(cfg, 2), "generated/leaf-3.cfg:1: a: unknown setting");
    wr_config_destroy(&cfg);
    wr_config_destroy(&cfg);   /* NULL-safe */
}

static void test_include(void **state)
{
    (void)state;
    char inc[256], path[256];
    write_file("inc.cfg", "# included\nport = \"x\";\n", inc, sizeof inc);
    wr_config_t *cfg = load_file("main.cfg", "id = \"a\";\n@include \"inc.cfg\"\n", path, sizeof path);
    int64_t port;
    assert_int_equal(wr_config_int(cfg, "port", 1, 0, 65535, &port), WR_ECONFIG);
    assert_int_equal(wr_config_finish(cfg), 2);
    /* an error in an included file names that file; the include is found beside main.cfg */
    assert_has_error(cfg, inc, "2: port: expected an integer, got a string");
    assert_has_error(cfg, path, "1: id: unknown setting");
    wr_config_destroy(&cfg);

    char err[512], want[512];
    write_file("inc2.cfg", "\na = = 1;\n", inc, sizeof inc);
    write_file("main2.cfg", "b = 1;\n@include \"inc2.cfg\"\n", path, sizeof path);
    assert_null(wr_config_load(path, err, sizeof err));
    snprintf(want, sizeof want, "%s:2: syntax error", inc);
    assert_string_equal(err, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_values),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_error_classes),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_list_of_groups),
        cmocka_unit_test(test_strings_lists),
        cmocka_unit_test(test_load_string_names),
        cmocka_unit_test(test_include),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
