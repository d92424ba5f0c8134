"""CLI start-up: wall time of ``fame --help``, ``fame ask "what is 2+2"`` and ``fame --self-test``.

    .venv/bin/python benchmarks/bench_cli.py [--runs 15] [--self-test-runs 5]

Each command runs as a fresh process (the installed ``fame`` console script beside this Python),
interleaved with the baseline ``python -c pass`` in the same run, so a busy machine slows both.
With ``--baseline REV`` (a git revision), ``fame ask`` also runs from that commit's code
(``git archive`` into a temporary folder, first on ``PYTHONPATH``), interleaved in the same run:
``ask_at_REV`` is the figure to compare ``ask`` with on a machine whose load moves.
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
import, the modules whose own code is slowest, which of the heavy packages it loaded (none
should be listed), and pydantic's share: its packages' own import time, the app's modules that
declare models (a model is built when its class body runs, so their own time is mostly that) and
the chain of imports that first loads it.

And where the whole command spends its CPU (``ask_phases_cpu_ms``, the best of three runs, every
thread's CPU counted): the interpreter's start, the CLI and its argument parsing, importing the app
(the domain and asyncio), building it, ``Brain.start`` and the query (in the event loop and its
worker threads: routing model, plugin import), closing; then the functions of the app and its
plugins that cost most in the worker threads (cProfile of every ``asyncio.to_thread`` job).
"""

from __future__ import annotations

import argparse
import itertools
import json
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
from typing import Any

FAME = str(Path(sys.executable).with_name("fame"))
#: Packages a calculator query must not load (the sandbox, HTTP, the API, models, Qt).
HEAVY = ("docker", "requests", "httpx", "fastapi", "uvicorn", "numpy", "llama_cpp", "vosk", "PySide6")
#: Packages that are pydantic (its own and what only it imports).
PYDANTIC = ("pydantic", "pydantic_core", "annotated_types", "typing_inspection")
#: The app's modules whose class bodies build pydantic models (imported only when a value is not
#: plainly valid; listed here if the ``ask`` path loads them).
MODEL_MODULES = (
    "fame_desktop.orchestrator.query_models",
    "fame_plugin_api.manifest_model",
)
GOALS_MS = {"help": 150.0, "ask": 300.0}
NAMES = ("baseline", "help", "ask", "ask_at_baseline_rev", "ask_no_bytecode_cache", "self_test")
REPO = Path(__file__).resolve().parents[1]
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


def print_pydantic(rows: list[tuple[int, int, str, int]]) -> None:
    """Pydantic's share of :func:`ask_imports` (see the module's docstring)."""
    own = sum(o for o, _c, name, _d in rows if name.split(".")[0] in PYDANTIC)
    models = {name: o for o, _c, name, _d in rows if name in MODEL_MODULES}
    # importtime lists a module when it is done, after what it imported: the parent of a row at
    # depth d is the next row at depth d - 1.
    first = next((i for i, r in enumerate(rows) if r[2].split(".")[0] in PYDANTIC), None)
    chain: list[str] = []
    if first is not None:
        depth = rows[first][3]
        chain.append(rows[first][2])
        for _own, _cumulative, name, d in rows[first + 1 :]:
            if d == depth - 1:
                chain.append(name)
                depth = d
    print(
        f"ask_pydantic_ms: {own / 1000:.0f} of its own packages' import time; "
        + ", ".join(f"{n} {o / 1000:.0f}" for n, o in models.items())
        + " (own time: mostly building the models they declare)"
    )
    print("ask_pydantic_first_imported_by: " + (" <- ".join(chain) if chain else "nothing (not loaded)"))


#: Run by :func:`ask_phases` in a fresh interpreter: ``fame ask`` as the console script runs it,
#: with the CPU time (all threads) after each step; with ``profile`` as its first argument, instead
#: cProfile on every worker-thread job (its overhead would inflate the steps' times).
PHASES_CODE = r"""
import json, sys, time
cpu = time.process_time
marks = [("interpreter start", cpu())]
profile = sys.argv[1] == "profile"
jobs = []
if profile:
    import cProfile, pstats
    import concurrent.futures.thread as cft
    run_job = cft._WorkItem.run
    def profiled(self):
        prof = cProfile.Profile()
        jobs.append(prof)
        prof.enable()
        try:
            run_job(self)
        finally:
            prof.disable()
    cft._WorkItem.run = profiled
import fame_desktop.cli as cli
marks.append(("CLI import", cpu()))
parse = cli.parse_args
def parse_args(argv=None):
    found = parse(argv)
    marks.append(("argument parsing with the ask module", cpu()))
    return found
cli.parse_args = parse_args
import fame_desktop.app as app_module
marks.append(("app import (the domain, asyncio)", cpu()))
from fame_desktop.orchestrator.brain import Brain
build = app_module.build_app
def build_app(*a, **k):
    app = build(*a, **k)
    marks.append(("build_app", cpu()))
    return app
app_module.build_app = build_app
steps = (
    ("start", "Brain.start (manifests, routing model)"),
    ("handle_query", "the query (routing, plugin import, answer, audit)"),
    ("aclose", "closing"),
)
for name, label in steps:
    def wrap(f, label=label):
        async def timed(self, *a, **k):
            try:
                return await f(self, *a, **k)
            finally:
                marks.append((label, cpu()))
        return timed
    setattr(Brain, name, wrap(getattr(Brain, name)))
code = cli.main(sys.argv[2:])
marks.append(("exit", cpu()))
threads = {}
if jobs:
    merged = pstats.Stats(jobs[0])
    for prof in jobs[1:]:
        merged.add(prof)
    for (path, _line, func), (_cc, _nc, _tt, cumulative, _callers) in merged.stats.items():
        if "fame_desktop" in path or "/core/" in path or "fame_plugin_api" in path:
            key = f"{path.rsplit('/', 1)[-1]}:{func}"
            threads[key] = max(threads.get(key, 0.0), cumulative)
print(json.dumps({"marks": marks, "jobs": len(jobs), "threads": threads}), file=sys.stderr)
sys.exit(code)
"""


