"""What the audit log's tamper evidence rests on, kept outside the database: its key and checkpoint.

A hash chain inside one SQLite file proves nothing against someone who can edit that file: they
can rehash every row, or cut the tail and move the head back. So each entry carries a MAC (keyed
BLAKE2b) under a random key that lives in its own file (``audit.key``, mode 0600), and after every commit a
*checkpoint* (``audit.checkpoint``: how many entries there are and the last entry's MAC, itself
MACed) is written beside the database. Rewriting the chain needs the key; deleting entries leaves
the checkpoint pointing past the end. Someone who can read the key file can forge both; that limit
is stated in the README.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("fame.audit")

KEY_BYTES = 32
CHECKPOINT_FORMAT = "fame-audit-checkpoint/1"
PRIVATE_FILE = 0o600
#: A checkpoint is one page, rewritten in place (an alarm's text is capped to fit).
CHECKPOINT_SIZE = 4096
ALARM_CHARS = 2000


def key_file(db: Path) -> Path:
    """The key beside ``db`` (``audit.sqlite3`` -> ``audit.key``)."""
    return db.with_name(f"{db.stem}.key")


def checkpoint_file(db: Path) -> Path:
    """The checkpoint beside ``db`` (``audit.sqlite3`` -> ``audit.checkpoint``)."""
    return db.with_name(f"{db.stem}.checkpoint")


def entry_material(
    entry_id: int, ts: float, kind: str, actor: str | None, summary: str, data: str, prev: str
) -> bytes:
    """The bytes an entry's hash or MAC covers (``data`` is the stored canonical JSON text)."""
    text = f"{entry_id}\x1f{ts!r}\x1f{kind}\x1f{actor or ''}\x1f{summary}\x1f{data}\x1f{prev}"
    return text.encode("utf-8", "surrogatepass")


def mac_state(key: bytes) -> hashlib.blake2b:
    """The keyed hash every entry MAC starts from (copied per entry: the key is absorbed once).

    Keyed BLAKE2b is a MAC by design (no length extension, unlike a plain hash of key and text)
    and costs about as much as SHA-256; HMAC-SHA256 measured 2.4 times slower per entry here.
    """
    return hashlib.blake2b(key=key, digest_size=32, person=b"fame-audit")


def entry_mac(state: hashlib.blake2b, material: bytes) -> str:
    """The MAC of an entry (entries written since the keyed chain began); ``state`` from :func:`mac_state`."""
    h = state.copy()
    h.update(material)
    return h.hexdigest()


def legacy_hash(material: bytes) -> str:
    """SHA-256 of an entry (entries written before the keyed chain: the first log format)."""
    return hashlib.sha256(material).hexdigest()


class KeyProblem(Exception):
    """The key file exists but does not hold a key."""


def read_key(path: Path) -> bytes | None:
    """The key in ``path``; None when there is no file.

    Raises:
        KeyProblem: The file is not a key (damaged or replaced).
    """
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyProblem(f"the audit key {path} cannot be read ({type(exc).__name__})") from exc
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise KeyProblem(f"the audit key {path} is damaged (not {KEY_BYTES} bytes of hex)")
    return key


