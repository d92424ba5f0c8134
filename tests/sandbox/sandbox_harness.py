"""Helpers of the sandbox tests (imported by the test modules of this folder)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from fame_desktop.orchestrator.audit import AuditLog
from fame_desktop.orchestrator.events import EventBus
from fame_desktop.orchestrator.sandbox import DockerManager
from fame_desktop.orchestrator.sandbox.engine import LABEL, OWNER_LABEL, owner_id
from fame_desktop.orchestrator.settings import SettingsStore


class WiredManager(DockerManager):
    """A manager over a settings store, a bus and an audit log, kept for the test to drive."""

    def __init__(
        self,
        store: SettingsStore,
        bus: EventBus,
        audit: AuditLog | None = None,
        pool_memory: Path | None = None,
    ) -> None:
        super().__init__(
            lambda: store.settings.sandbox,
            lambda: store.settings.network.allow_network,
            bus.publish,
            audit.append if audit is not None else None,
            pool_memory=pool_memory,
        )
        self.store, self.bus, self.audit_log = store, bus, audit


def own_containers(client: Any) -> list[dict[str, Any]]:
    """Sandbox containers made by this test process."""
    found: list[dict[str, Any]] = client.api.containers(
        all=True, filters={"label": [LABEL, f"{OWNER_LABEL}={owner_id()}"]}
    )
    return found


def wait_no_containers(client: Any, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Poll until this process has no sandbox container left; what remains after ``timeout``."""
    deadline = time.monotonic() + timeout
    left = own_containers(client)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = own_containers(client)
    return left


async def wait_pool(manager: DockerManager, ready: int, within: float = 20.0) -> None:
    """Wait until the warm pool holds ``ready`` containers."""
    deadline = time.monotonic() + within
    while manager.status()["pool"]["ready"] < ready:
        assert time.monotonic() < deadline, manager.status()
        await asyncio.sleep(0.05)
