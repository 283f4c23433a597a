/* leaf_procs: QUERY kind "procs", the live top-N processes of one node, asked of the agent
 * (warren_agent:procs(By, N) through rex, tagged with a fresh ref like every poll call) and
 * answered to the parent when the node replies:
 *   args   {"by": "memory|message_queue|reductions|binary", "n": 1..1000}  (defaults memory, 20)
 *   result {"node": "a@h", "by": "memory", "procs": [{"pid": "<0.42.0>", "name": "logger",
 *           "initial_call": "logger_olp:init/1", "current_function": "gen_server:loop/7",
 *           "value": 12345}, ...]}   largest first, as the node sent them
 * Pending queries live in a small table (LEAF_PROCS_PENDING_MAX; over it: WR_EAGAIN); one
 * timer, running only while something is pending, fails the ones past their deadline
 * (WR_ETIMEDOUT) and the ones whose node went down or reconnected meanwhile (WR_ECLOSED).
 * Not the poll: leaf_poll.c hands over the replies whose ref it does not know. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "leaf.h"
#include "wr_error.h"
#include "wr_log.h"
#include "wr_time.h"

#define LEAF_PROCS_PENDING_MAX 256
#define LEAF_PROCS_TIMEOUT_MS  4000      /* under the tiers' query_timeout (5 s by default) */
#define LEAF_PROCS_CHECK_S     0.2       /* deadline / node-down check period */
#define LEAF_PROCS_N_DEFAULT   20
#define LEAF_PROCS_N_MAX       1000
#define LEAF_PROCS_STR_MAX     512       /* bytes kept of one string from the node */

static const char *const by_names[] = {"memory", "message_queue", "reductions", "binary"};
enum { N_BY = sizeof by_names / sizeof by_names[0] };

typedef struct {
    int        live;
    uint64_t   qid;
    int        parent;
    uint32_t   node;
    erlang_ref ref;
    int64_t    deadline;                 /* mono ms */
    int        fd;                       /* the node's connection when asked */
    int64_t    since;                    /* ... and its state's since_ms */
    int        by;
    int        n;
} pending_t;

struct leaf_procs {
    ev_timer  check;
    size_t    live;
    pending_t p[LEAF_PROCS_PENDING_MAX];
    uint64_t  asked, answered, failed, timed_out, refused_full;
};

static void finish(leaf_t *lf, pending_t *q, int status, const char *err, const char *json)
{
    leaf_up_reply(lf, q->parent, q->qid, status, err, json);
    q->live = 0;
    lf->procs->live--;
    if (status)
        lf->procs->failed++;
    else
        lf->procs->answered++;
    if (lf->procs->live == 0)
        ev_timer_stop(lf->loop, &lf->procs->check);
}

static void on_check(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    leaf_t *lf = w->data;
    int64_t now = wr_mono_ms();
    char err[WR_ERROR_TEXT_MAX];
    for (size_t i = 0; i < LEAF_PROCS_PENDING_MAX && lf->procs->live > 0; i++) {
        pending_t *q = &lf->procs->p[i];
        if (!q->live)
            continue;
        leaf_node_t *n = &lf->nodes[q->node];
        if (n->fd != q->fd || n->state != WR_NODE_UP || n->since_ms != q->since) {
            snprintf(err, sizeof err, "node %.150s went down before answering the procs query", n->name);
            finish(lf, q, WR_ECLOSED, err, NULL);
        } else if (now >= q->deadline) {
            lf->procs->timed_out++;
            snprintf(err, sizeof err, "node %.150s did not answer warren_agent:procs/2 within %d ms",
                     n->name, LEAF_PROCS_TIMEOUT_MS);
            finish(lf, q, WR_ETIMEDOUT, err, NULL);
        }
    }
}

