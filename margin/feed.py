"""Market feeds behind one interface: each ``poll()`` returns the rows of the next tick.

- ``SimulatedFeed``: deterministic from a seed. Geometric Brownian motion per instrument with a
  market factor and volatility regimes (normal, elevated, stressed) that switch day by day,
  prices clipped to the daily limit, and bad-news days that lock a stock at limit-down for the
  rest of the session (more often in stressed regimes), and a clock that walks
  the Shanghai exchange's sessions (09:30–11:30, 13:00–15:00 on XSHG trading days) at
  ``step`` of market time per tick.
- ``ReplayFeed``: rows ``time,code,price`` from a CSV file, grouped by time.
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
from decimal import Decimal
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
        self._limits_for_day()
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
            new_day = {
                i.code: rules.from_fen(int(c))
                for i, c in zip(self.instruments, self._close, strict=True)
            }
        self._clock = at
        self._move()
        return Tick(
            at=at,
            rows=[
                FeedRow(code=i.code, price=rules.from_fen(int(f)), at=at)
                for i, f in zip(self.instruments, self._fen.tolist(), strict=True)
            ],
            new_day_closes=new_day,
        )

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
        moved = np.rint(self._fen * np.exp(log_return)).astype(np.int64)
        moved = np.where(self._locked, self._down, moved)
        self._fen = np.clip(moved, np.maximum(self._down, 1), self._up)


class ReplayFeed:
    """Rows from a CSV file with a header ``time,code,price``; one tick per distinct time."""

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
                    )
                )
        return [Tick(at=rows[0].at, rows=rows) for rows in ticks.values()]

    def poll(self) -> Tick | None:
        return self._rows.pop(0) if self._rows else None


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
