# lib.sh: shared helpers of the integration tests (sourced, not run).
# Every wait is a condition polled against a deadline; nothing sleeps and hopes.

set -euo pipefail

: "${WARREN_BIN:?WARREN_BIN must point at the bin directory of a build}"
WARRENCTL="$WARREN_BIN/warrenctl"

TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "/tmp/warren-${TEST_NAME}.XXXXXX")
PIDS=()
CLEANUPS=()

log() { printf '%s %s: %s\n' "$(date -u +%H:%M:%S.%3N)" "$TEST_NAME" "$*" >&2; }

fail() {
  log "FAIL: $*"
  for f in "$WORK"/logs/*.log "$WORK"/*.log; do
    [ -f "$f" ] || continue
    echo "--- $f (last 30 lines) ---" >&2
    tail -n 30 "$f" >&2
  done
  exit 1
}

cleanup() {
  local rc=$?
  for c in "${CLEANUPS[@]}"; do eval "$c" || true; done
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ $rc -eq 0 ] && [ -z "${KEEP_WORK:-}" ]; then rm -rf "$WORK"; else log "work dir kept: $WORK"; fi
  exit $rc
}
trap cleanup EXIT

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.1 s until it succeeds,
# or fails the test when SECONDS have passed. Prints how long it took.
wait_until() {
  local limit=$1 what=$2; shift 2
  local start now
  start=$(date +%s%N)
  while true; do
    if "$@" >/dev/null 2>&1; then
      now=$(date +%s%N)
      log "ok after $(( (now - start) / 1000000 )) ms: $what"
      return 0
    fi
    now=$(date +%s%N)
    if [ $(( (now - start) / 1000000000 )) -ge "$limit" ]; then
      fail "timed out after ${limit}s waiting for: $what"
    fi
    sleep 0.1
  done
}

# ctl ARGS...: warrenctl --json against this test's root.
ctl() { "$WARRENCTL" --root "$ROOT_URL" --json "$@"; }

# jq_true FILTER ARGS...: succeeds when `ctl ARGS` output satisfies the jq boolean FILTER.
ctl_jq() { local filter=$1; shift; ctl "$@" | jq -e "$filter" >/dev/null; }

# start_bg NAME COMMAND...: runs COMMAND in the background with output in $WORK/NAME.log;
# its pid is left in LAST_PID (call it directly, not in $(...), so cleanup knows the pid).
start_bg() {
  local name=$1; shift
  "$@" >"$WORK/$name.log" 2>&1 &
  LAST_PID=$!
  PIDS+=($LAST_PID)
}

# A short host name as `erl -sname` uses it.
SHORT_HOST=$(hostname -s 2>/dev/null || hostname)

# start_erl NAME COOKIE: starts a real BEAM node NAME@SHORT_HOST in the background; its pid
# is left in LAST_PID.
start_erl() {
  local name=$1 cookie=$2
  erl -sname "$name" -setcookie "$cookie" -noshell -noinput >>"$WORK/erl-$name.log" 2>&1 &
  LAST_PID=$!
  PIDS+=($LAST_PID)
}

# erl_rpc NODE COOKIE MODULE FUNCTION ARGS: calls MODULE:FUNCTION(ARGS...) on NODE from a
# throw-away hidden node and prints the result with ~p (ARGS is an Erlang list, e.g. "[process_limit]").
erl_rpc() {
  local node=$1 cookie=$2 m=$3 f=$4 a=$5
  erl -sname "probe$$_$RANDOM" -setcookie "$cookie" -hidden -noshell -noinput -eval "
    R = rpc:call('$node', $m, $f, $a, 5000),
    io:format(\"~p~n\", [R]), halt()." 2>/dev/null
}

# make_mod_versions MOD: two versions of a module MOD with one function f/0, compiled:
# $WORK/v1/MOD.beam (f() -> 1) and $WORK/v2/MOD.beam (f() -> 2); fails when erlc does.
make_mod_versions() {
  local m=$1 v
  for v in 1 2; do
    mkdir -p "$WORK/v$v"
    printf -- '-module(%s).\n-export([f/0]).\nf() -> %s.\n' "$m" "$v" > "$WORK/v$v/$m.erl"
    erlc -o "$WORK/v$v" "$WORK/v$v/$m.erl" || fail "erlc failed"
  done
}

# load_mod_from NODE MOD DIR: purges MOD on NODE (cookie $COOKIE) and loads DIR/MOD.beam there
# (code:load_abs); prints the result with ~p.
load_mod_from() {
  erl_rpc "$1" "$COOKIE" erlang apply "[fun() -> code:purge($2), code:load_abs(\"$3/$2\") end, []]"
}

# epmd_has NAME: the local epmd lists NAME.
epmd_has() { epmd -names 2>/dev/null | grep -q "^name $1 "; }

# ---- events: exactly-once checks (helper A, issue 5) ---------------------------------------
# leaf_event_lines LOG...: the leaves' event counters (leaf/leaf_events.c logs them every 10 s
# when they change, and at a clean stop), the last line per (origin, epoch), one a line:
#   ORIGIN EPOCH IDS PUSHED ALARMS NOTIFS PUSH_FAILED DROPPED FINAL(1 = logged at stop)
leaf_event_lines() {
  sed -nE 's/.*events( at stop)?: origin ([^ ]+) epoch ([0-9]+) ids 1\.\.([0-9]+), ([0-9]+) pushed \(([0-9]+) alarms, ([0-9]+) notifications\), ([0-9]+) push failures, [0-9]+ pending, [0-9]+ acked, [0-9]+ resent, ([0-9]+) dropped.*/\2 \3 \4 \5 \6 \7 \8 \9 #\1/p' "$@" |
    awk '{ f = (NF > 9 ? 1 : 0); k = $1 " " $2; if (!(k in fin) || !fin[k]) { line[k] = $1 " " $2 " " $3 " " $4 " " $5 " " $6 " " $7 " " $8; fin[k] = f } }
         END { for (k in line) print line[k], fin[k] }' | sort
}