def _phases_run(env: dict[str, str], mode: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-P", "-c", PHASES_CODE, mode, "ask", "what is 2+2"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"ask phases failed ({done.returncode}):\n{done.stderr[-2000:]}")
    found: dict[str, Any] = json.loads(done.stderr.strip().splitlines()[-1])
    return found


def ask_phases(env: dict[str, str], runs: int = 3) -> tuple[dict[str, float], int, dict[str, float]]:
    """``fame ask "what is 2+2"``'s CPU per step in ms (the best of ``runs`` for each step), the
    number of worker-thread jobs and the cumulative CPU in ms of the app's functions in them."""
    best: dict[str, float] = {}
    for _ in range(runs):
        marks = _phases_run(env, "time")["marks"]
        steps: dict[str, float] = {marks[0][0]: marks[0][1] * 1000}
        for (_name, before), (name, at) in itertools.pairwise(marks):
            # Brain.start runs again (at once) inside the query: a step may end more than once.
            steps[name] = steps.get(name, 0.0) + (at - before) * 1000
        best = {name: min(ms, best.get(name, ms)) for name, ms in steps.items()}
    profiled = _phases_run(env, "profile")
    return best, int(profiled["jobs"]), {k: v * 1000 for k, v in profiled["threads"].items()}


def print_phases(steps: dict[str, float], jobs: int, threads: dict[str, float]) -> None:
    """The output of :func:`ask_phases`."""
    print(
        f"ask_phases_cpu_ms (best of 3 each, every thread; sum {sum(steps.values()):.0f}): "
        + ", ".join(f"{name} {ms:.0f}" for name, ms in steps.items())
    )
    top = sorted(threads.items(), key=lambda kv: -kv[1])[:TOP]
    print(
        f"ask_worker_threads_cpu_ms (cProfile of {jobs} jobs, cumulative per function, nested ones "
        "overlap, profiling overhead included): " + ", ".join(f"{name} {ms:.1f}" for name, ms in top)
    )


def export_revision(rev: str, into: Path) -> None:
    """The tree of git revision ``rev`` of this checkout, written under ``into``."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)


def load_average() -> float:
    """The 1-minute load average."""
    return os.getloadavg()[0]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--self-test-runs", type=int, default=5)
    parser.add_argument("--baseline", metavar="REV", help="Also time `fame ask` at this git revision.")
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
        at_rev: dict[str, str] | None = None
        if args.baseline:
            export_revision(args.baseline, Path(tmp) / "rev")
            # Its own data dir: a data dir written by newer code need not be one the old reads.
            at_rev = {**env, "PYTHONPATH": str(Path(tmp) / "rev"), "FAME_HOME": str(Path(tmp) / "rev_home")}
            timed_ms(ask, at_rev)
        timed_ms(ask, env)  # the data dir's first run: creates files, trains the router once
        timed_ms([FAME, "--help"], env)  # and the bytecode of what --help imports
        timed_ms([sys.executable, "-c", "pass"], env)
        for i in range(args.runs):
            run("baseline", [sys.executable, "-c", "pass"])
            run("help", [FAME, "--help"])
            run("ask", ask)
            if at_rev is not None:
                w, c = timed_ms(ask, at_rev)
                wall["ask_at_baseline_rev"].append(w)
                cpu["ask_at_baseline_rev"].append(c)
            if i % 3 == 0:
                w, c = timed_ms(ask, no_cache)
                wall["ask_no_bytecode_cache"].append(w)
                cpu["ask_no_bytecode_cache"].append(c)
        for i in range(args.self_test_runs):
            run("self_test", [FAME, "--data-dir", str(Path(tmp) / f"st{i}"), "--self-test"])
        imports = ask_imports(env)
        phases = ask_phases(env)
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
        label = name.replace("baseline_rev", args.baseline or "")
        print(
            f"{label}_median: {med:.0f} ms wall over {len(wall[name])} runs{goal}; "
            f"{med / base:.1f}x baseline, +{med - base:.0f} ms above it; "
            f"CPU {med_cpu:.0f} ms (+{med_cpu - base_cpu:.0f} ms above the baseline's)"
        )
    print_imports(imports)
    print_pydantic(imports)
    print_phases(*phases)
    return 0


if __name__ == "__main__":
    sys.exit(main())
