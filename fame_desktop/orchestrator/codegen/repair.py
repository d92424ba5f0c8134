"""The LLM repair loop: ask the model for code (and tests), run them, feed failures back, retry.

The loop knows nothing about Docker: it is handed ``run_tests(generated) -> report`` (the
sandbox's, via :class:`~fame_desktop.orchestrator.codegen_service.CodeGenService`). The model answers
with structured output (:data:`~fame_desktop.orchestrator.llm.structured.CODE_SCHEMA`: code, tests,
explanation), so a local model's grammar makes the answer parse; a round whose answer cannot be
read, or has no tests, is not run and is fed back like a failure. An unavailable sandbox ends the
loop at once: untested code is never called tested, and there is nothing to repair from.
"""

from __future__ import annotations

import ast
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fame_desktop.orchestrator.codegen.generator import GeneratedCode
from fame_desktop.orchestrator.codegen.recipes import Recipe, test_names
from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.llm import ChatMessage, LlmProvider
from fame_desktop.orchestrator.llm.structured import (
    CODE_SCHEMA,
    answer_budget,
    model_data,
    parse_json_object,
    string_field,
)

log = logging.getLogger("fame.codegen")

RunTests = Callable[[GeneratedCode], Awaitable[dict[str, Any]]]

_BLOCK = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)

SYSTEM = (
    "You are a careful Python 3.11 programmer. You answer with one JSON object: "
    '{"code": "...", "tests": "...", "explanation": "..."}. Code uses the standard library only, '
    "reads no input, prints nothing, opens no files and uses no network."
)

#: Longest answer asked of the model (code, tests and explanation as one JSON object).
MAX_ANSWER_TOKENS = 2048

#: Characters of failure detail sent back to the model per attempt.
_FEEDBACK_CHARS = 3000


@dataclass
class Attempt:
    """One round of the loop: what the model wrote and what the sandbox said."""

    number: int
    generated: GeneratedCode
    report: dict[str, Any]

    @property
    def passed(self) -> bool:
        """Every test ran and passed."""
        return is_passing(self.report)

    def to_dict(self) -> dict[str, Any]:
        """A summary for ``data.attempt_log``."""
        failures = self.report.get("failures") or []
        return {
            "attempt": self.number,
            "status": self.report.get("status"),
            "tested": bool(self.report.get("tested")),
            "passed": int(self.report.get("passed", 0)),
            "failed": int(self.report.get("failed", 0)),
            "first_failure": str(failures[0].get("error", ""))[:200] if failures else "",
        }


@dataclass
class RepairResult:
    """Where the loop ended.

    Attributes:
        attempts: Every round, in order (at least one unless the model failed at once).
        error: Why the loop stopped early (the model failed, the sandbox is unavailable), or "".
        backend: The backend that wrote the answers (``llama.cpp`` or ``openai``).
        model: The model that wrote them.
    """

    attempts: list[Attempt] = field(default_factory=list)
    error: str = ""
    backend: str = ""
    model: str = ""

    @property
    def final(self) -> Attempt | None:
        """The last round."""
        return self.attempts[-1] if self.attempts else None

    @property
    def passed(self) -> bool:
        """Whether the last round's tests all passed."""
        return self.final is not None and self.final.passed


def is_passing(report: dict[str, Any]) -> bool:
    """Whether a test report says every test really ran and passed."""
    return (
        bool(report.get("tested"))
        and report.get("status") == "ok"
        and int(report.get("failed", 1)) == 0
        and int(report.get("passed", 0)) > 0
    )


def split_answer(text: str) -> tuple[str, str]:
    """The implementation and the ``test_*`` functions in a model's answer.

    Every fenced block is joined; top-level ``test_*`` functions become the tests, the rest the
    code. An answer without fences is taken whole; one that does not parse is returned as code
    (the harness then reports the syntax error, which the model sees next round).
    """
    blocks = [b.strip("\n") for b in _BLOCK.findall(text) if b.strip()]
    source = "\n\n".join(blocks) if blocks else text.strip()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return source + "\n", ""
    lines = source.splitlines()
    code_parts: list[str] = []
    test_parts: list[str] = []
    for node in tree.body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
        chunk = "\n".join(lines[start : node.end_lineno])
        is_test = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
        # A test module's own imports of the solution would fail: the harness shares one namespace.
        if isinstance(node, ast.Import | ast.ImportFrom) and _imports_solution(node):
            continue
        (test_parts if is_test else code_parts).append(chunk)
    return "\n\n".join(code_parts).strip() + "\n", (
        "\n\n\n".join(test_parts).strip() + "\n" if test_parts else ""
    )


