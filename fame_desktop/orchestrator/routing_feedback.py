"""The user's routing feedback: corrections ("wrong plugin?") and thumbs up/down, kept locally.

Stored in ``<data dir>/routing/feedback.sqlite3`` (0600), with the query text redacted as the
audit log redacts it. Corrections become training examples for this user's classifier; the
ratings give routing accuracy over time. Nothing here ever leaves the machine.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from fame_desktop.orchestrator.intent_classifier import Example
from fame_desktop.orchestrator.redaction import redact_text

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    query_id TEXT NOT NULL,
    text TEXT NOT NULL,
    routed TEXT NOT NULL,
    correct TEXT,
    rating INTEGER
);
"""
WEEK_S = 7 * 24 * 3600


@dataclass(frozen=True)
class Feedback:
    """One piece of feedback on one answer."""

    id: int
    ts: float
    query_id: str
    text: str
    routed: str
    correct: str | None
    rating: int | None

    @property
    def wrong_route(self) -> bool:
        """Whether the user said another intent was meant."""
        return self.correct is not None and self.correct != self.routed


@dataclass(frozen=True)
class WeekStats:
    """Routing accuracy over the answers rated or corrected in one week."""

    week_start: float
    answers: int
    corrected: int

    @property
    def accuracy(self) -> float:
        """Share of those answers that went to the right plugin."""
        return 1 - self.corrected / self.answers if self.answers else 1.0


class RoutingFeedback:
    """Reads and writes the feedback database.

    Args:
        path: The SQLite file (created 0600 with its folder on first write).
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def exists(self) -> bool:
        """Whether any feedback was ever stored (no file: nothing to read)."""
        return self._path.exists()

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
            self._db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
            self._db.executescript(_SCHEMA)
        return self._db

    def record(
        self,
        *,
        query_id: str,
        text: str,
        routed: str,
        correct: str | None = None,
        rating: int | None = None,
        now: float | None = None,
    ) -> Feedback:
        """Keep one piece of feedback (text redacted) and return it."""
        if rating not in (None, -1, 1):
            raise ValueError("rating must be 1 (up), -1 (down) or None")
        ts = time.time() if now is None else now
        clean = redact_text(text)
        with self._lock:
            cur = self._conn().execute(
                "INSERT INTO feedback (ts, query_id, text, routed, correct, rating) VALUES (?, ?, ?, ?, ?, ?)",
                (ts, query_id, clean, routed, correct, rating),
            )
        return Feedback(int(cur.lastrowid or 0), ts, query_id, clean, routed, correct, rating)

    def all(self) -> list[Feedback]:
        """Every piece of feedback, oldest first."""
        if not self._path.exists():
            return []
        with self._lock:
            rows = (
                self._conn()
                .execute("SELECT id, ts, query_id, text, routed, correct, rating FROM feedback ORDER BY id")
                .fetchall()
            )
        return [Feedback(*row) for row in rows]

    def corrections(self) -> list[Example]:
        """The user's corrections as training examples (the latest one per query text wins)."""
        items = self.all()
        latest: dict[str, str] = {}
        for item in items:
            if item.wrong_route and item.correct:
                latest[item.text.strip().lower()] = item.correct
        by_text = {item.text.strip().lower(): item.text for item in items}
        return [Example(intent, by_text[key]) for key, intent in sorted(latest.items())]

    def weekly(self) -> list[WeekStats]:
        """Accuracy per week (weeks counted from the first feedback), oldest first."""
        items = self.all()
        if not items:
            return []
        start = items[0].ts
        weeks: dict[int, list[Feedback]] = {}
        for item in items:
            weeks.setdefault(int((item.ts - start) // WEEK_S), []).append(item)
        out = []
        for index in sorted(weeks):
            by_query: dict[str, bool] = {}
            for item in weeks[index]:  # several clicks on one answer count once; a correction wins
                by_query[item.query_id] = by_query.get(item.query_id, False) or item.wrong_route
            out.append(WeekStats(start + index * WEEK_S, len(by_query), sum(by_query.values())))
        return out

    def reset(self) -> int:
        """Forget all feedback; how many entries were removed."""
        if not self._path.exists():
            return 0
        with self._lock:
            cur = self._conn().execute("DELETE FROM feedback")
        return int(cur.rowcount)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
