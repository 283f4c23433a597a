#!/usr/bin/env bash
# test_agent_erl: warren_agent on real BEAM nodes. Two real erl nodes under a leaf with the
# agent (default), one under a second leaf with agent = false, both leaves -> one root.
# Checks: the agent is loaded and runs the build's md5; metrics only the agent gives arrive;
# process.count follows 10,000 spawned processes, atom.count 5,000 new atoms,
# process.message_queue.max a flooded registered process; a restarted node gets the agent
# again and keeps reporting; the agentless leaf still delivers its metrics and loads nothing.
source "$(dirname "$0")/lib.sh"

make_cookie
A="wa_a$$"; B="wa_b$$"; C="wa_c$$"
# Ports in this test's range 20000-20899, below the kernel's ephemeral range; another
# process may still take one, so the root is retried on other ports (lib.sh's start_tiers).
pick_ports 20000 900
MD5_FILE="$WARREN_BIN/../agent/warren_agent.md5"
[ -f "$MD5_FILE" ] || fail "$MD5_FILE missing (build the agent target)"
MD5=$(tr 'A-F' 'a-f' < "$MD5_FILE" | head -c 32)

start_erl "$A" "$COOKIE"; A_PID=$LAST_PID
start_erl "$B" "$COOKIE"
start_erl "$C" "$COOKIE"
for n in "$A" "$B" "$C"; do wait_until 30 "erl node $n registered in epmd" epmd_has "$n"; done

