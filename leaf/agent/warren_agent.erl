%% warren_agent: the small module warren-leaf loads into every BEAM node it watches
%% (code:load_binary/3 through rex). The leaf calls it through rex:
%%   collect(Opts)  -> {warren_agent, 1, Metrics, Info}    every metric of the node, one call
%%   procs(By, N)   -> [{Pid, Name, InitialCall, Current, Value}]   the live top-N processes
%%   subscribe(LeafNode, Opts) -> {ok, Pid}   push notifications to LeafNode (end of file)
%%   census()       -> {warren_census, 2, Release, [{Mod, Md5}], [{App, Vsn}], {Members, ViewMd5}}  fleet checks
%% Every string in a reply is a binary, every value a number, so the C side stays simple.
%% The agent must cost the node little: one pass over the processes per call; the only state
%% is the previous scheduler_wall_time sample, kept in a public ETS table owned by one parked
%% process (warren_agent_swt, see utilization_family/0).
-module(warren_agent).
-export([collect/1, procs/2]).
-export([census/0]).                                       % fleet checks (census/0)
-export([subscribe/2, log/2, prompt/1, notify_loop/1]).   % notifications (end of file)

-define(PROCS_MAX, 1000).

%% ---- collect ---------------------------------------------------------------------------

%% Metrics: [{Name :: binary(), Value :: number()}], names from core/wr_metric.c (docs/METRICS.md).
%% Info: [{Key :: atom(), Term}] for what is not a number (the leaf ignores unknown keys):
%%   {max_message_queue, {PidBin, NameBin, Len}}   the process with the longest queue
%%   {system_monitor, [{Event, Count}]}            system monitor events counted (notifications)
%%   {files, [{PathBin, changed | unparseable | missing, DetailBin}]}   config/boot/.app files
%%   {beam_alarms, [{IdBin, DescBin}]}             alarm_handler:get_alarms() (SASL)
%% Every family is computed inside its own catch, so one failing BIF (or a missing
%% application) drops that family only. Opts is a list, reserved (the leaf passes []).
collect(Opts) when is_list(Opts) ->
    {ProcMetrics, MaxQ} = safe(fun processes_family/0, {[], {<<>>, <<>>, 0}}),
    Metrics = lists:append([safe(fun memory_family/0, []),
                            safe(fun areas_family/0, []),
                            safe(fun allocator_family/0, []),
                            safe(fun limits_family/0, []),
                            safe(fun runtime_family/0, []),
                            safe(fun utilization_family/0, []),
                            safe(fun io_family/0, []),
                            safe(fun dist_family/0, []),
                            ProcMetrics,
                            safe(fun shell_family/0, []),
                            safe(fun applications_family/0, []),
                            safe(fun os_family/0, []),
                            safe(fun logger_family/0, []),
                            safe(fun fd_family/0, [])]),
    {warren_agent, 1, Metrics, [{max_message_queue, MaxQ} | notify_info()]
                               ++ safe(fun files_info/0, []) ++ safe(fun beam_alarms_info/0, [])}.

safe(F, Default) ->
    try F() catch _:_ -> Default end.

m(Name, V) -> {Name, V}.

%% erlang:memory/0: every key it gives, as memory.<key>.
memory_family() ->
    [m(<<"memory.", (atom_to_binary(K, utf8))/binary>>, V)
     || {K, V} <- erlang:memory(), is_integer(V)].

%% erlang:system_info(allocated_areas): memory.area.<name> (allocated bytes).
areas_family() ->
    lists:filtermap(fun(T) when is_tuple(T), tuple_size(T) >= 2 ->
                            K = element(1, T), V = element(2, T),
                            case is_atom(K) andalso is_integer(V) of
                                true -> {true, m(<<"memory.area.", (atom_to_binary(K, utf8))/binary>>, V)};
                                false -> false
                            end;
                       (_) -> false
                    end, erlang:system_info(allocated_areas)).

%% erlang:system_info({allocator_sizes, A}) for every alloc_util allocator: carriers (memory
%% the allocator holds from the OS) and blocks (memory handed out), summed over instances.
allocator_family() ->
    Allocs = erlang:system_info(alloc_util_allocators),
    Sizes = [{A, alloc_sizes(erlang:system_info({allocator_sizes, A}))} || A <- Allocs],
    {TC, TB} = lists:foldl(fun({_, {C, B}}, {C0, B0}) -> {C0 + C, B0 + B} end, {0, 0}, Sizes),
    lists:append([[m(<<"allocator.", (atom_to_binary(A, utf8))/binary, ".carriers">>, C),
                   m(<<"allocator.", (atom_to_binary(A, utf8))/binary, ".blocks">>, B)]
                  || {A, {C, B}} <- Sizes])
        ++ [m(<<"allocator.total.carriers">>, TC), m(<<"allocator.total.blocks">>, TB)].

alloc_sizes(false) -> {0, 0};
alloc_sizes(Instances) when is_list(Instances) ->
    lists:foldl(fun({instance, _, Kinds}, Acc) when is_list(Kinds) ->
                        lists:foldl(fun alloc_kind/2, Acc, Kinds);
                   (_, Acc) -> Acc
                end, {0, 0}, Instances);
alloc_sizes(_) -> {0, 0}.

alloc_kind({_Kind, Props}, {C, B}) when is_list(Props) ->
    C1 = case lists:keyfind(carriers_size, 1, Props) of
             T when is_tuple(T), tuple_size(T) >= 2, is_integer(element(2, T)) -> element(2, T);
             _ -> 0
         end,
    B1 = case lists:keyfind(blocks, 1, Props) of
             {blocks, Types} when is_list(Types) ->
                 lists:sum([Cur || {_, L} <- Types, is_list(L), {size, Cur, _, _} <- L, is_integer(Cur)]);
             _ -> 0
         end,
    {C + C1, B + B1};
alloc_kind(_, Acc) -> Acc.

%% System limits and counts.
limits_family() ->
    SI = fun erlang:system_info/1,
    Loaded = erlang:loaded(),
    Old = length([M || M <- Loaded, erlang:check_old_code(M)]),
    Otp = try list_to_integer(SI(otp_release)) catch _:_ -> 0 end,
    [m(<<"process.count">>, SI(process_count)), m(<<"process.limit">>, SI(process_limit)),
     m(<<"port.count">>, SI(port_count)), m(<<"port.limit">>, SI(port_limit)),
     m(<<"atom.count">>, SI(atom_count)), m(<<"atom.limit">>, SI(atom_limit)),
     m(<<"ets.count">>, SI(ets_count)), m(<<"ets.limit">>, SI(ets_limit)),
     m(<<"module.loaded">>, length(Loaded)), m(<<"module.old_code">>, Old),
     m(<<"process.registered">>, length(erlang:registered())),
     m(<<"system.schedulers">>, SI(schedulers)),
     m(<<"system.schedulers_online">>, SI(schedulers_online)),
     m(<<"system.dirty_cpu_schedulers">>, SI(dirty_cpu_schedulers)),
     m(<<"system.dirty_io_schedulers">>, SI(dirty_io_schedulers)),
     m(<<"system.logical_processors">>, int_or_zero(SI(logical_processors_available))),
     m(<<"system.thread_pool_size">>, SI(thread_pool_size)),
     m(<<"system.otp_release">>, Otp),
     m(<<"system.wordsize">>, SI(wordsize))].

