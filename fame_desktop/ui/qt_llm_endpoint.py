"""Settings → LLM: endpoint presets, the API key field and the "Test connection" button.

The widget only observes and calls the domain (:mod:`fame_desktop.orchestrator.llm.endpoint`).
Choosing a preset fills the dialog's base-URL editor (applied with the other settings); the key
goes straight to the secret store (never to settings.json) and the field is cleared at once; the
connection test runs in a worker thread, so the window stays responsive while it waits.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.llm.endpoint import (
    PRESETS,
    ConnectionReport,
    check_connection,
    endpoint_config,
    has_api_key,
    preset_for,
    set_api_key,
)
from fame_desktop.ui.qt_workers import QtWorkerManager

if TYPE_CHECKING:
    from fame_desktop.app import App

log = logging.getLogger("fame.ui.llm")

STORED = "A key is stored: type a new one to replace it"
NONE_STORED = "API key (kept in the secret store, never in settings.json)"


class QtLlmEndpoint(QWidget):
    """Presets, API key and connection test for the OpenAI-compatible endpoint.

    Args:
        app: The services (settings, secret store, audit).
        workers: The window's workers (the test runs in one).
        read_setting: Reads the dialog's current (maybe unapplied) value of a setting.
        write_setting: Puts a value into the dialog's editor of a setting.
    """

    tested = Signal(object)

    def __init__(
        self,
        app: App,
        workers: QtWorkerManager,
        read_setting: Callable[[str], object],
        write_setting: Callable[[str, object], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("llmEndpoint")
        self._app = app
        self._workers = workers
        self._read = read_setting
        self._write = write_setting
        self.preset = QComboBox(self)
        self.preset.setObjectName("llmPresetCombo")
        for item in PRESETS:
            self.preset.addItem(item.label, item.id)
            self.preset.setItemData(self.preset.count() - 1, item.hint, Qt.ItemDataRole.ToolTipRole)
        self.preset.setCurrentIndex(self._index_for(str(app.settings.get("llm.base_url"))))
        self.preset.activated.connect(self._on_preset)
        self.key_input = QLineEdit(self)
        self.key_input.setObjectName("llmApiKeyInput")
        self.key_input.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_input.returnPressed.connect(self.save_key)
        self.save_key_button = QPushButton("Save key", self)
        self.save_key_button.setObjectName("llmSaveKeyButton")
        self.save_key_button.clicked.connect(self.save_key)
        self.remove_key_button = QPushButton("Remove key", self)
        self.remove_key_button.setObjectName("llmRemoveKeyButton")
        self.remove_key_button.clicked.connect(self.remove_key)
        self.test_button = QPushButton("Test connection", self)
        self.test_button.setObjectName("llmTestButton")
        self.test_button.clicked.connect(self.test_connection)
        self.result = QLabel("", self)
        self.result.setObjectName("llmTestResult")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        presets = QHBoxLayout()
        presets.addWidget(QLabel("Endpoint preset", self))
        presets.addWidget(self.preset, 1)
        keys = QHBoxLayout()
        keys.addWidget(self.key_input, 1)
        keys.addWidget(self.save_key_button)
        keys.addWidget(self.remove_key_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addLayout(presets)
        layout.addLayout(keys)
        layout.addWidget(self.test_button)
        layout.addWidget(self.result)
        self._show_key_state()

    @staticmethod
    def _index_for(base_url: str) -> int:
        wanted = preset_for(base_url).id
        return next(i for i, p in enumerate(PRESETS) if p.id == wanted)

    def _on_preset(self, index: int) -> None:
        chosen = PRESETS[index]
        if chosen.base_url:
            self._write("llm.base_url", chosen.base_url)
        key = (
            " It needs an API key."
            if chosen.needs_key and not has_api_key(self._app.services.secrets)
            else ""
        )
        self._show(f"{chosen.label}: {chosen.hint}.{key} Apply to keep it.", ok=True)

    def sync_preset(self) -> None:
        """Show the preset matching the base URL now in the dialog."""
        self.preset.setCurrentIndex(self._index_for(str(self._read("llm.base_url"))))

    def _show_key_state(self) -> None:
        stored = has_api_key(self._app.services.secrets)
        self.key_input.setPlaceholderText(STORED if stored else NONE_STORED)
        self.remove_key_button.setEnabled(stored)

    def save_key(self) -> None:
        """Store the typed key in the secret store and clear the field."""
        value = self.key_input.text().strip()
        self.key_input.clear()
        if not value:
            self._show("Type the API key first.", ok=False)
            return
        try:
            where = set_api_key(self._app.services.secrets, value, audit=self._app.audit.append, actor="ui")
        except (OSError, FameError) as exc:
            self._show(f"Could not store the key: {exc}", ok=False)
            return
        self._show(f"API key stored ({where.split(':', 1)[0]}).", ok=True)
        self._show_key_state()

    def remove_key(self) -> None:
        """Forget the stored key."""
        set_api_key(self._app.services.secrets, "", audit=self._app.audit.append, actor="ui")
        self._show("API key removed.", ok=True)
        self._show_key_state()

    def test_connection(self) -> None:
        """Test the endpoint in the dialog (applied or not) in a worker thread."""
        typed_key = self.key_input.text().strip()
        config = endpoint_config(
            self._app.settings,
            self._app.services.secrets,
            base_url=str(self._read("llm.base_url")).strip(),
            model=str(self._read("llm.model")).strip(),
            api_key=typed_key,
        )
        if not config.base_url:
            self._show("Choose a preset or enter a base URL first.", ok=False)
            return
        allow = bool(self._app.settings.get("network.allow_network"))
        self.test_button.setEnabled(False)
        self._show(f"Testing {config.base_url} …", ok=None)

        def work(_cancel: threading.Event) -> ConnectionReport:
            return asyncio.run(check_connection(config, allow_network=allow))

        def done(report: ConnectionReport) -> None:
            self.test_button.setEnabled(True)
            text = report.message + (f"\nFix: {report.fix}" if report.fix else "")
            if report.ok and report.models:
                text += "\nModels served: " + ", ".join(report.models[:8])
            self._show(text, ok=report.ok)
            self.tested.emit(report)

        def failed(exc: BaseException) -> None:
            self.test_button.setEnabled(True)
            self._show(f"The test failed: {exc!r}", ok=False)

        self._workers.run_blocking(work, name="llm-test", group="llm-test", on_done=done, on_error=failed)

    def _show(self, text: str, *, ok: bool | None) -> None:
        """Show ``text``: green with ✓ (ok), red with ⚠ (not ok), plain while busy (None)."""
        if ok is None:
            self.result.setStyleSheet("")
            self.result.setText(text)
            return
        self.result.setStyleSheet("color: #1a7f37;" if ok else "color: #c62828;")
        self.result.setText(("✓ " if ok else "⚠ ") + text)
