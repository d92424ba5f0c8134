"""Routing with a language model: consulted only when no plugin is confident, never otherwise."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from fame_desktop.app import App
from fame_desktop.orchestrator.llm import ChatProvider, LlmConfig
from fame_desktop.orchestrator.route_consult import model_route
from fame_desktop.orchestrator.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))
from openai_fake import FakeOpenAI, Reply

#: "What time is it now?" in Korean: the classifier knows none of it and no keyword matches.
UNKNOWN_TO_THE_ROUTER = "지금 몇 시야?"
CONFIDENT = ["show me the status of the sandbox", "what is 12 * 12", "find articles about rust"]


def choose(intent: str) -> Any:
    def responder(body: dict[str, Any]) -> Reply:
        return Reply(json.dumps({"intent": intent}))

    return responder


def use_model(app: App, url: str) -> None:
    app.services.settings.update({"llm.base_url": url, "llm.model": "fake-router"}, admin=True)


async def test_the_model_is_not_asked_when_the_router_is_confident(app: App) -> None:
    with FakeOpenAI(choose("chat")) as server:
        use_model(app, server.url)
        for text in CONFIDENT:
            route = app.brain.router.route(text)
            assert not route.uncertain, text
            response = await app.brain.handle_query({"text": text})
            assert response["intent"] == route.intent
    assert server.requests == []  # not one classification request


async def test_an_uncertain_query_is_routed_by_the_models_constrained_choice(app: App) -> None:
    assert app.brain.router.route(UNKNOWN_TO_THE_ROUTER).uncertain
    without = await app.brain.handle_query({"text": UNKNOWN_TO_THE_ROUTER})
    assert without["intent"] == "chat"  # no model configured: today's fallback
    with FakeOpenAI(choose("system_info")) as server:
        use_model(app, server.url)
        response = await app.brain.handle_query({"text": UNKNOWN_TO_THE_ROUTER})
    assert response["intent"] == "system_info" and response["plugins"] == ["system_info"]
    assert response["error"] is None
    request = server.requests[0]
    schema = request["response_format"]["json_schema"]["schema"]
    offered = schema["properties"]["intent"]["enum"]
    assert {"chat", "system_info", "calculate", "generate_code"} <= set(offered)
    assert "security_test" not in offered and "evolution" not in offered  # dangerous / admin-only
    assert UNKNOWN_TO_THE_ROUTER in request["messages"][-1]["content"]
    routing = app.audit.query(limit=1, kinds=["routing"])[0]
    assert routing.data["model"] == {
        "llm_backend": "openai",
        "llm_model": "fake-router",
        "choice": "system_info",
    }
    assert "chosen by the model" in routing.summary


async def test_a_failing_or_off_list_model_keeps_the_chat_fallback(app: App) -> None:
    for responder, problem in (
        (choose("launch_rockets"), "not an intent"),
        (lambda body: Reply(status=500, error={"error": {"message": "boom"}}), "boom"),
    ):
        with FakeOpenAI(responder) as server:
            use_model(app, server.url)
            response = await app.brain.handle_query({"text": UNKNOWN_TO_THE_ROUTER})
        # The route stays the chat fallback (the chat plugin then asks the same model, and says
        # so when it fails too).
        assert response["intent"] == "chat" and response["plugins"] == ["consciousness_engine"]
        routing = app.audit.query(limit=1, kinds=["routing"])[0]
        assert problem in routing.data["model"]["problem"]


async def test_only_uncertain_routes_are_offered_to_the_model() -> None:
    with FakeOpenAI(choose("calculate")) as server:
        provider = ChatProvider(LlmConfig(server.url, "fake-router"))
        sure = Route("web_search", 0.9, {"web_search": 0.9})
        explicit = Route("chat", 1.0, {"chat": 1.0}, explicit=True)
        unsure = Route("chat", 0.21, {"calculate": 0.21, "chat": 0.2}, uncertain=True)
        assert (await model_route(provider, "x", sure, ["calculate"]))[0] is sure
        assert (await model_route(provider, "x", explicit, ["calculate"]))[0] is explicit
        assert server.requests == []
        chosen, info = await model_route(provider, "x", unsure, ["calculate"])
    assert chosen.intent == "calculate" and chosen.decided_by == "model" and info["choice"] == "calculate"
    assert server.requests[0]["response_format"]["json_schema"]["schema"]["properties"]["intent"]["enum"] == [
        "calculate",
        "chat",
    ]
