/* sim_emu_agent: an emulated node's side of warren_agent (leaf/agent/warren_agent.erl), so a
 * leaf cannot tell an emulated node from a real one running the agent:
 *   warren_agent:module_info(md5)      undef until loaded, then this build's md5
 *   code:load_binary(warren_agent, File, Bin)   {module, warren_agent} (Bin is not kept)
 *   warren_agent:collect(Opts)         {warren_agent, 1, Metrics, Info}, a value for every
 *                                      name of core/wr_metric.c's catalogue
 *   warren_agent:procs(By, N)          [{Pid, Name, InitialCall, Current, Value}], largest first
 * Values come from sim_emu_values.c; the per-process view is a small model of a node's
 * processes (OTP's registered servers and some workers) scaled to the node's totals. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sim_emu.h"
#include "sim_emu_values.h"
#include "wr_error.h"
#include "wr_log.h"
#include "wr_metric.h"
#include "wr_time.h"

#define AGENT_MOD      "warren_agent"
#define AGENT_BIN_MAX  (4 << 20)       /* a bigger "beam" is refused */
#define PROCS_MAX      1000            /* as the agent's ?PROCS_MAX */
#define MODEL_MAX      64              /* processes in the model */

int sim_emu_agent_init(sim_emu_t *emu, const char *path, char *err, size_t errlen)
{
    char buf[PATH_MAX];
    emu->have_agent = 0;
    if (!path) {
        ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
        if (n <= 0) {
            snprintf(err, errlen, "/proc/self/exe: %s", strerror(errno));
            return WR_EIO;
        }
        buf[n] = '\0';
        char *slash = strrchr(buf, '/');
        if (!slash || (size_t)(slash - buf) + 32 >= sizeof buf) {
            snprintf(err, errlen, "cannot locate the agent beside %s", buf);
            return WR_EIO;
        }
        strcpy(slash, "/../agent/warren_agent.md5");
        path = buf;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return WR_ENOTFOUND;
    }
    char hex[40] = "";
    size_t got = fread(hex, 1, sizeof hex - 1, f);
    fclose(f);
    hex[got] = '\0';
    while (got > 0 && (hex[got - 1] == '\n' || hex[got - 1] == '\r' || hex[got - 1] == ' '))
        hex[--got] = '\0';
    if (got != 32) {
        snprintf(err, errlen, "%s: expected 32 hex digits, got %zu bytes", path, got);
        return WR_EINVAL;
    }
    for (int i = 0; i < 16; i++) {
        unsigned v;
        char two[3] = {hex[2 * i], hex[2 * i + 1], '\0'};
        char *end;
        v = (unsigned)strtoul(two, &end, 16);
        if (*end || !isxdigit((unsigned char)two[0]) || !isxdigit((unsigned char)two[1])) {
            snprintf(err, errlen, "%s: not hex: %.32s", path, hex);
            return WR_EINVAL;
        }
        emu->agent_md5[i] = (unsigned char)v;
    }
    emu->have_agent = 1;
    return 0;
}

/* ---- the process model ----------------------------------------------------------------- */

typedef struct {
    int         pid;              /* <0.pid.0> */
    const char *name, *initial, *current;
    double      weight;           /* share of the node's process memory / reductions */
} model_proc_t;

/* OTP's own processes, as a fresh OTP 25 node shows them. */
static const model_proc_t system_procs[] = {
    {0, "init", "otp_ring0:start/2", "init:loop/1", 3},
    {1, "erts_code_purger", "erts_code_purger:start/0", "erts_code_purger:wait_for_request/0", 1},
    {2, "", "erts_literal_area_collector:start/0", "erts_literal_area_collector:msg_loop/4", 0.5},
    {3, "", "erts_dirty_process_signal_handler:start/0", "erts_dirty_process_signal_handler:msg_loop/0", 0.3},
    {42, "logger", "logger_olp:init/1", "gen_server:loop/7", 2},
    {44, "application_controller", "application_controller:start/1", "gen_server:loop/7", 6},
    {46, "", "application_master:init/4", "application_master:main_loop/2", 0.5},
    {48, "kernel_sup", "supervisor:kernel/1", "gen_server:loop/7", 1.5},
    {49, "code_server", "code_server:init/3", "code_server:loop/1", 12},
    {51, "rex", "rpc:init/1", "gen_server:loop/7", 0.8},
    {52, "global_name_server", "global:init/1", "gen_server:loop/7", 1},
    {55, "inet_db", "inet_db:init/1", "gen_server:loop/7", 0.7},
    {56, "global_group", "global_group:init/1", "gen_server:loop/7", 0.5},
    {57, "file_server_2", "file_server:init/1", "gen_server:loop/7", 1.5},
    {58, "erl_prim_loader", "erl_prim_loader:start_it/4", "erl_prim_loader:loop/3", 4},
    {60, "standard_error", "standard_error:server/2", "standard_error:server_loop/1", 0.3},
    {62, "user", "group:server/3", "group:server_loop/3", 1},
    {66, "kernel_safe_sup", "supervisor:kernel/1", "gen_server:loop/7", 0.5},
    {68, "logger_sup", "supervisor:logger_sup/1", "gen_server:loop/7", 0.5},
    {70, "net_kernel", "net_kernel:init/1", "gen_server:loop/7", 1.2},
    {71, "erl_epmd", "erl_epmd:init/1", "gen_server:loop/7", 0.4},
    {72, "auth", "auth:init/1", "gen_server:loop/7", 0.4},
    {74, "timer_server", "timer:init/1", "gen_server:loop/7", 0.6},
};
enum { N_SYSTEM = sizeof system_procs / sizeof system_procs[0] };

