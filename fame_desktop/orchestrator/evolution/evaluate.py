"""Measuring candidates in the sandbox: the task's tests, then its benchmark statement, in parallel.

Every candidate runs as its own sandbox program (the recipe's tests plus a timed ``bench``
statement, built by the code generation package) so one crashing or hanging candidate costs only
its own run. Runs go out together, bounded by the sandbox's concurrency, so a generation of eight
takes about as long as its slowest batch rather than eight runs in a row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from fame_desktop.orchestrator.codegen import Recipe, TestProgram, build_test_program
from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.evolution.fitness import Fitness
from fame_desktop.orchestrator.evolution.population import Candidate
from fame_desktop.orchestrator.sandbox import Sandbox

log = logging.getLogger("fame.evolution")

#: Failure messages kept per candidate (audit entries stay small).
KEPT_FAILURES = 3
#: Once the reference is measured, a candidate may take this many times as long (or MIN_TIMEOUT):
#: a mutant that loops forever is stopped in seconds, and one that slow would lose anyway.
TIMEOUT_FACTOR = 5.0
MIN_TIMEOUT = 3.0


class Evaluator:
    """Runs candidates of one recipe in the sandbox and turns the reports into :class:`Fitness`.

    Args:
        sandbox: The sandbox the candidates run in.
        recipe: The recipe whose ``tests`` and ``bench`` judge the candidates.
        concurrency: Runs in flight at once (the sandbox's own limit).
        timeout: Seconds one candidate may take (a mutant can be exponentially slow).
    """

    def __init__(self, sandbox: Sandbox, recipe: Recipe, *, concurrency: int, timeout: float) -> None:
        self.sandbox = sandbox
        self.recipe = recipe
        self.timeout = timeout
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self.runs = 0
        self.durations: dict[str, float] = {}

    def calibrate(self, reference_id: str) -> float:
        """Tighten the timeout to a multiple of the reference's measured run time; the new timeout."""
        took = self.durations.get(reference_id)
        if took is not None:
            self.timeout = min(self.timeout, max(MIN_TIMEOUT, TIMEOUT_FACTOR * took / 1000))
        return self.timeout

    def program(self, code: str) -> TestProgram:
        """The sandbox program that tests ``code`` and times the recipe's benchmark."""
        return build_test_program(code, self.recipe.tests, bench=self.recipe.bench or None)

    async def evaluate(self, candidate: Candidate, *, run_id: str) -> Fitness:
        """Measure one candidate; never raises for a bad candidate or a missing engine."""
        size = candidate.size
        async with self._slots:
            self.runs += 1
            program = self.program(candidate.code)
            try:
                report = await self.sandbox.run(
                    program,
                    timeout=self.timeout,
                    query_id=run_id,
                    run_id=f"{run_id}-{self.runs}-{candidate.id}",
                )
            except FameError as exc:
                return Fitness("unavailable", 0, 0, None, size, (exc.message,))
        self.durations[candidate.id] = report.duration_ms
        status = report.status
        summary = program.parse(report.stdout)
        if summary is None:
            reason = (report.stderr or report.detail or status).strip()[-300:]
            return Fitness(status, 0, 0, None, size, (reason or "the tests did not report",), report.node)
        failures = tuple(str(f)[:300] for f in list(summary.failures)[:KEPT_FAILURES])
        bench = summary.bench_ns
        return Fitness(
            status,
            int(summary.passed),
            int(summary.failed),
            int(bench) if bench is not None and summary.failed == 0 else None,
            size,
            failures,
            report.node,
        )

    async def evaluate_all(
        self,
        candidates: Sequence[Candidate],
        *,
        run_id: str,
        on_result: Callable[[Candidate, Fitness], Awaitable[None] | None] | None = None,
    ) -> list[Fitness]:
        """Measure ``candidates`` in parallel (bounded); results in the same order.

        ``on_result`` is called as each one finishes, for live progress.
        """

        async def one(candidate: Candidate) -> Fitness:
            fitness = await self.evaluate(candidate, run_id=run_id)
            if on_result is not None:
                maybe = on_result(candidate, fitness)
                if maybe is not None:
                    await maybe
            return fitness

        tasks = [asyncio.ensure_future(one(c)) for c in candidates]
        try:
            return list(await asyncio.gather(*tasks))
        finally:
            # On cancellation (or a failing callback) no sandbox run outlives the generation.
            for task in tasks:
                task.cancel()
