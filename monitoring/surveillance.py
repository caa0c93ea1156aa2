"""Instrument and market signals, computed as each tick arrives, vectorised over all instruments.

A ``Surveillance`` holds, per instrument, the past days it needs (29 daily deviations, 20 daily
volumes and log returns, 9 days of abnormal-fluctuation directions) and today's running volume.
At the start of a day the past parts of every window are summed once, so a tick costs a handful
of array operations over the instruments (5,000 instruments: well under a millisecond each).

The exchange rules are about closing prices: during the day they are evaluated on the price so
far, as a provisional early warning (``inputs["provisional"]``); ``close_day`` evaluates them on
the close, which is what the exchange would publish, and rolls the windows.

The platform index is the float-weighted average of the instruments' moves (the book's own
market, not an official index); its level is kept in units of 0.0001 points from base 1000.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from monitoring import rules
from monitoring.thresholds import Table

INDEX_CODE = "INDEX"
INDEX_BASE = 10_000_000  # 1000.0000 points
PAST_DEV = 29
PAST_VOL = 20
PAST_DIR = 9


@dataclass(frozen=True)
class InstrumentInfo:
    code: str
    board: str
    is_st: bool = False
    sector: str = ""
    float_shares: int = 0
    suspended: bool = False


@dataclass(frozen=True)
class Signal:
    """A signal over its threshold: the rule, what it is about, its value and its inputs."""

    rule: str
    subject_kind: str  # "instrument", "sector", "market" or "book"
    subject: str
    level: str
    value: Decimal
    threshold: Decimal
    inputs: dict[str, Any] = field(default_factory=dict)
    condition: str = ""  # the dedup key when not rule:subject (an external event is its own)

    @property
    def key(self) -> str:
        return self.condition or f"{self.rule}:{self.subject}"


@dataclass
class Pass:
    """One evaluation: the signals over threshold, and the rules evaluated (so an open alert of
    an evaluated rule whose condition is absent can be marked as ended)."""

    signals: list[Signal]
    rules: set[str]


@dataclass
class History:
    """Past days per instrument, most recent last (zeros where unknown)."""

    deviation_bp: np.ndarray  # (n, 29)
    volume: np.ndarray  # (n, 20)
    log_return: np.ndarray  # (n, 20)
    direction: np.ndarray  # (n, 9)
    fresh: np.ndarray  # (n,) past days still counted in the 3-day window (0–2)
    days: np.ndarray  # (n,) past days known
    index_level: int = INDEX_BASE

    @classmethod
    def empty(cls, n: int) -> History:
        return cls(
            deviation_bp=np.zeros((n, PAST_DEV), dtype=np.int64),
            volume=np.zeros((n, PAST_VOL), dtype=np.int64),
            log_return=np.zeros((n, PAST_VOL)),
            direction=np.zeros((n, PAST_DIR), dtype=np.int8),
            fresh=np.full(n, 2, dtype=np.int64),
            days=np.zeros(n, dtype=np.int64),
        )


def _d(value: Any) -> Decimal:
    if isinstance(value, float):
        return Decimal(f"{value:.4f}") if np.isfinite(value) else Decimal("9999")
    return Decimal(int(value))


class Surveillance:
    def __init__(
        self,
        instruments: Sequence[InstrumentInfo],
        *,
        thresholds: Table,
        previous_close_fen: np.ndarray,
        limit_down_fen: np.ndarray,
        history: History | None = None,
    ) -> None:
        self.instruments = list(instruments)
        self.codes = [i.code for i in self.instruments]
        n = len(self.instruments)
        self.thresholds = thresholds
        self.history = history or History.empty(n)
        self.classes = [rules.board_class(i.board, i.is_st) for i in self.instruments]
        self.float = np.array([i.float_shares for i in self.instruments], dtype=np.int64)
        self.weights = np.maximum(self.float, 1).astype(np.float64)
        self.suspended = np.array([i.suspended for i in self.instruments], dtype=bool)
        sectors = sorted({i.sector for i in self.instruments if i.sector})
        self.sectors = sectors
        self.sector_of = np.array(
            [sectors.index(i.sector) if i.sector else len(sectors) for i in self.instruments]
        )
        self.refresh_thresholds()
        self.start_day(previous_close_fen, limit_down_fen)

    # --- thresholds -------------------------------------------------------------------------------

    def _per_class(self, rule: str, default: str) -> np.ndarray:
        return np.array(
            [int(self.thresholds.value(rule, c, Decimal(default))) for c in self.classes],
            dtype=np.int64,
        )

    def refresh_thresholds(self) -> None:
        """Per-instrument thresholds from ``self.thresholds`` (after a change is approved)."""
        t = self.thresholds
        self.dev3 = self._per_class("abnormal_deviation_3d", "2000")
        self.repeat = self._per_class("severe_repeat_10d", "4")
        main = np.array([c == "main" for c in self.classes], dtype=bool)  # bool even when empty
        self.turnover_on = main & (t.get("abnormal_turnover_ratio", "main") is not None)
        self.turnover_ratio = int(t.value("abnormal_turnover_ratio", "main", Decimal(30)))
        self.turnover_total = int(t.value("abnormal_turnover_total", "main", Decimal(2000)))

    def _level(self, rule: str, scope: str = "all") -> str | None:
        found = self.thresholds.get(rule, scope)
        return found.level if found else None

    # --- the day ----------------------------------------------------------------------------------

    def start_day(self, previous_close_fen: np.ndarray, limit_down_fen: np.ndarray) -> None:
        """New trading day: sum the past part of every window once."""
        h = self.history
        self.previous_close = np.asarray(previous_close_fen, dtype=np.int64)
        self.limit_down = np.asarray(limit_down_fen, dtype=np.int64)
        self.price = self.previous_close.copy()
        self.volume_today = np.zeros(len(self.codes), dtype=np.int64)
        self.index_previous = h.index_level
        self._index_base_value = float((self.previous_close * self.weights).sum()) or 1.0
        age = np.arange(1, -1, -1)  # the two most recent past days: ages 1 and 0 (yesterday)
        recent = h.deviation_bp[:, -2:]
        self.past2 = np.where(age[np.newaxis, :] < h.fresh[:, np.newaxis], recent, 0).sum(axis=1)
        self.past9 = h.deviation_bp[:, -9:].sum(axis=1)
        self.past29 = h.deviation_bp.sum(axis=1)
        self.vol_past2 = h.volume[:, -2:].sum(axis=1)
        self.vol_prev5 = h.volume[:, -7:-2].sum(axis=1)
        known = np.minimum(h.days, PAST_VOL)
        self.vol_avg20 = h.volume.sum(axis=1) / np.maximum(known, 1)
        self.rv20 = np.zeros(len(self.codes))
        for k in np.unique(known[known >= 5]).tolist():  # one pass per history length
            rows = known == k
            self.rv20[rows] = rules.realised_volatility(h.log_return[rows, -k:])

    def index_level(self) -> int:
        value = float((self.price * self.weights).sum())
        return round(self.index_previous * value / self._index_base_value)

    def observe(
        self,
        price_fen: np.ndarray | None = None,
        volume: np.ndarray | None = None,
        *,
        elapsed: float = 1.0,
        ewma_volatility: np.ndarray | None = None,
        provisional: bool = True,
    ) -> Pass:
        """Fold in one tick (prices in fen for every instrument, volume traded since the last
        tick) and evaluate every rule on the prices so far."""
        if price_fen is not None:
            self.price = np.asarray(price_fen, dtype=np.int64)
        if volume is not None:
            self.volume_today += np.asarray(volume, dtype=np.int64)
        return self._evaluate(elapsed, ewma_volatility, provisional)

    def close_day(self, *, ewma_volatility: np.ndarray | None = None) -> tuple[Pass, dict]:
        """Evaluate on the closes, roll the windows, and return the day's bars."""
        result = self._evaluate(1.0, ewma_volatility, provisional=False)
        h = self.history
        index_now = self.index_level()
        dev = self._deviation(index_now)
        direction = self._direction
        bars = {
            "close_fen": self.price.copy(),
            "volume": self.volume_today.copy(),
            "index_level": index_now,
        }
        h.deviation_bp = np.concatenate([h.deviation_bp[:, 1:], dev[:, None]], axis=1)
        h.volume = np.concatenate([h.volume[:, 1:], self.volume_today[:, None]], axis=1)
        returns = np.log(np.maximum(self.price, 1) / np.maximum(self.previous_close, 1))
        h.log_return = np.concatenate([h.log_return[:, 1:], returns[:, None]], axis=1)
        h.direction = np.concatenate([h.direction[:, 1:], direction[:, None]], axis=1)
        # Days that made an abnormal fluctuation are not counted again.
        h.fresh = np.where(direction != 0, 0, np.minimum(h.fresh + 1, 2))
        h.days = h.days + 1
        h.index_level = index_now
        return result, bars

    # --- evaluation -------------------------------------------------------------------------------

    def _deviation(self, index_now: int) -> np.ndarray:
        index_bp = int(
            rules.daily_change_bp(np.array([index_now]), np.array([self.index_previous]))[0]
        )
        self._index_bp = index_bp
        return rules.daily_change_bp(self.price, self.previous_close) - index_bp

    def _evaluate(self, elapsed: float, ewma: np.ndarray | None, provisional: bool) -> Pass:
        signals: list[Signal] = []
        evaluated: set[str] = set()
        index_now = self.index_level()
        dev = self._deviation(index_now)
        cum3, cum10, cum30 = self.past2 + dev, self.past9 + dev, self.past29 + dev
        self._direction = rules.abnormal_deviation(cum3, self.dev3).astype(np.int8)
        base = {"provisional": provisional}

        def add(rule: str, rows: np.ndarray, values, threshold, inputs_of, scope_of=None) -> None:
            evaluated.add(rule)
            for i in np.flatnonzero(rows).tolist():
                if rule.startswith("severe_deviation"):
                    level = self._level(f"{rule}_up" if values[i] > 0 else f"{rule}_down")
                elif rule == "abnormal_turnover_3d":
                    level = self._level("abnormal_turnover_ratio", "main")
                else:
                    level = self._level(rule, scope_of(i) if scope_of else "all")
                if level is None:
                    continue
                signals.append(
                    Signal(
                        rule=rule,
                        subject_kind="instrument",
                        subject=self.codes[i],
                        level=level,
                        value=_d(values[i]),
                        threshold=_d(
                            threshold[i] if isinstance(threshold, np.ndarray) else threshold
                        ),
                        inputs={**base, **inputs_of(i)},
                    )
                )

        classes = self.classes
        add(
            "abnormal_deviation_3d",
            self._direction != 0,
            cum3,
            self.dev3,
            lambda i: {
                "class": classes[i],
                "today_bp": int(dev[i]),
                "index_bp": self._index_bp,
                "previous_days_bp": int(self.past2[i]),
                "days_counted": min(int(self.history.fresh[i]), 2) + 1,
                "direction": int(self._direction[i]),
            },
            lambda i: classes[i],
        )
        up10, down10 = self._pair("severe_deviation_10d", 10000, 5000)
        up30, down30 = self._pair("severe_deviation_30d", 20000, 7000)
        for name, cum, up, down in (
            ("severe_deviation_10d", cum10, up10, down10),
            ("severe_deviation_30d", cum30, up30, down30),
        ):
            hit = rules.severe_deviation(cum, up, down)
            add(
                name,
                hit != 0,
                cum,
                np.where(hit > 0, up, -down),
                lambda i, cum=cum: {"cumulative_bp": int(cum[i]), "today_bp": int(dev[i])},
            )
        window = np.concatenate([self.history.direction, self._direction[:, None]], axis=1)
        repeat = rules.repeated(window, self.repeat)
        add(
            "severe_repeat_10d",
            repeat != 0,
            np.where(repeat >= 0, (window > 0).sum(axis=1), (window < 0).sum(axis=1)),
            self.repeat,
            lambda i: {"directions": window[i].tolist()},
            lambda i: classes[i],
        )
        known = self.history.days
        if self.turnover_on.any():
            volume8 = np.concatenate(
                [self.history.volume[:, -7:], self.volume_today[:, None]], axis=1
            )
            hit, ratio, total = rules.abnormal_turnover(
                volume8,
                self.float,
                ratio=self.turnover_ratio,
                cumulative_bp=self.turnover_total,
            )
            add(
                "abnormal_turnover_3d",
                hit & self.turnover_on & (known >= 7),
                ratio,
                np.full(len(self.codes), self.turnover_ratio),
                lambda i: {
                    "volume_3d": int(volume8[i, -3:].sum()),
                    "volume_prev_5d": int(volume8[i, :5].sum()),
                    "float_shares": int(self.float[i]),
                    "turnover_3d_bp": int(total[i]),
                    "ratio_threshold": self.turnover_ratio,
                    "total_threshold_bp": self.turnover_total,
                },
            )
        spike_at = float(self.thresholds.value("volume_spike", "all", Decimal(5)))
        spike = rules.volume_spike(self.volume_today, self.vol_avg20, elapsed)
        add(
            "volume_spike",
            (spike >= spike_at) & (known >= 5),
            spike,
            np.full(len(self.codes), spike_at),
            lambda i: {
                "volume_today": int(self.volume_today[i]),
                "average_20d": round(float(self.vol_avg20[i]), 1),
                "session_elapsed": round(elapsed, 3),
            },
        )
        if ewma is not None:
            jump_at = float(self.thresholds.value("volatility_jump", "all", Decimal(2)))
            with np.errstate(divide="ignore", invalid="ignore"):
                jump = np.where(self.rv20 > 0, ewma / self.rv20, 0.0)
            add(
                "volatility_jump",
                (jump >= jump_at) & (known >= 5),
                jump,
                np.full(len(self.codes), jump_at),
                lambda i: {
                    "ewma_volatility": round(float(ewma[i]), 4),
                    "realised_20d": round(float(self.rv20[i]), 4),
                },
            )
        down = rules.at_limit_down(self.price, self.limit_down) & ~self.suspended
        add(
            "limit_down",
            down,
            self.price,
            self.limit_down,
            lambda i: {"price_fen": int(self.price[i]), "limit_down_fen": int(self.limit_down[i])},
        )
        add("suspension", self.suspended, np.ones(len(self.codes)), 1, lambda i: {})
        signals.extend(self._sector_and_market(down, evaluated, base))
        return Pass(signals, evaluated)

    def _pair(self, rule: str, up: int, down: int) -> tuple[int, int]:
        t = self.thresholds
        return (
            int(t.value(f"{rule}_up", "all", Decimal(up))),
            int(t.value(f"{rule}_down", "all", Decimal(down))),
        )

    def _sector_and_market(self, down: np.ndarray, evaluated: set[str], base: dict) -> list[Signal]:
        signals: list[Signal] = []
        evaluated.update({"limit_down_cluster", "index_drop", "index_drop_severe"})
        cluster = self.thresholds.get("limit_down_cluster")
        if cluster is not None and self.sectors:
            counts = np.bincount(self.sector_of[down], minlength=len(self.sectors) + 1)
            sizes = np.bincount(self.sector_of, minlength=len(self.sectors) + 1)
            for s in np.flatnonzero(counts[:-1] >= int(cluster.value)).tolist():
                codes = [self.codes[i] for i in np.flatnonzero(down & (self.sector_of == s))]
                signals.append(
                    Signal(
                        "limit_down_cluster",
                        "sector",
                        self.sectors[s],
                        cluster.level,
                        _d(counts[s]),
                        cluster.value,
                        {**base, "at_limit_down": codes[:50], "sector_size": int(sizes[s])},
                    )
                )
        fall = -self._index_bp
        for rule in ("index_drop_severe", "index_drop"):
            found = self.thresholds.get(rule)
            if found is not None and fall >= int(found.value):
                signals.append(
                    Signal(
                        rule,
                        "market",
                        "market",
                        found.level,
                        _d(fall),
                        found.value,
                        {**base, "index_bp": self._index_bp, "index_level": self.index_level()},
                    )
                )
        return signals
