"""Each API error comes with the fitting HTTP status and the same body shape (``error.code``)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_harness import Server, start_server, stop_server

from fame_desktop.api import ApiServerHandle
from fame_desktop.api.statuses import DEFAULT_STATUS, STATUS_BY_CODE, http_status
from fame_desktop.app import App


def _error_code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


def test_a_good_query_is_200(server: Server) -> None:
    with server.client() as c:
        r = c.post("/query", json={"text": "6 * 7", "intent": "calculate"})
    assert r.status_code == 200 and r.json()["error"] is None


def test_400_invalid_request(server: Server) -> None:
    with server.client() as c:
        r = c.post("/evolution/run", json={"task": "   ", "population_size": 2})
    assert (r.status_code, _error_code(r)) == (400, "invalid_request")


def test_401_and_403_keys(server: Server) -> None:
    with server.anonymous() as c:
        r = c.post("/query", json={"text": "6 * 7"})
    assert (r.status_code, _error_code(r)) == (401, "api_key_required")
    with server.client(key="fame_" + "x" * 40) as c:
        r = c.get("/plugins")
    assert (r.status_code, _error_code(r)) == (403, "api_key_invalid")


def test_404_unknown_plugin(server: Server) -> None:
    with server.client() as c:
        r = c.get("/plugins/no_such_plugin")
        assert (r.status_code, _error_code(r)) == (404, "plugin_not_found")
        assert "no_such_plugin" in r.json()["error"]["message"]
        known = c.get("/plugins/calculator")
    assert known.status_code == 200 and known.json()["name"] == "calculator"


def test_409_refused_by_a_setting_keeps_the_query_response(server: Server) -> None:
    with server.client() as c:
        r = c.post("/query", json={"text": "search the web for qt layouts", "intent": "web_search"})
    body = r.json()
    assert (r.status_code, _error_code(r)) == (409, "network_disabled")
    # The same object as `fame ask --json`: the error sits in the query response.
    assert body["intent"] == "web_search" and body["audit_id"] and body["response"]


def test_422_schema_and_what_a_plugin_cannot_do(server: Server) -> None:
    with server.client() as c:
        schema = c.post("/query", json={"text": 5})
        assert (schema.status_code, _error_code(schema)) == (422, "invalid_request")
        r = c.post("/query", json={"text": "1 / 0", "intent": "calculate"})
    assert (r.status_code, _error_code(r)) == (422, "division_by_zero")
    assert r.json()["plugins"] == ["calculator"]


def test_the_openapi_document_lists_the_statuses(server: Server) -> None:
    with server.anonymous() as c:
        spec = c.get("/openapi.json").json()
    query = spec["paths"]["/query"]["post"]["responses"]
    assert {"200", "400", "401", "403", "404", "409", "422", "429", "500", "502", "503", "504"} <= set(query)
    assert "503" in spec["paths"]["/evolution/run"]["post"]["responses"]
    assert "404" in spec["paths"]["/plugins/{name}"]["get"]["responses"]


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with no Docker engine, the calculator off, and 5 requests a minute."""
    dead = tmp_path_factory.mktemp("dead") / "dead.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(dead))
    sock.close()
    srv = start_server(
        tmp_path_factory.mktemp("api-broken"),
        settings={
            "sandbox.docker_host": f"unix://{dead}",
            "plugins.disabled": ["calculator"],
            "api.rate_limit_per_minute": 5,
        },
    )
    yield srv
    stop_server(srv)


def test_404_503_429_on_a_server_missing_parts(broken: Server) -> None:
    with broken.client() as c:
        r = c.post("/evolution/run", json={"task": "string reversal", "population_size": 2})
        assert (r.status_code, _error_code(r)) == (503, "sandbox_unavailable")
        assert "Fix:" in r.json()["error"]["message"]
        r = c.post("/query", json={"text": "6 * 7", "intent": "calculate"})
        assert (r.status_code, _error_code(r)) == (404, "plugin_not_found")
        codes = [c.get("/plugins").status_code for _ in range(4)]
    assert codes[-1] == 429, codes


async def test_500_when_the_server_fails(app: App, tmp_path: Path) -> None:
    key = app.safety.create_first_key(actor="test")
    handle = ApiServerHandle()
    url = await handle.start(app, port=0)
    try:
        app.audit.close()  # the audit database is gone: nothing can be answered safely
        async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}) as c:
            r = await c.get("/audit")
        assert (r.status_code, _error_code(r)) == (500, "internal_error")
    finally:
        await handle.stop()


def test_every_code_has_one_status() -> None:
    # A plugin that raises, or one that does not answer in time (its manifest sets the limit).
    assert http_status("plugin_error") == 500 and http_status("timeout") == 504
    assert http_status("some_plugin_code") == DEFAULT_STATUS == 422
    assert http_status("unknown_coin") == 404 and http_status("upstream_error") == 502
    assert all(400 <= s < 600 for s in STATUS_BY_CODE.values())
