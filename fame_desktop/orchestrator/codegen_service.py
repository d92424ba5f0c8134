"""Code generation as a service for the ``universal_developer`` plugin.

Finds the code for a request — the admin-approved evolved version of a library task, else the
configured LLM (with the library's tests when the task matches, its own tests otherwise, repaired
in a loop until the tests pass), else the built-in recipe library — runs it with its tests in the
sandbox and reports the result honestly: code whose tests did not run is never presented as tested.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from typing import Any, Protocol

from fame_desktop.orchestrator.codegen import (
    GeneratedCode,
    OfflineGenerator,
    Promoted,
    RecipeLibrary,
    build_test_program,
)
from fame_desktop.orchestrator.codegen.harness import hide_report_lines
from fame_desktop.orchestrator.codegen.repair import RepairResult, is_passing, repair_loop
from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.evolution.store import PromotionStore
from fame_desktop.orchestrator.llm import LlmProvider
from fame_desktop.orchestrator.sandbox.report import RunReport

log = logging.getLogger("fame.codegen")

#: The repair loop starts no new round past this (universal_developer's plugin timeout is 120 s).
REPAIR_BUDGET_S = 90.0


class CodeSandbox(Protocol):
    """What code generation needs of the sandbox (any ``Sandbox`` backend): run a program."""

    async def run(self, code: str, *, query_id: str | None = None) -> RunReport:
        """Run ``code`` and report how it went."""
        ...


class CodeGenService:
    """Generates code for a request and proves it in the sandbox.

    Args:
        library: The recipe library, or a callable that loads it (called on first use, so start-up
            does not pay for reading ~50 recipes).
        sandbox: The sandbox backend, or None when there is none.
        llm: Returns the configured chat provider, or None (read at every request).
        max_repairs: Returns how many extra rounds the repair loop may take.
        time_budget_s: Seconds the repair loop may spend before it stops starting new rounds.
        promoted: ``promoted(recipe_id) -> (code, version) | None``: the evolved implementation.
    """

    def __init__(
        self,
        library: RecipeLibrary | Callable[[], RecipeLibrary],
        sandbox: CodeSandbox | None,
        *,
        llm: Callable[[], LlmProvider | None] = lambda: None,
        max_repairs: Callable[[], int] = lambda: 3,
        promoted: Promoted | None = None,
        time_budget_s: float | None = None,
    ) -> None:
        self._load_library = library if callable(library) else (lambda: library)
        self._promoted = promoted
        self._sandbox = sandbox
        self._llm = llm
        self._max_repairs = max_repairs
        self._time_budget_s = time_budget_s

    @functools.cached_property
    def library(self) -> RecipeLibrary:
        """The recipe library (loaded on first use)."""
        return self._load_library()

    @functools.cached_property
    def generator(self) -> OfflineGenerator:
        """The offline generator over the library."""
        return OfflineGenerator(self.library, self._promoted)

    async def ready(self) -> None:
        """Load the library in a worker thread (reading and compiling ~50 recipes takes ~0.2 s,
        which must not stall the event loop the window runs on)."""
        if "generator" not in self.__dict__:
            await asyncio.to_thread(lambda: self.generator)

    def generate(self, text: str) -> GeneratedCode | None:
        """The library's code and tests for ``text``, or None when nothing matches."""
        return self.generator.generate(text)

    async def run_tests(self, generated: GeneratedCode, *, query_id: str | None = None) -> dict[str, Any]:
        """Run ``generated``'s code and tests in the sandbox; the test report (never raises)."""
        sandbox = self._sandbox
        if sandbox is None:
            return _untested("No sandbox is configured, so the tests were not run.")
        program = build_test_program(generated.code, generated.tests, bench=generated.bench or None)
        try:
            report = await sandbox.run(program, query_id=query_id)
        except FameError as exc:
            return _untested(f"{exc.message} {exc.fix}".strip())
        summary = program.parse(report.stdout)
        out = report.to_dict()
        out["tested"] = summary is not None
        out["passed"] = summary.passed if summary else 0
        out["failed"] = summary.failed if summary else 0
        out["total"] = summary.total if summary else len(program.test_names)
        out["failures"] = [f.to_dict() for f in summary.failures] if summary else []
        out["bench_ns"] = summary.bench_ns if summary else None
        out["stdout"] = hide_report_lines(report.stdout)  # parsed; not for people
        return out

    async def answer(self, text: str, *, query_id: str | None = None) -> dict[str, Any]:
        """A plugin result for a ``generate_code`` request (``data.source``, ``data.attempts``)."""
        await self.ready()
        recipe = self.generator.best(text)
        generated = self.generator.for_recipe(recipe) if recipe is not None else None
        provider = self._llm()
        # An admin-approved evolved version is the answer for its task, even with a model configured;
        # so is a library recipe when the model is a small local one: the recipe already passes its
        # tests, and the model would take up to max_repair_attempts sandbox rounds to maybe match it.
        library_first = generated is not None and (
            generated.source.startswith("evolved")
            or (provider is not None and provider.backend == "llama.cpp")
        )
        if provider is not None and not library_first:
            try:
                return await self._answer_with_llm(provider, text, generated, query_id=query_id)
            except FameError as exc:
                log.warning("LLM generation failed: %s", exc.message)
                note = f"The LLM backend ({provider.name}) failed: {exc.message} {exc.fix}".strip()
                if generated is None:
                    return self._no_match(text, note, error=exc.to_dict())
                return await self._answer_offline(
                    generated, note=note + " Answered from the built-in library.", query_id=query_id
                )
        note = "No LLM backend is configured, so this answer comes from the built-in library."
        if generated is None:
            return self._no_match(text, note)
        if provider is not None:
            note = (
                f"This task is in the built-in library, so its tested implementation answers "
                f"(the local model {provider.name} writes only what the library does not hold)."
            )
        if generated.source.startswith("evolved"):
            note = f"This is the admin-approved evolved implementation ({generated.source})."
        return await self._answer_offline(generated, note=note, query_id=query_id)

    async def _answer_offline(
        self, generated: GeneratedCode, *, note: str, query_id: str | None
    ) -> dict[str, Any]:
        report = await self.run_tests(generated, query_id=query_id)
        return _result(generated, report, attempts=1, note=note, llm=None)

    async def _answer_with_llm(
        self, provider: LlmProvider, text: str, matched: GeneratedCode | None, *, query_id: str | None
    ) -> dict[str, Any]:
        recipe = self.library.get(matched.recipe_id) if matched is not None else None
        max_repairs = max(0, int(self._max_repairs()))

        async def run(generated: GeneratedCode) -> dict[str, Any]:
            return await self.run_tests(generated, query_id=query_id)

        outcome: RepairResult = await repair_loop(
            provider,
            text,
            run,
            recipe=recipe,
            max_repairs=max_repairs,
            query_id=query_id,
            time_budget_s=self._time_budget_s,
        )
        final = outcome.final
        if final is None:  # the loop only returns without a round if the model failed (raised)
            raise FameError("The model gave no answer.")
        attempts = len(outcome.attempts)
        history = [a.to_dict() for a in outcome.attempts]
        who = {"name": provider.name, "backend": outcome.backend, "model": outcome.model}
        if final.passed:
            note = f"Written by {provider.name}; passed its tests after {attempts} attempt(s)."
            return _result(
                final.generated, final.report, attempts=attempts, note=note, llm=who, history=history
            )
        reason = outcome.error or verdict_after(final.report, attempts)
        if matched is not None:
            # The library has a proven implementation of this task: better than failing code.
            report = await self.run_tests(matched, query_id=query_id)
            note = f"{reason} Showing the built-in library's implementation instead."
            return _result(matched, report, attempts=attempts, note=note, llm=who, history=history)
        note = f"Written by {provider.name}. {reason}"
        return _result(final.generated, final.report, attempts=attempts, note=note, llm=who, history=history)

    def _no_match(self, text: str, note: str, error: dict[str, str] | None = None) -> dict[str, Any]:
        near = self.generator.suggestions(text)
        listing = "\n".join(f"- {r.title}" for r in near) or "- (nothing close)"
        advice = "Rephrase the request" + ("." if error else ", or configure an LLM endpoint in Settings.")
        out: dict[str, Any] = {
            "response": (
                f"I could not match this to a task I can write and test offline. {note}\n\n"
                f"The closest tasks I know:\n{listing}\n\n{advice}"
            ),
            "data": {"matched": False, "suggestions": [r.id for r in near], "source": None, "attempts": 0},
        }
        if error is not None:
            out["error"] = error
        return out


