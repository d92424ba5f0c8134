"""The composition root of the domain: :func:`build_services` builds every long-lived part once.

The Brain calls it (``Brain()`` composes its own parts for the default data dir, as in the seed);
front ends get the Brain from :func:`fame_desktop.app.build_app` and share its one
:class:`Services`. Nothing else constructs these parts, and there are no module-level singletons.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fame_desktop import __version__
from fame_desktop.orchestrator.admin import AdminKeyStore
from fame_desktop.orchestrator.architecture_service import ArchitectureService
from fame_desktop.orchestrator.audit import AuditEntry, AuditLog
from fame_desktop.orchestrator.audit_kinds import AuditKind
from fame_desktop.orchestrator.codegen import ArchitectureKB, RecipeLibrary
from fame_desktop.orchestrator.codegen_service import REPAIR_BUDGET_S, CodeGenService, promoted_source
from fame_desktop.orchestrator.conversations import ConversationStore
from fame_desktop.orchestrator.events import AuditAppended, EventBus, SettingsChanged
from fame_desktop.orchestrator.evolution.runner import EvolutionRunner
from fame_desktop.orchestrator.evolution.store import PromotionStore
from fame_desktop.orchestrator.intent_training import IntentModelSource
from fame_desktop.orchestrator.llm.factory import LlmSource
from fame_desktop.orchestrator.llm.model_store import ModelStore
from fame_desktop.orchestrator.metrics import Metrics
from fame_desktop.orchestrator.paths import DataPaths, builtin_plugin_dir
from fame_desktop.orchestrator.plugin_api import PluginContext
from fame_desktop.orchestrator.plugin_approval import PluginApprovals
from fame_desktop.orchestrator.plugin_loader import PluginManager
from fame_desktop.orchestrator.routing_feedback import RoutingFeedback
from fame_desktop.orchestrator.safety import Safety
from fame_desktop.orchestrator.sandbox import DockerManager
from fame_desktop.orchestrator.secrets import SecretStore
from fame_desktop.orchestrator.settings import SettingsStore
from fame_desktop.orchestrator.voice.adapter import Ask, VoiceAdapter


@dataclass(frozen=True, eq=False)
class Services:
    """Every long-lived domain part, built once by :func:`build_services`."""

    paths: DataPaths
    bus: EventBus
    audit: AuditLog
    settings: SettingsStore
    keys: AdminKeyStore
    safety: Safety
    metrics: Metrics
    sandbox: DockerManager
    promotions: PromotionStore
    codegen: CodeGenService
    architecture: ArchitectureService
    evolution: EvolutionRunner
    voice: VoiceAdapter
    conversations: ConversationStore
    intent_models: IntentModelSource
    routing_feedback: RoutingFeedback
    plugins: PluginManager
    secrets: SecretStore
    #: The language model the settings choose (a callable); it keeps a loaded local model.
    llm: LlmSource
    models: ModelStore
    started_at: float = field(default_factory=time.time)

    def user_plugin_dir(self) -> Path:
        """The user's plugin folder (setting, else ``<data dir>/plugins``)."""
        return user_plugin_dir(self.settings, self.paths)

    def status(self) -> dict[str, Any]:
        """What ``system_info``, the status bar and ``GET /health`` show."""
        records = self.plugins.records()
        return {
            "version": __version__,
            "network": bool(self.settings.settings.network.allow_network),
            "docker": dict(self.sandbox.status()),
            "voice": dict(self.voice.status()),
            "llm": self.llm.status(),
            "plugins": {
                "loaded": [r.name for r in records if r.status == "loaded"],
                "failed": {r.name: r.error for r in records if r.status == "failed"},
                "disabled": [r.name for r in records if r.status == "disabled"],
                "awaiting_approval": [r.name for r in records if r.status == "awaiting_approval"],
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
        self.llm.close()
        self.metrics.close()
        self.conversations.close()
        self.routing_feedback.close()
        self.audit.close()


def user_plugin_dir(settings: SettingsStore, paths: DataPaths) -> Path:
    """The user's plugin folder (setting, else ``<data dir>/plugins``)."""
    folder = settings.settings.plugins.user_folder
    return Path(folder).expanduser() if folder else paths.plugins


def plugin_context(name: str, services: Services) -> PluginContext:
    """The :class:`PluginContext` handed to plugin ``name``'s ``init`` (the one place it is made)."""
    return PluginContext(
        name=name,
        get_setting=services.settings.get,
        publish_event=services.bus.publish,
        list_plugins=lambda: [r.to_dict() for r in services.plugins.records()],
        status=services.status,
        codegen=services.codegen,
        architecture=services.architecture,
        sandbox=services.sandbox,
        evolution=services.evolution,
        llm=services.llm,
    )


def build_services(
    data_dir: str | os.PathLike[str] | None = None, *, ask: Ask, bus: EventBus | None = None
) -> Services:
    """Build every long-lived part for the data dir (``--data-dir``, ``$FAME_HOME`` or the default).

    Parts are built in dependency order and each gets only what it uses. Constructors do no
    slow work: the recipe library, the sandbox pool and the voice models load on first use.

    Args:
        data_dir: The data dir (default: ``$FAME_HOME`` or the platform's).
        ask: The Brain's ``handle_query``: what the voice adapter asks.
        bus: The event bus (default: a new one).
    """
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
            AuditKind.SETTINGS_PROBLEM,
            {"problem": settings.load_problem},
            actor="system",
            summary="settings file was invalid; defaults used",
        )
    keys = AdminKeyStore(paths.admin_keys)
    safety = Safety(keys, settings, bus, audit.append)
    metrics = Metrics(bus, audit_entries=len(audit))
    sandbox = DockerManager(
        lambda: settings.settings.sandbox,
        lambda: settings.settings.network.allow_network,
        bus.publish,
        audit.append,
    )
    secrets = SecretStore(paths.secrets)
    # Chosen from the settings at every use; it keeps the loaded local model between uses.
    llm = LlmSource(settings, secrets, bus.publish, paths.llm_models)
    promotions = PromotionStore(paths.evolution)
    codegen = CodeGenService(
        lambda: RecipeLibrary.load(strict=False),
        sandbox,
        llm=llm,
        max_repairs=lambda: int(settings.settings.llm.max_repair_attempts),
        promoted=promoted_source(promotions),
        time_budget_s=REPAIR_BUDGET_S,
    )
    evolution = EvolutionRunner(
        store=promotions,
        library=lambda: codegen.library,
        sandbox=sandbox,
        settings=settings,
        audit=audit,
        bus=bus,
        safety=safety,
        llm=llm,
    )
    # Voice's constructor does no I/O: models load and the microphone opens on first use.
    voice = VoiceAdapter(settings, bus, ask, models_dir=paths.models)
    conversations = ConversationStore(paths.conversations_db)
    # Both open their files on first use.
    intent_models = IntentModelSource(paths.routing)
    routing_feedback = RoutingFeedback(paths.routing / "feedback.sqlite3")
    # The catalog is read on first use; models are files found when listed.
    models = ModelStore(
        models_dir=paths.llm_models, settings=settings, safety=safety, audit=audit.append, bus=bus
    )

    paths.plugins.mkdir(parents=True, exist_ok=True)
    folders = [builtin_plugin_dir(), user_plugin_dir(settings, paths)]
    # A plugin's context lists the plugins and reports the status of every part, the plugins
    # included, so it can only be made once all of them exist: the manager calls this when a
    # plugin loads (at Brain.start), never while the parts are being built.
    plugins = PluginManager(
        folders,
        lambda name: plugin_context(name, services),
        bus,
        disabled=settings.settings.plugins.disabled,
        approvals=PluginApprovals(paths.plugin_approvals, SecretStore(paths.secrets)),
        audit=audit.append,
        private_paths=[paths.root],
    )
    # A plugin host may open TCP sockets only while the network is on, fixed when it starts.
    bus.subscribe(
        SettingsChanged,
        lambda event: plugins.restart_hosts() if "network.allow_network" in event.changes else None,
    )
    services = Services(
        paths=paths,
        bus=bus,
        audit=audit,
        settings=settings,
        keys=keys,
        safety=safety,
        metrics=metrics,
        sandbox=sandbox,
        promotions=promotions,
        codegen=codegen,
        architecture=ArchitectureService(ArchitectureKB.load(), llm=llm),
        evolution=evolution,
        voice=voice,
        conversations=conversations,
        intent_models=intent_models,
        routing_feedback=routing_feedback,
        plugins=plugins,
        secrets=secrets,
        llm=llm,
        models=models,
    )
    return services
