"""The evolution cycle: breed, measure in the sandbox, select, repeat; promote only when an admin approves.

``run_generation(population_size=5, task="optimize string reversal")`` is the seed's
one-generation call; :meth:`EvolutionRunner.run` is the full cycle the CLI, the window
and the ``evolution`` plugin use. A run matches the task to a library recipe, measures every
candidate against the recipe's tests and benchmark in the sandbox (in parallel), keeps the best,
and finally measures the winner side by side with the library's original. Nothing changes what
``generate_code`` returns until :meth:`EvolutionRunner.approve` is called with a valid admin key;
then the :class:`PromotionStore` serves the winner, versioned, until a rollback.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from fame_desktop.orchestrator.audit import AuditLog
from fame_desktop.orchestrator.audit_kinds import AuditKind
from fame_desktop.orchestrator.codegen import OfflineGenerator, Recipe, RecipeLibrary
from fame_desktop.orchestrator.errors import AdminRequired, FameError, InvalidRequest
from fame_desktop.orchestrator.events import EventBus, EvolutionProgress
from fame_desktop.orchestrator.evolution.evaluate import Evaluator
from fame_desktop.orchestrator.evolution.fitness import Fitness, Improvement, compare
from fame_desktop.orchestrator.evolution.population import Breeder, Candidate, alternative_sources
from fame_desktop.orchestrator.evolution.proposals import propose
from fame_desktop.orchestrator.evolution.record import RunRecord, Scored, summary
from fame_desktop.orchestrator.evolution.request import answer, check_run_request
from fame_desktop.orchestrator.evolution.review import Review
from fame_desktop.orchestrator.evolution.review import review as review_run
from fame_desktop.orchestrator.evolution.run_id import new_run_id
from fame_desktop.orchestrator.evolution.store import PromotedVersion, PromotionStore
from fame_desktop.orchestrator.llm import LlmProvider
from fame_desktop.orchestrator.safety import Safety
from fame_desktop.orchestrator.sandbox import Sandbox
from fame_desktop.orchestrator.settings import SettingsStore

log = logging.getLogger("fame.evolution")

T = TypeVar("T")

#: Seconds one candidate may run: a mutant that lost its memoisation can be exponentially slow.
CANDIDATE_TIMEOUT = 20.0
#: Alternating quiet runs of the original and the winner behind the final verdict.
CONFIRM_ROUNDS = 3
# How a run ended (``RunRecord.status``) -> the audit entry it leaves.
_END_KINDS = {
    "finished": AuditKind.EVOLUTION_FINISHED,
    "failed": AuditKind.EVOLUTION_FAILED,
    "cancelled": AuditKind.EVOLUTION_CANCELLED,
}


class CancelFlag(Protocol):
    """``threading.Event`` or ``asyncio.Event``: anything that says whether to stop."""

    def is_set(self) -> bool: ...


class _Stop(Exception):
    """Raised inside a run when its cancel flag is set."""


def _fastest(fits: list[Fitness]) -> Fitness:
    """The fastest of several measurements of one program; a failed one if any failed."""
    failed = [f for f in fits if not f.correct]
    if failed:
        return failed[0]
    return min(fits, key=lambda f: f.bench_ns if f.bench_ns is not None else math.inf)


def _match(library: RecipeLibrary, task: str) -> Recipe | None:
    """The recipe ``task`` names, or None.

    In order: a recipe id (the whole task, or a word of it); the library's confident match (what
    ``generate_code`` uses); else the best keyword match when it leads alone ("optimize string
    reversal" names no phrase, but only string reversal has those words). Ties match nothing.
    """
    text = task.strip()
    exact = library.get(text)
    if exact is not None:
        return exact
    for recipe in library.all():
        if re.search(rf"(?<![\w]){re.escape(recipe.id)}(?![\w])", text):
            return recipe
    best = OfflineGenerator(library).best(text)
    if best is not None:
        return best
    ranked = library.match(text)
    if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
        return ranked[0][0]
    return None


class EvolutionRunner:
    """Runs evolution cycles and gates their promotion.

    Args:
        store: Runs and promotions (the same store code generation reads promotions from).
        library: Returns the recipe library (code generation's, loaded on first use).
        sandbox: Where candidates are measured.
        settings: ``sandbox.*`` bounds the runs.
        audit: Every run, candidate, promotion and refusal is recorded here.
        bus: Progress is published here.
        safety: Promotion and rollback need admin.
        llm: Returns the configured chat provider or None (read at every run).
        seed: Fixed random seed (tests and benchmarks); otherwise every run draws one.
    """

    def __init__(
        self,
        *,
        store: PromotionStore,
        library: Callable[[], RecipeLibrary],
        sandbox: Sandbox,
        settings: SettingsStore,
        audit: AuditLog,
        bus: EventBus,
        safety: Safety,
        llm: Callable[[], LlmProvider | None],
        seed: int | None = None,
    ) -> None:
        self.store = store
        self._library = library
        self._sandbox = sandbox
        self._settings = settings
        self._audit_log = audit
        self._bus = bus
        self._safety = safety
        self._llm = llm
        self._seed = seed
        self._flags: dict[str, list[CancelFlag]] = {}

    # --- collaborators ---------------------------------------------------------------------------

    @property
    def library(self) -> RecipeLibrary:
        """The recipe library (code generation's, loaded on first use)."""
        return self._library()

    def _concurrency(self) -> int:
        # The sandbox's own figure: a cluster runs per_node_concurrency jobs on each ready node.
        return int(
            self._sandbox.status().get("max_concurrency") or self._settings.settings.sandbox.max_concurrency
        )

    def _timeout(self) -> float:
        return min(CANDIDATE_TIMEOUT, float(self._settings.settings.sandbox.timeout_seconds))

    def _audit(self, kind: AuditKind, data: dict[str, Any], actor: str, summary_text: str) -> None:
        self._audit_log.append(kind, data, actor=actor, summary=summary_text[:200])

    def _publish(
        self, record: RunRecord, generation: int, message: str, best: float | None, **data: Any
    ) -> None:
        payload = {"task": record.task, "recipe_id": record.recipe_id, "status": record.status, **data}
        self._bus.publish(
            EvolutionProgress(
                run_id=record.id, generation=generation, message=message, best_fitness=best, data=payload
            )
        )

    # --- running ---------------------------------------------------------------------------------

    async def run_generation(
        self, population_size: int = 5, task: str = "", *, actor: str = "python"
    ) -> RunRecord:
        """One generation for ``task`` (the seed's call; ``POST /evolution/run``)."""
        return await self.run(task, population=population_size, generations=1, actor=actor)

    def cancel(self, run_id: str) -> bool:
        """Ask a running run to stop; False if it is not running in this process."""
        flags = self._flags.get(run_id)
        if not flags:
            return False
        event = flags[0]
        assert isinstance(event, asyncio.Event)
        event.set()
        return True

    def running(self) -> list[str]:
        """Ids of the runs in progress in this process."""
        return list(self._flags)

    async def run(
        self,
        task: str,
        population: int = 8,
        generations: int = 2,
        cancel: CancelFlag | None = None,
        *,
        actor: str = "python",
        run_id: str | None = None,
    ) -> RunRecord:
        """A whole evolution run for ``task``; returns its record (also saved in the store).

        Cancelling (``cancel`` set, :meth:`cancel`, or cancelling the awaiting task) ends the run
        as ``cancelled`` with what was measured so far; the in-flight sandbox runs are stopped.

        Raises:
            InvalidRequest: Empty task, or population/generations out of range.
            asyncio.CancelledError: The awaiting task was cancelled (after recording it).
        """
        task = task.strip()
        check_run_request(task, population, generations)
        seed = self._seed if self._seed is not None else random.SystemRandom().randrange(2**31)
        record = RunRecord(
            id=run_id or new_run_id(),
            task=task,
            recipe_id=None,
            population=population,
            generations=generations,
            actor=actor,
            seed=seed,
        )
        recipe = _match(self.library, task)
        if recipe is None:
            return self._no_match(record)
        record.recipe_id, record.title = str(recipe.id), str(recipe.title)
        own = asyncio.Event()
        self._flags[record.id] = [own] + ([cancel] if cancel is not None else [])
        try:
            await self._cycle(record, recipe, random.Random(seed))
        except _Stop:
            self._end(record, "cancelled", "Cancelled; nothing was promoted.")
        except asyncio.CancelledError:
            self._end(record, "cancelled", "Cancelled; nothing was promoted.")
            raise
        except FameError as exc:
            self._end(record, "failed", exc.message)
        finally:
            self._flags.pop(record.id, None)
        return record

    def _stopped(self, run_id: str) -> bool:
        return any(flag.is_set() for flag in self._flags.get(run_id, ()))

    async def _guard(self, run_id: str, work: Awaitable[T]) -> T:
        """Await ``work`` unless the run is cancelled first (then stop it and raise :class:`_Stop`)."""
        job = asyncio.ensure_future(work)
        try:
            while True:
                if self._stopped(run_id):
                    raise _Stop
                done, _ = await asyncio.wait({job}, timeout=0.05)
                if done:
                    return job.result()
        finally:
            if not job.done():
                job.cancel()
                # Let the sandbox runs stop their containers before the run reports "cancelled".
                await asyncio.gather(job, return_exceptions=True)

    def _no_match(self, record: RunRecord) -> RunRecord:
        near = [str(r.title) for r in self.library.all()][:8]
        record.finish(
            "no_match",
            f"'{record.task}' matches no task in the library, so there is nothing to measure against. "
            + (f"Tasks that can be evolved: {', '.join(near)}." if near else ""),
        )
        self.store.save_run(record.to_dict())
        self._audit(
            AuditKind.EVOLUTION_NO_MATCH,
            {"run_id": record.id, "task": record.task},
            record.actor,
            f"no task: {record.task}",
        )
        self._publish(record, 0, record.message, None, stage="finished")
        return record

    def _end(self, record: RunRecord, status: str, message: str) -> None:
        record.finish(status, message)
        self.store.save_run(record.to_dict())
        self._audit(
            _END_KINDS[status],
            {
                "run_id": record.id,
                "recipe_id": record.recipe_id,
                "message": message,
                "sandbox_runs": record.sandbox_runs,
            },
            record.actor,
            f"evolution {record.id} {status}: {message}",
        )
        self._publish(record, len(record.results), message, None, stage="finished")

    async def _cycle(self, record: RunRecord, recipe: Recipe, rng: random.Random) -> None:
        reference = recipe.code
        evaluator = Evaluator(self._sandbox, recipe, concurrency=self._concurrency(), timeout=self._timeout())
        self.store.save_run(record.to_dict())
        self._audit(
            AuditKind.EVOLUTION_STARTED,
            {
                "run_id": record.id,
                "task": record.task,
                "recipe_id": record.recipe_id,
                "population": record.population,
                "generations": record.generations,
                "seed": record.seed,
            },
            record.actor,
            f"evolution {record.id}: {record.title} ({record.population}×{record.generations})",
        )
        self._publish(record, 0, f"Started: {record.title}", None, stage="started")

        provider = self._llm()
        proposals: list[tuple[str, str]] = []
        if provider is not None:
            proposals, problems = await self._guard(
                record.id, propose(provider, recipe, reference, record.population // 2, run_id=record.id)
            )
            record.llm = {
                "provider": provider.name,
                "proposals": len(proposals),
                "problems": problems,
                "llm_backend": provider.backend,
                "llm_model": provider.model,
            }
        active = self.store.active(record.recipe_id or "")
        breeder = Breeder(rng)
        candidates = breeder.first(
            reference,
            record.population,
            alternatives=alternative_sources(recipe),
            promoted=(active.version, active.code) if active else None,
            proposals=proposals,
        )
        original: Fitness | None = None
        winners: list[Scored] = []
        for generation in range(record.generations):
            scored = await self._generation(record, evaluator, candidates, generation, original)
            if generation == 0:
                original = scored[0].fitness  # the reference is always candidate 0 of generation 0
                record.original = {"code": reference, "fitness": original.to_dict()}
                if original.status == "unavailable":
                    raise FameError(
                        f"The sandbox is unavailable: {original.failures[0] if original.failures else ''}"
                    )
                scored = [Scored(s.candidate, s.fitness, s.fitness.score(original)) for s in scored]
            winners = self._select(scored, record.population)
            self._record_generation(record, generation, scored, winners, evaluator.runs)
            if generation + 1 < record.generations:
                candidates = breeder.next([w.candidate for w in winners], record.population, generation + 1)
        assert original is not None and winners
        await self._confirm(record, evaluator, reference, original, winners)

    async def _generation(
        self,
        record: RunRecord,
        evaluator: Evaluator,
        candidates: list[Candidate],
        generation: int,
        baseline: Fitness | None,
    ) -> list[Scored]:
        """Measure one generation in parallel, publishing each candidate's fitness as it lands."""
        done: list[float] = []

        def on_result(candidate: Candidate, fitness: Fitness) -> None:
            score = fitness.score(baseline)
            done.append(score)
            self._publish(
                record,
                generation,
                f"{candidate.id} ({candidate.origin}): "
                + ("correct" if fitness.correct else f"{fitness.failed} failed, {fitness.status}"),
                max(done),
                stage="candidate",
                evaluated=len(done),
                total=len(candidates),
                candidate={
                    **candidate.to_dict(with_code=False),
                    "fitness": fitness.to_dict(),
                    "score": score,
                },
            )

        self._publish(
            record,
            generation,
            f"Generation {generation}: measuring {len(candidates)} candidates",
            None,
            stage="generation_started",
            total=len(candidates),
        )
        fits: list[Fitness] = []
        if generation == 0:
            # The reference alone first: its run time bounds how long any candidate may take.
            fits = await self._guard(
                record.id, evaluator.evaluate_all(candidates[:1], run_id=record.id, on_result=on_result)
            )
            evaluator.calibrate(candidates[0].id)
        fits += await self._guard(
            record.id,
            evaluator.evaluate_all(candidates[len(fits) :], run_id=record.id, on_result=on_result),
        )
        record.sandbox_runs = evaluator.runs
        return [Scored(c, f, f.score(baseline)) for c, f in zip(candidates, fits, strict=True)]

    @staticmethod
    def _select(scored: list[Scored], population: int) -> list[Scored]:
        """The best third (at least two): correct first, then fastest, then smallest."""
        ranked = sorted(scored, key=lambda s: s.fitness.key())
        keep = max(2, math.ceil(population / 3))
        correct = [s for s in ranked if s.fitness.correct]
        return (correct or ranked)[:keep]

    def _record_generation(
        self, record: RunRecord, generation: int, scored: list[Scored], winners: list[Scored], runs: int
    ) -> None:
        best = winners[0]
        record.results.append(
            {
                "generation": generation,
                "candidates": [s.to_dict() for s in scored],
                "winners": [w.candidate.id for w in winners],
                "best": best.candidate.id,
                "best_score": best.score,
            }
        )
        record.sandbox_runs = runs
        self.store.save_run(record.to_dict())
        entries: list[tuple[AuditKind, dict[str, Any], str | None, str]] = [
            (
                AuditKind.EVOLUTION_CANDIDATE,
                {"run_id": record.id, "generation": generation, **s.to_dict(with_code=False)},
                record.actor,
                f"{record.id} g{generation} {s.candidate.id} {s.candidate.origin}: score {s.score}"
                + ("" if s.fitness.correct else f" (incorrect: {s.fitness.status})"),
            )
            for s in scored
        ]
        entries.append(
            (
                AuditKind.EVOLUTION_GENERATION,
                {
                    "run_id": record.id,
                    "generation": generation,
                    "recipe_id": record.recipe_id,
                    "candidates": len(scored),
                    "correct": sum(s.fitness.correct for s in scored),
                    "winners": [w.candidate.id for w in winners],
                    "best": best.to_dict(with_code=False),
                },
                record.actor,
                f"{record.id} generation {generation}: best {best.candidate.id} score {best.score}",
            )
        )
        self._audit_log.append_many(entries)
        self._publish(
            record,
            generation,
            f"Generation {generation} done: best {best.candidate.id} ({best.candidate.origin}), score {best.score}",
            best.score,
            stage="generation",
            winners=[w.candidate.id for w in winners],
        )

    async def _confirm(
        self,
        record: RunRecord,
        evaluator: Evaluator,
        reference: str,
        original: Fitness,
        winners: list[Scored],
    ) -> None:
        """Measure the best challenger and the original again, alternately and one at a time, and decide.

        Parallel runs of a generation share the CPU, so their timings are noisy (the same program
        can differ by half); the verdict rests on :data:`CONFIRM_ROUNDS` quiet alternating runs of
        each, keeping each program's fastest time, and it is wrong whenever any run failed. For the
        same reason the original topping the last generation's ranking proves nothing: the best
        correct program other than the original is confirmed against it all the same.
        """
        best = winners[0]
        if not best.fitness.correct:
            improvement = compare(original, best.fitness)
            record.set_winner(best, original, improvement)
            self._end(record, "finished", f"No candidate passed every test ({improvement.reason}).")
            return
        reference_fp = Candidate("x", reference, "reference").fingerprint
        challengers = [w for w in winners if w.fitness.correct and w.candidate.fingerprint != reference_fp]
        if not challengers:
            record.set_winner(best, original, Improvement(1.0, 1.0, False, "the original is still the best"))
            self._end(record, "finished", "The original is still the best; nothing to promote.")
            return
        best = challengers[0]
        base = Candidate("confirm-original", reference, "reference")
        runs: dict[str, list[Fitness]] = {base.id: [], best.candidate.id: []}
        self._publish(record, len(record.results), "Confirming the winner against the original", None,
                      stage="confirming")  # fmt: skip
        for _ in range(CONFIRM_ROUNDS):
            for cand in (base, best.candidate):
                runs[cand.id].append(await self._guard(record.id, evaluator.evaluate(cand, run_id=record.id)))
        record.sandbox_runs = evaluator.runs
        original, confirmed = (_fastest(runs[base.id]), _fastest(runs[best.candidate.id]))
        improvement = compare(original, confirmed)
        winner = Scored(best.candidate, confirmed, confirmed.score(original))
        record.set_winner(winner, original, improvement)
        verdict = f"Winner {best.candidate.id} ({best.candidate.origin}): {improvement.reason}. " + (
            "An admin can approve it." if improvement.better else "Not better than the original."
        )
        self._end(record, "finished", verdict)

    # --- approval, rollback, history -------------------------------------------------------------

    def _admin(self, key: str | None, what: str, actor: str, target: dict[str, Any]) -> str:
        try:
            return self._safety.require_admin(key, what, actor)
        except AdminRequired as exc:
            self._audit(
                AuditKind.EVOLUTION_REFUSED,
                {**target, "what": what, "error": exc.to_dict()},
                actor,
                f"refused: {what} ({exc.code})",
            )
            raise

    def review(self, run_id: str) -> Review:
        """What promoting ``run_id`` would change: the diff against the version answering today
        and the fitness of both (read-only; anyone may look, only an admin may approve).

        Raises:
            InvalidRequest: No such run, or no winner.
        """
        return review_run(self.store, run_id)

    def approve(self, run_id: str, *, key: str | None, actor: str = "unknown") -> PromotedVersion:
        """Promote a finished run's winner (admin): ``generate_code`` returns it from then on.

        Raises:
            AdminRequired: No valid admin key and no unlocked admin session (audited).
            InvalidRequest: No such run, no correct winner, not better, or already promoted.
        """
        by = self._admin(key, "promoting an evolved solution", actor, {"run_id": run_id})
        run = self.store.run(run_id)
        if not (run.get("improvement") or {}).get("better"):
            raise InvalidRequest(
                f"Run {run_id}'s winner is not measurably better than the original "
                f"({(run.get('improvement') or {}).get('reason', run.get('status'))}).",
                "Only a faster or smaller winner that passes every test can be promoted.",
            )
        promoted = self.store.promote(run_id, approved_by=by)
        self._audit(
            AuditKind.EVOLUTION_PROMOTED,
            {
                "run_id": run_id,
                "recipe_id": promoted.recipe_id,
                "version": promoted.version,
                "approved_by": by,
                "improvement": run.get("improvement"),
                "fingerprint": (run.get("winner") or {}).get("fingerprint"),
            },
            actor,
            f"{promoted.recipe_id} v{promoted.version} promoted from {run_id}",
        )
        self._bus.publish(
            EvolutionProgress(
                run_id=run_id,
                generation=-1,
                message=f"Promoted as {promoted.recipe_id} v{promoted.version}",
                data={"stage": "promoted", "recipe_id": promoted.recipe_id, "version": promoted.version},
            )
        )
        return promoted

    def rollback(self, recipe_id: str, *, key: str | None, actor: str = "unknown") -> tuple[int, int | None]:
        """Step a task back to its previous version (or the library's original); admin.

        Returns:
            (version retired, version now active or None for the original).
        """
        by = self._admin(key, "rolling back an evolved solution", actor, {"recipe_id": recipe_id})
        retired, now = self.store.rollback(recipe_id, by=by)
        to = f"v{now}" if now is not None else "the library original"
        self._audit(
            AuditKind.EVOLUTION_ROLLBACK,
            {"recipe_id": recipe_id, "retired": retired, "active": now, "by": by},
            actor,
            f"{recipe_id}: v{retired} rolled back to {to}",
        )
        self._bus.publish(
            EvolutionProgress(
                run_id="",
                generation=-1,
                message=f"{recipe_id}: rolled back to {to}",
                data={"stage": "rolled_back", "recipe_id": recipe_id, "retired": retired, "active": now},
            )
        )
        return retired, now

    def history(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest runs first, without their programs."""
        return [summary(r) for r in self.store.runs(limit)]

    def promotions(self) -> list[dict[str, Any]]:
        """Every task with promotions: the active version, versions and events."""
        return self.store.promoted_tasks()

    async def run_from_request(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer an ``evolution`` query (the plugin's entry; the Brain already checked admin)."""
        return await answer(self.run, request)
