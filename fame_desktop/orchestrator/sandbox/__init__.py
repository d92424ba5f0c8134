"""The hardened Docker sandbox: every piece of generated code runs here, never on the host.

Consumers see a :class:`Sandbox` (``backend.py``), built once by the composition root:
:class:`DockerManager` runs code in single-use, locked-down containers of one engine (a warm pool
of them is kept started); ``SwarmSandbox`` (``swarm_backend.py``) runs each program as a
single-use job on a Docker Swarm cluster. Both stream output on the event bus, audit every run,
and report ``unavailable`` with the fix when the engine is missing.
"""

from __future__ import annotations

from fame_desktop.orchestrator.sandbox.backend import Sandbox
from fame_desktop.orchestrator.sandbox.docker_manager import DockerManager
from fame_desktop.orchestrator.sandbox.limits import Limits
from fame_desktop.orchestrator.sandbox.report import RunReport

__all__ = ["DockerManager", "Limits", "RunReport", "Sandbox"]
