#!/usr/bin/env bash
# Start PulseAudio with a virtual speaker and a virtual microphone, for voice tests and demos.
#
#   eval "$(scripts/audio_up.sh)"
#
# Devices: a null sink `vsink` (the speaker; what is played into it can be recorded from
# `vsink.monitor`) and a source `vmic` remapped from `vsink.monitor` (the microphone). Both are set
# as the defaults, so `paplay --device=vsink f.wav` is heard by anything recording `vmic`/default.
#
# Environment it uses (and prints as `export` lines on stdout; everything else goes to stderr):
#   XDG_RUNTIME_DIR  where the daemon's socket lives   (default /tmp/fame-pulse; override FAME_PULSE_DIR)
#   HOME             the daemon's private home ($XDG_RUNTIME_DIR/home), set for the daemon only: the
#                    socket accepts anonymous local clients, so callers keep their own HOME
#   PULSE_SERVER     unix:$XDG_RUNTIME_DIR/pulse/native, so clients find the daemon whatever their env
#
# Idempotent: if the daemon already answers on that socket, only the devices that are missing are
# loaded. Installs the Debian packages when missing (needs root or sudo).
set -euo pipefail

RUNTIME="${FAME_PULSE_DIR:-/tmp/fame-pulse}"
PULSE_HOME="$RUNTIME/home"
SOCKET="$RUNTIME/pulse/native"

log() { echo "audio_up: $*" >&2; }

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=()
for pkg in pulseaudio pulseaudio-utils libasound2-plugins libportaudio2 espeak-ng sox; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >&2
fi

mkdir -p "$RUNTIME" "$PULSE_HOME"
chmod 700 "$RUNTIME" "$PULSE_HOME"
export XDG_RUNTIME_DIR="$RUNTIME" PULSE_SERVER="unix:$SOCKET"

if ! pactl info >/dev/null 2>&1; then
  export HOME="$PULSE_HOME"
  log "starting pulseaudio (socket $SOCKET)"
  # A stale pid file from a killed daemon would make --daemonize refuse to start.
  rm -f "$RUNTIME/pulse/pid"
  # -n: no default.pa, only the modules we name. auth-anonymous: the socket lives in a 0700
  # folder, so a cookie adds nothing and clients need no HOME of their own. As root PulseAudio
  # only warns.
  pulseaudio --daemonize=yes --exit-idle-time=-1 --system=false -n \
    --load="module-native-protocol-unix auth-anonymous=1" \
    --load=module-always-sink >&2
  for _ in $(seq 1 50); do
    pactl info >/dev/null 2>&1 && break
    sleep 0.1
  done
  pactl info >/dev/null 2>&1 || { log "pulseaudio did not answer on $SOCKET"; exit 1; }
fi

if ! pactl list short sinks | awk '{print $2}' | grep -qx vsink; then
  pactl load-module module-null-sink sink_name=vsink sink_properties=device.description=vsink >/dev/null
fi
if ! pactl list short sources | awk '{print $2}' | grep -qx vmic; then
  pactl load-module module-remap-source master=vsink.monitor source_name=vmic \
    source_properties=device.description=vmic >/dev/null
fi
pactl set-default-sink vsink
pactl set-default-source vmic
log "ready: sink vsink, microphone vmic"

echo "export XDG_RUNTIME_DIR=$RUNTIME"
echo "export PULSE_SERVER=unix:$SOCKET"
