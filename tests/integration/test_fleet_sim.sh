#!/usr/bin/env bash
# test_fleet_sim: fleet aggregates through the real binaries: warren-sim deploys emulated
# nodes, 3 real warren-leaf processes (which build each interval's sketch and top-K in
# leaf/leaf_rollup.c), 2 relays and a root; `warrenctl fleet` and `warrenctl top` must show
# every node, quantiles inside [min, max], and for a metric every node reports with the same
# value (process.limit) the top list must be the first node names in order with that value.
# The exact-merge proof against raw values is tests/test_rollup.c. Ports 25400-25480 for
# the fabric, 31200-31499 for the emulated nodes (warren-sim keeps them below 32768).
source "$(dirname "$0")/lib.sh"

N=300
ROOT_URL="http://127.0.0.1:25480"
CLEANUPS+=("'$WARREN_BIN/warren-sim' down --dir '$WORK/fabric' >/dev/null 2>&1")

"$WARREN_BIN/warren-sim" up --nodes $N --dir "$WORK/fabric" --fanout 2 --leaf-size 100 --interval 1 --no-redundancy \
  --base-port 31200 --tier-port 25400 --http-port 25480 --per-emulator 200 --timeout 120 \
  >"$WORK/up.out" 2>"$WORK/up.log" || { cat "$WORK/up.log" >&2; fail "warren-sim up failed"; }

wait_until 30 "fleet process.limit over all $N nodes" \
  ctl_jq ".count == $N and .min == 262144 and .max == 262144 and .p50 == 262144 and .p99 == 262144" \
  fleet process.limit
ctl_jq 'has("count") and has("sum") and has("min") and has("p50") and has("p90") and has("p99") and has("max")' \
  fleet memory.total || fail "fleet --json keys: $(ctl fleet memory.total)"
wait_until 30 "quantiles of memory.total inside [min, max]" \
  ctl_jq ".count == $N and .min <= .p50 and .p50 <= .p90 and .p90 <= .p99 and .p99 <= .max" fleet memory.total

# Ties are broken by node name: the 5 first names, all at the common value.
ctl top process.limit -n 5 >"$WORK/top.json" || fail "top failed"
ctl nodes | jq -r '[.nodes[].name] | sort | .[0:5] | .[]' >"$WORK/first5.txt"
jq -r '.[].node' "$WORK/top.json" | diff - "$WORK/first5.txt" >/dev/null \
  || fail "top process.limit: $(cat "$WORK/top.json") is not the first 5 names: $(cat "$WORK/first5.txt")"
jq -e 'length == 5 and all(.[]; .value == 262144)' "$WORK/top.json" >/dev/null || fail "top values: $(cat "$WORK/top.json")"

# The largest memory.total is the fleet max (the same interval: retry across a change).
wait_until 20 "top[0] of memory.total is the fleet max" bash -c \
  "[ \"\$('$WARRENCTL' --root $ROOT_URL --json top memory.total -n 1 | jq '.[0].value')\" = \"\$('$WARRENCTL' --root $ROOT_URL --json fleet memory.total | jq '.max')\" ]"

"$WARRENCTL" --root "$ROOT_URL" fleet memory.total >"$WORK/fleet.txt" || fail "fleet (human) failed"
grep -q "^  p99 " "$WORK/fleet.txt" || fail "fleet table: $(cat "$WORK/fleet.txt")"
"$WARRENCTL" --root "$ROOT_URL" top run_queue -n 3 >"$WORK/top.txt" || fail "top (human) failed"
[ "$(wc -l <"$WORK/top.txt")" -eq 4 ] || fail "top table: $(cat "$WORK/top.txt")"
"$WARRENCTL" --root "$ROOT_URL" top no.such -n 3 2>"$WORK/err.txt" && fail "top of an unknown metric succeeded"
grep -q "unknown metric 'no.such'" "$WORK/err.txt" || fail "error: $(cat "$WORK/err.txt")"

"$WARREN_BIN/warren-sim" down --dir "$WORK/fabric" 2>"$WORK/down.log" || fail "down failed"
log "PASS"
