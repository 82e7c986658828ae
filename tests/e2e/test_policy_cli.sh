#!/usr/bin/env bash
# secpolctl policy get/set/delete/headers/history/check-upload/list/settings
# against a real secpold: settings checked with the server's table before
# anything is sent (typos get the nearest name, ranges are the settings' own,
# enums never offer UNSPECIFIED), a level that does not exist yet needs
# --create, writes confirm what changed (-o json keeps the document), every
# value printed as text is escaped, community inheritance, optimistic
# concurrency, the history and the list of stored levels (issue 7).
source "$(dirname "$0")/lib.sh"
secpol_start secpolctl-policy
nobody="ipc://$tmp/nobody.sock" # nothing listens here

# --- settings: the table secpold validates with, no server needed -------------
run "settings" 0 "$SECPOLCTL" --endpoint "$nobody" policy settings &&
  check "settings" "$out" '^SETTING +TYPE +UNIT +ALLOWED +DEFAULT$' \
    '^session_timeout_minutes +integer +minutes +0–43200 +30$' \
    '^password_policy +enum +level +LOW, MEDIUM, HIGH +MEDIUM$' \
    '^hsts\.preload +bool +- +true, false; .* +false$' \
    '^content_security_policy +text +- +printable ASCII text; at most 6144 bytes +"default-src' \
    '^allowed_file_extensions +list +extensions +.* pdf,txt,'
# one line per row of the settings table in docs/POLICY.md (the same table)
rows=$(grep -cE '^\| [0-9]+ \| `' "${SECPOL_SOURCE_DIR:-$(dirname "$0")/../..}/docs/POLICY.md")
has "settings: one line per setting" "$(grep -cE '^[a-z_]+(\.[a-z_]+)? ' <<<"$out")" "^$rows\$"
lacks "settings never offer UNSPECIFIED" "$out" 'UNSPECIFIED'
run "settings as JSON" 0 "$SECPOLCTL" --endpoint "$nobody" -o json policy settings &&
  check "settings as JSON" "$out" '"setting": "session_timeout_minutes",' '"allowed": "0–43200",' \
    '"default": "30",' '"unit": "minutes",' '"enforced_by": "session service"' &&
  has "settings JSON is one document" "$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' <<<"$out")" "^$rows\$"

# --- set checks names and values before it connects (nothing listening) ------
set_offline() { "$SECPOLCTL" --endpoint "$nobody" --timeout 10000 policy set acme "$@"; }
run "typo: the nearest setting" 2 set_offline sesion_timeout_minutes=20 &&
  check "typo: the nearest setting" "$err" \
    '"sesion_timeout_minutes" is not a setting; did you mean session_timeout_minutes\?'
run "nested typo" 2 set_offline login_lockout.max_failure=3 &&
  has "nested typo" "$err" 'did you mean login_lockout\.max_failures\?'
run "a leaf name alone" 2 set_offline max_failures=3 &&
  has "a leaf name alone" "$err" 'did you mean login_lockout\.max_failures\?'
run "nothing near" 2 set_offline frobnicate=1 &&
  check "nothing near" "$err" '"frobnicate" is not a setting \(secpolctl policy settings lists them\)'
run "group is not a value" 2 set_offline hsts=true &&
  has "group is not a value" "$err" '"hsts" is a group of settings: set each one, such as hsts\.enabled='
run "range is the setting's own" 2 set_offline session_timeout_minutes=43201 &&
  has "range is the setting's own" "$err" \
    'policy set: session_timeout_minutes: must be between 0 and 43200 minutes \(got 43201\)'
run "past uint32: still the setting's range" 2 set_offline session_timeout_minutes=99999999999 &&
  has "past uint32: still the setting's range" "$err" \
    'session_timeout_minutes takes a whole number of minutes: 0–43200, not "99999999999"'
lacks "no uint32 in the message" "$err" 'uint32|4294967295'
run "not a number" 2 set_offline session_timeout_minutes=soon &&
  has "not a number" "$err" 'session_timeout_minutes takes a whole number of minutes: 0–43200, not "soon"'
run "enum: the values a setting takes" 2 set_offline password_policy=extreme &&
  has "enum: the values a setting takes" "$err" 'password_policy takes one of LOW, MEDIUM, HIGH, not "extreme"'