/* What the rest of the node runs: an application with a pool of workers. */
static const struct { const char *name, *initial, *current; } worker_kinds[] = {
    {"sim_app_sup", "supervisor:sim_app_sup/1", "gen_server:loop/7"},
    {"", "sim_app_worker:init/1", "gen_server:loop/7"},
    {"", "sim_app_worker:init/1", "prim_inet:recv0/3"},
    {"", "cowboy_clear:connection_process/4", "cowboy_http:loop/1"},
    {"", "ranch_acceptor:loop/5", "prim_inet:accept0/3"},
    {"", "sim_app_session:init/1", "gen_statem:loop_receive/3"},
    {"", "sim_app_cache:init/1", "ets:lookup/2"},
    {"", "erlang:apply/2", "timer:sleep/1"},
};
enum { N_WORKER_KINDS = sizeof worker_kinds / sizeof worker_kinds[0] };

typedef struct {
    model_proc_t p;
    int64_t      value;
} ranked_t;

enum { BY_MEMORY, BY_MESSAGE_QUEUE, BY_REDUCTIONS, BY_BINARY };

#define CH_MODEL 5000u             /* channels of the process model */

/* The processes of node n (at most MODEL_MAX, never more than its process count). */
static int model(const sim_emu_t *emu, const sim_emu_node_t *n, const sim_emu_sample_t *s,
                 model_proc_t *out)
{
    int total = (int)(s->process_count < MODEL_MAX ? s->process_count : MODEL_MAX);
    int k = 0;
    for (; k < N_SYSTEM && k < total; k++)
        out[k] = system_procs[k];
    for (int w = 0; k < total; k++, w++) {
        double u = sim_emu_values_unit(emu->seed, n->index, CH_MODEL + (uint32_t)w);
        int kind = w == 0 ? 0 : 1 + (int)(u * (N_WORKER_KINDS - 1));
        out[k].pid = 90 + w * 13 + (int)(u * 11);
        out[k].name = worker_kinds[kind].name;
        out[k].initial = worker_kinds[kind].initial;
        out[k].current = worker_kinds[kind].current;
        out[k].weight = exp(4.0 * sim_emu_values_unit(emu->seed, n->index, CH_MODEL + 1000u + (uint32_t)w));
    }
    return total;
}

/* The worker whose queue is the node's longest (index into the model). */
static int longest_queue(const sim_emu_t *emu, const sim_emu_node_t *n, int count)
{
    if (count <= N_SYSTEM)
        return count > 4 ? 4 : 0;                    /* logger */
    double u = sim_emu_values_unit(emu->seed, n->index, CH_MODEL + 2000u);
    return N_SYSTEM + (int)(u * (count - N_SYSTEM));
}

/* Fills r[0..count) with the model's processes and their values by `by`, consistent with
 * the node's totals in s: memory sums to at most half of memory.processes, reductions to at
 * most 70% of the node's, binary to at most 60% of memory.binary, queues to msgq_total with
 * the longest exactly msgq_max. */
