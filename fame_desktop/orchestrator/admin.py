"""Admin keys: created once and shown once, stored only as hashes, looked up by key id.

A generated key is a 256-bit random token (``fame_`` + 43 URL-safe characters). Guessing one is
hopeless, so a slow password hash protects nothing there and only costs every API request tens of
milliseconds. Such keys are stored as HMAC-SHA256 under a random per-key salt (scheme
``hmac-sha256``) and found by their key id (the first 12 hex digits of the key's SHA-256), so a
check is one dict lookup and one constant-time compare. Keys a person chose (the seed's
``admin_api_keys.add("...")``) may be guessable and keep the memory-hard scrypt hash. Records
written by older versions (scrypt for every key) keep working; a generated key's record is rewritten
to the fast scheme the first time it verifies.

Wrong keys are throttled in memory per source (:class:`FailureThrottle`), never on disk: a stranger
guessing keys must not lock the owner out of the CLI or a restarted server.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from fame_desktop.orchestrator.errors import FameError

log = logging.getLogger("fame.admin")

KEY_PREFIX = "fame_"
MAX_KEY_CHARS = 256
SCHEME_FAST = "hmac-sha256"
SCHEME_SCRYPT = "scrypt"
# scrypt cost for keys a person chose: about 40 ms a check on these machines.
_N, _R, _P = 2**14, 8, 1
_GENERATED = re.compile(r"fame_[A-Za-z0-9_-]{43}")
# In-memory throttle defaults: failures from one source within the window before it is blocked.
MAX_FAILURES = 10
FAILURE_WINDOW_SECONDS = 60.0
BLOCK_SECONDS = 60.0


@dataclass(frozen=True)
class StoredKey:
    """One admin key as stored: never the key itself.

    Attributes:
        key_id: ``fingerprint(key)``; the lookup key.
        label: What the key is for.
        created: Unix time of creation.
        salt: Base64 salt of the hash.
        hash: Base64 hash of the key under ``scheme``.
        scheme: ``hmac-sha256`` (generated keys) or ``scrypt`` (chosen keys, and older records).
    """

    key_id: str
    label: str
    created: float
    salt: str
    hash: str
    scheme: str = SCHEME_SCRYPT


def generate_key() -> str:
    """A new random admin key (256 bits, URL-safe)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def is_generated(key: str) -> bool:
    """Whether ``key`` has the shape of a generated 256-bit key (so a fast hash suffices)."""
    return _GENERATED.fullmatch(key) is not None


def fingerprint(key: str) -> str:
    """A short, non-reversible id for a key, safe for logs and audit (``api:<fp>``); its key id."""
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:12]


def _hash(scheme: str, key: str, salt: bytes) -> bytes:
    data = key.encode("utf-8", "replace")
    if scheme == SCHEME_FAST:
        return hmac.new(salt, data, "sha256").digest()
    return hashlib.scrypt(data, salt=salt, n=_N, r=_R, p=_P, dklen=32)


def _record(key: str, label: str, created: float) -> StoredKey:
    scheme = SCHEME_FAST if is_generated(key) else SCHEME_SCRYPT
    salt = os.urandom(16)
    return StoredKey(
        key_id=fingerprint(key),
        label=label,
        created=created,
        salt=base64.b64encode(salt).decode(),
        hash=base64.b64encode(_hash(scheme, key, salt)).decode(),
        scheme=scheme,
    )


