/* sim_emu_calls: what an emulated node answers. Decodes the rex call envelope, dispatches
 * the few BIFs a leaf uses (erlang:memory/0,1, system_info/1, statistics/1, node/0,
 * nodes/0,1) and encodes replies shaped exactly like an OTP 25 node's; warren_agent's calls
 * and code:load_binary/3 go to sim_emu_agent.c; any other function is
 * undef, a bad argument to a served BIF is badarg, both in the shape rex gives. Numbers come
 * from sim_emu_values.c. One reused buffer per direction; nothing allocated per message. */
#include <string.h>
#include "sim_emu.h"
#include "sim_emu_values.h"
#include "wr_error.h"
#include "wr_time.h"

#define OTP_RELEASE "25"
#define ERTS_VERSION "13.1.5"

typedef sim_emu_call_t call_t;    /* see sim_emu.h */

static const char *const MEM_KEYS[] = {"total", "processes", "processes_used", "system", "atom",
                                       "atom_used", "binary", "code", "ets"};
enum { MEM_NKEYS = 9 };

static int64_t mem_value(const sim_emu_sample_t *s, int k)
{
    const int64_t v[MEM_NKEYS] = {s->mem_total, s->mem_processes, s->mem_processes_used,
                                  s->mem_system, s->mem_atom, s->mem_atom_used, s->mem_binary,
                                  s->mem_code, s->mem_ets};
    return v[k];
}

static int mem_key(const char *atom)
{
    for (int k = 0; k < MEM_NKEYS; k++)
        if (!strcmp(atom, MEM_KEYS[k]))
            return k;
    return -1;
}

static void enc_pair(ei_x_buff *x, const char *tag, int64_t v)
{
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, tag);
    ei_x_encode_longlong(x, v);
}

static void enc_pair2(ei_x_buff *x, int64_t a, int64_t b)
{
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_longlong(x, a);
    ei_x_encode_longlong(x, b);
}

/* {badrpc, {'EXIT', {Reason, [{M, F, A, Info}]}}}, Info = [] for undef and
 * [{error_info, #{module => erl_erts_errors}}] for a BIF's badarg. */
static void enc_exit(ei_x_buff *x, const call_t *c, int badarg)
{
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, "badrpc");
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, "EXIT");
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, badarg ? "badarg" : "undef");
    ei_x_encode_list_header(x, 1);
    ei_x_encode_tuple_header(x, 4);
    ei_x_encode_atom(x, c->m);
    ei_x_encode_atom(x, c->f);
    ei_x_append_buf(x, c->buf + c->args_at, c->args_end - c->args_at);
    if (badarg) {
        ei_x_encode_list_header(x, 1);
        ei_x_encode_tuple_header(x, 2);
        ei_x_encode_atom(x, "error_info");
        ei_x_encode_map_header(x, 1);
        ei_x_encode_atom(x, "module");
        ei_x_encode_atom(x, "erl_erts_errors");
    }
    ei_x_encode_empty_list(x);                       /* end of Info */
    ei_x_encode_empty_list(x);                       /* end of the stack */
}

/* The first argument as an atom; returns 0 or -1 when it is not one. */
static int arg0_atom(const call_t *c, char *out)
{
    if (c->arity < 1 || c->args_is_string)
        return -1;
    int i = c->arg0_at;
    return ei_decode_atom(c->buf, &i, out) == 0 ? 0 : -1;
}

