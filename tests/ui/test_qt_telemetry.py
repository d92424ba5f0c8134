"""The telemetry view draws what the metrics collectors saw on the real event bus."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from fame_desktop.orchestrator.events import EventBus, PluginFailed, QueryCompleted, SandboxFinished
from fame_desktop.orchestrator.metrics import Metrics
from fame_desktop.orchestrator.run_report import Limits, RunReport
from fame_desktop.ui.qt_telemetry import QtTelemetryView

# A view shown on its own under Xvfb: the window manager-less X server cannot propagate size hints.
pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


def _report(status: str, ms: float) -> RunReport:
    return RunReport(
        run_id="r", status=status, backend="docker", image="", limits=Limits.defaults(), duration_ms=ms
    )


def _query(qid: str, intent: str, ms: float, error: str | None = None) -> QueryCompleted:
    response = {
        "id": qid,
        "intent": intent,
        "processing_time_ms": ms,
        "error": {"code": error, "message": "x"} if error else None,
    }
    return QueryCompleted(query_id=qid, response=response)


def test_telemetry_view_shows_counts_and_charts(qtbot: QtBot) -> None:
    bus = EventBus()
    metrics = Metrics(bus, audit_entries=10)
    view = QtTelemetryView(metrics)
    qtbot.addWidget(view)
    view.resize(900, 500)
    empty = view.grab().toImage()
    for i in range(5):
        bus.publish(_query(f"q{i}", "calculate", 5 + i))
    bus.publish(_query("q9", "market_analysis", 30, error="network_disabled"))
    bus.publish(SandboxFinished(run_id="r", report=_report("ok", 300)))
    bus.publish(PluginFailed(name="broken", path="p", stage="call", error="boom"))
    view.refresh()
    text = view.summary.text()
    assert "Queries: 6 (1 with errors)" in text
    assert "sandbox runs: 1" in text and "plugin failures: 1" in text
    assert view.intents.values == {"calculate": 5, "market_analysis": 1}
    assert view.statuses.bad_labels == {"network_disabled"}
    assert len(view.latency.points) == 6
    # Something was really painted where the charts were empty before.
    assert view.grab().toImage() != empty
    view.stop()
    metrics.close()


def test_runs_by_node_show_only_for_a_cluster(qtbot: QtBot) -> None:
    bus = EventBus()
    metrics = Metrics(bus)
    view = QtTelemetryView(metrics)
    qtbot.addWidget(view)
    view.show()
    single = _report("ok", 10)
    single.node = "vm"  # one engine: where it ran says nothing new
    bus.publish(SandboxFinished(run_id="r", report=single))
    view.refresh()
    assert view.nodes_box.isHidden() and view.nodes.values == {}
    for node in ("vm", "fame-node2", "fame-node2"):
        report = _report("ok", 10)
        report.backend, report.node = "swarm", node
        bus.publish(SandboxFinished(run_id="r", report=report))
    view.refresh()
    assert not view.nodes_box.isHidden()
    assert view.nodes.values == {"fame-node2": 2, "vm": 1}
    assert metrics.snapshot().sandbox_by_node == {"fame-node2": 2, "vm": 1}
    view.stop()
    metrics.close()
