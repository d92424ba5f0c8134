"""Routes that answer like CoinGecko's public API v3 (shapes copied from real responses)."""

from __future__ import annotations

import re
import time

from fakes.http_fake import Reply, Route

DAY_MS = 86_400_000

# Daily closes, oldest first, of the fake market (90 days + today). Bitcoin rises then falls
# 20 % from its peak; ethereum oscillates.
BTC_CLOSES = (
    [60_000.0 + 250.0 * i for i in range(70)] + [77_250.0 - 772.5 * i for i in range(1, 21)] + [62_000.0]
)
ETH_CLOSES = [3_000.0 + (45.0 if i % 2 else -30.0) + 2.0 * i for i in range(91)]
CHARTS = {"bitcoin": BTC_CLOSES, "ethereum": ETH_CLOSES, "kaspa": [0.1 + 0.0005 * i for i in range(91)]}

SIMPLE_PRICE = {
    "bitcoin": {
        "usd": 62000.0,
        "usd_market_cap": 1221545883000.32,
        "usd_24h_vol": 31187425143.65,
        "usd_24h_change": -2.4312,
        "last_updated_at": 1716890000,
    },
    "ethereum": {
        "usd": 3227.51,
        "usd_market_cap": 387654321987.11,
        "usd_24h_vol": 15234567890.5,
        "usd_24h_change": 1.0768,
        "last_updated_at": 1716890005,
    },
    "kaspa": {
        "usd": 0.14523,
        "usd_market_cap": 3456789012.0,
        "usd_24h_vol": 98765432.1,
        "usd_24h_change": 5.5,
        "last_updated_at": 1716890010,
    },
}

SEARCH = {
    "kaspa": {
        "coins": [
            {
                "id": "kaspa",
                "name": "Kaspa",
                "api_symbol": "kaspa",
                "symbol": "KAS",
                "market_cap_rank": 25,
                "thumb": "https://assets.coingecko.com/coins/images/25751/thumb/kaspa-icon-exchanges.png",
                "large": "https://assets.coingecko.com/coins/images/25751/large/kaspa-icon-exchanges.png",
            },
            {
                "id": "kaspa-classic",
                "name": "Kaspa Classic",
                "api_symbol": "kaspa-classic",
                "symbol": "CAS",
                "market_cap_rank": None,
                "thumb": "https://assets.coingecko.com/coins/images/1/thumb/x.png",
                "large": "https://assets.coingecko.com/coins/images/1/large/x.png",
            },
        ],
        "exchanges": [],
        "icos": [],
        "categories": [],
        "nfts": [],
    }
}


def _simple_price(query: dict[str, str], _m: re.Match[str]) -> Reply:
    ids = [i for i in query.get("ids", "").split(",") if i]
    if not ids or query.get("vs_currencies") != "usd":
        return Reply(400, {"error": "Missing parameter ids"})
    # Like the real API: unknown ids are simply left out of the object.
    return Reply(200, {i: SIMPLE_PRICE[i] for i in ids if i in SIMPLE_PRICE})


def _market_chart(query: dict[str, str], m: re.Match[str]) -> Reply:
    coin = m.group(1)
    closes = CHARTS.get(coin)
    if closes is None:
        return Reply(404, {"error": "coin not found"})
    days = int(query.get("days", "1"))
    today = int(time.time() * 1000) // DAY_MS * DAY_MS
    # Hourly points like the real API for 2-90 day ranges: 23 intraday wiggles, then the close
    # at 23:00 UTC, so a client must reduce them to one price per day.
    prices: list[list[float]] = []
    series = closes[-(days + 1) :]
    for offset, close in enumerate(series):
        day_start = today - (len(series) - 1 - offset) * DAY_MS
        for hour in range(23):
            prices.append([day_start + hour * 3_600_000, close * (1.01 if hour % 2 else 0.99)])
        prices.append([day_start + 23 * 3_600_000, close])
    caps = [[t, p * 19_700_000] for t, p in prices]
    vols = [[t, p * 500_000] for t, p in prices]
    return Reply(200, {"prices": prices, "market_caps": caps, "total_volumes": vols})


def _search(query: dict[str, str], _m: re.Match[str]) -> Reply:
    q = query.get("query", "").lower()
    empty = {"coins": [], "exchanges": [], "icos": [], "categories": [], "nfts": []}
    return Reply(200, SEARCH.get(q, empty))


ROUTES: dict[str, Route] = {
    r"/api/v3/simple/price": _simple_price,
    r"/api/v3/coins/([a-z0-9-]+)/market_chart": _market_chart,
    r"/api/v3/search": _search,
}
