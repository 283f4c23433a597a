#!/usr/bin/env bash
# test_faults: no single point of failure (issue 5, DESIGN sections 2 and 5). A redundant
# warren-sim fabric (300 emulated nodes, 3 leaves in one takeover group, a relay pair, a root
# pair, interval 1 s) goes through, in turn: kill -9 of a leaf (its nodes move to its siblings,
# then back when it returns), kill -9 of a relay (children fail over to its twin, then back),
# kill -9 of one root (the other answers; the restarted one is rebuilt from its children's
# snapshots), SIGSTOP of a relay for 20 s then SIGCONT, and (when `ip netns` works) a relay's
# network cut with `ip link set down` in its namespace for 10 s.
# For each fault it measures the time until every node is visible, up and re-homed at the
# root(s) and prints one parsable line:
#   RECOVERY fault=NAME phase=PHASE ms=N max_unknown=N
# A monitor polls both roots every 100 ms for the whole run (/metrics warren_nodes{state="down"}
# and /api/v1/nodes?state=down) and the test fails if any node was ever reported `down`.
# `unknown` (owner unreachable while nodes re-home) is allowed and reported as max_unknown.
# Events, under a steady flow the whole run: 6 nodes run a log storm (error_report
# notifications, ~60/s in all after the leaves' rate limits, and their loggers' message_queue alarms) and 4 nodes that no
# fault moves get a 3 s message queue flood every ~8 s (one message_queue raise and one clear
# each). At the end the leaves stop cleanly and log their counters per (origin, epoch) (ids
# issued, notifications pushed; leaf/leaf_events.c); BOTH roots must hold every notification of
# every leaf run exactly once (by identity origin/epoch/seq; a run ended by kill -9 must have at
# least what its leaf last logged), the same identities, and per flooded node exactly one
# `new` and one `cleared` message_queue alarm per flood, and no alarm left active. The time the
# roots took to hold everything after the last fault is printed as
#   EVENTS root=URL notifications=N catchup_ms=N
# Ports: emulated nodes 30000-30299, tiers 30900-30909, HTTP 30910-30911 (below the ephemeral range).
source "$(dirname "$0")/lib.sh"

N=300
SIM="$WARREN_BIN/warren-sim"
FAB="$WORK/fabric"
A=http://127.0.0.1:30910
B=http://127.0.0.1:30911
ROOT_URL="$A,$B"
LIMIT=30          # a recovery slower than this fails the test (the target is 10 s)
CLEANUPS+=("'$SIM' down --dir '$FAB' >/dev/null 2>&1")

"$SIM" up --nodes $N --dir "$FAB" --fanout 16 --leaf-size 100 --interval 1 --per-emulator 300 \
  --base-port 30000 --tier-port 30900 --http-port 30910 --timeout 60 \
  >"$WORK/up.out" 2>"$WORK/up.log" || { cat "$WORK/up.log" >&2; fail "warren-sim up failed"; }
[ "$(cat "$FAB/root.url")" = "$ROOT_URL" ] || fail "root.url: $(cat "$FAB/root.url")"
grep -q "both roots" "$WORK/up.log" || fail "up did not wait for both roots: $(cat "$WORK/up.log")"
for id in root-a root-b relay-1-1a relay-1-1b leaf-1 leaf-2 leaf-3; do
  grep -q " $id\$" "$FAB/pids" || fail "no $id in pids: $(cat "$FAB/pids")"
done

# ---- the monitor: `warren-sim watch` polls both roots every 100 ms ------------------------
MON="$WORK/monitor.txt"
"$SIM" watch --root "$A,$B" --every-ms 100 >"$MON" 2>"$WORK/watch.log" &
MON_PID=$!
PIDS+=($MON_PID)

# max_unknown SINCE_MS: the most `unknown` nodes either root showed since then.
max_unknown() {
  awk -v t="$1" '$1 >= t { split($4, a, "="); if (a[2] + 0 > m) m = a[2] + 0 } END { print m + 0 }' "$MON"
}

now_ms() { date +%s%3N; }
nodes_json() { curl -s -m 3 "$1/api/v1/nodes"; }
# all_up_where URL JQ-CONDITION-ON-EACH-NODE: every one of the N nodes is listed, up, and
# satisfies the condition.
all_up_where() {
  nodes_json "$1" | jq -e --argjson n $N "(.nodes | length == \$n) and all(.nodes[]; .state == \"up\" and ($2))" >/dev/null
}