def _imports_solution(node: ast.Import | ast.ImportFrom) -> bool:
    names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
    return any(n.split(".")[0] in ("solution", "main", "pytest") for n in names)


def first_messages(task: str, recipe: Recipe | None) -> list[ChatMessage]:
    """The opening request: code for ``task`` (and tests, unless the library has them)."""
    if recipe is not None:
        user = (
            f"Task: {task}\n\nWrite the implementation: a function or class named `{recipe.entry}`. "
            "It must pass these tests, which run with plain asserts in the same namespace:\n\n"
            f"```python\n{recipe.tests.rstrip()}\n```\n\n"
            'Answer with a JSON object: "code" holds only the implementation (no tests, no usage '
            'example), "tests" is "" (the tests above are used), "explanation" says in one or two '
            "sentences how it works."
        )
    else:
        user = (
            f'Task: {task}\n\nAnswer with a JSON object. "code": the implementation. "tests": 3 to 6 '
            "tests as plain functions named test_* that use assert and check real behaviour, edge "
            "cases included; they run in the same namespace as the implementation: do not import it, "
            'do not use pytest fixtures. "explanation": one or two sentences on how it works.'
        )
    return [ChatMessage("system", SYSTEM), ChatMessage("user", user)]


@dataclass(frozen=True)
class CodeAnswer:
    """What the model answered, read into code, tests and an explanation.

    Attributes:
        code: The implementation ("" when the answer held none).
        tests: The ``test_*`` functions ("" when it wrote none).
        explanation: The model's own words on the code.
        problem: Why the answer could not be read as code ("" when it could).
    """

    code: str
    tests: str
    explanation: str = ""
    problem: str = ""


def read_answer(text: str, *, finish_reason: str = "stop") -> CodeAnswer:
    """Read a model's answer: the :data:`CODE_SCHEMA` JSON object, else fenced code blocks.

    Test functions the model put in ``code`` move to the tests; helpers and imports in ``tests``
    stay with them (the harness runs both in one namespace); imports of the solution module go.
    """
    obj = parse_json_object(text)
    if obj is None or "code" not in obj:  # code that merely contains a dict literal is not the answer
        if text.lstrip().startswith("{"):
            why = "was cut off at the length limit" if finish_reason == "length" else "is not valid JSON"
            return CodeAnswer("", "", problem=f"The model's answer {why}.")
        code, tests = split_answer(text)  # an endpoint that ignored response_format
        if not code.strip():
            return CodeAnswer("", "", problem="The answer held no code.")
        return CodeAnswer(code, tests)
    code_field = string_field(obj, "code")
    if not code_field.strip():
        return CodeAnswer("", "", problem='The model\'s JSON answer has an empty "code".')
    code, tests_in_code = split_answer(code_field)
    tests_field = string_field(obj, "tests")
    tests = tests_in_code
    if tests_field.strip():
        if test_names(tests_field):
            helpers, own_tests = split_answer(tests_field)
            tests = "\n\n\n".join(t.strip() for t in (own_tests, tests_in_code) if t.strip()) + "\n"
            if helpers.strip():
                tests = helpers.rstrip() + "\n\n\n" + tests
        elif not tests:
            tests = tests_field.strip() + "\n"  # kept as written: the round reports why it has no tests
    return CodeAnswer(code, tests, string_field(obj, "explanation").strip())


def feedback(attempt: Attempt, *, own_tests: bool) -> str:
    """What the model is told after a failing round."""
    report = attempt.report
    if "exit_code" not in report and report.get("detail"):  # never reached the sandbox
        return (
            f"Attempt {attempt.number} was not run: {report['detail']}\n\n"
            'Answer again with one JSON object with "code", "tests" and "explanation".'
        )
    lines = [
        f"Attempt {attempt.number} failed in the sandbox: status {report.get('status')}, "
        f"{report.get('passed', 0)} passed, {report.get('failed', 0)} failed."
    ]
    for failure in report.get("failures") or []:
        lines.append(f"\n{failure.get('test')}: {failure.get('error')}\n{failure.get('traceback', '')}")
    if not report.get("tested"):
        lines.append("\nThe tests did not report (the program crashed, exited or timed out).")
        stderr = str(report.get("stderr") or "").strip()
        if stderr:
            lines.append("stderr:\n" + stderr[-1500:])
    text = "\n".join(lines)[:_FEEDBACK_CHARS]
    rule = (
        "Fix the implementation (and a test only if that test is itself wrong; never weaken a test)."
        if own_tests
        else "The tests are fixed: fix the implementation."
    )
    return f"{text}\n\n{rule} Answer with the same JSON object as before."