lacks "enum: never UNSPECIFIED" "$err" 'UNSPECIFIED'
run "enum: UNSPECIFIED is refused" 2 set_offline password_policy=unspecified &&
  has "enum: UNSPECIFIED is refused" "$err" 'password_policy: must be one of LOW, MEDIUM, HIGH \(got UNSPECIFIED\)'
run "not a bool" 2 set_offline captcha_enabled=maybe &&
  has "not a bool" "$err" 'captcha_enabled takes true or false'
run "format: header injection" 2 set_offline 'content_security_policy=a'$'\r\n''Set-Cookie: x=1' &&
  has "format: header injection" "$err" 'content_security_policy: contains a control character'
run "a header of spaces" 2 set_offline 'content_security_policy=   ' &&
  has "a header of spaces" "$err" 'content_security_policy: is only spaces'
run "extensions" 2 set_offline allowed_file_extensions=pdf,.exe &&
  has "extensions" "$err" 'allowed_file_extensions: ".exe" is not an extension'
run "every bad word is named" 2 set_offline sesion_timeout_minutes=1 captcha_enabled=maybe \
  login_lockout.max_failures=101 gravatar_enabled=true &&
  check "every bad word is named" "$err" 'sesion_timeout_minutes' 'captcha_enabled' \
    'login_lockout\.max_failures: must be between 0 and 100'
lacks "good words are not complained about" "$err" 'gravatar'
run "given twice" 2 set_offline captcha_enabled=true captcha_enabled=false &&
  has "given twice" "$err" 'captcha_enabled is given twice'
run "no field=value" 2 set_offline captcha_enabled && has "no field=value" "$err" 'is not SETTING=VALUE'
lacks "nothing was sent" "$err" 'UNAVAILABLE|cannot reach'

# --- get: the defaults ----------------------------------------------------------
run "get defaults" 0 ctl policy get acme &&
  check "get defaults" "$out" '"session_timeout_minutes": 30,' '"max_failures": 5,' \
    '"password_policy": "PASSWORD_POLICY_LEVEL_MEDIUM"' '"version": 0,'

# --- a level nobody wrote needs --create ------------------------------------------
run "no stored level yet" 2 ctl policy set acme captcha_enabled=true &&
  check "no stored level yet" "$err" 'workspace acme has no stored policy yet \(version 0' \
    'add --create' 'secpolctl policy list'
run "nothing was created" 0 ctl policy list && has "nothing was created" "$err" '^no stored policy levels'
has "nothing listed" "$out" '^$'

# --- set: nested paths, lists, enums, bools; a short confirmation -----------------
run "set several" 0 ctl policy set acme --create --actor alice@example.com \
  login_lockout.max_failures=3 allowed_file_extensions=pdf,png,docx \
  password_policy=high gravatar_enabled=yes 'content_security_policy=default-src '"'"'none'"'" &&
  check "set several" "$out" '^workspace acme: version 0 -> 1$' \
    '^  password_policy: MEDIUM -> HIGH$' '^  login_lockout\.max_failures: 5 -> 3$' \
    '^  gravatar_enabled: false -> true$' \
    "^  content_security_policy: \"default-src 'self'; .*\" -> \"default-src 'none'\"\$" \
    '^  allowed_file_extensions: pdf,txt,.*,heic -> pdf,png,docx$'
has "set confirms in a few lines" "$(wc -l <<<"$out")" '^ *6$'
run "get after set" 0 ctl policy get acme &&
  check "get after set" "$out" '"max_failures": 3,' '"session_timeout_minutes": 30,' \
    '"version": 1,' '"updated_by": "alice@example.com"'
lacks "list replaced, not merged" "$out" '"xlsx"'
run "set unchanged" 0 ctl policy set acme login_lockout.max_failures=3 &&
  check "set unchanged" "$out" '^workspace acme: no change \(version 1\)$' \
    '^  login_lockout\.max_failures: 3 \(unchanged\)$'