# root_notif_ids URL: the identities of every notification the root holds, "ORIGIN EPOCH SEQ"
# a line (fails when the root holds 100,000 or more: page then).
root_notif_ids() {
  curl -s -m 30 "$1/api/v1/notifications?since=1&limit=100000" |
    jq -r 'if .count >= 100000 then error("too many notifications for one page") else .notifications[] | "\(.origin) \(.epoch) \(.seq)" end'
}

# notif_ids_summary: reads "ORIGIN EPOCH SEQ" lines, prints per (origin, epoch)
# "ORIGIN EPOCH COUNT DISTINCT MAXSEQ".
notif_ids_summary() {
  awk '{ k = $1 " " $2; n[k]++; if (!(($0) in seen)) { seen[$0] = 1; d[k]++ } if ($3 + 0 > m[k]) m[k] = $3 + 0 }
       END { for (k in n) print k, n[k], d[k], m[k] }' | sort
}

# events_exactly_once LEAF_LINES SUMMARY: compares the leaves' counters (leaf_event_lines)
# with a root's holdings (notif_ids_summary). Per leaf (origin, epoch): no duplicate; with a
# final line, exactly its notifications are held (count == notifications pushed) and no seq is
# past its last id; with only a periodic line (a killed run), at least what was logged. Prints
# one line per problem and "checked N epochs, M notifications" last; returns 1 on a problem.
events_exactly_once() {
  awk 'NR == FNR { leaf[$1 " " $2] = $0; next }
       { k = $1 " " $2; held[k] = $3; dist[k] = $4; mx[k] = $5 }
       END {
         bad = 0
         for (k in held) if (held[k] != dist[k]) { print "DUPLICATES " k ": " held[k] " held, " dist[k] " distinct"; bad = 1 }
         for (k in leaf) {
           split(leaf[k], f, " "); h = (k in held) ? held[k] : 0; e++; m += h
           if (f[9] == 1 && h != f[6]) { print "LOST/EXTRA " k ": pushed " f[6] " notifications, root holds " h; bad = 1 }
           if (f[9] == 0 && h < f[6]) { print "LOST " k ": logged " f[6] " notifications pushed, root holds " h; bad = 1 }
           if (f[9] == 1 && (k in mx) && mx[k] > f[3]) { print "UNKNOWN SEQ " k ": seq " mx[k] " past the last id " f[3]; bad = 1 }
         }
         print "checked " e " leaf epochs, " m " notifications"
         exit bad
       }' "$1" "$2"
}

# need_agent: sets AGENT_DIR (the built warren_agent.beam beside $WARREN_BIN) or fails.
need_agent() {
  AGENT_DIR=$(cd "$WARREN_BIN/../agent" 2>/dev/null && pwd) || fail "no agent dir beside $WARREN_BIN (build the agent target)"
  [ -f "$AGENT_DIR/warren_agent.beam" ] || fail "no $AGENT_DIR/warren_agent.beam"
}

