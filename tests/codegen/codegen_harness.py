"""What the code generation tests share: running harness programs with the real Python.

``LocalPython`` speaks the sandbox's ``run`` interface (a report with ``to_dict``) but runs the
program in a plain subprocess: fast, and enough to check the harness, the recipes and the repair
loop. The docker-marked tests run the same programs through the real sandbox.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from fame_desktop.orchestrator.codegen import TestProgram, TestSummary, build_test_program


@dataclass
class Report:
    """The sandbox run report fields the code generation service reads."""

    status: str
    exit_code: int | None
    stdout: str
    stderr: str
    duration_ms: float
    timed_out: bool = False
    backend: str = "local-test"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_program(program: str, *, timeout: float = 30.0) -> Report:
    """Run ``program`` with this interpreter, as the sandbox would (stdin script, no files)."""
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-"], input=program, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return Report("timeout", None, out, "", (time.perf_counter() - started) * 1000, timed_out=True)
    status = "ok" if done.returncode == 0 else "error"
    return Report(status, done.returncode, done.stdout, done.stderr, (time.perf_counter() - started) * 1000)


def check(code: str, tests: str, *, bench: str | None = None, timeout: float = 30.0) -> TestSummary | None:
    """Build, run and parse in one go: the genuine summary or None."""
    program = build_test_program(code, tests, bench=bench)
    return program.parse(run_program(program, timeout=timeout).stdout)


@dataclass
class LocalPython:
    """A stand-in for ``services.sandbox`` that runs programs in a local subprocess."""

    timeout: float = 30.0
    programs: list[TestProgram] = field(default_factory=list)

    async def run(self, program: str, *, query_id: str | None = None, **_: Any) -> Report:
        assert isinstance(program, TestProgram)
        self.programs.append(program)
        return await asyncio.to_thread(run_program, program, timeout=self.timeout)
