#!/usr/bin/env bash
# test_more_alarms_erl: more node alarms of leaf/leaf_alarms.c caused on real BEAM nodes and
# seen at the root through `warrenctl --json alarms` (issue 4). Real `erl` nodes -> warren-leaf
# -> warren-relay -> warren-root, the leaf's levels lowered in its config. On node D:
#   long_gc, large_heap: three rounds of a process whose heap passes 8 M words (rates: 2 a
#     minute), cleared when a minute has passed without events;
# on node E, a shell reading a fifo:
#   shell_process_size: a 3-million-element list bound in the shell (minor at 20 MB), then f()
#     and a collection of every process (cleared);
# on node A (`erl +t 40000 +Q 1024`):
#   limit_forecast (atoms): a steady atom leak (~250 a second) projects the atom table full
#     within the 300 s horizon (warning); the leak stopped, the trend flattens (cleared);
#   ets_limit: 100 then 100 more ets tables (minor at 1%, major at 2% of 8,192), deleted;
#   port_limit: 120 then 100 more UDP sockets (minor at 10%, major at 20% of 1,024), closed;
#   old_code: a module loaded twice without a purge (minor), code:purge/1 (cleared);
#   memory_usage: a binary held so that memory.total passes 50% of machine_mb (minor), dropped;
#   full_mesh_size: two more nodes connected (warning at 2 visible peers), stopped (cleared);
#   atom_limit: atoms created to 75% (minor) then 88% (major) of the table; atoms are never
#     freed, so the cause goes away with a restart of the node (cleared);
# on node F (helper I), the only node of the test whose module count comes near its levels:
#   busy_dist_port: bursts of ten 1 MB messages to a process on node R (not monitored) for 2 s:
#     each send past the first finds the distribution buffer over its busy limit (the default
#     1 MB of +zdbbl), so the sender is suspended, a system monitor event each (rate 2 a
#     minute; the default limit leaves F's link to the leaf unaffected); cleared a minute after;
#   module_limit: the limit set to the largest module count of the nodes at start + 200, the
#     levels at that count + 100 / + 140 (clear levels at + 60 / + 120): F compiles and loads
#     tiny modules up to each level (minor, major), then deletes and purges them (cleared).
# Each step waits for the alarm at the root with its severity, then for its absence, and prints
# the time from cause to root ("cause -> root: ... in N ms"; docs/BENCHMARKS.md section 4).
source "$(dirname "$0")/lib.sh"

need_agent
make_cookie
A="h_ma$$"; B="h_mb$$"; C="h_mc$$"; D="h_md$$"; E="h_me$$"; F="i_mf$$"; R="i_mr$$"
NODE="$A@$SHORT_HOST"; NODE_D="$D@$SHORT_HOST"; NODE_E="$E@$SHORT_HOST"; NODE_F="$F@$SHORT_HOST"

# The node's controller, registered as h_ctl; every request is {Op, Arg, From} -> {h_ok, R}.
CTL_CODE='
Forms = [{attribute,1,module,h_oc},{attribute,2,export,[{f,0}]},
         {function,3,f,0,[{clause,3,[],[],[{atom,3,ok}]}]}],
{ok, h_oc, OcBin} = compile:forms(Forms),
Leak = fun Lk(I) -> receive stop -> ok after 200 ->
         [list_to_atom("h_leak_" ++ integer_to_list(I * 50 + K)) || K <- lists:seq(1, 50)],
         Lk(I + 1) end end,
