"""Routes that answer like wttr.in's JSON format (``GET /CITY?format=j1``)."""

from __future__ import annotations

import re

from fakes.http_fake import Reply, Route

# The fields the example plugin reads, shaped like a real j1 answer (trimmed).
PARIS = {
    "current_condition": [
        {
            "FeelsLikeC": "17",
            "humidity": "63",
            "temp_C": "18",
            "weatherDesc": [{"value": "Partly cloudy"}],
            "windspeedKmph": "11",
        }
    ],
    "nearest_area": [{"areaName": [{"value": "Paris"}], "country": [{"value": "France"}]}],
}


def _city(query: dict[str, str], m: re.Match[str]) -> Reply:
    if query.get("format") != "j1":
        return Reply(200, "Paris: ⛅️ +18°C", "text/plain")
    if m.group("city").lower() != "paris":
        return Reply(404, "Unknown location; please try ~Paris", "text/plain")
    return Reply(200, PARIS)


WTTR_ROUTES: dict[str, Route] = {r"/(?P<city>[^/]+)": _city}
