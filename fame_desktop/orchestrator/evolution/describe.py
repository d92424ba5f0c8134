"""A promoted version's own description, and fitness in words.

The description is stored with the version when it is promoted, so answers that serve evolved
code explain that code, never the library original's explanation above different code.
"""

from __future__ import annotations

from typing import Any


def fitness_text(fitness: dict[str, Any]) -> str:
    """One line a person reads: tests passed, time per call, size."""
    parts: list[str] = []
    passed, failed = fitness.get("passed"), fitness.get("failed")
    if isinstance(passed, int) and isinstance(failed, int):
        parts.append(f"{passed}/{passed + failed} tests pass")
    bench = fitness.get("bench_ns")
    if isinstance(bench, int | float) and bench:
        parts.append(f"{_duration(float(bench))} per run of the benchmark")
    size = fitness.get("size")
    if isinstance(size, int):
        parts.append(f"{size} syntax nodes")
    return ", ".join(parts) or "not measured"


def describe_winner(run: dict[str, Any]) -> str:
    """The promoted version's own description: where the code came from and how it measured."""
    winner = run.get("winner") or {}
    origin = str(winner.get("origin") or "")
    operators = [str(op).replace("_", " ") for op in winner.get("operators") or []]
    if origin == "reference":
        source = "the library's original, re-measured"
    elif origin.startswith("alternative:"):
        source = f"the library's alternative implementation `{origin.partition(':')[2]}`"
    elif origin.startswith("promoted:"):
        source = f"the earlier evolved {origin.partition(':')[2]}"
    elif origin.startswith("llm"):
        source = "a language model's proposal"
    elif operators:
        source = "mutation (" + ", ".join(operators) + ")"
    else:
        source = "mutation"
    improvement = str((run.get("improvement") or {}).get("reason") or "")
    measured = fitness_text(dict(winner.get("fitness") or {}))
    than = f" It is {improvement} than the library's original" if improvement else ""
    return (
        f"An evolved implementation, bred by evolution run {run.get('id', '?')} from {source}.{than}"
        f"{'; ' if than else ' '}{'it' if than else 'It'} measured: {measured}."
    )


def _duration(ns: float) -> str:
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.0f} ns"
