"""The persistent, append-only, hash-chained audit log (SQLite in WAL mode).

Every entry's hash covers its fields and the previous entry's hash, and a one-row ``chain_head``
table updated in the same transaction records the last id and hash, so editing, deleting,
reordering or truncating entries is detected by :meth:`AuditLog.verify`. Secrets and personal data
are redacted *before* hashing and writing. Appends take the head inside an immediate transaction,
so several processes (the window and a CLI call) can append to one log safely.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.redaction import redact, redact_text

log = logging.getLogger("fame.audit")

GENESIS = "0" * 64
SCHEMA_VERSION = 1
SUMMARY_CHARS = 300

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT,
    summary TEXT NOT NULL,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_ts ON entries(ts);
CREATE INDEX IF NOT EXISTS entries_kind ON entries(kind);
CREATE TABLE IF NOT EXISTS chain_head (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    last_id INTEGER NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT OR IGNORE INTO chain_head (one, last_id, last_hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
"""


class AuditError(FameError):
    """The audit log cannot be opened or written."""

    code = "audit_error"


@dataclass(frozen=True)
class AuditEntry:
    """One committed audit entry."""

    id: int
    ts: float
    kind: str
    actor: str | None
    summary: str
    data: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (export, API)."""
        return {
            "id": self.id, "ts": self.ts, "kind": self.kind, "actor": self.actor, "summary": self.summary,
            "data": self.data, "prev_hash": self.prev_hash, "hash": self.hash,
        }  # fmt: skip


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :meth:`AuditLog.verify`."""

    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str | None = None


def entry_hash(
    entry_id: int, ts: float, kind: str, actor: str | None, summary: str, data: str, prev: str
) -> str:
    """The chain hash of one entry (``data`` is the stored canonical JSON text)."""
    material = f"{entry_id}\x1f{ts!r}\x1f{kind}\x1f{actor or ''}\x1f{summary}\x1f{data}\x1f{prev}"
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


