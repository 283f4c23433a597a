/* bench_links: the fabric's link traffic per tier kind (frames and bytes per second, in and
 * out, summed over the tiers of a kind), read from a root's /api/v1/tree "links" members. */
#ifndef BENCH_LINKS_H
#define BENCH_LINKS_H
#include <jansson.h>
#include <stdio.h>
#include "bench.h"

/* bench_links_t is in bench.h (a member of the antfarm result). */

/* GETs /api/v1/tree and sums each live tier's links into its kind (and BENCH_FABRIC).
 * Returns 0, or a WR_E... code with a reason in err (out->ok stays 0). */
int bench_links_fetch(bench_http_t *h, bench_links_t *out, char *err, size_t errlen);
/* {"leaf": {"tiers", "frames_in_per_s", ...}, "relay": ..., "root": ..., "fabric": ...} or
 * JSON null when not fetched. */
json_t *bench_links_json(const bench_links_t *l);
/* A markdown table of the same. */
void bench_links_md(FILE *out, const bench_links_t *l);

#endif
