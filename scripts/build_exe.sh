#!/usr/bin/env bash
# Build the packaged FAME Desktop with PyInstaller: dist/fame/fame (one folder), or with
# FAME_ONEFILE=1 a single file dist/onefile/fame. Prints the size and the build time.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${FAME_VENV:-$REPO/.venv}"
cd "$REPO"
if [ ! -x "$VENV/bin/pyinstaller" ]; then
  echo "build_exe: PyInstaller is missing; run scripts/test.sh once (it installs the dev extras)" >&2
  exit 2
fi
DIST="$REPO/dist"
[ "${FAME_ONEFILE:-0}" != "0" ] && DIST="$REPO/dist/onefile"
start=$(date +%s%N)
# numpy without BLAS and per-CPU loop variants (scripts/numpy_noblas.sh; cached after its first
# build): put first on the path the analysis imports from. The venv's numpy if that build fails.
if numpy_site="$(FAME_VENV="$VENV" "$REPO/scripts/numpy_noblas.sh")"; then
  export PYTHONPATH="$numpy_site${PYTHONPATH:+:$PYTHONPATH}"
else
  echo "build_exe: WARNING: packaging the venv's numpy with its OpenBLAS (28 MB more)" >&2
fi
"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$DIST" --workpath "$REPO/build/pyinstaller" fame.spec
end=$(date +%s%N)
OUT="$DIST/fame"
size_mb=$(du -sm "$OUT" | cut -f1)
ms=$(( (end - start) / 1000000 ))
printf 'build_time: %d.%01d s\n' $((ms / 1000)) $(((ms % 1000) / 100))
echo "package_size: ${size_mb} MB"
echo "executable: $OUT$([ -d "$OUT" ] && echo /fame)"
