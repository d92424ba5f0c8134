#!/usr/bin/env bash
# A second Docker engine on this machine, joined as a worker of the local Swarm: a real two-node
# cluster for tests, demos and benchmarks. Idempotent; run as root.
#
#   scripts/swarm_worker_up.sh          start (or repair) the worker; prints shell lines to eval:
#                                       FAME_NODE2_ENGINE, FAME_NODE2_HOSTNAME, FAME_SWARM_MANAGER_ADDR
#
# What it builds:
#   - a network namespace `fame-node2` joined to the host by a veth pair (10.77.2.1/24 on the
#     host side, 10.77.2.2/24 inside, default route through the host), so the Swarm ports
#     (2377/tcp, 7946/tcp+udp, 4789/udp for overlay VXLAN) pass between the two engines;
#   - a dockerd inside that namespace with its own data root, exec root, containerd, socket
#     (unix:///var/run/fame-node2.sock), cgroup parent and host name `fame-node2` (its own UTS
#     namespace), so Swarm sees a distinct node. It starts without any image;
#   - the local engine as the Swarm manager advertising 10.77.0.1 (scripts/swarm_manager_up.sh
#     says why and what happens to a swarm that already runs here). FAME_SWARM_MANAGER_ENGINE
#     and FAME_SWARM_MANAGER_ADDR name another manager instead (it must already run).
#
# scripts/swarm_worker_down.sh undoes all of it; scripts/swarm_worker_down.sh --kill simulates a
# lost node (SIGKILL to every process of the worker, nothing graceful).
set -euo pipefail

NODE="${FAME_NODE2_NAME:-fame-node2}"
HOST_IP="${FAME_NODE2_HOST_IP:-10.77.2.1}"
NODE_IP="${FAME_NODE2_IP:-10.77.2.2}"
VETH_HOST="${FAME_NODE2_VETH:-fame-n2h}"   # interface names are at most 15 characters
VETH_NODE="${VETH_HOST%h}n"
DATA_ROOT="/var/lib/$NODE"
EXEC_ROOT="/var/run/$NODE"
SOCK="/var/run/$NODE.sock"
PIDFILE="/var/run/$NODE.pid"
LOG="/tmp/$NODE-dockerd.log"
ENGINE="unix://$SOCK"

