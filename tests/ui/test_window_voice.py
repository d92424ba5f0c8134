"""Voice in the real window, no mocks: PulseAudio's virtual mic and speaker, Vosk-ko, pyttsx3, the Brain.

espeak-ng speaks a Korean sentence that is played into ``vsink``; the window records ``vmic``
(``vsink``'s monitor) through sounddevice, Vosk recognises it, the chat asks the Brain, and the
spoken answer is recorded back from ``vsink.monitor``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from audio_support import RATE, hears_second_half, pulse_env, speak_sentence, speak_two_sentences, voiced
from plugin_trust import approve_source
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QPushButton, QTextBrowser, QToolButton
from pytestqt.exceptions import TimeoutError as QtTimeout
from pytestqt.qtbot import QtBot

from fame_desktop.app import App
from fame_desktop.orchestrator.events import VoiceStateChanged, VoiceTranscript
from fame_desktop.ui.qt_main_window import QtMainWindow
from fame_desktop.ui.qt_voice import QtLevelMeter

pytestmark = [
    pytest.mark.gui,
    pytest.mark.audio,
    pytest.mark.slow,
    pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise"),
]

# The Brain's answer to a sentence no plugin serves (the chat plugin's fallback).
SLOW_CHAT_PLUGIN = '''
"""Answers chat queries slowly: a spoken question revised after a pause finds its early version running."""
import asyncio

PLUGIN = {
    "name": "slow_chat",
    "version": "1.0.0",
    "description": "Answers chat slowly.",
    # The spoken sentences' stable start (the recogniser's rest varies from run to run, and some
    # variants read like arithmetic): this plugin answers them as chat.
    "intents": {"chat": ["chat slowly", "나 이 오기 가 고"]},
    "timeout_seconds": 60,
    "priority": 100,
}


async def handle(request):
    await asyncio.sleep(4)
    return {"response": "slow answer: " + request["text"]}
'''


@pytest.fixture
def fame_app(fame_app: App) -> App:
    """The app of a user who speaks Korean (the installed model's language, and espeak-ng's)."""
    fame_app.settings.update({"voice.language": "ko"}, admin=False)
    return fame_app


@pytest.fixture(scope="module")
def pulse() -> Iterator[dict[str, str]]:
    """PulseAudio with vsink/vmic, its env set for this test process."""
    with pulse_env() as env:
        yield env


@pytest.fixture(scope="module")
def question_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SENTENCE spoken by espeak-ng, as 16 kHz mono 16-bit."""
    return speak_sentence(tmp_path_factory.mktemp("question"))


class SinkRecorder:
    """Records what is played to the virtual speaker (``vsink.monitor``) as 16 kHz mono s16."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: Any = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def started(self) -> bool:
        """Whether recording has started."""
        return self._proc is not None

    def start(self) -> None:
        """Start recording (to a file: a pipe left unread would stall parecord)."""
        self._file = self.path.open("wb")
        self._proc = subprocess.Popen(
            [
                "parecord",
                "--device=vsink.monitor",
                "--raw",
                "--format=s16le",
                f"--rate={RATE}",
                "--channels=1",
            ],
            stdout=self._file,
        )

    def stop(self) -> bytes:
        """Stop recording; the PCM recorded."""
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(10)
            self._proc = None
        if self._file is not None:
            self._file.close()
            self._file = None
        return self.path.read_bytes() if self.path.exists() else b""


@pytest.fixture
def sink_recorder(tmp_path: Path) -> Iterator[SinkRecorder]:
    """A recorder of the virtual speaker, stopped at the end of the test whatever happens."""
    recorder = SinkRecorder(tmp_path / "sink.raw")
    yield recorder
    recorder.stop()


@pytest.fixture(scope="module")
def two_sentences_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two sentences with a 0.45 s pause between them (longer than the early endpoint)."""
    return speak_two_sentences(tmp_path_factory.mktemp("two"))


