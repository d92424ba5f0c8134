"""The chat input's history (Up and Down walk it), headless."""

from __future__ import annotations

from fame_desktop.orchestrator.conversation_model import InputHistory


def test_input_history_walks_back_and_forth_and_keeps_the_draft() -> None:
    history = InputHistory(limit=3)
    assert history.older("draft") is None and history.newer() is None
    for text in ("one", "two", "two", "three", "four"):
        history.add(text)
    assert history.entries == ["two", "three", "four"]  # no consecutive duplicates, the limit kept
    assert history.older("my draft") == "four"
    assert history.older("ignored") == "three"
    assert history.older("ignored") == "two"
    assert history.older("ignored") == "two"  # the oldest stays
    assert history.newer() == "three"
    assert history.newer() == "four"
    assert history.newer() == "my draft"
    assert history.newer() is None
    history.add("five")
    assert history.older("") == "five"
