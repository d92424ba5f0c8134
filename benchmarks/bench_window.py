"""Window benchmarks: start-up to first paint and to shown, event-loop stalls under sandbox output,
pane throughput.

    .venv/bin/python benchmarks/bench_window.py [--first-paint-only]
    DISPLAY=:99 QT_QPA_PLATFORM=xcb .venv/bin/python benchmarks/bench_window.py   # under Xvfb

Prints ``name: value unit`` lines. Runs offscreen unless QT_QPA_PLATFORM is set. The first paint
is measured on the real program (``fame``, as a user starts it, from source): the time from
spawning the process to the window's first paint, which the app writes to
``$FAME_FIRST_PAINT_FILE`` with the time of each step before it (the breakdown); ``python -c pass``
is timed in the same run as the baseline, and the load average is printed (2 shared cores: figures
taken under load are inflated, the ratio less so). The package's bytecode is written first, as an
installed copy has it. The goal (issue 15): first paint <= 0.8 s from source.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

LINES = 300_000
STARTS = 5
REAL_RUNS = 5

_CHILD = r"""
import sys, time, asyncio
t0 = float(sys.argv[1])
from fame_desktop.app import build_app  # before PySide6, as fame_desktop.ui.launch does
from PySide6.QtWidgets import QApplication
from fame_desktop.ui.qt_loop import QtEventLoop
from fame_desktop.ui.qt_main_window import QtMainWindow
qapp = QApplication(["bench"])
loop = QtEventLoop(qapp)
asyncio.set_event_loop(loop)
app = build_app(sys.argv[2])
win = QtMainWindow(app, loop)
win.show()
qapp.processEvents()
print(time.time() - t0, flush=True)
# Only the start-up is measured: leave without tearing the window down.
import os
os._exit(0)
"""


def cold_start_ms() -> float:
    """Median time from process start to the window shown, over cold subprocess starts."""
    times = []
    for _ in range(STARTS):
        with tempfile.TemporaryDirectory() as data:
            out = subprocess.run(
                [sys.executable, "-c", _CHILD, repr(time.time()), data],
                capture_output=True,
                text=True,
                check=True,
                env=os.environ,
            )
            times.append(float(out.stdout.strip().splitlines()[-1]) * 1000)
    return statistics.median(times)


FAME = str(Path(sys.executable).with_name("fame"))
FIRST_PAINT_GOAL_MS = 800.0
REPO = Path(__file__).resolve().parents[1]
#: The steps before the first paint, as (label, mark that ends it); the marks come from the app.
STEPS = (
    ("interpreter + imports (Qt, the window's module)", "imported"),
    ("build (QApplication + the window's frame)", "built"),
    ("show()", "shown"),
    ("show -> first paint (layout, fonts, X)", "painted"),
)


def compile_bytecode() -> None:
    """Write the package's bytecode first, as an installed copy (or any second start) has it:
    with ``PYTHONDONTWRITEBYTECODE`` set, every start would otherwise compile the sources again."""
    import compileall

    for package in ("fame_desktop", "core", "fame_plugin_api"):
        compileall.compile_dir(REPO / package, quiet=1)


def first_paint_ms(runs: int = STARTS) -> tuple[float, float, dict[str, float]]:
    """Medians over ``runs`` cold starts of ``fame`` (a fresh data dir each, so the first-run
    assistant opens too, after the paint): (spawn to first paint, ``python -c pass``, the time
    each step before the paint took)."""
    paints, baseline = [], []
    steps: dict[str, list[float]] = {mark: [] for _label, mark in STEPS}
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        baseline.append((time.perf_counter() - start) * 1000)
        with tempfile.TemporaryDirectory() as tmp:
            marker = Path(tmp) / "painted"
            env = {**os.environ, "FAME_FIRST_PAINT_FILE": str(marker)}
            spawned = time.time()
            proc = subprocess.Popen(
                [FAME, "--data-dir", str(Path(tmp) / "data")],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                deadline = time.monotonic() + 60
                # Two lines: the paint's time, then the marks of the steps before it (JSON).
                while not (marker.exists() and marker.read_text().count("\n") >= 2):
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"fame exited ({proc.returncode}) or never painted")
                    time.sleep(0.005)
                painted_line, marks_line = marker.read_text().splitlines()[:2]
                marks = {**json.loads(marks_line), "painted": float(painted_line)}
                paints.append((marks["painted"] - spawned) * 1000)
                previous = spawned
                for _label, mark in STEPS:
                    steps[mark].append((marks[mark] - previous) * 1000)
                    previous = marks[mark]
            finally:
                # Only the start-up is measured: the background parts are not waited for.
                proc.kill()
                proc.wait()
    breakdown = {mark: statistics.median(values) for mark, values in steps.items()}
    return statistics.median(paints), statistics.median(baseline), breakdown


def main() -> int:
    """Run every measurement and print the results."""
    load_before = os.getloadavg()[0]
    compile_bytecode()
    paint, base, breakdown = first_paint_ms()
    load_after = os.getloadavg()[0]
    print(f"platform: {os.environ.get('QT_QPA_PLATFORM')}")
    print(
        f"load_average_1min: {load_before:.2f} before, {load_after:.2f} after "
        f"({os.cpu_count()} CPUs; figures under load are inflated: compare the ratio)"
    )
    print("bytecode: compiled before measuring (as installed)")
    print(f"baseline_python_c_pass_median: {base:.0f} ms")
    verdict = "MET" if paint <= FIRST_PAINT_GOAL_MS else "MISSES"
    print(
        f"window_first_paint_after_start_median: {paint:.0f} ms over {STARTS} cold starts of fame "
        f"(goal <= {FIRST_PAINT_GOAL_MS:.0f} ms: {verdict}); {paint / base:.1f}x baseline"
    )
    print("first_paint_breakdown_medians:")
    for label, mark in STEPS:
        print(f"  {label}: {breakdown[mark]:.0f} ms")
    if "--first-paint-only" in sys.argv[1:]:
        return 0
    print(f"window_shown_after_start_median: {cold_start_ms():.0f} ms")
    from loop_stalls import LoopStalls
    from PySide6.QtWidgets import QApplication

    from fame_desktop.app import build_app
    from fame_desktop.orchestrator.events import SandboxFinished, SandboxOutput, SandboxStarted
    from fame_desktop.orchestrator.run_report import Limits, RunReport
    from fame_desktop.ui.qt_loop import QtEventLoop, QtGarbageCollector
    from fame_desktop.ui.qt_main_window import QtMainWindow

    qapp = QApplication(["bench"])
    qapp.setQuitOnLastWindowClosed(False)
    loop = QtEventLoop(qapp)
    asyncio.set_event_loop(loop)
    collector = QtGarbageCollector()
    data = Path(tempfile.mkdtemp(prefix="fame-bench-"))
    app = build_app(data)
    app.bus.bind_loop(loop)
    win = QtMainWindow(app, loop)
    win.show()
    meter = LoopStalls()

    def publish(run_id: str) -> None:
        bus = app.bus
        bus.publish(SandboxStarted(run_id=run_id, backend="docker", image="bench", limits=Limits.defaults()))
        for i in range(LINES):
            bus.publish(
                SandboxOutput(
                    run_id=run_id, stream="stderr" if i % 100 == 0 else "stdout", text=f"line {i}\n"
                )
            )
        bus.publish(
            SandboxFinished(
                run_id=run_id,
                report=RunReport(
                    run_id=run_id,
                    status="ok",
                    backend="docker",
                    image="bench",
                    limits=Limits.defaults(),
                    exit_code=0,
                ),
            )
        )

    async def scenario(with_query: bool, run_id: str) -> tuple[float, float, float]:
        await app.brain.start()
        await asyncio.sleep(0.3)
        meter.start()
        start = time.perf_counter()
        thread = threading.Thread(target=publish, args=(run_id,))
        thread.start()
        if with_query:
            win.chat.ask("what is 12345 * 6789")
        while thread.is_alive() or not any(  # noqa: ASYNC110 - polls a thread and the pane
            r.report is not None for k, r in win.sandbox.runs.items() if k == run_id
        ):
            await asyncio.sleep(0.01)
        while win.sandbox.backlog:  # noqa: ASYNC110 - the pane shows the rest tick by tick
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - start
        worst, p95 = meter.stop()
        return worst, p95, LINES / elapsed

    async def real_run(with_query: bool) -> tuple[float, float, float] | None:
        """A real sandbox run printing LINES lines, streamed into the pane as the engine delivers
        (with ``with_query``, while the chat also answers a code-generation query)."""
        sandbox = app.sandbox
        for _ in range(200):  # the engine is probed in the background after start
            if sandbox is None or sandbox.status().get("available"):
                break
            await asyncio.sleep(0.05)
        if sandbox is None or not sandbox.status().get("available"):
            return None
        # Let every line through (the default keeps 1 MB a stream): the pane must show them all.
        app.settings.update({"sandbox.output_limit_bytes": 16_000_000}, admin=True)
        await asyncio.sleep(1.5)  # the pool restarts with the new limits; a run comes later
        code = f"import sys\nw = sys.stdout.write\nfor i in range({LINES}):\n    w(f'line {{i}}\\n')\n"
        meter.start()
        start = time.perf_counter()
        if with_query:
            win.chat.ask("Write a Python function to reverse a string")
        report = await sandbox.run(code, timeout=120)
        while with_query and win.chat.busy:  # noqa: ASYNC110 - polls the chat
            await asyncio.sleep(0.01)
        while (  # noqa: ASYNC110 - polls the pane
            win.sandbox.runs.get(report.run_id) is None or win.sandbox.runs[report.run_id].report is None
        ):
            await asyncio.sleep(0.01)
        while win.sandbox.backlog:  # noqa: ASYNC110 - the pane shows the rest tick by tick
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - start
        worst, p95 = meter.stop()
        assert report.status == "ok", report.to_dict()
        # Every line reached the pane (the view may show the query's own test run by now).
        assert f"line {LINES - 1}" in "".join(t for _, t in list(win.sandbox.runs[report.run_id].chunks)[-3:])
        return worst, p95, LINES / elapsed

    async def run_all() -> None:
        # Measure streaming, not start-up: wait until the window's start-up work is done.
        await app.brain.start()
        while win.workers.active("startup"):  # noqa: ASYNC110 - polls the window's workers
            await asyncio.sleep(0.05)
        for with_query, label in ((False, ""), (True, "_with_query")):
            # The longest stall is an extreme value and the machine is shared (the container, the
            # engine and the window compete for 2 cores): repeat, report the median and the worst.
            runs = []
            for _ in range(REAL_RUNS):
                real = await real_run(with_query)
                if real is None:
                    break
                runs.append(real)
            if not runs:
                print("real_sandbox_run: skipped (Docker engine unavailable)")
                break
            worst = [r[0] for r in runs]
            print(
                f"loop_stall_max_real_sandbox_300k_lines{label}_median_of_{len(runs)}: {statistics.median(worst):.1f} ms"
            )
            print(f"loop_stall_max_real_sandbox_300k_lines{label}_worst_of_{len(runs)}: {max(worst):.1f} ms")
            print(
                f"loop_stall_p95_real_sandbox_300k_lines{label}: {statistics.median(r[1] for r in runs):.1f} ms"
            )
            print(
                f"sandbox_pane_lines_per_s_real_run{label}: {statistics.median(r[2] for r in runs):.0f} lines/s"
            )
        # Stress: one event per line from a thread, far more events than the real sandbox sends.
        worst, p95, rate = await scenario(False, "bench-1")
        print(f"loop_stall_max_300k_lines: {worst:.1f} ms")
        print(f"loop_stall_p95_300k_lines: {p95:.1f} ms")
        print(f"sandbox_pane_lines_per_s: {rate:.0f} lines/s")
        worst, p95, rate = await scenario(True, "bench-2")
        print(f"loop_stall_max_300k_lines_with_query: {worst:.1f} ms")
        print(f"loop_stall_p95_300k_lines_with_query: {p95:.1f} ms")
        print(f"sandbox_pane_lines_per_s_with_query: {rate:.0f} lines/s")
        print(f"sandbox_view_blocks_kept: {win.sandbox.output.document().blockCount()} lines")

    with loop:
        try:
            loop.run_until_complete(run_all())
        finally:
            win.close()
            loop.run_until_complete(app.aclose())
            collector.stop()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    # The figures are printed: skip tearing down hundreds of thousands of Qt text blocks.
    os._exit(code)
