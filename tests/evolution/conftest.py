"""Fixtures for the evolution tests: a real app over a fresh data dir and its first admin key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from evo_harness import Evo

from fame_desktop.app import build_app
from fame_desktop.orchestrator.evolution.runner import EvolutionRunner


@pytest.fixture
async def evo(data_dir: Path) -> AsyncIterator[Evo]:
    """A real app (plugins loaded, sandbox pool warming) with an admin key created."""
    app = build_app(data_dir)
    await app.brain.start()
    key = app.safety.create_first_key(actor="test")
    runner = app.services.evolution
    assert isinstance(runner, EvolutionRunner)
    yield Evo(app, runner, data_dir, key)
    await app.aclose()
