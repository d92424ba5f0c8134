"""``fame sandbox cluster status|init|join-token`` and the API's status over the swarm backend,
on the real engine in swarm mode."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fame_desktop.api.server import ApiServerHandle
from fame_desktop.app import App, build_app
from fame_desktop.cli import build_parser, run_command
from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.settings import SettingsStore
from tests.swarm.conftest import wait_available

pytestmark = [pytest.mark.docker]


@pytest.fixture
async def swarm_app(data_dir: Path, swarm_engine: None) -> AsyncIterator[App]:
    """An app whose sandbox backend is the swarm."""
    SettingsStore(data_dir / "settings.json").update({"sandbox.backend": "swarm"}, admin=True)
    app = build_app(data_dir)
    yield app
    await app.aclose()


async def _cli(app: App, *argv: str) -> int:
    return await run_command(build_parser().parse_args(list(argv)), app)


def _cluster_audit(app: App) -> list[dict[str, Any]]:
    return [dict(e.data) for e in reversed(app.audit.query(kinds=["sandbox_cluster"]))]  # oldest first


async def test_status_lists_the_nodes(
    swarm_app: App, docker_api: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await _cli(swarm_app, "sandbox", "cluster", "status") == 0
    out = capsys.readouterr().out
    name = docker_api.info()["Name"]
    line = next(row for row in out.splitlines() if row.startswith(name + " "))
    assert line.split()[1:4] == ["manager", "ready", "active"], line
    assert line.split()[-1] == "yes"  # the image is on the manager
    assert await _cli(swarm_app, "sandbox", "cluster", "status", "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert status["backend"] == "swarm" and status["ready_nodes"] >= 1
    assert name in {n["hostname"] for n in status["nodes"]}
    assert [a["action"] for a in _cluster_audit(swarm_app)] == ["status", "status"]


async def test_init_and_join_token_need_an_admin_key(
    swarm_app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    for action in ("init", "join-token"):
        with pytest.raises(FameError, match="admin key"):
            await _cli(swarm_app, "sandbox", "cluster", action)
    refused = [dict(e.data) for e in swarm_app.audit.query(kinds=["admin_failed"])]
    assert len(refused) == 2
    swarm_app.admin_key = swarm_app.safety.create_first_key(actor="test")
    # The engine is in a swarm already (the fixture's): init changes nothing and says so.
    assert await _cli(swarm_app, "sandbox", "cluster", "init") == 0
    assert "already a manager of a swarm" in capsys.readouterr().out
    assert await _cli(swarm_app, "sandbox", "cluster", "join-token") == 0
    out = capsys.readouterr().out
    command = next(line.strip() for line in out.splitlines() if "docker swarm join" in line)
    words = command.split()
    assert words[:4] == ["docker", "swarm", "join", "--token"] and words[4].startswith("SWMTKN-")
    assert words[5].endswith(":2377")
    audit = _cluster_audit(swarm_app)
    assert [a["action"] for a in audit] == ["init", "join-token"]
    assert audit[0]["status"] == "exists" and audit[1]["shown"] is True
    assert words[4] not in json.dumps(audit)  # the token never goes into the log


async def test_the_api_status_says_swarm(swarm_app: App) -> None:
    key = swarm_app.safety.create_first_key(actor="test")
    await swarm_app.sandbox.start()
    await wait_available(swarm_app.sandbox)
    server = ApiServerHandle()
    url = await server.start(swarm_app, host="127.0.0.1", port=0)
    try:
        async with httpx.AsyncClient(base_url=str(url), headers={"X-API-Key": key}) as client:
            health = (await client.get("/health")).json()
    finally:
        await server.stop()
    docker = health["details"]["docker"]
    assert health["docker_available"] is True
    assert docker["backend"] == "swarm" and docker["nodes"] >= 1 and docker["available"] is True
    assert {"image", "detail", "running", "max_concurrency"} <= set(docker)