write_root() { write_root_conf root-wa 1.0; }
write_root
write_leaf_conf leaf leaf-wa "$ROUTER_PORT" "interval = 1.0; down_after = 3;
         reconnect_max = 2.0;" "{ name = \"$A@$SHORT_HOST\"; }, { name = \"$B@$SHORT_HOST\"; }"
write_leaf_conf leaf0 leaf-wa0 "$ROUTER_PORT" "interval = 1.0; down_after = 3;
         agent = false;" "{ name = \"$C@$SHORT_HOST\"; }"
# A missing agent_dir is a clear configuration error naming the path.
sed 's|leaf = {|leaf = { agent_dir = "/nonexistent/wa";|' "$WORK/leaf.conf" > "$WORK/bad.conf"
if "$WARREN_BIN/warren-leaf" --config "$WORK/bad.conf" --check-config >"$WORK/bad.out" 2>&1; then
  fail "a missing agent_dir was accepted"
fi
grep -q "/nonexistent/wa/warren_agent" "$WORK/bad.out" || fail "error does not name the path: $(cat "$WORK/bad.out")"
for f in root leaf leaf0; do
  d=${f%0}
  "$WARREN_BIN/warren-$d" --config "$WORK/$f.conf" --check-config >/dev/null || fail "$f.conf rejected"
done
start_tiers 20000 write_root 900 root
sed -i "s|tcp://127.0.0.1:[0-9]*\"|tcp://127.0.0.1:$ROUTER_PORT\"|" "$WORK/leaf.conf" "$WORK/leaf0.conf"
start_bg leaf "$WARREN_BIN/warren-leaf" --config "$WORK/leaf.conf"; LEAF_PID=$LAST_PID
start_bg leaf0 "$WARREN_BIN/warren-leaf" --config "$WORK/leaf0.conf"; LEAF0_PID=$LAST_PID

wait_until 30 "root reports 3 nodes up" ctl_jq '.nodes_up == 3' status

agent_md5() {   # NODE: the md5 of the warren_agent the node runs, lower-case hex
  erl_rpc "$1@$SHORT_HOST" "$COOKIE" erlang apply \
    "[fun() -> case code:is_loaded(warren_agent) of false -> none; _ -> string:lowercase(binary_to_list(binary:encode_hex(warren_agent:module_info(md5)))) end end, []]" \
    | tr -d '"'
}
has_agent() { [ "$(agent_md5 "$1")" = "$MD5" ]; }
# latest NODE METRIC: the newest value the leaf holds (integer part), or nothing.
latest() { ctl metric "$1@$SHORT_HOST" "$2" 2>/dev/null | jq -r '.points[-1][1] // empty | floor'; }
# at_least NODE METRIC MIN
at_least() { local v; v=$(latest "$1" "$2"); [ -n "$v" ] && [ "$v" -ge "$3" ]; }
node_eval() {  # NODE FUN-BODY: runs fun() -> BODY end on the node
  erl_rpc "$1@$SHORT_HOST" "$COOKIE" erlang apply "[fun() -> $2 end, []]"
}

# (a) the agent is loaded, with the build's md5, and its metrics arrive.
for n in "$A" "$B"; do
  wait_until 30 "agent loaded on $n with md5 $MD5" has_agent "$n"
done
for m in gc.count scheduler.1.run_queue process.status.waiting memory.area.atom_table \
         allocator.total.carriers dist.hidden logger.handlers; do
  wait_until 15 "$m of $A at its leaf" at_least "$A" "$m" 0
done
wait_until 15 "scheduler.utilization of $A (second collection on)" at_least "$A" scheduler.utilization 0
[ "$(latest "$A" dist.hidden)" -ge 1 ] || fail "dist.hidden should count the leaf"

# (b) 10,000 idle processes.
before=$(latest "$A" process.count)
[ -n "$before" ] || fail "no process.count for $A"
node_eval "$A" "[spawn(fun() -> receive stop -> ok end end) || _ <- lists:seq(1, 10000)], ok" >/dev/null
wait_until 20 "process.count of $A grew by 10,000 (from $before)" at_least "$A" process.count $((before + 10000))

# (c) 5,000 new atoms.
before=$(latest "$A" atom.count)
node_eval "$A" "length([list_to_atom(\"wa_atom_\" ++ integer_to_list(I)) || I <- lists:seq(1, 5000)])" >/dev/null
wait_until 20 "atom.count of $A grew by 5,000 (from $before)" at_least "$A" atom.count $((before + 5000))

# (d) 20,000 messages to a registered process that never receives.
node_eval "$A" "P = spawn(fun() -> receive never_sent_wa -> ok end end), register(wa_flood, P), [P ! {m, I} || I <- lists:seq(1, 20000)], ok" >/dev/null
wait_until 20 "process.message_queue.max of $A >= 20,000" at_least "$A" process.message_queue.max 20000
wait_until 20 "process.message_queue.sum of $A >= 20,000" at_least "$A" process.message_queue.sum 20000

# (e) kill -9 a node and restart it: the agent is loaded again and metrics keep coming.
kill -9 "$A_PID"
wait_until 20 "$A reported down" ctl_jq ".nodes[] | select(.name == \"$A@$SHORT_HOST\") | .state == \"down\"" nodes
wait_until 20 "epmd forgot $A" bash -c "! epmd -names | grep -q '^name $A '"
start_erl "$A" "$COOKIE"
wait_until 30 "$A up again" ctl_jq ".nodes[] | select(.name == \"$A@$SHORT_HOST\") | .state == \"up\"" nodes
wait_until 30 "agent reloaded on the restarted $A" has_agent "$A"
t0=$(ctl metric "$A@$SHORT_HOST" gc.count | jq -r '.points[-1][0]')
wait_until 15 "new gc.count samples of the restarted $A" \
  bash -c "[ \"\$('$WARRENCTL' --root '$ROOT_URL' --json metric '$A@$SHORT_HOST' gc.count | jq -r '.points[-1][0]')\" -gt $t0 ]"
pc=$(latest "$A" process.count)
[ "$pc" -lt 10000 ] || fail "restarted $A reports $pc processes: not the new node?"

# A restarted leaf finds the same agent running on $B (md5 matches): no second load.
t0=$(ctl metric "$B@$SHORT_HOST" gc.count | jq -r '.points[-1][0]')
kill -TERM "$LEAF_PID"
wait_until 15 "leaf exit" bash -c "! kill -0 $LEAF_PID 2>/dev/null"
start_bg leaf2 "$WARREN_BIN/warren-leaf" --config "$WORK/leaf.conf"; LEAF2_PID=$LAST_PID
wait_until 20 "new gc.count samples of $B from the restarted leaf" \
  bash -c "[ \"\$('$WARREN_BIN/warrenctl' --root '$ROOT_URL' --json metric '$B@$SHORT_HOST' gc.count | jq -r '.points[-1][0]')\" -gt $t0 ]"
if grep -q "$B@$SHORT_HOST: agent loaded" "$WORK/leaf2.log"; then fail "the restarted leaf reloaded an identical agent"; fi

# agent = false: the agentless metrics still arrive, nothing is loaded, agent-only metrics absent.
for m in process.count memory.total atom.count reductions uptime; do
  wait_until 15 "agentless $m of $C" at_least "$C" "$m" 0
done
[ "$(agent_md5 "$C")" = "none" ] || fail "agent = false loaded the agent into $C"
[ -z "$(latest "$C" gc.count)" ] || fail "agentless $C has gc.count"

# The fleet rollups carry agent metrics.
wait_until 15 "fleet rollup of gc.count" ctl_jq '[.metrics[] | select(.metric == "gc.count")] | length == 1' rollups

kill -0 "$ROOT_PID" "$LEAF0_PID" "$LEAF2_PID" 2>/dev/null || fail "a daemon died"
grep -q "agent loaded" "$WORK/leaf.log" || fail "leaf did not log the agent load"
log "PASS"
