#!/usr/bin/env bash
# test_prom_small: `warren-bench prometheus-vs-warren` with 50 emulated nodes, a 2 s interval and
# a 15 s window: one fleet (warren-sim up --prom-port) watched at once by the warren fabric and
# by a stock Prometheus scraping /metrics/<node> of each emulated node; report.json holds CPU,
# RSS and time-to-visible of both and their ratios, every target up at the end on both sides;
# the fleet and Prometheus are stopped afterwards. Skipped only when prometheus is not
# installed (scripts/install-deps installs it): exit 77, which ctest reports as "Not Run"
# (SKIP_RETURN_CODE in tests/CMakeLists.txt). Checked before lib.sh: a skip leaves no work dir.
if ! command -v prometheus >/dev/null 2>&1; then
  echo "SKIP: prometheus is not installed (scripts/install-deps)"
  exit 77
fi
source "$(dirname "$0")/lib.sh"

N=50
OUT="$WORK/prom"
CLEANUPS+=("[ -f '$OUT/fabric/pids' ] && '$WARREN_BIN/warren-sim' down --dir '$OUT/fabric' >/dev/null 2>&1")

"$WARREN_BIN/warren-bench" prometheus-vs-warren --nodes $N --interval 2 --duration 15 --out "$OUT" \
  --base-port 11000 --prom-port 30300 --tier-port 30350 --http-port 30380 --web-port 30390 --timeout 60 \
  2>"$WORK/bench.log" \
  || { cat "$WORK/bench.log" >&2; tail -n 20 "$OUT/sim-up.log" "$OUT/prometheus.log" >&2 || true;
       fail "warren-bench prometheus-vs-warren failed"; }
grep -q "^prometheus-vs-warren: $N nodes: warren" "$WORK/bench.log" || fail "no summary line: $(tail -n 3 "$WORK/bench.log")"

R="$OUT/report.json"
[ -s "$R" ] || fail "no report.json"
check() { jq -e "$1" "$R" >/dev/null || fail "report.json: expected $1, got: $(jq -c "${2:-.}" "$R")"; }
check '.ok == true and .error == "" and .mode == "concurrent"' '{ok, error, mode}'
check ".nodes == $N and .interval_s == 2 and .window_s >= 14" '{nodes, interval_s, window_s}'
check '.warren.cpu_cores > 0 and .warren.rss_mean_mb > 0 and .warren.time_to_visible_s > 0' .warren
check '.prometheus.cpu_cores > 0 and .prometheus.rss_mean_mb > 0 and .prometheus.time_to_visible_s > 0' .prometheus
check ".warren.up_end == $N and .prometheus.up_end == $N" '{w: .warren.up_end, p: .prometheus.up_end}'
check '.warren.processes >= 3 and .prometheus.processes == 1' '{w: .warren.processes, p: .prometheus.processes}'
check '.prometheus.head_series > 50 * 100 and .prometheus.samples_per_s > 0' .prometheus
check '.ratios.cpu_prometheus_over_warren > 0 and .ratios.rss_prometheus_over_warren > 0' .ratios
check '.ratios.ttv_prometheus_over_warren > 0' .ratios
check '(.prometheus.version | test("prometheus"))' .prometheus.version
check '.machine.nproc >= 1' .machine
grep -q "| CPU, cores |" "$OUT/report.md" || fail "report.md has no CPU row"
grep -q "__metrics_path__: '/metrics/sim00049'" "$OUT/prometheus.yml" || fail "prometheus.yml lacks node 49's target"

# everything stopped: no process of the fleet, no Prometheus on our port
[ ! -f "$OUT/fabric/pids" ] || ! kill -0 $(awk '{print $1}' "$OUT/fabric/pids") 2>/dev/null \
  || fail "fleet processes still run"
! curl -s -o /dev/null "http://127.0.0.1:30390/-/ready" || fail "prometheus still answers on 30390"
log "ok: $(jq -c '{w: .warren, p: .prometheus | {cpu_cores, rss_mean_mb, time_to_visible_s}, ratios}' "$R")"
