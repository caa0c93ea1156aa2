"""A venue step records a tick's fills of several orders and accounts, each fill its own check
(on the one-statement snapshot), ledger entry, costs and notice; and the venue's loop is told
when a tick lands."""

import datetime

import pytest
from django.core.cache import cache
from django.db.models import Sum

from funds.models import JournalEntry
from margin.feed import FeedRow, Tick
from margin.models import Position, Restriction
from tests.trading.conftest import THURSDAY, instrument, tick, trader
from tests.trading.test_channel import assert_books_agree, submit
from trading import services, venue
from trading.models import Fill, FillCost, Order

pytestmark = pytest.mark.django_db
SECOND = datetime.timedelta(seconds=1)


def test_two_accounts_fills_on_one_tick_each_post_their_own_balanced_entries(documents, thursday):
    # One account buys two instruments, another one; all three fill at the next tick.
    first = trader(cash="100000.00", holdings=[("000001.SZ", 5000, "20.00")])
    second = trader(cash="100000.00", holdings=[("000001.SZ", 5000, "20.00")])
    instrument("600036.SH", "36.00")
    instrument("600519.SH", "15.00")
    orders = [
        submit(first, "buy", 100, "36.00").order,
        submit(first, "buy", 200, "15.00", code="600519.SH").order,
        submit(second, "buy", 300, "36.00").order,
    ]
    entries = JournalEntry.objects.count()
    tick("600036.SH", "35.90", THURSDAY + SECOND)
    tick("600519.SH", "15.00", THURSDAY + SECOND)
    assert services.venue_step() == 3

    assert JournalEntry.objects.count() == entries + 3  # one entry per fill
    for order in orders:
        order.refresh_from_db()
        assert order.status == Order.Status.FILLED
        fill = order.fills.get()
        # The ¥5 minimum trade fee once per order, as its own line naming the item.
        assert FillCost.objects.filter(fill=fill, code="trade_service_fee_minimum").exists()
    held = dict(Position.objects.filter(account=first).values_list("instrument__code", "quantity"))
    assert held["600036.SH"] == 100 and held["600519.SH"] == 200
    # Each fill's check saw the ones recorded before it: the cash the first account paid is
    # what the two fills cost together.
    first.refresh_from_db()
    paid = Fill.objects.filter(order__account=first).aggregate(
        value=Sum("value"), costs=Sum("costs")
    )
    assert first.cash == 100000 - paid["value"] - paid["costs"]
    assert_books_agree(THURSDAY.date())


def test_a_rejection_in_a_batch_leaves_the_other_accounts_fills(documents, thursday):
    restricted = trader(cash="100000.00", holdings=[("000001.SZ", 5000, "20.00")])
    other = trader(cash="100000.00", holdings=[("000001.SZ", 5000, "20.00")])
    instrument("600036.SH", "36.00")
    rejected = submit(restricted, "buy", 100, "36.00").order
    filled = submit(other, "buy", 100, "36.00").order
    Restriction.objects.create(
        account=restricted, kind=Restriction.Kind.REDUCE_ONLY, reason="margin call"
    )
    tick("600036.SH", "36.00", THURSDAY + SECOND)
    assert services.venue_step() == 1
    rejected.refresh_from_db()
    filled.refresh_from_db()
    assert rejected.status == Order.Status.REJECTED and "margin call" in rejected.reject_reason
    assert filled.status == Order.Status.FILLED


def test_a_tick_landing_moves_the_venues_mark_once_committed(
    documents, thursday, django_capture_on_commit_callbacks
):
    cache.delete(venue.MARK_KEY)
    price = instrument("600036.SH", "36.00").price
    at = THURSDAY + SECOND
    with django_capture_on_commit_callbacks(execute=True):
        venue.tick_landed(
            runner=None, tick=Tick(at=at, rows=[FeedRow("600036.SH", price, at)]), accepted={}
        )
        assert venue.work_mark() is None  # not before the tick's prices are committed
    assert venue.work_mark() == 1


def test_a_halt_imposed_while_a_step_records_its_fills_stops_the_fills_after_it(
    documents, thursday, monkeypatch
):
    # The step reads the market-wide part once when it begins; halts (and market measures)
    # are read again for each fill, so a halt committed after the step began still binds.
    from trading import pretrade
    from trading.models import TradingHalt

    first = trader(cash="100000.00", holdings=[("000001.SZ", 5000, "20.00")])
    second = trader(cash="100000.00", holdings=[("000001.SZ", 5000, "20.00")])
    instrument("600036.SH", "36.00")
    filled = submit(first, "buy", 100, "36.00").order
    halted = submit(second, "buy", 100, "36.00").order
    tick("600036.SH", "35.90", THURSDAY + SECOND)
    fills = list(venue.get_venue().fills())
    read_at_start = pretrade.market(fresh=True)
    monkeypatch.setattr(pretrade, "market", lambda **_kwargs: read_at_start)
    original = services.fill_record

    def halt_after_the_first(**kwargs):
        row = original(**kwargs)
        if not TradingHalt.objects.exists():
            TradingHalt.objects.create(
                instrument=filled.instrument, reason="unusual move", imposed_by=None
            )
        return row

    monkeypatch.setattr(services, "fill_record", halt_after_the_first)
    assert services.fills_record(fills) == 1
    filled.refresh_from_db()
    halted.refresh_from_db()
    assert filled.status == Order.Status.FILLED
    assert halted.status == Order.Status.REJECTED and "unusual move" in halted.reject_reason
