"""One program in one hardened container: send the code, stream the output, enforce the clock.

Blocking; the manager calls it from a worker thread. The container's main process is the runner
of ``resources/sandbox/runner.py`` waiting on stdin, so the same path serves a pre-started (warm)
container and a freshly created (cold) one.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fame_desktop.orchestrator.sandbox.report import StreamCollector

log = logging.getLogger("fame.sandbox")

_HEADER = struct.Struct(">BxxxI")  # Docker's multiplexed stream frame: stream id, size
_STREAMS = {1: "stdout", 2: "stderr"}
# Grace after the deadline for the engine to end the stream once the container is killed.
_KILL_GRACE_S = 10.0


@dataclass
class RawResult:
    """What happened in the container, before it becomes a report."""

    exit_code: int | None
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    timed_out: bool
    cancelled: bool
    oom_killed: bool


class ContainerRun:
    """Runs one program in container ``container_id`` (already created; started or not).

    Args:
        api: The Docker SDK's low-level ``APIClient``.
        container_id: The container; it is single use.
        timeout: Wall-clock seconds before the container is killed.
        output_limit: Bytes kept of stdout and of stderr each.
        emit: Called with ``(stream, text)`` for each chunk as it arrives (any thread).
    """

    def __init__(
        self,
        api: Any,
        container_id: str,
        *,
        timeout: float,
        output_limit: int,
        emit: Callable[[str, str], None] | None = None,
    ) -> None:
        self.api = api
        self.container_id = container_id
        self.timeout = timeout
        self._collectors = {
            "stdout": StreamCollector("stdout", output_limit, emit),
            "stderr": StreamCollector("stderr", output_limit, emit),
        }
        self._lock = threading.Lock()
        self._reason: str | None = None  # "timeout" or "cancel" once killed by us

    def kill(self, reason: str) -> bool:
        """Kill the container for ``reason`` (``timeout`` or ``cancel``); False if already killed."""
        with self._lock:
            if self._reason is not None:
                return False
            self._reason = reason
        try:
            self.api.kill(self.container_id)
        except Exception as exc:  # already gone or exited: nothing left to stop
            log.debug("kill %s: %s", self.container_id[:12], exc)
        return True

    def execute(self, code: bytes, *, started: bool) -> RawResult:
        """Send ``code``, stream the output until the container ends, and read its state.

        Raises:
            docker.errors.DockerException: The engine failed (the caller reports ``unavailable``).
        """
        response, sock = _attach(self.api, self.container_id)
        raw = getattr(sock, "_sock", sock)
        timer = threading.Timer(self.timeout, self.kill, args=("timeout",))
        timer.daemon = True
        try:
            if not started:
                self.api.start(self.container_id)
            timer.start()
            raw.sendall(b"%d\n" % len(code) + code)
            self._pump(raw)
        finally:
            timer.cancel()
            _close(sock, raw, response)
        exit_code, oom = self._final_state()
        out, err = self._collectors["stdout"], self._collectors["stderr"]
        return RawResult(
            exit_code=exit_code,
            stdout=out.finish(),
            stderr=err.finish(),
            stdout_truncated=out.truncated,
            stderr_truncated=err.truncated,
            timed_out=self._reason == "timeout",
            cancelled=self._reason == "cancel",
            oom_killed=oom,
        )

    def _pump(self, raw: Any) -> None:
        """Read frames until the stream ends; one flush per read keeps events few under floods."""
        raw.settimeout(self.timeout + _KILL_GRACE_S)
        buf = bytearray()
        while True:
            try:
                data = raw.recv(262144)
            except (TimeoutError, socket.timeout):
                self.kill("timeout")
                break
            if not data:
                break
            buf += data
            offset = 0
            while len(buf) - offset >= _HEADER.size:
                stream, size = _HEADER.unpack_from(buf, offset)
                end = offset + _HEADER.size + size
                if end > len(buf):
                    break
                collector = self._collectors.get(_STREAMS.get(stream, ""))
                if collector is not None:
                    collector.feed(bytes(buf[offset + _HEADER.size : end]))
                offset = end
            del buf[:offset]
            for collector in self._collectors.values():
                collector.flush()

    def _final_state(self) -> tuple[int | None, bool]:
        """Exit code and OOM flag once the container has stopped."""
        try:
            exit_code = int(self.api.wait(self.container_id, timeout=_KILL_GRACE_S)["StatusCode"])
        except Exception:  # still running after the stream ended: stop it, then read the state
            self.api.kill(self.container_id)
            exit_code = None
        if exit_code == 0 and self._reason is None:
            return 0, False  # skip a round trip on the common path
        state = self.api.inspect_container(self.container_id)["State"]
        code = state.get("ExitCode", exit_code)
        return (int(code) if code is not None else None), bool(state.get("OOMKilled"))


def _attach(api: Any, container_id: str) -> tuple[Any, Any]:
    """Attach stdin/stdout/stderr; like ``APIClient.attach_socket`` but keeps the response to close it."""
    params = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
    response = api.post(
        api._url("/containers/{0}/attach", container_id),
        None,
        params=api._attach_params(params),
        stream=True,
        headers={"Connection": "Upgrade", "Upgrade": "tcp"},
    )
    return response, api._get_raw_response_socket(response)


def _close(sock: Any, raw: Any, response: Any) -> None:
    for thing in (sock, raw, response):
        if thing is not None:
            try:
                thing.close()
            except Exception as exc:  # closing a dead socket: nothing to do
                log.debug("close: %s", exc)
