/* wr_config: typed, checked access to a daemon's libconfig file (see wr_config.h).
 * Paths are resolved here, not by config_lookup, so a missing key can be reported at the
 * line of its nearest existing parent. Every setting the daemon reads is marked through
 * libconfig's per-setting hook; wr_config_finish walks the tree and reports the unmarked
 * ones. Does not know any daemon's keys; prints nothing. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <libconfig.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "wr_config.h"
#include "wr_error.h"

#define WR_CONFIG_MAX_FILE  (16u * 1024u * 1024u)
#define WR_CONFIG_MAX_MSG   1024
#define WR_CONFIG_MAX_PATH  1024

struct wr_config {
    config_t lc;
    char    *name;       /* file name (or the caller's name for a string) */
    char   **errors;
    int      nerrors;
    int      cap;
    int      finished;
};

/* Hook values: the setting and everything below it was asked for (KNOWN), or the setting
 * itself is known but its members must be checked one by one (PATH). */
static char mark_known_tag, mark_path_tag;
#define MARK_KNOWN ((void *)&mark_known_tag)
#define MARK_PATH  ((void *)&mark_path_tag)

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static wr_config_t *config_new(const char *name)
{
    wr_config_t *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return NULL;
    cfg->name = strdup(name ? name : "<config>");
    if (!cfg->name) {
        free(cfg);
        return NULL;
    }
    config_init(&cfg->lc);
    return cfg;
}

/* The name to print for a file libconfig names: an @include'd file is named as written in
 * the @include, so it is put back under the include directory. */
static const char *display_file(const config_t *lc, const char *main_name, const char *file,
                                char *buf, size_t buflen)
{
    if (!file || strcmp(file, main_name) == 0)
        return main_name;
    const char *dir = config_get_include_dir(lc);
    if (file[0] == '/' || !dir || !*dir)
        return file;
    snprintf(buf, buflen, "%s/%s", dir, file);
    return buf;
}

