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

# pick_ports LOW: three ports in a row in LOW..LOW+999 that no socket uses now, in ROUTER_PORT,
# RELAY_PORT and HTTP_PORT, with ROOT_URL.
pick_ports() {
  local lo=$1 used base k
  used=$(ss -Htanu 2>/dev/null | awk '{ n = split($5, a, ":"); print a[n] }' | sort -u)
  for k in $(seq 0 332); do
    base=$(( lo + ((RANDOM + k) % 333) * 3 ))
    if ! grep -qxE "$base|$((base + 1))|$((base + 2))" <<<"$used"; then
      ROUTER_PORT=$base; RELAY_PORT=$((base + 1)); HTTP_PORT=$((base + 2))
      ROOT_URL="http://127.0.0.1:$HTTP_PORT"
      return 0
    fi
  done
  fail "no three free ports in $lo-$((lo + 999))"
}

# start_tiers LOW WRITE_CONFIGS: starts warren-root, -relay and -leaf (configs $WORK/root.conf,
# relay.conf, leaf.conf written by the function WRITE_CONFIGS after pick_ports LOW) with their
# pids in ROOT_PID, RELAY_PID and LEAF_PID; a port taken meanwhile (bind fails) means the three
# are stopped and tried again on other ports, six times at most.
start_tiers() {
  local lo=$1 write=$2 try started
  for try in 1 2 3 4 5 6; do
    pick_ports "$lo"; "$write"
    rm -rf "$WORK/root-data" "$WORK/relay-data" "$WORK/leaf-data"
    start_bg root "$WARREN_BIN/warren-root" --config "$WORK/root.conf"; ROOT_PID=$LAST_PID
    start_bg relay "$WARREN_BIN/warren-relay" --config "$WORK/relay.conf"; RELAY_PID=$LAST_PID
    start_bg leaf "$WARREN_BIN/warren-leaf" --config "$WORK/leaf.conf"; LEAF_PID=$LAST_PID
    started=0
    for _ in $(seq 1 300); do
      if curl -sf "$ROOT_URL/api/v1/status" >/dev/null 2>&1; then started=1; break; fi
      grep -qs "Address already in use" "$WORK/root.log" "$WORK/relay.log" && break
      sleep 0.1
    done
    [ $started = 1 ] && ! grep -qs "Address already in use" "$WORK/root.log" "$WORK/relay.log" && return 0
    log "tier ports $ROUTER_PORT-$HTTP_PORT taken meanwhile (try $try: $(grep -hs "Address already" "$WORK/root.log" "$WORK/relay.log" | sed 's/.*ERROR //' | tr '\n' ' ')$(ss -tanp 2>/dev/null | grep -E ":($ROUTER_PORT|$RELAY_PORT|$HTTP_PORT) " | head -3 | tr -s ' ' | tr '\n' ';')): restarting the tiers"
    kill -9 "$ROOT_PID" "$RELAY_PID" "$LEAF_PID" 2>/dev/null || true
    wait "$ROOT_PID" "$RELAY_PID" "$LEAF_PID" 2>/dev/null || true
  done
  fail "the tiers could not bind their ports six times"
}
