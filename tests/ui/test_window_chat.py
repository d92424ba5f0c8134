"""The chat as a user drives it: type, send, read the answer, stop a slow query, reopen a conversation."""

from __future__ import annotations

from pathlib import Path

import pytest
from plugin_trust import approve_source
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPlainTextEdit, QPushButton, QTextBrowser, QTreeWidget
from pytestqt.qtbot import QtBot

from fame_desktop.app import App
from fame_desktop.orchestrator.events import VoiceStateChanged
from fame_desktop.ui.qt_main_window import QtMainWindow

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise")]

SLOW_PLUGIN = '''
"""A plugin that takes a long time to answer (tests the Stop button)."""
import asyncio

PLUGIN = {
    "name": "slow_thinker",
    "version": "1.0.0",
    "description": "Answers very slowly.",
    "intents": {"evolution": ["ponder slowly", "slowpoke ponder"]},
    "keywords": {"evolution": ["slowpoke", "ponder slowly"]},
    "timeout_seconds": 120,
    "priority": 100,
}


async def handle(request):
    await asyncio.sleep(60)
    return {"response": "done pondering"}
'''


def _type_and_send(qtbot: QtBot, win: QtMainWindow, text: str) -> None:
    chat_input = win.findChild(QPlainTextEdit, "chatInput")
    assert chat_input is not None
    chat_input.setFocus()
    qtbot.keyClicks(chat_input, text)
    send = win.findChild(QPushButton, "sendButton")
    assert send is not None and send.isEnabled()
    qtbot.mouseClick(send, Qt.MouseButton.LeftButton)


def _chat_text(win: QtMainWindow) -> str:
    view = win.findChild(QTextBrowser, "chatView")
    assert view is not None
    return view.toPlainText()


def test_typed_question_is_answered_and_audited(qtbot: QtBot, window: QtMainWindow, fame_app: App) -> None:
    rows_before = window.audit.model.rowCount()
    _type_and_send(qtbot, window, "what is 2 + 2")
    qtbot.waitUntil(
        lambda: (not window.chat.busy and "= 4" in _chat_text(window)) or " 4" in _chat_text(window)
    )
    qtbot.waitUntil(lambda: not window.chat.busy)
    text = _chat_text(window)
    assert "what is 2 + 2" in text
    assert "4" in text.split("what is 2 + 2", 1)[1]
    assert "calculate" in text and "calculator" in text  # intent and plugin shown discreetly
    # The audit table shows the query, its routing and its answer without a reload.
    qtbot.waitUntil(lambda: window.audit.model.rowCount() >= rows_before + 3)
    kinds = {window.audit.model.entry(r).kind for r in range(window.audit.model.rowCount())}
    assert {"query", "routing", "query_completed"} <= kinds
    # The input is empty again and Up brings the question back (history).
    chat_input = window.chat.input
    assert chat_input.toPlainText() == ""
    qtbot.keyClick(chat_input, Qt.Key.Key_Up)
    assert chat_input.toPlainText() == "what is 2 + 2"
    qtbot.keyClick(chat_input, Qt.Key.Key_Down)
    assert chat_input.toPlainText() == ""


