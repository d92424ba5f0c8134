"""One downloader for every model FAME fetches (language models and voice models).

A download streams into a ``.part`` file. If it stops (a network cut, Pause, a crash), the next
attempt asks the server for the rest with an HTTP ``Range`` request and appends. When the server
has sent everything, the size and the SHA-256 (when one is expected) are checked; the caller then
installs the file (a rename, or unpacking a zip) so a failed or corrupt download never replaces
anything already installed.

Before any byte is written the free disk space is checked against what is still to come (the
size the caller expects, then the size the server announces). Progress (bytes, total, speed, time
left) is published on the event bus as :class:`~fame_desktop.orchestrator.events.DownloadProgress`
so the window and the CLI show the same thing.

Downloading is a network action: it is refused while the network setting is off, except from a
loopback address (a mirror on this machine).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import ipaddress
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from fame_desktop.orchestrator.errors import FameError, InvalidRequest, NetworkDisabled
from fame_desktop.orchestrator.events import DownloadProgress, EventBus

log = logging.getLogger("fame.downloads")

Progress = Callable[[int, int | None], None]
"""Called with (bytes downloaded so far, total bytes or None)."""
FreeSpace = Callable[[Path], int]
"""Bytes free on the disk that holds a folder."""

PROGRESS_INTERVAL = 0.1  # seconds between progress events (the last one is always sent)
DISK_RESERVE_BYTES = 16 * 1024 * 1024  # left free after a download, so the disk is never filled to 0


class DownloadFailed(FameError):
    """A download failed; the message says whether it can be resumed."""

    code = "download_failed"


class DownloadCancelled(DownloadFailed):
    """The user stopped a download."""

    code = "cancelled"


class DownloadPaused(DownloadCancelled):
    """The user paused a download: the partial file is kept and the next attempt resumes it."""

    code = "paused"


class NotEnoughDisk(DownloadFailed):
    """The disk has too little free space for what is still to download."""

    code = "disk_full"


@dataclass(frozen=True)
class FetchResult:
    """A completed, checked download (still in its ``.part`` file).

    Attributes:
        part: The downloaded file, for the caller to install.
        size: Its size in bytes.
        bytes_fetched: Bytes fetched by this attempt (less than ``size`` when resumed).
        resumed_from: Size of the partial file this attempt continued from (0: fresh start).
        sha256: The file's SHA-256, hex.
    """

    part: Path
    size: int
    bytes_fetched: int
    resumed_from: int
    sha256: str


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` points at this machine (``localhost`` or a loopback IP)."""
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_http_url(url: str, fix: str) -> None:
    """Raise :class:`InvalidRequest` unless ``url`` is an http(s) URL with a host."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InvalidRequest(f"'{url}' is not an http(s) URL.", fix)


def disk_free(folder: Path) -> int:
    """Bytes free on the disk holding ``folder`` (or its nearest existing parent)."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def file_sha256(path: Path, cancel: threading.Event | None = None) -> str:
    """The SHA-256 of ``path``, hex (stops with :class:`DownloadCancelled` when ``cancel`` is set)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled("Checking the download was stopped.", "Download again to check it.")
            digest.update(block)
    return digest.hexdigest()


def human_size(n: float) -> str:
    """``398.0 MB`` (decimal units, as download pages show sizes)."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


class _Meter:
    """Turns byte counts into progress events (speed, time left) at most every interval."""

    def __init__(
        self,
        bus: EventBus | None,
        callback: Progress | None,
        download_id: str,
        label: str,
        resumed_from: int,
    ) -> None:
        self._bus = bus
        self._callback = callback
        self._id = download_id
        self._label = label
        self._base = resumed_from
        self._start = time.monotonic()
        self._last = 0.0

    def state(self, state: str, done: int, total: int | None, message: str = "") -> None:
        """Publish a change of state (always sent)."""
        self._publish(state, done, total, message)

    def bytes(self, done: int, total: int | None) -> None:
        """Report ``done`` bytes (sent at most every :data:`PROGRESS_INTERVAL`, and at the end)."""
        if self._callback is not None:
            self._callback(done, total)
        now = time.monotonic()
        if now - self._last < PROGRESS_INTERVAL and not (total is not None and done >= total):
            return
        self._last = now
        self._publish("downloading", done, total, "")

    def _publish(self, state: str, done: int, total: int | None, message: str) -> None:
        if self._bus is None:
            return
        elapsed = max(time.monotonic() - self._start, 1e-3)
        speed = max(done - self._base, 0) / elapsed
        eta = (total - done) / speed if total is not None and speed > 0 and done <= total else None
        self._bus.publish(
            DownloadProgress(
                download_id=self._id,
                label=self._label,
                state=state,
                done=done,
                total=total,
                speed=speed,
                eta=eta,
                message=message,
            )
        )


