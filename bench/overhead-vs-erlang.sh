#!/usr/bin/env bash
# overhead-vs-erlang: what one node-poll costs warren-leaf, against a reference collector
# written in plain Erlang (issue 3 item 6). One run, the same nodes, the same interval:
#   1. N emulated BEAM nodes (`warren-sim emulate`, one process; they speak the distribution
#      protocol and answer the agent exactly like a real node);
#   2. warren-leaf (agent on, no parents) polls them for WINDOW seconds after a warm-up:
#      one warren_agent:collect([]) per node per interval, samples into LMDB, history tiers,
#      rollups;
#   3. the reference: a hidden Erlang node (erl -hidden) that, every interval, calls the same
#      warren_agent:collect([]) on every node through rex, all in parallel
#      (gen_server:send_request/2 to {rex, Node} then receive_response/2: what rpc:call does
#      without erpc, which emulated nodes do not implement), and keeps the latest answer per
#      node in an ETS table — strictly less work than the leaf (no storage, no history, no
#      rollups).
# CPU of each collector is utime+stime of its process from /proc over the window; RSS is
# VmRSS at the end. Prints a Markdown table with CPU per node-poll, RSS per monitored node
# and the ratios. Usage:
#   bench/overhead-vs-erlang.sh [NODES=500] [INTERVAL=2] [WINDOW=60] [BUILD_DIR=build]
set -euo pipefail
cd "$(dirname "$0")/.."
NODES=${1:-500}; INTERVAL=${2:-2}; WINDOW=${3:-60}; BUILD=${4:-build}
BIN=$BUILD/bin
BASE_PORT=${BASE_PORT:-21000}
HZ=$(getconf CLK_TCK)
for b in warren-sim warren-leaf; do
  [ -x "$BIN/$b" ] || { echo "overhead-vs-erlang: $BIN/$b missing: build first (scripts/build)" >&2; exit 1; }
