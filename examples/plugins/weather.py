"""weather: the current weather for a city, from wttr.in — an example of a third-party FAME plugin.

Copy this file into your plugin folder (``<data dir>/plugins``, or the ``plugins.user_folder``
setting) and it is picked up without a restart. It shows the whole contract:

- ``PLUGIN``: the manifest, read without importing this file. It serves ``web_search`` (the
  intents are FAME's fixed routing targets), says it needs the network, and adds keywords so that
  "what's the weather in Paris" routes here.
- ``init(manager)``: keeps the context (a :class:`fame_plugin_api.PluginHost`); no I/O here.
- ``handle(request)``: asks the context for an HTTP client (refused while the network switch is
  off), reports progress, and answers with ``response`` text and JSON ``data``.

wttr.in's address is ``WTTR_URL`` below: edit your copy to use another server (tests point it at
one on 127.0.0.1). A plugin's own configuration is its own business; a user plugin runs in its own
process with a clean environment, so it cannot take it from FAME's environment variables.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import httpx

from fame_plugin_api import HostSlot, PluginHost, error_result, query_id, request_text

PLUGIN = {
    "schema_version": 1,
    "name": "weather",
    "version": "1.0.0",
    "description": "Current weather for a city: temperature, sky, humidity and wind, from wttr.in.",
    "intents": {
        "web_search": [
            "what's the weather in Paris",
            "weather in Berlin today",
            "is it raining in London",
            "temperature in Tokyo right now",
        ],
    },
    "keywords": {"web_search": ["weather", "forecast", "temperature", "raining", "sunny", "humidity"]},
    "needs_network": True,
    "timeout_seconds": 15,
    "priority": 5,
}

_HOST = HostSlot("weather")

# "weather in Paris", "temperature for New York today?", "is it raining at Lyon right now"
_CITY_RE = re.compile(
    r"\b(?:in|for|at)\s+([A-Za-z][A-Za-z .'-]{0,60}?)\s*(?:\b(?:today|tonight|now|right now|please)\b|[?.!]|$)",
    re.IGNORECASE,
)


def init(manager: PluginHost) -> None:
    """Keep the plugin context (constructors and ``init`` do no I/O)."""
    _HOST.set(manager)


def city_in(text: str) -> str:
    """The city ``text`` asks about (empty when it names none)."""
    match = _CITY_RE.search(text.strip())
    return match.group(1).strip() if match else ""


WTTR_URL = "https://wttr.in"


def _base_url() -> str:
    return WTTR_URL.rstrip("/")


async def handle(request: dict[str, Any]) -> dict[str, Any]:
    """Answer 'what's the weather in CITY'."""
    host = _HOST.get()
    host.require_network("The weather plugin")  # the Brain checks too; this keeps direct calls honest
    city = city_in(request_text(request))
    if not city:
        return error_result("no_city", "Name a city, e.g. 'what's the weather in Paris'.")
    host.progress(query_id(request), f"Asking wttr.in about the weather in {city}")
    try:
        async with host.http_client(base_url=_base_url()) as client:
            reply = await client.get(f"/{quote(city)}", params={"format": "j1"})
    except httpx.HTTPError as exc:
        host.log.warning("wttr.in failed: %s", exc)
        return error_result(
            "service_unavailable", f"The weather service did not answer ({type(exc).__name__})."
        )
    if reply.status_code == 404:
        return error_result("unknown_city", f"The weather service does not know {city!r}.")
    if reply.status_code != 200:
        return error_result("service_unavailable", f"The weather service answered HTTP {reply.status_code}.")
    try:
        now = reply.json()["current_condition"][0]
        temp, feels = float(now["temp_C"]), float(now["FeelsLikeC"])
        sky = str(now["weatherDesc"][0]["value"])
        humidity, wind = float(now["humidity"]), float(now["windspeedKmph"])
    except (ValueError, KeyError, IndexError, TypeError):
        return error_result("bad_reply", "The weather service answered something this plugin cannot read.")
    text = (
        f"🌤️ **{city}**: {temp:.0f} °C (feels like {feels:.0f} °C), {sky.lower()}, "
        f"humidity {humidity:.0f} %, wind {wind:.0f} km/h."
    )
    data = {
        "city": city,
        "temp_c": temp,
        "feels_like_c": feels,
        "sky": sky,
        "humidity_pct": humidity,
        "wind_kmh": wind,
    }
    return {"response": text, "data": data}
