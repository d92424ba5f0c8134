"""Code generation as a service for the ``universal_developer`` plugin.

Finds the code for a request (the built-in recipe library now; LLM backends plug in through
:class:`CodeGenService`'s ``generators``), runs it with its tests in the sandbox and reports the
result honestly: code whose tests did not run is never presented as tested.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fame_desktop.orchestrator.codegen import (
    ArchitectureKB,
    GeneratedCode,
    OfflineGenerator,
    RecipeLibrary,
    build_test_program,
    parse_test_output,
)

if TYPE_CHECKING:
    from fame_desktop.orchestrator.services import Services

log = logging.getLogger("fame.codegen")


class CodeGenService:
    """Generates code for a request and proves it in the sandbox.

    Args:
        library: The recipe library.
        sandbox: Returns the sandbox (``DockerManager``) or None when there is none.
    """

    def __init__(self, library: RecipeLibrary, sandbox: Callable[[], Any]) -> None:
        self.library = library
        self.generator = OfflineGenerator(library)
        self._sandbox = sandbox

    def generate(self, text: str) -> GeneratedCode | None:
        """The code and tests for ``text``, or None when nothing matches."""
        return self.generator.generate(text)

    async def run_tests(self, generated: GeneratedCode, *, query_id: str | None = None) -> dict[str, Any]:
        """Run ``generated``'s code and tests in the sandbox; the test report (never raises)."""
        sandbox = self._sandbox()
        if sandbox is None:
            return {
                "status": "unavailable",
                "passed": 0,
                "failed": 0,
                "tested": False,
                "detail": "No sandbox is configured, so the tests were not run.",
            }
        program = build_test_program(generated.code, generated.tests, bench=generated.bench or None)
        report = await sandbox.run(program, query_id=query_id)
        out: dict[str, Any] = report.to_dict() if hasattr(report, "to_dict") else dict(report)
        summary = parse_test_output(
            str(out.get("stdout", "")), program.nonce, expected_tests=len(program.test_names)
        )
        out["tested"] = summary is not None
        out["passed"] = summary.passed if summary else 0
        out["failed"] = summary.failed if summary else 0
        out["failures"] = list(summary.failures) if summary else []
        return out

    async def answer(self, text: str, *, query_id: str | None = None) -> dict[str, Any]:
        """A plugin result for a ``generate_code`` request."""
        generated = self.generate(text)
        if generated is None:
            near = self.generator.suggestions(text)
            listing = "\n".join(f"- {r.title}" for r in near) or "- (nothing close)"
            return {
                "response": (
                    "I could not match this to a task I can write and test offline, and no LLM backend "
                    f"is configured. The closest tasks I know:\n{listing}\n\n"
                    "Rephrase the request, or configure an LLM endpoint in Settings."
                ),
                "data": {"matched": False, "suggestions": [r.id for r in near]},
            }
        report = await self.run_tests(generated, query_id=query_id)
        return {
            "response": render_answer(generated, report),
            "data": {
                "matched": True,
                "recipe": generated.recipe_id,
                "entry": generated.entry,
                "source": generated.source,
            },
            "code": generated.code,
            "tests": generated.tests,
            "test_report": report,
        }


def render_answer(generated: GeneratedCode, report: dict[str, Any]) -> str:
    """Markdown answer: what it is, the code, the tests, and what the sandbox said."""
    if report.get("tested") and report.get("failed") == 0 and report.get("status") == "ok":
        verdict = (
            f"✅ All {report['passed']} tests passed in the sandbox ({report.get('duration_ms', 0):.0f} ms)."
        )
    elif report.get("tested"):
        verdict = (
            f"❌ {report['failed']} of {report['passed'] + report['failed']} tests failed in the sandbox."
        )
    else:
        detail = report.get("detail") or report.get("stderr") or report.get("status")
        verdict = f"⚠️ Not tested: the sandbox could not run the tests ({str(detail)[:300]})."
    return (
        f"**{generated.title}** ({generated.source})\n\n{generated.explanation}\n\n"
        f"```python\n{generated.code.rstrip()}\n```\n\n**Tests**\n\n```python\n{generated.tests.rstrip()}\n```\n\n"
        f"{verdict}"
    )


def build_codegen(services: Services) -> tuple[CodeGenService, ArchitectureKB]:
    """The code generation service and architecture knowledge base of ``services``."""
    library = RecipeLibrary.load()
    return CodeGenService(library, lambda: services.sandbox), ArchitectureKB.load()
