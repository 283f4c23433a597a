#!/usr/bin/env bash
# test_slow_consumer: a parent that cannot keep up slows nobody but itself (issue 5, DESIGN
# section 2). A warren-sim fabric (20 emulated nodes, 2 leaves under one relay, one root,
# interval 1 s); leaf-1 gets a small outbox (leaf.outbox.max_events = 30), leaf-2 keeps the
# default bound. Four nodes (two per leaf) run a log storm (error_report notifications, and
# the message_queue alarms of their growing logger queue). The relay is SIGSTOPped for 15 s:
#  - both leaves keep polling: the root shows samples of the stopped window (answered from the
#    leaves' LMDB after SIGCONT);
#  - leaf-1's outbox overflows: the drop is counted and `outbox_overflow` (major, scope leaf-1,
#    text with the count) reaches the root after SIGCONT; what the root lacks of leaf-1's
#    notifications is no more than what it counted as dropped;
#  - leaf-2's outbox holds everything: after SIGCONT the root holds every notification it
#    pushed exactly once (by identity origin/epoch/seq, against the leaf's own counters logged
#    at a clean stop) and one alarm history entry per alarm event it pushed; no outbox_overflow.
# Ports: emulated nodes 30400-30419, tiers 30940-30941, HTTP 30950 (below the ephemeral range).
source "$(dirname "$0")/lib.sh"

N=20
SIM="$WARREN_BIN/warren-sim"
FAB="$WORK/fabric"
ROOT_URL=http://127.0.0.1:30950
CLEANUPS+=("'$SIM' down --dir '$FAB' >/dev/null 2>&1")

"$SIM" up --nodes $N --dir "$FAB" --no-redundancy --leaf-size 10 --interval 1 --per-emulator $N \
  --base-port 30400 --tier-port 30940 --http-port 30950 --timeout 60 \
  >"$WORK/up.out" 2>"$WORK/up.log" || { cat "$WORK/up.log" >&2; fail "warren-sim up failed"; }

now_ms() { date +%s%3N; }
pid_of() { awk -v id="$1" '$3 == id { p = $1 } END { print p }' "$FAB/pids"; }
all_up() { curl -s -m 3 "$ROOT_URL/api/v1/nodes" | jq -e --argjson n $N '(.nodes | length == $n) and all(.nodes[]; .state == "up")'; }

# ---- the bound: validated, then applied to leaf-1 ---------------------------------------------
sed -i 's|^  nodes_file|  outbox = { max_events = 30; max_age = 3600; };\n  nodes_file|' "$FAB/leaf-1.conf"
grep -q "max_events = 30" "$FAB/leaf-1.conf" || fail "could not set leaf-1's outbox bound"
"$WARREN_BIN/warren-leaf" --config "$FAB/leaf-1.conf" --check-config >"$WORK/check.out" 2>&1 \
  || fail "leaf-1's config with an outbox bound refused: $(cat "$WORK/check.out")"
sed 's|max_events = 30|max_events = 0|' "$FAB/leaf-1.conf" >"$WORK/bad.conf"
if "$WARREN_BIN/warren-leaf" --config "$WORK/bad.conf" --check-config >"$WORK/bad.out" 2>&1; then
  fail "leaf.outbox.max_events = 0 accepted"
fi
grep -q "leaf.outbox.max_events" "$WORK/bad.out" || fail "the error does not name the key: $(cat "$WORK/bad.out")"
"$SIM" kill --dir "$FAB" leaf --id leaf-1 >/dev/null || fail "kill leaf-1"
"$SIM" restart --dir "$FAB" leaf-1 >/dev/null || fail "restart leaf-1"
wait_until 30 "every node up at the root" all_up

# ---- a steady flow of notifications and alarms -------------------------------------------------
S1=$(awk '!/^#/ { print $1 }' "$FAB/leaf-1.nodes" | head -2 | tr '\n' ' ')
S2=$(awk '!/^#/ { print $1 }' "$FAB/leaf-2.nodes" | head -2 | tr '\n' ' ')
for n in $S1 $S2; do
  "$SIM" inject --dir "$FAB" --node "$n" log_storm >/dev/null || fail "inject log_storm on $n"
done
has_notif() { curl -s -m 5 "$ROOT_URL/api/v1/notifications?node=$1&type=error_report&limit=1" | jq -e '.count > 0'; }
for n in $S1 $S2; do wait_until 20 "error_report of $n at the root" has_notif "$n"; done

# ---- the parent stops -----------------------------------------------------------------------------
RP=$(pid_of relay-1-1)
[ -n "$RP" ] || fail "no pid for relay-1-1"
t_stop=$(now_ms)
kill -STOP "$RP"
CLEANUPS=("kill -CONT $RP 2>/dev/null" "${CLEANUPS[@]}")
wait_until 30 "leaf-1's outbox overflows (logged)" grep -q "outbox overflow" "$FAB/logs/leaf-1.log"
while [ $(( $(now_ms) - t_stop )) -lt 15000 ]; do sleep 0.2; done
t_cont=$(now_ms)
kill -CONT "$RP"
log "relay stopped for $(( t_cont - t_stop )) ms"
grep -q "outbox overflow" "$FAB/logs/leaf-2.log" && fail "leaf-2's outbox (default bound) overflowed"

# ---- outbox_overflow reaches the root ---------------------------------------------------------------
ovf() { curl -s -m 5 "$ROOT_URL/api/v1/alarms?all=1&type=outbox_overflow&limit=1000"; }
wait_until 30 "outbox_overflow of leaf-1 at the root" \
  bash -c "curl -s -m 5 '$ROOT_URL/api/v1/alarms?all=1&type=outbox_overflow' | jq -e '[.history[] | select(.scope == \"leaf-1\" and .change == \"new\" and .severity == \"major\")] | length == 1'"