def verdict_after(report: dict[str, Any], attempts: int) -> str:
    """Why the model's last round is not proven: "Not tested" or "Tests failed after N repairs"."""
    repairs = attempts - 1
    after = f"after {repairs} repair(s)" if repairs else "on the first attempt (no repairs were allowed)"
    if report.get("tested"):
        return f"Tests failed {after}: this code is not proven to work."
    detail = str(report.get("detail") or report.get("status") or "").strip()
    return f"Not tested {after}" + (f" ({detail})" if detail else "") + ": do not rely on this code."


def _result(
    generated: GeneratedCode,
    report: dict[str, Any],
    *,
    attempts: int,
    note: str,
    llm: dict[str, str] | None,
    history: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "matched": bool(generated.recipe_id),
        "recipe": generated.recipe_id or None,
        "entry": generated.entry or None,
        "source": generated.source,
        "attempts": attempts,
        "llm": llm["name"] if llm else None,
        "tested": bool(report.get("tested")),
        "passed": is_passing(report),
        "attempt_log": history or [],
    }
    if llm:
        data["llm_backend"], data["llm_model"] = llm["backend"], llm["model"]
    return {
        "response": render_answer(generated, report, attempts=attempts, note=note),
        "data": data,
        "code": generated.code,
        "tests": generated.tests,
        "test_report": report,
    }


