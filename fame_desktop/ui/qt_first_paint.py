"""``QtFirstPaint``: tells when a window has first been painted, so start-up work can wait for it.

Plugins, the sandbox pool, voice and the code library take seconds of CPU to come up; started
before the window is on screen they delay it (they share the interpreter with the painting).
The window starts them once this reports the first paint, or after ``fallback_ms`` if no paint
comes (a window that is never shown, or a platform that does not paint).
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QWidget

log = logging.getLogger("fame.ui.startup")

FALLBACK_MS = 3000


class QtFirstPaint(QObject):
    """Watches ``window`` for its first paint.

    :attr:`painted` is emitted right after the first paint of the window or one of its children;
    :attr:`ready` once, at that moment or after ``fallback_ms`` without a paint, whichever is
    first: the signal to start background work on.

    Args:
        window: The top-level window to watch.
        fallback_ms: Emit :attr:`ready` anyway after this long without a paint (never-shown windows).
    """

    painted = Signal()
    ready = Signal()

    def __init__(self, window: QWidget, fallback_ms: int = FALLBACK_MS) -> None:
        super().__init__(window)
        self._window = window
        self._ready = False
        self._fallback_ms = fallback_ms
        #: ``time.time()`` of the first paint (None until then).
        self.painted_at: float | None = None
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        # A timer of its own, stopped once ready: a pending singleShot would hold this object (and
        # the window through it) alive for fallback_ms after the window is gone.
        self._fallback_timer = QTimer(self)
        self._fallback_timer.setSingleShot(True)
        self._fallback_timer.setInterval(fallback_ms)
        self._fallback_timer.timeout.connect(self._fallback)
        self._fallback_timer.start()

    @property
    def done(self) -> bool:
        """Whether :attr:`ready` was emitted (by a paint or the fallback)."""
        return self._ready

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Watch paint events until the window's first one."""
        if (
            self.painted_at is None
            and event.type() == QEvent.Type.Paint
            and isinstance(watched, QWidget)
            and watched.window() is self._window
        ):
            self.painted_at = time.time()
            app = QApplication.instance()
            if app is not None:
                app.removeEventFilter(self)
            # After this paint has finished and reached the screen, not inside it.
            QTimer.singleShot(0, self, self._on_painted)
        return False

    def _on_painted(self) -> None:
        self.painted.emit()
        self._emit_ready()

    def _fallback(self) -> None:
        if not self._ready:
            log.info("no paint within %d ms: starting the background parts anyway", self._fallback_ms)
            self._emit_ready()

    def _emit_ready(self) -> None:
        if not self._ready:
            self._ready = True
            self._fallback_timer.stop()
            self.ready.emit()
