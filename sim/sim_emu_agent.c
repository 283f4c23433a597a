/* sim_emu_agent: an emulated node's side of warren_agent (leaf/agent/warren_agent.erl), so a
 * leaf cannot tell an emulated node from a real one running the agent:
 *   warren_agent:module_info(md5)      undef until loaded, then this build's md5
 *   code:load_binary(warren_agent, File, Bin)   {module, warren_agent} (Bin is not kept)
 *   warren_agent:collect(Opts)         {warren_agent, 1, Metrics, Info}, a value for every
 *                                      name of core/wr_metric.c's catalogue
 *   warren_agent:procs(By, N)          [{Pid, Name, InitialCall, Current, Value}], largest first
 *   warren_agent:census()             {warren_census, 2, Release, [{Mod, Md5}], [{App, Vsn}], View}
 *                                      (emulator only so far: docs/SIM.md)
 *   warren_agent:subscribe(Leaf, Opts) {ok, Pid}; then log_storm pushes {warren_notif, ...}
 *                                      to {warren_leaf, Leaf} (sim_emu_agent_push)
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

enum { ROLE_NONE = 0, ROLE_LOGGER, ROLE_MASTER, ROLE_COLONY1, ROLE_COLONY, ROLE_FLOOD, ROLE_LEAK };

typedef struct {
    int         pid;              /* <0.pid.0> */
    const char *name, *initial, *current;
    double      weight;           /* share of the node's process memory / reductions */
    int         role;             /* ROLE_...: a process whose values the sample fixes */
} model_proc_t;

/* The ant farm's application processes (sim_antfarm.h), after the fault processes. */
static const model_proc_t ant_procs[] = {
    {80, "ant_sup", "supervisor:ant_sup/1", "gen_server:loop/7", 1, ROLE_NONE},
    {81, "ant_master", "ant_master:init/1", "gen_server:loop/7", 8, ROLE_MASTER},
    {82, "ant_pheromone", "ant_pheromone:init/1", "gen_server:loop/7", 3, ROLE_NONE},
};
static const char *const colony_names[8] = {"ant_colony_1", "ant_colony_2", "ant_colony_3", "ant_colony_4",
                                            "ant_colony_5", "ant_colony_6", "ant_colony_7", "ant_colony_8"};

