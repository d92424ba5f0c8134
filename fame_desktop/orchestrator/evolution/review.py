"""What an admin reviews before promoting a run's winner.

:func:`review` puts the winner beside the version answering today (the active promoted version,
else the library's original): a unified diff of the two programs, the fitness of both, and the
description the promoted version will carry (:mod:`.describe`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from fame_desktop.orchestrator.errors import InvalidRequest
from fame_desktop.orchestrator.evolution.describe import describe_winner
from fame_desktop.orchestrator.evolution.store import PromotionStore


@dataclass(frozen=True)
class Review:
    """A run's winner against the version it would replace.

    Attributes:
        run_id: The run.
        recipe_id: Its task.
        title: The task's title.
        current_label: ``the library's original`` or ``evolved vN`` (answering today).
        current_code: The code answering today.
        current_fitness: Its fitness (as measured in the run, or when it was promoted).
        winner_code: The code to promote.
        winner_fitness: Its fitness, measured in the run.
        improvement: How the winner compares (``1.8× faster``...).
        diff: Unified diff from the current code to the winner.
        description: What the promoted version will say about itself.
    """

    run_id: str
    recipe_id: str
    title: str
    current_label: str
    current_code: str
    current_fitness: dict[str, Any]
    winner_code: str
    winner_fitness: dict[str, Any]
    improvement: str
    diff: str
    description: str


def review(store: PromotionStore, run_id: str) -> Review:
    """The review of ``run_id``'s winner (read-only: nothing is promoted).

    Raises:
        InvalidRequest: No such run, or it has no winner.
    """
    run = store.run(run_id)
    winner = run.get("winner")
    if not winner or not isinstance(winner.get("code"), str):
        raise InvalidRequest(f"Run {run_id} has no winner to review.", "Pick a finished run.")
    recipe_id = str(run.get("recipe_id") or "")
    original = run.get("original") or {}
    active = store.active(recipe_id) if recipe_id else None
    if active is not None:
        label, code, fitness = f"evolved v{active.version}", active.code, dict(active.fitness)
    else:
        label, code = "the library's original", str(original.get("code") or "")
        fitness = dict(original.get("fitness") or {})
    diff = "".join(
        difflib.unified_diff(
            code.splitlines(keepends=True),
            str(winner["code"]).splitlines(keepends=True),
            fromfile=f"{recipe_id} ({label})",
            tofile=f"{recipe_id} (winner of {run_id})",
        )
    )
    return Review(
        run_id=run_id,
        recipe_id=recipe_id,
        title=str(run.get("title") or run.get("task") or recipe_id),
        current_label=label,
        current_code=code,
        current_fitness=fitness,
        winner_code=str(winner["code"]),
        winner_fitness=dict(winner.get("fitness") or {}),
        improvement=str((run.get("improvement") or {}).get("reason") or ""),
        diff=diff,
        description=describe_winner(run),
    )
