"""Code generation that proves itself: recipes, the test harness, LLM repair, architecture advice.

Public API (the evolution runner and ``codegen_service`` use these):

- :class:`RecipeLibrary` — ``RecipeLibrary.load(root=None, *, strict=True)``, ``.get(id)``,
  ``.all()``, ``.match(text) -> list[(Recipe, score)]``. A :class:`Recipe` has ``.id``, ``.title``,
  ``.entry``, ``.code``, ``.tests``, ``.bench``, ``.explanation``, ``.test_names`` and
  ``.alternatives`` (each an :class:`Alternative` with ``.name``, ``.code``, ``.note``).
- :class:`OfflineGenerator` — ``OfflineGenerator(library, promoted=None)``; ``.generate(text) ->
  GeneratedCode | None``, ``.for_recipe(recipe)``, ``.suggestions(text)``. ``promoted`` is a
  callable ``promoted(recipe_id) -> (code, version, description) | None``; when it returns code,
  that code (explained by its own description) is what ``generate`` answers with
  (``source == "evolved v<version>"``). The composition root wires it
  to the evolution ``PromotionStore`` (``codegen_service.promoted_source``), so a promotion takes
  effect at once.
- :func:`build_test_program` — ``build_test_program(code, tests, *, bench=None) -> TestProgram``
  (a ``str`` for ``sandbox.run``); then ``program.parse(report.stdout) -> TestSummary | None``
  (``passed``, ``failed``, ``total``, ``failures``, ``bench_ns``, ``bench_runs``, ``all_passed``).
  None means no genuine summary: the code crashed, exited, timed out or forged output.
- :class:`ArchitectureKB` — ``ArchitectureKB.load()``, ``.advise(text) -> Advice`` (``.markdown``,
  ``.patterns`` = ``[(Pattern, score)]``).
"""

from __future__ import annotations

from fame_desktop.orchestrator.codegen.architecture import Advice, ArchitectureKB, Pattern
from fame_desktop.orchestrator.codegen.generator import GeneratedCode, OfflineGenerator, Promoted
from fame_desktop.orchestrator.codegen.harness import (
    TestFailure,
    TestProgram,
    TestSummary,
    build_test_program,
    parse_test_output,
)
from fame_desktop.orchestrator.codegen.recipes import Alternative, Recipe, RecipeError, RecipeLibrary

__all__ = [
    "Advice",
    "Alternative",
    "ArchitectureKB",
    "GeneratedCode",
    "OfflineGenerator",
    "Pattern",
    "Promoted",
    "Recipe",
    "RecipeError",
    "RecipeLibrary",
    "TestFailure",
    "TestProgram",
    "TestSummary",
    "build_test_program",
    "parse_test_output",
]
