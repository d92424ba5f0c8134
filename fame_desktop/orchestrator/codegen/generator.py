"""Offline generation: the library's recipe for a request (or its promoted evolved version)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from fame_desktop.orchestrator.codegen.recipes import Recipe, RecipeLibrary

log = logging.getLogger("fame.codegen")

#: ``promoted(recipe_id) -> (code, version, description)`` of the active evolved implementation,
#: or None.
Promoted = Callable[[str], tuple[str, int, str] | None]

#: A best match must lead the runner-up by this much to be confident.
_MARGIN = 1.0


@dataclass(frozen=True)
class GeneratedCode:
    """Code and the tests that prove it.

    Attributes:
        code: The implementation.
        tests: ``def test_*():`` functions for it.
        title: What it is.
        source: Where it came from: ``library``, ``evolved v3``, ``llm: model @ host``.
        explanation: How it works.
        recipe_id: The library task it answers ("" when none).
        entry: The function or class the tests call ("" when unknown).
        bench: Statement the harness times ("" when none).
    """

    code: str
    tests: str
    title: str
    source: str
    explanation: str
    recipe_id: str = ""
    entry: str = ""
    bench: str = ""


class OfflineGenerator:
    """Answers requests from the recipe library.

    Args:
        library: The recipes.
        promoted: Returns the active evolved ``(code, version, description)`` for a recipe id, or
            None; when it returns code, :meth:`generate` answers with it (and its description)
            instead of the library's original.
    """

    def __init__(self, library: RecipeLibrary, promoted: Promoted | None = None) -> None:
        self.library = library
        self._promoted = promoted

    def best(self, text: str) -> Recipe | None:
        """The recipe ``text`` confidently names: a phrase matched and no close runner-up."""
        ranked = self.library.match(text)
        if not ranked:
            return None
        top, score = ranked[0]
        if not self.library.phrase_matched(top, text):
            return None
        if (
            len(ranked) > 1
            and score - ranked[1][1] < _MARGIN
            and self.library.phrase_matched(ranked[1][0], text)
        ):
            log.info("ambiguous request: %s vs %s", top.id, ranked[1][0].id)
            return None
        return top

    def for_recipe(self, recipe: Recipe) -> GeneratedCode:
        """The code for ``recipe``: its promoted evolved version when there is one."""
        code, source, explanation = recipe.code, "library", recipe.explanation
        if self._promoted is not None:
            try:
                active = self._promoted(recipe.id)
            except Exception:  # a damaged promotion record must not stop answers: use the original
                log.exception("promoted version of %s unreadable; using the library's", recipe.id)
                active = None
            if active is not None:
                # Its own description: the original's explanation may describe other code.
                code, source = active[0], f"evolved v{active[1]}"
                explanation = active[2] or (
                    f"An evolved implementation (v{active[1]}) an admin promoted after it passed "
                    "every test and measured better than the library's original."
                )
        return GeneratedCode(
            code=code,
            tests=recipe.tests,
            title=recipe.title,
            source=source,
            explanation=explanation,
            recipe_id=recipe.id,
            entry=recipe.entry,
            bench=recipe.bench,
        )

    def generate(self, text: str) -> GeneratedCode | None:
        """Code and tests for ``text``, or None when no recipe is a confident match."""
        recipe = self.best(text)
        return self.for_recipe(recipe) if recipe is not None else None

    def suggestions(self, text: str, limit: int = 5) -> list[Recipe]:
        """Recipes close to ``text`` (by any phrase or keyword), best first."""
        return [r for r, _ in self.library.match(text)[:limit]]
