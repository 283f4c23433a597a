#!/usr/bin/env bash
# test_fleet_census_erl: module_clash on real BEAM nodes (docs/ALARMS.md "Fleet checks").
# Two real erl nodes of the same release (the boot script's, Erlang/OTP-NN) both load wf_mod
# (version 1) -> warren-leaf (with the agent) -> warren-root. Loading another version of
# wf_mod on one node (a hot fix by hand) raises module_clash at the root, naming wf_mod and
# both nodes, raised by the leaf (the lowest tier that sees both); loading version 1 back
# clears it. The time from the load to the root is logged. Ports 28000-28299 (PORT_BASE
# moves them), nodes wf_*.
# different_application_versions: both nodes run the application wf_app 1.0 (a .app file on
# their code path); restarting it on one node from a second directory (wf_app 2.0 first in its
# code path) raises the alarm at the root, naming wf_app, both versions and both nodes;
# restarting 1.0 there clears it (helper I, issue 4).
source "$(dirname "$0")/lib.sh"

need_agent

make_cookie
A="wf_a$$"; B="wf_b$$"
NA="$A@$SHORT_HOST"; NB="$B@$SHORT_HOST"

make_mod_versions wf_mod
mkdir -p "$WORK/app1" "$WORK/app2"
for v in 1 2; do
  printf '{application, wf_app, [{description, "warren test"}, {vsn, "%s.0"}, {modules, []},\n  {registered, []}, {applications, [kernel, stdlib]}]}.\n' "$v" > "$WORK/app$v/wf_app.app"
done

for n in "$A" "$B"; do
  erl -sname "$n" -setcookie "$COOKIE" -noshell -noinput -pa "$WORK/v1" -pa "$WORK/app1" \
    -eval 'code:ensure_loaded(wf_mod), ok = application:start(wf_app).' \
    >>"$WORK/erl-$n.log" 2>&1 &
  PIDS+=($!)
done
wait_until 30 "erl nodes registered in epmd" bash -c "epmd -names | grep -q '^name $A ' && epmd -names | grep -q '^name $B '"

write_configs() {
  write_root_conf root-wf 1.0 "store = { path = \"$WORK/root-data\"; };"
  write_leaf_conf leaf leaf-wf "$ROUTER_PORT" "interval = 1.0; down_after = 3;
         reconnect_max = 1.0; agent_dir = \"$AGENT_DIR\";" "{ name = \"$NA\"; }, { name = \"$NB\"; }"
  check_configs root leaf
}
# Tier ports: free ones in 28000-28299, PORT_BASE moves them (lib.sh's start_tiers: others
# when one is taken meanwhile).
start_tiers "${PORT_BASE:-28000}" write_configs 300 root leaf
wait_until 30 "both nodes up at the root" ctl_jq '[.nodes[] | select(.state == "up")] | length == 2' nodes

# load_v DIR NODE: purges and loads wf_mod from DIR on NODE
load_v() { load_mod_from "$2" wf_mod "$1"; }
clash() {
  ctl alarms --type module_clash | jq -e --arg a "$NA" --arg b "$NB" \
    '[.alarms[] | select(.resource == "wf_mod" and (.text | contains($a)) and (.text | contains($b)))] | .[0] // empty'
}
no_clash() { ctl alarms --type module_clash | jq -e '[.alarms[] | select(.resource == "wf_mod")] | length == 0'; }
wait_until 15 "the agent census answered on both nodes" bash -c \
  "erl -sname wf_probe$$ -setcookie $COOKIE -hidden -noshell -noinput -eval \"R = rpc:call('$NB', warren_agent, census, [], 5000), io:format(\\\"~p~n\\\", [element(1, R)]), halt().\" 2>/dev/null | grep -q warren_census"
no_clash >/dev/null || fail "module_clash before any hot load: $(ctl alarms --type module_clash)"

# raised_at_root DESC FILTER AFTER: waits for the alarm that the function FILTER prints, checks
# that it is major, raised by the leaf, on the release; logs the time since t0.
raised_at_root() {
  local a
  wait_until 30 "$1 naming both nodes at the root" "$2"
  a=$("$2")
  echo "$a" | jq -e '.severity == "major" and .origin == "leaf-wf" and (.scope | startswith("Erlang/OTP"))' >/dev/null \
    || fail "unexpected alarm: $a"
  log "${1%% *} at the root $(( ($(date +%s%N) - t0) / 1000000 )) ms after $3: $(echo "$a" | jq -c '{scope, text}')"
}

load_v "$WORK/v2" "$NB" | grep -q "module,wf_mod" || fail "loading v2 on $NB failed"
t0=$(date +%s%N)
raised_at_root "module_clash wf_mod" clash "the load"

load_v "$WORK/v1" "$NB" | grep -q "module,wf_mod" || fail "loading v1 back on $NB failed"
t0=$(date +%s%N)
wait_until 30 "module_clash wf_mod cleared at the root" no_clash
log "cleared at the root $(( ($(date +%s%N) - t0) / 1000000 )) ms after loading v1 back"

# different_application_versions: wf_app 2.0 on NB (its directory first in the code path),
# then 1.0 again (that directory removed)
app_vsn() {
  erl_rpc "$NB" "$COOKIE" erlang apply "[fun() -> application:stop(wf_app), application:unload(wf_app),
    _ = code:$1(\"$WORK/app2\"), ok = application:start(wf_app),
    lists:keyfind(wf_app, 1, application:which_applications()) end, []]"
}
app_clash() {
  ctl alarms --type different_application_versions | jq -e --arg a "$NA" --arg b "$NB" \
    '[.alarms[] | select(.resource == "wf_app" and (.text | contains($a)) and (.text | contains($b))
       and (.text | contains("1.0")) and (.text | contains("2.0")))] | .[0] // empty'
}
no_app_clash() { ctl alarms --type different_application_versions | jq -e '[.alarms[] | select(.resource == "wf_app")] | length == 0'; }
no_app_clash >/dev/null || fail "different_application_versions before any upgrade: $(ctl alarms --type different_application_versions)"
r=$(app_vsn add_patha) || true
grep -q '"2.0"' <<<"$r" || fail "starting wf_app 2.0 on $NB failed: $r"
t0=$(date +%s%N)
raised_at_root "different_application_versions wf_app" app_clash "the restart"
r=$(app_vsn del_path) || true
grep -q '"1.0"' <<<"$r" || fail "starting wf_app 1.0 again on $NB failed: $r"
t0=$(date +%s%N)
wait_until 30 "different_application_versions wf_app cleared at the root" no_app_clash
log "different_application_versions cleared at the root $(( ($(date +%s%N) - t0) / 1000000 )) ms after restarting 1.0"
log "PASS"
