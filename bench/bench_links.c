/* bench_links: link traffic per tier kind from a root's /api/v1/tree (see bench_links.h). */
#include <string.h>
#include "bench_links.h"
#include "wr_error.h"

static int kind_group(const char *kind)
{
    if (strcmp(kind, "leaf") == 0)
        return BENCH_LEAF;
    if (strcmp(kind, "relay") == 0)
        return BENCH_RELAY;
    if (strcmp(kind, "root") == 0)
        return BENCH_ROOT;
    return -1;
}

static void add(bench_links_t *l, int g, const json_t *links)
{
    l->tiers[g]++;
    l->frames_in[g] += bench_json_num(links, "frames_in_per_s", 0);
    l->frames_out[g] += bench_json_num(links, "frames_out_per_s", 0);
    l->bytes_in[g] += bench_json_num(links, "bytes_in_per_s", 0);
    l->bytes_out[g] += bench_json_num(links, "bytes_out_per_s", 0);
}

int bench_links_fetch(bench_http_t *h, bench_links_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_t *j = NULL;
    int rc = bench_http_get_json(h, "/api/v1/tree", 5000, &j, err, errlen);
    if (rc != 0)
        return rc;
    json_t *tiers = json_object_get(j, "tiers");
    if (!json_is_array(tiers)) {
        snprintf(err, errlen, "/api/v1/tree: no \"tiers\" array");
        json_decref(j);
        return WR_EPROTO;
    }
    size_t i;
    json_t *t;
    json_array_foreach(tiers, i, t) {
        const json_t *links = json_object_get(t, "links");
        int g = kind_group(json_string_value(json_object_get(t, "kind")) ?
                           json_string_value(json_object_get(t, "kind")) : "");
        if (g < 0 || !json_is_true(json_object_get(t, "up")) || !json_is_object(links))
            continue;
        add(out, g, links);
        add(out, BENCH_FABRIC, links);
    }
    json_decref(j);
    out->ok = 1;
    return 0;
}

json_t *bench_links_json(const bench_links_t *l)
{
    if (!l->ok)
        return json_null();
    json_t *o = json_object();
    for (int g = BENCH_LEAF; g <= BENCH_FABRIC; g++)
        json_object_set_new(o, bench_group_names[g],
                            json_pack("{s:I, s:f, s:f, s:f, s:f}", "tiers", (json_int_t)l->tiers[g],
                                      "frames_in_per_s", l->frames_in[g], "frames_out_per_s",
                                      l->frames_out[g], "bytes_in_per_s", l->bytes_in[g],
                                      "bytes_out_per_s", l->bytes_out[g]));
    return o;
}

void bench_links_md(FILE *out, const bench_links_t *l)
{
    if (!l->ok) {
        fprintf(out, "Link traffic: not measured (the root's /api/v1/tree did not answer).\n\n");
        return;
    }
    fprintf(out, "| tiers | count | frames in /s | frames out /s | kB in /s | kB out /s |\n"
                 "|---|---:|---:|---:|---:|---:|\n");
    for (int g = BENCH_LEAF; g <= BENCH_FABRIC; g++)
        fprintf(out, "| %s | %ld | %.0f | %.0f | %.1f | %.1f |\n", bench_group_names[g], l->tiers[g],
                l->frames_in[g], l->frames_out[g], l->bytes_in[g] / 1000.0,
                l->bytes_out[g] / 1000.0);
    fprintf(out, "\nEach tier's own ZeroMQ links (children and parents summed), per second over "
                 "its last interval, from the root's `/api/v1/tree` at the end of the window; "
                 "a frame between two tiers counts once out at the sender and once in at the "
                 "receiver.\n\n");
}
