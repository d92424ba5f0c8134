"""Event-loop stalls of a Qt window, as the window benchmarks measure them.

A 5 ms ``QTimer`` ticks while something runs; each gap beyond its interval is a stall the user
would feel as a frozen window.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer

INTERVAL_MS = 5


class LoopStalls:
    """Records how late each tick of a 5 ms timer came, between :meth:`start` and :meth:`stop`."""

    def __init__(self) -> None:
        self.stalls: list[float] = []
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.stalls.append((now - self._last) * 1000 - INTERVAL_MS)
        self._last = now

    def start(self) -> None:
        """Forget earlier stalls and start ticking."""
        self.stalls.clear()
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> tuple[float, float]:
        """Stop ticking; the worst stall and the 95th percentile, in ms (0 when none)."""
        self._timer.stop()
        ordered = sorted(self.stalls)
        if not ordered:
            return 0.0, 0.0
        return ordered[-1], ordered[int(len(ordered) * 0.95)]
