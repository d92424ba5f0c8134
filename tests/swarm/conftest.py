"""Fixtures of the Swarm tests: the local engine in swarm mode for the session, and Swarm sandbox
backends over throwaway data dirs.

``swarm_engine`` runs ``scripts/swarm_manager_up.sh`` (``docker swarm init`` advertising 10.77.0.1,
an address on lo that a second engine in a network namespace reaches too) only when the engine is
not in a swarm already, and ``docker swarm leave --force`` at the end only if a test session made
the swarm and no other test session (another pytest process) still uses it: the sessions using
it are listed, by pid, in a file under a lock. Swarm mode leaves plain containers alone, so the
other tests on the engine keep working meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from fame_desktop.orchestrator.audit import AuditLog
from fame_desktop.orchestrator.events import Event, EventBus
from fame_desktop.orchestrator.sandbox import Sandbox
from fame_desktop.orchestrator.sandbox.swarm_backend import SwarmSandbox
from fame_desktop.orchestrator.sandbox.swarm_cluster import OWNER
from fame_desktop.orchestrator.settings import SettingsStore

REPO = Path(__file__).resolve().parents[2]
_USERS = Path("/tmp/fame-test-swarm.json")
#: The address scripts/swarm_manager_up.sh puts on lo and advertises.
MANAGER_ADDR = "10.77.0.1"
_LOCK = Path("/tmp/fame-test-swarm.lock")


def swarm_state() -> str:
    """The engine's ``Swarm.LocalNodeState`` (``inactive``, ``active``, ...)."""
    out = subprocess.run(
        ["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out.stdout.strip()


@contextlib.contextmanager
def _users() -> Iterator[dict[str, Any]]:
    """The shared record of test sessions using the swarm (read, changed, written under a lock)."""
    with open(_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            record: dict[str, Any] = json.loads(_USERS.read_text())
        except (OSError, ValueError):
            record = {"made_by_tests": False, "pids": []}
        record["pids"] = [p for p in record["pids"] if _alive(int(p))]
        yield record
        _USERS.write_text(json.dumps(record))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session")
def swarm_engine() -> Iterator[None]:
    """The local engine running, with the sandbox image, in swarm mode for the whole session."""
    for script in ("docker_up.sh", "build_sandbox_image.sh"):
        subprocess.run([str(REPO / "scripts" / script)], check=True, capture_output=True, timeout=600)
    with _users() as record:
        if swarm_state() != "active":
            # Advertised on an address a second engine in a network namespace can reach too
            # (the two-node tests, tests/swarm/two_nodes.py): 10.77.0.1 on lo, not 127.0.0.1.
            subprocess.run(
                [str(REPO / "scripts" / "swarm_manager_up.sh")], check=True, capture_output=True, timeout=120
            )
            record["made_by_tests"] = True
        record["pids"].append(os.getpid())
    try:
        yield
    finally:
        with _users() as record:
            record["pids"] = [p for p in record["pids"] if p != os.getpid()]
            if record["made_by_tests"] and not record["pids"]:
                subprocess.run(["docker", "swarm", "leave", "--force"], capture_output=True, timeout=120)
                subprocess.run(["ip", "addr", "del", f"{MANAGER_ADDR}/32", "dev", "lo"], capture_output=True)
                record["made_by_tests"] = False


@pytest.fixture
def docker_api(swarm_engine: None) -> Iterator[Any]:
    """The engine's low-level API client, closed after the test."""
    client = docker.from_env(version="1.41")
    yield client.api
    client.close()


def fame_objects(api: Any, owner: str | None = None) -> list[str]:
    """Services, configs and networks with the ``fame.owner`` label (of ``owner`` when given)."""
    label = f"{OWNER}={owner}" if owner else OWNER
    found = [f"service {s['Spec']['Name']}" for s in api.services(filters={"label": label})]
    found += [f"config {c['Spec']['Name']}" for c in api.configs(filters={"label": label})]
    found += [f"network {n['Name']}" for n in api.networks(filters={"label": label})]
    # The jobs' containers carry the labels too (this engine is the test swarm's one node).
    found += [f"container {c['Names'][0]}" for c in api.containers(all=True, filters={"label": label})]
    return found


def wait_no_objects(api: Any, owner: str | None = None, timeout: float = 30.0) -> list[str]:
    """Poll until no job object (of ``owner``) is left; what remains after ``timeout``."""
    deadline = time.monotonic() + timeout
    left = fame_objects(api, owner)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = fame_objects(api, owner)
    return left


class WiredSwarm(SwarmSandbox):
    """A Swarm backend over a settings store, a bus and an audit log; records every event."""

    def __init__(self, store: SettingsStore, bus: EventBus, audit: AuditLog) -> None:
        self.events: list[tuple[float, Event]] = []
        super().__init__(
            lambda: store.settings.sandbox,
            lambda: store.settings.network.allow_network,
            self._record,
            audit.append,
        )
        self.store, self.bus, self.audit_log = store, bus, audit
        self._bus_publish = bus.publish

    def _record(self, event: Event) -> None:
        self.events.append((time.monotonic(), event))
        self._bus_publish(event)


class SwarmFactory:
    """Builds started Swarm backends over a data dir; closes them all at the end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.made: list[tuple[WiredSwarm, AuditLog]] = []

    async def __call__(self, *, allow_network: bool = False, **sandbox: Any) -> WiredSwarm:
        folder = self.root / f"s{len(self.made)}"
        folder.mkdir()
        settings = SettingsStore(folder / "settings.json")
        changes: dict[str, Any] = {f"sandbox.{k}": v for k, v in sandbox.items()}
        changes["sandbox.backend"] = "swarm"
        changes["network.allow_network"] = allow_network
        settings.update(changes, admin=True)
        bus = EventBus()
        bus.bind_loop(asyncio.get_running_loop())
        audit = AuditLog(folder / "audit.db")
        backend = WiredSwarm(settings, bus, audit)
        self.made.append((backend, audit))
        await backend.start()
        await wait_available(backend)
        return backend

    async def close(self) -> None:
        for backend, audit in self.made:
            await backend.close()
            audit.close()


async def wait_available(backend: Sandbox, within: float = 60.0) -> None:
    """Wait until the backend's first probe says the cluster is available."""
    deadline = time.monotonic() + within
    while not backend.status()["available"]:
        assert time.monotonic() < deadline, backend.status()
        await asyncio.sleep(0.1)


@pytest.fixture
async def make_swarm(tmp_path: Path, swarm_engine: None) -> AsyncIterator[SwarmFactory]:
    """``await make_swarm(timeout_seconds=5, ...)``: a started Swarm backend with those settings."""
    factory = SwarmFactory(tmp_path)
    yield factory
    await factory.close()


@pytest.fixture
async def swarm(make_swarm: SwarmFactory) -> WiredSwarm:
    """A started Swarm backend with default settings."""
    return await make_swarm()
