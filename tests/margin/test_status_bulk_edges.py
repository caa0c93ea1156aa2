"""Edges of the engine's batch status path a review found (status.build_many, record_history):
lines too wide for exact int64 arithmetic go through `build`, and one bad chart key costs only
its own point."""

import datetime
from decimal import Decimal as D

import pytest

from margin import status
from margin.rules import Level, Lines

AT = datetime.datetime(2026, 11, 26, 2, 0, tzinfo=datetime.UTC)
INSTRUMENTS = {
    "600036.SH": status.Holding("600036.SH", "招商银行", "CMB", 0, D("10.00"), D("9.00"))
}


def one_by_one(a):
    return status.build(
        account_id=a.account_id, number=a.number, cash=D(a.cash_fen).scaleb(-2),
        liabilities=D(a.liabilities_fen).scaleb(-2), lines=a.lines, level=a.level,
        holdings=[INSTRUMENTS[c]._replace(quantity=q) for c, q in a.holdings], call=a.call,
        restrictions=a.restrictions, seq=a.seq, epoch="e1", at=AT, sell_costs=a.sell_costs,
    )  # fmt: skip


def test_lines_too_wide_for_int64_are_built_one_by_one():
    # Lines a contract row accepts (DecimalField(6, 4): up to 99.9999, in order) and debt inside
    # _BULK_MAX_FEN: line_bp * owed_fen (999,000 x 10^13) is past 2^63, so build_many must not
    # do it in int64.
    lines = Lines(withdrawal=D("99.9999"), warning=D("99.9"), call=D("1.3"), liquidation=D("1.1"),
                  concentration=D("0.3"))  # fmt: skip
    account = status.Account(1, "B1", 0, 10**13, lines, Level.SAFE, [("600036.SH", 100)])
    got = status.build_many([account], INSTRUMENTS, epoch="e1", at=AT)[0]
    assert got["distances"] == one_by_one(account)["distances"]  # warning: None vs '0.0000'


@pytest.mark.skipif("not __import__('os').environ.get('REDIS_URL')")
def test_one_bad_chart_key_loses_only_its_own_point(monkeypatch):
    from django.core.cache import cache

    monkeypatch.setattr(status, "_APPEND_CHUNK", 1)
    day = AT.date()
    client = status._redis_client()
    bad = cache.make_key(f"margin:chart:7:{day.isoformat()}")
    client.delete(bad, cache.make_key(f"margin:chart:8:{day.isoformat()}"))
    client.set(bad, "not a list")  # WRONGTYPE for RPUSH
    status.record_history([(7, AT.isoformat(), "1.5000"), (8, AT.isoformat(), "1.6000")])
    # A script stops at its first error; the next chunk still runs (as the pipeline it replaced).
    assert status.history(8, day) == [[AT.isoformat(), "1.6000"]]
