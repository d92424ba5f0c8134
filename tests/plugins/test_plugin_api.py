"""The plugin API package: the manifest model, seed-style plugins without one, and the context's tasks."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from plugin_harness import CORE, Harness
from plugin_trust import approve_plugins

from fame_desktop.app import App, build_app
from fame_desktop.orchestrator.architecture_service import ArchitectureService
from fame_desktop.orchestrator.codegen import ArchitectureKB
from fame_desktop.orchestrator.settings import SettingsStore
from fame_plugin_api import (
    SCHEMA_VERSION,
    ManifestError,
    landlock,
    parse_manifest,
    read_manifest,
    suggest_manifest,
)

GOOD: dict[str, Any] = {
    "name": "clock",
    "version": "1.0",
    "description": " Tells the time. ",
    "intents": {"system_info": ["what time is it"]},
}


def test_a_minimal_manifest_gets_the_defaults_and_schema_version_1() -> None:
    m = parse_manifest(GOOD, "clock.py")
    assert m.schema_version == SCHEMA_VERSION == 1
    assert m.description == "Tells the time."
    assert m.intents == {"system_info": ("what time is it",)}
    assert (m.needs_network, m.admin_only, m.dangerous, m.priority, m.timeout_seconds) == (
        False,
        False,
        False,
        0,
        None,
    )
    assert parse_manifest({**GOOD, "timeout_seconds": 5}, "clock.py").timeout_seconds == 5.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "Bad Name!"}, "'name' must be a lower_snake_case string"),
        ({"name": None}, "'name' must be a lower_snake_case string"),
        ({"version": "x"}, "'version' must look like 1.2.3"),
        ({"description": "  "}, "'description' is required"),
        ({"intents": {}}, "'intents' must be a dict of intent -> list of strings"),
        ({"intents": ["chat"]}, "'intents' must be a dict of intent -> list of strings"),
        ({"intents": {"teleport": ["go"]}}, "unknown intent 'teleport'; known: ["),
        ({"intents": {"chat": ["hi", 3]}}, "intents['chat'] must hold only strings"),
        ({"keywords": {"chat": [None]}}, "keywords['chat'] must hold only strings"),
        ({"patterns": {"chat": ["(unclosed"]}}, "bad pattern for chat:"),
        ({"needs_network": "yes"}, "'needs_network' must be true or false"),
        ({"dangerous": 1}, "'dangerous' must be true or false"),
        ({"timeout_seconds": 0}, "'timeout_seconds' must be a positive number"),
        ({"timeout_seconds": "5"}, "'timeout_seconds' must be a positive number"),
        ({"capability": 7}, "'capability' must be a string"),
        ({"priority": 1.5}, "'priority' must be an integer"),
        ({"schema_version": 2}, "'schema_version' must be 1"),
        ({"colour": "red", "author": "me"}, "unknown manifest fields ['author', 'colour']"),
    ],
)
def test_a_wrong_field_is_named_in_the_error(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ManifestError) as caught:
        parse_manifest({**GOOD, **change}, "clock.py")
    assert str(caught.value).startswith(f"clock.py: {message}")


def test_a_manifest_that_is_not_a_dict_is_refused() -> None:
    with pytest.raises(ManifestError, match=r"^x\.py: PLUGIN must be a dict$"):
        parse_manifest(["name"], "x.py")


@pytest.mark.parametrize("key", [1, 2.5, None, ("name",)])
def test_a_key_that_is_not_a_field_name_is_named_in_the_error(key: object) -> None:
    raw = {"name": "ok_name", "version": "1.0", "description": "d", "intents": ["chat"], key: "x"}
    with pytest.raises(ManifestError) as caught:
        parse_manifest(raw, "x.py")
    assert str(caught.value) == f"x.py: PLUGIN's keys must be field names in quotes, not {key!r}"


def test_every_builtin_plugin_declares_schema_version_1() -> None:
    for path in sorted(CORE.glob("[!_]*.py")):
        assert "schema_version" in path.read_text(encoding="utf-8"), path.name
        assert read_manifest(path).schema_version == 1, path.name


def test_the_package_imports_without_the_app_core_or_qt() -> None:
    code = textwrap.dedent(
        """
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split('.')[0] in ('fame_desktop', 'core', 'PySide6', 'qasync', 'shiboken6'):
                    raise ImportError('blocked in this test: ' + name)
        sys.meta_path.insert(0, Block())
        import fame_plugin_api as api
        m = api.parse_manifest({'name': 'x_y', 'version': '1.0', 'description': 'd',
                                'intents': {'chat': []}}, 'x_y.py')
        print(m.schema_version, sorted(api.INTENTS)[0])
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stdout.strip() == "1 architecture_design", result.stderr