wr_config_t *wr_config_load(const char *path, char *err, size_t errlen)
{
    assert(path);
    FILE *f = fopen(path, "r");
    if (!f) {
        set_err(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    int bad = 0;
    if (fstat(fileno(f), &st) != 0) {
        set_err(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        bad = 1;
    } else if (S_ISDIR(st.st_mode)) {
        set_err(err, errlen, "%s: cannot read: %s", path, strerror(EISDIR));
        bad = 1;
    } else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > WR_CONFIG_MAX_FILE) {
        set_err(err, errlen, "%s: cannot read: too large (%lld bytes, max %u)", path,
                (long long)st.st_size, WR_CONFIG_MAX_FILE);
        bad = 1;
    }
    fclose(f);
    if (bad)
        return NULL;

    wr_config_t *cfg = config_new(path);
    if (!cfg) {
        set_err(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    /* @include "x" is relative to the including file's directory */
    char *copy = strdup(path);
    if (copy) {
        config_set_include_dir(&cfg->lc, dirname(copy));
        free(copy);
    }
    if (!config_read_file(&cfg->lc, path)) {
        char buf[WR_CONFIG_MAX_PATH];
        const char *file = display_file(&cfg->lc, path, config_error_file(&cfg->lc), buf, sizeof buf);
        if (config_error_type(&cfg->lc) == CONFIG_ERR_FILE_IO)
            set_err(err, errlen, "%s: cannot read: %s", file, config_error_text(&cfg->lc));
        else
            set_err(err, errlen, "%s:%d: %s", file, config_error_line(&cfg->lc),
                    config_error_text(&cfg->lc));
        wr_config_destroy(&cfg);
        return NULL;
    }
    return cfg;
}

wr_config_t *wr_config_load_string(const char *text, const char *name, char *err, size_t errlen)
{
    assert(text);
    wr_config_t *cfg = config_new(name);
    if (!cfg) {
        set_err(err, errlen, "%s: out of memory", name ? name : "<config>");
        return NULL;
    }
    if (!config_read_string(&cfg->lc, text)) {
        const char *file = config_error_file(&cfg->lc) ? config_error_file(&cfg->lc) : cfg->name;
        set_err(err, errlen, "%s:%d: %s", file, config_error_line(&cfg->lc),
                config_error_text(&cfg->lc));
        wr_config_destroy(&cfg);
        return NULL;
    }
    return cfg;
}

void wr_config_destroy(wr_config_t **cfgp)
{
    if (!cfgp || !*cfgp)
        return;
    wr_config_t *cfg = *cfgp;
    config_destroy(&cfg->lc);
    for (int i = 0; i < cfg->nerrors; i++)
        free(cfg->errors[i]);
    free(cfg->errors);
    free(cfg->name);
    free(cfg);
    *cfgp = NULL;
}

/* ---- paths ----------------------------------------------------------------------------- */

/* Resolves "a.b.[3].c". Returns the setting or NULL; *nearest (may be NULL) gets the deepest
 * setting that exists on the way (the root at worst). */
static config_setting_t *resolve(const wr_config_t *cfg, const char *path, config_setting_t **nearest)
{
    config_setting_t *cur = config_root_setting(&cfg->lc);
    if (nearest)
        *nearest = cur;
    if (!path || !*path)
        return NULL;
    const char *p = path;
    for (;;) {
        const char *end = strchr(p, '.');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char seg[256];
        if (len == 0 || len >= sizeof seg)
            return NULL;
        memcpy(seg, p, len);
        seg[len] = '\0';
        config_setting_t *next = NULL;
        if (seg[0] == '[') {
            /* "[n]": element n of a list, array or group */
            char *stop;
            errno = 0;
            long idx = strtol(seg + 1, &stop, 10);
            if (seg[1] < '0' || seg[1] > '9' || errno || stop[0] != ']' || stop[1] != '\0')
                return NULL;
            if (config_setting_is_aggregate(cur) && idx < config_setting_length(cur))
                next = config_setting_get_elem(cur, (unsigned int)idx);
        } else if (config_setting_is_group(cur)) {
            next = config_setting_get_member(cur, seg);
        }
        if (!next)
            return NULL;
        cur = next;
        if (nearest)
            *nearest = cur;
        if (!end)
            return cur;
        p = end + 1;
    }
}

static void mark(config_setting_t *s, void *how)
{
    if (config_setting_get_hook(s) != MARK_KNOWN)
        config_setting_set_hook(s, how);
    for (config_setting_t *p = config_setting_parent(s); p; p = config_setting_parent(p)) {
        if (config_setting_get_hook(p) == NULL)
            config_setting_set_hook(p, MARK_PATH);
    }
}

/* Resolves path and marks the setting (and so its whole subtree) as asked for. */
static config_setting_t *lookup_known(wr_config_t *cfg, const char *path)
{
    config_setting_t *s = resolve(cfg, path, NULL);
    if (s)
        mark(s, MARK_KNOWN);
    return s;
}

static const char *type_name(const config_setting_t *s)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:  return "an integer";
    case CONFIG_TYPE_FLOAT:  return "a float";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL:   return "a boolean";
    case CONFIG_TYPE_GROUP:  return "a group";
    case CONFIG_TYPE_ARRAY:  return "an array";
    case CONFIG_TYPE_LIST:   return "a list";
    default:                 return "nothing";
    }
}

/* ---- errors ---------------------------------------------------------------------------- */

static void record_v(wr_config_t *cfg, const config_setting_t *at, const char *key,
                     const char *fmt, va_list ap)
{
    char msg[WR_CONFIG_MAX_MSG];
    vsnprintf(msg, sizeof msg, fmt, ap);
    char buf[WR_CONFIG_MAX_PATH];
    const char *file = display_file(&cfg->lc, cfg->name, at ? config_setting_source_file(at) : NULL,
                                    buf, sizeof buf);
    unsigned line = at ? config_setting_source_line(at) : 0;
    char full[WR_CONFIG_MAX_MSG + WR_CONFIG_MAX_PATH + 256];
    if (line > 0)
        snprintf(full, sizeof full, "%s:%u: %s: %s", file, line, key, msg);
    else
        snprintf(full, sizeof full, "%s: %s: %s", file, key, msg);
    if (cfg->nerrors == cfg->cap) {
        int ncap = cfg->cap ? cfg->cap * 2 : 16;
        char **n = realloc(cfg->errors, (size_t)ncap * sizeof *n);
        if (!n)
            return;
        cfg->errors = n;
        cfg->cap = ncap;
    }
    char *copy = strdup(full);
    if (copy)
        cfg->errors[cfg->nerrors++] = copy;
}

static void record(wr_config_t *cfg, const config_setting_t *at, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void record(wr_config_t *cfg, const config_setting_t *at, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record_v(cfg, at, key, fmt, ap);
    va_end(ap);
}

void wr_config_error(wr_config_t *cfg, const char *path, const char *fmt, ...)
{
    config_setting_t *nearest = NULL;
    config_setting_t *s = resolve(cfg, path, &nearest);
    va_list ap;
    va_start(ap, fmt);
    record_v(cfg, s ? s : nearest, path, fmt, ap);
    va_end(ap);
}

int wr_config_error_count(const wr_config_t *cfg)
{
    return cfg->nerrors;
}

const char *wr_config_error_at(const wr_config_t *cfg, int i)
{
    if (i < 0 || i >= cfg->nerrors)
        return NULL;
    return cfg->errors[i];
}

/* ---- getters --------------------------------------------------------------------------- */

int wr_config_int(wr_config_t *cfg, const char *path, int64_t def, int64_t min, int64_t max, int64_t *out)
{
    assert(min <= max);
    *out = def;
    config_setting_t *s = lookup_known(cfg, path);
    if (!s)
        return 0;
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
        record(cfg, s, path, "expected an integer, got %s", type_name(s));
        return WR_ECONFIG;
    }
    long long v = config_setting_get_int64(s);
    if (v < min || v > max) {
        record(cfg, s, path, "must be between %" PRId64 " and %" PRId64 ", got %lld", min, max, v);
        return WR_ECONFIG;
    }
    *out = v;
    return 0;
}

int wr_config_double(wr_config_t *cfg, const char *path, double def, double min, double max, double *out)
{
    assert(min <= max);
    *out = def;
    config_setting_t *s = lookup_known(cfg, path);
    if (!s)
        return 0;
    double v;
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: v = (double)config_setting_get_int64(s); break;
    case CONFIG_TYPE_FLOAT: v = config_setting_get_float(s); break;
    default:
        record(cfg, s, path, "expected a number, got %s", type_name(s));
        return WR_ECONFIG;
    }
    if (!(v >= min && v <= max)) {
        record(cfg, s, path, "must be between %g and %g, got %g", min, max, v);
        return WR_ECONFIG;
    }
    *out = v;
    return 0;
}

/* The setting at path (marked known) when it has type `type`. NULL with *rc = 0 when it is
 * absent; NULL with *rc = WR_ECONFIG and "expected WANT, got ..." recorded when it has another
 * type. */
static config_setting_t *lookup_typed(wr_config_t *cfg, const char *path, int type, const char *want, int *rc)
{
    *rc = 0;
    config_setting_t *s = lookup_known(cfg, path);
    if (s && config_setting_type(s) != type) {
        record(cfg, s, path, "expected %s, got %s", want, type_name(s));
        *rc = WR_ECONFIG;
        return NULL;
    }
    return s;
}

int wr_config_bool(wr_config_t *cfg, const char *path, int def, int *out)
{
    *out = def;
    int rc;
    config_setting_t *s = lookup_typed(cfg, path, CONFIG_TYPE_BOOL, "true or false", &rc);
    if (!s)
        return rc;
    *out = config_setting_get_bool(s) ? 1 : 0;
    return 0;
}

static void copy_string(char *out, size_t outlen, const char *s)
{
    if (outlen == 0)
        return;
    snprintf(out, outlen, "%s", s ? s : "");
}

int wr_config_string(wr_config_t *cfg, const char *path, const char *def, char *out, size_t outlen)
{
    assert(outlen > 0);
    copy_string(out, outlen, def);
    int rc;
    config_setting_t *s = lookup_typed(cfg, path, CONFIG_TYPE_STRING, "a string", &rc);
    if (!s)
        return rc;
    const char *v = config_setting_get_string(s);
    if (strlen(v) >= outlen) {
        record(cfg, s, path, "too long (max %zu bytes)", outlen - 1);
        return WR_ECONFIG;
    }
    copy_string(out, outlen, v);
    return 0;
}

int wr_config_enum(wr_config_t *cfg, const char *path, const char *const *choices, int def, int *out)
{
    *out = def;
    int rc;
    config_setting_t *s = lookup_typed(cfg, path, CONFIG_TYPE_STRING, "a string", &rc);
    if (!s)
        return rc;
    const char *v = config_setting_get_string(s);
    char list[512];
    size_t used = 0;
    list[0] = '\0';
    for (int i = 0; choices[i]; i++) {
        if (strcmp(v, choices[i]) == 0) {
            *out = i;
            return 0;
        }
        int n = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", choices[i]);
        if (n > 0)
            used = used + (size_t)n < sizeof list ? used + (size_t)n : sizeof list - 1;
    }
    record(cfg, s, path, "must be one of: %s (got \"%.64s\")", list, v);
    return WR_ECONFIG;
}

int wr_config_has(wr_config_t *cfg, const char *path)
{
    config_setting_t *s = resolve(cfg, path, NULL);
    if (!s)
        return 0;
    int t = config_setting_type(s);
    mark(s, t == CONFIG_TYPE_GROUP || t == CONFIG_TYPE_LIST ? MARK_PATH : MARK_KNOWN);
    return 1;
}

int wr_config_list_length(wr_config_t *cfg, const char *path)
{
    config_setting_t *s = resolve(cfg, path, NULL);
    if (!s)
        return 0;
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_ARRAY:
        mark(s, MARK_KNOWN);
        return config_setting_length(s);
    case CONFIG_TYPE_LIST:
        mark(s, MARK_PATH);   /* group elements are still checked member by member */
        return config_setting_length(s);
    default:
        mark(s, MARK_KNOWN);
        record(cfg, s, path, "expected a list, got %s", type_name(s));
        return 0;
    }
}

