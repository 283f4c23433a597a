/* leaf_main: warren-leaf's start-up, loop and clean shutdown. The leaf watches its BEAM nodes
 * as a hidden C node (leaf_beam.c), polls them every interval (leaf_poll.c), keeps the raw
 * samples in LMDB (leaf_samples.c) and streams node states and rollups to its parents
 * (leaf_up.c). One libev loop; handshakes run on one worker thread (leaf_connector.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "leaf.h"
#include "leaf_notify.h"
#include "wr_daemon.h"
#include "wr_error.h"
#include "wr_log.h"

static const char config_help[] =
    "  section leaf = { ... } (docs/CONFIG.md):\n"
    "    id               required: this leaf's id ([A-Za-z0-9_.-], <= 63 bytes)\n"
    "    node_name        this C node's name (default \"warren_<id>@<short hostname>\")\n"
    "    cookie_file      required: file whose first line is the Erlang cookie\n"
    "    interval         seconds between polls (10.0)\n"
    "    down_after       intervals without a reply before a node is down (3)\n"
    "    connect_timeout  seconds for connect + handshake (5.0)\n"
    "    reconnect_max    reconnect backoff cap in seconds, doubling from 1 (30.0)\n"
    "    parents          parent endpoints ([]), parent_mode \"failover\" | \"all\"\n"
    "    store.path       LMDB directory (\"./<id>.lmdb\"), store.map_size_mb (1024),\n"
    "    store.retention  seconds of raw samples kept (3600.0); store.max_mb cap of the raw\n"
    "                     samples (0 = none); store.history downsampled tiers\n"
    "                     ([\"10s:1h\", \"1m:1d\", \"5m:7d\"], step:keep)\n"
    "    agent            load warren_agent into each node and collect with it (true)\n"
    "    agent_dir        where warren_agent.beam/.md5 are (\"../agent\" beside the binary)\n"
    "    nodes            ( { name = \"a@h\"; port = 4370; address = \"10.0.0.7\"; }, ... )\n"
    "                     port absent or 0: looked up in epmd\n"
    "    nodes_file       extra nodes, one a line: \"name@host port [address]\"\n"
    "    group.leaves     ids of the leaves sharing these nodes (takeover; the relay announces\n"
    "                     the live ones; each node is watched by one of them)\n"
    "    alarms.<type>    node alarms (docs/CONFIG.md): process_limit, port_limit, atom_limit,\n"
    "                     ets_limit, module_limit, memory_usage, message_queue = { enabled;\n"
    "                     minor; major; minor_clear; major_clear; raise_after; clear_after };\n"
    "                     shell_process_size (minor_mb, major_mb), old_code, node_down.grace\n"
    "                     (30.0), forecast = { horizon = 3600.0; step = 60.0; points; min_points }\n"
    "    notify.rate, notify.burst  notifications per node and type: a second (10.0), at most\n"
    "                     in a burst (50); the rest is dropped and counted\n"
    "    notify.system_monitor  forward long_gc/busy_port/... events (false; always counted)\n"
    "    notify.source_rate     the agent's own cap on notifications a second, all types (100)\n"
    "    log.level, log.syslog, heartbeat.interval (1.0), heartbeat.misses (3)";

static const wr_daemon_info_t info = {
    "warren-leaf",
    "Watches BEAM nodes as a hidden C node, keeps their metrics in LMDB, streams state upward.",
    config_help,
};

static void on_poll(struct ev_loop *loop, ev_periodic *w, int revents)
{
    (void)loop;
    (void)revents;
    leaf_poll_tick(w->data);
}

static void on_retention(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    leaf_samples_retention(w->data);
}

int main(int argc, char **argv)
{
    wr_daemon_args_t args;
    wr_daemon_parse_args(&info, argc, argv, &args);
    wr_config_t *cfg = wr_daemon_load_config(&info, &args);

    static leaf_t lf;   /* zeroed */
    if (leaf_config_read(cfg, &lf.cfg) != 0) {
        fprintf(stderr, "%s: out of memory reading the configuration\n", info.prog);
        return 1;
    }
    wr_daemon_setup_log(cfg, "leaf", &info, &args, lf.cfg.id[0] ? lf.cfg.id : "leaf");
    wr_daemon_finish_config(cfg, &args);
    wr_config_destroy(&cfg);

    long nofile = wr_daemon_raise_nofile();   /* before ei_init: ei sizes its fd table there */
    lf.loop = ev_default_loop(0);
    WR_INFO("starting: %zu nodes, interval %.3g s, store %s, %zu parent(s), fd limit %ld",
            lf.cfg.n_nodes, lf.cfg.interval, lf.cfg.store_path, lf.cfg.n_parents, nofile);

    int rc = 1;
    char err[512] = "";
    /* The leaf's 1 s work (node-down checks, probes, the outbox tick) shares one wake-up at a
     * phase of its own in each second: not on the second itself, when every process of the
     * fabric sends its heartbeats (wr_link_*: a node_down raised there waited behind that
     * burst: leaf raise -> root p99 59 ms at 10,000 nodes, against 10-25 ms for the others). */
    lf.tick_phase = 0.1 + 0.8 * (double)(leaf_group_score("tick", lf.cfg.id) % 1000u) / 1000.0;
    ev_signal sigs[2];
    if (leaf_beam_init(&lf) != 0)
        goto out;
    leaf_group_init(&lf);
    leaf_poll_init(&lf);
    if (leaf_samples_open(&lf, err, sizeof err) != 0) {
        WR_ERROR("%s", err);
        goto out;
    }
    if (leaf_up_init(&lf, err, sizeof err) != 0) {
        WR_ERROR("upstream: %s", err);
        goto out;
    }
    if (leaf_events_init(&lf, err, sizeof err) != 0 || leaf_alarms_init(&lf, err, sizeof err) != 0) {
        WR_ERROR("%s", err);
        goto out;
    }
    if (leaf_notify_init(&lf) != 0) {
        WR_ERROR("notifications: out of memory");
        goto out;
    }
    wr_daemon_signals(lf.loop, sigs);
    /* Each leaf polls at its own offset in the interval (from a hash of its id), not all on
     * the same wall-clock instant: their rounds, sample commits (fsync) and DELTAs then do not
     * pile up at once on the disk and the relays, which also delayed the alarms raised at the
     * tick (benchmarks: leaf raise -> root receipt). */
    double poll_offset = (double)(leaf_group_score("poll", lf.cfg.id) % 1000u) / 1000.0 * lf.cfg.interval;
    ev_periodic_init(&lf.poll, on_poll, poll_offset, lf.cfg.interval, 0);
    lf.poll.data = &lf;
    ev_periodic_start(lf.loop, &lf.poll);
    ev_timer_init(&lf.retention_timer, on_retention, 1.0, 60.0);
    lf.retention_timer.data = &lf;
    ev_timer_start(lf.loop, &lf.retention_timer);
    leaf_beam_start(&lf);

    ev_run(lf.loop, 0);

    ev_periodic_stop(lf.loop, &lf.poll);
    ev_timer_stop(lf.loop, &lf.retention_timer);
    ev_signal_stop(lf.loop, &sigs[0]);
    ev_signal_stop(lf.loop, &sigs[1]);
    leaf_samples_flush(&lf);
    WR_INFO("stopped: %llu samples written, %llu dropped, %llu pruned, %llu parse errors, "
            "%llu unknown refs, %llu unanswered calls, %llu connects ok, %llu failed, %llu queries",
            (unsigned long long)lf.samples_written, (unsigned long long)lf.samples_dropped,
            (unsigned long long)lf.samples_pruned, (unsigned long long)lf.parse_errors,
            (unsigned long long)lf.unknown_refs, (unsigned long long)lf.calls_unanswered,
            (unsigned long long)lf.connects_ok, (unsigned long long)lf.connects_failed,
            (unsigned long long)lf.queries);
    WR_INFO("agent: %llu loads, %llu load failures, %llu collects, %llu errors, %llu unknown "
            "metrics, %llu bad items", (unsigned long long)lf.agent_loads,
            (unsigned long long)lf.agent_load_failures, (unsigned long long)lf.agent_collects,
            (unsigned long long)lf.agent_errors, (unsigned long long)lf.agent_unknown_metrics,
            (unsigned long long)lf.agent_bad_items);
    {
        leaf_alarms_stats_t as;
        leaf_events_stats_t es;
        leaf_alarms_stats(&lf, &as);
        leaf_events_stats(&lf, &es);
        WR_INFO("alarms: %llu raised, %llu updated, %llu cleared, %llu active, %llu reloaded at "
                "start, %llu pushes refused (retried)", (unsigned long long)as.raised,
                (unsigned long long)as.updated, (unsigned long long)as.cleared,
                (unsigned long long)as.active, (unsigned long long)as.reloaded,
                (unsigned long long)as.push_failed);
        WR_INFO("events: %llu pushed (%llu alarms, %llu notifications), %llu push failures, "
                "%llu acked, %llu pending, %llu resent, %llu dropped by the outbox",
                (unsigned long long)es.pushed, (unsigned long long)es.alarms,
                (unsigned long long)es.notifs, (unsigned long long)es.push_failed,
                (unsigned long long)es.acked, (unsigned long long)es.pending,
                (unsigned long long)es.resent, (unsigned long long)es.dropped);
    }
    rc = 0;
out:
    leaf_notify_fini(&lf);          /* logs its counters */
    leaf_alarms_fini(&lf);
    leaf_events_fini(&lf);
    leaf_procs_fini(&lf);
    leaf_up_fini(&lf);
    leaf_samples_close(&lf);        /* before the nodes go: it writes their last history points */
    leaf_beam_fini(&lf);
    leaf_config_free(&lf.cfg);
    ev_loop_destroy(lf.loop);
    return rc;
}
