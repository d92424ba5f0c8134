#!/usr/bin/env bash
# Start a virtual X screen :99 (1280x800x24) for the window tests, screenshots and demos.
#
#   scripts/xvfb_up.sh && export DISPLAY=:99 QT_QPA_PLATFORM=xcb
#
# Idempotent: if something already answers on :99, nothing is started. Installs Xvfb and the
# xcb libraries Qt needs when missing (needs root or sudo). Override the display with FAME_XVFB_DISPLAY.
set -euo pipefail

DISPLAY_NUM="${FAME_XVFB_DISPLAY:-:99}"
N="${DISPLAY_NUM#:}"
log() { echo "xvfb_up: $*" >&2; }

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=()
for pkg in xvfb xauth libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 \
  libxcb-render-util0 libxcb-randr0 libxcb-shape0 libxcb-xkb1 libx11-xcb1 fonts-dejavu-core; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

answers() {
  # The X socket exists and a process holds it: the server is up.
  [ -S "/tmp/.X11-unix/X$N" ] && [ -f "/tmp/.X$N-lock" ] && kill -0 "$(tr -d ' ' <"/tmp/.X$N-lock")" 2>/dev/null
}

if answers; then
  log "Xvfb already running on $DISPLAY_NUM"
  exit 0
fi
# A stale lock from a dead server would make Xvfb refuse to start.
rm -f "/tmp/.X$N-lock" "/tmp/.X11-unix/X$N"
setsid Xvfb "$DISPLAY_NUM" -screen 0 1280x800x24 -nolisten tcp -dpi 96 >/tmp/xvfb-"$N".log 2>&1 < /dev/null &
for _ in $(seq 1 50); do
  if answers; then
    log "Xvfb started on $DISPLAY_NUM"
    exit 0
  fi
  sleep 0.1
done
log "Xvfb did not start; see /tmp/xvfb-$N.log"
exit 1
