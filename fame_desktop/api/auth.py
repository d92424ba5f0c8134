"""API key checks over the admin key store.

Design (kept deliberately small): every API key is an admin key from the hashed admin key store
(``fame admin init`` / ``fame admin add --label api``), so a valid key is accepted on every
endpoint and :attr:`Principal.admin` is always true for it. Keys travel only in the
``X-API-Key`` header; only their fingerprint is ever logged or audited.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import threading
from dataclasses import dataclass
from enum import Enum

from fame_desktop.orchestrator.admin import AdminKeyStore, fingerprint
from fame_desktop.orchestrator.errors import AdminLocked

log = logging.getLogger("fame.api.auth")

API_KEY_HEADER = "X-API-Key"
MAX_KEY_CHARS = 256


class AuthOutcome(Enum):
    """How a request's key was judged."""

    OK = "ok"
    MISSING = "missing"
    INVALID = "invalid"
    LOCKED = "locked"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's fingerprint (``api:<fp>`` in the audit) and its rights."""

    outcome: AuthOutcome
    fingerprint: str | None = None
    key_id: str | None = None
    admin: bool = False
    retry_after: float = 0.0

    @property
    def actor(self) -> str:
        """The audit actor: ``api:<fingerprint>`` or ``api:anonymous``."""
        return f"api:{self.fingerprint or 'anonymous'}"


class ApiAuth:
    """Checks ``X-API-Key`` values against the admin key store.

    The store's KDF costs tens of milliseconds, so the check runs in a worker thread. Keys proven
    valid are remembered (as an HMAC under a per-process secret) so that a lockout caused by
    someone guessing keys does not shut out clients that already proved their key; a removed key
    stops working at once because its id must still be in the store.

    Args:
        keys: The admin key store.
    """

    def __init__(self, keys: AdminKeyStore) -> None:
        self._keys = keys
        self._secret = secrets.token_bytes(32)
        self._proven: dict[bytes, str] = {}
        self._lock = threading.Lock()

    def _tag(self, key: str) -> bytes:
        return hmac.new(self._secret, key.encode("utf-8", "replace"), "sha256").digest()

    def _still_stored(self, key_id: str) -> bool:
        return any(k.key_id == key_id for k in self._keys)

    async def authenticate(self, key: str | None) -> Principal:
        """Judge the key a request carried (``None`` when the header is missing)."""
        if not key:
            return Principal(AuthOutcome.MISSING)
        fp = fingerprint(key)
        if len(key) > MAX_KEY_CHARS:
            return Principal(AuthOutcome.INVALID, fingerprint=fp)
        tag = self._tag(key)
        with self._lock:
            proven = self._proven.get(tag)
        if proven is not None and self._still_stored(proven):
            return Principal(AuthOutcome.OK, fingerprint=fp, key_id=proven, admin=True)
        try:
            key_id = await asyncio.to_thread(self._keys.verify, key)
        except AdminLocked:
            return Principal(AuthOutcome.LOCKED, fingerprint=fp, retry_after=self._keys.lockout_remaining())
        if key_id is None:
            log.warning("rejected API key %s", fp)
            return Principal(AuthOutcome.INVALID, fingerprint=fp)
        with self._lock:
            self._proven[tag] = key_id
        return Principal(AuthOutcome.OK, fingerprint=fp, key_id=key_id, admin=True)