# recover NAME PHASE T0 URLS CONDITION: waits until every URL satisfies all_up_where; prints
# the RECOVERY line, measured from T0 (ms).
recover() {
  local name=$1 phase=$2 t0=$3 urls=$4 cond=$5 u ok
  while true; do
    ok=1
    for u in $urls; do all_up_where "$u" "$cond" || { ok=0; break; }; done
    [ $ok = 1 ] && break
    [ $(( $(now_ms) - t0 )) -lt $((LIMIT * 1000)) ] || fail "$name/$phase: not recovered within ${LIMIT}s"
    sleep 0.1
  done
  local ms=$(( $(now_ms) - t0 ))
  echo "RECOVERY fault=$name phase=$phase ms=$ms max_unknown=$(max_unknown "$t0")"
  log "$name/$phase: recovered after $ms ms"
}

pid_of() { awk -v id="$1" '$3 == id { p = $1 } END { print p }' "$FAB/pids"; }

# ---- the event flow (notifications and alarms) --------------------------------------------
# cycler: while $WORK/cycle.on exists, floods each of $FLOOD for 3 s every ~8 s (a pacing of
# the load, not a wait) and records each flood in cycles.txt; otherwise writes cycle.idle.
cycler() {
  while [ -f "$WORK/cycle.run" ]; do
    if [ -f "$WORK/cycle.on" ]; then
      for n in $FLOOD; do
        "$SIM" inject --dir "$FAB" --node "$n" mqueue_flood --duration 3 >/dev/null 2>>"$WORK/cycle.err" &&
          echo "$n" >>"$WORK/cycles.txt"
      done
      sleep 8
    else
      touch "$WORK/cycle.idle"
      sleep 0.2
    fi
  done
}
mq_active() {   # URL: flooded nodes' message_queue alarms active at that root
  curl -s -m 5 "$1/api/v1/alarms?type=message_queue" | jq --arg f "$FLOOD" '[.alarms[] | select((.resource | endswith(" ant_stats")) and (.scope as $s | $f | split(" ") | any(. == $s)))] | length'
}
# pause_flow: no flood starts any more and every flood alarm has cleared at both roots.
pause_flow() {
  rm -f "$WORK/cycle.on" "$WORK/cycle.idle"
  wait_until 20 "the flood cycler is idle" test -f "$WORK/cycle.idle"
  wait_until 30 "no flood alarm active at either root" bash -c "$(declare -f mq_active); FLOOD='$FLOOD'; [ \$(mq_active $A) = 0 ] && [ \$(mq_active $B) = 0 ]"
}
resume_flow() { touch "$WORK/cycle.on"; }

wait_until 30 "both roots see every node up" all_up_where "$A" true
wait_until 30 "root-b sees every node up" all_up_where "$B" true
# Leaf takeover: the group's nodes are split over the three leaves.
for l in leaf-1 leaf-2 leaf-3; do
  nodes_json "$A" | jq -e --arg l $l '[.nodes[] | select(.leaf == $l)] | length > 50' >/dev/null \
    || fail "$l owns too few nodes: $(nodes_json "$A" | jq -c '[.nodes[].leaf] | group_by(.) | map({(.[0]): length}) | add')"
done

