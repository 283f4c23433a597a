/* tier_group: the relay's side of leaf takeover (DESIGN section 5). The tier's live children
 * of kind "leaf" are its leaf group; it tells each of them who is live with COMMAND "group"
 * {"leaves": ["leaf-1", ...], "version": n}, and the leaves re-partition their nodes by
 * rendezvous hashing (leaf/leaf_group.c). An announcement goes out 300 ms after a child comes
 * up or dies (changes within that window ride along), never before the start-up grace, counted
 * from the relay's start and again from the first child it hears (so neither a restarted relay,
 * whose children say HELLO within one heartbeat, nor a relay started before its leaves
 * announces the first leaf alone: that leaf took over the whole group, 1,600 nodes, for a
 * moment), and again every 10 s (a lost announcement heals). version grows whenever the set
 * changes. Both relays of a pair see the same live leaves (a leaf heartbeats to each parent),
 * so a failover does not move nodes. Not here: the node table (a handed-over node keeps its
 * last state until its new owner reports it: tier_nodes.c). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "tier_int.h"
#include "wr_error.h"
#include "wr_log.h"
#include "wr_time.h"

#define GROUP_DEBOUNCE_MS 300
#define GROUP_REPEAT_S    10.0

struct tier_group {
    tier_t  *t;
    ev_timer timer;
    int64_t  ready_mono;      /* no announcement before this (start-up grace) */
    uint32_t grace_ms;
    int      heard;           /* a child came up since the start: the grace restarted then */
    uint64_t version;
    char    *last;            /* the last announced leaves array (JSON text) */
    uint64_t sent, send_failed;
};

static void announce(tier_t *t)
{
    struct tier_group *g = t->group;
    json_t *arr = json_array();
    size_t n = 0;
    for (tchild_t *c = t->child_list; c && arr; c = c->next)
        if (c->live && strcmp(c->kind, "leaf") == 0 && json_array_append_new(arr, json_string(c->id)) == 0)
            n++;
    char *leaves = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    if (!leaves) {
        WR_ERROR("group announcement: out of memory");
        return;
    }
    if (n == 0) {                 /* nobody to tell */
        free(leaves);
        return;
    }
    if (!g->last || strcmp(g->last, leaves) != 0) {
        g->version++;
        WR_INFO("leaf group version %llu: %zu live leaves %s", (unsigned long long)g->version, n, leaves);
        free(g->last);
        g->last = leaves;
    } else {
        free(leaves);
    }
    char *args = NULL;
    size_t need = strlen(g->last) + 64;
    if (!(args = malloc(need)))
        return;
    snprintf(args, need, "{\"leaves\":%s,\"version\":%llu}", g->last, (unsigned long long)g->version);
    wr_envelope_t env;
    wr_envelope_next(&t->origin, WR_MSG_COMMAND, &env);
    wr_command_t cmd = {.cmd = "group", .cmd_len = 5, .args = args, .args_len = strlen(args)};
    if (wr_encode_command(t->enc, &env, &cmd) == 0) {
        for (tchild_t *c = t->child_list; c; c = c->next) {
            if (!c->live || strcmp(c->kind, "leaf") != 0)
                continue;
            int rc = wr_server_send(t->server, c->id, wr_encoder_data(t->enc), wr_encoder_size(t->enc));
            if (rc == 0) {
                g->sent++;
            } else {
                g->send_failed++;
                WR_DEBUG("COMMAND group to %s not sent: %s", c->id, wr_strerror(rc));
            }
        }
    }
    free(args);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    announce(w->data);
}

int tier_group_init(tier_t *t, uint32_t grace_ms)
{
    struct tier_group *g = calloc(1, sizeof *g);
    if (!g)
        return WR_ENOMEM;
    g->t = t;
    g->ready_mono = wr_mono_ms() + grace_ms;
    g->grace_ms = grace_ms;
    ev_timer_init(&g->timer, on_timer, GROUP_REPEAT_S, GROUP_REPEAT_S);
    g->timer.data = t;
    t->group = g;
    return 0;
}

void tier_group_fini(tier_t *t)
{
    struct tier_group *g = t->group;
    if (!g)
        return;
    ev_timer_stop(t->loop, &g->timer);
    free(g->last);
    free(g);
    t->group = NULL;
}

void tier_group_changed(tier_t *t)
{
    struct tier_group *g = t->group;
    if (!g)
        return;
    int64_t now = wr_mono_ms();
    if (!g->heard) {
        g->heard = 1;
        if (now + g->grace_ms > g->ready_mono)
            g->ready_mono = now + g->grace_ms;
    }
    int64_t due = now + GROUP_DEBOUNCE_MS;
    if (due < g->ready_mono)
        due = g->ready_mono;
    if (ev_is_active(&g->timer) && ev_timer_remaining(t->loop, &g->timer) * 1000.0 <= (double)(due - now))
        return;                   /* already due soon enough: this change rides along */
    ev_timer_stop(t->loop, &g->timer);
    ev_timer_set(&g->timer, (double)(due - now) / 1000.0, GROUP_REPEAT_S);
    ev_timer_start(t->loop, &g->timer);
}
