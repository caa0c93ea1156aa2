"""Market feeds behind one interface: each ``poll()`` returns the rows of the next tick.

- ``SimulatedFeed``: deterministic from a seed. Geometric Brownian motion per instrument with a
  market factor and volatility regimes (normal, elevated, stressed) that switch day by day,
  prices clipped to the daily limit, and bad-news days that lock a stock at limit-down for the
  rest of the session (more often in stressed regimes), and a clock that walks
  the Shanghai exchange's sessions (09:30–11:30, 13:00–15:00 on XSHG trading days) at
  ``step`` of market time per tick. Volume per tick (shares) and turnover (yuan) come from a
  base daily turnover rate of the float, with lognormal noise, days of heavy trading (volume
  spikes), sector moves (a whole sector drifting together for a day) and limit-down clusters (a
  whole sector locked at limit-down). These draws come from a second generator seeded from the
  same seed, so the price path of a feed without float shares or sectors is what it always was.
- ``ReplayFeed``: rows ``time,code,price[,volume,turnover]`` from a CSV file, grouped by time;
  the first tick of a new day carries the previous day's last prices as its closes.
- ``ManualFeed``: rows handed in by a test or an operator.

A feed only reports; the runner checks every row (known code, a positive price in fen inside
the day's limits, later than the last accepted price of that code) and logs and drops the rest.
"""

from __future__ import annotations

import csv
import datetime
import math
import queue
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Protocol

import numpy as np

from margin import rules
from portal import calendars

TRADING_MINUTES_PER_YEAR = 240 * 240  # 240 trading days of 4 hours


@dataclass(frozen=True)
class FeedRow:
    """One reported price. ``price`` is as the source gave it: the runner validates it."""

    code: str
    price: object
    at: datetime.datetime
    volume: int = 0  # shares traded since the previous row of this code
    turnover: Decimal = Decimal("0.00")  # yuan traded since the previous row of this code


@dataclass(frozen=True)
class Tick:
    at: datetime.datetime
    rows: list[FeedRow]
    # Set on the first tick of a new trading day: the closes the new limits are computed from.
    new_day_closes: Mapping[str, Decimal] | None = None


class Feed(Protocol):
    def poll(self) -> Tick | None:
        """The next tick, or None when there is none yet (or the source has ended)."""


@dataclass(frozen=True)
class SimInstrument:
    code: str
    previous_close: Decimal
    board: str
    is_st: bool = False
    beta: float = 1.0
    last: Decimal | None = None  # today's price so far; the previous close if None
    float_shares: int = 0  # 0: no volume is simulated for it
    sector: str = ""