/* erlang:memory/1 with an atom or a list of atoms. Returns 0, or -1 for badarg. */
static int reply_memory1(ei_x_buff *x, const call_t *c, const sim_emu_sample_t *s)
{
    char a[MAXATOMLEN_UTF8];
    if (arg0_atom(c, a) == 0) {
        int k = mem_key(a);
        if (k < 0)
            return -1;
        ei_x_encode_longlong(x, mem_value(s, k));
        return 0;
    }
    int i = c->arg0_at, type, size, n;
    if (ei_get_type(c->buf, &i, &type, &size) != 0)
        return -1;
    if (type == ERL_NIL_EXT) {
        ei_x_encode_empty_list(x);
        return 0;
    }
    if (type != ERL_LIST_EXT || ei_decode_list_header(c->buf, &i, &n) != 0 || n > 64)
        return -1;
    int keys[64];
    for (int j = 0; j < n; j++)
        if (ei_decode_atom(c->buf, &i, a) != 0 || (keys[j] = mem_key(a)) < 0)
            return -1;
    if (ei_get_type(c->buf, &i, &type, &size) != 0 || type != ERL_NIL_EXT)
        return -1;                                   /* improper list */
    ei_x_encode_list_header(x, n);
    for (int j = 0; j < n; j++)
        enc_pair(x, MEM_KEYS[keys[j]], mem_value(s, keys[j]));
    ei_x_encode_empty_list(x);
    return 0;
}

static int reply_system_info(ei_x_buff *x, const call_t *c, const sim_emu_node_t *n,
                             const sim_emu_sample_t *s)
{
    char a[MAXATOMLEN_UTF8];
    if (arg0_atom(c, a) != 0)
        return -1;
    static const struct { const char *key; int64_t value; } fixed[] = {
        {"process_limit", 262144}, {"port_limit", 65536}, {"atom_limit", 1048576},
        {"ets_limit", 8192}, {"wordsize", 8}, {"thread_pool_size", 1}, {"dirty_io_schedulers", 10},
    };
    static const char *const per_node[] = {"schedulers", "schedulers_online", "logical_processors",
        "logical_processors_available", "logical_processors_online", "dirty_cpu_schedulers",
        "dirty_cpu_schedulers_online"};
    for (size_t k = 0; k < sizeof per_node / sizeof per_node[0]; k++)
        if (!strcmp(a, per_node[k])) {
            ei_x_encode_longlong(x, s->schedulers);  /* 4 or 8, fixed per node */
            return 0;
        }
    for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
        if (!strcmp(a, fixed[k].key)) {
            ei_x_encode_longlong(x, fixed[k].value);
            return 0;
        }
    if (!strcmp(a, "process_count"))
        ei_x_encode_longlong(x, s->process_count);
    else if (!strcmp(a, "port_count"))
        ei_x_encode_longlong(x, s->port_count);
    else if (!strcmp(a, "atom_count"))
        ei_x_encode_longlong(x, s->atom_count);
    else if (!strcmp(a, "ets_count"))
        ei_x_encode_longlong(x, s->ets_count);
    else if (!strcmp(a, "creation"))
        ei_x_encode_ulonglong(x, n->ec.creation);
    else if (!strcmp(a, "otp_release"))
        ei_x_encode_string(x, OTP_RELEASE);
    else if (!strcmp(a, "version"))
        ei_x_encode_string(x, ERTS_VERSION);
    else if (!strcmp(a, "system_architecture"))
        ei_x_encode_string(x, "x86_64-pc-linux-gnu");
    else if (!strcmp(a, "machine"))
        ei_x_encode_string(x, "BEAM");
    else
        return -1;
    return 0;
}

