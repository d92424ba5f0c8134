"""Tracked, cancellable workers for the window's async and blocking jobs.

Every Brain coroutine, audit verification or export the window starts runs as a :class:`QtWorker`
with an explicit state (PENDING, RUNNING, SUCCESS, ERROR, CANCELLED). Workers belong to a group so
starting a new job can cancel the previous one of the same kind, and closing the window cancels all.
Blocking calls run in the loop's default executor with a cancel flag they may watch.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger("fame.ui.workers")


class WorkerState(enum.Enum):
    """Where a worker is in its life."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    ERROR = "error"
    CANCELLED = "cancelled"

    @property
    def done(self) -> bool:
        """Whether the worker will not change state again."""
        return self in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)


class QtWorker(QObject):
    """One job on the event loop.

    Args:
        name: Shown in logs.
        group: Workers of the same group can be cancelled together.
        factory: Makes the coroutine when the worker starts (so a never-started worker leaks none).
    """

    stateChanged = Signal(object)

    def __init__(self, name: str, group: str, factory: Callable[[], Awaitable[Any]]) -> None:
        super().__init__()
        self.name = name
        self.group = group
        self.state = WorkerState.PENDING
        self.result: Any = None
        self.error: BaseException | None = None
        self.cancel_flag = threading.Event()
        self._factory = factory
        self._task: asyncio.Task[Any] | None = None

    def _set_state(self, state: WorkerState) -> None:
        self.state = state
        self.stateChanged.emit(state)

    def start(self, loop: asyncio.AbstractEventLoop) -> asyncio.Task[Any]:
        """Schedule the job on ``loop``."""
        self._task = loop.create_task(self._run(), name=f"fame-ui-{self.name}")
        return self._task

    @property
    def task(self) -> asyncio.Task[Any] | None:
        """The asyncio task, once started."""
        return self._task

    async def _run(self) -> Any:
        self._set_state(WorkerState.RUNNING)
        try:
            self.result = await self._factory()
        except asyncio.CancelledError:
            self.cancel_flag.set()
            self._set_state(WorkerState.CANCELLED)
            raise
        except Exception as exc:
            # The job's own code shows errors to the user; this keeps a record for the tracker.
            self.error = exc
            log.error("worker %s failed: %r", self.name, exc, exc_info=exc)
            self._set_state(WorkerState.ERROR)
            return None
        self._set_state(WorkerState.SUCCESS)
        return self.result

    def cancel(self) -> None:
        """Ask the job to stop (cancels the task and raises the cancel flag for threads)."""
        self.cancel_flag.set()
        if self._task is not None and not self._task.done():
            self._task.cancel()


class QtWorkerManager(QObject):
    """Starts and tracks the window's workers.

    Args:
        loop: The qasync event loop.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop = loop
        self._workers: set[QtWorker] = set()
        self._closed = False

    def run(
        self,
        factory: Callable[[], Awaitable[Any]],
        *,
        name: str,
        group: str = "default",
        exclusive: bool = False,
    ) -> QtWorker:
        """Start ``factory()`` as a tracked worker; ``exclusive`` cancels the group's others first."""
        if exclusive:
            self.cancel_group(group)
        worker = QtWorker(name, group, factory)
        self._start(worker)
        return worker

    def run_blocking(
        self,
        fn: Callable[[threading.Event], Any],
        *,
        name: str,
        group: str = "default",
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> QtWorker:
        """Run ``fn(cancel_flag)`` in a thread; ``on_done``/``on_error`` run back on the Qt thread."""
        holder: dict[str, QtWorker] = {}

        async def job() -> Any:
            flag = holder["w"].cancel_flag
            try:
                result = await self.loop.run_in_executor(None, fn, flag)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if on_error is not None:
                    on_error(exc)
                raise
            if on_done is not None:
                on_done(result)
            return result

        worker = QtWorker(name, group, job)
        holder["w"] = worker
        self._start(worker)
        return worker

    def _start(self, worker: QtWorker) -> None:
        if self._closed:
            # The window is closing: a timer or signal that fires now starts nothing (a task made
            # now might never run, and its coroutine would be dropped unawaited).
            worker.cancel_flag.set()
            worker.state = WorkerState.CANCELLED
            return
        self._workers.add(worker)
        task = worker.start(self.loop)
        task.add_done_callback(lambda _t: self._workers.discard(worker))

    def active(self, group: str | None = None) -> list[QtWorker]:
        """Workers not finished yet (of ``group`` if given)."""
        return [w for w in self._workers if not w.state.done and (group is None or w.group == group)]

    def cancel_group(self, group: str) -> None:
        """Cancel every unfinished worker of ``group``."""
        for worker in self.active(group):
            worker.cancel()

    def close(self) -> None:
        """Cancel every unfinished worker and start no more (the window is closing)."""
        self._closed = True
        for worker in list(self._workers):
            worker.cancel()
