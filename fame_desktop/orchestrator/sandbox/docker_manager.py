"""``DockerManager``: the sandbox service the Brain, code generation, CLI and window use.

Every run is hardened (see :mod:`.limits`), streams its output on the event bus as it happens,
is audited, and never raises for Docker problems: a missing engine or image gives a report with
status ``unavailable``, the reason and the fix. Blocking engine calls run in worker threads.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fame_desktop.orchestrator.events import (
    EventBus,
    SandboxFinished,
    SandboxOutput,
    SandboxStarted,
    SandboxStatusChanged,
)
from fame_desktop.orchestrator.sandbox.container_run import ContainerRun, RawResult, StaleContainer
from fame_desktop.orchestrator.sandbox.engine import LABEL, OWNER_LABEL, Engine, owner_id
from fame_desktop.orchestrator.sandbox.images import ImagePreparer, PrepareResult, Progress
from fame_desktop.orchestrator.sandbox.limits import CPU_PERIOD_US, Limits, container_config, host_config
from fame_desktop.orchestrator.sandbox.local_runner import LocalRun
from fame_desktop.orchestrator.sandbox.pool import WarmPool
from fame_desktop.orchestrator.sandbox.report import RunReport
from fame_desktop.orchestrator.settings import SettingsStore

log = logging.getLogger("fame.sandbox")

# A removal that fails for another reason than "no such container" is tried again this often.
REMOVE_ATTEMPTS = 3
REMOVE_RETRY_S = 0.2


class _StaleWarmContainer(Exception):
    """A pre-started container failed before the program produced anything."""


AUDIT_OUTPUT_CHARS = 2000
# The pool starts filling this long after start-up (or at the first run): a short-lived app (a
# CLI call, a test) then never starts containers it will not use.
POOL_DELAY_S = 1.0
# A cached "unavailable" is probed again at most this often when someone asks for the status.
_REPROBE_S = 10.0


class DockerManager:
    """The hardened sandbox over the Docker SDK, with a warm pool of single-use containers.

    Args:
        settings: The settings store (``sandbox`` and ``network`` sections are read at each run).
        bus: Where ``Sandbox*`` events go.
        audit: ``AuditLog.append``-compatible callable's owner (``None``: runs are not audited).
    """

    def __init__(self, settings: SettingsStore, bus: EventBus, audit: Any = None) -> None:
        self._settings = settings
        self._bus = bus
        self._audit = audit
        sb = settings.settings.sandbox
        self._engine = Engine(sb.docker_host, sb.image)
        self._owner = owner_id()
        self._workers = ThreadPoolExecutor(sb.max_concurrency, thread_name_prefix="fame-sandbox-run")
        self._cleaner = ThreadPoolExecutor(2, thread_name_prefix="fame-sandbox-rm")
        self._lock = threading.Lock()
        self._runs: dict[str, ContainerRun | LocalRun] = {}
        self._queued: set[str] = set()
        self._cancelled: set[str] = set()
        self._live: set[str] = set()  # containers created by this manager and not yet removed
        self._pool_limits = Limits.from_settings(sb)
        self._pool = self._new_pool(sb.pool_size)
        self._config = self._wanted_config()
        self._stop = threading.Event()
        self._warmup: threading.Thread | None = None
        self._probing = False
        self._probed_at = 0.0
        self._started = False
        self._closed = False
        self._last_status: tuple[bool, str, str] | None = None
        self._preparing = threading.Lock()  # one image preparation at a time

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Probe, reap leftovers and fill the pool in a background thread; returns at once."""
        if self._started or self._closed:
            return
        self._started = True
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
            self._pool.start()

    def _new_pool(self, size: int) -> WarmPool:
        return WarmPool(
            size, self._create_warm, self._remove_now, self._pool_ready, busy=lambda: bool(self._runs)
        )

    def _wanted_config(self) -> tuple[object, ...]:
        sb = self._sb()
        try:
            key = Limits.from_settings(sb).container_key()
        except ValueError:
            key = ()
        return (sb.docker_host, sb.image, sb.pool_size, key)

    def _sync_config(self) -> None:
        """Follow changes of the engine, image, pool size or limits made in the settings."""
        wanted = self._wanted_config()
        with self._lock:
            if wanted == self._config or self._closed:
                return
            self._config = wanted
            sb = self._sb()
            old_engine, old_pool = self._engine, self._pool
            if (sb.docker_host, sb.image) != (old_engine.docker_host, old_engine.image):
                self._engine = Engine(sb.docker_host, sb.image)
            self._pool_limits = Limits.from_settings(sb)
            self._pool = self._new_pool(sb.pool_size)
        log.info("sandbox settings changed: engine %s, image %s", self._engine.where, self._engine.image)
        threading.Thread(target=self._retire, args=(old_engine, old_pool), daemon=True).start()

    def _retire(self, engine: Engine, pool: WarmPool) -> None:
        for container in pool.close():
            self._remove_now(container, engine)
        if engine is not self._engine:
            engine.close()
        if self._started and not self._closed and self._probe().available:
            self._pool.start()

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
        idle = self._pool.close()
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.kill("cancel")
        for container in idle:
            self._cleaner.submit(self._remove_now, container)
        self._workers.shutdown(wait=True)
        self._cleaner.shutdown(wait=True)
        with self._lock:
            leftovers = list(self._live)
        for container in leftovers:
            self._remove_now(container)
        self._engine.close()

    # --- status ----------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Availability, backend, image and a sentence (with the fix when unavailable); never blocks."""
        self._sync_config()
        sb = self._settings.settings.sandbox
        state = self._engine.state
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
        with self._lock:
            running = len(self._runs)
        return {
            "available": available,
            "backend": backend,
            "image": self._engine.image,
            "detail": detail,
            "insecure": backend == "local",
            "docker_host": self._engine.where,
            "engine_version": state.version,
            "pool": {"size": self._pool.size, "ready": self._pool.idle, "error": self._pool.last_error},
            "running": running,
            "max_concurrency": sb.max_concurrency,
        }

    def _refresh_soon(self) -> None:
        with self._lock:
            if self._probing or time.monotonic() - self._probed_at < _REPROBE_S:
                return
            self._probing = True
        threading.Thread(target=self._probe, name="fame-sandbox-probe", daemon=True).start()

    def _probe(self) -> Any:
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
            self._bus.publish(
                SandboxStatusChanged(
                    available=status["available"], backend=status["backend"], image=status["image"],
                    detail=status["detail"],
                )
            )  # fmt: skip
        if state.available:
            self._pool.wake()
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
        cancel = cancel or threading.Event()
        future = asyncio.ensure_future(asyncio.to_thread(self._prepare_blocking, progress, cancel))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            cancel.set()
            # Let the worker close its connection (that is what stops the engine's pull).
            await asyncio.wait({future}, timeout=10)
            raise

    def _prepare_blocking(self, progress: Progress | None, cancel: threading.Event) -> PrepareResult:
        if self._closed:
            return PrepareResult(
                "unavailable", self._engine.image, self._sb().base_image, "The sandbox is shut down."
            )
        self._sync_config()

        def publish(event: Any) -> None:
            self._bus.publish(event)
            if progress is not None:
                progress(event)

        with self._preparing:
            result = ImagePreparer(self._engine, self._sb().base_image).prepare(publish, cancel)
        self._last_status = None  # always end with a status event, changed or not
        if self._probe().available and self._started and not self._closed:
            self._pool.start()
        return result

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
        run_id = run_id or uuid.uuid4().hex[:12]
        with self._lock:
            self._queued.add(run_id)
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(
                self._workers, self._run_blocking, code, run_id, query_id, timeout, memory, cpus, network
            )
        except RuntimeError:  # closed: the executor refuses new work
            with self._lock:
                self._queued.discard(run_id)
            return self._unavailable(run_id, "The sandbox is shut down.", Limits.from_settings(self._sb()))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # Killing makes an engine call: keep it off the event loop.
            threading.Thread(target=self._cancel_blocking, args=(run_id,), daemon=True).start()
            raise

    def run_code_in_container(
        self,
        code_str: str,
        timeout_seconds: float = 30,
        memory_limit: str = "512m",
        cpu_quota: int = 50000,
        allow_network: bool = False,
    ) -> dict[str, Any]:
        """The seed's synchronous call: run and return the report as a dict (blocking)."""
        return self._run_blocking(
            code_str, uuid.uuid4().hex[:12], None, timeout_seconds, memory_limit, cpu_quota / CPU_PERIOD_US,
            allow_network,
        ).to_dict()  # fmt: skip

    async def cancel(self, run_id: str) -> bool:
        """Kill run ``run_id`` (its report says ``killed``); False when no such run is going."""
        return await asyncio.to_thread(self._cancel_blocking, run_id)

    def _cancel_blocking(self, run_id: str) -> bool:
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                if run_id in self._queued:
                    self._cancelled.add(run_id)
                    return True
                return False
        return run.kill("cancel")

    def _sb(self) -> Any:
        return self._settings.settings.sandbox

    def _run_blocking(
        self,
        code: str,
        run_id: str,
        query_id: str | None,
        timeout: float | None,
        memory: str | None,
        cpus: float | None,
        network: bool,
    ) -> RunReport:
        started = time.monotonic()
        self._sync_config()
        settings = self._settings.settings
        notes: list[str] = []
        if network and not settings.network.allow_network:
            notes.append("Network was requested but an admin has not enabled it; the run had no network.")
        try:
            limits = Limits.from_settings(
                settings.sandbox, timeout=timeout, memory=memory, cpus=cpus,
                network=network and settings.network.allow_network,
            )  # fmt: skip
        except ValueError as exc:
            limits = Limits.from_settings(settings.sandbox)
            report = self._report(run_id, "error", "none", limits, detail=f"Invalid limits: {exc}.")
            return self._finish(report, code, query_id, started)
        with self._lock:
            self._queued.discard(run_id)
            cancelled = run_id in self._cancelled
            self._cancelled.discard(run_id)
        if cancelled:
            report = self._report(run_id, "killed", "none", limits, detail="Cancelled before it started.")
            return self._finish(report, code, query_id, started)
        state = self._engine.state if self._engine.state.available else self._probe()
        if state.available:
            report = self._run_docker(code, run_id, query_id, limits)
        elif settings.sandbox.allow_local_runner:
            report = self._run_local(code, run_id, query_id, limits)
        else:
            report = self._unavailable(run_id, state.detail, limits)
            self._publish_started(report, query_id)
        if notes:
            report.detail = " ".join([*notes, report.detail]).strip()
        return self._finish(report, code, query_id, started)

    def _run_docker(self, code: str, run_id: str, query_id: str | None, limits: Limits) -> RunReport:
        report = self._report(run_id, "ok", "docker", limits)
        payload = code.encode("utf-8", errors="surrogateescape")
        pooled = limits.container_key() == self._pool_limits.container_key()
        announced: list[bool] = []  # SandboxStarted goes out once, even when a try is repeated
        while True:
            try:
                raw = self._attempt(payload, report, query_id, limits, use_pool=pooled, announced=announced)
                break
            except _StaleWarmContainer as exc:
                # A pre-started container died before the run (engine restart): retry on a fresh one.
                log.info("warm container unusable (%s); running cold", exc.__cause__)
                pooled = False
            except Exception as exc:
                log.warning("sandbox run %s failed on the engine: %s", run_id, exc)
                self._probe()
                detail = self._engine.state.detail if not self._engine.state.available else ""
                return self._unavailable(
                    run_id,
                    detail or f"The Docker engine failed during the run ({str(exc)[:200]}). Try again.",
                    limits,
                )
        if raw is None:
            report.status, report.detail = "killed", "Cancelled before it started."
            return report
        return self._apply(report, raw)

    def _attempt(
        self,
        payload: bytes,
        report: RunReport,
        query_id: str | None,
        limits: Limits,
        *,
        use_pool: bool,
        announced: list[bool],
    ) -> RawResult | None:
        """One try in one container; None if cancelled first. Raises on engine failures."""
        run_id = report.run_id
        api = self._engine.api()
        container = self._pool.take() if use_pool else None
        if use_pool and self._started:
            self._pool.start()  # a run came before the start-up delay ended
        report.warm = container is not None
        try:
            if container is None:
                container = self._create(limits, pooled=False)
            report.extra["container"] = container[:12]
            run = ContainerRun(
                api, container, timeout=limits.timeout_seconds, output_limit=limits.output_limit_bytes,
                emit=self._emitter(run_id),
            )  # fmt: skip
            if not self._register(run_id, run):
                return None
            if not announced:
                announced.append(True)
                self._publish_started(report, query_id)
            try:
                return run.execute(payload, started=report.warm)
            except Exception as exc:
                if run.killed_by == "cancel":
                    # Stopped before the program began (the kill made the container look stale):
                    # a cancelled run must never be retried on a fresh container.
                    return None
                if isinstance(exc, StaleContainer):
                    raise _StaleWarmContainer() from exc
                if report.warm and run.received == 0 and run.killed_by is None:
                    raise _StaleWarmContainer() from exc  # e.g. removed: attaching failed
                raise
            finally:
                with self._lock:
                    self._runs.pop(run_id, None)
        finally:
            if container is not None:
                self._remove_later(container)

    def _run_local(self, code: str, run_id: str, query_id: str | None, limits: Limits) -> RunReport:
        report = self._report(run_id, "ok", "local", limits)
        report.insecure = True
        report.image = ""
        run = LocalRun(limits, emit=self._emitter(run_id))
        if not self._register(run_id, run):
            report.status, report.detail = "killed", "Cancelled before it started."
            return report
        self._publish_started(report, query_id)
        try:
            raw = run.execute(code)
        except Exception as exc:
            report.status, report.detail = "error", f"The local runner failed: {exc}."
            return report
        finally:
            with self._lock:
                self._runs.pop(run_id, None)
        report = self._apply(report, raw)
        report.detail = (
            "INSECURE: ran on this computer without isolation (Docker unavailable). " + report.detail
        ).strip()
        return report

    def _register(self, run_id: str, run: ContainerRun | LocalRun) -> bool:
        with self._lock:
            if run_id in self._cancelled or self._closed:
                self._cancelled.discard(run_id)
                return False
            self._runs[run_id] = run
            return True

    @staticmethod
    def _apply(report: RunReport, raw: RawResult) -> RunReport:
        report.exit_code = raw.exit_code
        report.stdout, report.stderr = raw.stdout, raw.stderr
        report.stdout_truncated, report.stderr_truncated = raw.stdout_truncated, raw.stderr_truncated
        report.timed_out, report.oom_killed = raw.timed_out, raw.oom_killed
        if raw.cancelled:
            report.status, report.detail = "killed", "Stopped on request."
        elif raw.timed_out:
            report.status = "timeout"
            report.detail = f"Killed after the {report.limits['timeout_seconds']:g} s time limit."
        elif raw.oom_killed:
            report.status = "oom"
            report.detail = f"Killed for using more than {report.limits['memory']} of memory."
        elif raw.exit_code == 0:
            report.status = "ok"
        else:
            report.status = "error"
        return report

    # --- containers ------------------------------------------------------------------------------

    def _create(self, limits: Limits, *, pooled: bool) -> str:
        api = self._engine.api()
        labels = {LABEL: "1", OWNER_LABEL: self._owner, "fame.sandbox.kind": "warm" if pooled else "cold"}
        config = container_config(limits, self._engine.image, labels)
        created = api.create_container(host_config=api.create_host_config(**host_config(limits)), **config)
        container = str(created["Id"])
        with self._lock:
            self._live.add(container)
        return container

    def _create_warm(self) -> str:
        container = self._create(self._pool_limits, pooled=True)
        try:
            self._engine.api().start(container)
        except Exception:
            self._remove_now(container)
            raise
        return container

    def _remove_later(self, container: str) -> None:
        try:
            self._cleaner.submit(self._remove_now, container)
        except RuntimeError:  # shutting down: remove in this thread
            self._remove_now(container)

    def _remove_now(self, container: str, engine: Engine | None = None) -> None:
        for attempt in range(REMOVE_ATTEMPTS):
            try:
                (engine or self._engine).api().remove_container(container, force=True)
                break
            except Exception as exc:  # start-up reaping catches what is left after the retries
                # The engine refuses a forced removal racing the container's own exit ("is not
                # running") and leaves it "Removal In Progress"; asking again removes it.
                # Only then: not when it is gone (404) or the engine does not answer at all.
                status = getattr(getattr(exc, "response", None), "status_code", None)
                log.debug("remove %s (attempt %d): %s", container[:12], attempt + 1, exc)
                if status is None or status == 404 or attempt + 1 == REMOVE_ATTEMPTS:
                    break
                time.sleep(REMOVE_RETRY_S)
        with self._lock:
            self._live.discard(container)

    # --- reports, events, audit ------------------------------------------------------------------

    def _report(self, run_id: str, status: str, backend: str, limits: Limits, detail: str = "") -> RunReport:
        return RunReport(
            run_id=run_id, status=status, backend=backend, image=self._engine.image, limits=limits.to_dict(),
            detail=detail,
        )  # fmt: skip

    def _unavailable(self, run_id: str, detail: str, limits: Limits) -> RunReport:
        return self._report(run_id, "unavailable", "none", limits, detail=detail)

    def _emitter(self, run_id: str) -> Any:
        publish = self._bus.publish

        def emit(stream: str, text: str) -> None:
            publish(SandboxOutput(run_id=run_id, stream=stream, text=text))

        return emit

    def _publish_started(self, report: RunReport, query_id: str | None) -> None:
        self._bus.publish(
            SandboxStarted(
                run_id=report.run_id, backend=report.backend, image=report.image, limits=report.limits,
                query_id=query_id,
            )
        )  # fmt: skip

    def _finish(self, report: RunReport, code: str, query_id: str | None, started: float) -> RunReport:
        report.duration_ms = round((time.monotonic() - started) * 1000, 2)
        data = report.to_dict()
        self._bus.publish(SandboxFinished(run_id=report.run_id, report=data))
        if self._audit is not None:
            try:
                self._audit.append(
                    "sandbox_run",
                    {
                        "run_id": report.run_id,
                        "query_id": query_id,
                        "code_sha256": hashlib.sha256(
                            code.encode("utf-8", errors="surrogateescape")
                        ).hexdigest(),
                        "code_bytes": len(code),
                        "limits": report.limits,
                        "status": report.status,
                        "exit_code": report.exit_code,
                        "duration_ms": report.duration_ms,
                        "backend": report.backend,
                        "insecure": report.insecure,
                        "image": report.image,
                        "stdout": report.stdout[:AUDIT_OUTPUT_CHARS],
                        "stderr": report.stderr[:AUDIT_OUTPUT_CHARS],
                        "stdout_truncated": report.stdout_truncated
                        or len(report.stdout) > AUDIT_OUTPUT_CHARS,
                        "stderr_truncated": report.stderr_truncated
                        or len(report.stderr) > AUDIT_OUTPUT_CHARS,
                        "detail": report.detail,
                    },
                    actor="sandbox",
                    summary=f"sandbox run {report.status} ({report.backend}, {report.duration_ms:.0f} ms)",
                )
            except Exception as exc:  # the run happened; a full disk must not turn it into a crash
                log.error("could not audit sandbox run %s: %s", report.run_id, exc)
        return report
