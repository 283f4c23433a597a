#!/usr/bin/env bash
# test_sim_inject: fault injection into warren-sim's emulated fleet, seen from the ROOT.
# A 50-node fabric (interval 1 s, ant-farm workload) started with a scenario file; then
# `warren-sim inject` applies each fault and the root shows it: mqueue_flood -> the node
# tops `top process.message_queue.max` and its flooded process tops `procs --by
# message_queue`; atom_leak -> atom.count grows between two history reads; crash -> the node
# goes down, then comes back restarted; silent -> down within 3 intervals; the scenario's
# log_storm / busy_dist_port / memory_growth show in logger.queue, dist.busy_ports and
# memory.total. Also: clear errors for an unknown node, an unknown fault, a dead emulator,
# and a bad scenario line (file:line: error). Ports: emulated 18500-18549, tiers 19100+, HTTP 19180.
# Each fault also ends in its alarm or notification at the root (warrenctl alarms /
# notifications): mqueue_flood -> message_queue naming the process; atom_leak ->
# limit_forecast atoms; memory_growth -> limit_forecast memory; crash -> node_down (after the
# 2 s grace of --node-down-grace) and node_restarted; silent -> node_down; busy_dist_port ->
# busy_dist_port warning; log_storm -> error_report notifications. module_clash -> the
# module_clash fleet check: required only once the root shows one (helper M's fleet check).
source "$(dirname "$0")/lib.sh"

SIM="$WARREN_BIN/warren-sim"
ROOT_URL="http://127.0.0.1:19180"
FAB="$WORK/fab"
CLEANUPS+=("'$SIM' down --dir '$FAB' >/dev/null 2>&1")
UP_ARGS=(--nodes 50 --leaf-size 50 --interval 1 --base-port 18500 --tier-port 19100 --http-port 19180
         --per-emulator 50 --timeout 90 --node-down-grace 2 --forecast-step 1 --forecast-min-points 5)
if "$SIM" up --help 2>&1 | grep -q -- --no-redundancy; then UP_ARGS+=(--no-redundancy); fi

# --- a bad scenario is refused before anything starts, naming file and line --------------
printf '# bad\nat 1s node sim00001@127.0.0.1 crash\nat 2s node sim00001@127.0.0.1 explode\n' >"$WORK/bad.scn"
rc=0; "$SIM" up "${UP_ARGS[@]}" --dir "$WORK/badfab" --scenario "$WORK/bad.scn" 2>"$WORK/bad.err" || rc=$?
[ "$rc" = 2 ] || fail "up with a bad scenario exited $rc, expected 2"
grep -q "bad.scn:3: error: unknown fault 'explode'" "$WORK/bad.err" || fail "no file:line error: $(cat "$WORK/bad.err")"
printf 'at 1s node sim00077@127.0.0.1 crash\n' >"$WORK/bad2.scn"
rc=0; "$SIM" up "${UP_ARGS[@]}" --dir "$WORK/badfab" --scenario "$WORK/bad2.scn" 2>"$WORK/bad.err" || rc=$?
[ "$rc" = 2 ] && grep -q "bad2.scn:1: error: unknown node" "$WORK/bad.err" || fail "unknown node in scenario: $(cat "$WORK/bad.err")"
log "ok: bad scenarios refused"

# --- the fabric, with a scenario ------------------------------------------------------------
cat >"$WORK/faults.scn" <<'SCN'
# warren-sim fault scenario: at TIME node NAME FAULT [for DURATION]
at 1s node sim00020@127.0.0.1 log_storm
at 1s node sim00021@127.0.0.1 busy_dist_port for 10m
at 1s node sim00022@127.0.0.1 memory_growth
at 1s node sim00023@127.0.0.1 module_clash module ant_tour
SCN
"$SIM" up "${UP_ARGS[@]}" --dir "$FAB" --scenario "$WORK/faults.scn" >"$WORK/up.out" 2>"$WORK/up.log" \
  || { cat "$WORK/up.log" >&2; fail "warren-sim up failed"; }
grep -q "all 50 nodes visible" "$WORK/up.log" || fail "no completion line: $(cat "$WORK/up.log")"
[ -S "$FAB/emu-0.sock" ] || fail "no control socket $FAB/emu-0.sock"

node_state() { ctl nodes | jq -r --arg n "$1" '.nodes[] | select(.name == $n) | .state'; }
node_since() { ctl nodes | jq -r --arg n "$1" '.nodes[] | select(.name == $n) | .since'; }
latest() { ctl metric "$1" "$2" --since 30s | jq -e '.points[-1][1]'; }
# has_alarm NODE TYPE [RESOURCE_REGEX]: the root shows that alarm active
has_alarm() {
  ctl alarms --node "$1" --type "$2" | jq -e --arg n "$1" --arg t "$2" --arg r "${3:-}" \
    '[.alarms[] | select(.scope == $n and .type == $t and (.resource | test($r)))] | length > 0'
}
# has_notif NODE TYPE: the root holds at least one such notification
has_notif() {
  ctl notifications --node "$1" --type "$2" | jq -e --arg n "$1" --arg t "$2" \
    '[.notifications[] | select(.node == $n and .type == $t)] | length > 0'
}

