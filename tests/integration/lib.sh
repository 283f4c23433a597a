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
