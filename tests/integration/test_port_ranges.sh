#!/usr/bin/env bash
# Lint: no test listens on a fixed port in the kernel's ephemeral range (32768-60999 on
# Debian). Outgoing connections of any process take those ports at random, so a test that
# binds one fails now and then (CI run of 2026-11-23: the root's HTTP port 43380 was taken).
# Scans tests/*.c and tests/integration/*.sh for numbers in that range on lines that name a
# port, an endpoint or a BASE=; a line that means to be refused says "ephemeral" and is skipped.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bad=$(grep -nE '(^|[^0-9])(3276[89]|327[7-9][0-9]|32[89][0-9]{2}|3[3-9][0-9]{3}|[45][0-9]{4}|60[0-9]{3})([^0-9]|$)' \
        "$here"/../test_*.c "$here"/test_*.sh | grep -v '^[^:]*test_port_ranges.sh:' |
      grep -iE 'port|base=|tcp://|http://' | grep -v 'ephemeral' || true)
if [ -n "$bad" ]; then
  echo "FAIL: fixed ports in the ephemeral range 32768-60999 (use pick_ports/start_tiers in lib.sh, or a port below 32768):"
  echo "$bad"
  exit 1
fi
n=$(cat "$here"/../test_*.c "$here"/test_*.sh | wc -l)
echo "ok: $n lines of tests scanned, no fixed port in 32768-60999"
