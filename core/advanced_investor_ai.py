"""advanced_investor_ai: crypto price, 24 h change and technical indicators from CoinGecko."""

from __future__ import annotations

import asyncio
import math
import re
from typing import Any

from core._lib import indicators as ind
from core._lib.coingecko import SYMBOLS, CoinGecko, UpstreamError, known_assets_in
from fame_plugin_api import HostSlot, PluginHost, error_result, request_text

PLUGIN = {
    "schema_version": 1,
    "name": "advanced_investor_ai",
    "version": "1.0.0",
    "description": "Crypto market analysis from the CoinGecko API: price, 24 h change, SMA 7/30, "
    "EMA 12/26, RSI 14, annualised volatility and max drawdown. Not investment advice.",
    "intents": {
        "market_analysis": [
            "What is the BTC price today?",
            "bitcoin price",
            "how is ethereum doing",
            "analyse solana over the last 90 days",
            "RSI of dogecoin",
            "compare BTC and ETH",
            "volatility of cardano this month",
            "moving averages for litecoin",
            "is XRP up or down in the last 24 hours",
        ],
    },
    "keywords": {
        "market_analysis": [
            "price",
            "prices",
            "crypto",
            "cryptocurrency",
            "coin",
            "token",
            "market",
            "market analysis",
            "market cap",
            "trading",
            "trend",
            "rsi",
            "moving average",
            "moving averages",
            "sma",
            "ema",
            "volatility",
            "volatile",
            "drawdown",
            "max drawdown",
            "overbought",
            "oversold",
            "24h",
            "24h change",
            "bull",
            "bear",
            "worth",
            "usd",
            "bitcoin",
            "btc",
            "ethereum",
            "eth",
            "solana",
            "dogecoin",
            "doge",
            "cardano",
            "xrp",
            "ripple",
            "litecoin",
            "polkadot",
            "avalanche",
            "avax",
            "chainlink",
            "monero",
            "tether",
            "bnb",
            "shiba inu",
            "stellar",
            "tron",
            "pepe",
            "toncoin",
        ],
    },
    "needs_network": True,
    "timeout_seconds": 30,
}

_HOST = HostSlot("advanced_investor_ai")

DEFAULT_DAYS = 90
MIN_HISTORY_DAYS = 60  # enough daily closes for SMA 30, EMA 26 and RSI 14
MAX_ASSETS = 5
DISCLAIMER = "_Data: CoinGecko. This is market data, not investment advice._"

# Words that are never a coin name when falling back to CoinGecko's search.
_NOT_COINS = frozenset(
    [
        "what",
        "is",
        "the",
        "a",
        "an",
        "of",
        "for",
        "in",
        "on",
        "to",
        "and",
        "or",
        "me",
        "show",
        "give",
        "tell",
        "price",
        "prices",
        "current",
        "today",
        "now",
        "right",
        "worth",
        "value",
        "how",
        "much",
        "analysis",
        "analyse",
        "analyze",
        "market",
        "markets",
        "crypto",
        "coin",
        "coins",
        "token",
        "tokens",
        "chart",
        "charts",
        "rsi",
        "sma",
        "ema",
        "moving",
        "average",
        "averages",
        "volatility",
        "volatile",
        "drawdown",
        "max",
        "trend",
        "trending",
        "change",
        "24h",
        "24",
        "hours",
        "hour",
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
        "last",
        "past",
        "over",
        "this",
        "usd",
        "dollar",
        "dollars",
        "in",
        "up",
        "down",
        "doing",
        "go",
        "going",
        "did",
        "does",
        "do",
        "should",
        "i",
        "buy",
        "sell",
        "compare",
        "vs",
        "versus",
        "it",
        "its",
        "please",
        "of",
        "cap",
        "performance",
        "overbought",
        "oversold",
        "according",
        "data",
        "info",
        "about",
        "latest",
        "one",
    ]
)


def init(manager: PluginHost) -> None:
    """Keep the plugin context (no I/O here)."""
    _HOST.set(manager)