int_or_zero(N) when is_integer(N) -> N;
int_or_zero(_) -> 0.

%% Runtime: run queues (total, per normal scheduler, dirty), reductions, context switches,
%% garbage collections, CPU time, uptime.
runtime_family() ->
    S = erlang:system_info(schedulers),
    DC = erlang:system_info(dirty_cpu_schedulers),
    RQ = erlang:statistics(run_queue_lengths_all),       % normal..., dirty cpu, dirty io
    {Normal, Dirty} = lists:split(min(S, length(RQ)), RQ),
    {DirtyCpu, DirtyIo} = case {DC > 0, Dirty} of
                              {true, [C | R]} -> {C, lists:sum(R)};
                              {false, _} -> {0, lists:sum(Dirty)};
                              _ -> {0, 0}
                          end,
    {Reds, _} = erlang:statistics(reductions),
    {Ctx, 0} = erlang:statistics(context_switches),
    {GCs, Words, 0} = erlang:statistics(garbage_collection),
    {Cpu, _} = erlang:statistics(runtime),
    {Wall, _} = erlang:statistics(wall_clock),
    per_scheduler(<<"run_queue">>, Normal)
        ++ [m(<<"run_queue">>, lists:sum(Normal)),
            m(<<"run_queue.dirty_cpu">>, DirtyCpu), m(<<"run_queue.dirty_io">>, DirtyIo),
            m(<<"active_tasks">>, erlang:statistics(total_active_tasks)),
            m(<<"reductions">>, Reds), m(<<"context_switches">>, Ctx),
            m(<<"gc.count">>, GCs), m(<<"gc.words_reclaimed">>, Words),
            m(<<"runtime.cpu">>, Cpu), m(<<"uptime">>, Wall)].

