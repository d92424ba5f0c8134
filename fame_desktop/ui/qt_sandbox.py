"""The sandbox pane: live stdout/stderr of the current run, its status and limits, earlier runs.

Output events arrive one chunk at a time (the bus coalesces a flood into a few large ones); the
pane only queues them, a timer inserts at most :data:`FLUSH_LINES` lines every :data:`FLUSH_MS` ms,
and the view keeps at most :data:`MAX_LINES` lines, so a chatty program never stalls the window.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QFont, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from fame_desktop.orchestrator.codegen.harness import ReportLineFilter
from fame_desktop.orchestrator.events import (
    SandboxFinished,
    SandboxImageProgress,
    SandboxOutput,
    SandboxStarted,
    SandboxStatusChanged,
    StartupProgress,
)
from fame_desktop.ui.qt_sandbox_editor import QtSandboxEditor
from fame_desktop.ui.qt_workers import QtWorker, QtWorkerManager

if TYPE_CHECKING:
    from fame_desktop.app import App

log = logging.getLogger("fame.ui.sandbox")

MAX_LINES = 20_000
# When the view is full it restarts from the newest KEEP_LINES lines: one clear and one insert
# (~25 ms) instead of Qt trimming the oldest blocks one by one (~15 µs each, 150 ms per 10k lines).
KEEP_LINES = 10_000
# Lines inserted per timer tick at most, so one tick stays short whatever a run prints; a backlog
# longer than KEEP_LINES is skipped to its newest lines (they are all a person could read anyway).
FLUSH_LINES = 1_000
FLUSH_MS = 25
# Chunks kept per run for re-opening it; older ones are dropped (the view is bounded anyway).
KEPT_CHUNKS = 50_000
MAX_RUNS = 50


@dataclass
class RunRecord:
    """What the pane remembers of one run."""

    run_id: str
    started: float
    backend: str = ""
    image: str = ""
    limits: dict[str, Any] = field(default_factory=dict)
    query_id: str | None = None
    chunks: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=KEPT_CHUNKS))
    report: dict[str, Any] | None = None
    lines: int = 0
    # Hides the test harness's internal summary line from what the pane shows.
    stdout_filter: ReportLineFilter = field(default_factory=ReportLineFilter)


class QtSandboxPane(QWidget):
    """Shows sandbox runs as they happen.

    Args:
        app: The services (bus and sandbox).
        workers: Runs the Stop request.
    """

    def __init__(self, app: App, workers: QtWorkerManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._app = app
        self._workers = workers
        self.runs: dict[str, RunRecord] = {}
        self.current: str | None = None
        self._pending: deque[tuple[str, str]] = deque()
        self._pending_lines = 0
        # The newest output of the current run (at most MAX_LINES lines), to refill the view from.
        self._recent: deque[tuple[str, str]] = deque()
        self._recent_lines = 0
        self._view_lines = 0
        self.lines_shown = 0
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(FLUSH_MS)
        self._timer.timeout.connect(self.flush)
        self._timer.start()
        bus = app.bus
        self._subs = [
            bus.subscribe(SandboxStarted, self._on_started),
            bus.subscribe(SandboxOutput, self._on_output),
            bus.subscribe(SandboxFinished, self._on_finished),
            bus.subscribe(SandboxStatusChanged, lambda _e: self.refresh_engine()),
            bus.subscribe(SandboxImageProgress, self._on_image_progress),
            # The sandbox is built after the window's first paint; its state is shown from then on.
            bus.subscribe(StartupProgress, self._on_startup),
        ]
        self.engine.setText("Sandbox: starting…")

    def _build(self) -> None:
        self.output = QPlainTextEdit(self)
        self.output.setObjectName("sandboxOutput")
        self.output.setReadOnly(True)
        self.output.setMaximumBlockCount(MAX_LINES + 1000)  # a backstop: flush() keeps it lower
        self.output.setUndoRedoEnabled(False)
        self.output.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QFont("DejaVu Sans Mono")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.output.setFont(mono)
        self.output.setPlaceholderText("Output of code run in the sandbox appears here, live.")
        self.status = QLabel("No run yet.", self)
        self.status.setObjectName("sandboxStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.engine = QLabel("", self)
        self.engine.setObjectName("sandboxEngine")
        self.engine.setWordWrap(True)
        self.stop_button = QPushButton("Stop run", self)
        self.stop_button.setObjectName("sandboxStopButton")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.prepare_button = QPushButton("Prepare image", self)
        self.prepare_button.setObjectName("sandboxPrepareButton")
        self.prepare_button.setToolTip(
            "Pull the base image and build the sandbox image (fame sandbox prepare)"
        )
        self.prepare_button.clicked.connect(self.prepare_image)
        self.prepare_button.setVisible(False)
        self.image_progress = QProgressBar(self)
        self.image_progress.setObjectName("sandboxImageProgress")
        self.image_progress.setRange(0, 1000)
        self.image_progress.setVisible(False)
        self.run_list = QListWidget(self)
        self.run_list.setObjectName("sandboxRuns")
        self.run_list.setToolTip("Earlier runs: click to show one again")
        self.run_list.itemClicked.connect(self._on_run_clicked)
        self.code_editor = QtSandboxEditor(self)
        self.code_editor.runRequested.connect(self.run_code)

        self._stdout_fmt = QTextCharFormat()
        self._stderr_fmt = QTextCharFormat()
        self._stderr_fmt.setForeground(QColor("#d03030"))

        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.stop_button)
        left = QWidget(self)
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addLayout(top)
        lv.addWidget(self.output, 1)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.setObjectName("sandboxSplitter")
        split.setChildrenCollapsible(False)
        split.addWidget(self.code_editor)
        split.addWidget(left)
        split.addWidget(self.run_list)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 4)
        split.setStretchFactor(2, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        engine_row = QHBoxLayout()
        engine_row.addWidget(self.engine, 1)
        engine_row.addWidget(self.image_progress)
        engine_row.addWidget(self.prepare_button)
        layout.addLayout(engine_row)
        layout.addWidget(split, 1)

    # --- running the user's code -------------------------------------------------------------------

    def run_code(self, code: str, origin: str = "editor") -> QtWorker | None:
        """Run ``code`` in the sandbox as any run (limits, audit, live output, report here).

        ``origin`` names it in the status until its output starts (the editor, a file, an
        answer's code block). The pane's Stop button, or cancelling the worker, kills it.
        """
        sandbox = self._app.sandbox
        if sandbox is None:
            self.status.setText("No sandbox in this build: the code cannot run.")
            return None
        run_id = uuid.uuid4().hex[:12]
        self.status.setText(f"Starting {origin} in the sandbox ({run_id})…")

        async def run() -> None:
            report = await sandbox.run(code, run_id=run_id)
            if report.status == "unavailable":  # no run started: say why here
                self.status.setText(f"⚠ Sandbox unavailable: {report.detail}")

        return self._workers.run(run, name=f"sandbox-run-{run_id}", group="sandbox-user")

    # --- engine ----------------------------------------------------------------------------------

    def _on_startup(self, event: StartupProgress) -> None:
        if event.part == "sandbox" and event.state != "starting":
            self.refresh_engine()

    def refresh_engine(self) -> None:
        """Show whether the Docker engine and image are available, with the fix if not."""
        sandbox = self._app.sandbox
        if sandbox is None:
            self.engine.setText("Sandbox: not set up in this build.")
            return
        try:
            st = dict(sandbox.status())
        except Exception as exc:
            self.engine.setText(f"Sandbox status unavailable: {exc}")
            return
        # Docker answers but the image is missing or stale: offer to prepare it here.
        missing = not st.get("available") and "image" in str(st.get("detail", "")).lower()
        self.prepare_button.setVisible(missing or self.image_progress.isVisible())
        if st.get("available"):
            self.engine.setText(f"Sandbox: {st.get('backend', '')} · image {st.get('image', '')}")
        else:
            fix = f" Fix: {st['fix']}" if st.get("fix") else ""
            detail = str(st.get("detail", "")).rstrip(".")
            self.engine.setText(f"⚠ Sandbox unavailable: {detail}.{fix}")

    # --- events ----------------------------------------------------------------------------------

    def _on_started(self, event: SandboxStarted) -> None:
        rec = RunRecord(
            run_id=event.run_id,
            started=event.ts,
            backend=event.backend,
            image=event.image,
            limits=event.limits.to_dict(),
            query_id=event.query_id,
        )
        self.runs[event.run_id] = rec
        while len(self.runs) > MAX_RUNS:
            self.runs.pop(next(iter(self.runs)))
        item = QListWidgetItem(f"{time.strftime('%H:%M:%S', time.localtime(rec.started))}  {rec.run_id}")
        item.setData(Qt.ItemDataRole.UserRole, rec.run_id)
        self.run_list.insertItem(0, item)
        while self.run_list.count() > MAX_RUNS:
            self.run_list.takeItem(self.run_list.count() - 1)
        self._show_run(rec.run_id)
        self.stop_button.setEnabled(True)

    def _on_output(self, event: SandboxOutput) -> None:
        rec = self.runs.get(event.run_id)
        if rec is None:
            # Output without a start event (a run begun before the window opened): track it anyway.
            rec = RunRecord(run_id=event.run_id, started=event.ts)
            self.runs[event.run_id] = rec
            if self.current is None:
                self.current = event.run_id
        text = rec.stdout_filter.feed(event.text) if event.stream == "stdout" else event.text
        self._add_chunk(rec, event.stream, text)

    def _add_chunk(self, rec: RunRecord, stream: str, text: str) -> None:
        if not text:
            return
        rec.chunks.append((stream, text))
        if rec.run_id == self.current:
            self._queue([(stream, text)])

    def _on_finished(self, event: SandboxFinished) -> None:
        rec = self.runs.get(event.run_id)
        if rec is None:
            return
        rec.report = event.report.to_dict()
        self._add_chunk(rec, "stdout", rec.stdout_filter.finish())
        if event.run_id == self.current:
            self.flush()
            self._update_status(rec)
            self.stop_button.setEnabled(False)
        for i in range(self.run_list.count()):
            item = self.run_list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == event.run_id:
                item.setText(f"{item.text()}  [{rec.report.get('status', '?')}]")

    # --- view ------------------------------------------------------------------------------------

    def flush(self) -> None:
        """Append up to FLUSH_LINES queued lines to the view in as few inserts as possible."""
        if not self._pending:
            return
        step = min(self._pending_lines, FLUSH_LINES)
        if self._pending_lines > KEEP_LINES or self._view_lines + step > MAX_LINES:
            # Full, or far behind: start again from the newest KEEP_LINES lines.
            self.output.clear()
            self._view_lines = 0
            self._pending = deque(self._tail(KEEP_LINES))
            self._pending_lines = sum(t.count("\n") for _, t in self._pending)
        chunks = self._take(FLUSH_LINES)
        cursor = QTextCursor(self.output.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.beginEditBlock()
        run: list[str] = []
        run_stream = chunks[0][0]
        for stream, text in chunks:
            if stream != run_stream:
                self._insert(cursor, run_stream, "".join(run))
                run, run_stream = [], stream
            run.append(text)
        self._insert(cursor, run_stream, "".join(run))
        cursor.endEditBlock()
        added = sum(t.count("\n") for _, t in chunks)
        self._view_lines += added
        self.lines_shown += added
        bar = self.output.verticalScrollBar()
        bar.setValue(bar.maximum())
        rec = self.runs.get(self.current or "")
        if rec is not None and rec.report is None:
            elapsed = time.time() - rec.started
            self.status.setText(f"Running {rec.run_id} · {elapsed:.1f} s · {_limits(rec.limits)}")

    @property
    def backlog(self) -> int:
        """Lines received but not shown yet."""
        return self._pending_lines if self._pending else 0

    def _queue(self, chunks: list[tuple[str, str]]) -> None:
        lines = sum(t.count("\n") for _, t in chunks)
        self._pending.extend(chunks)
        self._pending_lines += lines
        self._remember(chunks, lines)

    def _take(self, lines: int) -> list[tuple[str, str]]:
        """Up to ``lines`` lines from the front of the queue (a chunk is split if needed)."""
        out: list[tuple[str, str]] = []
        budget = lines
        while self._pending and budget > 0:
            stream, text = self._pending.popleft()
            n = text.count("\n")
            if n > budget:
                cut = -1
                for _ in range(budget):
                    cut = text.index("\n", cut + 1)
                head, rest = text[: cut + 1], text[cut + 1 :]
                self._pending.appendleft((stream, rest))
                text, n = head, budget
            out.append((stream, text))
            self._pending_lines -= n
            budget -= n
        if not self._pending:
            self._pending_lines = 0
        return out

    def _remember(self, chunks: list[tuple[str, str]], lines: int) -> None:
        """Keep the newest MAX_LINES lines of the current run's output."""
        self._recent.extend(chunks)
        self._recent_lines += lines
        while self._recent and self._recent_lines - self._recent[0][1].count("\n") >= MAX_LINES:
            self._recent_lines -= self._recent.popleft()[1].count("\n")

    def _tail(self, lines: int) -> list[tuple[str, str]]:
        """The newest ``lines`` lines of the current run's output, as (stream, text) chunks."""
        out: list[tuple[str, str]] = []
        need = lines
        for stream, text in reversed(self._recent):
            n = text.count("\n")
            if n >= need:
                parts = text.split("\n")  # the last part is the unfinished line ("" after a newline)
                out.append((stream, "\n".join(parts[-(need + 1) :])))
                break
            out.append((stream, text))
            need -= n
        out.reverse()
        return out

    def _insert(self, cursor: QTextCursor, stream: str, text: str) -> None:
        if text:
            cursor.insertText(text, self._stderr_fmt if stream == "stderr" else self._stdout_fmt)

    def _show_run(self, run_id: str) -> None:
        rec = self.runs.get(run_id)
        if rec is None:
            return
        self.current = run_id
        self._pending.clear()
        self._pending_lines = 0
        self._recent.clear()
        self._recent_lines = self._view_lines = 0
        self.output.clear()
        self._queue(list(rec.chunks))
        self.flush()
        self._update_status(rec)

    def _update_status(self, rec: RunRecord) -> None:
        if rec.report is None:
            self.status.setText(
                f"Running {rec.run_id} · {rec.backend} {rec.image} · {_limits(rec.limits)}".strip()
            )
            return
        r = rec.report
        parts = [
            f"{r.get('status', '?')}",
            _exit_text(r),
            f"{float(r.get('duration_ms') or 0):.0f} ms",
            str(r.get("backend") or rec.backend) + (f" on {r['node']}" if r.get("node") else ""),
            _limits(r.get("limits") or rec.limits),
        ]
        if r.get("timed_out") and r.get("exit_code") is not None:
            parts.append("timed out")
        if r.get("oom_killed"):
            parts.append("out of memory")
        if r.get("stdout_truncated") or r.get("stderr_truncated"):
            parts.append("output truncated")
        if r.get("backend") == "local":
            parts.append("⚠ INSECURE local runner")
        self.status.setText(" · ".join(p for p in parts if p))

    def _on_run_clicked(self, item: QListWidgetItem) -> None:
        self._show_run(str(item.data(Qt.ItemDataRole.UserRole)))

    def prepare_image(self) -> None:
        """Pull the base and build the sandbox image off the Qt thread; a second click cancels."""
        sandbox = self._app.sandbox
        if sandbox is None:
            return
        if self._workers.active("sandbox-image"):
            self._workers.cancel_group("sandbox-image")
            return
        self.prepare_button.setText("Cancel")
        self.image_progress.setValue(0)
        self.image_progress.setVisible(True)

        async def prepare() -> None:
            try:
                result = await sandbox.prepare_image()
                self.engine.setText(f"Sandbox image: {result.detail}")
            finally:
                self.prepare_button.setText("Prepare image")
                self.image_progress.setVisible(False)
                self.refresh_engine()

        self._workers.run(prepare, name="sandbox-image", group="sandbox-image")

    def _on_image_progress(self, event: SandboxImageProgress) -> None:
        self.image_progress.setVisible(event.stage in ("pull", "build"))
        self.image_progress.setValue(int(event.fraction * 1000))
        self.image_progress.setFormat(f"{event.stage} %p%")
        self.engine.setText(f"Preparing {event.image}: {event.message}")

    def stop(self) -> None:
        """Ask the sandbox to kill the current run (off the Qt thread)."""
        sandbox = self._app.sandbox
        run_id = self.current
        if sandbox is None or run_id is None:
            return
        self.stop_button.setEnabled(False)
        self.status.setText(f"Stopping {run_id}…")

        async def cancel() -> None:
            try:
                await sandbox.cancel(run_id)
            except Exception as exc:
                self.status.setText(f"Could not stop {run_id}: {exc}")

        self._workers.run(cancel, name="sandbox-stop", group="sandbox")

    def close_subscriptions(self) -> None:
        """Stop listening to the bus (window closing)."""
        self._timer.stop()
        for sub in self._subs:
            sub.cancel()


def _limits(limits: dict[str, Any]) -> str:
    if not limits:
        return ""
    keys = ("memory", "memory_limit", "cpus", "timeout_seconds", "timeout", "pids_limit", "network")
    shown = [f"{k}={limits[k]}" for k in keys if k in limits]
    return "limits " + ", ".join(shown) if shown else ""


def _exit_text(report: dict[str, Any]) -> str:
    """The run's exit code, or why it has none (never "exit code None")."""
    code = report.get("exit_code")
    if code is not None:
        return f"exit code {code}"
    if report.get("timed_out"):
        return "timed out"
    if report.get("oom_killed") or report.get("status") == "killed":
        return "killed"
    if report.get("status") == "unavailable":
        return "sandbox unavailable"
    return "no exit code"
