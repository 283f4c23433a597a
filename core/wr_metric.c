/* wr_metric: the metric catalogue, the single source of truth for metric names, units, kinds
 * and meanings (docs/METRICS.md lists every entry; tests/test_metric.c checks both agree).
 * Most entries come from warren_agent:collect/1 (leaf/agent/warren_agent.erl); the agentless
 * poll (leaf/leaf_poll.c) fills a subset. Per-scheduler metrics are expanded statically for
 * schedulers 1..WR_METRIC_SCHEDULERS_MAX; a node with more schedulers reports the first 64
 * plus the totals. Lookup by name: binary search over an index sorted once. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "wr_metric.h"

#define WR_STR_(x) #x
#define WR_STR(x)  WR_STR_(x)
/* The per-scheduler pair for scheduler N (1-based, as in erlang:statistics/1). */
#define WR_SCHED(N)                                                                          \
    {"scheduler." WR_STR(N) ".run_queue", "processes", WR_GAUGE,                             \
     "erlang:statistics(run_queue_lengths_all): run queue of normal scheduler " WR_STR(N)},  \
    {"scheduler." WR_STR(N) ".utilization", "percent", WR_GAUGE,                             \
     "scheduler_wall_time: active/total time of normal scheduler " WR_STR(N)                 \
     " between two collections (agent only)"},

