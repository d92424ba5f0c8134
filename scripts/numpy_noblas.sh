#!/usr/bin/env bash
# numpy for the packaged app: the venv's numpy version built from its source distribution without
# BLAS/LAPACK (numpy's own lapack_lite serves numpy.linalg) and without the per-CPU SIMD variants.
# Prints the folder to put first on PYTHONPATH while PyInstaller analyses the app; prints nothing
# (exit 1) when the build fails, and build_exe.sh then packages the venv's numpy.
#
# Why: the wheel's OpenBLAS (25 MB) and gfortran/quadmath (3 MB) are 28 MB of the package, and its
# AVX2/AVX-512 loop variants and SVML another ~5 MB. The app's numpy work is small: resampling
# and endpointing speech (16 kHz), reading GGUF headers, llama.cpp's logits, and retraining the
# intent classifier when the plugins change (one n-by-n solve, n = a few hundred examples).
#
# Reproducible: the numpy version is the venv's (pinned in pyproject.toml; pip checks the source
# archive against the index's hash), the build tools are pinned (scripts/numpy_build_constraints.txt)
# and the meson options are fixed. The wheel is cached by version, options and tools in
# ${FAME_BUILD_CACHE:-~/.cache/fame-build}, so only the first package build on a machine pays for
# it: 10.5-11.5 minutes of CPU (10 minutes on 2 cores at load 3-4, 33 at load 8-13). Two builds
# on this machine gave byte-identical libraries.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${FAME_VENV:-$REPO/.venv}"
PY="$VENV/bin/python"
CACHE="${FAME_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fame-build}"

MESON_OPTIONS=(
  -Dblas=none -Dlapack=none -Dallow-noblas=true  # numpy.linalg on the bundled lapack_lite
  -Dcpu-dispatch=none -Ddisable-svml=true         # the baseline (x86-64-v2) loops only
)

version="$("$PY" -c 'import importlib.metadata as m; print(m.version("numpy"))')"
key="$( (printf '%s ' "$version" "${MESON_OPTIONS[@]}"; cat "$REPO/scripts/numpy_build_constraints.txt") | sha256sum | cut -c1-12)"
out="$CACHE/numpy-$version-noblas-$key"
if [ ! -f "$out/site/numpy/__init__.py" ]; then
  mkdir -p "$out"
  settings=()
  for option in "${MESON_OPTIONS[@]}"; do settings+=("-Csetup-args=$option"); done
  start=$(date +%s)
  echo "numpy_noblas: building numpy $version from source (${MESON_OPTIONS[*]})" >&2
  if ! nice "$PY" -m pip wheel --quiet --no-cache-dir --no-deps --no-binary numpy \
    --build-constraint "$REPO/scripts/numpy_build_constraints.txt" "${settings[@]}" \
    "numpy==$version" -w "$out/wheel" >"$out/build.log" 2>&1; then
    echo "numpy_noblas: the build failed (see $out/build.log)" >&2
    exit 1
  fi
  rm -rf "$out/site"
  "$PY" -m pip install --quiet --no-deps --no-compile --target "$out/site" "$out"/wheel/numpy-*.whl >&2
  echo "numpy_noblas: built in $(($(date +%s) - start)) s" >&2
fi
echo "$out/site"