# make_cookie: a cookie of this test run in $COOKIE and $WORK/cookie (mode 400).
make_cookie() {
  COOKIE="warrentest$$"
  echo "$COOKIE" > "$WORK/cookie"
  chmod 400 "$WORK/cookie"
}

# root_alarm_lacks NODE TYPE [RESOURCE-REGEX]: the root at $ROOT_URL (warrenctl alarms) lists
# no active alarm of that type on NODE (with a resource matching the regex, when given).
root_alarm_lacks() {
  ctl alarms | jq -e --arg n "$1" --arg t "$2" --arg r "${3-.*}" \
    '[.alarms[] | select(.scope == $n and .type == $t and (.resource // "" | test("^(" + $r + ")$")))] | length == 0'
}

# root_alarm_has NODE TYPE SEVERITY [RESOURCE-REGEX]: the root at $ROOT_URL (warrenctl alarms)
# lists an active alarm of that type and severity on NODE (resource matching the whole regex).
root_alarm_has() {
  ctl alarms | jq -e --arg n "$1" --arg t "$2" --arg s "$3" --arg r "${4-.*}" \
    '[.alarms[] | select(.scope == $n and .type == $t and .severity == $s and (.resource // "" | test("^(" + $r + ")$")))] | length == 1'
}

# pick_ports LOW [SPAN]: three ports in a row in LOW..LOW+SPAN-1 (SPAN 1000 when not given)
# that no socket uses now, in ROUTER_PORT, RELAY_PORT and HTTP_PORT, with ROOT_URL.
pick_ports() {
  local lo=$1 span=${2:-1000} used base k slots
  slots=$(( span / 3 ))
  [ $((lo + span - 1)) -lt 32768 ] || fail "pick_ports $lo: the range reaches the kernel's ephemeral ports (32768+)"
  used=$(ss -Htanu 2>/dev/null | awk '{ n = split($5, a, ":"); print a[n] }' | sort -u)
  for k in $(seq 0 $((slots - 1))); do
    base=$(( lo + ((RANDOM + k) % slots) * 3 ))
    if ! grep -qxE "$base|$((base + 1))|$((base + 2))" <<<"$used"; then
      ROUTER_PORT=$base; RELAY_PORT=$((base + 1)); HTTP_PORT=$((base + 2))
      ROOT_URL="http://127.0.0.1:$HTTP_PORT"
      return 0
    fi
  done
  fail "no three free ports in $lo-$((lo + span - 1))"
}

# start_tiers LOW WRITE_CONFIGS [SPAN [DAEMON...]]: starts the DAEMONs (root relay leaf when
# none is given: warren-root, -relay and -leaf, configs $WORK/root.conf, relay.conf, leaf.conf
# written by the function WRITE_CONFIGS after pick_ports LOW SPAN) with their pids in ROOT_PID,
# RELAY_PID and LEAF_PID; a port taken meanwhile (bind fails) means they are stopped and tried
# again on other ports, six times at most.
start_tiers() {
  local lo=$1 write=$2 span=${3:-1000} try started d pids
  shift 2; [ $# -eq 0 ] || shift
  local daemons=("$@")
  [ ${#daemons[@]} -gt 0 ] || daemons=(root relay leaf)
  for try in 1 2 3 4 5 6; do
    pick_ports "$lo" "$span"; "$write"
    rm -rf "$WORK/root-data" "$WORK/relay-data" "$WORK/leaf-data"
    pids=()
    for d in "${daemons[@]}"; do
      start_bg "$d" "$WARREN_BIN/warren-$d" --config "$WORK/$d.conf"; pids+=("$LAST_PID")
      case $d in root) ROOT_PID=$LAST_PID ;; relay) RELAY_PID=$LAST_PID ;; leaf) LEAF_PID=$LAST_PID ;; esac
    done
    started=0
    for _ in $(seq 1 300); do
      if curl -sf "$ROOT_URL/api/v1/status" >/dev/null 2>&1; then started=1; break; fi
      grep -qs "Address already in use" "$WORK/root.log" "$WORK/relay.log" && break
      sleep 0.1
    done
    [ $started = 1 ] && ! grep -qs "Address already in use" "$WORK/root.log" "$WORK/relay.log" && return 0
    log "tier ports $ROUTER_PORT-$HTTP_PORT taken meanwhile (try $try: $(grep -hs "Address already" "$WORK/root.log" "$WORK/relay.log" | sed 's/.*ERROR //' | tr '\n' ' ')$(ss -tanp 2>/dev/null | grep -E ":($ROUTER_PORT|$RELAY_PORT|$HTTP_PORT) " | head -3 | tr -s ' ' | tr '\n' ';')): restarting the tiers"
    kill -9 "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  done
  fail "the tiers could not bind their ports six times"
}

