"""Typed events and the asyncio publish/subscribe bus that carries them.

Every part of the domain reports what it does by publishing an event; the window, the CLI's live
output and the metrics only subscribe. Subscribers may be plain functions or coroutines. A failing
subscriber never breaks the publisher or the other subscribers: its error is logged and published
as a :class:`SubscriberFailed` event.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, TypeVar, dataclass_transform

from fame_desktop.orchestrator.run_report import Limits, RunReport

if TYPE_CHECKING:  # an annotation only: the conversation store (and its SQLite code) loads on use
    from fame_desktop.orchestrator.conversations import Message

log = logging.getLogger("fame.events")

E = TypeVar("E", bound="Event")


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(field,))
def event(cls: type[E]) -> type[E]:
    """Declare an event: a frozen, keyword-only dataclass.

    Its ``__repr__``, ``__eq__`` and ``__hash__`` are :class:`Event`'s, which read the fields
    and give what the dataclass's own would; only ``__init__`` and the frozen ``__setattr__`` and
    ``__delattr__`` are generated. Each generated method is compiled from source when the class
    is made, and the six per class of a plain frozen dataclass cost a one-shot ``fame ask`` about
    as much as its query.
    """
    return dataclass(frozen=True, kw_only=True, repr=False, eq=False)(cls)


@event
class Event:
    """Base of every event: a timestamp (unix seconds) set at creation."""

    ts: float = field(default_factory=time.time)

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)
        return f"{type(self).__qualname__}({shown})"

    def _compared(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f.name) for f in fields(self) if f.compare)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event) or other.__class__ is not self.__class__:
            return NotImplemented
        return self._compared() == other._compared()

    def __hash__(self) -> int:
        return hash(
            tuple(getattr(self, f.name) for f in fields(self) if (f.compare if f.hash is None else f.hash))
        )

    def coalesce_key(self) -> Hashable | None:
        """Events with the same non-None key that wait together to cross threads become one.

        Only for events that are pieces of a stream (output chunks): a flood of them from a worker
        thread then reaches the loop as a few large events instead of hundreds of thousands.
        """
        return None

    def coalesced(self, texts: list[str]) -> Event:
        """This event carrying ``texts`` (its own and the ones merged into it), joined."""
        raise NotImplementedError(type(self).__name__)

    def coalesce_text(self) -> str:
        """The part that is joined when events coalesce."""
        raise NotImplementedError(type(self).__name__)


# --- queries -------------------------------------------------------------------------------------


@event
class QueryReceived(Event):
    """A query reached the Brain (already validated)."""

    query_id: str
    text: str
    source: str


@event
class QueryRouted(Event):
    """The Brain chose an intent and the plugins that will answer."""

    query_id: str
    intent: str
    confidence: float
    plugins: tuple[str, ...]


@event
class QueryProgress(Event):
    """A step of a long query (a sandbox run, an LLM token, a retry)."""

    query_id: str
    message: str
    fraction: float | None = None


@event
class QueryCompleted(Event):
    """The Brain answered; ``response`` is the full query response object."""

    query_id: str
    response: dict[str, Any]


# --- plugins -------------------------------------------------------------------------------------


@event
class PluginLoaded(Event):
    """A plugin imported and initialised."""

    name: str
    version: str
    path: str


@event
class PluginFailed(Event):
    """A plugin failed to load, or failed while answering; ``stage`` says which."""

    name: str
    path: str
    stage: str
    error: str


@event
class PluginReloaded(Event):
    """A plugin was reloaded from its file."""

    name: str
    version: str
    path: str


@event
class PluginStateChanged(Event):
    """A plugin was enabled or disabled."""

    name: str
    enabled: bool


# --- sandbox -------------------------------------------------------------------------------------


@event
class SandboxStarted(Event):
    """A sandbox run started with ``limits`` applied."""

    run_id: str
    backend: str
    image: str
    limits: Limits
    query_id: str | None = None


@event
class SandboxOutput(Event):
    """A chunk of output from a running sandbox; ``stream`` is ``stdout`` or ``stderr``."""

    run_id: str
    stream: str
    text: str

    def coalesce_key(self) -> Hashable | None:
        """Chunks of one run's stream join while they wait to cross threads."""
        return ("SandboxOutput", self.run_id, self.stream)

    def coalesced(self, texts: list[str]) -> Event:
        """The chunk with ``texts`` joined."""
        return replace(self, text="".join(texts))

    def coalesce_text(self) -> str:
        """The output text."""
        return self.text


