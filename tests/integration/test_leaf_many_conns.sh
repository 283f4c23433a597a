#!/usr/bin/env bash
# test_leaf_many_conns: one warren-leaf watching 1,100 emulated nodes, more connections than
# FD_SETSIZE (1,024). erl_interface's handshakes wait in select(2), which overwrites the stack
# for a descriptor >= 1,024: a leaf that took over 1,600 nodes in a 10,000-node run crashed in
# ei_connect_helper. The leaf moves established connections above FD_SETSIZE so handshakes
# keep the low descriptors. Checks: every node up, the leaf alive and polling all of them (a
# second poll round's rows), no connect failure; then SIGTERM stops it cleanly.
# Ports: a free block of 1,100 in 2100-9999 for the emulated nodes (below the ephemeral range).
source "$(dirname "$0")/lib.sh"

N=1100
COOKIE="many$$"
echo "$COOKIE" > "$WORK/cookie"
chmod 400 "$WORK/cookie"
free_block() {   # the first base in 2100, 3300, ... whose N ports no socket uses
  local used b
  used=$(ss -Htan 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' | sort -un)
  for b in 2100 3300 4500 5700 6900 8100; do
    if ! awk -v lo="$b" -v hi="$((b + N - 1))" '$1 >= lo && $1 <= hi { f = 1 } END { exit !f }' <<<"$used"; then
      echo "$b"; return 0
    fi
  done
  return 1
}
BASE=$(free_block) || fail "no free block of $N ports in 2100-9299"
(ulimit -n 4096; exec "$WARREN_BIN/warren-sim" emulate --count $N --base-port "$BASE" --prefix many \
   --cookie-file "$WORK/cookie" --manifest-out "$WORK/nodes" --ready-file "$WORK/ready" \
   --workload plain) >"$WORK/emu.log" 2>&1 &
EMU_PID=$!
CLEANUPS+=("kill $EMU_PID 2>/dev/null")
wait_until 60 "$N emulated nodes listening" test -f "$WORK/ready"
[ "$(wc -l < "$WORK/nodes")" -eq $N ] || fail "manifest has $(wc -l < "$WORK/nodes") nodes"

cat > "$WORK/leaf.conf" <<CONF
leaf = { id = "leaf-many"; cookie_file = "$WORK/cookie"; interval = 2.0;
         store = { path = "$WORK/leaf-data"; map_size_mb = 256; };
         nodes_file = "$WORK/nodes"; };
CONF
start_bg leaf "$WARREN_BIN/warren-leaf" --config "$WORK/leaf.conf"
LEAF_PID=$LAST_PID
ups() { grep -c " up (fd " "$WORK/leaf.log" 2>/dev/null || true; }
all_up() { [ "$(ups)" -ge $N ]; }
wait_until 120 "all $N nodes up at the leaf" all_up
kill -0 "$LEAF_PID" || fail "the leaf died"
# the established connections sit above FD_SETSIZE
high=$(ls -l /proc/"$LEAF_PID"/fd 2>/dev/null | awk '$NF ~ /^socket:/ && $9 + 0 >= 1024' | wc -l)
[ "$high" -ge $N ] || fail "only $high sockets above descriptor 1023"
log "ok: $N nodes up, $high node connections above descriptor 1023"
# two more poll rounds of every node: rows of all of them in LMDB
rows() { mdb_stat -s raw "$WORK/leaf-data" 2>/dev/null | awk '/Entries:/ {print $2}'; }
enough_rows() { local r; r=$(rows); [ -n "$r" ] && [ "$r" -ge $((2 * N)) ]; }
wait_until 60 "two rows of every node" enough_rows
kill -0 "$LEAF_PID" || fail "the leaf died while polling"
grep -q "node .* down" "$WORK/leaf.log" && fail "a node went down: $(grep -m3 'node .* down' "$WORK/leaf.log")"
kill -TERM "$LEAF_PID"
wait_until 20 "the leaf stopped" bash -c "! kill -0 $LEAF_PID 2>/dev/null"
grep -q "connects ok" "$WORK/leaf.log" || fail "no shutdown summary in the leaf log"
log "ok: $(rows) rows, the leaf stopped cleanly"
