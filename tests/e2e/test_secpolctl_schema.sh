#!/usr/bin/env bash
# grpcurl's habits in secpolctl (issue 7 secpolctl 4): describe NAME prints a
# service, method, message or enum with its fields (name, number, type,
# label) and the comments of its .proto; list takes a service and -o json;
# methods may be written Svc/Method, secpol.v1.Svc/Method, secpol.v1.Svc.Method
# or /secpol.v1.Svc/Method in call and describe; -o json|text on every command
# that prints data, and JSON output is one valid document.
source "$(dirname "$0")/lib.sh"
secpol_start secpolctl-schema --test-clock

python=$(command -v python3 || echo /usr/bin/python3)
json_ok() { # NAME TEXT: TEXT is one valid JSON document
  if "$python" -m json.tool >/dev/null 2>"$tmp/json.err" <<<"$2"; then ok "$1"; else bad "$1" "$(cat "$tmp/json.err"): $2"; fi
}
json_check() { # NAME TEXT PYTHON-EXPRESSION over the document d
  if "$python" -c "import json, sys; d = json.load(sys.stdin); sys.exit(0 if ($3) else 1)" <<<"$2" 2>"$tmp/json.err"; then
    ok "$1"
  else
    bad "$1" "($3) is false: $(cat "$tmp/json.err") $2"
  fi
}

# --- list ---------------------------------------------------------------------------
run "list" 0 "$SECPOLCTL" list && text_list=$out
run "list -o json" 0 "$SECPOLCTL" list -o json && json_ok "list -o json is one document" "$out"
json_check "list -o json has every method of the text list" "$out" \
  "len(d['methods']) == $(grep -c . <<<"$text_list") and \
   {'path': '/secpol.v1.Health/Check', 'request_type': 'secpol.v1.HealthCheckRequest', \
    'response_type': 'secpol.v1.HealthCheckResponse'}.items() <= \
   [m for m in d['methods'] if m['path'] == '/secpol.v1.Health/Check'][0].items()"
run "list PolicyService" 0 "$SECPOLCTL" list PolicyService &&
  has "list SERVICE: its methods" "$out" '^/secpol\.v1\.PolicyService/GetPolicy ' &&
  lacks "list SERVICE: only its methods" "$out" 'Health/Check'
run "list secpol.v1.Health" 0 "$SECPOLCTL" list secpol.v1.Health &&
  has "list by full name" "$out" '^/secpol\.v1\.Health/Check '
run "list an unknown service" 2 "$SECPOLCTL" list NoSuchService &&
  has "list an unknown service says so" "$err" 'no service named "NoSuchService"'

# --- describe: services, methods, messages, enums --------------------------------------
run "describe" 0 "$SECPOLCTL" describe &&
  check "describe alone: every service" "$out" '^secpol\.v1\.Health is a service:$' \
    '^service PolicyService \{$' \
    '^  rpc GetPolicy \( secpol\.v1\.GetPolicyRequest \) returns \( secpol\.v1\.Policy \);$'
for name in secpol.v1.PolicyService PolicyService .secpol.v1.PolicyService; do
  run "describe $name" 0 "$SECPOLCTL" describe "$name" &&
    check "describe $name: the service and its rpcs" "$out" '^secpol\.v1\.PolicyService is a service:$' \
      '^  rpc UpdatePolicy \( secpol\.v1\.UpdatePolicyRequest \) returns \( secpol\.v1\.Policy \);$'
done
for name in /secpol.v1.PolicyService/GetPolicy secpol.v1.PolicyService/GetPolicy PolicyService/GetPolicy \
  secpol.v1.PolicyService.GetPolicy PolicyService.GetPolicy; do
  run "describe $name" 0 "$SECPOLCTL" describe "$name" &&
    check "describe $name: the method, its request with fields and comments" "$out" \
      '^secpol\.v1\.PolicyService\.GetPolicy is a method \(wire path /secpol\.v1\.PolicyService/GetPolicy\):$' \
      '^rpc GetPolicy \( secpol\.v1\.GetPolicyRequest \) returns \( secpol\.v1\.Policy \);$' \
      '^message GetPolicyRequest \{$' '^  string workspace_id = 1;$' \
      '^  string community_id = 2; +// "" = workspace level$' '^secpol\.v1\.Policy is a message:$'
done
run "describe a message" 0 "$SECPOLCTL" describe secpol.v1.LockoutSettings &&
  check "describe a message: name, number, type, comments" "$out" \
    '^secpol\.v1\.LockoutSettings is a message:$' '^// Settings 22-24, 26-28 and 29-31\.$' \
    '^  uint32 max_failures = 1; +// consecutive failures before a lock; 0 = no lockout; at most 100$' \
    '^  uint32 lock_minutes = 3; +// '
run "describe a message by short name" 0 "$SECPOLCTL" describe Policy &&
  check "describe Policy: labels and message types" "$out" '^message Policy \{$' \
    '^  repeated string allowed_file_extensions = 54;$' \
    '^  secpol\.v1\.LockoutSettings login_lockout = 22;$' \
    '^  secpol\.v1\.PasswordPolicyLevel password_policy = 1;$' \
    '^  // version of the level addressed' '^  uint64 version = 100;$'