done
command -v erl >/dev/null || { echo "overhead-vs-erlang: erl not found (scripts/install-deps)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/warren-overhead.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
COOKIE=overheadcookie
echo "$COOKIE" > "$WORK/cookie"

ticks() { awk '{ s = $0; sub(/^[^)]*\) /, "", s); split(s, f, " "); print f[12] + f[13], f[12], f[13] }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
wait_file() {   # wait_file FILE SECONDS: a condition with a deadline
  local i=0
  while [ ! -s "$1" ]; do
    i=$((i + 1)); [ "$i" -le $(($2 * 10)) ] || { echo "overhead-vs-erlang: timed out waiting for $1" >&2; exit 1; }
    sleep 0.1
  done
}

# 1. the nodes
"$BIN/warren-sim" emulate --count "$NODES" --base-port "$BASE_PORT" --cookie "$COOKIE" \
  --manifest-out "$WORK/manifest" --ready-file "$WORK/ready" > "$WORK/emu.log" 2>&1 &
PIDS+=($!)
wait_file "$WORK/ready" 60
echo "== $NODES emulated nodes listening" >&2

measure() {   # measure PID LABEL: warm-up of 3 intervals, then the window
  local pid=$1
  sleep "$(echo "$INTERVAL * 3" | bc)"       # warm-up: connect, load the agent (not measured)
  local t0 u0 s0 t1 u1 s1
  read -r t0 u0 s0 < <(ticks "$pid")
  sleep "$WINDOW"                              # the measurement window itself
  read -r t1 u1 s1 < <(ticks "$pid")
  kill -0 "$pid" 2>/dev/null || { echo "overhead-vs-erlang: $2 died during the window" >&2; exit 1; }
  echo "$((t1 - t0)) $(rss_kb "$pid") $((u1 - u0)) $((s1 - s0))"
}

# 2. warren-leaf
cat > "$WORK/leaf.conf" <<EOF
leaf = {
  id = "leaf-bench";
  cookie_file = "$WORK/cookie";
  interval = $INTERVAL;
  store = { path = "$WORK/leaf.lmdb"; map_size_mb = 1024; };
  nodes_file = "$WORK/manifest";
};
EOF
"$BIN/warren-leaf" --config "$WORK/leaf.conf" --log-level warning > "$WORK/leaf.log" 2>&1 &
LEAF=$!
PIDS+=("$LEAF")
echo "== warren-leaf polling every ${INTERVAL}s; measuring ${WINDOW}s" >&2
read -r leaf_ticks leaf_rss leaf_u leaf_s < <(measure "$LEAF" warren-leaf)
kill "$LEAF"; wait "$LEAF" 2>/dev/null || true

# 3. the Erlang reference collector
mkdir -p "$WORK/ebin"
erlc -o "$WORK/ebin" tests/integration/warren_test_epmd.erl
cat > "$WORK/ebin/ref_collector.erl" <<'EOF'
%% ref_collector: the plain-Erlang reference: every interval, warren_agent:collect([]) on every
%% node through rex in parallel, the latest answer per node kept in ETS.
-module(ref_collector).
-export([start/2]).
start(ManifestFile, IntervalMs) ->
    {ok, Bin} = file:read_file(ManifestFile),
    Nodes = [list_to_atom(N) || L <- string:split(binary_to_list(Bin), "\n", all),
                                [N | _] <- [string:lexemes(L, " ")]],
    ets:new(latest, [named_table, set, public]),
    loop(Nodes, IntervalMs).
loop(Nodes, IntervalMs) ->
    T0 = erlang:monotonic_time(millisecond),
    Reqs = [{N, gen_server:send_request({rex, N}, {call, warren_agent, collect, [[]], user})}
            || N <- Nodes],
    lists:foreach(fun({N, Req}) ->
                          case gen_server:receive_response(Req, IntervalMs) of
                              {reply, {warren_agent, 1, _, _} = R} -> ets:insert(latest, {N, R});
                              _ -> ets:update_counter(latest, failed, 1, {failed, 0})
                          end
                  end, Reqs),
    Left = IntervalMs - (erlang:monotonic_time(millisecond) - T0),
    timer:sleep(max(0, Left)),
    loop(Nodes, IntervalMs).
EOF
erlc -o "$WORK/ebin" "$WORK/ebin/ref_collector.erl"
WARREN_EMU_MANIFEST="$WORK/manifest" erl -name wr_ref@127.0.0.1 -hidden -setcookie "$COOKIE" \
  -noshell -noinput -pa "$WORK/ebin" -epmd_module warren_test_epmd -start_epmd false \
  -eval "ref_collector:start(\"$WORK/manifest\", $(echo "$INTERVAL * 1000 / 1" | bc))" \
  > "$WORK/ref.log" 2>&1 &
REF=$!
PIDS+=("$REF")
sleep 1
BEAM=$(pgrep -P "$REF" beam.smp || echo "$REF")   # erl may exec beam.smp in place
echo "== Erlang reference collector polling every ${INTERVAL}s; measuring ${WINDOW}s" >&2
read -r ref_ticks ref_rss ref_u ref_s < <(measure "$BEAM" reference)
kill "$REF" 2>/dev/null || true
# Both really collected: the emulator counts the agent calls it answered (logged when it stops).
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true
collects=$(grep -o 'agent_collects=[0-9]*' "$WORK/emu.log" | tail -1 | cut -d= -f2)
min_collects=$(echo "2 * $NODES * $WINDOW / $INTERVAL * 0.9 / 1" | bc)
[ -n "$collects" ] && [ "$collects" -ge "$min_collects" ] || {
  echo "overhead-vs-erlang: the nodes answered only ${collects:-0} collect calls (expected >= $min_collects): a collector was not collecting" >&2
  exit 1; }

polls=$(echo "$NODES * $WINDOW / $INTERVAL" | bc -l)
awk -v lt="$leaf_ticks" -v rt="$ref_ticks" -v lu="$leaf_u" -v ls="$leaf_s" -v ru="$ref_u" -v rs="$ref_s" -v lr="$leaf_rss" -v rr="$ref_rss" -v hz="$HZ" \
    -v polls="$polls" -v n="$NODES" -v w="$WINDOW" -v i="$INTERVAL" -v c="$collects" 'BEGIN {
  lus = lt / hz * 1e6 / polls; rus = rt / hz * 1e6 / polls;
  printf "nodes: %d emulated (answering warren_agent:collect/1), interval %gs, window %gs, %d node-polls each (%d collect calls answered in all)\n\n", n, i, w, polls, c;
  k = 1e6 / hz / polls;
  printf "| collector | CPU per node-poll (us) | user / sys (us) | CPU (cores) | RSS (MB) | RSS per node (kB) |\n|---|---|---|---|---|---|\n";
  printf "| warren-leaf | %.1f | %.1f / %.1f | %.4f | %.1f | %.1f |\n", lus, lu * k, ls * k, lt / hz / w, lr / 1024, lr / n;
  printf "| Erlang reference (rex, parallel) | %.1f | %.1f / %.1f | %.4f | %.1f | %.1f |\n", rus, ru * k, rs * k, rt / hz / w, rr / 1024, rr / n;
  printf "| **ratio reference / leaf** | **%.1fx** | | | | **%.1fx** |\n", (lus > 0 ? rus / lus : 0), (lr > 0 ? rr / lr : 0);
}'
