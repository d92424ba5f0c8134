#!/usr/bin/env bash
# Undo scripts/swarm_worker_up.sh. Idempotent; run as root.
#
#   scripts/swarm_worker_down.sh              the worker leaves the swarm, its engine stops, and its
#                                             namespace, veth, data, mounts and cgroups are removed;
#                                             the manager forgets the node. The local swarm stays.
#   scripts/swarm_worker_down.sh --kill       a lost node: SIGKILL to the worker's engine, containerd,
#                                             shims and containers at once, nothing graceful. The
#                                             manager sees the node go down; run without --kill
#                                             (or swarm_worker_up.sh) afterwards to clean up.
#   scripts/swarm_worker_down.sh --processes-only
#                                             only kill leftover processes and unmount leftover
#                                             mounts (used by swarm_worker_up.sh before a restart).
set -euo pipefail

NODE="${FAME_NODE2_NAME:-fame-node2}"
VETH_HOST="${FAME_NODE2_VETH:-fame-n2h}"
DATA_ROOT="/var/lib/$NODE"
EXEC_ROOT="/var/run/$NODE"
SOCK="/var/run/$NODE.sock"
PIDFILE="/var/run/$NODE.pid"
ENGINE="unix://$SOCK"
MANAGER_ENGINE="${FAME_SWARM_MANAGER_ENGINE:-}"   # as in swarm_worker_up.sh: default the local engine
MODE="${1:-down}"

die() {
  echo "swarm_worker_down: $*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root."
case "$MODE" in
  down | --kill | --processes-only) ;;
  *) die "unknown option '$MODE' (use --kill or --processes-only, or nothing)." ;;
esac

# Every process of the worker: its dockerd (pid file), whatever runs in its network namespace
# (containerd, shims, proxies) and whatever runs in its containers (their cgroups sit under the
# worker's cgroup parent; the containers have network namespaces of their own).
worker_pids() {
  local pid
  all_worker_pids | while read -r pid; do
    # A zombie is dead already (it waits for init to reap it): SIGKILL cannot and need not touch it.
    [ -r "/proc/$pid/stat" ] && [ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" != Z ] && echo "$pid"
  done
  return 0
}

all_worker_pids() {
  local pid
  if [ -s "$PIDFILE" ]; then
    pid="$(cat "$PIDFILE")"
    [ -d "/proc/$pid" ] && echo "$pid"
  fi
  if [ -e "/var/run/netns/$NODE" ]; then
    ip netns pids "$NODE" 2>/dev/null || true
  fi
  cat /sys/fs/cgroup/*/"$NODE"/*/cgroup.procs /sys/fs/cgroup/"$NODE"/*/cgroup.procs 2>/dev/null || true
}

kill_all() {
  local pids
  for _ in 1 2 3 4 5; do
    pids="$(worker_pids | sort -u)"
    [ -z "$pids" ] && return 0
    # shellcheck disable=SC2086
    kill -9 $pids 2>/dev/null || true
    sleep 0.2
  done
  pids="$(worker_pids | sort -u)"
  [ -z "$pids" ] || die "processes of $NODE survive SIGKILL: $pids"
}

unmount_leftovers() {
  local target
  # Deepest first; lazy, since a mount can still be busy for a moment after its process died.
  # /proc/mounts shows resolved paths (/var/run is a link to /run).
  awk -v a="$(readlink -m "$DATA_ROOT")" -v b="$(readlink -m "$EXEC_ROOT")" 'index($2, a) == 1 || index($2, b) == 1 { print $2 }' /proc/mounts \
    | sort -r | while read -r target; do
      umount -l "$target" 2>/dev/null || true
    done
}

remove_cgroups() {
  local dir
  for dir in /sys/fs/cgroup/*/"$NODE" /sys/fs/cgroup/"$NODE"; do
    [ -d "$dir" ] || continue
    find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

if [ "$MODE" = --kill ]; then
  [ -s "$PIDFILE" ] || die "no worker engine is running ($PIDFILE is missing)."
  kill_all
  rm -f "$PIDFILE" "$SOCK"
  echo "==> $NODE killed (the manager marks it down after a few heartbeats)" >&2
  exit 0
fi

if [ "$MODE" = --processes-only ]; then
  kill_all
  unmount_leftovers
  rm -f "$PIDFILE" "$SOCK"
  exit 0
fi

# --- Graceful: leave, forget, stop, remove -------------------------------------------------------
node_id=""
if docker --host "$ENGINE" info >/dev/null 2>&1; then
  node_id="$(docker --host "$ENGINE" info --format '{{.Swarm.NodeID}}')"
  docker --host "$ENGINE" swarm leave --force >/dev/null 2>&1 || true
fi
manager_docker() {
  if [ -n "$MANAGER_ENGINE" ]; then docker --host "$MANAGER_ENGINE" "$@"; else docker "$@"; fi
}
if manager_docker info >/dev/null 2>&1 && [ "$(manager_docker info --format '{{.Swarm.ControlAvailable}}')" = true ]; then
  # The node this worker was (by ID, or by host name after a kill that left no engine to ask).
  ids="$node_id $(manager_docker node ls --format '{{.ID}} {{.Hostname}}' | awk -v n="$NODE" '$2 == n { print $1 }')"
  for id in $ids; do
    manager_docker node rm --force "$id" >/dev/null 2>&1 || true
  done
fi
if [ -s "$PIDFILE" ]; then
  pid="$(cat "$PIDFILE")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do
    [ -d "/proc/$pid" ] || break
    sleep 0.25
  done
fi
kill_all
unmount_leftovers
remove_cgroups
rm -rf "$DATA_ROOT" "$EXEC_ROOT"
rm -f "$PIDFILE" "$SOCK"
ip link del "$VETH_HOST" 2>/dev/null || true
if [ -e "/var/run/netns/$NODE" ]; then
  ip netns del "$NODE"
fi
echo "==> $NODE removed" >&2
