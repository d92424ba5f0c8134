"""advanced_investor_ai against a real HTTP server on 127.0.0.1 that speaks CoinGecko's API."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fakes.coingecko_fake import BTC_CLOSES, ETH_CLOSES, ROUTES
from fakes.http_fake import FakeServer, serve
from plugin_harness import Harness

from core._lib import indicators as ind
from core._lib.coingecko import known_assets_in
from fame_desktop.orchestrator.errors import NetworkDisabled


@pytest.fixture
def coingecko() -> Iterator[FakeServer]:
    with serve(ROUTES) as server:
        yield server


@pytest.fixture
def investor(plugin: Callable[..., Harness], coingecko: FakeServer) -> Harness:
    h = plugin("advanced_investor_ai")
    h.settings(network__allow_network=True, services__coingecko_url=coingecko.url + "/api/v3")
    return h


async def test_bitcoin_analysis_has_price_change_and_indicators(investor: Harness) -> None:
    result = await investor.ask("What is the BTC price today?", "market_analysis")
    text = result["response"]
    assert "### Bitcoin (BTC)" in text
    assert "**$62,000.00**" in text
    assert "down -2.43% in 24 h" in text
    assert "Market cap: $1.22 T" in text
    # SMA 7 of the last seven daily closes, computed by hand:
    # (65662.5 + 64890 + 64117.5 + 63345 + 62572.5 + 61800 + 62000) / 7 = 63483.93
    assert "SMA 7 / SMA 30: $63,483.93" in text
    # Peak 77,250 (day 69) to trough 61,800: a 20.0 % fall.
    assert "Max drawdown (90 d): -20.0% ($77,250.00" in text
    assert "not investment advice" in text
    asset = result["data"]["assets"][0]
    assert asset["price_usd"] == 62000.0
    hist = asset["indicators"]
    assert hist["closes"] == 91
    assert hist["sma_7"] == pytest.approx(444387.5 / 7)
    assert hist["rsi_14"] == pytest.approx(ind.rsi(BTC_CLOSES))
    assert hist["rsi_14"] < 30 and "oversold" in text
    assert hist["max_drawdown"]["fraction"] == pytest.approx(0.2)


async def test_several_assets_and_a_custom_window(investor: Harness, coingecko: FakeServer) -> None:
    result = await investor.ask("compare BTC and ethereum volatility over 30 days", "market_analysis")
    ids = [a["id"] for a in result["data"]["assets"]]
    assert ids == ["bitcoin", "ethereum"]
    assert result["data"]["days"] == 30
    eth = result["data"]["assets"][1]["indicators"]
    # Volatility over the last 30 days = 31 closes; history itself is 60 days for SMA 30 / RSI.
    assert eth["volatility_annualised"] == pytest.approx(ind.annualised_volatility(ETH_CLOSES[-31:]))
    assert "Volatility (annualised, 30 d)" in result["response"]
    assert any("days=60" in path for path in coingecko.requests)


async def test_unknown_name_falls_back_to_coingecko_search(investor: Harness) -> None:
    result = await investor.ask("market analysis of kaspa", "market_analysis")
    assert "### Kaspa (KAS)" in result["response"]
    assert "**$0.1452**" in result["response"]


async def test_a_coin_nobody_knows_is_a_clear_error(investor: Harness) -> None:
    result = await investor.ask("price of zzqqcoin", "market_analysis")
    assert result["error"]["code"] == "unknown_coin"
    assert "Name one" in result["error"]["message"]


async def test_rate_limit_is_reported_with_when_to_retry(investor: Harness, coingecko: FakeServer) -> None:
    coingecko.forced.status = 429
    coingecko.forced.headers = {"Retry-After": "30"}
    coingecko.forced.body = {
        "status": {"error_code": 429, "error_message": "You've exceeded the Rate Limit."}
    }
    result = await investor.ask("bitcoin price", "market_analysis")
    assert result["error"]["code"] == "rate_limited"
    assert "after 30 seconds" in result["error"]["message"]


async def test_server_error_is_reported(investor: Harness, coingecko: FakeServer) -> None:
    coingecko.forced.status = 503
    result = await investor.ask("bitcoin price", "market_analysis")
    assert result["error"]["code"] == "upstream_error"
    assert "HTTP 503" in result["error"]["message"]


async def test_slow_upstream_times_out_cleanly(investor: Harness, coingecko: FakeServer) -> None:
    investor.settings(services__http_timeout_seconds=0.3)
    coingecko.forced.delay = 1.5
    result = await investor.ask("bitcoin price", "market_analysis")
    assert result["error"]["code"] == "upstream_timeout"


async def test_unreachable_upstream_names_the_setting(plugin: Callable[..., Harness]) -> None:
    h = plugin("advanced_investor_ai")
    h.settings(network__allow_network=True, services__coingecko_url="http://127.0.0.1:9/api/v3")
    result = await h.ask("bitcoin price", "market_analysis")
    assert result["error"]["code"] == "upstream_unreachable"
    assert "services.coingecko_url" in result["error"]["message"]


async def test_network_off_raises_network_disabled(plugin: Callable[..., Harness]) -> None:
    h = plugin("advanced_investor_ai")
    with pytest.raises(NetworkDisabled):
        await h.ask("bitcoin price", "market_analysis")


def test_symbols_that_are_english_words_need_capitals() -> None:
    assert known_assets_in("what does the near future hold for my link") == []
    assert known_assets_in("LINK and NEAR prices") == ["chainlink", "near"]
    assert known_assets_in("price of $sol and btc") == ["solana", "bitcoin"]
    assert known_assets_in("bitcoin cash vs bitcoin") == ["bitcoin-cash", "bitcoin"]
