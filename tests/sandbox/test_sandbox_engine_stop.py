"""The Docker engine dies in the middle of a run: a second, private engine is SIGKILLed under a
running program. The report says ``unavailable`` with the fix, nothing runs on the host, and the
app recovers when the engine comes back. The shared engine is never touched."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from second_engine import SecondEngine

from fame_desktop.orchestrator.events import SandboxOutput, SandboxStatusChanged
from fame_desktop.orchestrator.sandbox.engine import OWNER_LABEL, owner_id

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def second_engine(engine_ready: None) -> Iterator[SecondEngine]:
    """A started private dockerd holding a copy of ``fame-sandbox:latest``; all of it gone afterwards."""
    if shutil.which("dockerd") is None or os.geteuid() != 0:
        pytest.skip("a second engine needs dockerd and root")
    engine = SecondEngine(Path(tempfile.mkdtemp(prefix="fd2.", dir="/tmp")))
    try:
        engine.start()
        engine.load("fame-sandbox:latest")
        yield engine
    finally:
        engine.close()


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def test_engine_killed_mid_run_is_unavailable_with_the_fix_and_the_app_recovers(
    make_manager: Any, second_engine: SecondEngine, tmp_path: Path
) -> None:
    manager = await make_manager(docker_host=second_engine.url, pool_size=1)
    try:
        statuses: list[SandboxStatusChanged] = []
        output: list[str] = []
        manager.bus.subscribe(SandboxStatusChanged, statuses.append)
        manager.bus.subscribe(SandboxOutput, lambda e: output.append(e.text))
        first = await manager.run("print('on the second engine')")
        assert first.status == "ok" and first.stdout == "on the second engine\n", first.detail

        # On the host this program would leave a marker at once; in a container it cannot.
        marker = tmp_path / "ran-on-host"
        token = uuid.uuid4().hex
        code = (
            f"import os, time\nif os.path.isdir({str(tmp_path)!r}):\n    open({str(marker)!r}, 'w').close()\n"
            f"print('started {token}', flush=True)\ntime.sleep(120)\nprint('finished')\n"
        )
        run = asyncio.create_task(manager.run(code, timeout=300))
        deadline = time.monotonic() + 30
        while not any(token in text for text in output):
            assert time.monotonic() < deadline and not run.done(), "the long run did not start"
            await asyncio.sleep(0.05)
        api = manager._engine.api()
        mine = api.containers(filters={"label": f"{OWNER_LABEL}={owner_id()}", "status": "running"})
        pids = [pid for c in mine if (pid := api.inspect_container(c["Id"])["State"]["Pid"])]  # 0: just ended
        assert pids and all(_alive(pid) for pid in pids)

        killed_at = time.monotonic()
        await asyncio.to_thread(second_engine.kill)
        report = await asyncio.wait_for(run, 60)
        noticed_s = time.monotonic() - killed_at
        await asyncio.sleep(0.05)

        assert report.status == "unavailable", report.to_dict()
        assert noticed_s < 20, noticed_s
        assert second_engine.url in report.detail and "not reachable" in report.detail
        assert "Fix:" in report.detail and "docker_up.sh" in report.detail
        assert report.exit_code is None and report.backend != "local" and not report.insecure
        assert not marker.exists(), "the program ran on the host"
        assert not any("finished" in text for text in output)
        status = manager.status()
        assert status["available"] is False and status["backend"] == "none" and "Fix:" in status["detail"]
        assert statuses and statuses[-1].available is False
        down = await manager.run("print('while down')")
        assert down.status == "unavailable" and "Fix:" in down.detail and down.stdout == ""

        await asyncio.to_thread(second_engine.start)  # no live-restore: it kills the orphaned run
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in pids):
            assert time.monotonic() < deadline, "the interrupted program still runs"
            await asyncio.sleep(0.1)
        again = await manager.run("print('back')")
        assert again.status == "ok" and again.stdout == "back\n", again.detail
        assert manager.status()["available"] is True
        await asyncio.sleep(0.05)
        assert statuses[-1].available is True
        assert not marker.exists()
    finally:
        await manager.close()  # before the fixture stops the engine: no removal hits a dead socket