@event
class SandboxFinished(Event):
    """A sandbox run ended; ``report`` is its run report (a copy: subscribers may keep it)."""

    run_id: str
    report: RunReport


@event
class SandboxStatusChanged(Event):
    """The Docker engine or image availability changed."""

    available: bool
    backend: str
    image: str
    detail: str


@event
class StartupProgress(Event):
    """A background part coming up after the window's first paint (``Brain.start_services``):
    ``part`` is ``plugins``, ``sandbox``, ``voice`` or ``code library``; ``state`` is ``starting``,
    ``ready`` or ``failed`` (``detail`` says why); ``step`` of ``steps`` for a progress display."""

    part: str
    state: str
    step: int
    steps: int
    detail: str = ""


@event
class SandboxImageProgress(Event):
    """Preparing the sandbox image: ``stage`` is ``pull``, ``build``, ``done``, or how it ended
    (``unavailable``, ``cancelled``, ``error``); ``fraction`` is the whole job's, 0..1."""

    image: str
    stage: str
    fraction: float
    message: str


# --- audit, settings, safety, voice, evolution --------------------------------------------------


@event
class AuditAppended(Event):
    """An entry was committed to the audit log."""

    entry_id: int
    kind: str
    summary: str


@event
class SettingsChanged(Event):
    """Settings changed; ``changes`` maps dotted paths to their new values."""

    changes: dict[str, Any]


@event
class AdminStateChanged(Event):
    """The in-process admin session was unlocked or locked."""

    unlocked: bool


@event
class VoiceStateChanged(Event):
    """The voice adapter changed state (idle, listening, recognising, speaking, error)."""

    state: str
    detail: str = ""


@event
class VoiceModelsChanged(Event):
    """A speech model was installed or removed (``path``): the model in use may be another now."""

    path: str


@event
class VoiceLevel(Event):
    """Input level while listening, 0..1."""

    level: float


@event
class VoiceTranscript(Event):
    """A partial or final transcript."""

    text: str
    final: bool


@event
class EvolutionProgress(Event):
    """An evolution run progressed: a candidate scored or a generation ended."""

    run_id: str
    generation: int
    message: str
    best_fitness: float | None = None
    data: dict[str, Any] = field(default_factory=dict)


@event
class DownloadProgress(Event):
    """A model download moved on (see :mod:`fame_desktop.orchestrator.downloads`).

    Attributes:
        download_id: Which download (a catalog id, or the file name).
        label: What is downloaded, for people.
        state: ``connecting``, ``downloading``, ``verifying``, ``done``, ``paused``, ``cancelled``
            or ``failed``.
        done: Bytes on disk so far.
        total: Bytes in all (None: not known yet).
        speed: Bytes per second since this attempt started.
        eta: Seconds left at that speed (None: not known).
        message: Why it paused, stopped or failed.
    """

    download_id: str
    label: str
    state: str
    done: int
    total: int | None
    speed: float = 0.0
    eta: float | None = None
    message: str = ""


# --- the conversation shown (``ConversationModel``) ----------------------------------------------


@event
class ConversationOpened(Event):
    """A conversation is shown from its start: a stored one (``messages``) or a new, empty one (None)."""

    conversation_id: int | None
    messages: tuple[Message, ...] = ()


