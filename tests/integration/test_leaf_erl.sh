#!/usr/bin/env bash
# test_leaf_erl: warren-leaf against two real erl nodes (through epmd). Checks that both
# come up, samples of both land in LMDB, a killed node is reported down and comes back up
# when restarted under the same name, a frozen (SIGSTOP) node is reported down after
# down_after silent intervals and up again after SIGCONT, SIGTERM exits cleanly, and --check-config rejects a
# duplicate node and a missing cookie file. Needs erl, epmd and lmdb-utils (mdb_stat).
# Env: WARREN_BIN = the build's bin directory.
set -euo pipefail

BIN=${WARREN_BIN:-$(cd "$(dirname "$0")/../../build/bin" && pwd)}
LEAF=$BIN/warren-leaf
HOST=$(hostname -s)
TMP=$(mktemp -d /tmp/leafdev-test.XXXXXX)
A=leafdev$$a
B=leafdev$$b
ME=leafdev$$c
COOKIE=leafcookie$$
PIDS=()
LEAF_PID=

cleanup() {
    set +e
    [ -n "$LEAF_PID" ] && kill -9 "$LEAF_PID" 2>/dev/null
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; echo "--- leaf log:" >&2; tail -n 40 "$TMP/leaf.log" >&2 || true; exit 1; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s until it succeeds.
wait_for() {
    local secs=$1 what=$2; shift 2
    local deadline=$((SECONDS + secs))
    until "$@"; do
        [ $SECONDS -ge $deadline ] && fail "timed out after ${secs}s waiting for: $what"
        sleep 0.2
    done
}

start_erl() {
    erl -sname "$1" -setcookie "$COOKIE" -noshell </dev/null >"$TMP/$1.out" 2>&1 &
    PIDS+=($!)
    eval "PID_$2=$!"
}

log_count() { grep -c -- "$1" "$TMP/leaf.log" 2>/dev/null || true; }
log_has() { [ "$(log_count "$1")" -ge "${2:-1}" ]; }
# Raw history is one row per (node, poll) in the "raw" database (docs/DESIGN-NOTES.md "Leaf").
sample_count() { mdb_stat -s raw "$TMP/store" 2>/dev/null | awk '/Entries:/ {print $2}'; }
samples_at_least() { local n; n=$(sample_count); [ -n "$n" ] && [ "$n" -ge "$1" ]; }

command -v erl >/dev/null || fail "erl not found"
command -v mdb_stat >/dev/null || fail "mdb_stat not found (lmdb-utils)"
[ -x "$LEAF" ] || fail "$LEAF not built"

echo "$COOKIE" > "$TMP/cookie"
start_erl "$A" A
start_erl "$B" B

cat > "$TMP/leaf.cfg" <<EOF
leaf = {
  id = "leaf-t$$";
  node_name = "$ME@$HOST";
  cookie_file = "$TMP/cookie";
  interval = 0.5;
  down_after = 3;
  connect_timeout = 2.0;
  reconnect_max = 2.0;
  parents = ["tcp://127.0.0.1:22999"];
  store = { path = "$TMP/store"; map_size_mb = 16; retention = 3600.0; };
  nodes = ( { name = "$A@$HOST"; }, { name = "$B@$HOST"; } );
  log = { level = "info"; };
};
EOF

"$LEAF" --config "$TMP/leaf.cfg" --check-config >/dev/null || fail "--check-config rejected a valid file"

"$LEAF" --config "$TMP/leaf.cfg" >"$TMP/leaf.log" 2>&1 &
LEAF_PID=$!

wait_for 30 "node $A up" log_has "node $A@$HOST up"
wait_for 30 "node $B up" log_has "node $B@$HOST up"
echo "ok: both nodes up"

# 22 metrics per node per poll: at least two polls (rows) and rows of both nodes (B may come
# up a few seconds after A: it registers in epmd later and the leaf's retry backs off).
node_has_rows() { mdb_dump -p -s nodes "$TMP/store" 2>/dev/null | grep -q "$1@$HOST"; }
wait_for 20 "4 rows in LMDB" samples_at_least 4
wait_for 20 "rows of $A" node_has_rows "$A"
wait_for 20 "rows of $B" node_has_rows "$B"
codes=$(mdb_dump -p -s meta "$TMP/store")
grep -q "mc:memory.total" <<<"$codes" || fail "no metric code of memory.total"
grep -q "mc:io.output" <<<"$codes" || fail "no metric code of io.output"
# every row holds the poll's 22 values (the value's first byte: varint count)
short=$(mdb_dump -s raw "$TMP/store" | awk 'function hex(c) { return index("0123456789abcdef", c) - 1 }
  /^HEADER=END/ {d=1; next} /^DATA=END/ {d=0}
  d && ++k % 2 == 0 && hex(substr($1, 1, 1)) * 16 + hex(substr($1, 2, 1)) < 22' | wc -l)
[ "$short" -eq 0 ] || fail "$short rows with fewer than 22 values"
echo "ok: $(sample_count) rows of 22 values, both nodes"

# A frozen node (SIGSTOP) keeps its socket open but answers nothing: down after 3 intervals.
bups=$(log_count "node $B@$HOST up")
eval "kill -STOP \$PID_B"
wait_for 20 "node $B down (silent)" log_has "node $B@$HOST down: no reply for 3 intervals"
eval "kill -CONT \$PID_B"
wait_for 40 "node $B up after SIGCONT" log_has "node $B@$HOST up" $((bups + 1))
echo "ok: frozen node $B reported down (no reply for 3 intervals) and up again"

downs=$(log_count "node $A@$HOST down")
ups=$(log_count "node $A@$HOST up")
eval "kill -9 \$PID_A"
wait_for 20 "node $A down" log_has "node $A@$HOST down" $((downs + 1))
echo "ok: $(grep "node $A@$HOST down" "$TMP/leaf.log" | tail -1 | sed 's/.*: node/node/')"
kill -0 "$LEAF_PID" || fail "leaf died"

before=$(sample_count)
start_erl "$A" A
wait_for 40 "node $A up again" log_has "node $A@$HOST up" $((ups + 1))
echo "ok: $A up again"
wait_for 20 "rows still growing" samples_at_least $((before + 2))

kill -TERM "$LEAF_PID"
wait_for 15 "leaf exit" bash -c "! kill -0 $LEAF_PID 2>/dev/null"
rc=0
wait "$LEAF_PID" || rc=$?
LEAF_PID=
[ "$rc" -eq 0 ] || fail "leaf exited with $rc after SIGTERM"
log_has "stopped:" || fail "no clean-stop line"
echo "ok: clean exit"

# --check-config: a duplicate node and a missing cookie file are errors (exit 2).
sed "s|{ name = \"$B@$HOST\"; }|{ name = \"$A@$HOST\"; }|" "$TMP/leaf.cfg" > "$TMP/dup.cfg"
rc=0; "$LEAF" --config "$TMP/dup.cfg" --check-config >"$TMP/dup.out" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "duplicate node: exit $rc, want 2"
grep -q "duplicate node $A@$HOST" "$TMP/dup.out" || fail "duplicate node not named: $(cat "$TMP/dup.out")"
sed "s|$TMP/cookie|$TMP/no-such-cookie|" "$TMP/leaf.cfg" > "$TMP/nocookie.cfg"
rc=0; "$LEAF" --config "$TMP/nocookie.cfg" --check-config >"$TMP/nocookie.out" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "missing cookie: exit $rc, want 2"
grep -q "cookie_file" "$TMP/nocookie.out" || fail "missing cookie not reported: $(cat "$TMP/nocookie.out")"
echo "ok: --check-config errors"
echo "PASS"
