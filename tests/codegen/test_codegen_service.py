"""CodeGenService: library answers, honest reports, evolved versions, and the LLM repair loop."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from codegen_harness import LocalPython
from openai_fake import FakeOpenAI, Reply

from fame_desktop.orchestrator.codegen import OfflineGenerator, Promoted, RecipeLibrary
from fame_desktop.orchestrator.codegen_service import CodeGenService, CodeSandbox, promoted_source
from fame_desktop.orchestrator.events import EventBus
from fame_desktop.orchestrator.evolution.store import PromotionStore
from fame_desktop.orchestrator.llm import ChatProvider, LlmConfig, LlmToken
from fame_desktop.orchestrator.run_report import Limits, RunReport

REVERSE = "Write a Python function to reverse a string"
CELSIUS = "write a function that turns a temperature in degrees celsius into degrees fahrenheit"
CELSIUS_TESTS = """
def test_freezing():
    assert to_fahrenheit(0) == 32


def test_boiling():
    assert to_fahrenheit(100) == 212


def test_negative_forty():
    assert to_fahrenheit(-40) == -40
"""


def structured(code: str, tests: str = "", explanation: str = "Converts with the usual formula.") -> str:
    """An answer as the model sends it under ``response_format`` / a llama.cpp grammar."""
    return json.dumps({"code": code, "tests": tests, "explanation": explanation})


WRONG_REVERSE = structured("def reverse_string(text):\n    return text\n")
RIGHT_REVERSE = structured(
    "def reverse_string(text):\n    return text[::-1]\n", explanation="Slices backwards."
)
WRONG_CELSIUS = structured("def to_fahrenheit(c):\n    return c * 9 / 5\n", CELSIUS_TESTS)
RIGHT_CELSIUS = structured("def to_fahrenheit(c):\n    return c * 9 / 5 + 32\n")
FENCED_WRONG_CELSIUS = (
    "```python\ndef to_fahrenheit(c):\n    return c * 9 / 5\n```\n```python\n" + CELSIUS_TESTS + "```\n"
)
FENCED_RIGHT_CELSIUS = "```python\ndef to_fahrenheit(c):\n    return c * 9 / 5 + 32\n```\n"


def saw_failure(body: dict[str, Any]) -> bool:
    """Whether the request carries the sandbox's failure report (a repair round)."""
    return any("failed in the sandbox" in m["content"] for m in body["messages"] if m["role"] == "user")


def service(
    library: RecipeLibrary,
    provider: ChatProvider | None = None,
    *,
    sandbox: CodeSandbox | str | None = "local",
    max_repairs: int = 3,
    promoted: Promoted | None = None,
    time_budget_s: float | None = None,
) -> CodeGenService:
    box = LocalPython() if isinstance(sandbox, str) else sandbox
    return CodeGenService(
        library,
        box,
        llm=lambda: provider,
        max_repairs=lambda: max_repairs,
        promoted=promoted,
        time_budget_s=time_budget_s,
    )


def chat(url: str, bus: EventBus | None = None) -> ChatProvider:
    return ChatProvider(LlmConfig(base_url=url, model="fake-coder"), publish=bus.publish if bus else None)


# --- without a model ----------------------------------------------------------------------------


async def test_the_library_answers_without_a_model_and_says_so(library: RecipeLibrary) -> None:
    result = await service(library).answer(REVERSE, query_id="q1")
    report = result["test_report"]
    assert report["tested"] and report["passed"] == 5 and report["failed"] == 0 and report["status"] == "ok"
    assert report["bench_ns"] > 0
    assert result["data"]["source"] == "library" and result["data"]["attempts"] == 1
    assert result["data"]["passed"] is True and result["data"]["recipe"] == "reverse_string"
    assert "✓ All 5 tests passed" in result["response"]
    assert "No LLM backend is configured" in result["response"]
    assert result["code"] == library.get("reverse_string").code  # type: ignore[union-attr]


async def test_without_a_sandbox_nothing_is_called_tested(library: RecipeLibrary) -> None:
    result = await service(library, sandbox=None).answer(REVERSE)
    assert result["test_report"]["tested"] is False and result["test_report"]["status"] == "unavailable"
    assert result["data"]["passed"] is False
    assert "⚠ Not tested" in result["response"] and "✓" not in result["response"]