ovf >"$WORK/ovf.json"
jq -e '[.history[] | select(.scope == "leaf-1")] | all(.text | test("^[0-9]+ event\\(s\\) dropped from the outbox"))' "$WORK/ovf.json" >/dev/null \
  || fail "outbox_overflow text: $(jq -c '.history' "$WORK/ovf.json")"
jq -e '[.history[] | select(.scope != "leaf-1")] | length == 0' "$WORK/ovf.json" >/dev/null \
  || fail "outbox_overflow of another tier: $(jq -c '.history' "$WORK/ovf.json")"
log "outbox_overflow at the root: $(jq -r '[.history[] | select(.scope == "leaf-1")] | last | .text' "$WORK/ovf.json")"

# ---- both leaves kept polling while their parent was stopped -------------------------------------
for n in ${S1%% *} ${S2%% *}; do
  url="$ROOT_URL/api/v1/nodes/$n/metrics/process.count?since=$((t_stop + 1000))&until=$((t_cont - 1000))"
  wait_until 20 "history of $n answered" bash -c "curl -s -m 5 '$url' | jq -e '.points'"
  pts=$(curl -s -m 5 "$url" | jq '.points | length')
  log "$n: $pts samples of process.count taken while the relay was stopped"
  [ "$pts" -ge 5 ] || fail "$n: only $pts samples in the $(( t_cont - t_stop - 2000 )) ms the relay was stopped"
done

# ---- exactly once (leaf-2), counted loss (leaf-1) ---------------------------------------------------
for n in $S1 $S2; do "$SIM" inject --dir "$FAB" --node "$n" --clear log_storm >/dev/null || true; done
for l in leaf-1 leaf-2; do
  p=$(pid_of $l)
  kill -TERM "$p"
  wait_until 20 "$l stopped cleanly" bash -c "grep -q 'events at stop' '$FAB/logs/$l.log' && ! kill -0 $p"
done
t_stopped=$(now_ms)
leaf_event_lines "$FAB"/logs/leaf-*.log >"$WORK/leaf_events.txt"
log "leaf counters: $(tr '\n' ';' <"$WORK/leaf_events.txt")"
# the leaves come back: what their outboxes still hold (not yet ACKed at the stop) is resent
for l in leaf-1 leaf-2; do "$SIM" restart --dir "$FAB" $l >/dev/null || fail "restart $l"; done
L2=$(awk '$1 == "leaf-2" && $9 == 1' "$WORK/leaf_events.txt" | head -1)
L1=$(awk '$1 == "leaf-1" && $9 == 1' "$WORK/leaf_events.txt" | head -1)
[ -n "$L2" ] && [ -n "$L1" ] || fail "no final counters: $(cat "$WORK/leaf_events.txt")"
set -- $L2; E2=$2; A2=$5; N2=$6
set -- $L1; E1=$2; N1=$6; D1=$8
[ "$N2" -gt 100 ] || fail "leaf-2 pushed only $N2 notifications: no flow"
[ "$D1" -gt 0 ] || fail "leaf-1's outbox dropped nothing (bound 30 over 15 s of storm?)"
held() { root_notif_ids "$1" | awk -v o="$2" -v e="$3" '$1 == o && $2 == e' | notif_ids_summary; }
t0=$(now_ms)
wait_until 60 "the root holds all $N2 notifications of leaf-2's run" \
  bash -c "$(declare -f root_notif_ids notif_ids_summary held); held '$ROOT_URL' leaf-2 $E2 | awk '\$3 >= $N2' | grep -q ."
echo "CATCHUP fault=relay_stop_15s ms=$(( $(now_ms) - t0 )) (after the leaves' restart)"
root_notif_ids "$ROOT_URL" >"$WORK/root_ids.txt"
notif_ids_summary <"$WORK/root_ids.txt" >"$WORK/root_summary.txt"
awk -v e="$E2" '$1 == "leaf-2" && $2 == e' "$WORK/leaf_events.txt" >"$WORK/leaf2.txt"
events_exactly_once "$WORK/leaf2.txt" "$WORK/root_summary.txt" >"$WORK/check2.txt" \
  || fail "leaf-2: $(cat "$WORK/check2.txt")"
log "leaf-2 exactly once: $(tail -1 "$WORK/check2.txt")"
# leaf-2's alarm events: one history entry each (none of its alarms was raised by another leaf)
curl -s -m 10 "$ROOT_URL/api/v1/alarms?all=1&since=1&limit=100000" >"$WORK/alarms.json"
h2=$(jq --argjson t "$t_stopped" '[.history[] | select(.origin == "leaf-2" and .change != "acked" and .at <= $t)] | length' "$WORK/alarms.json")
[ "$A2" -gt 0 ] || fail "leaf-2 pushed no alarm event (the storms' message_queue alarms)"
[ "$h2" = "$A2" ] || fail "leaf-2 pushed $A2 alarm events; the root's history has $h2 of them"
log "leaf-2: $A2 alarm events, $h2 in the root's history"
# leaf-1: no duplicate; whatever the root lacks is within what the outbox counted as dropped
h1=$(awk -v e="$E1" '$1 == "leaf-1" && $2 == e { print $3, $4 }' "$WORK/root_summary.txt")
set -- ${h1:-0 0}
[ "$1" = "$2" ] || fail "leaf-1: duplicates at the root ($1 held, $2 distinct)"
[ $(( N1 - $1 )) -le "$D1" ] || fail "leaf-1 pushed $N1 notifications, the root holds $1, only $D1 counted as dropped"
log "leaf-1: $N1 notifications pushed, $1 at the root, $D1 events dropped by its outbox (counted, alarmed)"
log "PASS"
