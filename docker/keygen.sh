#!/bin/sh
# secpol-compose-keygen SERVER_DIR CLIENT_DIR NAME:ROLE...
#
# The CURVE keys of the compose deployment (docs/DEPLOY.md, "Keys"), made
# on the first start and kept after: a key that exists is never made again
# (secpolctl keygen never overwrites one either).
#   SERVER_DIR/secpold_secret         the server's secret certificate (secpold only)
#   SERVER_DIR/healthcheck_secret     the image's HEALTHCHECK client (role service)
#   SERVER_DIR/authorized/NAME        the public certificate of every client let in
#   CLIENT_DIR/secpold                the server's public certificate, for clients
#   CLIENT_DIR/NAME_secret, NAME      each client's pair, with the role given
# Everything is created mode 0600/0700 for the user it runs as (secpol).
set -eu
[ $# -ge 2 ] || { echo "usage: secpol-compose-keygen SERVER_DIR CLIENT_DIR NAME:ROLE..." >&2; exit 2; }
server=$1
client=$2
shift 2
umask 077
mkdir -p "$server/authorized" "$client"

pair() { # NAME ROLE DIR: a key pair unless it exists
  if [ -e "$3/$1_secret" ]; then
    echo "keygen: $3/$1_secret exists, kept"
  else
    secpolctl keygen "$1" --role "$2" --dir "$3"
  fi
}
allow() { # PUBLIC: let that client in
  [ -e "$server/authorized/$(basename "$1")" ] || cp "$1" "$server/authorized/"
}

pair secpold service "$server"
[ -e "$client/secpold" ] || cp "$server/secpold" "$client/secpold"
pair healthcheck service "$server"
allow "$server/healthcheck"
for spec in "$@"; do
  name=${spec%%:*}
  role=${spec#*:}
  [ "$role" != "$spec" ] || role=service
  pair "$name" "$role" "$client"
  allow "$client/$name"
done
echo "keygen: keys ready; clients allowed: $(ls "$server/authorized" | tr '\n' ' ')"
