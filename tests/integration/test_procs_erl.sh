#!/usr/bin/env bash
# test_procs_erl: the live per-node process view end to end: warrenctl procs -> root HTTP ->
# QUERY "procs" -> warren-leaf -> warren_agent:procs/2 on a real `erl` node (and on an
# emulated warren-sim node) -> REPLY -> table / JSON. The real node runs with -pa build/agent
# so warren_agent is on its code path whether or not the leaf loads it; the emulated node
# gets the agent with code:load_binary/3 from a helper erl. Checks: a process flooded with
# 50,000 messages is first by message_queue; --by memory -n 5 gives 5 entries, largest first;
# a bad --by and an unknown node are clean errors (exit 1); the emulated node answers through
# the same path; a node that is down gives a clear error. Ports: 25300-25380, 14400-14401.
source "$(dirname "$0")/lib.sh"

COOKIE="wpcookie$$"
echo "$COOKIE" > "$WORK/cookie"
chmod 400 "$WORK/cookie"
A="wp_procs$$"
ROUTER_PORT=25300; HTTP_PORT=25380; EMU_PORT=14400
ROOT_URL="http://127.0.0.1:$HTTP_PORT"
need_agent
HERE=$(cd "$(dirname "$0")" && pwd)

# A real node with one registered process that never receives, flooded with 50,000 messages.
erl -sname "$A" -setcookie "$COOKIE" -noshell -noinput -pa "$AGENT_DIR" -eval '
    P = spawn(fun() -> receive never_sent -> ok end end),
    register(wp_flood, P),
    [P ! {flood, I} || I <- lists:seq(1, 50000)].' >>"$WORK/erl-$A.log" 2>&1 &
A_PID=$!
PIDS+=($A_PID)
wait_until 30 "erl node $A registered in epmd" epmd_has "$A"

# Two emulated nodes.
start_bg emu "$WARREN_BIN/warren-sim" emulate --count 2 --base-port $EMU_PORT --cookie-file "$WORK/cookie" \
  --seed 7 --ready-file "$WORK/emu.ready" --manifest-out "$WORK/emu.manifest"
wait_until 20 "emulator ready" test -f "$WORK/emu.ready"
SIM0="sim00000@127.0.0.1"

cat > "$WORK/root.conf" <<CONF
root = { id = "root-p"; bind = "tcp://127.0.0.1:$ROUTER_PORT";
         http = { listen = "127.0.0.1"; port = $HTTP_PORT; };
         interval = 1.0; query_timeout = 5.0; };
CONF
cat > "$WORK/leaf.conf" <<CONF
leaf = { id = "leaf-p"; cookie_file = "$WORK/cookie"; interval = 1.0; down_after = 3;
         reconnect_max = 2.0;
         parents = ["tcp://127.0.0.1:$ROUTER_PORT"];
         store = { path = "$WORK/leaf-data"; map_size_mb = 64; };
         nodes = ( { name = "$A@$SHORT_HOST"; },
                   { name = "$SIM0"; port = $EMU_PORT; address = "127.0.0.1"; } ); };
CONF
for d in root leaf; do
  "$WARREN_BIN/warren-$d" --config "$WORK/$d.conf" --check-config >/dev/null || fail "$d.conf rejected"
done
start_bg root "$WARREN_BIN/warren-root" --config "$WORK/root.conf"; ROOT_PID=$LAST_PID
start_bg leaf "$WARREN_BIN/warren-leaf" --config "$WORK/leaf.conf"; LEAF_PID=$LAST_PID
wait_until 30 "root reports both nodes up" ctl_jq '.nodes_up == 2' status

# --- the real node ---------------------------------------------------------------------
NODE="$A@$SHORT_HOST"
wait_until 20 "procs by message_queue names wp_flood first" \
  ctl_jq '.procs[0].name == "wp_flood" and .procs[0].value >= 50000' procs "$NODE" --by message_queue
ctl procs "$NODE" --by message_queue > "$WORK/mq.json"
jq -e --arg n "$NODE" '.node == $n and .by == "message_queue" and (.procs | length) >= 1 and (.procs | length) <= 20
       and ([.procs[].value] == ([.procs[].value] | sort | reverse))' "$WORK/mq.json" >/dev/null \
  || fail "procs --by message_queue: $(cat "$WORK/mq.json")"
log "wp_flood first by message_queue: $(jq -c '.procs[0]' "$WORK/mq.json")"

ctl procs "$NODE" --by memory -n 5 > "$WORK/mem.json" || fail "procs --by memory failed"
jq -e '(.procs | length) == 5 and ([.procs[].value] == ([.procs[].value] | sort | reverse))
       and all(.procs[]; (.pid | test("^<[0-9]+\\.[0-9]+\\.[0-9]+>$")) and (.value > 0)
                         and (.current_function | test(":.*/[0-9]+$")))' "$WORK/mem.json" >/dev/null \
  || fail "procs --by memory -n 5: $(cat "$WORK/mem.json")"
ctl_jq '.procs | length == 20' procs "$NODE" || fail "default n is not 20: $(ctl procs "$NODE")"
ctl_jq '(.by == "reductions") and (.procs | length == 3)' procs "$NODE" --by reductions -n 3 \
  || fail "procs --by reductions"
ctl_jq '.by == "binary"' procs "$NODE" --by binary || fail "procs --by binary"
# A proc_lib process reports its real initial call, not proc_lib:init_p/5.
ctl procs "$NODE" -n 1000 > "$WORK/all.json"
jq -e '.procs[] | select(.name == "code_server") | .initial_call != "proc_lib:init_p/5"' "$WORK/all.json" >/dev/null \
  || fail "code_server missing or with proc_lib's initial call: $(jq -c '.procs[] | select(.name == "code_server")' "$WORK/all.json")"
