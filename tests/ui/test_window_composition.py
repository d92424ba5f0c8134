"""One composition root: the window, the API and the CLI built over one app share every part.

Each long-lived part is counted among the live objects before and after the three front ends are
built and used: exactly one new instance of each must exist, and it must be the app's. A front
end that built a part of its own (a second audit log, conversation store, promotion store,
metrics registry, voice adapter...) would leave two.
"""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import httpx
import pytest
from pytestqt.qtbot import QtBot

from fame_desktop.api.server import ApiServerHandle, create_api
from fame_desktop.app import build_app
from fame_desktop.cli import build_parser, run_command
from fame_desktop.orchestrator.audit import AuditLog
from fame_desktop.orchestrator.brain import Brain
from fame_desktop.orchestrator.codegen_service import CodeGenService
from fame_desktop.orchestrator.conversations import ConversationStore
from fame_desktop.orchestrator.evolution.runner import EvolutionRunner
from fame_desktop.orchestrator.evolution.store import PromotionStore
from fame_desktop.orchestrator.metrics import Metrics
from fame_desktop.orchestrator.plugin_loader import PluginManager
from fame_desktop.orchestrator.routing_feedback import RoutingFeedback
from fame_desktop.orchestrator.sandbox import DockerManager
from fame_desktop.orchestrator.services import Services
from fame_desktop.orchestrator.settings import SettingsStore
from fame_desktop.orchestrator.voice.adapter import VoiceAdapter
from fame_desktop.ui.qt_main_window import QtMainWindow

KINDS = (
    Services,
    Brain,
    AuditLog,
    SettingsStore,
    PluginManager,
    DockerManager,
    CodeGenService,
    PromotionStore,
    EvolutionRunner,
    Metrics,
    VoiceAdapter,
    ConversationStore,
    RoutingFeedback,
)


pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise")


def run_async(qtbot: QtBot, loop: asyncio.AbstractEventLoop, coro: object, timeout: int = 10_000) -> object:
    """conftest.run_async (not importable by name here: the voice tests have a conftest too)."""
    task = loop.create_task(coro)  # type: ignore[arg-type]
    qtbot.waitUntil(task.done, timeout=timeout)
    return task.result()


def _alive(kind: type) -> list[object]:
    gc.unfreeze()  # the window freezes what start-up loaded (qt_loop.freeze_long_lived): count it too
    gc.collect()
    return [o for o in gc.get_objects() if type(o) is kind]


def test_window_api_and_cli_share_one_object_graph(
    tmp_path: Path,
    qt_loop: asyncio.AbstractEventLoop,
    qtbot: QtBot,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = {kind: len(_alive(kind)) for kind in KINDS}
    app = build_app(tmp_path / "data")
    app.bus.bind_loop(qt_loop)
    key = app.safety.create_first_key(actor="test")
    window = QtMainWindow(app, qt_loop)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: not window.workers.active("startup"), timeout=30_000)
    # The background parts came up after the first paint, step by step in the status bar.
    qtbot.waitUntil(lambda: window.first_paint.painted_at is not None, timeout=10_000)
    assert window.first_paint.done
    qtbot.waitUntil(lambda: window.status_bar.startup.text() == "Ready", timeout=10_000)
    server = ApiServerHandle()
    try:
        # The API over HTTP: it answers from the window's Brain and reads the window's audit log.
        url = run_async(qtbot, qt_loop, server.start(app, host="127.0.0.1", port=0))

        async def ask_api() -> tuple[dict[str, object], list[dict[str, object]]]:
            async with httpx.AsyncClient(base_url=str(url), headers={"X-API-Key": key}) as client:
                answer = (await client.post("/query", json={"text": "what is 6 times 7"})).json()
                audit = (await client.get("/audit", params={"limit": 50})).json()
            return answer, audit

        answer, audit = run_async(qtbot, qt_loop, ask_api(), timeout=30_000)  # type: ignore[misc]
        assert answer["audit_id"] in {e["id"] for e in audit}

        # The CLI's subcommands over the same app, as `fame` runs them after building it.
        parser = build_parser()
        for argv in (["plugins", "--json"], ["audit", "--limit", "5", "--json"], ["evolve", "history"]):
            assert run_async(qtbot, qt_loop, run_command(parser.parse_args(argv), app)) == 0, argv
        run_async(qtbot, qt_loop, run_command(parser.parse_args(["voice", "status", "--json"]), app))
        assert '"query_completed"' in capsys.readouterr().out

        api = create_api(app)
        assert api.state.fame_metrics is app.services.metrics
        assert window.app is app and window.store is app.services.conversations
        services = app.services
        parts: dict[type, object] = {
            Services: services,
            Brain: app.brain,
            AuditLog: services.audit,
            SettingsStore: services.settings,
            PluginManager: services.plugins,
            DockerManager: services.sandbox,
            CodeGenService: services.codegen,
            PromotionStore: services.promotions,
            EvolutionRunner: services.evolution,
            Metrics: services.metrics,
            VoiceAdapter: services.voice,
            ConversationStore: services.conversations,
            RoutingFeedback: services.routing_feedback,
        }
        assert services.evolution.store is services.promotions
        for kind, part in parts.items():
            alive = _alive(kind)
            assert any(o is part for o in alive), kind
            assert len(alive) - before[kind] == 1, f"{kind.__name__}: {len(alive) - before[kind]} built"
    finally:
        run_async(qtbot, qt_loop, server.stop())
        window.close()
        run_async(qtbot, qt_loop, app.aclose(), timeout=30_000)
