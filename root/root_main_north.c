/* root_main_north: reads warren-root's "northbound" config group and chains the event sink
 * (history, then northbound pushes). See root_main_north.h and docs/NORTHBOUND.md. */
#include <stdio.h>
#include <string.h>
#include "root_main_north.h"

static int alarms_of_tier(void *ud, wr_alarm_visit_fn fn, void *fn_ud)
{
    return tier_alarms_foreach(ud, fn, fn_ud);
}

void root_main_north_config(wr_config_t *cfg, const char *section, const char *root_id,
                            root_main_north_conf_t *c)
{
    memset(c, 0, sizeof *c);
    char path[128];
#define KEY(k) (snprintf(path, sizeof path, "%s.northbound.%s", section, k), path)
    wr_config_strings(cfg, KEY("alertmanager"), &c->alertmanager, NULL);
    wr_config_strings(cfg, KEY("webhook"), &c->webhook, NULL);
    int64_t sport = 514, sfac = 16, gport = 12201, queue = 10000;
    wr_config_string(cfg, KEY("syslog.host"), "", c->syslog_host, sizeof c->syslog_host);
    wr_config_int(cfg, KEY("syslog.port"), 514, 1, 65535, &sport);
    wr_config_int(cfg, KEY("syslog.facility"), 16, 0, 23, &sfac);
    wr_config_string(cfg, KEY("gelf.host"), "", c->gelf_host, sizeof c->gelf_host);
    wr_config_int(cfg, KEY("gelf.port"), 12201, 1, 65535, &gport);
    wr_config_string(cfg, KEY("generator_url"), "", c->generator_url, sizeof c->generator_url);
    double resend = 60, timeout = 10, bmin = 1, bmax = 60;
    wr_config_double(cfg, KEY("resend_interval"), 60, 1, 86400, &resend);
    wr_config_double(cfg, KEY("timeout"), 10, 0.1, 600, &timeout);
    wr_config_double(cfg, KEY("backoff.min"), 1, 0.01, 3600, &bmin);
    wr_config_double(cfg, KEY("backoff.max"), 60, 0.01, 86400, &bmax);
    wr_config_int(cfg, KEY("queue"), 10000, 1, 10000000, &queue);
    if (bmax < bmin)
        wr_config_error(cfg, KEY("backoff.max"), "must not be less than backoff.min (%g)", bmin);
#undef KEY
    snprintf(c->root_id, sizeof c->root_id, "%s", root_id ? root_id : "");
    c->params = (root_north_params_t){
        .alertmanager = (const char *const *)c->alertmanager, .webhook = (const char *const *)c->webhook,
        .syslog_host = c->syslog_host, .syslog_port = (int)sport, .syslog_facility = (int)sfac,
        .gelf_host = c->gelf_host, .gelf_port = (int)gport, .root_id = c->root_id,
        .generator_url = c->generator_url[0] ? c->generator_url : NULL, .resend_s = resend,
        .timeout_s = timeout, .backoff_min_s = bmin, .backoff_max_s = bmax, .queue_max = (size_t)queue};
}

void root_main_north_set_tier(root_main_north_conf_t *c, tier_t *tier)
{
    c->params.alarms = alarms_of_tier;
    c->params.alarms_ud = tier;
}

void root_main_north_conf_free(root_main_north_conf_t *c)
{
    wr_config_strings_free(&c->alertmanager);
    wr_config_strings_free(&c->webhook);
}

int root_main_north_sink(void *ud, wr_txn_t *txn, const wr_event_t *ev, const void *bytes, size_t len,
                         int change, const wr_alarm_t *alarm)
{
    root_main_sink_t *s = ud;
    int rc = root_events_sink(s->events, txn, ev, bytes, len, change, alarm);
    if (rc == 0)
        root_north_event(s->north, ev, change, alarm);
    return rc;
}
