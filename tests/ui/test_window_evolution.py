"""The evolution panel driven through the real window and the real Brain: a run shows its
candidates live, approval waits for the admin unlock, rollback, cancel."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QLineEdit, QPushButton, QTextBrowser
from pytestqt.qtbot import QtBot

from fame_desktop.app import App
from fame_desktop.ui.qt_evolution import COLUMNS, QtEvolutionPanel
from fame_desktop.ui.qt_main_window import QtMainWindow
from tests.ui.conftest import screenshot

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise")]


def _panel(window: QtMainWindow) -> QtEvolutionPanel:
    dock = window.findChild(QDockWidget, "evolutionPanel")
    assert dock is not None
    panel = dock.findChild(QtEvolutionPanel)  # inside the dock's scroll area
    assert isinstance(panel, QtEvolutionPanel)
    dock.show()
    dock.raise_()
    return panel


def _start(qtbot: QtBot, panel: QtEvolutionPanel, task: str, population: int, generations: int) -> None:
    panel.task.setText(task)
    panel.population.setValue(population)
    panel.generations.setValue(generations)
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)


def _unlock(qtbot: QtBot, window: QtMainWindow, key: str) -> None:
    dialog = window.open_settings()
    key_input = dialog.findChild(QLineEdit, "adminKeyInput")
    unlock = dialog.findChild(QPushButton, "adminUnlockButton")
    assert key_input is not None and unlock is not None
    key_input.setText(key)
    qtbot.mouseClick(unlock, Qt.MouseButton.LeftButton)
    dialog.close()


@pytest.mark.docker
def test_run_approve_rollback_from_the_panel(qtbot: QtBot, window: QtMainWindow, fame_app: App) -> None:
    panel = _panel(window)
    _start(qtbot, panel, "optimize string reversal", 4, 1)
    assert panel.running and not panel.start_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.running, timeout=60_000)
    assert panel.candidates.rowCount() == 4
    assert panel.progress.value() == panel.progress.maximum() == 4
    assert "best score" in panel.best.text()
    assert "faster" in panel.status.text() and "approve" in panel.status.text()
    origins = {panel.candidates.item(r, 1).text().split("+")[0] for r in range(4)}  # type: ignore[union-attr]
    assert "reference" in origins
    # Where each candidate ran: the engine's name here (a cluster node on the swarm backend).
    node_column = COLUMNS.index("Node")
    nodes = {panel.candidates.item(r, node_column).text() for r in range(4)}  # type: ignore[union-attr]
    assert len(nodes) == 1 and "" not in nodes, nodes
    qtbot.waitUntil(lambda: panel.history_list.count() == 1)
    run = panel.selected_run()
    assert run is not None and run["better"] and run["id"] == panel.current

    # Locked: approving is not offered.
    assert not panel.approve_button.isEnabled() and "Unlock admin" in panel.approve_button.toolTip()
    key = fame_app.safety.create_first_key(actor="test")
    _unlock(qtbot, window, key)
    qtbot.waitUntil(panel.approve_button.isEnabled)
    # Approve shows the change first: the diff against the library's original, both fitnesses.
    qtbot.mouseClick(panel.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.approval_dialog is not None and panel.approval_dialog.isVisible())
    dialog = panel.approval_dialog
    assert dialog is not None
    diff = dialog.findChild(QTextBrowser, "approvalDiff")
    assert diff is not None and diff.isVisible()
    diff_text = diff.toPlainText()
    assert diff_text.startswith("--- reverse_string (the library's original)") and "+++ " in diff_text
    assert any(line.startswith("+") and not line.startswith("+++") for line in diff_text.splitlines())
    fitness = dialog.findChild(QLabel, "approvalFitness")
    assert fitness is not None and fitness.text().count("tests pass") == 2 and "faster" in fitness.text()
    screenshot(dialog, "evolution-approval")
    # Cancelling promotes nothing.
    qtbot.mouseClick(dialog.findChild(QPushButton, "approvalCancel"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.approval_dialog is None)
    assert fame_app.services.evolution.store.active("reverse_string") is None
    assert panel.approve_button.isEnabled()
    # Confirmed: promoted, with its own description.
    qtbot.mouseClick(panel.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.approval_dialog is not None and panel.approval_dialog.isVisible())
    assert panel.approval_dialog is not None
    promote = panel.approval_dialog.findChild(QPushButton, "approvalPromote")
    qtbot.mouseClick(promote, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "is now v1" in panel.status.text(), timeout=10_000)
    qtbot.waitUntil(lambda: "promoted v1 (active)" in panel.history_list.item(0).text())  # type: ignore[union-attr]
    active = fame_app.services.evolution.store.active("reverse_string")
    assert active is not None and active.run_id == run["id"] and run["id"] in active.description
    assert not panel.approve_button.isEnabled()  # promoted once

    qtbot.waitUntil(panel.rollback_button.isEnabled)
    qtbot.mouseClick(panel.rollback_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "library original" in panel.status.text(), timeout=10_000)
    assert fame_app.services.evolution.store.active("reverse_string") is None
    kinds = {e.kind for e in fame_app.audit.query(limit=200)}
    assert {"evolution_started", "evolution_candidate", "evolution_promoted", "evolution_rollback"} <= kinds

    # History is browsable: a past run shows its candidates again.
    panel.candidates.setRowCount(0)
    item = panel.history_list.item(0)
    assert item is not None
    panel.history_list.itemActivated.emit(item)
    qtbot.waitUntil(lambda: panel.candidates.rowCount() == 4)
    assert run["id"] in panel.status.text() and "faster" in panel.status.text()


@pytest.mark.docker
def test_cancel_from_the_panel(qtbot: QtBot, window: QtMainWindow) -> None:
    panel = _panel(window)
    _start(qtbot, panel, "check if a number is prime", 12, 4)
    qtbot.waitUntil(lambda: panel.candidates.rowCount() >= 1, timeout=60_000)
    assert panel.cancel_button.isEnabled()
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.running, timeout=30_000)
    assert "Cancelled" in panel.status.text()
    qtbot.waitUntil(lambda: panel.history_list.count() == 1)
    assert "[cancelled]" in panel.history_list.item(0).text()  # type: ignore[union-attr]
    assert panel.start_button.isEnabled() and not panel.cancel_button.isEnabled()


def test_unknown_task_is_explained(qtbot: QtBot, window: QtMainWindow) -> None:
    panel = _panel(window)
    _start(qtbot, panel, "optimize code generation", 5, 1)
    qtbot.waitUntil(lambda: not panel.running, timeout=10_000)
    assert "matches no task" in panel.status.text()
    assert panel.candidates.rowCount() == 0
    qtbot.waitUntil(lambda: panel.history_list.count() == 1)
    assert "[no_match]" in panel.history_list.item(0).text()  # type: ignore[union-attr]
