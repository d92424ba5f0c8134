"""Routing in the window: "did you mean?" buttons, thumbs, and "wrong plugin?" that teaches the router."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from fame_desktop.app import App, build_app
from fame_desktop.ui.qt_main_window import QtMainWindow

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise", "grabbing the keyboard"),
]


def _ask(qtbot: QtBot, window: QtMainWindow, text: str) -> None:
    shown = len(window.chat.conversation.messages)
    window.chat.input.setPlainText(text)
    qtbot.mouseClick(window.chat.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(window.chat.conversation.messages) >= shown + 2, timeout=60_000)
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=60_000)


def _last_meta(window: QtMainWindow) -> dict[str, object]:
    return window.chat.conversation.messages[-1].meta


def test_did_you_mean_buttons_answer_with_the_choice(qtbot: QtBot, window: QtMainWindow) -> None:
    _ask(qtbot, window, "search sorting algorithms")
    bar = window.chat.route_feedback.bar
    qtbot.waitUntil(bar.isVisible, timeout=20_000)
    buttons = bar.findChildren(QPushButton, "clarifyOption")
    assert sorted(b.text() for b in buttons) == ["Search the web", "Write code"]
    assert "Did you mean" in window.chat.plain_text() or "not sure" in window.chat.plain_text()
    web = next(b for b in buttons if b.text() == "Search the web")
    messages_before = len(window.chat.conversation.messages)
    qtbot.mouseClick(web, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(window.chat.conversation.messages) > messages_before, timeout=60_000)
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=60_000)
    assert not bar.isVisible()
    assert _last_meta(window)["intent"] == "web_search"
    # No second copy of the question: the answer follows the clarifying one.
    roles = [m.role for m in window.chat.conversation.messages]
    assert roles.count("user") == 1
    # The choice is remembered for the conversation: asking again answers at once.
    _ask(qtbot, window, "search sorting algorithms")
    assert _last_meta(window)["intent"] == "web_search"
    assert not bar.isVisible()


def test_wrong_plugin_correction_reanswers_and_teaches_the_router(
    qtbot: QtBot, window: QtMainWindow, fame_app: App, qt_loop: asyncio.AbstractEventLoop
) -> None:
    query = "tell me about microservices"
    _ask(qtbot, window, query)
    assert _last_meta(window)["intent"] == "architecture_design"
    index = len(window.chat.conversation.messages) - 1
    qtbot.waitUntil(lambda: "wrong plugin?" in window.chat.plain_text(), timeout=20_000)
    # Thumbs down first (recorded, nothing else changes), then "wrong plugin?" -> Search the web.
    window.chat.view.anchorClicked.emit(QUrl(f"fame-feedback:down/{index}"))
    qtbot.waitUntil(lambda: "feedback noted" in window.chat.status.text(), timeout=20_000)
    window.chat.view.anchorClicked.emit(QUrl(f"fame-route:{index}"))
    menu = window.chat.route_feedback.route_menu
    assert menu is not None
    action = next(a for a in menu.actions() if a.data() == "web_search")
    action.trigger()
    qtbot.waitUntil(lambda: _last_meta(window).get("intent") == "web_search", timeout=60_000)
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=60_000)
    feedback = fame_app.brain.routing_feedback.all()
    assert [(f.rating, f.correct) for f in feedback] == [(-1, None), (None, "web_search")]
    # The next time, the same question goes to web search without asking.
    _ask(qtbot, window, query)
    assert _last_meta(window)["intent"] == "web_search"
    audit_kinds = [e.kind for e in fame_app.audit.query(limit=40)]
    assert audit_kinds.count("routing_feedback") == 2

    # A restart (a new app over the same data dir) keeps what was learned.
    async def after_restart() -> str:
        again = build_app(fame_app.paths.root)
        try:
            return str((await again.brain.handle_query({"text": query}))["intent"])
        finally:
            await again.aclose()

    task = qt_loop.create_task(after_restart())
    qtbot.waitUntil(task.done, timeout=60_000)
    assert task.result() == "web_search"