@event
class ConversationMessageAdded(Event):
    """A message joined the conversation shown.

    Attributes:
        conversation_id: Where it is stored (None: nowhere).
        index: Its place in the conversation shown, 0 first.
        role: ``user``, ``assistant``, ``error`` or ``system``.
        text: What it says (Markdown for an answer).
        meta: Source, intent, plugins, timing, error code.
        message_id: Its stored id (None: not stored).
        response: The query response it shows, for an answer.
        external: An answer to a query someone else asked (the voice adapter's wake phrase query),
            who also speaks it.
    """

    conversation_id: int | None
    index: int
    role: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)
    message_id: int | None = None
    response: dict[str, Any] | None = None
    external: bool = False


@event
class ConversationTruncated(Event):
    """A revised question took back the end of the conversation: only its first ``keep`` messages stay."""

    conversation_id: int | None
    keep: int


@event
class ConversationBusyChanged(Event):
    """A question of the conversation is being answered (``query_id``) or none is any more."""

    busy: bool
    query_id: str | None = None


@event
class ConversationsChanged(Event):
    """The stored conversations changed (one created, deleted, or a message stored or removed)."""

    conversation_id: int | None


@event
class SubscriberFailed(Event):
    """A subscriber raised while handling an event."""

    subscriber: str
    event_type: str
    error: str


Handler = Callable[[Any], None] | Callable[[Any], Awaitable[None]]


class Subscription:
    """Handle returned by :meth:`EventBus.subscribe`; call :meth:`cancel` to unsubscribe."""

    def __init__(self, bus: EventBus, event_type: type[Event], handler: Handler) -> None:
        self._bus = bus
        self.event_type = event_type
        self.handler = handler

    def cancel(self) -> None:
        """Stop receiving events."""
        self._bus._remove(self)


# A coalesced chunk stops growing at this size, so one delivery stays cheap.
COALESCE_CHARS = 256_000


class _Waiting:
    """An event from another thread waiting for the loop, with the texts coalesced into it."""

    __slots__ = ("event", "key", "size", "texts")

    def __init__(self, event: Event, key: Hashable | None) -> None:
        self.event = event
        self.key = key
        self.texts = [event.coalesce_text()] if key is not None else []
        self.size = len(self.texts[0]) if self.texts else 0


