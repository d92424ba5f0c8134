"""Technical indicators over a price series, oldest value first.

Plain functions over lists of floats, so each is tested against hand-computed values. A function
returns ``None`` when the series is too short for it, never a made-up number.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime


def sma(values: Sequence[float], window: int) -> float | None:
    """Simple moving average of the last ``window`` values."""
    if window <= 0 or len(values) < window:
        return None
    return sum(values[-window:]) / window


def ema(values: Sequence[float], span: int) -> float | None:
    """Exponential moving average with ``alpha = 2 / (span + 1)``, seeded with the first SMA."""
    if span <= 0 or len(values) < span:
        return None
    alpha = 2 / (span + 1)
    current = sum(values[:span]) / span
    for value in values[span:]:
        current = alpha * value + (1 - alpha) * current
    return current


def rsi(values: Sequence[float], period: int = 14) -> float | None:
    """Wilder's Relative Strength Index (0-100) of the last value.

    The first average gain and loss are plain means over ``period`` changes; later ones use
    Wilder's smoothing ``avg = (avg * (period - 1) + x) / period``.
    """
    if period <= 0 or len(values) < period + 1:
        return None
    changes = [b - a for a, b in itertools.pairwise(values)]
    gains = [max(c, 0.0) for c in changes]
    losses = [max(-c, 0.0) for c in changes]
    avg_gain = sum(gains[:period]) / period
    avg_loss = sum(losses[:period]) / period
    for gain, loss in zip(gains[period:], losses[period:], strict=True):
        avg_gain = (avg_gain * (period - 1) + gain) / period
        avg_loss = (avg_loss * (period - 1) + loss) / period
    if avg_loss == 0:
        return 50.0 if avg_gain == 0 else 100.0
    return 100 - 100 / (1 + avg_gain / avg_loss)


def log_returns(values: Sequence[float]) -> list[float]:
    """Log returns ``ln(p[i] / p[i-1])`` (non-positive prices are skipped)."""
    return [math.log(b / a) for a, b in itertools.pairwise(values) if a > 0 and b > 0]


def annualised_volatility(daily_values: Sequence[float], periods_per_year: int = 365) -> float | None:
    """Sample standard deviation of daily log returns scaled by ``sqrt(periods_per_year)``.

    Crypto trades every day, hence 365 rather than 252.
    """
    returns = log_returns(daily_values)
    if len(returns) < 2:
        return None
    return statistics.stdev(returns) * math.sqrt(periods_per_year)


@dataclass(frozen=True)
class Drawdown:
    """The largest peak-to-trough fall of a series."""

    fraction: float  # 0.25 means the price fell 25 % from its peak
    peak_index: int
    trough_index: int


def max_drawdown(values: Sequence[float]) -> Drawdown | None:
    """Largest fall from a running peak to a later trough."""
    if len(values) < 2:
        return None
    best = Drawdown(0.0, 0, 0)
    peak_index = 0
    for i, value in enumerate(values):
        if value > values[peak_index]:
            peak_index = i
        peak = values[peak_index]
        if peak > 0:
            fall = (peak - value) / peak
            if fall > best.fraction:
                best = Drawdown(fall, peak_index, i)
    return best


def daily_closes(points: Sequence[Sequence[float]]) -> list[tuple[str, float]]:
    """Collapse ``[[timestamp_ms, price], ...]`` (CoinGecko's ``prices``) to the last price per UTC day.

    CoinGecko returns 5-minute, hourly or daily points depending on the range; indicators here
    are daily, so every range is reduced to one close per day.
    """
    by_day: dict[str, float] = {}
    for point in sorted(points, key=lambda p: p[0]):
        if len(point) < 2 or not isinstance(point[1], int | float) or point[1] <= 0:
            continue
        day = datetime.fromtimestamp(point[0] / 1000, tz=UTC).strftime("%Y-%m-%d")
        by_day[day] = float(point[1])
    return list(by_day.items())
