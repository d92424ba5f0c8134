"""The installed local language models: list, download, import, use, remove (all audited).

Models are ``.gguf`` files in ``DataPaths.llm_models``; the active one is the ``llm.local_model``
setting. Every way in goes through a temporary file beside the models (``.<name>.part`` for a
download, ``.import-*.part`` for an import) that is checked (size, SHA-256, the GGUF header, and a
trial load in a child process for files from outside) and only then renamed into place, so a
failure never replaces or damages a model already installed. A model that arrives while none is
active becomes the active one; removing the active one clears the setting.

Who may do what: downloading a catalog entry whose checksum is pinned is a user action (audited);
an arbitrary URL or an unpinned entry needs an admin key. Blocking: call it from a worker thread.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

from fame_desktop.orchestrator.audit_kinds import AuditAppend, AuditKind
from fame_desktop.orchestrator.downloads import (
    DownloadCancelled,
    Downloader,
    FreeSpace,
    Progress,
    disk_free,
    human_size,
    require_http_url,
)
from fame_desktop.orchestrator.errors import FameError, InvalidRequest
from fame_desktop.orchestrator.events import EventBus
from fame_desktop.orchestrator.llm.catalog import Catalog, CatalogEntry, load_catalog
from fame_desktop.orchestrator.llm.gguf_check import (
    GgufInfo,
    ModelFileError,
    available_memory,
    check_gguf,
    check_memory,
    memory_warning,
    total_memory,
    trial_load,
)
from fame_desktop.orchestrator.safety import Safety
from fame_desktop.orchestrator.settings import SettingsStore

log = logging.getLogger("fame.llm.models")

ACTIVE_SETTING = "llm.local_model"
TrialLoad = Callable[[Path], object]


class ModelNotFound(FameError):
    """No installed model or catalog entry has that name."""

    code = "not_found"


@dataclass(frozen=True)
class InstalledModel:
    """One ``.gguf`` file in the models folder.

    Attributes:
        name: The file name (what ``llm.local_model`` holds).
        path: The file.
        size: Bytes on disk.
        active: Whether it is ``llm.local_model``.
        catalog_id: The catalog entry it was downloaded from (None: imported or unknown).
    """

    name: str
    path: Path
    size: int
    active: bool
    catalog_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "name": self.name,
            "path": str(self.path),
            "size": self.size,
            "active": self.active,
            "catalog_id": self.catalog_id,
        }


@dataclass(frozen=True)
class CatalogRow:
    """A catalog entry with its state here.

    Attributes:
        entry: The catalog entry.
        installed: Whether its file is in the models folder.
        active: Whether it is the active model.
        partial: Bytes of an unfinished download kept for resuming (0: none).
        fits: Whether this machine has the memory it needs.
    """

    entry: CatalogEntry
    installed: bool
    active: bool
    partial: int
    fits: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        e = self.entry
        return {
            "id": e.id,
            "name": e.name,
            "file": e.file,
            "size_bytes": e.size_bytes,
            "ram_bytes": e.ram_bytes,
            "licence": e.licence,
            "pinned": e.pinned,
            "sha256": e.sha256,
            "url": e.url,
            "installed": self.installed,
            "active": self.active,
            "partial_bytes": self.partial,
            "fits_memory": self.fits,
        }


@dataclass(frozen=True)
class ModelAdded:
    """What a download or import installed.

    Attributes:
        model: The installed model.
        info: What its header says.
        activated: Whether it became the active model (none was active).
        resumed_from: Bytes a download resumed from (0: fresh, or an import).
        warning: A memory warning to show (empty: none).
    """

    model: InstalledModel
    info: GgufInfo
    activated: bool
    resumed_from: int = 0
    warning: str = ""


def url_file_name(url: str) -> str:
    """The ``.gguf`` file name at the end of ``url``'s path.

    Raises:
        InvalidRequest: not an http(s) URL, or it does not name a ``.gguf`` file.
    """
    require_http_url(url, "Give the http(s) address of a .gguf file.")
    name = PurePosixPath(unquote(urlparse(url).path)).name
    if not name.endswith(".gguf") or name.startswith(".") or len(name) <= 5:
        raise InvalidRequest(
            f"'{url}' does not name a .gguf file.",
            "Use a link that ends in .gguf (a Hugging Face 'resolve' link).",
        )
    return name


def llama_cpp_present() -> bool:
    """Whether llama.cpp's Python binding is installed (the trial load needs it)."""
    return importlib.util.find_spec("llama_cpp") is not None