jq -e '[.procs[] | select(.initial_call == "proc_lib:init_p/5")] | length == 0' "$WORK/all.json" >/dev/null \
  || fail "processes listed with proc_lib:init_p/5 as initial call"

# The human table.
"$WARRENCTL" --root "$ROOT_URL" procs "$NODE" --by message_queue -n 3 > "$WORK/table.txt" || fail "table failed"
head -1 "$WORK/table.txt" | grep -q "^PID  *NAME  *INITIAL CALL  *CURRENT FUNCTION  *MSGQ$" \
  || fail "table header: $(head -1 "$WORK/table.txt")"
sed -n 2p "$WORK/table.txt" | grep -q "wp_flood.* 5[0-9][0-9][0-9][0-9]$" || fail "table row 1: $(cat "$WORK/table.txt")"
[ "$(wc -l < "$WORK/table.txt")" -eq 4 ] || fail "table has $(wc -l < "$WORK/table.txt") lines, expected 4"

# Errors: exit 1 with the root's error text naming the problem.
set +e
"$WARRENCTL" --root "$ROOT_URL" procs "$NODE" --by bogus >/dev/null 2>"$WORK/err1.txt"; rc1=$?
"$WARRENCTL" --root "$ROOT_URL" procs "$NODE" -n 0 >/dev/null 2>"$WORK/err2.txt"; rc2=$?
"$WARRENCTL" --root "$ROOT_URL" procs "nosuch@nowhere" >/dev/null 2>"$WORK/err3.txt"; rc3=$?
set -e
[ $rc1 -eq 1 ] && grep -q "by: expected memory, message_queue, reductions or binary (got 'bogus') (HTTP 400" "$WORK/err1.txt" \
  || fail "bad --by: exit $rc1, $(cat "$WORK/err1.txt")"
[ $rc2 -eq 1 ] && grep -q "n: expected an integer from 1 to 1000" "$WORK/err2.txt" || fail "bad -n: exit $rc2, $(cat "$WORK/err2.txt")"
[ $rc3 -eq 1 ] && grep -q "unknown node 'nosuch@nowhere' (HTTP 404" "$WORK/err3.txt" \
  || fail "unknown node: exit $rc3, $(cat "$WORK/err3.txt")"
code=$(curl -s -o "$WORK/raw.json" -w '%{http_code}' "$ROOT_URL/api/v1/nodes/$NODE/procs?by=memory&bogus=1")
[ "$code" = 400 ] && grep -q "unknown parameter 'bogus'" "$WORK/raw.json" || fail "unknown parameter: $code $(cat "$WORK/raw.json")"
log "bad --by, bad -n, unknown node and unknown parameter are clean errors"

# --- the emulated node through the same path ---------------------------------------------
mkdir -p "$WORK/ebin"
erlc -o "$WORK/ebin" "$HERE/warren_test_epmd.erl"
load_agent_into_sim() {
  (cd "$WORK" && env WARREN_EMU_MANIFEST="$WORK/emu.manifest" ERL_CRASH_DUMP_SECONDS=0 \
    erl -name "wp_loader$$@127.0.0.1" -setcookie "$COOKIE" -noshell -pa "$WORK/ebin" \
      -epmd_module warren_test_epmd -start_epmd false -eval "
        {ok, Bin} = file:read_file(\"$AGENT_DIR/warren_agent.beam\"),
        R = gen_server:call({rex, '$SIM0'}, {call, code, load_binary, [warren_agent, \"warren_agent.beam\", Bin], user}, 10000),
        io:format(\"~p~n\", [R]), halt(case R of {module, warren_agent} -> 0; _ -> 1 end).")
}
load_agent_into_sim > "$WORK/loader.out" 2>&1 || fail "loading the agent into $SIM0: $(cat "$WORK/loader.out")"
wait_until 15 "the emulated node answers procs by memory" \
  ctl_jq '(.procs | length) == 10 and ([.procs[].value] == ([.procs[].value] | sort | reverse))' procs "$SIM0" -n 10
ctl procs "$SIM0" -n 100 > "$WORK/sim.json"
jq -e '[.procs[].name] | index("code_server") != null and index("application_controller") != null' "$WORK/sim.json" >/dev/null \
  || fail "emulated procs lack the OTP servers: $(cat "$WORK/sim.json")"
ctl_jq '.procs[0].value >= .procs[1].value' procs "$SIM0" --by message_queue || fail "emulated procs by message_queue"
log "emulated node: $(jq -c '.procs[0]' "$WORK/sim.json")"

# --- a node that is down -----------------------------------------------------------------
kill -9 "$A_PID"
wait_until 20 "$A reported down" ctl_jq ".nodes[] | select(.name == \"$NODE\") | .state == \"down\"" nodes
set +e
"$WARRENCTL" --root "$ROOT_URL" procs "$NODE" >/dev/null 2>"$WORK/err4.txt"; rc4=$?
set -e
[ $rc4 -eq 1 ] && grep -q "is down" "$WORK/err4.txt" || fail "procs of a down node: exit $rc4, $(cat "$WORK/err4.txt")"
log "down node: $(cat "$WORK/err4.txt")"

for p in $ROOT_PID $LEAF_PID; do kill -0 "$p" 2>/dev/null || fail "a daemon died"; done
kill -TERM $LEAF_PID
wait_until 10 "leaf stopped" bash -c "! kill -0 $LEAF_PID 2>/dev/null"
grep -q "procs queries: [0-9]* asked" "$WORK/leaf.log" || fail "leaf did not log its procs counters"
if grep -qE "[Ss]anitizer|runtime error" "$WORK"/*.log; then fail "sanitizer report"; fi
log "PASS"