# leaf_alarms_at_stop [LOG...]: stops the leaf (SIGTERM to LEAF_PID, 20 s at most) and fails
# unless it exited 0 with no sanitizer report in $WORK/leaf.log (nor in the LOGs given); then
# reads its "alarms: R raised, U updated, C cleared" stop line into ALARMS_LINE, ALARMS_RAISED,
# ALARMS_UPDATED and ALARMS_CLEARED (failing when there is none or it does not parse).
leaf_alarms_at_stop() {
  local rc
  kill -TERM "$LEAF_PID"
  wait_until 20 "leaf stopped" bash -c "! kill -0 $LEAF_PID 2>/dev/null"
  set +e; wait "$LEAF_PID"; rc=$?; set -e
  [ "$rc" = 0 ] || fail "the leaf exited with $rc"
  if grep -q "Sanitizer" "$WORK/leaf.log" "$@"; then fail "sanitizer report in $WORK/leaf.log $*"; fi
  ALARMS_LINE=$(grep "alarms: .* raised" "$WORK/leaf.log") || fail "no alarms stop line"
  log "leaf: $ALARMS_LINE"
  [[ "$ALARMS_LINE" =~ alarms:\ ([0-9]+)\ raised,\ ([0-9]+)\ updated,\ ([0-9]+)\ cleared ]] ||
    fail "unparsable: $ALARMS_LINE"
  ALARMS_RAISED=${BASH_REMATCH[1]}; ALARMS_UPDATED=${BASH_REMATCH[2]}; ALARMS_CLEARED=${BASH_REMATCH[3]}
}

# ---- tier configs (the shapes the erl tests share) ------------------------------------------
# write_root_conf ID INTERVAL [EXTRA]: $WORK/root.conf, root ID on ROUTER_PORT (ZeroMQ) and
# 127.0.0.1:HTTP_PORT, summaries every INTERVAL s, query timeout 5 s; EXTRA (settings such as
# a store section) goes last inside the block.
write_root_conf() {
  cat > "$WORK/root.conf" <<CONF
root = { id = "$1"; bind = "tcp://127.0.0.1:$ROUTER_PORT";
         http = { listen = "127.0.0.1"; port = $HTTP_PORT; };
         interval = $2; query_timeout = 5.0;${3:+ $3} };
CONF
}

# write_relay_conf ID [EXTRA]: $WORK/relay.conf, relay ID on RELAY_PORT under the root on
# ROUTER_PORT, summaries every second; EXTRA goes last inside the block.
write_relay_conf() {
  cat > "$WORK/relay.conf" <<CONF
relay = { id = "$1"; bind = "tcp://127.0.0.1:$RELAY_PORT";
          parents = ["tcp://127.0.0.1:$ROUTER_PORT"]; interval = 1.0;${2:+ $2} };
CONF
}

# write_leaf_conf NAME ID PARENT_PORT SETTINGS NODES [SECTIONS]: $WORK/NAME.conf, leaf ID
# (cookie $WORK/cookie) under the parent on 127.0.0.1:PARENT_PORT with its store in
# $WORK/NAME-data (64 MB map); SETTINGS (interval, down_after, ...) go on the first line,
# SECTIONS (alarms, notify, ...) after the store, NODES (the entries of the nodes list) last.
write_leaf_conf() {
  cat > "$WORK/$1.conf" <<CONF
leaf = { id = "$2"; cookie_file = "$WORK/cookie"; $4
         parents = ["tcp://127.0.0.1:$3"];
         store = { path = "$WORK/$1-data"; map_size_mb = 64; };${6:+
         $6}
         nodes = ( $5 ); };
CONF
}

# check_configs DAEMON...: warren-DAEMON --check-config accepts $WORK/DAEMON.conf, for each.
check_configs() {
  local d
  for d in "$@"; do
    "$WARREN_BIN/warren-$d" --config "$WORK/$d.conf" --check-config >/dev/null || fail "$d.conf rejected"
  done
}