def requested_days(text: str) -> int:
    """The history window a query asks for (``"over 30 days"``, ``"this month"``), default 90."""
    lowered = text.lower()
    m = re.search(r"(\d{1,4})\s*(day|d\b|week|month|year)", lowered)
    if m:
        n = int(m.group(1))
        unit = m.group(2)
        days = n * {"day": 1, "d": 1, "week": 7, "month": 30, "year": 365}[unit]
        return max(2, min(days, 365))
    for word, days in (("week", 7), ("month", 30), ("quarter", 90), ("year", 365)):
        if re.search(rf"\b{word}\b", lowered):
            return days
    return DEFAULT_DAYS


def format_usd(value: float) -> str:
    """``$67,234.12`` for prices of a dollar or more, four significant digits below (``$0.00001234``)."""
    if value >= 1:
        return f"${value:,.2f}"
    if value <= 0:
        return "$0"
    decimals = min(12, -math.floor(math.log10(value)) + 3)
    return f"${value:.{decimals}f}"


def format_big_usd(value: float) -> str:
    """``$1.23 T`` / ``$45.6 B`` / ``$789.0 M`` for market caps and volumes."""
    for limit, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if value >= limit:
            return f"${value / limit:,.2f} {suffix}"
    return format_usd(value)


_NAMES = {
    "binancecoin": "BNB",
    "matic-network": "Polygon",
    "the-open-network": "Toncoin",
    "usd-coin": "USD Coin",
}


async def _resolve(api: CoinGecko, text: str) -> list[tuple[str, str, str]]:
    """``(coingecko id, name, symbol)`` of the assets ``text`` asks about."""
    ids = known_assets_in(text)
    if ids:
        return [(coin, _display_name(coin), SYMBOLS[coin]) for coin in ids[:MAX_ASSETS]]
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z0-9-]{1,30}", text) if w.lower() not in _NOT_COINS]
    for word in words[:3]:
        coins = await api.search(word)
        if coins:
            exact = [
                c
                for c in coins
                if word.lower() in (str(c.get("symbol", "")).lower(), str(c.get("name")).lower())
            ]
            best = (exact or coins)[0]
            coin = str(best["id"])
            return [
                (coin, str(best.get("name") or _display_name(coin)), str(best.get("symbol") or coin).upper())
            ]
    return []


def _display_name(coin: str) -> str:
    # "avalanche-2" -> "Avalanche", "bitcoin-cash" -> "Bitcoin Cash".
    return _NAMES.get(coin) or re.sub(r"-\d+$", "", coin).replace("-", " ").title()


def analyse_history(closes: list[tuple[str, float]], window_days: int) -> dict[str, Any]:
    """Indicators over daily closes; volatility and drawdown over the last ``window_days``."""
    values = [price for _, price in closes]
    window = closes[-(window_days + 1) :]
    window_values = [price for _, price in window]
    dd = ind.max_drawdown(window_values)
    out: dict[str, Any] = {
        "days": window_days,
        "closes": len(values),
        "sma_7": ind.sma(values, 7),
        "sma_30": ind.sma(values, 30),
        "ema_12": ind.ema(values, 12),
        "ema_26": ind.ema(values, 26),
        "rsi_14": ind.rsi(values, 14),
        "volatility_annualised": ind.annualised_volatility(window_values),
        "max_drawdown": None,
    }
    if dd is not None:
        out["max_drawdown"] = {
            "fraction": dd.fraction,
            "peak_date": window[dd.peak_index][0],
            "peak_price": window_values[dd.peak_index],
            "trough_date": window[dd.trough_index][0],
            "trough_price": window_values[dd.trough_index],
        }
    return out


def _rsi_reading(value: float) -> str:
    if value >= 70:
        return "overbought territory (≥ 70)"
    if value <= 30:
        return "oversold territory (≤ 30)"
    return "neutral (between 30 and 70)"


