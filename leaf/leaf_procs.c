/* leaf_procs: QUERY kind "procs", the live top-N processes of one node, asked of the agent
 * (warren_agent:procs/2 through rex) and answered to the parent when the node replies.
 * Not implemented yet: every procs query is answered "unsupported". */
#include <stdio.h>
#include "leaf.h"
#include "wr_error.h"

int leaf_procs_start(leaf_t *lf, leaf_node_t *n, int parent, uint64_t qid, const char *args,
                     size_t args_len, char *err, size_t errlen)
{
    (void)lf; (void)n; (void)parent; (void)qid; (void)args; (void)args_len;
    snprintf(err, errlen, "procs view not available yet");
    return WR_EUNSUPPORTED;
}

int leaf_procs_on_reply(leaf_t *lf, leaf_node_t *n, const erlang_ref *ref, int ri)
{
    (void)lf; (void)n; (void)ref; (void)ri;
    return 0;
}

void leaf_procs_fini(leaf_t *lf)
{
    (void)lf;
}
