"""The packaged executable: size on disk, by component, and start-up time of ``fame --self-test``.

Run after ``scripts/build_exe.sh`` (the test command builds it): ``.venv/bin/python
benchmarks/bench_package.py [--runs 5] [--sizes-only]``. The self-test opens the window offscreen,
answers one query end to end and exits; each run uses a fresh data dir. The size is listed by
component (a Python package, Qt's libraries, plugins and data, a shared library) so the largest
parts of ``dist/fame`` show what a smaller build would have to leave out.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXE = REPO / "dist" / "fame" / "fame"


SIZE_GOAL_MB = 150.0


def component(rel: Path) -> str:
    """The component a file of the build belongs to (``rel`` is relative to ``dist/fame``)."""
    parts = rel.parts[1:] if rel.parts[:1] == ("_internal",) else rel.parts
    if not parts:
        return "?"
    if parts[0] == "PySide6" and len(parts) > 2 and parts[1] == "Qt":
        if parts[2] == "lib":  # one line per Qt library (ICU's data is most of it)
            return "PySide6/Qt/lib/" + parts[3].split(".so")[0]
        return "PySide6/Qt/" + parts[2]
    if parts[0] == "PySide6":
        return "PySide6 (bindings)"
    if len(parts) == 1:
        return parts[0].split(".so")[0] + (" (library)" if ".so" in parts[0] else "")
    return parts[0]


def sizes_by_component(root: Path) -> list[tuple[str, float]]:
    """(component, MB) of everything below ``root``, largest first."""
    totals: dict[str, float] = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            name = component(path.relative_to(root))
            totals[name] = totals.get(name, 0.0) + path.stat().st_size / 1e6
    return sorted(totals.items(), key=lambda kv: -kv[1])


def print_sizes(root: Path, top: int = 20) -> None:
    """Print the total and the ``top`` largest components."""
    parts = sizes_by_component(root)
    total = sum(mb for _, mb in parts)
    print(f"package_size: {total:.0f} MB (goal <= {SIZE_GOAL_MB:.0f} MB, without models)")
    for name, mb in parts[:top]:
        print(f"package_component: {mb:6.1f} MB  {name}")
    rest = sum(mb for _, mb in parts[top:])
    print(f"package_component: {rest:6.1f} MB  ({len(parts) - top} smaller components)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes-only", action="store_true", help="Only list the size by component.")
    args = parser.parse_args()
    if not EXE.exists():
        print(f"no build at {EXE}: run scripts/build_exe.sh first", file=sys.stderr)
        return 2
    print_sizes(EXE.parent)
    if args.sizes_only:
        return 0
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FAME_HOME", "FAME_ADMIN_KEY")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    times = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as data:
            start = time.perf_counter()
            done = subprocess.run([str(EXE), "--data-dir", data, "--self-test"], env=env, capture_output=True)
            times.append(time.perf_counter() - start)
            if done.returncode != 0:
                print(done.stderr.decode(errors="replace")[-2000:], file=sys.stderr)
                return 1
    print(f"self_test_median: {statistics.median(times) * 1000:.0f} ms over {args.runs} runs")
    print(f"self_test_min: {min(times) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
