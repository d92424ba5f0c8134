"""Approval you can review: the diff and fitness of a run's winner against the version answering
today, and the promoted version's own description in the answers that serve it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from fame_desktop.orchestrator.codegen import OfflineGenerator, RecipeLibrary
from fame_desktop.orchestrator.codegen_service import promoted_source
from fame_desktop.orchestrator.errors import InvalidRequest
from fame_desktop.orchestrator.evolution.review import review
from fame_desktop.orchestrator.evolution.store import PromotionStore
from tests.codegen.test_codegen_service import REVERSE, service

EVOLVED = "def reverse_string(text):\n    return ''.join(reversed(text))\n"


def _run(library: RecipeLibrary, run_id: str, code: str, **winner: Any) -> dict[str, Any]:
    recipe = library.get("reverse_string")
    assert recipe is not None
    return {
        "id": run_id,
        "recipe_id": "reverse_string",
        "title": recipe.title,
        "status": "finished",
        "started_at": time.time(),
        "original": {
            "code": recipe.code,
            "fitness": {"correct": True, "passed": 5, "failed": 0, "bench_ns": 3000, "size": 40},
        },
        "winner": {
            "code": code,
            "origin": "mutant",
            "operators": ["inline_return_temp", "loop_to_comprehension"],
            "fitness": {"correct": True, "passed": 5, "failed": 0, "bench_ns": 2000, "size": 31},
            **winner,
        },
        "improvement": {"speedup": 1.5, "size_ratio": 0.78, "better": True, "reason": "1.50× faster"},
    }


def test_the_review_diffs_against_the_version_answering_today(library: RecipeLibrary, tmp_path: Path) -> None:
    store = PromotionStore(tmp_path / "evolution")
    recipe = library.get("reverse_string")
    assert recipe is not None
    store.save_run(_run(library, "run1", EVOLVED))
    first = review(store, "run1")
    assert first.current_label == "the library's original" and first.current_code == recipe.code
    assert first.diff.startswith(
        "--- reverse_string (the library's original)\n+++ reverse_string (winner of run1)"
    )
    assert "+    return ''.join(reversed(text))\n" in first.diff
    removed = [
        line for line in first.diff.splitlines() if line.startswith("-") and not line.startswith("---")
    ]
    assert removed, first.diff  # the original's lines that go
    assert (first.current_fitness["bench_ns"], first.winner_fitness["bench_ns"]) == (3000, 2000)
    assert first.improvement == "1.50× faster"
    # Reviewing promotes nothing.
    assert store.active("reverse_string") is None

    store.promote("run1", approved_by="test")
    better = "def reverse_string(text):\n    return text[::-1]\n"
    store.save_run(_run(library, "run2", better))
    second = review(store, "run2")
    assert second.current_label == "evolved v1" and second.current_code == EVOLVED
    assert "-    return ''.join(reversed(text))\n+    return text[::-1]\n" in second.diff
    with pytest.raises(InvalidRequest):
        review(store, "no-such-run")


async def test_a_promoted_version_answers_with_its_own_description(
    library: RecipeLibrary, tmp_path: Path
) -> None:
    recipe = library.get("reverse_string")
    assert recipe is not None
    store = PromotionStore(tmp_path / "evolution")
    store.save_run(_run(library, "run7", EVOLVED))
    promoted = store.promote("run7", approved_by="test")
    description = promoted.description
    assert "run7" in description and "inline return temp, loop to comprehension" in description
    assert "1.50× faster than the library's original" in description and "5/5 tests pass" in description
    assert description != recipe.explanation
    # Stored with the version: another process reading the store gets the same words.
    source = promoted_source(PromotionStore(tmp_path / "evolution"))
    generated = OfflineGenerator(library, source).for_recipe(recipe)
    assert (generated.code, generated.source, generated.explanation) == (EVOLVED, "evolved v1", description)
    answer = await service(library, promoted=source).answer(REVERSE)
    assert answer["code"] == EVOLVED and description in answer["response"]
    assert recipe.explanation not in answer["response"]  # never the original's words above new code
    # Rolled back: the original code with its own explanation again.
    store.rollback("reverse_string", by="test")
    again = await service(library, promoted=source).answer(REVERSE)
    assert again["code"] == recipe.code and recipe.explanation in again["response"]


async def test_a_version_promoted_before_descriptions_gets_a_neutral_one(
    library: RecipeLibrary, tmp_path: Path
) -> None:
    recipe = library.get("reverse_string")
    assert recipe is not None
    generator = OfflineGenerator(library, lambda _recipe_id: (EVOLVED, 3, ""))
    generated = generator.for_recipe(recipe)
    assert (
        generated.explanation != recipe.explanation and "evolved implementation (v3)" in generated.explanation
    )
