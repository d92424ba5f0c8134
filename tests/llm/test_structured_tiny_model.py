"""Structured output and code generation on a real llama.cpp model (the tests' tiny GGUF).

The tiny model's weights are random, so its content is gibberish: these tests assert the shape.
Its JSON-schema grammar makes every answer that finishes parse; an answer cut off at the token
limit is reported as such; code generation runs what parses in the sandbox and never calls it
tested unless its tests ran and passed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fame_desktop.app import App, build_app
from fame_desktop.orchestrator.codegen.repair import first_messages, read_answer
from fame_desktop.orchestrator.llm.structured import CODE_SCHEMA, choice_schema
from fame_desktop.orchestrator.route_consult import consult_messages

pytest.importorskip("llama_cpp")

pytestmark = pytest.mark.slow

OPTIONS = ["calculate", "chat", "generate_code", "market_analysis", "system_info", "web_search"]
OUTSIDE_THE_LIBRARY = "Write a function that validates an IPv4 address"


@pytest.fixture
async def tiny_app(data_dir: Path, tiny_gguf_path: Path) -> AsyncIterator[App]:
    """The app with the tiny GGUF installed as its local model (the default backend then)."""
    app = build_app(data_dir)
    folder = app.services.paths.llm_models
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(tiny_gguf_path, folder / "tiny.gguf")
    app.settings.update(
        {"llm.local_model": "tiny.gguf", "llm.threads": 1, "llm.context_size": 4096}, admin=False
    )
    await app.brain.start()
    yield app
    await app.aclose()


async def test_the_grammar_makes_every_finished_answer_parse(tiny_app: App) -> None:
    provider = tiny_app.services.llm()
    assert provider is not None and provider.backend == "llama.cpp"
    # A constrained choice always finishes: every answer is one of the options.
    for temperature in (0.0, 0.4, 0.8, 1.2, 1.6):
        completion = await provider.complete(
            consult_messages("what time is it", OPTIONS),
            temperature=temperature,
            max_tokens=64,
            json_schema=choice_schema(OPTIONS),
        )
        assert json.loads(completion.text, strict=False)["intent"] in OPTIONS, completion.text
    # Code, tests and explanation: parsed with all three strings, or reported as cut off.
    finished = 0
    for temperature in (0.7, 1.0, 1.3):
        completion = await provider.complete(
            first_messages(OUTSIDE_THE_LIBRARY, None),
            temperature=temperature,
            max_tokens=700,
            json_schema=CODE_SCHEMA,
        )
        answer = read_answer(completion.text, finish_reason=completion.reason)
        assert completion.backend == "llama.cpp"
        if completion.reason == "length":
            assert answer.problem == "The model's answer was cut off at the length limit.", completion.text[
                :200
            ]
            continue
        finished += 1
        obj = json.loads(completion.text, strict=False)
        assert set(obj) == {"code", "tests", "explanation"} and all(isinstance(v, str) for v in obj.values())
        assert answer.problem in ("", 'The model\'s JSON answer has an empty "code".')
    print(f"tiny model: {finished} of 3 code answers finished within 700 tokens")


@pytest.mark.docker
async def test_generate_code_on_the_tiny_model_is_reported_honestly(tiny_app: App) -> None:
    tiny_app.settings.update({"llm.max_repair_attempts": 1}, admin=False)
    response = await tiny_app.brain.handle_query({"text": OUTSIDE_THE_LIBRARY, "intent": "generate_code"})
    data = response["data"]
    assert response["error"] is None, response["error"]
    assert data["llm_backend"] == "llama.cpp" and data["llm_model"] == "tiny"
    assert data["source"].startswith("llm: ") and 1 <= data["attempts"] <= 2
    assert data["passed"] is False and "✓" not in response["response"]
    assert "Not tested" in response["response"] or "Tests failed after" in response["response"]
    for attempt in data["attempt_log"]:
        assert attempt["passed"] == 0 and (attempt["tested"] is False or attempt["failed"] > 0)

    # A library task: its tested recipe answers at once; the small local model is not asked to
    # rewrite it (it would take sandbox rounds to maybe match what the library already proves).
    library = await tiny_app.brain.handle_query(
        {"text": "Write a Python function to reverse a string", "intent": "generate_code"}
    )
    print(f"tiny model: outside the library {data['attempt_log']}")
    assert library["data"]["source"] == "library" and library["data"]["passed"] is True
    assert not library["data"].get("attempt_log")
    assert "tested implementation answers" in library["response"]
