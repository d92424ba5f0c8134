"""evolution_engine: the admin-only entry to the evolution cycle (breeding better solutions)."""

from __future__ import annotations

from typing import Any

from fame_plugin_api import HostSlot, PluginHost, ServiceUnavailable, error_result

PLUGIN = {
    "schema_version": 1,
    "name": "evolution_engine",
    "version": "1.0.0",
    "description": "Admin only: run an evolution cycle that breeds and tests better solutions for a task.",
    "intents": {
        "evolution": [
            "evolve a faster fibonacci function",
            "run an evolution cycle",
            "start evolution for the sorting task",
            "breed better solutions for string reversal",
            "optimise this solution with a genetic algorithm",
            "run the evolution engine for 5 generations",
            "self-improve the prime checker",
            "evolve code for the fizzbuzz task with population 20",
        ],
    },
    "keywords": {
        "evolution": [
            "evolve",
            "evolving",
            "evolved",
            "evolution",
            "use evolution",
            "evolutionary optimization",
            "evolutionary optimisation",
            "genetic",
            "genetic improvement",
            "candidate implementations",
            "better versions",
            "mutate and select",
            "natural selection",
            "evolutionary",
            "evolution cycle",
            "breed",
            "genetic algorithm",
            "generations",
            "generation",
            "population",
            "mutate",
            "mutation",
            "crossover",
            "fitness",
            "self-improve",
            "self improve",
            "optimise solutions",
            "optimize solutions",
        ],
    },
    "needs_network": False,
    "admin_only": True,
    "timeout_seconds": 600,
}

_HOST = HostSlot("evolution_engine")


def init(manager: PluginHost) -> None:
    """Keep the plugin context; evolution cycles are one of its tasks."""
    _HOST.set(manager)


async def handle(request: dict[str, Any]) -> dict[str, Any]:
    """Start an evolution cycle for the request, or say clearly that this build has none."""
    try:
        return await _HOST.get().run_evolution(request)
    except ServiceUnavailable:
        return error_result(
            "not_available",
            "Evolution cycles are not available in this build yet. "
            "They arrive with the evolution engine; code generation works meanwhile.",
        )
