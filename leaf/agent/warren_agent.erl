%% warren_agent: the small module warren-leaf loads into every BEAM node it watches
%% (code:load_binary/3 through rex). The leaf calls it through rex:
%%   collect(Opts)  -> {warren_agent, 1, Metrics, Info}    every metric of the node, one call
%%   procs(By, N)   -> [{Pid, Name, InitialCall, Current, Value}]   the live top-N processes
%% Every string in a reply is a binary, every value a number, so the C side stays simple.
%% The agent must cost the node little: no process of its own at this stage, one pass over
%% the processes per call, nothing kept between calls.
-module(warren_agent).
-export([collect/1, procs/2]).

-define(PROCS_MAX, 1000).

%% ---- collect ---------------------------------------------------------------------------

%% Metrics: [{Name :: binary(), Value :: number()}], names from core/wr_metric.c.
%% Info: [{Key :: atom(), Term}] for what is not a number (the leaf ignores unknown keys).
collect(_Opts) ->
    Metrics = [{<<"process.count">>, erlang:system_info(process_count)}],
    {warren_agent, 1, Metrics, []}.

%% ---- procs -----------------------------------------------------------------------------

%% The N processes with the largest By (memory | message_queue | reductions | binary), largest
%% first. Pid as "<0.1.0>", Name the registered name or <<>>, InitialCall and Current as
%% "m:f/a" (proc_lib's real initial call for OTP processes), Value an integer.
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

describe(P, V) ->
    Name = case erlang:process_info(P, registered_name) of
               {registered_name, R} when is_atom(R) -> atom_to_binary(R, utf8);
               _ -> <<>>
           end,
    Current = case erlang:process_info(P, current_function) of
                  {current_function, MFA} -> mfa(MFA);
                  _ -> <<>>
              end,
    Initial = try mfa(proc_lib:translate_initial_call(P)) catch _:_ -> <<>> end,
    {list_to_binary(pid_to_list(P)), Name, Initial, Current, V}.

mfa({M, F, A}) when is_atom(M), is_atom(F), is_integer(A) ->
    iolist_to_binary([atom_to_binary(M, utf8), $:, atom_to_binary(F, utf8), $/, integer_to_binary(A)]);
mfa(_) ->
    <<>>.
