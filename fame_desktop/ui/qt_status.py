"""The status bar: start-up progress, Docker engine and image, network, voice, the language model,
admin — refreshed from events."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from fame_desktop.orchestrator.events import (
    AdminStateChanged,
    SandboxStatusChanged,
    SettingsChanged,
    StartupProgress,
    VoiceModelsChanged,
    VoiceStateChanged,
)
from fame_desktop.ui.qt_voice import LISTENING_STATES, voice_label
from fame_desktop.ui.qt_workers import QtWorkerManager

if TYPE_CHECKING:
    from fame_desktop.app import App

log = logging.getLogger("fame.ui.status")

REFRESH_MS = 5000
#: A status label never asks for more than this much width as its minimum (the rest is elided).
MIN_LABEL_WIDTH = 60


class QtElidedLabel(QLabel):
    """A one-line label that may be narrower than its text: it ends in "…" instead.

    A long status ("Voice: not available: No microphone …") must not set the window's minimum
    width (it made the window refuse to go below ~1028 px).
    """

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), MIN_LABEL_WIDTH), hint.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        painter = QPainter(self)
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)


class QtStatusBar(QStatusBar):
    """Shows what ``Services.status()`` reports; the status call runs off the Qt thread.

    Args:
        app: The services.
        workers: Runs the status call.
    """

    def __init__(self, app: App, workers: QtWorkerManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._app = app
        self._workers = workers
        self._busy = False
        self._again = False
        # The voice label shows the adapter's live state; the status check says whether it can work.
        self._voice_status: dict[str, Any] | None = None
        self._voice_state = ""
        self._voice_detail = ""
        self._model_loading = False  # the window is loading the local model ahead of the first answer
        self._model_problem = ""  # why that failed
        # What comes up after the first paint (plugins, sandbox, voice, code library), step by step.
        self.startup = self._label("statusStartup", QtElidedLabel(self))
        self.startup.setText("Starting…")
        # The long ones may end in "…" when the window is narrow; the short ones always show.
        self.docker = self._label("statusDocker", QtElidedLabel(self))
        self.network = self._label("statusNetwork", QLabel(self))
        self.voice = self._label("statusVoice", QtElidedLabel(self))
        self.voice_language = self._label("statusVoiceLanguage", QLabel(self))
        self.model = self._label("statusModel", QtElidedLabel(self))
        self.admin = self._label("statusAdmin", QLabel(self))
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self._subs = [
            app.bus.subscribe(t, lambda _e: self.refresh())
            for t in (AdminStateChanged, SettingsChanged, SandboxStatusChanged, VoiceModelsChanged)
        ]
        self._subs.append(app.bus.subscribe(VoiceStateChanged, self._on_voice_state))
        self._subs.append(app.bus.subscribe(SettingsChanged, self._on_voice_settings))
        self._subs.append(app.bus.subscribe(StartupProgress, self._on_startup))
        # The full check (engine, voice devices) waits for the parts start-up brings up after the
        # first paint; until then the bar shows what needs no engine call.
        self.show_status(self._quick_status())

    def _label(self, name: str, label: QLabel) -> QLabel:
        label.setObjectName(name)
        self.addPermanentWidget(label)
        return label

    def _quick_status(self) -> dict[str, Any]:
        # What needs no engine call, so the bar is filled before the first full refresh.
        return {
            "network": bool(self._app.settings.get("network.allow_network")),
            "admin_unlocked": self._app.safety.unlocked,
            "docker": {"available": False, "detail": "checking…"},
            "voice": None,
        }

    def refresh(self) -> None:
        """Ask the services for their status in a worker thread."""
        if self._busy:
            # A change arrived while a check runs: its answer may predate the change, so ask again.
            self._again = True
            return
        self._busy = True
        self._again = False
        services = self._app.services

        def work(_flag: threading.Event) -> dict[str, Any]:
            return dict(services.status())

        def finished() -> None:
            self._busy = False
            if self._again:
                self.refresh()

        def done(status: dict[str, Any]) -> None:
            self.show_status(status)
            finished()

        def failed(exc: BaseException) -> None:
            self.docker.setText(f"status unavailable: {exc}")
            finished()

        self._workers.run_blocking(work, name="status", group="status", on_done=done, on_error=failed)

    def show_status(self, status: dict[str, Any]) -> None:
        """Render a ``Services.status()`` dict."""
        docker = status.get("docker") or {}
        backend = str(docker.get("backend", "docker"))
        if backend == "swarm":  # a cluster: say how many nodes take jobs
            nodes = int(docker.get("nodes") or 0)
            backend = f"swarm, {nodes} node{'s' if nodes != 1 else ''}"
        if docker.get("available"):
            text, tip = f"Sandbox: {backend}", str(docker.get("detail", ""))
            pool = docker.get("pool")
            if backend == "docker" and isinstance(pool, dict) and int(pool.get("target") or 0) > 0:
                # The warm pool filling (after the first paint, and after bursts it grows to serve),
                # before the image: the bar elides the end of a long label.
                ready, target = int(pool.get("ready") or 0), int(pool["target"])
                text += f" · {ready}/{target} warm"
                tip += (f"\nWarm pool: {ready} of {target} pre-started containers ready (the setting is "
                        f"{pool.get('size', target)}; it grows to the bursts of runs it serves).")  # fmt: skip
            self.docker.setText(f"{text} · {docker.get('image', '')}")
            self.docker.setToolTip(tip)
        else:
            self.docker.setText(
                "Sandbox: swarm unavailable" if backend.startswith("swarm") else "Sandbox: unavailable"
            )
            tip = str(docker.get("detail", ""))
            if docker.get("fix"):
                tip += f"\nFix: {docker['fix']}"
            self.docker.setToolTip(tip)
        self.network.setText("Network: on" if status.get("network") else "Network: off")
        voice = status.get("voice")
        if isinstance(voice, dict):
            self._voice_status = voice
        self._show_voice()
        llm = status.get("llm")
        if isinstance(llm, dict):
            self._show_model(llm)
        self.admin.setText("Admin: unlocked" if status.get("admin_unlocked") else "Admin: locked")

    def _show_model(self, llm: dict[str, Any]) -> None:
        """Which model answers: ``Model: name (local)``, ``Model: name @ host``, or ``Model: none``."""
        if not llm.get("backend"):
            self.model.setText("Model: none")
            self.model.setToolTip(str(llm.get("hint", "")))
            return
        if llm.get("backend") == "llama.cpp" and not llm.get("loaded"):
            if self._model_loading:
                self.model.setText(f"Model: {llm.get('name')} · loading…")
                self.model.setToolTip("Loading the local model now, so the first answer does not wait.")
                return
            if self._model_problem:
                self.model.setText(f"Model: {llm.get('name')} · not loaded")
                self.model.setToolTip(self._model_problem)
                return
        self.model.setText(f"Model: {llm.get('name')}")
        loaded = (
            " (loaded)"
            if llm.get("loaded")
            else " (loads on first use)"
            if llm.get("backend") == "llama.cpp"
            else ""
        )
        self.model.setToolTip(f"{llm.get('backend')} · {llm.get('model')}{loaded}")

    def show_model_loading(self, loading: bool, problem: str = "") -> None:
        """The window is loading the local model ahead of the first answer (``loading``), or has
        stopped; ``problem``: why it could not (shown until the model loads)."""
        self._model_loading = loading
        self._model_problem = problem
        self.refresh()

    def _show_voice(self) -> None:
        text, tip = voice_label(self._voice_status, self._voice_state, self._voice_detail)
        self.voice.setText(text)
        self.voice.setToolTip(tip)
        language = (self._voice_status or {}).get("language")
        if language:
            self.voice_language.setText(f"Speech: {language}")
            self.voice_language.setToolTip(
                f"Voice language: {(self._voice_status or {}).get('language_name', language)} "
                "(Settings → Voice). Only a speech model for it is used."
            )

    def _on_voice_state(self, event: VoiceStateChanged) -> None:
        voice = self._app.services.voice
        if event.state in LISTENING_STATES and voice is not None and not voice.listening:
            return  # the wake watcher's microphone went live: still waiting for the wake phrase
        self._voice_state = "" if event.state == "idle" else event.state
        self._voice_detail = event.detail
        self._show_voice()
        if event.state == "error":
            self.refresh()  # the status check says what is missing now

    def _on_voice_settings(self, event: SettingsChanged) -> None:
        if "voice.language" in event.changes:
            self.voice_language.setText("Speech: …")
        # A voice error may be fixed by the new settings: show the state the next check reports.
        if any(key.startswith("voice.") for key in event.changes) and self._voice_state == "error":
            self._voice_state = ""
            self._voice_detail = ""
            self._show_voice()

    def _on_startup(self, event: StartupProgress) -> None:
        if event.state == "starting":
            self.startup.setText(f"Starting {event.part}… ({event.step}/{event.steps})")
            return
        if event.state == "failed":
            self.startup.setText(f"{event.part.capitalize()} failed to start")
            self.startup.setToolTip(event.detail)
        elif event.step == event.steps:
            self.startup.setText("Ready")
            self.startup.setToolTip("Plugins, sandbox, voice and the code library are up.")
        self.refresh()  # a part came up: its status is worth showing now

    def close_subscriptions(self) -> None:
        """Stop the timer and bus subscriptions (window closing)."""
        self._timer.stop()
        for sub in self._subs:
            sub.cancel()
