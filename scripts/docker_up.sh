#!/usr/bin/env bash
# Start the Docker engine when it does not answer yet; idempotent. Waits until `docker info`
# answers and fails with a clear message after about 30 s.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi
if [ -n "${DOCKER_HOST:-}" ] && [[ "$DOCKER_HOST" != unix://* ]]; then
  echo "docker_up: DOCKER_HOST=$DOCKER_HOST does not answer; start that engine (nothing is started here)." >&2
  exit 1
fi
if ! command -v dockerd >/dev/null; then
  echo "docker_up: dockerd is not installed; install it with: apt-get install -y docker.io" >&2
  exit 1
fi
if ! pgrep -x dockerd >/dev/null; then
  echo "==> starting dockerd (log: /tmp/dockerd.log)"
  setsid dockerd --host unix:///var/run/docker.sock >/tmp/dockerd.log 2>&1 < /dev/null &
fi
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    exit 0
  fi
  sleep 0.5
done
echo "docker_up: the Docker engine did not answer within 30 s; see /tmp/dockerd.log:" >&2
tail -n 20 /tmp/dockerd.log >&2 || true
exit 1
