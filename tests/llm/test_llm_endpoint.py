"""The endpoint UX: presets, the API key in the secret store only, the connection test (API and CLI)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest
from fame_cli import run_fame
from openai_fake import FakeOpenAI, Reply

from fame_desktop.orchestrator.llm import LLM_API_KEY, LlmConfig, SecretStore
from fame_desktop.orchestrator.llm.endpoint import PRESETS, check_connection, preset, preset_for

KEY = "sk-proj-Zq7ThisIsTheSecretKeyBytes9931"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_presets_point_at_each_servers_default_address() -> None:
    urls = {p.id: p.base_url for p in PRESETS}
    assert urls["ollama"] == "http://127.0.0.1:11434/v1"
    assert urls["lmstudio"] == "http://127.0.0.1:1234/v1"
    assert urls["vllm"] == "http://127.0.0.1:8000/v1"
    assert urls["openai"] == "https://api.openai.com/v1" and preset("openai").needs_key
    assert urls["llamacpp"].startswith("http://127.0.0.1:") and urls["custom"] == ""
    assert preset_for("http://127.0.0.1:11434/v1/").id == "ollama"
    assert preset_for("http://10.0.0.5:9999/v1").id == "custom"


async def test_a_working_endpoint_reports_latency_and_the_models_name() -> None:
    with FakeOpenAI(
        lambda body: Reply("OK"), models=["qwen2.5-coder:1.5b", "llama3.1:8b"], api_key=KEY
    ) as server:
        report = await check_connection(
            LlmConfig(server.url, "llama3.1:8b", api_key=KEY), allow_network=False
        )
        unnamed = await check_connection(LlmConfig(server.url, "", api_key=KEY), allow_network=False)
    assert report.ok, report.message
    assert report.model == "llama3.1:8b" and report.models == ["qwen2.5-coder:1.5b", "llama3.1:8b"]
    assert report.latency_ms is not None and 0 < report.latency_ms < 5000
    assert report.completion_ms is not None and report.completion_ms > 0
    assert "Connected to llama3.1:8b at 127.0.0.1" in report.message and " ms" in report.message
    completion = server.requests[0]
    assert completion["max_tokens"] == 1 and completion["model"] == "llama3.1:8b"
    assert set(server.auth_headers) == {f"Bearer {KEY}"}  # the key went with every request
    # With no model set, the first model the server lists is the one reported (and tried).
    assert unnamed.ok and unnamed.model == "qwen2.5-coder:1.5b"
    assert server.requests[1]["model"] == "qwen2.5-coder:1.5b"


async def test_failures_say_what_failed_and_how_to_fix_it() -> None:
    with FakeOpenAI(models=["m"], api_key=KEY) as server:
        wrong_key = await check_connection(
            LlmConfig(server.url, "m", api_key="sk-wrong"), allow_network=False
        )
    assert not wrong_key.ok and "refused the API key (HTTP 401)" in wrong_key.message
    assert "API key" in wrong_key.fix and not server.requests  # no completion after a refusal
    down = await check_connection(LlmConfig(f"http://127.0.0.1:{free_port()}/v1", "m"), allow_network=False)
    assert not down.ok and "Could not reach" in down.message and "ollama serve" in down.fix
    remote = await check_connection(
        LlmConfig("https://api.openai.com/v1", "gpt-4o-mini"), allow_network=False
    )
    assert not remote.ok and remote.latency_ms is None and "network" in remote.message.lower()
    error = {"error": {"message": "model 'nope' not found"}}
    with FakeOpenAI(lambda body: Reply(status=404, error=error), models=["m"]) as server:
        missing = await check_connection(LlmConfig(server.url, "nope"), allow_network=False)
    assert not missing.ok and "nope" in missing.message and missing.latency_ms is not None
    assert "does not list" not in missing.message


def fame(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, FAME_HOME=str(data_dir))
    return run_fame("-v", *args, input=stdin, env=env, timeout=120)


@pytest.mark.slow
def test_the_cli_stores_the_key_only_in_the_secret_store_and_tests_the_endpoint(data_dir: Path) -> None:
    with FakeOpenAI(lambda body: Reply("OK"), models=["fake-coder"], api_key=KEY) as server:
        runs = [
            fame(data_dir, "llm", "endpoint", "--base-url", server.url, "--model", "fake-coder"),
            fame(data_dir, "llm", "set-key", "--stdin", stdin=KEY + "\n"),
            fame(data_dir, "llm", "test", "--json"),
            fame(data_dir, "llm", "status", "--json"),
            fame(data_dir, "ask", "--json", "--intent", "architecture_design", "design a url shortener"),
        ]
    for run in runs:
        assert run.returncode == 0, run.stderr
    report = json.loads(runs[2].stdout)
    assert report["ok"] and report["model"] == "fake-coder" and report["latency_ms"] > 0
    assert json.loads(runs[3].stdout)["api_key_stored"] is True
    assert json.loads(runs[4].stdout)["data"]["llm_model"] == "fake-coder"
    assert server.auth_headers and set(server.auth_headers) == {f"Bearer {KEY}"}
    assert SecretStore(data_dir / "secrets").get(LLM_API_KEY) == KEY
    # The key's bytes are in the secret store and nowhere else: settings, audit, logs, output.
    secret_files = {p for p in (data_dir / "secrets").rglob("*")}
    scanned = 0
    for path in data_dir.rglob("*"):
        if path.is_file() and path not in secret_files:
            scanned += 1
            assert KEY.encode() not in path.read_bytes(), path
    assert scanned >= 3 and (data_dir / "settings.json").exists()
    for run in runs:
        assert KEY not in run.stdout and KEY not in run.stderr
    assert "llm.api_key" in fame(data_dir, "audit", "--json", "--limit", "50").stdout  # audited, without it
    removed = fame(data_dir, "llm", "set-key", "--remove")
    assert removed.returncode == 0 and SecretStore(data_dir / "secrets").get(LLM_API_KEY) is None
