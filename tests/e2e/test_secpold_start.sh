#!/usr/bin/env bash
# secpold at start and stop, as an operator meets it: one clear line and exit 1
# for an endpoint or data dir it must not take (port out of range, a data dir
# or an ipc:// socket another daemon serves); a stale socket is replaced; the
# address really bound is logged; the data dir's parents are created; the
# socket file goes on a clean stop; SIGHUP reloads and keeps serving; the test
# clock is loud.
source "$(dirname "$0")/lib.sh"
secpol_start secpold-start

# Runs CMD until it succeeds, within the deadline.
wait_until() {
  local give_up=$((SECONDS + secpol_deadline))
  until "$@"; do
    [ "$SECONDS" -lt "$give_up" ] || return 1
    sleep 0.02
  done
}
wait_for_line() { wait_until grep -qE -- "$2" "$1"; } # FILE PATTERN
reloads_logged() { [ "$(grep -c ' msg=reload ' "$tmp/secpold.log")" -ge "$1" ]; }

# A secpold that must refuse to start: exit 1 and exactly one logfmt error
# line; bounded, so a secpold that wrongly starts fails the test instead of
# hanging it.
refused() {
  local name=$1 pattern=$2
  shift 2
  run "$name: exit 1" 1 timeout "$secpol_deadline" "$SECPOLD" "$@" || return
  has "$name: says why" "$err" "^ts=[^ ]+ level=error msg=\"start failed\" error=\"$pattern"
  if [ "$(wc -l <<<"$err")" -eq 1 ] && [ -z "$out" ]; then
    ok "$name: one line"
  else
    bad "$name: one line" "stdout: $out; stderr: $err"
  fi
}

# Stops PID (SIGTERM, bounded); NAME passes when it exits with WANT and
# CHECK... (a command) then holds.
stopped() {
  local name=$1 stop_pid=$2 want=$3 status=0
  shift 3
  secpol_stop "$stop_pid" || status=$?
  if [ "$status" -eq "$want" ] && "$@"; then ok "$name"; else bad "$name" "exit $status; $(ls -l "$tmp")"; fi
}

serving() { # NAME ENDPOINT: secpolctl health answers SERVING there
  run "$1" 0 "$SECPOLCTL" --endpoint "$2" health && has "$1" "$out" SERVING
}

# --- endpoints that are wrong as written ---------------------------------------
refused "port 70000" 'endpoint tcp://127\.0\.0\.1:70000: port 70000 is out of range \(1-65535' \
  --endpoint tcp://127.0.0.1:70000 --data-dir "$tmp/never"
refused "port not a number" "endpoint tcp://127\.0\.0\.1:http: port 'http' is not a number" \
  --endpoint tcp://127.0.0.1:http --data-dir "$tmp/never"
refused "endpoint without transport" 'endpoint 127\.0\.0\.1:7420 is not TRANSPORT://ADDRESS' \
  --endpoint 127.0.0.1:7420 --data-dir "$tmp/never"
refused "endpoint given twice" "endpoint ipc://$tmp/twice\.sock is given twice" \
  --endpoint "ipc://$tmp/twice.sock" --endpoint "ipc://$tmp/twice.sock" --data-dir "$tmp/never"
if [ ! -e "$tmp/never" ]; then ok "a bad endpoint creates no data dir"; else bad "a bad endpoint creates no data dir"; fi
touch "$tmp/file.sock"
refused "ipc path that is not a socket" "endpoint ipc://$tmp/file\.sock: $tmp/file\.sock exists and is not a socket" \
  --endpoint "ipc://$tmp/file.sock" --data-dir "$tmp/never"
if [ -f "$tmp/file.sock" ]; then ok "the file is left alone"; else bad "the file is left alone"; fi

# --- a data dir another secpold serves ---------------------------------------
refused "second secpold on the data dir" \
  "data dir $tmp/data is in use by another secpold \(pid $pid holds $tmp/data/secpold\.lock\)" \
  --endpoint "ipc://$tmp/second.sock" --data-dir "$tmp/data"
if [ ! -e "$tmp/second.sock" ]; then ok "the refused secpold bound nothing"; else bad "the refused secpold bound nothing"; fi
serving "the first secpold still serves its data dir" "$endpoint"

# --- an ipc socket another secpold listens on --------------------------------
inode=$(stat -c %i "$tmp/s.sock")
refused "second secpold on the ipc endpoint" "ipc://$tmp/s\.sock is in use by another process" \
  --endpoint "$endpoint" --data-dir "$tmp/other"
serving "the first secpold still serves its socket" "$endpoint"
if [ "$(stat -c %i "$tmp/s.sock")" = "$inode" ]; then ok "its socket file was not replaced"; else bad "its socket file was not replaced"; fi

