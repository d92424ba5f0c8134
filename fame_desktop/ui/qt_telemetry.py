"""The telemetry view: what the app has been doing, drawn from :class:`Metrics` with QPainter.

The window shows it in a dialog (View → Telemetry…, :class:`QtTelemetryDialog`) that refreshes
once a second while it is open.

QtCharts is not part of pyside6-essentials, so the charts are simple painted bars and a line. The
view holds no counts of its own: every refresh it reads :meth:`Metrics.snapshot`.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QColor, QHideEvent, QPainter, QPaintEvent, QPen, QPolygonF, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from fame_desktop.orchestrator.metrics import Metrics, TelemetrySnapshot

REFRESH_MS = 1000
WINDOW_SECONDS = 15 * 60
_OK = QColor("#2e7d32")
_BAD = QColor("#c62828")
_BAR = QColor("#1565c0")


class QtBarChart(QWidget):
    """Horizontal bars for a ``label -> count`` mapping."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setMinimumHeight(90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.values: dict[str, int] = {}
        self.bad_labels: set[str] = set()

    def set_values(self, values: dict[str, int], bad: set[str] | None = None) -> None:
        """Show ``values`` (largest first); labels in ``bad`` are drawn red."""
        if values != self.values or (bad or set()) != self.bad_labels:
            self.values = dict(sorted(values.items(), key=lambda kv: (-kv[1], kv[0])))
            self.bad_labels = bad or set()
            self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text = self.palette().windowText().color()
        if not self.values:
            painter.setPen(text)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "nothing yet")
            return
        rows = list(self.values.items())[:8]
        row_h = max(14.0, min(24.0, (self.height() - 4) / len(rows)))
        label_w = min(150.0, self.width() * 0.4)
        top = max(rows, key=lambda kv: kv[1])[1] or 1
        for i, (label, count) in enumerate(rows):
            y = 2 + i * row_h
            painter.setPen(text)
            painter.drawText(
                QRectF(0, y, label_w - 6, row_h),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                label,
            )
            width = (self.width() - label_w - 50) * count / top
            color = _BAD if label in self.bad_labels else _BAR
            painter.fillRect(QRectF(label_w, y + 3, max(2.0, width), row_h - 6), color)
            painter.drawText(
                QRectF(label_w + width + 4, y, 46, row_h), Qt.AlignmentFlag.AlignVCenter, str(count)
            )


