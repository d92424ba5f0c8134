"""Voice models: fetched by the shared downloader, then safely unpacked and checked.

The archive is fetched into ``<models>/<name>.zip.part`` by :class:`~fame_desktop.orchestrator.
downloads.Downloader` (resumable with HTTP ``Range``, size and optional SHA-256 checked, free disk
checked first, progress on the event bus, refused while the network is off except from loopback).
The zip is then unpacked into a hidden temporary folder next to the models (refusing absolute
paths, ``..`` and links), the result is checked to be a Vosk model, and only then renamed into
place: a failed or corrupt download never leaves a half-installed model. Cancel keeps the
partial file (the downloader's pause), so Download resumes it.
"""

from __future__ import annotations

import logging
import shutil
import stat
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from fame_desktop.orchestrator.downloads import (
    Downloader,
    FreeSpace,
    Progress,
    disk_free,
    is_loopback_url,
)
from fame_desktop.orchestrator.errors import InvalidRequest
from fame_desktop.orchestrator.events import EventBus
from fame_desktop.orchestrator.voice.errors import DownloadCancelled, DownloadFailed, ModelProblem
from fame_desktop.orchestrator.voice.models import model_problem

log = logging.getLogger("fame.voice.download")

__all__ = ["DownloadResult", "ModelDownloader", "Progress", "archive_name", "is_loopback_url"]

CHUNK = 64 * 1024


@dataclass(frozen=True)
class DownloadResult:
    """What a finished download installed.

    Attributes:
        path: The installed model folder.
        bytes_downloaded: Bytes fetched by this call (less than the size when resumed).
        resumed_from: Size of the partial file this call continued from (0: fresh start).
        size: Size of the archive.
    """

    path: Path
    bytes_downloaded: int
    resumed_from: int
    size: int


def archive_name(url: str) -> str:
    """The zip file name from the URL's path (``vosk-model-small-en-us-0.15.zip``).

    Raises:
        InvalidRequest: the URL is not http(s) or does not name a ``.zip`` file.
    """
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InvalidRequest(f"Model URL '{url}' is not an http(s) URL.", "Use the catalogue's .zip link.")
    name = PurePosixPath(unquote(parsed.path)).name
    if not name.endswith(".zip") or len(name) <= 4:
        raise InvalidRequest(
            f"Model URL '{url}' does not name a .zip archive.",
            "Use a link from https://alphacephei.com/vosk/models ending in .zip.",
        )
    return name


class ModelDownloader:
    """Downloads and installs one model archive (blocking: run it in a worker thread).

    Args:
        models_dir: ``<data dir>/models``; created if missing.
        allow_network: The network setting; when false only loopback URLs are allowed.
        timeout: Seconds to wait for the server (connect and between chunks).
        bus: Where download progress events go (None: nowhere).
        free_space: Bytes free on the disk holding a folder.
    """

    def __init__(
        self,
        models_dir: Path,
        *,
        allow_network: bool,
        timeout: float = 30.0,
        bus: EventBus | None = None,
        free_space: FreeSpace = disk_free,
    ) -> None:
        self.models_dir = models_dir
        self.allow_network = allow_network
        self.timeout = timeout
        self._downloader = Downloader(
            allow_network=allow_network, bus=bus, timeout=timeout, free_space=free_space
        )

    def part_file(self, url: str) -> Path:
        """Where the partial download of ``url`` is kept between attempts."""
        return self.models_dir / f"{archive_name(url)}.part"

    def download(
        self,
        url: str,
        *,
        sha256: str | None = None,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> DownloadResult:
        """Fetch (or resume), check and unpack the model at ``url``.

        Raises:
            NetworkDisabled: the network setting is off and ``url`` is not on this machine.
            DownloadCancelled: ``cancel`` was set (the partial file is kept).
            DownloadFailed: the connection failed (resumable), or the archive is corrupt or the
                wrong size or checksum (the partial file is deleted).
            ModelProblem: the archive does not contain a Vosk model, or it is already installed.
        """
        name = archive_name(url)
        self._downloader.check_network(url, "Downloading a voice model")
        target = self.models_dir / name.removesuffix(".zip")
        if target.exists():
            raise ModelProblem(
                f"A model is already installed at {target}.", "Delete that folder to download it again."
            )
        self.models_dir.mkdir(parents=True, exist_ok=True)
        part = self.part_file(url)
        # The window's and CLI's Cancel keeps the partial file: for the shared downloader that is a pause.
        fetched = self._downloader.fetch(
            url,
            part,
            label=f"voice model {name}",
            download_id=f"voice:{name}",
            sha256=sha256,
            progress=progress,
            pause=cancel,
            url_fix="Check the model URL in Settings (voice.model_url).",
        )
        try:
            path = self._install(part, target, cancel)
        except DownloadCancelled:
            raise
        except (DownloadFailed, ModelProblem):
            part.unlink(missing_ok=True)  # a bad archive must not be "resumed"
            raise
        part.unlink(missing_ok=True)
        log.info("installed model %s (%d bytes, resumed from %d)", path, fetched.size, fetched.resumed_from)
        return DownloadResult(
            path=path,
            bytes_downloaded=fetched.bytes_fetched,
            resumed_from=fetched.resumed_from,
            size=fetched.size,
        )

    # --- unpacking ------------------------------------------------------------------------------

    def _install(self, part: Path, target: Path, cancel: threading.Event | None) -> Path:
        staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=self.models_dir))
        try:
            _safe_extract(part, staging, cancel)
            entries = [p for p in staging.iterdir() if not p.name.startswith("__MACOSX")]
            root = entries[0] if len(entries) == 1 and entries[0].is_dir() else staging
            problem = model_problem(root)
            if problem:
                raise ModelProblem(
                    f"The downloaded archive does not contain a Vosk model ({problem}).",
                    "Check the model URL in Settings (voice.model_url); nothing was installed.",
                )
            if root is staging:
                staging.rename(target)
            else:
                root.rename(target)
            return target
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _safe_extract(archive: Path, dest: Path, cancel: threading.Event | None) -> None:
    """Unpack ``archive`` into ``dest``, refusing entries that would land outside it."""
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if cancel is not None and cancel.is_set():
                    raise DownloadCancelled("Model installation cancelled.", "Download again to install.")
                name = info.filename
                pure = PurePosixPath(name.replace("\\", "/"))
                if pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
                    raise DownloadFailed(
                        f"The archive contains an unsafe path '{name}'.",
                        "It was not unpacked. Use an archive from a trusted source.",
                    )
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise DownloadFailed(
                        f"The archive contains a symbolic link '{name}'.",
                        "It was not unpacked. Use an archive from a trusted source.",
                    )
                out = dest.joinpath(*pure.parts)
                if not out.resolve().is_relative_to(dest.resolve()):
                    raise DownloadFailed(f"The archive entry '{name}' escapes the target folder.", "")
                if info.is_dir():
                    out.mkdir(parents=True, exist_ok=True)
                    continue
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, out.open("wb") as dst:
                    shutil.copyfileobj(src, dst, CHUNK)  # reading checks each entry's CRC
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise DownloadFailed(
            f"The downloaded model archive is corrupt ({exc}).",
            "It was deleted and nothing was installed. Download again.",
        ) from exc
