"""The warm pool against the real Docker engine: it refills ahead of demand, never next to runs
while it has containers left, and it grows to serve the bursts it has seen."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest
from sandbox_harness import own_containers, wait_pool
from tcp_proxy import TcpToUnix

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
    assert manager.status()["pool"] == {**manager.status()["pool"], "size": 1, "target": 3}
    await wait_pool(manager, 3)  # ready for the next burst of three
    again = [await manager.run("print(2)") for _ in range(3)]
    assert all(r.status == "ok" and r.stdout == "2\n" and r.warm for r in again)


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
