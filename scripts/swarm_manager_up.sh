#!/usr/bin/env bash
# The local engine as a Swarm manager that a second engine on this machine can join: idempotent,
# run as root. Prints the address it advertises.
#
# The manager advertises 10.77.0.1 (FAME_SWARM_MANAGER_ADDR), an address put on the host's
# loopback interface: 127.0.0.1 would not do, since inside the worker's network namespace
# (scripts/swarm_worker_up.sh) it is the namespace's own loopback, while 10.77.0.1 is reached
# through the veth like any address of the host, and it stays when the worker goes.
#
# A swarm that already runs here is kept when it advertises that address; one advertised
# elsewhere is an error with the fix, unless FAME_SWARM_REINIT=1 (then it is left and made again,
# and its services are lost).
set -euo pipefail

ADDR="${FAME_SWARM_MANAGER_ADDR:-10.77.0.1}"

die() {
  echo "swarm_manager_up: $*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root (it adds an address to the loopback interface)."
docker info >/dev/null 2>&1 || die "the local Docker engine does not answer; start it first: scripts/docker_up.sh"

ip addr replace "$ADDR/32" dev lo

state="$(docker info --format '{{.Swarm.LocalNodeState}}')"
current="$(docker info --format '{{.Swarm.NodeAddr}}')"
manager="$(docker info --format '{{.Swarm.ControlAvailable}}')"
if [ "$state" = active ] && [ "$manager" = true ] && [ "$current" = "$ADDR" ]; then
  echo "$ADDR"
  exit 0
fi
if [ "$state" = active ]; then
  if [ "${FAME_SWARM_REINIT:-0}" != 1 ]; then
    die "the local engine is already in a swarm advertised at '$current' (manager: $manager), which a \
worker in a network namespace cannot reach. Make it again on $ADDR (its services are lost): \
docker swarm leave --force && docker swarm init --advertise-addr $ADDR  (or rerun with FAME_SWARM_REINIT=1)."
  fi
  echo "==> the local swarm advertises $current; leaving it to make one on $ADDR" >&2
  docker swarm leave --force >/dev/null
fi
echo "==> docker swarm init --advertise-addr $ADDR" >&2
docker swarm init --advertise-addr "$ADDR" >/dev/null
echo "$ADDR"