/* Reads {"by": ..., "n": ...} (both optional). Returns 0 or WR_EINVAL with err set. */
static int parse_args(const char *args, size_t args_len, int *by, int *n, char *err, size_t errlen)
{
    *by = 0;
    *n = LEAF_PROCS_N_DEFAULT;
    if (args_len == 0)
        return 0;
    json_error_t jerr;
    json_t *a = json_loadb(args, args_len, 0, &jerr);
    int rc = 0;
    if (!a || !json_is_object(a)) {
        snprintf(err, errlen, "procs: arguments are not a JSON object%s%s", a ? "" : ": ", a ? "" : jerr.text);
        rc = WR_EINVAL;
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(a, key, v) {
        if (strcmp(key, "by") == 0) {
            const char *s = json_string_value(v);
            int k = 0;
            while (s && k < N_BY && strcmp(s, by_names[k]) != 0)
                k++;
            if (!s || k == N_BY) {
                snprintf(err, errlen, "by: expected memory, message_queue, reductions or binary (got %.64s)",
                         s ? s : "a non-string");
                rc = WR_EINVAL;
                goto out;
            }
            *by = k;
        } else if (strcmp(key, "n") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > LEAF_PROCS_N_MAX) {
                snprintf(err, errlen, "n: expected an integer from 1 to %d", LEAF_PROCS_N_MAX);
                rc = WR_EINVAL;
                goto out;
            }
            *n = (int)json_integer_value(v);
        } else {
            snprintf(err, errlen, "procs: unknown argument '%.64s'", key);
            rc = WR_EINVAL;
            goto out;
        }
    }
out:
    json_decref(a);
    return rc;
}

/* {'$gen_call', {Self, Ref}, {call, warren_agent, procs, [By, N], user}} into lf->tx. */
static int encode_procs_call(leaf_t *lf, const erlang_ref *ref, int by, int n)
{
    int rc = leaf_rpc_head(lf, ref, "warren_agent", "procs", 2) ? -1 : 0;
    rc |= ei_x_encode_atom(&lf->tx, by_names[by]);
    rc |= ei_x_encode_long(&lf->tx, n);
    return rc ? WR_ENOMEM : leaf_rpc_tail(lf);
}

int leaf_procs_start(leaf_t *lf, leaf_node_t *n, int parent, uint64_t qid, const char *args,
                     size_t args_len, char *err, size_t errlen)
{
    int by, count;
    int rc = parse_args(args, args_len, &by, &count, err, errlen);
    if (rc)
        return rc;
    if (n->state != WR_NODE_UP || n->fd < 0) {
        snprintf(err, errlen, "node %.150s is %s: no live process view", n->name, wr_node_state_name(n->state));
        return WR_ECLOSED;
    }
    if (!lf->procs) {
        lf->procs = calloc(1, sizeof *lf->procs);
        if (!lf->procs) {
            snprintf(err, errlen, "out of memory");
            return WR_ENOMEM;
        }
        ev_timer_init(&lf->procs->check, on_check, LEAF_PROCS_CHECK_S, LEAF_PROCS_CHECK_S);
        lf->procs->check.data = lf;
    }
    struct leaf_procs *ps = lf->procs;
    pending_t *q = NULL;
    for (size_t i = 0; i < LEAF_PROCS_PENDING_MAX && !q; i++)
        if (!ps->p[i].live)
            q = &ps->p[i];
    if (!q) {
        ps->refused_full++;
        snprintf(err, errlen, "leaf %s has %d procs queries pending: try again later", lf->cfg.id,
                 LEAF_PROCS_PENDING_MAX);
        return WR_EAGAIN;
    }
    if (ei_make_ref(&lf->ec, &q->ref) < 0 || encode_procs_call(lf, &q->ref, by, count) != 0) {
        snprintf(err, errlen, "cannot build the warren_agent:procs/2 call");
        return WR_ENOMEM;
    }
    if (leaf_beam_send_rex(lf, n) != 0) {
        snprintf(err, errlen, "node %.150s: sending warren_agent:procs/2 failed", n->name);
        leaf_node_lost(lf, n, "send failed (procs query)");
        return WR_ECLOSED;
    }
    q->live = 1;
    q->qid = qid;
    q->parent = parent;
    q->node = n->idx;
    q->deadline = wr_mono_ms() + LEAF_PROCS_TIMEOUT_MS;
    q->fd = n->fd;
    q->since = n->since_ms;
    q->by = by;
    q->n = count;
    ps->live++;
    ps->asked++;
    if (!ev_is_active(&ps->check))
        ev_timer_start(lf->loop, &ps->check);
    return 0;
}

