"""A running window follows settings another FAME process changes on the same data dir."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from fame_desktop.app import App
from fame_desktop.orchestrator.events import SettingsChanged
from fame_desktop.ui.qt_main_window import QtMainWindow

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise")]

FAME = str(Path(sys.executable).with_name("fame"))


def test_the_cli_turns_the_network_on_and_the_status_bar_shows_it(
    qtbot: QtBot, window: QtMainWindow, fame_app: App
) -> None:
    key = fame_app.safety.create_first_key(actor="test")
    label = window.findChild(QLabel, "statusNetwork")
    assert label is not None
    qtbot.waitUntil(lambda: label.text() == "Network: off", timeout=10_000)
    seen: list[SettingsChanged] = []
    fame_app.bus.subscribe(SettingsChanged, seen.append)
    env = {k: v for k, v in os.environ.items() if k != "FAME_ADMIN_KEY"}
    # Not subprocess.run: the window's loop keeps running while the CLI works, as it would.
    cli = subprocess.Popen(
        [FAME, "--data-dir", str(fame_app.paths.root), "--admin-key", key, "admin", "network", "on"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    qtbot.waitUntil(lambda: cli.poll() is not None, timeout=120_000)
    written = time.monotonic()  # the CLI saved the file before it exited
    _out, err = cli.communicate()
    assert cli.returncode == 0, err
    qtbot.waitUntil(lambda: label.text() == "Network: on", timeout=3_000)
    latency = time.monotonic() - written
    print(f"\nthe window showed the CLI's change {latency * 1000:.0f} ms after the CLI exited")
    assert latency < 1.0
    assert fame_app.settings.settings.network.allow_network is True
    assert [e.changes for e in seen] == [{"network.allow_network": True}]
