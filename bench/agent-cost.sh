#!/usr/bin/env bash
# agent-cost: what one warren_agent:collect([]) costs a node. Starts a plain erl node, spawns
# PROCS idle processes, loads the built agent with code:load_binary/3 (as the leaf does), makes
# one warm-up call (it starts the scheduler_wall_time holder, so later calls also report
# utilisation), then times CALLS calls from inside the node: reductions of the calling process
# (process_info(self(), reductions) before and after) and wall time (timer:tc). Prints a
# Markdown table with the median and max. Usage:
#   bench/agent-cost.sh [PROCS=100000] [CALLS=20] [BUILD_DIR=build]
set -euo pipefail
cd "$(dirname "$0")/.."
PROCS=${1:-100000}; CALLS=${2:-20}; BUILD=${3:-build}
BEAM="$BUILD/agent/warren_agent.beam"
[ -f "$BEAM" ] || { echo "agent-cost: $BEAM missing: build the 'agent' target" >&2; exit 1; }

erl -noshell -noinput +P 1048576 -eval "
  Procs = $PROCS, Calls = $CALLS,
  {ok, Bin} = file:read_file(\"$BEAM\"),
  {module, warren_agent} = code:load_binary(warren_agent, \"warren_agent.beam\", Bin),
  Idle = [spawn(fun() -> receive stop -> ok end end) || _ <- lists:seq(1, Procs)],
  {warren_agent, 1, _, _} = warren_agent:collect([]),
  One = fun() ->
          {reductions, R0} = process_info(self(), reductions),
          {Us, {warren_agent, 1, M, _}} = timer:tc(warren_agent, collect, [[]]),
          {reductions, R1} = process_info(self(), reductions),
          {R1 - R0, Us, length(M)}
        end,
  Runs = [One() || _ <- lists:seq(1, Calls)],
  Med = fun(L) -> lists:nth((length(L) + 1) div 2, lists:sort(L)) end,
  Reds = [R || {R, _, _} <- Runs], Uss = [U || {_, U, _} <- Runs],
  {_, _, NM} = hd(Runs),
  io:format(\"warren_agent:collect([]) on ~s (OTP ~s, ~b schedulers), ~b processes, ~b calls, ~b metrics per call~n~n\",
            [net_adm:localhost(), erlang:system_info(otp_release), erlang:system_info(schedulers),
             erlang:system_info(process_count), Calls, NM]),
  io:format(\"| per call | median | max |~n|---|---|---|~n\"),
  io:format(\"| reductions | ~b | ~b |~n\", [Med(Reds), lists:max(Reds)]),
  io:format(\"| wall time (ms) | ~.2f | ~.2f |~n\", [Med(Uss) / 1000, lists:max(Uss) / 1000]),
  [P ! stop || P <- Idle],
  halt()."
