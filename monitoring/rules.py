"""The instrument rules, as pure functions over arrays: one row per instrument, one column per
trading day (oldest first, today last). Exact: deviations and turnover in whole basis points.

Exchange abnormal fluctuation (异常波动) and severe abnormal fluctuation (严重异常波动):

- 日收盘价格涨跌幅偏离值 (close-price deviation) of a day = the stock's close-to-close change
  minus its index's, here in basis points rounded half away from zero (0.01% is the precision
  the exchanges publish); the cumulative deviation is the plain sum over the window.
- Abnormal: cumulative deviation over 3 trading days reaching ±20% (main board), ±12% (ST and
  *ST on the main board), ±30% (STAR, ChiNext; ST there included): SSE Trading Rules (2023
  rev.) art. 5.4.2 and SZSE Trading Rules (2023 rev.) art. 4.4.2 for the main board; SSE STAR
  Market Trading Special Provisions and SZSE ChiNext Trading Special Provisions for ±30%.
- Abnormal (main board): 3-day average turnover rate ≥ 30 × the average of the previous 5 days,
  and 3-day cumulative turnover rate ≥ 20% (same articles). Turnover rate = volume / float.
- Severe: cumulative deviation over 10 trading days reaching +100% or −50%; over 30 trading days
  reaching +200% or −70% (SSE art. 5.4.3, SZSE art. 4.4.3, and the STAR/ChiNext provisions, which
  use the same figures); and abnormal fluctuation in the same direction 4 times within 10
  trading days on the main board (3 times on STAR/ChiNext). These figures are the defaults of
  the threshold table, taken from the rule texts as we read them; they are data (four-eyes).
- Once an abnormal fluctuation is reached, the days that made it are not counted again: the
  3-day window restarts the next day (``fresh`` = trading days counted since the last one).

The platform's own rules (not the exchange's): volume spike (today's volume so far against the
20-day average daily volume, pro rata to the session elapsed), realised-volatility jump (the
intraday EWMA volatility against the 20-day realised volatility), limit-down, suspension.
"""

from __future__ import annotations

import numpy as np

BP = 10_000  # basis points in 1 (100%)
CLASSES = ("main", "st", "growth")  # growth: STAR and ChiNext


def board_class(board: str, is_st: bool) -> str:
    if board in ("star", "chinext"):
        return "growth"
    return "st" if is_st else "main"


def daily_change_bp(close: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Close-to-close change in whole basis points, rounded half away from zero (int64)."""
    close = np.asarray(close, dtype=np.int64)
    previous = np.asarray(previous, dtype=np.int64)
    # In integers: round(10000 × (close − previous) / previous), half away from zero.
    numerator = 2 * BP * (close - previous)
    denominator = 2 * previous
    magnitude = (np.abs(numerator) + previous) // denominator
    return np.sign(numerator) * magnitude


def deviation_bp(closes_fen: np.ndarray, index_closes: np.ndarray) -> np.ndarray:
    """Daily close-price deviation from the index, in basis points, for days 1..T−1.

    ``closes_fen``: (n, T) closes in fen; ``index_closes``: (T,) index closes (any integer unit).
    Returns (n, T−1): column j is day j+1's deviation.
    """
    stock = daily_change_bp(closes_fen[:, 1:], closes_fen[:, :-1])
    index = daily_change_bp(index_closes[1:], index_closes[:-1])
    return stock - index[np.newaxis, :]


def cumulative(values: np.ndarray, days: int, fresh: np.ndarray | None = None) -> np.ndarray:
    """Sum of the last ``days`` columns; with ``fresh`` (per row), only the last ``fresh`` days."""
    window = values[:, -days:]
    if fresh is None:
        return window.sum(axis=1)
    age = np.arange(window.shape[1] - 1, -1, -1)  # 0 for today
    return np.where(age[np.newaxis, :] < fresh[:, np.newaxis], window, 0).sum(axis=1)


def abnormal_deviation(cum3_bp: np.ndarray, threshold_bp: np.ndarray) -> np.ndarray:
    """+1 (up), −1 (down) or 0: the 3-day cumulative deviation reaches ±threshold."""
    return np.where(cum3_bp >= threshold_bp, 1, np.where(cum3_bp <= -threshold_bp, -1, 0))


def abnormal_turnover(
    volume: np.ndarray, float_shares: np.ndarray, *, ratio: int = 30, cumulative_bp: int = 2000
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hit, ratio of averages, 3-day cumulative turnover in bp) from (n, ≥ 8) daily volumes.

    Exact in integers: avg3 ≥ ratio × avg5  ⇔  5·Σ3 ≥ 3·ratio·Σ5, and Σ3 / float ≥ cumulative.
    With no volume at all in the previous 5 days the ratio is infinite (a new listing or a
    resumption); such rows count only on the cumulative test.
    """
    last3 = volume[:, -3:].sum(axis=1)
    prev5 = volume[:, -8:-3].sum(axis=1)
    floats = np.asarray(float_shares, dtype=np.int64)
    enough_ratio = 5 * last3 >= 3 * ratio * prev5
    enough_total = (floats > 0) & (last3 * BP >= cumulative_bp * floats)
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = np.where(prev5 > 0, (last3 / 3) / (prev5 / 5), np.inf)
        total_bp = np.where(floats > 0, last3 * BP // np.maximum(floats, 1), 0)
    return enough_ratio & enough_total & (last3 > 0), observed, total_bp


def severe_deviation(cum_bp: np.ndarray, up_bp: int, down_bp: int) -> np.ndarray:
    """+1, −1 or 0: the cumulative deviation reaches +up or −down (both given positive)."""
    return np.where(cum_bp >= up_bp, 1, np.where(cum_bp <= -down_bp, -1, 0))


def repeated(directions: np.ndarray, times: np.ndarray) -> np.ndarray:
    """+1/−1/0: abnormal fluctuations in one direction at least ``times`` (per row) within the
    window given as the (n, 10) directions of the last 10 days (+1, −1, 0)."""
    ups = (directions > 0).sum(axis=1)
    downs = (directions < 0).sum(axis=1)
    return np.where(ups >= times, 1, np.where(downs >= times, -1, 0))


def volume_spike(
    today: np.ndarray, average: np.ndarray, elapsed: float, *, floor: float = 0.125
) -> np.ndarray:
    """Today's volume so far as a multiple of the 20-day average, pro rata to the share of the
    session elapsed (at least ``floor``, so the first minutes do not look like a spike)."""
    expected = np.asarray(average, dtype=np.float64) * max(elapsed, floor)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(expected > 0, today / expected, 0.0)


def realised_volatility(log_returns: np.ndarray, days_per_year: int = 240) -> np.ndarray:
    """Annualised volatility from (n, k) daily log returns (sample standard deviation)."""
    if log_returns.shape[1] < 2:
        return np.zeros(log_returns.shape[0])
    return log_returns.std(axis=1, ddof=1) * np.sqrt(days_per_year)


def at_limit_down(price_fen: np.ndarray, limit_down_fen: np.ndarray) -> np.ndarray:
    return np.asarray(price_fen) <= np.asarray(limit_down_fen)
