"""Monitoring as data arrives: the risk runner calls ``observe_tick`` after every applied tick.

A ``Monitor`` turns a tick into arrays for the ``Surveillance``, applies the resulting signals
as alerts, closes the day (daily bars kept, the exchange rules evaluated on the closes) when
the first tick of a new day arrives, and evaluates the book signals from the engine's arrays
every few seconds, keeping a snapshot every few minutes of market time for the board's charts.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache

from margin import rules as margin_rules
from monitoring import alerts, book, thresholds
from monitoring import partitions as partitions_
from monitoring.models import BookSnapshot, DailyBar
from monitoring.surveillance import (
    INDEX_BASE,
    INDEX_CODE,
    PAST_DEV,
    PAST_DIR,
    PAST_VOL,
    History,
    InstrumentInfo,
    Pass,
    Surveillance,
)
from portal import calendars

logger = logging.getLogger(__name__)
NEAREST_KEY = "monitoring:nearest-call"
LATEST_KEY = "monitoring:book:latest"  # the last combined book, with its partition coverage


def session_elapsed(at: datetime.datetime, calendar: Any = None) -> float:
    """Share (0–1) of the day's trading session gone by at ``at``."""
    calendar = calendar or calendars.trading_calendar()
    local = at.astimezone(calendars.SHANGHAI)
    total = gone = 0.0
    for opens, closes in calendar.open_intervals(local.date()):
        length = (closes - opens).total_seconds()
        total += length
        gone += min(max((local - opens).total_seconds(), 0.0), length)
    return gone / total if total else 1.0


def info_of(instrument: Any) -> InstrumentInfo:
    return InstrumentInfo(
        code=instrument.code,
        board=str(instrument.board),
        is_st=instrument.is_st,
        sector=instrument.sector,
        float_shares=instrument.float_shares,
        suspended=bool(instrument.suspension),
    )


def load_history(codes: Sequence[str], before: datetime.date | None = None) -> History:
    """The past days the rules need, from the daily bars kept (before ``before``)."""
    n = len(codes)
    history = History.empty(n)
    bars = DailyBar.objects.filter(code__in=[*codes, INDEX_CODE])
    if before is not None:
        bars = bars.filter(day__lt=before)
    days = sorted(set(bars.values_list("day", flat=True)))[-(PAST_DEV + 1) :]
    if len(days) < 1:
        return history
    column = {day: i for i, day in enumerate(days)}
    row = {code: i for i, code in enumerate(codes)}
    closes = np.zeros((n, len(days)), dtype=np.int64)
    volume = np.zeros((n, len(days)), dtype=np.int64)
    index = np.zeros(len(days), dtype=np.int64)
    for code, day, close, vol in bars.filter(day__in=days).values_list(
        "code", "day", "close", "volume"
    ):
        if code == INDEX_CODE:
            index[column[day]] = int(close * 10_000)
        elif code in row:
            closes[row[code], column[day]] = margin_rules.to_fen(
                close.quantize(Decimal("0.01")), code
            )
            volume[row[code], column[day]] = vol
    index = np.where(index > 0, index, INDEX_BASE)
    known = (closes > 0).sum(axis=1)
    safe = np.maximum(closes, 1)
    from monitoring import rules

    if len(days) >= 2:
        dev = rules.deviation_bp(safe, index)
        dev = np.where((closes[:, 1:] > 0) & (closes[:, :-1] > 0), dev, 0)
        take = min(PAST_DEV, dev.shape[1])
        history.deviation_bp[:, -take:] = dev[:, -take:]
        returns = np.log(safe[:, 1:] / safe[:, :-1])
        returns = np.where((closes[:, 1:] > 0) & (closes[:, :-1] > 0), returns, 0.0)
        take = min(PAST_VOL, returns.shape[1])
        history.log_return[:, -take:] = returns[:, -take:]
        # Directions of past abnormal fluctuations are recomputed from the deviations.
        for j in range(max(dev.shape[1] - PAST_DIR, 0), dev.shape[1]):
            cum = dev[:, max(j - 2, 0) : j + 1].sum(axis=1)
            history.direction[:, PAST_DIR - (dev.shape[1] - j)] = np.sign(cum) * (
                np.abs(cum) >= 2000
            )
    take = min(PAST_VOL, volume.shape[1])
    history.volume[:, -take:] = volume[:, -take:]
    history.days = known.astype(np.int64)
    history.index_level = int(index[-1])
    return history


