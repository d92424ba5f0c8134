"""Auth, rate limit, body limits, strict schemas, CORS and the audit trail of a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_harness import Server, start_server, stop_server
from fame_cli import run_fame

from fame_desktop.api.gate import RefusalLog
from fame_desktop.app import build_app
from fame_desktop.orchestrator.admin import fingerprint
from fame_desktop.orchestrator.errors import AdminRequired

FAME = str(Path(sys.executable).with_name("fame"))
PROTECTED = [
    ("POST", "/query", {"text": "2 + 2"}),
    ("GET", "/plugins", None),
    ("GET", "/audit", None),
    ("POST", "/evolution/run", {"population_size": 3, "task": "x"}),
    ("GET", "/metrics", None),
]


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
def test_no_key_is_401(server: Server, method: str, path: str, body: object) -> None:
    with server.anonymous() as c:
        r = c.request(method, path, json=body)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "ApiKey"
    assert r.json()["error"]["code"] == "api_key_required"
    assert "fame admin" in r.json()["error"]["message"]


def test_wrong_key_is_403_and_refusals_are_audited_per_client_per_minute(tmp_path: Path) -> None:
    srv = start_server(tmp_path / "flood", {"api.rate_limit_per_minute": 1000})
    try:
        with srv.client(key="fame_this-is-not-a-valid-key-000000000") as c:
            r = c.post("/query", json={"text": "2 + 2"})
            assert r.status_code == 403
            assert r.json()["error"]["code"] == "api_key_invalid"
            codes = [
                c.get("/plugins", headers={"X-API-Key": f"fame_wrong-{i:040d}"}).status_code
                for i in range(40)
            ]
        with srv.anonymous() as c:
            codes += [c.get("/plugins").status_code for _ in range(20)]
        with srv.client() as c:
            assert c.get("/plugins").status_code == 200
    finally:
        stop_server(srv)  # the pending minute is flushed on shutdown
    assert sorted(set(codes)) == [401, 403, 429]
    app = build_app(srv.data_dir)
    try:
        rows = [e for e in app.audit.query(limit=1000) if e.kind in ("api_request", "api_refused")]
    finally:
        app.services.close()
    requests = [e for e in rows if e.kind == "api_request"]
    refused = [e for e in rows if e.kind == "api_refused"]
    assert [e.data["status"] for e in requests] == [200]  # no row per refused request
    assert 1 <= len(refused) <= 2  # one per client per minute (the flood may straddle a minute)
    assert sum(e.data["count"] for e in refused) == 61
    assert all(e.actor == "api:anonymous" and e.data["client"] == "127.0.0.1" for e in refused)
    assert all(len(e.data["key_fingerprints"]) <= 10 for e in refused)
    statuses: dict[str, int] = {}
    for e in refused:
        for status, n in e.data["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    assert statuses["401"] == 20 and statuses["403"] + statuses["429"] == 41
    # The first key refused is named in its minute's row (newest rows come first when the flood
    # straddles a minute, seen on a clean CI run).
    first = fingerprint("fame_this-is-not-a-valid-key-000000000")
    assert any(first in e.data["key_fingerprints"] for e in refused), [e.data for e in refused]


def test_every_request_is_audited_with_method_path_status_duration(server: Server) -> None:
    with server.client() as c:
        c.get("/plugins")
        c.post("/query", json={"text": 5})
        # A request's row is written once its answer is sent (its status and duration are known
        # then): read the log until both rows are there.
        deadline = time.monotonic() + 10
        while True:
            entries = c.get("/audit", params={"limit": 10}).json()
            requests = [e for e in entries if e["kind"] == "api_request"]
            latest = {(e["data"]["method"], e["data"]["path"]): e for e in reversed(requests)}
            if {("GET", "/plugins"), ("POST", "/query")} <= latest.keys() or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    plugins = latest[("GET", "/plugins")]
    assert plugins["data"]["status"] == 200
    assert plugins["actor"] == f"api:{fingerprint(server.key)}"
    assert plugins["data"]["duration_ms"] >= 0
    assert latest[("POST", "/query")]["data"]["status"] == 422


def test_key_never_reaches_the_data_dir(server: Server) -> None:
    with server.client() as c:
        assert c.post("/query", json={"text": "3 * 3"}).status_code == 200
        assert c.get("/audit").status_code == 200
    needle = server.key.encode()
    for path in server.data_dir.rglob("*"):
        if path.is_file():
            assert needle not in path.read_bytes(), path


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"text": 42}', "'text'"),
        (b'{"text": "hi", "intent": 3}', "'intent'"),
        (b'{"text": "hi", "admin_key": "x"}', "'admin_key' is not an allowed field"),
        (b'{"text": "hi", "intent": "hack_the_planet"}', "unknown intent"),
        (b'{"text": "bad \\u0000 byte"}', "control characters"),
        (b'{"text": ""}', "'text'"),
        (b"[1, 2]", "body"),
    ],
)
def test_malformed_and_wrongly_typed_bodies_are_422(server: Server, body: bytes, fragment: str) -> None:
    with server.client() as c:
        r = c.post("/query", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_request"
    assert fragment in error["message"]
    assert "Traceback" not in r.text


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(
        tmp_path_factory.mktemp("api-strict"),
        {
            "api.rate_limit_per_minute": 3,
            "api.max_body_bytes": 1024,
            "api.cors_origins": ["http://allowed.example"],
        },
        extra_keys=2,
    )
    yield srv
    stop_server(srv)


def test_rate_limit_per_key_is_429_with_retry_after(strict_server: Server) -> None:
    with strict_server.client() as c:
        codes = [c.get("/plugins").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    with strict_server.client() as c:
        r = c.get("/plugins")
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) >= 1
    assert r.json()["error"]["code"] == "rate_limited"
    # Another key has its own bucket.
    with strict_server.client(key=strict_server.other_keys[0]) as c:
        assert c.get("/plugins").status_code == 200


def test_oversized_body_is_413_by_length_and_by_stream(strict_server: Server) -> None:
    big = json.dumps({"text": "x" * 2000}).encode()
    headers = {"X-API-Key": strict_server.other_keys[1], "Content-Type": "application/json"}
    with strict_server.anonymous() as c:
        declared = c.post("/query", content=big, headers=headers)

        def chunks() -> Iterator[bytes]:
            for i in range(0, len(big), 256):
                yield big[i : i + 256]

        streamed = c.post("/query", content=chunks(), headers=headers)
        small = c.post("/query", json={"text": "1 + 1"}, headers=headers)
    assert "content-length" not in streamed.request.headers
    for r in (declared, streamed):
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "request_too_large"
        assert "1024 bytes" in r.json()["error"]["message"]
    assert small.status_code == 200


def test_cors_open_only_for_configured_origins(server: Server, strict_server: Server) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-api-key"}
    with server.anonymous() as c:
        closed = c.options("/query", headers={"Origin": "http://allowed.example", **preflight})
    assert "access-control-allow-origin" not in closed.headers
    with strict_server.anonymous() as c:
        opened = c.options("/query", headers={"Origin": "http://allowed.example", **preflight})
        denied = c.options("/query", headers={"Origin": "http://evil.example", **preflight})
    assert opened.status_code == 200
    assert opened.headers["access-control-allow-origin"] == "http://allowed.example"
    assert "x-api-key" in opened.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-origin" not in denied.headers


def test_non_loopback_host_needs_admin(tmp_path: Path) -> None:
    result = subprocess.run(
        [FAME, "--data-dir", str(tmp_path), "serve", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Refusing to serve the API on 0.0.0.0" in result.stderr


def test_non_loopback_host_with_admin_is_allowed_and_audited(tmp_path: Path) -> None:
    from fame_desktop.api.server import check_host_allowed

    app = build_app(tmp_path)
    try:
        with pytest.raises(AdminRequired):
            check_host_allowed(app, "0.0.0.0", actor="test")
        app.admin_key = app.safety.create_first_key(actor="test")
        check_host_allowed(app, "0.0.0.0", actor="test")
        assert app.audit.query(limit=1)[0].kind == "api_exposed"
        check_host_allowed(app, "::1", actor="test")  # loopback needs nothing
    finally:
        app.services.close()


def test_wrong_keys_lock_out_the_guesser_never_the_real_key(tmp_path: Path) -> None:
    srv = start_server(tmp_path / "lock", {"api.rate_limit_per_minute": 1000})
    wrong = [f"fame_wrong-key-number-{i:038d}" for i in range(25)]
    try:
        # An attacker on another loopback address hammers /health and /plugins with wrong keys.
        attacker = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(base_url=srv.url, timeout=60, transport=attacker) as bad:
            codes = [
                bad.get("/health" if i % 2 else "/plugins", headers={"X-API-Key": k}).status_code
                for i, k in enumerate(wrong)
            ]
            assert codes[0] == 403 and codes[-1] == 429, codes
            assert bad.get("/plugins", headers={"X-API-Key": wrong[0]}).status_code == 429
            # The real key works even from the blocked address, and from the real admin's.
            assert bad.get("/plugins", headers={"X-API-Key": srv.key}).status_code == 200
        with srv.client() as good:
            assert good.get("/plugins").status_code == 200
            # Wrong keys from the admin's own address do not lock the real key out either.
            for k in wrong:
                good.get("/plugins", headers={"X-API-Key": k})
            assert good.get("/plugins").status_code == 200
        # The CLI is not locked out (nothing was persisted), and neither is a restarted server.
        cli = run_fame(
            "--data-dir", str(srv.data_dir), "admin", "set", "api.max_body_bytes", "70000",
            env={**os.environ, "FAME_ADMIN_KEY": srv.key},
            timeout=120,
        )  # fmt: skip
        assert cli.returncode == 0, cli.stderr
        assert "api.max_body_bytes = 70000" in cli.stdout
        assert "locked" not in (srv.data_dir / "admin_keys.json").read_text()
    finally:
        stop_server(srv)
    again = start_server(srv.data_dir, keys=False)
    try:
        with again.client(key=srv.key) as good:
            assert good.get("/plugins").status_code == 200
    finally:
        stop_server(again)


def test_refusal_log_writes_one_row_per_client_per_minute(tmp_path: Path) -> None:
    app = build_app(tmp_path / "data")
    now = [600.0]
    log = RefusalLog(app.audit.append, clock=lambda: now[0])
    try:
        for i in range(500):
            log.add("10.0.0.1", "api:anonymous", 401, "missing", "/query", None)
            log.add("10.0.0.2", "api:anonymous", 403, "invalid", f"/p{i}", f"fp{i}")
        before = len(app.audit)
        now[0] = 661.0  # the next minute's first refusal writes the previous minute
        log.add("10.0.0.1", "api:anonymous", 429, "locked", "/query", "x")
        rows = app.audit[before:]
        assert [(e.kind, e.data["client"], e.data["count"]) for e in rows] == [
            ("api_refused", "10.0.0.1", 500),
            ("api_refused", "10.0.0.2", 500),
        ]
        assert rows[0].data["minute_start"] == 600
        assert len(rows[1].data["paths"]) == 10 and len(rows[1].data["key_fingerprints"]) == 10
        assert log.flush() == 1 and log.flush() == 0
        assert app.audit[-1].data["statuses"] == {"429": 1}
    finally:
        app.services.close()