# --- plugins written to the seed's interface, without a manifest ---------------------------------

SEED_PLUGIN = '''"""Echo: repeats what you say (written to the seed's init/handle interface)."""

from typing import Any, Dict


def init(manager):
    """Called when plugin is loaded"""
    global MANAGER
    MANAGER = manager


def handle(request: Dict[str, Any]) -> Dict[str, Any]:
    text = request.get('text', '')
    intent = request.get('intent', '')
    if intent == 'chat':
        return {"response": "echo: " + text, "metadata": {"intent": intent, "has_manager": MANAGER is not None}}
    return {"response": "I only chat."}
'''


async def test_a_seed_plugin_without_manifest_fails_with_the_manifest_to_add(app: App) -> None:
    path = app.paths.plugins / "seed_echo.py"
    path.write_text(SEED_PLUGIN)
    approve_plugins(app.paths.root)
    app.services.plugins.rescan()
    rec = next(r for r in app.services.plugins.records() if r.path == path)
    assert rec.status == "failed" and rec.module is None  # none of its code ran
    error = rec.error or ""
    assert error.startswith(
        "seed_echo.py: no module-level PLUGIN manifest. It looks like a plugin written to"
    )
    shown = error[error.index("PLUGIN = {") :]
    assert '    "name": "seed_echo",\n' in shown
    assert (
        '"description": "Echo: repeats what you say (written to the seed\'s init/handle interface).",'
        in shown
    )
    # The manifest shown is exact: pasted in as it is, the plugin loads and answers through the Brain.
    path.write_text(shown + "\n\n\n" + SEED_PLUGIN)
    approve_plugins(app.paths.root)
    app.services.plugins.rescan()
    rec = next(r for r in app.services.plugins.records() if r.path == path)
    assert rec.status == "loaded", rec.error
    assert rec.manifest is not None and dict(rec.manifest.intents) == {"chat": ()}
    assert rec.manifest.needs_network is False
    response = await app.brain.handle_query({"text": "hello there", "intent": "chat"})
    assert "seed_echo" in response["plugins"]
    assert "echo: hello there" in response["response"]
    assert response["data"]["seed_echo"] == {"intent": "chat", "has_manager": True}


def test_the_suggested_manifest_guesses_network_use_and_a_valid_name(tmp_path: Path) -> None:
    path = tmp_path / "2-Fetch.Things.py"
    path.write_text("import urllib.request\n\ndef handle(request):\n    return {'response': 'x'}\n")
    with pytest.raises(ManifestError) as caught:
        read_manifest(path)
    suggestion = suggest_manifest(path)
    assert suggestion in str(caught.value)
    namespace: dict[str, Any] = {}
    exec(suggestion, namespace)  # the suggestion is a Python literal assignment
    manifest = parse_manifest(namespace["PLUGIN"], path.name)
    assert manifest.name == "plugin_2_fetch_things"
    assert manifest.needs_network is True
    assert dict(manifest.intents) == {"chat": ()}
    assert manifest.description == "The plugin_2_fetch_things plugin."


def test_a_file_without_handle_or_manifest_gets_the_short_message(tmp_path: Path) -> None:
    path = tmp_path / "helpers.py"
    path.write_text("X = 1\n")
    with pytest.raises(ManifestError, match=r"^helpers\.py: no module-level PLUGIN manifest$"):
        read_manifest(path)


# --- the context's tasks --------------------------------------------------------------------------


async def test_without_services_the_developer_plugin_says_what_is_missing(
    plugin: Callable[..., Harness],
) -> None:
    dev = plugin("universal_developer")
    code = await dev.ask("write a function to reverse a string", "generate_code")
    assert code["error"] == {
        "code": "not_available",
        "message": "Code generation is not available in this app.",
    }
    arch = await dev.ask("design a chat app", "architecture_design")
    assert arch["error"]["code"] == "not_available" and "architecture" in arch["error"]["message"]


async def test_architecture_advice_comes_through_the_task_as_json(plugin: Callable[..., Harness]) -> None:
    kb = ArchitectureKB.load()
    dev = plugin("universal_developer", architecture=lambda: ArchitectureService(kb))
    result = await dev.ask(
        "we must be able to replay history and see who changed what", "architecture_design"
    )
    assert (
        result["response"] == kb.advise("we must be able to replay history and see who changed what").markdown
    )
    patterns = result["data"]["patterns"]
    assert patterns[0]["id"] == "event_sourcing"
    assert all(isinstance(p["score"], float) for p in patterns)


