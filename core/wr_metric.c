/* wr_metric: the metric catalogue (agentless set of the first cut). */
#include <string.h>
#include "wr_metric.h"

const wr_metric_def_t wr_metric_defs[] = {
    {"memory.total",          "bytes", WR_GAUGE,   "erlang:memory(total): all memory the emulator has allocated"},
    {"memory.processes",      "bytes", WR_GAUGE,   "erlang:memory(processes): allocated for Erlang processes"},
    {"memory.processes_used", "bytes", WR_GAUGE,   "erlang:memory(processes_used): used by Erlang processes"},
    {"memory.system",         "bytes", WR_GAUGE,   "erlang:memory(system): allocated for the emulator, not processes"},
    {"memory.atom",           "bytes", WR_GAUGE,   "erlang:memory(atom): allocated for atoms"},
    {"memory.atom_used",      "bytes", WR_GAUGE,   "erlang:memory(atom_used): used by atoms"},
    {"memory.binary",         "bytes", WR_GAUGE,   "erlang:memory(binary): allocated for off-heap binaries"},
    {"memory.code",           "bytes", WR_GAUGE,   "erlang:memory(code): allocated for loaded code"},
    {"memory.ets",            "bytes", WR_GAUGE,   "erlang:memory(ets): allocated for ETS tables"},
    {"process.count",         "processes", WR_GAUGE, "erlang:system_info(process_count)"},
    {"process.limit",         "processes", WR_GAUGE, "erlang:system_info(process_limit)"},
    {"port.count",            "ports", WR_GAUGE,   "erlang:system_info(port_count)"},
    {"port.limit",            "ports", WR_GAUGE,   "erlang:system_info(port_limit)"},
    {"atom.count",            "atoms", WR_GAUGE,   "erlang:system_info(atom_count)"},
    {"atom.limit",            "atoms", WR_GAUGE,   "erlang:system_info(atom_limit)"},
    {"ets.count",             "tables", WR_GAUGE,  "erlang:system_info(ets_count)"},
    {"ets.limit",             "tables", WR_GAUGE,  "erlang:system_info(ets_limit)"},
    {"run_queue",             "processes", WR_GAUGE, "erlang:statistics(run_queue): processes ready to run, all schedulers"},
    {"reductions",            "reductions", WR_COUNTER, "erlang:statistics(reductions), total since boot"},
    {"io.input",              "bytes", WR_COUNTER, "erlang:statistics(io): bytes received through ports since boot"},
    {"io.output",             "bytes", WR_COUNTER, "erlang:statistics(io): bytes sent through ports since boot"},
    {"uptime",                "ms",    WR_GAUGE,   "erlang:statistics(wall_clock): milliseconds since the node started"},
};
const size_t wr_metric_count = sizeof wr_metric_defs / sizeof wr_metric_defs[0];

int wr_metric_find(const char *name)
{
    for (size_t i = 0; i < wr_metric_count; i++)
        if (strcmp(wr_metric_defs[i].name, name) == 0)
            return (int)i;
    return -1;
}

int wr_metric_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= WR_METRIC_NAME_MAX || name[0] == '.' || name[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                 (c == '.' && name[i + 1] != '.');
        if (!ok)
            return 0;
    }
    return 1;
}
