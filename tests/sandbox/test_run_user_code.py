"""Running your own code: a query with code, cancelling it, and ``fame run FILE|-`` (real Docker)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from fame_desktop.app import App
from fame_desktop.orchestrator.events import AuditAppended, SandboxFinished, SandboxOutput, SandboxStarted

FAME = Path(sys.executable).parent / "fame"  # the venv running the tests


def _sandbox_runs(app: App) -> list[dict[str, Any]]:
    return [
        dict(e.data)
        for e in app.services.audit.query(limit=50, newest_first=False)
        if e.kind == "sandbox_run"
    ]


async def test_a_query_with_code_runs_it_live_and_answers_with_the_output(
    app: App, engine_ready: None
) -> None:
    seen: list[object] = []
    subs = [app.bus.subscribe(kind, seen.append) for kind in (SandboxStarted, SandboxOutput, SandboxFinished)]
    response = await app.brain.handle_query(
        {"text": "run this python code: for i in range(5): print(i*i)", "source": "ui"}
    )
    await asyncio.sleep(0.1)  # the bus delivers on the loop
    for sub in subs:
        sub.cancel()
    assert response["error"] is None, response["error"]
    assert (response["intent"], response["plugins"]) == ("run_code", ["code_runner"])
    assert "0\n1\n4\n9\n16" in response["response"] and "exit code 0" in response["response"]
    assert response["code"] == "for i in range(5): print(i*i)\n"
    report = response["data"]["report"]
    assert (report["status"], report["backend"], report["stdout"]) == ("ok", "docker", "0\n1\n4\n9\n16\n")
    # Live: the output came as events of one run tied to the query, then its report.
    started = [e for e in seen if isinstance(e, SandboxStarted)]
    assert len(started) == 1 and started[0].query_id == response["id"]
    streamed = "".join(e.text for e in seen if isinstance(e, SandboxOutput) and e.run_id == started[0].run_id)
    assert streamed == "0\n1\n4\n9\n16\n"
    # Audited as any sandbox run, with the query's id, and the routing says which rule decided.
    runs = _sandbox_runs(app)
    assert [r["query_id"] for r in runs] == [response["id"]] and runs[0]["status"] == "ok"
    routing = [e for e in app.services.audit.query(limit=50, newest_first=False) if e.kind == "routing"][-1]
    assert routing.data["rule"] == "user_code" and routing.data["intent"] == "run_code"


async def test_a_failing_program_is_an_answer_not_an_error(app: App, engine_ready: None) -> None:
    response = await app.brain.handle_query(
        {
            "text": "```python\nimport sys\nprint('to stderr', file=sys.stderr)\nsys.exit(3)\n```",
            "source": "ui",
        }
    )
    assert response["error"] is None
    assert "exit code 3" in response["response"] and "**Errors**" in response["response"]
    assert "to stderr" in response["response"]


async def test_cancelling_the_query_kills_the_program(app: App, engine_ready: None) -> None:
    finished: list[SandboxFinished] = []
    printed, ended = asyncio.Event(), asyncio.Event()

    def on_finished(event: SandboxFinished) -> None:
        finished.append(event)

    def on_audit(event: AuditAppended) -> None:
        if event.kind == "sandbox_run":  # audited just after the run's report is published
            ended.set()

    def on_output(event: SandboxOutput) -> None:
        if "started" in event.text:
            printed.set()

    subs = [
        app.bus.subscribe(SandboxFinished, on_finished),
        app.bus.subscribe(SandboxOutput, on_output),
        app.bus.subscribe(AuditAppended, on_audit),
    ]
    code = "```python\nimport time\nprint('started', flush=True)\ntime.sleep(120)\n```"
    task = asyncio.create_task(app.brain.handle_query({"text": code, "source": "ui"}))
    await asyncio.wait_for(printed.wait(), 30)
    began = asyncio.get_running_loop().time()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await asyncio.wait_for(ended.wait(), 15)
    for sub in subs:
        sub.cancel()
    assert finished and finished[0].report.status == "killed"
    assert asyncio.get_running_loop().time() - began < 15
    kinds = [e.kind for e in app.services.audit.query(limit=20)]
    assert "query_cancelled" in kinds and "sandbox_run" in kinds


def _fame(data: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FAME_HOME"}
    return subprocess.run(
        [str(FAME), *args, "--data-dir", str(data)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_fame_run_reads_a_file_or_standard_input(tmp_path: Path, engine_ready: None) -> None:
    done = _fame(tmp_path / "data", "run", "-", stdin="print(6 * 7)\nraise SystemExit(4)\n")
    assert (done.returncode, done.stdout) == (4, "42\n"), done.stderr
    program = tmp_path / "prog.py"
    program.write_text("print('from a file')\n")
    done = _fame(tmp_path / "data", "run", str(program), "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["stdout"] == "from a file\n" and report["backend"] == "docker"
    # The same path as `fame sandbox run`: the same audit row.
    audit = _fame(tmp_path / "data", "audit", "--json", "--limit", "50")
    rows = [r for r in json.loads(audit.stdout) if r["kind"] == "sandbox_run"]
    assert len(rows) == 2 and {r["data"]["exit_code"] for r in rows} == {0, 4}
