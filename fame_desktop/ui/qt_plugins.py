"""The plugins pane: every plugin with its status and badges; approve, enable/disable, reload, open folder.

A user plugin waiting for approval shows "waiting for approval" with its file's SHA-256; Approve
asks for an admin key (unless admin is unlocked) and approves that file as it is now.

New or changed files in the user's plugin folder are picked up without a restart: a
``QFileSystemWatcher`` on the folder plus a 2 s timer trigger ``PluginManager.rescan`` in a worker
thread (it imports plugin code, so never on the Qt thread).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QFileSystemWatcher, Qt, QTimer, QUrl
from PySide6.QtGui import QBrush, QColor, QDesktopServices
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.events import PluginFailed, PluginLoaded, PluginReloaded, PluginStateChanged
from fame_desktop.orchestrator.plugin_admin import approve_plugin, set_plugin_enabled
from fame_desktop.ui.qt_workers import QtWorkerManager

if TYPE_CHECKING:
    from fame_desktop.app import App

log = logging.getLogger("fame.ui.plugins")

RESCAN_MS = 2000
STATUS_COLOURS = {
    "loaded": "#1a7f37",
    "failed": "#c62828",
    "disabled": "#8c8c8c",
    "discovered": "#8c8c8c",
    "awaiting_approval": "#b26a00",
}
WAITING = "waiting for approval"


class QtPluginsPane(QWidget):
    """Lists plugins and sends the user's enable/disable/reload requests to the plugin manager.

    Args:
        app: The services.
        workers: Runs blocking plugin imports.
    """

    def __init__(self, app: App, workers: QtWorkerManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._app = app
        self._workers = workers
        self._scanning = False
        self._build()
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(50)
        self._refresh_timer.timeout.connect(self.refresh)
        self._rescan_timer = QTimer(self)
        self._rescan_timer.setInterval(RESCAN_MS)
        self._rescan_timer.timeout.connect(self.rescan)
        self._rescan_timer.start()
        self._watcher = QFileSystemWatcher(self)
        folder = app.services.user_plugin_dir()
        if folder.is_dir():
            self._watcher.addPath(str(folder))
        self._watcher.directoryChanged.connect(lambda _p: self.rescan())
        self._subs = [
            app.bus.subscribe(t, lambda _e: self._refresh_timer.start())
            for t in (PluginLoaded, PluginFailed, PluginReloaded, PluginStateChanged)
        ]
        self.refresh()

    def _build(self) -> None:
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("pluginList")
        self.tree.setHeaderLabels(["Plugin", "Version", "Status", "Intents", "Badges"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setStretchLastSection(True)
        self.tree.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.tree.currentItemChanged.connect(lambda *_: self._show_error())
        self.toggle_button = QPushButton("Disable", self)
        self.toggle_button.setObjectName("pluginToggleButton")
        self.toggle_button.clicked.connect(self.toggle_selected)
        self.reload_button = QPushButton("Reload", self)
        self.reload_button.setObjectName("pluginReloadButton")
        self.reload_button.clicked.connect(self.reload_selected)
        self.approve_button = QPushButton("Approve…", self)
        self.approve_button.setObjectName("pluginApproveButton")
        self.approve_button.setToolTip("Approve the selected user plugin's file as it is now (admin).")
        self.approve_button.clicked.connect(self.ask_approval)
        self.folder_button = QPushButton("Open plugin folder", self)
        self.folder_button.setObjectName("pluginFolderButton")
        self.folder_button.clicked.connect(self.open_folder)
        self.message = QLabel("", self)
        self.message.setObjectName("pluginMessage")
        self.message.setWordWrap(True)
        # A failed plugin's whole error shows here; it may hold a manifest to paste, so it is plain
        # text the user can select and copy.
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        buttons.addWidget(self.approve_button)
        buttons.addWidget(self.toggle_button)
        buttons.addWidget(self.reload_button)
        buttons.addStretch(1)
        buttons.addWidget(self.folder_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)

    def names(self) -> list[str]:
        """Plugin names as listed (tests and automation)."""
        items = (self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount()))
        return [item.text(0) for item in items if item is not None]

    def refresh(self) -> None:
        """Rebuild the list from the plugin manager's records (keeps the selection)."""
        selected = self._selected_name()
        self.tree.clear()
        for rec in self._app.services.plugins.records():
            d: dict[str, Any] = rec.to_dict()
            badges = []
            if d.get("needs_network"):
                badges.append("network")
            if d.get("dangerous"):
                badges.append("⚠ dangerous")
            if d.get("admin_only"):
                badges.append("admin-only")
            if d.get("builtin"):
                badges.append("built-in")
            elif rec.status == "loaded":
                badges.append("isolated")
            intents = ", ".join(d.get("intents", {}) or {})
            item = QTreeWidgetItem(
                [rec.name, str(d.get("version", "")), rec.status, intents, " ".join(badges)]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, rec.name)
            item.setForeground(2, QBrush(QColor(STATUS_COLOURS.get(rec.status, "#000000"))))
            tip = d.get("description", "")
            if rec.status == "awaiting_approval":
                item.setText(2, WAITING)
                tip = f"{tip}\n\nSHA-256 {rec.sha256}\nApprove it here, or: {d.get('approve_command', '')}"
            elif rec.error:
                tip = f"{tip}\n\nError: {rec.error}".strip()
                item.setText(2, "failed: " + rec.error[:80])
            item.setToolTip(0, f"{tip}\n{rec.path}".strip())
            item.setToolTip(2, rec.error or rec.status)
            self.tree.addTopLevelItem(item)
            if rec.name == selected:
                self.tree.setCurrentItem(item)
        self._update_buttons()

    def _selected_name(self) -> str | None:
        item = self.tree.currentItem()
        return str(item.data(0, Qt.ItemDataRole.UserRole)) if item is not None else None

    def _update_buttons(self) -> None:
        name = self._selected_name()
        rec = self._app.services.plugins.get(name) if name else None
        self.toggle_button.setEnabled(rec is not None)
        self.approve_button.setEnabled(rec is not None and rec.status == "awaiting_approval")
        self.reload_button.setEnabled(rec is not None and rec.status != "disabled")
        self.toggle_button.setText("Enable" if rec is not None and rec.status == "disabled" else "Disable")

    def _show_error(self) -> None:
        name = self._selected_name()
        rec = self._app.services.plugins.get(name) if name else None
        if rec is not None and rec.status in ("failed", "awaiting_approval") and rec.error:
            self.message.setText(rec.error)

    def rescan(self) -> None:
        """Look for new, changed or removed plugin files (in a worker thread)."""
        if self._scanning:
            return
        self._scanning = True
        plugins = self._app.services.plugins

        def work(_flag: threading.Event) -> list[str]:
            return list(plugins.rescan())

        def done(changed: list[str]) -> None:
            self._scanning = False
            folder = str(self._app.services.user_plugin_dir())
            if folder not in self._watcher.directories() and self._app.services.user_plugin_dir().is_dir():
                self._watcher.addPath(folder)
            if changed:
                self.message.setText("Plugins changed on disk: " + ", ".join(sorted(set(changed))))
                self.refresh()

        def failed(exc: BaseException) -> None:
            self._scanning = False
            self.message.setText(f"Could not scan the plugin folders: {exc}")

        self._workers.run_blocking(work, name="plugin-rescan", group="plugins", on_done=done, on_error=failed)

    def toggle_selected(self) -> None:
        """Enable or disable the selected plugin (admin for dangerous ones)."""
        name = self._selected_name()
        rec = self._app.services.plugins.get(name) if name else None
        if rec is None or name is None:
            return
        enable = rec.status == "disabled"
        services = self._app.services
        key = self._app.admin_key

        def work(_flag: threading.Event) -> str:
            set_plugin_enabled(services, name, enable, key=key, actor="ui")
            return name

        self._run(work, f"{name} {'enabled' if enable else 'disabled'}.")

    def ask_approval(self) -> None:
        """Approve the selected waiting plugin: asks for the admin key unless admin is unlocked."""
        name = self._selected_name()
        if name is None:
            return
        if self._app.admin_key or self._app.services.safety.unlocked:
            self.approve_selected(None)
            return
        dialog = QInputDialog(self)
        dialog.setObjectName("pluginApproveDialog")
        dialog.setWindowTitle(f"Approve {name}")
        rec = self._app.services.plugins.get(name)
        dialog.setLabelText(
            f"Approve the plugin {name} as its file is now?\nSHA-256 {rec.sha256 if rec else ''}\n\n"
            "It will run in its own process with the rights of your user account. Admin key:"
        )
        dialog.setTextEchoMode(QLineEdit.EchoMode.Password)
        dialog.textValueSelected.connect(lambda key: self.approve_selected(key or None, name))
        dialog.open()

    def approve_selected(self, key: str | None, name: str | None = None) -> None:
        """Approve plugin ``name`` (default: the selected one) with ``key`` (or the unlocked session)."""
        name = name or self._selected_name()
        if name is None:
            return
        services = self._app.services
        key = key or self._app.admin_key

        def work(_flag: threading.Event) -> str:
            rec = approve_plugin(services, name, key=key, actor="ui")
            return f"{name} approved: {rec.status}" + (f" ({rec.error})" if rec.error else "")

        self._run(work, None, done_text=True)

    def reload_selected(self) -> None:
        """Re-import the selected plugin from its file."""
        name = self._selected_name()
        if name is None:
            return
        plugins = self._app.services.plugins

        def work(_flag: threading.Event) -> str:
            rec = plugins.reload(name)
            return f"{name}: {rec.status}" + (f" ({rec.error})" if rec.error else "")

        self._run(work, None)

    def _run(self, work: Any, ok_text: str | None, *, done_text: bool = False) -> None:
        # The list is refreshed first: re-selecting the row shows its error, which must not hide
        # the outcome of what the user just did.
        def done(result: str) -> None:
            self.refresh()
            self.message.setText(result if done_text else ok_text or f"Reloaded {result}.")

        def failed(exc: BaseException) -> None:
            text = f"{exc.message} {exc.fix}".strip() if isinstance(exc, FameError) else str(exc)
            self.refresh()
            self.message.setText(f"⚠ {text}")

        self._workers.run_blocking(
            work, name="plugin-admin", group="plugins-admin", on_done=done, on_error=failed
        )

    def open_folder(self) -> None:
        """Open the user's plugin folder in the file manager."""
        folder = self._app.services.user_plugin_dir()
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def close_subscriptions(self) -> None:
        """Stop timers and bus subscriptions (window closing)."""
        self._rescan_timer.stop()
        self._refresh_timer.stop()
        for sub in self._subs:
            sub.cancel()
