"""The conversations pane: list, search, reopen, export and delete stored conversations."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fame_desktop.orchestrator.conversations import ConversationStore
from fame_desktop.orchestrator.errors import FameError

log = logging.getLogger("fame.ui.conversations")


class QtConversationsPane(QWidget):
    """Stored conversations; emits :attr:`opened` with an id (None for a new conversation).

    Args:
        store: The conversation store.
    """

    opened = Signal(object)

    def __init__(self, store: ConversationStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self.search = QLineEdit(self)
        self.search.setObjectName("conversationSearch")
        self.search.setPlaceholderText("Search conversations…")
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(250)
        self._search_timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.list = QListWidget(self)
        self.list.setObjectName("conversationList")
        self.list.itemActivated.connect(self._open_item)
        self.list.itemClicked.connect(self._open_item)
        new = QPushButton("New", self)
        new.setObjectName("conversationNewButton")
        new.clicked.connect(lambda: self.opened.emit(None))
        export = QPushButton("Export…", self)
        export.setObjectName("conversationExportButton")
        export.clicked.connect(self._ask_export)
        delete = QPushButton("Delete", self)
        delete.setObjectName("conversationDeleteButton")
        delete.clicked.connect(self.delete_selected)
        self.message = QLabel("", self)
        self.message.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(new)
        buttons.addWidget(export)
        buttons.addWidget(delete)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        self.refresh()

    def refresh(self) -> None:
        """Reload the list (filtered by the search text)."""
        selected = self.selected_id()
        self.list.clear()
        for conv in self._store.conversations(self.search.text().strip()):
            when = dt.datetime.fromtimestamp(conv.updated).strftime("%d %b %H:%M")
            item = QListWidgetItem(f"{conv.title}\n{when} · {conv.messages} messages")
            item.setData(Qt.ItemDataRole.UserRole, conv.id)
            self.list.addItem(item)
            if conv.id == selected:
                self.list.setCurrentItem(item)

    def selected_id(self) -> int | None:
        """Id of the selected conversation."""
        item = self.list.currentItem()
        return int(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def _open_item(self, item: QListWidgetItem) -> None:
        self.opened.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def delete_selected(self) -> None:
        """Delete the selected conversation."""
        conv_id = self.selected_id()
        if conv_id is None:
            self.message.setText("Select a conversation first.")
            return
        self._store.delete(conv_id)
        self.message.setText("Conversation deleted.")
        self.refresh()
        self.opened.emit(None)

    def _ask_export(self) -> None:
        conv_id = self.selected_id()
        if conv_id is None:
            self.message.setText("Select a conversation first.")
            return
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Export conversation",
            str(Path.home() / "conversation.md"),
            "Markdown (*.md);;JSON (*.json)",
        )
        if path:
            self.export_to(conv_id, Path(path))

    def export_to(self, conversation_id: int, path: Path) -> None:
        """Write a conversation to ``path`` (Markdown or JSON by extension)."""
        try:
            count = self._store.export(conversation_id, path)
        except FameError as exc:
            self.message.setText(f"⚠ {exc.message} {exc.fix}".strip())
            return
        self.message.setText(f"Exported {count} messages to {path}.")
