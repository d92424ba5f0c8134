#!/usr/bin/env bash
# Lint (ruff), types (mypy --strict), layering (import-linter), then pytest.
#
#   scripts/test.sh [PYTEST_ARGS...]
#       Everything (what CI runs): installs and starts what the tests need, then the whole suite
#       against a real Docker engine, a real X server (Xvfb), real PulseAudio virtual devices and
#       the packaged executable.
#   scripts/test.sh --fast [PYTEST_ARGS...]
#       The developer loop (a few minutes, no root): the same checks, then every test not marked
#       docker, gui, audio or slow, on Qt's offscreen platform. Installs and starts nothing but the
#       virtualenv when it is missing; a missing system package is reported, not installed.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

FAST=0
if [ "${1:-}" = "--fast" ]; then
  FAST=1
  shift
fi

if [ "$FAST" = 1 ]; then
  check_apt_packages "${FAST_APT_PACKAGES[@]}"
  ensure_venv dev
  # No display, engine or sound server is used: Qt draws offscreen even when DISPLAY is set.
  export QT_QPA_PLATFORM=offscreen
else
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
  # The packaged tests build the executable; its numpy (built from source without BLAS) takes
  # minutes the first time on a machine, so it is built here, ahead of their timeout, and cached.
  echo "==> numpy for the package"
  scripts/numpy_noblas.sh >/dev/null || echo "==> WARNING: the package will carry the venv's numpy" >&2
fi

export PATH="$VENV/bin:$PATH"
# The sandbox runner and the Swarm job are not packages: they run inside containers (python3, stdlib only).
LINTED=(fame_desktop core fame_plugin_api examples tests benchmarks resources/sandbox/runner.py resources/swarm/job.py)
echo "==> ruff"
ruff check "${LINTED[@]}"
ruff format --check "${LINTED[@]}"
echo "==> mypy --strict"
mypy  # pyproject.toml lists the packages, the example plugins, the sandbox runner and the Swarm job
echo "==> import-linter"
lint-imports
echo "==> pytest"
mkdir -p artifacts
# Byte-compile the project once: the CLI tests start hundreds of fresh interpreters, and with
# PYTHONDONTWRITEBYTECODE set (as in many CI and sandboxed shells) each of them would compile every
# module it imports from source again (0.3-0.6 s a process). compileall writes the caches anyway;
# a module edited later is recompiled as usual.
python -m compileall -q -j 0 fame_desktop core fame_plugin_api examples >/dev/null
if [ "$FAST" = 1 ]; then
  # One worker per core: these tests share nothing (each has its own data dir and ports). Whole
  # files go to one worker (--dist loadfile), so a module's fixtures (the API tests' server) start
  # once, not once per worker and again each time that worker comes back to the module.
  # The `fame` commands the tests run are forks of a process that has the app imported
  # (tests/fame_cli.py); the full run starts each one as a fresh `fame` process.
  # tests/ui is marked gui as a whole: not collecting it spares each worker importing the window.
  pytest -n "${FAME_TEST_WORKERS:-auto}" --dist loadfile --ignore=tests/ui \
    -m "not docker and not gui and not audio and not slow" --durations=25 "$@"
else
  FAME_TEST_CLI=process pytest --durations=25 "$@"
fi