async def test_a_forged_report_from_the_sandbox_is_not_believed(library: RecipeLibrary) -> None:
    class Forger:
        async def run(self, program: str, **_: Any) -> RunReport:
            forged = "@@FAME-TESTS:" + "0" * 32 + ":5:0:5:1:3:\n"
            return RunReport(
                run_id="f", status="ok", backend="docker", image="", limits=Limits.defaults(), stdout=forged
            )

    result = await service(library, sandbox=Forger()).answer(REVERSE)
    assert result["test_report"]["tested"] is False and "✓" not in result["response"]


async def test_an_unknown_task_without_a_model_gets_suggestions(library: RecipeLibrary) -> None:
    result = await service(library).answer("something with a queue of tasks")
    assert result["data"]["matched"] is False and result["data"]["suggestions"][0] == "queue"
    assert "No LLM backend is configured" in result["response"]
    assert "code" not in result


async def test_the_promoted_evolved_version_is_the_answer(library: RecipeLibrary, tmp_path: Path) -> None:
    store = PromotionStore(tmp_path / "evolution")
    evolved = "def reverse_string(text):\n    return text[::-1]\n"
    store.save_run(
        {
            "id": "run1",
            "recipe_id": "reverse_string",
            "status": "finished",
            "started_at": time.time(),
            "winner": {"code": evolved, "fitness": {"correct": True, "bench_ns": 1}},
        }
    )
    store.promote("run1", approved_by="test")
    promoted = promoted_source(PromotionStore(tmp_path / "evolution"))
    svc = service(library, promoted=promoted)
    result = await svc.answer(REVERSE)
    assert result["code"] == evolved and result["data"]["source"] == "evolved v1"
    assert (
        result["test_report"]["passed"] == 5 and "admin-approved evolved implementation" in result["response"]
    )
    store.rollback("reverse_string", by="test")
    again = await svc.answer(REVERSE)
    assert again["data"]["source"] == "library" and again["code"] != evolved


async def test_a_damaged_promotion_record_falls_back_to_the_library(
    library: RecipeLibrary, tmp_path: Path
) -> None:
    folder = tmp_path / "evolution" / "promotions"
    folder.mkdir(parents=True)
    (folder / "reverse_string.json").write_text("{not json")
    promoted = promoted_source(PromotionStore(tmp_path / "evolution"))
    result = await service(library, promoted=promoted).answer(REVERSE)
    assert result["data"]["source"] == "library" and result["test_report"]["passed"] == 5


# --- the repair loop ----------------------------------------------------------------------------