class AdminKeyStore:
    """The admin key file (``admin_keys.json``, mode 0600).

    Args:
        path: Where hashes are kept.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        # Process-local memo of scrypt checks that passed, keyed by an HMAC under a random
        # secret, so a chosen key pays the KDF once per process, not on every request.
        self._memo_secret = secrets.token_bytes(32)
        self._memo: dict[bytes, str] = {}
        self._stamp: tuple[int, int, int] | None = None
        self._keys: dict[str, StoredKey] = {}
        self._refresh()

    # --- persistence -----------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Re-read the file if another process (or store) changed it since we last looked."""
        try:
            st = self.path.stat()
            # Writers replace the file, so a new inode shows a change even within one mtime tick.
            stamp = (st.st_mtime_ns, st.st_ino, st.st_size)
        except FileNotFoundError:
            stamp = (0, 0, 0)
        if stamp != self._stamp:
            self._keys = {k.key_id: k for k in self._read()}
            self._stamp = stamp
            self._memo = {t: kid for t, kid in self._memo.items() if kid in self._keys}

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """Hold the file lock, work on the freshest state, and write it back."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path.with_name(self.path.name + ".lock"), "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                self._refresh()
                yield
                self._write()
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def _read(self) -> list[StoredKey]:
        if not self.path.exists():
            return []
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            # Older files also hold "failures" and "locked_until": a persisted lockout is
            # deliberately ignored (it let strangers lock the owner out) and dropped on the next write.
            return [StoredKey(**k) for k in raw.get("keys", [])]
        except (OSError, ValueError, TypeError, AttributeError, RecursionError) as exc:
            raise FameError(
                f"The admin key file {self.path} is unreadable ({type(exc).__name__}: {str(exc)[:120]}).",
                "Restore it from a backup, or move it aside and run `fame admin init` to create a new key.",
            ) from exc

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {"keys": [asdict(k) for k in self._keys.values()]}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".admin-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(body, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)
        st = self.path.stat()
        self._stamp = (st.st_mtime_ns, st.st_ino, st.st_size)

    # --- keys ------------------------------------------------------------------------------------

    def __len__(self) -> int:
        with self._lock:
            self._refresh()
            return len(self._keys)

    def __iter__(self) -> Iterator[StoredKey]:
        with self._lock:
            self._refresh()
            return iter(list(self._keys.values()))

    def add(self, key: str | None = None, label: str = "") -> tuple[str, StoredKey]:
        """Store a key (a new random one if ``key`` is None).

        Returns:
            The key in clear (show it once, then forget it) and its stored record.
        """
        key = key or generate_key()
        if len(key) < 16 or len(key) > MAX_KEY_CHARS:
            raise FameError(
                f"Admin keys must be 16 to {MAX_KEY_CHARS} characters long.",
                "Use `fame admin add` for a random one.",
            )
        record = _record(key, label, time.time())
        with self._transaction():
            existing = self._keys.get(record.key_id)
            if existing is None:
                self._keys[record.key_id] = record
        return key, existing or record

    def remove(self, key_id: str) -> bool:
        """Delete the key with ``key_id``; False if there is none."""
        with self._transaction():
            removed = self._keys.pop(key_id, None)
            self._memo = {h: kid for h, kid in self._memo.items() if kid != key_id}
        return removed is not None

    def lookup(self, key: str) -> StoredKey | None:
        """The record whose key id matches ``key``'s (not yet proof that ``key`` is right)."""
        if not key or len(key) > MAX_KEY_CHARS:
            return None
        with self._lock:
            self._refresh()
            return self._keys.get(fingerprint(key))

    def has_id(self, key_id: str) -> bool:
        """Whether a key with this id is stored."""
        with self._lock:
            self._refresh()
            return key_id in self._keys

    def is_fast(self, key: str, record: StoredKey | None = None) -> bool:
        """Whether :meth:`verify` of ``key`` takes microseconds (no KDF to run)."""
        record = record or self.lookup(key)
        return record is None or record.scheme == SCHEME_FAST or self._memo_tag(key) in self._memo

    def _memo_tag(self, key: str) -> bytes:
        return hmac.new(self._memo_secret, key.encode("utf-8", "replace"), "sha256").digest()

    def verify(self, key: str) -> str | None:
        """The id of the stored key ``key`` is, or None.

        One lookup by key id, then one constant-time compare of the hash. A generated key still
        stored under scrypt (an older record) is migrated to the fast scheme on success.
        """
        record = self.lookup(key)
        return None if record is None else self.verify_record(key, record)

    def verify_record(self, key: str, record: StoredKey) -> str | None:
        """:meth:`verify` against the record :meth:`lookup` found (saves a second lookup)."""
        stored = base64.b64decode(record.hash)
        salt = base64.b64decode(record.salt)
        if record.scheme == SCHEME_FAST:
            return record.key_id if hmac.compare_digest(_hash(SCHEME_FAST, key, salt), stored) else None
        tag = self._memo_tag(key)
        with self._lock:
            memo = self._memo.get(tag)
        if memo != record.key_id:
            if not hmac.compare_digest(_hash(SCHEME_SCRYPT, key, salt), stored):
                return None
            with self._lock:
                self._memo[tag] = record.key_id
        if is_generated(key):
            self._migrate(key, record)
        return record.key_id

    def _migrate(self, key: str, old: StoredKey) -> None:
        new = replace(_record(key, old.label, old.created), key_id=old.key_id)
        try:
            with self._transaction():
                if self._keys.get(old.key_id) == old:
                    self._keys[old.key_id] = new
            log.info("admin key %s rehashed with %s", old.key_id, SCHEME_FAST)
        except OSError as exc:
            # A read-only data dir: the old record still verifies; try again next time.
            log.warning("could not rehash admin key %s: %s", old.key_id, exc)


