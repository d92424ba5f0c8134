"""``SwarmSandbox``: the :class:`~.backend.Sandbox` whose runs are jobs on a Docker Swarm cluster.

Each run is a single-use service (one replica, never restarted) of the sandbox image on whichever node the
Swarm scheduler picks (:mod:`.swarm_jobs`, hardened as :mod:`.swarm_spec` says), its output
followed from the engine's log into ``SandboxOutput`` events, its report saying the node it ran
on. Every object of a job (service, config, network) is labelled with this app's owner and the
run, and removed after the run; at start the objects of crashed earlier apps are reaped.

There is no warm pool: a job's container is started by the node that runs it. Blocking engine
calls run on ``max_concurrency`` worker threads.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fame_desktop.orchestrator.audit_kinds import AuditAppend
from fame_desktop.orchestrator.events import SandboxImageProgress, SandboxStatusChanged
from fame_desktop.orchestrator.sandbox.engine import Engine, owner_id
from fame_desktop.orchestrator.sandbox.images import PrepareResult, Progress
from fame_desktop.orchestrator.sandbox.limits import CPU_PERIOD_US, Limits
from fame_desktop.orchestrator.sandbox.preparation import ImagePreparation
from fame_desktop.orchestrator.sandbox.record import Publish, RunRecorder
from fame_desktop.orchestrator.sandbox.report import RunReport
from fame_desktop.orchestrator.sandbox.runs import apply_raw, run_on_worker
from fame_desktop.orchestrator.sandbox.swarm_cluster import Cluster, ClusterState, stray_containers
from fame_desktop.orchestrator.sandbox.swarm_images import ImageDistributor, service_reference
from fame_desktop.orchestrator.sandbox.swarm_jobs import Cleanup, JobUnavailable, NodeLost, SwarmJob
from fame_desktop.orchestrator.sandbox.swarm_nodes import NodeSlots, placement
from fame_desktop.orchestrator.sandbox.swarm_spec import SCHEDULE_LIMIT_S
from fame_desktop.orchestrator.settings import SandboxSettings

log = logging.getLogger("fame.sandbox.swarm")

# A cached probe is refreshed at most this often when someone asks for the status.
_REPROBE_S = 10.0
#: Seconds one call of a node sweep may take (the next probe sweeps again).
_SWEEP_CALL_TIMEOUT_S = 5.0
# How long close() waits for the removal of the last jobs' objects.
_CLOSE_FLUSH_S = 20.0
# Threads for runs: most of them wait for a node's slot (sandbox.per_node_concurrency), so this
# only caps the runs queued at once.
_RUN_THREADS = 64
# The image reference a job names (the image id, or its pushed digest) is looked up again after this.
_REFERENCE_TTL_S = 5.0
# A node that refused a job (the image missing there) gets no job for this long.
_REFUSED_PAUSE_S = 30.0


class SwarmSandbox:
    """Sandbox runs as Swarm jobs (see the module docstring).

    Args:
        settings: Returns the sandbox settings now (limits and image are read at each run; the
            manager address when built).
        network_allowed: Returns whether an admin allowed the network now.
        publish: Where ``Sandbox*`` events go (``EventBus.publish``; any thread).
        audit: ``AuditLog.append`` (None: runs are not audited).
    """

    def __init__(
        self,
        settings: Callable[[], SandboxSettings],
        network_allowed: Callable[[], bool],
        publish: Publish,
        audit: AuditAppend | None = None,
    ) -> None:
        self._sb = settings
        self._network_allowed = network_allowed
        self._publish = publish
        sb = settings()
        self._engine = Engine(sb.swarm_manager or sb.docker_host, sb.image)
        self._cluster = Cluster(self._engine)
        self._owner = owner_id()
        self._recorder = RunRecorder(publish, audit)
        self._images = ImagePreparation(publish)
        self._cleanup = Cleanup(self._engine.api)
        self._workers = ThreadPoolExecutor(
            max(sb.max_concurrency, _RUN_THREADS), thread_name_prefix="fame-swarm-run"
        )
        # Where each job runs: a slot on the least busy ready node (see swarm_nodes).
        self._slots = NodeSlots(lambda: list(self._engine.api().nodes()), sb.per_node_concurrency)
        self._reference: tuple[str, float] | None = None
        self._lock = threading.Lock()
        self._jobs: dict[str, SwarmJob] = {}
        self._queued: set[str] = set()
        self._cancelled: set[str] = set()
        self._probing = False
        self._probed_at = 0.0
        self._last_status: tuple[bool, str] | None = None
        self._sweeping = False
        self._started = False
        self._closed = False
        self._startup: threading.Thread | None = None

    @property
    def owner(self) -> str:
        """The ``fame.owner`` label of this app's jobs."""
        return self._owner

    @property
    def cluster(self) -> Cluster:
        """The cluster (its last probe, its nodes)."""
        return self._cluster

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Probe the manager and reap leftovers of crashed apps in a background thread."""
        if self._started or self._closed:
            return
        self._started = True
        self._startup = threading.Thread(target=self._start_blocking, name="fame-swarm-start", daemon=True)
        self._startup.start()

    def _start_blocking(self) -> None:
        if not self._probe().available or self._closed:
            return
        try:
            leftovers = self._cluster.leftovers(self._owner)
        except Exception as exc:  # housekeeping: a failure must not stop the sandbox
            log.warning("could not list leftover swarm jobs: %s", exc)
            return
        if leftovers:
            log.info("removing %d leftover swarm job object(s) of earlier apps", len(leftovers))
            self._cleanup.remove(leftovers)
        self._sweep_soon()  # the reaped services' containers on the nodes (unless a sweep runs)

    async def close(self) -> None:
        """Kill the running jobs and remove every object this backend made."""
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._close_blocking)

    def _close_blocking(self) -> None:
        if self._startup is not None:
            self._startup.join(15)
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.kill("cancel")
        self._slots.close()
        self._workers.shutdown(wait=True)
        if not self._cleanup.flush(_CLOSE_FLUSH_S):
            log.warning("some swarm job objects were not removed; the next start reaps them")
        self._cleanup.close()
        self._engine.close()

    # --- status ----------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Availability, ``backend: swarm``, the nodes, image and a sentence; never blocks."""
        state = self._cluster.state
        sb = self._sb()
        if self._started and not self._closed and time.monotonic() - self._probed_at > _REPROBE_S:
            self._refresh_soon()
        detail = state.detail if self._started else f"Sandbox not started yet. {state.detail}"
        with self._lock:
            running = len(self._jobs)
        return {
            "available": state.available,
            "backend": "swarm",
            "image": self._engine.image,
            "detail": detail,
            "insecure": False,
            "docker_host": self._engine.where,
            "engine_version": state.version,
            "manager": state.manager,
            "nodes": state.ready_nodes,
            "node_list": [n.to_dict() for n in state.nodes],
            "pool": {},
            "running": running,
            # A slot per node and job (sandbox.per_node_concurrency) on each ready node.
            "max_concurrency": sb.per_node_concurrency * max(1, state.ready_nodes),
        }

    def _refresh_soon(self) -> None:
        with self._lock:
            if self._probing:
                return
            self._probing = True
        threading.Thread(target=self._probe, name="fame-swarm-probe", daemon=True).start()

    def _probe(self) -> ClusterState:
        with self._lock:
            self._probing = True
        try:
            state = self._cluster.probe()
        finally:
            with self._lock:
                self._probing = False
                self._probed_at = time.monotonic()
        if state.nodes:
            self._sweep_soon()
        key = (state.available, state.detail)
        if key != self._last_status:
            self._last_status = key
            self._publish(
                SandboxStatusChanged(
                    available=state.available, backend="swarm", image=self._engine.image, detail=state.detail
                )
            )
        return state

    def _sweep_soon(self) -> None:
        """Sweep the node engines in the background (one sweep at a time). Each probe does, so a
        node that comes back is swept within a probe of its return (the window's status polls
        probe every ``_REPROBE_S``); it costs one container listing per configured node engine."""
        with self._lock:
            if self._sweeping or self._closed or not self._sb().swarm_node_engines:
                return
            self._sweeping = True
        threading.Thread(target=self._sweep_nodes, name="fame-swarm-sweep", daemon=True).start()

    def _sweep_nodes(self) -> None:
        """Remove the job containers whose service is gone from every node engine the app reaches
        (``sandbox.swarm_node_engines``): what a node lost mid-run, or a crashed app, left there."""
        try:
            for url in self._sb().swarm_node_engines:
                self._sweep_node(url)
        finally:
            with self._lock:
                self._sweeping = False

    def _sweep_node(self, url: str) -> None:
        """Remove the stray job containers on the engine at ``url`` (see :func:`stray_containers`)."""
        try:
            client = Engine(url, self._engine.image).new_client()
        except Exception as exc:  # a node that is down: swept when it is back
            log.debug("sweep %s: %s", url, exc)
            return
        # A node engine still coming back can hold a call for the whole API timeout; a sweep that
        # waited on it would keep the next probes from sweeping (one sweep at a time).
        client.api.timeout = _SWEEP_CALL_TIMEOUT_S
        removed = 0
        try:
            for ident in stray_containers(client.api, self._engine.api()):
                try:
                    client.api.remove_container(ident, force=True)
                    removed += 1
                except Exception as exc:  # the next probe's sweep tries again
                    log.warning("could not remove job container %s on %s: %s", ident[:12], url, exc)
        except Exception as exc:  # housekeeping: a failure must not stop the sandbox
            log.warning("could not list job containers on %s: %s", url, exc)
        finally:
            client.close()
        if removed:
            log.info("removed %d stray job container(s) on %s", removed, url)

    # --- image -----------------------------------------------------------------------------------

    async def prepare_image(
        self, progress: Progress | None = None, cancel: threading.Event | None = None
    ) -> PrepareResult:
        """Build the sandbox image on the manager's engine (pulling its base when missing), then
        put it on every node: pushed to ``sandbox.registry``, or loaded onto each engine of
        ``sandbox.swarm_node_engines`` (see :mod:`.swarm_images`)."""
        if self._closed:
            return PrepareResult(
                "unavailable", self._engine.image, self._sb().base_image, "The sandbox is shut down."
            )
        cancel = cancel or threading.Event()
        result = await self._images.prepare(
            self._engine, self._sb().base_image, progress=progress, cancel=cancel, then=self._after_prepare
        )
        if result.status != "ok":
            return result
        sb = self._sb()
        distributor = ImageDistributor(self._engine, sb.swarm_node_engines, sb.registry)

        def publish(event: SandboxImageProgress) -> None:
            self._publish(event)
            if progress is not None:
                progress(event)

        future = asyncio.ensure_future(asyncio.to_thread(distributor.distribute, publish, cancel))
        try:
            spread = await asyncio.shield(future)
        except asyncio.CancelledError:
            cancel.set()
            await asyncio.wait({future}, timeout=10)
            raise
        with self._lock:
            self._reference = None  # name the image as it is now
        result.nodes = spread.to_dict()["nodes"]
        result.detail = f"{result.detail} {spread.detail}".strip()
        if spread.status != "ok":
            result.status = spread.status if spread.status in ("cancelled", "unavailable") else "error"
        return result

    def _after_prepare(self) -> None:
        self._last_status = None  # always end with a status event, changed or not
        self._probe()

    # --- runs ------------------------------------------------------------------------------------

    async def run(
        self,
        code: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - the run's own limit, enforced by the cluster
        memory: str | None = None,
        cpus: float | None = None,
        network: bool = False,
        query_id: str | None = None,
        run_id: str | None = None,
    ) -> RunReport:
        """Run ``code`` as a Swarm job; the report (never raises for engine problems)."""
        run_id = run_id or uuid.uuid4().hex[:12]
        with self._lock:
            self._queued.add(run_id)

        def refused() -> RunReport:
            with self._lock:
                self._queued.discard(run_id)
            return self._report(
                run_id, "unavailable", Limits.from_settings(self._sb()), "The sandbox is shut down."
            )

        return await run_on_worker(
            self._workers,
            functools.partial(self.run_blocking, code, run_id, query_id, timeout, memory, cpus, network),
            refused=refused,
            cancel=functools.partial(self.cancel_blocking, run_id),
        )

    async def cancel(self, run_id: str) -> bool:
        """Kill run ``run_id`` (its report says ``killed``); False when no such run is going."""
        return await asyncio.to_thread(self.cancel_blocking, run_id)

    def cancel_blocking(self, run_id: str) -> bool:
        """Kill run ``run_id`` or mark it cancelled while it waits for a worker."""
        with self._lock:
            job = self._jobs.get(run_id)
            if job is None:
                if run_id in self._queued:
                    self._cancelled.add(run_id)
                    return True
                return False
        return job.kill("cancel")

    def run_code_in_container(
        self,
        code_str: str,
        timeout_seconds: float = 30,
        memory_limit: str = "512m",
        cpu_quota: int = 50000,
        allow_network: bool = False,
    ) -> dict[str, Any]:
        """The seed's synchronous call: run and return the report as a dict (blocking)."""
        return self.run_blocking(
            code_str, uuid.uuid4().hex[:12], None, timeout_seconds, memory_limit, cpu_quota / CPU_PERIOD_US,
            allow_network,
        ).to_dict()  # fmt: skip

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
        sb, allow_network = self._sb(), self._network_allowed()
        with self._lock:
            self._queued.discard(run_id)
            cancelled = run_id in self._cancelled
            self._cancelled.discard(run_id)
        notes = []
        if network and not allow_network:
            notes.append("Network was requested but an admin has not enabled it; the run had no network.")
        try:
            limits = Limits.from_settings(
                sb, timeout=timeout, memory=memory, cpus=cpus, network=network and allow_network
            )
        except ValueError as exc:
            report = self._report(run_id, "error", Limits.from_settings(sb), f"Invalid limits: {exc}.")
            return self._recorder.finished(report, code, query_id, started)
        if cancelled or self._closed:
            report = self._report(run_id, "killed", limits, "Cancelled before it started.")
            return self._recorder.finished(report, code, query_id, started)
        state = self._cluster.state if self._cluster.state.available else self._probe()
        if not state.available:
            report = self._report(run_id, "unavailable", limits, state.detail)
            self._recorder.started(report, query_id)
        else:
            report = self._run_job(code, run_id, query_id, limits)
        if notes:
            report.detail = " ".join([*notes, report.detail]).strip()
        return self._recorder.finished(report, code, query_id, started)

    def _run_job(self, code: str, run_id: str, query_id: str | None, limits: Limits) -> RunReport:
        report = self._report(run_id, "ok", limits)
        report.backend = "swarm"
        try:
            api = self._engine.api()
        except Exception as exc:
            return self._report(run_id, "unavailable", limits, f"The Swarm manager is unreachable ({exc}).")
        self._recorder.started(report, query_id)
        emit = self._recorder.emitter(run_id)
        excluded: set[str] = set()  # nodes that were lost, or refused the job, during this run
        lost: list[str] = []
        while True:
            node = self._take_slot(run_id, excluded)
            if node is None:
                if run_id in self._cancelled or self._closed:
                    report.status, report.detail = "killed", "Cancelled before it started."
                else:
                    report.status, report.backend = "unavailable", "none"
                    report.detail = (
                        f"No node of the swarm had a free slot within {SCHEDULE_LIMIT_S:g} s"
                        + (f" (lost: {', '.join(lost)})" if lost else "")
                        + ". Fix: start a node's engine, or `docker node update --availability active NODE`."
                    )
                break
            job = SwarmJob(
                api, run_id=run_id, owner=self._owner, image=self._service_image(api), limits=limits,
                cleanup=self._cleanup, emit=emit, constraints=placement(node, excluded),
                node_lost=self._slots.lost, attempt=len(excluded),
            )  # fmt: skip
            with self._lock:
                if self._closed or run_id in self._cancelled:
                    self._slots.release(node)
                    report.status, report.detail = "killed", "Cancelled before it started."
                    break
                self._jobs[run_id] = job
            try:
                result = job.execute(code.encode("utf-8", errors="surrogateescape"))
            except NodeLost as exc:
                # Its node died: the program runs again from the start on another node.
                name = self._cluster.node_name(exc.node_id)
                excluded.add(exc.node_id)
                lost.append(name)
                log.warning("swarm run %s: node %s was lost; running it again on another node", run_id, name)
                emit("stderr", f"[fame] node {name} was lost; running the program again on another node\n")
                continue
            except JobUnavailable as exc:
                if exc.node_id and exc.node_id not in excluded:
                    # That node cannot run it (the image missing there): another node may.
                    excluded.add(exc.node_id)
                    self._slots.pause(exc.node_id, _REFUSED_PAUSE_S)
                    log.warning("swarm run %s refused by node %s: %s", run_id, exc.node_id[:12], exc)
                    if any(n.id not in excluded for n in self._slots.usable()):
                        continue
                report.status, report.backend, report.detail = "unavailable", "none", str(exc)
                break
            except Exception as exc:
                log.warning("swarm run %s failed on the manager: %s", run_id, exc)
                self._refresh_soon()
                report.status, report.backend = "unavailable", "none"
                report.detail = f"The Swarm manager failed during the run ({str(exc)[:200]}). Try again."
                break
            finally:
                self._slots.release(node)
                with self._lock:
                    self._jobs.pop(run_id, None)
            report.node = self._cluster.node_name(result.node_id)
            report.extra.update(
                service=result.service_id[:12], queued_ms=result.queued_ms, ran_ms=result.ran_ms
            )
            if result.raw is None:
                report.status, report.detail = "killed", "Cancelled before it started."
            else:
                apply_raw(report, result.raw)
            break
        with self._lock:
            self._cancelled.discard(run_id)
        if lost:
            report.extra["lost_nodes"] = lost
            report.detail = f"Run again after losing node(s) {', '.join(lost)}. {report.detail}".strip()
        return report

    def _take_slot(self, run_id: str, excluded: set[str]) -> str | None:
        """A slot on a node for run ``run_id`` (None when cancelled, closed or none freed in time)."""
        with self._lock:
            self._queued.add(run_id)  # a cancel while waiting marks it (see cancel_blocking)
        try:
            return self._slots.acquire(
                exclude=excluded,
                timeout=SCHEDULE_LIMIT_S,
                cancelled=lambda: self._closed or run_id in self._cancelled,
            )
        finally:
            with self._lock:
                self._queued.discard(run_id)

    def _service_image(self, api: Any) -> str:
        """What a job's service names: the image id, or its digest in ``sandbox.registry``.

        By id, no node tries a registry before each job (a DNS timeout where none is reachable),
        and a node with another build of the image refuses the job instead of running it.
        """
        now = time.monotonic()
        with self._lock:
            if self._reference is not None and now - self._reference[1] < _REFERENCE_TTL_S:
                return self._reference[0]
        try:
            info = api.inspect_image(self._engine.image)
        except Exception as exc:  # not on the manager: the job's own error says so
            log.debug("inspect %s: %s", self._engine.image, exc)
            return self._engine.image
        reference = service_reference(info, self._sb().registry)
        with self._lock:
            self._reference = (reference, now)
        return reference

    def _report(self, run_id: str, status: str, limits: Limits, detail: str = "") -> RunReport:
        backend = "swarm" if status not in ("unavailable",) else "none"
        return RunReport(
            run_id=run_id,
            status=status,
            backend=backend,
            image=self._engine.image,
            limits=limits,
            detail=detail,
        )
