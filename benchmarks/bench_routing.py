"""Routing accuracy on the labelled set and time per routing decision.

Run: .venv/bin/python benchmarks/bench_routing.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from routing_set import builtin_router, labelled_queries


def main() -> None:
    router = builtin_router()
    pairs = labelled_queries()
    wrong = [(want, q, router.route(q).intent) for want, q in pairs if router.route(q).intent != want]
    accuracy = 1 - len(wrong) / len(pairs)
    rounds = []
    for _ in range(20):
        start = time.perf_counter()
        for _, q in pairs:
            router.route(q)
        rounds.append((time.perf_counter() - start) / len(pairs))
    holdout = labelled_queries("routing_holdout.tsv")
    held_wrong = [(want, q, router.route(q).intent) for want, q in holdout if router.route(q).intent != want]
    print(f"routing.queries: {len(pairs)}")
    print(f"routing.holdout_queries: {len(holdout)}")
    print(f"routing.holdout_accuracy: {(1 - len(held_wrong) / len(holdout)) * 100:.1f} %")
    print(f"routing.accuracy: {accuracy * 100:.1f} %")
    print(f"routing.median_ms_per_query: {statistics.median(rounds) * 1000:.3f} ms")
    print(f"routing.max_ms_per_query_round: {max(rounds) * 1000:.3f} ms")
    for want, q, got in wrong + held_wrong:
        print(f"routing.miss: expected {want}, got {got}: {q}")


if __name__ == "__main__":
    main()
