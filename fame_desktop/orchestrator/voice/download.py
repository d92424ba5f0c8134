"""The model manager's downloader: resumable, checked, cancellable, safely unpacked.

A download streams into ``<models>/<name>.zip.part``. If it is interrupted (network error, cancel,
crash), the next attempt asks the server for the rest with an HTTP ``Range`` request and appends.
When complete, the size (``Content-Length``/``Content-Range``) and optional SHA-256 are checked, the
zip is unpacked into a hidden temporary folder next to the models (refusing absolute paths, ``..``
and links), the result is checked to be a Vosk model, and only then renamed into place: a failed
or corrupt download never leaves a half-installed model.

Downloading is a network action: it is refused while the network setting is off, except from a
loopback address (a mirror on this machine).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import shutil
import stat
import tempfile
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from fame_desktop.orchestrator.errors import InvalidRequest, NetworkDisabled
from fame_desktop.orchestrator.voice.errors import DownloadCancelled, DownloadFailed, ModelProblem
from fame_desktop.orchestrator.voice.models import model_problem

log = logging.getLogger("fame.voice.download")

Progress = Callable[[int, int | None], None]
"""Called with (bytes downloaded so far, total bytes or None)."""

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


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` points at this machine (``localhost`` or a loopback IP)."""
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
    """

    def __init__(self, models_dir: Path, *, allow_network: bool, timeout: float = 30.0) -> None:
        self.models_dir = models_dir
        self.allow_network = allow_network
        self.timeout = timeout

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
        if not self.allow_network and not is_loopback_url(url):
            raise NetworkDisabled("Downloading a voice model")
        target = self.models_dir / name.removesuffix(".zip")
        if target.exists():
            raise ModelProblem(
                f"A model is already installed at {target}.", "Delete that folder to download it again."
            )
        self.models_dir.mkdir(parents=True, exist_ok=True)
        part = self.part_file(url)
        resumed_from, fetched, size = self._fetch(url, part, progress, cancel)
        try:
            self._check(part, size, sha256)
            path = self._install(part, target, cancel)
        except DownloadCancelled:
            raise
        except (DownloadFailed, ModelProblem):
            part.unlink(missing_ok=True)  # a bad archive must not be "resumed"
            raise
        part.unlink(missing_ok=True)
        log.info("installed model %s (%d bytes, resumed from %d)", path, size, resumed_from)
        return DownloadResult(path=path, bytes_downloaded=fetched, resumed_from=resumed_from, size=size)

    # --- fetching -------------------------------------------------------------------------------

    def _fetch(
        self, url: str, part: Path, progress: Progress | None, cancel: threading.Event | None
    ) -> tuple[int, int, int]:
        """Stream ``url`` into ``part``; returns (resumed from, bytes fetched, total size)."""
        import httpx  # loaded with the first download, not when the window starts

        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        fetched = 0
        try:
            with (
                httpx.Client(timeout=self.timeout, follow_redirects=True) as client,
                client.stream("GET", url, headers=headers) as resp,
            ):
                if resp.status_code == 416 and have:
                    total = _total_from_content_range(resp.headers.get("content-range", ""))
                    if total == have:  # the previous attempt had everything already
                        return have, 0, have
                    part.unlink(missing_ok=True)
                    raise DownloadFailed(
                        f"The server refused to resume the download of {url}.",
                        "The partial file was deleted; try again to start over.",
                    )
                if resp.status_code not in (200, 206):
                    raise DownloadFailed(
                        f"Downloading {url} failed: HTTP {resp.status_code}.",
                        "Check the model URL in Settings (voice.model_url).",
                    )
                if resp.status_code == 206:
                    start = _start_from_content_range(resp.headers.get("content-range", ""))
                    if start != have:
                        part.unlink(missing_ok=True)
                        raise DownloadFailed(
                            f"The server resumed {url} at byte {start}, not {have}.",
                            "The partial file was deleted; try again to start over.",
                        )
                    total = _total_from_content_range(resp.headers.get("content-range", ""))
                    resumed_from = have
                else:
                    # 200: a fresh start (or a server that ignores Range): begin from zero.
                    length = resp.headers.get("content-length")
                    total = int(length) if length and length.isdigit() else None
                    resumed_from = have = 0
                mode = "ab" if resumed_from else "wb"
                with part.open(mode) as fh:
                    for chunk in resp.iter_bytes():  # no re-chunking: nothing received is lost on a cut
                        if cancel is not None and cancel.is_set():
                            raise DownloadCancelled(
                                "Model download cancelled.",
                                f"{have + fetched} bytes are kept in {part}; download again to resume.",
                            )
                        fh.write(chunk)
                        fetched += len(chunk)
                        if progress is not None:
                            progress(have + fetched, total)
        except httpx.HTTPError as exc:
            raise DownloadFailed(
                f"The download of {url} was interrupted after {have + fetched} bytes ({exc!r}).",
                "Run the download again: it resumes where it stopped.",
            ) from exc
        size = have + fetched
        if total is not None and size != total:
            raise DownloadFailed(
                f"The download of {url} ended after {size} of {total} bytes.",
                "Run the download again: it resumes where it stopped.",
            )
        return resumed_from, fetched, size

    # --- checking and unpacking -----------------------------------------------------------------

    @staticmethod
    def _check(part: Path, size: int, sha256: str | None) -> None:
        if part.stat().st_size != size:
            raise DownloadFailed(
                f"{part} has {part.stat().st_size} bytes, expected {size}.", "Download again."
            )
        if sha256:
            digest = hashlib.sha256()
            with part.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            if digest.hexdigest().lower() != sha256.lower():
                raise DownloadFailed(
                    f"The downloaded archive's SHA-256 is {digest.hexdigest()}, expected {sha256}.",
                    "The file is corrupt or not the expected model; it was deleted. Download again.",
                )

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


def _start_from_content_range(value: str) -> int:
    """``bytes 100-199/200`` -> 100 (-1 when absent or malformed)."""
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return -1


def _total_from_content_range(value: str) -> int | None:
    """``bytes 100-199/200`` or ``bytes */200`` -> 200 (None when unknown)."""
    tail = value.rpartition("/")[2].strip()
    return int(tail) if tail.isdigit() else None
