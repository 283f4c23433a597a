/* sim_scenario: a fault scenario for warren-sim: a text file of timed fault injections and
 * clears on named emulated nodes (format in docs/SIM.md), parsed into a list sorted by time.
 * Parsing only: the emulator (sim_emu_ctl.c) plays the entries of its own nodes. */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H
#include <stddef.h>
#include <stdint.h>
#include "sim_inject.h"

#define SIM_SCENARIO_MAX_ENTRIES 100000
#define SIM_SCENARIO_LINE_MAX 1024
#define SIM_NODE_NAME_MAX 256          /* name@host, as the manifests write it */

typedef struct {
    int64_t at_ms;                     /* ms after the emulator started */
    char    node[SIM_NODE_NAME_MAX];
    int     fault;                     /* SIM_FAULT_..., or -1 with clear: every fault */
    int     clear;                     /* 1: end the fault instead of starting it */
    int64_t duration_ms;               /* 0: until cleared (crash: its default) */
    char    arg[SIM_INJECT_ARG_MAX];   /* proc / module argument, "" for the default */
    int     line;                      /* line in the file */
} sim_scenario_entry_t;

typedef struct sim_scenario sim_scenario_t;

/* Parses one line (without its newline) into *e; blank and comment (#) lines give 1 and
 * leave *e alone. Returns 0 for an entry, 1 for nothing, or WR_EINVAL with a reason in err. */
int sim_scenario_parse_line(const char *line, sim_scenario_entry_t *e, char *err, size_t errlen);

/* Parses a duration: digits with an optional unit ms, s, m or h (bare digits: seconds), at
 * most one day. Returns 0 with *ms set, or WR_EINVAL. */
int sim_scenario_parse_duration(const char *s, int64_t *ms);

/* Reads path; on the first bad line fails with "path:line: error: ..." in err. Returns 0 with
 * a new scenario in *out (entries sorted by time, file order kept for equal times), or a
 * negative WR_E... code (WR_EIO unreadable, WR_EINVAL a bad line, WR_ETOOBIG too many). */
int sim_scenario_load(const char *path, sim_scenario_t **out, char *err, size_t errlen);

/* Entries and their number (valid until destroy). */
size_t sim_scenario_count(const sim_scenario_t *sc);
const sim_scenario_entry_t *sim_scenario_entry(const sim_scenario_t *sc, size_t i);

/* Frees *sc and sets it to NULL. NULL is fine. */
void sim_scenario_destroy(sim_scenario_t **sc);

/* The index of node name "<prefix><5 digits>@<host>" (as warren-sim names them), or -1. */
long sim_scenario_node_index(const char *name, const char *prefix, const char *host);

/* For `warren-sim up`: loads path and checks that every entry names one of the fabric's
 * nodes sim00000@127.0.0.1 .. sim<nodes-1>@127.0.0.1; prints "path:line: error: ..." to
 * stderr on failure. Writes the file's absolute path into abs. Returns 0 or -1. */
int sim_scenario_check(const char *path, long nodes, char *abs, size_t abslen);

#endif
