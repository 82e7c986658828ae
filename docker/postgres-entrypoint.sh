#!/bin/sh
# secpol-postgres: the scale profile's database (docker/postgres.Dockerfile).
# First start (an empty $PGDATA): initdb with the superuser "secpol", its
# password read from SECPOL_PG_PASSWORD (never on a command line), TCP
# clients with scram-sha-256 only, and a database "secpol". Then postgres,
# as PID 1 (SIGINT: fast shutdown).
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  [ -n "${SECPOL_PG_PASSWORD:-}" ] || { echo "secpol-postgres: SECPOL_PG_PASSWORD is empty" >&2; exit 2; }
  pwfile=$(mktemp)
  printf '%s\n' "$SECPOL_PG_PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" -U secpol --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  printf 'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  echo 'CREATE DATABASE secpol' | postgres --single -D "$PGDATA" postgres >/dev/null
  echo "secpol-postgres: made the cluster and the database secpol"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c synchronous_commit=on