class AuditLog:
    """The audit log file.

    Args:
        path: The SQLite file (created if missing).
        on_append: Called with each committed entry (e.g. to publish an event).
        max_field_chars: Longest string kept in an entry's data; longer ones are cut and marked.
    """

    def __init__(
        self,
        path: Path,
        *,
        on_append: Callable[[AuditEntry], None] | None = None,
        max_field_chars: int = 20_000,
    ) -> None:
        self.path = Path(path)
        self._on_append = on_append
        self._max = max_field_chars
        self._lock = threading.RLock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = self._connect()
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise AuditError(
                    f"The audit log {self.path} was written by a newer FAME (schema {version}).",
                    "Upgrade FAME, or point --data-dir elsewhere.",
                )
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise AuditError(
                f"The audit log {self.path} cannot be opened: {exc}.",
                "It may be damaged: move it aside (keep it for investigation) and FAME starts a new log.",
            ) from exc

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA busy_timeout=30000")
        # Switching a new file to WAL can answer "locked" at once, without waiting, while another
        # process creates the same log (the window and a CLI call starting together): retry.
        deadline = time.monotonic() + 30
        while True:
            try:
                db.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        # NORMAL in WAL mode: a committed transaction survives the process being killed (the WAL is
        # in the OS's hands); only a power cut may lose the very last commits. fsync per entry
        # would cost ~100x the append rate for no gain against crashes of the app.
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    # --- writing ---------------------------------------------------------------------------------

    def _prepare(
        self, kind: str, data: Mapping[str, object], actor: str | None, summary: str
    ) -> tuple[str, str | None, str, str]:
        clean = redact(dict(data))
        text = json.dumps(
            self._cap(clean), sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":")
        )
        summ = redact_text(summary.replace("\n", " "))[:SUMMARY_CHARS]
        who = redact_text(actor)[:120] if actor else None
        return kind[:64], who, summ, text

    def _cap(self, value: object) -> object:
        if isinstance(value, str) and len(value) > self._max:
            return value[: self._max] + f"…[truncated {len(value) - self._max} chars]"
        if isinstance(value, dict):
            return {k: self._cap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._cap(v) for v in value]
        return value

    def append(
        self, kind: str, data: Mapping[str, object], *, actor: str | None = None, summary: str = ""
    ) -> AuditEntry:
        """Redact, chain and commit one entry; returns it once it is durable against a crash."""
        return self.append_many([(kind, data, actor, summary)])[0]

    def append_many(
        self, items: Sequence[tuple[str, Mapping[str, object], str | None, str]]
    ) -> list[AuditEntry]:
        """Commit several entries in one transaction (all or none)."""
        prepared = [self._prepare(kind, data, actor, summary) for kind, data, actor, summary in items]
        entries: list[AuditEntry] = []
        with self._lock:
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
                last_id, last_hash = db.execute(
                    "SELECT last_id, last_hash FROM chain_head WHERE one = 1"
                ).fetchone()
                rows = []
                for kind, actor, summary, text in prepared:
                    last_id += 1
                    ts = time.time()
                    digest = entry_hash(last_id, ts, kind, actor, summary, text, last_hash)
                    rows.append((last_id, ts, kind, actor, summary, text, last_hash, digest))
                    entries.append(AuditEntry(last_id, ts, kind, actor, summary, {}, last_hash, digest))
                    last_hash = digest
                db.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
                db.execute(
                    "UPDATE chain_head SET last_id = ?, last_hash = ? WHERE one = 1", (last_id, last_hash)
                )
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise AuditError(f"Could not write to the audit log {self.path}: {exc}.",
                                 "Check free disk space and that the file is writable.") from exc  # fmt: skip
        out = [
            AuditEntry(e.id, e.ts, e.kind, e.actor, e.summary, json.loads(p[3]), e.prev_hash, e.hash)
            for e, p in zip(entries, prepared, strict=True)
        ]
        if self._on_append:
            for entry in out:
                try:
                    self._on_append(entry)
                except Exception:  # a listener must never undo a committed entry
                    log.exception("audit listener failed")
        return out

    # --- reading ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT last_id FROM chain_head WHERE one = 1").fetchone()[0])

    @overload
    def __getitem__(self, index: int) -> AuditEntry: ...
    @overload
    def __getitem__(self, index: slice) -> list[AuditEntry]: ...

    def __getitem__(self, index: int | slice) -> AuditEntry | list[AuditEntry]:
        n = len(self)
        if isinstance(index, slice):
            ids = [i + 1 for i in range(*index.indices(n))]
            if not ids:
                return []
            lo, hi = min(ids), max(ids)
            by_id = {e.id: e for e in self._select("WHERE id BETWEEN ? AND ?", (lo, hi), order="ASC")}
            return [by_id[i] for i in ids if i in by_id]
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("audit index out of range")
        found = self._select("WHERE id = ?", (index + 1,))
        if not found:
            raise IndexError(f"audit entry {index + 1} is missing (run `fame audit --verify`)")
        return found[0]

    def __iter__(self) -> Iterator[AuditEntry]:
        last = 0
        while True:
            page = self._select("WHERE id > ?", (last,), order="ASC", limit=1000)
            if not page:
                return
            yield from page
            last = page[-1].id

    def _select(self, where: str, params: Sequence[object], *, order: str = "DESC", limit: int = -1,
                offset: int = 0) -> list[AuditEntry]:  # fmt: skip
        sql = (f"SELECT id, ts, kind, actor, summary, data, prev_hash, hash FROM entries {where} "
               f"ORDER BY id {order} LIMIT ? OFFSET ?")  # fmt: skip
        with self._lock:
            rows = self._db.execute(sql, (*params, limit, offset)).fetchall()
        return [AuditEntry(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in rows]

    @staticmethod
    def _where(kinds: Sequence[str] | None, text: str | None, since: float | None,
               until: float | None) -> tuple[str, list[object]]:  # fmt: skip
        clauses: list[str] = []
        params: list[object] = []
        if kinds:
            clauses.append(f"kind IN ({','.join('?' * len(kinds))})")
            params.extend(kinds)
        if text:
            pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            clauses.append(
                "(summary LIKE ? ESCAPE '\\' OR data LIKE ? ESCAPE '\\' OR actor LIKE ? ESCAPE '\\')"
            )
            params.extend([pattern] * 3)
        if since is not None:
            clauses.append("ts >= ?")
            params.append(since)
        if until is not None:
            clauses.append("ts <= ?")
            params.append(until)
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    def query(
        self,
        *,
        limit: int = 100,
        offset: int = 0,
        kinds: Sequence[str] | None = None,
        text: str | None = None,
        since: float | None = None,
        until: float | None = None,
        newest_first: bool = True,
    ) -> list[AuditEntry]:
        """Entries matching every given filter (text matches summary, data or actor)."""
        where, params = self._where(kinds, text, since, until)
        return self._select(
            where, params, order="DESC" if newest_first else "ASC", limit=limit, offset=offset
        )

    def count(
        self,
        *,
        kinds: Sequence[str] | None = None,
        text: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> int:
        """How many entries match."""
        where, params = self._where(kinds, text, since, until)
        with self._lock:
            return int(self._db.execute(f"SELECT COUNT(*) FROM entries {where}", params).fetchone()[0])

    def export_jsonl(
        self,
        path: Path,
        *,
        kinds: Sequence[str] | None = None,
        text: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> int:
        """Write matching entries, oldest first, one JSON object a line; returns how many."""
        where, params = self._where(kinds, text, since, until)
        db = self._connect()
        written = 0
        try:
            with Path(path).open("w", encoding="utf-8") as fh:
                cursor = db.execute(
                    f"SELECT id, ts, kind, actor, summary, data, prev_hash, hash FROM entries {where} ORDER BY id",
                    params,
                )
                for r in cursor:
                    entry = AuditEntry(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7])
                    fh.write(json.dumps(entry.to_dict(), ensure_ascii=False) + "\n")
                    written += 1
        finally:
            db.close()
        return written

    # --- verification ----------------------------------------------------------------------------

    def verify(self, *, progress: Callable[[int, int], None] | None = None) -> VerifyResult:
        """Recompute the whole chain; names the first entry that was edited, deleted or reordered."""
        db = self._connect()  # its own connection: appends go on meanwhile
        try:
            db.execute("BEGIN")  # one consistent snapshot of entries and head
            head_id, head_hash = db.execute(
                "SELECT last_id, last_hash FROM chain_head WHERE one = 1"
            ).fetchone()
            cursor = db.execute(
                "SELECT id, ts, kind, actor, summary, data, prev_hash, hash FROM entries WHERE id <= ? ORDER BY id",
                (head_id,),
            )
            expected_id, prev = 1, GENESIS
            sha = hashlib.sha256
            for entry_id, ts, kind, actor, summary, data, prev_hash, stored in cursor:
                if entry_id != expected_id:
                    return VerifyResult(False, expected_id - 1, expected_id,
                                        f"entry {expected_id} is missing (deleted)")  # fmt: skip
                if prev_hash != prev:
                    return VerifyResult(False, entry_id - 1, entry_id,
                                        f"entry {entry_id} does not link to entry {entry_id - 1}")  # fmt: skip
                material = f"{entry_id}\x1f{ts!r}\x1f{kind}\x1f{actor or ''}\x1f{summary}\x1f{data}\x1f{prev}"
                digest = sha(material.encode("utf-8", "surrogatepass")).hexdigest()
                if digest != stored:
                    return VerifyResult(False, entry_id - 1, entry_id,
                                        f"entry {entry_id} was modified (its hash does not match)")  # fmt: skip
                prev = stored
                expected_id += 1
                if progress and entry_id % 50_000 == 0:
                    progress(entry_id, head_id)
            checked = expected_id - 1
            if checked != head_id or prev != head_hash:
                return VerifyResult(False, checked, checked + 1,
                                    f"entries {checked + 1} to {head_id} are missing (the log was truncated)")  # fmt: skip
            return VerifyResult(True, checked)
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")
            db.close()

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