def create_key(path: Path) -> tuple[bytes, bool]:
    """A new random key in ``path`` unless another process made one first; ``(key, created)``.

    Made under a temporary name and hard-linked into place, so two processes opening a new log at
    once agree on one key (the loser reads the winner's).
    """
    key = secrets.token_bytes(KEY_BYTES)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        os.write(fd, key.hex().encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
        created = True
    except FileExistsError:
        created = False
    finally:
        os.unlink(tmp)
    if not created:
        existing = read_key(path)
        if existing is None:  # removed between link and read: try once more
            return create_key(path)
        return existing, False
    return key, True


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement of the chain's length and head at one moment."""

    count: int
    head: str
    keyed_from: int
    ts: float
    #: What tampering was found and when ("" if none). Signed with the rest, so it stays until an
    #: admin starts a new log: later checkpoints carry it on.
    alarm: str = ""
    #: The first entry the alarm names (0: none).
    alarm_first_id: int = 0

    def mac(self, key: bytes) -> str:
        """The checkpoint's own MAC under the log's key."""
        text = (f"{CHECKPOINT_FORMAT}\x1f{self.count}\x1f{self.head}\x1f{self.keyed_from}"
                f"\x1f{self.ts!r}\x1f{self.alarm}\x1f{self.alarm_first_id}")  # fmt: skip
        return hashlib.blake2b(
            text.encode("utf-8"), key=key, digest_size=32, person=b"fame-audit-cp"
        ).hexdigest()

    def describe(self) -> str:
        """Short form for messages: ``20 entries, head 1a2b3c4d…``."""
        return f"{self.count} entries, head {self.head[:12]}…, written {time.ctime(self.ts)}"

    def to_json(self, key: bytes) -> bytes:
        """The file's content: :meth:`to_dict` as JSON, formatted directly (it is written per commit)."""
        alarm = json.dumps(self.alarm) if self.alarm else '""'
        return (
            f'{{"format": "{CHECKPOINT_FORMAT}", "count": {self.count}, "head": {json.dumps(self.head)}, '
            f'"keyed_from": {self.keyed_from}, "ts": {self.ts!r}, "alarm": {alarm}, '
            f'"alarm_first_id": {self.alarm_first_id}, "mac": "{self.mac(key)}"}}'
        ).encode("ascii")

    def to_dict(self, key: bytes) -> dict[str, object]:
        """The signed JSON form (what the file holds and what ``--verify --json`` shows)."""
        return {
            "format": CHECKPOINT_FORMAT,
            "count": self.count,
            "head": self.head,
            "keyed_from": self.keyed_from,
            "ts": self.ts,
            "alarm": self.alarm,
            "alarm_first_id": self.alarm_first_id,
            "mac": self.mac(key),
        }


def parse_checkpoint(raw: bytes, key: bytes, name: str) -> tuple[Checkpoint | None, str | None]:
    """``(checkpoint, None)``, ``(None, None)`` when there is none, or ``(None, problem)``."""
    if not raw.strip():
        return None, None
    try:
        doc = json.loads(raw)
        cp = Checkpoint(
            int(doc["count"]), str(doc["head"]), int(doc["keyed_from"]), float(doc["ts"]), str(doc["alarm"]),
            int(doc["alarm_first_id"]),
        )  # fmt: skip
        mac = str(doc["mac"])
    except (ValueError, KeyError, TypeError) as exc:
        return None, f"the checkpoint {name} is damaged ({type(exc).__name__})"
    if doc.get("format") != CHECKPOINT_FORMAT or not hmac.compare_digest(mac, cp.mac(key)):
        return None, f"the checkpoint {name} is not signed by this log's key (forged or replaced)"
    return cp, None


def read_checkpoint(path: Path, key: bytes) -> tuple[Checkpoint | None, str | None]:
    """The checkpoint in ``path`` (see :func:`parse_checkpoint`)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"the checkpoint {path.name} cannot be read ({type(exc).__name__})"
    return parse_checkpoint(raw, key, path.name)


class CheckpointFile:
    """The checkpoint file, rewritten in place after every commit.

    Commits and their checkpoints happen under :meth:`locked`, an exclusive lock shared by every
    process that appends to the log, so checkpoints follow commits in order and never move back.
    Rewriting one page in place (no temporary file, no rename) keeps a checkpoint to a few system
    calls; a process killed mid-write cannot tear a single-page write.

    Args:
        path: The checkpoint file.
        key: The log's key.
    """

    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        self._key = key
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._mine = b""  # what this process last wrote: an unchanged file need not be parsed
        self._warned = False
        #: Carried into every checkpoint once tampering was found (see :attr:`Checkpoint.alarm`).
        self.alarm = ""
        self.alarm_first_id = 0
        #: The highest entry count this process has seen checkpointed (the log never shrinks).
        self.count_seen = 0

    def _fd_now(self) -> int:
        if self._fd is not None:
            if os.fstat(self._fd).st_nlink > 0:
                return self._fd
            os.close(self._fd)  # deleted or replaced under us: write where people will look
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        self._mine = b""
        return self._fd

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the checkpoint lock (this process's threads and every other process)."""
        with self._lock:
            fd = self._fd = self._fd_now()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def try_lock(self) -> bool:
        """Take the lock of :meth:`locked` only if nobody holds it (never waits); :meth:`unlock` frees it.

        Returns:
            Whether this thread now holds it.
        """
        if not self._lock.acquire(blocking=False):
            return False
        try:
            fd = self._fd = self._fd_now()
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another process is committing
            self._lock.release()
            return False
        except BaseException:
            self._lock.release()
            raise
        return True

    def unlock(self) -> None:
        """Free the lock taken by :meth:`try_lock`."""
        assert self._fd is not None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()

    def read(self) -> tuple[Checkpoint | None, str | None]:
        """The current checkpoint (call under :meth:`locked`)."""
        raw = os.pread(self._fd_now(), CHECKPOINT_SIZE, 0)
        cp, problem = parse_checkpoint(raw, self._key, self.path.name)
        if cp is not None:
            self.count_seen = max(self.count_seen, cp.count)
        return cp, problem

    def write(self, count: int, head: str, keyed_from: int, *, force: bool = False) -> None:
        """Record ``count`` entries ending in ``head`` (call under :meth:`locked`).

        ``force`` writes even a lower count (after truncation was found and recorded in the alarm).
        """
        try:
            fd = self._fd if self._fd is not None else self._fd_now()  # checked by locked()
            raw = os.pread(fd, CHECKPOINT_SIZE, 0)
            if raw != self._mine:
                current, _problem = parse_checkpoint(raw, self._key, self.path.name)
                if current is not None and current.alarm and not self.alarm:
                    # Another process found tampering: keep saying so.
                    self.alarm, self.alarm_first_id = current.alarm, current.alarm_first_id
                if current is not None and current.count > count and not force:
                    return
            alarm = self.alarm[-ALARM_CHARS:]
            while True:
                cp = Checkpoint(count, head, keyed_from, time.time(), alarm, self.alarm_first_id)
                data = cp.to_json(self._key)
                if len(data) <= CHECKPOINT_SIZE:
                    break
                alarm = alarm[len(alarm) // 2 :]  # escaped non-ASCII text ran over the page
            data = data.ljust(CHECKPOINT_SIZE, b" ")
            os.pwrite(fd, data, 0)
            self._mine = data
            self.count_seen = count if force else max(self.count_seen, count)
        except OSError as exc:
            # The entry is committed; a stale checkpoint shows up in --verify, not as a lost entry.
            if not self._warned:
                log.error("could not write the audit checkpoint %s: %s", self.path, exc)
                self._warned = True

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
