"""Every endpoint of a real ``fame serve`` over HTTP, with a valid key."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from api_harness import Server

from fame_desktop.orchestrator.query import RESPONSE_FIELDS

FAME = str(Path(sys.executable).with_name("fame"))


def test_health_is_public_and_short(server: Server) -> None:
    with server.anonymous() as c:
        r = c.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["plugins_loaded"] >= 2
    # Without a key the caller learns nothing about paths, processes or plugins' errors.
    assert body["details"] is None
    assert str(server.data_dir) not in r.text


def test_health_with_key_has_the_full_status(server: Server) -> None:
    with server.client() as c:
        details = c.get("/health").json()["details"]
    assert details["data_dir"] == str(server.data_dir.resolve())
    assert "calculator" in details["plugins"]["loaded"]


def test_query_answers_with_the_cli_response_object(server: Server, tmp_path: Path) -> None:
    with server.client() as c:
        r = c.post("/query", json={"text": "what is 12 * 12", "intent": "calculate", "user": "ana"})
    assert r.status_code == 200
    body = r.json()
    assert body["error"] is None
    assert "144" in body["response"]
    assert body["plugins"] == ["calculator"]
    assert isinstance(body["audit_id"], int)
    cli = subprocess.run(
        [FAME, "--data-dir", str(tmp_path), "ask", "--json", "what is 12 * 12"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert set(json.loads(cli.stdout)) == set(body)


def test_query_is_audited_with_source_api(server: Server) -> None:
    with server.client() as c:
        body = c.post("/query", json={"text": "7 + 8", "source": "ui", "user": "bob"}).json()
        entries = c.get("/audit", params={"limit": 50}).json()
    query = next(e for e in entries if e["kind"] == "query" and e["data"]["id"] == body["id"])
    # The client cannot pretend to be the window: the server sets the source.
    assert query["data"]["source"] == "api"
    assert query["actor"] == "api:bob"


def test_query_refusals_come_back_in_the_response_object(server: Server) -> None:
    with server.client() as c:
        r = c.post("/query", json={"text": "What is BTC price today?", "intent": "market_analysis"})
    # Refused by a setting an admin can change: 409, with the whole query response as the body.
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "network_disabled"
    assert r.json()["intent"] == "market_analysis"


def test_plugins_lists_every_plugin(server: Server) -> None:
    with server.client() as c:
        r = c.get("/plugins")
    assert r.status_code == 200
    names = {p["name"]: p for p in r.json()}
    assert names["calculator"]["status"] == "loaded"
    assert "calculate" in names["calculator"]["intents"]


def test_audit_returns_the_newest_entries_first(server: Server) -> None:
    with server.client() as c:
        c.post("/query", json={"text": "2 + 3"})
        entries = c.get("/audit", params={"limit": 5}).json()
    assert len(entries) == 5
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids, reverse=True)
    assert {"id", "ts", "kind", "actor", "summary", "data"} <= set(entries[0])


def test_audit_limit_is_validated(server: Server) -> None:
    with server.client() as c:
        for bad in ("0", "1001", "many"):
            r = c.get("/audit", params={"limit": bad})
            assert r.status_code == 422, bad
            assert "limit" in r.json()["error"]["message"]


@pytest.mark.docker  # every candidate runs in the sandbox
def test_evolution_run_shape(server: Server) -> None:
    with server.client() as c:
        wrong = c.post("/evolution/run", json={"population_size": "5", "task": "x"})
        r = c.post("/evolution/run", json={"population_size": 3, "task": "optimize string reversal"})
    assert wrong.status_code == 422
    assert "population_size" in wrong.json()["error"]["message"]
    assert r.status_code == 200, r.text


def test_openapi_and_docs(server: Server) -> None:
    with server.anonymous() as c:
        spec = c.get("/openapi.json").json()
        docs = c.get("/docs")
    assert {"/query", "/health", "/plugins", "/audit", "/evolution/run", "/metrics"} <= set(spec["paths"])
    schemes = spec["components"]["securitySchemes"]
    assert any(s.get("in") == "header" and s.get("name") == "X-API-Key" for s in schemes.values())
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    # The bodies are the domain's models: the client's query fields (no admin key in the body), and
    # the query response with every field always present except ``tests``.
    models = spec["components"]["schemas"]
    assert set(models["QueryIn"]["properties"]) == {"text", "intent", "user", "id", "params", "source"}
    assert models["QueryIn"]["required"] == ["text"]
    assert set(models["QueryResponse"]["required"]) == set(RESPONSE_FIELDS) - {"tests"}
    # Documented field by field (from the docstrings under the dataclass's fields), closed to others.
    response = models["QueryResponse"]
    assert list(response["properties"]) == list(RESPONSE_FIELDS)
    assert all(p.get("description") for p in response["properties"].values())
    assert response["additionalProperties"] is False
    assert models["ErrorDetail"]["required"] == ["code", "message"]


def test_unknown_path_is_404_json(server: Server) -> None:
    with server.client() as c:
        r = c.get("/nope")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