def test_shift_enter_adds_a_line_and_enter_sends(qtbot: QtBot, window: QtMainWindow) -> None:
    chat_input = window.chat.input
    chat_input.setFocus()
    qtbot.keyClicks(chat_input, "what is 6 * 7")
    qtbot.keyClick(chat_input, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert chat_input.toPlainText() == "what is 6 * 7\n"
    qtbot.keyClick(chat_input, Qt.Key.Key_Backspace)
    qtbot.keyClick(chat_input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "42" in _chat_text(window) and not window.chat.busy)


def test_error_is_shown_with_its_fix(qtbot: QtBot, window: QtMainWindow) -> None:
    _type_and_send(qtbot, window, "what is the bitcoin price today")
    qtbot.waitUntil(lambda: not window.chat.busy and "Network is off" in _chat_text(window))
    text = _chat_text(window)
    assert "needs the network" in text
    assert "Settings" in text  # the fix: an admin can enable it in Settings


def test_stop_cancels_a_slow_query_and_the_window_stays_usable(
    qtbot: QtBot, window: QtMainWindow, fame_app: App
) -> None:
    # A new plugin file appears in the plugins pane without a restart.
    approve_source(fame_app.paths.root, SLOW_PLUGIN)
    (fame_app.paths.plugins / "slow_thinker.py").write_text(SLOW_PLUGIN, encoding="utf-8")
    plugin_list = window.findChild(QTreeWidget, "pluginList")
    assert plugin_list is not None
    qtbot.waitUntil(lambda: "slow_thinker" in window.plugins.names(), timeout=8000)
    assert fame_app.services.plugins.get("slow_thinker").status == "loaded"  # type: ignore[union-attr]

    # (A phrase the learned router sends to the slow plugin, not one it asks about.)
    _type_and_send(qtbot, window, "slowpoke ponder slowly")
    qtbot.waitUntil(lambda: window.chat.busy and window.chat.stop_button.isEnabled())
    qtbot.wait(300)
    assert window.chat.progress.isVisible()
    qtbot.mouseClick(window.chat.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.chat.busy)
    assert "cancelled" in _chat_text(window).lower()
    assert window.chat.send_button.isEnabled() and not window.chat.stop_button.isEnabled()
    assert fame_app.audit.count(kinds=["query_cancelled"]) == 1

    # Still usable: the next question is answered.
    _type_and_send(qtbot, window, "what is 3 + 4")
    qtbot.waitUntil(lambda: not window.chat.busy and "7" in _chat_text(window).split("what is 3 + 4")[-1])


def test_escape_stops_a_running_query(qtbot: QtBot, window: QtMainWindow, fame_app: App) -> None:
    approve_source(fame_app.paths.root, SLOW_PLUGIN)
    (fame_app.paths.plugins / "slow_thinker.py").write_text(SLOW_PLUGIN, encoding="utf-8")
    qtbot.waitUntil(lambda: "slow_thinker" in window.plugins.names(), timeout=8000)
    window.chat.ask("slowpoke ponder", intent="evolution")
    qtbot.waitUntil(lambda: window.chat.busy)
    window.activateWindow()
    qtbot.keyClick(window.chat.input, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.chat.busy)
    assert "cancelled" in _chat_text(window).lower()


def test_conversations_persist_reopen_search_export_delete(
    qtbot: QtBot, window: QtMainWindow, tmp_path: Path
) -> None:
    _type_and_send(qtbot, window, "what is 10 - 3")
    qtbot.waitUntil(lambda: not window.chat.busy and "7" in _chat_text(window).split("10 - 3")[-1])
    panel = window.conversations
    qtbot.waitUntil(lambda: panel.list.count() == 1)
    # A new conversation clears the view; reopening the old one brings its messages back.
    window.chat.open_conversation(None)
    assert "10 - 3" not in _chat_text(window)
    panel.list.setCurrentRow(0)
    panel.opened.emit(panel.selected_id())
    assert "10 - 3" in _chat_text(window) and "7" in _chat_text(window)
    panel.search.setText("nothing like this")
    qtbot.waitUntil(lambda: panel.list.count() == 0)
    panel.search.setText("10 - 3")
    qtbot.waitUntil(lambda: panel.list.count() == 1)
    panel.list.setCurrentRow(0)
    out = tmp_path / "conv.md"
    panel.export_to(int(panel.selected_id() or 0), out)
    exported = out.read_text(encoding="utf-8")
    assert "## You" in exported and "what is 10 - 3" in exported and "## FAME" in exported
    panel.delete_selected()
    assert panel.list.count() == 0
    assert window.store.conversations() == []


@pytest.mark.docker
def test_code_answer_runs_in_the_real_sandbox_and_the_panes_follow(
    qtbot: QtBot, window: QtMainWindow, fame_app: App
) -> None:
    _type_and_send(qtbot, window, "Write a Python function to reverse a string")
    qtbot.waitUntil(lambda: "def reverse_string" in _chat_text(window), timeout=90_000)
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=10_000)
    text = _chat_text(window)
    assert "def reverse_string" in text
    assert "tests passed in the sandbox" in text, text[-800:]
    # The sandbox pane streamed the real run: one PASS line per test, then the final status.
    output = window.findChild(QPlainTextEdit, "sandboxOutput")
    assert output is not None
    qtbot.waitUntil(lambda: "PASS test_word" in output.toPlainText(), timeout=10_000)
    status = window.sandbox.status.text()
    assert status.startswith("ok") and "exit code 0" in status and "docker" in status, status
    # ... and the audit table shows the sandbox run next to the query.
    qtbot.waitUntil(
        lambda: any(
            window.audit.model.entry(r).kind == "sandbox_run" for r in range(window.audit.model.rowCount())
        ),
        timeout=10_000,
    )


