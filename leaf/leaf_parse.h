/* leaf_parse: decoding of the replies BEAM nodes send to the leaf's rex calls.
 *
 * Pure functions over external-term-format bytes (no sockets, no ei_cnode): a bounded
 * validator that walks one term and proves it lies within the received bytes (ei_decode_*
 * take no length, so nothing is decoded before the validator passed), the {Ref, Reply}
 * envelope of a gen_server reply, and the reply shapes of the agentless calls as an OTP 25
 * node gives them:
 *   erlang:memory()                 [{total,N},{processes,N},...] (9 pairs, any order)
 *   erlang:system_info(X)           N
 *   erlang:statistics(run_queue)    N
 *   erlang:statistics(reductions)   {Total, SinceLast}
 *   erlang:statistics(wall_clock)   {Ms, SinceLast}
 *   erlang:statistics(io)           {{input,I},{output,O}}
 * and the agent's one call, warren_agent:collect([]) (leaf_parse_collect below).
 * {badrpc, Reason} and any other shape give an error with a reason, never a crash.
 * Terms from nodes are untrusted: nesting, list lengths and integer sizes are capped. */
#ifndef LEAF_PARSE_H
#define LEAF_PARSE_H
/* libei.a is the thread-safe build: erl_errno is per thread only with _REENTRANT. */
#ifndef _REENTRANT
#define _REENTRANT 1
#endif
#include <stddef.h>
#include <stdint.h>
#include <ei.h>

#define LEAF_TERM_MAX_DEPTH   64
#define LEAF_TERM_MAX_ITEMS   1000000   /* elements in one term */
#define LEAF_PARSE_MAX_VALUES 9

/* What a call's reply looks like. */
typedef enum {
    LEAF_SHAPE_MEMORY = 0,   /* list of {Key, Int}; values per leaf_memory_keys */
    LEAF_SHAPE_INT = 1,      /* Int -> v[0] */
    LEAF_SHAPE_PAIR_FIRST = 2, /* {Int, _} -> v[0] */
    LEAF_SHAPE_IO = 3        /* {{input,I},{output,O}} -> v[0] = I, v[1] = O */
} leaf_shape_t;

/* The erlang:memory() keys the leaf keeps, in value-slot order (NULL-terminated). */
extern const char *const leaf_memory_keys[];

typedef struct {
    double   v[LEAF_PARSE_MAX_VALUES];
    unsigned mask;            /* bit i set: v[i] is present */
} leaf_values_t;

/* Checks that buf[index..len) starts with one complete, well-formed term within the caps.
 * On success returns 0 and sets *end to the index just past it. Returns WR_EPROTO
 * (truncated, unknown tag, bad size) or WR_ETOOBIG (over a cap) with a reason in why. */
int leaf_term_check(const char *buf, int len, int index, int *end, char *why, size_t whylen);

/* Decodes an integer term at *index (small, 32-bit, or a bignum that fits 64 bits, signed or
 * unsigned) into *out and advances *index. The term must have been validated. Returns 0 or
 * WR_EPROTO (not an integer) / WR_ETOOBIG (bignum over 64 bits) with a reason. */
int leaf_decode_number(const char *buf, int *index, double *out, char *why, size_t whylen);

/* Parses a whole received message payload (starting with the version byte, exactly len
 * bytes: ei_xreceive_msg leaves the payload's length in x.index) that should be {Ref, Reply}. On success fills *ref and sets *reply_index to where Reply starts.
 * Returns 0 or WR_EPROTO / WR_ETOOBIG with a reason. */
int leaf_parse_envelope(const char *buf, int len, erlang_ref *ref, int *reply_index,
                        char *why, size_t whylen);

/* Parses Reply (validated by leaf_parse_envelope) at index according to shape into out.
 * Returns 0 (at least one value present), or WR_EPROTO with a reason ("badrpc: ...",
 * "expected integer, got tuple", ...), or WR_ETOOBIG. */
