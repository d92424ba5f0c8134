"""The chat input: Enter sends, Shift+Enter adds a line, Esc stops, Up/Down walk the history.

Its own module, with nothing but Qt: the window shows it (focused, usable) at its first paint,
before the conversation and its history exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QWidget

if TYPE_CHECKING:
    from fame_desktop.orchestrator.conversation_model import InputHistory


class QtChatInput(QPlainTextEdit):
    """Multi-line input: Enter sends, Shift+Enter adds a line, Up/Down walk the history."""

    submitted = Signal()
    stopRequested = Signal()
    #: The keys :meth:`keyPressEvent` handles, as (what it does, keys), for the shortcuts list.
    KEYS = (
        ("Send", "Enter"),
        ("New line", "Shift+Enter"),
        ("Stop", "Esc"),
        ("Previous/next question", "Up, Down"),
    )

    def __init__(self, history: InputHistory | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatInput")
        self.setPlaceholderText("Ask FAME…  (Enter sends, Shift+Enter for a new line, ↑/↓ history)")
        self.setTabChangesFocus(True)
        #: The questions asked before (None while the window starts: no history to walk yet).
        self.history = history

    def keyPressEvent(self, e: QKeyEvent) -> None:
        key, mods = e.key(), e.modifiers()
        if key == Qt.Key.Key_Escape:
            self.stopRequested.emit()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if mods & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
            else:
                self.submitted.emit()
            return
        cursor = self.textCursor()
        if self.history is None:
            super().keyPressEvent(e)
            return
        if key == Qt.Key.Key_Up and cursor.blockNumber() == 0:
            older = self.history.older(self.toPlainText())
            if older is not None:
                self._show(older)
                return
        last_line = cursor.blockNumber() == self.document().blockCount() - 1
        if key == Qt.Key.Key_Down and last_line:
            newer = self.history.newer()
            if newer is not None:
                self._show(newer)
                return
        super().keyPressEvent(e)

    def _show(self, text: str) -> None:
        self.setPlainText(text)
        self.moveCursor(QTextCursor.MoveOperation.End)
