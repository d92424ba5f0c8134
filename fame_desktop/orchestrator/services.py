"""The composition root of the domain: :func:`build_services` builds every long-lived part once.

The Brain calls it (``Brain()`` composes its own parts for the default data dir, as in the seed);
front ends get the Brain from :func:`fame_desktop.app.build_app` and share its one
:class:`Services`. Nothing else constructs these parts, and there are no module-level singletons.

What every query needs (settings, audit log, safety, plugins, routing) is built at once; the parts
only some commands use (the sandbox and its Docker SDK, code generation, evolution, voice, the
conversation store, the local model store) are declared here as :class:`~fame_desktop.orchestrator.lazy.Lazy` and built,
their modules imported, the first time someone reads them: ``fame ask "what is 2+2"`` never pays
for them, and the window brings them up after its first paint.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fame_desktop import __version__
from fame_desktop.orchestrator.admin import AdminKeyStore
from fame_desktop.orchestrator.audit import AuditEntry, AuditLog
from fame_desktop.orchestrator.audit_batch import LoopAuditBatch
from fame_desktop.orchestrator.audit_kinds import AuditKind
from fame_desktop.orchestrator.events import AuditAppended, EventBus, SettingsChanged
from fame_desktop.orchestrator.intent_training import IntentModelSource
from fame_desktop.orchestrator.lazy import Lazy
from fame_desktop.orchestrator.llm.factory import LlmSource
from fame_desktop.orchestrator.metrics import Metrics
from fame_desktop.orchestrator.paths import DataPaths, builtin_plugin_dir
from fame_desktop.orchestrator.plugin_api import PluginContext
from fame_desktop.orchestrator.plugin_approval import PluginApprovals
from fame_desktop.orchestrator.plugin_loader import PluginManager
from fame_desktop.orchestrator.routing_feedback import RoutingFeedback
from fame_desktop.orchestrator.safety import Safety
from fame_desktop.orchestrator.secrets import SecretStore
from fame_desktop.orchestrator.settings import SettingsStore

if TYPE_CHECKING:
    from fame_desktop.orchestrator.architecture_service import ArchitectureService
    from fame_desktop.orchestrator.codegen_service import CodeGenService
    from fame_desktop.orchestrator.conversations import ConversationStore
    from fame_desktop.orchestrator.evolution.runner import EvolutionRunner
    from fame_desktop.orchestrator.evolution.store import PromotionStore
    from fame_desktop.orchestrator.llm.model_store import ModelStore
    from fame_desktop.orchestrator.sandbox import Sandbox
    from fame_desktop.orchestrator.voice.adapter import Ask, VoiceAdapter


@dataclass(frozen=True, eq=False)
class LazyParts:
    """The parts built on first use (see the module's docstring), each held by a :class:`Lazy`."""

    sandbox: Lazy[Sandbox]
    promotions: Lazy[PromotionStore]
    codegen: Lazy[CodeGenService]
    architecture: Lazy[ArchitectureService]
    evolution: Lazy[EvolutionRunner]
    voice: Lazy[VoiceAdapter]
    conversations: Lazy[ConversationStore]
    models: Lazy[ModelStore]


@dataclass(frozen=True, eq=False)
class Services:
    """Every long-lived domain part, built once by :func:`build_services`."""

    paths: DataPaths
    bus: EventBus
    audit: AuditLog
    settings: SettingsStore
    #: Group commit on the event loop for the hot paths (a query's entries, the API's rows).
    audit_batch: LoopAuditBatch
    keys: AdminKeyStore
    safety: Safety
    metrics: Metrics
    intent_models: IntentModelSource
    routing_feedback: RoutingFeedback
    plugins: PluginManager
    secrets: SecretStore
    #: The language model the settings choose (a callable); it keeps a loaded local model.
    llm: LlmSource
    lazy: LazyParts
    started_at: float = field(default_factory=time.time)

    @property
    def sandbox(self) -> Sandbox:
        """The sandbox backend ``sandbox.backend`` chose (built, and the Docker SDK imported, on
        first use)."""
        return self.lazy.sandbox.get()

    @property
    def promotions(self) -> PromotionStore:
        """Evolution's promoted solutions."""
        return self.lazy.promotions.get()

    @property
    def codegen(self) -> CodeGenService:
        """Code generation (tested in the sandbox)."""
        return self.lazy.codegen.get()

    @property
    def architecture(self) -> ArchitectureService:
        """Architecture advice: the knowledge base (its file is read on first use) and the model."""
        return self.lazy.architecture.get()

    @property
    def evolution(self) -> EvolutionRunner:
        """The evolution runner."""
        return self.lazy.evolution.get()

    @property
    def voice(self) -> VoiceAdapter:
        """Voice input and output."""
        return self.lazy.voice.get()

    @property
    def conversations(self) -> ConversationStore:
        """The window's saved conversations."""
        return self.lazy.conversations.get()

    @property
    def models(self) -> ModelStore:
        """The installed and downloadable local language models (their catalog is read on first use)."""
        return self.lazy.models.get()

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
        conversations = self.lazy.conversations.peek()
        if conversations is not None:
            conversations.close()
        self.routing_feedback.close()
        self.audit_batch.close()
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
        codegen=services.lazy.codegen.get,
        architecture=services.lazy.architecture.get,
        sandbox=services.lazy.sandbox.get,
        evolution=services.lazy.evolution.get,
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
    secrets = SecretStore(paths.secrets)
    # Chosen from the settings at every use; it keeps the loaded local model between uses.
    llm = LlmSource(settings, secrets, bus.publish, paths.llm_models)
    lazy = _lazy_parts(paths, bus, audit, settings, safety, llm, ask)
    # Both open their files on first use.
    intent_models = IntentModelSource(paths.routing)
    routing_feedback = RoutingFeedback(paths.routing / "feedback.sqlite3")
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
        audit_batch=LoopAuditBatch(audit),
        keys=keys,
        safety=safety,
        metrics=metrics,
        intent_models=intent_models,
        routing_feedback=routing_feedback,
        plugins=plugins,
        secrets=secrets,
        llm=llm,
        lazy=lazy,
    )
    return services