def test_a_live_conversation_looks_exactly_as_it_does_when_reopened(
    qtbot: QtBot, window: QtMainWindow
) -> None:
    # Messages are appended one by one while chatting; taking a question back or reopening renders
    # the conversation in one go. Both must look the same, down to the pixel (margins, code, errors).
    view = window.findChild(QTextBrowser, "chatView")
    assert view is not None
    for question, shown in (
        ("what is 6 * 7", "42"),
        ("write a python function to reverse a string", "Copy"),
        ("What is BTC price today?", "Network"),
    ):
        _type_and_send(qtbot, window, question)
        qtbot.waitUntil(
            lambda shown=shown: not window.chat.busy and shown in _chat_text(window), timeout=60_000
        )
    view.verticalScrollBar().setValue(0)
    live_text, live_image = view.toPlainText(), view.viewport().grab().toImage()
    window.chat._render()  # the conversation as one document
    view.verticalScrollBar().setValue(0)
    assert view.toPlainText() == live_text
    assert view.viewport().grab().toImage() == live_image


def test_a_revised_spoken_question_replaces_its_exchange_in_the_view_and_the_store(
    qtbot: QtBot, window: QtMainWindow, fame_app: App
) -> None:
    # The voice control's signals stand in for the microphone (its audio path has tests of its
    # own): an early final is asked at once, a longer final of the same listen revises it.
    approve_source(fame_app.paths.root, SLOW_PLUGIN)
    (fame_app.paths.plugins / "slow_thinker.py").write_text(SLOW_PLUGIN, encoding="utf-8")
    qtbot.waitUntil(lambda: "slow_thinker" in window.plugins.names(), timeout=8000)
    control = window.chat.voice_control

    # Answered before the user went on: the question and its answer are replaced.
    fame_app.bus.publish(VoiceStateChanged(state="starting"))
    control.transcribed.emit("what is 6 * 7")
    qtbot.waitUntil(lambda: not window.chat.busy and "= 42" in _chat_text(window))
    control.revised.emit("what is 6 * 7 - 1")
    qtbot.waitUntil(lambda: not window.chat.busy and "= 41" in _chat_text(window))
    text = _chat_text(window)
    assert "= 42" not in text and text.count("You") == 1, text  # (answers read "6 * 7 = 42")
    # Still running when the user went on: cancelled quietly, and its question is gone too.
    fame_app.bus.publish(VoiceStateChanged(state="starting"))
    control.transcribed.emit("slowpoke ponder slowly")
    qtbot.waitUntil(lambda: window.chat.busy and "slowpoke ponder" in _chat_text(window))
    control.revised.emit("what is 5 + 5")
    qtbot.waitUntil(lambda: not window.chat.busy and "= 10" in _chat_text(window))
    text = _chat_text(window)
    assert "slowpoke" not in text and "cancelled" not in text.lower() and "Stopped" not in text, text
    assert text.count("You") == 2, text
    qtbot.waitUntil(lambda: fame_app.audit.count(kinds=["query_cancelled"]) == 1)
    assert window.chat.conversation_id is not None
    stored = [(m.role, m.text) for m in window.store.messages(window.chat.conversation_id)]
    assert [role for role, _ in stored] == ["user", "assistant", "user", "assistant"]
    assert [text for role, text in stored if role == "user"] == ["what is 6 * 7 - 1", "what is 5 + 5"]
    conversation = window.store.get(window.chat.conversation_id)
    assert conversation is not None and conversation.title == "what is 6 * 7 - 1"
