#!/usr/bin/env bash
# test_northbound_am: alarms pushed by the root to a real Prometheus Alertmanager (Debian's
# prometheus-alertmanager, started here on a free port with a minimal config and a temp
# storage dir). A real `erl +P 1024` node -> warren-leaf with two parents (parent_mode = "all")
# -> two roots (a root pair), both with northbound.alertmanager = the same Alertmanager.
# Spawning processes to ~78% of the limit raises process_limit at both roots: Alertmanager's
# /api/v2/alerts shows exactly ONE alert for it (identical labels from both roots); killing
# them clears it and the alert is resolved (gone from the active list). Both roots count what
# they pushed in /api/v1/status and /metrics. Ports 26500-26999.
source "$(dirname "$0")/lib.sh"

AM_BIN=$(command -v prometheus-alertmanager || true)
[ -n "$AM_BIN" ] || fail "prometheus-alertmanager is not installed (scripts/install-deps installs it)"
need_agent

make_cookie
A="nb_a$$"
NODE="$A@$SHORT_HOST"
BASE=$(( 26500 + ($$ % 80) * 6 ))
RA=$BASE; RB=$((BASE + 1)); HA=$((BASE + 2)); HB=$((BASE + 3)); AMP=$((BASE + 4)); AMC=$((BASE + 5))
AM_URL="http://127.0.0.1:$AMP"

# --- Alertmanager -------------------------------------------------------------------------
printf 'route:\n  receiver: "null"\n  group_wait: 1s\nreceivers:\n  - name: "null"\n' > "$WORK/am.yml"
start_bg alertmanager "$AM_BIN" --config.file="$WORK/am.yml" --storage.path="$WORK/am-data" \
  --web.listen-address="127.0.0.1:$AMP" --cluster.listen-address=""
wait_until 30 "Alertmanager answers" curl -sf "$AM_URL/api/v2/status"

# --- the BEAM node: a controller that spawns and kills processes ----------------------------
CTL_CODE='
Loop = fun L(Ps) ->
  receive
    {spawn, N, From} ->
      New = [spawn(fun() -> receive stop -> ok end end) || _ <- lists:seq(1, N)],
      From ! {nb_ok, length(New)}, L(New ++ Ps);
    {killall, From} -> [exit(P, kill) || P <- Ps], From ! {nb_ok, 0}, L([])
  end
