"""Audit log: appends per second (one commit per entry, and batched) and time to verify 1,000,000.

Run: ``.venv/bin/python benchmarks/bench_audit.py [--entries 1000000]``. Uses a temporary SQLite
file on the local disk; prints medians over repeats.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fame_desktop.orchestrator.audit import AuditLog

PAYLOAD = {"text": "Write a Python function to reverse a string", "intent": "generate_code", "ms": 12.5}


def appends_per_second(log: AuditLog, n: int) -> float:
    """Single-entry commits per second (what every query costs)."""
    start = time.perf_counter()
    for i in range(n):
        log.append("query", {**PAYLOAD, "i": i}, actor="bench", summary="bench query")
    return n / (time.perf_counter() - start)


def fill(log: AuditLog, total: int, batch: int = 10_000) -> float:
    """Append ``total`` entries in batches; returns entries per second."""
    start = time.perf_counter()
    done = len(log)
    while done < total:
        size = min(batch, total - done)
        log.append_many([("query", {**PAYLOAD, "i": done + k}, "bench", "bench query") for k in range(size)])
        done += size
    return total / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = AuditLog(Path(tmp) / "audit.sqlite3")
        rates = [appends_per_second(log, 2000) for _ in range(args.repeats)]
        print(f"single appends (commit each): median {statistics.median(rates):,.0f} entries/s")
        batched = fill(log, args.entries)
        print(f"batched appends (10,000 per commit): {batched:,.0f} entries/s")
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            result = log.verify()
            times.append(time.perf_counter() - start)
            assert result.ok and result.checked == len(log), result
        print(f"verify {len(log):,} entries: median {statistics.median(times):.2f} s "
              f"({len(log) / statistics.median(times):,.0f} entries/s)")  # fmt: skip
        log.close()


if __name__ == "__main__":
    main()