class FailureThrottle:
    """Failed key checks counted per source, in memory only.

    A source (``ip:<address>``, ``fp:<key fingerprint>``, an actor) with ``max_failures`` failures
    within ``window`` seconds is blocked for ``block`` seconds. Nothing is written to disk, so a
    restart or another process (the CLI) starts clean; the number of sources kept is bounded.

    Args:
        max_failures: Failures allowed within the window.
        window: Seconds failures are remembered.
        block: Seconds a source stays blocked.
        clock: Monotonic clock (seconds).
        max_sources: Sources remembered at most (oldest forgotten first).
    """

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window: float = FAILURE_WINDOW_SECONDS,
        block: float = BLOCK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_sources: int = 10_000,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.block = block
        self._clock = clock
        self._max_sources = max_sources
        self._failures: OrderedDict[str, list[float]] = OrderedDict()
        self._blocked: dict[str, float] = {}
        self._lock = threading.Lock()

    def blocked_for(self, source: str) -> float:
        """Seconds ``source`` stays blocked (0 when it is not)."""
        with self._lock:
            until = self._blocked.get(source)
            if until is None:
                return 0.0
            left = until - self._clock()
            if left <= 0:
                del self._blocked[source]
                return 0.0
            return left

    def failure(self, source: str) -> float:
        """Count one failure; returns the seconds ``source`` is now blocked (0 if not)."""
        now = self._clock()
        with self._lock:
            recent = [t for t in self._failures.pop(source, []) if now - t < self.window] + [now]
            if len(recent) >= self.max_failures:
                self._blocked[source] = now + self.block
                log.warning(
                    "%s blocked for %.0f s after %d failed key checks", source, self.block, len(recent)
                )
                recent = []
            self._failures[source] = recent
            while len(self._failures) > self._max_sources:
                self._failures.popitem(last=False)
            if len(self._blocked) > self._max_sources:
                self._blocked = {s: u for s, u in self._blocked.items() if u > now}
            until = self._blocked.get(source, 0.0)
        return max(0.0, until - now)

    def success(self, source: str) -> None:
        """Forget ``source``'s failures."""
        with self._lock:
            self._failures.pop(source, None)


class AdminKeySet:
    """The seed's ``brain.admin_api_keys`` set, over the hashed store.

    ``add`` hashes before storing; ``in`` verifies; the keys themselves are never kept.
    """

    def __init__(self, store: AdminKeyStore) -> None:
        self._store = store

    def add(self, key: str) -> None:
        """Store ``key`` (hashed)."""
        self._store.add(key, label="python-api")

    def discard(self, key: str) -> None:
        """Remove ``key`` if present."""
        self._store.remove(fingerprint(key))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._store.verify(key) is not None

    def __len__(self) -> int:
        return len(self._store)
