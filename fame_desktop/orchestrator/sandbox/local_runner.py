"""The INSECURE local runner: a developer option that runs code on the host when Docker is missing.

Only used when an admin turned on ``sandbox.allow_local_runner``; every report says
``backend: local`` and ``insecure: true``. It still applies rlimits (memory, file size, open
files, CPU time, no core dumps), a private temp dir, a clean environment, a closed stdin and a
wall-clock timeout that kills the whole process group. It is no isolation: the code can read
whatever the app's user can.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import IO

from fame_desktop.orchestrator.sandbox.container_run import RawResult
from fame_desktop.orchestrator.sandbox.limits import OPEN_FILES, Limits, parse_size
from fame_desktop.orchestrator.sandbox.report import StreamCollector

log = logging.getLogger("fame.sandbox")

# Sets the limits inside the child, then runs the program as __main__ (no preexec_fn, which is
# unsafe in a threaded parent).
_BOOTSTRAP = """
import resource, runpy, sys
mem, fsize, nofile, cpu = (int(a) for a in sys.argv[1:5])
for lim, val in ((resource.RLIMIT_AS, mem), (resource.RLIMIT_FSIZE, fsize),
                 (resource.RLIMIT_NOFILE, nofile), (resource.RLIMIT_CPU, cpu), (resource.RLIMIT_CORE, 0)):
    resource.setrlimit(lim, (val, val))
sys.argv = ["main.py"]
runpy.run_path("main.py", run_name="__main__")
"""


def python_executable() -> str:
    """A Python interpreter to run code with (never the frozen app itself)."""
    if getattr(sys, "frozen", False):
        found = shutil.which("python3") or shutil.which("python")
        if not found:
            raise FileNotFoundError("no python3 on PATH for the local runner")
        return found
    return sys.executable


class LocalRun:
    """One program run on the host with limits; ``kill`` works from any thread."""

    def __init__(self, limits: Limits, emit: Callable[[str, str], None] | None = None) -> None:
        self.limits = limits
        self._collectors = {
            "stdout": StreamCollector("stdout", limits.output_limit_bytes, emit),
            "stderr": StreamCollector("stderr", limits.output_limit_bytes, emit),
        }
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._reason: str | None = None

    def kill(self, reason: str) -> bool:
        """Kill the process group for ``reason`` (``timeout`` or ``cancel``)."""
        with self._lock:
            if self._reason is not None:
                return False
            self._reason = reason
            proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        return True

    def execute(self, code: str) -> RawResult:
        """Run ``code`` and wait for it (blocking)."""
        limits = self.limits
        with tempfile.TemporaryDirectory(prefix="fame-local-") as work:
            with open(os.path.join(work, "main.py"), "w", encoding="utf-8") as f:
                f.write(code)
            env = {
                "PATH": "/usr/bin:/bin",
                "HOME": work,
                "TMPDIR": work,
                "LANG": "C.UTF-8",
                "PYTHONUNBUFFERED": "1",
            }
            args = [
                str(max(parse_size(limits.memory), 64 * 1024**2)),
                str(parse_size(limits.tmpfs_size)),
                str(OPEN_FILES),
                str(int(limits.timeout_seconds) + 1),
            ]
            with self._lock:
                if self._reason is None:
                    self._proc = subprocess.Popen(
                        [python_executable(), "-I", "-B", "-u", "-c", _BOOTSTRAP, *args],
                        cwd=work,
                        env=env,
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        start_new_session=True,
                    )
                proc = self._proc
            exit_code: int | None = None
            if proc is not None:
                exit_code = self._wait(proc)
        return RawResult.collected(self._collectors, exit_code, self._reason, oom=False)

    def _wait(self, proc: subprocess.Popen[bytes]) -> int:
        assert proc.stdout is not None and proc.stderr is not None
        readers = [
            threading.Thread(target=self._read, args=(proc.stdout, self._collectors["stdout"]), daemon=True),
            threading.Thread(target=self._read, args=(proc.stderr, self._collectors["stderr"]), daemon=True),
        ]
        for reader in readers:
            reader.start()
        try:
            code = proc.wait(self.limits.timeout_seconds)
        except subprocess.TimeoutExpired:
            self.kill("timeout")
            code = proc.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # daemons the program left behind
        for reader in readers:
            reader.join(5)
        proc.stdout.close()
        proc.stderr.close()
        return code

    @staticmethod
    def _read(pipe: IO[bytes], collector: StreamCollector) -> None:
        while True:
            data = pipe.read1(65536) if hasattr(pipe, "read1") else pipe.read(65536)
            if not data:
                return
            collector.feed(data)
            collector.flush()
