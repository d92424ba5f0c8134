"""Voice in the window: the push-to-talk microphone button, its level meter, voice state labels.

:class:`QtVoiceControl` drives the orchestrator's voice adapter for the chat: a click toggles
listening, a press held longer than :data:`HOLD_SECONDS` finishes on release, and the early final
transcript is handed to the chat at once (``transcribed``) so a spoken question takes the same
path as a typed one. If the user goes on after a pause, the longer transcript follows as
``revised``: the chat replaces the question it is answering. Everything that may block (the status check, which imports numpy and initialises
PortAudio; model loading; recording; recognition) runs in the window's workers, never on the Qt
thread.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from typing import Any

from PySide6.QtCore import QObject, QRectF, QSize, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QToolButton, QWidget

from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.events import (
    EventBus,
    SettingsChanged,
    VoiceLevel,
    VoiceModelsChanged,
    VoiceStateChanged,
)
from fame_desktop.ui.qt_workers import QtWorker, QtWorkerManager

log = logging.getLogger("fame.ui.voice")

SHORTCUT = "Ctrl+Shift+Space"
HOLD_SECONDS = 0.4  # a press longer than this is push-and-hold: releasing finishes
LISTENING_STATES = ("loading", "starting", "listening")
STATE_MESSAGES = {
    "loading": "Loading the speech model…",
    "starting": "Opening the microphone…",
    "listening": "Listening… (click the microphone again, or release it, to finish)",
    "thinking": "Thinking…",
    "speaking": "Speaking the answer… (Esc or Stop ends it)",
}
_REASON_CHARS = 60


def voice_problem(status: dict[str, Any] | None) -> str:
    """The first problem of a ``VoiceAdapter.status()`` dict as "message Fix: fix" ("" if none)."""
    problems = (status or {}).get("problems") or []
    if not problems:
        return str((status or {}).get("detail") or "")
    first = problems[0]
    fix = str(first.get("fix") or "")
    return f"{first.get('message', '')}" + (f"\nFix: {fix}" if fix else "")


def voice_label(status: dict[str, Any] | None, state: str, detail: str) -> tuple[str, str]:
    """Status bar text and tooltip for the voice state.

    Args:
        status: The last ``VoiceAdapter.status()`` (None: not checked yet).
        state: The last ``VoiceStateChanged.state`` ("" if none since the last settings change).
        detail: Its detail.
    """
    if state == "error":
        return f"Voice: not available: {_short(detail)}", detail
    if state == "wake":
        return f"Voice: waiting for “{detail}”", "Say the wake phrase to ask hands-free."
    if state in STATE_MESSAGES or state in LISTENING_STATES:
        return f"Voice: {state}", detail
    if status is None:
        return "Voice: checking…", "Checking the microphone and the speech model…"
    if not status.get("ready"):
        problem = voice_problem(status)
        return f"Voice: not available: {_short(problem.split(chr(10))[0])}", problem
    return "Voice: idle", f"Microphone: {(status.get('microphone') or {}).get('detail', '')}"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _REASON_CHARS else text[: _REASON_CHARS - 1] + "…"


class QtLevelMeter(QWidget):
    """A small horizontal bar showing the microphone level (``VoiceLevel``), on a dB scale."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("voiceLevel")
        self.setAccessibleName("Microphone level")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.level = 0.0
        self.peak = 0.0  # highest level since the last reset (tests and the peak tick)
        self.updates = 0

    def sizeHint(self) -> QSize:
        return QSize(80, 8)

    def reset(self) -> None:
        """Back to silence (a new listen starts)."""
        self.level = 0.0
        self.peak = 0.0
        self.updates = 0
        self.update()

    def set_level(self, level: float) -> None:
        """Show an RMS level (0..1)."""
        self.level = max(0.0, min(1.0, level))
        self.peak = max(self.peak, self.level)
        self.updates += 1
        self.update()

    @staticmethod
    def fraction(level: float) -> float:
        """0..1 bar length for an RMS level: -60 dBFS is empty, 0 dBFS full (speech sits mid-bar)."""
        if level <= 0.0:
            return 0.0
        return max(0.0, min(1.0, (20.0 * math.log10(level) + 60.0) / 60.0))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.setPen(self.palette().mid().color())
        painter.drawRect(rect)
        width = rect.width() * self.fraction(self.level)
        colour = QColor("#2e7d32") if self.fraction(self.level) < 0.85 else QColor("#c62828")
        painter.fillRect(QRectF(rect.left(), rect.top(), width, rect.height()), colour)
        painter.end()


