"""Where the main window's docks go, and how big they are, for the space there is.

Two arrangements: *wide* (conversations on the left; plugins and evolution as tabs on the right;
sandbox and audit log as tabs at the bottom) and, when the window is narrower than
:data:`WIDE_MIN_WIDTH`, *compact* (the conversations join the right-hand tabs), so the chat keeps
at least half of the width at 800x600 as at 1920x1080. Every dock's pane sits in a scroll area
(see :func:`shrinkable`): a dock smaller than its pane's minimum scrolls instead of pushing its
neighbours over each other, which is what let the window refuse to go below ~1028x709.

The arrangement and the dock sizes follow the window's size until the user moves a dock (or a
saved layout is restored); after that only the floors hold (the chat at least :data:`CHAT_SHARE` of the width,
the bottom docks at most :data:`MAX_BOTTOM_SHARE` of the height). View → Reset layout arranges
again and follows the size again.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QTabWidget, QWidget

#: Below this width the side docks share one tab group (compact); at or above it, two (wide).
WIDE_MIN_WIDTH = 1500
#: The chat's least share of the window's width.
CHAT_SHARE = 0.5
#: The bottom docks' largest share of the window's height.
MAX_BOTTOM_SHARE = 0.45

LEFT = ("conversationsDock",)
RIGHT = ("pluginsDock", "evolutionPanel")
BOTTOM = ("sandboxDock", "auditDock")

_H = Qt.Orientation.Horizontal
_V = Qt.Orientation.Vertical


class _QtFillBox(QWidget):
    """Holds a pane in a scroll area and fills the area's viewport.

    A pane with a word-wrapped label has a height-for-width, and a scroll area sizes such a
    widget (its layout, in fact) to its preferred height for the width, a few pixels taller than
    the viewport when the label wraps: a needless scroll bar. This box has no layout, so no
    height-for-width: the scroll area gives it the viewport's size and scrolls only below the
    pane's minimum, which the box passes on.
    """

    def __init__(self, pane: QWidget) -> None:
        super().__init__()
        self._pane = pane
        pane.setParent(self)
        pane.installEventFilter(self)

    def minimumSizeHint(self) -> QSize:
        return self._pane.minimumSizeHint()

    def sizeHint(self) -> QSize:
        return self._pane.sizeHint()

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._pane.setGeometry(self.rect())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest and watched is self._pane:
            self.updateGeometry()  # the pane's minimum changed: the scroll area must know
        return False


def shrinkable(pane: QWidget) -> QScrollArea:
    """``pane`` in a frameless scroll area: the dock may be smaller than the pane's minimum."""
    area = QScrollArea()
    area.setObjectName(f"{pane.objectName() or 'pane'}Scroll")
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(_QtFillBox(pane))
    return area


def is_compact(width: int) -> bool:
    """Whether a window ``width`` px wide uses the compact arrangement."""
    return width < WIDE_MIN_WIDTH


def side_widths(width: int) -> tuple[int, int]:
    """(left, right) dock widths for a window ``width`` px wide (left is 0 when compact)."""
    if is_compact(width):
        return 0, _clamp(round(width * 0.42), 220, 500)
    return _clamp(round(width * 0.15), 240, 300), _clamp(round(width * 0.27), 300, 520)


def bottom_height(height: int) -> int:
    """The bottom docks' height for a window ``height`` px high."""
    return _clamp(round(height * 0.42), 200, 420)


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


