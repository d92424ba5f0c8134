"""The audit pane shows control characters escaped, and says plainly when the log was tampered with."""

from __future__ import annotations

import re
import sqlite3
import time

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from fame_desktop.app import App
from fame_desktop.ui.qt_main_window import QtMainWindow

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise")]

RAW_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def test_audit_pane_escapes_stored_control_characters_and_reports_tampering(
    qtbot: QtBot, window: QtMainWindow, fame_app: App
) -> None:
    fame_app.audit.append("query", {"n": 1}, actor="ui", summary="ordinary")
    # A row with raw control characters, put into the file by hand (as the first format stored them).
    with sqlite3.connect(fame_app.audit.path) as raw:
        raw.execute(
            "INSERT INTO entries VALUES ((SELECT MAX(id) + 1 FROM entries), ?, ?, ?, ?, ?, ?, ?)",
            (time.time(), "query\x9b2K", "evil\nadmin", "x\r\x1b[2Kadmin key removed\u202e",
             '{"p": "\\u001b]0;t\\u0007\\u0085"}', "0" * 64, "0" * 64),
        )  # fmt: skip
    pane = window.audit
    pane.apply_filters()
    model = pane.model
    qtbot.waitUntil(lambda: model.rowCount() >= 2 and model.entry(0).actor == "evil\nadmin")
    shown = [model.data(model.index(0, col), Qt.ItemDataRole.DisplayRole) for col in (2, 3, 4)]
    assert shown == ["query\\x9b2K", "evil\\nadmin", "x\\r\\x1b[2Kadmin key removed\\u202e"]
    tooltip = model.data(model.index(0, 4), Qt.ItemDataRole.ToolTipRole)
    assert not RAW_CONTROL.search(tooltip)
    pane.table.selectRow(0)
    qtbot.waitUntil(lambda: "admin key removed" in pane.detail.toPlainText())
    assert not RAW_CONTROL.search(pane.detail.toPlainText().replace("\n", ""))

    with qtbot.waitSignal(pane.verified, timeout=10_000) as sig:
        pane.verify_button.click()
    assert not sig.args[0].ok
    assert pane.result.textFormat() == Qt.TextFormat.PlainText
    assert "AUDIT CHAIN BROKEN at entry" in pane.result.text()
    assert "added outside FAME" in pane.result.text() and "move audit.sqlite3" in pane.result.text()
