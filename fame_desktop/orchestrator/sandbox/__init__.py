"""The hardened Docker sandbox: every piece of generated code runs here, never on the host.

:class:`DockerManager` (built once by the composition root) runs code in single-use, locked-down
containers (a warm pool of them is kept started), streams output on the event bus, audits every
run, and reports ``unavailable`` with the fix when Docker is missing.
"""

from __future__ import annotations

from fame_desktop.orchestrator.sandbox.docker_manager import DockerManager
from fame_desktop.orchestrator.sandbox.limits import Limits
from fame_desktop.orchestrator.sandbox.report import RunReport

__all__ = ["DockerManager", "Limits", "RunReport"]
