"""Fixtures shared by every test area."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from fame_desktop.app import App, build_app

REPO = Path(__file__).resolve().parents[1]

# Fixtures that start or need an outside service, and the marker a test using them (directly or
# through another fixture) must carry, so `scripts/test.sh --fast` leaves it out even when its
# module forgot the mark.
SERVICE_FIXTURES = {"engine_ready": pytest.mark.docker, "pulse": pytest.mark.audio}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that use a service fixture with that service's marker."""
    for item in items:
        used = getattr(item, "fixturenames", ())
        for fixture, mark in SERVICE_FIXTURES.items():
            if fixture in used:
                item.add_marker(mark)


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """No test touches the user's real data dir or admin key."""
    monkeypatch.setenv("FAME_HOME", str(tmp_path_factory.mktemp("fame-home")))
    monkeypatch.delenv("FAME_ADMIN_KEY", raising=False)
    yield


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh data dir."""
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture
async def app(data_dir: Path) -> AsyncIterator[App]:
    """A real app (services + Brain) over a fresh data dir, plugins loaded, no sandbox pool."""
    application = build_app(data_dir)
    await application.brain.start()
    yield application
    await application.aclose()
