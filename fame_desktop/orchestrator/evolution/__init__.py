"""Evolution cycles: breed candidate solutions, measure them in the sandbox, promote on approval.

The runner lives in :mod:`fame_desktop.orchestrator.evolution.runner` and is not imported here:
the code generation package reads :class:`PromotionStore` from this package, and the runner
imports code generation, so importing the runner here would make the two import each other.
"""

from __future__ import annotations

from fame_desktop.orchestrator.evolution.fitness import Fitness, Improvement, compare
from fame_desktop.orchestrator.evolution.store import PromotedVersion, PromotionStore

__all__ = ["Fitness", "Improvement", "PromotedVersion", "PromotionStore", "compare"]
