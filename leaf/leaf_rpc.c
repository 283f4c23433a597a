/* leaf_rpc: encodes the rpc calls the leaf sends to rex on its nodes,
 *     {'$gen_call', {Self, Ref}, {call, Mod, Fun, Args, user}}
 * into lf->tx: the agent's calls, the census, notifications, the process view and the
 * agentless polls all start with leaf_rpc_head and end with leaf_rpc_tail. */
#include "leaf.h"
#include "wr_error.h"

int leaf_rpc_head(leaf_t *lf, const erlang_ref *ref, const char *mod, const char *fun, int nargs)
{
    ei_x_buff *x = &lf->tx;
    x->index = 0;
    int rc = ei_x_encode_version(x);
    rc |= ei_x_encode_tuple_header(x, 3);
    rc |= ei_x_encode_atom(x, "$gen_call");
    rc |= ei_x_encode_tuple_header(x, 2);
    rc |= ei_x_encode_pid(x, ei_self(&lf->ec));
    rc |= ei_x_encode_ref(x, ref);
    rc |= ei_x_encode_tuple_header(x, 5);
    rc |= ei_x_encode_atom(x, "call");
    rc |= ei_x_encode_atom(x, mod);
    rc |= ei_x_encode_atom(x, fun);
    if (nargs > 0)
        rc |= ei_x_encode_list_header(x, nargs);
    return rc ? WR_ENOMEM : 0;
}

int leaf_rpc_tail(leaf_t *lf)
{
    int rc = ei_x_encode_empty_list(&lf->tx);
    rc |= ei_x_encode_atom(&lf->tx, "user");
    return rc ? WR_ENOMEM : 0;
}
