"""Admin key storage: lookup by key id, fast hash for generated keys, migration of scrypt records."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from pathlib import Path

from fame_desktop.orchestrator.admin import (
    SCHEME_FAST,
    SCHEME_SCRYPT,
    AdminKeyStore,
    FailureThrottle,
    fingerprint,
    generate_key,
)


def _old_record(key: str, label: str) -> dict[str, object]:
    """A record exactly as the previous version wrote it (scrypt, no scheme field)."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(key.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return {
        "key_id": fingerprint(key),
        "label": label,
        "created": 1_700_000_000.0,
        "salt": base64.b64encode(salt).decode(),
        "hash": base64.b64encode(digest).decode(),
    }


def test_old_format_store_verifies_and_migrates_on_first_use(data_dir: Path) -> None:
    generated, chosen = generate_key(), "correct horse battery staple"
    path = data_dir / "admin_keys.json"
    old = {
        "keys": [_old_record(generated, "first"), _old_record(chosen, "python-api")],
        "failures": [time.time()] * 3,
        "locked_until": time.time() + 3600,  # a persisted lockout of the old version
    }
    path.write_text(json.dumps(old))
    store = AdminKeyStore(path)
    assert store.verify("fame_" + "x" * 43) is None
    assert store.verify(generated) == fingerprint(generated)  # not locked out by the old file
    body = json.loads(path.read_text())
    records = {k["label"]: k for k in body["keys"]}
    assert records["first"]["scheme"] == SCHEME_FAST
    assert records["first"]["created"] == 1_700_000_000.0
    assert records["first"]["hash"] != old["keys"][0]["hash"]  # type: ignore[index]
    # A chosen (maybe guessable) key keeps its memory-hard hash.
    assert store.verify(chosen) == fingerprint(chosen)
    assert records["python-api"].get("scheme", SCHEME_SCRYPT) == SCHEME_SCRYPT
    assert "locked_until" not in body and "failures" not in body
    assert path.stat().st_mode & 0o777 == 0o600
    # After migration: a fresh process verifies with the new record, wrong keys are refused.
    again = AdminKeyStore(path)
    assert again.is_fast(generated)
    assert again.verify(generated) == fingerprint(generated)
    assert again.verify(generated[:-1] + ("A" if generated[-1] != "A" else "B")) is None
    assert again.verify(chosen + "!") is None
    assert again.verify("") is None
    assert again.verify("fame_" + "y" * 500) is None


def test_a_key_whose_id_collides_but_whose_hash_differs_is_refused(data_dir: Path) -> None:
    store = AdminKeyStore(data_dir / "admin_keys.json")
    key, record = store.add()
    forged = dict(json.loads(store.path.read_text())["keys"][0])
    other = generate_key()
    # Put another key's id on the record: the lookup finds it, the hash check must refuse.
    forged["key_id"] = fingerprint(other)
    store.path.write_text(json.dumps({"keys": [forged]}))
    assert store.verify(other) is None
    assert store.verify(key) is None  # its id is no longer stored
    assert record.scheme == SCHEME_FAST


def test_throttle_blocks_a_source_for_a_while_and_forgets(data_dir: Path) -> None:
    now = [0.0]
    throttle = FailureThrottle(max_failures=3, window=10, block=5, clock=lambda: now[0])
    assert throttle.failure("ip:a") == 0
    assert throttle.failure("ip:a") == 0
    assert throttle.failure("ip:a") == 5
    assert throttle.blocked_for("ip:a") == 5
    assert throttle.blocked_for("ip:b") == 0
    now[0] = 5.5
    assert throttle.blocked_for("ip:a") == 0
    throttle.failure("ip:b")
    throttle.success("ip:b")
    throttle.failure("ip:b")
    assert throttle.failure("ip:b") == 0  # success reset the count
