/* root_main: warren-root, a tier without parents plus the HTTP API (root/root_http.h).
 * Reads section "root" of its config file (docs/CONFIG.md); a "parents" key is an error.
 * One libev loop; SIGINT/SIGTERM stop it cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include <zmq.h>
#include "root_events.h"
#include "root_http.h"
#include "root_main_north.h"
#include "tier.h"
#include "tier_config.h"
#include "wr_daemon.h"
#include "wr_error.h"
#include "wr_log.h"
#include "wr_time.h"

static const wr_daemon_info_t root_info = {
    .prog = "warren-root",
    .summary = "warren root: the top tier of the fabric, with the HTTP API, /metrics and the dashboard.",
    .config_help =
        "  root = {\n"
        "    id = \"root-a\";                       # required: [A-Za-z0-9_.-], at most 63 bytes\n"
        "    bind = \"tcp://127.0.0.1:7300\";       # ROUTER for children\n"
        "    http = {\n"
        "      listen = \"127.0.0.1\";              # bind address of the HTTP API\n"
        "      port = 7380;                       # 0 = any free port\n"
        "      www = \"/usr/share/warren/www\";     # dashboard files (optional)\n"
        "    };\n"
        "    interval = 10.0;                     # seconds (state merge period)\n"
        "    query_timeout = 5.0;                 # seconds before a routed query fails\n"
        "    heartbeat = { interval = 1.0; misses = 3; };\n"
        "    store = { path = \"./root-a.lmdb\"; map_size_mb = 256; };  # events, history\n"
        "    history = { alarms = { max_age = 2592000.0; max_count = 1000000; };\n"
        "                notifications = { max_age = 2592000.0; max_count = 1000000; }; };\n"
        "    log = { level = \"info\"; syslog = false; };\n"
        "    northbound = { alertmanager = [\"http://127.0.0.1:9093\"]; webhook = [];  # docs/NORTHBOUND.md\n"
        "                   syslog = { host = \"127.0.0.1\"; port = 514; }; gelf = { host = \"\"; port = 12201; }; };\n"
        "  };\n"
        "  (a root has no parents: a \"parents\" key is an error)",
};

/* Retention of the alarm and notification history, every minute. */
static void on_prune(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    uint64_t n = 0;
    int rc = root_events_prune(w->data, wr_wall_ms(), &n);
    if (rc != 0)
        WR_WARN("history retention failed: %s", wr_strerror(rc));
    else if (n)
        WR_INFO("history retention: %llu old records removed", (unsigned long long)n);
}

int main(int argc, char **argv)
{
    wr_daemon_args_t args;
    wr_daemon_parse_args(&root_info, argc, argv, &args);
    wr_config_t *cfg = wr_daemon_load_config(&root_info, &args);
    tier_conf_t conf;
    tier_config_read(cfg, "root", "root", "tcp://127.0.0.1:7300", -1, &conf);
    char listen[128], www[1024];
    int64_t port = 7380;
    wr_config_string(cfg, "root.http.listen", "127.0.0.1", listen, sizeof listen);
    wr_config_int(cfg, "root.http.port", 7380, 0, 65535, &port);
    wr_config_string(cfg, "root.http.www", "", www, sizeof www);
    double a_age = 30.0 * 86400, n_age = 30.0 * 86400;
    int64_t a_count = ROOT_EVENTS_DEFAULT_COUNT, n_count = ROOT_EVENTS_DEFAULT_COUNT;
    wr_config_double(cfg, "root.history.alarms.max_age", a_age, 60.0, 100.0 * 365 * 86400, &a_age);
    wr_config_int(cfg, "root.history.alarms.max_count", a_count, 1, 1000000000, &a_count);
    wr_config_double(cfg, "root.history.notifications.max_age", n_age, 60.0, 100.0 * 365 * 86400, &n_age);
    wr_config_int(cfg, "root.history.notifications.max_count", n_count, 1, 1000000000, &n_count);
    root_events_limits_t lim = {.alarm_max_age_ms = (int64_t)(a_age * 1000), .alarm_max_count = (uint64_t)a_count,
                                .notif_max_age_ms = (int64_t)(n_age * 1000), .notif_max_count = (uint64_t)n_count};
    root_main_north_conf_t north_conf;
    root_main_north_config(cfg, "root", conf.id, &north_conf);
    wr_daemon_setup_log(cfg, "root", &root_info, &args, conf.id[0] ? conf.id : "?");
    wr_daemon_finish_config(cfg, &args);
    wr_config_destroy(&cfg);

    struct ev_loop *loop;
    void *zctx;
    if (wr_daemon_loop_new(&loop, &zctx) != 0)
        return 1;
    char err[512];
    tier_t *tier = tier_new(loop, zctx, &conf.params, err, sizeof err);
    if (!tier) {
        WR_ERROR("%s", err);
        zmq_ctx_term(zctx);
        tier_config_free(&conf);
        return 1;
    }
    root_events_t *events = root_events_new(tier_store(tier), &lim, err, sizeof err);
    if (!events) {
        WR_ERROR("%s", err);
        tier_destroy(&tier);
        zmq_ctx_term(zctx);
        tier_config_free(&conf);
        return 1;
    }
    root_main_north_set_tier(&north_conf, tier);
    root_main_sink_t sink = {.events = events};
    sink.north = root_north_new(loop, &north_conf.params, err, sizeof err);
    if (!sink.north) {
        WR_ERROR("northbound: %s", err);
        root_events_destroy(&events);
        tier_destroy(&tier);
        zmq_ctx_term(zctx);
        tier_config_free(&conf);
        root_main_north_conf_free(&north_conf);
        return 1;
    }
    tier_set_event_sink(tier, root_main_north_sink, &sink);
    root_events_prune(events, wr_wall_ms(), NULL);
    ev_timer prune_timer;
    ev_timer_init(&prune_timer, on_prune, 60., 60.);
    prune_timer.data = events;
    ev_timer_start(loop, &prune_timer);
    root_http_params_t hp = {.listen = listen, .port = (int)port, .max_connections = 0,
                             .www_dir = www[0] ? www : NULL, .events = events, .north = sink.north};
    root_http_t *http = root_http_new(loop, tier, &hp, err, sizeof err);
    if (!http) {
        WR_ERROR("HTTP API: %s", err);
        ev_timer_stop(loop, &prune_timer);
        root_north_destroy(&sink.north);
        root_main_north_conf_free(&north_conf);
        root_events_destroy(&events);
        tier_destroy(&tier);
        zmq_ctx_term(zctx);
        tier_config_free(&conf);
        return 1;
    }
    WR_INFO("warren-root %s: children on %s", WARREN_VERSION, conf.bind);
    WR_INFO("HTTP API on http://%s:%d", listen, root_http_port(http));

    wr_daemon_run(loop);

    root_http_destroy(&http);
    ev_timer_stop(loop, &prune_timer);
    tier_destroy(&tier);
    root_north_destroy(&sink.north);
    root_main_north_conf_free(&north_conf);
    root_events_destroy(&events);
    zmq_ctx_term(zctx);
    tier_config_free(&conf);
    ev_loop_destroy(loop);
    return 0;
}
