"""The documented example plugin (examples/plugins/weather.py), loaded from a user plugin folder.

It answers through the real Brain (routing, safety gate, plugin call, audit) against a wttr.in-like
server on 127.0.0.1, and is refused while the network switch is off.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fakes.http_fake import FakeServer, serve
from fakes.web_fake import SEARX_ROUTES
from fakes.wttr_fake import WTTR_ROUTES
from plugin_trust import approve_plugins

from fame_desktop.app import App, build_app
from fame_desktop.orchestrator.settings import SettingsStore

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plugins" / "weather.py"


@pytest.fixture
def wttr() -> Iterator[FakeServer]:
    with serve(WTTR_ROUTES) as server:
        yield server


@pytest.fixture
def searx() -> Iterator[FakeServer]:
    with serve(SEARX_ROUTES) as server:
        yield server


@pytest.fixture
async def weather_app(
    data_dir: Path, tmp_path: Path, searx: FakeServer, wttr: FakeServer
) -> AsyncIterator[App]:
    """An app whose user plugin folder holds a copy of the example, as a user would install it
    (pointed at the wttr.in-like server, as a user edits their copy), approved by an admin."""
    folder = tmp_path / "my-plugins"
    folder.mkdir()
    source = EXAMPLE.read_text(encoding="utf-8")
    assert 'WTTR_URL = "https://wttr.in"' in source
    (folder / "weather.py").write_text(
        source.replace('WTTR_URL = "https://wttr.in"', f'WTTR_URL = "{wttr.url}"'), encoding="utf-8"
    )
    SettingsStore(data_dir / "settings.json").update(
        {"plugins.user_folder": str(folder), "services.searxng_url": searx.url}, admin=True
    )
    approve_plugins(data_dir, folder)
    app = build_app(data_dir)
    await app.brain.start()
    yield app
    await app.aclose()


async def test_the_example_loads_from_the_user_folder(weather_app: App) -> None:
    rec = weather_app.services.plugins.get("weather")
    assert rec is not None and rec.status == "loaded", rec and rec.error
    assert not rec.builtin and rec.path.parent.name == "my-plugins"
    assert rec.manifest is not None and rec.manifest.schema_version == 1 and rec.manifest.needs_network


async def test_the_example_answers_a_weather_query_through_the_brain(
    weather_app: App, wttr: FakeServer
) -> None:
    weather_app.brain.allow_network = True
    response = await weather_app.brain.handle_query({"text": "What's the weather in Paris?"})
    assert response["intent"] == "web_search"
    assert "weather" in response["plugins"]
    assert wttr.requests == ["/Paris?format=j1"]
    assert (
        "**Paris**: 18 °C (feels like 17 °C), partly cloudy, humidity 63 %, wind 11 km/h."
        in response["response"]
    )
    data = response["data"]["weather"]
    assert data["temp_c"] == 18.0 and data["sky"] == "Partly cloudy"
    results = [
        e for e in weather_app.audit[-10:] if e.kind == "plugin_result" and e.data["plugin"] == "weather"
    ]
    assert results and results[-1].data["ok"] is True


async def test_an_unknown_city_is_reported_by_the_plugin(weather_app: App, wttr: FakeServer) -> None:
    weather_app.brain.allow_network = True
    response = await weather_app.brain.handle_query({"text": "weather in Atlantis", "intent": "web_search"})
    assert "does not know 'Atlantis'" in response["response"]
    assert wttr.requests == ["/Atlantis?format=j1"]


async def test_with_the_network_off_the_example_is_refused_and_never_called(
    weather_app: App, wttr: FakeServer
) -> None:
    assert weather_app.brain.allow_network is False
    response = await weather_app.brain.handle_query({"text": "What's the weather in Paris?"})
    assert response["error"]["code"] == "network_disabled"
    assert wttr.requests == []
    refused = [
        e for e in weather_app.audit[-10:] if e.kind == "plugin_refused" and e.data["plugin"] == "weather"
    ]
    assert refused
