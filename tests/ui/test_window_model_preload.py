"""The installed local model loads after the first paint, in the background, shown in the status bar,
so the first answer does not pay for the check and the trial load (issue 13's leftover, issue 15).

Real llama.cpp on the tiny GGUF model the tests write, the real Brain and the real window.
"""

from __future__ import annotations

import asyncio
import gc
import shutil
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from fame_desktop.app import App
from fame_desktop.ui.qt_main_window import QtMainWindow

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise")]


def _install(app: App, source: Path | None, text: str = "") -> None:
    folder = app.services.paths.llm_models
    folder.mkdir(parents=True, exist_ok=True)
    if source is not None:
        shutil.copy(source, folder / "tiny.gguf")
    else:
        (folder / "tiny.gguf").write_text(text, encoding="utf-8")
    app.settings.update({"llm.local_model": "tiny.gguf", "llm.threads": 1}, admin=False)


def _open(qtbot: QtBot, app: App, loop: asyncio.AbstractEventLoop) -> tuple[QtMainWindow, list[str]]:
    """The window, and every text its status bar's model label showed while it started."""
    win = QtMainWindow(app, loop)
    qtbot.addWidget(win)
    shown: list[str] = []
    label = win.findChild(QLabel, "statusModel")
    assert label is not None
    win.show()
    qtbot.waitUntil(
        lambda: (shown.append(label.text()), not win.workers.active("startup"))[1], timeout=60_000
    )
    shown.append(label.text())
    return win, shown


def _close(qtbot: QtBot, win: QtMainWindow) -> None:
    win.close()
    qtbot.wait(10)
    gc.collect()


def test_the_installed_model_is_loaded_after_the_first_paint(
    qtbot: QtBot, fame_app: App, qt_loop: asyncio.AbstractEventLoop, tiny_gguf_path: Path
) -> None:
    _install(fame_app, tiny_gguf_path)
    assert fame_app.services.llm.local_models.loaded() == []
    win, shown = _open(qtbot, fame_app, qt_loop)
    try:
        assert win.first_paint.painted_at is not None
        # Loaded before any question, and the status bar said so while it happened.
        assert [m.spec.path.name for m in fame_app.services.llm.local_models.loaded()] == ["tiny.gguf"]
        assert any("loading…" in text for text in shown), shown
        qtbot.waitUntil(lambda: "(loaded)" in win.status_bar.model.toolTip(), timeout=10_000)
        assert "loading" not in win.status_bar.model.text()
    finally:
        _close(qtbot, win)


def test_a_model_that_cannot_load_is_reported_and_the_window_goes_on(
    qtbot: QtBot, fame_app: App, qt_loop: asyncio.AbstractEventLoop
) -> None:
    _install(fame_app, None, "just some text, not a model\n" * 100)
    win, _shown = _open(qtbot, fame_app, qt_loop)
    try:
        qtbot.waitUntil(lambda: "not loaded" in win.status_bar.model.text(), timeout=10_000)
        assert "not a GGUF model" in win.status_bar.model.toolTip()
        assert fame_app.services.llm.local_models.loaded() == []
        qtbot.waitUntil(lambda: win.status_bar.startup.text() == "Ready", timeout=10_000)
        answers: list[dict[str, object]] = []
        win.chat.answered.connect(answers.append)
        win.chat.ask("what is 2 + 3")  # a plugin's answer needs no model
        qtbot.waitUntil(lambda: bool(answers) and not win.chat.busy, timeout=30_000)
        assert "5" in win.chat.plain_text()
    finally:
        _close(qtbot, win)