# --- command-line errors ----------------------------------------------------------------------
expect_fail() {   # expect_fail RC PATTERN ARGS...
  local want=$1 pat=$2 got=0; shift 2
  "$SIM" inject "$@" >"$WORK/inj.out" 2>"$WORK/inj.err" || got=$?
  [ "$got" = "$want" ] || fail "inject $* exited $got, expected $want: $(cat "$WORK/inj.err")"
  grep -q -- "$pat" "$WORK/inj.err" || fail "inject $*: stderr lacks '$pat': $(cat "$WORK/inj.err")"
}
expect_fail 1 "unknown node" --dir "$FAB" --node sim00099@127.0.0.1 crash
expect_fail 2 "unknown fault 'meltdown'" --dir "$FAB" --node sim00001@127.0.0.1 meltdown
expect_fail 2 "required" --node sim00001@127.0.0.1 crash
mkdir -p "$WORK/dead" && cp "$FAB/manifest.0" "$WORK/dead/"
expect_fail 1 "is not running" --dir "$WORK/dead" --node sim00001@127.0.0.1 crash
log "ok: inject errors"

# --- mqueue_flood ---------------------------------------------------------------------------
"$SIM" inject --dir "$FAB" --node sim00007@127.0.0.1 mqueue_flood --proc flood_sink >/dev/null || fail "inject mqueue_flood"
wait_until 10 "sim00007 first in top process.message_queue.max" \
  ctl_jq '(if type == "array" then . else .top end) | .[0].node == "sim00007@127.0.0.1" and .[0].value >= 20000' \
  top process.message_queue.max
wait_until 10 "flood_sink first in procs --by message_queue" \
  ctl_jq '.procs[0].name == "flood_sink" and .procs[0].value >= 20000' procs sim00007@127.0.0.1 --by message_queue
wait_until 15 "message_queue alarm naming flood_sink on sim00007" has_alarm sim00007@127.0.0.1 message_queue 'flood_sink$'
ctl alarms --node sim00007@127.0.0.1 --type message_queue | jq -e '.alarms[0].severity == "major"' >/dev/null \
  || fail "message_queue alarm of a 20,000+ queue is not major: $(ctl alarms --node sim00007@127.0.0.1)"
"$SIM" inject --dir "$FAB" --node sim00007@127.0.0.1 --clear mqueue_flood | grep -q "^ok cleared" || fail "clear mqueue_flood"

# --- atom_leak ----------------------------------------------------------------------------------
wait_until 10 "atom.count history of sim00011" latest sim00011@127.0.0.1 atom.count
a0=$(latest sim00011@127.0.0.1 atom.count)
"$SIM" inject --dir "$FAB" --node sim00011@127.0.0.1 atom_leak --duration 60 >/dev/null || fail "inject atom_leak"
wait_until 15 "atom.count of sim00011 grows by 2000+ (from $a0)" \
  bash -c "v=\$('$WARRENCTL' --root '$ROOT_URL' --json metric sim00011@127.0.0.1 atom.count --since 30s | jq '.points[-1][1]'); [ \"\${v%.*}\" -ge $(( ${a0%.*} + 2000 )) ]"
wait_until 20 "limit_forecast atoms on sim00011 (atom_leak)" has_alarm sim00011@127.0.0.1 limit_forecast '^atoms$'

# --- crash: down, then back restarted -----------------------------------------------------------
since0=$(node_since sim00012@127.0.0.1)
"$SIM" inject --dir "$FAB" --node sim00012@127.0.0.1 crash --duration 8 | grep -q "for 8000 ms" || fail "inject crash"
wait_until 10 "sim00012 down at the root" bash -c "[ \"\$('$WARRENCTL' --root '$ROOT_URL' --json nodes | jq -r '.nodes[] | select(.name == \"sim00012@127.0.0.1\") | .state')\" = down ]"
"$SIM" inject --dir "$FAB" --node sim00012@127.0.0.1 mqueue_flood >"$WORK/inj.out" 2>&1 && fail "a crashed node accepted a fault"
wait_until 15 "node_down alarm of sim00012 (crash, after the grace)" has_alarm sim00012@127.0.0.1 node_down
wait_until 30 "sim00012 up again" bash -c "[ \"\$('$WARRENCTL' --root '$ROOT_URL' --json nodes | jq -r '.nodes[] | select(.name == \"sim00012@127.0.0.1\") | .state')\" = up ]"
[ "$(node_since sim00012@127.0.0.1)" != "$since0" ] || fail "sim00012's since did not change"
wait_until 20 "node_restarted notification of sim00012" has_notif sim00012@127.0.0.1 node_restarted
"$SIM" inject --dir "$FAB" --node sim00012@127.0.0.1 --status | grep -q "up restarts=1 " || fail "emulator does not report a restart"
wait_until 15 "sim00012's uptime restarted" \
  bash -c "v=\$('$WARRENCTL' --root '$ROOT_URL' --json metric sim00012@127.0.0.1 uptime --since 3s | jq '.points[-1][1]'); [ \"\${v%.*}\" -lt 60000 ]"

