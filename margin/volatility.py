"""EWMA volatility (RiskMetrics, λ = 0.94) per instrument and for the market, and the regime.

The variance is kept as a rate per year, so ticks of any spacing can be folded in:
v ← λ·v + (1 − λ)·r² / Δt, with r the log return over Δt years. Volatility is √v.
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np

LAMBDA = 0.94
TRADING_MINUTES_PER_YEAR = 240 * 240  # 240 trading days of 4 hours
WARM_UP = 30  # observations before a regime may be proposed
# Market volatility (annualised) at or above which each regime applies.
REGIME_THRESHOLDS = (("stressed", 0.55), ("elevated", 0.30))


class Ewma:
    def __init__(self, symbols: int, *, lam: float = LAMBDA) -> None:
        if not 0 < lam < 1:
            raise ValueError("λ must be in (0, 1)")
        self.lam = lam
        self.variance = np.zeros(symbols)
        self.market_variance = 0.0
        self.observations = 0

    def update(self, log_returns: np.ndarray, years: float) -> None:
        """Fold in one tick's log returns over ``years`` (all symbols; 0 for unmoved ones)."""
        if years <= 0:
            return
        self.variance = self.lam * self.variance + (1 - self.lam) * log_returns**2 / years
        market = float(log_returns.mean()) if len(log_returns) else 0.0
        self.market_variance = self.lam * self.market_variance + (1 - self.lam) * market**2 / years
        self.observations += 1

    @property
    def market_volatility(self) -> float:
        return math.sqrt(self.market_variance)

    def volatility(self) -> np.ndarray:
        return np.sqrt(self.variance)


def regime_for(market_volatility: float) -> str:
    for regime, threshold in REGIME_THRESHOLDS:
        if market_volatility >= threshold:
            return regime
    return "normal"


def as_decimal(volatility: float) -> Decimal:
    return Decimal(f"{min(volatility, 9999.0):.4f}")
