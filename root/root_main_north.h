/* root_main_north: warren-root's side of the northbound pushes: reading the "northbound"
 * group of the root's config (docs/NORTHBOUND.md) and the event sink that feeds both the
 * history (root_events.h) and the pushes (root_http_north.h). */
#ifndef ROOT_MAIN_NORTH_H
#define ROOT_MAIN_NORTH_H
#include "root_events.h"
#include "root_http_north.h"
#include "tier.h"
#include "wr_config.h"

typedef struct {
    char **alertmanager, **webhook;        /* wr_config_strings lists */
    char   syslog_host[256], gelf_host[256], generator_url[512], root_id[WR_ID_MAX];
    root_north_params_t params;            /* points into the above */
} root_main_north_conf_t;

/* Reads "<section>.northbound" (every key optional; errors recorded in cfg). tier and
 * root_id are copied into params (the re-push visits tier's active alarms). */
void root_main_north_config(wr_config_t *cfg, const char *section, const char *root_id,
                            root_main_north_conf_t *out);
/* Sets tier (for the periodic re-push); call once the tier exists. */
void root_main_north_set_tier(root_main_north_conf_t *c, tier_t *tier);
void root_main_north_conf_free(root_main_north_conf_t *c);

/* The root's event sink (tier_event_sink_fn): ud is a root_main_sink_t. Writes to the history
 * first; only an event the history accepted goes north. */
typedef struct {
    root_events_t *events;
    root_north_t  *north;
} root_main_sink_t;
int root_main_north_sink(void *ud, wr_txn_t *txn, const wr_event_t *ev, const void *bytes, size_t len,
                         int change, const wr_alarm_t *alarm);

#endif
