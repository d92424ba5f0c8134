"""The persistent, append-only audit log: SQLite in WAL mode, each entry MACed into a chain.

Every entry's MAC (keyed BLAKE2b under a key kept outside the database, see :mod:`audit_trust`)
covers its fields and the previous entry's MAC, and a signed checkpoint of the chain's length and
head is written beside the database after every commit. :meth:`AuditLog.verify` checks every row,
names each one that was edited, added, deleted or rehashed, and detects a cut tail or a rewritten
chain against the checkpoint. Logs from the first format (plain SHA-256 chain) are continued: their
entries keep their hashes and the keyed chain starts after them, anchored to their last hash.

Secrets and personal data are redacted *before* hashing and writing. Appends from many threads or
coroutines share commits (group commit); several processes (the window and a CLI call) can append
to one log safely. Tampering found when the log opens does not stop it: it keeps recording, says
what was found (:attr:`AuditLog.integrity`) and keeps saying so until an admin starts a new log.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import orjson

from fame_desktop.orchestrator.audit_kinds import AuditKind
from fame_desktop.orchestrator.audit_trust import (
    PRIVATE_FILE,
    Checkpoint,
    CheckpointFile,
    KeyProblem,
    checkpoint_file,
    create_key,
    entry_material,
    key_file,
    legacy_hash,
    mac_state,
    read_key,
)
from fame_desktop.orchestrator.audit_verify import (
    EARLIER,
    GENESIS,
    QUICK_TAIL,
    WHAT_TO_DO,
    Findings,
    VerifyResult,
    check_anchor,
    hash_lookup,
    scan,
    scan_log,
)
from fame_desktop.orchestrator.audit_wal import BACKSTOP_PAGES, WalCheckpointer
from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.printable import escape_controls
from fame_desktop.orchestrator.redaction import json_plain, redact, redact_plain, redact_text

__all__ = ["GENESIS", "WHAT_TO_DO", "AuditEntry", "AuditError", "AuditLog", "VerifyResult", "entry_hash"]

log = logging.getLogger("fame.audit")

#: 1: SHA-256 chain with a ``chain_head`` row. 2: HMAC chain from ``meta.keyed_from`` on, checkpoint
#: file; ``chain_head`` is left as it was at the upgrade (evidence) and no longer used.
SCHEMA_VERSION = 2
SUMMARY_CHARS = 300
_COLUMNS = "id, ts, kind, actor, summary, data, prev_hash, hash"

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS entries (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        kind TEXT NOT NULL,
        actor TEXT,
        summary TEXT NOT NULL,
        data TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS entries_ts ON entries(ts)",
    "CREATE INDEX IF NOT EXISTS entries_kind ON entries(kind)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


class AuditError(FameError):
    """The audit log cannot be opened or written."""

    code = "audit_error"


@dataclass(frozen=True)
class AuditEntry:
    """One committed audit entry.

    Entries the log builds parse ``data`` from the stored text on first use (most are never
    looked at: an append hands back every entry it commits), so it is exactly what reading the
    row back gives, key order included.
    """

    id: int
    ts: float
    kind: str
    actor: str | None
    summary: str
    data: dict[str, Any]
    prev_hash: str
    hash: str

    if not TYPE_CHECKING:  # hidden from mypy: every other attribute stays checked

        def __getattr__(self, name: str) -> Any:
            # Only called for what the instance lacks: ``data`` of an entry the log built.
            values = self.__dict__
            if name == "data" and "_text" in values:
                data = values["data"] = json.loads(values["_text"])
                return data
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (export, API)."""
        return {
            "id": self.id, "ts": self.ts, "kind": self.kind, "actor": self.actor, "summary": self.summary,
            "data": self.data, "prev_hash": self.prev_hash, "hash": self.hash,
        }  # fmt: skip


def entry_hash(
    entry_id: int, ts: float, kind: str, actor: str | None, summary: str, data: str, prev: str
) -> str:
    """The first format's chain hash of one entry (``data`` is the stored canonical JSON text)."""
    return legacy_hash(entry_material(entry_id, ts, kind, actor, summary, data, prev))


