"""Admin approvals of user plugins, by the SHA-256 of the plugin's files (:mod:`plugin_files`).

A user plugin (anything outside ``core/``) is not run until an admin approves the exact bytes of
its file or package; a changed file has a new hash and waits for approval again. Approvals live in
``plugin_approvals.json`` (0600) in the data dir, each entry signed with an HMAC under a key kept
in the secret store (the OS keyring, else ``secrets/``), like the admin settings' signature: an
entry written by anything but the app (a plugin, a hand edit) does not verify and is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from fame_desktop.orchestrator.secrets import SecretStore

log = logging.getLogger("fame.plugins.approval")

MAC_KEY_NAME = "plugins.approval_mac_key"


@dataclass(frozen=True)
class Approval:
    """One plugin an admin approved.

    Attributes:
        name: The plugin's manifest name.
        sha256: Hex SHA-256 of the approved file.
        approved_at: Unix time of the approval.
        approved_by: Who authorised it (an admin key id, or ``session``).
    """

    name: str
    sha256: str
    approved_at: float
    approved_by: str


class PluginApprovals:
    """The signed approval list.

    Args:
        path: ``plugin_approvals.json``.
        secrets_store: Where the signing key lives.
    """

    def __init__(self, path: Path, secrets_store: SecretStore) -> None:
        self.path = path
        self._secrets = secrets_store
        self._lock = threading.Lock()

    def _key(self, *, create: bool) -> bytes | None:
        value = self._secrets.get(MAC_KEY_NAME)
        if value is None and create:
            value = secrets.token_hex(32)
            self._secrets.set(MAC_KEY_NAME, value)
        try:
            return bytes.fromhex(value) if value else None
        except ValueError:
            return None

    @staticmethod
    def _mac(key: bytes, approval: Approval) -> str:
        body = json.dumps(asdict(approval), sort_keys=True, separators=(",", ":"))
        return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()

    def _read(self) -> dict[str, dict[str, object]]:
        try:
            with open(self.path, "rb") as fh:
                raw = json.loads(fh.read(1 << 20))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, RecursionError) as exc:
            log.error("plugin approvals %s are unreadable (%s); none apply", self.path, type(exc).__name__)
            return {}
        entries = raw.get("approvals") if isinstance(raw, dict) else None
        return (
            {str(k): v for k, v in entries.items() if isinstance(v, dict)}
            if isinstance(entries, dict)
            else {}
        )

    def approvals(self) -> dict[str, Approval]:
        """Every approval whose signature verifies, by plugin name (forged entries are left out)."""
        key = self._key(create=False)
        if key is None:
            return {}
        valid: dict[str, Approval] = {}
        for name, entry in self._read().items():
            try:
                approval = Approval(
                    name=name,
                    sha256=str(entry["sha256"]),
                    approved_at=float(entry["approved_at"]),  # type: ignore[arg-type]
                    approved_by=str(entry["approved_by"]),
                )
                mac = str(entry["mac"])
            except (KeyError, TypeError, ValueError):
                log.warning("plugin approval of %r is malformed; ignored", name)
                continue
            if hmac.compare_digest(self._mac(key, approval), mac):
                valid[name] = approval
            else:
                log.warning("plugin approval of %r is not signed by this app; ignored", name)
        return valid

    def is_approved(self, name: str, sha256: str) -> bool:
        """Whether an admin approved plugin ``name`` with exactly this file hash."""
        approval = self.approvals().get(name)
        return approval is not None and hmac.compare_digest(approval.sha256, sha256)

    def approve(self, name: str, sha256: str, *, by: str) -> Approval:
        """Record (signed) that an admin approved ``name`` at ``sha256`` (the caller checked admin)."""
        approval = Approval(name=name, sha256=sha256, approved_at=round(time.time(), 3), approved_by=by)
        with self._lock:
            key = self._key(create=True)
            assert key is not None
            entries = self._read()
            entries[name] = {**asdict(approval), "mac": self._mac(key, approval)}
            entries[name].pop("name")
            self._write(entries)
        return approval

    def revoke(self, name: str) -> bool:
        """Forget the approval of ``name`` (the caller checked admin); whether there was one."""
        with self._lock:
            entries = self._read()
            if entries.pop(name, None) is None:
                return False
            self._write(entries)
        return True

    def _write(self, entries: dict[str, dict[str, object]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".plugin_approvals-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"version": 1, "approvals": entries}, fh, indent=2, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