int leaf_parse_reply(const char *buf, int index, leaf_shape_t shape, leaf_values_t *out,
                     char *why, size_t whylen);

/* ---- warren_agent:collect/1 ---------------------------------------------------------- */

#define LEAF_COLLECT_MAX_ITEMS 4096    /* elements of Metrics, and of Info */
/* The system monitor events whose counts collect's Info carries, in this order. */
#define LEAF_SYSMON_COUNT 3
extern const char *const leaf_sysmon_names[LEAF_SYSMON_COUNT];  /* long_gc, large_heap, busy_dist_port */

typedef struct {
    int    metric;                     /* index into wr_metric_defs */
    double value;
} leaf_metric_value_t;

/* Info's lists of node alarms (leaf_alarms_node.c): {files, [{PathBin, Status, DetailBin}]}
 * and {beam_alarms, [{IdBin, DescBin}]}. At most LEAF_COLLECT_LIST_MAX of each are kept (the
 * rest counted in *_over); a name longer than LEAF_COLLECT_NAME_MAX-1 bytes keeps its tail
 * after "..." (deterministic, so it stays the same alarm key); NULs become '?'. */
#define LEAF_COLLECT_LIST_MAX   16
#define LEAF_COLLECT_NAME_MAX   256    /* = WR_ALARM_RESOURCE_MAX */
#define LEAF_COLLECT_DETAIL_MAX 256
enum { LEAF_FILE_CHANGED = 0, LEAF_FILE_UNPARSEABLE = 1, LEAF_FILE_MISSING = 2 };
typedef struct {
    char name[LEAF_COLLECT_NAME_MAX];      /* the file's path, or the alarm id as text */
    char detail[LEAF_COLLECT_DETAIL_MAX];  /* why it changed or does not parse; the description */
    int  status;                           /* files: LEAF_FILE_...; beam alarms: 0 */
} leaf_collect_item_t;

/* What leaf_parse_collect found. The caller provides v (cap entries). */
typedef struct {
    leaf_metric_value_t *v;
    size_t cap, n;
    int16_t *hint;       /* optional (NULL: none): metric + 1 seen at each position of Metrics,
                          * kept by the caller across replies (0: unknown); hint_cap entries */
    size_t hint_cap;
    size_t unknown;      /* {Name, Value} with a valid name that is not in the catalogue */
    size_t bad;          /* elements that are not {Binary name, integer | float}, bad names,
                          * duplicates, values over 64 bits or past cap */
    int    has_maxq;     /* Info held max_message_queue */
    char   maxq_pid[32];
    char   maxq_name[256];
    double maxq_len;
    int    has_sysmon;   /* Info held {system_monitor, [{Event, Count}]} (leaf_alarms.c) */
    double sysmon[LEAF_SYSMON_COUNT];   /* its counts since the agent started (0: absent) */
    int    has_files;    /* Info held {files, [...]}: the problem files, n_files of them */
    size_t n_files, files_over, files_bad;
    leaf_collect_item_t files[LEAF_COLLECT_LIST_MAX];
    int    has_beam;     /* Info held {beam_alarms, [...]}: the node's alarm_handler alarms */
    size_t n_beam, beam_over, beam_bad;
    leaf_collect_item_t beam[LEAF_COLLECT_LIST_MAX];
} leaf_collect_t;

/* Parses the agent's collect reply (validated by leaf_parse_envelope) at index:
 *   {warren_agent, 1, [{NameBin, Number}], [{Key, Term}]}
 * Every good pair whose name is in the catalogue goes into out->v; other elements are
 * counted (out->unknown, out->bad) and skipped. Returns 0, or WR_EPROTO ("badrpc: ...", not
 * the 4-tuple, unknown version, Metrics not a proper list) or WR_ETOOBIG (over
 * LEAF_COLLECT_MAX_ITEMS) with a reason; on error out->n is 0. */
int leaf_parse_collect(const char *buf, int index, leaf_collect_t *out, char *why, size_t whylen);

#endif
