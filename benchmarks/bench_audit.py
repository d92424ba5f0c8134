"""Audit log speed against the log as it was (commit 7bc4547), both measured in this run.

Prints, for today's code and the baseline: single durable appends per second, batched appends per
second, concurrent durable appends per second (many coroutines, as the Brain and the API append,
and many threads), and the time to verify a log of ``--entries`` entries.

The 1-minute load average is printed first and last: on a shared machine every figure (today's
and the baseline's alike) shrinks with it, so compare the ratios.

Run: ``.venv/bin/python benchmarks/bench_audit.py [--entries 1000000] [--repeats 3] [--baseline REV]``.
The baseline is read with ``git show 7bc4547:fame_desktop/orchestrator/audit.py`` (or ``REV``'s) and
loaded as a module, so run it from a git checkout (``--no-baseline`` skips it); it imports today's redaction, trust and verify
modules, so its figures include their speed-ups (the audit module's own work is what the ratio
compares). 7bc4547 is the start of issue #15's audit work (quiet machine: batched 24.7k/s, 64
coroutines 11.8k/s, 16 threads 6.5k/s, verify of 1M 3.99 s). Every entry carries different text,
as real ones do, so nothing is measured from a cache.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from fame_desktop.orchestrator.audit import AuditLog

BASELINE_COMMIT = "7bc4547"
REPO = Path(__file__).resolve().parents[1]
BATCH = 10_000


def baseline_module(commit: str = BASELINE_COMMIT) -> ModuleType | None:
    """The audit module as it was at ``commit``, or None outside a git checkout."""
    try:
        source = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{commit}:fame_desktop/orchestrator/audit.py"],
            capture_output=True, text=True, check=True, timeout=30,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"(no baseline: {exc})")
        return None
    path = Path(tempfile.mkdtemp()) / "audit_baseline.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("audit_baseline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def item(i: int) -> tuple[str, dict[str, object], str, str]:
    """One realistic entry: a query's text, intent and timing, all different from the next one's."""
    text = f"Write a Python function to reverse a string, variant {i}"
    return ("query", {"text": text, "intent": "generate_code", "ms": i % 997 / 10}, "api:bench", f"query {i}")


def single(log: Any, n: int, start: int) -> float:
    """Sequential single-entry durable appends per second (one commit each)."""
    t = time.perf_counter()
    for i in range(start, start + n):
        kind, data, actor, summary = item(i)
        log.append(kind, data, actor=actor, summary=summary)
    return n / (time.perf_counter() - t)


def batched(log: Any, total: int, start: int) -> float:
    """Entries per second appended ``BATCH`` per ``append_many`` call."""
    t = time.perf_counter()
    done = 0
    while done < total:
        size = min(BATCH, total - done)
        log.append_many([item(start + done + k) for k in range(size)])
        done += size
    return total / (time.perf_counter() - t)


def coroutines(log: Any, tasks: int, each: int, start: int) -> float:
    """Durable appends per second from ``tasks`` coroutines on one loop (how requests append).

    Today's log is awaited with ``append_async``; the baseline had only the blocking ``append``.
    """
    use_async = hasattr(log, "append_async")

    async def worker(w: int) -> None:
        for k in range(each):
            kind, data, actor, summary = item(start + w * each + k)
            if use_async:
                await log.append_async(kind, data, actor=actor, summary=summary)
            else:
                log.append(kind, data, actor=actor, summary=summary)
                await asyncio.sleep(0)  # let the other requests run, as a server would

    async def main() -> float:
        t = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(tasks)))
        return tasks * each / (time.perf_counter() - t)

    return asyncio.run(main())


def threads(log: Any, count: int, each: int, start: int) -> float:
    """Durable appends per second from ``count`` threads calling ``append`` at once."""

    def work(w: int) -> None:
        for k in range(each):
            kind, data, actor, summary = item(start + w * each + k)
            log.append(kind, data, actor=actor, summary=summary)

    pool = [threading.Thread(target=work, args=(w,)) for w in range(count)]
    t = time.perf_counter()
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    return count * each / (time.perf_counter() - t)


def cpu_seconds() -> float:
    """CPU time of this process (every thread) and its finished children (the verify's second half)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


#: CPU microseconds per entry, by figure and implementation: far steadier than rates on a busy machine.
CPU_US: dict[str, dict[str, float]] = {}
#: Entries per commit, by figure and implementation (how well concurrent appends share commits).
PER_COMMIT: dict[str, dict[str, float]] = {}


def measure(
    logs: dict[str, Any], repeats: int, how: Callable[[Any, int], float], label: str
) -> dict[str, float]:
    """Median of ``how(log, next id)`` per implementation, alternating them (the load here varies).

    Also records the median CPU time per entry appended (or, when none is, per entry in the log).
    """
    got: dict[str, list[float]] = {name: [] for name in logs}
    cpu: dict[str, list[float]] = {name: [] for name in logs}
    appended = dict.fromkeys(logs, 0)
    commits = dict.fromkeys(logs, 0)
    for _ in range(repeats):
        for name, log in logs.items():
            before, started, committed = len(log), cpu_seconds(), getattr(log, "commits", 0)
            got[name].append(how(log, before))
            entries = (len(log) - before) or len(log)
            cpu[name].append((cpu_seconds() - started) / max(entries, 1) * 1e6)
            appended[name] += len(log) - before
            commits[name] += getattr(log, "commits", 0) - committed
    CPU_US[label] = {name: statistics.median(values) for name, values in cpu.items()}
    PER_COMMIT[label] = {name: appended[name] / commits[name] for name in logs if commits[name]}
    return {name: statistics.median(values) for name, values in got.items()}


def verify_seconds(log: Any) -> float:
    """Seconds to verify the whole log (which must pass)."""
    t = time.perf_counter()
    result = log.verify()
    seconds = time.perf_counter() - t
    assert result.ok and result.checked == len(log), result
    return seconds


def redaction_cost(n: int = 20_000) -> float:
    """CPU microseconds per entry spent redacting its fields one by one (before the log's own work)."""
    from fame_desktop.orchestrator.redaction import redact, redact_text

    t = time.process_time()
    for i in range(n):
        _kind, data, actor, summary = item(i)
        redact(dict(data))
        redact_text(summary)
        redact_text(actor)
    return (time.process_time() - t) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000, help="Log size for the verify figure.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument(
        "--baseline", default=BASELINE_COMMIT, help="The commit whose audit module is the baseline."
    )
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    print(f"load average (1 min): {load_start:.2f} (figures shrink with it; compare the ratios)")
    old = None if args.no_baseline else baseline_module(args.baseline)
    n = args.repeats
    with tempfile.TemporaryDirectory() as tmp:
        logs: dict[str, Any] = {}
        if old is not None:
            (Path(tmp) / "old").mkdir()
            logs["baseline"] = old.AuditLog(Path(tmp) / "old" / "audit.sqlite3")
        (Path(tmp) / "new").mkdir()
        logs["today"] = AuditLog(Path(tmp) / "new" / "audit.sqlite3")
        rows = [
            (label, measure(logs, n, how, label))
            for label, how in [
                ("single durable appends (a commit each)", lambda log, s: single(log, 2000, s)),
                ("batched appends (10,000 per call)", lambda log, s: batched(log, 50_000, s)),
                ("concurrent durable, 64 coroutines", lambda log, s: coroutines(log, 64, 100, s)),
                ("concurrent durable, 16 threads", lambda log, s: threads(log, 16, 400, s)),
            ]
        ]
        for log in logs.values():
            if len(log) < args.entries:
                batched(log, args.entries - len(log), len(log))
        verify = measure(logs, n, lambda log, _start: verify_seconds(log), "verify")
        size = len(logs["today"])
        per_commit = size / max(int(getattr(logs["today"], "commits", 1)), 1)
        for log in logs.values():
            log.close()
    print(f"{'':42} {'today':>10} {'baseline':>10} {'ratio':>7}")
    for label, figures in rows:
        base = figures.get("baseline")
        ratio = f"{figures['today'] / base:6.2f}x" if base else ""
        print(f"{label:42} {figures['today']:10,.0f} {base or 0:10,.0f} {ratio} entries/s")
    base_v = verify.get("baseline")
    ratio = f"{base_v / verify['today']:6.2f}x" if base_v else ""
    print(f"{f'verify {size:,} entries (s)':42} {verify['today']:10.2f} {base_v or 0:10.2f} {ratio} faster")
    print("CPU us per entry (this process's threads and the verify's child; steadier than rates under load):")
    for label, figures in CPU_US.items():
        base = figures.get("baseline")
        ratio = f"{base / figures['today']:6.2f}x less" if base else ""
        print(f"  {label:40} {figures['today']:10.1f} {base or 0:10.1f} {ratio}")
    print(f"entries per commit today, over every run above: {per_commit:,.1f}")
    for label, figures in PER_COMMIT.items():
        if label.startswith("concurrent"):
            print(f"  {label:40} {figures.get('today', 0):10.1f} {figures.get('baseline', 0):10.1f}")
    print(f"redaction alone, per entry, field by field: {redaction_cost():.1f} us CPU (today's module)")
    concurrent = min(rows[2][1]["today"], rows[3][1]["today"])
    goals = [
        ("batched >= 100,000/s", rows[1][1]["today"] >= 100_000),
        ("concurrent durable >= 20,000/s (coroutines and threads)", concurrent >= 20_000),
        (f"verify of 1,000,000 <= 2 s (scaled from {size:,})", verify["today"] * 1_000_000 / size <= 2.0),
    ]
    for goal, met in goals:
        print(f"goal {goal}: {'MET' if met else 'MISSES'}")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f} (at the start: {load_start:.2f})")


if __name__ == "__main__":
    main()
