"""Sandbox runs: limits from the settings, a warm or fresh container (or the insecure local
runner when an admin allowed it), cancellation, and the report. Never raises for Docker problems.

Blocking work runs on a pool of ``max_concurrency`` worker threads; a run waits for a free one.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor

from fame_desktop.orchestrator.sandbox.container_run import ContainerRun, RawResult, StaleContainer, attach
from fame_desktop.orchestrator.sandbox.containers import Containers
from fame_desktop.orchestrator.sandbox.engine import Engine, EngineState
from fame_desktop.orchestrator.sandbox.limits import Limits
from fame_desktop.orchestrator.sandbox.local_runner import LocalRun
from fame_desktop.orchestrator.sandbox.record import RunRecorder
from fame_desktop.orchestrator.sandbox.report import RunReport
from fame_desktop.orchestrator.sandbox.warm import WarmContainers
from fame_desktop.orchestrator.settings import SandboxSettings

log = logging.getLogger("fame.sandbox")

# Runs often come back to back (a loop, an evolution cycle): after one ends, work that competes
# with runs for the engine (refilling the pool, removing used containers) waits this long for
# the next one to start.
SETTLE_S = 0.05
# A run going longer than this no longer holds that work back (it is not waiting on milliseconds).
LONG_RUN_S = 1.0


async def run_on_worker(
    workers: Executor,
    run_blocking: Callable[[], RunReport],
    *,
    refused: Callable[[], RunReport],
    cancel: Callable[[], object],
) -> RunReport:
    """Run a blocking sandbox run on ``workers``; what every backend's ``run`` does around it.

    Args:
        workers: The backend's worker threads (a run waits for a free one).
        run_blocking: The run itself; its report is returned.
        refused: The report when the workers are shut down (the backend is closed).
        cancel: Kills the run; called on a thread of its own when the awaiting task is cancelled
            (killing makes engine calls: they stay off the event loop).
    """
    loop = asyncio.get_running_loop()
    try:
        future = loop.run_in_executor(workers, run_blocking)
    except RuntimeError:  # closed: the executor refuses new work
        return refused()
    try:
        # Shielded: a cancelled caller must not leave the worker's run half done; cancel kills it.
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        threading.Thread(target=cancel, daemon=True).start()
        raise


class _StaleWarmContainer(Exception):
    """A pre-started container failed before the program produced anything."""


class Runs:
    """Runs programs and keeps track of the ones queued and going (to cancel them).

    Args:
        settings: The sandbox settings now (read at each run).
        network_allowed: Whether an admin allowed the network now.
        engine: The engine to run on now (following the settings).
        probe: Asks the engine again; its state (after an engine failure, or when not known up).
        containers: Where fresh containers are created and used ones removed.
        warm: The warm pool runs take their containers from.
        recorder: Publishes a run's events and audits it.
        max_concurrency: Runs at the same time (more wait).
    """

    def __init__(
        self,
        *,
        settings: Callable[[], SandboxSettings],
        network_allowed: Callable[[], bool],
        engine: Callable[[], Engine],
        probe: Callable[[], EngineState],
        containers: Containers,
        warm: WarmContainers,
        recorder: RunRecorder,
        max_concurrency: int,
    ) -> None:
        self._settings = settings
        self._network_allowed = network_allowed
        self._engine = engine
        self._probe = probe
        self._containers = containers
        self._warm = warm
        self._recorder = recorder
        self._workers = ThreadPoolExecutor(max_concurrency, thread_name_prefix="fame-sandbox-run")
        self._lock = threading.Lock()
        self._runs: dict[str, ContainerRun | LocalRun] = {}
        self._since: dict[str, float] = {}  # when each going run started (monotonic)
        self._last_end = 0.0
        self._queued: set[str] = set()
        self._cancelled: set[str] = set()
        self._closed = False

    # --- the public calls ------------------------------------------------------------------------

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
        """Run ``code`` on a worker thread; cancelling the awaiting task kills the program."""
        run_id = run_id or uuid.uuid4().hex[:12]
        with self._lock:
            self._queued.add(run_id)

        def refused() -> RunReport:
            with self._lock:
                self._queued.discard(run_id)
            return self._unavailable(
                run_id, "The sandbox is shut down.", Limits.from_settings(self._settings())
            )

        return await run_on_worker(
            self._workers,
            functools.partial(self.run_blocking, code, run_id, query_id, timeout, memory, cpus, network),
            refused=refused,
            cancel=functools.partial(self.cancel_blocking, run_id),
        )

    def cancel_blocking(self, run_id: str) -> bool:
        """Kill run ``run_id`` (or mark it cancelled while queued); False when no such run."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                if run_id in self._queued or run_id in self._since:  # not started yet
                    self._cancelled.add(run_id)
                    return True
                return False
        return run.kill("cancel")

    def busy(self) -> bool:
        """Whether a program is running now."""
        return bool(self._runs)

    def quiet(self) -> bool:
        """Whether other engine work would slow no run now: no run younger than ``LONG_RUN_S`` is
        going or waiting for a worker, and none ended in the last ``SETTLE_S``."""
        now = time.monotonic()
        with self._lock:
            if self._queued or now - self._last_end < SETTLE_S:
                return False
            return all(now - since >= LONG_RUN_S for since in self._since.values())

    @property
    def running(self) -> int:
        """Programs running now."""
        with self._lock:
            return len(self._runs)

    def close(self) -> None:
        """Refuse new runs, kill the running ones and wait for the workers (blocking)."""
        with self._lock:
            self._closed = True
            runs = list(self._runs.values())
        for run in runs:
            run.kill("cancel")
        self._workers.shutdown(wait=True)

    # --- one run ---------------------------------------------------------------------------------

    def run_blocking(
        self,
        code: str,
        run_id: str,
        query_id: str | None,
        timeout: float | None,
        memory: str | None,
        cpus: float | None,
        network: bool,
    ) -> RunReport:
        """Run ``code`` in this thread: the report, published and audited."""
        started = time.monotonic()
        with self._lock:
            self._queued.discard(run_id)
            self._since[run_id] = started
        try:
            return self._run_recorded(code, run_id, query_id, timeout, memory, cpus, network, started)
        finally:
            with self._lock:
                self._since.pop(run_id, None)
                self._cancelled.discard(run_id)
                self._last_end = time.monotonic()

    def _run_recorded(
        self,
        code: str,
        run_id: str,
        query_id: str | None,
        timeout: float | None,
        memory: str | None,
        cpus: float | None,
        network: bool,
        started: float,
    ) -> RunReport:
        engine = self._engine()
        sandbox, allow_network = self._settings(), self._network_allowed()
        notes: list[str] = []
        if network and not allow_network:
            notes.append("Network was requested but an admin has not enabled it; the run had no network.")
        try:
            limits = Limits.from_settings(
                sandbox, timeout=timeout, memory=memory, cpus=cpus, network=network and allow_network
            )
        except ValueError as exc:
            limits = Limits.from_settings(sandbox)
            report = self._report(run_id, "error", "none", limits, detail=f"Invalid limits: {exc}.")
            return self._recorder.finished(report, code, query_id, started)
        with self._lock:
            cancelled = run_id in self._cancelled
            self._cancelled.discard(run_id)
        if cancelled:
            report = self._report(run_id, "killed", "none", limits, detail="Cancelled before it started.")
            return self._recorder.finished(report, code, query_id, started)
        state = engine.state if engine.state.available else self._probe()
        if state.available:
            report = self._run_docker(code, run_id, query_id, limits)
        elif sandbox.allow_local_runner:
            report = self._run_local(code, run_id, query_id, limits)
        else:
            report = self._unavailable(run_id, state.detail, limits)
            self._recorder.started(report, query_id)
        if notes:
            report.detail = " ".join([*notes, report.detail]).strip()
        return self._recorder.finished(report, code, query_id, started)

    def _run_docker(self, code: str, run_id: str, query_id: str | None, limits: Limits) -> RunReport:
        report = self._report(run_id, "ok", "docker", limits)
        report.node = self._engine().state.name
        payload = code.encode("utf-8", errors="surrogateescape")
        pooled = True
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
                state = self._probe()
                detail = state.detail if not state.available else ""
                return self._unavailable(
                    run_id,
                    detail or f"The Docker engine failed during the run ({str(exc)[:200]}). Try again.",
                    limits,
                )
        if raw is None:
            report.status, report.detail = "killed", "Cancelled before it started."
            return report
        return apply_raw(report, raw)

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
        api = self._engine().api()
        ready = self._warm.take(limits) if use_pool else None
        report.warm = ready is not None
        container = ready.id if ready is not None else None
        stdio = ready.attachment if ready is not None else None
        try:
            if container is None:
                container = self._containers.create(limits, pooled=False)
            report.extra["container"] = container[:12]
            run = ContainerRun(
                api, container, timeout=limits.timeout_seconds, output_limit=limits.output_limit_bytes,
                emit=self._recorder.emitter(run_id),
            )  # fmt: skip
            if not self._register(run_id, run):
                return None
            if not announced:
                announced.append(True)
                self._recorder.started(report, query_id)
            try:
                if stdio is None:  # a fresh container: attached before it starts
                    stdio = attach(api, container)
                return run.execute(payload, started=ready is not None, attachment=stdio)
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
                self._unregister(run_id)
        finally:
            if container is not None:  # its runner lingers until then (see containers.py)
                self._containers.remove_later(container, stdio)
            elif stdio is not None:
                stdio.close()

    def _run_local(self, code: str, run_id: str, query_id: str | None, limits: Limits) -> RunReport:
        report = self._report(run_id, "ok", "local", limits)
        report.insecure = True
        report.image = ""
        report.node = socket.gethostname()
        run = LocalRun(limits, emit=self._recorder.emitter(run_id))
        if not self._register(run_id, run):
            report.status, report.detail = "killed", "Cancelled before it started."
            return report
        self._recorder.started(report, query_id)
        try:
            raw = run.execute(code)
        except Exception as exc:
            report.status, report.detail = "error", f"The local runner failed: {exc}."
            return report
        finally:
            self._unregister(run_id)
        report = apply_raw(report, raw)
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

    def _unregister(self, run_id: str) -> None:
        with self._lock:
            self._runs.pop(run_id, None)

    def _report(self, run_id: str, status: str, backend: str, limits: Limits, detail: str = "") -> RunReport:
        return RunReport(
            run_id=run_id, status=status, backend=backend, image=self._engine().image, limits=limits,
            detail=detail,
        )  # fmt: skip

    def _unavailable(self, run_id: str, detail: str, limits: Limits) -> RunReport:
        return self._report(run_id, "unavailable", "none", limits, detail=detail)


def apply_raw(report: RunReport, raw: RawResult) -> RunReport:
    """Fill ``report`` from what happened in the container (or on the host)."""
    report.exit_code = raw.exit_code
    report.stdout, report.stderr = raw.stdout, raw.stderr
    report.stdout_truncated, report.stderr_truncated = raw.stdout_truncated, raw.stderr_truncated
    report.timed_out, report.oom_killed = raw.timed_out, raw.oom_killed
    if raw.cancelled:
        report.status, report.detail = "killed", "Stopped on request."
    elif raw.timed_out:
        report.status = "timeout"
        report.detail = f"Killed after the {report.limits.timeout_seconds:g} s time limit."
    elif raw.oom_killed:
        report.status = "oom"
        report.detail = f"Killed for using more than {report.limits.memory} of memory."
    elif raw.exit_code == 0:
        report.status = "ok"
    else:
        report.status = "error"
    return report