STORM=$(nodes_json "$A" | jq -r '[.nodes[].name] | [range(0; 300; 50) as $i | .[$i]] | join(" ")')
FLOOD=$(nodes_json "$A" | jq -r --arg s "$STORM" '[.nodes[] | select(.name as $n | $s | split(" ") | any(. == $n) | not)] |
  [.[] | select(.leaf == "leaf-2")][0:2] + [.[] | select(.leaf == "leaf-3")][0:2] | map(.name) | join(" ")')
[ "$(echo $STORM | wc -w)" = 6 ] && [ "$(echo $FLOOD | wc -w)" = 4 ] || fail "storm: $STORM; flood: $FLOOD"
for n in $STORM; do "$SIM" inject --dir "$FAB" --node "$n" log_storm >/dev/null || fail "log_storm on $n"; done
touch "$WORK/cycle.run" "$WORK/cycle.on"
cycler &
PIDS+=($!)
CLEANUPS=("rm -f '$WORK/cycle.run'" "${CLEANUPS[@]}")
wait_until 20 "error_report notifications at both roots" bash -c \
  "curl -s '$A/api/v1/notifications?type=error_report&limit=1' | jq -e '.count > 0' && curl -s '$B/api/v1/notifications?type=error_report&limit=1' | jq -e '.count > 0'"
wait_until 20 "a flood alarm at both roots" bash -c "$(declare -f mq_active); FLOOD='$FLOOD'; [ \$(mq_active $A) -gt 0 ] && [ \$(mq_active $B) -gt 0 ]"

# ---- 1. kill -9 a leaf: its nodes move to its siblings; then it returns --------------------
t0=$(now_ms)
"$SIM" kill --dir "$FAB" leaf --id leaf-1 >"$WORK/kill.out" || fail "kill leaf"
grep -q "^killed leaf-1 pid [0-9]*$" "$WORK/kill.out" || fail "kill output: $(cat "$WORK/kill.out")"
grep -q " leaf-1\$" "$FAB/pids" && fail "leaf-1 still in pids after kill"
recover leaf_kill takeover "$t0" "$A $B" '.leaf != "leaf-1"'
t0=$(now_ms)
"$SIM" restart --dir "$FAB" leaf-1 >"$WORK/restart.out" || fail "restart leaf-1"
grep -q "^restarted leaf-1 pid [0-9]*$" "$WORK/restart.out" || fail "restart output: $(cat "$WORK/restart.out")"
wait_until $LIMIT "leaf-1 owns nodes again" \
  bash -c "curl -s '$A/api/v1/nodes' | jq -e '[.nodes[] | select(.leaf == \"leaf-1\" and .state == \"up\")] | length > 50'"
recover leaf_kill handback "$t0" "$A $B" true

# ---- 2. kill -9 a relay: its children fail over to its twin; then it returns ---------------
t0=$(now_ms)
"$SIM" kill --dir "$FAB" relay --id relay-1-1a >/dev/null || fail "kill relay"
recover relay_kill failover "$t0" "$A $B" '.child == "relay-1-1b"'
t0=$(now_ms)
"$SIM" restart --dir "$FAB" relay-1-1a >/dev/null || fail "restart relay-1-1a"
recover relay_kill failback "$t0" "$A $B" '.child == "relay-1-1a"'

# ---- 3. kill -9 one root: the other answers; the restarted one is rebuilt ------------------
t0=$(now_ms)
"$SIM" kill --dir "$FAB" root --id root-a >/dev/null || fail "kill root"
"$WARRENCTL" --root "$ROOT_URL" --json status >"$WORK/status.json" || fail "warrenctl --root a,b status failed"
jq -e --argjson n $N '.root == "root-b" and .nodes_up == $n' "$WORK/status.json" >/dev/null \
  || fail "status via the pair: $(cat "$WORK/status.json")"
echo "RECOVERY fault=root_kill phase=other_root_answers ms=$(( $(now_ms) - t0 )) max_unknown=$(max_unknown "$t0")"
"$WARRENCTL" --root "$ROOT_URL" tree >/dev/null || fail "warrenctl --root a,b tree failed"
t0=$(now_ms)
"$SIM" restart --dir "$FAB" root-a >/dev/null || fail "restart root-a"
recover root_kill rebuilt "$t0" "$A" true
all_up_where "$B" true || fail "root-b lost nodes while root-a restarted"

# ---- 4. SIGSTOP a relay for 20 s, then SIGCONT ------------------------------------------------
rp=$(pid_of relay-1-1a)
[ -n "$rp" ] || fail "no pid for relay-1-1a"
t0=$(now_ms)
kill -STOP "$rp"
CLEANUPS+=("kill -CONT $rp 2>/dev/null")
recover relay_stop failover "$t0" "$A $B" '.child == "relay-1-1b"'
while [ $(( $(now_ms) - t0 )) -lt 20000 ]; do sleep 0.2; done
t0=$(now_ms)
kill -CONT "$rp"
recover relay_stop resumed "$t0" "$A $B" '.child == "relay-1-1a"'

# ---- 5. cut a relay's network (ip netns) ------------------------------------------------------
# The relay pair's first half moves into a namespace joined by a veth pair; the roots listen
# on every address; the leaves reach relay-1-1a over the veth. `ip link set down` inside the
# namespace cuts it off entirely.
NS=spof$$
if ip netns add "$NS" 2>/dev/null; then
  CLEANUPS+=("ip netns del $NS 2>/dev/null" "ip link del spofh$$ 2>/dev/null")
  ip link add "spofh$$" type veth peer name "spofn$$" || fail "veth"
  ip link set "spofn$$" netns "$NS"
  ip addr add 10.213.0.1/24 dev "spofh$$"
  ip link set "spofh$$" up
  ip netns exec "$NS" ip addr add 10.213.0.2/24 dev "spofn$$"
  ip netns exec "$NS" ip link set "spofn$$" up
  ip netns exec "$NS" ip link set lo up
  pause_flow      # the leaves restart one by one below: flooded nodes change owners
  # Re-home the fabric one process at a time (the pair keeps serving): roots on every address,
  # relay-1-1a inside the namespace, leaves pointing at it over the veth.
  for r in "root-a $A" "root-b $B"; do
    set -- $r
    sed -i 's|bind = "tcp://127.0.0.1:|bind = "tcp://0.0.0.0:|' "$FAB/$1.conf"
    "$SIM" kill --dir "$FAB" root --id $1 >/dev/null
    "$SIM" restart --dir "$FAB" $1 >/dev/null
    wait_until $LIMIT "$1 rebuilt" all_up_where "$2" true
  done
  sed -i -e 's|bind = "tcp://127.0.0.1:30902"|bind = "tcp://10.213.0.2:30902"|' \
         -e 's|tcp://127.0.0.1:3090\([01]\)|tcp://10.213.0.1:3090\1|g' "$FAB/relay-1-1a.conf"
  "$SIM" kill --dir "$FAB" relay --id relay-1-1a >/dev/null
  setsid ip netns exec "$NS" "$WARREN_BIN/warren-relay" --config "$FAB/relay-1-1a.conf" \
    >>"$FAB/logs/relay-1-1a.log" 2>&1 </dev/null &
  nsrelay=$!
  PIDS+=($nsrelay)
  for l in leaf-1 leaf-2 leaf-3; do
    sed -i 's|tcp://127.0.0.1:30902|tcp://10.213.0.2:30902|' "$FAB/$l.conf"
    "$SIM" kill --dir "$FAB" leaf --id $l >/dev/null
    "$SIM" restart --dir "$FAB" $l >/dev/null
  done
  wait_until 60 "every node routed through relay-1-1a in the namespace" \
    all_up_where "$A" '.child == "relay-1-1a"'
  resume_flow
  t0=$(now_ms)
  ip netns exec "$NS" ip link set "spofn$$" down
  recover netns_cut failover "$t0" "$A $B" '.child == "relay-1-1b"'
  while [ $(( $(now_ms) - t0 )) -lt 10000 ]; do sleep 0.2; done
  t0=$(now_ms)
  ip netns exec "$NS" ip link set "spofn$$" up
  recover netns_cut restored "$t0" "$A $B" '.child == "relay-1-1a"'
  # relay-1-1a stays up in the namespace (killed at cleanup): the events it ACKed to the
  # leaves and still holds for the roots are delivered by it (a relay that never returned
  # would keep them in its LMDB)
else
  log "SKIP netns_cut: ip netns is not available here"
  echo "RECOVERY fault=netns_cut phase=skipped ms=-1 max_unknown=-1"
fi

# ---- the flow stops; no node was ever reported down -------------------------------------------
pause_flow
for n in $STORM; do "$SIM" inject --dir "$FAB" --node "$n" --clear log_storm >/dev/null || true; done
t_quiet=$(now_ms)
kill "$MON_PID" 2>/dev/null || true

# ---- events: every notification exactly once at both roots, every flood raised and cleared ---
for l in leaf-1 leaf-2 leaf-3; do
  p=$(pid_of $l)
  [ -n "$p" ] || fail "no pid for $l"
  kill -TERM "$p"
  wait_until 20 "$l stopped cleanly" bash -c "! kill -0 $p 2>/dev/null"
done
leaf_event_lines "$FAB"/logs/leaf-*.log >"$WORK/leaf_events.txt"
grep -q ' 1$' "$WORK/leaf_events.txt" || fail "no leaf logged its counters at stop: $(cat "$WORK/leaf_events.txt")"
log "leaf runs (origin epoch ids pushed alarms notifs failed dropped final): $(tr '\n' ';' <"$WORK/leaf_events.txt")"
# what the leaves' outboxes still hold is resent when they come back
for l in leaf-1 leaf-2 leaf-3; do "$SIM" restart --dir "$FAB" $l >/dev/null || fail "restart $l"; done
notifs_exact() {   # URL: the root holds exactly the leaves' notifications
  root_notif_ids "$1" >"$WORK/ids.$2" && notif_ids_summary <"$WORK/ids.$2" >"$WORK/sum.$2" &&
    events_exactly_once "$WORK/leaf_events.txt" "$WORK/sum.$2" >"$WORK/check.$2"
}
for r in "$A a" "$B b"; do
  set -- $r
  t0=$(now_ms)
  while ! notifs_exact "$1" "$2"; do
    [ $(( $(now_ms) - t0 )) -lt 60000 ] || fail "root $1 after 60 s: $(head -20 "$WORK/check.$2")"
    sleep 0.5
  done
  echo "EVENTS root=$1 notifications=$(wc -l <"$WORK/ids.$2") catchup_ms=$(( $(now_ms) - t_quiet ))"
  log "root $1: $(tail -1 "$WORK/check.$2"), no loss, no duplicate"
done
# both roots hold the same identities (the new leaf runs' own notifications may still travel)
same_ids() {
  root_notif_ids "$A" | sort >"$WORK/all.a" && root_notif_ids "$B" | sort >"$WORK/all.b" &&
    cmp -s "$WORK/all.a" "$WORK/all.b"
}
t0=$(now_ms)
while ! same_ids; do
  [ $(( $(now_ms) - t0 )) -lt 30000 ] || fail "the roots differ: $(diff "$WORK/all.a" "$WORK/all.b" | head -10)"
  sleep 0.5
done
log "both roots hold the same $(wc -l <"$WORK/all.a") notification identities"
# alarms: each flood raised once and cleared once at each root; none left active
floods_ok() {   # URL: prints the first mismatch, fails on it
  curl -s -m 30 "$1/api/v1/alarms?all=1&type=message_queue&since=1&limit=100000" >"$WORK/mq.json" || return 1
  local n c got
  for n in $(sort -u "$WORK/cycles.txt"); do
    c=$(grep -cx "$n" "$WORK/cycles.txt")
    got=$(jq -r --arg n "$n" '[.history[] | select(.scope == $n and (.resource | endswith(" ant_stats")))] | "\([.[] | select(.change == "new")] | length) \([.[] | select(.change == "cleared")] | length)"' "$WORK/mq.json")
    [ "$got" = "$c $c" ] || { echo "$n: $c floods, history has (new cleared) = ($got)"; return 1; }
  done
  [ "$(mq_active "$1")" = 0 ] || { echo "flood alarms left active: $(jq -c '.alarms' "$WORK/mq.json")"; return 1; }
}
for r in $A $B; do
  t0=$(now_ms)
  while ! floods_ok "$r" >"$WORK/floods.txt"; do
    [ $(( $(now_ms) - t0 )) -lt 30000 ] || fail "root $r: $(cat "$WORK/floods.txt")"
    sleep 0.5
  done
  log "root $r: $(wc -l <"$WORK/cycles.txt") floods on $(sort -u "$WORK/cycles.txt" | wc -l) nodes, each raised and cleared exactly once"
done

polls=$(grep -c ' up=' "$MON" || true)
[ "$polls" -gt 100 ] || fail "the monitor polled only $polls times"
span=$(awk 'NR == 1 { a = $1 } { b = $1 } END { print b - a }' "$MON")
log "monitor: $polls answers from the roots over $span ms (both roots, every 100 ms)"
if grep -qE ' (down|listed_down)=[1-9]' "$MON"; then
  grep -E ' (down|listed_down)=[1-9]' "$MON" | head -20 >&2
  fail "nodes were reported down during the faults (see above)"
fi
log "no node reported down in $polls polls of the roots"
log "PASS"
