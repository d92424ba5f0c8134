"""The status bar shows the sandbox's warm pool filling, up to the burst it remembers from an
earlier session (real window, real engine)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from fame_desktop.app import build_app
from fame_desktop.orchestrator.settings import SettingsStore
from fame_desktop.ui.qt_main_window import QtMainWindow
from tests.ui.conftest import run_async, screenshot

pytestmark = [
    pytest.mark.gui,
    pytest.mark.docker,
    pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise"),
]


@pytest.fixture
def remembering_window(
    tmp_path: Path, qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot
) -> Iterator[QtMainWindow]:
    """A window over a data dir whose pool (size 1) learned a burst of 3 runs yesterday."""
    data = tmp_path / "data"
    SettingsStore(data / "settings.json").update({"sandbox.pool_size": 1}, admin=True)
    (data / "sandbox_pool.json").write_text(json.dumps({"burst": 3, "seen": time.time() - 86_400}))
    app = build_app(data)
    app.bus.bind_loop(qt_loop)
    window = QtMainWindow(app, qt_loop)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()
    run_async(qtbot, qt_loop, app.aclose(), timeout=60_000)


def test_the_status_bar_shows_the_pool_filling_to_the_remembered_burst(
    remembering_window: QtMainWindow, qtbot: QtBot
) -> None:
    label = remembering_window.status_bar.docker
    qtbot.waitUntil(lambda: label.text().startswith("Sandbox: docker · "), timeout=60_000)
    assert "/4 warm · " in label.text(), label.text()  # the burst of 3 and one to spare
    qtbot.waitUntil(lambda: label.text().startswith("Sandbox: docker · 4/4 warm · "), timeout=60_000)
    assert "Warm pool: 4 of 4" in label.toolTip() and "the setting is 1" in label.toolTip()
    screenshot(remembering_window, "pool_status_1280x800")
