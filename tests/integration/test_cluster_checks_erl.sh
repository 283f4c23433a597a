#!/usr/bin/env bash
# test_cluster_checks_erl: the cluster fleet checks on real BEAM nodes (docs/ALARMS.md
# "membership_divergence", "different_module_versions"). Three real erl nodes of one cluster
# (c_ring, named in the leaf config), connected in a full mesh by hand (every node runs with
# dist_auto_connect never, so nothing reconnects behind the test's back), all with cw_mod
# version 1 -> warren-leaf (with the agent; membership_grace 2 s) -> warren-root.
#  1. The third node disconnects from both peers: its view ({itself}) differs from the
#     others' -> membership_divergence at the root naming it as the odd node; it reconnects
#     -> cleared.
#  2. Another version of cw_mod is loaded on the third node -> different_module_versions at
#     the root naming cw_mod and that node; version 1 back -> cleared.
# The times from cause to root are logged ("cause-to-root"). Ports 29500-29799, nodes c_*.
source "$(dirname "$0")/lib.sh"

need_agent

make_cookie
A="c_a$$"; B="c_b$$"; C="c_c$$"
NA="$A@$SHORT_HOST"; NB="$B@$SHORT_HOST"; NC="$C@$SHORT_HOST"

make_mod_versions cw_mod

for n in "$A" "$B" "$C"; do
  erl -sname "$n" -setcookie "$COOKIE" -noshell -noinput -kernel dist_auto_connect never -connect_all false \
    -pa "$WORK/v1" -eval 'code:ensure_loaded(cw_mod).' >>"$WORK/erl-$n.log" 2>&1 &
  PIDS+=($!)
done
wait_until 30 "erl nodes registered in epmd" bash -c "epmd_has() { epmd -names | grep -q \"^name \$1 \"; }; epmd_has $A && epmd_has $B && epmd_has $C"

# on NODE EXPR: evaluates the Erlang expression EXPR on NODE (a fun applied there), prints ~p
on() { erl_rpc "$1" "$COOKIE" erlang apply "[fun() -> $2 end, []]"; }
mesh() {
  on "$NA" "[net_kernel:connect_node('$NB'), net_kernel:connect_node('$NC')]" >/dev/null
  on "$NB" "net_kernel:connect_node('$NC')" >/dev/null
}
full_mesh() {
  for n in "$NA" "$NB" "$NC"; do on "$n" "length(nodes())" | grep -qx 2 || return 1; done
}
mesh
wait_until 15 "a full mesh of three" full_mesh

write_configs() {
  write_root_conf root-cw 0.5 "store = { path = \"$WORK/root-data\"; };"
  write_leaf_conf leaf leaf-cw "$ROUTER_PORT" "interval = 0.5; down_after = 6;
         reconnect_max = 1.0; agent_dir = \"$AGENT_DIR\"; membership_grace = 2.0;" \
    "{ name = \"$NA\"; cluster = \"c_ring\"; }, { name = \"$NB\"; cluster = \"c_ring\"; },
                   { name = \"$NC\"; cluster = \"c_ring\"; }"
  check_configs root leaf
}
# Tier ports: free ones in 29500-29799 (lib.sh's start_tiers: others when one is taken meanwhile).
start_tiers 29500 write_configs 300 root leaf
wait_until 30 "three nodes up at the root" ctl_jq '[.nodes[] | select(.state == "up")] | length == 3' nodes
wait_until 15 "the agent's census (version 2, with a view) on the third node" bash -c \
  "erl -sname c_probe$$ -setcookie $COOKIE -hidden -noshell -noinput -eval \"R = rpc:call('$NC', warren_agent, census, [], 5000), io:format(\\\"~p~n\\\", [{element(1, R), element(2, R)}]), halt().\" 2>/dev/null | grep -q 'warren_census,2'"

# alarm TYPE: the active alarm of TYPE in scope c_ring, or fails
alarm() { ctl alarms --type "$1" | jq -e '[.alarms[] | select(.scope == "c_ring")] | .[0] // empty'; }
none() { ctl alarms --type "$1" | jq -e '[.alarms[] | select(.scope == "c_ring")] | length == 0'; }
# a few census rounds (6 intervals each) with the mesh whole: nothing raised
t_quiet=$(( $(date +%s) + 5 ))
while [ "$(date +%s)" -lt "$t_quiet" ]; do
  none membership_divergence >/dev/null || fail "membership_divergence with a whole mesh: $(ctl alarms --type membership_divergence)"
  none different_module_versions >/dev/null || fail "different_module_versions before any load: $(ctl alarms)"
  sleep 0.5
done

# 1. the third node leaves the mesh
on "$NC" "[erlang:disconnect_node('$NA'), erlang:disconnect_node('$NB')]" >/dev/null
t0=$(date +%s%N)
odd() { alarm membership_divergence | jq -e --arg c "$NC" --arg a "$NA" \
          '.resource == "membership" and (.text | startswith("odd nodes: " + $c)) and (.text | contains($a))'; }
wait_until 40 "membership_divergence naming $NC at the root" odd
a=$(alarm membership_divergence)
echo "$a" | jq -e '.severity == "major" and .origin == "leaf-cw"' >/dev/null || fail "unexpected alarm: $a"
log "cause-to-root membership_divergence: $(( ($(date +%s%N) - t0) / 1000000 )) ms (grace 2 s, census every 3 s): $(echo "$a" | jq -c '{text}')"
on "$NC" "nodes()" | grep -qx '\[\]' || fail "$NC reconnected by itself: $(on "$NC" "nodes()")"

mesh
t0=$(date +%s%N)
wait_until 40 "membership_divergence cleared at the root" none membership_divergence
log "cause-to-root membership_divergence clear: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
full_mesh || fail "the mesh is not whole after the clear"

# 2. another version of cw_mod on the third node
load_v() { load_mod_from "$2" cw_mod "$1"; }
load_v "$WORK/v2" "$NC" | grep -q "module,cw_mod" || fail "loading v2 on $NC failed"
t0=$(date +%s%N)
dmv() { alarm different_module_versions | jq -e --arg c "$NC" '.resource == "cw_mod" and (.text | contains($c))'; }
wait_until 40 "different_module_versions cw_mod naming $NC at the root" dmv
a=$(alarm different_module_versions)
echo "$a" | jq -e '.severity == "major" and .origin == "leaf-cw"' >/dev/null || fail "unexpected alarm: $a"
log "cause-to-root different_module_versions: $(( ($(date +%s%N) - t0) / 1000000 )) ms: $(echo "$a" | jq -c '{text}')"
load_v "$WORK/v1" "$NC" | grep -q "module,cw_mod" || fail "loading v1 back on $NC failed"
t0=$(date +%s%N)
wait_until 40 "different_module_versions cleared at the root" none different_module_versions
log "cause-to-root different_module_versions clear: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
log "PASS"
