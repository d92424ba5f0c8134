"""The Qt binding keeps Python's reference counts: the window can run for days without aborting.

PySide6 6.12.0 dropped a reference to ``None`` on every call of a Qt method returning nothing
(``setText``, ``insertText``...) and to ``True``/``False`` on every queued cross-thread signal.
The interpreter aborts ("none_dealloc", "bool_dealloc") once those counts reach zero: after a few
hundred thousand label updates or output lines, i.e. within a working day. pyproject.toml pins a
release without the bug; these tests fail if a bump brings it back.
"""

from __future__ import annotations

import sys
import threading

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QLabel, QPlainTextEdit
from pytestqt.qtbot import QtBot

CALLS = 5000
# Objects of earlier tests freed meanwhile release references too (a few hundred seen in a full
# run); the bug loses CALLS of them.
NOISE = CALLS // 5


def test_void_qt_calls_do_not_drop_references_to_none(qtbot: QtBot) -> None:
    label = QLabel()
    view = QPlainTextEdit()
    qtbot.addWidget(label)
    qtbot.addWidget(view)
    before = sys.getrefcount(None)
    for i in range(CALLS):
        label.setText(f"status {i}")
        view.appendPlainText("line")
    # Other code may hold or release some references meanwhile; the bug loses one per call.
    assert sys.getrefcount(None) - before > -NOISE


class _Emitter(QObject):
    fired = Signal(object, tuple)


def test_queued_signals_from_a_thread_do_not_drop_references_to_bools(qtbot: QtBot) -> None:
    emitter = _Emitter()
    received: list[int] = []
    emitter.fired.connect(lambda n, _args: received.append(n), Qt.ConnectionType.QueuedConnection)
    before = sys.getrefcount(True) + sys.getrefcount(False)

    def emit_all() -> None:
        for i in range(CALLS):
            emitter.fired.emit(i, (i,))

    thread = threading.Thread(target=emit_all)
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: len(received) == CALLS, timeout=10_000)
    assert sys.getrefcount(True) + sys.getrefcount(False) - before > -NOISE
