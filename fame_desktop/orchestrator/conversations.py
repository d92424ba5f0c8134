"""Persistent chat conversations (SQLite in the data dir): list, search, reopen, export, delete.

The window shows conversations; this store owns them so any front end can reuse them. Each call
is one short transaction; bulk work (export) is meant for a worker thread, hence the lock and
``check_same_thread=False``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fame_desktop.orchestrator.errors import FameError

log = logging.getLogger("fame.conversations")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    ts REAL NOT NULL,
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages(conversation_id, id);
"""

ROLES = ("user", "assistant", "error", "system")


@dataclass(frozen=True)
class Conversation:
    """A conversation as listed."""

    id: int
    title: str
    created: float
    updated: float
    messages: int


@dataclass(frozen=True)
class Message:
    """One message of a conversation; ``meta`` holds intent, plugins, timing, error code."""

    id: int
    conversation_id: int
    ts: float
    role: str
    text: str
    meta: dict[str, Any]


class ConversationStore:
    """The conversations database.

    Args:
        path: The SQLite file (``DataPaths.conversations_db``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def create(self, title: str) -> int:
        """Start a conversation titled ``title`` (shortened to one line); returns its id."""
        title = " ".join(title.split())[:80] or "New conversation"
        now = time.time()
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO conversations (title, created, updated) VALUES (?, ?, ?)", (title, now, now)
            )
        return int(cur.lastrowid or 0)

    def add_message(
        self, conversation_id: int, role: str, text: str, meta: dict[str, Any] | None = None
    ) -> int:
        """Append a message.

        Raises:
            FameError: Unknown role or conversation.
        """
        if role not in ROLES:
            raise FameError(f"Unknown message role {role!r}.", f"Use one of {', '.join(ROLES)}.")
        now = time.time()
        with self._lock:
            try:
                cur = self._db.execute(
                    "INSERT INTO messages (conversation_id, ts, role, text, meta) VALUES (?, ?, ?, ?, ?)",
                    (conversation_id, now, role, text, json.dumps(meta or {}, default=str)),
                )
            except sqlite3.IntegrityError as exc:
                raise FameError(
                    f"Conversation {conversation_id} does not exist.", "Start a new conversation."
                ) from exc
            self._db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id))
        return int(cur.lastrowid or 0)

    def conversations(self, search: str = "", limit: int = 500) -> list[Conversation]:
        """Conversations, most recently used first; ``search`` matches titles and message text."""
        sql = (
            "SELECT c.id, c.title, c.created, c.updated, "
            "(SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id) FROM conversations c"
        )
        args: list[Any] = []
        if search:
            like = f"%{_escape_like(search)}%"
            sql += (
                " WHERE c.title LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m WHERE "
                "m.conversation_id = c.id AND m.text LIKE ? ESCAPE '\\')"
            )
            args += [like, like]
        sql += " ORDER BY c.updated DESC, c.id DESC LIMIT ?"
        args.append(limit)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [Conversation(int(r[0]), str(r[1]), float(r[2]), float(r[3]), int(r[4])) for r in rows]

    def get(self, conversation_id: int) -> Conversation | None:
        """One conversation, or None."""
        for conv in self.conversations(limit=1_000_000):
            if conv.id == conversation_id:
                return conv
        return None

    def messages(self, conversation_id: int) -> list[Message]:
        """The messages of a conversation, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, conversation_id, ts, role, text, meta FROM messages "
                "WHERE conversation_id = ? ORDER BY id",
                (conversation_id,),
            ).fetchall()
        return [
            Message(int(r[0]), int(r[1]), float(r[2]), str(r[3]), str(r[4]), json.loads(r[5])) for r in rows
        ]

    def delete_messages_from(self, conversation_id: int, message_id: int) -> int:
        """Delete message ``message_id`` and every later one of the conversation; how many went.

        A spoken question revised while it was being answered replaces its superseded exchange.
        """
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM messages WHERE conversation_id = ? AND id >= ?", (conversation_id, message_id)
            )
        return int(cur.rowcount)

    def rename(self, conversation_id: int, title: str) -> None:
        """Change a conversation's title."""
        with self._lock:
            self._db.execute(
                "UPDATE conversations SET title = ? WHERE id = ?", (title.strip()[:80], conversation_id)
            )

    def delete(self, conversation_id: int) -> bool:
        """Delete a conversation and its messages; False if it did not exist."""
        with self._lock:
            cur = self._db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
        return cur.rowcount > 0

    def export(self, conversation_id: int, path: Path) -> int:
        """Write a conversation to ``path``: Markdown (``.md``) or JSON (anything else).

        Returns:
            The number of messages written.

        Raises:
            FameError: No such conversation, or the file cannot be written.
        """
        conv = self.get(conversation_id)
        if conv is None:
            raise FameError(f"Conversation {conversation_id} does not exist.", "Pick one from the list.")
        msgs = self.messages(conversation_id)
        if path.suffix.lower() in (".md", ".markdown"):
            parts = [f"# {conv.title}\n"]
            for m in msgs:
                who = {"user": "You", "assistant": "FAME", "error": "Error", "system": "System"}[m.role]
                stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(m.ts))
                parts.append(f"## {who} ({stamp})\n\n{m.text}\n")
            content = "\n".join(parts)
        else:
            content = json.dumps(
                {
                    "id": conv.id,
                    "title": conv.title,
                    "created": conv.created,
                    "messages": [{"ts": m.ts, "role": m.role, "text": m.text, "meta": m.meta} for m in msgs],
                },
                indent=2,
                ensure_ascii=False,
            )
        try:
            path.write_text(content, encoding="utf-8")
        except OSError as exc:
            raise FameError(f"Cannot write {path}: {exc.strerror}.", "Choose another file.") from exc
        return len(msgs)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
