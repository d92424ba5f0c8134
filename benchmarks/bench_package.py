"""The packaged executable: size on disk and start-up time of ``fame --self-test`` (median).

Run after ``scripts/build_exe.sh`` (the test command builds it): ``.venv/bin/python
benchmarks/bench_package.py [--runs 5]``. The self-test opens the window offscreen, answers one
query end to end and exits; each run uses a fresh data dir.
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


def folder_mb(path: Path) -> float:
    """Size of everything below ``path`` in MB."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not EXE.exists():
        print(f"no build at {EXE}: run scripts/build_exe.sh first", file=sys.stderr)
        return 2
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
    print(f"package_size: {folder_mb(EXE.parent):.0f} MB")
    print(f"self_test_median: {statistics.median(times) * 1000:.0f} ms over {args.runs} runs")
    print(f"self_test_min: {min(times) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
