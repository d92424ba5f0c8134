"""The parts of evolution that need no sandbox: breeding, matching, approval rules, versions, LLM proposals."""

from __future__ import annotations

import ast
import random
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from evo_harness import Evo

from fame_desktop.orchestrator.codegen import RecipeLibrary
from fame_desktop.orchestrator.errors import AdminRequired, InvalidRequest
from fame_desktop.orchestrator.evolution.population import Breeder, alternative_sources
from fame_desktop.orchestrator.evolution.proposals import extract_code, propose
from fame_desktop.orchestrator.evolution.request import sizes
from fame_desktop.orchestrator.evolution.runner import _match
from fame_desktop.orchestrator.llm import ChatProvider, LlmConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))
from openai_fake import FakeOpenAI, Reply

LIBRARY = RecipeLibrary.load()


def _finished_run(evo: Evo, run_id: str, code: str, *, better: bool = True) -> None:
    """A run record as the runner saves it when a run ends (what approval reads)."""
    fitness = {"status": "ok", "passed": 5, "failed": 0, "bench_ns": 1000, "size": 9, "correct": True}
    evo.runner.store.save_run(
        {
            "id": run_id,
            "task": "reverse a string",
            "recipe_id": "reverse_string",
            "status": "finished",
            "started_at": time.time(),
            "winner": {"id": "g1-c2", "origin": "mutant", "code": code, "fitness": fitness},
            "improvement": {"speedup": 9.0, "size_ratio": 0.5, "better": better, "reason": "9.00× faster"},
            "results": [],
        }
    )


def test_first_generation_starts_with_the_reference_and_never_repeats_a_program() -> None:
    recipe = LIBRARY.get("reverse_string")
    assert recipe is not None
    alternatives = alternative_sources(recipe)
    assert {name for name, _ in alternatives} == {a.name for a in recipe.alternatives}
    # The reference again, reformatted, is the same program and is measured once.
    copy = ("copy", ast.unparse(ast.parse(recipe.code)))
    pop = Breeder(random.Random(1)).first(recipe.code, 8, alternatives=[copy, *alternatives])
    assert pop[0].origin == "reference" and pop[0].code == recipe.code
    assert len({c.fingerprint for c in pop}) == len(pop)
    assert [c.origin for c in pop[1:3]] == [f"alternative:{n}" for n, _ in alternatives]
    for c in pop:
        compile(c.code, c.id, "exec")
        if c.origin == "mutant":
            assert c.parent is not None and c.operators


def test_next_generation_keeps_the_winners_and_adds_their_mutants() -> None:
    recipe = LIBRARY.get("primes_up_to")
    assert recipe is not None
    breeder = Breeder(random.Random(3))
    first = breeder.first(recipe.code, 4, alternatives=alternative_sources(recipe))
    nxt = breeder.next(first[:2], 6, 1)
    assert nxt[:2] == first[:2]
    assert all(c.id.startswith("g1-") and c.parent in {first[0].id, first[1].id} for c in nxt[2:])
    assert len({c.fingerprint for c in first + nxt[2:]}) == len(first) + len(nxt) - 2


@pytest.mark.parametrize(
    ("task", "recipe_id"),
    [
        ("optimize string reversal", "reverse_string"),
        ("evolve is_prime", "is_prime"),
        ("binary search", "binary_search"),
        ("evolve a faster fibonacci", "fibonacci"),
        ("optimize code generation", None),
        ("prime checker", None),  # two recipes tie: no guessing
    ],
)
def test_task_matching(task: str, recipe_id: str | None) -> None:
    found = _match(LIBRARY, task)
    assert (found.id if found is not None else None) == recipe_id


def test_sizes_from_words_and_params() -> None:
    assert sizes("evolve fibonacci", {}) == (6, 2)
    assert sizes("evolve fibonacci with population 12 for 3 generations", {}) == (12, 3)
    assert sizes("population size of 4, generations: 2", {}) == (4, 2)
    assert sizes("population 999 for 99 generations", {}) == (20, 5)
    assert sizes("x", {"population": 3, "generations": 1}) == (3, 1)


def test_extract_code() -> None:
    answer = "Here you go:\n```python\ndef f(x):\n    return x[::-1]\n```\nEnjoy."
    assert extract_code(answer) == "def f(x):\n    return x[::-1]\n"
    assert extract_code("def f(x):\n    return x") == "def f(x):\n    return x\n"
    assert extract_code("I cannot help with that.") is None