def _chat_text(win: QtMainWindow) -> str:
    view = win.findChild(QTextBrowser, "chatView")
    assert view is not None
    return view.toPlainText()


def _states(app: App) -> list[str]:
    return [e.state for e in app.bus.history(VoiceStateChanged)]


def _wait_voice_ready(qtbot: QtBot, win: QtMainWindow) -> dict[str, Any]:
    control = win.chat.voice_control
    qtbot.waitUntil(lambda: control.status is not None, timeout=30_000)
    assert control.status is not None
    return control.status


def _plain(text: str) -> str:
    """``text`` without punctuation or markup and with single spaces: what the chat shows of an
    answer does not depend on how its markdown (quotes, emphasis) is rendered."""
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", "", text))


def _answer_at(chat: str, answer: str) -> int:
    """Where the start of ``answer`` last shows in ``_plain(chat)`` (-1 if it does not): an answer
    can begin with the words asked (an error quoting them), which show before it."""
    return _plain(chat).rfind(_plain(answer.strip().splitlines()[0])[:20])


def _wait_or_explain(
    qtbot: QtBot, win: QtMainWindow, app: App, predicate: Callable[[], bool], timeout_ms: int
) -> None:
    """``qtbot.waitUntil(predicate)``; on a timeout, fail with what the voice chain did."""
    try:
        qtbot.waitUntil(predicate, timeout=timeout_ms)
    except QtTimeout as exc:
        transcripts = [(e.final, e.text) for e in app.bus.history(VoiceTranscript)]
        raise AssertionError(
            f"{exc}; voice states {_states(app)}; transcripts {transcripts}; "
            f"listening {win.chat.voice_control.active}; chat {_chat_text(win)!r}"
        ) from exc


def _play(qtbot: QtBot, wav: Path) -> None:
    """Play ``wav`` into the virtual speaker (heard by the virtual mic), keeping Qt responsive."""
    play = subprocess.Popen(["paplay", "--device=vsink", str(wav)])
    qtbot.waitUntil(lambda: play.poll() is not None, timeout=30_000)
    assert play.returncode == 0


def test_window_shows_before_the_voice_check_which_runs_off_the_qt_thread(
    qtbot: QtBot, fame_app: App, qt_loop: asyncio.AbstractEventLoop, pulse: dict[str, str]
) -> None:
    # A spy (it calls the real status): records which thread asks.
    voice = fame_app.services.voice
    real_status = voice.status
    callers: list[str] = []

    def status() -> dict[str, Any]:
        callers.append(threading.current_thread().name)
        return dict(real_status())

    voice.status = status
    win = QtMainWindow(fame_app, qt_loop)
    qtbot.addWidget(win)
    mic = win.findChild(QToolButton, "micButton")
    assert mic is not None
    # Built: nothing asked for the voice status on the Qt thread, the tooltip says it is checking.
    assert threading.main_thread().name not in callers
    assert "Checking the microphone" in mic.toolTip()
    assert "Ctrl+Shift+Space" in mic.toolTip()
    label = win.findChild(QLabel, "statusVoice")
    assert label is not None and label.text() == "Voice: checking…"
    win.show()
    qtbot.waitExposed(win)
    # A worker fills the tooltip and the status bar in later.
    qtbot.waitUntil(lambda: "Microphone:" in mic.toolTip(), timeout=30_000)
    qtbot.waitUntil(lambda: label.text() == "Voice: idle", timeout=30_000)
    assert callers and threading.main_thread().name not in callers, callers
    qtbot.waitUntil(lambda: not win.workers.active("startup"), timeout=15_000)
    win.close()


