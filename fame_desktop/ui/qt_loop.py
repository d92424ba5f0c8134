"""The qasync event loop, with a thread-safe wake-up that does not go through a Qt signal.

qasync's ``call_soon_threadsafe`` emits a queued ``Signal(object, tuple)`` from the calling thread
for every callback (bus events from worker threads, ``asyncio.to_thread`` completions). This loop
queues thread-safe callbacks in a deque and wakes the Qt thread through a socket pair watched by a
``QSocketNotifier`` instead (the classic self-pipe): one wake-up for a burst of callbacks, drained
in short slices. It also stayed safe under PySide6 6.12.0, whose queued emissions dropped a
reference to ``True``/``False`` each ("bool_dealloc" aborts; that release is not used any more,
see ``tests/ui/test_qt_binding_refcounts.py``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import qasync
from PySide6.QtCore import QObject, QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication

log = logging.getLogger("fame.ui.loop")

DRAIN_SLICE_S = 0.008
GIL_SWITCH_S = 0.001


class QtEventLoop(qasync.QEventLoop):  # type: ignore[misc]
    """``qasync.QEventLoop`` whose ``call_soon_threadsafe`` wakes Qt once per burst, not per call.

    Args:
        app: The QApplication.
        already_running: The Qt event loop is already spinning (pytest-qt).
    """

    def __init__(self, app: QApplication, already_running: bool = False) -> None:
        super().__init__(app, already_running=already_running)
        # Every Qt callback into Python needs the GIL; while a worker thread computes, the Qt
        # thread waits up to the switch interval each time (5 ms by default, many times a frame).
        sys.setswitchinterval(GIL_SWITCH_S)
        self._ts_queue: collections.deque[tuple[Callable[..., Any], tuple[Any, ...]]] = collections.deque()
        self._ts_lock = threading.Lock()
        self._ts_signalled = False
        self._ts_reader, self._ts_writer = socket.socketpair()
        self._ts_reader.setblocking(False)
        self._ts_writer.setblocking(False)
        self._ts_notifier = QSocketNotifier(self._ts_reader.fileno(), QSocketNotifier.Type.Read)
        self._ts_notifier.activated.connect(self._drain_threadsafe)
        self._rearm = QTimer()
        self._rearm.setSingleShot(True)
        self._rearm.setInterval(0)
        self._rearm.timeout.connect(self._drain_threadsafe)

    def call_soon_threadsafe(self, callback: Callable[..., Any], *args: Any, context: Any = None) -> None:
        """Run ``callback(*args)`` on the loop thread soon; callable from any thread."""
        self._ts_queue.append((callback, args))
        with self._ts_lock:
            if self._ts_signalled:
                return
            self._ts_signalled = True
        # A full buffer means a wake-up is pending anyway; OSError: the loop is closing.
        with contextlib.suppress(OSError):
            self._ts_writer.send(b"\0")

    def _drain_threadsafe(self, *_args: Any) -> None:
        with contextlib.suppress(OSError):
            while self._ts_reader.recv(4096):
                pass
        with self._ts_lock:
            self._ts_signalled = False
        # Work in slices so a flood from a thread (300,000 sandbox lines) never holds the Qt
        # thread for long: what is left runs after Qt has handled its own events.
        deadline = time.perf_counter() + DRAIN_SLICE_S
        while self._ts_queue:
            if time.perf_counter() > deadline:
                self._rearm.start()
                return
            callback, args = self._ts_queue.popleft()
            try:
                callback(*args)
            except Exception as exc:
                self.call_exception_handler(
                    {"message": "thread-safe callback failed", "exception": exc, "callback": callback}
                )

    def close(self) -> None:
        """Run what is still queued, then close the wake-up pair and the loop."""
        if self.is_closed():
            return
        self._rearm.stop()
        self._ts_notifier.setEnabled(False)
        self._ts_reader.close()
        self._ts_writer.close()
        super().close()


class QtGarbageCollector(QObject):
    """Runs Python's cyclic garbage collector on the Qt thread only.

    Left automatic, a collection can start in whichever thread allocates (a sandbox output reader,
    an executor job) and destroy QObjects there, which Qt refuses ("Timers cannot be stopped from
    another thread"). Automatic collection is switched off and the same generational thresholds
    are checked from a timer on the Qt thread instead (the approach qutebrowser uses).

    A full collection walks every object, which takes tens of milliseconds in a running app.
    CPython only starts one when the objects waiting for it exceed a quarter of the old ones; a
    timer cannot see that count, so full collections are spaced instead: the next one waits at
    least :data:`FULL_GC_SPACING` times as long as the last took (and one second).

    Args:
        interval_ms: How often the thresholds are checked.
    """

    def __init__(self, interval_ms: int = 50, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        self._thresholds = gc.get_threshold()
        self._next_full = 0.0
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    def check(self) -> None:
        """Collect the generations whose allocation counts passed their thresholds."""
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] <= self._thresholds[generation]:
                continue
            if generation == 2:
                now = time.perf_counter()
                if now < self._next_full:
                    continue
                gc.collect(2)
                self._next_full = now + max(1.0, (time.perf_counter() - now) * FULL_GC_SPACING)
                return
            gc.collect(generation)
            return

    def stop(self) -> None:
        """Collect once more and give automatic collection back."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()


# A full collection is followed by at least this many times its duration without another one.
FULL_GC_SPACING = 20
_frozen = False


def freeze_long_lived() -> None:
    """Collect once, then exempt every surviving object from later collections (``gc.freeze``).

    Called when the window has started: the modules, widgets and plugin state loaded by then
    live as long as the app, and no longer walking them shortens every full collection that
    would otherwise stall the window. Once per process (test runs open many windows).
    """
    global _frozen
    if _frozen:
        return
    _frozen = True
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    log.info(
        "froze %d long-lived objects in %.0f ms",
        gc.get_freeze_count(),
        (time.perf_counter() - started) * 1000,
    )


def new_event_loop(app: QApplication, already_running: bool = False) -> asyncio.AbstractEventLoop:
    """A :class:`QtEventLoop` for ``app``."""
    return QtEventLoop(app, already_running=already_running)
