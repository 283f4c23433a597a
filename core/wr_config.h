/* wr_config: reading a daemon's configuration file (libconfig format).
 *
 * Every key has a default: a getter returns the default when the key is absent and records an
 * error (file, line, key, what is wrong) when the key is present but of the wrong type or out
 * of range. After reading all keys the daemon calls wr_config_finish(), which also reports every
 * key the daemon never asked for (a typo must not be silently ignored), then prints the errors
 * and exits if there are any. This is what `--check-config` runs.
 *
 * Paths are libconfig paths: "leaf.interval", "leaf.store.path". Lists of groups are read with
 * wr_config_list_length() and paths like "leaf.nodes.[3].name" (libconfig's own syntax): names
 * separated by '.', and a segment "[N]" (N decimal, from 0) for the N-th element of a list,
 * array or group. "nodes[3]", "nodes.3" and "[-1]" are not paths (the key is then absent).
 *
 * Errors read "FILE:LINE: KEY: message"; LINE is the setting's own line, or its nearest existing
 * parent's when the key is missing ("FILE: KEY: message" when that parent is the file itself).
 * FILE is the included file for a setting read through @include (resolved against the main
 * file's directory, which is also where wr_config_load looks for includes).
 *
 * Known keys (wr_config_finish): a setting is known when a getter, wr_config_strings or
 * wr_config_accept asked for it or for a group above it (the whole subtree is then known).
 * wr_config_has and wr_config_list_length on a group or list mark only that setting: the
 * members/elements below must still be read, so a typo inside is reported (plain values inside
 * a list are data, never reported). On an array they mark it all.
 * Not thread-safe; used once at start-up. */
#ifndef WR_CONFIG_H
#define WR_CONFIG_H
#include <stddef.h>
#include <stdint.h>

typedef struct wr_config wr_config_t;

/* Parses path. On a syntax error returns NULL and writes "FILE:LINE: message" into err.
 * A missing or unreadable file is an error too ("FILE: cannot read: <strerror>"). */
wr_config_t *wr_config_load(const char *path, char *err, size_t errlen);

/* Parses a configuration held in memory (tests; the sim's generated configs). name is used
 * in messages in place of a file name. */
wr_config_t *wr_config_load_string(const char *text, const char *name, char *err, size_t errlen);

void wr_config_destroy(wr_config_t **cfg);

/* Getters. Each returns 0 and sets *out (the value, or def when the key is absent), or returns
 * WR_ECONFIG after recording an error (wrong type, out of [min,max], too long, bad enum);
 * *out is then set to def so start-up code can go on and collect more errors.
 * Integers are accepted where a float is asked for. Strings are copied into out (outlen bytes,
 * too long is an error). */
int wr_config_int(wr_config_t *cfg, const char *path, int64_t def, int64_t min, int64_t max, int64_t *out);
int wr_config_double(wr_config_t *cfg, const char *path, double def, double min, double max, double *out);
int wr_config_bool(wr_config_t *cfg, const char *path, int def, int *out);
int wr_config_string(wr_config_t *cfg, const char *path, const char *def, char *out, size_t outlen);
/* One of choices (NULL-terminated list); *out is the index. */
int wr_config_enum(wr_config_t *cfg, const char *path, const char *const *choices, int def, int *out);

/* 1 if the key exists (and marks it as known; a group or list only itself, see above). */
int wr_config_has(wr_config_t *cfg, const char *path);

/* Length of the list or array at path (0 if absent; error recorded if it is not a list/array). */
int wr_config_list_length(wr_config_t *cfg, const char *path);

/* Reads a list/array of strings at path into a NULL-terminated, malloc'd array of malloc'd
 * strings (*out; free with wr_config_strings_free). Absent key: empty list. On WR_ECONFIG (not
 * a list, or an element not a string: "KEY.[i]: expected a string, ...") *out is an empty list
 * too, and must still be freed. count may be NULL. */
int wr_config_strings(wr_config_t *cfg, const char *path, char ***out, size_t *count);
void wr_config_strings_free(char ***list);

/* Marks a whole group (and everything below it) as known, for sections another module reads. */
void wr_config_accept(wr_config_t *cfg, const char *path);

/* Records an error of the caller's own (e.g. a cross-key check) against the setting at path
 * (its line is looked up; path may name a missing key). */
void wr_config_error(wr_config_t *cfg, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records an error for every setting never asked for, then returns the number of errors
 * recorded so far (0 = the file is valid). */
int wr_config_finish(wr_config_t *cfg);

/* The i-th recorded error, formatted "FILE:LINE: KEY: message" (NULL past the end). */
const char *wr_config_error_at(const wr_config_t *cfg, int i);
int wr_config_error_count(const wr_config_t *cfg);

#endif
