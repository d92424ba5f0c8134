"""``DockerManager``: the sandbox service the Brain, code generation, CLI and window use.

Every run is hardened (see :mod:`.limits`), streams its output on the event bus as it happens,
is audited, and never raises for Docker problems: a missing engine or image gives a report with
status ``unavailable``, the reason and the fix. Blocking engine calls run in worker threads.

The manager is a facade over three parts: :class:`.preparation.ImagePreparation` (pull and build
the image), :class:`.warm.WarmContainers` (the warm pool) and :class:`.runs.Runs` (runs and
cancellation). It owns the engine connection, its status, and following the settings.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fame_desktop.orchestrator.audit_kinds import AuditAppend
from fame_desktop.orchestrator.events import SandboxStatusChanged
from fame_desktop.orchestrator.sandbox.containers import Containers, Prestarted
from fame_desktop.orchestrator.sandbox.engine import Engine, EngineState, owner_id
from fame_desktop.orchestrator.sandbox.images import PrepareResult, Progress
from fame_desktop.orchestrator.sandbox.limits import CPU_PERIOD_US, Limits
from fame_desktop.orchestrator.sandbox.pool import BurstMemory, Refill, WarmPool
from fame_desktop.orchestrator.sandbox.preparation import ImagePreparation
from fame_desktop.orchestrator.sandbox.record import Publish, RunRecorder
from fame_desktop.orchestrator.sandbox.report import RunReport
from fame_desktop.orchestrator.sandbox.runs import Runs
from fame_desktop.orchestrator.sandbox.warm import WarmContainers
from fame_desktop.orchestrator.settings import SandboxSettings

log = logging.getLogger("fame.sandbox")

# The pool starts filling this long after start-up (or at the first run): a short-lived app (a
# CLI call, a test) then never starts containers it will not use.
POOL_DELAY_S = 1.0
# A cached "unavailable" is probed again at most this often when someone asks for the status.
_REPROBE_S = 10.0


class DockerManager:
    """The hardened sandbox over the Docker SDK, with a warm pool of single-use containers.

    Args:
        settings: Returns the sandbox settings now (read at each run; changes are followed).
        network_allowed: Returns whether an admin allowed the network now.
        publish: Where ``Sandbox*`` events go (``EventBus.publish``; any thread).
        audit: ``AuditLog.append`` (None: runs are not audited).
        pool_refill: When the warm pool refills: ahead of demand, never next to a run (the
            default); ``Refill.ON_TAKE`` is the earlier behaviour, for benchmarks to compare.
        pool_memory: A file where the warm pool remembers the longest recent burst of runs, so
            the next start is ready for it (None: every start learns it again).
    """

    def __init__(
        self,
        settings: Callable[[], SandboxSettings],
        network_allowed: Callable[[], bool],
        publish: Publish,
        audit: AuditAppend | None = None,
        *,
        pool_refill: Refill = Refill.AHEAD,
        pool_memory: Path | None = None,
    ) -> None:
        self._sb = settings
        self._publish = publish
        sb = settings()
        self._engine = Engine(sb.docker_host, sb.image)
        self._lock = threading.Lock()
        ahead = pool_refill is Refill.AHEAD
        # Refills and removals of used containers wait for the runs to leave the engine alone;
        # ON_TAKE keeps the earlier rule: removals at once, refills while no program runs (or
        # a second later).
        self._containers = Containers(
            lambda: self._engine, owner_id(), quiet=lambda: not ahead or self._runs.quiet()
        )
        self._warm = WarmContainers(
            self._containers,
            self._pool_ready,
            lambda: self._runs.quiet() if ahead else not self._runs.busy(),
            sb.pool_size,
            Limits.from_settings(sb),
            refill=pool_refill,
            memory=BurstMemory(pool_memory) if pool_memory is not None else None,
        )
        self._runs = Runs(
            settings=settings, network_allowed=network_allowed, engine=self._current_engine,
            probe=self._probe, containers=self._containers, warm=self._warm,
            recorder=RunRecorder(publish, audit), max_concurrency=sb.max_concurrency,
        )  # fmt: skip
        self._images = ImagePreparation(publish)
        self._config = self._wanted_config()
        self._stop = threading.Event()
        self._warmup: threading.Thread | None = None
        self._probing = False
        self._probed_at = 0.0
        self._started = False
        self._closed = False
        self._last_status: tuple[bool, str, str] | None = None

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Probe, reap leftovers and fill the pool in a background thread; returns at once."""
        if self._started or self._closed:
            return
        self._started = True
        self._warm.enable()
        self._warmup = threading.Thread(target=self._warm_up, name="fame-sandbox-start", daemon=True)
        self._warmup.start()

    def _warm_up(self) -> None:
        state = self._probe()
        if not state.available or self._closed:
            return
        try:
            self._engine.reap()
        except Exception as exc:  # reaping is housekeeping: a failure must not stop the sandbox
            log.warning("could not reap leftover sandbox containers: %s", exc)
        if not self._stop.wait(POOL_DELAY_S):
            self._warm.start()

    async def close(self) -> None:
        """Stop the pool, kill running programs and remove every container this manager made."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        await asyncio.to_thread(self._close_blocking)

    def _close_blocking(self) -> None:
        if self._warmup is not None:
            self._warmup.join(15)
        self._containers.hurry()
        idle = self._warm.close()
        for ready in idle:
            self._containers.discard_later(ready)
        self._runs.close()
        self._containers.close()
        self._engine.close()

    # --- following the settings ------------------------------------------------------------------

    def _wanted_config(self) -> tuple[object, ...]:
        sb = self._sb()
        try:
            key = Limits.from_settings(sb).container_key()
        except ValueError:
            key = ()
        return (sb.docker_host, sb.image, sb.pool_size, key)

    def _current_engine(self) -> Engine:
        """The engine, after following changes of the engine, image, pool size or limits."""
        wanted = self._wanted_config()
        with self._lock:
            if wanted == self._config or self._closed:
                return self._engine
            self._config = wanted
            sb = self._sb()
            old_engine = self._engine
            if (sb.docker_host, sb.image) != (old_engine.docker_host, old_engine.image):
                self._engine = Engine(sb.docker_host, sb.image)
            old_pool = self._warm.replace(sb.pool_size, Limits.from_settings(sb))
            engine = self._engine
        log.info("sandbox settings changed: engine %s, image %s", engine.where, engine.image)
        threading.Thread(target=self._retire, args=(old_engine, old_pool), daemon=True).start()
        return engine

    def _retire(self, engine: Engine, pool: WarmPool[Prestarted]) -> None:
        for ready in pool.close():
            self._containers.discard(ready, engine)
        if engine is not self._engine:
            engine.close()
        if self._started and not self._closed and self._probe().available:
            self._warm.start()

    # --- status ----------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Availability, backend, image and a sentence (with the fix when unavailable); never blocks."""
        engine = self._current_engine()
        sb = self._sb()
        state = engine.state
        if not state.available and self._started and not self._closed:
            self._refresh_soon()
        if state.available:
            backend, available, detail = "docker", True, state.detail
        elif sb.allow_local_runner:
            backend, available = "local", True
            detail = f"INSECURE local runner: code runs on this computer because Docker is unavailable. {state.detail}"
        else:
            backend, available, detail = "none", False, state.detail
        if not self._started:
            detail = f"Sandbox not started yet. {detail}"
        return {
            "available": available,
            "backend": backend,
            "image": engine.image,
            "detail": detail,
            "insecure": backend == "local",
            "docker_host": engine.where,
            "engine_version": state.version,
            "pool": dict(self._warm.status()),
            "running": self._runs.running,
            "max_concurrency": sb.max_concurrency,
        }

    def _refresh_soon(self) -> None:
        with self._lock:
            if self._probing or time.monotonic() - self._probed_at < _REPROBE_S:
                return
            self._probing = True
        threading.Thread(target=self._probe, name="fame-sandbox-probe", daemon=True).start()

    def _probe(self) -> EngineState:
        with self._lock:
            self._probing = True
        try:
            state = self._engine.probe()
        finally:
            with self._lock:
                self._probing = False
                self._probed_at = time.monotonic()
        key = (state.available, self._engine.image, state.detail)
        if key != self._last_status:
            self._last_status = key
            status = self.status()
            self._publish(
                SandboxStatusChanged(
                    available=status["available"], backend=status["backend"], image=status["image"],
                    detail=status["detail"],
                )
            )  # fmt: skip
        if state.available:
            self._warm.wake()
        return state

    def _pool_ready(self) -> bool:
        return self._engine.state.available and not self._closed

    # --- image ------------------------------------------------------------------------------------

    async def prepare_image(
        self, progress: Progress | None = None, cancel: threading.Event | None = None
    ) -> PrepareResult:
        """Pull the base (when missing) and build the sandbox image (when missing or stale).

        ``SandboxImageProgress`` events go on the bus (and to ``progress``, called in a worker
        thread) as it goes; a ``SandboxStatusChanged`` ends it. Setting ``cancel``, or cancelling
        the awaiting task, aborts the pull or build. Never raises for Docker or registry problems.
        """
        if self._closed:
            return PrepareResult(
                "unavailable", self._engine.image, self._sb().base_image, "The sandbox is shut down."
            )
        engine = self._current_engine()
        return await self._images.prepare(
            engine, self._sb().base_image, progress=progress, cancel=cancel, then=self._after_prepare
        )

    def _after_prepare(self) -> None:
        self._last_status = None  # always end with a status event, changed or not
        if self._probe().available and self._started and not self._closed:
            self._warm.start()

    # --- runs ------------------------------------------------------------------------------------

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
        """Run ``code`` in the sandbox; the report (never raises for Docker problems).

        Output chunks are published as ``SandboxOutput`` while the program runs. Cancelling the
        awaiting task kills the program.
        """
        return await self._runs.run(
            code, timeout=timeout, memory=memory, cpus=cpus, network=network, query_id=query_id, run_id=run_id
        )

    def run_code_in_container(
        self,
        code_str: str,
        timeout_seconds: float = 30,
        memory_limit: str = "512m",
        cpu_quota: int = 50000,
        allow_network: bool = False,
    ) -> dict[str, Any]:
        """The seed's synchronous call: run and return the report as a dict (blocking)."""
        return self._runs.run_blocking(
            code_str, uuid.uuid4().hex[:12], None, timeout_seconds, memory_limit, cpu_quota / CPU_PERIOD_US,
            allow_network,
        ).to_dict()  # fmt: skip

    async def cancel(self, run_id: str) -> bool:
        """Kill run ``run_id`` (its report says ``killed``); False when no such run is going."""
        return await asyncio.to_thread(self._runs.cancel_blocking, run_id)