def _lazy_parts(
    paths: DataPaths,
    bus: EventBus,
    audit: AuditLog,
    settings: SettingsStore,
    safety: Safety,
    llm: LlmSource,
    ask: Ask,
) -> LazyParts:
    """Declare the parts built on first use, in dependency order (each builder asks for the
    parts it needs, which builds them first).

    Their modules are imported inside the builders: that is the point (the Docker SDK, code
    generation, evolution and voice cost most of a one-shot command's start-up), not a way
    around an import cycle.
    """

    def sandbox() -> Sandbox:
        # The backend is chosen once, when the sandbox is first used: switching it takes effect
        # at the next start (runs in flight must not move between engines).
        if settings.settings.sandbox.backend == "swarm":
            from fame_desktop.orchestrator.sandbox.swarm_backend import SwarmSandbox

            return SwarmSandbox(
                lambda: settings.settings.sandbox,
                lambda: settings.settings.network.allow_network,
                bus.publish,
                audit.append,
            )
        from fame_desktop.orchestrator.sandbox import DockerManager

        return DockerManager(
            lambda: settings.settings.sandbox,
            lambda: settings.settings.network.allow_network,
            bus.publish,
            audit.append,
            pool_memory=paths.sandbox_pool,
        )

    def promotions() -> PromotionStore:
        from fame_desktop.orchestrator.evolution.store import PromotionStore

        return PromotionStore(paths.evolution)

    def codegen() -> CodeGenService:
        from fame_desktop.orchestrator.codegen import RecipeLibrary
        from fame_desktop.orchestrator.codegen_service import (
            REPAIR_BUDGET_S,
            CodeGenService,
            promoted_source,
        )

        return CodeGenService(
            lambda: RecipeLibrary.load(strict=False),
            parts.sandbox.get(),
            llm=llm,
            max_repairs=lambda: int(settings.settings.llm.max_repair_attempts),
            promoted=promoted_source(parts.promotions.get()),
            time_budget_s=REPAIR_BUDGET_S,
        )

    def architecture() -> ArchitectureService:
        from fame_desktop.orchestrator.architecture_service import ArchitectureService
        from fame_desktop.orchestrator.codegen import ArchitectureKB

        return ArchitectureService(ArchitectureKB.load(), llm=llm)

    def evolution() -> EvolutionRunner:
        from fame_desktop.orchestrator.evolution.runner import EvolutionRunner

        generator = parts.codegen.get()
        return EvolutionRunner(
            store=parts.promotions.get(),
            library=lambda: generator.library,
            sandbox=parts.sandbox.get(),
            settings=settings,
            audit=audit,
            bus=bus,
            safety=safety,
            llm=llm,
        )

    def voice() -> VoiceAdapter:
        from fame_desktop.orchestrator.voice.adapter import VoiceAdapter

        # Its constructor does no I/O either: models load and the microphone opens on first use.
        return VoiceAdapter(settings, bus, ask, models_dir=paths.models)

    def conversations() -> ConversationStore:
        from fame_desktop.orchestrator.conversations import ConversationStore

        return ConversationStore(paths.conversations_db)

    def models() -> ModelStore:
        from fame_desktop.orchestrator.llm.model_store import ModelStore

        # The catalog is read on first use; models are files found when listed.
        return ModelStore(
            models_dir=paths.llm_models, settings=settings, safety=safety, audit=audit.append, bus=bus
        )

    parts = LazyParts(
        sandbox=Lazy("sandbox", sandbox),
        promotions=Lazy("promotions", promotions),
        codegen=Lazy("codegen", codegen),
        architecture=Lazy("architecture", architecture),
        evolution=Lazy("evolution", evolution),
        voice=Lazy("voice", voice),
        conversations=Lazy("conversations", conversations),
        models=Lazy("models", models),
    )
    return parts
