#!/usr/bin/env bash
# secpolctl's command line (issue 7 secpolctl 1, 2): --help and -h after any
# command or subcommand print that command's help on stdout and exit 0
# without sending anything; a bad option is one line on stderr pointing at
# the command's --help, exit 2; global options may follow the command.
source "$(dirname "$0")/lib.sh"
secpol_start secpolctl-help

# A secpold that accepts connections and answers nothing: a stopped one. A
# secpolctl that sent anything there would wait for its whole --timeout.
secpol_spawn "ipc://$tmp/stopped.sock" "$tmp/stopped" "$tmp/stopped.log"
stopped_pid=$spawned_pid
stopped="ipc://$tmp/stopped.sock"
kill -STOP "$stopped_pid"

elapsed_ms() { echo $((($(date +%s%N) - start) / 1000000)); }
one_line() { # NAME TEXT: TEXT is exactly one line
  if [ -n "$2" ] && [ "$(printf '%s\n' "$2" | wc -l)" -eq 1 ]; then ok "$1"; else bad "$1" "not one line: $2"; fi
}

# The stopped secpold holds a call for the whole timeout: what makes the
# quick answers below proof that nothing was sent.
start=$(date +%s%N)
run "a call to the stopped secpold waits for its timeout" 14 "$SECPOLCTL" -e "$stopped" -t 1500 health
ms=$(elapsed_ms)
if [ "$ms" -ge 1400 ]; then ok "the stopped secpold held the call ($ms ms)"; else bad "the stopped secpold held the call" "$ms ms"; fi

# --- --help and -h after every command, nothing sent -------------------------
for path in "" call list describe health version completion policy "policy get" "policy set" \
  "policy list" "policy settings" \
  "policy delete" "policy headers" "policy history" "policy check-upload" \
  session "session create" "session validate" "session revoke" "session list"; do
  for flag in --help -h; do
    name="secpolctl${path:+ $path} $flag"
    start=$(date +%s%N)
    # shellcheck disable=SC2086 # the path is words
    run "$name exits 0" 0 "$SECPOLCTL" -e "$stopped" -t 10000 $path "$flag" || continue
    ms=$(elapsed_ms)
    has "$name prints its own usage" "$(head -1 <<<"$out")" "^usage: secpolctl${path:+ $path} "
    if [ -z "$err" ]; then ok "$name: nothing on stderr"; else bad "$name: nothing on stderr" "$err"; fi
    if [ "$ms" -lt 5000 ]; then ok "$name sends nothing ($ms ms)"; else bad "$name sends nothing" "$ms ms against a 10 s timeout"; fi
  done
done

# Anywhere on the line, with the command's words, and as `help COMMAND`.
for words in "policy get w1 --help" "policy set w1 login_lockout.max_failures=3 -h" \
  "call /secpol.v1.Health/Check {} --help" "--help policy history w1" "help policy set" \
  "policy help" "health --no-such-option --help"; do
  start=$(date +%s%N)
  # shellcheck disable=SC2086
  run "secpolctl $words exits 0" 0 "$SECPOLCTL" -e "$stopped" -t 10000 $words || continue
  ms=$(elapsed_ms)
  has "secpolctl $words prints help" "$out" '^usage: secpolctl '
  if [ "$ms" -lt 5000 ]; then ok "secpolctl $words sends nothing ($ms ms)"; else bad "secpolctl $words sends nothing" "$ms ms"; fi
done
run "policy set --help names the subcommand" 0 "$SECPOLCTL" policy set w1 --help &&
  check "policy set --help" "$out" '^usage: secpolctl policy set WORKSPACE SETTING=VALUE' \
    '--expected-version N' '--actor A' '-o, --output FORMAT +json or text'
run "help policy history" 0 "$SECPOLCTL" help policy history &&
  check "help policy history lists its options" "$out" '--page-size N' '--page-token T'
run "secpolctl --help lists the commands" 0 "$SECPOLCTL" --help &&
  check "secpolctl --help" "$out" '^  call METHOD' '^  describe \[NAME\]' '^  version ' \
    '^  completion bash ' '^  -o, --output FORMAT' '^Exit status:'

# --- a bad option: one line, pointing at --help, exit 2, nothing sent ------------
bad_option() { # NAME EXPECTED-STDERR-REGEX WORDS...
  local name=$1 want=$2
  shift 2
  start=$(date +%s%N)
  run "$name exits 2" 2 "$SECPOLCTL" -e "$stopped" -t 10000 "$@" || return
  local ms
  ms=$(elapsed_ms)
  one_line "$name: one line" "$err"
  has "$name: says what and where" "$err" "$want"
  if [ -z "$out" ]; then ok "$name: nothing on stdout"; else bad "$name: nothing on stdout" "$out"; fi
  if [ "$ms" -lt 5000 ]; then ok "$name: nothing sent ($ms ms)"; else bad "$name: nothing sent" "$ms ms"; fi
}
bad_option "health --x" "^secpolctl: unknown option '--x' \(see secpolctl health --help\)$" health --x
bad_option "policy get --bogus" \
  "^secpolctl: unknown option '--bogus' \(see secpolctl policy get --help\)$" policy get w1 --bogus