PROBE = '''"""Probe: calls the context's tasks (test plugin)."""

import json

from fame_plugin_api import HostSlot, PluginHost, query_id, request_text

PLUGIN = {"schema_version": 1, "name": "probe", "version": "1.0", "description": "Probe.",
          "intents": {"system_info": ["probe the context"]}, "timeout_seconds": 60}
_HOST = HostSlot("probe")


def init(manager: PluginHost) -> None:
    _HOST.set(manager)


async def handle(request):
    host = _HOST.get()
    task = request_text(request)
    if task == "probe sandbox":
        host.progress(query_id(request), "running")
        report = await host.run_in_sandbox("print(6 * 7)", timeout=20, query_id=query_id(request))
        return {"response": "ran", "data": report}
    advice = await host.design_architecture("a url shortener for millions of users")
    data = {"advice": advice, "plugins": [p["name"] for p in host.list_plugins()],
            "version": host.status()["version"], "network": host.network_allowed,
            "timeout": host.setting("services.http_timeout_seconds")}
    json.dumps(data)  # everything a task returns is JSON
    return {"response": "probed", "data": data}
'''


async def test_a_user_plugin_reaches_the_app_only_through_tasks(app: App) -> None:
    (app.paths.plugins / "probe.py").write_text(PROBE)
    approve_plugins(app.paths.root)
    app.services.plugins.rescan()
    response = await app.brain.handle_query({"text": "probe context", "intent": "system_info"})
    data = response["data"]["probe"]
    assert (
        data["advice"]["markdown"]
        == ArchitectureKB.load().advise("a url shortener for millions of users").markdown
    )
    assert data["advice"]["patterns"] and set(data["advice"]["patterns"][0]) == {"id", "score"}
    assert {"probe", "calculator", "universal_developer"} <= set(data["plugins"])
    assert data["version"] and data["network"] is False and data["timeout"] == 10.0


@pytest.mark.docker
async def test_run_in_sandbox_returns_the_sandbox_report(app: App) -> None:
    (app.paths.plugins / "probe.py").write_text(PROBE)
    approve_plugins(app.paths.root)
    app.services.plugins.rescan()
    response = await app.brain.handle_query({"text": "probe sandbox", "intent": "system_info"})
    report = response["data"]["probe"]
    assert report["status"] == "ok" and report["backend"] == "docker", report
    assert report["stdout"] == "42\n" and report["exit_code"] == 0
    assert report["limits"]["timeout_seconds"] == 20


# --- listing runs no plugin code ------------------------------------------------------------------


def _side_effect_plugin(marker: Path) -> str:
    return (
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
        'PLUGIN = {"schema_version": 1, "name": "side_effect", "version": "1.0", '
        '"description": "Writes a file when imported.", "intents": {"chat": ["side effect"]}}\n'
        "def handle(request):\n    return {'response': 'x'}\n"
    )


def test_reading_a_manifest_runs_none_of_the_plugins_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "side_effect.py"
    path.write_text(_side_effect_plugin(marker))
    manifest = read_manifest(path)
    assert manifest.description == "Writes a file when imported."
    assert not marker.exists()


async def test_a_disabled_plugin_is_listed_from_its_manifest_and_never_imported(
    data_dir: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    (data_dir / "plugins").mkdir()
    (data_dir / "plugins" / "side_effect.py").write_text(_side_effect_plugin(marker))
    approve_plugins(data_dir)
    SettingsStore(data_dir / "settings.json").update({"plugins.disabled": ["side_effect"]}, admin=False)
    app = build_app(data_dir)
    try:
        await app.brain.start()
        listed = {p["name"]: p for p in (r.to_dict() for r in app.services.plugins.records())}
        assert listed["side_effect"]["status"] == "disabled"
        assert listed["side_effect"]["description"] == "Writes a file when imported."
        assert not marker.exists()
        rec = app.services.plugins.set_enabled("side_effect", True)  # enabling runs its code
        if landlock.abi_version() > 0:
            # Its host may not write outside its own folder: the refused write proves the code ran.
            assert "PermissionError" in (rec.error or "") and str(marker) in (rec.error or "")
        else:
            assert marker.read_text() == "ran"
    finally:
        await app.aclose()
