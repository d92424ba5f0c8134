"""Checking the audit log: every row against its MAC and its link, the whole against the checkpoint.

Verification looks at every row in the table, not only up to a stored head, so a row that the chain
does not account for (added after the end, or with an id out of sequence) fails it too. It goes on
past the first failure and names every failing entry, then compares the chain with the checkpoint
kept outside the database: a checkpoint pointing past the last entry means the tail was cut, one
whose head differs from the entry it names means the chain was rewritten up to there.
"""

from __future__ import annotations

import hashlib
import logging
import os
import select
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from fame_desktop.orchestrator.audit_trust import Checkpoint

log = logging.getLogger("fame.audit")

GENESIS = "0" * 64
#: How many failing ids a result lists (the problem text still counts them all).
MAX_LISTED = 1000
#: Rows after the checkpoint checked when the log is opened (the rest waits for ``--verify``).
QUICK_TAIL = 2000

#: How a finding carried over from the checkpoint's alarm starts.
EARLIER = "tampering was found earlier and is recorded in the checkpoint"
#: A row as :func:`scan` reads it: text columns as the stored bytes (wrong types if put there by hand).
Row = tuple[int, float, bytes, "bytes | None", bytes, bytes, bytes, bytes]
WHAT_TO_DO = (
    "Keep a copy of the data dir for investigation (`fame audit --export FILE` writes the entries "
    "out). Then move audit.sqlite3 (with its -wal and -shm files) and audit.checkpoint aside: FAME "
    "starts a new log. Until then FAME keeps recording, and every check repeats this finding."
)


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :meth:`AuditLog.verify` (and of the check made when the log is opened).

    Attributes:
        ok: Nothing failed.
        checked: Rows examined.
        first_bad_id: The lowest failing (or missing) entry id.
        problem: Every finding in one sentence each, joined (None when ok).
        problems: The same findings, one per item.
        bad_ids: Failing entry ids (at most :data:`MAX_LISTED`).
        checkpoint: The checkpoint compared with the chain (its JSON form), if one was readable.
    """

    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str | None = None
    problems: tuple[str, ...] = ()
    bad_ids: tuple[int, ...] = ()
    checkpoint: dict[str, object] | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON form (``fame audit --verify --json``)."""
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_bad_id": self.first_bad_id,
            "problem": self.problem,
            "problems": list(self.problems),
            "bad_ids": list(self.bad_ids),
            "checkpoint": self.checkpoint,
            "what_to_do": None if self.ok else WHAT_TO_DO,
        }


def _ranges(ids: list[int]) -> str:
    parts: list[str] = []
    start = prev = ids[0]
    for i in ids[1:]:
        if i != prev + 1:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            start = i
        prev = i
    parts.append(str(start) if start == prev else f"{start}-{prev}")
    shown = ", ".join(parts[:8])
    return shown + (f" and {len(parts) - 8} more ranges" if len(parts) > 8 else "")


@dataclass
class Findings:
    """What a check found, gathered as it goes."""

    modified: list[int] = field(default_factory=list)
    legacy_modified: list[int] = field(default_factory=list)
    unlinked: list[int] = field(default_factory=list)
    missing: list[tuple[int, int]] = field(default_factory=list)
    unverifiable: int = 0
    other: list[tuple[str, int | None]] = field(default_factory=list)
    n_modified: int = 0

    def merge(self, other: Findings) -> None:
        """Add what a check of a later range of rows found."""
        self.modified += other.modified[: MAX_LISTED - len(self.modified)]
        self.legacy_modified += other.legacy_modified[: MAX_LISTED - len(self.legacy_modified)]
        self.unlinked += other.unlinked
        self.missing += other.missing
        self.unverifiable += other.unverifiable
        self.other += other.other
        self.n_modified += other.n_modified

    def add(self, problem: str, first_id: int | None = None) -> None:
        """A finding that is not about one row (checkpoint, key)."""
        self.other.append((problem, first_id))

    def bad(self, entry_id: int, legacy: bool) -> None:
        """A row whose MAC (or, before the keyed chain, hash) does not match its content."""
        self.n_modified += 1
        target = self.legacy_modified if legacy else self.modified
        if len(target) < MAX_LISTED:
            target.append(entry_id)

    def result(self, checked: int, checkpoint: dict[str, object] | None) -> VerifyResult:
        """The :class:`VerifyResult` for these findings."""
        problems: list[str] = []
        firsts: list[int] = []
        for lo, hi in self.missing[:20]:
            problems.append(f"entry {lo} is missing (deleted)" if lo == hi
                            else f"entries {lo} to {hi} are missing (deleted)")  # fmt: skip
            firsts.append(lo)
        if self.modified:
            if len(self.modified) == 1:
                text = f"entry {self.modified[0]} was modified or added outside FAME (its MAC does not match)"
            else:
                text = (f"entries {_ranges(self.modified)} were modified or added outside FAME "
                        "(their MACs do not match)")  # fmt: skip
            problems.append(text)
            firsts.append(self.modified[0])
        if self.legacy_modified:
            problems.append(f"entries {_ranges(self.legacy_modified)} (from before the keyed chain) "
                            "were modified (their hashes do not match)")  # fmt: skip
            firsts.append(self.legacy_modified[0])
        for entry_id in self.unlinked[:20]:
            problems.append(f"entry {entry_id} does not link to entry {entry_id - 1}: "
                            "entries were rehashed, inserted or removed before it")  # fmt: skip
            firsts.append(entry_id)
        if self.unverifiable:
            problems.append(f"{self.unverifiable} entries could not be checked: the log's key is missing")
        for text, first in self.other:
            problems.append(text)
            if first is not None:
                firsts.append(first)
        if not problems:
            return VerifyResult(True, checked, checkpoint=checkpoint)
        bad = sorted({*self.modified, *self.legacy_modified, *self.unlinked})[:MAX_LISTED]
        return VerifyResult(
            ok=False,
            checked=checked,
            first_bad_id=min(firsts) if firsts else None,
            problem="; ".join(problems) + ".",
            problems=tuple(problems),
            bad_ids=tuple(bad),
            checkpoint=checkpoint,
        )