static char **empty_list(void)
{
    return calloc(1, sizeof(char *));
}

int wr_config_strings(wr_config_t *cfg, const char *path, char ***out, size_t *count)
{
    *out = NULL;
    if (count)
        *count = 0;
    config_setting_t *s = lookup_known(cfg, path);
    int t = s ? config_setting_type(s) : CONFIG_TYPE_NONE;
    if (!s || (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY)) {
        *out = empty_list();
        if (!*out)
            return WR_ENOMEM;
        if (!s)
            return 0;
        record(cfg, s, path, "expected a list of strings, got %s", type_name(s));
        return WR_ECONFIG;
    }
    int n = config_setting_length(s);
    char **list = calloc((size_t)n + 1, sizeof *list);
    if (!list)
        return WR_ENOMEM;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(s, (unsigned int)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING) {
            char key[WR_CONFIG_MAX_PATH];
            snprintf(key, sizeof key, "%s.[%d]", path, i);
            record(cfg, e, key, "expected a string, got %s", type_name(e));
            rc = WR_ECONFIG;
            continue;
        }
        if (rc == 0 && !(list[i] = strdup(config_setting_get_string(e))))
            rc = WR_ENOMEM;
    }
    if (rc != 0) {
        wr_config_strings_free(&list);
        *out = empty_list();
        return *out ? rc : WR_ENOMEM;
    }
    *out = list;
    if (count)
        *count = (size_t)n;
    return 0;
}

