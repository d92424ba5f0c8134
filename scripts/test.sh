#!/usr/bin/env bash
# Install and start everything the tests need, then run the whole suite:
# lint (ruff), types (mypy --strict), layering (import-linter), and pytest against a real Docker
# engine, a real X server (Xvfb), real PulseAudio virtual devices and the packaged executable.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"
ensure_apt_packages
ensure_venv dev

echo "==> Docker engine and sandbox image"
scripts/docker_up.sh
scripts/build_sandbox_image.sh
echo "==> Xvfb"
scripts/xvfb_up.sh
export DISPLAY=:99
echo "==> PulseAudio virtual microphone and speaker"
eval "$(scripts/audio_up.sh)"

export PATH="$VENV/bin:$PATH"
echo "==> ruff"
ruff check fame_desktop core fame_plugin_api examples tests benchmarks
ruff format --check fame_desktop core fame_plugin_api examples tests benchmarks
echo "==> mypy --strict"
mypy
mypy examples/plugins  # the documented example plugins are held to the same standard
echo "==> import-linter"
lint-imports
echo "==> pytest"
mkdir -p artifacts
pytest "$@"