run "describe an enum" 0 "$SECPOLCTL" describe PasswordPolicyLevel &&
  check "describe an enum: its values" "$out" '^secpol\.v1\.PasswordPolicyLevel is an enum:$' \
    '^  PASSWORD_POLICY_LEVEL_UNSPECIFIED = 0;$' '^  PASSWORD_POLICY_LEVEL_HIGH = 3;$'
run "describe a message no method uses" 0 "$SECPOLCTL" describe secpol.v1.RequestHeader &&
  has "describe RequestHeader" "$out" '^  uint64 call_id = 2; +// echoed back'
run "describe a typo" 2 "$SECPOLCTL" describe Polcy &&
  has "describe a typo: the nearest name" "$err" 'no service, method, message or enum named "Polcy"; did you mean Policy\?'
run "describe an unknown method" 2 "$SECPOLCTL" describe PolicyService/NoSuchMethod
run "describe needs no server" 0 "$SECPOLCTL" -e "ipc://$tmp/nobody.sock" describe Health

# --- describe -o json ----------------------------------------------------------------------
run "describe Policy -o json" 0 "$SECPOLCTL" describe Policy -o json &&
  json_ok "describe -o json is one document" "$out"
json_check "describe -o json: fields with name, number, type, label" "$out" \
  "d['kind'] == 'message' and d['name'] == 'secpol.v1.Policy' and \
   {'name': 'allowed_file_extensions', 'number': 54, 'type': 'string', 'label': 'repeated', \
    'json_name': 'allowedFileExtensions'}.items() <= [f for f in d['fields'] if f['number'] == 54][0].items() and \
   [f for f in d['fields'] if f['number'] == 22][0]['type'] == 'secpol.v1.LockoutSettings'"
run "describe a method -o json" 0 "$SECPOLCTL" describe Health.Check -o json &&
  json_check "describe a method -o json: path, types and both messages" "$out" \
    "d['kind'] == 'method' and d['path'] == '/secpol.v1.Health/Check' and \
     d['response']['name'] == 'secpol.v1.HealthCheckResponse' and \
     [f for f in d['response']['fields'] if f['name'] == 'version'][0]['comment'].startswith('secpold version')"
run "describe an enum -o json" 0 "$SECPOLCTL" describe secpol.v1.ServingStatus -o json &&
  json_check "describe an enum -o json: values" "$out" \
    "d['kind'] == 'enum' and [v['number'] for v in d['values'] if v['name'] == 'SERVING'] == [1]"
run "describe -o json" 0 "$SECPOLCTL" describe -o json &&
  json_check "describe -o json: every service" "$out" \
    "'secpol.v1.PolicyService' in [s['name'] for s in d['services']]"

# --- call with every form of a method name -------------------------------------------------
for name in /secpol.v1.Health/Check secpol.v1.Health/Check Health/Check secpol.v1.Health.Check Health.Check; do
  run "call $name" 0 ctl call "$name" && has "call $name answers" "$out" '"status": "SERVING"'
done
run "call PolicyService/GetPolicy" 0 ctl call PolicyService/GetPolicy '{"workspace_id": "w1"}' &&
  has "short form with a request" "$out" '"session_timeout_minutes": '
run "call an unknown short name" 12 ctl call Nope/Check &&
  has "call an unknown short name: UNIMPLEMENTED" "$err" '^UNIMPLEMENTED: unknown method Nope/Check'
run "bad JSON names the resolved method" 2 ctl call Health.Check '{"nope": 1}' &&
  has "bad JSON names the resolved method" "$err" 'bad request for /secpol\.v1\.Health/Check'

# --- -o json and -o text on every command that prints data ------------------------------------
run "policy set" 0 ctl policy set w-out --create session_timeout_minutes=25
for words in "health" "call Health/Check" "version" "list" "describe Policy" "policy get w-out" \
  "policy headers w-out" "policy history w-out" "policy check-upload w-out a.pdf" \
  "policy set w-out session_timeout_minutes=26" "policy delete w-out" "policy list" "policy settings"; do
  # shellcheck disable=SC2086 # the words are words
  run "$words -o json" 0 ctl $words -o json && json_ok "$words -o json is one JSON document" "$out"
done
for words in "health" "call Health/Check"; do
  # shellcheck disable=SC2086
  run "$words -o text" 0 ctl $words -o text &&
    check "$words -o text: field: value lines" "$out" '^status: SERVING$' '^schema_version: [0-9]+$'
done
run "policy get -o text" 0 ctl policy get w-out -o text &&
  check "policy get -o text: nested paths and list items" "$out" '^login_lockout\.max_failures: [0-9]+$' \
    '^allowed_file_extensions\[0\]: [a-z0-9]+$' '^version: [0-9]+$'
# Text output escapes control characters: a value cannot forge lines.
run "a banner with line breaks" 0 ctl call PolicyService/UpdatePolicy \
  '{"workspace_id": "w-out", "policy": {"auth_page_banner_text": "one\nfake: line\u2028x"}, "update_mask": ["auth_page_banner_text"]}'
run "call -o text escapes" 0 ctl call PolicyService/GetPolicy '{"workspace_id": "w-out"}' -o text &&
  has "the banner stays on its line" "$out" '^auth_page_banner_text: one\\nfake: line\\u2028x$'
lacks "no forged line" "$out" '^fake: line'
run "describe -o text" 0 "$SECPOLCTL" describe Health -o text && has "describe -o text" "$out" 'is a service:'

secpol_finish
