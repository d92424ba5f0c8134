"""API key checks over the admin key store.

Design (kept deliberately small): every API key is an admin key from the hashed admin key store
(``fame admin init`` / ``fame admin add --label api``), so a valid key is accepted on every
endpoint and :attr:`Principal.admin` is always true for it. Keys travel only in the
``X-API-Key`` header; only their fingerprint is ever logged or audited.

Wrong keys are throttled per client address and per offered key id, in memory: a blocked source
gets 429 for keys whose id is not stored, without any check. A key whose id is stored is always
checked, so someone guessing keys (even from the same address) never locks the real key out; the
id is 48 bits of the key's SHA-256, so reaching a stored id without the key is itself a guess.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from enum import Enum

from fame_desktop.orchestrator.admin import MAX_KEY_CHARS, AdminKeyStore, FailureThrottle, fingerprint

log = logging.getLogger("fame.api.auth")

API_KEY_HEADER = "X-API-Key"


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

    A generated key verifies in microseconds on the event loop; a chosen key under scrypt (tens
    of milliseconds, once per process) is checked in a worker thread.

    Args:
        keys: The admin key store.
        throttle: Failure counts per ``ip:<address>`` and ``fp:<fingerprint>`` (a new one by default).
    """

    def __init__(self, keys: AdminKeyStore, throttle: FailureThrottle | None = None) -> None:
        self._keys = keys
        self.throttle = throttle or FailureThrottle()

    async def authenticate(self, key: str | None, client: str = "unknown") -> Principal:
        """Judge the key a request carried (``None`` when the header is missing).

        Args:
            key: The ``X-API-Key`` value.
            client: The client's address (the throttle's source).
        """
        if not key:
            return Principal(AuthOutcome.MISSING)
        record = self._keys.lookup(key) if len(key) <= MAX_KEY_CHARS else None
        # A stored record is found by its key id, which is the key's fingerprint: no second hash.
        fp = record.key_id if record is not None else fingerprint(key)
        if record is None:
            blocked = max(self.throttle.blocked_for(s) for s in _sources(client, fp))
            if blocked > 0:
                return Principal(AuthOutcome.LOCKED, fingerprint=fp, retry_after=blocked)
            return self._refuse(fp, client)
        if self._keys.is_fast(key, record):
            key_id = self._keys.verify_record(key, record)
        else:
            key_id = await asyncio.to_thread(self._keys.verify_record, key, record)
        if key_id is None:
            return self._refuse(fp, client)
        return Principal(AuthOutcome.OK, fingerprint=fp, key_id=key_id, admin=True)

    def _refuse(self, fp: str, client: str) -> Principal:
        for source in _sources(client, fp):
            self.throttle.failure(source)
        log.debug("rejected API key %s", fp)
        return Principal(AuthOutcome.INVALID, fingerprint=fp)


def _sources(client: str, fp: str) -> tuple[str, str]:
    """The throttle's sources for a wrong key: the client's address and the key's id."""
    return f"ip:{client}", f"fp:{fp}"
