/* leaf_agent: warren_agent in the watched nodes. At start-up the leaf reads
 * warren_agent.beam and its md5 (written by the build) from agent_dir. When a node comes up,
 * the leaf asks rex for warren_agent:module_info(md5); if the node does not run this very
 * agent it loads it with code:load_binary/3. From then on one call per interval,
 * warren_agent:collect([]), replaces the agentless calls of leaf_poll.c. A node where the
 * agent cannot be loaded (or does not answer within LEAF_AGENT_WAIT_TICKS intervals) is
 * polled agentless until it reconnects; the failure is logged once per node and counted.
 * The calls use leaf_poll.c's tagged $gen_call mechanism, one in flight per node
 * (n->agent_call). Not the agent itself: that is leaf/agent/warren_agent.erl. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "leaf.h"
#include "leaf_census.h"
#include "wr_error.h"
#include "wr_log.h"
#include "wr_time.h"

#define LEAF_AGENT_BEAM_MAX   (4 << 20)   /* bytes: a sane cap on the module file */
#define LEAF_AGENT_WAIT_TICKS 3           /* intervals to wait for a check or load answer */
#define LEAF_AGENT_RETRIES    3           /* re-checks after failed collects, per UP period */

enum { AGENT_UNKNOWN = 0, AGENT_CHECKING, AGENT_LOADING, AGENT_READY, AGENT_FAILED };

/* ---- configuration and start-up ---------------------------------------------------- */

/* "<directory of /proc/self/exe>/../agent", or "./agent" if the link cannot be read. */
static void default_dir(char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = NULL;
    if (k > 0) {
        exe[k] = '\0';
        slash = strrchr(exe, '/');
    }
    if (!slash) {
        snprintf(out, cap, "./agent");
        return;
    }
    *slash = '\0';
    snprintf(out, cap, "%.*s/../agent", (int)(cap > 10 ? cap - 10 : 0), exe);
}

