"""The window's status bar names the swarm backend and its node count (real window, real engine
in swarm mode)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from fame_desktop.app import build_app
from fame_desktop.orchestrator.settings import SettingsStore
from fame_desktop.ui.qt_main_window import QtMainWindow
from tests.swarm.conftest import swarm_engine  # noqa: F401 - the fixture, shared with tests/swarm
from tests.ui.conftest import run_async

pytestmark = [pytest.mark.docker, pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise")]


@pytest.fixture
def swarm_window(
    tmp_path: Path,
    qt_loop: asyncio.AbstractEventLoop,
    qtbot: QtBot,
    swarm_engine: None,  # noqa: F811
) -> Iterator[QtMainWindow]:
    """The window over an app whose sandbox backend is the swarm."""
    data = tmp_path / "data"
    SettingsStore(data / "settings.json").update({"sandbox.backend": "swarm"}, admin=True)
    app = build_app(data)
    app.bus.bind_loop(qt_loop)
    window = QtMainWindow(app, qt_loop)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()
    run_async(qtbot, qt_loop, app.aclose(), timeout=60_000)


def test_status_bar_says_swarm_and_nodes(swarm_window: QtMainWindow, qtbot: QtBot) -> None:
    label = swarm_window.status_bar.docker
    assert label.objectName() == "statusDocker"
    qtbot.waitUntil(lambda: label.text().startswith("Sandbox: swarm, "), timeout=60_000)
    text = label.text()
    nodes = int(text.split("swarm, ")[1].split()[0])
    assert nodes >= 1 and ("node ·" in text or "nodes ·" in text), text
