"""One program in one hardened container: send the code, stream the output, enforce the clock.

Blocking; the manager calls it from a worker thread. The container's main process is the runner
of ``resources/sandbox/runner.py`` waiting on stdin, so the same path serves a pre-started (warm)
container and a freshly created (cold) one.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fame_desktop.orchestrator.sandbox.report import StreamCollector

log = logging.getLogger("fame.sandbox")

_HEADER = struct.Struct(">BxxxI")  # Docker's multiplexed stream frame: stream id, size
_STREAMS = {1: "stdout", 2: "stderr"}
# The runner's frames stay under 1.3 MB (what it holds back plus one read of a pipe).
_MAX_RUNNER_FRAME = 1 << 21
# Grace after the deadline for the engine to end the stream once the container is killed.
_KILL_GRACE_S = 10.0
# A pre-started container acknowledges the code at once; silence this long means look whether it
# still runs (attaching to a stopped container hangs instead of failing).
_ACK_S = 2.0


class StaleContainer(Exception):
    """A pre-started container was no longer running when the run came."""


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

    @classmethod
    def collected(
        cls, collectors: dict[str, StreamCollector], exit_code: int | None, killed_by: str | None, oom: bool
    ) -> RawResult:
        """The result from the two output collectors and how the run ended."""
        out, err = collectors["stdout"], collectors["stderr"]
        return cls(
            exit_code=exit_code,
            stdout=out.finish(),
            stderr=err.finish(),
            stdout_truncated=out.truncated,
            stderr_truncated=err.truncated,
            timed_out=killed_by == "timeout",
            cancelled=killed_by == "cancel",
            oom_killed=oom,
        )


class Attachment:
    """A container's stdin, stdout and stderr, attached over one engine connection (taken over
    from HTTP). Pool containers are attached before they start, so a run makes no engine call."""

    def __init__(self, response: Any, sock: Any) -> None:
        self.response = response
        self.sock = sock
        self.raw: Any = getattr(sock, "_sock", sock)
        self._closed = False

    def close(self) -> None:
        """Close the connection (idempotent): the container's stdin ends."""
        if not self._closed:
            self._closed = True
            _close(self.sock, self.raw, self.response)