const wr_metric_def_t wr_metric_defs[] = {
    {"memory.total", "bytes", WR_GAUGE, "erlang:memory(total): all memory the emulator has allocated (processes + system)"},
    {"memory.processes", "bytes", WR_GAUGE, "erlang:memory(processes): allocated for Erlang processes"},
    {"memory.processes_used", "bytes", WR_GAUGE, "erlang:memory(processes_used): used by Erlang processes"},
    {"memory.system", "bytes", WR_GAUGE, "erlang:memory(system): allocated for the emulator, not directly for processes"},
    {"memory.atom", "bytes", WR_GAUGE, "erlang:memory(atom): allocated for atoms (part of system)"},
    {"memory.atom_used", "bytes", WR_GAUGE, "erlang:memory(atom_used): used by atoms"},
    {"memory.binary", "bytes", WR_GAUGE, "erlang:memory(binary): allocated for off-heap binaries (part of system)"},
    {"memory.code", "bytes", WR_GAUGE, "erlang:memory(code): allocated for loaded code (part of system)"},
    {"memory.ets", "bytes", WR_GAUGE, "erlang:memory(ets): allocated for ETS tables (part of system)"},
    {"memory.maximum", "bytes", WR_GAUGE, "erlang:memory(maximum): maximum total since start (only with +Mim true instrumentation)"},
    {"memory.area.sys_misc", "bytes", WR_GAUGE, "erlang:system_info(allocated_areas) sys_misc: miscellaneous emulator data"},
    {"memory.area.static", "bytes", WR_GAUGE, "erlang:system_info(allocated_areas) static: static emulator data"},
    {"memory.area.atom_space", "bytes", WR_GAUGE, "erlang:system_info(allocated_areas) atom_space: atom text space, allocated"},
    {"memory.area.atom_table", "bytes", WR_GAUGE, "erlang:system_info(allocated_areas) atom_table: the atom table"},
    {"memory.area.module_table", "bytes", WR_GAUGE, "erlang:system_info(allocated_areas) module_table: the module table"},
    {"memory.area.export_table", "bytes", WR_GAUGE, "erlang:system_info(allocated_areas) export_table: the export table"},
    {"memory.area.export_list", "bytes", WR_GAUGE, "erlang:system_info(allocated_areas) export_list: export entries"},
    {"memory.area.register_table", "bytes", WR_GAUGE, "erlang:system_info(allocated_areas) register_table: the registered-name table"},
    {"memory.area.fun_table", "bytes", WR_GAUGE, "erlang:system_info(allocated_areas) fun_table: the fun table"},
    {"memory.area.module_refs", "bytes", WR_GAUGE, "erlang:system_info(allocated_areas) module_refs: module references"},
    {"memory.area.loaded_code", "bytes", WR_GAUGE, "erlang:system_info(allocated_areas) loaded_code: loaded code"},
    {"memory.area.dist_table", "bytes", WR_GAUGE, "erlang:system_info(allocated_areas) dist_table: the distribution table"},
    {"memory.area.node_table", "bytes", WR_GAUGE, "erlang:system_info(allocated_areas) node_table: the node table"},
    {"memory.area.bits_bufs_size", "bytes", WR_GAUGE, "erlang:system_info(allocated_areas) bits_bufs_size: bit-syntax buffers"},
    {"memory.area.bif_timer", "bytes", WR_GAUGE, "erlang:system_info(allocated_areas) bif_timer: BIF timers"},
    {"memory.area.process_table", "bytes", WR_GAUGE, "erlang:system_info(allocated_areas) process_table: the process table (sized by the process limit)"},
    {"memory.area.port_table", "bytes", WR_GAUGE, "erlang:system_info(allocated_areas) port_table: the port table (sized by the port limit)"},
    {"memory.area.ets_misc", "bytes", WR_GAUGE, "erlang:system_info(allocated_areas) ets_misc: ETS bookkeeping"},
    {"memory.area.external_alloc", "bytes", WR_GAUGE, "erlang:system_info(allocated_areas) external_alloc: memory allocated outside the emulator's allocators"},
    {"allocator.temp_alloc.carriers", "bytes", WR_GAUGE, "erlang:system_info({allocator_sizes, temp_alloc}): carriers_size summed over instances and mbcs/mbcs_pool/sbcs"},
    {"allocator.temp_alloc.blocks", "bytes", WR_GAUGE, "erlang:system_info({allocator_sizes, temp_alloc}): current block sizes summed over instances"},
    {"allocator.sl_alloc.carriers", "bytes", WR_GAUGE, "erlang:system_info({allocator_sizes, sl_alloc}): carriers_size summed over instances and mbcs/mbcs_pool/sbcs"},
    {"allocator.sl_alloc.blocks", "bytes", WR_GAUGE, "erlang:system_info({allocator_sizes, sl_alloc}): current block sizes summed over instances"},
    {"allocator.std_alloc.carriers", "bytes", WR_GAUGE, "erlang:system_info({allocator_sizes, std_alloc}): carriers_size summed over instances and mbcs/mbcs_pool/sbcs"},
    {"allocator.std_alloc.blocks", "bytes", WR_GAUGE, "erlang:system_info({allocator_sizes, std_alloc}): current block sizes summed over instances"},
    {"allocator.ll_alloc.carriers", "bytes", WR_GAUGE, "erlang:system_info({allocator_sizes, ll_alloc}): carriers_size summed over instances and mbcs/mbcs_pool/sbcs"},
    {"allocator.ll_alloc.blocks", "bytes", WR_GAUGE, "erlang:system_info({allocator_sizes, ll_alloc}): current block sizes summed over instances"},
    {"allocator.eheap_alloc.carriers", "bytes", WR_GAUGE, "erlang:system_info({allocator_sizes, eheap_alloc}): carriers_size summed over instances and mbcs/mbcs_pool/sbcs"},
    {"allocator.eheap_alloc.blocks", "bytes", WR_GAUGE, "erlang:system_info({allocator_sizes, eheap_alloc}): current block sizes summed over instances"},
    {"allocator.ets_alloc.carriers", "bytes", WR_GAUGE, "erlang:system_info({allocator_sizes, ets_alloc}): carriers_size summed over instances and mbcs/mbcs_pool/sbcs"},
    {"allocator.ets_alloc.blocks", "bytes", WR_GAUGE, "erlang:system_info({allocator_sizes, ets_alloc}): current block sizes summed over instances"},
    {"allocator.fix_alloc.carriers", "bytes", WR_GAUGE, "erlang:system_info({allocator_sizes, fix_alloc}): carriers_size summed over instances and mbcs/mbcs_pool/sbcs"},
    {"allocator.fix_alloc.blocks", "bytes", WR_GAUGE, "erlang:system_info({allocator_sizes, fix_alloc}): current block sizes summed over instances"},
    {"allocator.literal_alloc.carriers", "bytes", WR_GAUGE, "erlang:system_info({allocator_sizes, literal_alloc}): carriers_size summed over instances and mbcs/mbcs_pool/sbcs"},
    {"allocator.literal_alloc.blocks", "bytes", WR_GAUGE, "erlang:system_info({allocator_sizes, literal_alloc}): current block sizes summed over instances"},
    {"allocator.binary_alloc.carriers", "bytes", WR_GAUGE, "erlang:system_info({allocator_sizes, binary_alloc}): carriers_size summed over instances and mbcs/mbcs_pool/sbcs"},
    {"allocator.binary_alloc.blocks", "bytes", WR_GAUGE, "erlang:system_info({allocator_sizes, binary_alloc}): current block sizes summed over instances"},
    {"allocator.driver_alloc.carriers", "bytes", WR_GAUGE, "erlang:system_info({allocator_sizes, driver_alloc}): carriers_size summed over instances and mbcs/mbcs_pool/sbcs"},
    {"allocator.driver_alloc.blocks", "bytes", WR_GAUGE, "erlang:system_info({allocator_sizes, driver_alloc}): current block sizes summed over instances"},
    {"allocator.total.carriers", "bytes", WR_GAUGE, "sum of allocator.*.carriers: memory all alloc_util allocators hold from the OS"},
    {"allocator.total.blocks", "bytes", WR_GAUGE, "sum of allocator.*.blocks: memory all alloc_util allocators handed out"},
    {"process.count", "processes", WR_GAUGE, "erlang:system_info(process_count): processes alive"},
    {"process.limit", "processes", WR_GAUGE, "erlang:system_info(process_limit): maximum processes (+P)"},
    {"port.count", "ports", WR_GAUGE, "erlang:system_info(port_count): ports open"},
    {"port.limit", "ports", WR_GAUGE, "erlang:system_info(port_limit): maximum ports (+Q)"},
    {"atom.count", "atoms", WR_GAUGE, "erlang:system_info(atom_count): atoms in the atom table"},
    {"atom.limit", "atoms", WR_GAUGE, "erlang:system_info(atom_limit): maximum atoms (+t)"},
    {"ets.count", "tables", WR_GAUGE, "erlang:system_info(ets_count): ETS tables"},
    {"ets.limit", "tables", WR_GAUGE, "erlang:system_info(ets_limit): ETS table limit"},
    {"module.loaded", "modules", WR_GAUGE, "length(erlang:loaded()): modules loaded"},
    {"module.old_code", "modules", WR_GAUGE, "modules with old code (erlang:check_old_code/1 over erlang:loaded())"},
    {"fd.open", "descriptors", WR_GAUGE, "open file descriptors of the BEAM OS process (/proc/self/fd; agent only, Linux)"},
    {"fd.limit", "descriptors", WR_GAUGE, "the BEAM OS process's descriptor limit: soft RLIMIT_NOFILE (/proc/self/limits), else check_io max_fds (agent only)"},
    {"process.registered", "names", WR_GAUGE, "length(erlang:registered()): registered process names"},
    {"system.schedulers", "schedulers", WR_GAUGE, "erlang:system_info(schedulers): normal scheduler threads"},
    {"system.schedulers_online", "schedulers", WR_GAUGE, "erlang:system_info(schedulers_online)"},
    {"system.dirty_cpu_schedulers", "schedulers", WR_GAUGE, "erlang:system_info(dirty_cpu_schedulers)"},
    {"system.dirty_io_schedulers", "schedulers", WR_GAUGE, "erlang:system_info(dirty_io_schedulers)"},
    {"system.logical_processors", "cpus", WR_GAUGE, "erlang:system_info(logical_processors_available) (0: unknown)"},
    {"system.thread_pool_size", "threads", WR_GAUGE, "erlang:system_info(thread_pool_size): async threads (+A)"},
    {"system.otp_release", "release", WR_GAUGE, "erlang:system_info(otp_release) as a number (25)"},
    {"system.wordsize", "bytes", WR_GAUGE, "erlang:system_info(wordsize): bytes per word (8 on 64-bit)"},
    {"run_queue", "processes", WR_GAUGE, "erlang:statistics(run_queue_lengths_all): processes and ports ready to run on the normal schedulers, summed"},
    {"run_queue.dirty_cpu", "processes", WR_GAUGE, "erlang:statistics(run_queue_lengths_all): run queue of the dirty CPU schedulers"},
    {"run_queue.dirty_io", "processes", WR_GAUGE, "erlang:statistics(run_queue_lengths_all): run queue of the dirty I/O schedulers"},
    {"active_tasks", "tasks", WR_GAUGE, "erlang:statistics(total_active_tasks): processes and ports running or ready to run"},
    {"reductions", "reductions", WR_COUNTER, "erlang:statistics(reductions), total since boot; rate = reductions/s"},
    {"context_switches", "switches", WR_COUNTER, "erlang:statistics(context_switches), total since boot"},
    {"gc.count", "collections", WR_COUNTER, "erlang:statistics(garbage_collection): garbage collections since boot"},
    {"gc.words_reclaimed", "words", WR_COUNTER, "erlang:statistics(garbage_collection): words reclaimed since boot"},
    {"runtime.cpu", "ms", WR_COUNTER, "erlang:statistics(runtime): CPU time of all scheduler threads since boot; rate = ms/s"},
    {"uptime", "ms", WR_GAUGE, "erlang:statistics(wall_clock): milliseconds since the node started"},
    {"scheduler.utilization", "percent", WR_GAUGE, "scheduler_wall_time: active/total time of the normal schedulers between two collections (agent only)"},
    {"scheduler.dirty_cpu.utilization", "percent", WR_GAUGE, "scheduler_wall_time: the same for the dirty CPU schedulers (agent only)"},
    {"scheduler.dirty_io.utilization", "percent", WR_GAUGE, "scheduler_wall_time: the same for the dirty I/O schedulers (agent only)"},
    {"io.input", "bytes", WR_COUNTER, "erlang:statistics(io): bytes received through ports since boot"},
    {"io.output", "bytes", WR_COUNTER, "erlang:statistics(io): bytes sent through ports since boot"},
    {"port.tcp", "ports", WR_GAUGE, "ports whose erlang:port_info(P, name) is \"tcp_inet\""},
    {"port.udp", "ports", WR_GAUGE, "ports whose erlang:port_info(P, name) is \"udp_inet\""},
    {"port.sctp", "ports", WR_GAUGE, "ports whose erlang:port_info(P, name) is \"sctp_inet\""},
    {"port.file", "ports", WR_GAUGE, "ports whose erlang:port_info(P, name) is \"efile\""},
    {"port.other", "ports", WR_GAUGE, "ports of any other kind (spawned programs, drivers, the forker)"},
    {"socket.count", "sockets", WR_GAUGE, "socket:number_of(): sockets of the socket NIF (not ports)"},
    {"dist.peers", "nodes", WR_GAUGE, "length(erlang:nodes(connected)): distribution connections"},
    {"dist.visible", "nodes", WR_GAUGE, "length(erlang:nodes(visible))"},
    {"dist.hidden", "nodes", WR_GAUGE, "length(erlang:nodes(hidden)) (the leaf itself is one)"},
    {"dist.queue_bytes", "bytes", WR_GAUGE, "erlang:port_info(P, queue_size) summed over the distribution ports of erlang:system_info(dist_ctrl)"},
    {"dist.queue_bytes_max", "bytes", WR_GAUGE, "the largest output queue of one distribution port"},
    {"dist.busy_ports", "ports", WR_GAUGE, "distribution ports whose queue is at least dist_buf_busy_limit (senders block: the busy port story)"},
    {"dist.busy_limit", "bytes", WR_GAUGE, "erlang:system_info(dist_buf_busy_limit) (+zdbbl)"},
    {"dist.input", "bytes", WR_COUNTER, "erlang:port_info(P, input) summed over the distribution ports"},
    {"dist.output", "bytes", WR_COUNTER, "erlang:port_info(P, output) summed over the distribution ports"},
    {"process.message_queue.sum", "messages", WR_GAUGE, "message_queue_len summed over all processes (one pass with process_info/2)"},
    {"process.message_queue.max", "messages", WR_GAUGE, "the longest message queue of one process (which one: Info max_message_queue)"},
    {"process.message_queue.nonempty", "processes", WR_GAUGE, "processes with at least one message queued"},
    {"process.status.running", "processes", WR_GAUGE, "processes whose process_info(P, status) is running"},
    {"process.status.runnable", "processes", WR_GAUGE, "processes whose process_info(P, status) is runnable"},
    {"process.status.waiting", "processes", WR_GAUGE, "processes whose process_info(P, status) is waiting"},
    {"process.status.garbage_collecting", "processes", WR_GAUGE, "processes whose process_info(P, status) is garbage_collecting"},
    {"process.status.suspended", "processes", WR_GAUGE, "processes whose process_info(P, status) is suspended"},
    {"process.status.exiting", "processes", WR_GAUGE, "processes whose process_info(P, status) is exiting"},
    {"shell.processes", "processes", WR_GAUGE, "shell servers (found through the groups of user_drv and user) and their evaluators"},
    {"shell.memory", "bytes", WR_GAUGE, "memory of the shell processes (shell.processes)"},
    {"shell.history", "commands", WR_GAUGE, "{command, N} entries in the shell servers' dictionaries (bounded by shell_history_length)"},
    {"application.loaded", "applications", WR_GAUGE, "length(application:loaded_applications())"},
    {"application.running", "applications", WR_GAUGE, "length(application:which_applications(500))"},
    {"os.load1", "load", WR_GAUGE, "cpu_sup:avg1()/256: 1-minute load average (only when os_mon runs)"},
    {"os.load5", "load", WR_GAUGE, "cpu_sup:avg5()/256 (only when os_mon runs)"},
    {"os.load15", "load", WR_GAUGE, "cpu_sup:avg15()/256 (only when os_mon runs)"},
    {"os.memory.total_memory", "bytes", WR_GAUGE, "memsup:get_system_memory_data() total_memory (only when os_mon runs)"},
    {"os.memory.free_memory", "bytes", WR_GAUGE, "memsup:get_system_memory_data() free_memory (only when os_mon runs)"},
    {"os.memory.available_memory", "bytes", WR_GAUGE, "memsup:get_system_memory_data() available_memory (only when os_mon runs)"},
    {"os.memory.buffered_memory", "bytes", WR_GAUGE, "memsup:get_system_memory_data() buffered_memory (only when os_mon runs)"},
    {"os.memory.cached_memory", "bytes", WR_GAUGE, "memsup:get_system_memory_data() cached_memory (only when os_mon runs)"},
    {"os.memory.system_total_memory", "bytes", WR_GAUGE, "memsup:get_system_memory_data() system_total_memory (only when os_mon runs)"},
    {"os.disk.count", "disks", WR_GAUGE, "disks reported by disksup:get_disk_data() (only when os_mon runs)"},
    {"os.disk.max_used_percent", "percent", WR_GAUGE, "the fullest disk's capacity used, disksup:get_disk_data() (only when os_mon runs)"},
    {"logger.handlers", "handlers", WR_GAUGE, "length(logger:get_handler_ids())"},
    {"logger.queue", "messages", WR_GAUGE, "message queues summed over the registered processes named logger* (logger, logger_proxy, handler processes such as logger_std_h_default)"},
    {"logger.queue_max", "messages", WR_GAUGE, "the longest message queue of one of those processes"},
    {"logger.proxy_queue", "messages", WR_GAUGE, "message queue of logger_proxy (log events from other nodes and the emulator)"},
    WR_SCHED(1)
    WR_SCHED(2)
    WR_SCHED(3)
    WR_SCHED(4)
    WR_SCHED(5)
    WR_SCHED(6)
    WR_SCHED(7)
    WR_SCHED(8)
    WR_SCHED(9)
    WR_SCHED(10)
    WR_SCHED(11)
    WR_SCHED(12)
    WR_SCHED(13)
    WR_SCHED(14)
    WR_SCHED(15)
    WR_SCHED(16)
    WR_SCHED(17)
    WR_SCHED(18)
    WR_SCHED(19)
    WR_SCHED(20)
    WR_SCHED(21)
    WR_SCHED(22)
    WR_SCHED(23)
    WR_SCHED(24)
    WR_SCHED(25)
    WR_SCHED(26)
    WR_SCHED(27)
    WR_SCHED(28)
    WR_SCHED(29)
    WR_SCHED(30)
    WR_SCHED(31)
    WR_SCHED(32)
    WR_SCHED(33)
    WR_SCHED(34)
    WR_SCHED(35)
    WR_SCHED(36)
    WR_SCHED(37)
    WR_SCHED(38)
    WR_SCHED(39)
    WR_SCHED(40)
    WR_SCHED(41)
    WR_SCHED(42)
    WR_SCHED(43)
    WR_SCHED(44)
    WR_SCHED(45)
    WR_SCHED(46)
    WR_SCHED(47)
    WR_SCHED(48)
    WR_SCHED(49)
    WR_SCHED(50)
    WR_SCHED(51)
    WR_SCHED(52)
    WR_SCHED(53)
    WR_SCHED(54)
    WR_SCHED(55)
    WR_SCHED(56)
    WR_SCHED(57)
    WR_SCHED(58)
    WR_SCHED(59)
    WR_SCHED(60)
    WR_SCHED(61)
    WR_SCHED(62)
    WR_SCHED(63)
    WR_SCHED(64)
};
const size_t wr_metric_count = sizeof wr_metric_defs / sizeof wr_metric_defs[0];

static unsigned short sorted[sizeof wr_metric_defs / sizeof wr_metric_defs[0]];
static pthread_once_t sorted_once = PTHREAD_ONCE_INIT;

static int by_name(const void *a, const void *b)
{
    return strcmp(wr_metric_defs[*(const unsigned short *)a].name,
                  wr_metric_defs[*(const unsigned short *)b].name);
}

static void sort_index(void)
{
    for (size_t i = 0; i < wr_metric_count; i++)
        sorted[i] = (unsigned short)i;
    qsort(sorted, wr_metric_count, sizeof sorted[0], by_name);
}

int wr_metric_find(const char *name)
{
    if (!name)
        return -1;
    pthread_once(&sorted_once, sort_index);
    size_t lo = 0, hi = wr_metric_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(wr_metric_defs[sorted[mid]].name, name);
        if (c == 0)
            return sorted[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
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
