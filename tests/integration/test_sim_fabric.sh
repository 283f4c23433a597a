#!/usr/bin/env bash
# test_sim_fabric: `warren-sim up` with a few hundred emulated nodes deploys a whole fabric
# (emulators, 3 leaves, 2 relays, root) that sees every node up; queries reach the leaves;
# `warren-sim down` stops every process it started.
source "$(dirname "$0")/lib.sh"

N=300
ROOT_URL="http://127.0.0.1:27480"
CLEANUPS+=("'$WARREN_BIN/warren-sim' down --dir '$WORK/fabric' >/dev/null 2>&1")

"$WARREN_BIN/warren-sim" up --nodes $N --dir "$WORK/fabric" --fanout 2 --leaf-size 100 --interval 2 --no-redundancy \
  --base-port 24000 --tier-port 27400 --http-port 27480 --per-emulator 200 --timeout 120 \
  >"$WORK/up.out" 2>"$WORK/up.log" || { cat "$WORK/up.log" >&2; fail "warren-sim up failed"; }
grep -qx "$ROOT_URL" "$WORK/up.out" || fail "up did not print the root URL on its own line: $(cat "$WORK/up.out")"
grep -q "all $N nodes visible" "$WORK/up.log" || fail "no completion line in: $(cat "$WORK/up.log")"
[ "$(grep -c ' emulator ' "$WORK/fabric/pids")" -eq 2 ] || fail "expected 2 emulator processes"

ctl_jq ".nodes_up == $N and .nodes_total == $N and .leaves_up == 3 and .relays_up == 2" status \
  || fail "status: $(ctl status)"
ctl_jq '[.tiers[] | select(.kind == "leaf")] | length == 3' tree || fail "tree: $(ctl tree)"
ctl_jq ".nodes | length == $N" nodes || fail "nodes list incomplete"

# A routed query reaches the owning leaf and returns the emulated node's values.
wait_until 20 "process.limit of sim00123 at the root" \
  ctl_jq '(.points | length > 0) and (.points[-1][1] > 0)' metric sim00123@127.0.0.1 process.limit
wait_until 20 "fleet rollup over all nodes" \
  ctl_jq ".metrics[] | select(.metric == \"process.count\") | .count == $N" rollups

# Human output works too.
"$WARRENCTL" --root "$ROOT_URL" tree > "$WORK/tree.txt" || fail "warrenctl tree failed"
grep -q "leaf-3" "$WORK/tree.txt" || fail "tree output lacks leaf-3: $(cat "$WORK/tree.txt")"

mapfile -t pids < <(awk '{print $1}' "$WORK/fabric/pids")
"$WARREN_BIN/warren-sim" down --dir "$WORK/fabric" 2>"$WORK/down.log" || fail "down failed"
for p in "${pids[@]}"; do
  wait_until 10 "process $p gone" bash -c "! kill -0 $p 2>/dev/null || grep -q '^[^)]*) Z' /proc/$p/stat"
done
log "PASS"
