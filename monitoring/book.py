"""Book signals across all clients: exposure concentration per instrument and per sector (share
of the platform's collateral), accounts per margin level, financing against collateral, and the
accounts nearest their call line. The daily ones (net client fund flows, margin calls opened and
met) read the tables.

The risk engine is partitioned by account id, so the book is evaluated in two steps: each
partition's engine reduces its arrays to a ``Partial`` (sums and counts, and its own nearest
candidates), and ``combine`` adds the partials up and evaluates the thresholds once. Everything
a partial carries is an exact integer (shares, fen, counts), so the combined book is the same,
to the last digit, whatever the number of partitions; one engine is the case of one partial.
"""

from __future__ import annotations

import datetime
import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from margin.engine import CALL_SEVERITY, LEVELS, NO_RATIO, Book
from monitoring.surveillance import Pass, Signal
from monitoring.thresholds import Table


@dataclass
class BookView:
    values: dict[str, Any]  # what a BookSnapshot keeps and the board draws
    nearest: list[dict[str, Any]]  # accounts nearest their call line
    result: Pass


@dataclass
class Partial:
    """One partition's share of the book, in integers (fen, shares, counts), picklable."""

    accounts: int
    levels: list[int]  # accounts per level, by severity
    liabilities_fen: int
    assets_fen: int  # cash + positions at their collateral rate
    symbols: tuple[str, ...]  # the engine's symbols (every engine loads every instrument)
    held: np.ndarray  # per symbol: shares held (int64)
    price_fen: np.ndarray  # per symbol: last price
    collateral_bp: np.ndarray  # per symbol: collateral rate
    # The partition's accounts nearest their call line: (ratio − call line in bp, account id,
    # ratio bp, call line bp, severity), smallest first, at most as many as the board shows.
    nearest: list[tuple[int, int, int, int, int]]
    partition: int = 0
    partitions: int = 1
    at: datetime.datetime | None = None  # the market time of the tick it was taken at
    meta: dict[str, Any] = field(default_factory=dict)


def _d(value: float, places: int = 4) -> Decimal:
    return Decimal(f"{value:.{places}f}")


def partial_of(
    book: Book,
    *,
    nearest: int = 20,
    partition: int = 0,
    partitions: int = 1,
    at: datetime.datetime | None = None,
) -> Partial:
    """Reduce one engine's arrays to its partial aggregates (a few vector operations)."""
    indebted = book.ratio_bp != NO_RATIO
    distance = np.where(indebted, book.ratio_bp - book.call_bp, np.iinfo(np.int64).max)
    k = min(nearest, int(indebted.sum()))
    rows = np.array([], dtype=np.int64)
    if k:
        # All rows up to the k-th distance, ties included, then the lowest account ids first:
        # which of tied accounts are shown must not depend on how accounts are partitioned.
        last = np.partition(distance, k - 1)[k - 1]
        rows = np.flatnonzero(distance <= last)
        rows = rows[np.lexsort((book.account_ids[rows], distance[rows]))][:k]
    candidates = [
        (
            int(distance[r]),
            int(book.account_ids[r]),
            int(book.ratio_bp[r]),
            int(book.call_bp[r]),
            int(book.severity[r]),
        )
        for r in rows.tolist()
    ]
    return Partial(
        accounts=len(book.account_ids),
        levels=np.bincount(book.severity, minlength=len(LEVELS)).tolist(),
        liabilities_fen=int(book.liabilities_fen.sum()),
        assets_fen=int(book.cash_fen.sum()) + int(book.collateral_fen.sum()),
        symbols=book.symbols,
        held=book.held.astype(np.int64),  # copies: the engine's arrays change on the next tick
        price_fen=book.price_fen.copy(),
        collateral_bp=book.collateral_bp.copy(),
        nearest=candidates,
        partition=partition,
        partitions=partitions,
        at=at,
    )


_SECTORS: dict[tuple, tuple[dict[str, str], list[str], np.ndarray]] = {}


