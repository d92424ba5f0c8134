"""The warm pool against the real Docker engine: it refills ahead of demand, never next to runs
while it has containers left, and it grows to serve the bursts it has seen."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sandbox_harness import own_containers, wait_pool
from tcp_proxy import TcpToUnix

from fame_desktop.orchestrator.sandbox import runs as sandbox_runs

pytestmark = pytest.mark.docker


def _engine_time(stamp: str) -> float:
    """Unix seconds of an engine timestamp such as ``2026-12-01T23:17:24.123456789Z``."""
    head, _, frac = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}+00:00").timestamp()


async def test_back_to_back_runs_use_the_pool_and_refills_wait_until_they_are_done(
    make_manager: Any, docker_client: Any
) -> None:
    manager = await make_manager(pool_size=3)
    await wait_pool(manager, 3)
    before = {c["Id"] for c in own_containers(docker_client)}
    for _ in range(2):  # fewer runs than the pool holds: nothing has to be made during the burst
        report = await manager.run("print(1)")
        assert report.status == "ok" and report.warm, report.to_dict()
    last_end = time.time()
    await wait_pool(manager, 3)
    refills = [
        docker_client.api.inspect_container(c["Id"])
        for c in own_containers(docker_client)
        if c["Id"] not in before and c["Labels"].get("fame.sandbox.kind") == "warm"
    ]
    assert len(refills) == 2
    for info in refills:
        # Made and started only after the last run of the burst ended (the engine's clock is ours).
        assert _engine_time(info["Created"]) >= last_end, (info["Created"], last_end)
        assert _engine_time(info["State"]["StartedAt"]) >= last_end


async def test_the_pool_grows_to_the_bursts_it_serves(make_manager: Any, docker_client: Any) -> None:
    manager = await make_manager(pool_size=1)
    await wait_pool(manager, 1)
    assert manager.status()["pool"]["target"] == 1
    reports = [await manager.run("print(1)") for _ in range(3)]
    assert all(r.status == "ok" for r in reports) and reports[0].warm
    # Ready for the next burst of three with one to spare (the burst never empties it).
    assert manager.status()["pool"] == {**manager.status()["pool"], "size": 1, "target": 4}
    await wait_pool(manager, 4)
    again = [await manager.run("print(2)") for _ in range(3)]
    assert all(r.status == "ok" and r.stdout == "2\n" and r.warm for r in again)


async def test_a_restart_is_ready_for_the_burst_it_learned(make_manager: Any, tmp_path: Path) -> None:
    memory = tmp_path / "sandbox_pool.json"
    first = await make_manager(pool_size=1, pool_memory=memory)
    await wait_pool(first, 1)
    assert all(r.status == "ok" for r in [await first.run("print(1)") for _ in range(3)])
    deadline = time.monotonic() + 10
    while not (memory.exists() and json.loads(memory.read_text())["burst"] == 3):
        assert time.monotonic() < deadline, memory.read_text() if memory.exists() else "no memory"
        await asyncio.sleep(0.02)
    await first.close()
    # The next start fills to the burst it learned before any run, and serves it warm.
    again = await make_manager(pool_size=1, pool_memory=memory)
    assert again.status()["pool"]["target"] == 4
    await wait_pool(again, 4)
    reports = [await again.run("print(2)") for _ in range(3)]
    assert all(r.status == "ok" and r.stdout == "2\n" and r.warm for r in reports)
    # Without the memory a start learns from nothing.
    fresh = await make_manager(pool_size=1)
    assert fresh.status()["pool"]["target"] == 1


async def test_a_warm_run_makes_no_engine_call(make_manager: Any) -> None:
    # The pool attached each container's stdio before starting it: a run only writes the code
    # into that connection and reads the output back; removal and refill come after the report
    # (a pool left with a container waits for the runs to end before it makes the next one).
    proxy = TcpToUnix("/var/run/docker.sock")
    manager = await make_manager(docker_host=f"tcp://127.0.0.1:{proxy.port}", pool_size=2)
    try:
        await wait_pool(manager, 2)
        made = list(proxy.requests)
        assert [r for r in made if r.endswith("/attach?stdin=1&stdout=1&stderr=1&stream=1")], made
        report = await manager.run("import sys\nprint('warm')\nprint('e', file=sys.stderr)")
        during = proxy.requests[len(made) :]
        assert report.status == "ok" and report.warm and report.exit_code == 0, report.to_dict()
        assert (report.stdout, report.stderr) == ("warm\n", "e\n")
        assert during == [], during
        await wait_pool(manager, 2)
        failed = await manager.run("raise SystemExit(3)")  # the exit code comes from the runner too
        assert failed.status == "error" and failed.exit_code == 3 and not failed.oom_killed
        assert failed.warm
    finally:
        await manager.close()
        proxy.close()


async def test_a_used_container_lingers_without_the_programs_leftovers_until_the_engine_is_quiet(
    make_manager: Any, docker_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its teardown would slow a run that follows, so it waits for the runs to leave the engine
    # alone (here: 3 s after the last one, so that a busy machine cannot make it look quiet);
    # what the program left running ends with the program all the same.
    monkeypatch.setattr(sandbox_runs, "SETTLE_S", 3.0)
    manager = await make_manager(pool_size=1)
    await wait_pool(manager, 1)
    leftovers = (  # a sleeper, and a process that keeps forking more while they are killed
        "import os, subprocess, time\nsubprocess.Popen(['sleep', '60'])\nif os.fork() == 0:\n"
        "    while True:\n        try:\n            if os.fork() == 0:\n                time.sleep(60)\n"
        "        except OSError:\n            time.sleep(0.001)\ntime.sleep(0.2)\nprint('left')\n"
    )
    report = await manager.run(leftovers)
    assert report.status == "ok" and report.stdout == "left\n" and report.warm, report.to_dict()
    container = report.extra["container"]
    assert docker_client.api.inspect_container(container)["State"]["Running"]
    processes = [
        row[-1] for row in docker_client.api.top(container)["Processes"] if not row[-1].endswith("<defunct>")
    ]
    assert processes == [
        "/sbin/docker-init -- python3 -u -B /opt/fame/runner.py",
        "python3 -u -B /opt/fame/runner.py",
    ]
    deadline = time.monotonic() + 15
    while any(c["Id"].startswith(container) for c in own_containers(docker_client)):
        assert time.monotonic() < deadline, "the used container was not removed once the runs ended"
        await asyncio.sleep(0.05)
