#!/usr/bin/env bash
# secpolctl and the connection (issue 7 secpolctl 3): with nothing listening
# it fails within about a second, "cannot reach secpold at E (is it
# running?)", exit 14 (UNAVAILABLE), however long the timeout; a server that
# takes the connection and does not answer still gets the whole timeout; a
# malformed endpoint is a usage error (exit 2) naming it, before any
# connection; the request is checked before connecting.
source "$(dirname "$0")/lib.sh"
secpol_start secpolctl-connect

nobody="ipc://$tmp/nobody.sock"
elapsed_ms() { echo $((($(date +%s%N) - start) / 1000000)); }

# --- nothing listening: about a second, not the 10 s timeout ----------------------
for words in "health" "call Health/Check {}" "policy get w1" "policy history w1 -o json"; do
  start=$(date +%s%N)
  # shellcheck disable=SC2086 # the words are words
  run "$words, nothing listening: exit 14" 14 "$SECPOLCTL" -e "$nobody" -t 10000 $words
  ms=$(elapsed_ms)
  if [ "$err" = "UNAVAILABLE: cannot reach secpold at $nobody (is it running?)" ]; then
    ok "$words, nothing listening: one line says so"
  else
    bad "$words, nothing listening: one line says so" "$err"
  fi
  if [ "$ms" -lt 5000 ]; then ok "$words gave up without the 10 s timeout ($ms ms)"; else bad "$words gave up without the 10 s timeout" "$ms ms"; fi
  if [ -z "$out" ]; then ok "$words, nothing listening: nothing on stdout"; else bad "$words: nothing on stdout" "$out"; fi
done
# A timeout shorter than a second is shorter still.
start=$(date +%s%N)
run "nothing listening, --timeout 200" 14 "$SECPOLCTL" -e "$nobody" -t 200 health
ms=$(elapsed_ms)
if [ "$ms" -lt 3000 ]; then ok "--timeout 200 gives up sooner ($ms ms)"; else bad "--timeout 200 gives up sooner" "$ms ms"; fi
# --timeout 0 (wait forever for answers) does not wait forever for nothing.
start=$(date +%s%N)
run "nothing listening, --timeout 0" 14 "$SECPOLCTL" -e "$nobody" -t 0 health
ms=$(elapsed_ms)
if [ "$ms" -lt 5000 ]; then ok "--timeout 0 still fails fast ($ms ms)"; else bad "--timeout 0 still fails fast" "$ms ms"; fi

# --- connected but silent: the timeout is the timeout ------------------------------
secpol_spawn "ipc://$tmp/stopped.sock" "$tmp/stopped" "$tmp/stopped.log"
stopped_pid=$spawned_pid
kill -STOP "$stopped_pid"
start=$(date +%s%N)
run "a stopped secpold: exit 14 after the timeout" 14 "$SECPOLCTL" -e "ipc://$tmp/stopped.sock" -t 1500 health
ms=$(elapsed_ms)
lacks "a stopped secpold is reachable, it does not answer" "$err" 'cannot reach'
has "a stopped secpold: UNAVAILABLE" "$err" '^UNAVAILABLE: '
if [ "$ms" -ge 1400 ]; then ok "a connection that stays silent waits the timeout ($ms ms)"; else bad "a connection that stays silent waits the timeout" "$ms ms"; fi
kill -CONT "$stopped_pid"
status=0
secpol_stop "$stopped_pid" || status=$?
if [ "$status" -eq 0 ]; then ok "the stopped secpold exits 0"; else bad "the stopped secpold exits 0" "status $status"; fi

# --- malformed endpoints: exit 2, named, nothing tried ---------------------------
for bad_endpoint in tcp://127.0.0.1:70000 tcp://127.0.0.1:0 tcp://127.0.0.1 tcp://:7420 \
  tcp://127.0.0.1:74x0 tcp://127.0.0.1:-1 http://127.0.0.1:7420 127.0.0.1:7420 ipc:// inproc:// \
  "ipc://$tmp/$(printf 'x%.0s' {1..120})"; do
  # exit 2 with this line, not 14 "cannot reach": refused before connecting
  run "malformed $bad_endpoint: exit 2" 2 "$SECPOLCTL" -e "$bad_endpoint" -t 10000 health || continue
  prefix="secpolctl: malformed endpoint \"$bad_endpoint\""
  if [ "${err#"$prefix"}" != "$err" ] && [ "$(wc -l <<<"$err")" -eq 1 ]; then
    ok "malformed $bad_endpoint is named, in one line"
  else
    bad "malformed $bad_endpoint is named, in one line" "$err"
  fi
done
run "a port out of range says so" 2 "$SECPOLCTL" -e tcp://127.0.0.1:65536 health &&
  has "port range" "$err" 'port must be a number from 1 to 65535'
run "malformed SECPOL_ENDPOINT: exit 2" 2 env SECPOL_ENDPOINT=tcp://localhost "$SECPOLCTL" health &&
  has "malformed SECPOL_ENDPOINT named" "$err" 'malformed endpoint "tcp://localhost"'
run "a command that needs no server ignores the endpoint" 0 env SECPOL_ENDPOINT=junk "$SECPOLCTL" list
# Well formed, nothing there: not a usage error.
run "inproc://name is well formed" 14 "$SECPOLCTL" -e inproc://secpol health &&
  has "inproc: cannot reach" "$err" 'cannot reach secpold at inproc://secpol'

# --- the request is checked before connecting -------------------------------------
run "bad JSON with nothing listening: exit 2, not 14" 2 "$SECPOLCTL" -e "$nobody" call Health/Check '{"a":' &&
  has "bad JSON reported first" "$err" 'invalid JSON at line 1'
run "unknown method with nothing listening: exit 12" 12 "$SECPOLCTL" -e "$nobody" call Nope/Check &&
  has "unknown method reported first" "$err" '^UNIMPLEMENTED: unknown method Nope/Check'

# --- and a live secpold still answers --------------------------------------------
run "health against the live secpold" 0 ctl health && has "live secpold SERVING" "$out" SERVING

secpol_finish