async def test_repair_loop_fixes_a_wrong_first_answer_with_the_library_tests(library: RecipeLibrary) -> None:
    bus = EventBus()
    tokens: list[LlmToken] = []
    bus.subscribe(LlmToken, tokens.append)
    with FakeOpenAI(lambda body: Reply(RIGHT_REVERSE if saw_failure(body) else WRONG_REVERSE)) as server:
        result = await service(library, chat(server.url, bus)).answer(REVERSE, query_id="q7")
    data, report = result["data"], result["test_report"]
    assert data["attempts"] == 2 and data["passed"] is True
    assert data["source"] == "llm: fake-coder @ 127.0.0.1"
    assert report["tested"] and report["passed"] == 5 and report["failed"] == 0
    assert "text[::-1]" in result["code"] and result["tests"] == library.get("reverse_string").tests  # type: ignore[union-attr]
    assert [a["passed"] for a in data["attempt_log"]] == [2, 5]
    assert data["attempt_log"][0]["failed"] == 3
    assert "Attempts: 2." in result["response"] and "✓ All 5 tests passed" in result["response"]
    # The second request carried the wrong answer and the failure, with a traceback.
    second = server.requests[1]["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert json.loads(second[2]["content"])["code"].endswith("return text\n")
    assert "test_word: AssertionError" in second[3]["content"] and "<tests>" in second[3]["content"]
    assert "def test_word" in server.requests[0]["messages"][1]["content"]  # the library's tests
    # Structured output: every request asks for the code/tests/explanation object.
    for request in server.requests:
        fmt = request["response_format"]
        assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
        assert fmt["json_schema"]["schema"]["required"] == ["code", "tests", "explanation"]
    assert data["llm_backend"] == "openai" and data["llm_model"] == "fake-coder"
    assert "Slices backwards." in result["response"]  # the model's own explanation
    # Tokens streamed on the bus for the chat pane, tagged with the query.
    assert tokens and {t.query_id for t in tokens} == {"q7"}
    assert "".join(t.text for t in tokens).count("def reverse_string") == 2


async def test_repair_loop_with_tests_written_by_the_model(library: RecipeLibrary) -> None:
    assert OfflineGenerator(library).generate(CELSIUS) is None
    with FakeOpenAI(lambda body: Reply(RIGHT_CELSIUS if saw_failure(body) else WRONG_CELSIUS)) as server:
        result = await service(library, chat(server.url)).answer(CELSIUS)
    data, report = result["data"], result["test_report"]
    assert data["attempts"] == 2 and data["passed"] is True and data["recipe"] is None
    assert report["passed"] == 3 and report["failed"] == 0
    assert "test_boiling" in result["tests"] and "+ 32" in result["code"]
    assert "test_freezing" not in result["code"]
    assert (
        "fix the implementation (and a test only if" in server.requests[1]["messages"][3]["content"].lower()
    )


async def test_an_endpoint_that_ignores_response_format_still_gets_repaired(library: RecipeLibrary) -> None:
    def answer(body: dict[str, Any]) -> Reply:
        return Reply(FENCED_RIGHT_CELSIUS if saw_failure(body) else FENCED_WRONG_CELSIUS)

    with FakeOpenAI(answer) as server:
        result = await service(library, chat(server.url)).answer(CELSIUS)
    assert result["data"]["attempts"] == 2 and result["data"]["passed"] is True
    assert result["test_report"]["passed"] == 3 and "test_boiling" in result["tests"]


async def test_an_answer_cut_off_mid_json_is_not_run_and_is_asked_again(library: RecipeLibrary) -> None:
    def answer(body: dict[str, Any]) -> Reply:
        retry = any("was not run" in m["content"] for m in body["messages"] if m["role"] == "user")
        return Reply(WRONG_CELSIUS.replace("c * 9 / 5", "c * 9 / 5 + 32") if retry else WRONG_CELSIUS[:70])

    with FakeOpenAI(answer) as server:
        result = await service(library, chat(server.url)).answer(CELSIUS)
    log = result["data"]["attempt_log"]
    assert [a["tested"] for a in log] == [False, True] and result["data"]["passed"] is True
    assert "is not valid JSON" in server.requests[1]["messages"][3]["content"]


async def test_code_without_tests_is_never_called_tested(library: RecipeLibrary) -> None:
    no_tests = structured("def to_fahrenheit(c):\n    return c * 9 / 5 + 32\n")
    broken_tests = structured("def to_fahrenheit(c):\n    return c * 9 / 5 + 32\n", "def test_x(:\n")
    for answer, why in ((no_tests, "wrote no test_* functions"), (broken_tests, "tests do not parse")):
        with FakeOpenAI(lambda body, a=answer: Reply(a)) as server:
            result = await service(library, chat(server.url), max_repairs=1).answer(CELSIUS)
        assert len(server.requests) == 2
        assert result["data"]["tested"] is False and result["data"]["passed"] is False
        assert "Not tested after 1 repair(s)" in result["response"] and why in result["response"]
        assert "⚠ Not tested" in result["response"] and "✓" not in result["response"]


async def test_a_model_that_never_gets_it_right_is_reported_as_failing(library: RecipeLibrary) -> None:
    with FakeOpenAI(lambda body: Reply(WRONG_CELSIUS)) as server:
        result = await service(library, chat(server.url), max_repairs=2).answer(CELSIUS)
    assert len(server.requests) == 3
    assert result["data"]["attempts"] == 3 and result["data"]["passed"] is False
    assert result["test_report"]["tested"] and result["test_report"]["failed"] == 3
    assert "✗ 3 of 3 tests failed" in result["response"] and "✓" not in result["response"]
    assert "Tests failed after 2 repair(s)" in result["response"]
    assert result["data"]["llm_backend"] == "openai" and result["data"]["llm_model"] == "fake-coder"


async def test_a_failing_model_on_a_library_task_falls_back_to_the_library(library: RecipeLibrary) -> None:
    with FakeOpenAI(lambda body: Reply(WRONG_REVERSE)) as server:
        result = await service(library, chat(server.url), max_repairs=1).answer(REVERSE)
    assert len(server.requests) == 2 and result["data"]["attempts"] == 2
    assert result["data"]["source"] == "library" and result["data"]["passed"] is True
    assert "Showing the built-in library's implementation instead" in result["response"]


async def test_an_unreachable_model_falls_back_or_says_why(library: RecipeLibrary) -> None:
    error = {"error": {"message": "model overloaded"}}
    with FakeOpenAI(lambda body: Reply(status=500, error=error)) as server:
        matched = await service(library, chat(server.url)).answer(REVERSE)
        unknown = await service(library, chat(server.url)).answer(CELSIUS)
    assert matched["data"]["source"] == "library" and matched["test_report"]["passed"] == 5
    assert "HTTP 500: model overloaded" in matched["response"]
    assert unknown["data"]["matched"] is False and unknown["error"]["code"] == "llm_error"


async def test_the_loop_stops_starting_rounds_when_its_time_budget_is_spent(library: RecipeLibrary) -> None:
    with FakeOpenAI(lambda body: Reply(WRONG_CELSIUS, first_delay=0.4)) as server:
        svc = service(library, chat(server.url), max_repairs=5, time_budget_s=0.6)
        result = await svc.answer(CELSIUS)
    assert len(server.requests) == 1 and result["data"]["attempts"] == 1
    assert "time budget of 0.6 s is spent" in result["response"] and result["data"]["passed"] is False


async def test_no_sandbox_stops_the_loop_after_one_untested_round(library: RecipeLibrary) -> None:
    with FakeOpenAI(lambda body: Reply(WRONG_CELSIUS)) as server:
        result = await service(library, chat(server.url), sandbox=None).answer(CELSIUS)
    assert len(server.requests) == 1 and result["data"]["attempts"] == 1
    assert result["test_report"]["tested"] is False and "⚠ Not tested" in result["response"]


@pytest.mark.parametrize(
    ("answer", "code_has", "tests_has"),
    [
        (
            "```python\ndef f():\n    return 1\n\ndef test_f():\n    assert f() == 1\n```",
            "def f",
            "def test_f",
        ),
        ("def f():\n    return 1\n", "def f", ""),
        (
            "Sure!\n```py\nimport math\nfrom solution import f\ndef f():\n    return math.pi\n```\n",
            "import math",
            "",
        ),
    ],
)
def test_answers_are_split_into_code_and_tests(answer: str, code_has: str, tests_has: str) -> None:
    from fame_desktop.orchestrator.codegen.repair import split_answer

    code, tests = split_answer(answer)
    assert code_has in code and "def test_" not in code and "from solution" not in code
    assert (tests_has in tests) if tests_has else tests == ""


@pytest.mark.parametrize(
    ("answer", "code_has", "tests_has", "problem"),
    [
        (
            structured("def f():\n    return {}\n", "def test_f():\n    assert f() == {}\n"),
            "return {}",
            "def test_f",
            "",
        ),
        # Tests the model put in "code" move to the tests; helpers in "tests" stay with them.
        (
            structured("def f():\n    return 1\n\ndef test_f():\n    assert f() == 1\n"),
            "def f",
            "def test_f",
            "",
        ),
        (
            structured(
                "```python\nimport math\ndef f():\n    return math.pi\n```",
                "from solution import f\nH = 3\ndef test_h():\n    assert H\n",
            ),
            "import math",
            "H = 3",
            "",
        ),
        ("```python\ndef f():\n    return {}\n```", "return {}", "", ""),
        # llama.cpp's JSON grammar lets raw control characters into strings: still an answer.
        (
            '{"code": "def f():\\n    return 1\\n", "tests": "", "explanation": "odd\x06 byte"}',
            "return 1",
            "",
            "",
        ),
        ('{"code": "def f():', "", "", "not valid JSON"),
        (structured("   "), "", "", 'empty "code"'),
        ("I cannot help with that.", "I cannot", "", ""),
    ],
)
def test_structured_answers_are_read_into_code_and_tests(
    answer: str, code_has: str, tests_has: str, problem: str
) -> None:
    from fame_desktop.orchestrator.codegen.repair import read_answer

    got = read_answer(answer)
    assert problem in got.problem if problem else got.problem == ""
    assert code_has in got.code and "def test_" not in got.code and "from solution" not in got.tests
    assert (tests_has in got.tests) if tests_has else got.tests == ""


def test_the_answer_budget_leaves_room_for_the_prompt() -> None:
    from fame_desktop.orchestrator.llm.structured import answer_budget

    assert answer_budget(None, 2048) == 2048  # endpoints do not say their context
    assert answer_budget(4096, 2048) == 1365 and answer_budget(32768, 2048) == 2048
    assert answer_budget(256, 2048) == 128
