"""Safety: who is admin right now, and the audited gate in front of every dangerous change."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fame_desktop.orchestrator.admin import AdminKeyStore, FailureThrottle, fingerprint
from fame_desktop.orchestrator.audit_kinds import AuditAppend, AuditKind
from fame_desktop.orchestrator.errors import AdminLocked, AdminRequired, FameError
from fame_desktop.orchestrator.events import AdminStateChanged, EventBus
from fame_desktop.orchestrator.settings import SettingsStore, is_admin_field

log = logging.getLogger("fame.safety")


class Safety:
    """Admin checks, the in-process admin session, and audited settings changes.

    Args:
        keys: The hashed admin key store.
        settings: The settings store.
        bus: Event bus (admin state and settings changes are published).
        audit: ``AuditLog.append``-compatible callable.
    """

    def __init__(
        self, keys: AdminKeyStore, settings: SettingsStore, bus: EventBus, audit: AuditAppend
    ) -> None:
        self.keys = keys
        self.settings = settings
        self._bus = bus
        self._audit = audit
        self._session_key_id: str | None = None
        # Per actor, in memory: a stream of wrong keys from one front end is slowed down, but
        # nothing is persisted, so the CLI and the next start are never locked out.
        self._throttle = FailureThrottle()

    # --- the admin session (the window's unlock) -------------------------------------------------

    @property
    def unlocked(self) -> bool:
        """Whether an admin unlocked this process (until :meth:`lock` or exit)."""
        return self._session_key_id is not None

    def unlock(self, key: str, actor: str = "ui") -> bool:
        """Unlock admin for this process with ``key``; audited either way.

        Raises:
            AdminLocked: Too many wrong keys from ``actor`` recently (the right key still works).
        """
        key_id = self._check(key, "unlock admin", actor)
        if key_id is None:
            return False
        self._session_key_id = key_id
        self._audit(
            AuditKind.ADMIN_ACTION,
            {"action": "unlock", "key_id": key_id},
            actor=actor,
            summary="admin unlocked",
        )
        self._bus.publish(AdminStateChanged(unlocked=True))
        return True

    def lock(self, actor: str = "ui") -> None:
        """End the admin session."""
        if self._session_key_id is None:
            return
        self._session_key_id = None
        self._audit(AuditKind.ADMIN_ACTION, {"action": "lock"}, actor=actor, summary="admin locked")
        self._bus.publish(AdminStateChanged(unlocked=False))

    # --- checks ----------------------------------------------------------------------------------

    def _check(self, key: str | None, what: str, actor: str) -> str | None:
        """The id of ``key`` if it is a stored admin key, else None (audited).

        Raises:
            AdminLocked: ``actor`` is blocked after too many wrong keys and ``key`` is not a stored
                key's id. A key whose id is stored is always checked, so the real key never locks out.
        """
        if not key:
            return None
        source = f"actor:{actor}"
        blocked = self._throttle.blocked_for(source)
        if blocked > 0 and self.keys.lookup(key) is None:
            raise AdminLocked(blocked)
        key_id = self.keys.verify(key)
        if key_id is not None:
            self._throttle.success(source)
            return key_id
        self._audit(
            AuditKind.ADMIN_FAILED,
            {"what": what, "key_fingerprint": fingerprint(key)},
            actor=actor,
            summary=f"failed admin attempt: {what}",
        )
        self._throttle.failure(source)
        return None

    def is_admin(self, key: str | None, what: str = "admin check", actor: str = "unknown") -> bool:
        """True if the session is unlocked or ``key`` is a valid admin key."""
        if key:
            return self._check(key, what, actor) is not None
        return self.unlocked

    def require_admin(self, key: str | None, what: str, actor: str = "unknown") -> str:
        """Return who authorised ``what`` (a key id or ``session``) or raise :class:`AdminRequired`."""
        if key:
            key_id = self._check(key, what, actor)
            if key_id is not None:
                return key_id
            raise AdminRequired(f"{what.capitalize()}: the admin key is wrong; this")
        if self._session_key_id is not None:
            return self._session_key_id
        self._audit(AuditKind.ADMIN_FAILED, {"what": what, "reason": "no admin key given"}, actor=actor,
                    summary=f"admin required: {what}")  # fmt: skip
        raise AdminRequired(what.capitalize())

    # --- audited changes -------------------------------------------------------------------------

    def update_settings(
        self,
        changes: Mapping[str, Any],
        *,
        key: str | None = None,
        actor: str = "unknown",
        trusted: bool = False,
    ) -> dict[str, Any]:
        """Apply setting changes, requiring admin for admin fields; audited.

        Args:
            changes: Dotted path -> new value.
            key: Admin key offered with the change.
            actor: Who asks (``ui``, ``cli``, ``api:<fp>``, ``python``).
            trusted: In-process Python API callers (the seed's ``brain.allow_network = True``).
        """
        needs_admin = any(is_admin_field(p) for p in changes)
        by = "trusted-python" if trusted else None
        if needs_admin and not trusted:
            by = self.require_admin(key, "changing " + ", ".join(sorted(changes)), actor)
        changed = self.settings.update(changes, admin=needs_admin)
        if changed:
            self._audit(
                AuditKind.SETTINGS_CHANGED,
                {"changes": changed, "authorised_by": by},
                actor=actor,
                summary="settings: " + ", ".join(f"{k}={v}" for k, v in changed.items())[:200],
            )
        return changed

    def approve_settings(self, *, key: str | None, actor: str = "unknown") -> dict[str, Any]:
        """Apply the admin settings found changed outside the app (admin only); audited.

        Returns:
            The settings that changed (empty when nothing was pending).
        """
        pending = dict(self.settings.unapproved)
        if not pending:
            return {}
        by = self.require_admin(key, "approving settings changed outside FAME", actor)
        changed = self.settings.approve_pending()
        self._audit(
            AuditKind.SETTINGS_APPROVED,
            {"approved": pending, "changes": changed, "authorised_by": by},
            actor=actor,
            summary="settings changed outside FAME approved: " + ", ".join(sorted(pending))[:180],
        )
        return changed

    def create_first_key(self, actor: str = "cli") -> str:
        """Create the first admin key; refused once any key exists."""
        if len(self.keys):
            raise FameError(
                "An admin key already exists.",
                "Use `fame admin add --admin-key KEY` to add another one.",
            )
        key, record = self.keys.add(label="first")
        self._audit(
            AuditKind.ADMIN_ACTION,
            {"action": "create_first_key", "key_id": record.key_id},
            actor=actor,
            summary="first admin key created",
        )
        return key

    def add_key(self, *, key: str | None, label: str = "", actor: str = "unknown") -> str:
        """Create another admin key (admin only); returns it in clear, once."""
        by = self.require_admin(key, "adding an admin key", actor)
        new, record = self.keys.add(label=label)
        self._audit(
            AuditKind.ADMIN_ACTION,
            {"action": "add_key", "key_id": record.key_id, "authorised_by": by},
            actor=actor,
            summary=f"admin key {record.key_id} added",
        )
        return new

    def remove_key(self, key_id: str, *, key: str | None, actor: str = "unknown") -> bool:
        """Remove an admin key by id (admin only). The last key cannot be removed."""
        by = self.require_admin(key, "removing an admin key", actor)
        if len(self.keys) <= 1:
            raise FameError("The last admin key cannot be removed.", "Add another key first.")
        removed = self.keys.remove(key_id)
        if removed:
            self._audit(
                AuditKind.ADMIN_ACTION,
                {"action": "remove_key", "key_id": key_id, "authorised_by": by},
                actor=actor,
                summary=f"admin key {key_id} removed",
            )
            if self._session_key_id == key_id:
                self.lock(actor)
        return removed
