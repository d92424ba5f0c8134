"""Calculator speed: typical expressions, words, and the worst inputs the limits allow.

Run: .venv/bin/python benchmarks/bench_calculator.py
Baseline: Python's own ``ast.parse`` of the same text (the evaluator cannot be faster than parsing).
"""

from __future__ import annotations

import ast
import contextlib
import statistics
import time
from collections.abc import Callable

from core._lib.calc_words import to_expression
from core._lib.safe_eval import CalcError, evaluate
from core.calculator import calculate

TYPICAL = ["12*(3+4)", "2**64", "sqrt(144) + sin(pi/2)", "(5 + 3) / 2", "log(1000) * 3.5", "17 % 5 - -3"]
WORDS = ["what is 12 times 7", "15 percent of 80", "square root of 144", "2 to the power of 10",
         "add 45 and 67", "twenty five plus one hundred and three"]  # fmt: skip
WORST = ["2**3321", "factorial(400)", "10**10000", "9**9**9", "+".join(["1"] * 149), "-" * 120 + "1",
         "factorial(400) * factorial(400)"]  # fmt: skip


def timed(fn: Callable[[str], object], texts: list[str], rounds: int = 200) -> list[float]:
    samples = []
    for _ in range(rounds):
        for text in texts:
            start = time.perf_counter()
            with contextlib.suppress(CalcError):
                fn(text)
            samples.append((time.perf_counter() - start) * 1e6)
    return samples


def report(name: str, samples: list[float]) -> None:
    samples.sort()
    print(f"calc.{name}.median: {statistics.median(samples):.1f} us")
    print(f"calc.{name}.p95: {samples[int(len(samples) * 0.95)]:.1f} us")


def main() -> None:
    parse = timed(lambda t: ast.parse(t.replace("^", "**"), mode="eval"), TYPICAL)
    typical = timed(evaluate, TYPICAL)
    report("parse_baseline", parse)
    report("typical_expression", typical)
    print(f"calc.typical_vs_parse_ratio: {statistics.median(typical) / statistics.median(parse):.2f} x")
    report("words_to_expression", timed(to_expression, WORDS))
    report("words_end_to_end", timed(calculate, WORDS))
    report("worst_case_limited", timed(evaluate, WORST, rounds=20))


if __name__ == "__main__":
    main()
