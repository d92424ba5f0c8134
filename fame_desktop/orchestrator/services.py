"""The composition root of the domain: builds every service once and wires them together.

Front ends (window, CLI, API) call :func:`build_services` and pass the result on; nothing else
constructs services, and there are no module-level singletons.
"""

from __future__ import annotations

import logging
import os
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fame_desktop import __version__
from fame_desktop.orchestrator.admin import AdminKeyStore
from fame_desktop.orchestrator.audit import AuditEntry, AuditLog
from fame_desktop.orchestrator.events import AuditAppended, EventBus, SettingsChanged
from fame_desktop.orchestrator.metrics import Metrics
from fame_desktop.orchestrator.paths import DataPaths, builtin_plugin_dir
from fame_desktop.orchestrator.plugin_api import PluginContext
from fame_desktop.orchestrator.plugin_loader import PluginManager
from fame_desktop.orchestrator.safety import Safety
from fame_desktop.orchestrator.settings import SettingsStore

log = logging.getLogger("fame.services")


@dataclass
class Services:
    """Every domain service, built once."""

    paths: DataPaths
    bus: EventBus
    settings: SettingsStore
    audit: AuditLog
    keys: AdminKeyStore
    safety: Safety
    plugins: PluginManager
    sandbox: Any = None
    codegen: Any = None
    architecture: Any = None
    evolution: Any = None
    voice: Any = None
    metrics: Metrics | None = None
    started_at: float = field(default_factory=time.time)

    def user_plugin_dir(self) -> Path:
        """The user's plugin folder (setting, else ``<data dir>/plugins``)."""
        folder = self.settings.settings.plugins.user_folder
        return Path(folder).expanduser() if folder else self.paths.plugins

    def status(self) -> dict[str, Any]:
        """What ``system_info``, the status bar and ``GET /health`` show."""
        sandbox: dict[str, Any] = {
            "available": False,
            "backend": "none",
            "image": "",
            "detail": "not started",
        }
        if self.sandbox is not None:
            sandbox = dict(self.sandbox.status())
        voice: dict[str, Any] = {"available": False, "detail": "voice not set up"}
        if self.voice is not None:
            voice = dict(self.voice.status())
        records = self.plugins.records()
        return {
            "version": __version__,
            "network": bool(self.settings.settings.network.allow_network),
            "docker": sandbox,
            "voice": voice,
            "plugins": {
                "loaded": [r.name for r in records if r.status == "loaded"],
                "failed": {r.name: r.error for r in records if r.status == "failed"},
                "disabled": [r.name for r in records if r.status == "disabled"],
            },
            "admin_unlocked": self.safety.unlocked,
            "data_dir": str(self.paths.root),
            "uptime_s": round(time.time() - self.started_at, 1),
            "memory_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "pid": os.getpid(),
        }

    def close(self) -> None:
        """Release files and threads."""
        self.plugins.close()
        if self.metrics is not None:
            self.metrics.close()
        self.audit.close()


def build_services(
    data_dir: str | os.PathLike[str] | None = None, *, bus: EventBus | None = None
) -> Services:
    """Build the domain services for the data dir (``--data-dir``, ``$FAME_HOME`` or the default)."""
    paths = DataPaths.resolve(data_dir)
    bus = bus or EventBus()

    def on_audit(entry: AuditEntry) -> None:
        bus.publish(AuditAppended(entry_id=entry.id, kind=entry.kind, summary=entry.summary))

    audit = AuditLog(paths.audit_db, on_append=on_audit)
    settings = SettingsStore(
        paths.settings, on_change=lambda changes: bus.publish(SettingsChanged(changes=changes))
    )
    if settings.load_problem:
        audit.append(
            "settings_problem",
            {"problem": settings.load_problem},
            actor="system",
            summary="settings file was invalid; defaults used",
        )
    keys = AdminKeyStore(paths.admin_keys)
    safety = Safety(keys, settings, bus, audit.append)
    holder: dict[str, Services] = {}

    def context_factory(name: str) -> PluginContext:
        services = holder["services"]
        return PluginContext(
            name=name,
            get_setting=settings.get,
            publish_event=bus.publish,
            list_plugins=lambda: [r.to_dict() for r in services.plugins.records()],
            status=services.status,
            codegen=services.codegen,
            architecture=services.architecture,
            sandbox=services.sandbox,
            evolution=services.evolution,
        )

    paths.plugins.mkdir(parents=True, exist_ok=True)
    user_folder = settings.settings.plugins.user_folder
    folders = [builtin_plugin_dir(), Path(user_folder).expanduser() if user_folder else paths.plugins]
    plugins = PluginManager(folders, context_factory, bus, disabled=settings.settings.plugins.disabled)
    services = Services(
        paths=paths, bus=bus, settings=settings, audit=audit, keys=keys, safety=safety, plugins=plugins
    )
    holder["services"] = services
    services.metrics = Metrics(bus, audit_entries=len(audit))
    _attach_optional(services)
    return services


def _attach_optional(services: Services) -> None:
    """Build the services that come from their own subsystems (sandbox, code generation, evolution)."""
    from fame_desktop.orchestrator.codegen_service import build_codegen
    from fame_desktop.orchestrator.sandbox import build_sandbox

    services.sandbox = build_sandbox(services)
    services.codegen, services.architecture = build_codegen(services)
    try:
        from fame_desktop.orchestrator.evolution.runner import build_evolution
    except ModuleNotFoundError as exc:  # TEMPORARY until the evolution runner lands
        if exc.name != "fame_desktop.orchestrator.evolution.runner":
            raise
        return
    services.evolution = build_evolution(services)
