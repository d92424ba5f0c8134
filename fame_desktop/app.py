"""What every front end starts from: the one Brain, the services it composed, and the admin key."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fame_desktop.orchestrator.audit import AuditLog
from fame_desktop.orchestrator.brain import Brain
from fame_desktop.orchestrator.events import EventBus
from fame_desktop.orchestrator.paths import DataPaths
from fame_desktop.orchestrator.safety import Safety
from fame_desktop.orchestrator.services import Services
from fame_desktop.orchestrator.settings import SettingsStore

if TYPE_CHECKING:
    from fame_desktop.orchestrator.llm.model_store import ModelStore
    from fame_desktop.orchestrator.sandbox import Sandbox
    from fame_desktop.orchestrator.voice.adapter import VoiceAdapter


@dataclass(eq=False)
class App:
    """The Brain and its services (one object graph), and the admin key this process was given."""

    brain: Brain
    admin_key: str | None = None

    @property
    def services(self) -> Services:
        return self.brain.services

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
    def sandbox(self) -> Sandbox:
        return self.services.sandbox

    @property
    def voice(self) -> VoiceAdapter:
        return self.services.voice

    @property
    def models(self) -> ModelStore:
        return self.services.models

    async def aclose(self) -> None:
        """Stop voice and the sandbox pool, and close files."""
        await self.brain.aclose()


def build_app(data_dir: str | os.PathLike[str] | None = None, admin_key: str | None = None) -> App:
    """The Brain over the data dir, with every part composed once (``admin_key``: ``$FAME_ADMIN_KEY``)."""
    return App(brain=Brain(data_dir), admin_key=admin_key or os.environ.get("FAME_ADMIN_KEY"))