def test_mic_button_asks_the_spoken_question_and_speaks_the_answer(
    qtbot: QtBot,
    window: QtMainWindow,
    fame_app: App,
    pulse: dict[str, str],
    question_wav: Path,
    sink_recorder: SinkRecorder,
) -> None:
    status = _wait_voice_ready(qtbot, window)
    assert status["ready"], status["problems"]
    speak = window.findChild(QToolButton, "speakToggle")
    mic = window.findChild(QToolButton, "micButton")
    meter = window.findChild(QtLevelMeter, "voiceLevel")
    label = window.findChild(QLabel, "statusVoice")
    assert speak is not None and mic is not None and meter is not None and label is not None
    qtbot.mouseClick(speak, Qt.MouseButton.LeftButton)
    assert fame_app.settings.get("voice.speak_answers") is True

    # Record the speaker from the moment the question is understood (so it holds only the answer).
    partials: list[str] = []
    labels: set[str] = set()

    def on_transcript(event: VoiceTranscript) -> None:
        if not event.final:
            partials.append(window.chat.status.text())
        elif not sink_recorder.started:
            sink_recorder.start()

    fame_app.bus.subscribe(VoiceTranscript, on_transcript)
    fame_app.bus.subscribe(VoiceStateChanged, lambda _e: labels.add(label.text()))

    # A click starts listening (and keeps listening after the button is released).
    qtbot.mouseClick(mic, Qt.MouseButton.LeftButton)
    assert mic.isChecked()
    qtbot.waitUntil(lambda: "listening" in _states(fame_app), timeout=30_000)  # first audio 1-2 s late
    assert meter.isVisible()
    _play(qtbot, question_wav)

    # The level meter followed the speech; the partial transcript showed in the chat status line.
    assert meter.updates > 20
    assert meter.peak > 0.02, meter.peak

    # The end of speech ends the listen (the answer to its early final may show before, while the
    # microphone waits for more); the transcript is the user's message, then the answer. Which
    # answer depends on the words heard (a recogniser variant can read like another task), so the
    # answer shown is the one saved for the spoken question.
    def answered() -> bool:
        cid = window.chat.conversation_id
        if window.chat.voice_control.active or cid is None:
            return False
        return [m.role for m in window.store.messages(cid)] == ["user", "assistant"]

    _wait_or_explain(qtbot, window, fame_app, answered, 60_000)
    assert any(p.startswith("Hearing: ") for p in partials), partials
    assert not mic.isChecked() and not meter.isVisible()
    assert window.chat.conversation_id is not None
    messages = window.store.messages(window.chat.conversation_id)
    text = _chat_text(window)
    answer_at = _answer_at(text, messages[1].text)
    assert answer_at > 0 and hears_second_half(_plain(text)[:answer_at]), (text, messages[1].text)
    assert "Voice: listening" in labels

    # Saved in the conversation and audited as a voice query, like a typed one.
    assert messages[0].meta.get("source") == "voice"
    assert hears_second_half(messages[0].text), messages[0].text
    queries = fame_app.audit.query(kinds=["query"], limit=5)
    assert queries and queries[0].data["source"] == "voice" and queries[0].data["text"] == messages[0].text

    # The answer is spoken into the sink; Esc stops it mid-answer.
    qtbot.waitUntil(lambda: "speaking" in _states(fame_app), timeout=30_000)
    assert window.chat.stop_button.isEnabled()
    qtbot.wait(2500)
    assert fame_app.services.voice.speaking
    qtbot.keyClick(window.chat.input, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not fame_app.services.voice.speaking, timeout=5_000)
    qtbot.wait(800)
    assert sink_recorder.started
    seconds, peak, rms = voiced(sink_recorder.stop())
    assert peak > 0.05, peak
    assert seconds >= 1.0, seconds
    # Stopped means quiet: the last half second of the recording is silent.
    assert float(rms[-25:].max()) < 0.01, rms[-25:]
    qtbot.waitUntil(lambda: label.text() == "Voice: idle", timeout=10_000)