class QtMicButton(QToolButton):
    """The ``micButton``: checked while listening. Clicks do not flip it; the voice state does."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("micButton")
        self.setText("Mic")
        self.setCheckable(True)
        self.setAccessibleName("Push to talk")

    def nextCheckState(self) -> None:
        """Leave the checked state to :class:`QtVoiceControl` (it follows the real listening)."""


class QtVoiceControl(QObject):
    """Push-to-talk for the chat pane.

    Args:
        voice: The ``VoiceAdapter`` (None when voice is not set up: the button says so).
        bus: Voice state and level events.
        workers: Runs the status check and the listening.
        button: The mic button it drives.
        meter: The level meter it feeds.
    """

    transcribed = Signal(str)  # the early final transcript of a listen: ask it like a typed query
    revised = Signal(str)  # a longer final of the same listen: it replaces the question asked
    message = Signal(str)  # a line for the chat status
    statusChanged = Signal(object)  # a fresh ``VoiceAdapter.status()`` dict
    activeChanged = Signal()  # push-to-talk listening started or ended

    def __init__(
        self,
        voice: Any,
        bus: EventBus,
        workers: QtWorkerManager,
        button: QtMicButton,
        meter: QtLevelMeter,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.voice = voice
        self.workers = workers
        self.button = button
        self.meter = meter
        self.status: dict[str, Any] | None = None
        self._worker: QtWorker | None = None
        self._stop: threading.Event | None = None
        self._discard = False
        self._pressed_at: float | None = None
        self._press_finishes = False
        self._refreshing = False
        self._refresh_again = False
        self._said_state = False  # the chat status line shows a voice state message
        button.pressed.connect(self._on_pressed)
        button.released.connect(self._on_released)
        meter.setVisible(False)
        self._set_tooltip()
        self._subs = [
            bus.subscribe(VoiceStateChanged, self._on_state),
            bus.subscribe(VoiceLevel, self._on_level),
            bus.subscribe(SettingsChanged, self._on_settings),
            bus.subscribe(VoiceModelsChanged, lambda _e: self.refresh_status()),
        ]

    # --- status ----------------------------------------------------------------------------------

    def refresh_status(self) -> None:
        """Check the model and microphone in a worker thread; the tooltip follows."""
        if self.voice is None:
            self._set_tooltip()
            return
        if self._refreshing:
            self._refresh_again = True  # settings changed during a check: check once more after
            return
        self._refreshing = True
        voice = self.voice

        def work(_flag: threading.Event) -> dict[str, Any]:
            return dict(voice.status())

        def done(status: dict[str, Any]) -> None:
            self._refreshing = False
            self.status = status
            self._set_tooltip()
            self.statusChanged.emit(status)
            if self._refresh_again:
                self._refresh_again = False
                self.refresh_status()

        def failed(exc: BaseException) -> None:
            # status() never raises by contract; keep the window usable if it does.
            self._refreshing = False
            self.status = {
                "ready": False,
                "problems": [{"message": f"Voice check failed: {exc!r}", "fix": ""}],
            }
            self._set_tooltip()

        self.workers.run_blocking(
            work, name="voice-status", group="voice-status", on_done=done, on_error=failed
        )

    def _set_tooltip(self) -> None:
        how = f"Push to talk ({SHORTCUT}): click to start and again to finish, or hold while speaking."
        if self.voice is None:
            tip = "Voice not available: the voice adapter is not set up. Typing still works."
        elif self.status is None:
            tip = f"{how}\nChecking the microphone and the speech model…"
        elif not self.status.get("ready"):
            tip = f"Voice not available: {voice_problem(self.status)}"
        else:
            mic = (self.status.get("microphone") or {}).get("detail", "")
            tip = f"{how}\nMicrophone: {mic}"
        self.button.setToolTip(tip)

    # --- push-to-talk ----------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """Whether a listen is running (ours, or one the wake phrase started)."""
        ours = self._worker is not None and not self._worker.state.done
        return ours or bool(self.voice is not None and self.voice.listening)

    def toggle(self) -> None:
        """Start listening, or finish the running listen (click and the keyboard shortcut)."""
        if self.active:
            self.finish()
        else:
            self.start()

    def start(self) -> None:
        """Listen for one utterance in a worker; its transcripts are emitted as they are known.

        The early final is ``transcribed``, each longer one while listening goes on ``revised``.
        """
        if self.active:
            return
        if self.voice is None or (self.status is not None and not self.status.get("ready")):
            # Known not to work: say why at once, and look again in case it was fixed meanwhile.
            self._unavailable(
                voice_problem(self.status) if self.voice is not None else "the voice adapter is not set up"
            )
            self.refresh_status()
            return
        stop = threading.Event()
        self._stop = stop
        self._discard = False
        self.button.setChecked(True)
        self.meter.reset()
        self.meter.setVisible(True)
        self._worker = self.workers.run(lambda: self._listen(stop), name="voice-listen", group="voice")
        self.activeChanged.emit()

    def finish(self, *, discard: bool = False) -> None:
        """End the running listen: the words so far count (or are dropped with ``discard``)."""
        if discard:
            self._discard = True
        if self._stop is not None:
            self._stop.set()
        if self.voice is not None:
            self.voice.finish_listening(discard=discard)

    async def _listen(self, stop: threading.Event) -> str:
        text = ""
        handed: list[str] = []  # finals given to the chat during this listen

        def on_final(final: str) -> None:
            if self._discard or handed[-1:] == [final]:
                return
            (self.revised if handed else self.transcribed).emit(final)
            handed.append(final)

        try:
            text = str(await self.voice.listen_once(stop, on_final))
        except asyncio.CancelledError:
            stop.set()  # the recording thread watches this flag, not the task
            raise
        except FameError as exc:
            self._unavailable(f"{exc.message}\nFix: {exc.fix}" if exc.fix else exc.message)
            self.refresh_status()
            return ""
        finally:
            self._stop = None
            self._worker = None
            self.button.setChecked(False)
            self.meter.setVisible(False)
            self.activeChanged.emit()
        if self._discard:
            self.message.emit("Listening cancelled.")
            return ""
        if not text:
            self.message.emit("Nothing was heard. Click the microphone and speak, or type your question.")
            return ""
        on_final(text)  # normally handed over already (the adapter calls back before returning)
        return text

    def _unavailable(self, problem: str) -> None:
        self.button.setChecked(False)
        self.meter.setVisible(False)
        self.message.emit(f"Voice not available: {' '.join(problem.split())} Typing still works.")
        self.button.setToolTip(f"Voice not available: {problem}")

    def _on_pressed(self) -> None:
        if self.active:
            self._press_finishes = True  # a click (or press) during a listen ends it on release
            return
        self._press_finishes = False
        self._pressed_at = time.monotonic()
        self.start()

    def _on_released(self) -> None:
        held = time.monotonic() - self._pressed_at if self._pressed_at is not None else 0.0
        self._pressed_at = None
        if self._press_finishes or held > HOLD_SECONDS:
            self._press_finishes = False
            self.finish()

    # --- events ----------------------------------------------------------------------------------

    def _on_state(self, event: VoiceStateChanged) -> None:
        # A listen the wake phrase started shows on the button and the meter too; the wake
        # watcher's own stream (also reported as "listening") does not.
        ours = self._worker is not None and not self._worker.state.done
        listening = ours or (event.state in LISTENING_STATES and self.active)
        self.button.setChecked(listening)
        self.meter.setVisible(listening)
        if event.state in STATE_MESSAGES and (listening or event.state not in LISTENING_STATES):
            self.message.emit(STATE_MESSAGES[event.state])
            self._said_state = True
        elif event.state == "error" and event.detail:
            self.message.emit(f"Voice: {event.detail}")
        elif event.state == "idle" and self._said_state and not listening:
            self.message.emit("")  # "Speaking the answer…" is over
            self._said_state = False

    def _on_level(self, event: VoiceLevel) -> None:
        self.meter.set_level(event.level)

    def _on_settings(self, event: SettingsChanged) -> None:
        if any(key.startswith("voice.") for key in event.changes):
            self.refresh_status()

    def close(self) -> None:
        """Stop listening and following the bus (window closing)."""
        self.finish(discard=True)
        for sub in self._subs:
            sub.cancel()
