"""Architecture advice: the right pattern for the request, a useful answer, a checked knowledge base."""

from __future__ import annotations

from pathlib import Path

import pytest

from fame_desktop.orchestrator.codegen import ArchitectureKB, RecipeError

CASES = [
    ("I need an audit trail of every change to customer accounts", "event_sourcing"),
    ("we must be able to replay history and see who changed what", "event_sourcing"),
    ("design the architecture for a chat application", "client_server_realtime"),
    ("microservices or monolith for my startup", "modular_monolith"),
    ("monolith vs microservices for a team of four", "modular_monolith"),
    ("how should I structure a plugin based desktop app", "plugin"),
    ("which architecture pattern suits a plugin based editor", "plugin"),
    ("suggest an event driven architecture for order processing", "event_driven"),
    ("design a system that ingests millions of sensor events per second", "event_driven"),
    ("our dashboards are slow, reads vastly outnumber writes", "cqrs"),
    ("keep data consistent when an order spans payment, inventory and shipping services", "saga"),
    ("backend for a side project with very spiky traffic, I don't want to manage servers", "serverless"),
    ("an ETL job that cleans and transforms log files", "pipes_and_filters"),
    ("I want the business logic testable without the database", "hexagonal"),
    ("architecture patterns for a scalable backend", "microservices"),
    ("structure the UI of a desktop app", "mvc_mvvm"),
    ("a single entry point for our mobile and web clients", "api_gateway_bff"),
    ("a simple crud app for an internal tool", "layered"),
]


def test_the_knowledge_base_is_broad(kb: ArchitectureKB) -> None:
    assert len(kb.patterns) >= 12
    for wanted in (
        "layered",
        "hexagonal",
        "microservices",
        "modular_monolith",
        "event_driven",
        "cqrs",
        "event_sourcing",
        "saga",
        "serverless",
        "plugin",
        "mvc_mvvm",
        "pipes_and_filters",
    ):
        assert wanted in kb.patterns, wanted
    for pattern in kb.patterns.values():
        assert (
            pattern.when_to_use
            and pattern.avoid_when
            and pattern.pros
            and pattern.cons
            and pattern.components
        )


@pytest.mark.parametrize(("text", "pattern_id"), CASES)
def test_requests_get_the_right_pattern_first(kb: ArchitectureKB, text: str, pattern_id: str) -> None:
    advice = kb.advise(text)
    assert advice.patterns[0][0].id == pattern_id, [(p.id, s) for p, s in kb.rank(text)[:3]]
    assert 0 < advice.patterns[0][1] <= 1


def test_the_answer_reads_well(kb: ArchitectureKB) -> None:
    advice = kb.advise("I need an audit trail of every change")
    text = advice.markdown
    assert text.startswith("## Recommended: Event sourcing")
    for section in (
        "**When to use**",
        "**Avoid when**",
        "**Trade-offs**",
        "**Components**",
        "Append-only event store",
    ):
        assert section in text
    assert "**Often combined with:** CQRS" in text
    trade = kb.advise("microservices or monolith for my startup")
    assert [p.id for p, _ in trade.patterns][:2] == ["modular_monolith", "microservices"]
    assert "## Also consider: Microservices" in trade.markdown


def test_a_vague_request_gets_a_safe_default(kb: ArchitectureKB) -> None:
    advice = kb.advise("hello there")
    assert [p.id for p, _ in advice.patterns] == ["modular_monolith", "layered"]
    assert "Modular monolith" in advice.markdown


def test_a_broken_knowledge_base_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "patterns.toml"
    bad.write_text('[[pattern]]\nid = "x"\nname = "X"\nsummary = "s"\nsignals = []\n')
    with pytest.raises(RecipeError) as info:
        ArchitectureKB.load(bad)
    assert str(bad) in info.value.message and "'signals' is empty" in info.value.message
    bad.write_text("[[pattern]\n")
    with pytest.raises(RecipeError, match="not valid TOML"):
        ArchitectureKB.load(bad)
    with pytest.raises(RecipeError, match="is missing"):
        ArchitectureKB.load(tmp_path / "none.toml")
