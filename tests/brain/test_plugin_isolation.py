"""Broken plugins are isolated and reported; everything else keeps answering."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest
from plugin_trust import approve_plugins

from fame_desktop.app import App, build_app
from fame_desktop.orchestrator.errors import PluginError
from fame_desktop.orchestrator.events import EventBus, PluginFailed
from fame_desktop.orchestrator.plugin_api import PluginContext
from fame_desktop.orchestrator.plugin_loader import PluginManager, load_plugins

GOOD_HEADER = 'PLUGIN = {{"name": "{name}", "version": "1.0", "description": "Test plugin.", "intents": {{"chat": ["{name}"]}}{extra}}}\n'

FAULTY = {
    "syntax_error": GOOD_HEADER.format(name="syntax_error", extra="") + "def handle(request:\n",
    "import_boom": GOOD_HEADER.format(name="import_boom", extra="")
    + "raise RuntimeError('boom at import')\ndef handle(r): return {}\n",
    "exits_at_import": GOOD_HEADER.format(name="exits_at_import", extra="") + "import sys\nsys.exit(3)\n",
    "no_handle": GOOD_HEADER.format(name="no_handle", extra=""),
    "no_manifest": "def handle(request):\n    return {'response': 'x'}\n",
    "bad_manifest": 'PLUGIN = {"name": "Bad Name!", "version": "x"}\ndef handle(r): return {}\n',
    "hangs_at_import": GOOD_HEADER.format(name="hangs_at_import", extra=', "timeout_seconds": 1')
    + "import time\ntime.sleep(60)\ndef handle(r): return {}\n",
}

CALL_FAULTS = {
    "raises": "def handle(request):\n    raise ValueError('plugin bug')\n",
    "hangs": "import time\ndef handle(request):\n    time.sleep(30)\n    return {'response': 'late'}\n",
    "junk": "def handle(request):\n    return ['not', 'a', 'dict']\n",
    "no_text": "def handle(request):\n    return {'data': 1}\n",
    "not_json": "def handle(request):\n    return {'response': 'x', 'data': {'f': object()}}\n",
}


def _write_faulty(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in FAULTY.items():
        (folder / f"{name}.py").write_text(body)
    for name, body in CALL_FAULTS.items():
        extra = ', "timeout_seconds": 1' if name == "hangs" else ""
        (folder / f"{name}.py").write_text(GOOD_HEADER.format(name=name, extra=extra) + body)
    approve_plugins(folder.parent)


async def test_load_failures_are_reported_with_reasons(data_dir: Path) -> None:
    _write_faulty(data_dir / "plugins")
    app = build_app(data_dir)
    failed: list[PluginFailed] = []
    app.bus.subscribe(PluginFailed, failed.append)
    started = time.monotonic()
    await app.brain.start()
    took = time.monotonic() - started
    try:
        records = {r.path.stem: r for r in app.services.plugins.records()}
        for name in FAULTY:
            assert records[name].status == "failed", name
        assert "syntax error on line" in (records["syntax_error"].error or "")
        assert "boom at import" in (records["import_boom"].error or "")
        assert "SystemExit" in (records["exits_at_import"].error or "")
        assert "no handle(request)" in (records["no_handle"].error or "")
        assert "no module-level PLUGIN" in (records["no_manifest"].error or "")
        assert "lower_snake_case" in (records["bad_manifest"].error or "")
        assert "did not finish" in (records["hangs_at_import"].error or "")
        assert {e.path for e in failed} >= {str(records[n].path) for n in FAULTY}
        assert took < 15, "a hanging import must not stall start-up for long"
        # The built-ins still work.
        response = await app.brain.handle_query({"text": "what is 3 * 3"})
        assert "9" in response["response"] and response["error"] is None
    finally:
        await app.aclose()


async def test_call_failures_are_isolated(data_dir: Path) -> None:
    # One app holds every faulty plugin (each in its own host process), as a user's would: each
    # fault in turn, and the next query after it, must leave the others answering.
    _write_faulty(data_dir / "plugins")
    app = build_app(data_dir)
    await app.brain.start()
    try:
        for fault in sorted(CALL_FAULTS):
            response = await app.brain.handle_query({"text": fault, "intent": "chat"})
            # consciousness_engine answers chat too, so the user still gets an answer ...
            assert response["response"], fault
            assert fault not in response["plugins"], fault
            # ... and the failure is in the audit log.
            results = [
                e for e in app.audit[-8:] if e.kind == "plugin_result" and e.data.get("plugin") == fault
            ]
            assert results and results[0].data["ok"] is False, fault
            code = results[0].data["error"]["code"]
            assert code == ("timeout" if fault == "hangs" else "plugin_error"), fault
            other = await app.brain.handle_query({"text": "what is 10 / 4"})
            assert "2.5" in other["response"], fault
    finally:
        await app.aclose()


async def test_a_plugin_only_it_answers_reports_the_error(app: App) -> None:
    (app.paths.plugins / "lonely.py").write_text(
        'PLUGIN = {"name": "lonely", "version": "1.0", "description": "x", "intents": {"web_search": ["lonely"]}}\n'
        "def handle(request):\n    raise KeyError('oops')\n"
    )
    approve_plugins(app.paths.root)
    app.services.plugins.rescan()
    response = await app.brain.handle_query({"text": "lonely", "intent": "web_search"})
    # web_scraper needs the network, so the lonely plugin is the only one called.
    assert response["error"]["code"] in {"plugin_error", "network_disabled"}


async def test_new_and_changed_plugin_files_are_picked_up_without_restart(app: App) -> None:
    path = app.paths.plugins / "greeter.py"
    path.write_text(
        GOOD_HEADER.format(name="greeter", extra=', "priority": 5')
        + "def handle(r):\n    return {'response': 'v1'}\n"
    )
    approve_plugins(app.paths.root)
    assert "greeter" in app.services.plugins.rescan()
    first = await app.brain.handle_query({"text": "greeter", "intent": "chat"})
    assert "v1" in first["response"]
    path.write_text(
        GOOD_HEADER.format(name="greeter", extra=', "priority": 5')
        + "def handle(r):\n    return {'response': 'v2'}\n"
    )
    approve_plugins(app.paths.root)
    rec = app.services.plugins.reload("greeter")
    assert rec.status == "loaded"
    second = await app.brain.handle_query({"text": "greeter", "intent": "chat"})
    assert "v2" in second["response"] and "v1" not in second["response"]
    path.unlink()
    assert "greeter" in app.services.plugins.rescan()
    assert app.services.plugins.get("greeter") is None


async def test_a_reload_runs_the_new_source_even_at_the_same_size_and_second(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Bytecode caching on (as for a user); the stale-cache trap needs the same whole-second mtime
    # and the same size, which an editor saving twice quickly produces.
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = app.paths.plugins / "twin.py"
    body = (
        GOOD_HEADER.format(name="twin", extra=', "priority": 5')
        + "def handle(r):\n    return {'response': '%s'}\n"
    )
    path.write_text(body % "AAAA")
    os.utime(path, (1_700_000_000, 1_700_000_000))
    approve_plugins(app.paths.root)
    app.services.plugins.rescan()
    first = await app.brain.handle_query({"text": "twin", "intent": "chat"})
    assert "AAAA" in first["response"]
    path.write_text(body % "BBBB")
    os.utime(path, (1_700_000_000, 1_700_000_000))
    approve_plugins(app.paths.root)
    assert app.services.plugins.reload("twin").status == "loaded"
    second = await app.brain.handle_query({"text": "twin", "intent": "chat"})
    assert "BBBB" in second["response"] and "AAAA" not in second["response"]
    assert not (app.paths.plugins / "__pycache__").exists()


async def test_duplicate_plugin_name_fails_the_second(app: App) -> None:
    (app.paths.plugins / "calc_clone.py").write_text(
        GOOD_HEADER.format(name="calculator", extra="") + "def handle(r):\n    return {'response': 'fake'}\n"
    )
    approve_plugins(app.paths.root)
    app.services.plugins.rescan()
    clone = next(r for r in app.services.plugins.records() if r.path.stem == "calc_clone")
    assert clone.status == "failed" and "already loaded" in (clone.error or "")


def test_seed_load_plugins_lists_the_core_modules() -> None:
    plugins = load_plugins()
    for name in ("consciousness_engine", "universal_developer", "calculator", "system_info"):
        assert plugins[name].status == "loaded", (name, plugins[name].error)


async def test_a_built_in_listed_without_import_is_imported_by_its_first_call(tmp_path: Path) -> None:
    # What `fame ask` does: built-ins are listed from their manifests and each is imported when a
    # query first calls it; one that then fails to import is marked failed with its reason.
    folder = tmp_path / "trusted"
    folder.mkdir()
    (folder / "good.py").write_text(
        GOOD_HEADER.format(name="good", extra="")
        + "IMPORTS = []\nIMPORTS.append(1)\ndef handle(r): return {'response': f'imported {len(IMPORTS)}'}\n"
    )
    (folder / "import_boom.py").write_text(FAULTY["import_boom"])
    bus = EventBus()
    failed: list[PluginFailed] = []
    bus.subscribe(PluginFailed, failed.append)

    def context(name: str) -> PluginContext:
        return PluginContext(
            name=name, get_setting=lambda p: None, publish_event=bus.publish, list_plugins=list, status=dict
        )

    manager = PluginManager([folder], context, bus, trusted_folders=[folder])
    try:
        bus.bind_loop(asyncio.get_running_loop())
        records = {r.name: r for r in manager.load_all(import_builtins=False)}
        assert {n: (r.status, r.module) for n, r in records.items()} == {
            "good": ("loaded", None),
            "import_boom": ("loaded", None),
        }
        first = await manager.call(records["good"], {"text": "x"}, 5.0)
        again = await manager.call(records["good"], {"text": "x"}, 5.0)
        assert first["response"] == again["response"] == "imported 1"  # imported once
        with pytest.raises(PluginError, match="boom at import"):
            await manager.call(records["import_boom"], {"text": "x"}, 5.0)
        assert records["import_boom"].status == "failed" and "boom at import" in (
            records["import_boom"].error or ""
        )
        assert manager.for_intent("chat") == [records["good"]]
        await asyncio.sleep(0.01)  # the failure event is delivered on the loop
        assert [e.name for e in failed] == ["import_boom"]
    finally:
        manager.close()