def test_a_pause_between_two_sentences_gives_one_question_and_one_answer(
    qtbot: QtBot,
    window: QtMainWindow,
    fame_app: App,
    pulse: dict[str, str],
    two_sentences_wav: Path,
) -> None:
    approve_source(fame_app.paths.root, SLOW_CHAT_PLUGIN)
    (fame_app.paths.plugins / "slow_chat.py").write_text(SLOW_CHAT_PLUGIN, encoding="utf-8")
    qtbot.waitUntil(lambda: "slow_chat" in window.plugins.names(), timeout=8000)
    status = _wait_voice_ready(qtbot, window)
    assert status["ready"], status["problems"]
    mic = window.findChild(QToolButton, "micButton")
    assert mic is not None
    finals: list[str] = []
    fame_app.bus.subscribe(VoiceTranscript, lambda e: finals.append(e.text) if e.final and e.text else None)

    qtbot.mouseClick(mic, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "listening" in _states(fame_app), timeout=30_000)
    _play(qtbot, two_sentences_wav)
    # The first sentence was asked on its own (its early final; on a loaded machine the recogniser
    # may still be a moment behind the sound when playback ends); the listen went on.
    qtbot.waitUntil(lambda: bool(finals), timeout=10_000)
    qtbot.waitUntil(lambda: not window.chat.voice_control.active, timeout=10_000)
    qtbot.waitUntil(lambda: "slow answer:" in _chat_text(window) and not window.chat.busy, timeout=30_000)

    # The last final holds both sentences: it revised the first.
    assert len(finals) >= 2, finals
    whole = finals[-1]
    assert whole.startswith(finals[0]) and not hears_second_half(finals[0]) and hears_second_half(whole), (
        finals
    )
    # One question (the whole one) and one answer, nothing stopped, in the view and the store.
    text = _chat_text(window)
    assert text.count("slow answer:") == 1, text
    assert f"slow answer: {whole}" in text
    assert "Stopped" not in text and "cancelled" not in text.lower(), text
    assert finals[0] not in text.replace(whole, ""), text
    assert window.chat.conversation_id is not None
    messages = window.store.messages(window.chat.conversation_id)
    assert [(m.role, m.text) for m in messages][:1] == [("user", whole)]
    assert [m.role for m in messages] == ["user", "assistant"]
    conversation = window.store.get(window.chat.conversation_id)
    assert conversation is not None and conversation.title == whole[:80]
    # The early question reached the Brain and was cancelled (audited as such, not as an error).
    asked = [e.data["text"] for e in fame_app.audit.query(kinds=["query"], limit=10)]
    assert sorted(asked) == sorted(finals), (asked, finals)
    assert fame_app.audit.count(kinds=["query_cancelled"]) == len(finals) - 1
    assert fame_app.audit.count(kinds=["query_completed"]) == 1


