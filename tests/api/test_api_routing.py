"""The REST API asks which intent was meant when routing is a near tie, like the window and CLI."""

from __future__ import annotations

from api_harness import Server


def test_ambiguous_query_returns_the_question_and_the_choice_answers(server: Server) -> None:
    text = "search sorting algorithms"
    with server.client() as client:
        asked = client.post("/query", json={"text": text, "params": {"conversation_id": "api-1"}}).json()
        options = [o["intent"] for o in asked["data"]["clarify"]["options"]]
        assert set(options) == {"generate_code", "web_search"}
        assert asked["plugins"] == []
        chosen = client.post(
            "/query",
            json={
                "text": text,
                "intent": "web_search",
                "params": {"conversation_id": "api-1", "clarify_options": options},
            },
        ).json()
        assert chosen["intent"] == "web_search" and chosen["plugins"] == ["web_scraper"]
        remembered = client.post("/query", json={"text": text, "params": {"conversation_id": "api-1"}}).json()
        assert remembered["intent"] == "web_search" and "clarify" not in remembered["data"]
