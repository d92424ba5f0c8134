#!/usr/bin/env bash
# Install what FAME Desktop needs (once) and launch it. Arguments go to `fame`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_apt_packages
ensure_venv dev
# The sandbox: start the Docker engine and build the sandbox image. FAME still opens without them
# and shows how to fix the sandbox in its status bar.
if "$REPO/scripts/docker_up.sh" && "$REPO/scripts/build_sandbox_image.sh"; then
  echo "==> sandbox ready"
else
  echo "==> WARNING: the Docker sandbox is not available; code will not run until it is (see README)."
fi
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ "${QT_QPA_PLATFORM:-}" != "offscreen" ]; then
  echo "==> no display found: starting a virtual one (Xvfb :99)"
  "$REPO/scripts/xvfb_up.sh"
  export DISPLAY=:99
fi
exec "$VENV/bin/fame" "$@"