def attach(api: Any, container_id: str) -> Attachment:
    """Attach to ``container_id``'s stdin/stdout/stderr (started or not); like
    ``APIClient.attach_socket``, but keeps the response to close it.

    Raises:
        docker.errors.DockerException: The engine refused (e.g. no such container).
    """
    params = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
    response = api.post(
        api._url("/containers/{0}/attach", container_id),
        None,
        params=api._attach_params(params),
        stream=True,
        headers={"Connection": "Upgrade", "Upgrade": "tcp"},
    )
    try:
        return Attachment(response, api._get_raw_response_socket(response))
    except BaseException:
        response.close()
        raise


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
        self.received = 0  # bytes read from the container
        self.frames = 0  # stream frames read: the engine's messages, one per write it relayed

    @property
    def killed_by(self) -> str | None:
        """``timeout`` or ``cancel`` once this run was killed, else None."""
        return self._reason

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

    def execute(self, code: bytes, *, started: bool, attachment: Attachment | None = None) -> RawResult:
        """Send ``code``, stream the output until the program ends, and read how it ended.

        Args:
            code: The program's source.
            started: Whether the container runs already (a pool container).
            attachment: The container's stdio, attached beforehand and left open (the caller
                closes it once the container is removed: its runner waits until then). None:
                attach now, and close when this returns.

        Raises:
            StaleContainer: ``started`` and the container is not running (nothing ran).
            docker.errors.DockerException: The engine failed (the caller reports ``unavailable``).
        """
        nonce = secrets.token_hex(8)
        scanners = {"stdout": EndScanner(nonce), "stderr": EndScanner(nonce)}
        relay = _RunnerFrames(nonce)
        stdio = attachment or attach(self.api, self.container_id)
        raw = stdio.raw
        timer = threading.Timer(self.timeout, self.kill, args=("timeout",))
        timer.daemon = True
        try:
            if not started and self._reason is None:
                self.api.start(self.container_id)
            if self._reason is not None:
                # Cancelled while the container was being created or started: the engine refused
                # the kill of a container that was not running yet, so stop it now, send nothing.
                with contextlib.suppress(Exception):
                    self.api.kill(self.container_id)
            else:
                timer.start()
                try:
                    raw.sendall(b"%d %s\n" % (len(code), nonce.encode("ascii")) + code)
                except OSError as exc:
                    if started:  # the engine ended the attachment: the container is gone
                        raise StaleContainer(self.container_id[:12]) from exc
                    raise
                self._pump(raw, scanners, relay, check_alive=started)
                if started and self.received == 0 and self._reason is None:
                    # The stream ended before the runner took the code: it was not running.
                    raise StaleContainer(self.container_id[:12])
        finally:
            timer.cancel()
            if attachment is None:
                stdio.close()
        end = scanners["stdout"].end
        exit_code: int | None
        if end is not None and _ended(scanners, relay) and self._reason is None:
            exit_code, oom = end
        else:
            exit_code, oom = self._final_state()
        return RawResult.collected(self._collectors, exit_code, self._reason, oom)

    def _pump(
        self, raw: Any, scanners: dict[str, EndScanner], relay: _RunnerFrames, *, check_alive: bool
    ) -> None:
        """Read frames until both end lines came (or the stream ends); one emit per read and stream.

        Raises:
            StaleContainer: ``check_alive`` and the container does not run (nothing was sent to it).
        """
        raw.settimeout(_ACK_S if check_alive else self.timeout + _KILL_GRACE_S)
        buf = bytearray()
        last = ""  # the stream whose output is collected but not emitted yet
        while True:
            try:
                data = raw.recv(262144)
            except TimeoutError:
                if check_alive and not relay.acked:
                    check_alive = False
                    if not self.api.inspect_container(self.container_id)["State"].get("Running"):
                        raise StaleContainer(self.container_id[:12]) from None
                    raw.settimeout(self.timeout + _KILL_GRACE_S)
                    continue
                self.kill("timeout")
                break
            if not data:
                break
            self.received += len(data)
            buf += data
            for stream, payload in _split_frames(buf):
                self.frames += 1
                if stream == 1:
                    for inner, part in relay.feed(payload):
                        name = _STREAMS[inner]
                        last = self._feed(name, scanners[name].feed(part), last)
                elif stream == 2:  # the runner's own complaint (it relays the program's on stdout)
                    last = self._feed("stderr", payload, last)
            if last:
                self._collectors[last].flush()
            if check_alive and relay.acked:
                check_alive = False
                raw.settimeout(self.timeout + _KILL_GRACE_S)
            if _ended(scanners, relay):
                return
        for name, scanner in scanners.items():
            self._collectors[name].feed(scanner.rest())

    def _feed(self, name: str, data: bytes, last: str) -> str:
        """Collect ``data`` of stream ``name``; the other stream's collected output is emitted
        first, so the two reach the app in the order the program wrote them."""
        if last and last != name:
            self._collectors[last].flush()
        self._collectors[name].feed(data)
        return name

    def _final_state(self) -> tuple[int | None, bool]:
        """Exit code and OOM flag from the engine, once the container has stopped."""
        try:
            exit_code = int(self.api.wait(self.container_id, timeout=_KILL_GRACE_S)["StatusCode"])
        except Exception:  # still running after the stream ended: stop it, then read the state
            self.api.kill(self.container_id)
            exit_code = None
        state = self.api.inspect_container(self.container_id)["State"]
        code = state.get("ExitCode", exit_code)
        return (int(code) if code is not None else None), bool(state.get("OOMKilled"))


def _ended(scanners: dict[str, EndScanner], relay: _RunnerFrames) -> bool:
    """Whether the runner's end line came on both streams (on stdout alone once the stream is
    passed on unframed: both lines then arrive there). The runner then waits for the app to let
    go, so the stream itself does not end."""
    return scanners["stdout"].end is not None and (relay.raw or scanners["stderr"].end is not None)