static int rank(const sim_emu_t *emu, const sim_emu_node_t *n, const sim_emu_sample_t *s, int by,
                ranked_t *r)
{
    model_proc_t procs[MODEL_MAX];
    int count = model(emu, n, s, procs);
    double t = (double)s->wall_clock_ms / 1000.0, wsum = 0.0;
    double w[MODEL_MAX];
    for (int i = 0; i < count; i++) {
        double wobble = 0.8 + 0.4 * sim_emu_values_noise(emu->seed, n->index, CH_MODEL + 3000u + (uint32_t)i, t, 60.0);
        w[i] = procs[i].weight * (by == BY_REDUCTIONS ? 1.0 : wobble);
        if (by == BY_BINARY && sim_emu_values_unit(emu->seed, n->index, CH_MODEL + 4000u + (uint32_t)i) < 0.4)
            w[i] = 0.0;                              /* most processes hold no binaries */
        wsum += w[i];
    }
    int lq = longest_queue(emu, n, count);
    int64_t qleft = s->msgq_total - s->msgq_max;
    for (int i = 0; i < count; i++) {
        int64_t v = 0;
        double share = wsum > 0 ? w[i] / wsum : 0.0;
        switch (by) {
        case BY_MEMORY: {
            double spare = 0.5 * (double)s->mem_processes - 2688.0 * count;
            v = 2688 + (int64_t)(share * (spare > 0 ? spare : 0));
            break;
        }
        case BY_REDUCTIONS: v = (int64_t)(share * 0.7 * (double)s->reductions); break;
        case BY_BINARY:     v = (int64_t)(share * 0.6 * (double)s->mem_binary); break;
        default:
            if (i == lq) {
                v = s->msgq_max;
            } else if (qleft > 0 && i >= N_SYSTEM) {
                v = (int64_t)(share * (double)(s->msgq_total - s->msgq_max));
                if (v > qleft) v = qleft;
                if (v > s->msgq_max) v = s->msgq_max;
                qleft -= v;
            }
            break;
        }
        r[i].p = procs[i];
        r[i].value = v;
    }
    return count;
}

static int cmp_ranked(const void *a, const void *b)
{
    const ranked_t *x = a, *y = b;
    if (x->value != y->value)
        return x->value > y->value ? -1 : 1;
    return x->p.pid - y->p.pid;
}

static void enc_bin(ei_x_buff *x, const char *s)
{
    ei_x_encode_binary(x, s, (long)strlen(s));
}

static void enc_pid_bin(ei_x_buff *x, int pid)
{
    char b[32];
    snprintf(b, sizeof b, "<0.%d.0>", pid);
    enc_bin(x, b);
}

/* ---- the calls ------------------------------------------------------------------------- */

/* Arguments after arg0: index of argument k (0-based) in c->buf, or -1. */
static int arg_at(const sim_emu_call_t *c, int k)
{
    if (c->args_is_string || k >= c->arity || c->arg0_at < 0)
        return -1;
    int i = c->arg0_at;
    for (int j = 0; j < k; j++)
        if (ei_skip_term(c->buf, &i) != 0)
            return -1;
    return i;
}

static int load_binary(sim_emu_t *emu, sim_emu_node_t *n, const sim_emu_call_t *c, ei_x_buff *x)
{
    char mod[MAXATOMLEN_UTF8];
    int i = arg_at(c, 0), b = arg_at(c, 2), type, size;
    if (c->arity != 3 || i < 0 || b < 0 || ei_decode_atom(c->buf, &i, mod) != 0 ||
        ei_get_type(c->buf, &b, &type, &size) != 0 || type != ERL_BINARY_EXT)
        return -1;
    if (strcmp(mod, AGENT_MOD) != 0 || !emu->have_agent || size > AGENT_BIN_MAX || size < 4 ||
        memcmp(c->buf + b + 5, "FOR1", 4) != 0) {
        /* only the agent is emulated, and only a plausible beam: as a node refusing a file */
        ei_x_encode_tuple_header(x, 2);
        ei_x_encode_atom(x, "error");
        ei_x_encode_atom(x, "badfile");
        return 0;
    }
    n->agent_loaded = 1;                             /* the bytes are not kept */
    emu->st.agent_loads++;
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, "module");
    ei_x_encode_atom(x, AGENT_MOD);
    return 0;
}

