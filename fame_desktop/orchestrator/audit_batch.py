"""Group commit on the event loop: audit entries from coroutines of one loop turn share a commit.

Many requests served at once (the REST API) each append a few audit entries. Committed one by
one, every entry pays a transaction (BEGIN, the chain's last row, INSERT, COMMIT and the signed
checkpoint: most of a request's CPU). :class:`LoopAuditBatch` queues the entries appended during
one turn of the event loop and commits them at the start of the next turn in one
:meth:`AuditLog.append_many` transaction, on the loop itself: no thread hand-off, and a caller
still resumes only once its entries are committed (the same guarantee as :meth:`AuditLog.append`).
A lone caller (one query at a time) pays one loop turn, about the cost of a ``sleep(0)``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from fame_desktop.orchestrator.audit import AuditEntry, AuditLog
from fame_desktop.orchestrator.audit_kinds import AuditKind

#: One entry to append: kind, data, actor, summary (the arguments of ``AuditLog.append``).
AuditItem = tuple[AuditKind, Mapping[str, object], str | None, str]


@dataclass
class _Waiting:
    items: Sequence[AuditItem]
    future: asyncio.Future[list[AuditEntry]]


@dataclass
class _LoopQueue:
    waiting: list[_Waiting] = field(default_factory=list)
    scheduled: bool = False


class LoopAuditBatch:
    """Appends from coroutines, committed together once per event-loop turn.

    Args:
        audit: The audit log the entries go to.
    """

    def __init__(self, audit: AuditLog) -> None:
        self._audit = audit
        # One queue per loop: the window, a test or a CLI call may each run their own loop.
        self._queues: dict[asyncio.AbstractEventLoop, _LoopQueue] = {}
        #: Transactions this batcher committed (entries / commits shows how well they are shared).
        self.commits = 0

    async def append(
        self, kind: AuditKind, data: Mapping[str, object], *, actor: str | None = None, summary: str = ""
    ) -> AuditEntry:
        """Like :meth:`AuditLog.append`: returns the entry once it is committed."""
        return (await self.append_many([(kind, data, actor, summary)]))[0]

    async def append_many(self, items: Sequence[AuditItem]) -> list[AuditEntry]:
        """Commit ``items`` (with whatever else this loop turn appends); returns them once committed.

        A caller cancelled while waiting does not un-write its entries: they are committed anyway
        (the queue, not the caller's future, holds them).

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
        if not queue.scheduled:
            queue.scheduled = True
            # call_soon runs after every callback already due in this turn: the requests that
            # woke together append before the commit.
            loop.call_soon(self._flush, loop)
        return await waiting.future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        queue = self._queues.pop(loop)
        todo = queue.waiting
        try:
            entries = self._audit.append_many([item for w in todo for item in w.items])
        except Exception as exc:
            for w in todo:
                if not w.future.done():
                    w.future.set_exception(exc)
            return
        self.commits += 1
        start = 0
        for w in todo:
            end = start + len(w.items)
            if not w.future.done():
                w.future.set_result(entries[start:end])
            start = end
