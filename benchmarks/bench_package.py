"""The packaged executable: size on disk by component, first paint of the window, ``--self-test`` time.

Run after ``scripts/build_exe.sh`` (the packaged tests build it too)::

    .venv/bin/python benchmarks/bench_package.py [--runs 5] [--sizes-only]
    DISPLAY=:99 QT_QPA_PLATFORM=xcb .venv/bin/python benchmarks/bench_package.py   # window under Xvfb

Prints ``name: value unit`` lines. Sizes: every file of ``dist/fame`` once (links not counted), by
component (Qt's libraries, plugins, translations and ICU, the bindings, numpy, llama.cpp, Vosk, the
Python runtime, system libraries, the app's files...), in MB of 10^6 bytes, against the goal of
150 MB without models, plus the largest files. First paint: the time from spawning the packaged
``fame`` to the window's first paint (which it writes to ``$FAME_FIRST_PAINT_FILE``), median of
cold starts each with a fresh data dir, against the goal of 1.0 s; ``python -c pass`` and the
packaged ``fame --help`` (the frozen interpreter's own start) and the first paint of the same
program from source (the venv's ``fame`` with this checkout on PYTHONPATH) are timed in the same
run, interleaved, as baselines. Runs offscreen unless QT_QPA_PLATFORM is set. Last, the time
the packaged app spends decompressing the xz-compressed Vosk library at its first vosk import.
"""

from __future__ import annotations

import argparse
import lzma
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
FIRST_PAINT_GOAL_MS = 1000.0

# (component, test on the path below _internal/), first match wins.
COMPONENTS: list[tuple[str, tuple[str, ...]]] = [
    ("ICU (Qt Core's Unicode data and libraries)", ("PySide6/Qt/lib/libicu",)),
    ("Qt libraries", ("PySide6/Qt/lib/",)),
    ("Qt plugins", ("PySide6/Qt/plugins/",)),
    ("Qt translations", ("PySide6/Qt/translations/",)),
    ("Qt other (PySide6/Qt)", ("PySide6/Qt/",)),
    ("PySide6 + shiboken6 bindings", ("PySide6/", "shiboken6/")),
    ("numpy (built without BLAS; numpy.libs: a wheel's OpenBLAS)", ("numpy/", "numpy.libs/")),
    ("llama.cpp (llama_cpp)", ("llama_cpp/",)),
    ("Vosk speech (libvosk, xz-compressed)", ("vosk/",)),
    ("Python runtime (libpython, stdlib, extensions)", ("libpython", "python3.", "base_library.zip")),
    ("app files (resources, core plugins, fonts)", ("resources/", "core/")),
]


def component(rel: Path) -> str:
    """The component a file of the build belongs to (``rel`` is relative to ``dist/fame``)."""
    parts = rel.parts[1:] if rel.parts[:1] == ("_internal",) else rel.parts
    path = "/".join(parts)
    if parts == ("fame",):
        return "fame launcher + compressed Python modules (PYZ)"
    for name, prefixes in COMPONENTS:
        if path.startswith(prefixes):
            return name
    if len(parts) == 1 and ".so" in parts[0]:
        return "system libraries (X11/xcb, OpenSSL, glib, ALSA...)"
    return "other Python packages"


def files_of(root: Path) -> list[tuple[Path, int]]:
    """(path relative to ``root``, bytes) of every regular file, links left out."""
    return [
        (path.relative_to(root), path.stat().st_size)
        for path in root.rglob("*")
        if path.is_file() and not path.is_symlink()
    ]


def sizes_by_component(root: Path) -> list[tuple[str, float]]:
    """(component, MB) of everything below ``root``, largest first."""
    totals: dict[str, float] = {}
    for rel, size in files_of(root):
        name = component(rel)
        totals[name] = totals.get(name, 0.0) + size / 1e6
    return sorted(totals.items(), key=lambda kv: -kv[1])


def print_sizes(root: Path, top: int = 12) -> float:
    """Print the total against the goal, every component and the ``top`` largest files; return MB."""
    parts = sizes_by_component(root)
    total = sum(mb for _, mb in parts)
    verdict = "MET" if total <= SIZE_GOAL_MB else "MISSES"
    print(
        f"package_size: {total:.1f} MB ({total * 1e6 / 2**20:.1f} MiB) goal <= {SIZE_GOAL_MB:.0f} MB {verdict}"
    )
    for name, mb in parts:
        print(f"package_component: {mb:6.1f} MB  {name}")
    for rel, size in sorted(files_of(root), key=lambda f: -f[1])[:top]:
        print(f"package_file: {size / 1e6:6.1f} MB  {rel.as_posix()}")
    return total


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FAME_HOME", "FAME_ADMIN_KEY")}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.update(extra)
    return env


