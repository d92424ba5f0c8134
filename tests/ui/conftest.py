"""Fixtures for driving the real window: a qasync loop inside pytest-qt, a real app, the window.

The window runs against the real Brain over a fresh data dir on Qt's offscreen platform unless
``QT_QPA_PLATFORM`` says otherwise (``QT_QPA_PLATFORM=xcb DISPLAY=:99`` runs them on Xvfb).
Screenshots on the real X server are taken by a separate process (``test_window_screens.py``).
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from fame_desktop.app import App, build_app
from fame_desktop.ui.qt_loop import QtEventLoop, QtGarbageCollector
from fame_desktop.ui.qt_main_window import QtMainWindow

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"


def pytest_configure(config: pytest.Config) -> None:
    """Pick the Qt platform before pytest-qt creates the QApplication."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder drives the real window."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.gui)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Once a window test and everything it held are gone, collect their reference cycles here.

    Otherwise the qasync loop, its timers and the window's wrappers are freed by whatever
    collection runs next, possibly in a later test's worker thread (Qt then warns "Timers cannot
    be stopped from another thread", or crashes).
    """
    yield
    gc.collect()


@pytest.fixture
def qt_loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync loop driven by the Qt event loop pytest-qt spins (``qtbot.wait*``)."""
    loop = QtEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    collector = QtGarbageCollector()
    yield loop
    collector.stop()
    for task in asyncio.all_tasks(loop):
        task.cancel()
    # Let the cancelled tasks run their finally blocks before the loop goes away.
    qapp.processEvents()
    # Never loop.stop(): it would call QApplication.exit() outside exec() and leave Qt's quit flag
    # set (ENVIRONMENT.md). Mark the loop as no longer running instead, then close it.
    qapp.aboutToQuit.disconnect(loop._after_run_forever)
    loop._after_run_forever()
    loop._QEventLoop__is_running = False  # type: ignore[attr-defined]
    asyncio.events._set_running_loop(None)
    loop.close()
    asyncio.set_event_loop(None)


def run_async(qtbot: QtBot, loop: asyncio.AbstractEventLoop, coro: object, timeout: int = 10_000) -> object:
    """Run a coroutine on the qasync loop from a sync test and return its result."""
    task = loop.create_task(coro)  # type: ignore[arg-type]
    qtbot.waitUntil(task.done, timeout=timeout)
    return task.result()


@pytest.fixture
def fame_app(tmp_path: Path, qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot) -> Iterator[App]:
    """The real services and Brain over a fresh data dir, delivering events on the qasync loop."""
    app = build_app(tmp_path / "data")
    app.bus.bind_loop(qt_loop)
    yield app
    run_async(qtbot, qt_loop, app.aclose())


@pytest.fixture
def window(fame_app: App, qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot) -> Iterator[QtMainWindow]:
    """The main window, shown, with its plugins loaded."""
    win = QtMainWindow(fame_app, qt_loop)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: not win.workers.active("startup"), timeout=15_000)
    yield win
    win.close()
    # Collect the closed window's Python wrappers here, on the Qt thread: a garbage collection
    # that happens to run in a worker thread would destroy QObjects from the wrong thread.
    qtbot.wait(10)
    gc.collect()


def screenshot(widget: object, name: str) -> Path:
    """Save ``widget.grab()`` as ``artifacts/screenshots/<name>.png`` (platform in the name)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    path = SCREENSHOTS / f"{name}{'' if platform == 'xcb' else '-' + platform}.png"
    assert widget.grab().save(str(path)), f"could not save {path}"  # type: ignore[attr-defined]
    return path