bad_option "call -z" "^secpolctl: unknown option '-z' \(see secpolctl call --help\)$" \
  call -z /secpol.v1.Health/Check
bad_option "an option of another subcommand" \
  "^secpolctl: unknown option '--actor' \(see secpolctl policy get --help\)$" policy get w1 --actor me
bad_option "an option without its value" \
  "^secpolctl: option '--community' needs a value \(see secpolctl policy get --help\)$" policy get w1 --community
bad_option "a flag given a value" "^secpolctl: option '--help' takes no value" health --help=yes
bad_option "an option before any command" "^secpolctl: unknown option '--x' \(see secpolctl --help\)$" --x health
bad_option "unknown command" "^secpolctl: unknown command 'frobnicate' \(see secpolctl --help\)$" frobnicate
bad_option "a command's typo" "^secpolctl: unknown command 'polcy'; did you mean 'policy'\? \(see secpolctl --help\)$" polcy get w1
bad_option "unknown subcommand" "^secpolctl: unknown command 'policy frob' \(see secpolctl policy --help\)$" policy frob w1
bad_option "unknown subcommand, even with --help" "^secpolctl: unknown command 'policy frob'" policy frob --help
bad_option "an extra argument" "^secpolctl: unexpected argument 'now' \(see secpolctl health --help\)$" health now
bad_option "a missing argument" "^secpolctl: call needs METHOD" call
bad_option "bad --output" '^secpolctl: --output takes json or text, not "yaml"' -o yaml list
bad_option "-o where nothing is printed" "^secpolctl: completion prints no data" completion bash -o json
# A group without its subcommand: what could follow, on stderr.
start=$(date +%s%N)
run "policy alone exits 2" 2 "$SECPOLCTL" -e "$stopped" -t 10000 policy &&
  check "policy alone lists the subcommands on stderr" "$err" '^usage: secpolctl policy COMMAND' '^  get WORKSPACE'
ms=$(elapsed_ms)
if [ -z "$out" ] && [ "$ms" -lt 5000 ]; then ok "policy alone: stdout empty, nothing sent"; else bad "policy alone: stdout empty, nothing sent" "$ms ms; $out"; fi
run "no command exits 2" 2 "$SECPOLCTL" && has "no command: the usage on stderr" "$err" '^usage: secpolctl '

# --- global options after the command ---------------------------------------------
run "health -e E" 0 "$SECPOLCTL" health -e "$endpoint" && has "health -e E answers" "$out" '"status": "SERVING"'
run "health --endpoint=E" 0 "$SECPOLCTL" health --endpoint="$endpoint" && has "health --endpoint=E answers" "$out" SERVING
run "an option after the command wins over SECPOL_ENDPOINT" 0 \
  env SECPOL_ENDPOINT="ipc://$tmp/nobody.sock" "$SECPOLCTL" health -e "$endpoint" &&
  has "-e after the command is used" "$out" SERVING
run "policy get w1 --endpoint E -o text" 0 "$SECPOLCTL" policy get w1 --endpoint "$endpoint" -o text &&
  check "policy get -o text after the command" "$out" '^session_timeout_minutes: [0-9]+$' '^login_lockout\.max_failures: [0-9]+$'
run "options between the words" 0 "$SECPOLCTL" policy -e "$endpoint" get -t 10000 w1 --community c1 &&
  has "options between the words" "$out" '"session_timeout_minutes": '
run "call ... -e E -o text -r ID" 0 "$SECPOLCTL" call Health/Check '{}' -e "$endpoint" -o text -r after-command &&
  has "call -o text after the command" "$out" '^status: SERVING$'
run "--timeout=MS after the command" 0 "$SECPOLCTL" health --timeout=10000 -e "$endpoint"
run "bad --timeout after the command exits 2" 2 "$SECPOLCTL" health -e "$endpoint" --timeout soon &&
  has "bad --timeout named" "$err" '--timeout takes milliseconds'
run "--version after a command" 0 "$SECPOLCTL" health --version && has "--version" "$out" '^secpolctl [0-9]'
# "--" ends the options: a file name that starts with "-".
run "-- ends the options" 0 "$SECPOLCTL" -e "$endpoint" policy check-upload w1 -- -notes.pdf &&
  has "-- ends the options: the name after it is a file name" "$out" '"extension": "pdf"'

kill -CONT "$stopped_pid"
status=0
secpol_stop "$stopped_pid" || status=$?
if [ "$status" -eq 0 ]; then ok "the stopped secpold exits 0"; else bad "the stopped secpold exits 0" "status $status"; fi
secpol_finish
