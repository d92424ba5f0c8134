"""evolution_engine: a clear not_available until the runner exists, then it hands the request over."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plugin_harness import Harness


class RecordingRunner:
    """The smallest real runner: answers with a summary of the task it was given."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    async def run_from_request(self, request: dict[str, Any]) -> dict[str, Any]:
        self.seen.append(request)
        return {"response": f"Evolved: {request['text']}", "data": {"generations": 3}}


async def test_without_a_runner_evolution_is_not_available(plugin: Callable[..., Harness]) -> None:
    result = await plugin("evolution_engine").ask("evolve a faster fibonacci", "evolution")
    assert result["error"]["code"] == "not_available"
    assert "Evolution cycles are not available in this build yet" in result["error"]["message"]


async def test_with_a_runner_the_request_is_passed_on(plugin: Callable[..., Harness]) -> None:
    runner = RecordingRunner()
    result = await plugin("evolution_engine", evolution=lambda: runner).ask(
        "evolve a faster fibonacci", "evolution"
    )
    assert result == {"response": "Evolved: evolve a faster fibonacci", "data": {"generations": 3}}
    assert runner.seen[0]["intent"] == "evolution"
