"""Evolution cycles: breed candidate solutions, measure them in the sandbox, promote on approval.

The package's root exports what code generation reads (the :class:`PromotionStore` of approved
versions) and the fitness measures; the cycle itself is
:class:`fame_desktop.orchestrator.evolution.runner.EvolutionRunner`, built by the composition root.
"""

from __future__ import annotations

from fame_desktop.orchestrator.evolution.fitness import Fitness, Improvement, compare
from fame_desktop.orchestrator.evolution.store import PromotedVersion, PromotionStore

__all__ = ["Fitness", "Improvement", "PromotedVersion", "PromotionStore", "compare"]