class ModelStore:
    """The local language models of one data dir.

    Args:
        models_dir: ``DataPaths.llm_models``.
        catalog: The catalog offered, or what loads it (default: the shipped one, on first use).
        settings: The settings store (``llm.local_model``, ``llm.context_size``, the network).
        safety: Admin checks and audited setting changes.
        audit: ``AuditLog.append``.
        bus: Where download progress goes.
        free_space: Bytes free on the disk holding a folder.
        memory: Bytes of memory of this machine (a model needing more is refused).
        free_memory: Bytes of memory free now (a model needing more gets a warning).
        trial: Loads a file from outside in a child process (None: header checks only).
    """

    def __init__(
        self,
        *,
        models_dir: Path,
        catalog: Catalog | Callable[[], Catalog] = load_catalog,
        settings: SettingsStore,
        safety: Safety,
        audit: AuditAppend,
        bus: EventBus | None = None,
        free_space: FreeSpace = disk_free,
        memory: Callable[[], int] = total_memory,
        free_memory: Callable[[], int] = available_memory,
        trial: TrialLoad | None = trial_load,
    ) -> None:
        self.models_dir = models_dir
        self._catalog = catalog if isinstance(catalog, Catalog) else None
        self._load_catalog = catalog if not isinstance(catalog, Catalog) else None
        self._settings = settings
        self._safety = safety
        self._audit = audit
        self._bus = bus
        self._free_space = free_space
        self._memory = memory
        self._free_memory = free_memory
        self._trial = trial
        self._lock = threading.Lock()  # one install or removal at a time

    # --- state -----------------------------------------------------------------------------------

    @property
    def catalog(self) -> Catalog:
        """The catalog (read on first use, so a broken file never stops the app from starting)."""
        if self._catalog is None:
            assert self._load_catalog is not None
            self._catalog = self._load_catalog()
        return self._catalog

    @property
    def active_name(self) -> str:
        """``llm.local_model`` (empty: none)."""
        return str(self._settings.get(ACTIVE_SETTING) or "")

    def installed(self) -> list[InstalledModel]:
        """The ``.gguf`` files in the models folder, sorted by name (downloads in progress excluded)."""
        if not self.models_dir.is_dir():
            return []
        active = self.active_name
        found = []
        for path in sorted(self.models_dir.iterdir()):
            if path.name.startswith(".") or path.suffix != ".gguf" or not path.is_file():
                continue
            entry = self.catalog.by_file(path.name)
            found.append(
                InstalledModel(
                    name=path.name,
                    path=path,
                    size=path.stat().st_size,
                    active=path.name == active,
                    catalog_id=entry.id if entry else None,
                )
            )
        return found

    def rows(self) -> list[CatalogRow]:
        """The catalog with what is installed, active, half-downloaded, and what fits in memory."""
        active = self.active_name
        memory = self._memory()
        rows = []
        for entry in self.catalog.models:
            part = self.part_file(entry.file)
            rows.append(
                CatalogRow(
                    entry=entry,
                    installed=(self.models_dir / entry.file).is_file(),
                    active=entry.file == active,
                    partial=part.stat().st_size if part.is_file() else 0,
                    fits=not memory or entry.ram_bytes <= memory,
                )
            )
        return rows

    def part_file(self, file: str) -> Path:
        """Where the unfinished download of ``file`` is kept."""
        return self.models_dir / f".{file}.part"

    def find(self, name: str) -> InstalledModel:
        """The installed model named ``name`` (file name, with or without ``.gguf``, or catalog id).

        Raises:
            ModelNotFound: nothing installed has that name; the message lists what is.
        """
        entry = self.catalog.get(name)
        wanted = {name, f"{name}.gguf"} | ({entry.file} if entry else set())
        models = self.installed()
        for model in models:
            if model.name in wanted:
                return model
        names = ", ".join(m.name for m in models) or "none"
        raise ModelNotFound(
            f"No installed model is called '{name}' (installed: {names}).",
            "See `fame models list`; download one with `fame models download ID` or import a .gguf file.",
        )

    # --- download --------------------------------------------------------------------------------

    def download(
        self,
        what: str,
        *,
        key: str | None = None,
        actor: str = "unknown",
        sha256: str | None = None,
        progress: Progress | None = None,
        pause: threading.Event | None = None,
        cancel: threading.Event | None = None,
    ) -> ModelAdded:
        """Download a catalog entry (by id) or, for an admin, any ``.gguf`` URL, and install it.

        Args:
            what: A catalog id, or an http(s) URL of a ``.gguf`` file.
            key: Admin key (needed for a URL or an unpinned entry).
            actor: Who asks (``ui``, ``cli``).
            sha256: Expected SHA-256 for a URL download.
            progress: Called with (done, total) from the download thread.
            pause: Stop and keep the partial file.
            cancel: Stop and delete the partial file.

        Raises:
            ModelNotFound: ``what`` is neither a catalog id nor a URL.
            AdminRequired: a URL or an unpinned entry without a valid admin key.
            ModelTooLarge: the entry needs more memory than this machine has.
            NotEnoughDisk, DownloadFailed, DownloadPaused, DownloadCancelled, NetworkDisabled:
                from the downloader (see :mod:`fame_desktop.orchestrator.downloads`).
            ModelFileError: the downloaded file is not a usable model (nothing installed).
        """
        entry = self.catalog.get(what)
        if entry is None and "://" not in what:
            ids = ", ".join(e.id for e in self.catalog.models)
            raise ModelNotFound(
                f"'{what}' is not in the model catalog (ids: {ids}).",
                "Use an id from `fame models list`, or (admin) the URL of a .gguf file.",
            )
        if entry is not None:
            url, file, expected_sha, size = entry.url, entry.file, entry.sha256, entry.size_bytes
        else:
            url, file, expected_sha, size = what, url_file_name(what), sha256, None
        audit_data: dict[str, object] = {"url": url, "file": file, "catalog_id": entry.id if entry else None}
        try:
            authorised = self._authorise(entry, url, key, actor)
            audit_data["authorised_by"] = authorised
            target = self.models_dir / file
            if target.exists():
                raise FameError(
                    f"{file} is already installed.",
                    f"Use it with `fame models use {file}`, or remove it first to download it again.",
                )
            warning = ""
            if entry is not None:
                check_memory(entry.name, entry.ram_bytes, self._memory())
                warning = memory_warning(entry.name, entry.ram_bytes, self._free_memory())
            downloader = Downloader(
                allow_network=bool(self._settings.get("network.allow_network")),
                bus=self._bus,
                free_space=self._free_space,
            )
            fetched = downloader.fetch(
                url,
                self.part_file(file),
                label=entry.name if entry else file,
                download_id=entry.id if entry else file,
                expected_size=size,
                sha256=expected_sha,
                progress=progress,
                pause=pause,
                cancel=cancel,
            )
            audit_data.update(size=fetched.size, sha256=fetched.sha256, resumed_from=fetched.resumed_from)
            # A pinned file is the one its checksum names; anything else is tried in a child first.
            info = self._install(fetched.part, target, trial=not (entry is not None and entry.pinned))
        except DownloadCancelled as exc:
            self._record(
                AuditKind.MODEL_DOWNLOAD,
                {**audit_data, "outcome": exc.code},
                actor,
                f"model download {exc.code}: {file}",
            )
            raise
        except FameError as exc:
            self._record(
                AuditKind.MODEL_DOWNLOAD,
                {**audit_data, "outcome": "failed", "error": exc.code, "message": exc.message},
                actor,
                f"model download failed: {file}",
            )
            raise
        activated = self._adopt(target.name, actor)
        self._record(
            AuditKind.MODEL_DOWNLOAD,
            {**audit_data, "outcome": "installed", "activated": activated, "architecture": info.architecture},
            actor,
            f"model downloaded: {file}",
        )
        model = self.find(target.name)
        if not warning:
            warning = memory_warning(target.name, info.ram_needed, self._free_memory())
        return ModelAdded(model, info, activated, resumed_from=fetched.resumed_from, warning=warning)

    def _authorise(self, entry: CatalogEntry | None, url: str, key: str | None, actor: str) -> str:
        """Who allowed this download: ``catalog-pinned``, or the admin key id."""
        if entry is not None and entry.pinned:
            return "catalog-pinned"
        what = (
            f"downloading the unpinned catalog model {entry.id}"
            if entry
            else f"downloading a model from {url}"
        )
        try:
            return self._safety.require_admin(key, what, actor)
        except FameError as exc:
            self._record(
                AuditKind.MODEL_REFUSED,
                {"url": url, "catalog_id": entry.id if entry else None, "reason": exc.code},
                actor,
                f"model download refused: {what}",
            )
            raise

    # --- import ----------------------------------------------------------------------------------

    def import_file(
        self, source: Path, *, actor: str = "unknown", cancel: threading.Event | None = None
    ) -> ModelAdded:
        """Check ``source`` and copy it into the models folder.

        Raises:
            ModelFileError: not a usable ``.gguf`` (missing, a folder, empty, not GGUF, truncated,
                unknown architecture, llama.cpp cannot load it) — nothing is copied.
            ModelTooLarge: it needs more memory than this machine has.
            NotEnoughDisk: the copy does not fit.
            FameError: a model with that file name is installed already.
        """
        source = source.expanduser()
        name = source.name if source.suffix == ".gguf" else f"{source.name}.gguf"
        data: dict[str, object] = {"source": str(source), "file": name}
        try:
            info = self._check(source, trial=True)
            target = self.models_dir / name
            if target.exists():
                raise FameError(
                    f"A model called {name} is installed already.",
                    f"Use it with `fame models use {name}`, or remove it first to import this file.",
                )
            self.models_dir.mkdir(parents=True, exist_ok=True)
            Downloader(allow_network=False, free_space=self._free_space).check_disk(
                self.models_dir, info.file_size, name
            )
            fd, tmp_name = tempfile.mkstemp(prefix=".import-", suffix=".part", dir=self.models_dir)
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                _copy(source, tmp, cancel)
                if tmp.stat().st_size != info.file_size:
                    raise ModelFileError(
                        f"Copying {source.name} gave {tmp.stat().st_size} bytes, expected {info.file_size}.",
                        "The file changed while it was copied: try again.",
                    )
                info = self._install(tmp, target, trial=False)  # tried already, before copying
            finally:
                tmp.unlink(missing_ok=True)
        except FameError as exc:
            self._record(
                AuditKind.MODEL_IMPORT,
                {**data, "outcome": "failed", "error": exc.code, "message": exc.message},
                actor,
                f"model import failed: {name}",
            )
            raise
        activated = self._adopt(name, actor)
        self._record(
            AuditKind.MODEL_IMPORT,
            {
                **data,
                "outcome": "installed",
                "size": info.file_size,
                "architecture": info.architecture,
                "activated": activated,
            },
            actor,
            f"model imported: {name}",
        )
        warning = memory_warning(name, info.ram_needed, self._free_memory())
        return ModelAdded(self.find(name), info, activated, warning=warning)

    # --- use and remove --------------------------------------------------------------------------

    def use(self, name: str, *, actor: str = "unknown") -> tuple[InstalledModel, GgufInfo]:
        """Make the installed model ``name`` the active one (its header is checked first).

        Raises:
            ModelNotFound: it is not installed.
            ModelFileError: the file is damaged (the active model does not change).
        """
        model = self.find(name)
        info = self._check(model.path, trial=False)
        self._safety.update_settings({ACTIVE_SETTING: model.name}, actor=actor)
        self._record(
            AuditKind.MODEL_USE,
            {"file": model.name, "architecture": info.architecture},
            actor,
            f"model in use: {model.name}",
        )
        return self.find(model.name), info

    def remove(self, name: str, *, actor: str = "unknown") -> InstalledModel:
        """Delete the installed model ``name``; clears ``llm.local_model`` if it was the active one.

        Raises:
            ModelNotFound: it is not installed.
        """
        with self._lock:
            model = self.find(name)
            model.path.unlink()
            if model.active:
                self._safety.update_settings({ACTIVE_SETTING: ""}, actor=actor)
        self._record(
            AuditKind.MODEL_REMOVE,
            {"file": model.name, "size": model.size, "was_active": model.active},
            actor,
            f"model removed: {model.name}",
        )
        return model

    # --- shared steps ----------------------------------------------------------------------------

    def _check(self, path: Path, *, trial: bool) -> GgufInfo:
        context = int(self._settings.get("llm.context_size") or 4096)
        info = check_gguf(path, context_size=context, memory_source=self._memory)
        if trial and self._trial is not None and llama_cpp_present():
            self._trial(path)
        return info

    def _install(self, part: Path, target: Path, *, trial: bool) -> GgufInfo:
        """Check ``part`` and rename it to ``target``; a bad file is deleted, ``target`` untouched."""
        try:
            info = self._check(part, trial=trial)
        except FameError:
            part.unlink(missing_ok=True)
            raise
        with self._lock:
            if target.exists():
                part.unlink(missing_ok=True)
                raise FameError(f"{target.name} was installed meanwhile.", "Nothing was replaced.")
            os.replace(part, target)
        log.info("installed model %s (%s, %s)", target, info.architecture, human_size(info.file_size))
        return replace(info, path=target)

    def _adopt(self, name: str, actor: str) -> bool:
        """Make ``name`` active when no installed model is; whether it did."""
        active = self.active_name
        if active and (self.models_dir / active).is_file():
            return False
        self._safety.update_settings({ACTIVE_SETTING: name}, actor=actor)
        return True

    def _record(self, kind: AuditKind, data: dict[str, object], actor: str, summary: str) -> None:
        self._audit(kind, data, actor=actor, summary=summary[:200])


def _copy(source: Path, dest: Path, cancel: threading.Event | None) -> None:
    with source.open("rb") as src, dest.open("wb") as dst:
        while True:
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled(f"Importing {source.name} was cancelled.", "Nothing was installed.")
            block = src.read(1 << 20)
            if not block:
                break
            dst.write(block)
    shutil.copystat(source, dest, follow_symlinks=True)
