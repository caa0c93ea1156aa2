"""The book across engine partitions: each partition reduces its engine to a partial, one place
adds them up. Whatever the number of partitions, the combined book is the one-engine book."""

import datetime
from decimal import Decimal as D

import numpy as np
import pytest

from margin.engine import RiskEngine
from margin.rules import DEFAULT_LINES
from monitoring import book, partitions, thresholds

SYMBOLS = [f"{600000 + i:06d}.SH" for i in range(30)]
SECTORS = {code: ("banks", "brokers", "chips", "")[i % 4] for i, code in enumerate(SYMBOLS)}
AT = datetime.datetime(2026, 11, 26, 2, 0, tzinfo=datetime.UTC)


def accounts(n=300, seed=7):
    """Random accounts, a few of them twins (same balances and holdings: equal ratios, so the
    nearest list has ties), some without debt."""
    rng = np.random.default_rng(seed)
    rows = []
    for account_id in range(1, n + 1):
        if account_id % 50 == 0:  # a twin of the previous account
            rows.append({**rows[-1], "id": account_id})
            continue
        held = rng.choice(len(SYMBOLS), size=rng.integers(1, 5), replace=False)
        positions = [(int(s), int(rng.integers(1, 20)) * 100) for s in held]
        value = sum(q * 1000 for _s, q in positions)
        debt = 0 if account_id % 7 == 0 else int(value / rng.uniform(1.05, 2.0))
        rows.append(
            {
                "id": account_id,
                "cash": int(rng.integers(0, 50_000)),
                "debt": debt,
                "positions": positions,
            }
        )
    return rows


def engine_of(rows):
    holder, symbol, quantity = [], [], []
    for row_index, row in enumerate(rows):
        for s, q in row["positions"]:
            holder.append(row_index)
            symbol.append(s)
            quantity.append(q)
    engine = RiskEngine(
        account_ids=[r["id"] for r in rows],
        cash_fen=[r["cash"] for r in rows],
        liabilities_fen=[r["debt"] for r in rows],
        severity=[0] * len(rows),
        event_sequence=[0] * len(rows),
        lines=[DEFAULT_LINES],
        lines_index=[0] * len(rows),
        symbols=SYMBOLS,
        prices_fen=[1000 + 37 * i for i in range(len(SYMBOLS))],
        holder_rows=holder,
        symbol_rows=symbol,
        quantities=quantity,
    )
    engine.revalue_all()
    return engine


def table():
    """Low enough that every kind of book signal fires on the random book."""
    rows = thresholds.defaults()
    rows.rows[("concentration_instrument", "all")] = thresholds.Rule(D("0.04"), "warning")
    rows.rows[("concentration_sector", "all")] = thresholds.Rule(D("0.25"), "warning")
    rows.rows[("accounts_at_call", "all")] = thresholds.Rule(D("0.005"), "warning")
    rows.rows[("financing_collateral", "all")] = thresholds.Rule(D("0.10"), "warning")
    return rows


def signals(view):
    return sorted((s.rule, s.subject, s.value, repr(s.inputs)) for s in view.result.signals)


@pytest.mark.parametrize("k", [2, 3])
def test_the_book_over_k_partitions_is_the_one_engine_book(k):
    rows = accounts()
    whole = book.book_signals(engine_of(rows).book(), sector_of=SECTORS, thresholds=table())
    parts = [
        book.partial_of(
            engine_of([r for r in rows if r["id"] % k == p]).book(), partition=p, partitions=k
        )
        for p in range(k)
    ]
    combined = book.combine(parts, sector_of=SECTORS, thresholds=table())
    assert combined.values == whole.values
    assert combined.nearest == whole.nearest
    assert signals(combined) == signals(whole)
    # The book is not trivial: every kind of signal fired, and the nearest list has twins.
    assert {s[0] for s in signals(whole)} == {
        "concentration_instrument",
        "concentration_sector",
        "accounts_at_call",
        "financing_collateral",
    }
    assert len(whole.nearest) == 20 and whole.values["accounts"] == 300


def test_tied_accounts_near_the_call_line_are_listed_lowest_id_first():
    twins = [{"id": i, "cash": 0, "debt": 100_000, "positions": [(0, 140)]} for i in (9, 4, 6)]
    view = book.book_signals(
        engine_of(twins).book(), sector_of=SECTORS, thresholds=table(), nearest=2
    )
    assert [row["account_id"] for row in view.nearest] == [4, 6]


@pytest.fixture
def _cache(settings):
    from django.core.cache import cache

    settings.MONITORING_BOOK_STALE_SECONDS = 30
    for p in range(3):
        cache.delete(partitions.partial_key(partition=p, partitions=3))
    yield cache


def test_partition_zero_combines_the_others_and_says_which_are_stale_or_missing(_cache):
    rows = accounts()
    part = {p: engine_of([r for r in rows if r["id"] % 3 == p]).book() for p in range(3)}
    own = book.partial_of(part[0], partition=0, partitions=3, at=AT)
    partitions.partial_publish(book.partial_of(part[1], partition=1, partitions=3, at=AT))
    found, coverage = partitions.partials_collect(own)
    assert coverage == {
        "partitions": 3,
        "reported": 2,
        "missing": [2],
        "stale": [],
        "oldest_at": AT.isoformat(),
    }
    thirty_one = AT - datetime.timedelta(seconds=31)
    partitions.partial_publish(book.partial_of(part[2], partition=2, partitions=3, at=thirty_one))
    found, coverage = partitions.partials_collect(own)
    assert (coverage["reported"], coverage["missing"], coverage["stale"]) == (3, [], [2])
    assert sum(p.accounts for p in found) == 300
    # Thirty seconds behind is not yet stale.
    partitions.partial_publish(
        book.partial_of(part[2], partition=2, partitions=3, at=AT - datetime.timedelta(seconds=30))
    )
    assert partitions.partials_collect(own)[1]["stale"] == []
