"""The clock, cancellation, memory and crash cleanup of Swarm jobs, on the real engine."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from fame_desktop.orchestrator.events import SandboxOutput
from tests.swarm.conftest import REPO, SwarmFactory, WiredSwarm, fame_objects, wait_no_objects

pytestmark = [pytest.mark.docker, pytest.mark.slow]


async def test_the_time_limit_kills_the_job(swarm: WiredSwarm) -> None:
    started = time.monotonic()
    report = await swarm.run("import time\nprint('start', flush=True)\ntime.sleep(120)", timeout=3)
    took = time.monotonic() - started
    assert report.status == "timeout", report
    assert report.timed_out and report.stdout == "start\n"
    assert "3 s time limit" in report.detail
    assert took < 60, took


async def test_cancel_removes_the_job(swarm: WiredSwarm, docker_api: Any) -> None:
    ready = asyncio.Event()

    def on_output(event: SandboxOutput) -> None:
        if event.run_id == "to-cancel" and "ready" in event.text:
            ready.set()

    subscription = swarm.bus.subscribe(SandboxOutput, on_output)
    try:
        task = asyncio.create_task(
            swarm.run(
                "import time\nprint('ready', flush=True)\ntime.sleep(120)", run_id="to-cancel", timeout=150
            )
        )
        await asyncio.wait_for(ready.wait(), 90)
        assert swarm.status()["running"] == 1
        assert await swarm.cancel("to-cancel")
        report = await asyncio.wait_for(task, 60)
    finally:
        subscription.cancel()
    assert report.status == "killed" and report.stdout == "ready\n", report
    assert not await swarm.cancel("to-cancel")
    assert not await swarm.cancel("no-such-run")
    from fame_desktop.orchestrator.sandbox.engine import owner_id

    assert wait_no_objects(docker_api, owner_id()) == []


async def test_out_of_memory_is_reported(make_swarm: SwarmFactory) -> None:
    swarm = await make_swarm(memory_limit="64m")
    report = await swarm.run(
        "print('big', flush=True)\nblocks = [bytearray(8 << 20) for _ in range(64)]\nprint('survived')"
    )
    assert report.status == "oom", report
    assert report.oom_killed and report.stdout == "big\n"


async def test_leftovers_of_a_crashed_app_are_removed_at_start(
    make_swarm: SwarmFactory, docker_api: Any, tmp_path: Path
) -> None:
    # A separate app process starts a long job, then dies without closing anything (SIGKILL).
    script = tmp_path / "crashing_app.py"
    script.write_text(_CRASHING_APP)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    app = await asyncio.create_subprocess_exec(sys.executable, str(script), stdout=subprocess.PIPE, env=env)
    try:
        assert app.stdout is not None
        line = (await asyncio.wait_for(app.stdout.readline(), 120)).decode()
        assert line.startswith("RUNNING "), line
        owner = line.split(" ", 1)[1].strip()
    finally:
        app.send_signal(signal.SIGKILL)
        await app.wait()
    left = fame_objects(docker_api, owner)
    assert any(o.startswith("service ") for o in left), left
    await make_swarm()  # its start reaps what a dead owner left
    assert wait_no_objects(docker_api, owner, timeout=60) == []


_CRASHING_APP = """
import asyncio
from fame_desktop.orchestrator.events import SandboxOutput
from fame_desktop.orchestrator.settings import SandboxSettings
from fame_desktop.orchestrator.sandbox.swarm_backend import SwarmSandbox

async def main():
    loop = asyncio.get_running_loop()
    def publish(event):
        if isinstance(event, SandboxOutput) and "alive" in event.text:
            loop.call_soon_threadsafe(lambda: print("RUNNING", sandbox.owner, flush=True))
    sandbox = SwarmSandbox(lambda: SandboxSettings(backend="swarm"), lambda: False, publish)
    await sandbox.start()
    await sandbox.run("import time\\nprint('alive', flush=True)\\ntime.sleep(300)", timeout=600)

asyncio.run(main())
"""