async def test_llm_proposals_at_varied_temperatures_from_a_real_server() -> None:
    def responder(body: dict[str, Any]) -> Reply:
        if body["temperature"] > 1.1:
            return Reply(status=500, error={"message": "overloaded"})
        return Reply(
            text=f"```python\ndef reverse_string(text):\n    return text[::-1]  # t={body['temperature']}\n```"
        )

    recipe = LIBRARY.get("reverse_string")
    assert recipe is not None
    with FakeOpenAI(responder) as server:
        provider = ChatProvider(LlmConfig(base_url=server.url, model="fake", timeout_seconds=5))
        proposals, problems = await propose(provider, recipe, recipe.code, 4, run_id="evo-test")
        temps = sorted(r["temperature"] for r in server.requests)
    assert temps == [0.2, 0.6, 1.0, 1.3]
    assert [origin for origin, _ in proposals] == ["llm:t=0.2", "llm:t=0.6", "llm:t=1.0"]
    assert all("text[::-1]" in code for _, code in proposals)
    assert len(problems) == 1 and "t=1.3" in problems[0]
    assert "reverse_string" in server.requests[0]["messages"][1]["content"]


async def test_unknown_task_is_recorded_as_no_match(evo: Evo) -> None:
    record = await evo.runner.run_generation(population_size=5, task="optimize code generation")
    assert record.status == "no_match"
    assert "matches no task" in record.message and "Tasks that can be evolved" in record.message
    assert evo.runner.store.run(record.id)["status"] == "no_match"
    assert any(e.kind == "evolution_no_match" for e in evo.app.audit.query(limit=10))


async def test_bad_sizes_are_refused(evo: Evo) -> None:
    with pytest.raises(InvalidRequest):
        await evo.runner.run("binary search", population=1)
    with pytest.raises(InvalidRequest):
        await evo.runner.run("binary search", generations=0)
    with pytest.raises(InvalidRequest):
        await evo.runner.run("   ")


async def test_approval_needs_a_valid_key_and_a_better_winner(evo: Evo) -> None:
    _finished_run(evo, "evo-a", "def reverse_string(text):\n    return text[::-1]\n")
    _finished_run(evo, "evo-b", "def reverse_string(text):\n    return ''.join(reversed(text))\n")
    _finished_run(evo, "evo-worse", "def reverse_string(text):\n    return text\n", better=False)
    with pytest.raises(AdminRequired):
        evo.runner.approve("evo-a", key="wrong-key", actor="test")
    with pytest.raises(AdminRequired):
        evo.runner.approve("evo-a", key=None, actor="test")
    refused = [e for e in evo.app.audit.query(limit=20) if e.kind == "evolution_refused"]
    assert len(refused) == 2
    assert "wrong-key" not in str([e.data for e in evo.app.audit.query(limit=20)])
    with pytest.raises(InvalidRequest, match="not measurably better"):
        evo.runner.approve("evo-worse", key=evo.key, actor="test")
    with pytest.raises(InvalidRequest):
        evo.runner.approve("evo-missing", key=evo.key, actor="test")
    assert evo.runner.store.active("reverse_string") is None

    assert evo.runner.approve("evo-a", key=evo.key, actor="test").version == 1
    # The window's unlocked session is as good as a key.
    assert evo.app.safety.unlock(evo.key, actor="test")
    v2 = evo.runner.approve("evo-b", key=None, actor="test")
    assert v2.version == 2 and "reversed" in v2.code
    assert evo.runner.rollback("reverse_string", key=evo.key, actor="test") == (2, 1)
    active = evo.runner.store.active("reverse_string")
    assert active is not None and active.code.endswith("text[::-1]\n")
    assert evo.runner.rollback("reverse_string", key=None, actor="test") == (1, None)
    assert evo.runner.store.active("reverse_string") is None
    with pytest.raises(InvalidRequest):
        evo.runner.rollback("reverse_string", key=evo.key, actor="test")
    tasks = evo.runner.promotions()
    assert [e["action"] for e in tasks[0]["events"]] == ["promote", "promote", "rollback", "rollback"]
    kinds = [e.kind for e in evo.app.audit.query(limit=50)]
    assert kinds.count("evolution_promoted") == 2 and kinds.count("evolution_rollback") == 2
