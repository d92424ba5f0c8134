"""What every front end starts from: the domain services and the one Brain over them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from fame_desktop.orchestrator.audit import AuditLog
from fame_desktop.orchestrator.brain import Brain
from fame_desktop.orchestrator.events import EventBus
from fame_desktop.orchestrator.paths import DataPaths
from fame_desktop.orchestrator.safety import Safety
from fame_desktop.orchestrator.services import Services, build_services
from fame_desktop.orchestrator.settings import SettingsStore
from fame_desktop.orchestrator.voice.adapter import VoiceAdapter


@dataclass
class App:
    """The services, the Brain, and the admin key this process was given (if any)."""

    services: Services
    brain: Brain
    admin_key: str | None = None

    @property
    def paths(self) -> DataPaths:
        return self.services.paths

    @property
    def bus(self) -> EventBus:
        return self.services.bus

    @property
    def settings(self) -> SettingsStore:
        return self.services.settings

    @property
    def audit(self) -> AuditLog:
        return self.services.audit

    @property
    def safety(self) -> Safety:
        return self.services.safety

    @property
    def sandbox(self) -> Any:
        return self.services.sandbox

    async def aclose(self) -> None:
        """Stop the sandbox pool and close files."""
        await self.brain.aclose()


def build_app(data_dir: str | os.PathLike[str] | None = None, admin_key: str | None = None) -> App:
    """Build the services and the Brain (``admin_key`` defaults to ``$FAME_ADMIN_KEY``)."""
    services = build_services(data_dir)
    brain = Brain(services)
    # Voice needs the Brain to ask; its constructor does no I/O (models load on first use).
    services.voice = VoiceAdapter(
        services.settings, services.bus, brain.handle_query, models_dir=services.paths.models
    )
    return App(services=services, brain=brain, admin_key=admin_key or os.environ.get("FAME_ADMIN_KEY"))
