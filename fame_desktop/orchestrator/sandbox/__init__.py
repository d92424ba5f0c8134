"""The hardened Docker sandbox: every piece of generated code runs here, never on the host.

``build_sandbox(services)`` is what the composition root calls; the returned
:class:`DockerManager` runs code in single-use, locked-down containers (a warm pool of them is
kept started), streams output on the event bus, audits every run, and reports ``unavailable``
with the fix when Docker is missing.
"""

from __future__ import annotations

from typing import Any

from fame_desktop.orchestrator.sandbox.docker_manager import DockerManager
from fame_desktop.orchestrator.sandbox.limits import Limits
from fame_desktop.orchestrator.sandbox.report import RunReport

__all__ = ["DockerManager", "Limits", "RunReport", "build_sandbox"]


def build_sandbox(services: Any) -> DockerManager:
    """The sandbox for ``services`` (reads ``settings``, publishes on ``bus``, audits to ``audit``)."""
    return DockerManager(services.settings, services.bus, services.audit)
