#!/usr/bin/env bash
# test_fleet_census: the module_clash fleet check end to end with warren-sim (docs/ALARMS.md
# "Fleet checks", docs/DESIGN-NOTES.md "Fleet checks"). 5 emulated nodes, 2 per leaf (so
# the last leaf holds one node alone), one relay, one root: the relay merges the leaves'
# census summaries. `warren-sim inject module_clash` on the lone node: no leaf sees two md5s,
# the relay is the lowest tier that does and raises module_clash (scope = release, resource
# = module, text naming the node), seen at the root and cleared when the fault is cleared.
# The same on a node that shares its leaf: the leaf raises it, and no tier above raises it
# again (one alarm, origin the leaf).
# Ports: emulated 28700-28704, tiers 28800+, HTTP 28880.
source "$(dirname "$0")/lib.sh"

SIM="$WARREN_BIN/warren-sim"
ROOT_URL="http://127.0.0.1:28880"
FAB="$WORK/fab"
CLEANUPS+=("'$SIM' down --dir '$FAB' >/dev/null 2>&1")
"$SIM" up --nodes 5 --leaf-size 2 --interval 1 --base-port 28700 --tier-port 28800 --http-port 28880 \
  --per-emulator 5 --timeout 60 --no-redundancy --dir "$FAB" >"$WORK/up.out" 2>"$WORK/up.log" \
  || { cat "$WORK/up.log" >&2; fail "warren-sim up failed"; }

# clash MODULE NODE: the root shows module_clash of MODULE naming NODE (prints the alarm)
clash() {
  ctl alarms --type module_clash | jq -e --arg m "$1" --arg n "$2" \
    '[.alarms[] | select(.type == "module_clash" and .resource == $m and (.text | contains($n)))] | .[0] // empty'
}
no_clash() { ctl alarms --type module_clash | jq -e '[.alarms[] | select(.type == "module_clash")] | length == 0'; }

# the lone node: the only node of its leaf
lone=$(ctl nodes | jq -r '[.nodes[] | {name, leaf}] | group_by(.leaf) | map(select(length == 1)) | .[0][0].name')
paired=$(ctl nodes | jq -r '[.nodes[] | {name, leaf}] | group_by(.leaf) | map(select(length == 2)) | .[0][0].name')
[ -n "$lone" ] && [ "$lone" != null ] && [ -n "$paired" ] && [ "$paired" != null ] \
  || fail "cannot find a lone and a paired node: $(ctl nodes)"
log "lone node $lone, paired node $paired"
wait_until 20 "no module_clash while every node runs the release's md5s" no_clash

# --- a clash only the root sees ---------------------------------------------------------
"$SIM" inject --dir "$FAB" --node "$lone" module_clash --module ant_tour >/dev/null || fail "inject module_clash"
t0=$(date +%s%N)
wait_until 30 "module_clash ant_tour naming $lone at the root" clash ant_tour "$lone"
a=$(clash ant_tour "$lone")
echo "$a" | jq -e '.scope == "antfarm-1.0.0" and .severity == "major" and (.origin | startswith("relay"))' >/dev/null \
  || fail "unexpected alarm (want scope antfarm-1.0.0, major, raised by the relay): $a"
echo "$a" | jq -e '.text | test("on 4 nodes")' >/dev/null || fail "text lacks the majority's count: $a"
log "module_clash (relay) raised $(( ($(date +%s%N) - t0) / 1000000 )) ms after the injection: $(echo "$a" | jq -c '{origin, text}')"
"$SIM" inject --dir "$FAB" --node "$lone" --clear module_clash >/dev/null || fail "clear module_clash"
wait_until 30 "module_clash cleared at the root" no_clash

# --- a clash the leaf sees: raised by the leaf, not again by the root ---------------------
"$SIM" inject --dir "$FAB" --node "$paired" module_clash --module ant_colony >/dev/null || fail "inject module_clash (paired)"
wait_until 30 "module_clash ant_colony naming $paired at the root" clash ant_colony "$paired"
a=$(clash ant_colony "$paired")
echo "$a" | jq -e '(.text | test("on 1 node")) and (.origin | startswith("leaf"))' >/dev/null \
  || fail "unexpected alarm (want one raised by the leaf): $a"
n=$(ctl alarms --type module_clash | jq '[.alarms[] | select(.resource == "ant_colony")] | length')
[ "$n" = 1 ] || fail "$n module_clash alarms of ant_colony (expected one, the leaf's): $(ctl alarms --type module_clash)"
"$SIM" inject --dir "$FAB" --node "$paired" --clear module_clash >/dev/null || fail "clear module_clash (paired)"
wait_until 30 "module_clash (leaf) cleared at the root" no_clash

"$SIM" down --dir "$FAB" 2>"$WORK/down.log" || fail "down failed"
log "PASS"
