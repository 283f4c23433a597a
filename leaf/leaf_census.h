/* leaf_census: the leaf's side of the fleet checks (DESIGN section 3; docs/DESIGN-NOTES.md
 * "Fleet checks"): asks each node running the agent for warren_agent:census() when it comes
 * up and every LEAF_CENSUS_EVERY intervals, keeps each node's (module, md5) and (application,
 * vsn) lists and membership view, summarises them per release and per cluster
 * (core/wr_census.h; a node's cluster: its config entry's "cluster", else its release),
 * raises module_clash / different_application_versions / different_module_versions /
 * membership_divergence (after leaf.membership_grace) among its own nodes (it is the lowest
 * tier), and lends the
 * summary to leaf_up.c's state frames when it changed. Loop thread only. Not a public API. */
#ifndef LEAF_CENSUS_H
#define LEAF_CENSUS_H
#include "leaf.h"

#define LEAF_CENSUS_EVERY     6        /* intervals between two census calls to one node */
#define LEAF_CENSUS_ITEMS_MAX 20000    /* modules + applications kept per node */
#define LEAF_CENSUS_RESEND    60       /* state frames between unconditional resends */

/* leaf_agent.c hook, for node n whose agent runs: sends the census call when due. Returns 0,
 * or -1 if the node was lost (a send failed). */
int  leaf_census_tick(leaf_t *lf, leaf_node_t *n);
/* leaf_agent.c hook: 1 if ref answered n's census call (handled), else 0. */
int  leaf_census_on_reply(leaf_t *lf, leaf_node_t *n, const erlang_ref *ref, int ri);
/* leaf_up.c hook, building a (non-empty) state frame: refreshes the summary if its inputs
 * changed (raising / clearing the fleet alarms), and sets msg->census (lent until the next
 * call) when the summary changed since last sent, on a snapshot, or every
 * LEAF_CENSUS_RESEND frames. */
void leaf_census_fill(leaf_t *lf, wr_state_msg_t *msg, int snapshot);
/* Frees everything (logs its counters). Safe without any census. */
void leaf_census_fini(leaf_t *lf);

#endif
