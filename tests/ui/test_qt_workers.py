"""The window's workers: closing the window cancels them and starts no more."""

from __future__ import annotations

import asyncio
import threading

import pytest
from pytestqt.qtbot import QtBot

from fame_desktop.ui.qt_main_window import QtMainWindow
from fame_desktop.ui.qt_workers import WorkerState

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise")]


def test_a_closed_window_starts_no_more_work(
    window: QtMainWindow, qtbot: QtBot, qt_loop: asyncio.AbstractEventLoop
) -> None:
    started = threading.Event()
    running = window.workers.run_blocking(lambda flag: flag.wait(10), name="long", group="test")
    qtbot.waitUntil(lambda: running.state is WorkerState.RUNNING, timeout=5_000)

    window.close()
    # What was running is cancelled (a thread sees its flag)...
    qtbot.waitUntil(lambda: running.state is WorkerState.CANCELLED, timeout=5_000)
    assert running.cancel_flag.is_set()
    # ...and a timer or signal firing after the close (the evolution pane's history reload, say)
    # starts nothing: no task that the closing loop might never run, nothing left half-done.
    late = window.workers.run_blocking(lambda _flag: started.set(), name="late", group="test")
    window.evolution.refresh_history()
    qtbot.wait(200)
    assert late.state is WorkerState.CANCELLED and late.task is None
    assert not started.is_set()
    assert window.workers.active() == []