static int ref_equal(const erlang_ref *a, const erlang_ref *b)
{
    if (a->len != b->len || a->len < 1 || a->len > 5)
        return 0;
    for (int i = 0; i < a->len; i++)
        if (a->n[i] != b->n[i])
            return 0;
    return 1;
}

/* A string of the node's (binary, or an atom / charlist / [] for agents that send those)
 * at *i as JSON: valid UTF-8 kept, anything else made ASCII with '?'. */
static json_t *term_string(const char *buf, int *i)
{
    int type, size;
    char s[LEAF_PROCS_STR_MAX + 1];
    if (ei_get_type(buf, i, &type, &size) != 0)
        return NULL;
    size_t len = 0;
    if (type == ERL_BINARY_EXT) {
        long got;
        if (size < 0)
            return NULL;
        if (size > LEAF_PROCS_STR_MAX) {   /* too long to keep whole: keep the head */
            memcpy(s, buf + *i + 5, LEAF_PROCS_STR_MAX);
            len = LEAF_PROCS_STR_MAX;
            if (ei_skip_term(buf, i) != 0)
                return NULL;
        } else {
            if (ei_decode_binary(buf, i, s, &got) != 0)
                return NULL;
            len = (size_t)got;
        }
    } else if (type == ERL_ATOM_EXT || type == ERL_SMALL_ATOM_EXT || type == ERL_ATOM_UTF8_EXT ||
               type == ERL_SMALL_ATOM_UTF8_EXT) {
        char a[MAXATOMLEN_UTF8];
        if (ei_decode_atom(buf, i, a) != 0)
            return NULL;
        len = strlen(a) > LEAF_PROCS_STR_MAX ? LEAF_PROCS_STR_MAX : strlen(a);
        memcpy(s, a, len);
    } else if (type == ERL_NIL_EXT) {
        if (ei_skip_term(buf, i) != 0)
            return NULL;
    } else if (type == ERL_STRING_EXT && size <= LEAF_PROCS_STR_MAX) {
        if (ei_decode_string(buf, i, s) != 0)
            return NULL;
        len = strlen(s);
    } else {
        return NULL;
    }
    json_t *j = json_stringn(s, len);
    if (j)
        return j;
    for (size_t k = 0; k < len; k++)
        if ((unsigned char)s[k] < 0x20 || (unsigned char)s[k] >= 0x7f)
            s[k] = '?';
    return json_stringn(s, len);
}

