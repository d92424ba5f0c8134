"""Settings → Models in the real window, downloading from a real server on 127.0.0.1.

The catalog entry points at ``model_server`` (Range-capable, throttled so progress is seen); the
window's workers run the real store and downloader, which check the SHA-256 and the GGUF header
and install into the data dir.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gguf_files import truncated_copy, write_gguf
from model_server import Served, serve
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from fame_desktop.app import App
from fame_desktop.orchestrator.downloads import DownloadPaused
from fame_desktop.orchestrator.llm.catalog import Catalog, CatalogEntry, load_catalog
from fame_desktop.orchestrator.llm.model_store import ModelAdded, ModelStore
from fame_desktop.ui.qt_main_window import QtMainWindow
from fame_desktop.ui.qt_models import QtModelManager
from tests.ui.conftest import screenshot

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise")]

DOWNLOAD_MS = 30_000


@pytest.fixture
def model_bytes(tmp_path: Path) -> bytes:
    return write_gguf(tmp_path / "served.gguf", width=256, vocab=500).read_bytes()


@pytest.fixture
def server(model_bytes: bytes) -> Iterator[tuple[str, Served]]:
    with serve() as (base, served):
        served.files["/tiny.gguf"] = model_bytes
        served.throttle, served.chunk = 0.04, 16 * 1024
        yield base, served


def local_store(app: App, base: str, data: bytes, *others: CatalogEntry) -> ModelStore:
    entry = CatalogEntry(
        id="tiny-test",
        name="Tiny test model",
        file="tiny.gguf",
        url=f"{base}/tiny.gguf",
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        ram_bytes=50_000_000,
        licence="MIT",
    )
    return ModelStore(
        models_dir=app.paths.llm_models,
        catalog=Catalog(models=(*others, entry)),
        settings=app.settings,
        safety=app.safety,
        audit=app.audit.append,
        bus=app.bus,
        trial=None,
    )


def open_models(qtbot: QtBot, win: QtMainWindow, store: ModelStore) -> QtModelManager:
    keys = [e.id for e in store.catalog.models]
    prompt = win.model_prompt
    qtbot.waitUntil(prompt.isVisible, timeout=10_000)  # no model yet: the first-run prompt shows
    qtbot.mouseClick(prompt, Qt.MouseButton.LeftButton)
    dialog = win._settings_dialog
    assert dialog is not None and dialog.isVisible()
    models = dialog.findChild(QtModelManager, "modelManager")
    assert models is not None and dialog.tabs.currentWidget() is models and models.isVisible()
    models.store = store
    models.refresh()
    qtbot.waitUntil(lambda: [r.key for r in models.rows] == keys, timeout=10_000)
    return models


def button(models: QtModelManager, name: str) -> QPushButton:
    found = models.findChild(QPushButton, name)
    assert isinstance(found, QPushButton), name
    return found


def test_download_from_the_models_tab_shows_progress_and_installs(
    qtbot: QtBot, window: QtMainWindow, fame_app: App, server: tuple[str, Served], model_bytes: bytes
) -> None:
    base, served = server
    # The shipped catalog's entries are listed too (as a user sees them); the test one downloads.
    shipped = load_catalog().models
    models = open_models(qtbot, window, local_store(fame_app, base, model_bytes, *shipped))
    row = len(shipped)
    assert models.table.rowCount() == row + 1 and models.table.item(row, 4).text() == "Not installed"
    assert models.table.item(row, 3).text() == "MIT"
    assert models.table.item(0, 3).text() == "Apache-2.0" and models.table.item(0, 1).text() == "398.0 MB"
    assert models.select("tiny-test")
    formats: list[str] = []
    models.progress.valueChanged.connect(lambda _v: formats.append(models.progress.text()))
    # The window stays responsive: the longest gap between 10 ms timer ticks while downloading.
    ticks: list[float] = []
    timer = QTimer(models)
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    with qtbot.waitSignal(models.downloadFinished, timeout=DOWNLOAD_MS) as finished:
        qtbot.mouseClick(button(models, "modelDownloadButton"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: 300 < models.progress.value() < 1000, timeout=10_000)
        assert button(models, "modelPauseButton").isEnabled()
        dialog = window._settings_dialog
        assert dialog is not None
        qtbot.waitUntil(lambda: models.table.item(row, 4).text() == "Downloading…", timeout=5_000)
        screenshot(dialog, "models-tab-downloading")
        assert not button(models, "modelDownloadButton").isEnabled()
    timer.stop()
    stall_ms = max(b - a for a, b in itertools.pairwise(ticks)) * 1000
    print(f"longest event-loop stall while downloading: {stall_ms:.0f} ms over {len(ticks)} ticks")
    assert stall_ms < 500
    outcome = finished.args[0]
    assert isinstance(outcome, ModelAdded) and outcome.activated
    assert any("/s" in text and "KB" in text for text in formats), formats
    qtbot.waitUntil(lambda: models.table.item(row, 4).text() == "Active", timeout=10_000)
    assert fame_app.settings.get("llm.local_model") == "tiny.gguf"
    assert (fame_app.paths.llm_models / "tiny.gguf").read_bytes() == model_bytes
    assert "Installed tiny.gguf" in models.status.text()
    qtbot.waitUntil(lambda: not window.model_prompt.isVisible(), timeout=10_000)  # the prompt goes
    assert served.ranges == [None]


def test_pause_resume_remove_and_bad_import(
    qtbot: QtBot,
    window: QtMainWindow,
    fame_app: App,
    server: tuple[str, Served],
    model_bytes: bytes,
    tmp_path: Path,
) -> None:
    base, served = server
    models = open_models(qtbot, window, local_store(fame_app, base, model_bytes))
    models.select("tiny-test")
    with qtbot.waitSignal(models.downloadFinished, timeout=DOWNLOAD_MS) as paused:
        qtbot.mouseClick(button(models, "modelDownloadButton"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: models.progress.value() > 100, timeout=10_000)
        qtbot.mouseClick(button(models, "modelPauseButton"), Qt.MouseButton.LeftButton)
    assert isinstance(paused.args[0], DownloadPaused)
    qtbot.waitUntil(lambda: models.table.item(0, 4).text().startswith("Paused at"), timeout=10_000)
    kept = models.store.part_file("tiny.gguf").stat().st_size
    assert 0 < kept < len(model_bytes)
    assert button(models, "modelDownloadButton").text() == "Resume"

    with qtbot.waitSignal(models.downloadFinished, timeout=DOWNLOAD_MS) as resumed:
        qtbot.mouseClick(button(models, "modelDownloadButton"), Qt.MouseButton.LeftButton)
    assert isinstance(resumed.args[0], ModelAdded) and resumed.args[0].resumed_from == kept
    assert served.ranges[-1] == f"bytes={kept}-"
    qtbot.waitUntil(lambda: models.table.item(0, 4).text() == "Active", timeout=10_000)

    # A truncated file is refused with the fix; nothing changes.
    cut = truncated_copy(write_gguf(tmp_path / "other.gguf"), tmp_path / "cut.gguf", 0.5)
    models.import_file(cut)
    qtbot.waitUntil(lambda: "truncated" in models.status.text(), timeout=10_000)
    assert "Fix:" in models.status.text() and models.table.rowCount() == 1

    # Remove asks first; Yes deletes the file and clears the active model.
    models.select("tiny-test")
    box = models.remove_selected()
    assert isinstance(box, QMessageBox) and box.objectName() == "modelRemoveConfirm" and box.isVisible()
    assert (fame_app.paths.llm_models / "tiny.gguf").exists()  # nothing happens before the answer
    with qtbot.waitSignal(models.modelsChanged, timeout=10_000):
        qtbot.mouseClick(box.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
    assert not (fame_app.paths.llm_models / "tiny.gguf").exists()
    assert fame_app.settings.get("llm.local_model") == ""
    qtbot.waitUntil(lambda: models.table.item(0, 4).text() == "Not installed", timeout=10_000)
    qtbot.waitUntil(window.model_prompt.isVisible, timeout=10_000)  # no model again: the prompt is back
