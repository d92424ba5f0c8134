"""Settings → Models: the model catalog, downloads with progress, Use, Remove, Import .gguf….

:class:`QtModelManager` (objectName ``modelManager``) is a reusable widget: the settings dialog
mounts it as its Models tab and the first-run assistant may embed it. It only observes and calls
the domain (:class:`~fame_desktop.orchestrator.llm.model_store.ModelStore`): listing, downloading,
importing, using and removing run in the window's workers, and download progress arrives as
:class:`~fame_desktop.orchestrator.events.DownloadProgress` events from the bus, re-emitted
through a queued signal so the Qt thread only paints. Pause keeps the partial file (Download
resumes it); Cancel deletes it.

:class:`QtModelPrompt` is the first-run prompt: a status-bar button shown while no language model
is installed, which opens this tab.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fame_desktop.orchestrator.downloads import DownloadCancelled, DownloadPaused, human_size
from fame_desktop.orchestrator.errors import FameError, NetworkDisabled
from fame_desktop.orchestrator.events import DownloadProgress, SettingsChanged
from fame_desktop.orchestrator.llm.catalog import CatalogEntry
from fame_desktop.orchestrator.llm.model_store import CatalogRow, InstalledModel, ModelAdded, ModelStore
from fame_desktop.ui.qt_buttons import action_button
from fame_desktop.ui.qt_workers import QtWorker, QtWorkerManager

if TYPE_CHECKING:
    from fame_desktop.app import App

log = logging.getLogger("fame.ui.models")

COLUMNS = ("Model", "Size", "RAM needed", "Licence", "State")
GROUP = "llm-models"


@dataclass(frozen=True)
class ModelRow:
    """One line of the table: a catalog entry (installed or not) or an imported model.

    Attributes:
        entry: The catalog entry (None: a model imported from a file).
        installed: The installed file (None: not installed).
        partial: Bytes of a paused download.
        fits: Whether this machine has the memory the entry needs.
    """

    entry: CatalogEntry | None
    installed: InstalledModel | None
    partial: int = 0
    fits: bool = True

    @property
    def key(self) -> str:
        """The catalog id, or the file name of an imported model."""
        if self.entry is not None:
            return self.entry.id
        assert self.installed is not None
        return self.installed.name

    @property
    def active(self) -> bool:
        """Whether it is the active model."""
        return self.installed is not None and self.installed.active


def build_rows(catalog: list[CatalogRow], installed: list[InstalledModel]) -> list[ModelRow]:
    """The catalog first (with what is installed), then models imported from files."""
    by_name = {m.name: m for m in installed}
    rows = [ModelRow(r.entry, by_name.pop(r.entry.file, None), r.partial, r.fits) for r in catalog]
    rows.extend(ModelRow(None, m) for m in by_name.values())
    return rows


class QtModelManager(QWidget):
    """The language models: catalog, installed state, download with progress, Use, Remove, Import.

    Args:
        app: The services (bus, settings, admin key).
        workers: The window's workers.
        store: The model store (default: ``app.models``).
    """

    listed = Signal()
    """The table was (re)built."""
    downloadFinished = Signal(object)
    """A download ended: the :class:`ModelAdded`, or the :class:`FameError` that stopped it."""
    modelsChanged = Signal()
    """A model was installed, removed or made active."""
    _progressed = Signal(object)  # a DownloadProgress, possibly from the download thread

    def __init__(
        self,
        app: App,
        workers: QtWorkerManager,
        parent: QWidget | None = None,
        store: ModelStore | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("modelManager")
        self._app = app
        self._workers = workers
        self.store = store or app.models
        self.rows: list[ModelRow] = []
        self._download: QtWorker | None = None
        self._download_id = ""
        self._pause = threading.Event()
        self._cancel = threading.Event()
        self._listing = False
        self._list_again = False
        self.confirm: QMessageBox | None = None
        self._build()
        self._progressed.connect(self._on_progress)
        self._subs = [
            app.bus.subscribe(DownloadProgress, self._progressed.emit),
            app.bus.subscribe(SettingsChanged, self._on_settings),
        ]
        self.refresh()

    # --- layout ----------------------------------------------------------------------------------

    def _build(self) -> None:
        intro = QLabel(
            "Language models run on this computer (llama.cpp): no account, no network once downloaded. "
            "Catalog models are checked against a pinned SHA-256.",
            self,
        )
        intro.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("modelTable")
        self.table.setAccessibleName("Language models")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _i: self.use_selected())
        self.download_button = action_button(self, "Download", "modelDownloadButton", self.download_selected)
        self.pause_button = action_button(self, "Pause", "modelPauseButton", self.pause)
        self.pause_button.setToolTip("Stop the download and keep what arrived; Download resumes it.")
        self.cancel_button = action_button(self, "Cancel", "modelCancelButton", self.cancel)
        self.cancel_button.setToolTip("Stop the download and delete what arrived.")
        self.use_button = action_button(self, "Use", "modelUseButton", self.use_selected)
        self.use_button.setToolTip("Answer with this model (llm.local_model).")
        self.remove_button = action_button(self, "Remove…", "modelRemoveButton", self.remove_selected)
        self.import_button = action_button(self, "Import .gguf…", "modelImportButton", self.choose_file)
        self.import_button.setToolTip(
            "Check a .gguf file on this computer and copy it into FAME's models folder."
        )
        self.progress = QProgressBar(self)
        self.progress.setObjectName("modelProgress")
        self.progress.setAccessibleName("Model download progress")
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.status = QLabel(self)
        self.status.setObjectName("modelStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        row = QHBoxLayout()
        for button in (self.download_button, self.pause_button, self.cancel_button):
            row.addWidget(button)
        row.addStretch(1)
        for button in (self.use_button, self.remove_button, self.import_button):
            row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        self._update_buttons()

    # --- listing ---------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the catalog and the models folder again (in a worker)."""
        if self._listing:
            self._list_again = True
            return
        self._listing = True
        store = self.store

        def work(_flag: threading.Event) -> list[ModelRow]:
            return build_rows(store.rows(), store.installed())

        def done(rows: list[ModelRow]) -> None:
            self._listing = False
            self._show_rows(rows)
            if self._list_again:
                self._list_again = False
                self.refresh()

        def failed(exc: BaseException) -> None:
            self._listing = False
            message, fix = (exc.message, exc.fix) if isinstance(exc, FameError) else (repr(exc), "")
            self.show_error(f"Could not list the models: {message}", fix)

        self._workers.run_blocking(work, name="llm-models-list", group=GROUP, on_done=done, on_error=failed)

    def _show_rows(self, rows: list[ModelRow]) -> None:
        keep = self.selected_key()
        self.rows = rows
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            entry, model = row.entry, row.installed
            name = entry.name if entry else (model.name if model else "")
            size = entry.size_bytes if entry else (model.size if model else 0)
            cells = [
                name + ("" if entry is None or entry.pinned else "  (unpinned: admin)"),
                human_size(model.size if model else size),
                human_size(entry.ram_bytes) if entry else "—",
                entry.licence if entry else "imported",
                self._state_text(row),
            ]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 0:
                    item.setData(Qt.ItemDataRole.UserRole, row.key)
                    tip = entry.description if entry else str(model.path if model else "")
                    item.setToolTip(tip)
                if row.active:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(i, col, item)
            if row.key == keep:
                self.table.selectRow(i)
        if self.table.currentRow() < 0 and rows:
            self.table.selectRow(next((i for i, r in enumerate(rows) if r.active), 0))
        self._update_buttons()
        self.listed.emit()

    def _state_text(self, row: ModelRow) -> str:
        if self.downloading and row.key == self._download_id:
            return "Downloading…"
        if row.active:
            return "Active"
        if row.installed is not None:
            return "Installed"
        if row.partial:
            return f"Paused at {human_size(row.partial)}"
        if not row.fits:
            return "Too large for this computer"
        return "Not installed"

    def selected(self) -> ModelRow | None:
        """The selected row."""
        index = self.table.currentRow()
        return self.rows[index] if 0 <= index < len(self.rows) else None

    def selected_key(self) -> str | None:
        """The selected row's catalog id or file name."""
        row = self.selected()
        return row.key if row else None

    def select(self, key: str) -> bool:
        """Select the row of catalog id or file name ``key``; whether it is listed."""
        for i, row in enumerate(self.rows):
            if key in (row.key, row.installed.name if row.installed else None):
                self.table.selectRow(i)
                return True
        return False

    def _update_buttons(self) -> None:
        row = self.selected()
        busy = self.downloading
        can_download = row is not None and row.entry is not None and row.installed is None
        self.download_button.setEnabled(not busy and can_download)
        self.download_button.setText("Resume" if row is not None and row.partial and not busy else "Download")
        self.pause_button.setEnabled(busy)
        self.cancel_button.setEnabled(busy or (row is not None and row.partial > 0))
        self.use_button.setEnabled(row is not None and row.installed is not None and not row.active)
        self.remove_button.setEnabled(row is not None and row.installed is not None)

    # --- download --------------------------------------------------------------------------------

    @property
    def downloading(self) -> bool:
        """Whether a download is running."""
        return self._download is not None and not self._download.state.done

    def download_selected(self) -> None:
        """Download (or resume) the selected catalog model."""
        row = self.selected()
        if row is None or row.entry is None:
            self.show_error("Select a catalog model first.", "")
            return
        self.download(row.entry.id)

    def download(self, model_id: str) -> None:
        """Download (or resume) the catalog model ``model_id`` in a worker."""
        if self.downloading:
            return
        store, key = self.store, self._app.admin_key
        self._pause.clear()
        self._cancel.clear()
        pause, cancel = self._pause, self._cancel
        self._download_id = model_id

        def work(_flag: threading.Event) -> ModelAdded | FameError:
            try:
                return store.download(model_id, key=key, actor="ui", pause=pause, cancel=cancel)
            except FameError as exc:  # expected outcomes are shown, not logged as crashes
                return exc

        def failed(exc: BaseException) -> None:
            self._download_ended(FameError(f"The download failed unexpectedly: {exc!r}", ""))

        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("Connecting…")
        entry = self.store.catalog.get(model_id)
        self.show_info(f"Downloading {entry.name if entry else model_id} …")
        self._download = self._workers.run_blocking(
            work,
            name="llm-model-download",
            group="llm-model-download",
            on_done=self._download_ended,
            on_error=failed,
        )
        self._update_buttons()
        self.refresh()  # the row says Downloading…

    def pause(self) -> None:
        """Stop the download at its next chunk and keep the partial file."""
        if self.downloading:
            self._pause.set()
            self.pause_button.setEnabled(False)

    def cancel(self) -> None:
        """Stop the download and delete the partial file (or delete a paused download's file)."""
        if self.downloading:
            self._cancel.set()
            self.cancel_button.setEnabled(False)
            return
        row = self.selected()
        if row is None or row.entry is None or not row.partial:
            return
        part = self.store.part_file(row.entry.file)

        def work(_flag: threading.Event) -> None:
            part.unlink(missing_ok=True)

        def done(_r: None) -> None:
            self.progress.setValue(0)
            self.progress.setFormat("")
            self.show_info("The paused download was deleted.")
            self.refresh()

        self._workers.run_blocking(work, name="llm-model-discard", group=GROUP, on_done=done)

    def _on_progress(self, event: DownloadProgress) -> None:
        if not self.downloading or event.download_id != self._download_id:
            return  # another download (voice), or a late event after this one ended
        total = event.total
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(min(1000, int(event.done * 1000 / total)))
        if event.state == "downloading":
            speed = f"{human_size(event.speed)}/s"
            eta = f"  ·  {event.eta:.0f} s left" if event.eta is not None else ""
            size = f"{human_size(event.done)} / {human_size(total)}" if total else human_size(event.done)
            self.progress.setFormat(f"%p%  ·  {size}  ·  {speed}{eta}")
        elif event.state == "verifying":
            self.progress.setFormat("Checking the SHA-256…")
            self.show_info("Checking the download…")

    def _download_ended(self, outcome: ModelAdded | FameError) -> None:
        self._download = None
        if isinstance(outcome, ModelAdded):
            self.progress.setValue(1000)
            self.progress.setFormat(f"Installed  ·  {human_size(outcome.info.file_size)}")
            active = " It is the active model now." if outcome.activated else " Press Use to answer with it."
            self.show_info(f"Installed {outcome.model.name} ({outcome.info.architecture}).{active}")
            if outcome.warning:
                self.show_error(outcome.warning, "")
            self.modelsChanged.emit()
        elif isinstance(outcome, DownloadPaused):
            self.progress.setFormat("Paused  ·  %p%")
            self.show_info(f"{outcome.message} Press Resume to continue.")
        elif isinstance(outcome, DownloadCancelled):
            self.progress.setValue(0)
            self.progress.setFormat("Cancelled")
            self.show_info(outcome.message)
        elif isinstance(outcome, NetworkDisabled):
            self.progress.setFormat("")
            self.show_error("The network is off, so models cannot be downloaded.", outcome.fix)
        else:
            self.progress.setFormat("Failed")
            self.show_error(outcome.message, outcome.fix)
        self.refresh()
        self.downloadFinished.emit(outcome)

    # --- use, remove, import ---------------------------------------------------------------------

    def use_selected(self) -> None:
        """Make the selected installed model the active one."""
        row = self.selected()
        if row is None or row.installed is None:
            self.show_error("Select an installed model first.", "")
            return
        name, store = row.installed.name, self.store
        self._run(lambda: store.use(name, actor="ui"), f"{name} answers from now on.", "llm-model-use")

    def remove_selected(self) -> QMessageBox | None:
        """Ask, then delete the selected installed model (non-blocking dialog ``modelRemoveConfirm``)."""
        row = self.selected()
        if row is None or row.installed is None:
            self.show_error("Select an installed model first.", "")
            return None
        model, store = row.installed, self.store
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Remove model",
            f"Delete {model.name} ({human_size(model.size)}) from this computer?"
            + (
                "\nIt is the active model: FAME will have no local model until you choose another."
                if model.active
                else ""
            ),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setObjectName("modelRemoveConfirm")
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(button: Any) -> None:
            self.confirm = None
            if box.standardButton(button) == QMessageBox.StandardButton.Yes:
                self._run(
                    lambda: store.remove(model.name, actor="ui"), f"Removed {model.name}.", "llm-model-remove"
                )

        box.buttonClicked.connect(answered)
        self.confirm = box
        box.open()
        return box

    def choose_file(self) -> QFileDialog:
        """Ask for a ``.gguf`` file (non-blocking dialog); the chosen one is checked, then imported."""
        dialog = QFileDialog(
            self, "Import a .gguf model", str(Path.home()), "GGUF models (*.gguf);;All files (*)"
        )
        dialog.setObjectName("modelImportDialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda path: self.import_file(Path(path)))
        dialog.open()
        return dialog

    def import_file(self, path: Path) -> None:
        """Check and import ``path`` in a worker."""
        store = self.store
        self.show_info(f"Checking {path.name} …")
        self._run(lambda: store.import_file(path, actor="ui"), "", "llm-model-import")

    def _run(self, call: Any, success: str, name: str) -> None:
        def work(_flag: threading.Event) -> object:
            try:
                return call()
            except FameError as exc:
                return exc

        def done(result: object) -> None:
            if isinstance(result, FameError):
                self.show_error(result.message, result.fix)
            elif isinstance(result, ModelAdded):
                active = (
                    " It is the active model now." if result.activated else " Press Use to answer with it."
                )
                self.show_info(f"Imported {result.model.name} ({result.info.architecture}).{active}")
                if result.warning:
                    self.show_error(result.warning, "")
            else:
                self.show_info(success)
            self.refresh()
            self.modelsChanged.emit()

        def failed(exc: BaseException) -> None:
            self.show_error(f"Unexpected error: {exc!r}", "")

        self._workers.run_blocking(work, name=name, group=GROUP, on_done=done, on_error=failed)

    def _on_settings(self, event: SettingsChanged) -> None:
        if "llm.local_model" in event.changes or "network.allow_network" in event.changes:
            self.refresh()

    # --- messages and teardown -------------------------------------------------------------------

    def show_error(self, message: str, fix: str) -> None:
        """Show what went wrong and how to fix it."""
        self.status.setStyleSheet("color: #c62828;")
        self.status.setText(f"⚠ {message}" + (f"\nFix: {fix}" if fix else ""))

    def show_info(self, message: str) -> None:
        """Show a neutral message."""
        self.status.setStyleSheet("")
        self.status.setText(message)

    def close_subscriptions(self) -> None:
        """Stop listening to the bus; a running download pauses (its partial file is kept)."""
        for sub in self._subs:
            sub.cancel()
        self._subs = []
        self._pause.set()


class QtModelPrompt(QPushButton):
    """First-run prompt in the status bar: shown while no language model is installed (and no endpoint is set).

    Non-modal: it only offers; clicking it emits :attr:`requested` (the window opens the Models tab).

    Args:
        app: The services.
        workers: Checks the models folder off the Qt thread.
    """

    requested = Signal()

    def __init__(self, app: App, workers: QtWorkerManager, parent: QWidget | None = None) -> None:
        super().__init__("Get a language model…", parent)
        self.setObjectName("modelPromptButton")
        self.setToolTip(
            "No language model is installed: download one (or import a .gguf) to get real answers offline."
        )
        self.setFlat(True)
        self.setVisible(False)
        self._app = app
        self._workers = workers
        self.clicked.connect(lambda _c=False: self.requested.emit())
        self._subs = [app.bus.subscribe(SettingsChanged, lambda _e: self.refresh())]
        self.refresh()

    def refresh(self) -> None:
        """Show the prompt if no model is installed (checked in a worker)."""
        store = self._app.models
        settings = self._app.settings
        # Someone who answers from an endpoint (Ollama, LM Studio, hosted) has a model already.
        endpoint = settings.get("llm.backend") == "openai" or bool(settings.get("llm.base_url"))

        def work(_flag: threading.Event) -> bool:
            return endpoint or bool(store.installed())

        self._workers.run_blocking(
            work,
            name="llm-model-prompt",
            group="llm-model-prompt",
            on_done=lambda has: self.setVisible(not has),
        )

    def close_subscriptions(self) -> None:
        """Stop listening to the bus."""
        for sub in self._subs:
            sub.cancel()
        self._subs = []
