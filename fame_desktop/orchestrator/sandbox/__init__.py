"""The hardened Docker sandbox: every piece of generated code runs here, never on the host.

``build_sandbox(services)`` is what the composition root calls; the returned
:class:`DockerManager` runs code in single-use, locked-down containers (a warm pool of them is
kept started), streams output on the event bus, audits every run, and reports ``unavailable``
with the fix when Docker is missing.
"""

from __future__ import annotations

from typing import Protocol

from fame_desktop.orchestrator.audit import AuditLog
from fame_desktop.orchestrator.events import EventBus
from fame_desktop.orchestrator.sandbox.docker_manager import DockerManager
from fame_desktop.orchestrator.sandbox.limits import Limits
from fame_desktop.orchestrator.sandbox.report import RunReport
from fame_desktop.orchestrator.settings import SettingsStore

__all__ = ["DockerManager", "Limits", "RunReport", "build_sandbox"]


class _Wiring(Protocol):
    """What the sandbox is built from (the composition root's services)."""

    @property
    def settings(self) -> SettingsStore:
        """The settings store."""
        ...

    @property
    def bus(self) -> EventBus:
        """The event bus."""
        ...

    @property
    def audit(self) -> AuditLog:
        """The audit log."""
        ...


def build_sandbox(services: _Wiring) -> DockerManager:
    """The sandbox for ``services``: reads the ``sandbox`` and ``network`` settings at each run,
    publishes on ``bus``, audits to ``audit``."""
    store = services.settings
    return DockerManager(
        lambda: store.settings.sandbox,
        lambda: store.settings.network.allow_network,
        services.bus.publish,
        services.audit.append,
    )
