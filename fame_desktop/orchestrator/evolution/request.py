"""An ``evolution`` query in words ("evolve string reversal with population 6 for 2 generations")."""

from __future__ import annotations

import re
from collections.abc import Awaitable
from typing import Any, Protocol

from fame_desktop.orchestrator.errors import InvalidRequest
from fame_desktop.orchestrator.evolution.record import RunRecord, summary

MAX_POPULATION = 50
MAX_GENERATIONS = 20


def check_run_request(task: str, population: int, generations: int = 1) -> None:
    """Refuse a run that cannot start, before anything else is asked of the app.

    Raises:
        InvalidRequest: Empty task, or population/generations out of range.
    """
    if not task.strip():
        raise InvalidRequest("An evolution run needs a task.", "Say what to evolve, e.g. 'string reversal'.")
    if not 2 <= population <= MAX_POPULATION or not 1 <= generations <= MAX_GENERATIONS:
        raise InvalidRequest(
            f"Population must be 2 to {MAX_POPULATION} and generations 1 to {MAX_GENERATIONS}.", ""
        )


#: Defaults for a query that names no sizes: small enough to answer within the plugin's timeout.
DEFAULT_POPULATION = 6
DEFAULT_GENERATIONS = 2

_POPULATION = re.compile(r"population(?:\s+(?:size|of))*\s*(?:=|:)?\s*(\d+)", re.IGNORECASE)
_GENERATIONS = re.compile(r"(\d+)\s+generations?|generations?\s*(?:=|:)?\s*(\d+)", re.IGNORECASE)


class RunEvolution(Protocol):
    """``EvolutionRunner.run``: one whole run for a task."""

    def __call__(self, task: str, population: int, generations: int, *, actor: str) -> Awaitable[RunRecord]:
        """Run the cycle and return its record."""
        ...


def sizes(text: str, params: dict[str, Any]) -> tuple[int, int]:
    """Population and generations from the request's params or its words (clamped to safe bounds)."""
    population, generations = DEFAULT_POPULATION, DEFAULT_GENERATIONS
    if m := _POPULATION.search(text):
        population = int(m.group(1))
    if m := _GENERATIONS.search(text):
        generations = int(m.group(1) or m.group(2))
    population = int(params.get("population", population))
    generations = int(params.get("generations", generations))
    return max(2, min(population, 20)), max(1, min(generations, 5))


def render(record: RunRecord) -> str:
    """Markdown for the chat: what ran, what won, and how to approve it."""
    lines = [f"**Evolution run `{record.id}`** — {record.title or record.task}: {record.status}", ""]
    lines.append(record.message)
    if record.results:
        lines += ["", "| generation | candidates | correct | best | score |", "|---|---|---|---|---|"]
        for g in record.results:
            cands = g["candidates"]
            correct = sum(1 for c in cands if c["fitness"]["correct"])
            lines.append(
                f"| {g['generation']} | {len(cands)} | {correct} | {g['best']} | {g['best_score']} |"
            )
    lines += _model_lines(record)
    if record.winner and (record.improvement or {}).get("better"):
        lines += [
            "",
            f"```python\n{record.winner['code'].rstrip()}\n```",
            "",
            f"Approve it with `fame evolve approve {record.id} --admin-key KEY` (or the Evolution panel).",
        ]
    return "\n".join(lines)


def _model_lines(record: RunRecord) -> list[str]:
    """What the model contributed: its candidates (by origin) and how they fared in the sandbox."""
    llm = record.llm
    if not llm:
        return []
    mine = [c for g in record.results for c in g["candidates"] if str(c.get("origin", "")).startswith("llm:")]
    correct = sum(1 for c in mine if c["fitness"]["correct"])
    line = f"Model-written candidates ({llm.get('provider')}): {llm.get('proposals', 0)} bred"
    line += f", {correct} of {len(mine)} measured correct in the sandbox" if mine else ""
    if llm.get("problems"):
        line += f"; {len(llm['problems'])} request(s) failed ({llm['problems'][0]})"
    out = ["", line + "."]
    winner = record.winner or {}
    if winner.get("origin"):
        parent = f", bred from {winner['parent']}" if winner.get("parent") else ""
        out.append(f"Winner: {winner.get('id')} (origin {winner['origin']}{parent}).")
    return out


async def answer(run: RunEvolution, request: dict[str, Any]) -> dict[str, Any]:
    """Run a cycle for the request's task and answer with its record."""
    text = str(request.get("text", ""))
    params = request.get("params") or {}
    population, generations = sizes(text, params if isinstance(params, dict) else {})
    actor = str(request.get("source") or "plugin") + (f":{request['user']}" if request.get("user") else "")
    record = await run(
        str(params.get("task") or text) if isinstance(params, dict) else text,
        population=population,
        generations=generations,
        actor=actor,
    )
    done = record.to_dict()
    data = {**summary(done), "winner": done["winner"], "improvement": done["improvement"], "matched": True}
    if record.llm:  # the model wrote some of the candidates
        data["llm"] = record.llm.get("provider", "")
        data["llm_backend"] = record.llm.get("llm_backend", "")
        data["llm_model"] = record.llm.get("llm_model", "")
    result: dict[str, Any] = {"response": render(record), "data": data}
    if record.winner and (record.improvement or {}).get("better"):
        result["code"] = record.winner["code"]
    if record.status == "no_match":
        data["matched"] = False
    return result
