"""Fixtures of the sandbox tests: a real Docker engine (started by the project's own script),
managers over throwaway data dirs, and a check that no container outlives a test."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from sandbox_harness import WiredManager

from fame_desktop.orchestrator.audit import AuditLog
from fame_desktop.orchestrator.events import EventBus
from fame_desktop.orchestrator.settings import SettingsStore

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def engine_ready() -> None:
    """Start Docker and build the sandbox image with the project's scripts (fast when done)."""
    for script in ("docker_up.sh", "build_sandbox_image.sh"):
        subprocess.run([str(REPO / "scripts" / script)], check=True, capture_output=True, timeout=600)


@pytest.fixture
def docker_client(engine_ready: None) -> Iterator[Any]:
    """A Docker SDK client, closed after the test."""
    client = docker.from_env(version="auto")
    yield client
    client.close()


class ManagerFactory:
    """Builds started managers over a data dir; closes them all at the end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.made: list[tuple[WiredManager, AuditLog]] = []
        self.start_s = 0.0  # how long the last manager took to build and start (not its settings)

    async def __call__(
        self, *, allow_network: bool = False, pool_memory: Path | None = None, **sandbox: Any
    ) -> WiredManager:
        folder = self.root / f"m{len(self.made)}"
        folder.mkdir()
        settings = SettingsStore(folder / "settings.json")
        changes: dict[str, Any] = {f"sandbox.{k}": v for k, v in sandbox.items()}
        changes["network.allow_network"] = allow_network
        settings.update(changes, admin=True)
        bus = EventBus()
        bus.bind_loop(asyncio.get_running_loop())
        audit = AuditLog(folder / "audit.db")
        started = time.monotonic()
        manager = WiredManager(settings, bus, audit, pool_memory)
        self.made.append((manager, audit))
        await manager.start()
        self.start_s = time.monotonic() - started
        return manager

    async def close(self) -> None:
        """Close every manager made so far (again: only those made since)."""
        while self.made:
            manager, audit = self.made.pop(0)
            await manager.close()
            audit.close()


@pytest.fixture
async def make_manager(tmp_path: Path, engine_ready: None) -> AsyncIterator[ManagerFactory]:
    """``await make_manager(pool_size=0, ...)``: a started manager with those sandbox settings."""
    factory = ManagerFactory(tmp_path)
    yield factory
    await factory.close()


@pytest.fixture
async def manager(make_manager: ManagerFactory) -> WiredManager:
    """A started manager with default settings (warm pool of 2)."""
    return await make_manager()