def scan(
    rows: Iterable[Row],
    state: hashlib.blake2b | None,
    keyed_from: int,
    found: Findings,
    *,
    first_id: int = 1,
    prev: str = GENESIS,
    prev_known: bool = True,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Check ``rows`` (ordered by id, text columns as stored bytes) after the hash ``prev``.

    The entry material is rebuilt from the stored bytes (no decoding and re-encoding: that and
    the row fetch are most of the cost of a check of a million entries).

    Args:
        rows: ``(id, ts, kind, actor, summary, data, prev_hash, hash)`` with text as bytes.
        state: The MAC state (:func:`~fame_desktop.orchestrator.audit_trust.mac_state`); None when
            the key is missing (keyed entries are then counted as unverifiable).
        keyed_from: The first entry of the keyed chain (earlier ones carry SHA-256 hashes).
        found: Where failures are recorded.
        first_id: The id the first row should have.
        prev: The hash the first row should link to.
        prev_known: False when the row before the first is missing (its gap is reported elsewhere).
        progress: Called with the number of rows checked every 50,000 rows.

    Returns:
        ``(rows checked, last id seen)``.
    """
    expected = first_id
    prev_b = prev.encode("ascii")
    prev_ok = prev_known
    checked = 0
    copy = state.copy if state is not None else None
    sha = hashlib.sha256
    fmt = b"%d\x1f%a\x1f%b\x1f%b\x1f%b\x1f%b\x1f%b"  # entry_material's layout, on the stored bytes
    # The loop is the cost of checking a million entries: names are bound locally, rare cases
    # (gaps, wrong types, failures) are the only branches taken out of the straight path.
    for checked, (entry_id, ts, kind, actor, summary, data, prev_hash, stored) in enumerate(rows, 1):
        if entry_id != expected:
            if entry_id > expected:
                found.missing.append((expected, entry_id - 1))
            prev_ok = False  # a gap explains the broken link: do not report it twice
        try:
            material = fmt % (entry_id, ts, kind, actor or b"", summary, data, prev_hash)
        except TypeError:  # a value of the wrong type, put there by hand
            material = None
        if material is None:
            ok = False
        elif entry_id >= keyed_from:
            if copy is None:
                found.unverifiable += 1
                ok = True
            else:
                h = copy()
                h.update(material)
                ok = h.hexdigest().encode() == stored
        else:
            ok = sha(material).hexdigest().encode() == stored
        if not ok:
            found.bad(entry_id, entry_id < keyed_from)
        elif prev_hash != prev_b and prev_ok:
            # This row is genuine, so the one before it is not what it was when this one was written.
            found.unlinked.append(entry_id)
        prev_b = stored
        prev_ok = ok
        expected = entry_id + 1
        if progress is not None and not checked % 50_000:
            progress(checked)
    return checked, expected - 1


def check_anchor(
    found: Findings,
    *,
    checkpoint: Checkpoint | None,
    checkpoint_problem: str | None,
    keyed_from: int,
    last_id: int,
    hash_of: Callable[[int], str | None],
) -> None:
    """Compare the chain's end with the checkpoint (and report an unreadable or missing one)."""
    if checkpoint_problem:
        found.add(checkpoint_problem)
        return
    if checkpoint is None:
        if last_id > 0:
            found.add("the checkpoint audit.checkpoint is missing (deleted?): truncation and "
                      "rewriting of the log cannot be ruled out")  # fmt: skip
        return
    if checkpoint.alarm:
        found.add(f"{EARLIER}: {checkpoint.alarm}", checkpoint.alarm_first_id or None)
    if checkpoint.keyed_from != keyed_from:
        found.add(f"the keyed chain is recorded as starting at entry {keyed_from} but the checkpoint "
                  f"says {checkpoint.keyed_from}: the log's metadata was changed", min(keyed_from,
                  checkpoint.keyed_from))  # fmt: skip
    if checkpoint.count > last_id:
        found.add(f"entries {last_id + 1} to {checkpoint.count} are missing: the log was truncated "
                  f"(the checkpoint records {checkpoint.describe()})", last_id + 1)  # fmt: skip
    elif checkpoint.count > 0 and hash_of(checkpoint.count) != checkpoint.head:
        found.add(f"entry {checkpoint.count} is not the one the checkpoint records "
                  f"({checkpoint.describe()}): the chain was rewritten up to there",
                  checkpoint.count)  # fmt: skip


def hash_lookup(db: sqlite3.Connection) -> Callable[[int], str | None]:
    """A function giving the stored hash of entry ``id`` (None if absent)."""

    def lookup(entry_id: int) -> str | None:
        row = db.execute("SELECT hash FROM entries WHERE id = ?", (entry_id,)).fetchone()
        return str(row[0]) if row else None

    return lookup


#: Logs at least this long are checked by two processes at once (where ``fork`` is safe to use).
PARALLEL_MIN_ROWS = 200_000
_COLUMNS = "id, ts, kind, actor, summary, data, prev_hash, hash"


def _rows(db: sqlite3.Connection, lo: int | None, hi: int) -> Iterable[Row]:
    db.text_factory = bytes  # the scan hashes the stored bytes as they are
    if lo is None:
        return db.execute(f"SELECT {_COLUMNS} FROM entries WHERE id <= ? ORDER BY id", (hi,))
    return db.execute(f"SELECT {_COLUMNS} FROM entries WHERE id BETWEEN ? AND ? ORDER BY id", (lo, hi))


def scan_log(
    db: sqlite3.Connection,
    connect: Callable[[], sqlite3.Connection],
    state: hashlib.blake2b | None,
    keyed_from: int,
    total: int,
    found: Findings,
    *,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Check every row up to ``total`` in ``db``'s snapshot; ``(rows checked, last id seen)``.

    A long log is split in two at an existing entry: a forked child checks the upper half with its
    own connection while this process checks the lower half (two cores, half the time). If the
    child fails or takes far longer than this half took, its half is checked here instead.
    """
    parallel = total >= PARALLEL_MIN_ROWS and sys.platform == "linux" and (os.cpu_count() or 1) > 1
    if not parallel:
        try:
            return scan(_rows(db, None, total), state, keyed_from, found, progress=progress)
        finally:
            db.text_factory = str
    db.text_factory = str
    (split,) = db.execute("SELECT MIN(id) FROM entries WHERE id >= ?", (total // 2,)).fetchone()
    before = hash_lookup(db)(split - 1)
    child = _fork_scan(connect, state, keyed_from, split, total, before)
    started = time.monotonic()
    try:
        report = (lambda done: progress(2 * done)) if progress else None
        checked, last = scan(_rows(db, None, split - 1), state, keyed_from, found, progress=report)
    finally:
        db.text_factory = str
    if last != split - 1:
        found.missing.append((last + 1, split - 1))
    upper = _collect(*child, time.monotonic() + max(5.0, 2 * (time.monotonic() - started)))
    if upper is None:
        log.warning("the audit check's second process failed; checking its half here")
        upper = (Findings(), 0, 0)
        try:
            upper_checked, upper_last = scan(_rows(db, split, total), state, keyed_from, upper[0], first_id=split,
                                             prev=before or GENESIS, prev_known=before is not None)  # fmt: skip
        finally:
            db.text_factory = str
        upper = (upper[0], upper_checked, upper_last)
    found.merge(upper[0])
    return checked + upper[1], upper[2]


def _fork_scan(
    connect: Callable[[], sqlite3.Connection],
    state: hashlib.blake2b | None,
    keyed_from: int,
    lo: int,
    hi: int,
    before: str | None,
) -> tuple[int, int]:
    """Fork a child that checks rows ``lo``..``hi`` and pickles its findings into a pipe."""
    import pickle  # only a long log's verify forks: opening the log (every command) does not

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code
        code = 1
        try:
            os.close(read_end)
            db = connect()
            db.execute("BEGIN")
            found = Findings()
            checked, last = scan(_rows(db, lo, hi), state, keyed_from, found, first_id=lo,
                                 prev=before or GENESIS, prev_known=before is not None)  # fmt: skip
            data = memoryview(pickle.dumps((found, checked, last)))
            while data:
                data = data[os.write(write_end, data) :]
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    return pid, read_end


def _collect(pid: int, fd: int, deadline: float) -> tuple[Findings, int, int] | None:
    """The child's findings, or None if it failed or missed the deadline (then it is killed)."""
    import pickle  # as in _fork_scan: only a long log's verify needs it

    chunks: list[bytes] = []
    ok = True
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                ok = False
                os.kill(pid, signal.SIGKILL)
                break
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    if not ok or status != 0:
        return None
    try:
        found, checked, last = pickle.loads(b"".join(chunks))
    except Exception:
        return None
    return found, int(checked), int(last)