/* OTP's own processes, as a fresh OTP 25 node shows them. */
static const model_proc_t system_procs[] = {
    {0, "init", "otp_ring0:start/2", "init:loop/1", 3, ROLE_NONE},
    {1, "erts_code_purger", "erts_code_purger:start/0", "erts_code_purger:wait_for_request/0", 1, ROLE_NONE},
    {2, "", "erts_literal_area_collector:start/0", "erts_literal_area_collector:msg_loop/4", 0.5, ROLE_NONE},
    {3, "", "erts_dirty_process_signal_handler:start/0", "erts_dirty_process_signal_handler:msg_loop/0", 0.3, ROLE_NONE},
    {42, "logger", "logger_olp:init/1", "gen_server:loop/7", 2, ROLE_NONE},
    {44, "application_controller", "application_controller:start/1", "gen_server:loop/7", 6, ROLE_NONE},
    {46, "", "application_master:init/4", "application_master:main_loop/2", 0.5, ROLE_NONE},
    {48, "kernel_sup", "supervisor:kernel/1", "gen_server:loop/7", 1.5, ROLE_NONE},
    {49, "code_server", "code_server:init/3", "code_server:loop/1", 12, ROLE_NONE},
    {51, "rex", "rpc:init/1", "gen_server:loop/7", 0.8, ROLE_NONE},
    {52, "global_name_server", "global:init/1", "gen_server:loop/7", 1, ROLE_NONE},
    {55, "inet_db", "inet_db:init/1", "gen_server:loop/7", 0.7, ROLE_NONE},
    {56, "global_group", "global_group:init/1", "gen_server:loop/7", 0.5, ROLE_NONE},
    {57, "file_server_2", "file_server:init/1", "gen_server:loop/7", 1.5, ROLE_NONE},
    {58, "erl_prim_loader", "erl_prim_loader:start_it/4", "erl_prim_loader:loop/3", 4, ROLE_NONE},
    {60, "standard_error", "standard_error:server/2", "standard_error:server_loop/1", 0.3, ROLE_NONE},
    {62, "user", "group:server/3", "group:server_loop/3", 1, ROLE_NONE},
    {66, "kernel_safe_sup", "supervisor:kernel/1", "gen_server:loop/7", 0.5, ROLE_NONE},
    {68, "logger_sup", "supervisor:logger_sup/1", "gen_server:loop/7", 0.5, ROLE_NONE},
    {70, "net_kernel", "net_kernel:init/1", "gen_server:loop/7", 1.2, ROLE_NONE},
    {71, "erl_epmd", "erl_epmd:init/1", "gen_server:loop/7", 0.4, ROLE_NONE},
    {72, "auth", "auth:init/1", "gen_server:loop/7", 0.4, ROLE_NONE},
    {74, "timer_server", "timer:init/1", "gen_server:loop/7", 0.6, ROLE_NONE},
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
    for (; k < N_SYSTEM && k < total; k++) {
        out[k] = system_procs[k];
        if (!strcmp(out[k].name, "logger"))
            out[k].role = ROLE_LOGGER;
    }
    if (s->flood_queue > 0 && k < total)
        out[k++] = (model_proc_t){77, s->flood_name, "proc_lib:init_p/5", "gen_server:loop/7", 1, ROLE_FLOOD};
    if (s->leak_proc_bytes > 0 && k < total)
        out[k++] = (model_proc_t){78, "ant_archive", "ant_archive:init/1", "gen_server:loop/7", 1, ROLE_LEAK};
    if (s->workload == SIM_WORKLOAD_ANTFARM) {
        for (size_t a = 0; a < sizeof ant_procs / sizeof ant_procs[0] && k < total; a++)
            out[k++] = ant_procs[a];
        for (int c = 0; c < s->aco_colonies && c < 8 && k < total; c++)
            out[k++] = (model_proc_t){84 + c, colony_names[c], "ant_colony:init/1", "gen_server:loop/7", 4,
                                      c == 0 ? ROLE_COLONY1 : ROLE_COLONY};
        for (int64_t a = 0; a < s->aco_ants && k < total; a++, k++) {
            double u = sim_emu_values_unit(emu->seed, n->index, CH_MODEL + 500u + (uint32_t)(s->aco_iteration & 0xffff) * 64u + (uint32_t)a);
            out[k] = (model_proc_t){100 + (int)((s->aco_iteration * 997 + a * 13) % 30000), "", "ant:start/4",
                                    u < 0.8 ? "ant:tour/4" : "ets:lookup/2", 0.5, ROLE_NONE};
        }
        return k;
    }
    for (int w = 0; k < total; k++, w++) {
        double u = sim_emu_values_unit(emu->seed, n->index, CH_MODEL + (uint32_t)w);
        int kind = w == 0 ? 0 : 1 + (int)(u * (N_WORKER_KINDS - 1));
        out[k].pid = 90 + w * 13 + (int)(u * 11);
        out[k].name = worker_kinds[kind].name;
        out[k].initial = worker_kinds[kind].initial;
        out[k].current = worker_kinds[kind].current;
        out[k].weight = exp(4.0 * sim_emu_values_unit(emu->seed, n->index, CH_MODEL + 1000u + (uint32_t)w));
        out[k].role = ROLE_NONE;
    }
    return total;
}

/* The process whose queue is msgq_max (s->msgq_who), given the model's longest worker lq. */
static int maxq_index(const sim_emu_sample_t *s, const model_proc_t *procs, int count, int lq)
{
    static const int role_of[] = {[SIM_MQ_MODEL] = ROLE_NONE, [SIM_MQ_MASTER] = ROLE_MASTER,
                                  [SIM_MQ_COLONY] = ROLE_COLONY1, [SIM_MQ_FLOOD] = ROLE_FLOOD,
                                  [SIM_MQ_LOGGER] = ROLE_LOGGER};
    int role = s->msgq_who >= 0 && s->msgq_who <= SIM_MQ_LOGGER ? role_of[s->msgq_who] : ROLE_NONE;
    for (int i = 0; role != ROLE_NONE && i < count; i++)
        if (procs[i].role == role)
            return i;
    return lq;
}

