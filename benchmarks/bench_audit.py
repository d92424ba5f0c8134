"""Audit log speed against the log as it was (commit 07ca047), both measured in this run.

Prints, for today's code and the baseline: single durable appends per second, batched appends per
second, concurrent durable appends per second (many coroutines, as the Brain and the API append,
and many threads), and the time to verify a log of ``--entries`` entries.

Run: ``.venv/bin/python benchmarks/bench_audit.py [--entries 1000000] [--repeats 3]``. The baseline
is read with ``git show 07ca047:fame_desktop/orchestrator/audit.py`` and loaded as a module, so run
it from a git checkout (``--no-baseline`` skips it). Every entry carries different text, as real
ones do, so nothing is measured from a cache.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
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

BASELINE_COMMIT = "07ca047"
REPO = Path(__file__).resolve().parents[1]
BATCH = 10_000


def baseline_module() -> ModuleType | None:
    """The audit module as it was at :data:`BASELINE_COMMIT`, or None outside a git checkout."""
    try:
        source = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{BASELINE_COMMIT}:fame_desktop/orchestrator/audit.py"],
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


def median_of(repeats: int, measure: Callable[[int], float]) -> float:
    return statistics.median(measure(r) for r in range(repeats))


def run(
    name: str, factory: Callable[[Path], Any], entries: int, repeats: int, folder: Path
) -> dict[str, float]:
    """Every figure for one implementation, on its own file."""
    log = factory(folder / "audit.sqlite3")
    figures: dict[str, float] = {}
    base = 0
    figures["single"] = median_of(repeats, lambda r: single(log, 2000, base + r * 2000))
    base = len(log)
    figures["batched"] = median_of(repeats, lambda r: batched(log, 50_000, base + r * 50_000))
    base = len(log)
    figures["coroutines"] = median_of(repeats, lambda r: coroutines(log, 64, 100, base + r * 6400))
    base = len(log)
    figures["threads"] = median_of(repeats, lambda r: threads(log, 16, 400, base + r * 6400))
    if len(log) < entries:
        batched(log, entries - len(log), len(log))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        result = log.verify()
        times.append(time.perf_counter() - t)
        assert result.ok and result.checked == len(log), result
    figures["verify_s"] = statistics.median(times)
    figures["verified"] = len(log)
    if hasattr(log, "commits"):
        figures["commits"] = log.commits
    log.close()
    print(f"  {name}: done", file=sys.stderr)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000, help="Log size for the verify figure.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    old = None if args.no_baseline else baseline_module()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if old is not None:
            (Path(tmp) / "old").mkdir()
            results["baseline"] = run("baseline", old.AuditLog, args.entries, args.repeats, Path(tmp) / "old")
        (Path(tmp) / "new").mkdir()
        results["today"] = run("today", AuditLog, args.entries, args.repeats, Path(tmp) / "new")
    rows = [
        ("single durable appends (a commit each)", "single", "entries/s"),
        ("batched appends (10,000 per call)", "batched", "entries/s"),
        ("concurrent durable appends, 64 coroutines", "coroutines", "entries/s"),
        ("concurrent durable appends, 16 threads", "threads", "entries/s"),
    ]
    new, base = results["today"], results.get("baseline")
    print(f"{'':46} {'today':>12} {'baseline':>12} {'ratio':>7}")
    for label, key, unit in rows:
        ratio = f"{new[key] / base[key]:6.2f}x" if base else ""
        print(f"{label:46} {new[key]:12,.0f} {base[key] if base else 0:12,.0f} {ratio} {unit}")
    ratio = f"{base['verify_s'] / new['verify_s']:6.2f}x" if base else ""
    print(f"{'verify ' + format(int(new['verified']), ',') + ' entries (s)':46} {new['verify_s']:12.2f} "
          f"{base['verify_s'] if base else 0:12.2f} {ratio} faster")  # fmt: skip
    print("goals: batched >= 100,000/s, concurrent durable >= 20,000/s, verify of 1,000,000 <= 2 s")


if __name__ == "__main__":
    main()
