"""The shared downloader against a real HTTP server on 127.0.0.1 (Range, cuts, throttling)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from model_server import Served, serve

from fame_desktop.orchestrator.downloads import (
    DownloadCancelled,
    Downloader,
    DownloadFailed,
    DownloadPaused,
    NotEnoughDisk,
)
from fame_desktop.orchestrator.errors import NetworkDisabled
from fame_desktop.orchestrator.events import DownloadProgress, EventBus

BODY = hashlib.sha256(b"seed").digest() * 20_000  # 640 000 bytes
SHA = hashlib.sha256(BODY).hexdigest()


@pytest.fixture
def server() -> Iterator[tuple[str, Served]]:
    with serve() as (base, served):
        served.files["/m.gguf"] = BODY
        yield base, served


def _events(bus: EventBus) -> list[DownloadProgress]:
    seen: list[DownloadProgress] = []
    bus.subscribe(DownloadProgress, seen.append)
    return seen


def test_progress_events_carry_bytes_total_speed_and_eta(server: tuple[str, Served], tmp_path: Path) -> None:
    base, served = server
    served.throttle, served.chunk = 0.02, 64_000  # ten chunks, about 0.2 s
    bus = EventBus()
    seen = _events(bus)
    result = Downloader(allow_network=False, bus=bus).fetch(
        f"{base}/m.gguf", tmp_path / "m.gguf.part", label="m", download_id="id1", sha256=SHA
    )
    assert result.size == len(BODY) and result.sha256 == SHA and result.resumed_from == 0
    states = [e.state for e in seen]
    assert states[0] == "connecting" and states[-2:] == ["verifying", "done"]
    moving = [e for e in seen if e.state == "downloading"]
    assert len(moving) >= 2, states
    assert all(e.download_id == "id1" and e.total == len(BODY) for e in moving)
    assert [e.done for e in moving] == sorted(e.done for e in moving)
    assert moving[-1].done == len(BODY)
    assert all(e.speed > 0 for e in moving)
    assert any(e.eta is not None and e.eta > 0 for e in moving[:-1])


def test_a_cut_download_resumes_where_it_stopped(server: tuple[str, Served], tmp_path: Path) -> None:
    base, served = server
    served.cut_after = 300_000
    part = tmp_path / "m.gguf.part"
    downloader = Downloader(allow_network=False)
    with pytest.raises(DownloadFailed, match="interrupted after 300000 bytes") as info:
        downloader.fetch(f"{base}/m.gguf", part, label="m", sha256=SHA)
    assert "resumes" in info.value.fix and part.stat().st_size == 300_000
    result = downloader.fetch(f"{base}/m.gguf", part, label="m", sha256=SHA)
    assert served.ranges == [None, "bytes=300000-"]
    assert result.resumed_from == 300_000 and result.bytes_fetched == len(BODY) - 300_000
    assert part.read_bytes() == BODY


def test_a_wrong_checksum_deletes_the_file(server: tuple[str, Served], tmp_path: Path) -> None:
    base, _served = server
    part = tmp_path / "m.gguf.part"
    with pytest.raises(DownloadFailed, match=f"SHA-256 is {SHA}, expected {'0' * 64}") as info:
        Downloader(allow_network=False).fetch(f"{base}/m.gguf", part, label="m", sha256="0" * 64)
    assert "nothing was installed" in info.value.fix
    assert not part.exists()


def test_too_little_disk_is_refused_before_and_after_connecting(
    server: tuple[str, Served], tmp_path: Path
) -> None:
    base, served = server
    tight = Downloader(allow_network=False, free_space=lambda _p: 100_000, reserve=0)
    with pytest.raises(NotEnoughDisk, match=r"needs 640\.0 KB more and 100\.0 KB is free") as info:
        tight.fetch(f"{base}/m.gguf", tmp_path / "a.part", label="m", expected_size=len(BODY))
    assert "Free at least 540.0 KB" in info.value.fix
    assert served.ranges == []  # refused before connecting
    # No size given beforehand: the server's Content-Length is checked before writing anything.
    with pytest.raises(NotEnoughDisk):
        tight.fetch(f"{base}/m.gguf", tmp_path / "b.part", label="m")
    assert len(served.ranges) == 1 and not (tmp_path / "b.part").exists()


def test_pause_keeps_the_partial_file_and_cancel_deletes_it(
    server: tuple[str, Served], tmp_path: Path
) -> None:
    base, served = server
    served.throttle, served.chunk = 0.05, 32_000
    part = tmp_path / "m.gguf.part"
    downloader = Downloader(allow_network=False)
    flag = threading.Event()

    def stop_early(done: int, _total: int | None) -> None:
        if done >= 64_000:
            flag.set()

    with pytest.raises(DownloadPaused, match="paused") as paused:
        downloader.fetch(f"{base}/m.gguf", part, label="m", progress=stop_early, pause=flag)
    kept = part.stat().st_size
    assert 64_000 <= kept < len(BODY) and "resume" in paused.value.fix
    flag.clear()
    with pytest.raises(DownloadCancelled, match="cancelled") as cancelled:
        downloader.fetch(f"{base}/m.gguf", part, label="m", progress=stop_early, cancel=flag)
    assert not isinstance(cancelled.value, DownloadPaused)
    assert served.ranges[-1] == f"bytes={kept}-"
    assert not part.exists()


def test_the_network_gate_allows_only_loopback(tmp_path: Path) -> None:
    with pytest.raises(NetworkDisabled):
        Downloader(allow_network=False).fetch(
            "https://huggingface.co/x/resolve/main/m.gguf", tmp_path / "m.part", label="m"
        )
    assert not (tmp_path / "m.part").exists()


def test_two_downloads_into_one_partial_file_are_refused(server: tuple[str, Served], tmp_path: Path) -> None:
    base, served = server
    served.throttle, served.chunk = 0.05, 32_000
    part = tmp_path / "m.gguf.part"
    downloader = Downloader(allow_network=False)
    started = threading.Event()
    results: list[object] = []

    def first() -> None:
        results.append(
            downloader.fetch(
                f"{base}/m.gguf", part, label="m", progress=lambda *_a: started.set(), sha256=SHA
            )
        )

    thread = threading.Thread(target=first)
    thread.start()
    assert started.wait(10)
    with pytest.raises(DownloadFailed, match="being downloaded already"):
        downloader.fetch(f"{base}/m.gguf", part, label="m")
    thread.join(30)
    assert len(results) == 1 and part.read_bytes() == BODY  # the first one was not disturbed
