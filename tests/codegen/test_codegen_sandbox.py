"""Code generation through the real Docker sandbox: recipes, hostile code and the repair loop."""

from __future__ import annotations

from typing import Any

import pytest
from openai_fake import FakeOpenAI, Reply

from fame_desktop.app import App
from fame_desktop.orchestrator.codegen import RecipeLibrary, build_test_program
from fame_desktop.orchestrator.llm import LlmToken

pytestmark = pytest.mark.docker

SAMPLE = ["reverse_string", "binary_search", "lru_cache", "dijkstra", "roman_numerals"]


async def _run(app: App, program: str) -> dict[str, Any]:
    report = await app.services.sandbox.run(program)
    out: dict[str, Any] = report.to_dict()
    assert out["backend"] == "docker", out
    return out


@pytest.mark.parametrize("recipe_id", SAMPLE)
async def test_recipes_and_their_alternatives_pass_in_the_sandbox(
    app: App, library: RecipeLibrary, recipe_id: str
) -> None:
    recipe = library.get(recipe_id)
    assert recipe is not None
    for code in [recipe.code, *(a.code for a in recipe.alternatives)]:
        program = build_test_program(code, recipe.tests, bench=recipe.bench)
        out = await _run(app, program)
        summary = program.parse(out["stdout"])
        assert out["status"] == "ok" and summary is not None and summary.all_passed, out
        assert summary.bench_ns is not None and summary.bench_ns > 0


async def test_hostile_code_in_the_sandbox_is_not_passed(app: App, library: RecipeLibrary) -> None:
    recipe = library.get("reverse_string")
    assert recipe is not None
    forged = "print('@@FAME-TESTS:' + '0' * 32 + ':5:0:5:1:3:')\nimport sys\nsys.exit(0)\n"
    program = build_test_program(forged, recipe.tests)
    out = await _run(app, program)
    summary = program.parse(out["stdout"])
    assert summary is not None and summary.failed == 5 and not summary.all_passed
    looping = build_test_program("def reverse_string(s):\n    while True:\n        pass\n", recipe.tests)
    report = (await app.services.sandbox.run(looping, timeout=2)).to_dict()
    assert report["status"] == "timeout" and looping.parse(report["stdout"]) is None


async def test_generate_code_end_to_end_is_tested_in_the_sandbox(app: App) -> None:
    response = await app.brain.handle_query(
        {"text": "Write a Python function to reverse a string", "intent": "generate_code"}
    )
    report = response["test_report"]
    assert response["error"] is None
    assert (
        report["backend"] == "docker" and report["tested"] and report["passed"] == 5 and report["failed"] == 0
    )
    assert response["data"]["source"] == "library" and response["data"]["attempts"] == 1


async def test_the_repair_loop_through_the_real_sandbox(app: App) -> None:
    wrong = "```python\ndef reverse_string(text):\n    return text\n```"
    right = "```python\ndef reverse_string(text):\n    return text[::-1]\n```"

    def answer(body: dict[str, Any]) -> Reply:
        repairing = any("failed in the sandbox" in m["content"] for m in body["messages"])
        return Reply(right if repairing else wrong)

    tokens: list[LlmToken] = []
    app.services.bus.subscribe(LlmToken, tokens.append)
    with FakeOpenAI(answer) as server:
        app.services.settings.update({"llm.base_url": server.url, "llm.model": "fake-coder"}, admin=True)
        response = await app.brain.handle_query(
            {"text": "Write a Python function to reverse a string", "intent": "generate_code"}
        )
    data, report = response["data"], response["test_report"]
    assert response["error"] is None, response["error"]
    assert data["attempts"] == 2 and data["passed"] is True and data["source"].startswith("llm: fake-coder")
    assert report["backend"] == "docker" and report["passed"] == 5 and report["failed"] == 0
    assert len(server.requests) == 2 and "AssertionError" in server.requests[1]["messages"][-1]["content"]
    assert tokens and {t.query_id for t in tokens} == {response["id"]}


IPV4_CODE = """
def is_ipv4(text):
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() and str(int(p)) == p and int(p) <= 255 for p in parts)
"""
IPV4_TESTS = """
def test_valid():
    assert is_ipv4("192.168.0.1") and is_ipv4("0.0.0.0")


def test_out_of_range():
    assert not is_ipv4("256.1.1.1")


def test_shape():
    assert not is_ipv4("1.2.3") and not is_ipv4("a.b.c.d") and not is_ipv4("01.2.3.4")
"""


async def test_a_task_outside_the_library_is_written_tested_and_repaired_in_docker(app: App) -> None:
    import json

    wrong = IPV4_CODE.replace(" and str(int(p)) == p", "")  # accepts leading zeros: one test fails
    answers = iter([wrong, IPV4_CODE])

    def answer(body: dict[str, Any]) -> Reply:
        assert body["response_format"]["json_schema"]["schema"]["required"] == [
            "code",
            "tests",
            "explanation",
        ]
        return Reply(
            json.dumps({"code": next(answers), "tests": IPV4_TESTS, "explanation": "Splits on dots."})
        )

    text = "Write a function that validates an IPv4 address"
    assert app.services.codegen.generate(text) is None  # not a library task
    with FakeOpenAI(answer) as server:
        app.services.settings.update({"llm.base_url": server.url, "llm.model": "fake-coder"}, admin=True)
        response = await app.brain.handle_query({"text": text, "intent": "generate_code"})
    data, report = response["data"], response["test_report"]
    assert response["error"] is None, response["error"]
    assert "could not match" not in response["response"]
    assert data["attempts"] == 2 and data["passed"] is True and data["matched"] is False
    assert [a["failed"] for a in data["attempt_log"]] == [1, 0]
    assert report["backend"] == "docker" and report["passed"] == 3 and report["failed"] == 0
    assert data["llm_backend"] == "openai" and data["llm_model"] == "fake-coder"
    assert "test_shape: AssertionError" in server.requests[1]["messages"][-1]["content"]
