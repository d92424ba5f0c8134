"""The settings dialog as an admin uses it: unlock, toggle the network, validation, theme, lock."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QLineEdit, QToolButton
from pytestqt.qtbot import QtBot

from fame_desktop.app import App
from fame_desktop.ui.qt_main_window import QtMainWindow
from fame_desktop.ui.qt_settings import QtSettingsDialog

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise")]


def _open(qtbot: QtBot, win: QtMainWindow) -> QtSettingsDialog:
    button = win.findChild(QToolButton, "settingsButton")
    assert button is not None
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = win.findChild(QtSettingsDialog, "settingsDialog")
    assert dialog is not None and dialog.isVisible()
    return dialog


def _error(dialog: QtSettingsDialog) -> str:
    label = dialog.findChild(QLabel, "settingsError")
    assert label is not None
    return label.text()


def test_admin_unlocks_and_turns_the_network_on(qtbot: QtBot, window: QtMainWindow, fame_app: App) -> None:
    key = fame_app.safety.create_first_key()
    dialog = _open(qtbot, window)
    toggle = dialog.findChild(QCheckBox, "networkToggle")
    key_input = dialog.findChild(QLineEdit, "adminKeyInput")
    assert toggle is not None and key_input is not None
    assert not toggle.isEnabled()  # locked: admin settings are greyed out

    # A wrong key is refused, shown as an error, and audited.
    qtbot.keyClicks(key_input, "not-the-key")
    qtbot.keyClick(key_input, Qt.Key.Key_Return)
    assert "Wrong admin key" in _error(dialog)
    assert not fame_app.safety.unlocked
    assert fame_app.audit.count(kinds=["admin_failed"]) == 1

    qtbot.keyClicks(key_input, key)
    qtbot.keyClick(key_input, Qt.Key.Key_Return)
    assert fame_app.safety.unlocked
    assert key_input.text() == ""  # the key does not linger in the field
    assert toggle.isEnabled()
    qtbot.waitUntil(lambda: window.status_bar.admin.text() == "Admin: unlocked")

    toggle.click()
    assert toggle.isChecked()
    assert fame_app.settings.get("network.allow_network") is True
    changes = fame_app.audit.query(limit=5, kinds=["settings_changed"])
    assert changes and "network.allow_network" in changes[0].summary
    qtbot.waitUntil(lambda: window.status_bar.network.text() == "Network: on")

    # Unlocked stays unlocked after the dialog closes, until Lock.
    dialog.close()
    assert fame_app.safety.unlocked
    dialog = _open(qtbot, window)
    qtbot.mouseClick(dialog.lock_button, Qt.MouseButton.LeftButton)
    assert not fame_app.safety.unlocked and not toggle.isEnabled()


def test_invalid_value_is_refused_with_a_clear_message(
    qtbot: QtBot, window: QtMainWindow, fame_app: App
) -> None:
    fame_app.safety.unlock(fame_app.safety.create_first_key())
    dialog = _open(qtbot, window)
    memory = dialog.findChild(QLineEdit, "setting_sandbox_memory_limit")
    assert memory is not None and memory.isEnabled()
    memory.setText("lots")
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    assert "memory_limit" in _error(dialog)
    assert fame_app.settings.get("sandbox.memory_limit") == "512m"
    memory.setText("256m")
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    assert "Saved 1 change" in _error(dialog)
    assert fame_app.settings.get("sandbox.memory_limit") == "256m"
    assert fame_app.audit.count(kinds=["settings_changed"]) == 1


def test_admin_setting_needs_unlock_and_theme_applies(
    qtbot: QtBot, window: QtMainWindow, fame_app: App
) -> None:
    fame_app.safety.create_first_key()
    dialog = _open(qtbot, window)
    # Not admin: switching the theme (a user setting) works and is applied at once.
    theme = dialog.findChild(QComboBox, "setting_ui_theme")
    assert theme is not None and theme.isEnabled()
    theme.setCurrentText("dark")
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    assert fame_app.settings.get("ui.theme") == "dark"
    qtbot.waitUntil(lambda: window.palette().window().color().lightness() < 128)
    theme.setCurrentText("light")
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.palette().window().color().lightness() > 128)
    # The network toggle is refused while locked, and says how to fix it.
    fame_app.safety.unlock  # noqa: B018 - nothing unlocked here
    dialog._on_network_toggled(True)
    assert fame_app.settings.get("network.allow_network") is False
    assert "admin key" in _error(dialog) and "Unlock admin" in _error(dialog)