class SimulatedFeed:
    """GBM with regime switching, on the exchange's sessions, deterministic from ``seed``."""

    # Annualised volatility per regime, and the chance each day of moving to each regime.
    REGIME_VOL = {"normal": 0.22, "elevated": 0.40, "stressed": 0.75}
    REGIME_SWITCH = {
        "normal": {"normal": 0.90, "elevated": 0.08, "stressed": 0.02},
        "elevated": {"normal": 0.25, "elevated": 0.65, "stressed": 0.10},
        "stressed": {"normal": 0.05, "elevated": 0.35, "stressed": 0.60},
    }
    # Chance per instrument per day of bad news that sends it to limit-down and locks it there
    # for the rest of the day (sellers queue, nobody buys), by regime.
    LOCK_PER_DAY = {"normal": 0.005, "elevated": 0.02, "stressed": 0.06}
    # Volume: a typical A-share turns over about 1.5% of its float a day; each day a few stocks
    # trade several times their usual amount (news, index rebalancing, speculation).
    BASE_TURNOVER = 0.015
    SPIKE_PER_DAY = {"normal": 0.01, "elevated": 0.03, "stressed": 0.05}
    SPIKE_SIZE = (4.0, 40.0)  # multiple of the usual volume on a spike day, log-uniform
    # Chance per sector per day of a sector move (drift of ±2–5% over the day), and of a
    # limit-down cluster (the whole sector locked at limit-down, e.g. after a policy shock).
    SECTOR_MOVE_PER_DAY = {"normal": 0.05, "elevated": 0.10, "stressed": 0.20}
    SECTOR_CLUSTER_PER_DAY = {"normal": 0.002, "elevated": 0.01, "stressed": 0.04}

    def __init__(
        self,
        instruments: Iterable[SimInstrument],
        *,
        seed: int,
        start: datetime.datetime,
        step: datetime.timedelta = datetime.timedelta(minutes=1),
        calendar: calendars.WorkingCalendar | None = None,
        regime: str = "normal",
    ) -> None:
        self.instruments = list(instruments)
        self.rng = np.random.default_rng(seed)
        self.activity_rng = np.random.default_rng([seed, 1])
        self.step = step
        self.calendar = calendar or calendars.trading_calendar()
        self.regime = regime
        self._close = np.array(
            [rules.to_fen(i.previous_close, i.code) for i in self.instruments], dtype=np.int64
        )
        self._fen = np.array(
            [rules.to_fen(i.last or i.previous_close, i.code) for i in self.instruments],
            dtype=np.int64,
        )
        self._beta = np.array([i.beta for i in self.instruments])
        self._locked = np.zeros(len(self.instruments), dtype=bool)
        self._float = np.array([i.float_shares for i in self.instruments], dtype=np.float64)
        sectors = sorted({i.sector for i in self.instruments if i.sector})
        self._sector_of = np.array(
            [sectors.index(i.sector) if i.sector else -1 for i in self.instruments], dtype=np.int64
        )
        self._sectors = sectors
        self._limits_for_day()
        self._activity_for_day()
        self._clock = self._next_open(start.astimezone(calendars.SHANGHAI))
        self._day = self._clock.date()

    @property
    def prices(self) -> dict[str, Decimal]:
        return {
            i.code: rules.from_fen(int(f)) for i, f in zip(self.instruments, self._fen, strict=True)
        }

    def _limits_for_day(self) -> None:
        down, up = [], []
        for instrument, close in zip(self.instruments, self._close.tolist(), strict=True):
            low, high = rules.price_limits(
                previous_close=rules.from_fen(close), board=instrument.board, is_st=instrument.is_st
            )
            down.append(rules.to_fen(low, "limit"))
            up.append(rules.to_fen(high, "limit"))
        self._down, self._up = np.array(down), np.array(up)

    def _next_open(self, moment: datetime.datetime) -> datetime.datetime:
        """``moment`` if the exchange is open then, else the next session's opening."""
        day = moment.date()
        for _i in range(400):
            for opens, closes in self.calendar.open_intervals(day):
                if moment < closes:
                    return max(moment, opens)
            day += datetime.timedelta(days=1)
            moment = datetime.datetime.combine(day, datetime.time(0), calendars.SHANGHAI)
        raise calendars.CalendarError("no trading session within 400 days")

    def poll(self) -> Tick:
        at = self._next_open(self._clock + self.step)
        new_day = None
        if at.date() != self._day:
            self._day = at.date()
            self._close = self._fen.copy()
            self._locked[:] = False
            self._limits_for_day()
            self._switch_regime()
            self._activity_for_day()
            new_day = {
                i.code: rules.from_fen(int(c))
                for i, c in zip(self.instruments, self._close, strict=True)
            }
        self._clock = at
        before = self._fen.copy()
        self._move()
        volume = self._volume(before)
        price_fen = self._fen.tolist()
        return Tick(
            at=at,
            rows=[
                FeedRow(
                    code=i.code,
                    price=rules.from_fen(f),
                    at=at,
                    volume=v,
                    turnover=rules.from_fen(v * f),
                )
                for i, f, v in zip(self.instruments, price_fen, volume.tolist(), strict=True)
            ],
            new_day_closes=new_day,
        )

    def _activity_for_day(self) -> None:
        """Draw the day's volume spikes, sector moves and limit-down clusters."""
        rng, n, k = self.activity_rng, len(self.instruments), len(self._sectors)
        spike = rng.random(n) < self.SPIKE_PER_DAY[self.regime]
        low, high = np.log(self.SPIKE_SIZE[0]), np.log(self.SPIKE_SIZE[1])
        self._volume_factor = np.where(spike, np.exp(rng.uniform(low, high, n)), 1.0)
        moving = rng.random(k) < self.SECTOR_MOVE_PER_DAY[self.regime]
        drift = np.where(moving, rng.choice([-1.0, 1.0], k) * rng.uniform(0.02, 0.05, k), 0.0)
        self._sector_drift = np.append(drift, 0.0)  # index -1: no sector
        self._cluster = np.append(rng.random(k) < self.SECTOR_CLUSTER_PER_DAY[self.regime], False)
        # A cluster starts at a random moment of the session, not at the open.
        self._cluster_at = rng.random()
        self._day_progress = 0.0

    def _volume(self, before: np.ndarray) -> np.ndarray:
        """Shares traded this tick: the usual share of the float, noisy, heavier on big moves
        and spike days, thin once a stock is locked at limit-down (sellers queue, few buy)."""
        steps_per_day = max(240 / (self.step.total_seconds() / 60), 1)
        noise = np.exp(self.activity_rng.normal(-0.125, 0.5, len(self.instruments)))
        dt = self.step.total_seconds() / 60 / TRADING_MINUTES_PER_YEAR
        usual_move = self.REGIME_VOL[self.regime] * math.sqrt(dt)
        move = np.abs(np.log(self._fen / np.maximum(before, 1))) / usual_move
        activity = (0.7 + 0.4 * np.minimum(move, 5)) * self._volume_factor * noise
        activity = np.where(self._locked, 0.05 * activity, activity)
        shares = self._float * self.BASE_TURNOVER / steps_per_day * activity
        return (np.rint(shares / 100) * 100).astype(np.int64)  # whole lots

    def _switch_regime(self) -> None:
        choices = self.REGIME_SWITCH[self.regime]
        self.regime = str(self.rng.choice(list(choices), p=list(choices.values())))

    def _move(self) -> None:
        n = len(self.instruments)
        dt = self.step.total_seconds() / 60 / TRADING_MINUTES_PER_YEAR
        sigma = self.REGIME_VOL[self.regime]
        # Half the variance from the market, half idiosyncratic: stocks fall together in a rout.
        market = self.rng.standard_normal()
        own = self.rng.standard_normal(n)
        shock = (self._beta * market + own) / math.sqrt(2)
        log_return = -0.5 * sigma**2 * dt + sigma * math.sqrt(dt) * shock
        steps_per_day = 240 / (self.step.total_seconds() / 60)
        news = self.rng.random(n) < self.LOCK_PER_DAY[self.regime] / max(steps_per_day, 1)
        self._locked |= news
        if len(self._sectors):
            log_return = log_return + self._sector_drift[self._sector_of] / steps_per_day
            self._day_progress += 1 / max(steps_per_day, 1)
            if self._day_progress >= self._cluster_at:
                self._locked |= self._cluster[self._sector_of]
        moved = np.rint(self._fen * np.exp(log_return)).astype(np.int64)
        moved = np.where(self._locked, self._down, moved)
        self._fen = np.clip(moved, np.maximum(self._down, 1), self._up)