def _sectors(symbols: tuple[str, ...], sector_of: dict[str, str]) -> tuple[list[str], np.ndarray]:
    """Sectors and each symbol's sector row (the last row: none), cached per symbol list and
    mapping (the mapping is kept in the cache, so its id cannot be reused while cached)."""
    key = (symbols, id(sector_of))
    found = _SECTORS.get(key)
    if found is None or found[0] is not sector_of:
        sectors = sorted({sector_of.get(s, "") for s in symbols} - {""})
        row = {sector: i for i, sector in enumerate(sectors)}
        index = np.array([row.get(sector_of.get(s, ""), len(sectors)) for s in symbols])
        if len(_SECTORS) > 8:
            _SECTORS.clear()
        found = _SECTORS[key] = (sector_of, sectors, index.astype(np.int64))
    return found[1], found[2]


def _aligned(
    partials: Sequence[Partial],
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
    """Shares held per symbol added up over the partials, with the newest partial's prices and
    rates (partitions read the same feed, a tick or two apart). Engines started at different
    times may know different instruments: then the symbols are matched by name."""
    newest = max(partials, key=lambda p: p.at or datetime.datetime.min.replace(tzinfo=datetime.UTC))
    if all(p.symbols == newest.symbols for p in partials):
        held = np.asarray(np.sum([p.held for p in partials], axis=0, dtype=np.int64))
        return newest.symbols, held, newest.price_fen, newest.collateral_bp
    symbols = tuple(sorted({s for p in partials for s in p.symbols}))
    row = {s: i for i, s in enumerate(symbols)}
    held = np.zeros(len(symbols), dtype=np.int64)
    price = np.zeros(len(symbols), dtype=np.int64)
    rate = np.zeros(len(symbols), dtype=np.int64)
    for part in sorted(partials, key=lambda p: p is newest):  # the newest written last
        rows = np.array([row[s] for s in part.symbols], dtype=np.int64)
        held[rows] += part.held
        price[rows] = part.price_fen
        rate[rows] = part.collateral_bp
    return symbols, held, price, rate


def book_signals(
    book: Book, *, sector_of: dict[str, str], thresholds: Table, nearest: int = 20
) -> BookView:
    """Evaluate one engine's book; ``sector_of`` maps a symbol to its sector ("" for none)."""
    return combine(
        [partial_of(book, nearest=nearest)],
        sector_of=sector_of,
        thresholds=thresholds,
        nearest=nearest,
    )


def combine(
    partials: Sequence[Partial], *, sector_of: dict[str, str], thresholds: Table, nearest: int = 20
) -> BookView:
    """Add the partitions' partials up and evaluate the book thresholds once."""
    symbols, held, price, rate = _aligned(partials)
    # Shares are added up exactly first, then valued: the same figures for any partitioning.
    per_symbol = held.astype(np.float64) * price * rate / 10_000
    collateral = float(per_symbol.sum())
    sectors, sector_index = _sectors(symbols, sector_of)
    per_sector = np.bincount(sector_index, weights=per_symbol, minlength=len(sectors) + 1)[:-1]
    levels = np.asarray(np.sum([p.levels for p in partials], axis=0, dtype=np.int64))
    if not len(partials):
        levels = np.zeros(len(LEVELS), dtype=np.int64)
    accounts = sum(p.accounts for p in partials)
    at_call = int(levels[CALL_SEVERITY:].sum())  # CALL and LIQUIDATION
    liabilities = float(sum(p.liabilities_fen for p in partials))
    assets = float(sum(p.assets_fen for p in partials))
    financing_share = liabilities / assets if assets else 0.0
    share_symbol = per_symbol / collateral if collateral else np.zeros(len(symbols))
    share_sector = per_sector / collateral if collateral else np.zeros(len(sectors))

    signals: list[Signal] = []
    evaluated = {
        "concentration_instrument",
        "concentration_sector",
        "accounts_at_call",
        "financing_collateral",
    }
    rule = thresholds.get("concentration_instrument")
    if rule is not None:
        for i in np.flatnonzero(share_symbol >= float(rule.value)).tolist():
            signals.append(
                Signal(
                    "concentration_instrument",
                    "instrument",
                    symbols[i],
                    rule.level,
                    _d(share_symbol[i]),
                    rule.value,
                    {
                        "value_yuan": round(per_symbol[i] / 100, 2),
                        "collateral_yuan": collateral / 100,
                    },
                )
            )
    rule = thresholds.get("concentration_sector")
    if rule is not None:
        for i in np.flatnonzero(share_sector >= float(rule.value)).tolist():
            signals.append(
                Signal(
                    "concentration_sector",
                    "sector",
                    sectors[i],
                    rule.level,
                    _d(share_sector[i]),
                    rule.value,
                    {
                        "value_yuan": round(per_sector[i] / 100, 2),
                        "collateral_yuan": collateral / 100,
                    },
                )
            )
    at_call_share = at_call / accounts if accounts else 0.0
    rule = thresholds.get("accounts_at_call")
    if rule is not None and at_call_share >= float(rule.value):
        signals.append(
            Signal(
                "accounts_at_call",
                "book",
                "platform",
                rule.level,
                _d(at_call_share),
                rule.value,
                {"at_call": at_call, "accounts": accounts},
            )
        )
    rule = thresholds.get("financing_collateral")
    if rule is not None and financing_share >= float(rule.value):
        signals.append(
            Signal(
                "financing_collateral",
                "book",
                "platform",
                rule.level,
                _d(financing_share),
                rule.value,
                {"liabilities_yuan": liabilities / 100, "assets_yuan": assets / 100},
            )
        )

    # Nearest the call line: the smallest ratio above the line, among accounts with debt; each
    # partition sent its own nearest, so the platform's are among them.
    closest = [
        {
            "account_id": account_id,
            "ratio": str(_d(ratio_bp / 10_000)),
            "call_line": str(_d(call_bp / 10_000)),
            "level": LEVELS[severity].value,
        }
        for _distance, account_id, ratio_bp, call_bp, severity in heapq.nsmallest(
            nearest, (tuple(c) for p in partials for c in p.nearest)
        )
    ]
    top = np.argsort(-share_symbol, kind="stable")[:5].tolist()
    values = {
        "accounts": accounts,
        "levels": {level.value: int(levels[i]) for i, level in enumerate(LEVELS)},
        "at_call_share": round(at_call_share, 6),
        "financing_share": round(financing_share, 6),
        "liabilities_yuan": round(liabilities / 100, 2),
        "assets_yuan": round(assets / 100, 2),
        "collateral_yuan": round(collateral / 100, 2),
        "top_instruments": [[symbols[i], round(float(share_symbol[i]), 6)] for i in top],
        "sectors": {s: round(float(share_sector[i]), 6) for i, s in enumerate(sectors)},
    }
    return BookView(values, closest, Pass(signals, evaluated))


def daily_signals(*, day: datetime.date, thresholds: Table) -> tuple[dict[str, Any], Pass]:
    """Net client fund flows against their 20-day average, and margin calls opened and met."""
    from funds import selectors as funds
    from margin import selectors as margin

    flows = funds.daily_net_flows(day - datetime.timedelta(days=40), day)
    today = flows.get(day, Decimal(0))
    past = [abs(v) for d, v in sorted(flows.items()) if d < day][-20:]
    average = sum(past, Decimal(0)) / len(past) if past else Decimal(0)
    calls = margin.calls_on(day)
    signals: list[Signal] = []
    rule = thresholds.get("net_outflow")
    multiple = (-today / average) if average and today < 0 else Decimal(0)
    if rule is not None and multiple >= rule.value:
        signals.append(
            Signal(
                "net_outflow",
                "book",
                "platform",
                rule.level,
                multiple.quantize(Decimal("0.0001")),
                rule.value,
                {
                    "net_flow_yuan": str(today),
                    "average_20d_yuan": str(average.quantize(Decimal("0.01"))),
                },
            )
        )
    rule = thresholds.get("calls_opened")
    if rule is not None and calls["opened"] >= rule.value:
        signals.append(
            Signal(
                "calls_opened",
                "book",
                "platform",
                rule.level,
                Decimal(calls["opened"]),
                rule.value,
                dict(calls),
            )
        )
    values = {
        "day": day.isoformat(),
        "net_flow_yuan": str(today),
        "net_flow_average_20d_yuan": str(average.quantize(Decimal("0.01"))),
        "calls_opened": calls["opened"],
        "calls_met": calls["met"],
    }
    return values, Pass(signals, {"net_outflow", "calls_opened"})
