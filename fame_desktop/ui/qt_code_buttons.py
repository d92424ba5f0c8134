"""Real Run buttons over the code blocks of a QTextBrowser.

QTextBrowser renders HTML and cannot hold widgets, so each code block's header carries a ``run:N``
link (see :mod:`fame_desktop.ui.qt_markdown`) and this helper lays a ``runCodeButton`` over it:
a real button that takes keyboard focus, has an accessible name and is found by tests and
automation, kept over its link as the view scrolls, resizes or grows.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QRect, QTimer
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QTextBrowser, QToolButton

RUN_SCHEME = "run"


class QtCodeRunButtons(QObject):
    """Keeps one ``runCodeButton`` over each ``run:N`` link of ``view``.

    Args:
        view: The browser showing the answers.
        on_run: Called with N when the button of link ``run:N`` is clicked.
    """

    def __init__(self, view: QTextBrowser, on_run: Callable[[int], None]) -> None:
        super().__init__(view)
        self._view = view
        self._on_run = on_run
        self.buttons: list[QToolButton] = []
        self._anchors: list[tuple[int, int, int]] = []  # (N, first position, last position)
        # A conversation re-set or an answer appended changes the document many times in a row:
        # find the links once it settles.
        self._rescan = QTimer(self)
        self._rescan.setSingleShot(True)
        self._rescan.setInterval(0)
        self._rescan.timeout.connect(self.refresh)
        layout = view.document().documentLayout()
        layout.documentSizeChanged.connect(lambda _size: self._rescan.start())
        view.verticalScrollBar().valueChanged.connect(lambda _v: self._place())
        view.horizontalScrollBar().valueChanged.connect(lambda _v: self._place())
        self._viewport = view.viewport()
        self._viewport.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Compare wrappers only: while the view is being destroyed, calling into it would fail.
        if event.type() == QEvent.Type.Resize and watched is self._viewport:
            self._rescan.start()
        return False

    def refresh(self) -> None:
        """Find the ``run:`` links in the document and put a button over each."""
        self._anchors = _run_anchors(self._view)
        while len(self.buttons) < len(self._anchors):
            button = QToolButton(self._view.viewport())
            button.setObjectName("runCodeButton")
            button.setText("▶ Run")
            button.setAutoRaise(False)
            button.setToolTip("Run this code in the sandbox (output in the Sandbox pane)")
            button.setAccessibleName("Run this code in the sandbox")
            slot = len(self.buttons)
            button.clicked.connect(lambda _checked=False, slot=slot: self._clicked(slot))
            self.buttons.append(button)
        for button in self.buttons[len(self._anchors) :]:
            button.hide()
        self._place()

    def _clicked(self, slot: int) -> None:
        if slot < len(self._anchors):
            self._on_run(self._anchors[slot][0])

    def _place(self) -> None:
        viewport = self._view.viewport().rect()
        document = self._view.document()
        size = document.characterCount()
        for button, (_index, first, last) in zip(self.buttons, self._anchors, strict=False):
            if last >= size:  # the conversation changed and the links were not found again yet
                button.hide()
                self._rescan.start()
                continue
            cursor = QTextCursor(document)
            cursor.setPosition(first)
            start = self._view.cursorRect(cursor)
            cursor.setPosition(last)
            end = self._view.cursorRect(cursor)
            hint = button.sizeHint()
            link = QRect(start.topLeft(), end.bottomRight())
            rect = QRect(0, 0, hint.width(), hint.height())
            rect.moveCenter(link.center())
            rect.moveRight(min(rect.right(), viewport.right() - 2))
            button.setGeometry(rect)
            button.setVisible(viewport.contains(rect))


def _run_anchors(view: QTextBrowser) -> list[tuple[int, int, int]]:
    """(N, first position, last position) of every ``run:N`` link, in document order."""
    found: list[tuple[int, int, int]] = []
    block = view.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            href = fragment.charFormat().anchorHref() if fragment.isValid() else ""
            if href.startswith(RUN_SCHEME + ":") and href[len(RUN_SCHEME) + 1 :].isdigit():
                index = int(href[len(RUN_SCHEME) + 1 :])
                first, last = fragment.position(), fragment.position() + fragment.length()
                if found and found[-1][0] == index and found[-1][2] == first:
                    found[-1] = (index, found[-1][1], last)  # one link split in two fragments
                else:
                    found.append((index, first, last))
            it += 1
        block = block.next()
    return found
