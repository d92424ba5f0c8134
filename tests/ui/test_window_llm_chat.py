"""The chat pane with a local model: the answer streams in token by token; Esc stops it and keeps it.

Real llama.cpp on the tiny GGUF model the tests write, the real Brain and the real window (on Xvfb
with ``QT_QPA_PLATFORM=xcb DISPLAY=:99``).
"""

from __future__ import annotations

import itertools
import shutil
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from fame_desktop.app import App
from fame_desktop.orchestrator.conversation_model import STOPPED
from fame_desktop.orchestrator.llm import LlmToken
from fame_desktop.ui.qt_main_window import QtMainWindow

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise")]


@pytest.fixture
def with_model(fame_app: App, tiny_gguf_path: Path) -> App:
    folder = fame_app.services.paths.llm_models
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(tiny_gguf_path, folder / "tiny.gguf")
    # One thread: the window test shares two cores with the model.
    fame_app.settings.update({"llm.local_model": "tiny.gguf", "llm.threads": 1}, admin=False)
    return fame_app


def test_the_answer_streams_into_the_chat_pane(qtbot: QtBot, with_model: App, window: QtMainWindow) -> None:
    drafts: list[str] = []
    with_model.bus.subscribe(LlmToken, lambda _e: drafts.append(window.chat.draft_text()))
    window.chat.ask("tell me a joke", intent="chat")
    qtbot.waitUntil(lambda: len(drafts) >= 5, timeout=20_000)
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=60_000)
    # The pane showed the answer growing piece by piece while the model wrote it ...
    grown = [d for d in drafts if d]
    assert len(set(grown)) >= 3 and all(b.startswith(a) for a, b in itertools.pairwise(grown))
    # ... then the finished answer (its Markdown rendered off the Qt thread) replaced the draft,
    # with the model named under it.
    qtbot.waitUntil(lambda: window.chat.draft_text() == "", timeout=10_000)
    text = window.chat.plain_text()
    assert "llama.cpp · tiny" in text and "writing…" not in text
    answer = window.chat.conversation.messages[-1]
    assert answer.role == "assistant" and answer.meta["model"] == "llama.cpp · tiny"


def test_esc_stops_the_answer_and_keeps_it_marked_stopped(
    qtbot: QtBot, with_model: App, window: QtMainWindow
) -> None:
    seen: list[str] = []
    with_model.bus.subscribe(LlmToken, lambda e: seen.append(e.text))
    window.chat.ask("tell me a joke", intent="chat")
    qtbot.waitUntil(lambda: len(seen) >= 3, timeout=20_000)
    window.chat.input.setFocus()
    idle: list[float] = []
    window.chat.busyChanged.connect(lambda busy: idle.append(time.perf_counter()) if not busy else None)
    pressed = time.perf_counter()
    qtbot.keyClick(window.chat.input, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: bool(idle), timeout=5_000)
    stopped_ms = (idle[0] - pressed) * 1000
    print(f"Esc to stopped: {stopped_ms:.1f} ms")
    assert stopped_ms < 1000
    qtbot.waitUntil(lambda: STOPPED in window.chat.plain_text(), timeout=5_000)
    messages = window.chat.conversation.messages
    answer = messages[-2]
    assert answer.role == "assistant" and answer.meta["stopped"] is True and answer.text
    assert "".join(seen).startswith(answer.text)
    text = window.chat.plain_text()
    assert "⏹ stopped" in text and "llama.cpp · tiny" in text