class Monitor:
    """Market monitoring over one set of instruments (the runner's, a drill's, a bench's)."""

    def __init__(
        self,
        instruments: Sequence[Any],
        *,
        table: thresholds.Table | None = None,
        history: History | None = None,
        record: bool = True,
    ) -> None:
        self.codes = [i.code for i in instruments]
        self.row = {code: i for i, code in enumerate(self.codes)}
        self.instruments = {i.code: i for i in instruments}
        self.table = table or thresholds.load()
        self.record = record
        closes = np.array([margin_rules.to_fen(i.previous_close, i.code) for i in instruments])
        self.surveillance = Surveillance(
            [info_of(i) for i in instruments],
            thresholds=self.table,
            previous_close_fen=closes,
            limit_down_fen=self._limit_down(instruments),
            history=history if history is not None else load_history(self.codes),
        )
        price = [margin_rules.to_fen(i.price, i.code) for i in instruments]
        self.surveillance.price = np.array(price, dtype=np.int64)
        self.day: datetime.date | None = None
        self.last_book = 0.0
        self.last_snapshot: datetime.datetime | None = None
        self.raised = 0

    @staticmethod
    def _limit_down(instruments: Sequence[Any]) -> np.ndarray:
        return np.array(
            [margin_rules.to_fen(i.price_limits()[0], "limit") for i in instruments], dtype=np.int64
        )

    def tick(
        self,
        prices: Mapping[str, Decimal],
        volumes: Mapping[str, int],
        at: datetime.datetime,
        *,
        new_day_closes: Mapping[str, Decimal] | None = None,
        ewma: np.ndarray | None = None,
    ) -> Pass:
        day = at.astimezone(calendars.SHANGHAI).date()
        if new_day_closes or (self.day is not None and day != self.day):
            self.close_day(at, new_day_closes or {})
        self.day = day
        price = self.surveillance.price.copy()
        volume = np.zeros(len(self.codes), dtype=np.int64)
        for code, value in prices.items():
            i = self.row.get(code)
            if i is not None:
                price[i] = margin_rules.to_fen(value, code)
        for code, shares in volumes.items():
            i = self.row.get(code)
            if i is not None:
                volume[i] = shares
        result = self.surveillance.observe(
            price, volume, elapsed=session_elapsed(at), ewma_volatility=ewma
        )
        self._apply(result, at)
        return result

    def close_day(self, at: datetime.datetime, closes: Mapping[str, Decimal]) -> Pass | None:
        """The day ends: evaluate on the closes, keep the bars, start the next day."""
        if self.day is None:
            return None
        result, bars = self.surveillance.close_day()
        self._apply(result, at)
        if self.record:
            self._keep_bars(self.day, bars)
        previous = self.surveillance.price.copy()
        for code, close in closes.items():
            i = self.row.get(code)
            if i is not None:
                previous[i] = margin_rules.to_fen(close, code)
        limits = []
        for code, fen in zip(self.codes, previous.tolist(), strict=True):
            instrument = self.instruments[code]
            low, _high = margin_rules.price_limits(
                previous_close=margin_rules.from_fen(fen),
                board=instrument.board,
                is_st=instrument.is_st,
            )
            limits.append(margin_rules.to_fen(low, "limit"))
        self.surveillance.start_day(previous, np.array(limits, dtype=np.int64))
        return result

    def _keep_bars(self, day: datetime.date, bars: dict) -> None:
        rows = [
            DailyBar(
                code=code,
                day=day,
                close=margin_rules.from_fen(close),
                volume=volume,
                turnover=margin_rules.from_fen(close * volume),
                float_shares=self.instruments[code].float_shares,
            )
            for code, close, volume in zip(
                self.codes, bars["close_fen"].tolist(), bars["volume"].tolist(), strict=True
            )
        ]
        rows.append(DailyBar(code=INDEX_CODE, day=day, close=Decimal(bars["index_level"]) / 10_000))
        DailyBar.objects.bulk_create(rows, ignore_conflicts=True)

    def _apply(self, result: Pass, at: datetime.datetime) -> None:
        if self.record:
            self.raised += len(alerts.signals_apply(result, at=at))

    def refresh_thresholds(self) -> bool:
        """Pick up approved threshold changes; True if any changed."""
        table = thresholds.load()
        if table.rows == self.table.rows:
            return False
        self.table = self.surveillance.thresholds = table
        self.surveillance.refresh_thresholds()
        return True

    def book(
        self,
        engine: Any,
        at: datetime.datetime,
        *,
        force: bool = False,
        partitions: int = 1,
    ) -> book.BookView:
        """Evaluate the book: this engine's partial, plus the other partitions' from the cache
        when the engine is partitioned (this monitor runs in partition 0)."""
        sector_of = {code: i.sector for code, i in self.instruments.items()}
        own = book.partial_of(engine.book(), partition=0, partitions=partitions, at=at)
        parts, coverage = [own], None
        if partitions > 1:
            parts, coverage = partitions_.partials_collect(own)
        view = book.combine(parts, sector_of=sector_of, thresholds=self.table)
        if coverage is not None:
            view.values["partitions"] = coverage
        if self.record:
            self._apply(view.result, at)
            cache.set(NEAREST_KEY, view.nearest, 3600)
            cache.set(LATEST_KEY, {"at": at, "values": view.values}, 3600)
            every = datetime.timedelta(minutes=settings.MONITORING_SNAPSHOT_EVERY_MINUTES)
            if force or self.last_snapshot is None or at - self.last_snapshot >= every:
                BookSnapshot.objects.create(at=at, values=view.values)
                self.last_snapshot = at
        return view


