"""What a sandbox run tells the rest of the app: its events on the bus and its audit entry."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from fame_desktop.orchestrator.audit_kinds import AuditAppend, AuditKind
from fame_desktop.orchestrator.events import Event, SandboxFinished, SandboxOutput, SandboxStarted
from fame_desktop.orchestrator.sandbox.report import RunReport

log = logging.getLogger("fame.sandbox")

AUDIT_OUTPUT_CHARS = 2000

Publish = Callable[[Event], None]
Emit = Callable[[str, str], None]


class RunRecorder:
    """Publishes ``SandboxStarted``/``SandboxOutput``/``SandboxFinished`` and audits each run.

    Args:
        publish: Where events go (``EventBus.publish``; any thread).
        audit: ``AuditLog.append`` (None: runs are not audited).
    """

    def __init__(self, publish: Publish, audit: AuditAppend | None = None) -> None:
        self._publish = publish
        self._audit = audit

    def emitter(self, run_id: str) -> Emit:
        """The ``(stream, text)`` callback that publishes a run's output chunks."""
        publish = self._publish

        def emit(stream: str, text: str) -> None:
            publish(SandboxOutput(run_id=run_id, stream=stream, text=text))

        return emit

    def started(self, report: RunReport, query_id: str | None) -> None:
        """Announce the run (once, before its first output)."""
        self._publish(
            SandboxStarted(
                run_id=report.run_id, backend=report.backend, image=report.image, limits=report.limits,
                query_id=query_id,
            )
        )  # fmt: skip

    def finished(self, report: RunReport, code: str, query_id: str | None, started: float) -> RunReport:
        """Stamp the duration since ``started`` (monotonic), publish the report and audit the run."""
        report.duration_ms = round((time.monotonic() - started) * 1000, 2)
        self._publish(SandboxFinished(run_id=report.run_id, report=replace(report, extra=dict(report.extra))))
        if self._audit is not None:
            try:
                self._audit(
                    AuditKind.SANDBOX_RUN,
                    _audit_data(report, code, query_id),
                    actor="sandbox",
                    summary=f"sandbox run {report.status} ({report.backend}, {report.duration_ms:.0f} ms)",
                )
            except Exception as exc:  # the run happened; a full disk must not turn it into a crash
                log.error("could not audit sandbox run %s: %s", report.run_id, exc)
        return report


def _audit_data(report: RunReport, code: str, query_id: str | None) -> dict[str, object]:
    """The audit entry of a run: the code's hash (not the code), limits, result, capped output."""
    return {
        "run_id": report.run_id,
        "query_id": query_id,
        "code_sha256": hashlib.sha256(code.encode("utf-8", errors="surrogateescape")).hexdigest(),
        "code_bytes": len(code),
        "limits": report.limits.to_dict(),
        "status": report.status,
        "exit_code": report.exit_code,
        "duration_ms": report.duration_ms,
        "backend": report.backend,
        "insecure": report.insecure,
        "image": report.image,
        "stdout": report.stdout[:AUDIT_OUTPUT_CHARS],
        "stderr": report.stderr[:AUDIT_OUTPUT_CHARS],
        "stdout_truncated": report.stdout_truncated or len(report.stdout) > AUDIT_OUTPUT_CHARS,
        "stderr_truncated": report.stderr_truncated or len(report.stderr) > AUDIT_OUTPUT_CHARS,
        "detail": report.detail,
    }
