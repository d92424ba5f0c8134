"""Fixtures for the built-in plugin tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from plugin_harness import Harness

from fame_desktop.orchestrator.settings import SettingsStore


@pytest.fixture
def store(tmp_path: Path) -> SettingsStore:
    """A real settings store in a temp dir (network off, capabilities off: the defaults)."""
    return SettingsStore(tmp_path / "settings.json")


@pytest.fixture
def plugin(store: SettingsStore) -> Callable[..., Harness]:
    """Factory: ``plugin("calculator", status=..., list_plugins=...)``."""

    def make(name: str, **context: Any) -> Harness:
        return Harness(name, store, **context)

    return make