class Downloader:
    """Fetches one URL into a ``.part`` file: resumable, checked, pausable (blocking: run it in a thread).

    Args:
        allow_network: The network setting; when false only loopback URLs are allowed.
        bus: Where :class:`DownloadProgress` events go (None: nowhere).
        timeout: Seconds to wait for the server (connect and between chunks).
        free_space: Bytes free on the disk holding a folder (injectable for tests and odd filesystems).
        reserve: Bytes that must stay free after the download.
    """

    def __init__(
        self,
        *,
        allow_network: bool,
        bus: EventBus | None = None,
        timeout: float = 30.0,
        free_space: FreeSpace = disk_free,
        reserve: int = DISK_RESERVE_BYTES,
    ) -> None:
        self.allow_network = allow_network
        self.bus = bus
        self.timeout = timeout
        self.free_space = free_space
        self.reserve = reserve

    def check_network(self, url: str, what: str) -> None:
        """Raise :class:`NetworkDisabled` when ``url`` needs the network and it is off."""
        if not self.allow_network and not is_loopback_url(url):
            raise NetworkDisabled(what)

    def check_disk(self, folder: Path, still_to_come: int, label: str) -> None:
        """Refuse a download whose remaining ``still_to_come`` bytes do not fit on the disk.

        Raises:
            NotEnoughDisk: with how much is needed, how much is free, and the fix.
        """
        if still_to_come <= 0:
            return
        free = self.free_space(folder)
        if free < still_to_come + self.reserve:
            raise NotEnoughDisk(
                f"Not enough disk space to download {label}: it needs {human_size(still_to_come)} "
                f"more and {human_size(free)} is free on the disk holding {folder}.",
                f"Free at least {human_size(still_to_come + self.reserve - free)} on that disk "
                "(or remove models you no longer use), then download again.",
            )

    def fetch(
        self,
        url: str,
        part: Path,
        *,
        label: str,
        download_id: str = "",
        expected_size: int | None = None,
        sha256: str | None = None,
        progress: Progress | None = None,
        pause: threading.Event | None = None,
        cancel: threading.Event | None = None,
        url_fix: str = "Check the address, or try again later.",
    ) -> FetchResult:
        """Download (or resume) ``url`` into ``part`` and check it.

        Args:
            url: What to fetch.
            part: The partial file (kept between attempts).
            label: What the download is, for messages and progress events.
            download_id: Groups this download's progress events (default: ``label``).
            expected_size: Bytes the caller expects (a catalog's size): checked against the free
                disk before connecting. The server's own length is what the file is checked against.
            sha256: Expected SHA-256; a mismatch deletes the partial file.
            progress: Also called with (done, total) for every chunk.
            pause: When set, stop and keep the partial file (:class:`DownloadPaused`).
            cancel: When set, stop and delete the partial file (:class:`DownloadCancelled`).
            url_fix: The fix shown when the server answers with an HTTP error.

        Raises:
            NetworkDisabled: the network setting is off and ``url`` is not on this machine.
            NotEnoughDisk: the rest of the file does not fit on the disk.
            DownloadPaused: ``pause`` was set (the partial file is kept).
            DownloadCancelled: ``cancel`` was set (the partial file is deleted).
            DownloadFailed: the connection failed (resumable), or the file has the wrong size or
                checksum (the partial file is deleted).
        """
        self.check_network(url, f"Downloading {label}")
        part.parent.mkdir(parents=True, exist_ok=True)
        have = part.stat().st_size if part.exists() else 0
        if expected_size is not None:
            self.check_disk(part.parent, expected_size - have, label)
        meter = _Meter(self.bus, progress, download_id or label, label, have)
        meter.state("connecting", have, expected_size)
        try:
            with _exclusive(part, label):
                resumed_from, fetched, size = self._stream(url, part, label, meter, pause, cancel, url_fix)
                meter.state("verifying", size, size)
                digest = file_sha256(part, cancel)
        except DownloadPaused as exc:
            meter.state("paused", _size(part), expected_size, exc.message)
            raise
        except DownloadCancelled as exc:
            part.unlink(missing_ok=True)
            meter.state("cancelled", 0, expected_size, exc.message)
            raise
        except FameError as exc:
            meter.state("failed", _size(part), expected_size, exc.message)
            raise
        if sha256 and digest.lower() != sha256.lower():
            part.unlink(missing_ok=True)  # a wrong file must not be "resumed"
            mismatch = DownloadFailed(
                f"The downloaded {label}'s SHA-256 is {digest}, expected {sha256}.",
                "The file is corrupt or not the expected one; it was deleted and nothing was installed. "
                "Download again; if it happens again the source has changed.",
            )
            meter.state("failed", 0, size, mismatch.message)
            raise mismatch
        meter.state("done", size, size)
        return FetchResult(
            part=part, size=size, bytes_fetched=fetched, resumed_from=resumed_from, sha256=digest
        )

    def _stream(
        self,
        url: str,
        part: Path,
        label: str,
        meter: _Meter,
        pause: threading.Event | None,
        cancel: threading.Event | None,
        url_fix: str,
    ) -> tuple[int, int, int]:
        """Stream ``url`` into ``part``; returns (resumed from, bytes fetched, total size)."""
        import httpx  # loaded with the first download, not when the window starts

        have = _size(part)
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
                        f"The server refused to resume the download of {label}.",
                        "The partial file was deleted; try again to start over.",
                    )
                if resp.status_code not in (200, 206):
                    raise DownloadFailed(
                        f"Downloading {label} failed: HTTP {resp.status_code} from {url}.", url_fix
                    )
                if resp.status_code == 206:
                    content_range = resp.headers.get("content-range", "")
                    if _start_from_content_range(content_range) != have:
                        part.unlink(missing_ok=True)
                        raise DownloadFailed(
                            f"The server resumed {label} at the wrong byte.",
                            "The partial file was deleted; try again to start over.",
                        )
                    total = _total_from_content_range(content_range)
                    resumed_from = have
                else:
                    # 200: a fresh start (or a server that ignores Range): begin from zero.
                    length = resp.headers.get("content-length")
                    total = int(length) if length and length.isdigit() else None
                    resumed_from = have = 0
                if total is not None:
                    self.check_disk(part.parent, total - have, label)
                with part.open("ab" if resumed_from else "wb") as fh:
                    for chunk in resp.iter_bytes():  # no re-chunking: nothing received is lost on a cut
                        if cancel is not None and cancel.is_set():
                            raise DownloadCancelled(
                                f"The download of {label} was cancelled.",
                                "The partial file was deleted; download again to start over.",
                            )
                        if pause is not None and pause.is_set():
                            raise DownloadPaused(
                                f"The download of {label} was paused at {human_size(have + fetched)}.",
                                f"The {have + fetched} bytes received are kept in {part.name}; "
                                "download again to resume.",
                            )
                        fh.write(chunk)
                        fetched += len(chunk)
                        meter.bytes(have + fetched, total)
        except httpx.HTTPError as exc:
            raise DownloadFailed(
                f"The download of {label} was interrupted after {have + fetched} bytes ({exc!r}).",
                "Run the download again: it resumes where it stopped.",
            ) from exc
        size = have + fetched
        if total is not None and size != total:
            raise DownloadFailed(
                f"The download of {label} ended after {size} of {total} bytes.",
                "Run the download again: it resumes where it stopped.",
            )
        return resumed_from, fetched, size


@contextlib.contextmanager
def _exclusive(part: Path, label: str) -> Iterator[None]:
    """Hold an exclusive lock on ``part`` so two FAMEs (the window and the CLI) never write it at once.

    Raises:
        DownloadFailed: another process or thread is downloading into ``part`` now.
    """
    with part.open("ab") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DownloadFailed(
                f"{label} is being downloaded already (by this or another FAME window or command).",
                "Wait for that download to finish, or pause it there first.",
            ) from None
        try:
            yield
        finally:
            if _size(part) == 0:
                part.unlink(missing_ok=True)  # nothing arrived: leave no empty partial file behind
            fcntl.flock(handle, fcntl.LOCK_UN)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


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
