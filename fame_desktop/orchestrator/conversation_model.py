"""The conversation being shown, without Qt: its turns, their answers, stop, and the voice revision rule.

A front end (the window's chat pane) calls :class:`ConversationModel` with what the user does (ask,
revise a spoken question, stop, start or open a conversation) and renders what it publishes on the
event bus: :class:`ConversationOpened`, :class:`ConversationMessageAdded`,
:class:`ConversationTruncated`, :class:`ConversationBusyChanged` and :class:`ConversationsChanged`.
Messages persist in the :class:`ConversationStore`.

The revision rule: a spoken question is asked at its early final while the microphone still
listens. If the user goes on after a pause, the longer transcript revises it: the first query is
cancelled quietly (the Brain audits it as ``query_cancelled``; nothing says it was stopped), its
question and any answer leave the conversation shown and the store, and the whole question is
asked, so the user sees their whole question and one answer. Queries the voice adapter asks by
itself (the wake phrase) are shown, and revised, the same way.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fame_desktop.orchestrator.conversations import ConversationStore
from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.events import (
    ConversationBusyChanged,
    ConversationMessageAdded,
    ConversationOpened,
    ConversationsChanged,
    ConversationTruncated,
    EventBus,
    QueryCompleted,
    QueryReceived,
    VoiceStateChanged,
)
from fame_desktop.orchestrator.llm.events import LlmToken
from fame_desktop.orchestrator.route_choice import CONVERSATION_PARAM, OPTIONS_PARAM
from fame_plugin_api import HISTORY_PARAM

log = logging.getLogger("fame.conversation")

Ask = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
"""Answers one query request with a query response (``Brain.handle_query``)."""

HISTORY_LIMIT = 200
REVISED = "superseded by a revised question"  # the cancel message of a revised question's query
STOPPED = "Stopped: the query was cancelled."
# The earlier turns sent with a question as its context (the model trims them to its context).
CONTEXT_MESSAGES = 40
CONTEXT_CHARS = 8000  # per message: a long answer's start and end are what the next turn refers to


@dataclass
class Draft:
    """What the model has written so far for a query (kept, marked stopped, when the user stops it)."""

    stream_id: str
    text: str = ""
    backend: str = ""
    model: str = ""


class InputHistory:
    """The questions typed, to walk back through (Up and Down in the input).

    Args:
        limit: How many to keep.
    """

    def __init__(self, limit: int = HISTORY_LIMIT) -> None:
        self.entries: list[str] = []
        self._limit = limit
        self._pos = 0
        self._draft = ""

    def add(self, text: str) -> None:
        """Remember a sent text (no consecutive duplicates); walking starts again from the newest."""
        if not self.entries or self.entries[-1] != text:
            self.entries.append(text)
            del self.entries[: -self._limit]
        self._pos = len(self.entries)

    def older(self, draft: str) -> str | None:
        """The entry before the one shown; None if there is none.

        Args:
            draft: What the input holds now: kept while walking, given back by :meth:`newer`.
        """
        if not self.entries:
            return None
        if self._pos == len(self.entries):
            self._draft = draft
        self._pos = max(0, self._pos - 1)
        return self.entries[self._pos]

    def newer(self) -> str | None:
        """The entry after the one shown (the draft after the newest); None if not walking."""
        if self._pos >= len(self.entries):
            return None
        self._pos += 1
        return self.entries[self._pos] if self._pos < len(self.entries) else self._draft


@dataclass(frozen=True)
class ShownMessage:
    """A message of the conversation shown; ``message_id`` is its stored id (None: not stored)."""

    role: str
    text: str
    meta: dict[str, Any]
    message_id: int | None
    ts: float = field(default_factory=time.time)


@dataclass(eq=False)
class Turn:
    """One question and what followed it, so that a revision can take it back.

    Attributes:
        text: The question.
        source: ``ui`` (typed) or ``voice``.
        first: Index of its question among the messages shown.
        listen: The voice listen it came from, to tell a revision from a new question.
        epoch: Which opening of a conversation it belongs to (its answer goes nowhere else).
        new_conversation: It started the conversation (which is titled with its text).
        external: The voice adapter asked it (the wake phrase), not this model.
        query_id: The Brain's id for it, once asked.
        message_id: Its question's stored id (None: not stored).
        task: The task asking it, while it runs (questions this model asks).
        superseded: A revision replaced it: its cancellation and its answer are not shown.
    """

    text: str
    source: str
    first: int
    listen: int
    epoch: int
    new_conversation: bool = False
    external: bool = False
    query_id: str = ""
    message_id: int | None = None
    task: asyncio.Task[Any] | None = None
    superseded: bool = False

    @property
    def spoken(self) -> bool:
        """It came from the microphone (only those are revised)."""
        return self.source == "voice"


class ConversationModel:
    """The conversation shown: asks its questions, keeps its turns and messages, applies revisions.

    Constructing it does no I/O. It follows the bus for voice queries the voice adapter asks by
    itself (``QueryReceived``/``QueryCompleted``) and for voice listens (``VoiceStateChanged``).

    Args:
        store: Where conversations persist.
        bus: Where it publishes what changed (and follows voice queries and listens).
        ask: Answers a query request (``Brain.handle_query``).
        admin_key: The admin key to send with each query, read when asking (None: none).
    """

    def __init__(
        self,
        store: ConversationStore,
        bus: EventBus,
        ask: Ask,
        *,
        admin_key: Callable[[], str | None] | None = None,
    ) -> None:
        self.store = store
        self.bus = bus
        self.history = InputHistory()
        self.conversation_id: int | None = None
        self._ask = ask
        self._admin_key = admin_key
        self._shown: list[ShownMessage] = []
        self._turns: list[Turn] = []  # the questions shown, newest last
        self._running: set[Turn] = set()
        self._query_id: str | None = None
        self._own_queries: set[str] = set()
        self._external: dict[str, Turn] = {}  # voice adapter queries awaiting their answer
        self._listens = 0  # voice listens started: a revision comes from the current one
        self._epoch = 0
        # The intents each clarifying answer offered, by its query id (sent back with the choice).
        self._clarify_options: dict[str, tuple[str, ...]] = {}
        self._drafts: dict[str, Draft] = {}  # the model's text so far, by query id
        self._closed = False
        self._subs = [
            bus.subscribe(LlmToken, self._on_token),
            bus.subscribe(QueryReceived, self._on_received),
            bus.subscribe(QueryCompleted, self._on_completed),
            bus.subscribe(VoiceStateChanged, self._on_voice_state),
        ]

    # --- state -----------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Whether a question of this conversation is being answered."""
        return self._query_id is not None

    @property
    def query_id(self) -> str | None:
        """The Brain's id of the question being answered (the newest, after a revision)."""
        return self._query_id

    @property
    def messages(self) -> tuple[ShownMessage, ...]:
        """The messages shown, oldest first."""
        return tuple(self._shown)

    @property
    def turns(self) -> tuple[Turn, ...]:
        """The questions shown since the conversation was opened, oldest first."""
        return tuple(self._turns)

    # --- asking ----------------------------------------------------------------------------------

    async def ask(self, text: str, intent: str | None = None, *, source: str = "ui") -> dict[str, Any] | None:
        """Show ``text`` as the user's question and answer it (see :meth:`question`, :meth:`answer`)."""
        return await self.answer(self.question(text, source=source), intent)

    def question(self, text: str, *, source: str = "ui") -> Turn:
        """Show and store the user's question; :meth:`answer` asks it.

        A question asked while another is answered stops that one, as :meth:`stop` would.

        Args:
            text: The question.
            source: ``ui`` (typed) or ``voice`` (a transcript); audited as given.
        """
        self.stop()
        return self._open_turn(text, source)

    async def answer(
        self, turn: Turn, intent: str | None = None, *, options: Sequence[str] = ()
    ) -> dict[str, Any] | None:
        """Ask the Brain ``turn``'s question and show its answer, its error, or that it was stopped.

        Args:
            turn: A question from :meth:`question` or :meth:`revise`.
            intent: Routes it to an intent instead of letting the Brain infer one.
            options: The intents the Brain asked the user to choose from, when ``intent`` is the
                choice (the Brain remembers it for this conversation).

        Returns:
            The query response; None if asking failed, or a revision superseded it before it was asked.

        Raises:
            asyncio.CancelledError: It was stopped (shown as such, unless a revision superseded it).
        """
        if turn.superseded or turn.external:
            return None
        turn.task = asyncio.current_task()
        query_id = "ui-" + uuid.uuid4().hex[:16]
        turn.query_id = query_id
        params: dict[str, Any] = {
            CONVERSATION_PARAM: self._routing_conversation(),
            HISTORY_PARAM: self._context_before(turn),
        }
        if intent and options:
            params[OPTIONS_PARAM] = list(options)
        request: dict[str, Any] = {"text": turn.text, "source": turn.source, "id": query_id, "params": params}
        if intent:
            request["intent"] = intent
        admin_key = self._admin_key() if self._admin_key is not None else None
        if admin_key:
            request["admin_key"] = admin_key
        self._query_id = query_id
        self._own_queries.add(query_id)
        self._running.add(turn)
        self.bus.publish(ConversationBusyChanged(busy=True, query_id=query_id))
        try:
            response = await self._ask(request)
        except asyncio.CancelledError:
            draft = self._drafts.pop(query_id, None)
            if self._current(turn):
                if draft is not None and draft.text.strip():
                    self._add("assistant", draft.text, _draft_meta(draft, query_id, turn.text))
                self._add("system", STOPPED)
            raise
        except Exception as exc:
            # The Brain answers errors in the response; an exception here is a bug worth showing.
            log.exception("query failed")
            if self._current(turn):
                self._add("error", f"The query failed unexpectedly: {exc!r}", {"code": "internal"})
            return None
        finally:
            self._drafts.pop(query_id, None)
            turn.task = None
            self._running.discard(turn)
            self._own_queries.discard(query_id)
            if self._query_id == query_id:  # a revision's query may already have started
                self._query_id = None
                self.bus.publish(ConversationBusyChanged(busy=False))
        if self._current(turn):  # else: superseded, or another conversation is shown now
            self._show_response(response)
        return response

    async def choose(self, query_id: str, intent: str) -> dict[str, Any] | None:
        """Answer the question whose answer asked "did you mean ...?" with the chosen ``intent``.

        The answer follows the question under the clarifying one; no new question is shown.

        Returns:
            The query response; None when that question is no longer shown.
        """
        for turn in reversed(self._turns):
            if turn.query_id == query_id and self._current(turn):
                clarify = self._clarify_options.get(query_id, ())
                return await self.answer(turn, intent, options=clarify)
        return None

    def _context_before(self, turn: Turn) -> list[dict[str, str]]:
        """The conversation's questions and answers shown before ``turn``, as model messages."""
        shown = self._shown[: turn.first]
        context = [
            {"role": m.role, "content": _clip(m.text)}
            for m in shown
            if m.role in ("user", "assistant") and m.text.strip()
        ]
        return context[-CONTEXT_MESSAGES:]

    def _routing_conversation(self) -> str:
        """The conversation id the Brain keeps routing choices under."""
        if self.conversation_id is not None:
            return f"ui-{self.conversation_id}"
        return f"ui-new-{id(self)}-{self._epoch}"

    def revise(self, text: str) -> Turn:
        """Replace the question spoken during the current listen with its longer transcript ``text``.

        The replaced exchange (question and any answer) leaves the conversation shown and the
        store, and its query is cancelled quietly (audited as cancelled, shown nowhere).

        Returns:
            The revised question's turn, for :meth:`answer`.
        """
        turn = self._revisable()
        if turn is not None and not turn.external:
            self._take_back(turn)
            if turn.task is not None:
                turn.task.cancel(REVISED)
        return self.question(text, source="voice")

    def stop(self) -> None:
        """Cancel the questions being answered (the Brain audits each cancellation)."""
        for turn in list(self._running):
            if turn.task is not None and not turn.superseded:  # a superseded one is cancelled already
                turn.task.cancel()

    # --- conversations ---------------------------------------------------------------------------

    def open(self, conversation_id: int | None) -> None:
        """Show a stored conversation, or start a new one (None); a question being answered stops."""
        self.stop()
        self._epoch += 1
        self._turns = []
        self._external.clear()
        self.conversation_id = conversation_id
        messages = tuple(self.store.messages(conversation_id)) if conversation_id is not None else ()
        self._shown = [ShownMessage(m.role, m.text, m.meta, m.id, m.ts) for m in messages]
        self.bus.publish(ConversationOpened(conversation_id=conversation_id, messages=messages))

    def new(self) -> None:
        """Start a new conversation (stored with its first question)."""
        self.open(None)

    def close(self) -> None:
        """Stop: nothing more is asked, shown or stored (the window is closing)."""
        self._closed = True
        self.stop()
        for sub in self._subs:
            sub.cancel()

    # --- turns -----------------------------------------------------------------------------------

    def _open_turn(self, text: str, source: str, *, external: bool = False, query_id: str = "") -> Turn:
        """Show (and store) the user's question ``text``; the turn it starts."""
        new = self.conversation_id is None
        if new and not self._closed:
            self.conversation_id = self.store.create(text)
            self._changed()
        turn = Turn(
            text,
            source,
            first=len(self._shown),
            listen=self._listens,
            epoch=self._epoch,
            new_conversation=new,
            external=external,
            query_id=query_id,
        )
        turn.message_id = self._add("user", text, {"source": source} if source != "ui" else None)
        self._turns.append(turn)
        return turn

    def _revisable(self) -> Turn | None:
        """The last question, if it was spoken during the current listen."""
        turn = self._turns[-1] if self._turns else None
        return turn if turn is not None and turn.spoken and turn.listen == self._listens else None

    def _take_back(self, turn: Turn) -> None:
        """Remove superseded ``turn`` (the last one) from the messages shown and the store."""
        turn.superseded = True
        self._turns.remove(turn)
        del self._shown[turn.first :]
        self.bus.publish(ConversationTruncated(conversation_id=self.conversation_id, keep=turn.first))
        if self.conversation_id is not None and turn.message_id is not None:
            try:
                if turn.new_conversation:
                    # Titled with the superseded words: the revision starts it again.
                    self.store.delete(self.conversation_id)
                    self.conversation_id = None
                else:
                    self.store.delete_messages_from(self.conversation_id, turn.message_id)
            except FameError as exc:
                log.warning("superseded question not removed from the conversation: %s", exc.message)
            self._changed()

    def _current(self, turn: Turn) -> bool:
        """Whether what follows ``turn`` is still to be shown."""
        return not turn.superseded and turn.epoch == self._epoch and not self._closed

    # --- messages --------------------------------------------------------------------------------

    def _show_response(self, response: dict[str, Any], *, external: bool = False) -> None:
        """Show a query response: the answer, or the error, with intent, plugins and timing."""
        meta: dict[str, Any] = {
            "intent": response.get("intent"),
            "plugins": response.get("plugins") or [],
            "confidence": response.get("confidence"),
            "ms": response.get("processing_time_ms"),
            "audit_id": response.get("audit_id"),
            "query_id": response.get("id"),
            "question": response.get("text"),
        }
        data = response.get("data")
        if isinstance(data, dict) and data.get("llm_backend") and data.get("llm_model"):
            # Which model wrote the answer (every answer a model wrote says so in its data).
            meta["model"] = f"{data['llm_backend']} · {data['llm_model']}"
            if data.get("reason") == "cancelled":
                meta["stopped"] = True
        clarify = data.get("clarify") if isinstance(data, dict) else None
        if isinstance(clarify, dict) and not external:
            options = [str(o.get("intent")) for o in clarify.get("options", []) if isinstance(o, dict)]
            meta["clarify"] = options
            self._clarify_options[str(response.get("id"))] = tuple(options)
        error = response.get("error")
        if error:
            meta["code"] = error.get("code")
            self._add("error", str(error.get("message", "")), meta, response=response, external=external)
        else:
            text = str(response.get("response", ""))
            self._add("assistant", text, meta, response=response, external=external)

    def _add(
        self,
        role: str,
        text: str,
        meta: dict[str, Any] | None = None,
        *,
        response: dict[str, Any] | None = None,
        external: bool = False,
    ) -> int | None:
        """Store and show a message; its stored id (None: not stored)."""
        if self._closed:
            return None  # a query cancelled by closing the window: nothing left to show or store
        meta = meta or {}
        message_id = None
        if self.conversation_id is not None:
            try:
                message_id = self.store.add_message(self.conversation_id, role, text, meta)
            except FameError as exc:
                log.warning("message not saved: %s", exc.message)
            self._changed()
        message = ShownMessage(role, text, meta, message_id)
        self._shown.append(message)
        self.bus.publish(
            ConversationMessageAdded(
                ts=message.ts,
                conversation_id=self.conversation_id,
                index=len(self._shown) - 1,
                role=role,
                text=text,
                meta=meta,
                message_id=message_id,
                response=response,
                external=external,
            )
        )
        return message_id

    def _changed(self) -> None:
        self.bus.publish(ConversationsChanged(conversation_id=self.conversation_id))

    # --- events ----------------------------------------------------------------------------------

    def _on_token(self, event: LlmToken) -> None:
        # Only this conversation's questions; a new stream (a retry, a repair) starts a new draft.
        if event.query_id not in self._own_queries:
            return
        draft = self._drafts.get(event.query_id)
        if draft is None or draft.stream_id != event.stream_id:
            draft = self._drafts[event.query_id] = Draft(
                event.stream_id, backend=event.backend, model=event.model
            )
        draft.text += event.text

    def _on_received(self, event: QueryReceived) -> None:
        # Voice queries the wake phrase starts reach the Brain without this model: show them as
        # the user's words (the ones this model asks are shown already).
        if self._closed or event.source != "voice" or event.query_id in self._own_queries:
            return
        # A second query of the same listen is the adapter's revision of the first.
        last = self._revisable()
        if last is not None and last.external:
            self._external.pop(last.query_id, None)
            self._take_back(last)
        turn = self._open_turn(event.text, "voice", external=True, query_id=event.query_id)
        self._external[event.query_id] = turn

    def _on_completed(self, event: QueryCompleted) -> None:
        turn = self._external.pop(event.query_id, None)
        if turn is not None and self._current(turn):
            self._show_response(event.response, external=True)

    def _on_voice_state(self, event: VoiceStateChanged) -> None:
        if event.state == "starting":
            self._listens += 1  # a new listen: its first final is a new question, not a revision


def _clip(text: str) -> str:
    if len(text) <= CONTEXT_CHARS:
        return text
    half = CONTEXT_CHARS // 2
    return text[:half] + "\n[…]\n" + text[-half:]


def _draft_meta(draft: Draft, query_id: str, question: str) -> dict[str, Any]:
    """The meta of an answer the user stopped: marked stopped, with the model that wrote it."""
    meta: dict[str, Any] = {"stopped": True, "query_id": query_id, "question": question}
    if draft.backend and draft.model:
        meta["model"] = f"{draft.backend} · {draft.model}"
    return meta
