"""The seed's ``orchestrator.evolution_runner`` path: ``EvolutionRunner(brain).run_generation(...)``."""

from __future__ import annotations

from fame_desktop.orchestrator.brain import Brain
from fame_desktop.orchestrator.evolution.runner import EvolutionRunner as _Runner

__all__ = ["EvolutionRunner"]


def EvolutionRunner(brain: Brain) -> _Runner:
    """The evolution runner of ``brain`` (built once by the composition root, shared by every caller)."""
    return brain.services.evolution
