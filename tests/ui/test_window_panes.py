"""Sandbox, audit and plugin panes, and the saved layout, driven through the real window."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QInputDialog, QLabel, QLineEdit, QPlainTextEdit, QTableView
from pytestqt.qtbot import QtBot

from fame_desktop.app import App
from fame_desktop.orchestrator.events import SandboxFinished, SandboxOutput, SandboxStarted
from fame_desktop.orchestrator.run_report import Limits, RunReport
from fame_desktop.ui.qt_audit import PAGE
from fame_desktop.ui.qt_main_window import QtMainWindow
from fame_desktop.ui.qt_sandbox import KEEP_LINES, MAX_LINES

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise")]


def test_sandbox_pane_streams_output_published_from_a_worker_thread(
    qtbot: QtBot, window: QtMainWindow, fame_app: App
) -> None:
    output = window.findChild(QPlainTextEdit, "sandboxOutput")
    status = window.findChild(QLabel, "sandboxStatus")
    assert output is not None and status is not None
    lines = MAX_LINES + 5000
    limits = Limits.defaults()

    def run() -> None:
        bus = fame_app.bus
        bus.publish(
            SandboxStarted(run_id="run-1", backend="docker", image="fame-sandbox:latest", limits=limits)
        )
        for i in range(lines):
            bus.publish(SandboxOutput(run_id="run-1", stream="stdout", text=f"line {i}\n"))
            if i % 5000 == 0:
                bus.publish(SandboxOutput(run_id="run-1", stream="stderr", text=f"warning {i}\n"))
        report = RunReport(
            run_id="run-1",
            status="ok",
            backend="docker",
            image="fame-sandbox:latest",
            limits=limits,
            exit_code=0,
            duration_ms=1234.0,
        )
        bus.publish(SandboxFinished(run_id="run-1", report=report))

    worker = threading.Thread(target=run)
    worker.start()
    qtbot.waitUntil(lambda: f"line {lines - 1}" in output.toPlainText()[-200:], timeout=20_000)
    worker.join()
    qtbot.waitUntil(lambda: "exit code 0" in status.text())
    assert "1234 ms" in status.text() and "memory=512m" in status.text()
    # Bounded: the view keeps at most MAX_LINES lines, at least the newest KEEP_LINES; the oldest are gone.
    assert output.document().blockCount() <= MAX_LINES + 1
    assert "line 0\n" not in output.toPlainText()
    # The newest KEEP_LINES lines are stdout 15001-24999 and the stderr "warning 20000" line.
    assert f"line {lines - KEEP_LINES + 1}\n" in output.toPlainText()
    # stderr is shown in another colour than stdout.
    doc = output.document()
    err_block = doc.find("warning 20000")
    out_block = doc.find("line 20000")
    assert not err_block.isNull() and not out_block.isNull()
    err_colour = QTextCursor(err_block).charFormat().foreground().color().name()
    out_colour = QTextCursor(out_block).charFormat().foreground().color().name()
    assert err_colour != out_colour
    # The run is listed and can be reopened after another run replaced it.
    fame_app.bus.publish(SandboxStarted(run_id="run-2", backend="docker", image="x", limits=limits))
    fame_app.bus.publish(SandboxOutput(run_id="run-2", stream="stdout", text="second run\n"))
    qtbot.waitUntil(lambda: "second run" in output.toPlainText())
    assert window.sandbox.run_list.count() == 2
    item = window.sandbox.run_list.item(1)
    assert item is not None and "run-1" in item.text() and "[ok]" in item.text()
    window.sandbox.run_list.itemClicked.emit(item)
    qtbot.waitUntil(lambda: f"line {lines - 1}" in output.toPlainText()[-200:])


def test_audit_pane_loads_lazily_filters_verifies_and_exports(
    qtbot: QtBot, window: QtMainWindow, fame_app: App, tmp_path: Path
) -> None:
    for i in range(3 * PAGE):
        fame_app.audit.append("ui_test", {"n": i}, actor="test", summary=f"entry <{i}>")
    table = window.findChild(QTableView, "auditTable")
    assert table is not None
    pane = window.audit
    pane.apply_filters()
    # Only the first page is loaded until the view scrolls.
    assert pane.model.rowCount() == PAGE
    table.scrollToBottom()
    qtbot.waitUntil(lambda: pane.model.rowCount() >= 2 * PAGE)
    # Newest first.
    assert pane.model.entry(0).summary == f"entry <{3 * PAGE - 1}>"

    pane.text.setText("<42>")
    qtbot.waitUntil(lambda: pane.model.rowCount() == 1)
    table.selectRow(0)
    detail = json.loads(pane.detail.toPlainText())
    assert detail["kind"] == "ui_test" and detail["data"] == {"n": 42}

    pane.text.setText("")
    pane.kind.setCurrentText("ui_test")
    qtbot.waitUntil(lambda: pane.model.rowCount() == PAGE and pane.model.entry(0).kind == "ui_test")

    # A new entry shows up at the top without a reload.
    fame_app.audit.append("ui_test", {"n": -1}, actor="test", summary="the newest one")
    qtbot.waitUntil(lambda: pane.model.entry(0).summary == "the newest one")

    with qtbot.waitSignal(pane.verified, timeout=10_000):
        pane.verify_button.click()
    assert "Audit chain OK" in pane.result.text()

    out = tmp_path / "audit.jsonl"
    with qtbot.waitSignal(pane.exported, timeout=10_000) as sig:
        pane.export_to(out)
    assert sig.args == [3 * PAGE + 1]
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3 * PAGE + 1


def test_plugins_pane_lists_plugins_with_status_and_disables_one(
    qtbot: QtBot, window: QtMainWindow, fame_app: App
) -> None:
    qtbot.waitUntil(lambda: "calculator" in window.plugins.names())
    names = window.plugins.names()
    assert "calculator" in names and "universal_developer" in names
    tree = window.plugins.tree
    row = names.index("calculator")
    item = tree.topLevelItem(row)
    assert item is not None and item.text(2) == "loaded" and "calculate" in item.text(3)
    tree.setCurrentItem(item)
    window.plugins.toggle_button.click()
    qtbot.waitUntil(lambda: fame_app.services.plugins.get("calculator").status == "disabled")  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: "disabled" in window.plugins.message.text())
    assert fame_app.settings.get("plugins.disabled") == ["calculator"]
    assert fame_app.audit.count(kinds=["plugin_state"]) == 1


def test_selecting_a_failed_plugin_shows_its_whole_error_to_copy(
    qtbot: QtBot, window: QtMainWindow, fame_app: App
) -> None:
    seed_style = "def init(manager):\n    pass\n\ndef handle(request):\n    return {'response': 'hi'}\n"
    (fame_app.services.user_plugin_dir() / "seed_hello.py").write_text(seed_style)
    window.plugins.rescan()
    qtbot.waitUntil(lambda: "seed_hello" in window.plugins.names(), timeout=10_000)
    item = window.plugins.tree.topLevelItem(window.plugins.names().index("seed_hello"))
    assert item is not None and item.text(2).startswith("failed: seed_hello.py: no module-level PLUGIN")
    window.plugins.tree.setCurrentItem(item)
    shown = window.plugins.message.text()
    assert shown.startswith("seed_hello.py: no module-level PLUGIN manifest.")
    assert 'PLUGIN = {\n    "schema_version": 1,\n    "name": "seed_hello",' in shown
    assert window.plugins.message.hasSelectedText() is False  # selectable, nothing selected yet
    window.plugins.message.setSelection(0, 10)
    assert window.plugins.message.selectedText() == "seed_hello"


def test_layout_is_saved_and_restored(qtbot: QtBot, fame_app: App, qt_loop: object) -> None:
    first = QtMainWindow(fame_app, qt_loop)  # type: ignore[arg-type]
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    first.docks["auditDock"].hide()
    first.resize(790, 560)
    wanted = first.size()
    first.close()
    assert (fame_app.paths.root / "window.ini").exists()
    second = QtMainWindow(fame_app, qt_loop)  # type: ignore[arg-type]
    qtbot.addWidget(second)
    second.show()
    qtbot.waitExposed(second)
    assert not second.docks["auditDock"].isVisible()
    assert second.docks["sandboxDock"].isVisible()
    assert second.size() == wanted
    second.close()


def test_a_waiting_plugin_is_shown_and_approved_with_the_key_the_pane_asks_for(
    qtbot: QtBot, window: QtMainWindow, fame_app: App
) -> None:
    key, _ = fame_app.services.keys.add(label="test")
    source = (
        'PLUGIN = {"name": "pane_greeter", "version": "1.0", "description": "Greets.", '
        '"intents": {"chat": ["pane greeter"]}}\n'
        "def handle(request):\n    return {'response': 'hi from the pane greeter'}\n"
    )
    (fame_app.services.user_plugin_dir() / "pane_greeter.py").write_text(source)
    window.plugins.rescan()
    qtbot.waitUntil(lambda: "pane_greeter" in window.plugins.names(), timeout=10_000)
    item = window.plugins.tree.topLevelItem(window.plugins.names().index("pane_greeter"))
    assert item is not None and item.text(2) == "waiting for approval"
    window.plugins.tree.setCurrentItem(item)
    assert window.plugins.approve_button.isEnabled()
    assert "fame plugins approve pane_greeter --admin-key KEY" in window.plugins.message.text()

    # Approve asks for the admin key; a wrong one approves nothing.
    for attempt, expected in (("fame_" + "y" * 43, "⚠"), (key, "pane_greeter approved: loaded")):
        qtbot.mouseClick(window.plugins.approve_button, Qt.MouseButton.LeftButton)
        dialog = window.plugins.findChild(QInputDialog, "pluginApproveDialog")
        qtbot.waitUntil(lambda d=dialog: d is not None and d.isVisible())  # type: ignore[misc]
        assert dialog is not None and dialog.textEchoMode() == QLineEdit.EchoMode.Password
        dialog.setTextValue(attempt)
        dialog.accept()
        qtbot.waitUntil(lambda e=expected: window.plugins.message.text().startswith(e), timeout=20_000)
        dialog.deleteLater()
        qtbot.wait(10)
    rec = fame_app.services.plugins.get("pane_greeter")
    assert rec is not None and rec.status == "loaded" and rec.process is not None and rec.process.alive
    qtbot.waitUntil(lambda: "isolated" in (window.plugins.tree.topLevelItem(
        window.plugins.names().index("pane_greeter")).text(4)), timeout=5000)  # fmt: skip
    assert fame_app.audit.count(kinds=["plugin_approved"]) == 1
    assert fame_app.audit.count(kinds=["admin_failed"]) == 1