def _wall_ms(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000


def _paint_ms(fame: str, env: dict[str, str]) -> float:
    """Spawn ``fame`` on a fresh data dir; ms until it wrote its first paint to the marker file."""
    with tempfile.TemporaryDirectory() as tmp:
        marker = Path(tmp) / "painted"
        spawned = time.time()
        proc = subprocess.Popen(
            [fame, "--data-dir", str(Path(tmp) / "data")],
            env={**env, "FAME_FIRST_PAINT_FILE": str(marker)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while not (marker.exists() and marker.read_text()):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{fame} exited ({proc.returncode}) or never painted")
                time.sleep(0.005)
            time.sleep(0.02)  # the app writes the file in one small write: let it finish
            # Its first line is the paint's time.time() (later lines: the start-up marks, as JSON).
            return (float(marker.read_text().splitlines()[0]) - spawned) * 1000
        finally:
            proc.kill()  # only the start-up is measured
            proc.wait()


def first_paint_ms(exe: Path, runs: int, source_fame: Path | None) -> dict[str, float]:
    """Medians over ``runs`` interleaved cold starts of the packaged ``fame`` and the baselines."""
    times: dict[str, list[float]] = {"packaged": [], "python_c": [], "help": [], "source": []}
    for _ in range(runs):
        times["python_c"].append(_wall_ms([sys.executable, "-c", "pass"], _clean_env()))
        times["help"].append(_wall_ms([str(exe), "--help"], _clean_env()))
        times["packaged"].append(_paint_ms(str(exe), _clean_env()))
        if source_fame is not None:  # the same program from source, as bench_window.py starts it
            source_env = {**_clean_env(), "PYTHONPATH": str(REPO)}
            times["source"].append(_paint_ms(str(source_fame), source_env))
    return {name: statistics.median(values) for name, values in times.items() if values}


def self_test_ms(exe: Path, runs: int) -> float:
    """Median wall time of ``fame --self-test`` (window offscreen, one query end to end)."""
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as data:
            start = time.perf_counter()
            done = subprocess.run(
                [str(exe), "--data-dir", data, "--self-test"],
                env=_clean_env(QT_QPA_PLATFORM="offscreen"),
                capture_output=True,
                check=False,
            )
            times.append((time.perf_counter() - start) * 1000)
            if done.returncode != 0:
                raise SystemExit(done.stderr.decode(errors="replace")[-2000:])
    return statistics.median(times)


def vosk_unpack_ms(root: Path, runs: int) -> tuple[float, float, float] | None:
    """Median ms to decompress ``libvosk.so.xz`` (what scripts/pyi_rth_vosk_xz.py does once per
    process, at its first vosk import), with the packed and unpacked MB; None if it ships plain."""
    packed = next(root.rglob("libvosk.so.xz"), None)
    if packed is None:
        return None
    data = packed.read_bytes()
    times, size = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        size = len(lzma.decompress(data))
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), len(data) / 1e6, size / 1e6


def main() -> int:
    """Print the sizes, then (unless ``--sizes-only``) the start-up figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes-only", action="store_true", help="Only list the size by component.")
    parser.add_argument("--exe", type=Path, default=EXE, help="The packaged executable (dist/fame/fame).")
    args = parser.parse_args()
    if not args.exe.exists():
        print(f"no build at {args.exe}: run scripts/build_exe.sh first", file=sys.stderr)
        return 2
    print_sizes(args.exe.parent)
    if args.sizes_only:
        return 0
    print(f"load_average_1min: {os.getloadavg()[0]:.2f}")
    print(f"platform: {_clean_env()['QT_QPA_PLATFORM']}")
    source_fame = Path(sys.executable).with_name("fame")
    medians = first_paint_ms(args.exe, args.runs, source_fame if source_fame.exists() else None)
    paint = medians["packaged"]
    verdict = "MET" if paint <= FIRST_PAINT_GOAL_MS else "MISSES"
    print(f"baseline_python_c_pass_median: {medians['python_c']:.0f} ms")
    print(f"baseline_packaged_fame_help_median: {medians['help']:.0f} ms")
    if "source" in medians:
        print(
            f"baseline_source_first_paint_median: {medians['source']:.0f} ms ({source_fame}, this checkout)"
        )
    print(
        f"packaged_first_paint_after_start_median: {paint:.0f} ms over {args.runs} cold starts "
        f"(goal <= {FIRST_PAINT_GOAL_MS:.0f} ms {verdict}); {paint / medians['python_c']:.1f}x python -c pass"
        + (f", {paint / medians['source']:.2f}x from source" if "source" in medians else "")
    )
    print(f"packaged_self_test_median: {self_test_ms(args.exe, args.runs):.0f} ms over {args.runs} runs")
    unpack = vosk_unpack_ms(args.exe.parent, args.runs)
    if unpack is not None:
        ms, packed_mb, full_mb = unpack
        print(
            f"packaged_vosk_unpack_median: {ms:.0f} ms to decompress libvosk ({packed_mb:.1f} -> {full_mb:.1f} MB), "
            f"once per process at its first listen or transcription; {ms / paint:.2f}x the first paint"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