_monitors: dict[int, Monitor] = {}
_last_partial: dict[int, float] = {}


def observe_tick(*, runner: Any, tick: Any, accepted: Mapping[str, Decimal]) -> None:
    """The runner's observer (``settings.MARGIN_TICK_OBSERVERS``). Partition 0's runner holds
    the platform's one monitor; every other partition only leaves its share of the book
    for it (``monitoring.partitions``)."""
    partition = getattr(runner, "partition", 0)
    count = getattr(runner, "partitions", 1)
    now = time.monotonic()
    if partition != 0:
        if now - _last_partial.get(id(runner), -1e18) >= settings.MONITORING_BOOK_EVERY_SECONDS:
            _last_partial[id(runner)] = now
            partitions_.partial_publish(
                book.partial_of(
                    runner.engine.book(), partition=partition, partitions=count, at=tick.at
                )
            )
        return
    monitor = _monitors.get(id(runner))
    if monitor is None or set(monitor.codes) != set(runner.instruments):
        monitor = _monitors[id(runner)] = Monitor(list(runner.instruments.values()))
    volumes = {row.code: row.volume for row in tick.rows if row.code in accepted}
    ewma = runner.ewma.volatility() if getattr(runner, "ewma", None) is not None else None
    if ewma is not None and len(ewma) != len(monitor.codes):
        ewma = None  # the runner added an instrument since its EWMA began
    monitor.tick(accepted, volumes, tick.at, new_day_closes=tick.new_day_closes, ewma=ewma)
    if now - monitor.last_book >= settings.MONITORING_BOOK_EVERY_SECONDS:
        monitor.last_book = now
        monitor.refresh_thresholds()
        monitor.book(runner.engine, tick.at, partitions=count)
