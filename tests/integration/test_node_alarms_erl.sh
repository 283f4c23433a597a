#!/usr/bin/env bash
# test_node_alarms_erl: the node alarms of leaf/leaf_alarms_node.c and fd_limit, caused on a
# real BEAM node and seen at the root. A real `erl` node (ulimit -n 1024, started with
# -config sys.config and SASL) -> warren-leaf -> warren-relay -> warren-root:
#   fd_limit: opening 150 files (minor at 10% in the leaf's config), 400 more (major at 50%),
#     closing them (cleared);
#   config_unparseable: a zero-width space (U+200B, invisible) appended to the sys.config, which
#     the boot would refuse; cleared when the file is restored; config_changed: a comment
#     appended (still parses), cleared when restored;
#   beam_alarm: alarm_handler:set_alarm({my_alarm, "x"}) on the node; cleared by clear_alarm.
# Each step is checked in the leaf's log and at the root (GET /api/v1/alarms), and the time
# from cause to root is printed ("cause -> root: ... in N ms"; docs/BENCHMARKS.md section 4).
source "$(dirname "$0")/lib.sh"

need_agent

make_cookie
A="wn_a$$"
NODE="$A@$SHORT_HOST"
SYSCONFIG="$WORK/sys.config"
printf '[{kernel, [{logger_level, notice}]},\n {sasl, [{sasl_error_logger, false}]}].\n' > "$SYSCONFIG"
cp "$SYSCONFIG" "$WORK/sys.config.orig"

# The node runs a controller, registered as wn_ctl: {open, N} opens N files, closeall.
CTL_CODE='
application:start(sasl),
Loop = fun L(Fs) ->
  receive
    {open, N, From} ->
      New = [F || _ <- lists:seq(1, N), {ok, F} <- [file:open("/dev/null", [read, raw])]],
      From ! {wn_ok, length(New)}, L(New ++ Fs);
    {closeall, From} -> [file:close(F) || F <- Fs], From ! {wn_ok, 0}, L([])
  end
end,
register(wn_ctl, spawn(fun() -> Loop([]) end)).'

(ulimit -n 1024; exec erl -sname "$A" -setcookie "$COOKIE" -noshell -noinput \
   -config "$WORK/sys" -eval "$CTL_CODE") >>"$WORK/erl-$A.log" 2>&1 &
NODE_PID=$!
PIDS+=($NODE_PID)
wait_until 30 "erl node $A registered in epmd" epmd_has "$A"

