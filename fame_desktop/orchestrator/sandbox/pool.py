"""The warm pool: hardened containers started ahead of time, each used for one run only."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger("fame.sandbox")

# After a failed start, wait this long before trying again (the engine may be restarting).
_RETRY_S = 5.0
# A refill competes with running programs for the engine (on 2 cores it doubles a short run's
# latency): it waits while runs are going, but no longer than this.
_YIELD_S = 1.0


class WarmPool:
    """Keeps ``size`` started containers ready and refills in a background thread.

    Args:
        size: Containers to keep ready (0 disables the pool).
        create: Creates and starts one container; returns its id (blocking, may raise).
        discard: Removes a container that will not be used (blocking, never raises).
        ready: Whether the engine is usable now (the filler waits while it is not).
        busy: Whether runs are going now (the filler lets them finish first, up to a second).
    """

    def __init__(
        self,
        size: int,
        create: Callable[[], str],
        discard: Callable[[str], None],
        ready: Callable[[], bool],
        busy: Callable[[], bool] = lambda: False,
    ) -> None:
        self.size = size
        self._create = create
        self._discard = discard
        self._ready = ready
        self._busy = busy
        self._idle: deque[str] = deque()
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

    def take(self) -> str | None:
        """A ready container, or None when the pool is empty; the pool refills behind it."""
        with self._cond:
            container = self._idle.popleft() if self._idle else None
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
            with self._cond:
                while not self._stopped and len(self._idle) >= self.size:
                    self._cond.wait()
                if self._stopped:
                    return
            if not self._ready():
                self._pause(_RETRY_S)
                continue
            deadline = time.monotonic() + _YIELD_S
            while self._busy() and time.monotonic() < deadline and not self._stopped:
                time.sleep(0.005)
            try:
                container = self._create()
            except Exception as exc:
                self.last_error = str(exc)[:300]
                log.warning("warm pool: could not start a container: %s", self.last_error)
                self._pause(_RETRY_S)
                continue
            with self._cond:
                if self._stopped:
                    stale: str | None = container
                else:
                    self._idle.append(container)
                    stale = None
                    self.last_error = ""
            if stale is not None:
                self._discard(stale)
                return

    def _pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with self._cond:
            while not self._stopped and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())

    def close(self, timeout: float = 10.0) -> list[str]:
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
