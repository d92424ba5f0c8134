"""The seed's ``orchestrator.evolution_runner`` path: ``EvolutionRunner(brain).run_generation(...)``."""

from __future__ import annotations

from fame_desktop.orchestrator.evolution.runner import EvolutionRunner

__all__ = ["EvolutionRunner"]
