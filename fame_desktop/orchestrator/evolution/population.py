"""Candidates: where a population comes from and how winners breed the next generation.

Generation 0 is the recipe's reference code, its alternative implementations, the active promoted
version (if any), LLM proposals (when a model is configured) and syntax-tree mutations of those.
Later generations keep the winners and add mutants of them. Programs are deduplicated by their
normalised syntax tree, so the sandbox never measures the same program twice in one run.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fame_desktop.orchestrator.codegen import Recipe
from fame_desktop.orchestrator.evolution.mutation import code_size, fingerprint, mutate


@dataclass(frozen=True)
class Candidate:
    """One program competing in a run.

    Attributes:
        id: ``g<generation>-c<index>``, unique in the run.
        code: The program (defines the recipe's entry function).
        origin: ``reference``, ``alternative:<name>``, ``promoted:v<n>``, ``llm:t=<temperature>`` or
            ``mutant``.
        parent: The candidate it was mutated from.
        operators: The mutation operators applied to the parent.
    """

    id: str
    code: str
    origin: str
    parent: str | None = None
    operators: tuple[str, ...] = field(default=())

    @property
    def fingerprint(self) -> str:
        """Hash of the normalised program."""
        return fingerprint(self.code)

    @property
    def size(self) -> int:
        """Syntax-tree nodes."""
        return code_size(self.code)

    def to_dict(self, *, with_code: bool = True) -> dict[str, Any]:
        """JSON form (stored with the run)."""
        out: dict[str, Any] = {
            "id": self.id,
            "origin": self.origin,
            "parent": self.parent,
            "operators": list(self.operators),
            "fingerprint": self.fingerprint,
            "size": self.size,
        }
        if with_code:
            out["code"] = self.code
        return out


def alternative_sources(recipe: Recipe) -> list[tuple[str, str]]:
    """``(name, code)`` of a recipe's alternative implementations (those with code)."""
    return [(alt.name, alt.code) for alt in recipe.alternatives if alt.code.strip()]


class Breeder:
    """Makes the candidates of each generation of one run.

    Args:
        rng: The run's random source (seeded, so a run can be replayed).
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = set()

    def _take(self, out: list[Candidate], candidate: Candidate, size: int) -> bool:
        """Add ``candidate`` unless its program was already seen; whether it was added."""
        if len(out) >= size or not candidate.code.strip():
            return False
        fp = candidate.fingerprint
        if fp in self.seen:
            return False
        self.seen.add(fp)
        out.append(candidate)
        return True

    def _mutants(
        self, out: list[Candidate], parents: Sequence[Candidate], size: int, generation: int
    ) -> None:
        """Fill ``out`` up to ``size`` with mutants of ``parents`` (round robin, bounded tries)."""
        if not parents:
            return
        tries = 0
        while len(out) < size and tries < size * 12:
            parent = parents[tries % len(parents)]
            tries += 1
            mutant = mutate(parent.code, self.rng, steps=self.rng.choice((1, 1, 2)))
            if mutant is None:
                continue
            self._take(
                out,
                Candidate(
                    id=f"g{generation}-c{len(out)}",
                    code=mutant.code,
                    origin="mutant",
                    parent=parent.id,
                    operators=mutant.operators,
                ),
                size,
            )

    def first(
        self,
        reference: str,
        size: int,
        *,
        alternatives: Sequence[tuple[str, str]] = (),
        promoted: tuple[int, str] | None = None,
        proposals: Sequence[tuple[str, str]] = (),
    ) -> list[Candidate]:
        """Generation 0: the reference first (the baseline), then the other sources, then mutants.

        Args:
            reference: The library's code for the task.
            size: Population size.
            alternatives: ``(name, code)`` alternative implementations.
            promoted: ``(version, code)`` of the active promoted implementation.
            proposals: ``(origin, code)`` from the LLM.
        """
        out: list[Candidate] = []
        self._take(out, Candidate("g0-c0", reference, "reference"), size)
        sources: list[tuple[str, str]] = []
        if promoted is not None:
            sources.append((f"promoted:v{promoted[0]}", promoted[1]))
        sources += [(origin, code) for origin, code in proposals]
        sources += [(f"alternative:{name}", code) for name, code in alternatives]
        for origin, code in sources:
            self._take(out, Candidate(f"g0-c{len(out)}", code, origin), size)
        self._mutants(out, list(out), size, 0)
        return out

    def next(self, winners: Sequence[Candidate], size: int, generation: int) -> list[Candidate]:
        """The next generation: the winners again (measured side by side with their offspring),
        then mutants of the winners."""
        out: list[Candidate] = list(winners[:size])
        self._mutants(out, winners, size, generation)
        return out