/* Reads a whole file of at most max bytes; returns a malloc'd buffer or NULL with err set. */
static unsigned char *read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    unsigned char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad || n == 0 || n > max) {
        snprintf(err, errlen, "%s: %s", path, !buf ? "out of memory" : bad ? "read error" :
                 n == 0 ? "empty file" : "file too large");
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int leaf_agent_config_read(wr_config_t *cfg, leaf_cfg_t *out)
{
    char def[LEAF_PATH_MAX], path[LEAF_PATH_MAX + 32], err[LEAF_PATH_MAX + 128];
    wr_config_bool(cfg, "leaf.agent", 1, &out->agent);
    default_dir(def, sizeof def);
    wr_config_string(cfg, "leaf.agent_dir", def, out->agent_dir, sizeof out->agent_dir);
    if (!out->agent)
        return 0;

    size_t len = 0;
    snprintf(path, sizeof path, "%s/warren_agent.md5", out->agent_dir);
    unsigned char *md5 = read_file(path, 256, &len, err, sizeof err);
    if (!md5) {
        wr_config_error(cfg, "leaf.agent_dir", "%s (build the 'agent' target, set agent_dir, "
                        "or set leaf.agent = false)", err);
        return 0;
    }
    int ok = len >= 32;
    for (int i = 0; ok && i < 16; i++) {
        int hi = hexval(md5[2 * i]), lo = hexval(md5[2 * i + 1]);
        ok = hi >= 0 && lo >= 0;
        out->agent_md5[i] = (unsigned char)(hi << 4 | (lo & 15));
    }
    free(md5);
    if (!ok) {
        wr_config_error(cfg, "leaf.agent_dir", "%s: expected 32 hex digits", path);
        return 0;
    }
    snprintf(path, sizeof path, "%s/warren_agent.beam", out->agent_dir);
    out->agent_beam = read_file(path, LEAF_AGENT_BEAM_MAX, &out->agent_beam_len, err, sizeof err);
    if (!out->agent_beam)
        wr_config_error(cfg, "leaf.agent_dir", "%s (build the 'agent' target, set agent_dir, "
                        "or set leaf.agent = false)", err);
    return 0;
}

/* ---- calls ------------------------------------------------------------------------------ */

enum { CALL_MD5, CALL_LOAD, CALL_COLLECT };

static int encode_agent_call(leaf_t *lf, int what, const erlang_ref *ref)
{
    int rc;
    switch (what) {
    case CALL_MD5:
        rc = leaf_rpc_head(lf, ref, "warren_agent", "module_info", 1);
        rc |= ei_x_encode_atom(&lf->tx, "md5");
        break;
    case CALL_LOAD:
        rc = leaf_rpc_head(lf, ref, "code", "load_binary", 3);
        rc |= ei_x_encode_atom(&lf->tx, "warren_agent");
        rc |= ei_x_encode_string(&lf->tx, "warren_agent.beam");
        rc |= ei_x_encode_binary(&lf->tx, lf->cfg.agent_beam, (long)lf->cfg.agent_beam_len);
        break;
    default:
        rc = leaf_rpc_head(lf, ref, "warren_agent", "collect", 1);
        rc |= ei_x_encode_empty_list(&lf->tx);     /* Opts = [] */
        break;
    }
    rc |= leaf_rpc_tail(lf);
    return rc ? WR_ENOMEM : 0;
}

/* Sends call what to node n. Returns 0, -1 if the node was lost (connection closed). */
static int send_agent_call(leaf_t *lf, leaf_node_t *n, int what)
{
    leaf_inflight_t *f = &n->agent_call;
    erlang_ref ref;
    if (ei_make_ref(&lf->ec, &ref) < 0 || encode_agent_call(lf, what, &ref) != 0) {
        WR_WARN("node %s: cannot build an agent call", n->name);
        f->live = 0;
        return 0;
    }
    if (leaf_beam_send_rex(lf, n) != 0) {
        char why[128];
        snprintf(why, sizeof why, "send failed (%s)", erl_errno ? strerror(erl_errno) : "closed");
        f->live = 0;
        leaf_node_lost(lf, n, why);
        return -1;
    }
    leaf_ref_keep(&f->ref, &ref);
    f->live = 1;
    return 0;
}

/* The agent cannot run on n: poll it agentless until it reconnects. */
static void agent_failed(leaf_t *lf, leaf_node_t *n, const char *why)
{
    n->agent_state = AGENT_FAILED;
    n->agent_call.live = 0;
    lf->agent_load_failures++;
    if (!n->agent_warned)
        WR_WARN("node %s: agent not running (%s): polling it agentless", n->name, why);
    else
        WR_DEBUG("node %s: agent not running (%s): polling it agentless", n->name, why);
    n->agent_warned = 1;
}

int leaf_agent_tick(leaf_t *lf, leaf_node_t *n, int64_t now_wall)
{
    if (!lf->cfg.agent || !lf->cfg.agent_beam)
        return 0;
    if (n->agent_epoch != n->since_ms) {       /* a new UP period: the node may be new */
        n->agent_epoch = n->since_ms;
        n->agent_state = AGENT_UNKNOWN;
        n->agent_call.live = 0;
        n->agent_waits = 0;
        n->agent_retries = 0;
    }
    switch (n->agent_state) {
    case AGENT_UNKNOWN:
        n->agent_waits = 0;
        if (send_agent_call(lf, n, CALL_MD5) != 0)
            return -1;
        if (n->agent_call.live)
            n->agent_state = AGENT_CHECKING;
        return 0;                              /* agentless while we find out */
    case AGENT_CHECKING:
    case AGENT_LOADING:
        if (++n->agent_waits > LEAF_AGENT_WAIT_TICKS)
            agent_failed(lf, n, n->agent_state == AGENT_CHECKING ? "no answer to module_info(md5)"
                                                                 : "no answer to code:load_binary/3");
        return 0;
    case AGENT_READY:
        if (n->agent_call.live)
            lf->calls_unanswered++;            /* the previous collect: its ref is replaced */
        n->round_ts = now_wall;
        if (send_agent_call(lf, n, CALL_COLLECT) != 0)
            return -1;
        if (leaf_census_tick(lf, n) != 0)      /* fleet checks: the census, when due */
            return -1;
        return n->agent_call.live ? 1 : 0;
    default:
        return 0;
    }
}

/* ---- replies ---------------------------------------------------------------------------- */

/* The reply term at index, printed into why (truncated). */
static void describe(const char *buf, int index, char *why, size_t whylen)
{
    char *s = NULL;
    int i = index;
    if (ei_s_print_term(&s, buf, &i) >= 0 && s)
        snprintf(why, whylen, "%.200s", s);
    else
        snprintf(why, whylen, "unprintable reply");
    free(s);
}

static void on_md5(leaf_t *lf, leaf_node_t *n, int ri)
{
    const char *buf = lf->rx.buff;
    int i = ri, type = 0, size = 0;
    unsigned char md5[16];
    long got = 0;
    if (ei_get_type(buf, &i, &type, &size) == 0 && type == ERL_BINARY_EXT && size == 16 &&
        ei_decode_binary(buf, &i, md5, &got) == 0 && got == 16 &&
        memcmp(md5, lf->cfg.agent_md5, 16) == 0) {
        WR_DEBUG("node %s: runs this agent already", n->name);
        n->agent_state = AGENT_READY;
        return;
    }
    char why[256];
    describe(buf, ri, why, sizeof why);
    WR_DEBUG("node %s: module_info(md5) gave %s: loading the agent", n->name, why);
    n->agent_waits = 0;
    if (send_agent_call(lf, n, CALL_LOAD) == 0 && n->agent_call.live)
        n->agent_state = AGENT_LOADING;
}

static void on_load(leaf_t *lf, leaf_node_t *n, int ri)
{
    const char *buf = lf->rx.buff;
    int i = ri, arity = 0;
    char a[MAXATOMLEN_UTF8], b[MAXATOMLEN_UTF8];
    if (ei_decode_tuple_header(buf, &i, &arity) == 0 && arity == 2 && ei_decode_atom(buf, &i, a) == 0 &&
        ei_decode_atom(buf, &i, b) == 0 && strcmp(a, "module") == 0 && strcmp(b, "warren_agent") == 0) {
        lf->agent_loads++;
        WR_INFO("node %s: agent loaded (%zu bytes)", n->name, lf->cfg.agent_beam_len);
        n->agent_state = AGENT_READY;
        return;
    }
    char why[256], msg[300];
    describe(buf, ri, why, sizeof why);
    snprintf(msg, sizeof msg, "code:load_binary/3 gave %s", why);
    agent_failed(lf, n, msg);
}

static void on_collect(leaf_t *lf, leaf_node_t *n, int ri)
{
    leaf_metric_value_t vals[LEAF_METRICS_MAX];
    static int16_t hint[LEAF_METRICS_MAX];     /* by position, shared by all nodes (loop thread) */
    leaf_collect_t c = {.v = vals, .cap = LEAF_METRICS_MAX, .hint = hint, .hint_cap = LEAF_METRICS_MAX};
    char why[256];
    int rc = leaf_parse_collect(lf->rx.buff, ri, &c, why, sizeof why);
    if (rc != 0) {
        lf->agent_errors++;
        WR_DEBUG("node %s: warren_agent:collect/1: %s", n->name, why);
        if (++n->agent_retries > LEAF_AGENT_RETRIES) {
            agent_failed(lf, n, why);
        } else {
            n->agent_state = AGENT_UNKNOWN;    /* purged or replaced? check again */
        }
        return;
    }
    lf->agent_collects++;
    lf->agent_unknown_metrics += c.unknown;
    lf->agent_bad_items += c.bad;
    if (c.unknown || c.bad)
        WR_DEBUG("node %s: collect: %zu unknown metric(s), %zu bad element(s) skipped",
                 n->name, c.unknown, c.bad);
    for (size_t k = 0; k < c.n; k++)
        if (vals[k].metric >= 0 && (size_t)vals[k].metric < wr_metric_count)
            leaf_samples_add(lf, n->idx, (uint32_t)vals[k].metric, n->round_ts, vals[k].value);
    if (c.has_maxq)
        leaf_alarms_on_maxq(lf, n, c.maxq_pid, c.maxq_name, c.maxq_len);
    if (c.has_sysmon)
        leaf_alarms_on_sysmon(lf, n, c.sysmon, wr_mono_ms());
    leaf_alarms_on_collect(lf, n, &c);        /* files, beam_alarms (leaf_alarms_node.c) */
}

int leaf_agent_on_reply(leaf_t *lf, leaf_node_t *n, const erlang_ref *ref, int ri)
{
    if (leaf_census_on_reply(lf, n, ref, ri))   /* the census call (leaf_census.c) */
        return 1;
    if (!n->agent_call.live || !leaf_ref_match(&n->agent_call.ref, ref))
        return 0;
    n->agent_call.live = 0;
    n->last_reply_mono = wr_mono_ms();
    switch (n->agent_state) {
    case AGENT_CHECKING: on_md5(lf, n, ri); break;
    case AGENT_LOADING:  on_load(lf, n, ri); break;
    case AGENT_READY:    on_collect(lf, n, ri); break;
    default:             break;
    }
    return 1;
}