@lru_cache(maxsize=512)
def _clean_actor(actor: str) -> str:
    # Actors repeat (``api:<fingerprint>``, ``cli``, ``ui:<user>``): redact each distinct one once.
    return escape_controls(redact_text(actor))[:120]


@lru_cache(maxsize=256)
def _clean_kind(kind: str) -> str:
    # Kinds are the few AuditKind values (a plain str comes back: what reading the row gives).
    return str(escape_controls(kind)[:64])


# One prepared entry: kind, actor, summary, data text.
_Prepared = tuple[str, str | None, str, str]
# One stored row, in column order (see _COLUMNS).
_Row = tuple[int, float, str, str | None, str, str, str, str]
# The canonical data text: one encoder made once (json.dumps with options builds one per call).
_encode = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":")).encode


def _encode_plain(value: object) -> str:
    """The canonical text of a value from ``redact_plain``.

    orjson (C, a tenth of json's CPU) writes exactly what :data:`_encode` writes for these values:
    sorted keys, UTF-8, the same escapes and shortest float forms (``redact_plain`` declines the
    floats below 1e-4, the one form orjson writes otherwise). What it refuses (integers beyond 64
    bits, lone surrogates) is written by json. tests/brain/test_audit_encoding.py checks both.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:
        return _encode(value)


_new = object.__new__


def _entry(r: _Row) -> AuditEntry:
    entry = _new(AuditEntry)
    # The frozen dataclass's __init__ sets each field through object.__setattr__; filling the
    # instance's __dict__ at once costs a third of that (an append delivers every entry it commits).
    # ``data`` is parsed from ``_text`` when first read (AuditEntry.__getattr__).
    entry.__dict__.update(
        id=r[0], ts=r[1], kind=r[2], actor=r[3], summary=r[4], _text=r[5], prev_hash=r[6], hash=r[7]
    )
    return entry


#: Batches from this many entries on pause the cyclic garbage collector (see _collector_paused).
_GC_PAUSE_ENTRIES = 1000
_gc_lock = threading.Lock()
# [batches in their pause, whether the first of them turned the collector off]
_gc_pausing: list[int] = [0, 0]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a big batch is prepared, committed and delivered.

    A batch of 10,000 keeps its copies, rows and entries alive until it returns, and every 700
    allocations the collector scans them again (about 1.4 of a batched entry's 10-13 us): none
    of them is garbage yet, and reference counting frees them afterwards. The collector runs
    again as soon as the last batch in its pause ends (it was only postponed), and is turned back
    on only if it was on when the first one began.
    """
    with _gc_lock:
        if _gc_pausing[0] == 0:
            _gc_pausing[1] = gc.isenabled()
            gc.disable()
        _gc_pausing[0] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausing[0] -= 1
            if _gc_pausing[0] == 0 and _gc_pausing[1]:
                gc.enable()


#: The longest a thread about to lead waits for the threads the last commit woke (see _let_woken_run).
_WOKEN_WAIT_S = 0.002

_INSERT = "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
# Rows per INSERT statement, largest first: one statement of many rows costs about half of what as
# many one-row executions do (sqlite3 steps, resets and releases the GIL per execution).
_CHUNKS = (256, 64, 16, 4)
_INSERT_MANY = {
    n: "INSERT INTO entries VALUES " + ",".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * n) for n in _CHUNKS
}


def _insert(db: sqlite3.Connection, rows: list[_Row]) -> None:
    """Insert ``rows`` (in the caller's transaction) with as few statements as their number allows."""
    start, total = 0, len(rows)
    for size in _CHUNKS:
        if total - start >= size:
            sql = _INSERT_MANY[size]
            while total - start >= size:
                db.execute(sql, list(chain.from_iterable(rows[start : start + size])))
                start += size
    if start < total:
        db.executemany(_INSERT, rows[start:])


