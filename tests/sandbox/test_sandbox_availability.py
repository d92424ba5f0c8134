"""Docker missing, the admin-only local runner, reaping leftovers, the network gate, and the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sandbox_harness import own_containers
from tcp_proxy import TcpToUnix

from fame_desktop.orchestrator.events import SandboxStatusChanged
from fame_desktop.orchestrator.sandbox.engine import LABEL, OWNER_LABEL
from fame_desktop.orchestrator.settings import SettingsStore

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
FAME = REPO / ".venv" / "bin" / "fame"


@pytest.fixture
def dead_socket(tmp_path: Path) -> str:
    """A unix socket path that nothing listens on."""
    path = tmp_path / "dead.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()  # bound then closed: the file exists, connections are refused
    return f"unix://{path}"


async def test_no_engine_gives_unavailable_with_the_fix_and_never_runs_on_the_host(
    make_manager: Any, dead_socket: str, tmp_path: Path
) -> None:
    manager = await make_manager(docker_host=dead_socket)
    changes: list[SandboxStatusChanged] = []
    manager.bus.subscribe(SandboxStatusChanged, changes.append)
    marker = tmp_path / "ran-on-host"
    started = time.monotonic()
    report = (await manager.run(f"open({str(marker)!r}, 'w').write('x')\nprint('hello')")).to_dict()
    assert time.monotonic() - started < 5
    assert report["status"] == "unavailable"
    assert report["backend"] == "none" and report["exit_code"] is None and report["stdout"] == ""
    assert "Fix:" in report["detail"] and "docker_up.sh" in report["detail"]
    assert not marker.exists(), "code ran on the host"
    status = manager.status()
    assert status["available"] is False and status["backend"] == "none" and "Fix:" in status["detail"]
    await asyncio.sleep(0.05)
    assert changes and changes[-1].available is False


async def test_start_is_fast_and_quiet_without_an_engine(make_manager: Any, dead_socket: str) -> None:
    manager = await make_manager(docker_host=dead_socket)
    assert make_manager.start_s < 0.1
    assert manager.status()["available"] is False


async def test_missing_image_is_unavailable_with_the_build_script(make_manager: Any) -> None:
    manager = await make_manager(image="fame-sandbox:no-such-tag", pool_size=0)
    report = await manager.run("print(1)")
    assert report.status == "unavailable"
    assert "build_sandbox_image.sh" in report.detail


async def test_local_runner_only_when_the_admin_turned_it_on_and_marked_insecure(
    make_manager: Any, dead_socket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAME_PROBE_SECRET", "host-only-value-7f3a9")
    manager = await make_manager(docker_host=dead_socket, allow_local_runner=True)
    status = manager.status()
    assert status["backend"] == "local" and status["insecure"] is True and "INSECURE" in status["detail"]
    report = (
        await manager.run("import os, sys\nprint(sorted(os.environ))\nprint('x', file=sys.stderr)")
    ).to_dict()
    assert report["status"] == "ok" and report["backend"] == "local" and report["insecure"] is True
    assert "INSECURE" in report["detail"]
    assert "FAME_PROBE_SECRET" not in report["stdout"] and report["stderr"] == "x\n"
    timed = await manager.run("import time\ntime.sleep(60)", timeout=1)
    assert timed.status == "timeout" and timed.insecure
    hog = await manager.run("x = bytearray(2 * 1024 ** 3)", memory="256m")
    assert hog.status == "error" and "MemoryError" in hog.stderr


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has ended."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)


async def test_leftover_containers_of_a_dead_process_are_reaped_at_start(
    make_manager: Any, docker_client: Any, dead_pid: int
) -> None:
    owner = f"{socket.gethostname()}:{dead_pid}:1"
    leftover = docker_client.api.create_container(
        "fame-sandbox:latest", labels={LABEL: "1", OWNER_LABEL: owner}, command=["sleep", "600"]
    )["Id"]
    docker_client.api.start(leftover)
    manager = await make_manager(pool_size=0)
    deadline = time.monotonic() + 20
    while any(c["Id"] == leftover for c in docker_client.api.containers(all=True, filters={"label": LABEL})):
        assert time.monotonic() < deadline, "leftover container was not reaped"
        await asyncio.sleep(0.1)
    assert manager.status()["available"] is True


async def test_network_needs_the_admin_setting_and_the_request(make_manager: Any) -> None:
    code = "import os\nprint(sorted(os.listdir('/sys/class/net')))"
    closed = await make_manager(pool_size=0)
    assert (await closed.run(code)).stdout == "['lo']\n"
    denied = await closed.run(code, network=True)
    assert denied.stdout == "['lo']\n" and denied.limits.network is False and "admin" in denied.detail
    opened = await make_manager(pool_size=0, allow_network=True)
    assert (await opened.run(code)).stdout == "['lo']\n"
    granted = await opened.run(code, network=True)
    assert "eth0" in granted.stdout and granted.limits.network is True


def _fame(data_dir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FAME_HOME"}
    return subprocess.run(
        [str(FAME), "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_cli_sandbox_run_json(tmp_path: Path, engine_ready: None, docker_client: Any) -> None:
    program = tmp_path / "prog.py"
    program.write_text(
        "import sys\nprint('hello from the sandbox')\nprint('warn', file=sys.stderr)\nsys.exit(5)\n"
    )
    done = _fame(tmp_path / "data", "sandbox", "run", str(program), "--json", "--timeout", "20")
    assert done.returncode == 5, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "error" and report["exit_code"] == 5 and report["backend"] == "docker"
    assert report["stdout"] == "hello from the sandbox\n" and report["stderr"] == "warn\n"
    assert "hello from the sandbox" in done.stderr  # live output goes to stderr with --json


def test_cli_sandbox_run_streams_and_exits_with_the_programs_code(tmp_path: Path, engine_ready: None) -> None:
    program = tmp_path / "prog.py"
    program.write_text("import sys\nprint('out')\nprint('err', file=sys.stderr)\n")
    done = _fame(tmp_path / "data", "sandbox", "run", str(program))
    assert done.returncode == 0 and done.stdout == "out\n"
    assert done.stderr.endswith("err\n") and "out" not in done.stderr
    slow = tmp_path / "slow.py"
    slow.write_text("import time\ntime.sleep(30)\n")
    done = _fame(tmp_path / "data", "sandbox", "run", str(slow), "--timeout", "1")
    assert done.returncode != 0 and "timeout" in done.stderr


def test_cli_sandbox_unavailable_exits_2_with_the_fix(tmp_path: Path, dead_socket: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    # Set as the app sets it (admin settings edited by hand are not applied until approved).
    SettingsStore(data / "settings.json").update({"sandbox.docker_host": dead_socket}, admin=True)
    program = tmp_path / "prog.py"
    program.write_text("print('never')\n")
    done = _fame(data, "sandbox", "run", str(program))
    assert done.returncode == 2
    assert "unavailable" in done.stderr and "fix:" in done.stderr and "never" not in done.stdout


async def test_app_fixture_sandbox_is_wired(app: Any, docker_client: Any) -> None:
    report = await app.sandbox.run("print('via the app')")
    assert report.status == "ok" and report.stdout == "via the app\n"
    assert app.services.status()["docker"]["backend"] == "docker"
    await app.aclose()
    assert own_containers(docker_client) == []


async def test_settings_changes_take_effect_without_a_restart(make_manager: Any, dead_socket: str) -> None:
    manager = await make_manager(pool_size=1)
    assert (await manager.run("print(1)")).status == "ok"
    manager.store.update({"sandbox.docker_host": dead_socket}, admin=True)
    report = await manager.run("print(1)")
    assert report.status == "unavailable" and "Fix:" in report.detail
    manager.store.update({"sandbox.docker_host": ""}, admin=True)
    assert (await manager.run("print(1)")).status == "ok"


async def test_a_remote_tcp_engine_from_the_setting(make_manager: Any) -> None:
    proxy = TcpToUnix("/var/run/docker.sock")
    try:
        manager = await make_manager(docker_host=f"tcp://127.0.0.1:{proxy.port}", pool_size=1)
        report = await manager.run("import sys\nprint('over tcp')\nprint('e', file=sys.stderr)")
        assert report.status == "ok" and report.stdout == "over tcp\n" and report.stderr == "e\n"
        assert f"tcp://127.0.0.1:{proxy.port}" in manager.status()["detail"]
        assert proxy.connections > 0
        await manager.close()
    finally:
        proxy.close()
