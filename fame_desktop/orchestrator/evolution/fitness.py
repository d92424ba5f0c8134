"""Fitness of a candidate: correctness first, then speed measured in the sandbox, then size."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Fitness:
    """What the sandbox measured for one candidate.

    Attributes:
        status: The sandbox run status (``ok``, ``error``, ``timeout``...).
        passed: Tests that passed.
        failed: Tests that failed.
        bench_ns: Median time of the task's benchmark statement inside the sandbox (None if not run).
        size: Syntax-tree nodes of the program.
        failures: First failure messages (for the audit and the LLM's next try).
        node: The cluster node (host name) it ran on; "" when it did not run or not on a cluster.
    """

    status: str
    passed: int
    failed: int
    bench_ns: int | None
    size: int
    failures: tuple[str, ...] = field(default=())
    node: str = ""

    @property
    def tested(self) -> bool:
        """Whether the tests really ran (a crash before the harness reported means no)."""
        return self.passed + self.failed > 0

    @property
    def correct(self) -> bool:
        """All tests ran and passed."""
        return self.status == "ok" and self.tested and self.failed == 0

    def key(self) -> tuple[int, int, float, int]:
        """Sort key, smaller is better: correct, fewer failures, faster, smaller."""
        return (
            0 if self.correct else 1,
            self.failed if self.tested else 1_000_000,
            float(self.bench_ns) if self.bench_ns is not None else math.inf,
            self.size,
        )

    def score(self, baseline: Fitness | None = None) -> float:
        """One number for charts: below 1 when incorrect (share of tests passed); for a correct
        candidate 1 plus its speed-up over ``baseline`` (1.0 = as fast) and a small size bonus."""
        if not self.correct:
            total = self.passed + self.failed
            return round(0.99 * self.passed / total, 4) if total else 0.0
        if baseline is None or not baseline.bench_ns or not self.bench_ns:
            return 1.0
        speedup = baseline.bench_ns / self.bench_ns
        smaller = (baseline.size - self.size) / max(baseline.size, 1)
        return round(1.0 + speedup + 0.1 * smaller, 4)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (stored with runs and written to the audit)."""
        out = asdict(self)
        out["failures"] = list(self.failures)
        out["correct"] = self.correct
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fitness:
        """Inverse of :meth:`to_dict`."""
        return cls(
            status=str(data.get("status", "error")),
            passed=int(data.get("passed", 0)),
            failed=int(data.get("failed", 0)),
            bench_ns=int(data["bench_ns"]) if data.get("bench_ns") is not None else None,
            size=int(data.get("size", 0)),
            failures=tuple(str(f) for f in data.get("failures", ())),
            node=str(data.get("node") or ""),
        )


@dataclass(frozen=True)
class Improvement:
    """How a winner compares with the original, measured side by side in the same run."""

    speedup: float
    size_ratio: float
    better: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


#: A winner must be at least this much faster to count as faster (timing noise is a few percent).
MIN_SPEEDUP = 1.10


def compare(original: Fitness, winner: Fitness) -> Improvement:
    """Whether ``winner`` is measurably better than ``original``: correct, and faster or smaller."""
    if not winner.correct:
        return Improvement(0.0, 0.0, False, "the winner does not pass the tests")
    speedup = original.bench_ns / winner.bench_ns if original.bench_ns and winner.bench_ns else 1.0
    size_ratio = winner.size / max(original.size, 1)
    if speedup >= MIN_SPEEDUP:
        return Improvement(speedup, size_ratio, True, f"{speedup:.2f}× faster")
    if size_ratio < 1.0 and speedup >= 1 / MIN_SPEEDUP:
        return Improvement(
            speedup, size_ratio, True, f"{(1 - size_ratio) * 100:.0f}% smaller, as fast ({speedup:.2f}×)"
        )
    return Improvement(
        speedup, size_ratio, False, f"no measurable gain ({speedup:.2f}×, size {size_ratio:.2f})"
    )
