"""A missing sandbox image is prepared from the window, with progress, against the real engine."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import docker
import pytest
from pytestqt.qtbot import QtBot

from fame_desktop.app import App
from fame_desktop.orchestrator.events import SandboxImageProgress
from fame_desktop.ui.qt_main_window import QtMainWindow

pytestmark = [
    pytest.mark.gui,
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise"),
]

BASE = "fame-sandbox-base:bookworm"  # the local base scripts/build_sandbox_image.sh made


@pytest.fixture
def missing_image() -> Iterator[str]:
    """A sandbox image tag that does not exist yet; removed afterwards."""
    tag = f"fame-sandbox-uitest:{uuid.uuid4().hex[:8]}"
    yield tag
    client = docker.from_env()
    try:
        client.images.remove(tag, force=True)
    except docker.errors.ImageNotFound:
        pass
    finally:
        client.close()


def test_prepare_image_button_builds_the_missing_image_with_progress(
    qtbot: QtBot, window: QtMainWindow, fame_app: App, missing_image: str
) -> None:
    fame_app.settings.update({"sandbox.image": missing_image, "sandbox.base_image": BASE}, admin=True)
    pane = window.sandbox
    qtbot.waitUntil(lambda: pane.prepare_button.isVisible(), timeout=20_000)
    assert "missing" in pane.engine.text()
    pane.prepare_button.click()
    qtbot.waitUntil(lambda: not pane._workers.active("sandbox-image"), timeout=180_000)
    stages = [e.stage for e in fame_app.bus.history(SandboxImageProgress)]
    assert "build" in stages and stages[-1] == "done", stages
    assert max(e.fraction for e in fame_app.bus.history(SandboxImageProgress)) == 1.0
    qtbot.waitUntil(lambda: f"image {missing_image}" in pane.engine.text(), timeout=20_000)
    assert not pane.prepare_button.isVisible()
    assert fame_app.sandbox.status()["available"]
