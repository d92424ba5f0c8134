"""Enabling and disabling plugins: persisted, audited, admin-gated for dangerous ones."""

from __future__ import annotations

from fame_desktop.orchestrator.audit_kinds import AuditKind
from fame_desktop.orchestrator.errors import PluginError
from fame_desktop.orchestrator.plugin_loader import PluginRecord
from fame_desktop.orchestrator.services import Services


def set_plugin_enabled(
    services: Services, name: str, enabled: bool, *, key: str | None, actor: str
) -> PluginRecord:
    """Turn a plugin on or off; enabling an admin-only or dangerous plugin needs admin."""
    rec = services.plugins.get(name)
    if rec is None:
        raise PluginError(f"No plugin called {name!r}.", "See `fame plugins` for the names.")
    if enabled and rec.manifest and (rec.manifest.admin_only or rec.manifest.dangerous):
        services.safety.require_admin(key, f"enabling the {name} plugin", actor)
    disabled = set(services.settings.settings.plugins.disabled)
    disabled = disabled - {name} if enabled else disabled | {name}
    services.settings.update({"plugins.disabled": sorted(disabled)}, admin=False)
    rec = services.plugins.set_enabled(name, enabled)
    services.audit.append(
        AuditKind.PLUGIN_STATE,
        {"plugin": name, "enabled": enabled},
        actor=actor,
        summary=f"plugin {name} {'enabled' if enabled else 'disabled'}",
    )
    return rec


def approve_plugin(
    services: Services, name: str, *, key: str | None, actor: str, sha256: str | None = None
) -> PluginRecord:
    """Approve the user plugin ``name`` as its file is now (admin); audited, then loaded.

    Args:
        sha256: The hash the admin reviewed; refused if the file no longer has it.

    Raises:
        AdminRequired: No valid admin key (the attempt is audited by :class:`Safety`).
        PluginError: No such user plugin, a built-in one, or a file that changed since review.
    """
    _user_plugin(services, name)
    by = services.safety.require_admin(key, f"approving the {name} plugin", actor)
    services.plugins.reload(name)  # hash the file as it is now, not as it was at start-up
    rec = _user_plugin(services, name)
    if rec.sha256 is None:
        raise PluginError(
            f"{name}: {rec.error or 'its file cannot be read'}", "Fix the file, then approve it."
        )
    if sha256 is not None and sha256.strip().lower() != rec.sha256:
        services.audit.append(
            AuditKind.PLUGIN_APPROVAL_REFUSED,
            {"plugin": name, "sha256": rec.sha256, "expected": sha256},
            actor=actor,
            summary=f"plugin {name} NOT approved: its file changed since it was reviewed",
        )
        raise PluginError(
            f"{name}: the file's SHA-256 is {rec.sha256}, not the {sha256} you reviewed; nothing was approved.",
            "Read the file again, then approve its current hash.",
        )
    approvals = services.plugins.approvals
    assert approvals is not None
    approvals.approve(name, rec.sha256, by=by)
    services.audit.append(
        AuditKind.PLUGIN_APPROVED,
        {"plugin": name, "file": rec.path.name, "sha256": rec.sha256, "authorised_by": by},
        actor=actor,
        summary=f"plugin {name} approved ({rec.sha256[:12]})",
    )
    return services.plugins.reload(name)


def revoke_plugin(services: Services, name: str, *, key: str | None, actor: str) -> PluginRecord:
    """Withdraw the approval of the user plugin ``name`` (admin); audited; it stops running."""
    rec = _user_plugin(services, name)
    by = services.safety.require_admin(key, f"revoking the {name} plugin", actor)
    approvals = services.plugins.approvals
    assert approvals is not None
    had = approvals.revoke(name)
    services.audit.append(
        AuditKind.PLUGIN_REVOKED,
        {"plugin": name, "sha256": rec.sha256, "had_approval": had, "authorised_by": by},
        actor=actor,
        summary=f"plugin {name} approval revoked",
    )
    return services.plugins.reload(name)


def _user_plugin(services: Services, name: str) -> PluginRecord:
    rec = services.plugins.get(name)
    if rec is None:
        raise PluginError(f"No plugin called {name!r}.", "See `fame plugins` for the names.")
    if rec.builtin:
        raise PluginError(f"{name} is a built-in plugin; built-in plugins are trusted and need no approval.")
    return rec
