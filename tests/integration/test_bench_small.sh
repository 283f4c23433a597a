#!/usr/bin/env bash
# test_bench_small: `warren-bench antfarm` with 200 emulated nodes and a 15 s window runs the
# whole benchmark in one go: report.json holds the headline (time to every node visible),
# per-tier CPU and RSS, the fault phase (3 faults of each of 6 kinds, each seen as its alarm at
# the root, with latencies), and "not measured" sections as nulls; report.md names the headline;
# the PNG plots exist (when gnuplot is installed); the fabric is stopped afterwards.
source "$(dirname "$0")/lib.sh"

N=200
OUT="$WORK/bench"
CLEANUPS+=("[ -f '$OUT/fabric/pids' ] && '$WARREN_BIN/warren-sim' down --dir '$OUT/fabric' >/dev/null 2>&1")

"$WARREN_BIN/warren-bench" antfarm --nodes $N --duration 15 --interval 2 --out "$OUT" \
  --base-port 13000 --tier-port 31600 --http-port 31680 --timeout 40 --no-ceiling 2>"$WORK/bench.log" \
  || { cat "$WORK/bench.log" >&2; tail -n 20 "$OUT/sim-up.log" >&2 || true; fail "warren-bench antfarm failed"; }
grep -q "^antfarm: $N nodes visible and up in" "$WORK/bench.log" || fail "no summary line: $(tail -n 3 "$WORK/bench.log")"

R="$OUT/report.json"
[ -s "$R" ] || fail "no report.json"
check() { jq -e "$1" "$R" >/dev/null || fail "report.json: expected $1, got: $(jq -c "${2:-.}" "$R")"; }
check '.complete == true and .error == null' '{complete, error}'
check '.headline.time_to_visible_ms > 0' .headline
check ".headline.nodes_visible == $N and .headline.nodes == $N" .headline
check '.steady.tiers.fabric.cpu_cores_mean > 0' .steady.tiers
check '.steady.tiers.fabric.rss_kb_mean > 0 and .steady.tiers.fabric.rss_kb_per_node > 0' .steady.tiers
check '.steady.tiers.leaf.processes == 2 and .steady.tiers.emulator.processes >= 1' .steady.tiers
check '.steady.window_s >= 14 and (.steady.series | length) >= 4' '.steady.window_s'
check '.steady.processes_gone == []' .steady.processes_gone
check ".steady.nodes_up_end == $N" .steady.nodes_up_end
check '.fault_latency.measured == true and (.fault_latency.faults | length) == 18' .fault_latency
check '[.fault_latency.faults[] | select(.detected)] | length == 18' '.fault_latency.faults'
check '.fault_latency.per_fault.crash.detected == 3 and .fault_latency.per_fault.mqueue_flood.p99_ms > 0' .fault_latency.per_fault
check '.fault_latency.propagation_p99_ms >= 0 and .fault_latency.p50_ms > 0' .fault_latency
check '.links.leaf.tiers == 2 and .links.root.tiers >= 1 and .links.fabric.frames_in_per_s > 0 and .links.fabric.bytes_out_per_s > .links.fabric.frames_out_per_s' .links
check '.steady.tiers.fabric.pss_kb_max > 0 and .steady.tiers.fabric.pss_kb_max <= .steady.tiers.fabric.rss_kb_max' .steady.tiers.fabric
check '.relay_ceiling.measured == false and .relay_ceiling.children == null' .relay_ceiling
check '.steady.tiers.fabric.rss_anon_kb_max > 0 and .steady.warmup_s == 6' .steady.tiers.fabric
check '.machine.nproc >= 1 and (.machine.cpu_model | length) > 0 and .machine.mem_total_kb > 0' .machine
check '(.command | test("antfarm --nodes 200"))' .command
check '[.targets[] | select(.name == "alarm_latency_p99")][0].status != "not measured"' .targets

grep -q "time from start to all $N nodes visible and up at the root" "$OUT/report.md" \
  || fail "report.md lacks the headline: $(head -n 20 "$OUT/report.md")"
grep -q "not measured" "$OUT/report.md" || fail "report.md does not say what was not measured"

if command -v gnuplot >/dev/null 2>&1; then
  for png in visible cpu rss; do
    f="$OUT/$png.png"
    [ -s "$f" ] || fail "$f missing (gnuplot log: $(cat "$OUT/gnuplot.log" 2>/dev/null))"
    [ "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$f is not a PNG"
  done
else
  log "gnuplot not installed: PNG checks skipped"
  grep -q "gnuplot is not installed" "$OUT/report.md" || fail "report.md does not say gnuplot is missing"
fi

# The fabric is stopped: no process the report lists is still alive.
[ ! -f "$OUT/fabric/pids" ] || fail "warren-sim down did not run (pids file still there)"
mapfile -t pids < <(jq -r '.steady.processes[].pid' "$R")
[ "${#pids[@]}" -ge 5 ] || fail "report lists ${#pids[@]} processes, expected at least 5"
for p in "${pids[@]}"; do
  wait_until 10 "process $p gone" bash -c "! kill -0 $p 2>/dev/null || grep -q '^[^)]*) Z' /proc/$p/stat"
done
# The relay-ceiling sub-benchmark, a few short steps at low rates: one real relay keeps up.
"$WARREN_BIN/warren-bench" relay-ceiling --children 2 --rate 20 --factor 2 --max-rate 80 --step 1 \
  --tier-port 31610 --out "$WORK/ceiling" >"$WORK/ceiling.md" 2>"$WORK/ceiling.log" \
  || { cat "$WORK/ceiling.log" "$WORK/ceiling/relay.log" >&2; fail "relay-ceiling failed"; }
C="$WORK/ceiling/ceiling.json"
jq -e '.measured == true and .sustained_deltas_per_s > 0 and (.steps | length) >= 1' "$C" >/dev/null \
  || fail "ceiling.json: $(jq -c '{measured, sustained_deltas_per_s, why, steps}' "$C")"
jq -e '.steps[0].sustained == true and .steps[0].relay_cpu_cores >= 0 and .delta_bytes > 1000' "$C" >/dev/null \
  || fail "ceiling.json first step: $(jq -c '.steps[0]' "$C")"
grep -q "Relay ceiling: 2 children" "$WORK/ceiling.md" || fail "no ceiling line in: $(cat "$WORK/ceiling.md")"
log "PASS"