/* The queue a special process has by the sample, or -1 for an ordinary one. */
static int64_t role_queue(const sim_emu_sample_t *s, int role)
{
    switch (role) {
    case ROLE_LOGGER:  return s->logger_queue;
    case ROLE_MASTER:  return s->aco_master_queue;
    case ROLE_COLONY1: return s->aco_colony_queue;
    case ROLE_COLONY:  return (int64_t)(0.7 * (double)s->aco_colony_queue);
    case ROLE_FLOOD:   return s->flood_queue;
    default:           return -1;
    }
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
    int lq = maxq_index(s, procs, count, longest_queue(emu, n, count));
    int64_t qleft = s->msgq_total - s->msgq_max;
    for (int i = 0; i < count; i++) {
        int64_t rq = role_queue(s, procs[i].role);
        if (rq > 0 && i != lq)
            qleft -= rq;
    }
    int64_t flood_bytes = s->flood_queue * SIM_FLOOD_MSG_BYTES;
    for (int i = 0; i < count; i++) {
        int64_t v = 0;
        double share = wsum > 0 ? w[i] / wsum : 0.0;
        int64_t rq = role_queue(s, procs[i].role);
        switch (by) {
        case BY_MEMORY: {
            double spare = 0.5 * (double)(s->mem_processes - flood_bytes - s->leak_proc_bytes) - 2688.0 * count;
            v = 2688 + (int64_t)(share * (spare > 0 ? spare : 0));
            if (procs[i].role == ROLE_FLOOD)
                v += flood_bytes;
            else if (procs[i].role == ROLE_LEAK)
                v += s->leak_proc_bytes;
            break;
        }
        case BY_REDUCTIONS: v = (int64_t)(share * 0.7 * (double)s->reductions); break;
        case BY_BINARY:     v = (int64_t)(share * 0.6 * (double)s->mem_binary); break;
        default:
            if (i == lq) {
                v = s->msgq_max;
            } else if (rq >= 0) {
                v = rq < s->msgq_max ? rq : s->msgq_max;
            } else if (qleft > 0 && i >= N_SYSTEM) {
                v = (int64_t)(share * (double)(s->msgq_total - s->msgq_max));
                if (v > qleft) v = qleft;
                if (v >= s->msgq_max) v = s->msgq_max > 0 ? s->msgq_max - 1 : 0;   /* lq stays first */
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
    /* a plausible beam: an IFF file ("FOR1"), or gzip-compressed as beam_lib:strip/1 and
     * erlc +compressed write it (the loader inflates it) */
    const unsigned char *bin = (const unsigned char *)c->buf + b + 5;
    if (strcmp(mod, AGENT_MOD) != 0 || !emu->have_agent || size > AGENT_BIN_MAX || size < 4 ||
        (memcmp(bin, "FOR1", 4) != 0 && !(bin[0] == 0x1f && bin[1] == 0x8b))) {
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

static void census(sim_emu_t *emu, sim_emu_node_t *n, ei_x_buff *x);

/* Info's {system_monitor, [{Event, Count}]}, counts since the agent started, as the real
 * agent reports them: busy_dist_port counts SIM_BUSY_DIST_EVENTS a second while the
 * busy_dist_port fault is (or was, in this life) active. */
static void sysmon_info(sim_emu_t *emu, const sim_emu_node_t *n, ei_x_buff *x)
{
    int64_t busy = 0;
    const sim_inject_faults_t *f = n->faults;
    if (f && f->start_ms[SIM_FAULT_BUSY_DIST_PORT] >= 0) {
        int64_t now = sim_emu_now(emu), end = f->end_ms[SIM_FAULT_BUSY_DIST_PORT];
        int64_t until = end < now ? end : now;
        if (until > f->start_ms[SIM_FAULT_BUSY_DIST_PORT])
            busy = (until - f->start_ms[SIM_FAULT_BUSY_DIST_PORT]) * SIM_BUSY_DIST_EVENTS / 1000;
    }
    static const char *const ev[] = {"long_gc", "large_heap", "busy_dist_port"};
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, "system_monitor");
    ei_x_encode_list_header(x, 3);
    for (int k = 0; k < 3; k++) {
        ei_x_encode_tuple_header(x, 2);
        ei_x_encode_atom(x, ev[k]);
        ei_x_encode_longlong(x, k == 2 ? (long long)busy : 0);
    }
    ei_x_encode_empty_list(x);
}

/* subscribe(LeafNode, Opts) -> {ok, Pid}: pushes go to {warren_leaf, LeafNode} over the
 * connection the call came on (Opts are accepted and not used: the emulator pushes only
 * log_storm reports, under the agent's default source_rate). */
static int subscribe(sim_emu_t *emu, sim_emu_node_t *n, const sim_emu_call_t *c, ei_x_buff *x)
{
    char leaf[MAXATOMLEN_UTF8];
    int i = arg_at(c, 0), j = arg_at(c, 1), type, size;
    if (i < 0 || j < 0 || ei_decode_atom(c->buf, &i, leaf) != 0 || !strchr(leaf, '@') ||
        strlen(leaf) > MAXNODELEN || ei_get_type(c->buf, &j, &type, &size) != 0 ||
        (type != ERL_LIST_EXT && type != ERL_NIL_EXT && type != ERL_STRING_EXT))
        return -1;
    snprintf(n->notif_leaf, sizeof n->notif_leaf, "%s", leaf);
    n->notif_fd = emu->call_fd;
    emu->st.subscribes++;
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, "ok");
    ei_x_encode_pid(x, ei_self(&n->ec));
    return 0;
}

void sim_emu_agent_push(sim_emu_t *emu, sim_emu_node_t *n, double tick_s)
{
    int64_t now = sim_emu_now(emu);
    if (n->down || !n->faults || !sim_inject_active(n->faults, SIM_FAULT_LOG_STORM, now))
        return;
    if (n->notif_fd < 0 || sim_inject_active(n->faults, SIM_FAULT_SILENT, now))
        return;                                      /* nobody to push to, or hung */
    int count = (int)(SIM_LOG_STORM_NOTIF_RATE * tick_s + 0.5);
    ei_x_buff *x = &emu->tx;
    int64_t ts = wr_wall_ms();
    for (int k = 0; k < count && n->notif_fd >= 0; k++) {
        char text[160];
        snprintf(text, sizeof text, "ant_colony: tour evaluation crashed: badarith (log_storm report %llu)",
                 (unsigned long long)++n->notif_seq);
        x->index = 0;
        ei_x_encode_version(x);
        ei_x_encode_tuple_header(x, 5);
        ei_x_encode_atom(x, "warren_notif");
        ei_x_encode_atom(x, "error_report");
        ei_x_encode_atom(x, "major");
        ei_x_encode_longlong(x, (long long)ts);
        ei_x_encode_list_header(x, 3);
        ei_x_encode_tuple_header(x, 2);
        ei_x_encode_atom(x, "level");
        ei_x_encode_atom(x, "error");
        ei_x_encode_tuple_header(x, 2);
        ei_x_encode_atom(x, "text");
        enc_bin(x, text);
        ei_x_encode_tuple_header(x, 2);
        ei_x_encode_atom(x, "pid");
        enc_bin(x, "<0.93.0>");
        ei_x_encode_empty_list(x);
        if (ei_reg_send(&n->ec, n->notif_fd, "warren_leaf", x->buff, x->index) < 0) {
            emu->st.notif_failed++;
            n->notif_fd = -1;                        /* resubscribed by the leaf later */
            break;
        }
        emu->st.notif_pushed++;
    }
}

/* fd.open / fd.limit as the agent reports them: a descriptor per port plus the emulator's own
 * (SIM_FD_BASE), under a service's usual ulimit -n: so the ports a fault opens grow fd.open. */
#define SIM_FD_BASE  40
#define SIM_FD_LIMIT 65536
static double fd_value(const sim_emu_sample_t *s, const char *what, int *is_int)
{
    *is_int = 1;
    return !strcmp(what, "limit") ? SIM_FD_LIMIT : (double)(s->port_count + SIM_FD_BASE);
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
        else if (!strncmp(wr_metric_defs[k].name, "fd.", 3))
            v = fd_value(s, wr_metric_defs[k].name + 3, &is_int);
        ei_x_encode_tuple_header(x, 2);
        enc_bin(x, wr_metric_defs[k].name);
        if (is_int)
            ei_x_encode_longlong(x, (long long)v);
        else
            ei_x_encode_double(x, v);
    }
    ei_x_encode_empty_list(x);
    count = rank(emu, n, s, BY_MESSAGE_QUEUE, r);
    int lq = 0;                                      /* rank gave it exactly msgq_max */
    for (int k = 1; k < count; k++)
        if (r[k].value > r[lq].value)
            lq = k;
    ei_x_encode_list_header(x, 4);                   /* the agent's order */
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, "max_message_queue");
    ei_x_encode_tuple_header(x, 3);
    enc_pid_bin(x, r[lq].p.pid);
    enc_bin(x, r[lq].p.name);
    ei_x_encode_longlong(x, r[lq].value);
    sysmon_info(emu, n, x);
    ei_x_encode_tuple_header(x, 2);                  /* no file differs from the first look */
    ei_x_encode_atom(x, "files");
    ei_x_encode_empty_list(x);
    ei_x_encode_tuple_header(x, 2);                  /* no alarm_handler alarm */
    ei_x_encode_atom(x, "beam_alarms");
    ei_x_encode_empty_list(x);
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

/* ---- the module census (emulator side of the future module_clash fleet check) ---------- */

static const char *const census_modules[] = {
    "ant", "ant_app", "ant_colony", "ant_master", "ant_pheromone", "ant_sup", "ant_tour",
    "smtwtp", "smtwtp_input", "application", "application_controller", "code", "code_server",
    "erlang", "error_logger", "ets", "gen_server", "kernel", "lists", "logger", "maps",
    "net_kernel", "proc_lib", "rpc", "supervisor", "timer",
};
static const struct { const char *app, *vsn; } census_apps[] = {
    {"antfarm", "1.0.0"}, {"kernel", "8.5.3"}, {"stdlib", "4.2"}, {"sasl", "4.2"},
};

static uint64_t census_hash(const char *s, uint64_t salt)
{
    uint64_t h = 1469598103934665603ull ^ salt;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

static void census_md5(const char *mod, uint64_t salt, unsigned char out[16])
{
    uint64_t a = census_hash(mod, salt), b = census_hash(mod, salt ^ 0x9e3779b97f4a7c15ull);
    for (int i = 0; i < 8; i++) {
        out[i] = (unsigned char)(a >> (8 * i));
        out[8 + i] = (unsigned char)(b >> (8 * i));
    }
}

/* {warren_census, 2, Release, [{ModBin, Md5Bin}], [{AppBin, VsnBin}], {Members, ViewMd5}}: the
 * md5s are the release's (the same on every node of it), but module_clash's module reports
 * another one. The view is the same on every emulated node (one virtual "antfarm" cluster
 * that agrees: no membership_divergence). */
static void census(sim_emu_t *emu, sim_emu_node_t *n, ei_x_buff *x)
{
    int64_t now = sim_emu_now(emu);
    int clash = n->faults && sim_inject_active(n->faults, SIM_FAULT_MODULE_CLASH, now);
    const char *cm = clash ? n->faults->clash_module : NULL;
    size_t nm = sizeof census_modules / sizeof census_modules[0];
    int extra = 0;
    if (cm) {
        extra = 1;
        for (size_t k = 0; k < nm; k++)
            if (!strcmp(census_modules[k], cm))
                extra = 0;
    }
    ei_x_encode_tuple_header(x, 6);
    ei_x_encode_atom(x, "warren_census");
    ei_x_encode_long(x, 2);
    enc_bin(x, "antfarm-1.0.0");
    ei_x_encode_list_header(x, (long)nm + extra);
    unsigned char md5[16];
    for (size_t k = 0; k < nm + (size_t)extra; k++) {
        const char *mod = k < nm ? census_modules[k] : cm;
        uint64_t salt = cm && !strcmp(mod, cm)
                        ? 0xc1a54ull ^ ((uint64_t)n->index << 20) ^ (uint64_t)n->faults->start_ms[SIM_FAULT_MODULE_CLASH]
                        : 0;
        census_md5(mod, salt, md5);
        ei_x_encode_tuple_header(x, 2);
        enc_bin(x, mod);
        ei_x_encode_binary(x, md5, 16);
    }
    ei_x_encode_empty_list(x);
    ei_x_encode_list_header(x, (long)(sizeof census_apps / sizeof census_apps[0]));
    for (size_t k = 0; k < sizeof census_apps / sizeof census_apps[0]; k++) {
        ei_x_encode_tuple_header(x, 2);
        enc_bin(x, census_apps[k].app);
        enc_bin(x, census_apps[k].vsn);
    }
    ei_x_encode_empty_list(x);
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_long(x, 1);
    census_md5("antfarm-cluster", 0, md5);
    ei_x_encode_binary(x, md5, 16);
    emu->st.agent_census++;
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
        sim_emu_node_sample(emu, n, &s);
        collect(emu, n, &s, x);
        return 0;
    }
    if (!strcmp(c->f, "subscribe") && c->arity == 2)
        return subscribe(emu, n, c, x);
    if (!strcmp(c->f, "census") && c->arity == 0) {
        census(emu, n, x);
        return 0;
    }
    if (!strcmp(c->f, "procs") && c->arity == 2) {
        sim_emu_node_sample(emu, n, &s);
        return procs(emu, n, c, &s, x);
    }
    return 1;
}
