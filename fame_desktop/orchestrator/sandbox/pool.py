"""The warm pool: hardened containers started ahead of time, each used for one run only."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from enum import Enum
from typing import Generic, TypeVar

log = logging.getLogger("fame.sandbox")

#: What the pool holds: one started container (its id, or more: see ``containers.Prestarted``).
C = TypeVar("C")

# After a failed start, wait this long before trying again (the engine may be restarting).
_RETRY_S = 5.0
# While the filler waits for the runs to leave the engine alone, it looks again this often.
_POLL_S = 0.005


class Refill(Enum):
    """When the pool makes its next container.

    Starting a container keeps the engine busy on every core for tens of milliseconds: on two
    cores a refill next to a run doubles a short run's latency.
    """

    #: Only while no run is going and none just ended (see ``quiet``), so bursts of runs are served
    #: from containers made before the burst, and the pool fills again right after it.
    AHEAD = "ahead"
    #: As soon as a run takes a container, waiting at most a second for the runs going to end
    #: (the behaviour before ``AHEAD``; kept so benchmarks can compare the two).
    ON_TAKE = "on_take"


# Under ON_TAKE, a refill waits for running programs at most this long.
_ON_TAKE_YIELD_S = 1.0
# Under AHEAD the pool learns the bursts it serves: takes closer together than this are one
# burst, and the pool grows to the longest burst seen plus one (so the burst never empties it:
# an empty pool refills next to the run that emptied it), up to ``BURST_CAP`` containers (an
# idle one holds about 11 MB, proportional set size, with the engine's shim process)...
_BURST_GAP_S = 2.0
BURST_CAP = 24
# ...and goes back to its size after this long without a take.
_SHRINK_AFTER_S = 300.0


class WarmPool(Generic[C]):
    """Keeps ``size`` started containers ready (more after bursts) and refills in a background thread.

    Args:
        size: Containers to keep ready (0 disables the pool).
        create: Creates and starts one container; returns its id (blocking, may raise).
        discard: Removes a container that will not be used (blocking, never raises).
        ready: Whether the engine is usable now (the filler waits while it is not).
        quiet: Whether the engine can be used for a refill without slowing a run (the filler
            waits while it is not).
        refill: When to refill (see :class:`Refill`).
    """

    def __init__(
        self,
        size: int,
        create: Callable[[], C],
        discard: Callable[[C], None],
        ready: Callable[[], bool],
        quiet: Callable[[], bool] = lambda: True,
        refill: Refill = Refill.AHEAD,
    ) -> None:
        self.size = size
        self._create = create
        self._discard = discard
        self._ready = ready
        self._quiet = quiet
        self._refill = refill
        self.target = size  # containers to have ready: ``size``, or the last bursts' length
        self._burst = 0
        self._last_take = float("-inf")
        self._idle: deque[C] = deque()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self.last_error = ""

    def start(self) -> None:
        """Begin filling in the background (idempotent)."""
        if self.size <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._fill, name="fame-sandbox-pool", daemon=True)
        self._thread.start()

    def take(self) -> C | None:
        """A ready container, or None when the pool is empty; the pool refills behind it."""
        with self._cond:
            container = self._idle.popleft() if self._idle else None
            if self._refill is Refill.AHEAD and self.size > 0:
                now = time.monotonic()
                self._burst = self._burst + 1 if now - self._last_take < _BURST_GAP_S else 1
                self._last_take = now
                if self._burst > 1:
                    self.target = max(self.target, min(self._burst + 1, max(self.size, BURST_CAP)))
            self._cond.notify_all()
            return container

    def wake(self) -> None:
        """Try again now (the engine came back)."""
        with self._cond:
            self._cond.notify_all()

    @property
    def idle(self) -> int:
        """Containers ready now."""
        with self._cond:
            return len(self._idle)

    def _fill(self) -> None:
        while True:
            surplus: list[C] = []
            with self._cond:
                while not self._stopped and len(self._idle) >= self.target:
                    idle_for = time.monotonic() - self._last_take
                    if self.target > self.size and idle_for >= _SHRINK_AFTER_S:
                        self.target = self.size
                        while len(self._idle) > self.size:
                            surplus.append(self._idle.pop())
                        break
                    self._cond.wait(_SHRINK_AFTER_S - idle_for if self.target > self.size else None)
                if self._stopped:
                    return
            for container in surplus:
                self._discard(container)
            if surplus:
                continue
            if not self._ready():
                self._pause(_RETRY_S)
                continue
            self._wait_quiet()
            if self._stopped:
                return
            try:
                container = self._create()
            except Exception as exc:
                self.last_error = str(exc)[:300]
                log.warning("warm pool: could not start a container: %s", self.last_error)
                self._pause(_RETRY_S)
                continue
            with self._cond:
                if self._stopped:
                    stale: C | None = container
                else:
                    self._idle.append(container)
                    stale = None
                    self.last_error = ""
            if stale is not None:
                self._discard(stale)
                return

    def _wait_quiet(self) -> None:
        """Let the runs have the engine: until ``quiet`` or the pool is empty (``AHEAD``: an empty
        pool makes the next run start a container itself, which is worse), or for up to a second
        (``ON_TAKE``)."""
        ahead = self._refill is Refill.AHEAD
        deadline = None if ahead else time.monotonic() + _ON_TAKE_YIELD_S
        while not self._stopped and not self._quiet():
            with self._cond:
                if ahead and not self._idle:
                    return
                if deadline is not None and time.monotonic() >= deadline:
                    return
                self._cond.wait(_POLL_S)

    def _pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with self._cond:
            while not self._stopped and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())

    def close(self, timeout: float = 10.0) -> list[C]:
        """Stop filling; returns the idle containers for the caller to remove."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._cond:
            idle = list(self._idle)
            self._idle.clear()
        return idle