run "set -o json keeps the document" 0 ctl -o json policy set acme session_timeout_minutes=20 &&
  check "set -o json keeps the document" "$out" '^\{$' '"session_timeout_minutes": 20,' \
    '"version": 2,' '"allowed_file_extensions": \[' &&
  has "set -o json is one document" "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])' <<<"$out")" '^2$'

# --- the server's own refusals: cross-field rules --------------------------------
run "preload on" 0 ctl policy set acme hsts.preload=true hsts.max_age_days=730
run "preload rules" 3 ctl policy set acme hsts.include_subdomains=false &&
  check "preload rules" "$err" '^INVALID_ARGUMENT' 'policy\.hsts\.include_subdomains: preload needs'
run "headers past 8 KiB in all" 3 ctl policy set acme "content_security_policy=$(printf 'a%.0s' {1..6000})" \
  "permissions_policy=$(printf 'b%.0s' {1..3000})" &&
  has "headers past 8 KiB in all" "$err" 'policy\.content_security_policy: the security headers would take [0-9]+ bytes; .* at most 8192'
run "nothing stored after invalid" 0 ctl policy get acme &&
  check "nothing stored after invalid" "$out" '"session_timeout_minutes": 20,' '"version": 3,'

# --- optimistic concurrency ---------------------------------------------------------
run "stale expected version" 10 ctl policy set acme --expected-version 7 captcha_enabled=true &&
  check "stale expected version" "$err" '^ABORTED' 'version 3'
run "current expected version" 0 ctl policy set acme --expected-version 3 captcha_enabled=true &&
  check "current expected version" "$out" '^workspace acme: version 3 -> 4$' '^  captcha_enabled: false -> true$'
run "bad expected version" 2 ctl policy set acme --expected-version $'soon\e[31m' captcha_enabled=true &&
  has "bad expected version, escaped" "$err" '--expected-version takes a whole number from 0 to [0-9]+, not "soon\\x1b\[31m"$'

# --- communities -----------------------------------------------------------------------
run "new community needs --create" 2 ctl policy set acme --community research session_timeout_minutes=10 &&
  has "new community needs --create" "$err" 'community research of workspace acme has no stored policy yet'
run "community override" 0 ctl policy set acme --community research --create session_timeout_minutes=10 &&
  check "community override" "$out" '^community research of workspace acme: version 0 -> 1$' \
    '^  session_timeout_minutes: 20 -> 10$'
run "workspace change flows down" 0 ctl policy set acme login_lockout.max_failures=4 &&
  run "workspace change flows down" 0 ctl policy get acme --community research &&
  check "workspace change flows down" "$out" '"max_failures": 4,' '"session_timeout_minutes": 10,'

# --- list: the stored levels ----------------------------------------------------------------
run "set beta" 0 ctl policy set beta --create captcha_enabled=true
run "list" 0 ctl policy list &&
  check "list" "$out" '^WORKSPACE +COMMUNITY +VERSION +SETTINGS +UPDATED +BY$' \
    '^acme +- +5 +11 +20[0-9-]+T[0-9:]+Z +-$' '^acme +research +1 +1 ' '^beta +- +1 +1 '
run "list one workspace" 0 ctl policy list acme &&
  check "list one workspace" "$out" '^acme +- ' '^acme +research '
lacks "list one workspace: no other" "$out" '^beta'
run "list paging" 0 ctl policy list --page-size 2 &&
  check "list paging" "$err" '^more: --page-token ' &&
  token=$(sed -n 's/^more: --page-token //p' <<<"$err") &&
  run "list next page" 0 ctl policy list --page-size 2 --page-token "$token" &&
  has "list next page" "$out" '^beta +- '
run "list as JSON" 0 ctl -o json policy list &&
  check "list as JSON" "$out" '"workspace_id": "acme"' '"community_id": "research"' '"next_page_token": ""'

# --- delete: what falls back -----------------------------------------------------------------
run "community delete" 0 ctl policy delete acme --community research &&
  check "community delete" "$out" \
    '^community research of workspace acme: deleted, every setting is inherited again \(version 1 -> 2\)$' \
    '^  session_timeout_minutes: 10 -> 20$'
run "delete again" 0 ctl policy delete acme --community research &&
  has "delete again" "$out" 'stores no settings, nothing to delete \(version 2\)'
