/* leaf_owned: the index of the nodes this leaf watches. A takeover group configures every
 * leaf with all of the group's nodes (~16x what one leaf owns); the loops that run every
 * second or every interval walk this list instead of every leaf_node_t (1.8 kB each: a walk
 * of all of them is a cache miss per node). Rebuilt lazily after an owned flag changed. */
#include <stdlib.h>
#include "leaf.h"

const uint32_t *leaf_owned_nodes(leaf_t *lf, size_t *n)
{
    if (lf->owned_stale || !lf->owned_list) {
        if (!lf->owned_list && !(lf->owned_list = calloc(lf->n_nodes ? lf->n_nodes : 1, sizeof *lf->owned_list))) {
            *n = 0;                 /* out of memory: nothing is walked, and we try again */
            return NULL;
        }
        size_t k = 0;
        for (size_t i = 0; i < lf->n_nodes; i++)
            if (lf->nodes[i].owned)
                lf->owned_list[k++] = (uint32_t)i;
        lf->n_owned = k;
        lf->owned_stale = 0;
        lf->owned_gen++;
    }
    *n = lf->n_owned;
    return lf->owned_list;
}
