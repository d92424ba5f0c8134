"""One sandbox run as a Swarm job: create its config, network and service, follow its log into
the output collectors, enforce the clock, read how it ended and where, then hand its objects to
:class:`Cleanup`. Blocking; :class:`.swarm_backend.SwarmSandbox` calls it from worker threads.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fame_desktop.orchestrator.sandbox.container_run import EndScanner, RawResult
from fame_desktop.orchestrator.sandbox.limits import Limits
from fame_desktop.orchestrator.sandbox.report import StreamCollector
from fame_desktop.orchestrator.sandbox.swarm_spec import (
    JOB_CLOCK_GRACE_S,
    JOB_MODE,
    SCHEDULE_LIMIT_S,
    JobNames,
    job_labels,
    task_template,
)

log = logging.getLogger("fame.sandbox.swarm")

_HEADER = struct.Struct(">BxxxI")
_STREAMS = {1: "stdout", 2: "stderr"}
#: Task states after which the task's container no longer runs.
_ENDED = {"complete", "failed", "shutdown", "rejected", "orphaned", "remove"}
#: Task states before a node starts the container.
_WAITING = {"new", "allocated", "pending", "assigned", "accepted", "preparing", "ready", "starting"}
#: Task states in which the task is on a node and has not ended: lost if that node goes.
_ON_NODE = {"assigned", "accepted", "preparing", "ready", "starting", "running"}
#: After the program's end lines, how long the task may take to report its exit code.
_SETTLE_S = 3.0
#: After the task ended without end lines (killed), how long the log may still bring output.
_LOG_TAIL_S = 0.5
#: Heartbeats a manager waits for before it marks a silent node down (Swarm's grace multiplier).
_HEARTBEATS_TO_DOWN = 3
#: Beyond those heartbeats: the heartbeat's own slack and the node watcher's poll.
_DOWN_MARGIN_S = 3.0
#: The dispatcher heartbeat when the swarm does not say (Swarm's default, 5 s).
_DEFAULT_HEARTBEAT_S = 5.0


class JobUnavailable(Exception):
    """The cluster could not run the job (no node took it, the image is missing on the node).

    ``node_id`` is the node that refused it, when one did.
    """

    def __init__(self, message: str, node_id: str = "") -> None:
        super().__init__(message)
        self.node_id = node_id


class NodeLost(Exception):
    """The node running the job went down (or left the swarm): the job is given up, to run again."""

    def __init__(self, node_id: str) -> None:
        super().__init__(f"node {node_id[:12]} was lost")
        self.node_id = node_id


@dataclass
class JobResult:
    """What happened to the job: the raw result plus where and when."""

    raw: RawResult | None
    node_id: str
    service_id: str
    queued_ms: float
    ran_ms: float


class SwarmJob:
    """Runs one program as a single-use Swarm service (one replica, never restarted).

    Args:
        api: The manager engine's ``APIClient``.
        run_id: The run (names and labels the job's objects).
        owner: This app's owner label.
        image: The sandbox image.
        limits: The run's limits.
        cleanup: Removes the job's objects after the run.
        emit: Called with ``(stream, text)`` for each chunk of output as it arrives.
        constraints: Placement constraints of its task (pinned to a node, nodes excluded).
        node_lost: Says whether a node (by id) is lost; the job then raises :class:`NodeLost`.
        attempt: How many times the run was tried before (0: first).
    """

    def __init__(
        self,
        api: Any,
        *,
        run_id: str,
        owner: str,
        image: str,
        limits: Limits,
        cleanup: Cleanup,
        emit: Callable[[str, str], None] | None = None,
        constraints: list[str] | None = None,
        node_lost: Callable[[str], bool] | None = None,
        attempt: int = 0,
    ) -> None:
        self.api = api
        self.constraints = list(constraints or [])
        self._node_lost = node_lost
        self.run_id = run_id
        self.attempt = attempt
        self.owner = owner
        self.image = image
        self.limits = limits
        self._cleanup = cleanup
        self._collectors = {
            "stdout": StreamCollector("stdout", limits.output_limit_bytes, emit),
            "stderr": StreamCollector("stderr", limits.output_limit_bytes, emit),
        }
        self._lock = threading.Lock()
        self._reason: str | None = None
        self._service: str | None = None
        self._wake = threading.Event()

    @property
    def killed_by(self) -> str | None:
        """``timeout`` or ``cancel`` once this job was killed, else None."""
        return self._reason

    def kill(self, reason: str) -> bool:
        """Kill the job for ``reason`` (removing its service stops its task); False if already."""
        with self._lock:
            if self._reason is not None:
                return False
            self._reason = reason
            service = self._service
        if service is not None:
            with contextlib.suppress(Exception):  # already gone: nothing left to stop
                self.api.remove_service(service)
        self._wake.set()
        return True

    def execute(self, code: bytes) -> JobResult:
        """Run the job to its end; the result.

        Raises:
            JobUnavailable: No node could start it.
            NodeLost: Its node went down while it ran (its objects are removed).
            docker.errors.DockerException: The manager failed.
        """
        # A run tried again (its node lost) gets objects of its own: the first try's may still be
        # on their way out.
        names = JobNames.of(self.run_id if not self.attempt else f"{self.run_id}-r{self.attempt}")
        labels = job_labels(self.owner, self.run_id, self.limits)
        nonce = secrets.token_hex(8)
        api = self.api
        created: list[tuple[str, str]] = []
        try:
            config_id = str(api.create_config(names.config, code, labels=labels)["ID"])
            created.append(("config", config_id))
            network_id = str(
                api.create_network(
                    names.network, driver="overlay", internal=not self.limits.network, labels=labels,
                    check_duplicate=True,
                )["Id"]
            )  # fmt: skip
            created.append(("network", network_id))
            template = task_template(
                image=self.image, limits=self.limits, nonce=nonce, config_id=config_id,
                config_name=names.config, network_id=network_id, labels=labels,
                constraints=self.constraints,
            )  # fmt: skip
            with self._lock:
                if self._reason is not None:
                    return JobResult(None, "", "", 0.0, 0.0)
            service_id = str(
                api.create_service(template, name=names.service, labels=labels, mode=JOB_MODE)["ID"]
            )
            created.insert(0, ("service", service_id))
            with self._lock:
                self._service = service_id
                killed_early = self._reason is not None
            if killed_early:  # cancelled while the service was being created
                return JobResult(None, "", service_id, 0.0, 0.0)
            return self._follow(service_id, nonce)
        finally:
            self._cleanup.remove(created)

    def _follow(self, service_id: str, nonce: str) -> JobResult:
        scanners = {"stdout": EndScanner(nonce), "stderr": EndScanner(nonce)}
        logs = _LogFollower(self.api, service_id, scanners, self._collectors, self._wake)
        logs.start()
        created = time.monotonic()
        running_at: float | None = None
        ended_at: float | None = None
        ends_at: float | None = None
        task: dict[str, Any] = {}
        interval = 0.02
        try:
            while True:
                now = time.monotonic()
                if self._reason is None:
                    task = self._task(service_id) or task
                state = str(task.get("Status", {}).get("State", ""))
                if running_at is None and state and state not in _WAITING:
                    running_at = now
                if self._reason is not None:
                    break
                node = str(task.get("NodeID", ""))
                if state in _ON_NODE and self._node_lost is not None and node and self._node_lost(node):
                    # A task on a dead node stays "running" for good: give the job up.
                    self.kill("lost")
                    raise NodeLost(node)
                if state in _ENDED:
                    if state == "rejected" or (state == "failed" and _never_ran(task)):
                        raise JobUnavailable(_task_error(task) or f"The job's task was {state}.", node)
                    ended_at = ended_at or now
                    if logs.complete.is_set():
                        break
                    if now - ended_at > _LOG_TAIL_S:
                        # No end lines: the job's first process was killed from outside. A node
                        # dying can report its containers killed before the manager marks it down;
                        # then the program runs again elsewhere, as for a task left "running".
                        if state != "complete":
                            self._rerun_if_node_goes_down(node)
                        break
                elif logs.complete.is_set() and (task.get("NodeID") or now - (ends_at or now) > _SETTLE_S):
                    # The program ended and said its exit code (the task reports it up to a second
                    # later, like a container's own state: the end line is what local runs use too).
                    break
                elif logs.complete.is_set():
                    ends_at = ends_at or now
                if running_at is None and now - created > SCHEDULE_LIMIT_S:
                    self.kill("unscheduled")
                    raise JobUnavailable(
                        f"No node started the job within {SCHEDULE_LIMIT_S:g} s (state {state or 'new'}: "
                        f"{_task_error(task) or 'no node has the resources or the image'})."
                    )
                if (
                    running_at is not None
                    and now - running_at > self.limits.timeout_seconds + JOB_CLOCK_GRACE_S
                ):
                    # The job stops its program at the limit and says so: no word from it means
                    # its node may be gone (a dead node's task stays "running" until the manager
                    # marks the node down), and then the program runs again elsewhere.
                    self._rerun_if_node_goes_down(node)
                    self.kill("timeout")
                    break
                if self._wake.wait(interval) and self._reason is None:
                    self._wake.clear()  # the log's end: look at the task once more, at once
                interval = min(interval * 1.5, 0.25)
        finally:
            if self._reason is not None:
                logs.wait(_LOG_TAIL_S)
            logs.stop()
        end = scanners["stderr"].end or scanners["stdout"].end
        status = task.get("Status", {})
        exit_code: int | None = None
        if status.get("State") in ("complete", "failed"):
            code = status.get("ContainerStatus", {}).get("ExitCode")
            exit_code = int(code) if code is not None else None
        if exit_code is None and end is not None and self._reason is None:
            exit_code = end[0]
        oom = bool(end and end[1])
        reason = self._reason if self._reason in ("timeout", "cancel") else None
        if reason is None and (scanners["stdout"].timed_out or scanners["stderr"].timed_out):
            reason = "timeout"  # stopped at its limit by the job on its node
        raw = RawResult.collected(self._collectors, exit_code, reason, oom)
        queued = ((running_at or time.monotonic()) - created) * 1000
        ran = (time.monotonic() - (running_at or time.monotonic())) * 1000
        return JobResult(raw, str(task.get("NodeID", "")), service_id, round(queued, 1), round(ran, 1))

    def _rerun_if_node_goes_down(self, node: str) -> None:
        """Give the job up for a run elsewhere if ``node`` is, or is soon, marked down.

        Raises:
            NodeLost: It was (the job is killed).
        """
        if self._reason is None and self._goes_down(node):
            self.kill("lost")
            raise NodeLost(node)

    def _goes_down(self, node: str) -> bool:
        """Whether ``node`` is lost, or is marked down within the time the manager takes to do so."""
        if self._node_lost is None or not node:
            return False
        deadline = time.monotonic() + self._down_after_s()
        while not self._node_lost(node):
            if time.monotonic() >= deadline or self._reason is not None:
                return False
            if self._wake.wait(0.25):  # killed (cancel, time limit) meanwhile
                self._wake.clear()
        return True

    def _down_after_s(self) -> float:
        """Seconds the manager may take to mark a dead node down (from the swarm's heartbeat)."""
        try:
            period_ns = self.api.inspect_swarm()["Spec"]["Dispatcher"]["HeartbeatPeriod"]
            heartbeat = float(period_ns) / 1e9
        except Exception:  # a manager that does not answer this: Swarm's default
            heartbeat = _DEFAULT_HEARTBEAT_S
        return _HEARTBEATS_TO_DOWN * heartbeat + _DOWN_MARGIN_S

    def _task(self, service_id: str) -> dict[str, Any] | None:
        try:
            tasks = self.api.tasks(filters={"service": service_id})
        except Exception as exc:  # a blip of the manager: ask again at the next tick
            log.debug("tasks of %s: %s", service_id[:12], exc)
            return None
        if not tasks:
            return None
        return max(tasks, key=lambda t: str(t.get("UpdatedAt", "")))  # type: ignore[no-any-return]


def _never_ran(task: dict[str, Any]) -> bool:
    return not task.get("Status", {}).get("ContainerStatus", {}).get("ContainerID")


def _task_error(task: dict[str, Any]) -> str:
    status = task.get("Status", {})
    err = str(status.get("Err") or status.get("Message") or "")
    if "No such image" in err or ("image" in err.lower() and "not found" in err.lower()):
        err += " Fix: run `fame sandbox prepare` to put the sandbox image on every node."
    return err


class _LogFollower:
    """Follows a service's log (``GET /services/ID/logs?follow``) in a thread, feeding the
    collectors; ``complete`` is set once both end lines came."""

    def __init__(
        self,
        api: Any,
        service_id: str,
        scanners: dict[str, EndScanner],
        collectors: dict[str, StreamCollector],
        wake: threading.Event,
    ) -> None:
        self.api = api
        self.wake = wake
        self.service_id = service_id
        self.scanners = scanners
        self.collectors = collectors
        self.complete = threading.Event()
        self.done = threading.Event()
        self._response: Any = None
        self._sock: Any = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="fame-swarm-log", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wait(self, seconds: float) -> None:
        """Wait up to ``seconds`` for both end lines (or the log's end)."""
        self.complete.wait(seconds)

    def stop(self) -> None:
        """End the stream (shutting the socket wakes the reading thread) and wait for it."""
        self._stopping = True
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        if self._response is not None:
            with contextlib.suppress(Exception):
                self._response.close()
        for name, scanner in self.scanners.items():
            self.collectors[name].feed(scanner.rest())

    def _run(self) -> None:
        api = self.api
        try:
            response = api._get(
                api._url("/services/{0}/logs", self.service_id),
                params={"follow": 1, "stdout": 1, "stderr": 1, "timestamps": 0, "details": 0},
                stream=True,
            )
            api._raise_for_status(response)
            self._response = response
            raw = api._get_raw_response_socket(response)
            self._sock = getattr(raw, "_sock", raw)
            self._sock.settimeout(None)
            if self._stopping:
                return
            read = response.raw.read
            while not self._stopping:
                header = read(_HEADER.size)
                if len(header) < _HEADER.size:
                    break
                stream, size = _HEADER.unpack(header)
                payload = read(size) if size else b""
                name = _STREAMS.get(stream)
                if name is None:
                    continue
                self.collectors[name].feed(self.scanners[name].feed(payload))
                self.collectors[name].flush()
                if all(s.end is not None for s in self.scanners.values()):
                    self.complete.set()
                    self.wake.set()  # the job's loop ends now, not at its next poll
                    break
        except Exception as exc:  # the stream broke: the run ends on the task's state
            if not self._stopping:
                log.debug("log of %s: %s", self.service_id[:12], exc)
        finally:
            self.done.set()


class Cleanup:
    """Removes the objects of finished jobs in a background thread, services first, retrying
    what is still in use (a network until its task's container is gone)."""

    _TRIES = 40
    _PAUSE_S = 0.25

    def __init__(self, api: Callable[[], Any]) -> None:
        self._api = api
        self._queue: queue.Queue[tuple[str, str, int] | None] = queue.Queue()
        self._pending = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None

    def remove(self, objects: list[tuple[str, str]]) -> None:
        """Remove ``(kind, id)`` objects (``service``, ``config``, ``network``), in that order."""
        order = {"service": 0, "config": 1, "network": 2}
        with self._lock:
            for kind, ident in sorted(objects, key=lambda o: order[o[0]]):
                self._pending += 1
                self._queue.put((kind, ident, 0))
            if self._thread is None and objects:
                self._thread = threading.Thread(target=self._work, name="fame-swarm-cleanup", daemon=True)
                self._thread.start()

    def flush(self, timeout: float) -> bool:
        """Wait until everything queued is removed (or given up); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            kind, ident, tries = item
            if self._remove_one(kind, ident) or tries + 1 >= self._TRIES:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()
                continue
            time.sleep(self._PAUSE_S if self._queue.empty() else 0)
            self._queue.put((kind, ident, tries + 1))

    def _remove_one(self, kind: str, ident: str) -> bool:
        """True when gone (removed now or before)."""
        try:
            api = self._api()
            {"service": api.remove_service, "config": api.remove_config, "network": api.remove_network}[kind](
                ident
            )
            return True
        except Exception as exc:
            if getattr(getattr(exc, "response", None), "status_code", None) == 404:
                return True
            log.debug("remove %s %s: %s", kind, ident[:12], exc)
            return False

    def close(self) -> None:
        """Stop the worker (after :meth:`flush`)."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(5)
