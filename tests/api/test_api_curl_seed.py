"""The seed README's curl commands, run through the real ``curl`` binary, once a key is supplied."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from api_harness import Server

CURL = shutil.which("curl")  # installed by scripts/test.sh (scripts/lib.sh APT_PACKAGES)


def curl(*args: str) -> tuple[int, str]:
    assert CURL is not None, "curl is missing: run scripts/test.sh, which installs it"
    out = subprocess.run(
        [CURL, "-s", "-w", "\n%{http_code}", *args], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    body, _, code = out.rpartition("\n")
    return int(code), body


def test_seed_query_generate_code(server: Server) -> None:
    port_url = server.url.replace("127.0.0.1", "localhost")
    code, body = curl(
        "-X",
        "POST",
        f"{port_url}/query",
        "-H",
        "Content-Type: application/json",
        "-H",
        f"X-API-Key: {server.key}",
        "-d",
        '{"text": "Write a Python function to reverse a string", "intent": "generate_code", "user": "test_user"}',
    )
    assert code == 200, body
    response = json.loads(body)
    assert response["intent"] == "generate_code"
    assert response["plugins"] == ["universal_developer"]
    assert "def reverse_string" in (response["code"] or "")


def test_seed_query_without_key_says_how_to_get_one(server: Server) -> None:
    code, body = curl(
        "-X",
        "POST",
        f"{server.url}/query",
        "-H",
        "Content-Type: application/json",
        "-d",
        '{"text": "Write a Python function to reverse a string", "intent": "generate_code"}',
    )
    assert code == 401
    assert "X-API-Key" in json.loads(body)["error"]["message"]


@pytest.mark.docker  # every candidate runs in the sandbox
def test_seed_evolution_run(server: Server) -> None:
    code, body = curl(
        "-X",
        "POST",
        f"{server.url}/evolution/run",
        "-H",
        f"X-API-Key: {server.key}",
        "-H",
        "Content-Type: application/json",
        "-d",
        '{"population_size": 5, "task": "optimize code generation"}',
    )
    assert code == 200, body
    assert json.loads(body)


def test_seed_health_and_docs(server: Server) -> None:
    code, body = curl(f"{server.url}/health")
    assert code == 200
    assert json.loads(body)["status"] == "ok"
    code, body = curl(f"{server.url}/docs")
    assert code == 200
    assert "FAME Desktop API" in body


def test_audit_via_curl_needs_the_key(server: Server) -> None:
    code, _ = curl(f"{server.url}/audit?limit=100")
    assert code == 401
    code, body = curl("-H", f"X-API-Key: {server.key}", f"{server.url}/audit?limit=100")
    assert code == 200
    assert len(json.loads(body)) <= 100