static int reply_statistics(ei_x_buff *x, const call_t *c, sim_emu_node_t *n, const sim_emu_sample_t *s)
{
    char a[MAXATOMLEN_UTF8];
    if (arg0_atom(c, a) != 0)
        return -1;
    if (!strcmp(a, "run_queue") || !strcmp(a, "total_run_queue_lengths") ||
        !strcmp(a, "total_run_queue_lengths_all")) {
        ei_x_encode_longlong(x, s->run_queue);
    } else if (!strcmp(a, "run_queue_lengths") || !strcmp(a, "run_queue_lengths_all")) {
        /* the normal schedulers plus the dirty CPU run queue (and the dirty I/O one for _all) */
        int all = !strcmp(a, "run_queue_lengths_all");
        ei_x_encode_list_header(x, s->schedulers + 1 + all);
        for (int k = 0; k < s->schedulers; k++)
            ei_x_encode_longlong(x, s->sched_run_queue[k]);
        ei_x_encode_longlong(x, 0);
        if (all)
            ei_x_encode_longlong(x, 0);
        ei_x_encode_empty_list(x);
    } else if (!strcmp(a, "reductions") || !strcmp(a, "exact_reductions")) {
        int64_t since = s->reductions - n->last_reductions;
        n->last_reductions = s->reductions;
        enc_pair2(x, s->reductions, since < 0 ? 0 : since);
    } else if (!strcmp(a, "wall_clock")) {
        int64_t since = s->wall_clock_ms - n->last_wall_ms;
        n->last_wall_ms = s->wall_clock_ms;
        enc_pair2(x, s->wall_clock_ms, since < 0 ? 0 : since);
    } else if (!strcmp(a, "runtime")) {
        int64_t since = s->runtime_ms - n->last_runtime_ms;
        n->last_runtime_ms = s->runtime_ms;
        enc_pair2(x, s->runtime_ms, since < 0 ? 0 : since);
    } else if (!strcmp(a, "io")) {
        ei_x_encode_tuple_header(x, 2);
        enc_pair(x, "input", s->io_input);
        enc_pair(x, "output", s->io_output);
    } else if (!strcmp(a, "context_switches")) {
        enc_pair2(x, s->context_switches, 0);
    } else if (!strcmp(a, "garbage_collection")) {
        ei_x_encode_tuple_header(x, 3);
        ei_x_encode_longlong(x, s->gc_count);
        ei_x_encode_longlong(x, s->gc_words);
        ei_x_encode_longlong(x, 0);
    } else {
        return -1;
    }
    return 0;
}

/* Encodes the reply to call c of node n into x. */
static void dispatch(sim_emu_t *emu, sim_emu_node_t *n, const call_t *c, ei_x_buff *x)
{
    sim_emu_sample_t s;
    int r = 1;                                       /* 1 = undef, -1 = badarg, 0 = done */
    if (!strcmp(c->m, "warren_agent") || !strcmp(c->m, "code")) {
        r = sim_emu_agent_call(emu, n, c, x);        /* sim_emu_agent.c */
    } else if (!strcmp(c->m, "erlang")) {
        const char *f = c->f;
        int needs_values = !strcmp(f, "memory") || !strcmp(f, "system_info") || !strcmp(f, "statistics");
        if (needs_values)
            sim_emu_node_sample(emu, n, &s);
        if (!strcmp(f, "memory") && c->arity == 0) {
            ei_x_encode_list_header(x, MEM_NKEYS);
            for (int k = 0; k < MEM_NKEYS; k++)
                enc_pair(x, MEM_KEYS[k], mem_value(&s, k));
            ei_x_encode_empty_list(x);
            r = 0;
        } else if (!strcmp(f, "memory") && c->arity == 1) {
            r = reply_memory1(x, c, &s);
        } else if (!strcmp(f, "system_info") && c->arity == 1) {
            r = reply_system_info(x, c, n, &s);
        } else if (!strcmp(f, "statistics") && c->arity == 1) {
            r = reply_statistics(x, c, n, &s);
        } else if (!strcmp(f, "node") && c->arity == 0) {
            ei_x_encode_atom(x, n->ec.thisnodename);
            r = 0;
        } else if (!strcmp(f, "nodes") && c->arity <= 1) {
            ei_x_encode_empty_list(x);               /* an emulated node sees no other node */
            r = 0;
        }
    }
    if (r != 0) {
        enc_exit(x, c, r < 0);
        if (r < 0)
            emu->st.badarg++;
        else
            emu->st.undef++;
    }
}

