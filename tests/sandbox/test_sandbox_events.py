"""A run's events carry typed values: ``SandboxStarted.limits`` and ``SandboxFinished.report``."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest

from fame_desktop.orchestrator.events import Event, SandboxFinished, SandboxStarted
from fame_desktop.orchestrator.run_report import Limits, RunReport

pytestmark = pytest.mark.docker


async def _events_of_one_run(manager: Any, code: str, **kwargs: Any) -> tuple[RunReport, list[Event]]:
    seen: list[Event] = []
    manager.bus.subscribe(SandboxStarted, seen.append)
    manager.bus.subscribe(SandboxFinished, seen.append)
    report = await manager.run(code, **kwargs)
    await asyncio.sleep(0.05)
    return report, seen


async def test_a_run_publishes_its_limits_and_report_typed(make_manager: Any) -> None:
    manager = await make_manager(pool_size=0)
    report, seen = await _events_of_one_run(manager, "print(6 * 7)", timeout=7)
    started, finished = seen
    assert isinstance(started, SandboxStarted) and isinstance(finished, SandboxFinished)
    assert isinstance(started.limits, Limits)
    assert started.limits.timeout_seconds == 7 and started.limits.network is False
    assert isinstance(finished.report, RunReport)
    assert finished.report.status == "ok" and finished.report.stdout == "42\n"
    assert finished.report.limits == started.limits
    # The published report is a copy: the caller's later changes do not reach subscribers.
    report.extra["note"] = "changed later"
    assert "note" not in finished.report.extra
    # The public report shape is unchanged: limits as a plain dict.
    assert finished.report.to_dict()["limits"] == {**started.limits.to_dict(), "timeout_seconds": 7.0}


async def test_an_unavailable_run_is_typed_too(make_manager: Any, tmp_path: Path) -> None:
    path = tmp_path / "dead.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()
    manager = await make_manager(docker_host=f"unix://{path}")
    _report, seen = await _events_of_one_run(manager, "print(1)")
    finished = seen[-1]
    assert isinstance(finished, SandboxFinished) and isinstance(finished.report, RunReport)
    assert finished.report.status == "unavailable" and isinstance(finished.report.limits, Limits)
