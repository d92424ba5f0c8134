"""The real ``fame`` command end to end: evolve, a refused and an accepted approval, ``fame ask``
answering with the evolved code, history, and a rollback that brings the original back."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from fame_cli import run_fame

from fame_desktop.app import build_app

QUESTION = "Write a Python function for the factorial of n"


def fame(data_dir: Path, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("FAME_ADMIN_KEY", None)
    if key:
        env["FAME_ADMIN_KEY"] = key
    return run_fame("--data-dir", str(data_dir), *args, env=env, timeout=240)


def ask_code(data_dir: Path) -> str:
    result = fame(data_dir, "ask", "--json", "--intent", "generate_code", QUESTION)
    response = json.loads(result.stdout)
    assert response["error"] is None and response["test_report"]["failed"] == 0, response
    return str(response["code"])


@pytest.mark.docker
def test_fame_evolve_approve_ask_rollback(data_dir: Path) -> None:
    init = fame(data_dir, "admin", "init")
    assert init.returncode == 0, init.stderr
    key = next(line.strip() for line in init.stdout.splitlines() if line.startswith("  ") and line.strip())

    run = fame(data_dir, "evolve", "--task", "factorial", "--population", "5", "--generations", "1", "--json")
    assert run.returncode == 0, run.stderr
    record = json.loads(run.stdout)
    assert record["status"] == "finished" and record["improvement"]["better"], record["message"]
    assert "gen 0 [5/5]" in run.stderr  # live progress, one line per measured candidate
    run_id, winner = record["id"], record["winner"]["code"]
    original = record["original"]["code"]
    assert "result *= k" in original and winner != original  # the library's loop, not the winner

    refused = fame(data_dir, "evolve", "approve", run_id, key="fame_admin_wrong")
    assert refused.returncode == 2 and "admin key is wrong" in refused.stderr

    # What approving would change: the diff against the library's original, both fitnesses.
    shown = fame(data_dir, "evolve", "show", run_id)
    assert shown.returncode == 0, shown.stderr
    assert f"--- factorial (the library's original)\n+++ factorial (winner of {run_id})" in shown.stdout
    assert "-        result *= k" in shown.stdout and "Against the library's original: " in shown.stdout
    assert f"Approve: fame evolve approve {run_id} --admin-key KEY" in shown.stdout

    approved = fame(data_dir, "evolve", "approve", run_id, "--json", key=key)
    assert approved.returncode == 0, approved.stderr
    promoted = json.loads(approved.stdout)
    assert {k: promoted[k] for k in ("recipe_id", "version", "run_id")} == {
        "recipe_id": "factorial",
        "version": 1,
        "run_id": run_id,
    }
    assert run_id in promoted["description"]  # its own description, stored with the version
    assert ask_code(data_dir) == winner

    history = json.loads(fame(data_dir, "evolve", "history", "--json").stdout)
    assert history["runs"][0]["id"] == run_id and history["runs"][0]["promoted_version"] == 1
    assert history["promotions"][0]["active"] == 1

    rolled = fame(data_dir, "evolve", "rollback", "factorial", key=key)
    assert rolled.returncode == 0 and "library original" in rolled.stdout, rolled.stderr
    assert ask_code(data_dir) == original

    app = build_app(data_dir)
    try:
        kinds = {entry.kind for entry in app.audit.query(limit=500)}
    finally:
        app.services.close()
    assert {"evolution_refused", "admin_failed", "evolution_promoted", "evolution_rollback"} <= kinds


def test_fame_evolve_without_a_task_says_how(data_dir: Path) -> None:
    result = fame(data_dir, "evolve")
    assert result.returncode == 2 and "fame evolve --task" in result.stderr
    unknown = fame(data_dir, "evolve", "--task", "optimize code generation", "--json")
    assert unknown.returncode == 2 and json.loads(unknown.stdout)["status"] == "no_match"
