"""``POST /query`` answered by the gate's fast path equals FastAPI's answer, errors included.

A body sent as exactly ``application/json`` without an ``Origin`` header takes the fast path; the
same body as ``application/json; charset=utf-8`` goes through FastAPI's routing. Both must give
the same status, headers and body (but for the per-query id, time and audit id).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from api_harness import Server

FAST = {"content-type": "application/json"}
ROUTED = {"content-type": "application/json; charset=utf-8"}
PER_QUERY = ("id", "processing_time_ms", "audit_id")


def _post(server: Server, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
    with server.client() as c:
        r = c.post("/query", content=body, headers=headers)
    kept = {k: v for k, v in r.headers.items() if k not in ("date", "content-length")}
    return r.status_code, kept, r.json()


@pytest.mark.parametrize(
    "body",
    [
        {"text": "what is 12 * 12", "intent": "calculate", "user": "ana"},
        {"text": "1 / 0", "intent": "calculate"},  # the plugin's own error: 422 with the query body
        {"text": "hello", "intent": "no_such_intent"},  # refused by the Brain's parser
        {"text": "what is 2 + 2", "source": "seed-client", "params": {"a": 1}},
    ],
)
def test_answers_match_the_routed_path(server: Server, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    fast = _post(server, raw, FAST)
    routed = _post(server, raw, ROUTED)
    assert fast[0] == routed[0] and fast[1] == routed[1]
    if isinstance(fast[2], dict) and "response" in fast[2]:
        for key in PER_QUERY:
            fast[2].pop(key, None), routed[2].pop(key, None)
    assert fast[2] == routed[2]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"text": "2+2", "surprise": 1}',  # unknown field
        b'{"text": 5}',  # wrong type
        b'{"text": "2+2"',  # not JSON
        b"",  # no body
        b"[1, 2]",  # not an object
    ],
)
def test_invalid_bodies_get_fastapis_own_answer(server: Server, raw: bytes) -> None:
    fast = _post(server, raw, FAST)
    routed = _post(server, raw, ROUTED)
    assert fast == routed
    assert fast[0] == 422 and fast[2]["error"]["code"] == "invalid_request"


def test_a_cors_request_still_gets_its_headers(server: Server) -> None:
    with server.client() as c:
        r = c.post(
            "/query",
            json={"text": "what is 3 * 3", "intent": "calculate"},
            headers={"origin": "http://example.invalid"},
        )
    assert r.status_code == 200 and "9" in r.json()["response"]
    # The default allows no origin: CORS answers without an allow-origin header, as before.
    assert "access-control-allow-origin" not in r.headers
    assert r.headers.get("vary") == "Origin"