class ReplayFeed:
    """Rows from a CSV file with a header ``time,code,price`` and optionally ``volume`` and
    ``turnover``; one tick per distinct time."""

    def __init__(self, path: Path | str) -> None:
        self._rows = self._read(Path(path))

    @staticmethod
    def _read(path: Path) -> list[Tick]:
        ticks: dict[str, list[FeedRow]] = {}
        with path.open(newline="", encoding="utf-8") as handle:
            for record in csv.DictReader(handle):
                stamp = (record.get("time") or "").strip()
                ticks.setdefault(stamp, []).append(
                    FeedRow(
                        code=(record.get("code") or "").strip(),
                        price=(record.get("price") or "").strip(),
                        at=_parse_time(stamp),
                        volume=_whole(record.get("volume")),
                        turnover=_amount(record.get("turnover")),
                    )
                )
        result: list[Tick] = []
        last: dict[str, object] = {}
        day = None
        for rows in ticks.values():
            at = rows[0].at
            closes = None
            if day is not None and at.astimezone(calendars.SHANGHAI).date() != day:
                closes = _closes(last)
            day = at.astimezone(calendars.SHANGHAI).date()
            last.update({row.code: row.price for row in rows})
            result.append(Tick(at=at, rows=rows, new_day_closes=closes or None))
        return result

    def poll(self) -> Tick | None:
        return self._rows.pop(0) if self._rows else None


def _whole(text: str | None) -> int:
    """A volume; 0 when missing or unreadable (volume only feeds monitoring, never prices)."""
    try:
        return max(int((text or "0").strip()), 0)
    except ValueError:
        return 0


def _amount(text: str | None) -> Decimal:
    try:
        value = Decimal((text or "0").strip())
    except (InvalidOperation, ValueError):
        return Decimal("0.00")
    return value if value.is_finite() and value >= 0 else Decimal("0.00")


def _closes(last: Mapping[str, object]) -> dict[str, Decimal]:
    """The previous day's last readable prices, as the closes the new day's limits start from."""
    closes = {}
    for code, price in last.items():
        try:
            value = Decimal(str(price))
        except InvalidOperation:
            continue
        if value.is_finite() and value > 0:
            closes[code] = value
    return closes


def _parse_time(stamp: str) -> datetime.datetime:
    """An ISO time (naive = Beijing time); the epoch if unreadable, so the row is rejected stale."""
    try:
        moment = datetime.datetime.fromisoformat(stamp)
    except ValueError:
        return datetime.datetime.min.replace(tzinfo=datetime.UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=calendars.SHANGHAI)
    return moment


class ManualFeed:
    """Ticks put in by hand (tests, the embedded demo's operator); thread-safe."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Tick] = queue.SimpleQueue()

    def put(self, prices: Mapping[str, object], at: datetime.datetime | None = None) -> None:
        from django.utils import timezone

        at = at or timezone.now()
        self._queue.put(
            Tick(at=at, rows=[FeedRow(code=c, price=p, at=at) for c, p in prices.items()])
        )

    def poll(self) -> Tick | None:
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            return None
