"""The record of one evolution run: what the store persists, the history shows and the API returns."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from fame_desktop.orchestrator.evolution.fitness import Fitness, Improvement
from fame_desktop.orchestrator.evolution.population import Candidate

#: Run states. ``no_match``: the task matched no library recipe; ``failed``: no sandbox or a crash.
STATUSES = ("running", "finished", "cancelled", "failed", "no_match")


@dataclass
class Scored:
    """A candidate with its measured fitness and its score against the original."""

    candidate: Candidate
    fitness: Fitness
    score: float

    def to_dict(self, *, with_code: bool = True) -> dict[str, Any]:
        """JSON form: the candidate, its fitness and score."""
        out = self.candidate.to_dict(with_code=with_code)
        out["fitness"] = self.fitness.to_dict()
        out["score"] = self.score
        return out


@dataclass
class RunRecord:
    """One run, from start to end (saved after every generation).

    Attributes:
        id: Run id.
        task: The task text as asked.
        recipe_id: The library recipe it matched (None: no match).
        population: Candidates per generation.
        generations: Generations asked for.
        actor: Who started it.
        seed: Random seed (mutations can be replayed).
        status: One of :data:`STATUSES`.
        message: One line for people (why it ended, what won).
        original: The library's code and its fitness, measured in the same run.
        results: Per generation: its candidates with fitness and score, and the winners kept.
        winner: The best correct candidate (fitness re-measured side by side with the original).
        improvement: :class:`Improvement` of the winner over the original.
        sandbox_runs: Sandbox runs the run made.
        llm: What the LLM contributed (proposals, problems), when one is configured.
    """

    id: str
    task: str
    recipe_id: str | None
    population: int
    generations: int
    actor: str
    seed: int
    title: str = ""
    status: str = "running"
    message: str = ""
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    original: dict[str, Any] | None = None
    results: list[dict[str, Any]] = field(default_factory=list)
    winner: dict[str, Any] | None = None
    improvement: dict[str, Any] | None = None
    sandbox_runs: int = 0
    llm: dict[str, Any] | None = None

    def finish(self, status: str, message: str) -> None:
        """Mark the run ended."""
        self.status = status
        self.message = message
        self.finished_at = time.time()

    def set_winner(self, best: Scored, original: Fitness, improvement: Improvement) -> None:
        """Keep the winner and how it compares with the original."""
        self.winner = best.to_dict()
        self.improvement = improvement.to_dict()
        if self.original is not None:
            self.original["fitness"] = original.to_dict()

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the store's run file, ``fame evolve --json``, ``POST /evolution/run``)."""
        return {
            "id": self.id,
            "task": self.task,
            "recipe_id": self.recipe_id,
            "title": self.title,
            "population": self.population,
            "generations": self.generations,
            "actor": self.actor,
            "seed": self.seed,
            "status": self.status,
            "message": self.message,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": round((self.finished_at or time.time()) - self.started_at, 3),
            "original": self.original,
            "results": self.results,
            "winner": self.winner,
            "improvement": self.improvement,
            "sandbox_runs": self.sandbox_runs,
            "llm": self.llm,
        }


def summary(run: dict[str, Any]) -> dict[str, Any]:
    """A run without its programs: what history lists show."""
    winner = run.get("winner") or {}
    improvement = run.get("improvement") or {}
    return {
        "id": run.get("id"),
        "task": run.get("task"),
        "recipe_id": run.get("recipe_id"),
        "status": run.get("status"),
        "message": run.get("message", ""),
        "started_at": run.get("started_at"),
        "duration_s": run.get("duration_s"),
        "population": run.get("population"),
        "generations": run.get("generations"),
        "candidates": sum(len(g.get("candidates", [])) for g in run.get("results", [])),
        "winner_origin": winner.get("origin"),
        "better": bool(improvement.get("better")),
        "improvement": improvement.get("reason"),
        "promoted_version": run.get("promoted_version"),
        "approved_by": run.get("approved_by"),
    }