def render_answer(
    generated: GeneratedCode, report: dict[str, Any], *, attempts: int = 1, note: str = ""
) -> str:
    """Markdown answer: what it is, the code, the tests, and what the sandbox said."""
    if is_passing(report):
        verdict = (
            f"✓ All {report['passed']} tests passed in the sandbox ({report.get('duration_ms', 0):.0f} ms)."
        )
    elif report.get("tested"):
        total = int(report.get("passed", 0)) + int(report.get("failed", 0))
        verdict = f"✗ {report['failed']} of {total} tests failed in the sandbox."
        failures = report.get("failures") or []
        if failures:
            verdict += f" First failure: `{str(failures[0].get('error', ''))[:200]}`"
    else:
        detail = report.get("detail") or report.get("stderr") or report.get("status")
        verdict = f"⚠ Not tested: the tests did not run or did not report ({str(detail)[:300]})."
    tries = f" Attempts: {attempts}." if attempts > 1 else ""
    footer = f"\n\n_{note}_" if note else ""
    return (
        f"**{generated.title}** ({generated.source})\n\n{generated.explanation}\n\n"
        f"```python\n{generated.code.rstrip()}\n```\n\n**Tests**\n\n```python\n{generated.tests.rstrip()}\n```\n\n"
        f"{verdict}{tries}{footer}"
    )


def promoted_source(store: PromotionStore) -> Promoted:
    """``promoted(recipe_id)`` reading the evolution store at every call (promotions apply at once)."""

    def promoted(recipe_id: str) -> tuple[str, int, str] | None:
        with contextlib.suppress(FameError):
            active = store.active(recipe_id)
            return (active.code, active.version, active.description) if active is not None else None
        log.error("evolution record for %s is damaged; using the library's implementation", recipe_id)
        return None

    return promoted


def _untested(detail: str) -> dict[str, Any]:
    """The test report when the tests could not run at all."""
    return {
        "status": "unavailable",
        "passed": 0,
        "failed": 0,
        "tested": False,
        "failures": [],
        "detail": detail,
    }
