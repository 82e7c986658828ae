#!/usr/bin/env bash
# End-to-end test of the Docker deployment, run by .ci/run (as root, with
# network access to the Debian mirror for the image's packages):
#   1. installs Docker, docker-compose and debootstrap when missing
#      (scripts/install-deps --docker) and starts dockerd when not running;
#   2. makes the debian:bookworm-slim base locally (docker/base-image.sh, once);
#   3. builds the images of docker/compose.yaml and brings secpold up (after
#      the one-shot keygen service made the CURVE keys);
#   4. waits for the HEALTHCHECK (secpolctl health) to say healthy;
#   5. runs the example backend client's login flow (login-example) and checks
#      it passed, scrapes /metrics for its calls, checks /readyz, the user;
#   6. checks CURVE: an admin key sets a policy, a service key may not, a
#      client without keys gets no answer, keygen keeps the keys it made;
#      restarts secpold and checks the store survived in its volume;
#   7. runs the load generator of the bench profile for a second;
#   8. the scale profile: PostgreSQL (docker/postgres.Dockerfile) and two
#      secpold on it, both healthy; the example login flow against each and
#      against both at once (one client, two endpoints); a
#      reset token issued through secpold-1 is consumed through secpold-2
#      exactly once (the second use, through either, is refused);
#   9. tears everything down (volumes included), whatever happened.
# Nothing waits a fixed time: each wait polls a state with a deadline
# (SECPOL_DOCKER_DEADLINE seconds, default 120).
set -uo pipefail
cd "$(dirname "$0")/.."
deadline=${SECPOL_DOCKER_DEADLINE:-120}
project="secpol-e2e-$$"
compose=(docker-compose -p "$project" -f docker/compose.yaml)
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   - $1"; }
bad() { failed=$((failed + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && echo "       $2"; }
finish() {
  echo "$passed passed, $failed failed ($SECONDS s)"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
  exit $?
}
abort() {
  bad "$1" "${2:-}"
  "${compose[@]}" logs --no-color --tail 30 >&2 2>/dev/null || true
  finish
}
cleanup() { "${compose[@]}" --profile bench --profile scale down -v --remove-orphans >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. the engine --------------------------------------------------------------
scripts/install-deps --docker || abort "install Docker, docker-compose, debootstrap"
if ! docker info >/dev/null 2>&1; then
  echo "docker/test.sh: starting dockerd (log in /var/log/secpol-dockerd.log)"
  (setsid dockerd >/var/log/secpol-dockerd.log 2>&1 &)
  give_up=$((SECONDS + deadline))
  until docker info >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$give_up" ] || abort "dockerd answers" "$(tail -5 /var/log/secpol-dockerd.log)"
    sleep 0.5
  done
fi
ok "the Docker engine answers"

# --- 2, 3. images, secpold up -----------------------------------------------------
docker/base-image.sh || abort "the debian:bookworm-slim base image"
ok "debian:bookworm-slim is there"
# free host ports, so that the test never collides with a secpold on 7420
export SECPOL_RPC_PUBLISH=127.0.0.1: SECPOL_METRICS_PUBLISH=127.0.0.1: \
  SECPOL_SCALE_RPC_PUBLISH_1=127.0.0.1: SECPOL_SCALE_RPC_PUBLISH_2=127.0.0.1:
started=$SECONDS
"${compose[@]}" build >"/tmp/$project-build.log" 2>&1 ||
  abort "docker-compose build" "$(tail -20 "/tmp/$project-build.log")"
ok "docker-compose build ($((SECONDS - started)) s)"
rm -f "/tmp/$project-build.log"
"${compose[@]}" up -d secpold || abort "docker-compose up -d secpold"
container=$("${compose[@]}" ps -q secpold)

# --- 4. health --------------------------------------------------------------------
await_healthy() { # CONTAINER NAME: polls its HEALTHCHECK until healthy, within the deadline
  local health give_up=$((SECONDS + deadline))
  while :; do
    health=$(docker inspect -f '{{.State.Status}} {{.State.Health.Status}}' "$1")
    [ "$health" = "running healthy" ] && return 0
    case "$health" in running*) ;; *) abort "$2 runs" "$health" ;; esac
    [ "$SECONDS" -lt "$give_up" ] || abort "$2 turns healthy within $deadline s" "$health"
    sleep 0.5
  done
}
await_healthy "$container" secpold
ok "secpold is healthy (its HEALTHCHECK: secpolctl health)"
metrics=$("${compose[@]}" port secpold 9464)
scrape() { curl -s --noproxy '*' --max-time 10 "http://$metrics$1"; }
[ "$(scrape /readyz)" = "ready" ] && ok "/readyz says ready" || bad "/readyz says ready" "$(scrape /readyz)"
uid=$("${compose[@]}" exec -T secpold id -u)
[ "$uid" != 0 ] && ok "secpold runs as a non-root user ($uid)" || bad "secpold runs as a non-root user"

# --- 5. the example login flow ----------------------------------------------------
out=$("${compose[@]}" run --rm login-example 2>&1)
status=$?
echo "$out" | sed 's/^/       | /'
if [ "$status" -eq 0 ] && grep -q '^login flow: all steps as expected' <<<"$out"; then
  ok "the example client's login flow passes"
else
  bad "the example client's login flow passes" "exit $status"
fi
page=$(scrape /metrics)
for want in 'LockoutService/RecordFailure",code="OK"' 'TokenService/ConsumeToken",code="OK"' \
  'TokenService/ConsumeToken",code="NOT_FOUND"' 'SessionService/CreateSession",code="OK"'; do
  if grep -qF "$want" <<<"$page"; then ok "/metrics counts $want"; else bad "/metrics counts $want"; fi
done

# --- 6. CURVE, and the store outlives the container ----------------------------------
# a client container with the client keys, as a given client
as_client() { # NAME SECPOLCTL-ARGS...
  local name=$1
  shift
  "${compose[@]}" run --rm -T --entrypoint secpolctl -e "SECPOL_CLIENT_CERT=/keys/client/${name}_secret" \
    bench --endpoint tcp://secpold:7420 "$@" 2>&1
}
if out=$(as_client ops policy set --create e2e-workspace session_timeout_minutes=21); then
  ok "the admin key (ops) sets a policy over CURVE"
else
  bad "the admin key (ops) sets a policy over CURVE" "$out"
fi
out=$(as_client login-example policy set e2e-workspace session_timeout_minutes=22)
status=$?
if [ "$status" -eq 7 ] && grep -q PERMISSION_DENIED <<<"$out"; then
  ok "the service key (login-example) may not"
else
  bad "the service key (login-example) may not" "exit $status: $out"
fi
out=$("${compose[@]}" exec -T -e SECPOL_SERVER_KEY= -e SECPOL_CLIENT_CERT= secpold \
  secpolctl --endpoint tcp://127.0.0.1:7420 --timeout 1000 health 2>&1)
status=$?
[ "$status" -eq 14 ] && ok "a client without keys gets no answer" ||
  bad "a client without keys gets no answer" "exit $status: $out"
out=$("${compose[@]}" run --rm -T keygen 2>&1)
if grep -q 'secpold_secret exists, kept' <<<"$out" && ! grep -q '^fingerprint' <<<"$out"; then
  ok "keygen again keeps every key"
else
  bad "keygen again keeps every key" "$out"
fi
timeout() { # the policy's session timeout, read with the healthcheck's service key
  "${compose[@]}" exec -T secpold secpolctl --endpoint tcp://127.0.0.1:7420 -o json \
    policy get e2e-workspace | sed -n 's/.*"session_timeout_minutes": *\([0-9]*\).*/\1/p'
}
before=$(timeout)
"${compose[@]}" restart secpold >/dev/null 2>&1 || bad "docker-compose restart secpold"
give_up=$((SECONDS + deadline))
until [ "$(docker inspect -f '{{.State.Health.Status}}' "$container")" = healthy ]; do
  [ "$SECONDS" -lt "$give_up" ] || abort "secpold is healthy again after a restart"
  sleep 0.5
done
after=$(timeout)
if [ "$before" = 21 ] && [ "$after" = 21 ]; then
  ok "the policy survives a restart (volume data)"
else
  bad "the policy survives a restart" "session_timeout_minutes before: $before, after: $after"
fi
logs=$(docker logs "$container" 2>&1)
if grep -q 'msg=stopped' <<<"$logs" && grep -q 'msg=stop$' <<<"$logs"; then
  ok "secpold stopped cleanly on docker's SIGTERM"
else
  bad "secpold stopped cleanly on docker's SIGTERM" "$(tail -5 <<<"$logs")"
fi
has_log() { grep -q "$1" <<<"$logs" && ok "$2" || bad "$2" "no /$1/ in the log"; }
has_log 'msg="keys loaded" dir=[^ ]* admin=2 service=2' "secpold loaded the allow-list (ops and bench admin; login-example and the healthcheck service)"

# --- 7. the load generator ----------------------------------------------------------
if out=$("${compose[@]}" --profile bench run --rm bench --endpoint tcp://secpold:7420 --seconds 1 \
  --warmup 0.2 --scenarios get_policy 2>&1) && grep -q 'get_policy' <<<"$out"; then
  ok "the bench profile's load generator runs against it"
else
  bad "the bench profile's load generator runs against it" "$(tail -5 <<<"$out")"
fi

# --- 8. the scale profile: two secpold on one PostgreSQL ------------------------------
scale_started=$SECONDS
"${compose[@]}" --profile scale build postgres >"/tmp/$project-build.log" 2>&1 ||
  abort "docker-compose build postgres" "$(tail -20 "/tmp/$project-build.log")"
rm -f "/tmp/$project-build.log"
ok "the postgres image of the scale profile ($((SECONDS - scale_started)) s)"
"${compose[@]}" --profile scale up -d secpold-1 secpold-2 || abort "docker-compose --profile scale up -d"
for name in postgres secpold-1 secpold-2; do
  await_healthy "$("${compose[@]}" --profile scale ps -q "$name")" "$name"
done
ok "postgres, secpold-1 and secpold-2 are healthy"
out=$("${compose[@]}" --profile scale run --rm login-example-scale 2>&1)
status=$?
echo "$out" | sed 's/^/       | /'
if [ "$status" -eq 0 ] && [ "$(grep -c '^login flow: all steps as expected' <<<"$out")" -eq 3 ]; then
  ok "the example client's login flow passes against secpold-1, secpold-2 and both at once"
else
  bad "the example client's login flow passes against secpold-1, secpold-2 and both at once" "exit $status"
fi
on() { # INSTANCE SECPOLCTL-ARGS...: secpolctl in that instance, with the healthcheck's service key
  local instance=$1
  shift
  "${compose[@]}" --profile scale exec -T "$instance" secpolctl --endpoint tcp://127.0.0.1:7420 "$@"
}
grep -q 'store=postgresql://secpol@postgres:5432/secpol ' <<<"$(docker logs \
  "$("${compose[@]}" --profile scale ps -q secpold-2)" 2>&1)" &&
  ok "secpold-2 runs on the PostgreSQL store" || bad "secpold-2 runs on the PostgreSQL store"
token=$(on secpold-1 token issue scale-e2e password-reset alice 2>&1 |
  sed -n 's/.*"token": *"\([^"]*\)".*/\1/p')
[ -n "$token" ] && ok "secpold-1 issues a reset token" || bad "secpold-1 issues a reset token"
out=$(on secpold-2 -o text token consume - password-reset --workspace scale-e2e <<<"$token" 2>&1)
status=$?
if [ "$status" -eq 0 ] && grep -q '^subject_id: alice$' <<<"$out"; then
  ok "secpold-2 consumes the token secpold-1 issued (one store, one key)"
else
  bad "secpold-2 consumes the token secpold-1 issued" "exit $status: $out"
fi
for instance in secpold-2 secpold-1; do
  out=$(on "$instance" token consume - password-reset --workspace scale-e2e <<<"$token" 2>&1)
  status=$?
  [ "$status" -eq 5 ] && grep -q NOT_FOUND <<<"$out" && ok "a second use through $instance is refused" ||
    bad "a second use through $instance is refused" "exit $status: $out"
done
echo "       (the scale profile took $((SECONDS - scale_started)) s)"
finish
