"""Architecture design with a model: grounded in the knowledge base's patterns, honest on failure."""

from __future__ import annotations

from typing import Any

from openai_fake import FakeOpenAI, Reply

from fame_desktop.app import App
from fame_desktop.orchestrator.architecture_service import ArchitectureService
from fame_desktop.orchestrator.codegen import ArchitectureKB
from fame_desktop.orchestrator.llm import ChatProvider, LlmConfig

ASK = "design a multi-tenant SaaS on PostgreSQL with an audit trail of every change"
DESIGN = "## Tenancy\n\nOne schema per tenant in PostgreSQL; an append-only `events` table per tenant.\n"


def chat(url: str) -> ChatProvider:
    return ChatProvider(LlmConfig(base_url=url, model="fake-architect"))


async def test_the_model_designs_the_system_asked_for_grounded_in_the_matched_patterns(
    kb: ArchitectureKB,
) -> None:
    with FakeOpenAI(lambda body: Reply(DESIGN)) as server:
        service = ArchitectureService(kb, llm=lambda: chat(server.url))
        answer = await service.answer(ASK, query_id="q1")
    matched = kb.advise(ASK).patterns
    prompt = server.requests[0]["messages"][1]["content"]
    assert ASK in prompt
    for pattern, _score in matched:  # every matched pattern grounds the prompt, with its trade-offs
        assert f"### {pattern.name}" in prompt and pattern.summary in prompt
        assert pattern.cons[0] in prompt and pattern.components[0] in prompt
    assert "event_sourcing" in [p.id for p, _ in matched]
    assert answer["markdown"].startswith(DESIGN.strip())
    assert "Grounded in the knowledge base's patterns: " + matched[0][0].name in answer["markdown"]
    assert answer["source"] == "llm" and answer["llm_backend"] == "openai"
    assert answer["llm_model"] == "fake-architect"
    assert [p["id"] for p in answer["patterns"]] == [p.id for p, _ in matched]


async def test_without_a_model_or_when_it_fails_the_knowledge_base_answers(kb: ArchitectureKB) -> None:
    plain = await ArchitectureService(kb).answer(ASK)
    assert plain["markdown"] == kb.advise(ASK).markdown and plain["source"] == "knowledge_base"
    assert "llm_backend" not in plain
    error = {"error": {"message": "model overloaded"}}
    with FakeOpenAI(lambda body: Reply(status=503, error=error)) as server:
        failed = await ArchitectureService(kb, llm=lambda: chat(server.url)).answer(ASK)
    assert failed["markdown"].startswith(kb.advise(ASK).markdown)
    assert "model overloaded" in failed["markdown"] and failed["source"] == "knowledge_base"
    assert "llm_backend" not in failed


async def test_architecture_queries_through_the_brain_name_the_model(app: App) -> None:
    def answer(body: dict[str, Any]) -> Reply:
        return Reply(DESIGN)

    with FakeOpenAI(answer) as server:
        app.services.settings.update({"llm.base_url": server.url, "llm.model": "fake-architect"}, admin=True)
        response = await app.brain.handle_query({"text": ASK, "intent": "architecture_design"})
    assert response["error"] is None, response["error"]
    assert response["response"].startswith(DESIGN.strip())
    data = response["data"]
    assert (
        data["source"] == "llm" and data["llm_backend"] == "openai" and data["llm_model"] == "fake-architect"
    )
    assert data["patterns"] and server.requests[0]["messages"][0]["role"] == "system"
