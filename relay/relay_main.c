/* relay_main: warren-relay, a tier with parents: accepts children (leaves or relays) on a
 * ROUTER, merges their state and streams it upward, routes queries down (relay/tier.h).
 * Reads section "relay" of its config file (docs/CONFIG.md). One libev loop; SIGINT/SIGTERM
 * stop it cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include <zmq.h>
#include "tier.h"
#include "tier_config.h"
#include "wr_daemon.h"
#include "wr_log.h"

static const wr_daemon_info_t relay_info = {
    .prog = "warren-relay",
    .summary = "warren relay: merges the state of its children (leaves or relays) and streams it to its parents.",
    .config_help =
        "  relay = {\n"
        "    id = \"relay-1\";                      # required: [A-Za-z0-9_.-], at most 63 bytes\n"
        "    bind = \"tcp://127.0.0.1:7310\";       # ROUTER for children\n"
        "    parents = [\"tcp://127.0.0.1:7300\"];  # required: at least one parent endpoint\n"
        "    parent_mode = \"failover\";            # failover | all\n"
        "    interval = 10.0;                     # seconds between merged DELTAs upward\n"
        "    query_timeout = 5.0;                 # seconds before a routed query fails\n"
        "    heartbeat = { interval = 1.0; misses = 3; };\n"
        "    store = { path = \"./relay-1.lmdb\";   # LMDB of the events: outbox of alarm events and\n"
        "              map_size_mb = 256; };      #   notifications not yet ACKed upward, dedup records,\n"
        "                                         #   active alarms; default path ./<id>.lmdb; keep it\n"
        "                                         #   across restarts; map_size_mb 1..1048576\n"
        "    log = { level = \"info\"; syslog = false; };\n"
        "  };",
};

int main(int argc, char **argv)
{
    wr_daemon_args_t args;
    wr_daemon_parse_args(&relay_info, argc, argv, &args);
    wr_config_t *cfg = wr_daemon_load_config(&relay_info, &args);
    tier_conf_t conf;
    tier_config_read(cfg, "relay", "relay", "tcp://127.0.0.1:7310", 1, &conf);
    wr_daemon_setup_log(cfg, "relay", &relay_info, &args, conf.id[0] ? conf.id : "?");
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
    WR_INFO("warren-relay %s: children on %s, %zu parent(s) (%s), interval %.1f s", WARREN_VERSION, conf.bind,
            conf.n_parents, conf.params.parent_mode == WR_PARENTS_ALL ? "all" : "failover",
            conf.params.interval_ms / 1000.0);
    for (size_t i = 0; i < conf.n_parents; i++)
        WR_INFO("parent %zu: %s", i, conf.parents[i]);

    wr_daemon_run(loop);

    tier_destroy(&tier);
    zmq_ctx_term(zctx);
    tier_config_free(&conf);
    ev_loop_destroy(loop);
    return 0;
}
