"""View → Telemetry… shows what the app keeps: queries, latencies, sandbox runs, LLM tokens."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QLabel
from pytestqt.qtbot import QtBot

from fame_desktop.app import App
from fame_desktop.orchestrator.events import SandboxFinished
from fame_desktop.orchestrator.llm.events import LlmStreamEnded
from fame_desktop.orchestrator.run_report import Limits, RunReport
from fame_desktop.ui.qt_main_window import QtMainWindow
from tests.ui.conftest import screenshot

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise")]


def test_the_view_menu_opens_the_telemetry_panel_and_it_follows_the_app(
    qtbot: QtBot, window: QtMainWindow, fame_app: App
) -> None:
    action = window.findChild(QAction, "telemetryAction")
    assert action is not None and action.text() == "Telemetry…"
    assert action in window.menuBar().actions()[1].menu().actions()  # in the View menu
    action.trigger()
    panel = window.findChild(QDialog, "telemetryPanel")
    assert panel is not None and panel.isVisible()
    summary = panel.findChild(QLabel, "telemetrySummary")
    assert summary is not None
    assert "Queries: 0" in summary.text()

    answers: list[object] = []
    window.chat.answered.connect(answers.append)
    for n, text in enumerate(("what is 6 * 7", "1 / 0"), start=1):
        window.chat.input.setPlainText(text)
        window.chat.send()
        qtbot.waitUntil(lambda n=n: len(answers) == n and not window.chat.busy, timeout=30_000)
    fame_app.bus.publish(
        SandboxFinished(
            run_id="r1",
            report=RunReport(
                run_id="r1",
                status="ok",
                backend="docker",
                image="",
                limits=Limits.defaults(),
                duration_ms=250,
            ),
        )
    )
    fame_app.bus.publish(LlmStreamEnded(query_id="q", stream_id="s", reason="stop", tokens=37))
    # The panel refreshes by itself once a second while it is open.
    qtbot.waitUntil(lambda: "sandbox runs: 1" in summary.text(), timeout=5_000)
    text = summary.text()
    assert "Queries: 2 (1 with errors)" in text
    assert "LLM: 1 completions, 37 tokens" in text
    assert panel.view.intents.values == {"calculate": 2}
    assert panel.view.statuses.values == {"ok": 1, "division_by_zero": 1}
    assert len(panel.view.latency.points) == 2
    screenshot(panel, "telemetry-panel")
    # Closed, it stops refreshing; the same action brings the same panel back.
    panel.close()
    assert not panel.view._timer.isActive()
    action.trigger()
    assert window.findChild(QDialog, "telemetryPanel") is panel and panel.isVisible()
    assert panel.view._timer.isActive()
