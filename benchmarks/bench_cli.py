"""CLI start-up: wall time of ``fame --help``, ``fame ask "what is 2+2"`` and ``fame --self-test``.

    .venv/bin/python benchmarks/bench_cli.py [--runs 15] [--self-test-runs 5]

Each command runs as a fresh process (the installed ``fame`` console script beside this Python),
interleaved with the baseline ``python -c pass`` in the same run, so a busy machine slows both.
Prints the median wall time of each, the ratio to the baseline and the start-up cost above it, the
median CPU time (user + system: on a machine shared with other work the wall time also counts the
waiting) and the 1-minute load average before and after. Each ``ask`` uses a data dir whose first
query has been answered once (as a user's would).

Bytecode: an installed app runs from compiled ``.pyc`` files. The commands here write and reuse
theirs in a temporary ``PYTHONPYCACHEPREFIX`` (whatever ``PYTHONDONTWRITEBYTECODE`` says), and
``ask_no_bytecode_cache`` shows what ``fame ask`` costs with ``PYTHONDONTWRITEBYTECODE=1`` and no
``__pycache__`` beside the app's modules (each compiled in each run, as this benchmark measured
before it set the cache up).

Then where ``fame ask "what is 2+2"`` spends its imports (``python -X importtime``, one run):
the total, the packages by their modules' own time, the outermost imports with everything they
import, the modules whose own code is slowest, and which of the heavy packages it loaded (none
should be listed).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

FAME = str(Path(sys.executable).with_name("fame"))
#: Packages a calculator query must not load (the sandbox, HTTP, the API, models, Qt).
HEAVY = ("docker", "requests", "httpx", "fastapi", "uvicorn", "numpy", "llama_cpp", "vosk", "PySide6")
GOALS_MS = {"help": 150.0, "ask": 300.0}
NAMES = ("baseline", "help", "ask", "ask_no_bytecode_cache", "self_test")
TOP = 12


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_ms(argv: Sequence[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) time of one run of ``argv`` in ms (it must exit 0)."""
    cpu = _children_cpu_s()
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr.decode()[-2000:]}")
    return elapsed, (_children_cpu_s() - cpu) * 1000


def ask_imports(env: dict[str, str]) -> list[tuple[int, int, str, int]]:
    """``fame ask "what is 2+2"``'s imports: (own us, cumulative us, module, nesting depth) each."""
    code = "import sys; from fame_desktop.cli import main; sys.exit(main(['ask', 'what is 2+2']))"
    done = subprocess.run(
        # -P: the code under test comes from PYTHONPATH (or the install), not the current directory.
        [sys.executable, "-P", "-X", "importtime", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        rows.append((int(own), int(cumulative), name.strip(), depth))
    return rows


def print_imports(rows: list[tuple[int, int, str, int]]) -> None:
    """The import summary of :func:`ask_imports` (see the module's docstring)."""
    by_package: Counter[str] = Counter()
    for own, _cumulative, name, _depth in rows:
        by_package[name.split(".")[0]] += own
    total = sum(by_package.values())
    print(
        f"ask_imports_total: {total / 1000:.0f} ms in {len(rows)} modules (importtime's own overhead included)"
    )
    packages = ", ".join(f"{name} {us / 1000:.0f}" for name, us in by_package.most_common(TOP))
    print(f"ask_imports_by_package_ms: {packages}")
    # What the command imports itself (outermost imports, with all they import), then the modules
    # whose own code costs most (what to make lazy or cheaper).
    outer = sorted((r for r in rows if r[3] == 0), key=lambda r: -r[1])[:TOP]
    print("ask_imports_outermost_ms: " + ", ".join(f"{n} {c / 1000:.0f}" for _o, c, n, _d in outer))
    slowest = sorted(rows, key=lambda r: -r[0])[:TOP]
    print("ask_imports_slowest_own_ms: " + ", ".join(f"{n} {o / 1000:.0f}" for o, _c, n, _d in slowest))
    seen = {name.split(".")[0] for _own, _cumulative, name, _depth in rows}
    print(f"ask_heavy_imports: {', '.join(n for n in HEAVY if n in seen) or 'none'} (of {', '.join(HEAVY)})")


def load_average() -> float:
    """The 1-minute load average."""
    return os.getloadavg()[0]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--self-test-runs", type=int, default=5)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("FAME_ADMIN_KEY", "PYTHONDONTWRITEBYTECODE")}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    load_before = load_average()
    wall: dict[str, list[float]] = {name: [] for name in NAMES}
    cpu: dict[str, list[float]] = {name: [] for name in NAMES}

    def run(name: str, argv: Sequence[str]) -> None:
        w, c = timed_ms(argv, env)
        wall[name].append(w)
        cpu[name].append(c)

    with tempfile.TemporaryDirectory(prefix="fame-bench-cli-") as tmp:
        env["FAME_HOME"] = str(Path(tmp) / "home")
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        # As with PYTHONDONTWRITEBYTECODE=1 and no cache: the app's modules are compiled from source
        # in every run (the standard library still has its own __pycache__).
        no_cache = {k: v for k, v in env.items() if k != "PYTHONPYCACHEPREFIX"}
        no_cache["PYTHONDONTWRITEBYTECODE"] = "1"
        ask = [FAME, "ask", "what is 2+2"]
        timed_ms(ask, env)  # the data dir's first run: creates files, trains the router once
        timed_ms([FAME, "--help"], env)  # and the bytecode of what --help imports
        timed_ms([sys.executable, "-c", "pass"], env)
        for i in range(args.runs):
            run("baseline", [sys.executable, "-c", "pass"])
            run("help", [FAME, "--help"])
            run("ask", ask)
            if i % 3 == 0:
                w, c = timed_ms(ask, no_cache)
                wall["ask_no_bytecode_cache"].append(w)
                cpu["ask_no_bytecode_cache"].append(c)
        for i in range(args.self_test_runs):
            run("self_test", [FAME, "--data-dir", str(Path(tmp) / f"st{i}"), "--self-test"])
        imports = ask_imports(env)
    load_after = load_average()
    print(
        f"load_average_1min: {load_before:.2f} before, {load_after:.2f} after (2 cores; figures above ~1 are inflated)"
    )
    base, base_cpu = statistics.median(wall["baseline"]), statistics.median(cpu["baseline"])
    print(f"baseline_python_c_pass_median: {base:.0f} ms wall, {base_cpu:.0f} ms CPU over {args.runs} runs")
    for name in NAMES[1:]:
        if not wall[name]:
            continue
        med, med_cpu = statistics.median(wall[name]), statistics.median(cpu[name])
        goal = f" (goal <= {GOALS_MS[name]:.0f} ms)" if name in GOALS_MS else ""
        print(
            f"{name}_median: {med:.0f} ms wall over {len(wall[name])} runs{goal}; "
            f"{med / base:.1f}x baseline, +{med - base:.0f} ms above it; "
            f"CPU {med_cpu:.0f} ms (+{med_cpu - base_cpu:.0f} ms above the baseline's)"
        )
    print_imports(imports)
    return 0


if __name__ == "__main__":
    sys.exit(main())
