/* tier_config: reading the keys warren-relay and warren-root share (docs/CONFIG.md): id, bind,
 * parents, parent_mode, interval, query_timeout, heartbeat.{interval,misses}, store.{path,
 * map_size_mb}, into
 * tier_params_t. Records every error in the wr_config_t (the daemon prints them); never exits. */
#ifndef TIER_CONFIG_H
#define TIER_CONFIG_H
#include "tier.h"
#include "wr_config.h"

typedef struct {
    char          id[WR_ID_MAX];
    char          bind[256];
    char        **parents;      /* NULL-terminated; owned */
    size_t        n_parents;
    char          store_path[1024];   /* <section>.store.path, default "./<id>.lmdb" */
    tier_params_t params;       /* points into this struct: keep it in place */
} tier_conf_t;

/* Reads section's keys into conf. parents_rule: 1 = at least one parent required (relay),
 * -1 = a "parents" key is an error (root). kind is "relay" or "root"; default_bind is used
 * when bind is absent. Returns 0, or WR_ECONFIG when an error was recorded in cfg. */
int  tier_config_read(wr_config_t *cfg, const char *section, const char *kind, const char *default_bind,
                      int parents_rule, tier_conf_t *conf);
void tier_config_free(tier_conf_t *conf);

#endif
