"""The warm pool: hardened containers started ahead of time, each used for one run only."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from enum import Enum
from pathlib import Path
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
# The longest burst is remembered across starts (BurstMemory) for this long after it last came.
REMEMBER_S = 7 * 24 * 3600.0


class BurstMemory:
    """The longest recent burst of runs, kept in a small JSON file across starts.

    A pool that learned a burst (an evolution cycle testing its candidates, a batch of tests)
    starts the next session ready for it instead of learning it again from cold runs. A burst
    not seen for :data:`REMEMBER_S` is forgotten. The file is a hint: a missing, unreadable or
    foreign file reads as nothing learned, and a failed write is only logged.

    Args:
        path: The file (in the data dir).
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def recall(self) -> int:
        """The burst length to be ready for now (0: none learned, or learned too long ago)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            burst, seen = int(data["burst"]), float(data["seen"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0
        return burst if burst > 0 and 0 <= time.time() - seen < REMEMBER_S else 0

    def keep(self, burst: int) -> None:
        """Remember ``burst`` as seen now (atomically: a crash leaves the old file or the new)."""
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps({"burst": burst, "seen": time.time()}), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("warm pool: could not remember the burst size in %s: %s", self.path, exc)
            tmp.unlink(missing_ok=True)


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
        memory: Where the longest burst is remembered across starts (``AHEAD`` only): the pool
            starts ready for it, holding it for ``_SHRINK_AFTER_S`` as after a burst.
    """

    def __init__(
        self,
        size: int,
        create: Callable[[], C],
        discard: Callable[[C], None],
        ready: Callable[[], bool],
        quiet: Callable[[], bool] = lambda: True,
        refill: Refill = Refill.AHEAD,
        memory: BurstMemory | None = None,
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
        # Since when the grown target holds (the last take, or the start for a remembered burst).
        self._held_since = float("-inf")
        self._memory = memory if refill is Refill.AHEAD and size > 0 else None
        # Whether the filler should write the target to memory: it grew, or a burst as long as
        # the remembered one came again (the first time in this process: its date moves on).
        self._keep_due = False
        self._kept_this_run = False
        remembered = self._memory.recall() if self._memory is not None else 0
        if remembered and remembered + 1 > size:
            self.target = min(remembered + 1, max(size, BURST_CAP))
            self._held_since = time.monotonic()
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
                self._last_take = self._held_since = now
                if self._burst > 1:
                    wanted = min(self._burst + 1, max(self.size, BURST_CAP))
                    if wanted > self.target or (wanted == self.target and not self._kept_this_run):
                        self._keep_due = self._memory is not None
                    self.target = max(self.target, wanted)
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
            self._keep_learned()
            with self._cond:
                while not self._stopped and len(self._idle) >= self.target:
                    if self._keep_due:
                        break
                    idle_for = time.monotonic() - self._held_since
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
            if surplus or self._keep_due:
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

    def _keep_learned(self) -> None:
        """Write the learned burst to memory (on the filler thread: never in a run's way)."""
        with self._cond:
            if not self._keep_due or self._memory is None:
                return
            self._keep_due, self._kept_this_run = False, True
            burst = self.target - 1
        self._memory.keep(burst)

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
