#!/usr/bin/env bash
# test_cli: every binary answers --help and --version, refuses bad command lines with exit 2,
# and --check-config names the file, line and key of each configuration error.
source "$(dirname "$0")/lib.sh"

for b in warren-leaf warren-relay warren-root warren-sim warrenctl; do
  "$WARREN_BIN/$b" --help > "$WORK/help.txt" || fail "$b --help exited $?"
  grep -qi "usage" "$WORK/help.txt" || fail "$b --help prints no usage"
  "$WARREN_BIN/$b" --version | grep -q "0\." || fail "$b --version"
  set +e; "$WARREN_BIN/$b" --no-such-option >/dev/null 2>&1; rc=$?; set -e
  [ $rc -eq 2 ] || fail "$b --no-such-option exited $rc, expected 2"
done

# A valid file passes --check-config.
echo "c00kie" > "$WORK/cookie"
cat > "$WORK/good.conf" <<CONF
leaf = { id = "leaf-x"; cookie_file = "$WORK/cookie"; parents = ["tcp://127.0.0.1:1"];
         nodes = ( { name = "a@h"; port = 4000; } ); };
CONF
"$WARREN_BIN/warren-leaf" --config "$WORK/good.conf" --check-config >/dev/null || fail "good.conf rejected"

# Each bad file fails with exit 2 and a message naming file, line and key.
check_bad() {   # DAEMON FILE-TEXT EXPECTED-REGEX
  local daemon=$1 text=$2 want=$3
  printf '%s\n' "$text" > "$WORK/bad.conf"
  set +e; "$WARREN_BIN/$daemon" --config "$WORK/bad.conf" --check-config >"$WORK/out.txt" 2>&1; local rc=$?; set -e
  [ $rc -eq 2 ] || fail "$daemon accepted: $text (exit $rc)"
  grep -Eq "$want" "$WORK/out.txt" || fail "$daemon: expected /$want/ in: $(cat "$WORK/out.txt")"
}
check_bad warren-leaf "leaf = { id = \"l\"; cookie_file = \"$WORK/cookie\";
  intervall = 5.0; };" "bad.conf:2: .*intervall.*unknown"
check_bad warren-leaf "leaf = { id = \"l\"; cookie_file = \"$WORK/cookie\"; interval = \"ten\"; };" \
  "bad.conf:1: .*interval"
check_bad warren-leaf "leaf = { id = \"l\"; cookie_file = \"$WORK/cookie\"; parent_mode = \"some\"; };" \
  "bad.conf:1: .*parent_mode.*failover"
check_bad warren-leaf "leaf = { id = \"l\"; cookie_file = \"$WORK/cookie\";
  nodes = ( { name = \"noat\"; } ); };" "bad.conf:2: .*name"
check_bad warren-relay "relay = { id = \"r\"; bind = \"tcp://127.0.0.1:7999\";
  parents = [\"tcp://127.0.0.1:7998\"];
  interval = -1.0; };" "bad.conf:3: .*interval"
check_bad warren-root "root = { id = \"r\"; parents = [\"tcp://127.0.0.1:7998\"]; };" "bad.conf:1: .*parents"
check_bad warren-root "root = { id = \"r\"; http = { port = 70000; }; };" "bad.conf:1: .*port"
check_bad warren-root "root = { id = \"r\" " "bad.conf:[0-9]+: .*syntax error"
set +e; "$WARREN_BIN/warren-root" --config "$WORK/none.conf" --check-config >"$WORK/out.txt" 2>&1; rc=$?; set -e
[ $rc -eq 2 ] && grep -q "none.conf" "$WORK/out.txt" || fail "missing file: exit $rc: $(cat "$WORK/out.txt")"
log "PASS"
