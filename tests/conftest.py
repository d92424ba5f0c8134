"""Fixtures shared by every test area."""

from __future__ import annotations

import signal
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

# pytest rewrites the asserts of every test module as it imports it and caches the result beside
# the module, unless bytecode writing is off (PYTHONDONTWRITEBYTECODE, set in many CI and sandboxed
# shells): then every worker of every run rewrites them all again (about 8 s of CPU a process).
# This turns writing on for this process only; the processes the tests start keep the environment.
sys.dont_write_bytecode = False

from fame_desktop.app import App, build_app  # noqa: E402 - after the line above, as it must be

# A run started in the background by a non-interactive shell (`.ci/run &`, a CI step's job) gets
# SIGINT ignored, and every command a test starts inherits that, so Ctrl-C tests would see `fame`
# shrug off Ctrl-C. A terminal's default comes back for the processes the tests start.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

REPO = Path(__file__).resolve().parents[1]

# tests/llm holds helpers every area uses (the tiny GGUF model, the fake OpenAI server).
sys.path.insert(0, str(Path(__file__).resolve().parent / "llm"))

from tiny_gguf import write_tiny_gguf  # noqa: E402 - found through the path entry above

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


@pytest.fixture(scope="session")
def tiny_gguf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny llama-architecture GGUF model (seed 0, about 0.5 MB) that llama.cpp loads and runs.

    Written once per session; copy it into ``<data dir>/llm_models`` (``install_tiny_model``) to
    make it the app's local model. Its output is gibberish, but streaming, stop sequences,
    grammars, chat templates and context limits are real llama.cpp.
    """
    return write_tiny_gguf(tmp_path_factory.mktemp("tiny-gguf") / "tiny-test-llama.gguf", seed=0)