%% scheduler.N.<what> for N = 1..64 (the catalogue's per-scheduler range).
per_scheduler(What, Values) ->
    {L, _} = lists:foldl(fun(V, {Acc, N}) when N =< 64 ->
                                 {[m(<<"scheduler.", (integer_to_binary(N))/binary, ".", What/binary>>, V) | Acc], N + 1};
                            (_, {Acc, N}) -> {Acc, N + 1}
                         end, {[], 1}, Values),
    lists:reverse(L).

%% Scheduler utilisation from scheduler_wall_time: delta active / delta total between two
%% calls, in percent. The flag is only on while the process that set it lives, and rex runs
%% each call in a short-lived process, so one parked process (registered warren_agent_swt,
%% hibernated in timer:sleep/1, so it holds no reference to this module's code) sets it and
%% owns the public table warren_agent that keeps the previous sample. The first call after
%% it started reports no utilisation.
utilization_family() ->
    ensure_holder(),
    Now = erlang:statistics(scheduler_wall_time_all),
    Prev = case ets:lookup(warren_agent, swt) of
               [{swt, P}] -> P;
               [] -> undefined
           end,
    ets:insert(warren_agent, {swt, Now}),
    case {Prev, Now} of
        {P0, N0} when is_list(P0), is_list(N0) -> utilization(lists:sort(P0), lists:sort(N0));
        _ -> []
    end.

ensure_holder() ->
    case whereis(warren_agent_swt) of
        undefined ->
            Self = self(),
            {Pid, Ref} = spawn_monitor(fun() -> holder_init(Self) end),
            receive
                {Pid, ready} -> erlang:demonitor(Ref, [flush]), ok;
                {'DOWN', Ref, process, Pid, _} -> ok      % lost a race with another call
            after 1000 -> erlang:demonitor(Ref, [flush]), ok
            end;
        _ -> ok
    end.

holder_init(Parent) ->
    try register(warren_agent_swt, self()) of
        true ->
            erlang:system_flag(scheduler_wall_time, true),
            ets:new(warren_agent, [named_table, public, set]),
            Parent ! {self(), ready},
            erlang:hibernate(timer, sleep, [infinity])
    catch _:_ -> exit(normal)
    end.

utilization(Prev, Now) ->
    S = erlang:system_info(schedulers),
    DC = erlang:system_info(dirty_cpu_schedulers),
    Deltas = [{Id, A1 - A0, T1 - T0} || {{Id, A0, T0}, {Id, A1, T1}} <- lists:zip(Prev, Now)],
    Pct = fun(A, T) when T > 0 -> 100.0 * A / T; (_, _) -> 0.0 end,
    Sum = fun(L) -> {lists:sum([A || {_, A, _} <- L]), lists:sum([T || {_, _, T} <- L])} end,
    Normal = [D || {Id, _, _} = D <- Deltas, Id =< S],
    DirtyCpu = [D || {Id, _, _} = D <- Deltas, Id > S, Id =< S + DC],
    DirtyIo = [D || {Id, _, _} = D <- Deltas, Id > S + DC],
    {NA, NT} = Sum(Normal), {CA, CT} = Sum(DirtyCpu), {IA, IT} = Sum(DirtyIo),
    per_scheduler(<<"utilization">>, [Pct(A, T) || {_, A, T} <- Normal])
        ++ [m(<<"scheduler.utilization">>, Pct(NA, NT)),
            m(<<"scheduler.dirty_cpu.utilization">>, Pct(CA, CT)),
            m(<<"scheduler.dirty_io.utilization">>, Pct(IA, IT))].

%% I/O: bytes through ports, ports by kind (erlang:port_info(P, name)), socket NIF sockets.
io_family() ->
    {{input, In}, {output, Out}} = erlang:statistics(io),
    {Tcp, Udp, Sctp, File, Other} =
        lists:foldl(fun(P, {T, U, S, F, O}) ->
                            case erlang:port_info(P, name) of
                                {name, "tcp_inet"} -> {T + 1, U, S, F, O};
                                {name, "udp_inet"} -> {T, U + 1, S, F, O};
                                {name, "sctp_inet"} -> {T, U, S + 1, F, O};
                                {name, "efile"} -> {T, U, S, F + 1, O};
                                {name, _} -> {T, U, S, F, O + 1};
                                undefined -> {T, U, S, F, O}
                            end
                    end, {0, 0, 0, 0, 0}, erlang:ports()),
    Sockets = try socket:number_of() catch _:_ -> 0 end,
    [m(<<"io.input">>, In), m(<<"io.output">>, Out),
     m(<<"port.tcp">>, Tcp), m(<<"port.udp">>, Udp), m(<<"port.sctp">>, Sctp),
     m(<<"port.file">>, File), m(<<"port.other">>, Other), m(<<"socket.count">>, Sockets)].

%% Distribution: peers, output queue bytes of the distribution controllers (ports: queue_size;
%% processes, e.g. TLS: not counted), busy ports (queue >= dist_buf_busy_limit), bytes.
dist_family() ->
    Limit = erlang:system_info(dist_buf_busy_limit),
    Ctrls = [C || {_, C} <- erlang:system_info(dist_ctrl), is_port(C)],
    {Sum, Max, Busy, In, Out} =
        lists:foldl(fun(P, {S, M, B, I, O} = Acc) ->
                            case {erlang:port_info(P, queue_size), erlang:port_info(P, input),
                                  erlang:port_info(P, output)} of
                                {{queue_size, Q}, {input, PI}, {output, PO}} ->
                                    {S + Q, max(M, Q), B + (if Q >= Limit -> 1; true -> 0 end),
                                     I + PI, O + PO};
                                _ -> Acc
                            end
                    end, {0, 0, 0, 0, 0}, Ctrls),
    [m(<<"dist.peers">>, length(erlang:nodes(connected))),
     m(<<"dist.visible">>, length(erlang:nodes(visible))),
     m(<<"dist.hidden">>, length(erlang:nodes(hidden))),
     m(<<"dist.queue_bytes">>, Sum), m(<<"dist.queue_bytes_max">>, Max),
     m(<<"dist.busy_ports">>, Busy), m(<<"dist.busy_limit">>, Limit),
     m(<<"dist.input">>, In), m(<<"dist.output">>, Out)].

%% Processes: one pass over erlang:processes() with process_info(P, [message_queue_len,
%% status]). Both are read without signalling the process; adding an item such as memory or
%% total_heap_size makes each process_info/2 a signal round trip to the process and the pass
%% about 10 times slower (measured: 20 ms -> 206 ms for 100,000 processes), so per-process
%% memory is left to the procs view.
processes_family() ->
    Init = {0, 0, none, 0, 0, 0, 0, 0, 0, 0, 0},
    {QSum, QMax, QPid, NonEmpty, Running, Runnable, Waiting, Gc, Susp, Exiting, _} =
        lists:foldl(fun proc_acc/2, Init, erlang:processes()),
    MaxQ = case QPid of
               none -> {<<>>, <<>>, 0};
               _ -> {list_to_binary(pid_to_list(QPid)), reg_name(QPid), QMax}
           end,
    {[m(<<"process.message_queue.sum">>, QSum), m(<<"process.message_queue.max">>, QMax),
      m(<<"process.message_queue.nonempty">>, NonEmpty),
      m(<<"process.status.running">>, Running), m(<<"process.status.runnable">>, Runnable),
      m(<<"process.status.waiting">>, Waiting),
      m(<<"process.status.garbage_collecting">>, Gc),
      m(<<"process.status.suspended">>, Susp), m(<<"process.status.exiting">>, Exiting)],
     MaxQ}.

proc_acc(P, {QS, QM, QP, NE, Ru, Rn, Wa, Gc, Su, Ex, Z} = Acc) ->
    case erlang:process_info(P, [message_queue_len, status]) of
        [{message_queue_len, Q}, {status, St}] ->
            {QM1, QP1} = if Q > QM -> {Q, P}; true -> {QM, QP} end,
            NE1 = if Q > 0 -> NE + 1; true -> NE end,
            case St of
                running -> {QS + Q, QM1, QP1, NE1, Ru + 1, Rn, Wa, Gc, Su, Ex, Z};
                runnable -> {QS + Q, QM1, QP1, NE1, Ru, Rn + 1, Wa, Gc, Su, Ex, Z};
                waiting -> {QS + Q, QM1, QP1, NE1, Ru, Rn, Wa + 1, Gc, Su, Ex, Z};
                garbage_collecting -> {QS + Q, QM1, QP1, NE1, Ru, Rn, Wa, Gc + 1, Su, Ex, Z};
                suspended -> {QS + Q, QM1, QP1, NE1, Ru, Rn, Wa, Gc, Su + 1, Ex, Z};
                exiting -> {QS + Q, QM1, QP1, NE1, Ru, Rn, Wa, Gc, Su, Ex + 1, Z};
                _ -> {QS + Q, QM1, QP1, NE1, Ru, Rn, Wa, Gc, Su, Ex, Z + 1}
            end;
        _ -> Acc                                  % exited meanwhile
    end.

reg_name(P) ->
    case erlang:process_info(P, registered_name) of
        {registered_name, N} when is_atom(N) -> atom_to_binary(N, utf8);
        _ -> <<>>
    end.

%% The shell: the shell servers are found through the group leaders. user_drv (a terminal
%% shell) owns group processes, and user (-oldshell, piped input) is one, whose dictionary
%% names their shell ({shell, Pid}); a remote shell (-remsh) has its group on the other node
%% and is not seen. shell.processes counts the shell servers and their linked evaluators,
%% shell.memory sums their memory, shell.history counts the {command, N} entries the shell
%% servers keep in their dictionaries (bounded by shell_history_length, default 20).
shell_family() ->
    Servers = shell_servers(),
    Evals = lists:usort([E || S <- Servers, {links, L} <- [erlang:process_info(S, links)],
                              E <- L, is_pid(E), is_shell_proc(E)]),
    All = lists:usort(Servers ++ Evals),
    Mem = lists:sum([M || P <- All, {memory, M} <- [erlang:process_info(P, memory)]]),
    Hist = lists:sum([length([k || {{command, _}, _} <- D])
                      || S <- Servers, {dictionary, D} <- [erlang:process_info(S, dictionary)]]),
    [m(<<"shell.processes">>, length(All)), m(<<"shell.memory">>, Mem),
     m(<<"shell.history">>, Hist)].

shell_servers() ->
    Owners = [P || N <- [user_drv, user], P <- [whereis(N)], is_pid(P)],
    Groups = lists:usort(Owners ++ [G || O <- Owners, {links, L} <- [erlang:process_info(O, links)],
                                         G <- L, is_pid(G)]),
    lists:usort([S || G <- Groups, {dictionary, D} <- [erlang:process_info(G, dictionary)],
                      {shell, S} <- D, is_pid(S), is_process_alive(S)]).

is_shell_proc(P) ->
    case erlang:process_info(P, current_function) of
        {current_function, {shell, _, _}} -> true;
        _ -> false
    end.

%% Applications: loaded (ac_tab read by application:loaded_applications/0) and running
%% (application:which_applications/1, a call to application_controller, 500 ms at most).
applications_family() ->
    Loaded = length(application:loaded_applications()),
    Running = try length(application:which_applications(500)) catch _:_ -> undefined end,
    [m(<<"application.loaded">>, Loaded)]
        ++ [m(<<"application.running">>, Running) || is_integer(Running)].

%% OS, only when os_mon runs (never started here): cpu_sup load averages, memsup memory,
%% disksup disks. Each server is asked only if registered.
os_family() ->
    case lists:keymember(os_mon, 1, application:which_applications(500)) of
        false -> [];
        true -> safe(fun os_cpu/0, []) ++ safe(fun os_mem/0, []) ++ safe(fun os_disk/0, [])
    end.

os_cpu() ->
    case whereis(cpu_sup) of
        undefined -> [];
        _ -> [m(<<"os.load1">>, cpu_sup:avg1() / 256), m(<<"os.load5">>, cpu_sup:avg5() / 256),
              m(<<"os.load15">>, cpu_sup:avg15() / 256)]
    end.

os_mem() ->
    case whereis(memsup) of
        undefined -> [];
        _ ->
            Data = memsup:get_system_memory_data(),
            [m(<<"os.memory.", (atom_to_binary(K, utf8))/binary>>, V)
             || {K, V} <- Data, is_integer(V),
                lists:member(K, [total_memory, free_memory, available_memory, buffered_memory,
                                 cached_memory, system_total_memory])]
    end.

os_disk() ->
    case whereis(disksup) of
        undefined -> [];
        _ ->
            Disks = [D || {_, _, Pct} = D <- disksup:get_disk_data(), is_integer(Pct)],
            [m(<<"os.disk.count">>, length(Disks)),
             m(<<"os.disk.max_used_percent">>, lists:max([0 | [Pct || {_, _, Pct} <- Disks]]))]
    end.

%% Logger: handlers configured, and the message queues of the registered processes whose
%% name starts with "logger" (logger, logger_proxy, logger_std_h_<id>, logger_disk_log_h_<id>,
%% ...): the queues log events wait in when a handler is slow.
logger_family() ->
    Handlers = try length(logger:get_handler_ids()) catch _:_ -> 0 end,
    Qs = [Q || N <- erlang:registered(), is_logger(atom_to_list(N)), P <- [whereis(N)],
               is_pid(P), {message_queue_len, Q} <- [erlang:process_info(P, message_queue_len)]],
    ProxyQ = case whereis(logger_proxy) of
                 undefined -> 0;
                 PP -> case erlang:process_info(PP, message_queue_len) of
                           {message_queue_len, Q} -> Q;
                           _ -> 0
                       end
             end,
    [m(<<"logger.handlers">>, Handlers), m(<<"logger.queue">>, lists:sum(Qs)),
     m(<<"logger.queue_max">>, lists:max([0 | Qs])), m(<<"logger.proxy_queue">>, ProxyQ)].

is_logger("logger" ++ _) -> true;
is_logger(_) -> false.

%% ---- node alarms: descriptors, watched files, alarm_handler (docs/ALARMS.md) -------------

%% fd.open: the BEAM OS process's open descriptors (/proc/self/fd, less the one the listing
%% itself holds); fd.limit: its soft RLIMIT_NOFILE from /proc/self/limits, else the emulator's
%% max_fds (erlang:system_info(check_io)). Without /proc only the limit is reported.
fd_family() ->
    Open = case file:list_dir("/proc/self/fd") of
               {ok, L} -> [m(<<"fd.open">>, max(0, length(L) - 1))];
               _ -> []
           end,
    Open ++ [m(<<"fd.limit">>, N) || N <- [fd_limit()], is_integer(N), N > 0].

fd_limit() ->
    Lim = try
              {ok, B} = file:read_file("/proc/self/limits"),
              [Line] = [L || L <- binary:split(B, <<"\n">>, [global]),
                             binary:match(L, <<"Max open files">>) =/= nomatch],
              [_, _, _, Soft | _] = string:lexemes(binary_to_list(Line), " "),
              list_to_integer(Soft)
          catch _:_ -> undefined
          end,
    case Lim of
        undefined ->
            hd([M || Ps <- lists:flatten([erlang:system_info(check_io)]), is_list(Ps),
                     {max_fds, M} <- Ps, is_integer(M)] ++ [undefined]);
        _ -> Lim
    end.

-define(FILES_MAX, 200).          % files watched
-define(FILES_REPORT_MAX, 16).    % problem files reported per collect

%% Info {files, [{PathBin, changed | unparseable | missing, DetailBin}]}: the node's -config
%% files, its boot script and the .app files of its running applications, recorded at the
%% agent's first collect (md5); on each collect only stat'ed, and re-read (md5, parsed as the
%% boot would) when size or mtime moved. Only the files that differ from the first look are
%% listed; an empty list says all is well.
files_info() ->
    ensure_holder(),
    Watched = case ets:lookup(warren_agent, files_v1) of
                  [{_, W}] -> W;
                  [] -> [file_first(P, K) || {P, K} <- watch_list()]
              end,
    W1 = [file_check(E) || E <- Watched],
    ets:insert(warren_agent, {files_v1, W1}),
    Bad = [{unicode:characters_to_binary(P), St, Why} || {P, _, _, _, St, Why} <- W1, St =/= ok],
    [{files, lists:sublist(Bad, ?FILES_REPORT_MAX)}].

watch_list() ->
    Configs = case init:get_argument(config) of
                  {ok, Args} -> [{ext(P, ".config"), config} || P <- lists:append(Args)];
                  _ -> []
              end,
    Boot = case init:get_argument(boot) of
               {ok, [[B | _] | _]} -> ext(B, ".boot");
               _ -> filename:join([code:root_dir(), "bin", "start.boot"])
           end,
    Apps = [{F, app} || {A, _, _} <- application:which_applications(500),
                        F <- [code:where_is_file(atom_to_list(A) ++ ".app")], is_list(F)],
    All = [{filename:absname(P), K} || {P, K} <- Configs ++ [{Boot, boot}] ++ Apps],
    lists:sublist(lists:ukeysort(1, All), ?FILES_MAX).

ext(P, E) ->
    case filename:extension(P) of
        E -> P;
        _ -> P ++ E
    end.

%% {Path, Kind, FirstMd5 | missing, StatKey, Status, DetailBin}
file_first(P, K) ->
    case file:read_file(P) of
        {ok, Bin} ->
            Md5 = erlang:md5(Bin),
            {St, Why} = case file_parse(K, P, Bin) of
                            ok -> {ok, <<>>};
                            {error, E} -> {unparseable, E}
                        end,
            {P, K, Md5, stat_key(P), St, Why};
        _ -> {P, K, missing, missing, ok, <<>>}
    end.

stat_key(P) ->
    case file:read_file_info(P, [{time, posix}]) of
        {ok, FI} -> {element(2, FI), element(6, FI)};      % #file_info.size, .mtime
        _ -> missing
    end.

file_check({P, K, Md5, Key, St, Why} = E) ->
    case stat_key(P) of
        Key -> E;
        missing when Md5 =:= missing -> {P, K, Md5, missing, ok, <<>>};
        missing -> {P, K, Md5, missing, missing, <<"removed since the first look">>};
        Key1 ->
            case file:read_file(P) of
                {ok, Bin} ->
                    New = erlang:md5(Bin),
                    case file_parse(K, P, Bin) of
                        {error, Err} -> {P, K, Md5, Key1, unparseable, Err};
                        ok when New =:= Md5 -> {P, K, Md5, Key1, ok, <<>>};
                        ok -> {P, K, Md5, Key1, changed, changed_why(Md5, New, Bin)}
                    end;
                _ -> {P, K, Md5, Key, St, Why}              % try again next time
            end
    end.

changed_why(Old, New, Bin) ->
    Md5s = case Old of
               missing -> [<<"created since the first look, md5 ">>, hex12(New)];
               _ -> [<<"md5 ">>, hex12(Old), <<" -> ">>, hex12(New)]
           end,
    iolist_to_binary([Md5s | invisible(Bin)]).

hex12(B) -> binary:part(hex(B), 0, 12).

%% "; invisible character U+200B on line 3" for the first invisible or control character
%% (C0 controls but tab, LF, CR; NBSP; zero-width and direction marks; BOM past the start).
invisible(Bin) ->
    try invisible_at(Bin) catch _:_ -> [] end.              % not UTF-8: nothing said

invisible_at(Bin) ->
    case re:run(Bin, "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f\\x{a0}\\x{200b}-\\x{200f}"
                     "\\x{2028}\\x{2029}\\x{202a}-\\x{202e}\\x{2060}\\x{feff}]",
                [unicode, {capture, first, index}]) of
        {match, [{At, Len}]} when At > 0; Len < 3 ->
            <<C/utf8, _/binary>> = binary:part(Bin, At, byte_size(Bin) - At),
            Line = 1 + length(binary:matches(binary:part(Bin, 0, At), <<"\n">>)),
            [io_lib:format("; invisible character U+~4.16.0B on line ~w", [C, Line])];
        _ -> []
    end.

%% Parsed as the boot parses it: a -config file is ONE list of {App, [{Par, Val}]} or included
%% file names, ended by a dot; an .app file {application, App, [...]}; a boot script a
%% term_to_binary'ed {script, {Name, Vsn}, Instructions}.
file_parse(boot, _P, Bin) ->
    try binary_to_term(Bin) of
        {script, {_, _}, L} when is_list(L) -> ok;
        _ -> {error, <<"not a boot script">>}
    catch _:_ -> {error, <<"not a boot script (binary_to_term failed)">>}
    end;
file_parse(config, P, Bin) ->
    %% the boot reads a .config as UTF-8 unless it declares latin-1 (no fallback, unlike
    %% file:consult/1): "bad encoding"
    Enc = case epp:read_encoding_from_binary(Bin) of
              none -> utf8;
              E -> E
          end,
    case unicode:characters_to_list(Bin, Enc) of
        L when is_list(L) -> file_consult(config, P);
        _ -> {error, <<"bad encoding: not valid UTF-8 (the boot refuses it)">>}
    end;
file_parse(K, P, _Bin) ->
    file_consult(K, P).

file_consult(K, P) ->
    case {K, file:consult(P)} of
        {config, {ok, [L]}} when is_list(L) ->
            case lists:all(fun({A, Ps}) when is_atom(A), is_list(Ps) -> true;
                              (S) -> io_lib:printable_unicode_list(S)
                           end, L) of
                true -> ok;
                false -> {error, <<"not a list of {Application, [{Par, Val}]} or file names">>}
            end;
        {config, {ok, _}} -> {error, <<"configuration file must contain ONE list ended by <dot>">>};
        {app, {ok, [{application, A, Ps}]}} when is_atom(A), is_list(Ps) -> ok;
        {app, {ok, _}} -> {error, <<"not {application, Name, [...]}.">>};
        {_, {error, E}} -> {error, unicode:characters_to_binary(file:format_error(E))}
    end.

%% Info {beam_alarms, [{IdBin, DescBin}]}: alarm_handler:get_alarms() of the node's SASL
%% alarm handler when it runs ([] when it does not: what was raised is gone); left out when
%% the call fails (the leaf keeps what it has).
beam_alarms_info() ->
    case whereis(alarm_handler) of
        undefined -> [{beam_alarms, []}];
        _ ->
            case gen_event:call(alarm_handler, alarm_handler, get_alarms, 2000) of
                L when is_list(L) -> [{beam_alarms, [beam_alarm(A) || A <- lists:sublist(L, 32)]}];
                _ -> []
            end
    end.

beam_alarm({Id, Desc}) -> {term_text(Id, 200), term_text(Desc, 400)};
beam_alarm(Other) -> {term_text(Other, 200), <<>>}.

term_text(A, Max) when is_atom(A) -> term_text(atom_to_list(A), Max);
term_text(T, Max) ->
    S = case io_lib:printable_unicode_list(T) of
            true -> T;
            false -> lists:flatten(io_lib:format("~0tP", [T, 12]))
        end,
    unicode:characters_to_binary(string:slice(S, 0, Max)).

%% ---- procs -----------------------------------------------------------------------------

%% The N processes with the largest By (memory | message_queue | reductions | binary), largest
%% first. Pid as "<0.1.0>", Name the registered name or <<>>, InitialCall and Current as
%% "m:f/a" (proc_lib's real initial call for OTP processes), Value an integer: bytes for
%% memory (process_info memory) and binary (sizes of the off-heap binaries it references),
%% messages for message_queue, reductions since the process started for reductions.
procs(By, N) when is_integer(N), N > 0 ->
    Key = procs_key(By),
    Top = top_n(erlang:processes(), Key, min(N, ?PROCS_MAX)),
    [describe(P, V) || {V, P} <- Top, V =/= undefined].

procs_key(memory) -> memory;
procs_key(message_queue) -> message_queue_len;
procs_key(reductions) -> reductions;
procs_key(binary) -> binary;
procs_key(Other) -> erlang:error({badarg, Other}).

top_n(Pids, Key, N) ->
    Vals = lists:foldl(fun(P, Acc) ->
                               case value(P, Key) of
                                   undefined -> Acc;
                                   V -> [{V, P} | Acc]
                               end
                       end, [], Pids),
    lists:sublist(lists:reverse(lists:sort(Vals)), N).

value(P, binary) ->
    case erlang:process_info(P, binary) of
        {binary, Bins} -> lists:foldl(fun({_, Size, _}, S) -> S + Size end, 0, Bins);
        undefined -> undefined
    end;
value(P, Key) ->
    case erlang:process_info(P, Key) of
        {Key, V} -> V;
        undefined -> undefined
    end.

%% One process_info/2 call per chosen process (only N of them: the dictionary can be big).
%% The initial call is proc_lib's '$initial_call' when the process has one (gen_server,
%% supervisor, ... processes start in proc_lib:init_p/5), else erlang's initial_call.
describe(P, V) ->
    Pid = list_to_binary(pid_to_list(P)),
    case erlang:process_info(P, [registered_name, current_function, initial_call, dictionary]) of
        undefined ->
            {Pid, <<>>, <<>>, <<>>, V};                 % exited since it was measured
        Info ->
            Name = case lists:keyfind(registered_name, 1, Info) of
                       {registered_name, R} when is_atom(R) -> atom_to_binary(R, utf8);
                       _ -> <<>>
                   end,
            {current_function, Current} = lists:keyfind(current_function, 1, Info),
            {initial_call, Spawned} = lists:keyfind(initial_call, 1, Info),
            {dictionary, Dict} = lists:keyfind(dictionary, 1, Info),
            Initial = case lists:keyfind('$initial_call', 1, Dict) of
                          {'$initial_call', MFA = {_, _, _}} -> MFA;
                          _ -> Spawned
                      end,
            {Pid, Name, mfa(Initial), mfa(Current), V}
    end.

mfa({M, F, A}) when is_atom(M), is_atom(F), is_integer(A) ->
    iolist_to_binary([atom_to_binary(M, utf8), $:, atom_to_binary(F, utf8), $/, integer_to_binary(A)]);
mfa(_) ->
    <<>>.

%% ---- notifications (pushed to the leaf) ------------------------------------------------
%% The leaf subscribes through rex, warren_agent:subscribe(LeafNode, Opts), again every 60 s
%% (a lease: a leaf that stops renewing is forgotten after ?LEASE_MS, one that disconnects at
%% once). Opts: [{system_monitor, Bool}, {source_rate, N}]. One registered process,
%% warren_agent_notify, holds the subscribers and runs the watchers; every notification is
%%   {warren_notif, Type :: atom(), Severity :: atom(), TsMs :: integer(), [{Key :: atom(), Value}]}
%% (Value a binary, an integer or an atom) sent with erlang:send/3 [noconnect, nosuspend] to
%% {warren_leaf, LeafNode}: the leaf's C node reads it as a registered send.
%%   logger reports    a logger handler (id warren_agent, level warning) runs in the process
%%                     that logs: rate check first, then logger_formatter with chars_limit.
%%   code loads        every ?NOTIFY_TICK_MS the notifier compares erlang:loaded() and each
%%                     module's md5 (erlang:get_module_info(M, md5), about 1 us a module: 3 ms
%%                     every 5 s for 3,000 modules) with the previous pass: code_loaded for a
%%                     new or changed md5, code_purged for a module gone. No tracing (it would
%%                     take the node's one tracer of code_server), no OTP hook exists.
%%   shell commands    stdlib's shell_prompt_func is set to warren_agent:prompt/1 (the previous
%%                     one is chained and restored at unsubscribe). The shell evaluates it
%%                     before each prompt, in the evaluator, which reads the command just run
%%                     ({command, N-1}) from its shell server's dictionary: a copy of that
%%                     dictionary (the last 20 commands and results) per prompt, nothing
%%                     while nobody types. Works for local and remote (-remsh) shells.
%%   crash dumps       every tick, file:read_file_info of $ERL_CRASH_DUMP or ./erl_crash.dump;
%%                     reported when it appears or changes (the last one reported is kept in
%%                     the warren_agent ETS table, so an agent reload does not repeat it).
%%   system monitor    erlang:system_monitor/2 (long_gc 100 ms, long_schedule 100 ms,
%%                     large_heap 8 M words, busy_port, busy_dist_port) when no one else holds
%%                     it: always counted (collect's Info {system_monitor, [{Event, N}]}),
%%                     forwarded only with {system_monitor, true}.
%% Bounded at the source: at most source_rate notifications a second leave the node (all
%% types; default 100); the excess, and sends refused (nosuspend, noconnect), are counted and
%% reported to the leaf as {warren_notif_dropped, N} at the next tick. Every handler is
%% wrapped: nothing here may crash or block a process of the node.
-define(NOTIFY, warren_agent_notify).
-define(NOTIFY_TICK_MS, 5000).
-define(LEASE_MS, 300000).
-define(TEXT_MAX, 1024).
-define(CODE_REPORT_MAX, 200).

subscribe(Leaf, Opts) when is_atom(Leaf), is_list(Opts) ->
    ensure_holder(),
    case whereis(?NOTIFY) of
        undefined -> subscribe_to(start_notify(), Leaf, Opts);
        Pid -> subscribe_to(Pid, Leaf, Opts)
    end.

subscribe_to(Pid, Leaf, Opts) when is_pid(Pid) ->
    Ref = erlang:monitor(process, Pid),
    Pid ! {subscribe, self(), Ref, Leaf, Opts},
    receive
        {Ref, Reply} -> erlang:demonitor(Ref, [flush]), Reply;
        {'DOWN', Ref, process, Pid, Why} -> {error, Why}
    after 2000 -> erlang:demonitor(Ref, [flush]), {error, timeout}
    end;
subscribe_to(_, _, _) ->
    {error, no_notifier}.

start_notify() ->
    Self = self(),
    {Pid, Ref} = spawn_monitor(fun() -> notify_init(Self) end),
    receive
        {Pid, ready} -> erlang:demonitor(Ref, [flush]), Pid;
        {'DOWN', Ref, process, Pid, _} -> whereis(?NOTIFY)     % lost a race: the winner
    after 2000 -> erlang:demonitor(Ref, [flush]), whereis(?NOTIFY)
    end.

notify_init(Parent) ->
    try register(?NOTIFY, self()) of
        true ->
            process_flag(message_queue_data, off_heap),
            Ctr = counters:new(4, [write_concurrency]),
            Parent ! {self(), ready},
            erlang:send_after(?NOTIFY_TICK_MS, self(), tick),
            notify_loop(#{leaves => #{}, ctr => Ctr, rate => 100, sysmon => false,
                          code => safe(fun code_snapshot/0, #{})})
    catch _:_ -> exit(normal)
    end.

notify_loop(S) ->
    receive
        Msg ->
            case try notify_handle(Msg, S) catch _:_ -> S end of
                stop -> notify_uninstall(S);
                S1 -> ?MODULE:notify_loop(S1)
            end
    end.

notify_handle({subscribe, From, Ref, Leaf, Opts}, #{leaves := Ls} = S) ->
    New = not maps:is_key(Leaf, Ls),
    New andalso erlang:monitor_node(Leaf, true),
    Rate = case lists:keyfind(source_rate, 1, Opts) of
               {_, R} when is_integer(R), R > 0 -> min(R, 100000);
               _ -> 100
           end,
    Sysmon = lists:member({system_monitor, true}, Opts),
    S1 = S#{leaves := Ls#{Leaf => now_ms() + ?LEASE_MS}, rate := Rate, sysmon := Sysmon},
    Changed = New orelse Rate =/= maps:get(rate, S) orelse Sysmon =/= maps:get(sysmon, S),
    Changed andalso notify_install(S1),
    From ! {Ref, {ok, self()}},
    S1;
notify_handle({nodedown, Leaf}, #{leaves := Ls} = S) ->
    drop_leaves(S, maps:remove(Leaf, Ls));
notify_handle({monitor, Who, What, Info}, S) ->
    ets:update_counter(warren_agent, {sysmon, What}, 1, {{sysmon, What}, 0}),
    case S of
        #{sysmon := true} -> emit(S, What, warning, sysmon_fields(Who, Info));
        _ -> ok
    end,
    S;
notify_handle(tick, #{leaves := Ls} = S) ->
    erlang:send_after(?NOTIFY_TICK_MS, self(), tick),
    Now = now_ms(),
    case drop_leaves(S, maps:filter(fun(_, Exp) -> Exp > Now end, Ls)) of
        stop -> stop;
        S1 ->
            S2 = safe(fun() -> code_check(S1) end, S1),
            safe(fun() -> crash_dump_check(S2) end, ok),
            report_dropped(S2),
            S2
    end;
notify_handle(_, S) ->
    S.

drop_leaves(_, Ls) when map_size(Ls) =:= 0 -> stop;
drop_leaves(#{leaves := Old} = S, Ls) when map_size(Ls) =:= map_size(Old) -> S;
drop_leaves(S, Ls) ->
    S1 = S#{leaves := Ls},
    notify_install(S1),
    S1.

now_ms() -> erlang:monotonic_time(millisecond).

%% What the logger handler and the prompt function need, in the handler config and in ETS.
emit_cfg(#{leaves := Ls, ctr := Ctr, rate := Rate}) ->
    #{leaves => maps:keys(Ls), ctr => Ctr, rate => Rate}.

notify_install(S) ->
    Cfg = emit_cfg(S),
    ets:insert(warren_agent, {notify_cfg, Cfg}),
    safe(fun() ->
                 case logger:get_handler_config(warren_agent) of
                     {ok, _} -> logger:update_handler_config(warren_agent, config, Cfg);
                     _ -> logger:add_handler(warren_agent, warren_agent,
                                             #{level => warning, config => Cfg,
                                               filter_default => log})
                 end
         end, ok),
    safe(fun() ->
                 Self = self(),
                 case erlang:system_monitor() of
                     undefined -> erlang:system_monitor(Self, sysmon_spec());
                     {Self, _} -> ok;
                     {Other, _} ->
                         case is_process_alive(Other) of
                             false -> erlang:system_monitor(Self, sysmon_spec());
                             true -> ets:insert(warren_agent, {sysmon_taken, Other})
                         end
                 end
         end, ok),
    safe(fun() ->
                 case application:get_env(stdlib, shell_prompt_func, default) of
                     {warren_agent, prompt} -> ok;
                     Prev ->
                         ets:insert(warren_agent, {prompt_prev, Prev}),
                         application:set_env(stdlib, shell_prompt_func, {warren_agent, prompt})
                 end
         end, ok),
    ok.

notify_uninstall(_S) ->
    safe(fun() -> logger:remove_handler(warren_agent) end, ok),
    safe(fun() ->
                 Self = self(),
                 case erlang:system_monitor() of
                     {Self, _} -> erlang:system_monitor(undefined);
                     _ -> ok
                 end
         end, ok),
    safe(fun() ->
                 case application:get_env(stdlib, shell_prompt_func, default) of
                     {warren_agent, prompt} ->
                         Prev = case ets:lookup(warren_agent, prompt_prev) of
                                    [{_, P}] -> P;
                                    [] -> default
                                end,
                         application:set_env(stdlib, shell_prompt_func, Prev);
                     _ -> ok
                 end
         end, ok),
    safe(fun() -> ets:delete(warren_agent, notify_cfg) end, ok),
    exit(normal).

sysmon_spec() ->
    [{long_gc, 100}, {long_schedule, 100}, {large_heap, 8000000}, busy_port, busy_dist_port].

%% The one way out: source rate (all types, per second), then one send per subscribed leaf.
emit(#{leaves := Ls, ctr := Ctr, rate := Rate}, Type, Sev, Fields) ->
    emit(maps:keys(Ls), Ctr, Rate, Type, Sev, Fields).

emit(Leaves, Ctr, Rate, Type, Sev, Fields) ->
    case allow(Ctr, Rate) of
        true ->
            Msg = {warren_notif, Type, Sev, erlang:system_time(millisecond), Fields},
            [send_leaf(L, Msg, Ctr) || L <- Leaves],
            ok;
        false -> ok
    end.

allow(Ctr, Rate) ->
    Sec = erlang:monotonic_time(second),
    case counters:get(Ctr, 1) of
        Sec -> ok;
        _ -> counters:put(Ctr, 1, Sec), counters:put(Ctr, 2, 0)
    end,
    counters:add(Ctr, 2, 1),
    case counters:get(Ctr, 2) =< Rate of
        true -> true;
        false -> counters:add(Ctr, 3, 1), false
    end.

send_leaf(Leaf, Msg, Ctr) ->
    case erlang:send({warren_leaf, Leaf}, Msg, [noconnect, nosuspend]) of
        ok -> counters:add(Ctr, 4, 1);
        _ -> counters:add(Ctr, 3, 1)
    end.

report_dropped(#{leaves := Ls, ctr := Ctr}) ->
    case counters:get(Ctr, 3) of
        0 -> ok;
        D ->
            counters:sub(Ctr, 3, D),
            [erlang:send({warren_leaf, L}, {warren_notif_dropped, D}, [noconnect, nosuspend])
             || L <- maps:keys(Ls)],
            ok
    end.

%% logger handler callback (handler id warren_agent): runs in the process that logged.
log(#{level := Level} = Event, #{config := #{leaves := Ls, ctr := Ctr, rate := Rate}}) ->
    try
        case allow(Ctr, Rate) of
            true ->
                Msg = {warren_notif, log_type(Event), log_severity(Level),
                       erlang:system_time(millisecond), log_fields(Event)},
                [send_leaf(L, Msg, Ctr) || L <- Ls],
                ok;
            false -> ok
        end
    catch _:_ -> ok
    end;
log(_, _) ->
    ok.

log_type(#{meta := #{error_logger := #{type := crash_report}}}) -> crash_report;
log_type(#{meta := #{error_logger := #{type := supervisor_report}}}) -> supervisor_report;
log_type(#{level := warning}) -> warning_report;
log_type(_) -> error_report.

log_severity(L) when L =:= emergency; L =:= alert; L =:= critical -> critical;
log_severity(error) -> major;
log_severity(_) -> warning.

log_fields(#{level := Level, meta := Meta} = Event) ->
    Text = try
               Chars = logger_formatter:format(Event, #{single_line => true, template => [msg],
                                                        chars_limit => ?TEXT_MAX,
                                                        max_size => ?TEXT_MAX, depth => 30}),
               case unicode:characters_to_binary(Chars) of
                   B when is_binary(B) -> B;
                   _ -> <<"(unprintable)">>
               end
           catch _:_ -> <<"(unprintable)">>
           end,
    [{level, Level}, {text, Text}]
        ++ [{pid, list_to_binary(pid_to_list(P))} || #{pid := P} <- [Meta], is_pid(P)]
        ++ [{mfa, mfa(MFA)} || #{mfa := MFA} <- [Meta]].

%% stdlib shell_prompt_func: reports the command just run, then gives the prompt the previous
%% prompt function (or the default) would have given.
prompt(Opts) ->
    N = case lists:keyfind(history, 1, Opts) of
            {history, H} when is_integer(H) -> H;
            _ -> 0
        end,
    safe(fun() -> shell_report(N - 1) end, ok),
    Prev = try ets:lookup(warren_agent, prompt_prev) of
               [{_, {M, F}}] when {M, F} =/= {warren_agent, prompt} -> {M, F};
               _ -> default
           catch _:_ -> default
           end,
    case Prev of
        {M1, F1} -> try M1:F1(Opts) catch _:_ -> default_prompt(N) end;
        default -> default_prompt(N)
    end.

default_prompt(N) ->
    case is_alive() of
        true -> io_lib:format(<<"(~s)~w> ">>, [node(), N]);
        false -> io_lib:format(<<"~w> ">>, [N])
    end.

shell_report(K) when K >= 1 ->
    [{notify_cfg, #{leaves := Ls, ctr := Ctr, rate := Rate}}] = ets:lookup(warren_agent, notify_cfg),
    {links, Links} = erlang:process_info(self(), links),
    [shell_report(K, P, Ls, Ctr, Rate) || P <- Links, is_pid(P), node(P) =:= node()],
    ok;
shell_report(_) ->
    ok.

shell_report(K, Shell, Ls, Ctr, Rate) ->
    Seen = case ets:lookup(warren_agent, {shell_seen, Shell}) of
               [{_, S}] -> S;
               [] -> 0
           end,
    case K > Seen andalso erlang:process_info(Shell, dictionary) of
        {dictionary, D} ->
            case lists:keyfind({command, K}, 1, D) of
                {_, Exprs} ->
                    ets:insert(warren_agent, {{shell_seen, Shell}, K}),
                    Text = try iolist_to_binary(io_lib:format("~ts", [erl_pp:exprs(Exprs)]))
                           catch _:_ -> <<"(unprintable)">>
                           end,
                    User = case os:getenv("USER") of
                               U when is_list(U) -> unicode:characters_to_binary(U);
                               _ -> <<>>
                           end,
                    emit(Ls, Ctr, Rate, shell_command, indeterminate,
                         [{text, binary:part(Text, 0, min(byte_size(Text), ?TEXT_MAX))},
                          {user, User}, {from, atom_to_binary(node(group_leader()), utf8)},
                          {number, K}, {shell, list_to_binary(pid_to_list(Shell))}]);
                false -> ok
            end;
        _ -> ok
    end.

%% module -> md5 of every loaded module.
code_snapshot() ->
    maps:from_list([{M, Md5} || M <- erlang:loaded(),
                                Md5 <- [try erlang:get_module_info(M, md5) catch _:_ -> none end],
                                is_binary(Md5)]).

code_check(#{code := Old} = S) ->
    New = code_snapshot(),
    Loaded = [{M, Md5, maps:get(M, Old, none)} || {M, Md5} <- maps:to_list(New),
                                                  maps:get(M, Old, none) =/= Md5],
    Gone = [M || M <- maps:keys(Old), not maps:is_key(M, New)],
    {Report, _} = lists:split(min(?CODE_REPORT_MAX, length(Loaded)), Loaded),
    [emit(S, code_loaded, indeterminate,
          [{module, M}, {md5, hex(Md5)}] ++ [{previous_md5, hex(P)} || is_binary(P)])
     || {M, Md5, P} <- Report],
    {ReportGone, _} = lists:split(min(?CODE_REPORT_MAX, length(Gone)), Gone),
    [emit(S, code_purged, indeterminate, [{module, M}]) || M <- ReportGone],
    S#{code := New}.

hex(B) -> << <<(hexdigit(N))>> || <<N:4>> <= B >>.
hexdigit(N) when N < 10 -> $0 + N;
hexdigit(N) -> $a + N - 10.

crash_dump_check(S) ->
    Path = case os:getenv("ERL_CRASH_DUMP") of
               P when is_list(P), P =/= "" -> P;
               _ -> "erl_crash.dump"
           end,
    case file:read_file_info(Path, [{time, posix}]) of
        {ok, Info} ->
            Size = element(2, Info),                 % #file_info.size
            MTime = element(6, Info),                % #file_info.mtime
            Key = {Path, Size, MTime},
            case ets:lookup(warren_agent, crash_dump_seen) of
                [{_, Key}] -> ok;
                _ ->
                    ets:insert(warren_agent, {crash_dump_seen, Key}),
                    Abs = unicode:characters_to_binary(filename:absname(Path)),
                    emit(S, crash_dump, major, [{path, Abs}, {size, Size}, {mtime, MTime}])
            end;
        _ -> ok
    end.

sysmon_fields(Who, Info) ->
    [{pid, who(Who)}]
        ++ [{port, who(Info)} || is_port(Info)]
        ++ [{K, V} || is_list(Info), {K, V} <- Info, is_integer(V),
                      lists:member(K, [timeout, heap_size, heap_block_size, old_heap_size,
                                       stack_size, mbuf_size])].

who(P) when is_pid(P) -> list_to_binary(pid_to_list(P));
who(P) when is_port(P) -> list_to_binary(erlang:port_to_list(P));
who(_) -> <<>>.

%% For collect's Info: the system monitor counts (always counted, forwarded or not).
notify_info() ->
    try
        [{system_monitor, [{W, N} || {{sysmon, W}, N} <- ets:match_object(warren_agent, {{sysmon, '_'}, '_'})]}]
    catch _:_ -> []
    end.

%% ---- census (fleet checks: module_clash, ..., membership_divergence) ----------------------

%% {warren_census, 2, Release, [{ModBin, Md5Bin}], [{AppBin, VsnBin}], View}: every loaded module
%% with Module:module_info(md5) (ignores compile time: a rebuild of the same source does not
%% differ), every running application with its vsn. Release: the permanent (else current)
%% release of release_handler if it runs, else the boot script's {Name, Vsn}, as "Name-Vsn".
%% Modules without an md5 (preloaded without debug info, or purged meanwhile) are skipped.
%% View (membership_divergence): {Members, Md5} of this node's view of its cluster, the sorted
%% list of itself and nodes() (visible nodes only: hidden ones like the leaf do not count),
%% Md5 = erlang:md5 of the names each followed by "\n" (independent of the term encoding).
census() ->
    Mods = lists:foldl(fun({M, _}, Acc) ->
                               try M:module_info(md5) of
                                   Md5 when is_binary(Md5) -> [{atom_to_binary(M, utf8), Md5} | Acc];
                                   _ -> Acc
                               catch _:_ -> Acc
                               end
                       end, [], code:all_loaded()),
    Apps = try [{atom_to_binary(A, utf8), iolist_to_binary(V)}
                || {A, _, V} <- application:which_applications(5000)]
           catch _:_ -> []
           end,
    {warren_census, 2, census_release(), lists:sort(Mods), lists:sort(Apps), census_view()}.

census_view() ->
    Members = lists:usort([node() | nodes()]),
    {length(Members), erlang:md5([[atom_to_binary(N, utf8), $\n] || N <- Members])}.

census_release() ->
    Rel = try
              case whereis(release_handler) of
                  undefined -> none;
                  _ ->
                      Rs = release_handler:which_releases(),
                      case [{N, V} || {N, V, _, permanent} <- Rs] ++ [{N, V} || {N, V, _, current} <- Rs] of
                          [{N, V} | _] -> {N, V};
                          [] -> none
                      end
              end
          catch _:_ -> none
          end,
    {Name, Vsn} = case Rel of
                      none -> try init:script_id() catch _:_ -> {"unknown", "0"} end;
                      _ -> Rel
                  end,
    iolist_to_binary([Name, "-", Vsn]).