ctl_node() {
  erl -sname "wn_probe$$_$RANDOM" -setcookie "$COOKIE" -hidden -noshell -noinput -eval "
    {wn_ctl, '$NODE'} ! $1,
    receive {wn_ok, R} -> io:format(\"~p~n\", [R]), halt(0)
    after 10000 -> io:format(\"no answer~n\"), halt(1) end." 2>&1
}

write_configs() {
  write_root_conf root-wn 1.0 "store = { path = \"$WORK/root-data\"; };"
  write_relay_conf relay-wn "store = { path = \"$WORK/relay-data\"; };"
  write_leaf_conf leaf leaf-wn "$RELAY_PORT" "interval = 1.0; down_after = 3;
         reconnect_max = 1.0;" "{ name = \"$NODE\"; }" "alarms = { fd_limit = { minor = 10.0; major = 50.0; }; };"
  check_configs root relay leaf
}

# Tier ports: three in a row in 20000-20999 that no socket uses now (below the kernel's
# ephemeral ports, which outgoing connections take at random):
# lib.sh's start_tiers.
start_tiers 20000 write_configs
log "root answers on port $HTTP_PORT"

# root_has TYPE SEVERITY RESOURCE: the root lists exactly that active alarm of NODE (lib.sh;
# RESOURCE is matched whole as a regex: the paths here have no special characters but dots).
root_has() { root_alarm_has "$NODE" "$1" "$2" "$3"; }
root_lacks() { root_alarm_lacks "$NODE" "$1"; }
leaf_logged() { grep -q -- "$1" "$WORK/leaf.log"; }

# expect DESC TYPE SEVERITY|cleared LOG-REGEX [RESOURCE]: waits for the leaf's log line and the
# root's state, then prints the time since CAUSE_T.
expect() {
  local desc=$1 type=$2 sev=$3 logre=$4 res=${5:-}
  if [ "$sev" = cleared ]; then
    wait_until 30 "root: $desc" root_lacks "$type"
  else
    wait_until 30 "root: $desc" root_has "$type" "$sev" "$res"
  fi
  local ms=$(( ($(date +%s%N) - CAUSE_T) / 1000000 ))
  wait_until 10 "leaf: $desc" leaf_logged "$logre"
  log "cause -> root: $desc in $ms ms"
}

wait_until 30 "fd.open of $NODE at the root" bash -c \
  "curl -sf '$ROOT_URL/api/v1/nodes/$NODE/metrics/fd.open' | jq -e '.points | length > 0'"
# fd.limit is the node's ulimit -n
wait_until 30 "fd.limit of $NODE is 1024 at the root" bash -c \
  "curl -sf '$ROOT_URL/api/v1/nodes/$NODE/metrics/fd.limit' | jq -e '.points[-1][1] == 1024'"
# the first collect has recorded the files: nothing is reported about them yet
root_lacks config_unparseable >/dev/null || fail "config_unparseable before any edit"

# 1. fd_limit: minor (10%), major (50%), cleared
CAUSE_T=$(date +%s%N); ctl_node "{open, 150, self()}" >/dev/null || fail "opening 150 files"
expect "fd_limit minor" fd_limit minor "alarm minor $NODE fd_limit: file descriptors"
CAUSE_T=$(date +%s%N); ctl_node "{open, 400, self()}" >/dev/null || fail "opening 400 more files"
expect "fd_limit major" fd_limit major "alarm major $NODE fd_limit"
CAUSE_T=$(date +%s%N); ctl_node "{closeall, self()}" >/dev/null || fail "closing the files"
expect "fd_limit cleared" fd_limit cleared "alarm clear $NODE fd_limit"

# 2. the sys.config: an invisible character that breaks the boot, then restored
CAUSE_T=$(date +%s%N); printf '\xe2\x80\x8b' >> "$SYSCONFIG"
expect "config_unparseable (U+200B in sys.config)" config_unparseable major \
  "alarm major $NODE config_unparseable $SYSCONFIG: no longer parses" "$SYSCONFIG"
CAUSE_T=$(date +%s%N); cp "$WORK/sys.config.orig" "$SYSCONFIG"
expect "config_unparseable cleared (restored)" config_unparseable cleared \
  "alarm clear $NODE config_unparseable $SYSCONFIG"
# an edit that still parses: config_changed, with the md5s
CAUSE_T=$(date +%s%N); printf '%% edited by hand\n' >> "$SYSCONFIG"
expect "config_changed (comment appended)" config_changed major \
  "alarm major $NODE config_changed $SYSCONFIG: changed since the agent's first look (md5 " "$SYSCONFIG"
CAUSE_T=$(date +%s%N); cp "$WORK/sys.config.orig" "$SYSCONFIG"
expect "config_changed cleared (restored)" config_changed cleared "alarm clear $NODE config_changed"

# 3. the node's own alarm_handler
CAUSE_T=$(date +%s%N)
r=$(erl_rpc "$NODE" "$COOKIE" alarm_handler set_alarm '[{my_alarm, "x"}]')
[ "$r" = ok ] || fail "set_alarm answered '$r'"
expect "beam_alarm my_alarm" beam_alarm indeterminate "alarm indeterminate $NODE beam_alarm my_alarm: x" my_alarm
CAUSE_T=$(date +%s%N)
r=$(erl_rpc "$NODE" "$COOKIE" alarm_handler clear_alarm '[my_alarm]')
[ "$r" = ok ] || fail "clear_alarm answered '$r'"
expect "beam_alarm cleared" beam_alarm cleared "alarm clear $NODE beam_alarm my_alarm"

# 4. the leaf's counters at stop
leaf_alarms_at_stop
[ "$ALARMS_RAISED" -ge 4 ] || fail "expected >= 4 raised: $ALARMS_LINE"
[ "$ALARMS_CLEARED" -ge 4 ] || fail "expected >= 4 cleared: $ALARMS_LINE"
for p in "$ROOT_PID" "$RELAY_PID"; do kill -0 "$p" 2>/dev/null || fail "a daemon died"; done
log "PASS"
