"""What the code generation tests share: running harness programs with the real Python.

``LocalPython`` speaks the sandbox's ``run`` interface (a :class:`RunReport`) but runs the
program in a plain subprocess: fast, and enough to check the harness, the recipes and the repair
loop. The docker-marked tests run the same programs through the real sandbox.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from fame_desktop.orchestrator.codegen import TestProgram, TestSummary, build_test_program
from fame_desktop.orchestrator.run_report import Limits, RunReport


def _report(status: str, exit_code: int | None, stdout: str, stderr: str, started: float) -> RunReport:
    return RunReport(
        run_id="local-test", status=status, backend="local-test", image="", limits=Limits.defaults(), exit_code=exit_code,
        stdout=stdout, stderr=stderr, duration_ms=(time.perf_counter() - started) * 1000,
        timed_out=status == "timeout",
    )  # fmt: skip


def run_program(program: str, *, timeout: float = 30.0) -> RunReport:
    """Run ``program`` with this interpreter, as the sandbox would (stdin script, no files)."""
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-"], input=program, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return _report("timeout", None, out, "", started)
    status = "ok" if done.returncode == 0 else "error"
    return _report(status, done.returncode, done.stdout, done.stderr, started)


def check(code: str, tests: str, *, bench: str | None = None, timeout: float = 30.0) -> TestSummary | None:
    """Build, run and parse in one go: the genuine summary or None."""
    program = build_test_program(code, tests, bench=bench)
    return program.parse(run_program(program, timeout=timeout).stdout)


@dataclass
class LocalPython:
    """A stand-in for ``services.sandbox`` that runs programs in a local subprocess."""

    timeout: float = 30.0
    programs: list[TestProgram] = field(default_factory=list)

    async def run(self, program: str, *, query_id: str | None = None, **_: Any) -> RunReport:
        assert isinstance(program, TestProgram)
        self.programs.append(program)
        return await asyncio.to_thread(run_program, program, timeout=self.timeout)
