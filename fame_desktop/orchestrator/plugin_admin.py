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