class _RunnerFrames:
    """Splits what the runner writes on stdout: its ``\\0FAME-GO nonce`` line, then frames (the
    engine's ``>BxxxI`` format) of the program's two streams, in the order the program wrote them.

    The program can write into the container's stdout past the runner (through ``/proc/1/fd/1``,
    its init process). Bytes that are not the runner's (no line first, a frame of another stream
    or larger than the runner makes) switch to passing everything on as stdout, unframed, where
    the output limit applies, instead of waiting for a frame that never ends.
    """

    def __init__(self, nonce: str) -> None:
        self.ack_line = b"\0FAME-GO " + nonce.encode("ascii") + b"\n"
        self.acked = False
        self.raw = False  # passing everything on as stdout
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """The ``(stream, bytes)`` parts complete so far (stream 1 stdout, 2 stderr)."""
        if self.raw:
            return [(1, data)]
        self._buf += data
        if not self.acked:
            head = bytes(self._buf[: len(self.ack_line)])
            if head == self.ack_line:
                self.acked = True
                del self._buf[: len(self.ack_line)]
            elif not self.ack_line.startswith(head):
                self.raw = True
                out, self._buf = bytes(self._buf), bytearray()
                return [(1, out)]
            else:
                return []
        parts = _split_frames(self._buf, runner=True)
        if len(self._buf) >= _HEADER.size and not _runner_frame(*_HEADER.unpack_from(self._buf)):
            self.raw = True
            parts.append((1, bytes(self._buf)))
            self._buf = bytearray()
        return parts


def _runner_frame(stream: int, size: int) -> bool:
    """Whether a frame header could be the runner's: one of the two streams, not too large."""
    return stream in _STREAMS and size <= _MAX_RUNNER_FRAME


def _split_frames(buf: bytearray, *, runner: bool = False) -> list[tuple[int, bytes]]:
    """Remove the complete ``>BxxxI`` frames at the start of ``buf``; their (stream, bytes).

    With ``runner``, stop at a frame the runner would not write (see :func:`_runner_frame`).
    """
    parts: list[tuple[int, bytes]] = []
    offset = 0
    while len(buf) - offset >= _HEADER.size:
        stream, size = _HEADER.unpack_from(buf, offset)
        end = offset + _HEADER.size + size
        if end > len(buf) or (runner and not _runner_frame(stream, size)):
            break
        parts.append((stream, bytes(buf[offset + _HEADER.size : end])))
        offset = end
    del buf[:offset]
    return parts


class EndScanner:
    """Finds and strips the runner's end line (``\\0FAME-END nonce code oom [timed_out]``) in one stream.

    A NUL near the end of a chunk is held back until the next chunk, in case an end line is split.
    ``timed_out`` is set by the Swarm job, which enforces the time limit on its node.
    """

    def __init__(self, nonce: str) -> None:
        self.marker = b"\0FAME-END " + nonce.encode("ascii")
        self.end: tuple[int, bool] | None = None
        #: The end line says the program was stopped at its time limit.
        self.timed_out = False
        self._held = b""

    def feed(self, data: bytes) -> bytes:
        """The program's bytes in ``data`` (the end line and anything after it removed)."""
        if self.end is not None:
            return b""
        data = self._held + data
        self._held = b""
        at = data.find(self.marker)
        if at >= 0:
            newline = data.find(b"\n", at)
            if newline < 0:
                self._held = data[at:]
                return data[:at]
            fields = data[at + len(self.marker) : newline].split()
            code = int(fields[0]) if fields else 0
            self.end = (code, len(fields) > 1 and fields[1] == b"1")
            self.timed_out = len(fields) > 2 and fields[2] == b"1"
            return data[:at]
        nul = data.rfind(b"\0", max(0, len(data) - len(self.marker) - 24))
        if nul >= 0 and self.marker.startswith(data[nul : nul + len(self.marker)][: len(self.marker)]):
            self._held = data[nul:]
            return data[:nul]
        return data

    def rest(self) -> bytes:
        """Bytes held back when the stream ended without an end line."""
        held, self._held = self._held, b""
        return held


def _close(sock: Any, raw: Any, response: Any) -> None:
    for thing in (sock, raw, response):
        if thing is not None:
            try:
                thing.close()
            except Exception as exc:  # closing a dead socket: nothing to do
                log.debug("close: %s", exc)
