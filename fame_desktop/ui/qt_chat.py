"""The chat pane: conversation view, input with history, send/stop, busy state, mic and speak toggles.

The conversation itself (its turns, their answers, stop, and the voice revision rule) is the
orchestrator's :class:`ConversationModel`: this pane forwards what the user does to it and renders
the events it publishes. Answers' Markdown is rendered off the Qt thread, in the order the messages
came.
"""

from __future__ import annotations

import asyncio
import functools
import html
import re
import time
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import (
    QDesktopServices,
    QGuiApplication,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from fame_desktop.orchestrator.conversation_model import ConversationModel, Turn
from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.events import (
    ConversationBusyChanged,
    ConversationMessageAdded,
    ConversationOpened,
    ConversationsChanged,
    ConversationTruncated,
    QueryProgress,
    SettingsChanged,
    VoiceStateChanged,
    VoiceTranscript,
)
from fame_desktop.orchestrator.llm.events import LlmToken
from fame_desktop.ui.qt_chat_input import QtChatInput
from fame_desktop.ui.qt_code_buttons import RUN_SCHEME, QtCodeRunButtons
from fame_desktop.ui.qt_markdown import QtMarkdownRenderer, RenderedMarkdown
from fame_desktop.ui.qt_route_feedback import QtRouteFeedback
from fame_desktop.ui.qt_startup import WELCOME
from fame_desktop.ui.qt_voice import QtLevelMeter, QtMicButton, QtVoiceControl
from fame_desktop.ui.qt_workers import QtWorker, QtWorkerManager

if TYPE_CHECKING:
    from fame_desktop.app import App


ERROR_TITLES = {
    "network_disabled": "Network is off",
    "admin_required": "Admin key needed",
    "capability_disabled": "Capability disabled",
    "plugin_error": "Plugin error",
    "plugin_not_found": "No plugin for this",
    "timeout": "Timed out",
    "invalid_request": "Invalid request",
    "sandbox_unavailable": "Sandbox unavailable",
    "not_available": "Not available",
}
_TOP_MARGIN = re.compile(r'^<p style="[^"]*margin-top:(\d+)px')


class QtChatPane(QWidget):
    """Shows the conversation and sends what the user does to it.

    Args:
        app: The services and Brain.
        workers: Tracks the running query and the answers' rendering.
        conversation: The conversation shown (it asks the Brain and stores the messages).
        chat_input: The input to take over (the one the window showed, with whatever was typed in
            it, while it started); None: a new one.
    """

    busyChanged = Signal(bool)
    conversationsChanged = Signal()
    answered = Signal(dict)
    #: The Run button of an answer's code block was pressed: run this code in the sandbox.
    runCodeRequested = Signal(str)
    voiceModelWanted = Signal(dict)
    """The download offer was accepted: the voice status's ``offer`` (the catalogue model)."""

    def __init__(
        self,
        app: App,
        workers: QtWorkerManager,
        conversation: ConversationModel,
        parent: QWidget | None = None,
        *,
        chat_input: QtChatInput | None = None,
    ) -> None:
        super().__init__(parent)
        self._adopted_input = chat_input
        self._app = app
        self._workers = workers
        self.conversation = conversation
        self.renderer = QtMarkdownRenderer(dark=_is_dark(self))
        self._blocks: list[str] = []  # the view's HTML: the welcome (if shown), then one per message
        self._offset = 0  # blocks before the first message (the welcome)
        self._code: list[str] = []  # the copyable code blocks shown
        self._code_marks: list[int] = []  # len(self._code) before each message shown
        # Messages waiting to be shown, in order (an answer's Markdown renders in a worker thread).
        self._pending: deque[ConversationMessageAdded] = deque()
        self._rendering: QtWorker | None = None
        self._quiet_below = 0  # answers before this message index are not spoken (stopped first)
        self._closed = False
        self._voice_speaking = False
        # The answer the model is writing, shown as plain text until the finished answer replaces
        # it: where it starts in the document and which completion it shows.
        self._draft_start: int | None = None
        self._draft_stream = ""
        self._build()
        bus = app.bus
        self._subs = [
            bus.subscribe(ConversationOpened, self._on_opened),
            bus.subscribe(ConversationMessageAdded, self._on_message),
            bus.subscribe(ConversationTruncated, self._on_truncated),
            bus.subscribe(ConversationBusyChanged, self._on_busy),
            bus.subscribe(ConversationsChanged, lambda _e: self.conversationsChanged.emit()),
            bus.subscribe(QueryProgress, self._on_progress),
            bus.subscribe(LlmToken, self._on_token),
            bus.subscribe(SettingsChanged, self._on_settings),
            bus.subscribe(VoiceStateChanged, self._on_voice_state),
            bus.subscribe(VoiceTranscript, self._on_transcript),
        ]
        shown = ((m.role, m.text, m.meta, m.ts) for m in conversation.messages)
        self._show_all(conversation.conversation_id is None, shown)
        # The voice status imports numpy and opens PortAudio: checked in a worker, never here.
        self.voice_control.refresh_status()

    @property
    def busy(self) -> bool:
        """Whether a question is being answered."""
        return self.conversation.busy

    @property
    def conversation_id(self) -> int | None:
        """The stored conversation shown (None: a new one, not stored yet)."""
        return self.conversation.conversation_id

    # --- layout ----------------------------------------------------------------------------------

    def _build(self) -> None:
        self.view = QTextBrowser(self)
        self.view.setObjectName("chatView")
        self.view.setOpenLinks(False)
        self.view.anchorClicked.connect(self._on_link)
        self.view.setAccessibleName("Conversation")
        self.run_buttons = QtCodeRunButtons(self.view, self.run_code_block)
        if self._adopted_input is not None:
            self.input = self._adopted_input
            self.input.history = self.conversation.history
        else:
            self.input = QtChatInput(self.conversation.history, self)
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
        self.route_feedback = QtRouteFeedback(
            self._app, self._workers, self.conversation, self.status.setText, self
        )
        self.mic_button = QtMicButton(self)
        self.level_meter = QtLevelMeter(self)
        self.voice_control = QtVoiceControl(
            self._app.services.voice, self._app.bus, self._workers, self.mic_button, self.level_meter, self
        )
        self.voice_control.transcribed.connect(lambda text: self.ask(text, source="voice"))
        self.voice_control.revised.connect(self._revise)
        self.voice_control.message.connect(self.status.setText)
        self.voice_control.activeChanged.connect(self._update_stop)
        # No model for the voice language: say so and offer its download (never another language's).
        self.voice_offer = QPushButton("", self)
        self.voice_offer.setObjectName("voiceDownloadOffer")
        self.voice_offer.setVisible(False)
        self.voice_offer.clicked.connect(self._accept_voice_offer)
        self.voice_control.statusChanged.connect(self._show_voice_offer)
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
        layout.addWidget(self.voice_offer, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.route_feedback.bar)
        layout.addLayout(row)

    def _show_voice_offer(self, status: dict[str, Any]) -> None:
        offer = status.get("offer")
        if not isinstance(offer, dict):
            self.voice_offer.setVisible(False)
            return
        self.voice_offer.setText(
            f"Download the {offer['name']} speech model ({int(offer['size']) / 1e6:.0f} MB)"
        )
        self.voice_offer.setToolTip(f"{offer['model']} from {offer['url']}")
        self.voice_offer.setProperty("offer", offer)
        self.voice_offer.setVisible(True)

    def _accept_voice_offer(self) -> None:
        offer = self.voice_offer.property("offer")
        if isinstance(offer, dict):
            self.voiceModelWanted.emit(offer)

    # --- what the user does ----------------------------------------------------------------------

    def send(self) -> None:
        """Send the input's text to the Brain (ignored while a query runs)."""
        text = self.input.toPlainText().strip()
        if not text or self.busy:
            return
        self.conversation.history.add(text)
        self.input.clear()
        self.ask(text)

    def ask(self, text: str, intent: str | None = None, *, source: str = "ui") -> QtWorker:
        """Ask ``text`` in the conversation, in a tracked worker that ends once the answer shows.

        Args:
            text: The question.
            intent: Routes it to an intent instead of letting the Brain infer one.
            source: ``ui`` (typed) or ``voice`` (a push-to-talk transcript); audited as given.
        """
        return self._answer(self.conversation.question(text, source=source), intent)

    def _revise(self, text: str) -> None:
        """The current listen's longer transcript ``text`` replaces its question (the model's rule)."""
        self._answer(self.conversation.revise(text), None)

    def _answer(self, turn: Turn, intent: str | None) -> QtWorker:
        async def answer() -> dict[str, Any] | None:
            response = await self.conversation.answer(turn, intent)
            await self._shown()  # the answer is on screen when the worker ends
            return response

        return self._workers.run(answer, name="query", group="query", exclusive=True)

    def stop(self) -> None:
        """Cancel the running query (the Brain audits the cancellation), listening and speaking."""
        self._quiet_below = len(self.conversation.messages)  # an answer still rendering stays quiet
        self.conversation.stop()
        self._workers.cancel_group("query")
        voice = self._app.services.voice
        if voice is not None:
            if self.voice_control.active:
                self.voice_control.finish(discard=True)
            voice.stop_speaking()

    def open_conversation(self, conversation_id: int | None) -> None:
        """Show a stored conversation (None: start a new one)."""
        if self.busy:
            self.stop()
        self.conversation.open(conversation_id)

    # --- showing ---------------------------------------------------------------------------------

    def _on_opened(self, event: ConversationOpened) -> None:
        self._pending.clear()  # a render under way finds its message gone and drops it
        self._show_all(
            event.conversation_id is None, ((m.role, m.text, m.meta, m.ts) for m in event.messages)
        )

    def _show_all(self, welcome: bool, messages: Iterable[tuple[str, str, dict[str, Any], float]]) -> None:
        """Show a whole conversation (``welcome``: a new one, under the welcome line)."""
        self._blocks = [WELCOME] if welcome else []
        self._offset = len(self._blocks)
        self._code = []
        self._code_marks = []
        self.route_feedback.forget_from(0)
        for index, (role, text, meta, ts) in enumerate(messages):
            self._code_marks.append(len(self._code))
            self._blocks.append(self._message_html(role, text, meta, ts, index=index))
        self._render()

    def _on_message(self, event: ConversationMessageAdded) -> None:
        if self._closed:
            return
        self._pending.append(event)
        self._pump()

    def _pump(self) -> None:
        """Show the waiting messages in order; an answer is rendered in a worker first."""
        while self._pending and self._rendering is None:
            event = self._pending[0]
            if event.role == "assistant":
                self._rendering = self._workers.run(
                    functools.partial(self._render_answer, event), name="chat-render", group="chat-render"
                )
                return
            self._pending.popleft()
            self._show(event)

    async def _render_answer(self, event: ConversationMessageAdded) -> None:
        """Render an answer's Markdown in a worker thread, then show it (unless it was taken back).

        Markdown and code highlighting take 5-90 ms (more while a sandbox run competes for the
        CPU); off the Qt thread the window keeps painting meanwhile.
        """
        first = len(self._code)
        try:
            rendered = await asyncio.to_thread(self.renderer.render, event.text, first)
        finally:
            self._rendering = None
        if self._pending and self._pending[0] is event:
            self._pending.popleft()
            self._show(event, rendered if len(self._code) == first else None)
        self._pump()

    async def _shown(self) -> None:
        """Wait until the messages published so far are shown."""
        while self._rendering is not None and self._rendering.task is not None:
            await asyncio.wait({self._rendering.task})

    def _show(self, event: ConversationMessageAdded, rendered: RenderedMarkdown | None = None) -> None:
        """Append a message to the view (``rendered``: an answer's HTML, if made already)."""
        self._drop_draft()  # the finished answer (or the error, or "stopped") takes its place
        self._code_marks.append(len(self._code))
        block = self._message_html(event.role, event.text, event.meta, event.ts, rendered, index=event.index)
        self._blocks.append(block)
        self._append(block)
        if event.response is not None:
            if not event.external:
                self.route_feedback.on_answer(event.meta)
            self.answered.emit(event.response)
            if not event.external and event.index >= self._quiet_below:
                self._speak(event.response)

    def _on_truncated(self, event: ConversationTruncated) -> None:
        keep = event.keep
        self.route_feedback.forget_from(keep)
        self._pending = deque(e for e in self._pending if e.index < keep)
        if len(self._code_marks) > keep:
            del self._code[self._code_marks[keep] :]
            del self._code_marks[keep:]
            del self._blocks[self._offset + keep :]
        self._render()
        voice = self._app.services.voice
        if voice is not None:
            voice.stop_speaking()  # its answer may be waiting for the listen to end

    def _on_busy(self, event: ConversationBusyChanged) -> None:
        self.progress.setVisible(event.busy)
        self._update_stop()
        self.send_button.setEnabled(not event.busy)
        self.status.setText("Thinking…" if event.busy else "")
        self.busyChanged.emit(event.busy)

    def _message_html(
        self,
        role: str,
        text: str,
        meta: dict[str, Any],
        ts: float,
        rendered: RenderedMarkdown | None = None,
        *,
        index: int = -1,
    ) -> str:
        stamp = time.strftime("%H:%M", time.localtime(ts))
        if role == "user":
            # Leading spaces kept: a question may carry indented code ("run this: ...").
            body = html.escape(text).replace("\n", "<br>").replace("  ", "&nbsp; ")
            return (
                f'<p style="margin-top:12px;"><b>You</b> <span style="color:gray; font-size:small;">'
                f"{stamp}</span><br>{body}</p>"
            )
        if role == "system":
            return f'<p style="color:#b26b00; margin-top:8px;"><i>{html.escape(text)}</i></p>'
        info = _meta_line(meta)
        links = self.route_feedback.links_html(index, meta) if index >= 0 else ""
        line = f'<p style="color:gray; font-size:small;">{html.escape(info)}{links}</p>' if info else ""
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
        self._draft_start = None
        self._draft_stream = ""
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

    # --- the answer being written ----------------------------------------------------------------

    def _on_token(self, event: LlmToken) -> None:
        """Show the model's new text at the end of the view as it arrives (plain text: cheap)."""
        if self._closed or not event.query_id or event.query_id != self.conversation.query_id:
            return
        if event.stream_id != self._draft_stream:
            self._drop_draft()  # a new completion (a retry or a repair) starts a new draft
            self._start_draft(event)
        cursor = QTextCursor(self.view.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(event.text, QTextCharFormat())
        bar = self.view.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _start_draft(self, event: LlmToken) -> None:
        cursor = QTextCursor(self.view.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        self._draft_start = cursor.position()
        self._draft_stream = event.stream_id
        fmt = QTextBlockFormat()
        fmt.setTopMargin(12.0)
        cursor.insertBlock(fmt, QTextCharFormat())
        writer = f" · {event.backend} · {event.model}" if event.backend and event.model else ""
        cursor.insertHtml(
            f'<b>FAME</b> <span style="color:gray; font-size:small;">writing…{html.escape(writer)}</span>'
        )
        cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())

    def _drop_draft(self) -> None:
        """Remove the answer being written from the view (the document is as before it)."""
        if self._draft_start is None:
            return
        cursor = QTextCursor(self.view.document())
        cursor.setPosition(self._draft_start)
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        self._draft_start = None
        self._draft_stream = ""

    def draft_text(self) -> str:
        """The answer being written, as shown ("" when none): tests and accessibility."""
        if self._draft_start is None:
            return ""
        cursor = QTextCursor(self.view.document())
        cursor.setPosition(self._draft_start)
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        return cursor.selectedText().replace("\u2029", "\n").split("\n", 2)[-1]

    def plain_text(self) -> str:
        """What the chat view shows, as plain text (tests and accessibility)."""
        return self.view.toPlainText()

    def _on_link(self, url: QUrl) -> None:
        if self.route_feedback.handle_link(url):
            return
        if url.scheme() == RUN_SCHEME:
            self.run_code_block(int(url.path()) if url.path().isdigit() else -1)
            return
        if url.scheme() == "copy":
            index = int(url.path() or "-1") if (url.path() or "").isdigit() else -1
            if 0 <= index < len(self._code):
                QGuiApplication.clipboard().setText(self._code[index])
                self.status.setText("Code copied to the clipboard.")
            return
        if url.scheme() in ("http", "https"):
            QDesktopServices.openUrl(url)

    def run_code_block(self, index: int) -> None:
        """Ask for code block ``index`` of the conversation shown to be run in the sandbox."""
        if 0 <= index < len(self._code):
            self.runCodeRequested.emit(self._code[index])
            self.status.setText("Running the code in the sandbox: its output shows in the Sandbox pane.")

    # --- events ----------------------------------------------------------------------------------

    def _on_progress(self, event: QueryProgress) -> None:
        if event.query_id == self.conversation.query_id:
            self.status.setText(event.message)

    def _on_settings(self, event: SettingsChanged) -> None:
        if "voice.speak_answers" in event.changes:
            self.speak_toggle.blockSignals(True)
            self.speak_toggle.setChecked(bool(event.changes["voice.speak_answers"]))
            self.speak_toggle.blockSignals(False)

    def _on_voice_state(self, event: VoiceStateChanged) -> None:
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

    def close_subscriptions(self) -> None:
        """Stop listening to the bus (window closing)."""
        self._closed = True
        self.voice_control.close()
        for sub in self._subs:
            sub.cancel()


def _meta_line(meta: dict[str, Any]) -> str:
    parts: list[str] = []
    if meta.get("stopped"):
        parts.append("⏹ stopped")
    if meta.get("model"):
        parts.append(str(meta["model"]))
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
