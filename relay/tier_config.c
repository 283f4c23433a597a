/* tier_config: the shared relay/root configuration keys (see tier_config.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "tier_config.h"
#include "wr_error.h"

static int id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= WR_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

static int endpoint_valid(const char *ep)
{
    return (strncmp(ep, "tcp://", 6) == 0 && ep[6]) || (strncmp(ep, "ipc://", 6) == 0 && ep[6]) ||
           (strncmp(ep, "inproc://", 9) == 0 && ep[9]);
}

static uint32_t secs_to_ms(double s)
{
    return (uint32_t)llround(s * 1000.0);
}

int tier_config_read(wr_config_t *cfg, const char *section, const char *kind, const char *default_bind,
                     int parents_rule, tier_conf_t *conf)
{
    static const char *const modes[] = {"failover", "all", NULL};
    int before = wr_config_error_count(cfg);
    char path[160];
    memset(conf, 0, sizeof *conf);

    snprintf(path, sizeof path, "%s.id", section);
    if (!wr_config_has(cfg, path))
        wr_config_error(cfg, path, "required: this tier's id, e.g. \"%s-1\"", kind);
    else if (wr_config_string(cfg, path, "", conf->id, sizeof conf->id) == 0 && !id_valid(conf->id))
        wr_config_error(cfg, path, "'%s' is not a valid id: 1..%d bytes of [A-Za-z0-9_.-]", conf->id,
                        WR_ID_MAX - 1);

    snprintf(path, sizeof path, "%s.bind", section);
    if (wr_config_string(cfg, path, default_bind, conf->bind, sizeof conf->bind) == 0 &&
        !endpoint_valid(conf->bind))
        wr_config_error(cfg, path, "'%s' is not a ZeroMQ endpoint (tcp://HOST:PORT or ipc://PATH)", conf->bind);

    snprintf(path, sizeof path, "%s.parents", section);
    if (parents_rule < 0) {
        if (wr_config_has(cfg, path))
            wr_config_error(cfg, path, "not allowed: the %s has no parents", kind);
    } else if (wr_config_strings(cfg, path, &conf->parents, &conf->n_parents) == 0) {
        if (parents_rule > 0 && conf->n_parents == 0)
            wr_config_error(cfg, path, "required: at least one parent endpoint, e.g. [\"tcp://127.0.0.1:7300\"]");
        for (size_t i = 0; i < conf->n_parents; i++)
            if (!endpoint_valid(conf->parents[i]))
                wr_config_error(cfg, path, "'%s' is not a ZeroMQ endpoint (tcp://HOST:PORT or ipc://PATH)",
                                conf->parents[i]);
    }

    int mode = 0;
    snprintf(path, sizeof path, "%s.parent_mode", section);
    wr_config_enum(cfg, path, modes, 0, &mode);

    double interval = 10.0, qto = 5.0, hb = 1.0;
    int64_t misses = 3;
    snprintf(path, sizeof path, "%s.interval", section);
    wr_config_double(cfg, path, 10.0, 0.01, 3600.0, &interval);
    snprintf(path, sizeof path, "%s.query_timeout", section);
    wr_config_double(cfg, path, 5.0, 0.01, 600.0, &qto);
    snprintf(path, sizeof path, "%s.heartbeat.interval", section);
    wr_config_double(cfg, path, 1.0, 0.01, 60.0, &hb);
    snprintf(path, sizeof path, "%s.heartbeat.misses", section);
    wr_config_int(cfg, path, 3, 1, 100, &misses);
    double mgrace = 60.0;        /* fleet checks: membership_divergence grace */
    snprintf(path, sizeof path, "%s.membership_grace", section);
    wr_config_double(cfg, path, 60.0, 0.1, 86400.0, &mgrace);

    int64_t map_mb = 256;
    char defstore[WR_ID_MAX + 16];
    snprintf(defstore, sizeof defstore, "./%s.lmdb", conf->id[0] ? conf->id : kind);
    snprintf(path, sizeof path, "%s.store.path", section);
    if (wr_config_string(cfg, path, defstore, conf->store_path, sizeof conf->store_path) == 0 &&
        !conf->store_path[0])
        wr_config_error(cfg, path, "must not be empty: the LMDB directory of this tier's events");
    snprintf(path, sizeof path, "%s.store.map_size_mb", section);
    wr_config_int(cfg, path, 256, 1, 1 << 20, &map_mb);

    tier_params_t *p = &conf->params;
    if (parents_rule >= 0) {    /* a root has no outbox */
        snprintf(path, sizeof path, "%s.outbox", section);
        wr_outbox_limits_read(cfg, path, map_mb, mode == WR_PARENTS_ALL ? conf->n_parents : 1, &p->outbox);
    }
    p->id = conf->id;
    p->kind = kind;
    p->bind = conf->bind;
    p->parents = (const char *const *)conf->parents;
    p->n_parents = conf->n_parents;
    p->parent_mode = (wr_parent_mode_t)mode;
    p->interval_ms = secs_to_ms(interval);
    p->query_timeout_ms = secs_to_ms(qto);
    p->membership_grace_ms = secs_to_ms(mgrace);
    p->max_nodes = 0;
    wr_link_params_default(&p->link);
    p->link.heartbeat_ms = secs_to_ms(hb);
    p->link.misses = (uint32_t)misses;
    p->store_path = conf->store_path;
    p->store_map_size = (uint64_t)map_mb << 20;
    return wr_config_error_count(cfg) > before ? WR_ECONFIG : WR_OK;
}

void tier_config_free(tier_conf_t *conf)
{
    if (conf->parents)
        wr_config_strings_free(&conf->parents);
    conf->n_parents = 0;
}
