"""Sandbox runs as Swarm jobs on the real local engine in swarm mode: output, report, node,
live streaming, exit codes, and nothing left behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fame_desktop.app import build_app
from fame_desktop.orchestrator.events import SandboxFinished, SandboxOutput
from fame_desktop.orchestrator.sandbox import DockerManager
from fame_desktop.orchestrator.sandbox.swarm_backend import SwarmSandbox
from fame_desktop.orchestrator.settings import SettingsStore
from tests.swarm.conftest import SwarmFactory, WiredSwarm, wait_no_objects

pytestmark = [pytest.mark.docker, pytest.mark.slow]


async def test_run_prints_and_reports_ok_with_the_node(swarm: WiredSwarm, docker_api: Any) -> None:
    report = await swarm.run("import sys\nprint('hello from the swarm')\nprint('oops', file=sys.stderr)")
    assert report.status == "ok", report
    assert report.backend == "swarm"
    assert report.exit_code == 0
    assert report.stdout == "hello from the swarm\n"
    assert report.stderr == "oops\n"
    assert report.node == docker_api.info()["Name"]
    assert report.to_dict()["node"] == report.node
    kinds = [type(e).__name__ for _, e in swarm.events if getattr(e, "run_id", None) == report.run_id]
    assert kinds[0] == "SandboxStarted" and kinds[-1] == "SandboxFinished"
    assert "SandboxOutput" in kinds
    audited = [e.data for e in swarm.audit_log.query(kinds=["sandbox_run"])]
    assert audited and audited[-1]["backend"] == "swarm"


async def test_output_arrives_live_before_the_end(swarm: WiredSwarm) -> None:
    code = "import time\nprint('first', flush=True)\ntime.sleep(1.5)\nprint('second')"
    report = await swarm.run(code)
    assert report.status == "ok", report
    mine = [(t, e) for t, e in swarm.events if getattr(e, "run_id", None) == report.run_id]
    first = next(t for t, e in mine if isinstance(e, SandboxOutput) and "first" in e.text)
    finished = next(t for t, e in mine if isinstance(e, SandboxFinished))
    assert finished - first > 1.0, "the first line came only with the end"
    assert report.stdout == "first\nsecond\n"


async def test_exit_code_and_exception(swarm: WiredSwarm) -> None:
    report = await swarm.run("import sys\nprint('bye')\nsys.exit(3)")
    assert (report.status, report.exit_code, report.stdout) == ("error", 3, "bye\n")
    report = await swarm.run("raise ValueError('boom')")
    assert report.status == "error" and report.exit_code == 1
    assert "ValueError: boom" in report.stderr


async def test_nothing_is_left_after_runs(swarm: WiredSwarm, docker_api: Any) -> None:
    for code in ("print(1)", "import sys; sys.exit(2)"):
        await swarm.run(code)
    from fame_desktop.orchestrator.sandbox.engine import owner_id

    assert wait_no_objects(docker_api, owner_id()) == []


async def test_the_setting_picks_the_backend(data_dir: Path, swarm_engine: None) -> None:
    app = build_app(data_dir)
    try:
        assert isinstance(app.sandbox, DockerManager)
    finally:
        await app.aclose()
    SettingsStore(data_dir / "settings.json").update({"sandbox.backend": "swarm"}, admin=True)
    app = build_app(data_dir)
    try:
        sandbox = app.sandbox
        assert isinstance(sandbox, SwarmSandbox)
        await sandbox.start()
        report = await sandbox.run("print(6*7)")
        assert (report.status, report.stdout, report.backend) == ("ok", "42\n", "swarm")
        assert report.node
        status = app.services.status()["docker"]
        assert status["backend"] == "swarm" and status["nodes"] >= 1
    finally:
        await app.aclose()


async def test_a_factory_backend_shares_nothing(make_swarm: SwarmFactory) -> None:
    one, two = await make_swarm(), await make_swarm()
    r1, r2 = await one.run("print('a')"), await two.run("print('b')")
    assert (r1.stdout, r2.stdout) == ("a\n", "b\n")
