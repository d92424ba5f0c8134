"""The sandbox boundary: :class:`Sandbox`, what the rest of the app uses of a sandbox backend.

Two backends implement it: :class:`~.docker_manager.DockerManager` (one Docker engine, a warm
pool of pre-started containers) and :class:`~.swarm_backend.SwarmSandbox` (each run a single-use
service on any node of a Docker Swarm cluster). The composition root
(``orchestrator/services.py``) picks one from the admin setting ``sandbox.backend``.

The boundary is the engine-neutral part only: a run's code and limits in, a :class:`RunReport`
out, output as ``SandboxOutput`` events on the bus while it runs, ``cancel`` by run id, a
``status`` dict, image preparation. A Kubernetes backend would sit beside the two as a third
class (each run a ``batch/v1`` Job with a ConfigMap holding the code, a deny-all NetworkPolicy,
``securityContext`` for the hardening, the pod's logs streamed into ``SandboxOutput``) and a
third value of ``sandbox.backend``; nothing outside this package would change.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from fame_desktop.orchestrator.sandbox.images import PrepareResult, Progress
from fame_desktop.orchestrator.sandbox.report import RunReport

#: The values of the ``sandbox.backend`` setting.
BACKENDS = ("docker", "swarm")


class Sandbox(Protocol):
    """A sandbox backend: runs untrusted programs isolated from the host, one report each.

    Implementations never raise for engine problems: a run gives a report with status
    ``unavailable`` (and the fix in its detail) instead. ``status`` never blocks.
    """

    async def start(self) -> None:
        """Probe the engine and reap what a crashed earlier app left; returns at once."""
        ...

    async def close(self) -> None:
        """Kill the running programs and remove everything this backend made."""
        ...

    def status(self) -> dict[str, Any]:
        """``available``, ``backend``, ``image``, ``detail`` (with the fix), ``running`` and
        ``max_concurrency`` at least; a cluster adds ``nodes``. Never blocks."""
        ...

    async def prepare_image(
        self, progress: Progress | None = None, cancel: threading.Event | None = None
    ) -> PrepareResult:
        """Make the sandbox image ready, with progress; never raises for engine problems."""
        ...

    async def run(
        self,
        code: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - the run's own limit, enforced by the engine
        memory: str | None = None,
        cpus: float | None = None,
        network: bool = False,
        query_id: str | None = None,
        run_id: str | None = None,
    ) -> RunReport:
        """Run ``code``; its report. ``SandboxOutput`` events carry the output while it runs;
        cancelling the awaiting task kills the program."""
        ...

    async def cancel(self, run_id: str) -> bool:
        """Kill run ``run_id`` (its report says ``killed``); False when no such run is going."""
        ...

    def run_code_in_container(
        self,
        code_str: str,
        timeout_seconds: float = 30,
        memory_limit: str = "512m",
        cpu_quota: int = 50000,
        allow_network: bool = False,
    ) -> dict[str, Any]:
        """The seed's synchronous call: run and return the report as a dict (blocking)."""
        ...