/* The reply at ri into result JSON; returns 0, or a status with err set. */
static int convert(leaf_t *lf, const leaf_node_t *n, const pending_t *q, int ri, char **result,
                   char *err, size_t errlen)
{
    const char *buf = lf->rx.buff;
    int i = ri, type, size, arity;
    char atom[MAXATOMLEN_UTF8];
    if (ei_get_type(buf, &i, &type, &size) != 0)
        goto bad;
    if ((type == ERL_SMALL_TUPLE_EXT || type == ERL_LARGE_TUPLE_EXT) && size == 2) {
        int j = i;
        if (ei_decode_tuple_header(buf, &j, &arity) == 0 && ei_decode_atom(buf, &j, atom) == 0 &&
            strcmp(atom, "badrpc") == 0) {
            char *text = NULL;
            int k = j;
            if (ei_s_print_term(&text, buf, &k) < 0)
                text = NULL;
            int undef = text && strstr(text, "undef") && strstr(text, "warren_agent");
            if (undef)
                snprintf(err, errlen, "node %.150s: the warren agent is not loaded (warren_agent:procs/2 "
                         "is undefined there)", n->name);
            else
                snprintf(err, errlen, "node %.150s: warren_agent:procs/2 failed: {badrpc, %.300s}", n->name,
                         text ? text : "?");
            free(text);
            return undef ? WR_EUNSUPPORTED : WR_EIO;
        }
    }
    json_t *procs = json_array();
    json_t *root = json_object();
    if (!procs || !root) {
        json_decref(procs);
        json_decref(root);
        snprintf(err, errlen, "out of memory");
        return WR_ENOMEM;
    }
    json_object_set_new(root, "node", json_string(n->name));
    json_object_set_new(root, "by", json_string(by_names[q->by]));
    json_object_set_new(root, "procs", procs);
    int count = 0;
    if (type == ERL_LIST_EXT) {
        if (ei_decode_list_header(buf, &i, &count) != 0)
            goto bad_json;
    } else if (type == ERL_NIL_EXT) {
        count = 0;
    } else {
        goto bad_json;
    }
    for (int e = 0; e < count; e++) {
        if (ei_decode_tuple_header(buf, &i, &arity) != 0 || arity != 5)
            goto bad_json;
        static const char *const keys[] = {"pid", "name", "initial_call", "current_function"};
        json_t *o = json_object();
        if (!o)
            goto bad_json;
        for (int k = 0; k < 4; k++) {
            json_t *s = term_string(buf, &i);
            if (!s) {
                json_decref(o);
                goto bad_json;
            }
            json_object_set_new(o, keys[k], s);
        }
        double v;
        char why[128];
        if (leaf_decode_number(buf, &i, &v, why, sizeof why) != 0) {
            json_decref(o);
            goto bad_json;
        }
        json_object_set_new(o, "value", v >= -9007199254740992.0 && v <= 9007199254740992.0
                                            ? json_integer((json_int_t)v) : json_real(v));
        if (e < q->n)                           /* never more than asked for */
            json_array_append_new(procs, o);
        else
            json_decref(o);
    }
    *result = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!*result) {
        snprintf(err, errlen, "out of memory");
        return WR_ENOMEM;
    }
    return 0;
bad_json:
    json_decref(root);
bad:
    lf->parse_errors++;
    snprintf(err, errlen, "node %.150s: warren_agent:procs/2 answered with an unexpected term "
             "(expected [{Pid, Name, InitialCall, Current, Value}])", n->name);
    return WR_EPROTO;
}

int leaf_procs_on_reply(leaf_t *lf, leaf_node_t *n, const erlang_ref *ref, int ri)
{
    if (!lf->procs || lf->procs->live == 0)
        return 0;
    pending_t *q = NULL;
    for (size_t i = 0; i < LEAF_PROCS_PENDING_MAX && !q; i++)
        if (lf->procs->p[i].live && lf->procs->p[i].node == n->idx && ref_equal(&lf->procs->p[i].ref, ref))
            q = &lf->procs->p[i];
    if (!q)
        return 0;
    n->last_reply_mono = wr_mono_ms();
    char err[WR_ERROR_TEXT_MAX] = "";
    char *result = NULL;
    int status = convert(lf, n, q, ri, &result, err, sizeof err);
    WR_DEBUG("procs query %llu on %s: %s%s%s", (unsigned long long)q->qid, n->name, wr_strerror(status),
             err[0] ? ": " : "", err);
    finish(lf, q, status, status ? err : NULL, result);
    free(result);
    return 1;
}

void leaf_procs_fini(leaf_t *lf)
{
    if (!lf->procs)
        return;
    for (size_t i = 0; i < LEAF_PROCS_PENDING_MAX && lf->procs->live > 0; i++)
        if (lf->procs->p[i].live)
            finish(lf, &lf->procs->p[i], WR_ECLOSED, "the leaf is shutting down", NULL);
    if (lf->loop)
        ev_timer_stop(lf->loop, &lf->procs->check);
    WR_INFO("procs queries: %llu asked, %llu answered, %llu failed (%llu timed out), %llu refused (table full)",
            (unsigned long long)lf->procs->asked, (unsigned long long)lf->procs->answered,
            (unsigned long long)lf->procs->failed, (unsigned long long)lf->procs->timed_out,
            (unsigned long long)lf->procs->refused_full);
    free(lf->procs);
    lf->procs = NULL;
}