end,
register(nb_ctl, spawn(fun() -> Loop([]) end)).'
erl -sname "$A" -setcookie "$COOKIE" -noshell -noinput +P 1024 -eval "$CTL_CODE" >>"$WORK/erl-$A.log" 2>&1 &
PIDS+=($!)
ctl_node() {
  erl -sname "nb_probe$$_$RANDOM" -setcookie "$COOKIE" -hidden -noshell -noinput -eval "
    {nb_ctl, '$NODE'} ! $1,
    receive {nb_ok, R} -> io:format(\"~p~n\", [R]), halt(0)
    after 10000 -> io:format(\"no answer~n\"), halt(1) end." 2>&1
}
wait_until 30 "erl node $A registered in epmd" epmd_has "$A"

# --- two roots, one leaf --------------------------------------------------------------------
for r in a b; do
  if [ $r = a ]; then RP=$RA; HP=$HA; else RP=$RB; HP=$HB; fi
  cat > "$WORK/root-$r.conf" <<CONF
root = { id = "root-$r"; bind = "tcp://127.0.0.1:$RP";
         http = { listen = "127.0.0.1"; port = $HP; };
         interval = 1.0; store = { path = "$WORK/root-$r-data"; };
         northbound = { alertmanager = ["$AM_URL"]; resend_interval = 30.0;
                        backoff = { min = 0.2; max = 2.0; }; timeout = 5.0; }; };
CONF
done
cat > "$WORK/leaf.conf" <<CONF
leaf = { id = "leaf-nb"; cookie_file = "$WORK/cookie"; interval = 1.0; down_after = 3;
         reconnect_max = 1.0; parent_mode = "all";
         parents = ["tcp://127.0.0.1:$RA", "tcp://127.0.0.1:$RB"];
         store = { path = "$WORK/leaf-data"; map_size_mb = 64; };
         nodes = ( { name = "$NODE"; } ); };
CONF
for c in root-a root-b leaf; do
  d=${c%%-*}
  "$WARREN_BIN/warren-$d" --config "$WORK/$c.conf" --check-config >/dev/null || fail "$c.conf rejected"
done
start_bg root-a "$WARREN_BIN/warren-root" --config "$WORK/root-a.conf"
start_bg root-b "$WARREN_BIN/warren-root" --config "$WORK/root-b.conf"
start_bg leaf "$WARREN_BIN/warren-leaf" --config "$WORK/leaf.conf"
wait_until 30 "root-a answers" curl -sf "http://127.0.0.1:$HA/api/v1/status"
wait_until 30 "root-b answers" curl -sf "http://127.0.0.1:$HB/api/v1/status"
wait_until 30 "process.count of $NODE at root-a" bash -c \
  "curl -sf 'http://127.0.0.1:$HA/api/v1/nodes/$NODE/metrics/process.count' | jq -e '.points | length > 0'"

# am_count: the number of active Alertmanager alerts process_limit of NODE
am_count() {
  curl -sf "$AM_URL/api/v2/alerts?active=true" | jq --arg n "$NODE" \
    '[.[] | select(.labels.alertname == "process_limit" and .labels.scope == $n and .status.state == "active")] | length'
}
am_has_one() { [ "$(am_count)" = 1 ]; }
am_has_none() { [ "$(am_count)" = 0 ]; }
root_has() {
  curl -sf "http://127.0.0.1:$1/api/v1/alarms" | jq -e --arg n "$NODE" \
    '[.alarms[] | select(.scope == $n and .type == "process_limit")] | length == 1'
}
pushed() {  # pushed PORT: alerts that root pushed to Alertmanager
  curl -sf "http://127.0.0.1:$1/api/v1/status" | jq '[.northbound[] | select(.kind == "alertmanager") | .pushed] | add'
}

limit=$(erl_rpc "$NODE" "$COOKIE" erlang system_info "[process_limit]")
base=$(erl_rpc "$NODE" "$COOKIE" erlang system_info "[process_count]")
[[ "$limit" =~ ^[0-9]+$ && "$base" =~ ^[0-9]+$ ]] || fail "node answered limit '$limit', count '$base'"
n1=$(( limit * 78 / 100 - base ))
T0=$(date +%s%N)
ctl_node "{spawn, $n1, self()}" >/dev/null || fail "spawning $n1 processes"
wait_until 30 "root-a holds process_limit" root_has "$HA"
wait_until 30 "root-b holds process_limit" root_has "$HB"
wait_until 30 "Alertmanager shows the alert" am_has_one
log "cause -> Alertmanager: $(( ($(date +%s%N) - T0) / 1000000 )) ms"
# both roots have pushed it, and it is still ONE alert
wait_until 20 "both roots pushed it" bash -c \
  "[ \$(curl -sf http://127.0.0.1:$HA/api/v1/status | jq '[.northbound[].pushed] | add') -ge 1 ] &&
   [ \$(curl -sf http://127.0.0.1:$HB/api/v1/status | jq '[.northbound[].pushed] | add') -ge 1 ]"
am_has_one || fail "Alertmanager shows $(am_count) alerts for one alarm pushed by two roots"
alert=$(curl -sf "$AM_URL/api/v2/alerts?active=true" | jq -c --arg n "$NODE" '[.[] | select(.labels.scope == $n)][0]')
echo "$alert" | jq -e '.labels.severity == "minor" and (.labels | has("warren_root") | not) and
  (.annotations.warren_root == "root-a" or .annotations.warren_root == "root-b")' >/dev/null \
  || fail "unexpected alert: $alert"
log "ok: one alert from two roots: $alert"
# read the whole page first: with pipefail, `curl | grep -q` fails when grep exits early
metrics=$(curl -sf "http://127.0.0.1:$HA/metrics")
grep -q '^warren_northbound_pushed_total{kind="alertmanager",dest="'"$AM_URL"'"} [1-9]' <<<"$metrics" \
  || fail "no warren_northbound_pushed_total in root-a's /metrics"

T0=$(date +%s%N)
ctl_node "{killall, self()}" >/dev/null || fail "killing the processes"
# endsAt of the active alert is 90 s away (3 x resend_interval): only the clear can resolve it now
wait_until 30 "Alertmanager resolved the alert" am_has_none
log "clear -> resolved in Alertmanager: $(( ($(date +%s%N) - T0) / 1000000 )) ms"
for hp in $HA $HB; do
  st=$(curl -sf "http://127.0.0.1:$hp/api/v1/status" | jq -c '.northbound[0]')
  echo "$st" | jq -e '.failed == 0 and .dropped == 0 and .rejected == 0' >/dev/null || fail "root on $hp: $st"
  log "root on $hp: $st"
done
log "PASS"
