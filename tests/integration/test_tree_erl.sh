#!/usr/bin/env bash
# test_tree_erl: the whole tree end to end with real BEAM nodes:
# 3 real erl nodes -> warren-leaf -> warren-relay -> warren-root -> warrenctl --json.
# Checks the root reports every node up with the values the nodes themselves report, sees a
# node killed with kill -9 go down, and sees it come back when restarted.
source "$(dirname "$0")/lib.sh"

make_cookie
A="wta$$"; B="wtb$$"; C="wtc$$"

start_erl "$A" "$COOKIE"
start_erl "$B" "$COOKIE"; B_PID=$LAST_PID
start_erl "$C" "$COOKIE"
for n in "$A" "$B" "$C"; do wait_until 30 "erl node $n registered in epmd" epmd_has "$n"; done

write_configs() {
  write_root_conf root-t 1.0
  write_relay_conf relay-t
  write_leaf_conf leaf leaf-t "$RELAY_PORT" "interval = 1.0; down_after = 3;
         reconnect_max = 2.0;" "{ name = \"$A@$SHORT_HOST\"; }, { name = \"$B@$SHORT_HOST\"; }, { name = \"$C@$SHORT_HOST\"; }"
  check_configs root relay leaf
}
# Tier ports: three free ones in 27300-27398, below the kernel's ephemeral range; a port taken
# meanwhile restarts the tiers on others (lib.sh's start_tiers).
start_tiers 27300 write_configs 99
DAEMONS=("$ROOT_PID" "$RELAY_PID" "$LEAF_PID")

wait_until 30 "root reports 3 nodes up" ctl_jq '.nodes_up == 3 and .nodes_total == 3' status
ctl_jq '.leaves_up == 1 and .relays_up == 1 and .nodes_down == 0' status || fail "status: $(ctl status)"
ctl_jq '[.tiers[].kind] | sort == ["leaf","relay","root"]' tree || fail "tree: $(ctl tree)"
ctl_jq '[.nodes[] | select(.state == "up")] | length == 3' nodes || fail "nodes: $(ctl nodes)"

# Values at the root equal what the nodes report about themselves.
for metric_call in "process.limit:system_info:[process_limit]" "atom.limit:system_info:[atom_limit]" \
                   "port.limit:system_info:[port_limit]"; do
  IFS=: read -r metric fun args <<<"$metric_call"
  expected=$(erl_rpc "$A@$SHORT_HOST" "$COOKIE" erlang "$fun" "$args")
  [[ "$expected" =~ ^[0-9]+$ ]] || fail "node $A answered '$expected' for $fun$args"
  wait_until 15 "$metric of $A stored at its leaf" ctl_jq '.points | length > 0' metric "$A@$SHORT_HOST" "$metric"
  got=$(ctl metric "$A@$SHORT_HOST" "$metric" | jq -r '.points[-1][1] | floor')
  [ "$got" = "$expected" ] || fail "$metric: root says $got, node says $expected"
  log "$metric: root and node agree ($got)"
done
pc=$(ctl metric "$A@$SHORT_HOST" process.count | jq -r '.points[-1][1] | floor')
[ "$pc" -gt 10 ] || fail "implausible process.count $pc"

# Fleet rollups cover the three nodes.
wait_until 15 "fleet rollup of process.limit over 3 nodes" \
  ctl_jq '.metrics[] | select(.metric == "process.limit") | .count == 3' rollups

# Unknown node and unknown metric are clean errors.
if ctl metric "nosuch@nowhere" process.count >/dev/null 2>&1; then fail "unknown node accepted"; fi
if ctl metric "$A@$SHORT_HOST" no.such.metric >/dev/null 2>&1; then fail "unknown metric accepted"; fi

# kill -9 one node: the root sees it down, the others stay up.
kill -9 "$B_PID"
wait_until 20 "$B reported down at the root" \
  ctl_jq ".nodes[] | select(.name == \"$B@$SHORT_HOST\") | .state == \"down\"" nodes
ctl_jq '.nodes_up == 2 and .nodes_down == 1' status || fail "status after kill: $(ctl status)"

# Restart it under the same name: the root sees it up again.
wait_until 20 "epmd forgot $B" bash -c "! epmd -names | grep -q '^name $B '"
start_erl "$B" "$COOKIE"
wait_until 30 "$B up again at the root" \
  ctl_jq ".nodes[] | select(.name == \"$B@$SHORT_HOST\") | .state == \"up\"" nodes
ctl_jq '.nodes_up == 3' status || fail "status after restart: $(ctl status)"

# An unreachable root: one line on stderr, exit code 2.
set +e
"$WARRENCTL" --root http://127.0.0.1:1 status >/dev/null 2>"$WORK/ctl-err.txt"; rc=$?
set -e
[ $rc -eq 2 ] || fail "warrenctl against a dead root exited $rc, expected 2"
[ "$(wc -l < "$WORK/ctl-err.txt")" -eq 1 ] || fail "expected one line of error, got: $(cat "$WORK/ctl-err.txt")"

# The daemons are still alive and logged no errors worth failing for.
for p in "${DAEMONS[@]}"; do kill -0 "$p" 2>/dev/null || fail "a daemon died"; done
log "PASS"
