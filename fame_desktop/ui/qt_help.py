"""The Help menu's dialogs: every keyboard shortcut the window defines, and About FAME.

The shortcuts list is read from the window itself (its ``QAction`` shortcuts, its ``QShortcut``
objects and the chat input's own keys), so it cannot drift from what the keys really do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fame_desktop import __version__
from fame_desktop.ui.qt_chat_input import QtChatInput

if TYPE_CHECKING:
    from pathlib import Path

LICENCE = "Proprietary licence. © the FAME Desktop authors. All rights reserved."


def _keys(sequence: QKeySequence) -> str:
    return sequence.toString(QKeySequence.SequenceFormat.NativeText)


def _label(text: str) -> str:
    return text.replace("&", "").replace("…", "").strip()


def collect_shortcuts(window: QWidget) -> list[tuple[str, str]]:
    """Every (what it does, keys) the window defines, in definition order, keys of one action joined.

    Args:
        window: The main window; its ``QAction`` and ``QShortcut`` children are read (a
            ``QShortcut`` names what it does in its ``whatsThis``), plus the chat input's keys.
    """
    found: dict[str, list[str]] = {}

    def add(what: str, keys: str) -> None:
        if what and keys and keys not in found.setdefault(what, []):
            found[what].append(keys)

    for what, keys in QtChatInput.KEYS:
        add(what, keys)
    for action in window.findChildren(QAction):
        for sequence in action.shortcuts():
            add(_label(action.text()), _keys(sequence))
    for shortcut in window.findChildren(QShortcut):
        add(_label(shortcut.whatsThis()), _keys(shortcut.key()))
    return [(what, ", ".join(keys)) for what, keys in found.items()]


class QtShortcutsDialog(QDialog):
    """A table of the window's keyboard shortcuts."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        rows = collect_shortcuts(window)
        self.table = QTableWidget(len(rows), 2, self)
        self.table.setObjectName("shortcutsTable")
        self.table.setHorizontalHeaderLabels(["Action", "Keys"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        for row, (what, keys) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(what))
            self.table.setItem(row, 1, QTableWidgetItem(keys))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(460, 420)

    def rows(self) -> list[tuple[str, str]]:
        """The table's rows as (action, keys)."""
        out = []
        for row in range(self.table.rowCount()):
            what, keys = self.table.item(row, 0), self.table.item(row, 1)
            out.append((what.text() if what else "", keys.text() if keys else ""))
        return out


class QtAboutDialog(QDialog):
    """The version, the data dir and the licence."""

    def __init__(self, data_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About FAME")
        self.text = QLabel(self)
        self.text.setObjectName("aboutText")
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setText(f"FAME Desktop {__version__}\n\nData directory: {data_dir}\n\n{LICENCE}")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
