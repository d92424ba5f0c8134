#!/usr/bin/env bash
# Build the sandbox image (fame-sandbox:latest) from resources/sandbox/; idempotent and fast when the
# image is up to date (a label holds a hash of resources/sandbox/* and the base image id).
# Base: python:3.11-slim when present or pullable; otherwise an equivalent Debian bookworm base with
# Python 3.11 is made OFFLINE with debootstrap from the apt mirror this machine uses, and imported.
# Env: FAME_SANDBOX_IMAGE, FAME_SANDBOX_BASE, FAME_PULL_TIMEOUT (seconds, default 20).
# The app's own route is `fame sandbox prepare` (pull with progress, same build and label); this
# script stays the offline one.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="${FAME_SANDBOX_IMAGE:-fame-sandbox:latest}"
BASE="${FAME_SANDBOX_BASE:-python:3.11-slim}"
OFFLINE_BASE="fame-sandbox-base:bookworm"
CONTEXT="$REPO/resources/sandbox"

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

debian_mirror() {
  # First non-security Debian URI from deb822 .sources files or one-line .list files.
  local uri
  uri=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
  if [ -z "$uri" ]; then
    uri=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' | grep -v security | head -n1 || true)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

build_offline_base() {
  command -v debootstrap >/dev/null || { echo "build_sandbox_image: install debootstrap (apt-get install -y debootstrap)" >&2; exit 1; }
  local mirror rootfs
  mirror="$(debian_mirror)"
  rootfs="$(mktemp -d /tmp/fame-rootfs.XXXXXX)"
  trap 'rm -rf "$rootfs"' EXIT
  echo "==> building the offline base $OFFLINE_BASE with debootstrap from $mirror (about a minute)"
  debootstrap --variant=minbase --include=python3 bookworm "$rootfs" "$mirror" >/tmp/fame-debootstrap.log 2>&1 || {
    echo "build_sandbox_image: debootstrap failed; see /tmp/fame-debootstrap.log" >&2; tail -n 20 /tmp/fame-debootstrap.log >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import --change 'CMD ["python3"]' - "$OFFLINE_BASE" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
}

base="$BASE"
if ! have_image "$base"; then
  if timeout "${FAME_PULL_TIMEOUT:-20}" docker pull "$base" >/dev/null 2>&1; then
    echo "==> pulled $base"
  else
    base="$OFFLINE_BASE"
    have_image "$base" || build_offline_base
  fi
fi

base_id="$(docker image inspect -f '{{.Id}}' "$base")"
# The hash: the context's regular files in byte order of their names, then the base id. The app
# computes the same (fame_desktop/orchestrator/sandbox/images.py, `fame sandbox prepare`).
want="$( (cd "$CONTEXT" && for f in $(LC_ALL=C ls); do if [ -f "$f" ]; then cat "$f"; fi; done; echo "$base_id") \
  | sha256sum | cut -c1-32)"
current="$(docker image inspect -f '{{index .Config.Labels "fame.sandbox.hash"}}' "$IMAGE" 2>/dev/null || true)"
if [ "$current" = "$want" ]; then
  echo "==> $IMAGE is up to date (base $base)"
  exit 0
fi
echo "==> building $IMAGE on $base"
# --network none: no step may download, and the build does not depend on the default bridge.
DOCKER_BUILDKIT=0 docker build -q --network none --build-arg "BASE=$base" --label "fame.sandbox.hash=$want" \
  --label "fame.sandbox.base=$base" -t "$IMAGE" "$CONTEXT" >/tmp/fame-sandbox-build.log 2>&1 \
  || { echo "build_sandbox_image: docker build failed; see /tmp/fame-sandbox-build.log" >&2; tail -n 20 /tmp/fame-sandbox-build.log >&2; exit 1; }
echo "==> built $IMAGE"
