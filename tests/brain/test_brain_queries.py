"""The Brain end to end over the real plugins: routing, safety answers, validation, audit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from plugin_trust import approve_plugins
from pydantic import TypeAdapter

from fame_desktop.app import App
from fame_desktop.orchestrator.events import QueryCompleted, QueryRouted
from fame_desktop.orchestrator.query import RESPONSE_FIELDS, QueryResponse

# Every field of the declared response model is always present, except ``tests`` (only with code).
RESPONSE_KEYS = set(RESPONSE_FIELDS) - {"tests"}


async def test_response_object_has_every_public_field(app: App) -> None:
    response = await app.brain.handle_query({"text": "what is 6 * 7"})
    assert set(response) >= RESPONSE_KEYS
    TypeAdapter(QueryResponse).validate_python(response)  # and of the declared types
    assert response["intent"] == "calculate"
    assert "42" in response["response"]
    assert response["error"] is None
    assert response["plugins"] == ["calculator"]
    assert response["processing_time_ms"] > 0


async def test_market_query_answers_network_disabled_with_the_fix(app: App) -> None:
    response = await app.brain.handle_query({"text": "What is BTC price today?"})
    assert response["intent"] == "market_analysis"
    assert response["error"]["code"] == "network_disabled"
    assert "Settings" in response["error"]["message"]


async def test_security_test_is_capability_disabled_by_default(app: App) -> None:
    response = await app.brain.handle_query(
        {"text": "Test penetration of example.com", "intent": "security_test"}
    )
    assert response["error"]["code"] == "capability_disabled"


async def test_evolution_needs_admin(app: App) -> None:
    response = await app.brain.handle_query({"text": "evolve a faster fibonacci", "intent": "evolution"})
    assert response["error"]["code"] == "admin_required"


async def test_explicit_intent_wins_over_inference(app: App) -> None:
    response = await app.brain.handle_query({"text": "hello there", "intent": "system_info"})
    assert response["intent"] == "system_info"
    assert response["confidence"] == 1.0


@pytest.mark.parametrize(
    ("request_body", "fragment"),
    [
        ({"text": 5}, "'text'"),
        ({"text": ""}, "'text'"),
        ({"text": "   "}, "empty"),
        ({"text": "x" * 4001}, "'text'"),
        ({"text": "hi\x00there"}, "control characters"),
        ({"text": "hi", "colour": "red"}, "'colour' is not an allowed field"),
        ({"text": "hi", "intent": "launch_missiles"}, "unknown intent"),
        ({"text": "hi", "user": ["x"]}, "'user'"),
        ({}, "'text'"),
    ],
)
async def test_bad_requests_get_invalid_request_and_are_audited(
    app: App, request_body: dict[str, object], fragment: str
) -> None:
    before = len(app.audit)
    response = await app.brain.handle_query(request_body)
    assert response["error"]["code"] == "invalid_request"
    assert fragment in response["error"]["message"]
    assert len(app.audit) == before + 1
    assert app.audit[-1].kind == "query_rejected"


async def test_non_dict_request_is_rejected(app: App) -> None:
    response = await app.brain.handle_query(["not", "a", "dict"])  # type: ignore[arg-type]
    assert response["error"]["code"] == "invalid_request"


async def test_every_query_leaves_query_routing_result_and_completion_in_the_audit(app: App) -> None:
    response = await app.brain.handle_query({"text": "what is 2 + 2", "user": "ana"})
    kinds = [e.kind for e in app.audit[-4:]]
    assert kinds == ["query", "routing", "plugin_result", "query_completed"]
    assert app.audit[-1].id == response["audit_id"]
    assert app.audit[-4].actor == "python:ana"


async def test_events_are_published_for_a_query(app: App) -> None:
    seen: list[object] = []
    app.bus.subscribe(QueryRouted, seen.append)
    app.bus.subscribe(QueryCompleted, seen.append)
    await app.brain.handle_query({"text": "hello"})
    assert [type(e).__name__ for e in seen] == ["QueryRouted", "QueryCompleted"]


async def test_cancelled_query_is_audited(app: App, data_dir: Path) -> None:
    (app.paths.plugins / "slowpoke.py").write_text(SLOW_PLUGIN)
    approve_plugins(app.paths.root)
    app.services.plugins.rescan()
    task = asyncio.create_task(app.brain.handle_query({"text": "slowpoke please", "intent": "chat"}))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert app.audit[-1].kind == "query_cancelled"


SLOW_PLUGIN = """
import asyncio
PLUGIN = {"name": "slowpoke", "version": "1.0", "description": "Slow.", "intents": {"chat": ["slowpoke"]},
          "priority": 10}
async def handle(request):
    await asyncio.sleep(30)
    return {"response": "late"}
"""