async def repair_loop(
    provider: LlmProvider,
    task: str,
    run_tests: RunTests,
    *,
    recipe: Recipe | None,
    max_repairs: int,
    query_id: str | None = None,
    time_budget_s: float | None = None,
) -> RepairResult:
    """Ask, test, and on failure retry with the failure, up to ``1 + max_repairs`` rounds.

    Args:
        provider: The chat model.
        task: The person's request.
        run_tests: Runs a :class:`GeneratedCode`'s tests in the sandbox; returns the test report.
        recipe: The library task it matches (its tests are used), or None (the model writes tests).
        max_repairs: Extra rounds after the first.
        query_id: Tags the streamed tokens so the chat pane shows them with the query.
        time_budget_s: No new round starts when another round as long as the slowest so far
            would end past this many seconds (the plugin's own timeout would lose every round).

    Raises:
        LlmError, NetworkDisabled, InvalidRequest: Only when the model fails on the first round
            (later failures end the loop with :attr:`RepairResult.error`).
    """
    opening = first_messages(task, recipe)
    messages = list(opening)
    result = RepairResult()
    source = f"llm: {provider.name}"
    tests: str = recipe.tests if recipe is not None else ""
    started = time.monotonic()
    slowest = 0.0
    for number in range(1, max_repairs + 2):
        elapsed = time.monotonic() - started
        if number > 1 and time_budget_s is not None and elapsed + slowest > time_budget_s:
            result.error = (
                f"Stopped after {number - 1} attempt(s): the time budget of {time_budget_s:g} s is spent."
            )
            break
        round_started = time.monotonic()
        try:
            completion = await provider.complete(
                messages,
                query_id=query_id,
                json_schema=CODE_SCHEMA,
                max_tokens=answer_budget(provider.context_size, MAX_ANSWER_TOKENS),
            )
        except FameError as exc:
            if number == 1:
                raise
            result.error = f"The model failed on attempt {number}: {exc.message}"
            log.warning("repair loop stopped: %s", result.error)
            break
        who = model_data(completion, provider)
        result.backend, result.model = who["llm_backend"], who["llm_model"]
        answer = read_answer(completion.text, finish_reason=completion.reason)
        if recipe is None and answer.tests.strip():
            tests = answer.tests  # a repair that only fixes the code keeps the earlier tests
        generated = GeneratedCode(
            code=answer.code,
            tests=tests,
            title=recipe.title if recipe is not None else _title(task),
            source=source,
            explanation=answer.explanation
            or (recipe.explanation if recipe is not None else "Written by the model."),
            recipe_id=recipe.id if recipe is not None else "",
            entry=recipe.entry if recipe is not None else "",
            bench=recipe.bench if recipe is not None else "",
        )
        unrunnable = answer.problem or _no_tests_problem(tests)
        if unrunnable:
            # Nothing can prove this round's code: say so instead of running it.
            report: dict[str, Any] = {
                "status": "error",
                "tested": False,
                "passed": 0,
                "failed": 0,
                "failures": [],
                "detail": unrunnable,
            }
        else:
            report = await run_tests(generated)
        attempt = Attempt(number, generated, report)
        result.attempts.append(attempt)
        slowest = max(slowest, time.monotonic() - round_started)
        log.info("attempt %d: %s", number, attempt.to_dict())
        if attempt.passed:
            break
        if report.get("status") == "unavailable":
            result.error = "The sandbox is unavailable, so the code could not be tested or repaired."
            break
        if number <= max_repairs:
            # Only the latest answer and its failure go back: earlier rounds would crowd a small
            # model's context and add nothing the latest failure does not say.
            messages = [
                *opening,
                ChatMessage("assistant", completion.text),
                ChatMessage("user", feedback(attempt, own_tests=recipe is None) + _missing_tests_hint(tests)),
            ]
    return result


def _no_tests_problem(tests: str) -> str:
    """Why ``tests`` cannot prove anything ("" when they hold ``test_*`` functions)."""
    if not tests.strip():
        return "The model wrote no test_* functions."
    if not test_names(tests):
        try:
            ast.parse(tests)
        except SyntaxError as exc:
            return f"The model's tests do not parse ({exc.msg}, line {exc.lineno})."
        return "The model's tests hold no test_* functions."
    return ""


def _missing_tests_hint(tests: str) -> str:
    return "" if tests.strip() else " Include the test_* functions this time."


def _title(task: str) -> str:
    text = " ".join(task.split())
    return text[:80] + ("…" if len(text) > 80 else "")
