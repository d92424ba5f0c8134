"""Settings → LLM as a user sets up an endpoint: a preset, the API key, Test connection."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPushButton, QToolButton
from pytestqt.qtbot import QtBot

from fame_desktop.app import App
from fame_desktop.orchestrator.llm import LLM_API_KEY
from fame_desktop.ui.qt_main_window import QtMainWindow
from fame_desktop.ui.qt_settings import QtSettingsDialog

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))
from openai_fake import FakeOpenAI, Reply

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise")]

KEY = "sk-ant-api03-UiTypedSecretKey0123456789abcd"


def _open(qtbot: QtBot, win: QtMainWindow) -> QtSettingsDialog:
    button = win.findChild(QToolButton, "settingsButton")
    assert button is not None
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = win.findChild(QtSettingsDialog, "settingsDialog")
    assert dialog is not None and dialog.isVisible()
    return dialog


def test_a_preset_a_key_and_test_connection(
    qtbot: QtBot, window: QtMainWindow, fame_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    dialog = _open(qtbot, window)
    preset = dialog.findChild(QComboBox, "llmPresetCombo")
    base_url = dialog.findChild(QLineEdit, "setting_llm_base_url")
    model = dialog.findChild(QLineEdit, "setting_llm_model")
    key_input = dialog.findChild(QLineEdit, "llmApiKeyInput")
    save = dialog.findChild(QPushButton, "llmSaveKeyButton")
    test = dialog.findChild(QPushButton, "llmTestButton")
    result = dialog.findChild(QLabel, "llmTestResult")
    assert preset and base_url and model and key_input and save and test and result
    assert preset.currentText() == "Custom" and key_input.echoMode() == QLineEdit.EchoMode.Password

    # Picking Ollama fills in its address; applying keeps it.
    preset.setCurrentIndex(preset.findText("Ollama"))
    preset.activated.emit(preset.currentIndex())
    assert base_url.text() == "http://127.0.0.1:11434/v1"

    # The key goes to the secret store; the field is emptied at once.
    qtbot.keyClicks(key_input, KEY)
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    assert key_input.text() == "" and "API key stored" in result.text()
    assert fame_app.services.secrets.get(LLM_API_KEY) == KEY
    assert "stored" in key_input.placeholderText()

    with FakeOpenAI(
        lambda body: Reply("OK", first_delay=0.3), models=["qwen2.5:0.5b"], api_key=KEY
    ) as server:
        base_url.setText(server.url)
        model.setText("qwen2.5:0.5b")
        assert preset.currentText() == "Ollama"  # not applied yet: the test uses the dialog's values
        started = time.perf_counter()
        qtbot.mouseClick(test, Qt.MouseButton.LeftButton)
        clicked_in = time.perf_counter() - started
        assert not test.isEnabled() and result.text().startswith("Testing")
        qtbot.waitUntil(lambda: test.isEnabled(), timeout=10_000)
    assert clicked_in < 0.2  # the 0.3 s answer was waited for off the Qt thread
    assert result.text().startswith("✓ Connected to qwen2.5:0.5b at 127.0.0.1") and " ms" in result.text()
    assert server.auth_headers and set(server.auth_headers) == {f"Bearer {KEY}"}
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    assert fame_app.settings.get("llm.base_url") == server.url
    dialog.close()

    # The key is nowhere but the secret store: not settings.json, not the audit, not the logs.
    secrets = set(fame_app.paths.secrets.rglob("*"))
    for path in fame_app.paths.root.rglob("*"):
        if path.is_file() and path not in secrets:
            assert KEY.encode() not in path.read_bytes(), path
    assert KEY not in caplog.text
    assert fame_app.audit.count(kinds=["settings_changed"]) >= 2  # the key (without it) and the URL


def test_a_failing_endpoint_shows_the_fix(qtbot: QtBot, window: QtMainWindow, fame_app: App) -> None:
    dialog = _open(qtbot, window)
    base_url = dialog.findChild(QLineEdit, "setting_llm_base_url")
    test = dialog.findChild(QPushButton, "llmTestButton")
    result = dialog.findChild(QLabel, "llmTestResult")
    assert base_url and test and result
    base_url.setText("https://api.openai.com/v1")
    qtbot.mouseClick(test, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: test.isEnabled(), timeout=10_000)
    assert result.text().startswith("⚠") and "network" in result.text().lower() and "Fix:" in result.text()
    dialog.close()