def _asset_markdown(name: str, symbol: str, price: dict[str, float], hist: dict[str, Any] | None) -> str:
    lines = [f"### {name} ({symbol})", f"- Price: **{format_usd(price['usd'])}**"]
    change = price.get("usd_24h_change")
    if change is not None:
        direction = "up" if change > 0 else "down" if change < 0 else "flat"
        lines[-1] += f" — {direction} {change:+.2f}% in 24 h"
    if price.get("usd_market_cap"):
        lines.append(f"- Market cap: {format_big_usd(price['usd_market_cap'])}")
    if price.get("usd_24h_vol"):
        lines.append(f"- 24 h volume: {format_big_usd(price['usd_24h_vol'])}")
    if hist is None:
        return "\n".join(lines)
    if hist.get("error"):
        lines.append(f"- Indicators unavailable: {hist['error']['message']}")
        return "\n".join(lines)
    sma7, sma30 = hist["sma_7"], hist["sma_30"]
    if sma7 is not None and sma30 is not None:
        trend = "above" if price["usd"] > sma30 else "below"
        cross = "above" if sma7 > sma30 else "below"
        lines.append(
            f"- SMA 7 / SMA 30: {format_usd(sma7)} / {format_usd(sma30)} — price is {trend} the 30-day "
            f"average; the 7-day average is {cross} it"
        )
    if hist["ema_12"] is not None and hist["ema_26"] is not None:
        momentum = "positive" if hist["ema_12"] > hist["ema_26"] else "negative"
        lines.append(
            f"- EMA 12 / EMA 26: {format_usd(hist['ema_12'])} / {format_usd(hist['ema_26'])} "
            f"({momentum} momentum)"
        )
    if hist["rsi_14"] is not None:
        lines.append(f"- RSI 14: {hist['rsi_14']:.1f} — {_rsi_reading(hist['rsi_14'])}")
    if hist["volatility_annualised"] is not None:
        lines.append(
            f"- Volatility (annualised, {hist['days']} d): {hist['volatility_annualised'] * 100:.1f}%"
        )
    dd = hist["max_drawdown"]
    if dd is not None:
        lines.append(
            f"- Max drawdown ({hist['days']} d): -{dd['fraction'] * 100:.1f}% "
            f"({format_usd(dd['peak_price'])} on {dd['peak_date']} → "
            f"{format_usd(dd['trough_price'])} on {dd['trough_date']})"
        )
    return "\n".join(lines)


async def _history(api: CoinGecko, coin: str, days: int) -> dict[str, Any]:
    try:
        points = await api.market_chart(coin, max(days, MIN_HISTORY_DAYS))
    except UpstreamError as exc:
        return {"error": {"code": exc.code, "message": exc.message}}
    return analyse_history(ind.daily_closes(points), days)


async def handle(request: dict[str, Any]) -> dict[str, Any]:
    """Answer a ``market_analysis`` request from live CoinGecko data."""
    host = _HOST.get()
    host.require_network("Market analysis (CoinGecko)")
    text = request_text(request)
    days = requested_days(text)
    base_url = str(host.setting("services.coingecko_url")).rstrip("/")
    host.progress(str(request.get("id", "")), "Fetching market data from CoinGecko")
    async with host.http_client(base_url=base_url) as client:
        api = CoinGecko(client)
        try:
            assets = await _resolve(api, text)
            if not assets:
                return error_result(
                    "unknown_coin",
                    "I could not find a crypto asset in that question. Name one, e.g. "
                    "'bitcoin price', 'RSI of ETH' or 'analyse solana over 30 days'.",
                )
            prices = await api.prices([coin for coin, _, _ in assets])
        except UpstreamError as exc:
            return error_result(exc.code, exc.message)
        missing = [coin for coin, _, _ in assets if coin not in prices]
        found = [a for a in assets if a[0] in prices]
        if not found:
            return error_result(
                "unknown_coin",
                f"CoinGecko has no price for {', '.join(missing)}. Check the coin's name or symbol.",
            )
        histories = await asyncio.gather(*(_history(api, coin, days) for coin, _, _ in found))
    sections = [
        _asset_markdown(name, symbol, prices[coin], hist)
        for (coin, name, symbol), hist in zip(found, histories, strict=True)
    ]
    if missing:
        sections.append(f"_No CoinGecko price for: {', '.join(missing)}._")
    sections.append(DISCLAIMER)
    data = {
        "assets": [
            {
                "id": coin,
                "name": name,
                "symbol": symbol,
                "price_usd": prices[coin]["usd"],
                "change_24h_pct": prices[coin].get("usd_24h_change"),
                "market_cap_usd": prices[coin].get("usd_market_cap"),
                "volume_24h_usd": prices[coin].get("usd_24h_vol"),
                "indicators": hist,
            }
            for (coin, name, symbol), hist in zip(found, histories, strict=True)
        ],
        "missing": missing,
        "days": days,
        "source": base_url,
    }
    return {"response": "\n\n".join(sections), "data": data}
