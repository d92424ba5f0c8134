# Shared by scripts/run.sh and scripts/test.sh: system packages and the Python environment.
# Sourced, not run.

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${FAME_VENV:-$REPO/.venv}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# Debian/Ubuntu packages: Qt runtime libraries, Xvfb, the Docker engine, audio and speech tools, and
# a CJK font (WenQuanYi Micro Hei, 5 MB: Hangul, kana and Han) so any speech model's text renders.
APT_PACKAGES=(
  python3 python3-venv python3-dev gcc g++ curl ca-certificates
  libegl1 libgl1 libfontconfig1 libxkbcommon0 libdbus-1-3 libglib2.0-0 fonts-dejavu-core
  xvfb xauth libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
  libxcb-render-util0 libxcb-randr0 libxcb-shape0 libxcb-xkb1 libx11-xcb1
  docker.io debootstrap iproute2 docker-registry openssl
  pulseaudio pulseaudio-utils libasound2-plugins libportaudio2 alsa-utils espeak-ng sox
  imagemagick binutils
  fonts-wqy-microhei
)

# What `scripts/test.sh --fast` needs: Python, the Qt runtime for the offscreen platform, and the
# speech tools some voice tests use to make sound files (no engine, no display, no sound server).
FAST_APT_PACKAGES=(
  python3 python3-venv
  libegl1 libgl1 libfontconfig1 libxkbcommon0 libdbus-1-3 libglib2.0-0 fonts-dejavu-core
  espeak-ng sox
)

# Print those of the given Debian packages that are not installed (reading dpkg needs no root).
missing_apt_packages() {
  local pkg
  command -v dpkg-query >/dev/null || return 0  # not Debian: nothing to check
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
  done
}

# Warn about missing packages without installing anything (no root needed).
check_apt_packages() {
  local missing
  missing="$(missing_apt_packages "$@" | tr '\n' ' ')"
  if [ -n "$missing" ]; then
    echo "==> WARNING: missing system packages: $missing(install: sudo apt-get install -y $missing)" >&2
  fi
}

ensure_apt_packages() {
  local missing=()
  mapfile -t missing < <(missing_apt_packages "${APT_PACKAGES[@]}")
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing system packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

pick_python() {
  for py in python3.13 python3.12 python3.11 python3; do
    if command -v "$py" >/dev/null && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$py"; return 0
    fi
  done
  echo "FAME needs Python 3.11 or newer" >&2
  return 1
}

ensure_venv() {
  local extras="$1"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating $VENV"
    "$(pick_python)" -m venv "$VENV"
  fi
  local stamp="$VENV/.fame-installed-$extras"
  if [ ! -f "$stamp" ] || [ "$REPO/pyproject.toml" -nt "$stamp" ]; then
    echo "==> installing Python packages ($extras)"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e "$REPO[$extras]"
    touch "$stamp"
  fi
}
