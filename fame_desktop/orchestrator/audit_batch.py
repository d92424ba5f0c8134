"""Group commit for coroutines: audit entries appended in one event-loop turn share a commit.

Many requests served at once (the REST API) each append a few audit entries. Committed one by
one, every entry pays a transaction (BEGIN, the chain's last row, INSERT, COMMIT and the signed
checkpoint: most of a request's CPU). :class:`LoopAuditBatch` queues the entries appended during
one turn of the event loop and commits them in one transaction (on the loop or on a writer thread:
see below); entries appended while a commit is under way form the next one. A caller
resumes only once its entries are committed (the same guarantee as :meth:`AuditLog.append`).

Entries nobody is told about before they are committed (the API's row for a request, written
once its answer is sent) can *ride along*: they join the next commit another caller makes, and
only if none comes within :data:`RIDE_ALONG_S` is one made for them. A busy server then writes
a request's row with the next request's entries instead of in a commit of its own.

The loop commits itself when the log is free (:meth:`AuditLog.try_append_many`): handing each
commit to a writer thread and back costs two GIL hand-offs, and a loop busy with requests makes the
writer wait for the GIL at each (measured at 1,000 API requests/s: p50 4.9-6.4 ms with the writer
thread, 2.4-2.5 ms committing on the loop). When another thread or process (the CLI, an API server
on the same data dir) is committing, the loop does not wait for it: the writer thread does. A loop
that must never spend a commit's time (the window's Qt thread) sends every commit to the writer
(:meth:`commit_off`).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from fame_desktop.orchestrator.audit import AuditEntry, AuditLog
from fame_desktop.orchestrator.audit_kinds import AuditKind

#: The longest entries that ride along wait for another caller's commit before one is made for them.
RIDE_ALONG_S = 0.005

#: One entry to append: kind, data, actor, summary (the arguments of ``AuditLog.append``).
AuditItem = tuple[AuditKind, Mapping[str, object], str | None, str]


@dataclass
class _Waiting:
    items: Sequence[AuditItem]
    future: asyncio.Future[list[AuditEntry]]


@dataclass
class _LoopQueue:
    waiting: list[_Waiting] = field(default_factory=list)
    # A commit is due or being written: later callers wait for the next one.
    busy: bool = False
    # Whether an entry waiting needs the next commit at once (not only entries that ride along).
    urgent: bool = False
    # The commit made for entries that rode along and found no company.
    timer: asyncio.TimerHandle | None = None


class LoopAuditBatch:
    """Appends from coroutines, committed together once per event-loop turn.

    Args:
        audit: The audit log the entries go to.
    """

    def __init__(self, audit: AuditLog) -> None:
        self._audit = audit
        # One thread: commits of one loop are written in the order their turns came.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fame-audit-batch")
        # One queue per loop: the window, a test or a CLI call may each run their own loop.
        self._queues: dict[asyncio.AbstractEventLoop, _LoopQueue] = {}
        # Loops whose commits always go to the writer thread (weakly held: a loop may come and go).
        self._off_loop: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
        #: Transactions this batcher committed (entries / commits shows how well they are shared).
        self.commits = 0

    def commit_off(self, loop: asyncio.AbstractEventLoop) -> None:
        """Commit ``loop``'s entries on the writer thread only, never on ``loop`` itself.

        For a loop that draws a user interface: a commit is a fraction of a millisecond, but a
        slow or busy disk could make it longer than a frame.
        """
        self._off_loop.add(loop)

    async def append(
        self,
        kind: AuditKind,
        data: Mapping[str, object],
        *,
        actor: str | None = None,
        summary: str = "",
        ride_along: bool = False,
    ) -> AuditEntry:
        """Like :meth:`AuditLog.append`: returns the entry once it is committed (see :meth:`append_many`)."""
        return (await self.append_many([(kind, data, actor, summary)], ride_along=ride_along))[0]

    async def append_many(self, items: Sequence[AuditItem], *, ride_along: bool = False) -> list[AuditEntry]:
        """Commit ``items`` (with whatever else this loop turn appends); returns them once committed.

        A caller cancelled while waiting does not un-write its entries: they are committed anyway
        (the queue, not the caller's future, holds them).

        Args:
            items: The entries, committed together, in this order.
            ride_along: Join the next commit another caller makes, waiting at most
                :data:`RIDE_ALONG_S` for one (for entries nobody has been told about yet).

        Raises:
            AuditError: The commit failed (for every caller of that turn: one transaction).
        """
        if not items:
            return []
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _LoopQueue()
        waiting = _Waiting(items, loop.create_future())
        queue.waiting.append(waiting)
        if not ride_along:
            queue.urgent = True
        self._schedule(loop, queue)
        return await waiting.future

    def _schedule(self, loop: asyncio.AbstractEventLoop, queue: _LoopQueue) -> None:
        """Make the commit the waiting entries need, unless one is due or being written."""
        if queue.busy:
            return  # the entries go with the next commit, made when this one is written
        if queue.urgent:
            if queue.timer is not None:
                queue.timer.cancel()
                queue.timer = None
            queue.busy = True
            # call_soon runs after every callback already due in this turn: the requests that
            # woke together append before the commit.
            loop.call_soon(self._flush, loop, queue)
        elif queue.timer is None:
            queue.timer = loop.call_later(RIDE_ALONG_S, self._alone, loop, queue)

    def _alone(self, loop: asyncio.AbstractEventLoop, queue: _LoopQueue) -> None:
        """No other caller came: commit what rode along."""
        queue.timer = None
        if not queue.busy and queue.waiting:
            queue.busy = True
            self._flush(loop, queue)

    def _flush(self, loop: asyncio.AbstractEventLoop, queue: _LoopQueue) -> None:
        todo, queue.waiting, queue.urgent = queue.waiting, [], False
        if loop not in self._off_loop:
            done: Future[list[AuditEntry]] = Future()
            try:
                entries = self._audit.try_append_many([item for w in todo for item in w.items], notify=False)
            except Exception as exc:  # the commit failed: every waiter hears of it
                done.set_exception(exc)
            else:
                if entries is not None:
                    done.set_result(entries)
            if done.done():
                self._deliver(loop, queue, todo, done)
                return
            # Another thread or process is committing: the writer thread waits for it, not the loop.
        # The listener hears of the entries on this loop (_resolve), where its events go: from the
        # writer thread each commit's events would cross to the loop a second time.
        commit = self._writer.submit(
            partial(self._audit.append_many, notify=False), [item for w in todo for item in w.items]
        )

        def written(done: Future[list[AuditEntry]]) -> None:
            # On the writer thread: hand the result back to the loop. If it is gone (closed, or
            # closing between the check and the call: RuntimeError), nobody waits and the
            # entries are committed anyway: the listener hears of them here.
            try:
                if loop.is_closed():
                    raise RuntimeError("the loop is closed")
                loop.call_soon_threadsafe(self._deliver, loop, queue, todo, done)
            except RuntimeError:
                if done.exception() is None:
                    self._audit.notify(done.result())

        commit.add_done_callback(written)

    def _deliver(
        self,
        loop: asyncio.AbstractEventLoop,
        queue: _LoopQueue,
        todo: list[_Waiting],
        done: Future[list[AuditEntry]],
    ) -> None:
        self._resolve(todo, done)
        queue.busy = False
        if queue.waiting:  # appended while this commit was written: the next commit
            self._schedule(loop, queue)
        else:
            self._queues.pop(loop, None)

    def close(self) -> None:
        """Wait for the commits under way, commit what waits to ride along, stop the writer thread."""
        self._writer.shutdown(wait=True)
        # Entries still waiting wait for their loop (a timer, or the end of the commit under
        # way), which may never run again (the server has stopped): commit them here.
        for loop, queue in list(self._queues.items()):
            if queue.timer is not None:
                queue.timer.cancel()
                queue.timer = None
            todo, queue.waiting, queue.urgent = queue.waiting, [], False
            if not queue.busy:  # else the commit under way's delivery forgets the queue
                self._queues.pop(loop, None)
            if not todo:
                continue
            result: Future[list[AuditEntry]] = Future()
            try:
                result.set_result(
                    self._audit.append_many([item for w in todo for item in w.items], notify=False)
                )
            except Exception as exc:  # every waiter hears of it, as from a commit on the writer
                result.set_exception(exc)
            try:
                loop.call_soon_threadsafe(self._resolve, todo, result)
            except RuntimeError:  # the loop is closed: nobody waits, but the listener hears of them
                if result.exception() is None:
                    self._audit.notify(result.result())

    def _resolve(self, todo: list[_Waiting], done: Future[list[AuditEntry]]) -> None:
        """Resolve each waiter of one commit with its own entries (or the commit's error)."""
        exc = done.exception()
        if exc is not None:
            for w in todo:
                if not w.future.done():
                    w.future.set_exception(exc)
            return
        self.commits += 1
        entries = done.result()
        start = 0
        for w in todo:
            end = start + len(w.items)
            if not w.future.done():
                w.future.set_result(entries[start:end])
            start = end
        # Before any waiter resumes (set_result only schedules them): they find the events delivered.
        self._audit.notify(entries)
