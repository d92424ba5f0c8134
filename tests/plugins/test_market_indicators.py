"""The investor plugin's indicator functions against hand-computed values."""

from __future__ import annotations

import math

import pytest

from core._lib import indicators as ind

# Wilder's own worked example (as reproduced by StockCharts): 14-day RSI of these closes.
WILDER = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28,
          46.28, 46.00, 46.03, 46.41, 46.22, 45.64]  # fmt: skip


def test_rsi_matches_the_hand_computed_value() -> None:
    # First 14 changes: gains sum 3.34 -> avg 0.238571; losses sum 1.40 -> avg 0.1;
    # RS = 2.385714, RSI = 100 - 100 / 3.385714 = 70.464.
    assert ind.rsi(WILDER[:15]) == pytest.approx(70.464, abs=1e-3)
    # Next close 46.00 (loss 0.28): avg gain 0.238571*13/14 = 0.221531, avg loss (0.1*13+0.28)/14
    # = 0.112857; RSI = 100 - 100 / (1 + 1.962943) = 66.250.
    assert ind.rsi(WILDER[:16]) == pytest.approx(66.250, abs=1e-3)
    assert ind.rsi(WILDER) == pytest.approx(57.92, abs=1e-2)


def test_rsi_edges() -> None:
    assert ind.rsi([float(i) for i in range(20)]) == 100.0
    assert ind.rsi([5.0] * 20) == 50.0
    assert ind.rsi([float(20 - i) for i in range(20)]) == 0.0
    assert ind.rsi([1.0] * 14) is None


def test_moving_averages() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert ind.sma(values, 3) == 5.0
    assert ind.sma(values, 7) is None
    # EMA span 3 (alpha 0.5) seeded with mean(1,2,3)=2: 4->3, 5->4, 6->5.
    assert ind.ema(values, 3) == 5.0
    assert ind.ema([10.0, 10.0, 10.0, 13.0], 3) == pytest.approx(11.5)


def test_annualised_volatility_of_alternating_moves() -> None:
    # Log returns +a, -a, +a, -a with a = ln 1.1: mean 0, sample variance 4a^2/3.
    closes = [100.0, 110.0, 100.0, 110.0, 100.0]
    a = math.log(1.1)
    assert ind.annualised_volatility(closes) == pytest.approx(math.sqrt(4 * a * a / 3) * math.sqrt(365))
    assert ind.annualised_volatility([100.0 * 1.01**i for i in range(10)]) == pytest.approx(0.0, abs=1e-12)
    assert ind.annualised_volatility([1.0, 2.0]) is None


def test_max_drawdown_finds_the_deepest_fall_after_a_peak() -> None:
    dd = ind.max_drawdown([100.0, 120.0, 90.0, 130.0, 65.0, 80.0])
    assert dd is not None
    assert dd.fraction == pytest.approx(0.5)
    assert (dd.peak_index, dd.trough_index) == (3, 4)
    rising = ind.max_drawdown([1.0, 2.0, 3.0])
    assert rising is not None and rising.fraction == 0.0


def test_daily_closes_keep_the_last_price_of_each_utc_day() -> None:
    day = 86_400_000
    points = [[day * 10 + 3_600_000, 5.0], [day * 10 + 7_200_000, 6.0], [day * 11, 7.0], [day * 11 + 1, -1.0]]
    assert ind.daily_closes(points) == [("1970-01-11", 6.0), ("1970-01-12", 7.0)]
