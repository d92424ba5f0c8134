"""The model manager's downloader against a real HTTP server on 127.0.0.1 that honours Range."""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fame_cli import run_fame
from model_server import MODEL, Served, model_zip, serve

from fame_desktop.orchestrator.errors import NetworkDisabled
from fame_desktop.orchestrator.voice.download import ModelDownloader
from fame_desktop.orchestrator.voice.errors import DownloadCancelled, DownloadFailed, ModelProblem
from fame_desktop.orchestrator.voice.models import find_models, model_problem


@pytest.fixture
def server() -> Iterator[tuple[str, Served]]:
    with serve() as (base, served):
        yield base, served


def test_full_download_installs_a_model_that_is_then_listed(
    server: tuple[str, Served], tmp_path: Path
) -> None:
    base, served = server
    archive = model_zip(tmp_path)
    served.files[f"/{MODEL}.zip"] = archive
    models = tmp_path / "data" / "models"
    seen: list[tuple[int, int | None]] = []
    result = ModelDownloader(models, allow_network=False).download(
        f"{base}/{MODEL}.zip",
        sha256=hashlib.sha256(archive).hexdigest(),
        progress=lambda d, t: seen.append((d, t)),
    )
    assert result.path == models / MODEL
    assert model_problem(result.path) == ""
    assert result.resumed_from == 0 and result.size == len(archive)
    assert seen[-1] == (len(archive), len(archive))
    assert [m.name for m in find_models("", models) if m.source == "data_dir"] == [MODEL]
    assert not list(models.glob("*.part")) and not list(models.glob(".extract-*"))


def test_interrupted_download_resumes_from_the_partial_file(
    server: tuple[str, Served], tmp_path: Path
) -> None:
    base, served = server
    archive = model_zip(tmp_path)
    served.files[f"/{MODEL}.zip"] = archive
    served.cut_after = 250_000
    models = tmp_path / "models"
    downloader = ModelDownloader(models, allow_network=False)
    url = f"{base}/{MODEL}.zip"
    with pytest.raises(DownloadFailed, match="interrupted after 250000 bytes") as info:
        downloader.download(url)
    assert "resumes where it stopped" in info.value.fix
    assert downloader.part_file(url).stat().st_size == 250_000
    assert not (models / MODEL).exists()

    result = downloader.download(url)
    assert served.ranges == [None, "bytes=250000-"]
    assert result.resumed_from == 250_000
    assert result.bytes_downloaded == len(archive) - 250_000
    assert served.sent[-1] == len(archive) - 250_000
    assert model_problem(result.path) == ""
    assert (result.path / "am" / "final.mdl").stat().st_size == 600_000


def test_corrupt_archive_is_refused_and_nothing_is_installed(
    server: tuple[str, Served], tmp_path: Path
) -> None:
    base, served = server
    archive = bytearray(model_zip(tmp_path))
    archive[1000:1100] = b"\0" * 100  # damage a stored member: its CRC no longer matches
    served.files[f"/{MODEL}.zip"] = bytes(archive)
    served.files["/garbage.zip"] = b"this is not a zip file at all" * 100
    models = tmp_path / "models"
    downloader = ModelDownloader(models, allow_network=False)
    for name in (f"{MODEL}.zip", "garbage.zip"):
        with pytest.raises(DownloadFailed, match="corrupt") as info:
            downloader.download(f"{base}/{name}")
        assert "Download again" in info.value.fix
    assert list(models.iterdir()) == []  # no model, no .part, no staging folder


def test_wrong_checksum_and_non_model_archive_are_refused(server: tuple[str, Served], tmp_path: Path) -> None:
    base, served = server
    served.files[f"/{MODEL}.zip"] = model_zip(tmp_path)
    notes = tmp_path / "notes.zip"
    with zipfile.ZipFile(notes, "w") as zf:
        zf.writestr("notes/readme.txt", "hello")
    served.files["/notes.zip"] = notes.read_bytes()
    models = tmp_path / "models"
    downloader = ModelDownloader(models, allow_network=False)
    with pytest.raises(DownloadFailed, match="SHA-256"):
        downloader.download(f"{base}/{MODEL}.zip", sha256="0" * 64)
    with pytest.raises(ModelProblem, match="does not contain a Vosk model"):
        downloader.download(f"{base}/notes.zip")
    assert list(models.iterdir()) == []


def test_unsafe_paths_in_the_archive_are_refused(server: tuple[str, Served], tmp_path: Path) -> None:
    base, served = server
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("m/am/final.mdl", "x")
        zf.writestr("../../escaped.txt", "owned")
    served.files["/evil.zip"] = evil.read_bytes()
    models = tmp_path / "data" / "models"
    with pytest.raises(DownloadFailed, match="unsafe path"):
        ModelDownloader(models, allow_network=False).download(f"{base}/evil.zip")
    assert not (tmp_path / "escaped.txt").exists()
    assert list(models.iterdir()) == []


def test_network_setting_off_refuses_remote_urls_before_connecting(tmp_path: Path) -> None:
    downloader = ModelDownloader(tmp_path / "models", allow_network=False)
    with pytest.raises(NetworkDisabled) as info:
        downloader.download("https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip")
    assert info.value.code == "network_disabled"
    assert "admin" in info.value.fix
    assert not (tmp_path / "models").exists()


def test_cancel_keeps_the_partial_file_for_a_later_resume(server: tuple[str, Served], tmp_path: Path) -> None:
    base, served = server
    archive = model_zip(tmp_path)
    served.files[f"/{MODEL}.zip"] = archive
    downloader = ModelDownloader(tmp_path / "models", allow_network=False)
    url = f"{base}/{MODEL}.zip"
    cancel = threading.Event()

    def progress(done: int, total: int | None) -> None:
        if done >= 128 * 1024:
            cancel.set()

    with pytest.raises(DownloadCancelled):
        downloader.download(url, progress=progress, cancel=cancel)
    kept = downloader.part_file(url).stat().st_size
    assert 0 < kept < len(archive)
    result = downloader.download(url)
    assert result.resumed_from == kept
    assert model_problem(result.path) == ""


def test_cli_download_checks_the_configured_checksum_of_the_configured_url(
    server: tuple[str, Served], tmp_path: Path
) -> None:
    base, served = server
    archive = model_zip(tmp_path)
    served.files[f"/{MODEL}.zip"] = archive
    env = {**os.environ, "FAME_HOME": str(tmp_path / "home")}

    def fame(*args: str) -> subprocess.CompletedProcess[str]:
        return run_fame(*args, env=env, timeout=120)

    assert fame("admin", "set", "voice.model_url", f"{base}/{MODEL}.zip").returncode == 0
    bad = fame("admin", "set", "voice.model_sha256", "12345")
    assert bad.returncode != 0 and "64 hexadecimal digits" in bad.stdout + bad.stderr
    assert fame("admin", "set", "voice.model_sha256", "0" * 64).returncode == 0

    refused = fame("voice", "models", "--download")
    assert refused.returncode != 0
    assert f"SHA-256 is {hashlib.sha256(archive).hexdigest()}" in refused.stdout + refused.stderr
    assert not (tmp_path / "home" / "models" / MODEL).exists()

    # An explicit --sha256 is the one checked; the installed model is then listed.
    done = fame("voice", "models", "--download", "--sha256", hashlib.sha256(archive).hexdigest())
    assert done.returncode == 0, done.stdout + done.stderr
    assert MODEL in fame("voice", "models").stdout