/* Decodes {call, M, F, A, GL} at *i into c. Returns 0 or -1. */
static int decode_call(const char *buf, int *i, call_t *c)
{
    int arity, type, size;
    char tag[MAXATOMLEN_UTF8];
    if (ei_decode_tuple_header(buf, i, &arity) != 0 || arity != 5 ||
        ei_decode_atom(buf, i, tag) != 0 || strcmp(tag, "call") != 0 ||
        ei_decode_atom(buf, i, c->m) != 0 || ei_decode_atom(buf, i, c->f) != 0)
        return -1;
    c->buf = buf;
    c->args_at = *i;
    if (ei_get_type(buf, i, &type, &size) != 0)
        return -1;
    c->args_is_string = 0;
    c->arg0_at = -1;
    if (type == ERL_NIL_EXT) {
        c->arity = 0;
    } else if (type == ERL_STRING_EXT) {
        c->arity = size;
        c->args_is_string = 1;
    } else if (type == ERL_LIST_EXT) {
        int j = *i;
        if (ei_decode_list_header(buf, &j, &c->arity) != 0)
            return -1;
        c->arg0_at = j;
    } else {
        return -1;                                   /* A is not a list */
    }
    if (ei_skip_term(buf, i) != 0)
        return -1;
    c->args_end = *i;
    return ei_skip_term(buf, i) == 0 ? 0 : -1;       /* the group leader */
}

int sim_emu_calls_handle(sim_emu_t *emu, sim_emu_node_t *n, int fd, const erlang_msg *msg)
{
    if (msg->msgtype != ERL_REG_SEND || strcmp(msg->toname, "rex") != 0) {
        emu->st.ignored++;                           /* links, monitors, other names */
        return 0;
    }
    if (n->faults && sim_inject_active(n->faults, SIM_FAULT_SILENT, sim_emu_now(emu))) {
        emu->st.silenced++;                          /* a hung node: ticks, but no answers */
        return 0;
    }
    const char *buf = emu->rx.buff;
    int i = 0, version, arity;
    char atom[MAXATOMLEN_UTF8];
    erlang_pid from;
    int tag_at = 0, tag_end = 0, gen_call;
    call_t c;
    if (ei_decode_version(buf, &i, &version) != 0 || ei_decode_tuple_header(buf, &i, &arity) != 0)
        goto malformed;
    if (arity == 3) {                                /* {'$gen_call', {Pid, Tag}, Request} */
        int a2;
        if (ei_decode_atom(buf, &i, atom) != 0 || strcmp(atom, "$gen_call") != 0 ||
            ei_decode_tuple_header(buf, &i, &a2) != 0 || a2 != 2 || ei_decode_pid(buf, &i, &from) != 0)
            goto malformed;
        tag_at = i;
        if (ei_skip_term(buf, &i) != 0)
            goto malformed;
        tag_end = i;
        gen_call = 1;
    } else if (arity == 2) {                         /* ei_rpc: {Pid, Request}, reply {rex, R} */
        if (ei_decode_pid(buf, &i, &from) != 0)
            goto malformed;
        gen_call = 0;
    } else {
        goto malformed;
    }
    if (decode_call(buf, &i, &c) != 0 || i > emu->rx.index)
        goto malformed;

    ei_x_buff *x = &emu->tx;
    x->index = 0;
    ei_x_encode_version(x);
    ei_x_encode_tuple_header(x, 2);
    if (gen_call)
        ei_x_append_buf(x, buf + tag_at, tag_end - tag_at);   /* the tag exactly as received */
    else
        ei_x_encode_atom(x, "rex");
    emu->call_fd = fd;                               /* subscribe/2 keeps it */
    dispatch(emu, n, &c, x);
    emu->st.calls++;
    if (ei_send(fd, &from, x->buff, x->index) < 0) {
        emu->st.send_failed++;
        return WR_ECLOSED;
    }
    return 0;

malformed:
    emu->st.malformed++;
    return 0;
}
