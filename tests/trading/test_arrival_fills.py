"""An order that can trade when it arrives fills at once at the price in force.

The rule (trading.venue, TRADING_SIM_FILL_ON_ARRIVAL): in continuous trading (09:30–11:30,
13:00–14:57) an order whose limit crosses the feed's latest price fills at that price at the
moment it arrived, as an exchange executes a marketable order against its book, provided the
feed priced the instrument at most TRADING_SIM_PRICE_FRESH_SECONDS (3 s) before. Otherwise —
a price older than that, a call auction, an order that cannot trade yet — it waits for a later
tick as before. The share of the tick's volume and one fill per order per tick hold for both.
"""

import datetime
from decimal import Decimal as D

import pytest
from django.core.cache import cache

from funds.models import LedgerLine
from margin.models import MarginAccount, Position
from portal.calendars import SHANGHAI
from tests.trading.conftest import THURSDAY, instrument, tick, trader
from tests.trading.test_channel import submit
from trading import services, venue
from trading.models import Fill, Order

pytestmark = pytest.mark.django_db
SECOND = datetime.timedelta(seconds=1)
CODE = "600036.SH"


def priced(price, at, volume=0):
    """The feed priced CODE at ``at`` (with ``volume`` shares traded, 0: not reported)."""
    tick(CODE, price, at, volume)


@pytest.fixture
def account(documents, thursday):
    # Cash 10,000 and 5,000 × 20.00 of 000001.SZ, as the channel's worked example.
    instrument(CODE, "36.00")
    return trader(cash="10000.00", holdings=[("000001.SZ", 5000, "20.00")])


def test_a_marketable_order_fills_at_once_at_the_price_in_force(account):
    priced("35.80", THURSDAY - SECOND / 2)
    order = submit(account, "buy", 1000, "36.00", at=THURSDAY).order

    assert services.venue_step() == 1  # no new tick needed

    order.refresh_from_db()
    assert order.status == Order.Status.FILLED
    fill = Fill.objects.get(order=order)
    # At the 35.80 in force, at the moment the order arrived: 35,800; service fee 0.03% = 10.74,
    # transfer fee 0.001% = 0.36; financed 35,811.10 − cash 10,000 = 25,811.10.
    assert (fill.price, fill.value, fill.costs, fill.financed) == (
        D("35.80"),
        D("35800.00"),
        D("11.10"),
        D("25811.10"),
    )
    assert fill.filled_at == THURSDAY
    account = MarginAccount.objects.get(pk=account.pk)
    assert (account.cash, account.debt) == (D("0.00"), D("25811.10"))
    assert Position.objects.get(account=account, instrument__code=CODE).quantity == 1000
    assert sum(LedgerLine.objects.filter(entry=fill.entry).values_list("amount", flat=True)) == 0


def test_a_market_sell_fills_at_once_too(account):
    tick("000001.SZ", "20.10", THURSDAY - SECOND)
    order = submit(account, "sell", 1000, None, kind="market", code="000001.SZ", at=THURSDAY).order
    assert services.venue_step() == 1
    assert Fill.objects.get(order=order).price == D("20.10")


def test_a_limit_that_cannot_trade_yet_rests_until_a_later_price_crosses_it(account):
    priced("35.80", THURSDAY - SECOND / 2)
    order = submit(account, "buy", 100, "35.50", at=THURSDAY).order
    assert services.venue_step() == 0
    priced("35.60", THURSDAY + SECOND)
    assert services.venue_step() == 0
    priced("35.40", THURSDAY + 2 * SECOND)
    assert services.venue_step() == 1
    fill = Fill.objects.get(order=order)
    assert (fill.price, fill.filled_at) == (D("35.40"), THURSDAY + 2 * SECOND)


def test_a_price_older_than_three_seconds_does_not_fill_an_arriving_order(account):
    priced("35.80", THURSDAY - 3 * SECOND - SECOND / 10)  # 3.1 s before the order
    order = submit(account, "buy", 100, "36.00", at=THURSDAY).order
    assert services.venue_step() == 0  # the feed may have stopped: wait for its next price
    priced("35.90", THURSDAY + SECOND)
    assert services.venue_step() == 1
    assert Fill.objects.get(order=order).price == D("35.90")


def test_a_price_exactly_three_seconds_old_still_fills(account):
    priced("35.80", THURSDAY - 3 * SECOND)
    submit(account, "buy", 100, "36.00", at=THURSDAY)
    assert services.venue_step() == 1


def test_an_order_in_the_opening_auction_waits_for_the_next_tick(documents):
    import time_machine

    auction = datetime.datetime(2026, 12, 3, 9, 20, tzinfo=SHANGHAI)
    with time_machine.travel(auction, tick=False):
        instrument(CODE, "36.00")
        account = trader(cash="100000.00")
        priced("36.00", auction - SECOND / 2)
        order = submit(account, "buy", 100, "36.00", at=auction).order
        assert services.venue_step() == 0  # an auction matches on its next price, not at once
        priced("35.95", auction + SECOND)
        assert services.venue_step() == 1
        assert Fill.objects.get(order=order).filled_at == auction + SECOND


def test_a_buy_arriving_at_limit_up_does_not_fill(account):
    priced("39.60", THURSDAY - SECOND / 2)  # 36.00 + 10%
    submit(account, "buy", 100, None, kind="market", at=THURSDAY)
    assert services.venue_step() == 0


def test_an_arrival_fill_takes_from_the_same_ticks_share_of_volume(account):
    # 4,000 traded on the tick in force: 25% = 1,000 shares for the portal's orders.
    instrument(CODE, "10.00")
    priced("10.00", THURSDAY - SECOND / 2, volume=4000)
    first = submit(account, "buy", 800, "10.00", at=THURSDAY).order
    assert services.venue_step() == 1
    second = submit(account, "buy", 500, "10.00", at=THURSDAY + SECOND / 10).order
    services.venue_step()
    first.refresh_from_db()
    second.refresh_from_db()
    # The first took 800; 200 were left of the tick's 1,000 for the second.
    assert (first.filled_quantity, second.filled_quantity) == (800, 200)
    assert services.venue_step() == 0  # one fill per order per tick
    priced("10.00", THURSDAY + SECOND, volume=4000)
    assert services.venue_step() == 1
    second.refresh_from_db()
    assert second.status == Order.Status.FILLED


def test_switched_off_every_order_waits_for_the_next_tick(account, settings):
    settings.TRADING_SIM_FILL_ON_ARRIVAL = False
    priced("35.80", THURSDAY - SECOND / 2)
    order = submit(account, "buy", 100, "36.00", at=THURSDAY).order
    assert services.venue_step() == 0
    priced("35.90", THURSDAY + SECOND)
    assert services.venue_step() == 1
    assert Fill.objects.get(order=order).filled_at == THURSDAY + SECOND


def test_a_submission_wakes_the_venue_once_committed(account, django_capture_on_commit_callbacks):
    cache.delete(venue.MARK_KEY)
    with django_capture_on_commit_callbacks(execute=True):
        submit(account, "buy", 100, "36.00", at=THURSDAY)
        assert venue.work_mark() is None  # not before the order is committed
    assert venue.work_mark() == 1
