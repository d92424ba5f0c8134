"""The settings dialog, built from the declared settings schema.

Every editable setting comes from ``iter_fields()`` (type, limits, description, admin flag), so
adding a setting to the schema adds it here. Every change goes through
``Safety.update_settings`` so it is validated, admin-gated and audited. The admin key unlocks the
process's admin session until Lock is pressed or the app closes.
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.events import AdminStateChanged, SettingsChanged
from fame_desktop.orchestrator.secrets import ADMIN_KEY, from_keyring
from fame_desktop.orchestrator.settings import is_admin_field, iter_fields
from fame_desktop.ui.qt_llm_endpoint import QtLlmEndpoint
from fame_desktop.ui.qt_models import QtModelManager
from fame_desktop.ui.qt_setup_steps import QtAdminKeyStep, QtDockerStep
from fame_desktop.ui.qt_voice_models import QtVoiceModels
from fame_desktop.ui.qt_workers import QtWorkerManager

if TYPE_CHECKING:
    from fame_desktop.app import App

log = logging.getLogger("fame.ui.settings")

SECTION_TITLES = {
    "sandbox": "Sandbox",
    "voice": "Voice",
    "plugins": "Plugins",
    "ui": "Appearance",
    "capabilities": "Capabilities",
    "services": "Services",
    "llm": "LLM",
    "api": "REST API",
}
# Shown elsewhere in the dialog (network toggle) or managed by the plugins pane.
SKIPPED = {"network.allow_network", "plugins.disabled"}
FOLDER_FIELDS = {"plugins.user_folder", "voice.model_path"}


class QtSettingsDialog(QDialog):
    """Admin unlock, network toggle, admin keys, and every declared setting.

    Args:
        app: The services (settings, safety, admin keys).
        workers: The window's workers; with them the Voice tab gets the model manager.
    """

    applied = Signal(dict)

    def __init__(
        self, app: App, parent: QWidget | None = None, workers: QtWorkerManager | None = None
    ) -> None:
        super().__init__(parent)
        self._app = app
        self._workers = workers
        self.voice_models: QtVoiceModels | None = None
        self.llm_endpoint: QtLlmEndpoint | None = None
        self.docker_step: QtDockerStep | None = None
        self.models: QtModelManager | None = None
        self.setObjectName("settingsDialog")
        self.setWindowTitle("FAME Settings")
        self.setModal(False)
        self.resize(720, 640)
        self._readers: dict[str, Callable[[], Any]] = {}
        self._writers: dict[str, Callable[[Any], None]] = {}
        self._admin_widgets: list[QWidget] = []
        self._build()
        self._subs = [
            app.bus.subscribe(AdminStateChanged, lambda _e: self._update_admin_state()),
            app.bus.subscribe(SettingsChanged, self._on_settings_changed),
        ]
        # In a dialog, Enter would also press the first "auto default" button; only explicit
        # returnPressed handlers should act on Enter.
        for button in self.findChildren(QPushButton):
            button.setAutoDefault(False)
            button.setDefault(False)
        self._update_admin_state()

    # --- layout ----------------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(self._admin_box())
        tabs = QTabWidget(self)
        tabs.setObjectName("settingsTabs")
        self.tabs = tabs
        tabs.addTab(self._keys_tab(), "Admin keys")
        sections: dict[str, QFormLayout] = {}
        for path, info in iter_fields():
            if path in SKIPPED:
                continue
            section = path.split(".")[0]
            if section not in sections:
                page = QWidget()
                form = QFormLayout(page)
                form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
                scroll = QScrollArea()
                scroll.setWidgetResizable(True)
                scroll.setWidget(page)
                tabs.addTab(scroll, SECTION_TITLES.get(section, section.title()))
                sections[section] = form
            self._add_field(sections[section], path, info)
        if self._workers is not None and "llm" in sections:
            self.llm_endpoint = QtLlmEndpoint(
                self._app,
                self._workers,
                read_setting=lambda path: self._readers[path](),
                write_setting=lambda path, value: self._writers[path](value),
            )
            sections["llm"].addRow(self.llm_endpoint)
        if self._workers is not None and "voice" in sections:
            self.voice_models = QtVoiceModels(self._app, self._workers)
            sections["voice"].insertRow(0, self.voice_models)
        if self._workers is not None and "sandbox" in sections:
            self.docker_step = QtDockerStep(self._app, self._workers)
            sections["sandbox"].insertRow(0, self.docker_step)
        if self._workers is not None:
            self.models = QtModelManager(self._app, self._workers)
            tabs.insertTab(1, self.models, "Models")
        layout.addWidget(tabs, 1)
        self.error = QLabel("", self)
        self.error.setObjectName("settingsError")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Apply | QDialogButtonBox.StandardButton.Close, self
        )
        self.apply_button = buttons.button(QDialogButtonBox.StandardButton.Apply)
        self.apply_button.setObjectName("settingsApplyButton")
        self.apply_button.clicked.connect(self.apply)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)

    def _admin_box(self) -> QGroupBox:
        box = QGroupBox("Admin", self)
        self.key_input = QLineEdit(box)
        self.key_input.setObjectName("adminKeyInput")
        self.key_input.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_input.setPlaceholderText("Admin key (no key yet? create it on the Admin keys tab)")
        self.key_input.returnPressed.connect(self.unlock)
        self.unlock_button = QPushButton("Unlock", box)
        self.unlock_button.setObjectName("adminUnlockButton")
        self.unlock_button.clicked.connect(self.unlock)
        self.lock_button = QPushButton("Lock", box)
        self.lock_button.setObjectName("adminLockButton")
        self.lock_button.clicked.connect(self.lock)
        self.admin_state = QLabel("", box)
        self.admin_state.setObjectName("adminState")
        self.network_toggle = QCheckBox("Allow network access (plugins and sandbox runs)", box)
        self.network_toggle.setObjectName("networkToggle")
        self.network_toggle.setChecked(bool(self._app.settings.get("network.allow_network")))
        self.network_toggle.setToolTip("Admin only. " + _description("network.allow_network"))
        self.network_toggle.toggled.connect(self._on_network_toggled)
        self.keyring_button = QPushButton("Unlock from keyring", box)
        self.keyring_button.setObjectName("adminKeyringUnlock")
        self.keyring_button.setToolTip("Use the admin key kept in the OS keyring by the first-run set-up.")
        self.keyring_button.clicked.connect(self.unlock_from_keyring)
        row = QHBoxLayout()
        row.addWidget(self.key_input, 1)
        row.addWidget(self.unlock_button)
        row.addWidget(self.keyring_button)
        row.addWidget(self.lock_button)
        v = QVBoxLayout(box)
        v.addLayout(row)
        v.addWidget(self.admin_state)
        v.addWidget(self.network_toggle)
        self._admin_widgets.append(self.network_toggle)
        return box

    def _keys_tab(self) -> QWidget:
        page = QWidget()
        self.admin_key_step = QtAdminKeyStep(self._app, page)
        self.admin_key_step.setVisible(not len(self._app.safety.keys))
        self.key_list = QListWidget(page)
        self.key_list.setObjectName("adminKeyList")
        self.new_key_label = QLineEdit(page)
        self.new_key_label.setPlaceholderText("Label for a new key (optional)")
        add = QPushButton("Add key", page)
        add.setObjectName("adminAddKeyButton")
        add.clicked.connect(self.add_key)
        remove = QPushButton("Remove selected", page)
        remove.setObjectName("adminRemoveKeyButton")
        remove.clicked.connect(self.remove_selected_key)
        self.new_key = QLineEdit(page)
        self.new_key.setObjectName("adminNewKey")
        self.new_key.setReadOnly(True)
        self.new_key.setPlaceholderText("A new key is shown here once; copy it now.")
        row = QHBoxLayout()
        row.addWidget(self.new_key_label, 1)
        row.addWidget(add)
        row.addWidget(remove)
        v = QVBoxLayout(page)
        v.addWidget(self.admin_key_step)
        v.addWidget(QLabel("Keys are stored only as hashes. A new key is shown once."))
        v.addWidget(self.key_list, 1)
        v.addLayout(row)
        v.addWidget(self.new_key)
        self._admin_widgets += [add, remove, self.new_key_label]
        self._refresh_keys()
        return page

    def _add_field(self, form: QFormLayout, path: str, info: Any) -> None:
        value = self._app.settings.get(path)
        widget, read, write = _editor_for(info.annotation, info.metadata, value)
        widget.setObjectName("setting_" + path.replace(".", "_"))
        admin = is_admin_field(path)
        widget.setToolTip((info.description or "") + ("\nAdmin only." if admin else ""))
        label = QLabel(_label(path) + (" (admin)" if admin else ""))
        label.setToolTip(widget.toolTip())
        if path in FOLDER_FIELDS and isinstance(widget, QLineEdit):
            holder = QWidget()
            h = QHBoxLayout(holder)
            h.setContentsMargins(0, 0, 0, 0)
            h.addWidget(widget, 1)
            browse = QPushButton("Browse…", holder)
            browse.clicked.connect(lambda _c=False, w=widget: self._browse(w))
            h.addWidget(browse)
            form.addRow(label, holder)
        else:
            form.addRow(label, widget)
        self._readers[path] = read
        self._writers[path] = write
        if admin:
            self._admin_widgets.append(widget)

    def _browse(self, target: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder", target.text())
        if folder:
            target.setText(folder)

    # --- admin -----------------------------------------------------------------------------------

    def _is_admin(self) -> bool:
        return self._app.safety.unlocked or bool(self._app.admin_key)

    def _update_admin_state(self) -> None:
        admin = self._is_admin()
        for w in self._admin_widgets:
            w.setEnabled(admin)
        self.lock_button.setEnabled(self._app.safety.unlocked)
        self.keyring_button.setVisible(not admin and bool(len(self._app.safety.keys)))
        if self._app.safety.unlocked:
            self.admin_state.setText("Admin unlocked until you lock it or close FAME.")
        elif self._app.admin_key:
            self.admin_state.setText("Admin key given on the command line.")
        elif not len(self._app.safety.keys):
            self.admin_state.setText("No admin key exists yet: create it on the Admin keys tab below.")
        else:
            self.admin_state.setText("Locked: enter an admin key to change the (admin) settings.")
        self._refresh_keys()
        if hasattr(self, "admin_key_step") and self.admin_key_step.new_key is None:
            self.admin_key_step.setVisible(not len(self._app.safety.keys))
            self.admin_key_step.refresh()

    def unlock(self) -> None:
        """Unlock admin with the key typed in ``adminKeyInput``."""
        key = self.key_input.text().strip()
        if not key:
            self.show_error("Enter an admin key first.", "No key yet? Create it on the Admin keys tab.")
            return
        try:
            ok = self._app.safety.unlock(key, actor="ui")
        except FameError as exc:
            self.show_error(exc.message, exc.fix)
            return
        finally:
            self.key_input.clear()
        if not ok:
            self.show_error(
                "Wrong admin key: admin stays locked.",
                "Check the key (they are shown once when created); with no key yet, create it on the "
                "Admin keys tab.",
            )
            return
        self.show_info("Admin unlocked.")
        self._update_admin_state()

    def unlock_from_keyring(self) -> None:
        """Unlock admin with the key the set-up kept in the OS keyring."""
        key = from_keyring(ADMIN_KEY)
        if not key:
            self.show_error(
                "No admin key is kept in the OS keyring (or there is no keyring).",
                "Type the key, or keep it in the keyring when creating it.",
            )
            return
        try:
            ok = self._app.safety.unlock(key, actor="ui")
        except FameError as exc:
            self.show_error(exc.message, exc.fix)
            return
        if not ok:
            self.show_error("The key in the keyring is not a current admin key.", "Type the key.")
            return
        self.show_info("Admin unlocked with the key from the keyring.")
        self._update_admin_state()

    def show_tab(self, title: str) -> None:
        """Bring the tab called ``title`` (``Voice``, ``Sandbox``...) to the front."""
        for i in range(self.tabs.count()):
            if self.tabs.tabText(i) == title:
                self.tabs.setCurrentIndex(i)
                return

    def lock(self) -> None:
        """End the admin session."""
        self._app.safety.lock(actor="ui")
        self.show_info("Admin locked.")
        self._update_admin_state()

    def _refresh_keys(self) -> None:
        if not hasattr(self, "key_list"):
            return
        self.key_list.clear()
        for rec in self._app.safety.keys:
            item = QListWidgetItem(f"{rec.key_id}  {rec.label}")
            item.setData(Qt.ItemDataRole.UserRole, rec.key_id)
            self.key_list.addItem(item)

    def add_key(self) -> None:
        """Create another admin key and show it once."""
        try:
            new = self._app.safety.add_key(
                key=self._app.admin_key, label=self.new_key_label.text().strip(), actor="ui"
            )
        except FameError as exc:
            self.show_error(exc.message, exc.fix)
            return
        self.new_key.setText(new)
        QGuiApplication.clipboard().setText(new)
        self.show_info("New admin key created and copied to the clipboard. It is not shown again.")
        self._refresh_keys()

    def remove_selected_key(self) -> None:
        """Remove the selected admin key."""
        item = self.key_list.currentItem()
        if item is None:
            self.show_error("Select a key to remove.", "")
            return
        try:
            self._app.safety.remove_key(
                str(item.data(Qt.ItemDataRole.UserRole)), key=self._app.admin_key, actor="ui"
            )
        except FameError as exc:
            self.show_error(exc.message, exc.fix)
            return
        self.show_info("Admin key removed.")
        self._update_admin_state()

    # --- changes ---------------------------------------------------------------------------------

    def _on_network_toggled(self, checked: bool) -> None:
        try:
            self._app.safety.update_settings(
                {"network.allow_network": checked}, key=self._app.admin_key, actor="ui"
            )
        except FameError as exc:
            self.network_toggle.blockSignals(True)
            self.network_toggle.setChecked(not checked)
            self.network_toggle.blockSignals(False)
            self.show_error(exc.message, exc.fix)
            return
        self.show_info(f"Network {'on' if checked else 'off'}.")

    def pending_changes(self) -> dict[str, Any]:
        """Settings whose editor differs from the stored value."""
        changes: dict[str, Any] = {}
        for path, read in self._readers.items():
            try:
                value = read()
            except ValueError as exc:
                raise FameError(f"Setting '{path}': {exc}.", "Correct the value and apply again.") from exc
            if value != self._app.settings.get(path):
                changes[path] = value
        return changes

    def apply(self) -> None:
        """Validate and apply every changed setting in one audited change."""
        try:
            changes = self.pending_changes()
            if not changes:
                self.show_info("Nothing changed.")
                return
            changed = self._app.safety.update_settings(changes, key=self._app.admin_key, actor="ui")
        except FameError as exc:
            self.show_error(exc.message, exc.fix)
            return
        self.show_info(f"Saved {len(changed)} change(s).")
        self.applied.emit(changed)

    def _on_settings_changed(self, event: SettingsChanged) -> None:
        for path, value in event.changes.items():
            if path == "network.allow_network":
                self.network_toggle.blockSignals(True)
                self.network_toggle.setChecked(bool(value))
                self.network_toggle.blockSignals(False)
            elif path in self._writers:
                self._writers[path](value)
                if path == "llm.base_url" and self.llm_endpoint is not None:
                    self.llm_endpoint.sync_preset()

    def show_error(self, message: str, fix: str) -> None:
        """Show what went wrong and how to fix it."""
        self.error.setStyleSheet("color: #c62828;")
        self.error.setText(f"⚠ {message}" + (f"\nFix: {fix}" if fix else ""))

    def show_info(self, message: str) -> None:
        """Show a neutral confirmation."""
        self.error.setStyleSheet("color: #1a7f37;")
        self.error.setText(message)

    def show_models(self) -> QtModelManager | None:
        """Bring the Models tab to the front (the first-run prompt opens it)."""
        if self.models is not None:
            self.tabs.setCurrentWidget(self.models)
        return self.models

    def close_subscriptions(self) -> None:
        """Stop listening to the bus (window closing)."""
        for sub in self._subs:
            sub.cancel()
        if self.voice_models is not None:
            self.voice_models.close_subscriptions()
        if self.models is not None:
            self.models.close_subscriptions()


def _label(path: str) -> str:
    return path.split(".", 1)[1].replace("_", " ").capitalize()


def _description(path: str) -> str:
    for p, info in iter_fields():
        if p == path:
            return str(info.description or "")
    return ""


def _bounds(metadata: list[Any]) -> tuple[float | None, float | None]:
    low = high = None
    for m in metadata:
        for attr in ("ge", "gt"):
            if getattr(m, attr, None) is not None:
                low = float(getattr(m, attr))
        for attr in ("le", "lt"):
            if getattr(m, attr, None) is not None:
                high = float(getattr(m, attr))
    return low, high


def _editor_for(
    annotation: Any, metadata: list[Any], value: Any
) -> tuple[QWidget, Callable[[], Any], Callable[[Any], None]]:
    """A widget for a setting's type, with functions to read and set its value."""
    low, high = _bounds(metadata)
    if annotation is bool:
        box = QCheckBox()
        box.setChecked(bool(value))
        return box, box.isChecked, lambda v: box.setChecked(bool(v))
    if annotation is int:
        spin = QSpinBox()
        spin.setRange(int(low if low is not None else -(2**31)), int(high if high is not None else 2**31 - 1))
        spin.setValue(int(value))
        return spin, spin.value, lambda v: spin.setValue(int(v))
    if annotation is float:
        dspin = QDoubleSpinBox()
        dspin.setDecimals(2)
        dspin.setRange(low if low is not None else -1e9, high if high is not None else 1e9)
        dspin.setValue(float(value))
        return dspin, dspin.value, lambda v: dspin.setValue(float(v))
    if typing.get_origin(annotation) is typing.Literal:
        combo = QComboBox()
        combo.addItems([str(a) for a in typing.get_args(annotation)])
        combo.setCurrentText(str(value))
        return combo, combo.currentText, lambda v: combo.setCurrentText(str(v))
    if typing.get_origin(annotation) is dict:
        mapping = QLineEdit(_pairs(value))
        mapping.setPlaceholderText("key=value, key=value")

        def read_dict() -> dict[str, str]:
            out: dict[str, str] = {}
            for part in mapping.text().split(","):
                if not part.strip():
                    continue
                key, sep, val = part.partition("=")
                if not sep or not key.strip():
                    raise ValueError(f"'{part.strip()}' is not key=value")
                out[key.strip()] = val.strip()
            return out

        return mapping, read_dict, lambda v: mapping.setText(_pairs(v))
    if typing.get_origin(annotation) is list:
        edit = QLineEdit(", ".join(str(v) for v in value))
        edit.setPlaceholderText("comma-separated")

        def read_list() -> list[str]:
            return [p.strip() for p in edit.text().split(",") if p.strip()]

        return edit, read_list, lambda v: edit.setText(", ".join(str(x) for x in v))
    line = QLineEdit(str(value))
    return line, line.text, lambda v: line.setText(str(v))


def _pairs(value: Any) -> str:
    return ", ".join(f"{k}={v}" for k, v in dict(value).items())