run "deleted level stays listed" 0 ctl policy list acme &&
  has "deleted level stays listed" "$out" '^acme +research +2 +0 \(deleted\) '
run "a deleted level needs no --create" 0 ctl policy set acme --community research captcha_enabled=false

# --- force_password_reset never goes down, across deletes too ---------------------------------
run "raise the generation" 0 ctl policy set beta force_password_reset=5
run "delete beta" 0 ctl policy delete beta &&
  lacks "delete keeps the generation" "$out" 'force_password_reset'
run "lower after delete" 3 ctl policy set beta force_password_reset=1 &&
  has "lower after delete" "$err" 'policy\.force_password_reset: may not be lowered: it is 5'

# --- headers ----------------------------------------------------------------------------------
run "headers" 0 ctl policy set acme xss_protection_enabled=false expect_ct='max-age=86400' &&
  run "headers" 0 ctl policy headers acme &&
  check "headers" "$out" '^Strict-Transport-Security: max-age=63072000; includeSubDomains; preload$' \
    '^X-XSS-Protection: 0$' '^X-Content-Type-Options: nosniff$' '^Expect-CT: max-age=86400$' \
    "^Content-Security-Policy: default-src 'none'\$" &&
  check "headers warn about Expect-CT" "$err" '^warning: Expect-CT is deprecated'
run "headers as JSON" 0 ctl policy headers acme --json &&
  check "headers as JSON" "$out" '"name": "Referrer-Policy"' '"warnings": \['

# --- uploads ------------------------------------------------------------------------------------
run "upload allowed" 0 ctl policy check-upload acme 'C:\Users\me\Report.PDF' &&
  check "upload allowed" "$out" '"allowed": true' '"extension": "pdf"'
run "upload refused" 0 ctl policy check-upload acme 'report.pdf.exe' &&
  check "upload refused" "$out" '"allowed": false' '"extension": "exe"' '"reason": ".+"'

# --- text output escapes every value: a banner cannot forge history lines ----------------------
banner=$'Maintenance tonight\nversion 99  2030-01-01T00:00:00Z  admin@example.com\n  force_password_reset: 0 -> 0'
run "banner with line breaks" 0 ctl policy set acme auth_page_banner_enabled=true "auth_page_banner_text=$banner" &&
  has "banner confirmation stays on its line" "$out" \
    '^  auth_page_banner_text: "" -> "Maintenance tonight\\nversion 99  2030-01-01T00:00:00Z  admin@example\.com\\n  force_password_reset: 0 -> 0"$'
lacks "no forged line in the confirmation" "$out" '^version 99'
run "history" 0 ctl policy history acme &&
  check "history" "$out" '^version 1 .* alice@example.com' \
    '^  login_lockout\.max_failures: 5 \(inherited\) -> 3$' '^  hsts\.preload: false .*-> true$' \
    '^  password_policy: MEDIUM \(inherited\) -> HIGH$' \
    '^  auth_page_banner_text: "" \(inherited\) -> "Maintenance tonight\\nversion 99 '
lacks "history: no forged revision" "$out" '^version 99'
lacks "history: no forged change" "$out" '^  force_password_reset: 0 -> 0'
first=$(grep -m1 -E '^version' <<<"$out")
check "history newest first" "$first" '^version 7 '
# C1 controls, the line separators and bidi controls the server lets into a banner
run "banner with separators" 0 ctl policy set acme \
  "auth_page_banner_text=$(printf 'a\u2028b\u2029c\u202ed')" &&
  has "separators escaped" "$out" '-> "a\\u2028b\\u2029c\\u202ed"$'
run "history paging" 0 ctl policy history acme --page-size 2 &&
  check "history paging" "$err" '^more: --page-token ' &&
  token=$(sed -n 's/^more: --page-token //p' <<<"$err") &&
  run "history next page" 0 ctl policy history acme --page-size 2 --page-token "$token" &&
  check "history next page" "$out" '^version 6 ' '^version 5 '
run "history bad token" 3 ctl policy history acme --page-token nope &&
  check "history bad token" "$err" 'page_token'
run "community history" 0 ctl policy history acme --community research &&
  check "community history" "$out" '^version 2 .*deleted' '^version 1 '

secpol_finish
