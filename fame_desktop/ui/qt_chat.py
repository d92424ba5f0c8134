"""The chat pane: conversation view, input with history, send/stop, busy state, mic and speak toggles.

A spoken question is asked at its early final, while the microphone still listens for more. If the
user goes on after a pause, the revised transcript replaces that exchange (question and any answer,
in the view and in the stored conversation) and is asked again; the superseded query is cancelled
quietly, so the user sees their whole question and one answer.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, QUrl, Signal
from PySide6.QtGui import (
    QDesktopServices,
    QGuiApplication,
    QKeyEvent,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from fame_desktop.orchestrator.conversations import ConversationStore, Message
from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.events import (
    QueryCompleted,
    QueryProgress,
    QueryReceived,
    SettingsChanged,
    VoiceStateChanged,
    VoiceTranscript,
)
from fame_desktop.ui.qt_markdown import QtMarkdownRenderer, RenderedMarkdown
from fame_desktop.ui.qt_voice import QtLevelMeter, QtMicButton, QtVoiceControl
from fame_desktop.ui.qt_workers import QtWorker, QtWorkerManager

if TYPE_CHECKING:
    from fame_desktop.app import App

log = logging.getLogger("fame.ui.chat")

ERROR_TITLES = {
    "network_disabled": "Network is off",
    "admin_required": "Admin key needed",
    "capability_disabled": "Capability disabled",
    "plugin_error": "Plugin error",
    "timeout": "Timed out",
    "invalid_request": "Invalid request",
    "sandbox_unavailable": "Sandbox unavailable",
    "not_available": "Not available",
}
HISTORY_LIMIT = 200
_TOP_MARGIN = re.compile(r'^<p style="[^"]*margin-top:(\d+)px')


@dataclass
class _Turn:
    """One question and what followed it in the view, so a revision can take it back.

    Attributes:
        first_block: Index of its first block in the view.
        code_blocks: How many copyable code blocks the view had before it.
        message_id: Its first stored message (None: not stored).
        listen: The listen it came from (voice), to tell a revision from a new question.
        spoken: It came from the microphone (only those are revised).
        query_id: The Brain's id for it (voice queries the wake phrase started).
        worker: The query's worker (questions asked from the chat).
        new_conversation: It started the conversation (which is titled with its text).
        superseded: A revision replaced it: its cancellation and answer are not shown.
    """

    first_block: int
    code_blocks: int
    message_id: int | None
    listen: int
    spoken: bool
    query_id: str = ""
    worker: QtWorker | None = None
    new_conversation: bool = False
    superseded: bool = False


class QtChatInput(QPlainTextEdit):
    """Multi-line input: Enter sends, Shift+Enter adds a line, Up/Down walk the history."""

    submitted = Signal()
    stopRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatInput")
        self.setPlaceholderText("Ask FAME…  (Enter sends, Shift+Enter for a new line, ↑/↓ history)")
        self.setTabChangesFocus(True)
        self.history: list[str] = []
        self._pos = 0
        self._draft = ""

    def add_history(self, text: str) -> None:
        """Remember a sent text (no consecutive duplicates)."""
        if not self.history or self.history[-1] != text:
            self.history.append(text)
            del self.history[:-HISTORY_LIMIT]
        self._pos = len(self.history)

    def keyPressEvent(self, e: QKeyEvent) -> None:
        key, mods = e.key(), e.modifiers()
        if key == Qt.Key.Key_Escape:
            self.stopRequested.emit()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if mods & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
            else:
                self.submitted.emit()
            return
        cursor = self.textCursor()
        if key == Qt.Key.Key_Up and self.history and cursor.blockNumber() == 0:
            if self._pos == len(self.history):
                self._draft = self.toPlainText()
            self._pos = max(0, self._pos - 1)
            self._show(self.history[self._pos])
            return
        last_line = cursor.blockNumber() == self.document().blockCount() - 1
        if key == Qt.Key.Key_Down and last_line and self._pos < len(self.history):
            self._pos += 1
            self._show(self.history[self._pos] if self._pos < len(self.history) else self._draft)
            return
        super().keyPressEvent(e)

    def _show(self, text: str) -> None:
        self.setPlainText(text)
        self.moveCursor(QTextCursor.MoveOperation.End)


class QtChatPane(QWidget):
    """Talks to the Brain and shows the conversation.

    Args:
        app: The services and Brain.
        workers: Tracks the running query.
        store: Where conversations persist.
    """

    busyChanged = Signal(bool)
    conversationsChanged = Signal()
    answered = Signal(dict)

    def __init__(
        self, app: App, workers: QtWorkerManager, store: ConversationStore, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._app = app
        self._workers = workers
        self._store = store
        self.renderer = QtMarkdownRenderer(dark=_is_dark(self))
        self.conversation_id: int | None = None
        self.busy = False
        self._blocks: list[str] = []
        self._code: list[str] = []
        self._query_id: str | None = None
        self._voice_queries: set[str] = set()
        self._own_queries: set[str] = set()
        self._worker: QtWorker | None = None
        self._closed = False
        self._voice_speaking = False
        self._turns: list[_Turn] = []  # the view's questions, newest last
        self._listens = 0  # voice listens started: a revision comes from the current one
        self._build()
        bus = app.bus
        self._subs = [
            bus.subscribe(QueryProgress, self._on_progress),
            bus.subscribe(QueryReceived, self._on_received),
            bus.subscribe(QueryCompleted, self._on_completed),
            bus.subscribe(SettingsChanged, self._on_settings),
            bus.subscribe(VoiceStateChanged, self._on_voice_state),
            bus.subscribe(VoiceTranscript, self._on_transcript),
        ]
        self._welcome()
        # The voice status imports numpy and opens PortAudio: checked in a worker, never here.
        self.voice_control.refresh_status()

    # --- layout ----------------------------------------------------------------------------------

    def _build(self) -> None:
        self.view = QTextBrowser(self)
        self.view.setObjectName("chatView")
        self.view.setOpenLinks(False)
        self.view.anchorClicked.connect(self._on_link)
        self.view.setAccessibleName("Conversation")
        self.input = QtChatInput(self)
        self.input.setMaximumHeight(96)
        self.input.submitted.connect(self.send)
        self.input.stopRequested.connect(self.stop)
        self.send_button = QPushButton("Send", self)
        self.send_button.setObjectName("sendButton")
        self.send_button.setToolTip("Send (Enter or Ctrl+Enter)")
        self.send_button.clicked.connect(self.send)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop the running query, listening or speaking (Esc)")
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)
        self.status = QLabel("", self)
        self.status.setObjectName("chatStatus")
        self.status.setWordWrap(True)
        self.mic_button = QtMicButton(self)
        self.level_meter = QtLevelMeter(self)
        self.voice_control = QtVoiceControl(
            self._app.services.voice, self._app.bus, self._workers, self.mic_button, self.level_meter, self
        )
        self.voice_control.transcribed.connect(lambda text: self.ask(text, source="voice"))
        self.voice_control.revised.connect(self._revise)
        self.voice_control.message.connect(self.status.setText)
        self.voice_control.activeChanged.connect(self._update_stop)
        self.speak_toggle = QToolButton(self)
        self.speak_toggle.setObjectName("speakToggle")
        self.speak_toggle.setText("Speak")
        self.speak_toggle.setCheckable(True)
        self.speak_toggle.setChecked(bool(self._app.settings.get("voice.speak_answers")))
        self.speak_toggle.toggled.connect(self._on_speak_toggled)
        self.speak_toggle.setToolTip("Speak answers aloud (Esc or Stop ends speaking)")
        self.progress = QProgressBar(self)
        self.progress.setObjectName("busyIndicator")
        self.progress.setRange(0, 0)
        self.progress.setMaximumHeight(6)
        self.progress.setTextVisible(False)
        self.progress.setVisible(False)

        row = QHBoxLayout()
        row.addWidget(self.input, 1)
        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        voice = QHBoxLayout()
        voice.addWidget(self.mic_button)
        voice.addWidget(self.speak_toggle)
        buttons.addLayout(voice)
        buttons.addWidget(self.level_meter)
        row.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(row)

    def _welcome(self) -> None:
        self._blocks = [
            '<p style="color:gray;">Ask anything: <i>what is 2 + 2</i>, <i>write a python function to '
            "reverse a string</i>, <i>what time is it</i>. Generated code runs in the sandbox; "
            "everything is audited.</p>"
        ]
        self._code = []
        self._render()

    # --- sending ---------------------------------------------------------------------------------

    def send(self) -> None:
        """Send the input's text to the Brain (ignored while a query runs)."""
        text = self.input.toPlainText().strip()
        if not text or self.busy:
            return
        self.input.add_history(text)
        self.input.clear()
        self.ask(text)

    def ask(self, text: str, intent: str | None = None, *, source: str = "ui") -> QtWorker:
        """Show ``text`` as the user's message and ask the Brain in a tracked worker.

        Args:
            text: The question.
            intent: Routes it to an intent instead of letting the Brain infer one.
            source: ``ui`` (typed) or ``voice`` (a push-to-talk transcript); audited as given.
        """
        turn = self._question(text, {"source": source} if source != "ui" else None)
        turn.worker = self._workers.run(
            lambda: self._ask(text, intent, source, turn), name="query", group="query", exclusive=True
        )
        self._worker = turn.worker
        return turn.worker

    def _question(self, text: str, meta: dict[str, Any] | None) -> _Turn:
        """Show (and store) the user's message ``text``; the turn it starts."""
        new = self.conversation_id is None
        if new:
            self.conversation_id = self._store.create(text)
            self.conversationsChanged.emit()
        spoken = (meta or {}).get("source") == "voice"
        turn = _Turn(len(self._blocks), len(self._code), None, self._listens, spoken, new_conversation=new)
        turn.message_id = self._add("user", text, meta)
        self._turns.append(turn)
        return turn

    def _revise(self, text: str) -> None:
        """Replace the current listen's question with its longer transcript ``text`` and ask that."""
        turn = self._revisable()
        if turn is not None and turn.worker is not None:
            self._take_back(turn)
            turn.worker.cancel()  # audited as query_cancelled; shown nowhere
        self.ask(text, source="voice")

    def _revisable(self) -> _Turn | None:
        """The last question, if it was spoken during the current listen."""
        turn = self._turns[-1] if self._turns else None
        return turn if turn is not None and turn.spoken and turn.listen == self._listens else None

    def _take_back(self, turn: _Turn) -> None:
        """Remove superseded ``turn`` (the last one) from the view and the stored conversation."""
        turn.superseded = True
        self._turns.remove(turn)
        del self._blocks[turn.first_block :]
        del self._code[turn.code_blocks :]
        self._render()
        if self.conversation_id is not None and turn.message_id is not None:
            try:
                if turn.new_conversation:
                    # Titled with the superseded words: the revision starts it again.
                    self._store.delete(self.conversation_id)
                    self.conversation_id = None
                else:
                    self._store.delete_messages_from(self.conversation_id, turn.message_id)
            except FameError as exc:
                log.warning("superseded question not removed from the conversation: %s", exc.message)
            self.conversationsChanged.emit()
        voice = self._app.services.voice
        if voice is not None:
            voice.stop_speaking()  # its answer may be waiting for the listen to end

    async def _ask(
        self, text: str, intent: str | None, source: str = "ui", turn: _Turn | None = None
    ) -> dict[str, Any] | None:
        query_id = "ui-" + uuid.uuid4().hex[:16]
        request: dict[str, Any] = {"text": text, "source": source, "id": query_id}
        if intent:
            request["intent"] = intent
        if self._app.admin_key:
            request["admin_key"] = self._app.admin_key
        self._query_id = query_id
        self._own_queries.add(query_id)
        self._set_busy(True, "Thinking…")
        try:
            response = await self._app.brain.handle_query(request)
        except asyncio.CancelledError:
            if turn is None or not turn.superseded:
                self._add("system", "Stopped: the query was cancelled.")
            raise
        except Exception as exc:
            # The Brain answers errors in the response; an exception here is a bug worth showing.
            log.exception("query failed")
            self._add("error", f"The query failed unexpectedly: {exc!r}", {"code": "internal"})
            return None
        finally:
            self._own_queries.discard(query_id)
            if self._query_id == query_id:  # a revision's query may already have started
                self._query_id = None
                self._set_busy(False)
        if turn is not None and turn.superseded:
            return response
        try:
            rendered = await self._render_answer(response)
        except asyncio.CancelledError:
            # Stopped after the answer came: it is complete, so show it rather than lose it.
            if turn is None or not turn.superseded:
                self.show_response(response)
            raise
        if turn is not None and turn.superseded:
            return response
        self.show_response(response, rendered)
        self._speak(response)
        return response

    async def _render_answer(self, response: dict[str, Any]) -> RenderedMarkdown | None:
        """The answer's Markdown, rendered in a worker thread; None for an error or if the view changed.

        Markdown and code highlighting take 5-90 ms (more while a sandbox run competes for the
        CPU); off the Qt thread the window keeps painting meanwhile.
        """
        if response.get("error"):
            return None
        first = len(self._code)
        rendered = await asyncio.to_thread(self.renderer.render, str(response.get("response", "")), first)
        return rendered if len(self._code) == first else None  # else: rendered again in place

    def stop(self) -> None:
        """Cancel the running query (the Brain audits the cancellation), listening and speaking."""
        self._workers.cancel_group("query")
        voice = self._app.services.voice
        if voice is not None:
            if self.voice_control.active:
                self.voice_control.finish(discard=True)
            voice.stop_speaking()

    def show_response(self, response: dict[str, Any], rendered: RenderedMarkdown | None = None) -> None:
        """Show a query response: the answer, or the error with its fix, plus a discreet meta line.

        Args:
            response: The Brain's query response.
            rendered: The answer already rendered (off the Qt thread); rendered here if None.
        """
        meta = {
            "intent": response.get("intent"),
            "plugins": response.get("plugins") or [],
            "confidence": response.get("confidence"),
            "ms": response.get("processing_time_ms"),
            "audit_id": response.get("audit_id"),
        }
        error = response.get("error")
        if error:
            meta["code"] = error.get("code")
            self._add("error", str(error.get("message", "")), meta)
        else:
            self._add("assistant", str(response.get("response", "")), meta, rendered)
        self.answered.emit(response)

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self.busy = busy
        self.progress.setVisible(busy)
        self._update_stop()
        self.send_button.setEnabled(not busy)
        self.status.setText(text)
        self.busyChanged.emit(busy)

    # --- showing ---------------------------------------------------------------------------------

    def _add(
        self,
        role: str,
        text: str,
        meta: dict[str, Any] | None = None,
        rendered: RenderedMarkdown | None = None,
    ) -> int | None:
        """Show and store a message (``rendered``: an answer's HTML, if made already); its stored id."""
        if self._closed:
            return None  # a query cancelled by closing the window: nothing left to show or store
        meta = meta or {}
        message_id = None
        if self.conversation_id is not None:
            try:
                message_id = self._store.add_message(self.conversation_id, role, text, meta)
            except FameError as exc:
                log.warning("message not saved: %s", exc.message)
            self.conversationsChanged.emit()
        block = self._message_html(role, text, meta, time.time(), rendered)
        self._blocks.append(block)
        self._append(block)
        return message_id

    def _message_html(
        self, role: str, text: str, meta: dict[str, Any], ts: float, rendered: RenderedMarkdown | None = None
    ) -> str:
        stamp = time.strftime("%H:%M", time.localtime(ts))
        if role == "user":
            body = html.escape(text).replace("\n", "<br>")
            return (
                f'<p style="margin-top:12px;"><b>You</b> <span style="color:gray; font-size:small;">'
                f"{stamp}</span><br>{body}</p>"
            )
        if role == "system":
            return f'<p style="color:#b26b00; margin-top:8px;"><i>{html.escape(text)}</i></p>'
        info = _meta_line(meta)
        line = f'<p style="color:gray; font-size:small;">{html.escape(info)}</p>' if info else ""
        if role == "error":
            title = ERROR_TITLES.get(str(meta.get("code")), "Error")
            return (
                f'<table width="100%" cellpadding="8" style="background-color:#fdecea; margin-top:8px;">'
                f'<tr><td style="color:#8a1c1c;"><b>⚠ {html.escape(title)}</b><br>'
                f"{html.escape(text)}</td></tr></table>{line}"
            )
        if rendered is None:
            rendered = self.renderer.render(text, first_index=len(self._code))
        self._code.extend(rendered.code_blocks)
        return (
            f'<p style="margin-top:12px;"><b>FAME</b> <span style="color:gray; font-size:small;">'
            f"{stamp}</span></p>{rendered.html}{line}"
        )

    def _render(self) -> None:
        """Show the whole conversation again (opening one, or after taking a question back)."""
        self.view.setHtml("".join(self._blocks))
        bar = self.view.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _append(self, block: str) -> None:
        """Add one message's HTML at the end, looking exactly as :meth:`_render` would show it.

        Re-setting the whole conversation costs more with every message (10-40 ms after a few code
        answers); appending costs one message. ``insertHtml`` merges the fragment's first paragraph
        into the block it lands in, so that block is made with the paragraph's top margin; a table
        becomes its own frame and needs no block.
        """
        cursor = QTextCursor(self.view.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        if not block.startswith("<table"):
            fmt = QTextBlockFormat()
            margin = _TOP_MARGIN.match(block)
            if margin:
                fmt.setTopMargin(float(margin.group(1)))
            cursor.insertBlock(fmt, QTextCharFormat())
        cursor.insertHtml(block)
        bar = self.view.verticalScrollBar()
        bar.setValue(bar.maximum())

    def plain_text(self) -> str:
        """What the chat view shows, as plain text (tests and accessibility)."""
        return self.view.toPlainText()

    def open_conversation(self, conversation_id: int | None) -> None:
        """Show a stored conversation (None: start a new one)."""
        if self.busy:
            self.stop()
        self.conversation_id = conversation_id
        self._turns = []
        self._welcome()
        if conversation_id is None:
            return
        msgs: list[Message] = self._store.messages(conversation_id)
        self._blocks = [self._message_html(m.role, m.text, m.meta, m.ts) for m in msgs]
        self._render()

    def _on_link(self, url: QUrl) -> None:
        if url.scheme() == "copy":
            index = int(url.path() or "-1") if (url.path() or "").isdigit() else -1
            if 0 <= index < len(self._code):
                QGuiApplication.clipboard().setText(self._code[index])
                self.status.setText("Code copied to the clipboard.")
            return
        if url.scheme() in ("http", "https"):
            QDesktopServices.openUrl(url)

    # --- events ----------------------------------------------------------------------------------

    def _on_progress(self, event: QueryProgress) -> None:
        if event.query_id == self._query_id:
            self.status.setText(event.message)

    def _on_received(self, event: QueryReceived) -> None:
        # Voice queries the wake phrase starts go through the Brain without the chat; show them as
        # the user's words (push-to-talk ones come through ``ask`` and are shown already).
        if event.source == "voice" and event.query_id not in self._own_queries:
            # A second query of the same listen is the adapter's revision of the first.
            last = self._revisable()
            if last is not None and last.query_id:
                self._voice_queries.discard(last.query_id)
                self._take_back(last)
            self._voice_queries.add(event.query_id)
            turn = self._question(event.text, {"source": "voice"})
            turn.query_id = event.query_id

    def _on_completed(self, event: QueryCompleted) -> None:
        if event.query_id in self._voice_queries:
            self._voice_queries.discard(event.query_id)
            self.show_response(event.response)

    def _on_settings(self, event: SettingsChanged) -> None:
        if "voice.speak_answers" in event.changes:
            self.speak_toggle.blockSignals(True)
            self.speak_toggle.setChecked(bool(event.changes["voice.speak_answers"]))
            self.speak_toggle.blockSignals(False)

    def _on_voice_state(self, event: VoiceStateChanged) -> None:
        if event.state == "starting":
            self._listens += 1  # a new listen: its first final is a new question, not a revision
        self._voice_speaking = event.state == "speaking"
        self._update_stop()

    def _update_stop(self) -> None:
        # Stop also ends listening and speaking, so it is usable whenever one of them runs.
        self.stop_button.setEnabled(self.busy or self._voice_speaking or self.voice_control.active)

    def _on_transcript(self, event: VoiceTranscript) -> None:
        if not event.final and event.text:
            self.status.setText(f"Hearing: {event.text}")

    # --- voice -----------------------------------------------------------------------------------

    def _speak(self, response: dict[str, Any]) -> None:
        """Speak the answer when "speak answers" is on (the adapter decides and does it)."""
        voice = self._app.services.voice
        if voice is not None and not self._closed:
            voice.speak_answer(response)

    def _on_speak_toggled(self, checked: bool) -> None:
        try:
            self._app.safety.update_settings({"voice.speak_answers": checked}, actor="ui")
        except FameError as exc:
            self.status.setText(f"{exc.message} {exc.fix}".strip())
        voice = self._app.services.voice
        if checked and voice is None:
            self.status.setText("Spoken answers are on, but voice not available: no voice adapter yet.")
        elif not checked and voice is not None:
            voice.stop_speaking()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        return super().eventFilter(watched, event)

    def close_subscriptions(self) -> None:
        """Stop listening to the bus (window closing)."""
        self._closed = True
        self.voice_control.close()
        for sub in self._subs:
            sub.cancel()


def _meta_line(meta: dict[str, Any]) -> str:
    parts: list[str] = []
    if meta.get("intent"):
        parts.append(str(meta["intent"]))
    if meta.get("plugins"):
        parts.append(", ".join(str(p) for p in meta["plugins"]))
    if isinstance(meta.get("confidence"), int | float) and meta["confidence"]:
        parts.append(f"confidence {float(meta['confidence']):.2f}")
    if isinstance(meta.get("ms"), int | float):
        parts.append(f"{float(meta['ms']):.0f} ms")
    if meta.get("audit_id"):
        parts.append(f"audit #{meta['audit_id']}")
    return " · ".join(parts)


def _is_dark(widget: QWidget) -> bool:
    return widget.palette().window().color().lightness() < 128
