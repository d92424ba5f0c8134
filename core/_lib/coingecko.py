"""A small CoinGecko client (public API v3) over an ``httpx.AsyncClient`` and the asset names it knows."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # httpx loads with the first request (the plugin host's client imports it), not with the
    # plugin that uses this module: it costs about 0.1 s of every start-up.
    import httpx

# name or symbol -> CoinGecko id. Symbols that are also English words are in AMBIGUOUS and only
# count when written in capitals or with a "$" ("LINK", "$dot"), so "the near future" is not NEAR.
KNOWN_ASSETS: dict[str, str] = {
    "bitcoin": "bitcoin", "btc": "bitcoin", "xbt": "bitcoin",
    "ethereum": "ethereum", "eth": "ethereum", "ether": "ethereum",
    "solana": "solana", "sol": "solana",
    "dogecoin": "dogecoin", "doge": "dogecoin",
    "cardano": "cardano", "ada": "cardano",
    "ripple": "ripple", "xrp": "ripple",
    "litecoin": "litecoin", "ltc": "litecoin",
    "polkadot": "polkadot", "dot": "polkadot",
    "avalanche": "avalanche-2", "avax": "avalanche-2",
    "tether": "tether", "usdt": "tether",
    "usd coin": "usd-coin", "usdc": "usd-coin",
    "bnb": "binancecoin", "binance coin": "binancecoin",
    "tron": "tron", "trx": "tron",
    "chainlink": "chainlink", "link": "chainlink",
    "polygon": "matic-network", "matic": "matic-network",
    "shiba inu": "shiba-inu", "shib": "shiba-inu",
    "monero": "monero", "xmr": "monero",
    "stellar": "stellar", "xlm": "stellar",
    "cosmos": "cosmos", "atom": "cosmos",
    "toncoin": "the-open-network", "ton": "the-open-network",
    "near protocol": "near", "near": "near",
    "uniswap": "uniswap", "uni": "uniswap",
    "bitcoin cash": "bitcoin-cash", "bch": "bitcoin-cash",
    "pepe": "pepe",
    "sui": "sui",
    "aptos": "aptos", "apt": "aptos",
    "arbitrum": "arbitrum", "arb": "arbitrum",
}  # fmt: skip
AMBIGUOUS = frozenset(
    {"sol", "dot", "link", "atom", "ton", "near", "uni", "sui", "apt", "arb", "ada", "ether"}
)
SYMBOLS: dict[str, str] = {
    "bitcoin": "BTC", "ethereum": "ETH", "solana": "SOL", "dogecoin": "DOGE", "cardano": "ADA",
    "ripple": "XRP", "litecoin": "LTC", "polkadot": "DOT", "avalanche-2": "AVAX", "tether": "USDT",
    "usd-coin": "USDC", "binancecoin": "BNB", "tron": "TRX", "chainlink": "LINK",
    "matic-network": "MATIC", "shiba-inu": "SHIB", "monero": "XMR", "stellar": "XLM", "cosmos": "ATOM",
    "the-open-network": "TON", "near": "NEAR", "uniswap": "UNI", "bitcoin-cash": "BCH", "pepe": "PEPE",
    "sui": "SUI", "aptos": "APT", "arbitrum": "ARB",
}  # fmt: skip
_MULTIWORD = sorted((k for k in KNOWN_ASSETS if " " in k), key=len, reverse=True)


def known_assets_in(text: str) -> list[str]:
    """CoinGecko ids of the assets ``text`` names, in order of first mention, without repeats."""
    found: list[tuple[int, str]] = []
    lowered = text.lower()
    for phrase in _MULTIWORD:
        for m in re.finditer(rf"\b{re.escape(phrase)}\b", lowered):
            found.append((m.start(), KNOWN_ASSETS[phrase]))
            lowered = lowered[: m.start()] + " " * len(phrase) + lowered[m.end() :]
    for m in re.finditer(r"\$?[A-Za-z][A-Za-z0-9]*", text):
        raw = m.group(0)
        word = raw.lstrip("$").lower()
        if word not in KNOWN_ASSETS or lowered[m.start() : m.end()].strip() == "":
            continue
        if word in AMBIGUOUS and not (raw.startswith("$") or raw.lstrip("$").isupper()):
            continue
        found.append((m.start(), KNOWN_ASSETS[word]))
    ids: list[str] = []
    for _, coin in sorted(found):
        if coin not in ids:
            ids.append(coin)
    return ids


class UpstreamError(Exception):
    """CoinGecko did not give a usable answer.

    Args:
        code: ``rate_limited``, ``upstream_error``, ``upstream_timeout``, ``upstream_unreachable``
            or ``unknown_coin``.
        message: What happened and what to do.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class CoinGecko:
    """The three CoinGecko endpoints the investor plugin uses.

    Args:
        client: An ``httpx.AsyncClient`` whose ``base_url`` is the API root (…/api/v3).
    """

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def _get(self, path: str, params: dict[str, str]) -> Any:
        import httpx  # loaded already: the client is one

        try:
            resp = await self._client.get(path, params=params)
        except httpx.TimeoutException as exc:
            raise UpstreamError(
                "upstream_timeout",
                f"CoinGecko did not answer in time ({type(exc).__name__}). Try again in a moment.",
            ) from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(
                "upstream_unreachable",
                f"Cannot reach CoinGecko at {self._client.base_url} ({exc}). "
                "Check the connection or the services.coingecko_url setting.",
            ) from exc
        if resp.status_code == 429:
            retry = resp.headers.get("retry-after")
            wait = f"after {retry} seconds" if retry and retry.isdigit() else "in a minute"
            raise UpstreamError(
                "rate_limited", f"CoinGecko is rate limiting requests (HTTP 429). Try again {wait}."
            )
        if resp.status_code == 404:
            raise UpstreamError("unknown_coin", "CoinGecko does not know that coin (HTTP 404).")
        if resp.status_code >= 500:
            raise UpstreamError(
                "upstream_error",
                f"CoinGecko had a server error (HTTP {resp.status_code}). Try again later.",
            )
        if resp.status_code != 200:
            raise UpstreamError(
                "upstream_error",
                f"CoinGecko refused the request (HTTP {resp.status_code}): {resp.text[:200]}",
            )
        try:
            return resp.json()
        except ValueError as exc:
            raise UpstreamError(
                "upstream_error", "CoinGecko answered with something that is not JSON."
            ) from exc

    async def prices(self, ids: list[str]) -> dict[str, dict[str, float]]:
        """``/simple/price`` for ``ids`` in USD with 24 h change, volume and market cap."""
        body = await self._get(
            "/simple/price",
            {
                "ids": ",".join(ids),
                "vs_currencies": "usd",
                "include_24hr_change": "true",
                "include_24hr_vol": "true",
                "include_market_cap": "true",
                "include_last_updated_at": "true",
            },
        )
        if not isinstance(body, dict):
            raise UpstreamError("upstream_error", "CoinGecko's price answer has an unexpected shape.")
        out: dict[str, dict[str, float]] = {}
        for coin, fields in body.items():
            if isinstance(fields, dict) and isinstance(fields.get("usd"), int | float):
                out[str(coin)] = {k: float(v) for k, v in fields.items() if isinstance(v, int | float)}
        return out

    async def market_chart(self, coin: str, days: int) -> list[list[float]]:
        """``/coins/{id}/market_chart``: ``[[timestamp_ms, price], ...]`` over ``days`` days."""
        body = await self._get(f"/coins/{coin}/market_chart", {"vs_currency": "usd", "days": str(days)})
        prices = body.get("prices") if isinstance(body, dict) else None
        if not isinstance(prices, list):
            raise UpstreamError("upstream_error", "CoinGecko's chart answer has no 'prices' list.")
        return [p for p in prices if isinstance(p, list) and len(p) >= 2]

    async def search(self, query: str) -> list[dict[str, Any]]:
        """``/search``: coins matching ``query``, best first."""
        body = await self._get("/search", {"query": query})
        coins = body.get("coins") if isinstance(body, dict) else None
        return [c for c in coins if isinstance(c, dict) and "id" in c] if isinstance(coins, list) else []
