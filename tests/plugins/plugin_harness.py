"""Drives a built-in plugin through its real ``init`` + ``handle`` contract (used by the plugin tests)."""

from __future__ import annotations

import importlib.util
import inspect
import itertools
from pathlib import Path
from types import ModuleType
from typing import Any

from fame_desktop.orchestrator.events import Event, EventBus
from fame_desktop.orchestrator.plugin_api import PluginContext
from fame_desktop.orchestrator.settings import SettingsStore

CORE = Path(__file__).resolve().parents[2] / "core"
_counter = itertools.count()


class Harness:
    """One plugin, freshly imported from ``core/`` and initialised with a real context."""

    def __init__(self, name: str, store: SettingsStore, **context: Any) -> None:
        self.store = store
        self.events: list[Event] = []
        bus = EventBus()
        bus.subscribe(Event, self.events.append)
        self.context = PluginContext(
            name=name,
            get_setting=store.get,
            publish_event=bus.publish,
            list_plugins=context.pop("list_plugins", list),
            status=context.pop("status", dict),
            **context,
        )
        path = CORE / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"fame_test_plugin_{name}_{next(_counter)}", path)
        assert spec is not None and spec.loader is not None
        self.module: ModuleType = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.module)
        init = getattr(self.module, "init", None)
        if init is not None:
            init(self.context)

    def settings(self, **changes: Any) -> None:
        """Change settings as an admin (keys use ``__`` for dots: ``network__allow_network``)."""
        self.store.update({k.replace("__", "."): v for k, v in changes.items()}, admin=True)

    async def ask(self, text: str, intent: str | None = None, **extra: Any) -> dict[str, Any]:
        """Call ``handle`` the way the Brain does and return its result dict."""
        request = {
            "id": f"q-{next(_counter)}",
            "text": text,
            "intent": intent,
            "user": "tester",
            "source": "test",
            "confidence": 1.0,
            **extra,
        }
        result = self.module.handle(request)
        if inspect.isawaitable(result):
            result = await result
        assert isinstance(result, dict)
        assert isinstance(result["response"], str) and result["response"]
        return result
