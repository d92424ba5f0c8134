"""What the window shows before the app is built: the chat with a usable input, and pane placeholders.

The first paint must not wait for the domain (its imports alone are most of a second): the window
opens with these, built from Qt alone, and the real panes replace them once the app is up. A
question typed and sent meanwhile waits, shown as such, and is asked as soon as the chat is ready.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from fame_desktop.ui.qt_chat_input import QtChatInput

log = logging.getLogger("fame.ui.startup")

WELCOME = (
    '<p style="color:gray;">Ask anything: <i>what is 2 + 2</i>, <i>write a python function to '
    "reverse a string</i>, <i>what time is it</i>. Generated code runs in the sandbox; "
    "everything is audited.</p>"
)
STARTING = "Starting FAME…"


def placeholder(what: str, parent: QWidget | None = None) -> QLabel:
    """A pane's stand-in while the window starts: its name, greyed, centred."""
    label = QLabel(f"{what}: loading…", parent)
    label.setObjectName("startupPlaceholder")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setEnabled(False)  # drawn in the disabled text colour of the theme
    return label


def peek_theme(root: Path) -> str:
    """The ``ui.theme`` the settings file asks for, read without the settings machinery (which
    loads with the app, after the first paint); ``system`` when unknown. Only a hint: the window
    applies the real setting once the app is up."""
    try:
        with open(root / "settings.json", "rb") as fh:
            raw = json.loads(fh.read(1_000_000))
        theme = raw.get("ui", {}).get("theme", "system")
    except (OSError, ValueError, AttributeError):
        return "system"
    return theme if isinstance(theme, str) else "system"


class QtStartupChat(QWidget):
    """The chat pane's stand-in: the welcome, the input (focused and usable) and Send.

    A question sent before the app is ready stays in :attr:`pending` (shown under the welcome) until
    the window asks it; one at a time, as the real chat takes one question at a time.
    """

    #: A question was sent while the window starts (its text).
    queued = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pending: str | None = None
        self.view = QTextBrowser(self)
        self.view.setObjectName("startupChatView")
        self.view.setAccessibleName("Conversation")
        self.input = QtChatInput(None, self)
        self.input.setMaximumHeight(96)
        self.input.submitted.connect(self.send)
        self.send_button = QPushButton("Send", self)
        self.send_button.setObjectName("startupSendButton")
        self.send_button.setToolTip("Send (Enter): asked as soon as FAME has started")
        self.send_button.clicked.connect(self.send)
        self.status = QLabel(STARTING, self)
        self.status.setObjectName("chatStatus")
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.input, 1)
        row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)
        layout.addLayout(row)
        self._render()
        self.setFocusProxy(self.input)

    def send(self) -> None:
        """Keep the input's text to ask once the app is ready (ignored while one already waits)."""
        text = self.input.toPlainText().strip()
        if not text or self.pending is not None:
            return
        self.pending = text
        self.input.clear()
        self._render()
        self.status.setText(f"{STARTING} Your question is asked as soon as it is ready.")
        self.queued.emit(text)

    def release_input(self) -> QtChatInput:
        """Hand the input (and whatever is typed in it) over to the real chat pane."""
        self.input.submitted.disconnect(self.send)
        return self.input

    def _render(self) -> None:
        waiting = ""
        if self.pending is not None:
            from html import escape  # only once a question waits: not on the way to the first paint

            waiting = (
                '<p><b>You</b> <span style="color:gray;">(waiting for FAME to start)</span><br>'
                f"{escape(self.pending)}</p>"
            )
        self.view.setHtml(WELCOME + waiting)