class QtLatencyChart(QWidget):
    """Query latency over the last minutes: one dot per query, red for errors, and a line."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("telemetryLatencyChart")
        self.setMinimumHeight(120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.points: list[tuple[float, float, bool]] = []  # (ts, latency ms, ok)

    def set_points(self, points: list[tuple[float, float, bool]]) -> None:
        """Show ``points`` (time, latency in ms, ok)."""
        if points != self.points:
            self.points = points
            self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text = self.palette().windowText().color()
        painter.setPen(text)
        if not self.points:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no queries in the last 15 minutes")
            return
        left, bottom = 52.0, self.height() - 16.0
        plot_w, plot_h = self.width() - left - 8, bottom - 8
        peak = max(p[1] for p in self.points) or 1.0
        t0 = min(p[0] for p in self.points)
        span = max(1.0, max(p[0] for p in self.points) - t0)
        painter.drawLine(QPointF(left, bottom), QPointF(left + plot_w, bottom))
        painter.drawLine(QPointF(left, bottom), QPointF(left, 8))
        painter.drawText(QRectF(0, 0, left - 4, 16), Qt.AlignmentFlag.AlignRight, f"{peak:.0f} ms")
        painter.drawText(QRectF(0, bottom - 14, left - 4, 16), Qt.AlignmentFlag.AlignRight, "0")
        xy = [
            QPointF(left + plot_w * (ts - t0) / span, bottom - plot_h * ms / peak)
            for ts, ms, _ in self.points
        ]
        painter.setPen(QPen(_BAR, 1.5))
        painter.drawPolyline(QPolygonF(xy))
        for point, (_, _, ok) in zip(xy, self.points, strict=True):
            color = _OK if ok else _BAD
            painter.setPen(color)
            painter.setBrush(color)
            painter.drawEllipse(point, 2.5, 2.5)


class QtTelemetryView(QWidget):
    """Counts and charts of queries, sandbox runs, plugin failures and the audit log.

    Args:
        metrics: The app's collectors (the same ones ``/metrics`` exposes).
        parent: Parent widget.
    """

    def __init__(self, metrics: Metrics, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("telemetryView")
        self.metrics = metrics
        self.summary = QLabel(self)
        self.summary.setObjectName("telemetrySummary")
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setWordWrap(True)
        self.intents = QtBarChart("telemetryIntentChart", self)
        self.statuses = QtBarChart("telemetryStatusChart", self)
        self.sandbox = QtBarChart("telemetrySandboxChart", self)
        self.latency = QtLatencyChart(self)
        self.nodes = QtBarChart("telemetrySandboxNodeChart", self)
        grid = QGridLayout()
        grid.addWidget(_boxed("Queries by intent", self.intents), 0, 0)
        grid.addWidget(_boxed("Queries by result", self.statuses), 0, 1)
        grid.addWidget(_boxed("Query latency (last 15 min)", self.latency), 1, 0)
        grid.addWidget(_boxed("Sandbox runs by status", self.sandbox), 1, 1)
        # Only a cluster (the swarm backend) says where runs ran; one engine shows no such box.
        self.nodes_box = _boxed("Sandbox runs by node", self.nodes)
        self.nodes_box.setVisible(False)
        grid.addWidget(self.nodes_box, 2, 0, 1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(grid, 1)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    def refresh(self) -> None:
        """Read the collectors and redraw what changed."""
        self.show_snapshot(self.metrics.snapshot(since=time.time() - WINDOW_SECONDS))

    def show_snapshot(self, snap: TelemetrySnapshot) -> None:
        """Render one snapshot."""
        total = sum(snap.queries_by_intent.values())
        errors = sum(n for status, n in snap.queries_by_status.items() if status != "ok")
        runs = sum(snap.sandbox_by_status.values())
        failures = sum(snap.plugin_failures.values())
        latencies = sorted(p.latency_ms for p in snap.recent_queries)
        median = f"{latencies[len(latencies) // 2]:.0f} ms" if latencies else "-"
        completions = sum(snap.llm_completions.values())
        self.summary.setText(
            f"Queries: {total} ({errors} with errors) · median latency {median} · sandbox runs: {runs} · "
            f"LLM: {completions} completions, {snap.llm_tokens} tokens · "
            f"plugin failures: {failures} · audit entries: {snap.audit_entries}"
        )
        self.intents.set_values(snap.queries_by_intent)
        self.statuses.set_values(snap.queries_by_status, bad={s for s in snap.queries_by_status if s != "ok"})
        self.sandbox.set_values(snap.sandbox_by_status, bad={s for s in snap.sandbox_by_status if s != "ok"})
        self.nodes.set_values(snap.sandbox_by_node)
        self.nodes_box.setVisible(bool(snap.sandbox_by_node))
        self.latency.set_points([(p.ts, p.latency_ms, p.status == "ok") for p in snap.recent_queries])

    def start(self) -> None:
        """Refresh now and then once a second."""
        self.refresh()
        self._timer.start()

    def stop(self) -> None:
        """Stop refreshing (the window calls this when it closes)."""
        self._timer.stop()


class QtTelemetryDialog(QDialog):
    """The telemetry view in a non-modal dialog; it refreshes only while shown.

    Args:
        metrics: The app's collectors.
        parent: The window.
    """

    def __init__(self, metrics: Metrics, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("telemetryPanel")
        self.setWindowTitle("Telemetry")
        self.view = QtTelemetryView(metrics, self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(buttons)
        self.resize(820, 520)

    def showEvent(self, event: QShowEvent) -> None:
        self.view.start()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self.view.stop()
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.view.stop()
        super().closeEvent(event)


def _boxed(title: str, widget: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    inner = QVBoxLayout(box)
    inner.setContentsMargins(4, 4, 4, 4)
    inner.addWidget(widget)
    return box