static void collect(sim_emu_t *emu, sim_emu_node_t *n, const sim_emu_sample_t *s, ei_x_buff *x)
{
    ei_x_encode_tuple_header(x, 4);
    ei_x_encode_atom(x, AGENT_MOD);
    ei_x_encode_long(x, 1);
    long present = 0;
    double v;
    int is_int;
    for (size_t k = 0; k < wr_metric_count; k++)     /* pure and cheap: count, then encode */
        present += sim_emu_values_metric(emu->seed, n->index, s, &wr_metric_defs[k], &v, &is_int);
    if (present > 0)
        ei_x_encode_list_header(x, present);
    ranked_t r[MODEL_MAX];
    int count = rank(emu, n, s, BY_MEMORY, r);
    int64_t biggest = 0;                             /* process.memory.max agrees with procs/2 */
    for (int k = 0; k < count; k++)
        if (r[k].value > biggest)
            biggest = r[k].value;
    for (size_t k = 0; k < wr_metric_count; k++) {
        if (!sim_emu_values_metric(emu->seed, n->index, s, &wr_metric_defs[k], &v, &is_int))
            continue;
        if (!strcmp(wr_metric_defs[k].name, "process.memory.max"))
            v = (double)biggest;
        ei_x_encode_tuple_header(x, 2);
        enc_bin(x, wr_metric_defs[k].name);
        if (is_int)
            ei_x_encode_longlong(x, (long long)v);
        else
            ei_x_encode_double(x, v);
    }
    ei_x_encode_empty_list(x);
    count = rank(emu, n, s, BY_MESSAGE_QUEUE, r);
    int lq = longest_queue(emu, n, count);
    ei_x_encode_list_header(x, 1);
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, "max_message_queue");
    ei_x_encode_tuple_header(x, 3);
    enc_pid_bin(x, r[lq].p.pid);
    enc_bin(x, r[lq].p.name);
    ei_x_encode_longlong(x, r[lq].value);
    ei_x_encode_empty_list(x);
    emu->st.agent_collects++;
}

static int procs(sim_emu_t *emu, sim_emu_node_t *n, const sim_emu_call_t *c, const sim_emu_sample_t *s,
                 ei_x_buff *x)
{
    static const char *const keys[] = {"memory", "message_queue", "reductions", "binary"};
    char by[MAXATOMLEN_UTF8];
    long long want;
    int i = arg_at(c, 0), j = arg_at(c, 1);
    if (c->arity != 2 || i < 0 || j < 0 || ei_decode_atom(c->buf, &i, by) != 0 ||
        ei_decode_longlong(c->buf, &j, &want) != 0 || want < 1)
        return -1;
    int b = -1;
    for (int k = 0; k < 4; k++)
        if (!strcmp(by, keys[k]))
            b = k;
    if (b < 0)
        return -1;
    ranked_t r[MODEL_MAX];
    int count = rank(emu, n, s, b, r);
    qsort(r, (size_t)count, sizeof r[0], cmp_ranked);
    if (want > PROCS_MAX)
        want = PROCS_MAX;
    if (want < count)
        count = (int)want;
    if (count > 0)
        ei_x_encode_list_header(x, count);
    for (int k = 0; k < count; k++) {
        ei_x_encode_tuple_header(x, 5);
        enc_pid_bin(x, r[k].p.pid);
        enc_bin(x, r[k].p.name);
        enc_bin(x, r[k].p.initial);
        enc_bin(x, r[k].p.current);
        ei_x_encode_longlong(x, r[k].value);
    }
    ei_x_encode_empty_list(x);
    emu->st.agent_procs++;
    return 0;
}

int sim_emu_agent_call(sim_emu_t *emu, sim_emu_node_t *n, const sim_emu_call_t *c, ei_x_buff *x)
{
    if (!strcmp(c->m, "code"))
        return !strcmp(c->f, "load_binary") ? load_binary(emu, n, c, x) : 1;
    if (!n->agent_loaded)
        return 1;                                    /* as a node without the module */
    if (!strcmp(c->f, "module_info") && c->arity == 1) {
        char key[MAXATOMLEN_UTF8];
        int i = arg_at(c, 0);
        if (i < 0 || ei_decode_atom(c->buf, &i, key) != 0)
            return -1;
        if (!strcmp(key, "md5")) {
            ei_x_encode_binary(x, emu->agent_md5, 16);
            return 0;
        }
        if (!strcmp(key, "module")) {
            ei_x_encode_atom(x, AGENT_MOD);
            return 0;
        }
        return -1;
    }
    sim_emu_sample_t s;
    if (!strcmp(c->f, "collect") && c->arity == 1) {
        sim_emu_values_sample(emu->seed, n->index, wr_mono_ms() - emu->start_ms, &s);
        collect(emu, n, &s, x);
        return 0;
    }
    if (!strcmp(c->f, "procs") && c->arity == 2) {
        sim_emu_values_sample(emu->seed, n->index, wr_mono_ms() - emu->start_ms, &s);
        return procs(emu, n, c, &s, x);
    }
    return 1;
}
