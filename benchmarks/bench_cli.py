"""CLI start-up: wall time of ``fame --help``, ``fame ask "what is 2+2"`` and ``fame --self-test``.

    .venv/bin/python benchmarks/bench_cli.py [--runs 15] [--self-test-runs 5]

Each command runs as a fresh process (the installed ``fame`` console script beside this Python),
interleaved with the baseline ``python -c pass`` in the same run, so a busy machine slows both.
Prints the median wall time of each, the ratio to the baseline and the start-up cost above it, the
median CPU time (user + system: on a machine shared with other work the wall time also counts the
waiting), then which of the heavy packages ``fame ask`` imported (``python -X importtime``); none
should be listed. Each ``ask`` uses a data dir whose first query has been answered once (as a
user's would).
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
from collections.abc import Sequence
from pathlib import Path

FAME = str(Path(sys.executable).with_name("fame"))
#: Packages a calculator query must not load (the sandbox, HTTP, the API, models, Qt).
HEAVY = ("docker", "requests", "httpx", "fastapi", "uvicorn", "numpy", "llama_cpp", "vosk", "PySide6")
GOALS_MS = {"help": 150.0, "ask": 300.0}
NAMES = ("baseline", "help", "ask", "self_test")


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


def heavy_imports(env: dict[str, str]) -> list[str]:
    """The packages of :data:`HEAVY` that ``fame ask "what is 2+2"`` imports."""
    code = "import sys; from fame_desktop.cli import main; sys.exit(main(['ask', 'what is 2+2']))"
    done = subprocess.run(
        # -P: the code under test comes from PYTHONPATH (or the install), not the current directory.
        [sys.executable, "-P", "-X", "importtime", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seen = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in done.stderr.splitlines()}
    return [name for name in HEAVY if name in seen]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--self-test-runs", type=int, default=5)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("FAME_ADMIN_KEY",)}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    wall: dict[str, list[float]] = {name: [] for name in NAMES}
    cpu: dict[str, list[float]] = {name: [] for name in NAMES}

    def run(name: str, argv: Sequence[str]) -> None:
        w, c = timed_ms(argv, env)
        wall[name].append(w)
        cpu[name].append(c)

    with tempfile.TemporaryDirectory(prefix="fame-bench-cli-") as tmp:
        env["FAME_HOME"] = str(Path(tmp) / "home")
        ask = [FAME, "ask", "what is 2+2"]
        timed_ms(ask, env)  # the data dir's first run: creates files, trains the router once
        for _ in range(args.runs):
            run("baseline", [sys.executable, "-c", "pass"])
            run("help", [FAME, "--help"])
            run("ask", ask)
        for i in range(args.self_test_runs):
            run("self_test", [FAME, "--data-dir", str(Path(tmp) / f"st{i}"), "--self-test"])
        heavy = heavy_imports(env)
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
    print(f"ask_heavy_imports: {', '.join(heavy) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