Loop = fun L(S) ->
  receive
    {Op, Arg, From} ->
      {R, S2} = case Op of
        leak -> P = spawn(fun() -> Leak(0) end), {ok, S#{leak => P}};
        stopleak -> maps:get(leak, S) ! stop, {ok, S};
        atoms_to -> Mk = fun M(I) -> case erlang:system_info(atom_count) >= Arg of
                                       true -> ok;
                                       false -> list_to_atom("h_atom_" ++ integer_to_list(I)), M(I + 1)
                                     end end,
                    Mk(0), {erlang:system_info(atom_count), S};
        ets -> Ts = [ets:new(h_t, []) || _ <- lists:seq(1, Arg)],
               {erlang:system_info(ets_count), S#{ets => Ts ++ maps:get(ets, S, [])}};
        etsfree -> [ets:delete(T) || T <- maps:get(ets, S, [])],
                   {erlang:system_info(ets_count), S#{ets => []}};
        ports -> Ps = [U || _ <- lists:seq(1, Arg), {ok, U} <- [gen_udp:open(0)]],
                 {erlang:system_info(port_count), S#{ports => Ps ++ maps:get(ports, S, [])}};
        portsfree -> [gen_udp:close(U) || U <- maps:get(ports, S, [])],
                     {erlang:system_info(port_count), S#{ports => []}};
        oldcode -> code:load_binary(h_oc, "h_oc.erl", OcBin),
                   code:load_binary(h_oc, "h_oc.erl", OcBin), {erlang:check_old_code(h_oc), S};
        purge -> {code:purge(h_oc), S};
        mem -> H = spawn(fun() -> B = binary:copy(<<7>>, Arg * 1048576),
                                  receive stop -> byte_size(B) end end),
               {erlang:memory(total) div 1048576, S#{mem => H}};
        memfree -> case maps:find(mem, S) of {ok, H} -> H ! stop; error -> ok end,
                   {erlang:memory(total) div 1048576, maps:remove(mem, S)};
        ping -> {[net_adm:ping(N) || N <- Arg], S}
      end,
      From ! {h_ok, R}, L(S2)
  end
end,
register(h_ctl, spawn(fun() -> Loop(#{}) end)).'

start_main() {
  (ulimit -n 4096; exec erl -sname "$A" -setcookie "$COOKIE" -noshell -noinput +t 40000 +Q 1024 \
     -eval "$CTL_CODE") >>"$WORK/erl-$A.log" 2>&1 &
  LAST_PID=$!
  PIDS+=($LAST_PID)
}
start_main; NODE_PID=$LAST_PID

# Node D: system monitor events. Its h_ctl: {burst, _, From} starts three rounds, a second
# apart, of a process whose heap passes 8 M words (large_heap) and whose collections take more
# than 100 ms (long_gc), and answers at once; {burstwait, _, From} answers when they are over.
SM_CODE='
Round = fun() -> {P, Ref} = spawn_monitor(fun() -> L = lists:seq(1, 6000000),
                                            erlang:garbage_collect(), length(L) end),
                 receive {_, Ref, process, P, _} -> ok end end,
Loop = fun L(B) ->
  receive
    {burst, _, From} -> Me = self(),
      Pb = spawn(fun() -> [begin Round(), timer:sleep(1000) end || _ <- [1, 2, 3]], Me ! burst_over end),
      From ! {h_ok, ok}, L(Pb);
    {burstwait, _, From} -> receive burst_over -> From ! {h_ok, over} end, L(none)
  end
end,
register(h_ctl, spawn(fun() -> Loop(none) end)).'
erl -sname "$D" -setcookie "$COOKIE" -noshell -noinput -eval "$SM_CODE" >>"$WORK/erl-$D.log" 2>&1 &
PIDS+=($!)
# Node E: a shell reading its commands from a fifo (user's group names the shell server).
mkfifo "$WORK/shell.in"
erl -sname "$E" -setcookie "$COOKIE" <"$WORK/shell.in" >>"$WORK/erl-$E.log" 2>&1 &
E_PID=$!; PIDS+=($E_PID)
exec 7>"$WORK/shell.in"
CLEANUPS+=("exec 7>&-")
# Node F (helper I): its h_ctl loads tiny modules until the node has Arg (mods_to), deletes and
# purges them (modsfree), and sends bursts of 1 MB messages to i_sink on node Arg for 2 s
# (flood; answers once connected), {floodwait, _, From} answering when they are over. The
# compiler is loaded at start, so that it is part of the counts the levels are computed from.
F_CODE='
{ok, _, _} = compile:forms([{attribute,1,module,i_warm}]),
Mod = fun(I) -> N = list_to_atom("i_gm_" ++ integer_to_list(I)),
        {ok, N, Bin} = compile:forms([{attribute,1,module,N},{attribute,2,export,[{f,0}]},
                                      {function,3,f,0,[{clause,3,[],[],[{atom,3,ok}]}]}]),
        {module, N} = code:load_binary(N, "i_gm.erl", Bin), N end,
Loop = fun L(S) ->
  receive
    {Op, Arg, From} ->
      {R, S2} = case Op of
        mods_to -> Ld = fun M(I, Acc) -> case length(code:all_loaded()) >= Arg of
                                           true -> {I, Acc};
                                           false -> M(I + 1, [Mod(I) | Acc]) end end,
                   {I2, Ms} = Ld(maps:get(next, S, 0), maps:get(mods, S, [])),
                   {length(code:all_loaded()), S#{next => I2, mods => Ms}};
        modsfree -> [begin code:delete(M), code:purge(M) end || M <- maps:get(mods, S, [])],
                    {length(code:all_loaded()), S#{mods => []}};
        flood -> true = net_kernel:connect_node(Arg), Me = self(),
                 spawn(fun() -> Bin = binary:copy(<<1>>, 1048576),
                                [begin [{i_sink, Arg} ! Bin || _ <- lists:seq(1, 10)], timer:sleep(200) end
                                 || _ <- lists:seq(1, 10)],
                                Me ! flood_over end),
                 {ok, S};
        floodwait -> receive flood_over -> {over, S} end
      end,
      From ! {h_ok, R}, L(S2)
  end
end,
register(h_ctl, spawn(fun() -> Loop(#{}) end)).'
erl -sname "$F" -setcookie "$COOKIE" -noshell -noinput -eval "$F_CODE" >>"$WORK/erl-$F.log" 2>&1 &
PIDS+=($!)
erl -sname "$R" -setcookie "$COOKIE" -noshell -noinput \
  -eval 'register(i_sink, spawn(fun S() -> receive _ -> S() end end)).' >>"$WORK/erl-$R.log" 2>&1 &
PIDS+=($!)
for n in "$A" "$D" "$E" "$F" "$R"; do wait_until 30 "erl node $n registered in epmd" epmd_has "$n"; done

# ctl_on NODE OP ARG: sends {OP, ARG, self()} to h_ctl on NODE and prints its answer.
ctl_on() {
  erl -sname "h_probe$$_$RANDOM" -setcookie "$COOKIE" -hidden -noshell -noinput -eval "
    {h_ctl, '$1'} ! {$2, $3, self()},
    receive {h_ok, R} -> io:format(\"~p~n\", [R]), halt(0)
    after 20000 -> io:format(\"no answer~n\"), halt(1) end." 2>&1
}
ctl_node() { ctl_on "$NODE" "$@"; }

# machine_mb: twice the node's memory now plus 60 MB, so that 50% is ~30 MB above its use.
base_mb=$(ctl_node memfree 0) || fail "memory of $A: $base_mb"
MACHINE_MB=$(( base_mb * 2 + 60 ))
MEM_MB=$(( MACHINE_MB / 2 - base_mb + 15 ))
log "node memory ${base_mb} MB: machine_mb = $MACHINE_MB, the memory step holds $MEM_MB MB"

# module_limit (helper I): levels from the largest module count of the monitored nodes now
# (once F's h_ctl is registered: it has loaded the compiler)
f_ready() { erl_rpc "$NODE_F" "$COOKIE" erlang whereis '[h_ctl]' | grep -q '^<'; }
wait_until 30 "h_ctl registered on $F" f_ready
mods_max=$(erl -sname "i_p$$_$RANDOM" -setcookie "$COOKIE" -hidden -noshell -noinput -eval "
  Ns = ['$NODE', '$NODE_D', '$NODE_E', '$NODE_F'],
  Cs = [length(rpc:call(N, code, all_loaded, [], 5000)) || N <- Ns],
  io:format(\"~p~n\", [lists:max(Cs)]), halt()." 2>/dev/null) || fail "module counts: $mods_max"
[[ "$mods_max" =~ ^[0-9]+$ ]] || fail "module counts: $mods_max"
MOD_LIMIT=$(( mods_max + 200 ))
mod_pct() { awk -v n="$1" -v l="$MOD_LIMIT" 'BEGIN { printf "%.4f", 100.0 * n / l }'; }
MOD_MINOR=$(( mods_max + 100 )); MOD_MAJOR=$(( mods_max + 140 ))
log "largest module count $mods_max: module_limit $MOD_LIMIT, minor at $MOD_MINOR, major at $MOD_MAJOR modules"

write_configs() {
cat > "$WORK/root.conf" <<CONF
root = { id = "root-hm"; bind = "tcp://127.0.0.1:$ROUTER_PORT";
         http = { listen = "127.0.0.1"; port = $HTTP_PORT; };
         interval = 1.0; query_timeout = 5.0; store = { path = "$WORK/root-data"; }; };
CONF
cat > "$WORK/relay.conf" <<CONF
relay = { id = "relay-hm"; bind = "tcp://127.0.0.1:$RELAY_PORT";
          parents = ["tcp://127.0.0.1:$ROUTER_PORT"]; interval = 1.0; store = { path = "$WORK/relay-data"; }; };
CONF
cat > "$WORK/leaf.conf" <<CONF
leaf = { id = "leaf-hm"; cookie_file = "$WORK/cookie"; interval = 1.0; down_after = 3;
         reconnect_max = 1.0;
         parents = ["tcp://127.0.0.1:$RELAY_PORT"];
         store = { path = "$WORK/leaf-data"; map_size_mb = 64; };
         alarms = {
           long_gc = { rate = 2.0; clear_rate = 1.0; };
           large_heap = { rate = 2.0; clear_rate = 1.0; };
           shell_process_size = { minor_mb = 20.0; major_mb = 500.0; };
           ets_limit = { minor = 1.0; major = 2.0; minor_clear = 0.7; major_clear = 1.5; };
           port_limit = { minor = 10.0; major = 20.0; minor_clear = 5.0; major_clear = 15.0; };
           memory_usage = { machine_mb = $MACHINE_MB; minor = 50.0; major = 95.0; };
           full_mesh_size = { nodes = 2; clear_nodes = 1; };
           busy_dist_port = { rate = 2.0; clear_rate = 1.0; };
           module_limit = { limit = $MOD_LIMIT; minor = $(mod_pct "$MOD_MINOR"); major = $(mod_pct "$MOD_MAJOR");
                            minor_clear = $(mod_pct $(( mods_max + 60 ))); major_clear = $(mod_pct $(( mods_max + 120 ))); };
           node_down = { grace = 60.0; };
           forecast = { horizon = 300.0; step = 1.0; points = 5; min_points = 3; };
         };
         nodes = ( { name = "$NODE"; }, { name = "$NODE_D"; }, { name = "$NODE_E"; },
                   { name = "$NODE_F"; } ); };
CONF
for d in root relay leaf; do
  "$WARREN_BIN/warren-$d" --config "$WORK/$d.conf" --check-config >/dev/null || fail "$d.conf rejected"
done
}

# Tier ports in 31000-31999 (PORT_BASE moves them), below the ephemeral range (lib.sh's start_tiers).
start_tiers "${PORT_BASE:-31000}" write_configs
log "root answers on port $HTTP_PORT"

leaf_logged() { grep -q -- "$1" "$WORK/leaf.log"; }

# expect DESC TYPE SEVERITY|cleared [RESOURCE-REGEX]: waits until the root (warrenctl alarms)
# shows the alarm of ON (default NODE) with that severity, or none, then prints the time since
# CAUSE_T (taken when the cause is in place: after the node's answer).
expect() {
  local desc=$1 type=$2 sev=$3 res=${4-} on=${ON:-$NODE}
  if [ "$sev" = cleared ]; then
    wait_until 75 "root: $desc" root_alarm_lacks "$on" "$type" "$res"
  else
    wait_until 40 "root: $desc" root_alarm_has "$on" "$type" "$sev" "$res"
  fi
  log "cause -> root: $desc in $(( ($(date +%s%N) - CAUSE_T) / 1000000 )) ms"
}
cause() { r=$(ctl_node "$1" "$2") || fail "$1 $2 on $A: $r"; CAUSE_T=$(date +%s%N); log "$1 $2: $r"; }

wait_until 30 "atom.count of $NODE at the root" bash -c \
  "curl -sf '$ROOT_URL/api/v1/nodes/$NODE/metrics/atom.count' | jq -e '.points | length > 0'"
for t in ets_limit port_limit old_code memory_usage full_mesh_size atom_limit; do
  root_alarm_lacks "$NODE" "$t" >/dev/null || fail "$t active before its cause"
done

# 0. long_gc and large_heap on D, once the agent holds D's system monitor; they clear when a
#    minute has passed without events (the rate's window), checked at the end
sm_held() { erl_rpc "$NODE_D" "$COOKIE" erlang system_monitor '[]' | grep -q '^{<'; }
wait_until 30 "the agent holds the system monitor of $D" sm_held
r=$(ctl_on "$NODE_D" burst 0) || fail "burst on $D: $r"; CAUSE_T=$(date +%s%N)
ON=$NODE_D expect "large_heap warning" large_heap warning
ON=$NODE_D expect "long_gc warning" long_gc warning
r=$(ctl_on "$NODE_D" burstwait 0) || fail "burstwait on $D: $r"; SM_END_T=$(date +%s%N)

# 0a. busy_dist_port on F (helper I): its flood to R, cleared a minute after (checked at the end)
sm_held_f() { erl_rpc "$NODE_F" "$COOKIE" erlang system_monitor '[]' | grep -q '^{<'; }
wait_until 30 "the agent holds the system monitor of $F" sm_held_f
r=$(ctl_on "$NODE_F" flood "'$R@$SHORT_HOST'") || fail "flood on $F: $r"; CAUSE_T=$(date +%s%N)
ON=$NODE_F expect "busy_dist_port warning" busy_dist_port warning
r=$(ctl_on "$NODE_F" floodwait 0) || fail "floodwait on $F: $r"; BD_END_T=$(date +%s%N)

# 0b. shell_process_size on E: a 3-million-element list bound in the shell (~48 MB in the
#     evaluator and the shell server), then forgotten and collected
wait_until 30 "shell.memory of $NODE_E at the root" bash -c \
  "curl -sf '$ROOT_URL/api/v1/nodes/$NODE_E/metrics/shell.memory' | jq -e '.points | length > 0'"
echo 'HBig = lists:seq(1, 3000000), ok.' >&7; CAUSE_T=$(date +%s%N)
ON=$NODE_E expect "shell_process_size minor" shell_process_size minor
# (the shell server holds the bindings until the command that forgets them is over: collect after)
printf 'f(HBig).\n[erlang:garbage_collect(P) || P <- erlang:processes()], ok.\n' >&7; CAUSE_T=$(date +%s%N)
ON=$NODE_E expect "shell_process_size cleared" shell_process_size cleared

# 1. limit_forecast on the atoms: a steady leak, then none
cause leak 0
expect "limit_forecast atoms (leak)" limit_forecast warning atoms
cause stopleak 0
expect "limit_forecast atoms cleared (leak stopped)" limit_forecast cleared atoms

# 2. ets_limit
cause ets 100
expect "ets_limit minor" ets_limit minor
cause ets 100
expect "ets_limit major" ets_limit major
cause etsfree 0
expect "ets_limit cleared" ets_limit cleared

# 3. port_limit
cause ports 120
expect "port_limit minor" port_limit minor
cause ports 100
expect "port_limit major" port_limit major
cause portsfree 0
expect "port_limit cleared" port_limit cleared

# 4. old_code
cause oldcode 0
[ "$r" = true ] || fail "no old code after loading h_oc twice: $r"
expect "old_code minor" old_code minor
cause purge 0
expect "old_code cleared (purged)" old_code cleared

# 4b. module_limit on F (helper I): tiny modules loaded past the minor, then the major level
wait_until 30 "module.loaded of $NODE_F at the root" bash -c \
  "curl -sf '$ROOT_URL/api/v1/nodes/$NODE_F/metrics/module.loaded' | jq -e '.points | length > 0'"
root_alarm_lacks "$NODE_F" module_limit >/dev/null || fail "module_limit active on $F before its cause"
causef() { r=$(ctl_on "$NODE_F" "$1" "$2") || fail "$1 $2 on $F: $r"; CAUSE_T=$(date +%s%N); log "$1 $2 on $F: $r"; }
causef mods_to $(( MOD_MINOR + 5 ))
ON=$NODE_F expect "module_limit minor" module_limit minor
causef mods_to $(( MOD_MAJOR + 5 ))
ON=$NODE_F expect "module_limit major" module_limit major
causef modsfree 0
ON=$NODE_F expect "module_limit cleared (modules deleted and purged)" module_limit cleared
for n in "$NODE" "$NODE_D" "$NODE_E"; do
  root_alarm_lacks "$n" module_limit >/dev/null || fail "module_limit raised on $n: $(ctl alarms --type module_limit)"
done

# 5. memory_usage
cause mem "$MEM_MB"
expect "memory_usage minor" memory_usage minor
cause memfree 0
expect "memory_usage cleared" memory_usage cleared

# 6. full_mesh_size: two more nodes
start_erl "$B" "$COOKIE"; B_PID=$LAST_PID
start_erl "$C" "$COOKIE"; C_PID=$LAST_PID
wait_until 30 "erl nodes $B and $C registered in epmd" bash -c "epmd -names | grep -q ' $B ' && epmd -names | grep -q ' $C '"
cause ping "['$B@$SHORT_HOST', '$C@$SHORT_HOST']"
[ "$r" = "[pong,pong]" ] || fail "ping answered $r"
expect "full_mesh_size warning (2 peers)" full_mesh_size warning
CAUSE_T=$(date +%s%N); kill -9 "$B_PID" "$C_PID"
expect "full_mesh_size cleared (peers stopped)" full_mesh_size cleared

# 7. atom_limit: 75% then 88% of 40,000; cleared by a restart of the node
cause atoms_to 30000
expect "atom_limit minor" atom_limit minor
cause atoms_to 35200
expect "atom_limit major" atom_limit major
CAUSE_T=$(date +%s%N); kill -9 "$NODE_PID"; wait "$NODE_PID" 2>/dev/null || true
wait_until 30 "$A gone from epmd" bash -c "! epmd -names | grep -q ' $A '"
start_main; NODE_PID=$LAST_PID
expect "atom_limit cleared (node restarted)" atom_limit cleared

# 0 (end). the system monitor alarms clear a minute after D's last event
CAUSE_T=$SM_END_T
ON=$NODE_D expect "large_heap cleared (from the end of the burst)" large_heap cleared
ON=$NODE_D expect "long_gc cleared (from the end of the burst)" long_gc cleared
CAUSE_T=$BD_END_T
ON=$NODE_F expect "busy_dist_port cleared (from the end of the flood)" busy_dist_port cleared

# the leaf's counters at stop
leaf_alarms_at_stop "$WORK/relay.log" "$WORK/root.log"
[ "$ALARMS_RAISED" -ge 10 ] || fail "expected >= 10 raised: $ALARMS_LINE"
[ "$ALARMS_CLEARED" -ge 10 ] || fail "expected >= 10 cleared: $ALARMS_LINE"
for p in "$ROOT_PID" "$RELAY_PID"; do kill -0 "$p" 2>/dev/null || fail "a daemon died"; done
log "PASS"
