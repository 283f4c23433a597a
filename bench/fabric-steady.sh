#!/usr/bin/env bash
# fabric-steady: start a simulated fleet with `warren-sim up`, time it until every node is
# visible at the root, then measure each tier's CPU (cores) and RSS in steady state over a
# window, and print a Markdown table. Usage:
#   bench/fabric-steady.sh [NODES=1000] [WINDOW_SECONDS=60] [INTERVAL=10]
# Needs a built tree in build/ (scripts/build). Leaves the fabric stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
NODES=${1:-1000}; WINDOW=${2:-60}; INTERVAL=${3:-10}
BIN=build/bin
DIR=$(mktemp -d /tmp/warren-bench.XXXXXX)
trap '"$BIN/warren-sim" down --dir "$DIR/f" >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
HZ=$(getconf CLK_TCK)

start=$(date +%s%N)
url=$("$BIN/warren-sim" up --nodes "$NODES" --dir "$DIR/f" --interval "$INTERVAL" 2>"$DIR/up.log")
end=$(date +%s%N)
visible_ms=$(( (end - start) / 1000000 ))
grep "all .* visible" "$DIR/up.log" >&2

ticks() { awk '{ s = $0; sub(/^[^)]*\) /, "", s); split(s, f, " "); print f[12] + f[13] }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

mapfile -t rows < "$DIR/f/pids"
declare -A t0
for r in "${rows[@]}"; do read -r pid kind id <<<"$r"; t0[$pid]=$(ticks "$pid"); done
sleep "$WINDOW"     # the measurement window itself, not a wait for a condition
declare -A cpu rss count
for r in "${rows[@]}"; do
  read -r pid kind id <<<"$r"
  t1=$(ticks "$pid")
  cpu[$kind]=$(( ${cpu[$kind]:-0} + t1 - ${t0[$pid]} ))
  rss[$kind]=$(( ${rss[$kind]:-0} + $(rss_kb "$pid") ))
  count[$kind]=$(( ${count[$kind]:-0} + 1 ))
done
up=$("$BIN/warrenctl" --root "$url" --json status | jq -r .nodes_up)
echo "nodes: $NODES, visible and up at the root after ${visible_ms} ms (warren-sim up, whole start-up), still up after the window: $up"
echo
echo "| tier | processes | CPU (cores, mean over ${WINDOW}s) | RSS total (MB) | RSS per monitored node (kB) |"
echo "|---|---|---|---|---|"
fabric_cpu=0; fabric_rss=0
for kind in emulator leaf relay root; do
  [ -n "${count[$kind]:-}" ] || continue
  cores=$(awk -v t="${cpu[$kind]}" -v hz="$HZ" -v w="$WINDOW" 'BEGIN { printf "%.4f", t / hz / w }')
  mb=$(awk -v k="${rss[$kind]}" 'BEGIN { printf "%.1f", k / 1024 }')
  per=$(awk -v k="${rss[$kind]}" -v n="$NODES" 'BEGIN { printf "%.2f", k / n }')
  echo "| $kind | ${count[$kind]} | $cores | $mb | $per |"
  if [ "$kind" != emulator ]; then fabric_cpu=$(( fabric_cpu + cpu[$kind] )); fabric_rss=$(( fabric_rss + rss[$kind] )); fi
done
cores=$(awk -v t="$fabric_cpu" -v hz="$HZ" -v w="$WINDOW" 'BEGIN { printf "%.4f", t / hz / w }')
echo "| fabric (leaf+relay+root) | | $cores | $(awk -v k=$fabric_rss 'BEGIN { printf "%.1f", k / 1024 }') | $(awk -v k=$fabric_rss -v n=$NODES 'BEGIN { printf "%.2f", k / n }') |"
