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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

log = logging.getLogger("fame.events")


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every event: a timestamp (unix seconds) set at creation."""

    ts: float = field(default_factory=time.time)


# --- queries -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class QueryReceived(Event):
    """A query reached the Brain (already validated)."""

    query_id: str
    text: str
    source: str


@dataclass(frozen=True, kw_only=True)
class QueryRouted(Event):
    """The Brain chose an intent and the plugins that will answer."""

    query_id: str
    intent: str
    confidence: float
    plugins: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class QueryProgress(Event):
    """A step of a long query (a sandbox run, an LLM token, a retry)."""

    query_id: str
    message: str
    fraction: float | None = None


@dataclass(frozen=True, kw_only=True)
class QueryCompleted(Event):
    """The Brain answered; ``response`` is the full query response object."""

    query_id: str
    response: dict[str, Any]


# --- plugins -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PluginLoaded(Event):
    """A plugin imported and initialised."""

    name: str
    version: str
    path: str


@dataclass(frozen=True, kw_only=True)
class PluginFailed(Event):
    """A plugin failed to load, or failed while answering; ``stage`` says which."""

    name: str
    path: str
    stage: str
    error: str


@dataclass(frozen=True, kw_only=True)
class PluginReloaded(Event):
    """A plugin was reloaded from its file."""

    name: str
    version: str
    path: str


@dataclass(frozen=True, kw_only=True)
class PluginStateChanged(Event):
    """A plugin was enabled or disabled."""

    name: str
    enabled: bool


# --- sandbox -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SandboxStarted(Event):
    """A sandbox run started."""

    run_id: str
    backend: str
    image: str
    limits: dict[str, Any]
    query_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class SandboxOutput(Event):
    """A chunk of output from a running sandbox; ``stream`` is ``stdout`` or ``stderr``."""

    run_id: str
    stream: str
    text: str


@dataclass(frozen=True, kw_only=True)
class SandboxFinished(Event):
    """A sandbox run ended; ``report`` is the sandbox run report."""

    run_id: str
    report: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class SandboxStatusChanged(Event):
    """The Docker engine or image availability changed."""

    available: bool
    backend: str
    image: str
    detail: str


@dataclass(frozen=True, kw_only=True)
class SandboxImageProgress(Event):
    """Preparing the sandbox image: ``stage`` is ``pull``, ``build``, ``done``, or how it ended
    (``unavailable``, ``cancelled``, ``error``); ``fraction`` is the whole job's, 0..1."""

    image: str
    stage: str
    fraction: float
    message: str


# --- audit, settings, safety, voice, evolution --------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AuditAppended(Event):
    """An entry was committed to the audit log."""

    entry_id: int
    kind: str
    summary: str


@dataclass(frozen=True, kw_only=True)
class SettingsChanged(Event):
    """Settings changed; ``changes`` maps dotted paths to their new values."""

    changes: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class AdminStateChanged(Event):
    """The in-process admin session was unlocked or locked."""

    unlocked: bool


@dataclass(frozen=True, kw_only=True)
class VoiceStateChanged(Event):
    """The voice adapter changed state (idle, listening, recognising, speaking, error)."""

    state: str
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class VoiceLevel(Event):
    """Input level while listening, 0..1."""

    level: float


@dataclass(frozen=True, kw_only=True)
class VoiceTranscript(Event):
    """A partial or final transcript."""

    text: str
    final: bool


@dataclass(frozen=True, kw_only=True)
class EvolutionProgress(Event):
    """An evolution run progressed: a candidate scored or a generation ended."""

    run_id: str
    generation: int
    message: str
    best_fitness: float | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class SubscriberFailed(Event):
    """A subscriber raised while handling an event."""

    subscriber: str
    event_type: str
    error: str


E = TypeVar("E", bound=Event)
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


class EventBus:
    """Publish/subscribe bus for :class:`Event` objects.

    ``publish`` may be called from any thread: from a worker thread the delivery is handed to the
    bus's event loop so subscribers always run on the loop thread (the Qt thread under qasync).

    Args:
        history: How many recent events to keep for late subscribers and diagnostics.
    """

    def __init__(self, history: int = 1000) -> None:
        self._subs: list[Subscription] = []
        self._history: deque[Event] = deque(maxlen=history)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver events on ``loop``; called by whoever owns the loop (app, CLI, tests)."""
        self._loop = loop

    def subscribe(self, event_type: type[E], handler: Callable[[E], Any]) -> Subscription:
        """Call ``handler`` for every published event that is an instance of ``event_type``."""
        sub = Subscription(self, event_type, handler)
        with self._lock:
            self._subs.append(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def history(self, event_type: type[E] = Event) -> list[E]:  # type: ignore[assignment]
        """Recent events of ``event_type``, oldest first."""
        with self._lock:
            return [e for e in self._history if isinstance(e, event_type)]

    def publish(self, event: Event) -> None:
        """Deliver ``event`` to its subscribers; safe to call from any thread."""
        loop = self._loop
        if loop is not None and not loop.is_closed() and not self._on_loop_thread(loop):
            loop.call_soon_threadsafe(self._deliver, event)
            return
        self._deliver(event)

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
            subs = [s for s in self._subs if isinstance(event, s.event_type)]
        for sub in subs:
            try:
                result = sub.handler(event)
                if inspect.isawaitable(result):
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
        """Wait until every async subscriber started so far has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