class QtDockLayout(QObject):
    """Arranges ``docks`` in ``window`` and keeps the arrangement holding as the window resizes.

    Args:
        window: The main window (its central widget is the chat).
        docks: The docks by objectName (:data:`LEFT`, :data:`RIGHT` and :data:`BOTTOM` names).
    """

    def __init__(self, window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
        super().__init__(window)
        self._window = window
        self._docks = docks
        #: The user moved a dock, or a saved layout was restored: sizes follow, places do not.
        self.customized = False
        self.compact: bool | None = None  # the arrangement applied last (None: not yet)
        self._arranging = False
        window.setDockNestingEnabled(False)
        window.setTabPosition(Qt.DockWidgetArea.AllDockWidgetAreas, QTabWidget.TabPosition.North)
        for dock in docks.values():
            dock.dockLocationChanged.connect(lambda _area: self._moved())
            dock.topLevelChanged.connect(lambda _floating: self._moved())
        self._follow = QTimer(self)
        self._follow.setSingleShot(True)
        self._follow.setInterval(0)
        self._follow.timeout.connect(self.follow_size)

    def _moved(self) -> None:
        if not self._arranging:
            self.customized = True

    def reset(self) -> None:
        """Every dock shown, in the arrangement for the window's size, following its size again."""
        for dock in self._docks.values():
            dock.show()
        self.customized = False
        self.arrange()

    def arrange(self) -> None:
        """Place, tab and size the docks for the window's current size."""
        width, height = self._window.width(), self._window.height()
        compact = is_compact(width)
        area = Qt.DockWidgetArea
        left: tuple[str, ...] = () if compact else LEFT
        right: tuple[str, ...] = (LEFT + RIGHT) if compact else RIGHT
        self._arranging = True
        try:
            groups = ((left, area.LeftDockWidgetArea), (right, area.RightDockWidgetArea),
                      (BOTTOM, area.BottomDockWidgetArea))  # fmt: skip
            for names, where in groups:
                for name in names:
                    dock = self._docks[name]
                    dock.setFloating(False)
                    self._window.addDockWidget(where, dock)
                for name in names[1:]:
                    self._window.tabifyDockWidget(self._docks[names[0]], self._docks[name])
            for name in (right[0], BOTTOM[0]):
                self._docks[name].raise_()
        finally:
            self._arranging = False
        self.compact = compact
        self._size(width, height)

    def _size(self, width: int, height: int) -> None:
        left, right = side_widths(width)
        docks, sizes = [self._docks[RIGHT[0]]], [right]
        if left:
            docks.insert(0, self._docks[LEFT[0]])
            sizes.insert(0, left)
        self._window.resizeDocks(docks, sizes, _H)
        self._window.resizeDocks([self._docks[BOTTOM[0]]], [bottom_height(height)], _V)

    def schedule(self) -> None:
        """Follow the window's new size once Qt has laid it out (call from ``resizeEvent``)."""
        self._follow.start()

    def follow_size(self) -> None:
        """Arrange (on crossing :data:`WIDE_MIN_WIDTH`) or size the docks for the window's new size;
        once customized, only keep the floors."""
        layout = self._window.layout()
        if layout is not None:
            layout.activate()  # measure the docks as laid out for this size, not the last one
        width, height = self._window.width(), self._window.height()
        if self.customized or self.compact is None:
            self._keep_floors(width, height)
        elif is_compact(width) != self.compact:
            self.arrange()
        else:
            self._size(width, height)

    def _keep_floors(self, width: int, height: int) -> None:
        central = self._window.centralWidget()
        if central is None:
            return
        sides = [
            d
            for d in self._docks.values()
            if d.isVisible() and not d.isFloating() and self._window.dockWidgetArea(d) in _SIDE_AREAS
        ]
        # One dock per tab group is enough: tabified docks share their width.
        groups: list[QDockWidget] = []
        for dock in sides:
            if not any(dock in self._window.tabifiedDockWidgets(g) for g in groups):
                groups.append(dock)
        taken = sum(d.width() for d in groups)
        room = round(width * (1 - CHAT_SHARE)) - 16  # separators and margins
        if central.width() < width * CHAT_SHARE and taken > room > 0:
            self._window.resizeDocks(groups, [max(1, d.width() * room // taken) for d in groups], _H)
        bottom = [
            d for d in self._docks.values()
            if d.isVisible() and not d.isFloating()
            and self._window.dockWidgetArea(d) == Qt.DockWidgetArea.BottomDockWidgetArea
        ]  # fmt: skip
        if bottom and bottom[0].height() > height * MAX_BOTTOM_SHARE:
            self._window.resizeDocks([bottom[0]], [bottom_height(height)], _V)


_SIDE_AREAS = (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea)
