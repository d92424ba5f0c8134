"""Admin keys: created once and shown once, stored only as salted scrypt hashes.

Verification compares in constant time, and repeated failures lock admin out for a while; the
failure counter is kept on disk so separate CLI runs cannot brute-force keys either.
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
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from fame_desktop.orchestrator.errors import AdminLocked, FameError

log = logging.getLogger("fame.admin")

KEY_PREFIX = "fame_"
# scrypt cost: about 40 ms a check on these machines, far too slow to brute-force 256-bit keys anyway.
_N, _R, _P = 2**14, 8, 1
MAX_FAILURES = 5
LOCKOUT_SECONDS = 60.0


@dataclass(frozen=True)
class StoredKey:
    """One admin key as stored: never the key itself."""

    key_id: str
    label: str
    created: float
    salt: str
    hash: str


def generate_key() -> str:
    """A new random admin key (256 bits, URL-safe)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def fingerprint(key: str) -> str:
    """A short, non-reversible id for a key, safe for logs and audit (``api:<fp>``)."""
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:12]


def _kdf(key: str, salt: bytes) -> bytes:
    return hashlib.scrypt(key.encode("utf-8", "replace"), salt=salt, n=_N, r=_R, p=_P, dklen=32)


class AdminKeyStore:
    """The admin key file (``admin_keys.json``) and its lockout state.

    Args:
        path: Where hashes are kept (mode 0600).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        # Process-local cache of keys already verified, keyed by an HMAC with a random secret,
        # so an API client does not pay the KDF on every request.
        self._cache_secret = secrets.token_bytes(32)
        self._verified: dict[bytes, str] = {}
        self._mtime_ns = -1
        self._keys: list[StoredKey] = []
        self._failures: list[float] = []
        self._locked_until = 0.0
        self._refresh()

    # --- persistence -----------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Re-read the file if another process (or store) changed it since we last looked."""
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            mtime = 0
        if mtime != self._mtime_ns:
            self._keys, self._failures, self._locked_until = self._read()
            self._mtime_ns = mtime
            known = {k.key_id for k in self._keys}
            self._verified = {t: kid for t, kid in self._verified.items() if kid in known}

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

    def _read(self) -> tuple[list[StoredKey], list[float], float]:
        if not self.path.exists():
            return [], [], 0.0
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            keys = [StoredKey(**k) for k in raw.get("keys", [])]
            return keys, [float(t) for t in raw.get("failures", [])], float(raw.get("locked_until", 0.0))
        except (OSError, ValueError, TypeError) as exc:
            raise FameError(
                f"The admin key file {self.path} is unreadable ({exc}).",
                "Restore it from a backup, or move it aside and run `fame admin init` to create a new key.",
            ) from exc

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "keys": [asdict(k) for k in self._keys],
            "failures": self._failures,
            "locked_until": self._locked_until,
        }
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".admin-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(body, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)
        self._mtime_ns = self.path.stat().st_mtime_ns

    # --- keys ------------------------------------------------------------------------------------

    def __len__(self) -> int:
        with self._lock:
            self._refresh()
            return len(self._keys)

    def __iter__(self) -> Iterator[StoredKey]:
        with self._lock:
            self._refresh()
            return iter(list(self._keys))

    def add(self, key: str | None = None, label: str = "") -> tuple[str, StoredKey]:
        """Store a key (a new random one if ``key`` is None).

        Returns:
            The key in clear (show it once, then forget it) and its stored record.
        """
        key = key or generate_key()
        if len(key) < 16:
            raise FameError(
                "Admin keys must be at least 16 characters long.", "Use `fame admin add` for a random one."
            )
        salt = os.urandom(16)
        record = StoredKey(
            key_id=fingerprint(key),
            label=label,
            created=time.time(),
            salt=base64.b64encode(salt).decode(),
            hash=base64.b64encode(_kdf(key, salt)).decode(),
        )
        with self._transaction():
            existing = next((k for k in self._keys if k.key_id == record.key_id), None)
            if existing is None:
                self._keys.append(record)
        return key, existing or record

    def remove(self, key_id: str) -> bool:
        """Delete the key with ``key_id``; False if there is none."""
        with self._transaction():
            before = len(self._keys)
            self._keys = [k for k in self._keys if k.key_id != key_id]
            self._verified = {h: kid for h, kid in self._verified.items() if kid != key_id}
        return len(self._keys) < before

    def lockout_remaining(self) -> float:
        """Seconds until admin unlocks again after too many failures (0 if not locked)."""
        with self._lock:
            self._refresh()
            return max(0.0, self._locked_until - time.time())

    def verify(self, key: str) -> str | None:
        """The id of the matching key, or None; counts failures and enforces the lockout.

        Raises:
            AdminLocked: Too many failures recently; no key is checked.
        """
        remaining = self.lockout_remaining()
        if remaining > 0:
            raise AdminLocked(remaining)
        tag = hmac.new(self._cache_secret, key.encode("utf-8", "replace"), "sha256").digest()
        with self._lock:
            self._refresh()
            cached = self._verified.get(tag)
            records = list(self._keys)
        if cached is not None:
            return cached
        match: str | None = None
        for record in records:
            digest = _kdf(key, base64.b64decode(record.salt))
            # Check every key, constant-time each, so timing says nothing about which was close.
            if hmac.compare_digest(digest, base64.b64decode(record.hash)):
                match = record.key_id
        if match is not None:
            with self._lock:
                self._verified[tag] = match
            if self._failures:
                with self._transaction():
                    self._failures = []
            return match
        with self._transaction():
            now = time.time()
            self._failures = [t for t in self._failures if now - t < LOCKOUT_SECONDS] + [now]
            if len(self._failures) >= MAX_FAILURES:
                self._locked_until = now + LOCKOUT_SECONDS
                self._failures = []
                log.warning("admin locked for %.0f s after %d failed attempts", LOCKOUT_SECONDS, MAX_FAILURES)
        return None


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
