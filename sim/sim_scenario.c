/* sim_scenario: parses fault scenario files (see sim_scenario.h, docs/SIM.md). One line, one
 * entry:  at TIME node NAME FAULT [proc|module ARG] [for DURATION]
 *         at TIME node NAME clear FAULT|all
 * Statics are scn_-prefixed: unit tests include this file directly. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sim_scenario.h"
#include "wr_error.h"

struct sim_scenario {
    sim_scenario_entry_t *e;
    size_t n, cap;
};

int sim_scenario_parse_duration(const char *s, int64_t *ms)
{
    if (!isdigit((unsigned char)*s))
        return WR_EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || v > 86400000ULL)
        return WR_EINVAL;
    int64_t mult;
    if (!*end || !strcmp(end, "s"))
        mult = 1000;
    else if (!strcmp(end, "ms"))
        mult = 1;
    else if (!strcmp(end, "m"))
        mult = 60000;
    else if (!strcmp(end, "h"))
        mult = 3600000;
    else
        return WR_EINVAL;
    if ((int64_t)v * mult > 86400000LL)
        return WR_EINVAL;
    *ms = (int64_t)v * mult;
    return 0;
}

static int scn_valid_node(const char *s)
{
    size_t n = strlen(s);
    const char *at = strchr(s, '@');
    if (n == 0 || n >= SIM_NODE_NAME_MAX || !at || at == s || !at[1] || strchr(at + 1, '@'))
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_.-@", *s))
            return 0;
    return 1;
}

#define SCN_MAX_WORDS 12

int sim_scenario_parse_line(const char *line, sim_scenario_entry_t *e, char *err, size_t errlen)
{
    char buf[SIM_SCENARIO_LINE_MAX + 1];
    if (strlen(line) > SIM_SCENARIO_LINE_MAX) {
        snprintf(err, errlen, "line longer than %d bytes", SIM_SCENARIO_LINE_MAX);
        return WR_EINVAL;
    }
    snprintf(buf, sizeof buf, "%s", line);
    char *hash = strchr(buf, '#');
    if (hash)
        *hash = '\0';
    char *w[SCN_MAX_WORDS + 1];
    int nw = 0;
    for (char *save = NULL, *tok = strtok_r(buf, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
        if (nw == SCN_MAX_WORDS) {
            snprintf(err, errlen, "too many words (expected: at TIME node NAME FAULT [for DURATION])");
            return WR_EINVAL;
        }
        w[nw++] = tok;
    }
    if (nw == 0)
        return 1;
    sim_scenario_entry_t x;
    memset(&x, 0, sizeof x);
    if (nw < 5 || strcmp(w[0], "at") || strcmp(w[2], "node")) {
        snprintf(err, errlen, "expected 'at TIME node NAME FAULT [for DURATION]' or "
                 "'at TIME node NAME clear FAULT|all'");
        return WR_EINVAL;
    }
    if (sim_scenario_parse_duration(w[1], &x.at_ms) != 0) {
        snprintf(err, errlen, "time '%.40s': expected digits with ms, s, m or h (at most 1 day)", w[1]);
        return WR_EINVAL;
    }
    if (!scn_valid_node(w[3])) {
        snprintf(err, errlen, "node '%.80s': expected name@host of [A-Za-z0-9_.-]", w[3]);
        return WR_EINVAL;
    }
    snprintf(x.node, sizeof x.node, "%s", w[3]);
    int i = 4;
    if (!strcmp(w[i], "clear")) {
        x.clear = 1;
        if (nw != 6) {
            snprintf(err, errlen, "expected 'clear FAULT' or 'clear all'");
            return WR_EINVAL;
        }
        if (!strcmp(w[5], "all")) {
            x.fault = -1;
        } else if ((x.fault = sim_inject_parse(w[5])) < 0) {
            snprintf(err, errlen, "unknown fault '%.40s'", w[5]);
            return WR_EINVAL;
        }
        x.line = e->line;
        *e = x;
        return 0;
    }
    if ((x.fault = sim_inject_parse(w[i])) < 0) {
        snprintf(err, errlen, "unknown fault '%.40s' (mqueue_flood, atom_leak, memory_growth, "
                 "module_clash, crash, silent, busy_dist_port, log_storm)", w[i]);
        return WR_EINVAL;
    }
    for (i++; i < nw; i += 2) {
        if (i + 1 >= nw) {
            snprintf(err, errlen, "'%.40s' needs a value", w[i]);
            return WR_EINVAL;
        }
        if (!strcmp(w[i], "for")) {
            if (sim_scenario_parse_duration(w[i + 1], &x.duration_ms) != 0 || x.duration_ms == 0) {
                snprintf(err, errlen, "duration '%.40s': expected digits with ms, s, m or h (1 ms to 1 day)", w[i + 1]);
                return WR_EINVAL;
            }
        } else if ((!strcmp(w[i], "proc") && x.fault == SIM_FAULT_MQUEUE_FLOOD) ||
                   (!strcmp(w[i], "module") && x.fault == SIM_FAULT_MODULE_CLASH)) {
            if (!sim_inject_valid_arg(w[i + 1])) {
                snprintf(err, errlen, "%s '%.40s': expected an atom of [a-z0-9_], at most %d bytes",
                         w[i], w[i + 1], SIM_INJECT_ARG_MAX - 1);
                return WR_EINVAL;
            }
            snprintf(x.arg, sizeof x.arg, "%s", w[i + 1]);
        } else {
            snprintf(err, errlen, "unexpected '%.40s' (expected 'for DURATION'%s)", w[i],
                     x.fault == SIM_FAULT_MQUEUE_FLOOD ? " or 'proc NAME'"
                     : x.fault == SIM_FAULT_MODULE_CLASH ? " or 'module NAME'" : "");
            return WR_EINVAL;
        }
    }
    x.line = e->line;
    *e = x;
    return 0;
}

static int scn_cmp(const void *a, const void *b)
{
    const sim_scenario_entry_t *x = a, *y = b;
    if (x->at_ms != y->at_ms)
        return x->at_ms < y->at_ms ? -1 : 1;
    return x->line - y->line;
}

int sim_scenario_load(const char *path, sim_scenario_t **out, char *err, size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return WR_EIO;
    }
    sim_scenario_t *sc = calloc(1, sizeof *sc);
    if (!sc) {
        fclose(f);
        return WR_ENOMEM;
    }
    char line[SIM_SCENARIO_LINE_MAX + 2];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        else if (!feof(f)) {
            snprintf(err, errlen, "%s:%d: error: line longer than %d bytes", path, lineno, SIM_SCENARIO_LINE_MAX);
            rc = WR_EINVAL;
            break;
        }
        sim_scenario_entry_t e;
        char why[256];
        e.line = lineno;
        int r = sim_scenario_parse_line(line, &e, why, sizeof why);
        if (r < 0) {
            snprintf(err, errlen, "%s:%d: error: %s", path, lineno, why);
            rc = r;
            break;
        }
        if (r == 1)
            continue;
        if (sc->n == SIM_SCENARIO_MAX_ENTRIES) {
            snprintf(err, errlen, "%s:%d: error: more than %d entries", path, lineno, SIM_SCENARIO_MAX_ENTRIES);
            rc = WR_ETOOBIG;
            break;
        }
        if (sc->n == sc->cap) {
            size_t cap = sc->cap ? sc->cap * 2 : 16;
            sim_scenario_entry_t *ne = realloc(sc->e, cap * sizeof *ne);
            if (!ne) {
                rc = WR_ENOMEM;
                snprintf(err, errlen, "%s: out of memory", path);
                break;
            }
            sc->e = ne;
            sc->cap = cap;
        }
        sc->e[sc->n++] = e;
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        rc = WR_EIO;
    }
    fclose(f);
    if (rc != 0) {
        sim_scenario_destroy(&sc);
        return rc;
    }
    if (sc->n > 1)
        qsort(sc->e, sc->n, sizeof sc->e[0], scn_cmp);
    *out = sc;
    return 0;
}

size_t sim_scenario_count(const sim_scenario_t *sc)
{
    return sc ? sc->n : 0;
}

const sim_scenario_entry_t *sim_scenario_entry(const sim_scenario_t *sc, size_t i)
{
    return sc && i < sc->n ? &sc->e[i] : NULL;
}

void sim_scenario_destroy(sim_scenario_t **sc)
{
    if (!sc || !*sc)
        return;
    free((*sc)->e);
    free(*sc);
    *sc = NULL;
}

long sim_scenario_node_index(const char *name, const char *prefix, const char *host)
{
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) != 0)
        return -1;
    const char *d = name + pl;
    for (int k = 0; k < 5; k++)
        if (!isdigit((unsigned char)d[k]))
            return -1;
    if (d[5] != '@' || strcmp(d + 6, host) != 0)
        return -1;
    return strtol(d, NULL, 10);
}

int sim_scenario_check(const char *path, long nodes, char *abs, size_t abslen)
{
    char err[PATH_MAX + 512];
    sim_scenario_t *sc = NULL;
    if (sim_scenario_load(path, &sc, err, sizeof err) != 0) {
        fprintf(stderr, "warren-sim: %s\n", err);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < sim_scenario_count(sc) && rc == 0; i++) {
        const sim_scenario_entry_t *e = sim_scenario_entry(sc, i);
        long k = sim_scenario_node_index(e->node, "sim", "127.0.0.1");
        if (k < 0 || k >= nodes) {
            fprintf(stderr, "warren-sim: %s:%d: error: unknown node '%s' (this fabric has sim00000@127.0.0.1"
                    "..sim%05ld@127.0.0.1)\n", path, e->line, e->node, nodes - 1);
            rc = -1;
        }
    }
    sim_scenario_destroy(&sc);
    if (rc == 0 && !realpath(path, abs)) {
        fprintf(stderr, "warren-sim: %s: %s\n", path, strerror(errno));
        rc = -1;
    }
    (void)abslen;                                    /* realpath needs PATH_MAX bytes */
    return rc;
}