# --- a stale socket (kill -9) is replaced -------------------------------------
secpol_spawn "ipc://$tmp/stale.sock" "$tmp/stale" "$tmp/stale.log"
stale_pid=$spawned_pid
kill -KILL "$stale_pid"
stopped "kill -9 leaves its socket file" "$stale_pid" 137 test -S "$tmp/stale.sock"
secpol_spawn "ipc://$tmp/stale.sock" "$tmp/stale" "$tmp/stale2.log"
stale_pid=$spawned_pid
serving "a stale socket and data dir are taken over" "ipc://$tmp/stale.sock"
stopped "the new secpold exits 0" "$stale_pid" 0 true

# --- the address really bound; parents created; the socket file removed --------
secpol_spawn "ipc://$tmp/w.sock" "$tmp/deep/er/data" "$tmp/w.log" \
  --endpoint 'tcp://127.0.0.1:*' --endpoint tcp://127.0.0.1:0
w_pid=$spawned_pid
log=$(cat "$tmp/w.log")
check "wildcard port: the real one is logged" "$log" \
  '^ts=[^ ]+ level=info msg=listening endpoint=tcp://127\.0\.0\.1:[1-9][0-9]* requested=tcp://127\.0\.0\.1:\*$' \
  '^ts=[^ ]+ level=info msg=listening endpoint=tcp://127\.0\.0\.1:[1-9][0-9]* requested=tcp://127\.0\.0\.1:0$' \
  "^ts=[^ ]+ level=info msg=listening endpoint=ipc://$tmp/w\.sock$"
for port in $(sed -n 's/.*msg=listening endpoint=tcp:\/\/127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$tmp/w.log"); do
  serving "the logged port $port answers" "tcp://127.0.0.1:$port"
done
modes=$(stat -c '%n %a' "$tmp/deep" "$tmp/deep/er" "$tmp/deep/er/data")
check "parents created, mode 0700" "$modes" "^$tmp/deep 700$" "^$tmp/deep/er 700$" "^$tmp/deep/er/data 700$"
stopped "SIGTERM: exit 0, socket file removed" "$w_pid" 0 test ! -e "$tmp/w.sock"

# A socket file another process put in our place is not ours to remove.
secpol_spawn "ipc://$tmp/moved.sock" "$tmp/moved" "$tmp/moved.log"
moved_pid=$spawned_pid
mv "$tmp/moved.sock" "$tmp/moved-away.sock"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$tmp/moved.sock"
stopped "a socket file not ours is kept" "$moved_pid" 0 test -S "$tmp/moved.sock"

# --- SIGHUP: reload, keep serving --------------------------------------------
kill -HUP "$pid"
if wait_until reloads_logged 1; then
  has "SIGHUP is logged as a reload" "$(cat "$tmp/secpold.log")" \
    '^ts=[^ ]+ level=info msg=reload logs=stderr keys=none$'
else
  bad "SIGHUP is logged as a reload" "$(tail -3 "$tmp/secpold.log")"
fi
kill -HUP "$pid"
if wait_until reloads_logged 2; then ok "a second SIGHUP, a second reload"; else bad "a second SIGHUP, a second reload"; fi
if kill -0 "$pid" 2>/dev/null; then ok "SIGHUP does not stop secpold"; else bad "SIGHUP does not stop secpold"; fi
serving "secpold serves after two SIGHUPs" "$endpoint"

# --- the test clock is loud --------------------------------------------------
secpol_spawn "ipc://$tmp/clock.sock" "$tmp/clock" "$tmp/clock.log" --test-clock
clock_pid=$spawned_pid
check "test clock: on the start and listening lines, and a warning" "$(cat "$tmp/clock.log")" \
  'level=info msg=start .*test_clock=on' \
  "level=info msg=listening endpoint=ipc://$tmp/clock\.sock test_clock=on$" \
  'level=warn msg="test clock enabled" offset_seconds=0 note="[^"]*never in production"'
run "SetOffset" 0 "$SECPOLCTL" --endpoint "ipc://$tmp/clock.sock" call \
  /secpol.v1.TestClockService/SetOffset '{"offsetSeconds": 3600}'
if wait_for_line "$tmp/clock.log" 'level=warn msg="test clock moved" offset_seconds=3600 from=0$'; then
  ok "moving the test clock is a warning"
else
  bad "moving the test clock is a warning" "$(tail -3 "$tmp/clock.log")"
fi
stopped "test clock secpold exits 0" "$clock_pid" 0 true
lacks "no test clock warning without --test-clock" "$(cat "$tmp/secpold.log")" 'test clock'

secpol_finish
