"""The real ``fame`` command in a subprocess: ask, plugins, audit, admin."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from fame_cli import run_fame


def fame_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["FAME_HOME"] = str(data_dir)
    env.update(extra)
    return env


def fame(data_dir: Path, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = fame_env(data_dir, **({"FAME_ADMIN_KEY": key} if key else {}))
    return run_fame(*args, env=env)


def test_ask_json_generate_code(data_dir: Path) -> None:
    result = fame(data_dir, "ask", "--json", "Write a Python function to reverse a string")
    response = json.loads(result.stdout)
    assert response["intent"] == "generate_code"
    assert "def reverse_string" in response["code"]
    assert "assert" in response["tests"]


def test_ask_json_btc_is_network_disabled(data_dir: Path) -> None:
    result = fame(data_dir, "ask", "--json", "What is BTC price today?")
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"]["code"] == "network_disabled"


def test_ask_json_security_test_is_capability_disabled(data_dir: Path) -> None:
    result = fame(data_dir, "ask", "--json", "--intent", "security_test", "Test penetration of example.com")
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"]["code"] == "capability_disabled"


def test_ask_plain_prints_answer(data_dir: Path) -> None:
    result = fame(data_dir, "ask", "what", "is", "12", "*", "12")
    assert result.returncode == 0, result.stderr
    assert "144" in result.stdout


def test_plugins_lists_builtins(data_dir: Path) -> None:
    result = fame(data_dir, "plugins", "--json")
    names = {p["name"]: p for p in json.loads(result.stdout)}
    assert names["calculator"]["status"] == "loaded"
    assert names["universal_hacker"]["dangerous"] is True


def test_admin_flow_and_audit_verify_export(data_dir: Path, tmp_path: Path) -> None:
    init = fame(data_dir, "admin", "init")
    assert init.returncode == 0
    key = re.search(r"(fame_\S+)", init.stdout)
    assert key
    denied = fame(data_dir, "admin", "network", "on")
    assert denied.returncode == 2 and "admin key" in denied.stderr
    allowed = fame(data_dir, "admin", "network", "on", key=key.group(1))
    assert allowed.returncode == 0, allowed.stderr
    audit = fame(data_dir, "audit", "--json", "--limit", "50")
    entries = json.loads(audit.stdout)
    assert any(e["kind"] == "admin_failed" for e in entries)
    assert key.group(1) not in audit.stdout
    verify = fame(data_dir, "audit", "--verify")
    assert verify.returncode == 0 and "OK" in verify.stdout
    out = tmp_path / "audit.jsonl"
    exported = fame(data_dir, "audit", "--export", str(out))
    assert exported.returncode == 0 and out.read_text().count("\n") >= 3


@pytest.mark.parametrize("args", [["ask"], ["audit", "--limit", "0"], ["admin", "remove", "nope"]])
def test_errors_exit_non_zero_with_a_message(data_dir: Path, args: list[str]) -> None:
    result = fame(data_dir, *args)
    assert result.returncode != 0
    assert result.stderr.strip()


def test_audit_kind_filters_and_unknown_kinds_are_refused_with_the_list(data_dir: Path) -> None:
    assert fame(data_dir, "ask", "2 + 2").returncode == 0
    routed = fame(data_dir, "audit", "--json", "--kind", "routing", "--kind", "query_completed")
    assert routed.returncode == 0, routed.stderr
    assert {e["kind"] for e in json.loads(routed.stdout)} == {"routing", "query_completed"}
    wrong = fame(data_dir, "audit", "--kind", "query_complete")
    assert wrong.returncode == 2
    assert "unknown audit kind 'query_complete'" in wrong.stderr
    assert "query_completed" in wrong.stderr and "sandbox_run" in wrong.stderr