def test_hold_to_talk_finishes_on_release_and_the_shortcut_toggles(
    qtbot: QtBot, window: QtMainWindow, fame_app: App, pulse: dict[str, str]
) -> None:
    status = _wait_voice_ready(qtbot, window)
    assert status["ready"], status["problems"]
    mic = window.findChild(QToolButton, "micButton")
    assert mic is not None

    def listen_ended() -> bool:
        return not window.chat.voice_control.active and not mic.isChecked()

    # Press and hold: listening until the release (a long press, not a click).
    qtbot.mousePress(mic, Qt.MouseButton.LeftButton)
    assert mic.isChecked()
    qtbot.waitUntil(lambda: "listening" in _states(fame_app), timeout=30_000)
    qtbot.wait(300)
    assert window.chat.voice_control.active and window.chat.stop_button.isEnabled()
    qtbot.mouseRelease(mic, Qt.MouseButton.LeftButton)
    # Ended by the release, long before the recogniser would give up on silence (8 s).
    qtbot.waitUntil(listen_ended, timeout=3_000)
    assert "Nothing was heard" in window.chat.status.text()
    assert not window.chat.stop_button.isEnabled()

    # The keyboard shortcut toggles: once to start, once to finish.
    window.activateWindow()
    qtbot.waitActive(window)
    before = _states(fame_app).count("listening")
    qtbot.keyClick(
        window.chat.input,
        Qt.Key.Key_Space,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert window.chat.voice_control.active
    qtbot.waitUntil(lambda: _states(fame_app).count("listening") > before, timeout=30_000)
    qtbot.keyClick(
        window.chat.input,
        Qt.Key.Key_Space,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    qtbot.waitUntil(listen_ended, timeout=3_000)


def test_without_the_chosen_microphone_the_window_says_so_and_typing_works(
    qtbot: QtBot, window: QtMainWindow, fame_app: App, pulse: dict[str, str]
) -> None:
    fame_app.safety.update_settings({"voice.input_device": "no-such-microphone"}, actor="test")
    control = window.chat.voice_control

    def mic_missing() -> bool:
        return control.status is not None and not control.status["microphone"]["found"]

    qtbot.waitUntil(mic_missing, timeout=30_000)
    mic = window.findChild(QToolButton, "micButton")
    label = window.findChild(QLabel, "statusVoice")
    assert mic is not None and label is not None
    assert "No microphone 'no-such-microphone'" in mic.toolTip()
    assert "Typing still works" in mic.toolTip()
    qtbot.waitUntil(lambda: label.text().startswith("Voice: not available: No microphone"), timeout=15_000)

    qtbot.mouseClick(mic, Qt.MouseButton.LeftButton)
    assert not mic.isChecked()
    status_line = window.chat.status.text()
    assert "Voice not available: No microphone 'no-such-microphone'" in status_line
    assert "Typing still works" in status_line

    chat_input = window.findChild(QPlainTextEdit, "chatInput")
    send = window.findChild(QPushButton, "sendButton")
    assert chat_input is not None and send is not None
    chat_input.setFocus()
    qtbot.keyClicks(chat_input, "what is 6 times 7")
    qtbot.mouseClick(send, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "42" in _chat_text(window) and not window.chat.busy, timeout=30_000)


def test_a_broken_model_folder_is_explained_and_the_mic_stays_off(
    qtbot: QtBot, window: QtMainWindow, fame_app: App, pulse: dict[str, str], tmp_path: Path
) -> None:
    broken = tmp_path / "half-a-model"
    (broken / "am").mkdir(parents=True)
    fame_app.safety.update_settings({"voice.model_path": str(broken)}, actor="test")
    control = window.chat.voice_control
    qtbot.waitUntil(
        lambda: control.status is not None and not control.status["model"]["found"], timeout=30_000
    )
    mic = window.findChild(QToolButton, "micButton")
    assert mic is not None
    problem = control.status["model"]["problem"]
    assert problem and problem in mic.toolTip()
    qtbot.mouseClick(mic, Qt.MouseButton.LeftButton)
    assert not mic.isChecked()
    assert "Voice not available" in window.chat.status.text()
    assert "Typing still works" in window.chat.status.text()


def test_wake_phrase_setting_starts_the_watcher_and_a_voice_query_shows_in_the_chat(
    qtbot: QtBot,
    window: QtMainWindow,
    fame_app: App,
    qt_loop: asyncio.AbstractEventLoop,
    pulse: dict[str, str],
    question_wav: Path,
) -> None:
    status = _wait_voice_ready(qtbot, window)
    assert status["ready"], status["problems"]
    voice = fame_app.services.voice
    mic = window.findChild(QToolButton, "micButton")
    label = window.findChild(QLabel, "statusVoice")
    assert mic is not None and label is not None
    # Turning the setting on starts the adapter's wake watcher (it follows SettingsChanged).
    fame_app.safety.update_settings({"voice.wake_word_enabled": True}, actor="test")
    # The wake phrase is the voice language's: Korean here.
    qtbot.waitUntil(lambda: label.text() == "Voice: waiting for “헤이 페임”", timeout=30_000)
    # Its microphone going live is not push-to-talk: the button stays off.
    qtbot.waitUntil(lambda: _states(fame_app)[-1:] == ["listening"], timeout=30_000)
    qtbot.wait(200)
    assert not mic.isChecked() and label.text().startswith("Voice: waiting")

    # The wake phrase runs ``voice_query`` (espeak-ng's "헤이 페임" is not what Vosk-ko hears, so the
    # query the watcher would start is started here): it goes to the Brain without the chat,
    # and the chat shows it.
    query = qt_loop.create_task(voice.voice_query())
    qtbot.waitUntil(lambda: voice.listening and _states(fame_app)[-1] == "listening", timeout=30_000)
    assert mic.isChecked()
    _play(qtbot, question_wav)
    qtbot.waitUntil(query.done, timeout=60_000)
    response = query.result()
    assert response is not None and response["response"]
    # The answer to the words heard (a recogniser variant can read like another task) shows after
    # them; when that task fails (a variant read as arithmetic), the chat shows the error's message.
    error = response.get("error")
    answer = str(error["message"] if error else response["response"])
    _wait_or_explain(qtbot, window, fame_app, lambda: _answer_at(_chat_text(window), answer) > 0, 30_000)
    text = _chat_text(window)
    assert hears_second_half(_plain(text)[: _answer_at(text, answer)]), (text, answer)
    assert window.chat.conversation_id is not None
    messages = window.store.messages(window.chat.conversation_id)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[0].meta.get("source") == "voice"

    # Turning it off stops the watcher, and the status bar says so.
    fame_app.safety.update_settings({"voice.wake_word_enabled": False}, actor="test")
    qtbot.waitUntil(lambda: label.text() == "Voice: idle", timeout=10_000)


_NO_AUDIO_WINDOW = textwrap.dedent(
    """
    import asyncio, json, sys
    from PySide6.QtWidgets import QApplication
    from fame_desktop.app import build_app
    from fame_desktop.ui.qt_loop import QtEventLoop
    from fame_desktop.ui.qt_main_window import QtMainWindow

    # As fame_desktop/ui/launch.py runs the window.
    qapp = QApplication([])
    qapp.setQuitOnLastWindowClosed(False)
    loop = QtEventLoop(qapp)
    asyncio.set_event_loop(loop)
    app = build_app(sys.argv[1])
    app.settings.update({"voice.language": "ko"}, admin=False)
    app.bus.bind_loop(loop)
    win = QtMainWindow(app, loop)
    win.show()
    out = {}

    async def main():
        control = win.chat.voice_control
        while control.status is None:
            await asyncio.sleep(0.05)
        win.chat.mic_button.click()
        await asyncio.sleep(0.2)
        out["checked"] = win.chat.mic_button.isChecked()
        out["line"] = win.chat.status.text()
        out["tooltip"] = win.chat.mic_button.toolTip()
        while not win.status_bar.voice.text().startswith("Voice: not"):
            await asyncio.sleep(0.05)
        out["label"] = win.status_bar.voice.text()
        await win.chat.ask("what is 6 times 7").task
        out["chat"] = win.chat.plain_text()

    with loop:
        try:
            loop.run_until_complete(asyncio.wait_for(main(), 120))
            win.close()
        finally:
            loop.run_until_complete(app.aclose())
    print(json.dumps(out))
    """
)


def test_with_no_sound_server_at_all_the_window_explains_and_answers_typed_queries(tmp_path: Path) -> None:
    # PortAudio with no sound server lists no devices: the same as a machine without a microphone.
    env = dict(
        os.environ,
        PULSE_SERVER=f"unix:{tmp_path}/no-such-socket",
        XDG_RUNTIME_DIR=str(tmp_path),
        QT_QPA_PLATFORM="offscreen",
    )
    proc = subprocess.run(
        [sys.executable, "-c", _NO_AUDIO_WINDOW, str(tmp_path / "data")],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["checked"] is False
    assert "Voice not available: No microphone" in out["line"]
    assert "audio_up.sh" in out["line"] and "Typing still works" in out["line"]
    assert "No microphone" in out["tooltip"]
    assert out["label"].startswith("Voice: not available: No microphone"), out["label"]
    assert "42" in out["chat"]
