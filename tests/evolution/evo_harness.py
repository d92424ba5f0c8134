"""What the evolution tests share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fame_desktop.app import App
from fame_desktop.orchestrator.evolution.runner import EvolutionRunner


@dataclass
class Evo:
    """The app, its evolution runner, its data dir and a valid admin key."""

    app: App
    runner: EvolutionRunner
    data_dir: Path
    key: str
