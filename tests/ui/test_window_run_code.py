"""Running your own code from the window: a fenced block in the chat, an answer's Run button, the
Sandbox pane's editor (open a file, run, stop), all on the real Docker sandbox."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPlainTextEdit, QPushButton, QTextBrowser, QToolButton
from pytestqt.qtbot import QtBot

from fame_desktop.app import App
from fame_desktop.ui.qt_main_window import QtMainWindow
from tests.ui.conftest import screenshot

pytestmark = [
    pytest.mark.gui,
    pytest.mark.docker,
    pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise"),
]


def _output(win: QtMainWindow) -> str:
    view = win.findChild(QPlainTextEdit, "sandboxOutput")
    assert view is not None
    return view.toPlainText()


def _chat(win: QtMainWindow) -> str:
    view = win.findChild(QTextBrowser, "chatView")
    assert view is not None
    return view.toPlainText()


def _sandbox_runs(app: App) -> list[dict[str, object]]:
    return [dict(e.data) for e in app.services.audit.query(limit=200, kinds=["sandbox_run"])]


def test_a_fenced_block_streams_into_the_sandbox_pane_and_answers_in_the_chat(
    qtbot: QtBot, window: QtMainWindow
) -> None:
    code = "import time\nfor i in range(4):\n    print('square', i * i, flush=True)\n    time.sleep(0.4)\n"
    chat_input = window.findChild(QPlainTextEdit, "chatInput")
    assert chat_input is not None
    chat_input.setPlainText(f"Run this please:\n```python\n{code}```")
    qtbot.mouseClick(window.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
    # Live: the first line is in the Sandbox pane while the query is still being answered.
    qtbot.waitUntil(lambda: "square 0" in _output(window), timeout=30_000)
    assert window.chat.busy and "square 9" not in _output(window)
    qtbot.waitUntil(lambda: "Ran your code" in _chat(window), timeout=30_000)
    assert _output(window) == "square 0\nsquare 1\nsquare 4\nsquare 9\n"
    text = _chat(window)
    assert "Ran your code in the sandbox: ok · exit code 0" in text and "square 9" in text
    status = window.sandbox.status.text()
    assert status.startswith("ok") and "exit code 0" in status and "docker" in status, status
    screenshot(window, "window-run-your-code")


def test_the_run_button_of_an_answers_code_block_runs_it(
    qtbot: QtBot, window: QtMainWindow, fame_app: App
) -> None:
    window.chat.ask("Write a Python function to reverse a string", "generate_code")
    qtbot.waitUntil(lambda: "def reverse_string" in _chat(window) and not window.chat.busy, timeout=90_000)

    # One per Python block (the function and its tests), each over its block's "Run" link.
    def placed() -> list[QToolButton]:
        found = window.findChildren(QToolButton, "runCodeButton")
        return [b for b in found if b.geometry().isValid() and b in window.chat.run_buttons.buttons]

    qtbot.waitUntil(lambda: len(placed()) == 2, timeout=5_000)
    button = window.chat.run_buttons.buttons[0]
    # Scrolled out of sight at first (the view shows the end of the answer): scroll up to it.
    bar = window.chat.view.verticalScrollBar()
    bar.setValue(bar.value() + button.y() - 20)
    qtbot.waitUntil(button.isVisible, timeout=5_000)
    # The button sits over its block's header, inside the chat view, and says what it does.
    view = window.findChild(QTextBrowser, "chatView")
    assert view is not None and view.viewport().rect().contains(button.geometry())
    assert button.text() == "▶ Run"
    before = len(_sandbox_runs(fame_app))
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(_sandbox_runs(fame_app)) == before + 1, timeout=30_000)
    run = _sandbox_runs(fame_app)[0]
    block = window.chat._code[0]
    assert run["code_sha256"] == hashlib.sha256(block.encode()).hexdigest()
    assert run["status"] == "ok" and run["query_id"] is None
    qtbot.waitUntil(lambda: window.sandbox.status.text().startswith("ok"), timeout=10_000)
    assert window.docks["sandboxDock"].isVisible()


def test_the_editor_runs_a_snippet_opens_a_file_and_stop_kills_a_run(
    qtbot: QtBot, window: QtMainWindow, fame_app: App, tmp_path: Path
) -> None:
    editor = window.findChild(QPlainTextEdit, "sandboxEditor")
    run = window.findChild(QPushButton, "sandboxRunButton")
    assert editor is not None and run is not None
    window.show_dock("sandboxDock", editor)
    qtbot.keyClicks(editor, "print('from the editor', 6 * 7)")
    qtbot.mouseClick(run, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "from the editor 42" in _output(window), timeout=30_000)
    qtbot.waitUntil(lambda: window.sandbox.status.text().startswith("ok"), timeout=10_000)
    # Ctrl+Enter in the editor runs it too (not the chat's Send).
    editor.setPlainText("print('by keyboard')")
    editor.setFocus()
    qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "by keyboard" in _output(window), timeout=30_000)
    assert not window.chat.conversation.messages  # nothing was sent to the chat
    # A file: opened into the editor and run; its name is in the status until output starts.
    program = tmp_path / "hello.py"
    program.write_text("import sys\nprint('file says hi')\nsys.exit(3)\n")
    assert window.sandbox.code_editor.open_file(program)
    assert editor.toPlainText().startswith("import sys")
    qtbot.waitUntil(lambda: "file says hi" in _output(window), timeout=30_000)
    qtbot.waitUntil(lambda: "exit code 3" in window.sandbox.status.text(), timeout=10_000)
    # Stop: a long run is killed, and says so.
    editor.setPlainText("import time\nprint('sleeping', flush=True)\ntime.sleep(120)\n")
    qtbot.mouseClick(run, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _output(window) == "sleeping\n", timeout=30_000)
    stop = window.findChild(QPushButton, "sandboxStopButton")
    assert stop is not None and stop.isEnabled()
    qtbot.mouseClick(stop, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.sandbox.status.text().startswith("killed"), timeout=15_000)
    # Every run audited (the entry is written just after the report is shown), newest first.
    qtbot.waitUntil(lambda: len(_sandbox_runs(fame_app)) == 4, timeout=10_000)
    assert [r["status"] for r in _sandbox_runs(fame_app)] == ["killed", "error", "ok", "ok"]