void wr_config_strings_free(char ***list)
{
    if (!list || !*list)
        return;
    for (char **p = *list; *p; p++)
        free(*p);
    free(*list);
    *list = NULL;
}

void wr_config_accept(wr_config_t *cfg, const char *path)
{
    lookup_known(cfg, path);
}

/* ---- unknown settings ------------------------------------------------------------------ */

static void walk(wr_config_t *cfg, config_setting_t *s, char *path, size_t len)
{
    void *hook = config_setting_get_hook(s);
    if (hook == MARK_KNOWN)
        return;
    if (hook != MARK_PATH) {
        record(cfg, s, path, "unknown setting");
        return;
    }
    int is_seq = config_setting_is_list(s) || config_setting_is_array(s);
    int n = config_setting_length(s);
    for (int i = 0; i < n; i++) {
        config_setting_t *c = config_setting_get_elem(s, (unsigned int)i);
        if (is_seq && !config_setting_is_aggregate(c))
            continue;   /* a plain value in a list is data, not a key that can be misspelt */
        int w;
        if (is_seq)
            w = snprintf(path + len, WR_CONFIG_MAX_PATH - len, "%s[%d]", len ? "." : "", i);
        else
            w = snprintf(path + len, WR_CONFIG_MAX_PATH - len, "%s%s", len ? "." : "",
                         config_setting_name(c) ? config_setting_name(c) : "?");
        if (w < 0 || (size_t)w >= WR_CONFIG_MAX_PATH - len)
            w = (int)(WR_CONFIG_MAX_PATH - len - 1);
        walk(cfg, c, path, len + (size_t)w);
        path[len] = '\0';
    }
}

int wr_config_finish(wr_config_t *cfg)
{
    if (!cfg->finished) {
        cfg->finished = 1;
        config_setting_t *root = config_root_setting(&cfg->lc);
        char path[WR_CONFIG_MAX_PATH];
        path[0] = '\0';
        config_setting_set_hook(root, MARK_PATH);
        walk(cfg, root, path, 0);
    }
    return cfg->nerrors;
}