# --- silent: down within 3 intervals (plus a poll of slack) --------------------------------------
"$SIM" inject --dir "$FAB" --node sim00013@127.0.0.1 silent --duration 20 >/dev/null || fail "inject silent"
wait_until 5 "sim00013 down at the root" bash -c "[ \"\$('$WARRENCTL' --root '$ROOT_URL' --json nodes | jq -r '.nodes[] | select(.name == \"sim00013@127.0.0.1\") | .state')\" = down ]"
wait_until 15 "node_down alarm of sim00013 (silent)" has_alarm sim00013@127.0.0.1 node_down
"$SIM" inject --dir "$FAB" --node sim00013@127.0.0.1 --clear silent >/dev/null || fail "clear silent"

# --- the scenario's faults ---------------------------------------------------------------------
wait_until 15 "logger.queue of sim00020 (log_storm)" \
  bash -c "v=\$('$WARRENCTL' --root '$ROOT_URL' --json metric sim00020@127.0.0.1 logger.queue --since 5s | jq '.points[-1][1]'); [ \"\${v%.*}\" -ge 1000 ]"
wait_until 15 "dist.busy_ports of sim00021 (busy_dist_port)" \
  bash -c "[ \"\$('$WARRENCTL' --root '$ROOT_URL' --json metric sim00021@127.0.0.1 dist.busy_ports --since 5s | jq '.points[-1][1]')\" = 1 ]"
m0=$(latest sim00022@127.0.0.1 memory.total)
wait_until 15 "memory.total of sim00022 grows (memory_growth)" \
  bash -c "v=\$('$WARRENCTL' --root '$ROOT_URL' --json metric sim00022@127.0.0.1 memory.total --since 5s | jq '.points[-1][1]'); [ \"\${v%.*}\" -gt $(( ${m0%.*} + 8000000 )) ]"
"$SIM" inject --dir "$FAB" --node sim00023@127.0.0.1 --status | grep -q "faults=module_clash" || fail "module_clash not active"
grep -q "scenario line 5: injected module_clash" "$FAB/logs/emu-0.log" || fail "scenario not logged"
wait_until 15 "error_report notifications of sim00020 (log_storm)" has_notif sim00020@127.0.0.1 error_report
ctl notifications --node sim00020@127.0.0.1 --type error_report | jq -e '.notifications[0].fields.text | test("log_storm report")' >/dev/null \
  || fail "error_report without the emulator's text: $(ctl notifications --node sim00020@127.0.0.1 --type error_report --limit 1)"
wait_until 15 "busy_dist_port alarm of sim00021" has_alarm sim00021@127.0.0.1 busy_dist_port
ctl alarms --node sim00021@127.0.0.1 --type busy_dist_port | jq -e '.alarms[0].severity == "warning"' >/dev/null || fail "busy_dist_port not a warning"
wait_until 20 "limit_forecast memory of sim00022 (memory_growth)" has_alarm sim00022@127.0.0.1 limit_forecast '^memory$'
# module_clash: the fleet check (helper M) raises it at the tier that sees the difference
clash=0
for _ in $(seq 100); do   # 10 s
  if ctl alarms --type module_clash | jq -e '[.alarms[] | select((.resource + .text) | test("ant_tour"))] | length > 0' >/dev/null 2>&1; then
    clash=1; break
  fi
  sleep 0.1
done
if [ "$clash" = 1 ]; then log "ok: module_clash alarm naming ant_tour at the root"
else log "note: no module_clash alarm at the root (fleet check not in this build): documented exception"; fi
# healthy nodes raise nothing but what the workload itself causes (old_code of the ant farm)
ctl alarms | jq -e '[.alarms[] | select(.scope == "sim00030@127.0.0.1" and .type != "old_code")] | length == 0' >/dev/null \
  || fail "a healthy node has alarms: $(ctl alarms --node sim00030@127.0.0.1)"

"$SIM" down --dir "$FAB" 2>"$WORK/down.log" || fail "down failed"
[ ! -S "$FAB/emu-0.sock" ] || fail "control socket left behind"
log "PASS"
