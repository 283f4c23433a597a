/* test_tmpdir: a scratch directory per test program and real LMDB stores in it (header only:
 * static inline functions, so any tests/test_*.c may include it without a CMake change).
 * Include it after <cmocka.h> (tu_store_open fails the test). What it has:
 *  - tu_tmpdir_make / tu_rm_rf: mkdtemp a /tmp/NAME.XXXXXX directory, remove it again;
 *    TU_TMPDIR_FIXTURE: a cmocka group setup / teardown pair doing just that;
 *  - tu_store_open: a wr_store in a subdirectory of it, failing the test when it does not open. */
#ifndef TEST_TMPDIR_H
#define TEST_TMPDIR_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "wr_store.h"

/* dir (cap bytes) = a new directory /tmp/NAME.XXXXXX. Returns 0, or -1 when mkdtemp failed
 * (cmocka's convention for a setup function). */
static inline int tu_tmpdir_make(char *dir, size_t cap, const char *name)
{
    snprintf(dir, cap, "/tmp/%s.XXXXXX", name);
    return mkdtemp(dir) ? 0 : -1;
}

/* Removes dir and everything below it. Returns 0, or -1 when rm failed. */
static inline int tu_rm_rf(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Defines the cmocka group setup SETUP, which makes the directory /tmp/NAME.XXXXXX in the char
 * array DIR, and the teardown TEARDOWN, which removes it. */
#define TU_TMPDIR_FIXTURE(SETUP, TEARDOWN, DIR, NAME)                                         \
    static int SETUP(void **state)                                                           \
    {                                                                                        \
        (void)state;                                                                         \
        return tu_tmpdir_make(DIR, sizeof DIR, NAME);                                        \
    }                                                                                        \
    static int TEARDOWN(void **state)                                                        \
    {                                                                                        \
        (void)state;                                                                         \
        return tu_rm_rf(DIR);                                                                \
    }

/* Opens (creating) the store root/sub with map_size bytes of map and the NULL-terminated
 * database names dbs; fails the test with wr_store_open's message when it cannot. */
static inline wr_store_t *tu_store_open(const char *root, const char *sub, uint64_t map_size,
                                        const char *const *dbs)
{
    char dir[1024], err[512] = "";
    snprintf(dir, sizeof dir, "%s/%s", root, sub);
    wr_store_t *st = wr_store_open(dir, map_size, dbs, err, sizeof err);
    if (!st)
        fail_msg("open %s: %s", dir, err);
    return st;
}

#endif