die() {
  echo "swarm_worker_up: $*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root (it creates a network namespace and starts a Docker engine)."
for tool in ip nsenter unshare dockerd docker; do
  command -v "$tool" >/dev/null || die "'$tool' is not installed (apt-get install -y iproute2 util-linux docker.io)."
done

# The manager: the local engine unless FAME_SWARM_MANAGER_ENGINE names another one (which must
# already manage a swarm advertised at FAME_SWARM_MANAGER_ADDR, reachable from the namespace).
MANAGER_ENGINE="${FAME_SWARM_MANAGER_ENGINE:-}"
MANAGER_ADDR="${FAME_SWARM_MANAGER_ADDR:-10.77.0.1}"
ENGINE_ONLY=0
[ "${1:-}" = --engine-only ] && ENGINE_ONLY=1   # start the engine, do not join (for experiments)

node_docker() { docker --host "$ENGINE" "$@"; }
manager_docker() {
  if [ -n "$MANAGER_ENGINE" ]; then docker --host "$MANAGER_ENGINE" "$@"; else docker "$@"; fi
}
if [ "$ENGINE_ONLY" = 0 ]; then
  manager_docker info >/dev/null 2>&1 \
    || die "the manager's Docker engine does not answer; start it first: scripts/docker_up.sh"
fi

# --- 1. The network namespace and the veth pair ----------------------------------------------
if [ ! -e "/var/run/netns/$NODE" ]; then
  ip netns add "$NODE"
fi
if ! ip link show "$VETH_HOST" >/dev/null 2>&1; then
  ip link add "$VETH_HOST" type veth peer name "$VETH_NODE"
  ip link set "$VETH_NODE" netns "$NODE"
fi
ip addr replace "$HOST_IP/24" dev "$VETH_HOST"
ip link set "$VETH_HOST" up
ip netns exec "$NODE" ip link set lo up
ip netns exec "$NODE" ip addr replace "$NODE_IP/24" dev "$VETH_NODE"
ip netns exec "$NODE" ip link set "$VETH_NODE" up
ip netns exec "$NODE" ip route replace default via "$HOST_IP"

# --- 2. The manager: the local engine (scripts/swarm_manager_up.sh), unless told another ----------
if [ "$ENGINE_ONLY" = 0 ]; then
  if [ -n "$MANAGER_ENGINE" ]; then
    [ "$(manager_docker info --format '{{.Swarm.ControlAvailable}} {{.Swarm.NodeAddr}}')" = "true $MANAGER_ADDR" ] \
      || die "the engine $MANAGER_ENGINE is not a swarm manager advertised at $MANAGER_ADDR."
  else
    FAME_SWARM_MANAGER_ADDR="$MANAGER_ADDR" "$(dirname "$0")/swarm_manager_up.sh" >/dev/null
  fi
fi

# --- 3. The worker's engine --------------------------------------------------------------------
if ! node_docker info >/dev/null 2>&1; then
  # Leftovers of a killed worker (its containerd and shims outlive a SIGKILLed dockerd).
  "$(dirname "$0")/swarm_worker_down.sh" --processes-only
  mkdir -p "$DATA_ROOT" "$EXEC_ROOT"
  echo '{}' >"$EXEC_ROOT/daemon.json"   # not the host's /etc/docker/daemon.json
  echo "==> starting the worker engine $NODE (log: $LOG)" >&2
  # nsenter --net, not `ip netns exec`: the latter remounts /sys in a new mount namespace, which
  # hides /sys/fs/cgroup from dockerd. unshare --uts gives the worker its own host name, which is
  # the node's name in Swarm.
  setsid unshare --uts sh -c "hostname '$NODE' && exec nsenter --net=/var/run/netns/$NODE \
    dockerd --host '$ENGINE' --data-root '$DATA_ROOT' --exec-root '$EXEC_ROOT' --pidfile '$PIDFILE' \
      --config-file '$EXEC_ROOT/daemon.json' --cgroup-parent '/$NODE' \
      --storage-driver overlay2" >"$LOG" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    node_docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  node_docker info >/dev/null 2>&1 || { tail -n 30 "$LOG" >&2; die "the worker engine did not answer within 30 s (log above: $LOG)."; }
fi

if [ "$ENGINE_ONLY" = 1 ]; then
  echo "export FAME_NODE2_ENGINE=$ENGINE"
  exit 0
fi

# --- 4. Join the worker ------------------------------------------------------------------------
node_state="$(node_docker info --format '{{.Swarm.LocalNodeState}}')"
node_id="$(node_docker info --format '{{.Swarm.NodeID}}')"
known=""
if [ -n "$node_id" ]; then
  known="$(manager_docker node inspect --format '{{.Status.State}}' "$node_id" 2>/dev/null || true)"
fi
# A worker the manager knows (by its node ID) is in this swarm: after a restart it reconnects by
# itself (state pending, then active). Anything else leaves and joins afresh.
if [ "$node_state" = inactive ] || [ -z "$known" ]; then
  if [ "$node_state" != inactive ]; then
    node_docker swarm leave --force >/dev/null 2>&1 || true
  fi
  if [ -n "$node_id" ]; then
    manager_docker node rm --force "$node_id" >/dev/null 2>&1 || true
  fi
  token="$(manager_docker swarm join-token -q worker)"
  echo "==> joining $NODE to the swarm at $MANAGER_ADDR:2377" >&2
  node_docker swarm join --token "$token" --advertise-addr "$NODE_IP" "$MANAGER_ADDR:2377" >/dev/null || die "the worker could not join the swarm at $MANAGER_ADDR:2377 (see $LOG)."
  node_id="$(node_docker info --format '{{.Swarm.NodeID}}')"
fi

for _ in $(seq 1 60); do
  [ "$(manager_docker node inspect --format '{{.Status.State}}' "$node_id" 2>/dev/null)" = ready ] && break
  sleep 0.5
done
[ "$(manager_docker node inspect --format '{{.Status.State}}' "$node_id")" = ready ] \
  || die "the worker $node_id joined but is not ready after 30 s (manager_docker node ls; log: $LOG)."
echo "==> $NODE is a ready worker ($node_id)" >&2

echo "export FAME_NODE2_ENGINE=$ENGINE"
echo "export FAME_NODE2_HOSTNAME=$NODE"
echo "export FAME_NODE2_ID=$node_id"
echo "export FAME_SWARM_MANAGER_ADDR=$MANAGER_ADDR"
