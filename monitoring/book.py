"""Book signals across all clients, from the risk engine's arrays in a few vector operations:
exposure concentration per instrument and per sector (share of the platform's collateral),
accounts per margin level, financing against collateral, and the accounts nearest their call
line. The daily ones (net client fund flows, margin calls opened and met) read the tables.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
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


def _d(value: float, places: int = 4) -> Decimal:
    return Decimal(f"{value:.{places}f}")


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
        found = _SECTORS[key] = (sector_of, sectors, index)
    return found[1], found[2]


def book_signals(
    book: Book, *, sector_of: dict[str, str], thresholds: Table, nearest: int = 20
) -> BookView:
    """Evaluate the book; ``sector_of`` maps a symbol to its sector ("" for none)."""
    # Per symbol, not per position: the shares held per symbol change only with holdings.
    n_symbols = len(book.symbols)
    per_symbol = book.held * book.price_fen * book.collateral_bp / 10_000
    collateral = float(per_symbol.sum())
    sectors, sector_index = _sectors(book.symbols, sector_of)
    per_sector = np.bincount(sector_index, weights=per_symbol, minlength=len(sectors) + 1)[:-1]
    levels = np.bincount(book.severity, minlength=len(LEVELS))
    accounts = len(book.account_ids)
    at_call = int(levels[CALL_SEVERITY:].sum())  # CALL and LIQUIDATION
    liabilities = float(book.liabilities_fen.sum())
    assets = float(book.cash_fen.sum()) + float(book.collateral_fen.sum())
    financing_share = liabilities / assets if assets else 0.0
    share_symbol = per_symbol / collateral if collateral else np.zeros(n_symbols)
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
                    book.symbols[i],
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

    # Nearest the call line: the smallest ratio above the line, among accounts with debt.
    indebted = book.ratio_bp != NO_RATIO
    distance = np.where(indebted, book.ratio_bp - book.call_bp, np.iinfo(np.int64).max)
    k = min(nearest, int(indebted.sum()))
    rows = np.argpartition(distance, k - 1)[:k] if k else np.array([], dtype=np.int64)
    rows = rows[np.argsort(distance[rows], kind="stable")]
    closest = [
        {
            "account_id": int(book.account_ids[r]),
            "ratio": str(_d(book.ratio_bp[r] / 10_000)),
            "call_line": str(_d(book.call_bp[r] / 10_000)),
            "level": LEVELS[int(book.severity[r])].value,
        }
        for r in rows.tolist()
    ]
    top = np.argsort(share_symbol)[::-1][:5]
    values = {
        "accounts": accounts,
        "levels": {level.value: int(levels[i]) for i, level in enumerate(LEVELS)},
        "at_call_share": round(at_call_share, 6),
        "financing_share": round(financing_share, 6),
        "liabilities_yuan": round(liabilities / 100, 2),
        "assets_yuan": round(assets / 100, 2),
        "collateral_yuan": round(collateral / 100, 2),
        "top_instruments": [
            [book.symbols[i], round(float(share_symbol[i]), 6)] for i in top.tolist()
        ],
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
