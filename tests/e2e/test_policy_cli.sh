#!/usr/bin/env bash
# secpolctl policy get/set/delete/headers/history/check-upload against a real
# secpold: masks built from field=value words (nested, lists, enums by name),
# validation errors with their exit codes, community inheritance, optimistic
# concurrency and the history.
source "$(dirname "$0")/lib.sh"
secpol_start secpolctl-policy

# --- get: the defaults -------------------------------------------------------
run "get defaults" 0 ctl policy get acme &&
  check "get defaults" "$out" '"session_timeout_minutes": 30,' '"max_failures": 5,' \
    '"password_policy": "PASSWORD_POLICY_LEVEL_MEDIUM"' '"version": 0,'

# --- set: nested paths, lists, enums, bools; the mask is the fields named -----
run "set several" 0 ctl policy set acme --actor alice@example.com \
  login_lockout.max_failures=3 allowed_file_extensions=pdf,png,docx \
  password_policy=high gravatar_enabled=yes 'content_security_policy=default-src '"'"'none'"'" &&
  check "set several" "$out" '"max_failures": 3,' '"window_minutes": 15,' \
    '"password_policy": "PASSWORD_POLICY_LEVEL_HIGH"' '"gravatar_enabled": true' \
    '"content_security_policy": "default-src '"'"'none'"'"'"' '"docx"' '"version": 1,' \
    '"updated_by": "alice@example.com"'
run "get after set" 0 ctl policy get acme &&
  check "get after set" "$out" '"max_failures": 3,' '"session_timeout_minutes": 30,' \
    '"version": 1,'
lacks "list replaced, not merged" "$out" '"xlsx"'

# --- set: errors --------------------------------------------------------------
run "invalid values" 3 ctl policy set acme login_lockout.max_failures=101 \
  referrer_policy=sometimes session_timeout_minutes=10 &&
  check "invalid values" "$err" '^INVALID_ARGUMENT' \
    'policy.login_lockout.max_failures: .*100' 'policy.referrer_policy: '
lacks "one violation per bad field only" "$err" 'session_timeout_minutes:'
run "nothing stored after invalid" 0 ctl policy get acme &&
  check "nothing stored after invalid" "$out" '"session_timeout_minutes": 30,' '"version": 1,'
run "unknown setting" 2 ctl policy set acme no_such_setting=1 &&
  check "unknown setting" "$err" 'no_such_setting'
run "group is not a value" 2 ctl policy set acme hsts=true &&
  check "group is not a value" "$err" 'hsts.enabled'
run "not a number" 2 ctl policy set acme session_timeout_minutes=soon &&
  check "not a number" "$err" 'policy.session_timeout_minutes'
run "not a bool" 2 ctl policy set acme captcha_enabled=maybe &&
  check "not a bool" "$err" 'captcha_enabled'
run "no field=value" 2 ctl policy set acme captcha_enabled && ok "no field=value"
run "no workspace" 2 ctl policy get && ok "no workspace"

# --- optimistic concurrency ---------------------------------------------------
run "stale expected version" 10 ctl policy set acme --expected-version 7 captcha_enabled=true &&
  check "stale expected version" "$err" '^ABORTED' 'version 1'
run "current expected version" 0 ctl policy set acme --expected-version 1 captcha_enabled=true &&
  check "current expected version" "$out" '"captcha_enabled": true' '"version": 2,'

# --- communities ----------------------------------------------------------------
run "community override" 0 ctl policy set acme --community research session_timeout_minutes=10 &&
  check "community override" "$out" '"session_timeout_minutes": 10,' '"max_failures": 3,' \
    '"version": 1,'
run "workspace change flows down" 0 ctl policy set acme login_lockout.max_failures=4 &&
  run "workspace change flows down" 0 ctl policy get acme --community research &&
  check "workspace change flows down" "$out" '"max_failures": 4,' '"session_timeout_minutes": 10,'
run "community delete" 0 ctl policy delete acme --community research &&
  check "community delete" "$out" '"deleted": true' '"session_timeout_minutes": 30,'

# --- headers -----------------------------------------------------------------------
run "headers" 0 ctl policy set acme hsts.preload=true hsts.max_age_days=730 xss_protection_enabled=false \
  expect_ct='max-age=86400' && run "headers" 0 ctl policy headers acme &&
  check "headers" "$out" '^Strict-Transport-Security: max-age=63072000; includeSubDomains; preload$' \
    '^X-XSS-Protection: 0$' '^X-Content-Type-Options: nosniff$' '^Expect-CT: max-age=86400$' \
    "^Content-Security-Policy: default-src 'none'\$" &&
  check "headers warn about Expect-CT" "$err" '^warning: Expect-CT is deprecated'
run "headers as JSON" 0 ctl policy headers acme --json &&
  check "headers as JSON" "$out" '"name": "Referrer-Policy"' '"warnings": \['
run "preload rules" 3 ctl policy set acme hsts.include_subdomains=false &&
  check "preload rules" "$err" 'policy.hsts.include_subdomains: preload needs'

# --- uploads -------------------------------------------------------------------------
run "upload allowed" 0 ctl policy check-upload acme 'C:\Users\me\Report.PDF' &&
  check "upload allowed" "$out" '"allowed": true' '"extension": "pdf"'
run "upload refused" 0 ctl policy check-upload acme 'report.pdf.exe' &&
  check "upload refused" "$out" '"allowed": false' '"extension": "exe"' '"reason": ".+"'

# --- history ---------------------------------------------------------------------------
run "history" 0 ctl policy history acme &&
  check "history" "$out" '^version 4 ' '^version 1 .* alice@example.com' \
    'login_lockout.max_failures: "5" \(inherited\) -> "3"' 'hsts.preload: "false" .*-> "true"'
first=$(grep -m1 -E '^version' <<<"$out")
check "history newest first" "$first" '^version 4 '
run "history paging" 0 ctl policy history acme --page-size 2 &&
  check "history paging" "$err" '^more: --page-token ' &&
  token=$(sed -n 's/^more: --page-token //p' <<<"$err") &&
  run "history next page" 0 ctl policy history acme --page-size 2 --page-token "$token" &&
  check "history next page" "$out" '^version 2 ' '^version 1 '
run "history bad token" 3 ctl policy history acme --page-token nope &&
  check "history bad token" "$err" 'page_token'
run "community history" 0 ctl policy history acme --community research &&
  check "community history" "$out" '^version 2 .*deleted' '^version 1 '

secpol_finish