def _wake(batches: list[_Batch]) -> None:
    """On the waiters' loop: resolve each batch's future (a cancelled waiter is skipped)."""
    for batch in batches:
        future = batch.future
        if future is None or future.done():
            continue
        if batch.error is not None:
            future.set_exception(batch.error)
        else:
            future.set_result([])


@dataclass(eq=False)
class _Batch:
    """Entries from one caller, committed together (all or none), maybe with others' batches."""

    items: list[_Prepared]
    future: asyncio.Future[list[AuditEntry]] | None = None
    rows: list[_Row] = field(default_factory=list)
    error: BaseException | None = None
    done: bool = False
    #: Held while a thread waits for this batch: released when it is committed or the thread is
    #: to lead the next commit (one thread woken per batch, not every waiter per commit).
    wakeup: threading.Lock | None = None


class AuditLog:
    """The audit log file.

    Args:
        path: The SQLite file (created if missing, mode 0600). Its key and checkpoint live beside it.
        on_append: Called with each committed entry (e.g. to publish an event), in the appending
            thread (for :meth:`append_async`, on the caller's event loop).
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
        self._lock = threading.RLock()  # guards the reading connection
        # Guards the queue of batches waiting for a commit; only the writer thread waits on it
        # (threads appending wait on their own batch: see _Batch.wakeup).
        self._cv = threading.Condition(threading.Lock())
        self._queue: list[_Batch] = []
        # Batches appended by coroutines this loop turn, handed to the writer at the turn's end.
        self._pending: dict[asyncio.AbstractEventLoop, list[_Batch]] = {}
        self._leading = False  # a thread is committing (the others' batches ride along)
        # Threads the last commit woke that have not run yet, and the lock a thread about to lead
        # waits on until they have (see _let_woken_run).
        self._woken = 0
        self._gate: threading.Lock | None = None
        self._writer: threading.Thread | None = None
        self._closing = False
        #: Transactions committed by this object (entries / commits shows how well commits are shared).
        self.commits = 0
        self._shrink_seen = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._create_private()
            self._db = self._connect()
            self._wdb = self._connect()  # the writing connection: used only by the committing thread
            # WAL checkpoints run on their own thread (see audit_wal), not inside a commit.
            self._wdb.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
            self._keyed_from, migrated_from = self._open_schema()
        except sqlite3.DatabaseError as exc:
            raise AuditError(
                f"The audit log {self.path} cannot be opened: {exc}.",
                "It may be damaged: move it aside (keep it for investigation) and FAME starts a new log.",
            ) from exc
        self._tighten_permissions()
        self._key, self._key_note, self._key_created = self._load_key()
        self._mac = mac_state(self._key)
        self._checkpoints = CheckpointFile(checkpoint_file(self.path), self._key)
        self._wal = WalCheckpointer(self._connect)
        if migrated_from:
            log.info("audit log %s: %d entries from the first format; keyed chain from here on",
                     self.path, migrated_from)  # fmt: skip
        #: What the check made on opening found (entries after the checkpoint, the checkpoint and
        #: the key); ``ok`` False means tampering, reported until an admin starts a new log.
        self.integrity = self._check_on_open()

    # --- opening ---------------------------------------------------------------------------------

    def _create_private(self) -> None:
        # SQLite creates -wal and -shm with the database file's mode: make that 0600 from the start.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        os.close(fd)

    def _tighten_permissions(self) -> None:
        """Logs made by earlier versions were world-readable (0644): make them private."""
        names = [self.path.name + s for s in ("", "-wal", "-shm")]
        names += [key_file(self.path).name, checkpoint_file(self.path).name]
        for name in names:
            target = self.path.with_name(name)
            try:
                if target.stat().st_mode & 0o077:
                    os.chmod(target, PRIVATE_FILE)
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("could not make %s private: %s", target, exc)

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

    def _open_schema(self) -> tuple[int, int]:
        """Create or upgrade the tables; ``(keyed_from, entries of the first format upgraded)``."""
        db = self._wdb
        db.execute("BEGIN IMMEDIATE")  # one process creates or upgrades; the others then see it
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise AuditError(
                    f"The audit log {self.path} was written by a newer FAME (schema {version}).",
                    "Upgrade FAME, or point --data-dir elsewhere.",
                )
            migrated = 0
            if version < SCHEMA_VERSION:
                for statement in _SCHEMA:
                    db.execute(statement)
                last = int(db.execute("SELECT COALESCE(MAX(id), 0) FROM entries").fetchone()[0])
                # Entries of the first format keep their SHA-256 hashes; the keyed chain starts
                # after them and links to the last one, which anchors them all.
                db.execute("INSERT OR IGNORE INTO meta VALUES ('keyed_from', ?)", (str(last + 1),))
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                migrated = last
            keyed_from = self._read_keyed_from(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return keyed_from, migrated

    @staticmethod
    def _read_keyed_from(db: sqlite3.Connection) -> int:
        row = db.execute("SELECT value FROM meta WHERE key = 'keyed_from'").fetchone()
        try:
            return int(row[0]) if row else 1
        except ValueError:
            return 1  # a damaged value: every entry is then checked as keyed, and what fails is named

    def _load_key(self) -> tuple[bytes, str | None, bool]:
        """The log's key; if it had to be replaced, what happened (a finding); whether it is new."""
        path = key_file(self.path)
        note = None
        try:
            key = read_key(path)
        except KeyProblem as exc:
            aside = path.with_name(f"{path.name}.damaged-{int(time.time())}")
            os.replace(path, aside)
            key, note = None, f"{exc}; it was moved to {aside.name} and a new key made"
        if key is not None:
            return key, None, False
        key, created = create_key(path)
        if created and note is None and self._has_keyed_entries():
            note = (f"the audit key {path.name} was missing and a new one was made: entries "
                    f"written under the old key no longer verify")  # fmt: skip
        return key, note, created

    def _has_keyed_entries(self) -> bool:
        with self._lock:
            row = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM entries").fetchone()
        return int(row[0]) >= self._keyed_from

    def _last(self, db: sqlite3.Connection) -> tuple[int, str]:
        row = db.execute("SELECT id, hash FROM entries ORDER BY id DESC LIMIT 1").fetchone()
        return (int(row[0]), str(row[1])) if row else (0, GENESIS)

    def _check_on_open(self) -> VerifyResult:
        """Check what changed since the checkpoint: cheap enough for every start."""
        checkpoints = self._checkpoints
        # Under the checkpoint lock no other process commits, so the checkpoint and the rows agree.
        with checkpoints.locked(), self._lock:
            cp, cp_problem = checkpoints.read()
            db = self._db
            db.execute("BEGIN")
            try:
                last_id, last_hash = self._last(db)
                if cp is None and cp_problem is None and self._key_created and not self._key_note:
                    # A new log, or one of the first format being upgraded: anchor what is there.
                    checkpoints.write(last_id, last_hash, self._keyed_from)
                    cp, cp_problem = checkpoints.read()
                found = Findings()
                if self._key_note:
                    found.add(self._key_note)
                check_anchor(found, checkpoint=cp, checkpoint_problem=cp_problem, keyed_from=self._keyed_from,
                             last_id=last_id, hash_of=hash_lookup(db))  # fmt: skip
                start = max(cp.count if cp is not None and cp.count <= last_id else 0, last_id - QUICK_TAIL)
                prev = hash_lookup(db)(start) if start > 0 else GENESIS
                db.text_factory = bytes  # the scan hashes the stored bytes as they are
                try:
                    rows = db.execute(f"SELECT {_COLUMNS} FROM entries WHERE id > ? ORDER BY id", (start,))
                    checked, _ = scan(rows, self._mac, self._keyed_from, found, first_id=start + 1,
                                      prev=prev or GENESIS)  # fmt: skip
                finally:
                    db.text_factory = str
            finally:
                db.execute("ROLLBACK")
            result = found.result(checked, cp.to_dict(self._key) if cp is not None else None)
            if not result.ok and self._raise_alarm(result, cp):
                checkpoints.write(last_id, last_hash, self._keyed_from, force=True)
        if not result.ok:
            log.warning(
                "the audit log %s failed its integrity check: %s %s", self.path, result.problem, WHAT_TO_DO
            )
        return result

    def _raise_alarm(self, result: VerifyResult, cp: Checkpoint | None) -> bool:
        """Add new findings to the alarm the checkpoints carry; whether there were any.

        Signed into every later checkpoint, the alarm stays reported after a restart. Called under
        the checkpoint lock; the caller writes the checkpoint.
        """
        checkpoints = self._checkpoints
        fresh = [p for p in result.problems if not p.startswith(EARLIER)]
        alarm = cp.alarm if cp is not None else checkpoints.alarm
        first = cp.alarm_first_id if cp is not None else checkpoints.alarm_first_id
        if fresh:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            alarm = (alarm + " | " if alarm else "") + f"found {stamp}: " + "; ".join(fresh)
            candidates = [x for x in (first, result.first_bad_id or 0) if x]
            first = min(candidates) if candidates else 0
        checkpoints.alarm, checkpoints.alarm_first_id = alarm, first
        return bool(fresh)

    # --- writing ---------------------------------------------------------------------------------

    def _prepare(self, kind: str, data: Mapping[str, object], actor: str | None, summary: str) -> _Prepared:
        summary = summary.replace("\n", " ")
        # Most entries hold nothing to redact: one walk and one screen of all their text tell so.
        plain = redact_plain(data, max_chars=self._max, with_text=summary) if type(data) is dict else None
        if plain is not None:
            text = _encode_plain(plain)
        else:
            redacted = redact(dict(data), max_chars=self._max)
            text = _encode_plain(redacted) if json_plain(redacted) else _encode(redacted)
            summary = redact_text(summary)
        # Control characters are stored escaped too: an export or API reader shows them harmlessly.
        summ = escape_controls(summary)[:SUMMARY_CHARS]
        who = _clean_actor(actor) if actor else None
        return _clean_kind(kind), who, summ, text

    def append(
        self, kind: AuditKind, data: Mapping[str, object], *, actor: str | None = None, summary: str = ""
    ) -> AuditEntry:
        """Redact, chain and commit one entry; returns it once it is durable against a crash.

        Threads appending at the same time share one commit. On an event loop, prefer
        :meth:`append_async`: it does not hold the loop while the commit is written.
        """
        return self.append_many([(kind, data, actor, summary)])[0]

    def append_many(
        self, items: Sequence[tuple[AuditKind, Mapping[str, object], str | None, str]], *, notify: bool = True
    ) -> list[AuditEntry]:
        """Commit several entries in one transaction (all or none); returns them once durable.

        Args:
            items: The entries (kind, data, actor, summary), in order.
            notify: Pass the entries to the listener here; False when the caller passes them on
                itself with :meth:`notify` (on its event loop, where the listener's events go).
        """
        if len(items) < _GC_PAUSE_ENTRIES:  # the usual case: no context manager to enter
            return self._append_many(items, notify)
        with _collector_paused():
            return self._append_many(items, notify)

    def _append_many(
        self, items: Sequence[tuple[AuditKind, Mapping[str, object], str | None, str]], notify: bool = True
    ) -> list[AuditEntry]:
        batch = _Batch([self._prepare(kind, data, actor, summary) for kind, data, actor, summary in items])
        with self._cv:
            self._queue.append(batch)
            if self._leading:
                wakeup = batch.wakeup = threading.Lock()
                wakeup.acquire()
            else:
                wakeup = None
                self._leading = True
        if wakeup is not None:
            wakeup.acquire()  # committed by another thread, or handed the lead
            with self._cv:
                if batch.done:
                    self._ran_after_wake()
                else:
                    batch.wakeup = None  # this thread leads: its own batch needs no waking
        if not batch.done:
            self._let_woken_run()
            with self._cv:
                todo, self._queue = self._queue, []
            self._lead(todo)
        if batch.error is not None:
            raise batch.error
        return self._deliver(batch, notify)

    def try_append_many(
        self, items: Sequence[tuple[AuditKind, Mapping[str, object], str | None, str]], *, notify: bool = True
    ) -> list[AuditEntry] | None:
        """:meth:`append_many` if it can commit at once, without waiting for anyone.

        For an event loop's own thread: a commit there costs no hand-off to another thread and
        back (two GIL hand-offs, the most of an API request's audit latency), but it must never
        wait while another thread or process is committing: then nothing is written and the
        caller commits another way.

        Returns:
            The committed entries, or None (nothing written) when the log is busy.

        Raises:
            AuditError: The commit failed.
        """
        if len(items) < _GC_PAUSE_ENTRIES:
            return self._try_append_many(items, notify)
        with _collector_paused():
            return self._try_append_many(items, notify)

    def _try_append_many(
        self, items: Sequence[tuple[AuditKind, Mapping[str, object], str | None, str]], notify: bool
    ) -> list[AuditEntry] | None:
        with self._cv:
            if self._leading or self._queue:
                return None
        batch = _Batch([self._prepare(kind, data, actor, summary) for kind, data, actor, summary in items])
        if not self._checkpoints.try_lock():
            return None
        with self._cv:
            # Another thread may have started to lead meanwhile (it waits for the lock held here).
            claimed = not (self._leading or self._queue)
            if claimed:
                self._leading = True
        if not claimed:
            self._checkpoints.unlock()
            return None
        self._lead([batch], held=True)
        if batch.error is not None:
            raise batch.error
        return self._deliver(batch, notify)

    async def append_async(
        self, kind: AuditKind, data: Mapping[str, object], *, actor: str | None = None, summary: str = ""
    ) -> AuditEntry:
        """:meth:`append` for coroutines: returns once committed, without blocking the event loop.

        Entries from many coroutines (requests served at once) share commits: a writer thread
        commits whatever is waiting in one transaction and wakes each waiter once.
        """
        return (await self.append_many_async([(kind, data, actor, summary)]))[0]

    async def append_many_async(
        self, items: Sequence[tuple[AuditKind, Mapping[str, object], str | None, str]]
    ) -> list[AuditEntry]:
        """:meth:`append_many` for coroutines (see :meth:`append_async`)."""
        loop = asyncio.get_running_loop()
        if self._closing:
            raise AuditError(f"The audit log {self.path} is closed.")
        batch = _Batch(
            [self._prepare(kind, data, actor, summary) for kind, data, actor, summary in items],
            future=loop.create_future(),
        )
        pending = self._pending.get(loop)
        if pending is None:
            # One hand-over per loop turn: requests woken together append in the same turn (their
            # steps run before this callback), so they reach the writer as one commit.
            pending = self._pending[loop] = []
            loop.call_soon(self._hand_over, loop)
        pending.append(batch)
        assert batch.future is not None
        # A cancelled caller does not un-write its entry: the writer holds the batch, commits it
        # and skips resolving a cancelled future.
        await batch.future
        return self._deliver(batch)

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        """On ``loop``: queue every batch its coroutines appended this turn for the writer thread."""
        batches = self._pending.pop(loop, [])
        with self._cv:
            if self._closing:
                error = AuditError(f"The audit log {self.path} is closed.")
                for batch in batches:
                    batch.error = error
                loop.call_soon(_wake, batches)
                return
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_loop, name="fame-audit-writer", daemon=True
                )
                self._writer.start()
            self._queue.extend(batches)
            if not self._leading:  # a leader passes the lead on (to the writer) when it is done
                self._cv.notify()

    def _write_loop(self) -> None:
        while True:
            with self._cv:
                while self._leading or not self._queue:
                    if self._closing and not self._queue:
                        return
                    self._cv.wait()
                self._leading = True
                todo, self._queue = self._queue, []
            self._lead(todo)

    def _ran_after_wake(self) -> None:
        """Count down a thread woken by a commit; the last one lets the waiting leader go (under _cv)."""
        self._woken = max(self._woken - 1, 0)  # 0 already if a leader stopped waiting
        if self._woken == 0 and self._gate is not None:
            self._gate.release()
            self._gate = None

    def _let_woken_run(self) -> None:
        """Before leading a commit, wait until every thread the last commit woke has run.

        Woken threads need the GIL, and a thread that has it keeps it across the short waits of a
        commit: without this wait, the thread whose entry was just committed appends again and
        commits alone, again and again, while the threads it woke wait (16 threads averaged 1.3
        entries per commit). Given a turn, a woken thread that appends again queues its entry
        behind this lead, so it joins this commit. A single appending thread never waits here.
        """
        if not self._woken:  # only this leader adds to it: a stale non-zero just takes the lock
            return
        with self._cv:
            if not self._woken:
                return
            gate = self._gate = threading.Lock()
            gate.acquire()
        # The bound only matters if a woken thread cannot run (it never blocks the log for long).
        if not gate.acquire(timeout=_WOKEN_WAIT_S):
            with self._cv:
                if self._gate is gate:
                    self._gate = None
                    self._woken = 0

    def _lead(self, todo: list[_Batch], *, held: bool = False) -> None:
        """Commit every batch in ``todo`` in one transaction, then wake their callers.

        ``held``: the caller holds the checkpoint lock (:meth:`try_append_many`); it is freed here.
        """
        try:
            self._commit(todo, held=held)
        except BaseException as exc:
            error = (
                exc
                if isinstance(exc, AuditError)
                else AuditError(f"Could not write to the audit log: {exc!r}.")
            )
            for batch in todo:
                batch.error = error
            if not isinstance(exc, Exception):
                raise
        finally:
            with self._cv:
                for batch in todo:
                    batch.done = True
                # The lead passes to a thread waiting with a batch (it commits the whole queue),
                # else to the writer thread if coroutines' batches wait.
                successor = next((b for b in self._queue if b.wakeup is not None), None)
                if successor is None:
                    self._leading = False
                    self._cv.notify()
                woken = [b.wakeup for b in todo if b.wakeup is not None]
                self._woken += len(woken)
            for wakeup in woken:
                wakeup.release()
            if successor is not None:
                assert successor.wakeup is not None
                successor.wakeup.release()
            waiting: dict[asyncio.AbstractEventLoop, list[_Batch]] = {}
            for batch in todo:
                if batch.future is not None:
                    waiting.setdefault(batch.future.get_loop(), []).append(batch)
            for loop, batches in waiting.items():
                try:
                    loop.call_soon_threadsafe(_wake, batches)
                except RuntimeError:  # the loop was closed meanwhile: nobody is waiting any more
                    log.debug("audit waiter's loop is closed")

    def _commit(self, todo: list[_Batch], *, held: bool = False) -> None:
        if held:
            try:
                self._commit_locked(todo)
            finally:
                self._checkpoints.unlock()
            return
        with self._checkpoints.locked():
            self._commit_locked(todo)

    def _commit_locked(self, todo: list[_Batch]) -> None:
        db = self._wdb
        state = self._mac
        try:
            db.execute("BEGIN IMMEDIATE")
            last_id, last_hash = self._last(db)  # the real last row: a moved or stale head cannot wedge us
            if last_id < self._checkpoints.count_seen:
                self._shrunk(last_id)
            rows: list[_Row] = []
            copy, now = state.copy, time.time
            for batch in todo:
                done = batch.rows
                for kind, actor, summary, text in batch.items:
                    last_id += 1
                    ts = now()
                    # entry_material and entry_mac inlined (the same bytes: every test's log verifies).
                    mac = copy()
                    mac.update(f"{last_id}\x1f{ts!r}\x1f{kind}\x1f{actor or ''}\x1f{summary}\x1f{text}\x1f"
                               f"{last_hash}".encode("utf-8", "surrogatepass"))  # fmt: skip
                    digest = mac.hexdigest()
                    row = (last_id, ts, kind, actor, summary, text, last_hash, digest)
                    rows.append(row)
                    done.append(row)
                    last_hash = digest
            _insert(db, rows)
            db.execute("COMMIT")
            self.commits += 1
            self._wal.committed(len(rows))
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            for batch in todo:
                batch.rows.clear()
            raise AuditError(f"Could not write to the audit log {self.path}: {exc}.",
                             "Check free disk space and that the file is writable.") from exc  # fmt: skip
        self._checkpoints.write(last_id, last_hash, self._keyed_from, force=self._shrink_seen)
        self._shrink_seen = False

    def _shrunk(self, last_id: int) -> None:
        """Entries vanished while the log was open (the log only grows): record and report it."""
        seen = self._checkpoints.count_seen
        problem = (
            f"entries {last_id + 1} to {seen} disappeared while FAME was running (the log was truncated)"
        )
        found = Findings()
        found.add(problem, last_id + 1)
        result = found.result(0, None)
        self._raise_alarm(result, None)
        self._shrink_seen = True  # the commit's checkpoint goes back to the real count
        self.integrity = result
        log.warning("the audit log %s: %s. %s", self.path, problem, WHAT_TO_DO)

    def _deliver(self, batch: _Batch, notify: bool = True) -> list[AuditEntry]:
        """The batch's committed rows as entries, each passed to the listener (if ``notify``)."""
        out = [_entry(row) for row in batch.rows]
        if notify:
            self.notify(out)
        return out

    def notify(self, entries: Sequence[AuditEntry]) -> None:
        """Pass committed ``entries`` to the listener (see ``append_many(notify=False)``)."""
        if self._on_append:
            for entry in entries:
                try:
                    self._on_append(entry)
                except Exception:  # a listener must never undo a committed entry
                    log.exception("audit listener failed")

    # --- reading ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COALESCE(MAX(id), 0) FROM entries").fetchone()[0])

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
        sql = f"SELECT {_COLUMNS} FROM entries {where} ORDER BY id {order} LIMIT ? OFFSET ?"
        with self._lock:
            rows = self._db.execute(sql, (*params, limit, offset)).fetchall()
        return [_entry(r) for r in rows]

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
                cursor = db.execute(f"SELECT {_COLUMNS} FROM entries {where} ORDER BY id", params)
                for r in cursor:
                    fh.write(json.dumps(_entry(r).to_dict(), ensure_ascii=False) + "\n")
                    written += 1
        finally:
            db.close()
        return written

    # --- verification ----------------------------------------------------------------------------

    def verify(self, *, progress: Callable[[int, int], None] | None = None) -> VerifyResult:
        """Check every entry and the chain against its checkpoint; names every entry that fails.

        Args:
            progress: Called with ``(entries checked, entries in the log)`` every 50,000 entries.
        """
        # The checkpoint is read before the snapshot: it is written after its commit, so the
        # snapshot holds at least the entries it counts, whatever is appended meanwhile.
        with self._checkpoints.locked():
            cp, cp_problem = self._checkpoints.read()
        db = self._connect()  # its own connection: appends go on meanwhile
        try:
            db.execute("BEGIN")  # one consistent snapshot
            total = int(db.execute("SELECT COALESCE(MAX(id), 0) FROM entries").fetchone()[0])
            keyed_from = self._read_keyed_from(db)
            found = Findings()
            if self._key_note:
                found.add(self._key_note)
            report = (lambda done: progress(done, total)) if progress else None
            with self._wal.paused():  # it may fork (see WalCheckpointer.paused)
                checked, last_id = scan_log(
                    db, self._connect, self._mac, keyed_from, total, found, progress=report
                )
            check_anchor(found, checkpoint=cp, checkpoint_problem=cp_problem, keyed_from=keyed_from,
                         last_id=last_id, hash_of=hash_lookup(db))  # fmt: skip
            return found.result(checked, cp.to_dict(self._key) if cp is not None else None)
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")
            db.close()

    def close(self) -> None:
        """Commit what is waiting, stop the writer thread and close the database."""
        with self._cv:
            self._closing = True
            self._cv.notify_all()
            writer = self._writer
        if writer is not None:
            writer.join()
        self._wal.close()
        with self._lock:
            self._db.close()
            self._wdb.close()
        self._checkpoints.close()
