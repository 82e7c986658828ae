#!/usr/bin/env bash
# Makes the image debian:bookworm-slim locally when no registry is
# reachable: a minimal Debian 12 tree from debootstrap (--variant=minbase,
# from the Debian mirror), imported with `docker import`. Does nothing when
# the image exists already (docker pull debian:bookworm-slim, or an earlier
# run). Needs root, debootstrap and a running Docker engine.
#   docker/base-image.sh [IMAGE]        (default debian:bookworm-slim)
set -euo pipefail
image=${1:-debian:bookworm-slim}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "base-image: $image exists"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "base-image: apt-get install debootstrap" >&2; exit 1; }
root=$(mktemp -d /tmp/secpol-bookworm-XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "base-image: debootstrap --variant=minbase bookworm from $mirror" >&2
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
  { tail -20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"
# As the official slim image: no package lists or caches in the layer.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
tar -C "$root" -c . | docker import \
  -c 'CMD ["bash"]' -c 'ENV LANG=C.UTF-8' -m "debootstrap --variant=minbase bookworm" - "$image"
echo "base-image: $image imported" >&2