class EventBus:
    """Publish/subscribe bus for :class:`Event` objects.

    ``publish`` may be called from any thread: from a worker thread the delivery is handed to the
    bus's event loop so subscribers always run on the loop thread (the Qt thread under qasync).

    Args:
        history: How many recent events to keep for late subscribers and diagnostics.
    """

    def __init__(self, history: int = 1000) -> None:
        self._subs: list[Subscription] = []
        # The subscribers of each event class, in subscription order (rebuilt after any change):
        # a query publishes about eight events, each matched against every subscription before.
        self._by_type: dict[type[Event], tuple[Subscription, ...]] = {}
        self._history: deque[Event] = deque(maxlen=history)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # Events published from other threads wait here, in order, until the loop delivers them.
        self._waiting: deque[_Waiting] = deque()
        self._drain_scheduled = False
        self._draining = False

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver events on ``loop``; called by whoever owns the loop (app, CLI, tests)."""
        self._loop = loop

    def subscribe(self, event_type: type[E], handler: Callable[[E], Any]) -> Subscription:
        """Call ``handler`` for every published event that is an instance of ``event_type``."""
        sub = Subscription(self, event_type, handler)
        with self._lock:
            self._subs.append(sub)
            self._by_type.clear()
        return sub

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)
                self._by_type.clear()

    def history(self, event_type: type[E] = Event) -> list[E]:  # type: ignore[assignment]
        """Recent events of ``event_type``, oldest first."""
        with self._lock:
            return [e for e in self._history if isinstance(e, event_type)]

    def publish(self, event: Event) -> None:
        """Deliver ``event`` to its subscribers; safe to call from any thread.

        From another thread the event waits for the loop; stream chunks that wait together
        coalesce (:meth:`Event.coalesce_key`). On the loop thread, events still waiting are
        delivered first, so subscribers see every event in publishing order.
        """
        loop = self._loop
        if loop is not None and not loop.is_closed() and not self._on_loop_thread(loop):
            self._enqueue(loop, event)
            return
        if self._waiting and not self._draining:
            self._drain()
        self._deliver(event)

    def _enqueue(self, loop: asyncio.AbstractEventLoop, event: Event) -> None:
        key = event.coalesce_key()
        with self._lock:
            last = self._waiting[-1] if self._waiting else None
            if key is not None and last is not None and last.key == key and last.size < COALESCE_CHARS:
                text = event.coalesce_text()
                last.texts.append(text)
                last.size += len(text)
                return
            self._waiting.append(_Waiting(event, key))
            if self._drain_scheduled:
                return
            self._drain_scheduled = True
        try:
            loop.call_soon_threadsafe(self._drain_soon)
        except RuntimeError:  # the loop closed meanwhile: nobody will deliver, drop the backlog
            with self._lock:
                self._waiting.clear()
                self._drain_scheduled = False

    def _drain_soon(self) -> None:
        with self._lock:
            self._drain_scheduled = False
        if not self._draining:
            self._drain()

    def _drain(self) -> None:
        """Deliver the events waiting now, oldest first.

        All of them, not a time slice: a thread that publishes and then completes a future must
        find its events delivered before the future's waiter resumes. Coalescing keeps the
        waiting list short.
        """
        self._draining = True
        try:
            # Only what waits now: a thread that keeps publishing must not hold the loop here.
            # What arrives meanwhile has scheduled the next drain already.
            with self._lock:
                count = len(self._waiting)
            for _ in range(count):
                with self._lock:
                    if not self._waiting:
                        return
                    waiting = self._waiting.popleft()
                texts = waiting.texts
                self._deliver(waiting.event if len(texts) <= 1 else waiting.event.coalesced(texts))
        finally:
            self._draining = False
            # A drain requested while this one ran (a subscriber spinning a nested loop) was
            # skipped: make sure what waits still gets a turn.
            with self._lock:
                again = bool(self._waiting) and not self._drain_scheduled
                self._drain_scheduled = self._drain_scheduled or again
            loop = self._loop
            if again and loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._drain_soon)

    @staticmethod
    def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
        try:
            return asyncio.get_running_loop() is loop
        except RuntimeError:
            # No loop runs in this thread: a worker thread if the loop is running elsewhere.
            return not loop.is_running()

    def _deliver(self, event: Event) -> None:
        with self._lock:
            self._history.append(event)
            subs = self._by_type.get(type(event))
            if subs is None:
                subs = tuple(s for s in self._subs if isinstance(event, s.event_type))
                self._by_type[type(event)] = subs
        for sub in subs:
            try:
                result = sub.handler(event)
                if result is not None and inspect.isawaitable(result):
                    self._track(sub, event, result)
            except Exception as exc:
                self._report(sub, event, exc)

    def _track(self, sub: Subscription, event: Event, awaitable: Awaitable[None]) -> None:
        async def runner() -> None:
            try:
                await awaitable
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._report(sub, event, exc)

        try:
            task = asyncio.get_running_loop().create_task(runner())
        except RuntimeError:
            asyncio.run(runner())
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _report(self, sub: Subscription, event: Event, exc: BaseException) -> None:
        name = getattr(sub.handler, "__qualname__", repr(sub.handler))
        log.error("subscriber %s failed on %s: %r", name, type(event).__name__, exc, exc_info=exc)
        if isinstance(event, SubscriberFailed):
            return  # never loop on a failing error handler
        self._deliver(SubscriberFailed(subscriber=name, event_type=type(event).__name__, error=repr(exc)))

    async def drain(self) -> None:
        """Deliver the events waiting from other threads, then wait for every async subscriber."""
        if self._waiting and not self._draining:
            self._drain()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
