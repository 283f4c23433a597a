/* leaf_group: leaf takeover (DESIGN section 5). The leaves under one relay pair form a group;
 * every leaf of the group is configured with all the group's nodes (leaf.nodes / nodes_file)
 * and the group's leaf ids (leaf.group.leaves). A leaf owns a node iff rendezvous hashing
 * picks it: the highest leaf_group_score(node, leaf) over the group's live leaves. Until the
 * relay announces who is live (COMMAND "group" {"leaves": [...], "version": n}), every
 * configured leaf counts as live, so a leaf alone still watches its share.
 * On a change the leaf connects the nodes it gained and lets go of the nodes it lost without
 * reporting them (their new owner does). Not here: the relay side (relay/tier_group.c). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "leaf.h"
#include "wr_log.h"

#define GROUP_MAX_LEAVES 4096

uint64_t leaf_group_score(const char *node, const char *leaf)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a over node '\0' leaf, then a 64-bit mix */
    for (const char *p = node; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h = (h ^ 0xffu) * 1099511628211ull;
    for (const char *p = leaf; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

int leaf_group_config_read(wr_config_t *cfg, leaf_cfg_t *out)
{
    if (!wr_config_has(cfg, "leaf.group"))
        return 0;
    wr_config_strings(cfg, "leaf.group.leaves", &out->group_leaves, &out->n_group_leaves);
    if (out->n_group_leaves == 0) {
        wr_config_error(cfg, "leaf.group.leaves", "required in a group: the ids of the group's leaves");
        return 0;
    }
    if (out->n_group_leaves > GROUP_MAX_LEAVES)
        wr_config_error(cfg, "leaf.group.leaves", "%zu leaves, over the cap of %d", out->n_group_leaves,
                        GROUP_MAX_LEAVES);
    int self = 0;
    for (size_t i = 0; i < out->n_group_leaves; i++)
        self |= strcmp(out->group_leaves[i], out->id) == 0;
    if (!self)
        wr_config_error(cfg, "leaf.group.leaves", "does not list this leaf's own id '%s'", out->id);
    return 0;
}

/* Re-computes ownership over the live leaves; returns the nodes gained and lost. */
static void group_apply(leaf_t *lf, const char *const *leaves, size_t n, size_t *gained, size_t *lost)
{
    *gained = *lost = 0;
    for (size_t i = 0; i < lf->n_nodes; i++) {
        leaf_node_t *nd = &lf->nodes[i];
        const char *best = NULL;
        uint64_t best_score = 0;
        for (size_t k = 0; k < n; k++) {
            uint64_t sc = leaf_group_score(nd->name, leaves[k]);
            if (!best || sc > best_score || (sc == best_score && strcmp(leaves[k], best) < 0)) {
                best = leaves[k];
                best_score = sc;
            }
        }
        int mine = best && strcmp(best, lf->cfg.id) == 0;
        if (mine && !nd->owned) {
            leaf_beam_acquire(lf, nd);
            (*gained)++;
        } else if (!mine && nd->owned) {
            leaf_beam_release(lf, nd);
            (*lost)++;
        }
    }
}

static size_t owned_count(leaf_t *lf)
{
    size_t k;
    (void)leaf_owned_nodes(lf, &k);
    return k;
}

void leaf_group_init(leaf_t *lf)
{
    for (size_t i = 0; i < lf->n_nodes; i++)
        lf->nodes[i].owned = 1;
    lf->owned_stale = 1;
    if (!lf->cfg.n_group_leaves)
        return;
    /* Not connected yet: only flags change here (leaf_beam_start connects the owned ones). */
    for (size_t i = 0; i < lf->n_nodes; i++) {
        leaf_node_t *nd = &lf->nodes[i];
        const char *best = NULL;
        uint64_t best_score = 0;
        for (size_t k = 0; k < lf->cfg.n_group_leaves; k++) {
            const char *l = lf->cfg.group_leaves[k];
            uint64_t sc = leaf_group_score(nd->name, l);
            if (!best || sc > best_score || (sc == best_score && strcmp(l, best) < 0)) {
                best = l;
                best_score = sc;
            }
        }
        nd->owned = best && strcmp(best, lf->cfg.id) == 0;
    }
    lf->owned_stale = 1;
    WR_INFO("group of %zu leaves: watching %zu of its %zu nodes until the relay says who is live",
            lf->cfg.n_group_leaves, owned_count(lf), lf->n_nodes);
}

void leaf_group_on_command(leaf_t *lf, int parent, const char *args, size_t len)
{
    if (!lf->cfg.n_group_leaves) {
        lf->group_ignored++;
        WR_DEBUG("COMMAND group ignored: no leaf.group configured");
        return;
    }
    if (parent != wr_client_active(lf->cli)) {
        lf->group_ignored++;         /* the standby parent's view is not the one we follow */
        return;
    }
    json_error_t jerr;
    json_t *root = json_loadb(args, len, 0, &jerr);
    json_t *jl = json_is_object(root) ? json_object_get(root, "leaves") : NULL;
    json_t *jv = json_is_object(root) ? json_object_get(root, "version") : NULL;
    size_t n = json_is_array(jl) ? json_array_size(jl) : 0;
    const char **leaves = NULL;
    const char *why = NULL;
    if (!json_is_array(jl) || !json_is_integer(jv))
        why = "expected {\"leaves\": [ids], \"version\": n}";
    else if (n > GROUP_MAX_LEAVES)
        why = "too many leaves";
    else if (!(leaves = calloc(n ? n : 1, sizeof *leaves)))
        why = "out of memory";
    int self = 0;
    for (size_t i = 0; !why && i < n; i++) {
        json_t *s = json_array_get(jl, i);
        if (!json_is_string(s) || json_string_length(s) == 0 || json_string_length(s) >= WR_ID_MAX) {
            why = "a leaf id is not a string of 1..63 bytes";
            break;
        }
        leaves[i] = json_string_value(s);
        self |= strcmp(leaves[i], lf->cfg.id) == 0;
    }
    if (!why && !self)
        why = "the live leaves do not include this leaf";
    /* the relay repeats its announcement (every 10 s): the same live leaves in the same
     * order give the same owners, so 16 x 1,600 scores are not computed again */
    uint64_t sig = 1469598103934665603ull;
    for (size_t i = 0; !why && i < n; i++)
        sig = (leaf_group_score(leaves[i], "") ^ sig) * 1099511628211ull;
    sig |= 1;
    if (why) {
        lf->group_ignored++;
        WR_WARN("COMMAND group from the active parent ignored: %s", why);
    } else if (sig == lf->group_applied) {
        lf->group_version = (uint64_t)json_integer_value(jv);
    } else {
        lf->group_applied = sig;
        size_t gained, lost;
        group_apply(lf, leaves, n, &gained, &lost);
        lf->group_version = (uint64_t)json_integer_value(jv);
        if (gained || lost) {
            lf->group_changes++;
            WR_INFO("group version %llu: %zu live leaves; watching %zu nodes (%zu taken over, %zu handed back)",
                    (unsigned long long)lf->group_version, n, owned_count(lf), gained, lost);
            leaf_up_state_changed(lf);   /* our tier entry's node count changed */
        }
    }
    free(leaves);
    json_decref(root);
}
