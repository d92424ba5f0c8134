"""The window paints before the app exists: its frame first, the panes once the app is built.

What a user does in between is kept: text typed into the chat input stays there, and a question
sent while FAME starts is asked as soon as the chat is ready (issue 15).
"""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QPlainTextEdit, QToolButton
from pytestqt.qtbot import QtBot

from fame_desktop.app import build_app
from fame_desktop.ui.qt_main_window import DOCKS, QtMainWindow
from tests.ui.conftest import run_async

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise")]


def _frame(qtbot: QtBot, root: Path) -> QtMainWindow:
    win = QtMainWindow(None, root=root)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitUntil(lambda: win.first_paint.painted_at is not None, timeout=10_000)
    return win


def _delete(qtbot: QtBot, win: QtMainWindow) -> None:
    """Delete the window now, not in a later test (whose count of live parts it would change)."""
    win.deleteLater()
    qtbot.wait(20)  # the deferred delete runs in an event loop
    gc.collect()


def test_a_question_sent_before_the_app_is_up_is_asked_once_it_is(
    tmp_path: Path, qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot
) -> None:
    root = tmp_path / "data"
    root.mkdir()
    win = _frame(qtbot, root)
    # The frame: every dock (with a stand-in), the chat input focused, app actions off until ready.
    for name, _title, _area in DOCKS:
        dock = win.findChild(QDockWidget, name)
        assert dock is not None and dock.isVisible(), name
    assert win.findChildren(QLabel, "startupPlaceholder")
    settings = win.findChild(QToolButton, "settingsButton")
    assert settings is not None and not settings.isEnabled()
    chat_input = win.findChild(QPlainTextEdit, "chatInput")
    assert chat_input is not None
    qtbot.waitUntil(lambda: QApplication.focusWidget() is chat_input, timeout=5_000)
    qtbot.keyClicks(chat_input, "what is 2 + 3")
    qtbot.keyClick(chat_input, Qt.Key.Key_Return)
    assert win.startup_chat is not None and win.startup_chat.pending == "what is 2 + 3"
    assert "what is 2 + 3" in win.startup_chat.view.toPlainText()  # shown as waiting, not lost
    assert "Starting" in win.startup_chat.status.text()
    qtbot.keyClicks(chat_input, "and 4 + 4")  # typed, not sent: stays in the input

    app = build_app(root)
    app.bus.bind_loop(qt_loop)
    try:
        attached = run_async(qtbot, qt_loop, win.attach_sliced(app, qt_loop), timeout=30_000)
        assert attached is None

        # The answer may come while attaching (before a signal could be connected): read the chat.
        def answered() -> bool:
            text = win.chat.plain_text()
            return not win.chat.busy and "what is 2 + 3" in text and "5" in text.split("what is 2 + 3", 1)[1]

        qtbot.waitUntil(answered, timeout=30_000)
        assert win.chat.plain_text().count("what is 2 + 3") == 1  # asked once
        # The same input, with what was typed in it, and the keyboard still there.
        assert win.chat.input is chat_input
        assert chat_input.toPlainText() == "and 4 + 4"
        assert win.findChildren(QPlainTextEdit, "chatInput") == [chat_input]
        assert QApplication.focusWidget() is chat_input
        assert settings.isEnabled()
        qtbot.waitUntil(lambda: not win.findChildren(QLabel, "startupPlaceholder"), timeout=5_000)
        # The background parts come up after it, step by step in the status bar.
        qtbot.waitUntil(lambda: not win.workers.active("startup"), timeout=30_000)
        qtbot.waitUntil(lambda: win.status_bar.startup.text() == "Ready", timeout=10_000)
        # Up/Down walk the history, which now holds the question asked while starting.
        chat_input.clear()
        qtbot.keyClick(chat_input, Qt.Key.Key_Up)
        assert chat_input.toPlainText() == "what is 2 + 3"
    finally:
        win.close()
        run_async(qtbot, qt_loop, app.aclose(), timeout=30_000)
        _delete(qtbot, win)


def test_closing_the_window_while_it_starts_stops_cleanly(
    tmp_path: Path, qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot
) -> None:
    root = tmp_path / "data"
    root.mkdir()
    win = _frame(qtbot, root)
    with qtbot.waitSignal(win.closed, timeout=5_000):
        win.close()
    assert win.is_closed
    # The app built afterwards (the launcher's bring-up was under way) is attached and released.
    app = build_app(root)
    app.bus.bind_loop(qt_loop)
    try:
        run_async(qtbot, qt_loop, win.attach_sliced(app, qt_loop), timeout=30_000)
        assert not win.workers.active("startup")  # nothing was started for a closed window
        assert not app.safety.unlocked
    finally:
        run_async(qtbot, qt_loop, app.aclose(), timeout=30_000)
        _delete(qtbot, win)
