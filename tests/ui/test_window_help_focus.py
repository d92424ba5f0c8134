"""Issue 17's smaller things in the real window: type right away, the Help menu, clean sandbox output."""

from __future__ import annotations

import json
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QLineEdit, QMenu, QPlainTextEdit
from pytestqt.qtbot import QtBot

from fame_desktop import __version__
from fame_desktop.app import App
from fame_desktop.orchestrator.codegen.harness import MARKER
from fame_desktop.ui.qt_help import QtAboutDialog, QtShortcutsDialog
from fame_desktop.ui.qt_main_window import QtMainWindow
from fame_desktop.ui.qt_sandbox import _exit_text

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise")]


def _input(win: QtMainWindow) -> QPlainTextEdit:
    chat_input = win.findChild(QPlainTextEdit, "chatInput")
    assert chat_input is not None
    return chat_input


def _type_into_focus(qtbot: QtBot, text: str) -> None:
    """Type where the keyboard focus is, as a user would without clicking anywhere first."""
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None, timeout=5_000)
    focus = QApplication.focusWidget()
    assert focus is not None
    qtbot.keyClicks(focus, text)


def test_keys_typed_into_a_fresh_window_and_after_an_answer_land_in_the_chat_input(
    qtbot: QtBot, window: QtMainWindow
) -> None:
    window.activateWindow()
    chat_input = _input(window)
    _type_into_focus(qtbot, "what is 2 + 3")
    assert chat_input.toPlainText() == "what is 2 + 3"
    answers: list[dict[str, Any]] = []
    window.chat.answered.connect(answers.append)
    # Send by clicking the button: the click moves the focus to it, the answer brings it back.
    send = window.chat.send_button
    send.setFocus()
    send.click()
    qtbot.waitUntil(lambda: bool(answers) and not window.chat.busy, timeout=30_000)
    assert chat_input.toPlainText() == ""
    _type_into_focus(qtbot, "and 4 + 4")
    assert chat_input.toPlainText() == "and 4 + 4"
    # ... but an answer does not pull the cursor out of another field the user is typing in.
    search = window.findChild(QLineEdit, "conversationSearch")
    assert search is not None
    window.chat.send()
    search.setFocus()
    qtbot.keyClicks(search, "2 +")
    qtbot.waitUntil(lambda: len(answers) == 2 and not window.chat.busy, timeout=30_000)
    assert QApplication.focusWidget() is search


def test_help_menu_lists_the_window_shortcuts_and_about_shows_the_version(
    qtbot: QtBot, window: QtMainWindow, fame_app: App
) -> None:
    menu = window.menuBar().findChild(QMenu, "helpMenu")
    assert menu is not None
    assert menu in [a.menu() for a in window.menuBar().actions()]
    assert [a.text() for a in menu.actions()] == ["Keyboard shortcuts", "About FAME", "First-run assistant…"]
    menu.actions()[0].trigger()
    shortcuts = window.findChild(QtShortcutsDialog, "shortcutsDialog")
    assert shortcuts is not None and shortcuts.isVisible()
    rows = dict(shortcuts.rows())
    assert "Enter" in rows["Send"].split(", "), rows
    assert "Esc" in rows["Stop"].split(", "), rows
    assert rows["Settings"] == "Ctrl+,", rows
    # Read from the window, so a shortcut added to it shows up without editing the list.
    assert rows["Show the audit log"] == "Ctrl+Shift+A" and rows["New conversation"] == "Ctrl+N", rows
    shortcuts.close()
    menu.actions()[1].trigger()
    about = window.findChild(QtAboutDialog, "aboutDialog")
    assert about is not None and about.isVisible()
    text = about.text.text()
    assert f"FAME Desktop {__version__}" in text and str(fame_app.paths.root) in text
    assert "licence" in text.lower()
    about.close()


def test_run_status_never_says_exit_code_none() -> None:
    assert _exit_text({"status": "ok", "exit_code": 0}) == "exit code 0"
    assert _exit_text({"status": "timeout", "exit_code": None, "timed_out": True}) == "timed out"
    assert _exit_text({"status": "killed", "exit_code": None}) == "killed"
    assert _exit_text({"status": "unavailable"}) == "sandbox unavailable"
    assert _exit_text({"status": "error", "exit_code": None}) == "no exit code"


@pytest.mark.docker
def test_a_code_answer_shows_no_internal_test_report_line(
    qtbot: QtBot, window: QtMainWindow, fame_app: App
) -> None:
    answers: list[dict[str, Any]] = []
    window.chat.answered.connect(answers.append)
    chat_input = _input(window)
    chat_input.setFocus()
    qtbot.keyClicks(chat_input, "Write a Python function to reverse a string")
    window.chat.send()
    qtbot.waitUntil(lambda: bool(answers) and not window.chat.busy, timeout=90_000)
    output = window.findChild(QPlainTextEdit, "sandboxOutput")
    assert output is not None
    qtbot.waitUntil(
        lambda: (
            window.sandbox.current is not None
            and window.sandbox.runs[window.sandbox.current].report is not None
        ),
        timeout=10_000,
    )
    window.sandbox.flush()
    shown = output.toPlainText()
    assert "PASS test_" in shown and MARKER not in shown, shown[-500:]
    # The answer (what the API and the CLI return) keeps the output but not the internal line.
    answer = json.dumps(answers[-1])
    assert "tests passed in the sandbox" in answer or "passed" in answer
    assert "PASS test_" in answer and MARKER not in answer, answer[-800:]


def test_the_report_line_is_hidden_even_when_split_between_chunks() -> None:
    from fame_desktop.orchestrator.codegen.harness import ReportLineFilter

    line = f"{MARKER}:abc:1:0:1:-:0:\n"
    for cut in range(len(line)):
        f = ReportLineFilter()
        shown = f.feed("PASS test_a\n" + line[:cut]) + f.feed(line[cut:] + "after\n") + f.finish()
        assert shown == "PASS test_a\nafter\n", cut
    f = ReportLineFilter()
    assert f.feed("partial") == "partial" and f.finish() == ""
