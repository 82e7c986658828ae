#!/usr/bin/env bash
# secpolctl version (client, and server when it answers), the bash completion
# script, and the man pages of secpolctl and secpold made from their --help
# and installed into share/man/man1 (issue 7 secpolctl 8).
source "$(dirname "$0")/lib.sh"
: "${SECPOL_BUILD_DIR:?}" "${SECPOL_SOURCE_DIR:?}"
secpol_start secpolctl-version

python=$(command -v python3 || echo /usr/bin/python3)
json_check() { # NAME TEXT PYTHON-EXPRESSION over the one JSON document d
  if "$python" -c "import json, sys; d = json.load(sys.stdin); sys.exit(0 if ($3) else 1)" <<<"$2" 2>"$tmp/json.err"; then
    ok "$1"
  else
    bad "$1" "($3) is false: $(cat "$tmp/json.err") $2"
  fi
}

# --- version ------------------------------------------------------------------------
run "--version" 0 "$SECPOLCTL" --version && client_line=$out
has "--version: secpolctl and a version" "$client_line" '^secpolctl [0-9]+\.[0-9]+\.[0-9]+$'
client_version=${client_line#secpolctl }
run "version" 0 ctl version &&
  check "version: client and server" "$out" "^secpolctl $client_version\$" \
    "^secpold [0-9]+\.[0-9]+\.[0-9]+ \(store schema [0-9]+\) at ipc://.*/s\.sock\$"
server_version=$(ctl health | sed -n 's/.*"version": "\(.*\)".*/\1/p')
has "version: the server's as Health/Check says" "$out" "^secpold $server_version "
run "version -o json" 0 ctl version -o json &&
  json_check "version -o json: client and server" "$out" \
    "d['client'] == {'name': 'secpolctl', 'version': '$client_version'} and \
     d['server']['version'] == '$server_version' and d['server']['schema_version'] >= 1"
# Nothing listening: the client's version still, the server's said to be unknown.
run "version, nothing listening" 0 "$SECPOLCTL" -e "ipc://$tmp/nobody.sock" version &&
  has "version, nothing listening: the client's" "$out" "^secpolctl $client_version\$" &&
  has "version, nothing listening: why not the server's" "$err" 'cannot reach secpold at ipc://.*nobody\.sock'
lacks "version, nothing listening: no server line" "$out" '^secpold'
run "version -o json, nothing listening" 0 "$SECPOLCTL" -e "ipc://$tmp/nobody.sock" version -o json &&
  json_check "version -o json, nothing listening: server null, the reason" "$out" \
    "d['server'] is None and 'cannot reach' in d['server_error'] and d['client']['version'] == '$client_version'"

# --- bash completion -----------------------------------------------------------------
run "completion bash" 0 "$SECPOLCTL" completion bash && script=$out
run "the script loads in bash" 0 bash -c 'source <("$0" completion bash) && complete -p secpolctl' "$SECPOLCTL" &&
  has "complete -p secpolctl" "$out" '^complete -F _secpolctl secpolctl$'
run "completion zsh" 2 "$SECPOLCTL" completion zsh && has "only bash" "$err" 'only bash'
comp() { # WORD...: what completing the last word offers, one per line
  bash -c 'source <("$0" completion bash) || exit 1
    COMP_WORDS=("$0" "$@"); COMP_CWORD=$#; COMPREPLY=()
    _secpolctl
    printf "%s\n" "${COMPREPLY[@]}"' "$SECPOLCTL" "$@"
}
completes() { # NAME EXPECTED-LINE WORD...: completing offers EXPECTED-LINE
  local name=$1 want=$2
  shift 2
  local got
  got=$(comp "$@")
  if grep -qxF -- "$want" <<<"$got"; then ok "$name"; else bad "$name" "no '$want' in: $got"; fi
}
completes "commands" policy ""
completes "a command" policy pol
completes "help as a command" help he
completes "subcommands" check-upload policy ""
completes "a subcommand" settings policy se
completes "global options" --endpoint health --end
completes "global options before the command" --timeout --ti
completes "a subcommand's own options" --community policy get w1 --comm
completes "set's --create" --create policy set w1 --cr
completes "-o's values" json health -o j
completes "--output=VALUE" text list --output = t
completes "a method from list" /secpol.v1.Health/Check call /secpol.v1.Health/C
completes "a method after an option with a value" /secpol.v1.PolicyService/GetPolicy -e "$endpoint" call /secpol.v1.PolicyService/GetP
completes "a service for list" PolicyService list Pol
completes "a service for describe" PolicyService describe PolicyS
completes "a message for describe" secpol.v1.GetPolicyRequest describe secpol.v1.GetPolicyR
completes "a shell" bash completion b
completes "a command after help" policy help pol
completes "a subcommand after help" history help policy hi
completes "setting names for policy set" login_lockout.max_failures= policy set w1 login_lockout.max
completes "setting names after another setting" session_timeout_minutes= policy set w1 hsts.preload = true session_timeout
got=$(comp health "")
if [ -z "$got" ]; then ok "nothing after health"; else bad "nothing after health" "$got"; fi
got=$(comp policy get "")
if [ -z "$got" ]; then ok "a workspace is not completed"; else bad "a workspace is not completed" "$got"; fi
lacks "no -o where nothing is printed" "$(comp completion --o)" '^--output$'

# --- man pages ------------------------------------------------------------------------------
roff_ok() { # NAME FILE: a man page that groff reads without a warning
  if ! head -5 "$2" | grep -qE '^\.TH [A-Z]+ 1 '; then bad "$1: .TH header" "$(head -3 "$2")"; return; fi
  if command -v groff >/dev/null; then
    if groff -man -Tutf8 -ww -z "$2" 2>"$tmp/groff.err" && [ ! -s "$tmp/groff.err" ]; then
      ok "$1: groff reads it without a warning"
    else
      bad "$1: groff reads it without a warning" "$(cat "$tmp/groff.err")"
    fi
  else
    ok "$1: .TH header (no groff here)"
  fi
}
for program in secpolctl secpold; do
  page="$SECPOL_BUILD_DIR/man/$program.1"
  if [ -s "$page" ]; then ok "the build made $program.1"; else bad "the build made $program.1" "$page"; continue; fi
  roff_ok "$program.1 of the build" "$page"
done
# Made now from the binaries under test, by the build's own script.
sh "$SECPOL_SOURCE_DIR/clients/cli/man-from-help.sh" "$SECPOLCTL" "$tmp/man/secpolctl.1" "$client_version"
sh "$SECPOL_SOURCE_DIR/clients/cli/man-from-help.sh" "$SECPOLD" "$tmp/man/secpold.1" "$client_version"
roff_ok "secpolctl.1" "$tmp/man/secpolctl.1"
roff_ok "secpold.1" "$tmp/man/secpold.1"
check "secpolctl.1: name, synopsis, commands, options, exit status" "$(cat "$tmp/man/secpolctl.1")" \
  '^\.TH SECPOLCTL 1 ' '^secpolctl \\- command line client of secpold' '^\.SH SYNOPSIS$' \
  '^\.SH COMMANDS$' '^\\fB\\-e, \\-\\-endpoint E\\fR$' '^\.SH "EXIT STATUS"$' \
  '^\.SS "secpolctl policy set"$' '^\\fB\\-\\-create\\fR$' '^\.SS "secpolctl describe"$'
check "secpold.1: every option of secpold --help" "$(cat "$tmp/man/secpold.1")" \
  '^\.TH SECPOLD 1 ' '^\.SH OPTIONS$' '^\\fB\\-d, \\-\\-data\\-dir DIR\\fR$' \
  '^\\fB\\-\\-drain\\-seconds N\\fR$'
if command -v man >/dev/null; then
  run "man -l secpolctl.1" 0 env MANWIDTH=80 MANPAGER=cat man -l "$tmp/man/secpolctl.1" &&
    check "man -l shows secpolctl.1" "$out" 'COMMANDS IN DETAIL' 'secpolctl policy get'
fi
# make install puts them in share/man/man1.
run "cmake --install" 0 cmake --install "$SECPOL_BUILD_DIR" --prefix "$tmp/prefix" &&
  for program in secpolctl secpold; do
    if [ -s "$tmp/prefix/share/man/man1/$program.1" ]; then ok "installs share/man/man1/$program.1"; else bad "installs share/man/man1/$program.1"; fi
  done

secpol_finish
