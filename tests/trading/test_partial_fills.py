"""Partial fills in the simulated venue, and the fee schedule's minimum charged once per order.

The rule (trading.venue): an order takes at most 25% of the volume the feed reported for a tick
(TRADING_SIM_PARTICIPATION), in whole lots of 100 shares, at most one fill per tick; a remainder
the share covers fills whole. The fees (trading.costs.Schedule.quote_fill): the schedule prices an
order — trade service fee 0.03%, at least 5.00 per order; transfer fee 0.001%; stamp duty 0.05%
on sales — so each fill charges what the order as a whole costs after it, less what it cost
before: the minimum is paid once, and the fills add up to exactly the cost of one fill.
"""

import datetime
from decimal import Decimal as D

import pytest
from django.db.models import Sum

from funds.models import LedgerLine
from margin.models import Position
from tests.trading.conftest import THURSDAY, instrument, tick, trader
from trading import services
from trading.models import Fill, FillCost, Order

pytestmark = pytest.mark.django_db
SECOND = datetime.timedelta(seconds=1)
CODE = "600036.SH"


def market_tick(price, at, volume):
    """The feed reports ``price`` and ``volume`` shares for CODE at ``at``, as the runner saves
    them on the instrument."""
    tick(CODE, price, at, volume)


def costs_of(fill):
    return {c.code: c.amount for c in FillCost.objects.filter(fill=fill)}


@pytest.fixture
def buy_order(documents, thursday):
    account = trader(cash="300000.00")
    instrument(CODE, "10.00")
    submitted = services.order_submit(
        account_id=account.pk,
        side="buy",
        kind="limit",
        code=CODE,
        quantity=5000,
        price=D("10.00"),
        client_token="five-thousand",
        at=THURSDAY,
    )
    return account, submitted.order


def test_an_order_fills_a_quarter_of_each_ticks_volume_and_pays_the_minimum_once(buy_order):
    account, order = buy_order
    # Tick 1: 4,000 shares traded → 1,000 for us. 10,000 yuan: 0.03% is 3.00, under the
    # minimum, so the minimum 5.00; transfer fee 0.10.
    market_tick("10.00", THURSDAY + SECOND, volume=4000)
    assert services.venue_step(now=THURSDAY + SECOND) == 1
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == (Order.Status.PARTLY_FILLED, 1000)
    first = Fill.objects.get(order=order)
    assert costs_of(first) == {"trade_service_fee_minimum": D("5.00"), "transfer_fee": D("0.10")}

    # Tick 2: 40,000 traded → 10,000 allowed, the 4,000 left fill whole. The order's 50,000
    # yuan cost 15.00 of commission in all: 10.00 more now, not another minimum; transfer fee
    # 0.50 in all, 0.40 more.
    market_tick("10.00", THURSDAY + 2 * SECOND, volume=40000)
    assert services.venue_step(now=THURSDAY + 2 * SECOND) == 1
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == (Order.Status.FILLED, 5000)
    second = Fill.objects.filter(order=order).latest("filled_at")
    assert costs_of(second) == {"trade_service_fee": D("10.00"), "transfer_fee": D("0.40")}
    total = Fill.objects.filter(order=order).aggregate(costs=Sum("costs"), value=Sum("value"))
    assert total == {"costs": D("15.50"), "value": D("50000.00")}  # as one fill of 50,000
    assert Position.objects.get(account=account, instrument__code=CODE).quantity == 5000


def test_each_fill_posts_one_balanced_ledger_entry(buy_order):
    _account, order = buy_order
    market_tick("10.00", THURSDAY + SECOND, volume=4000)
    services.venue_step(now=THURSDAY + SECOND)
    market_tick("10.00", THURSDAY + 2 * SECOND, volume=40000)
    services.venue_step(now=THURSDAY + 2 * SECOND)
    entries = list(Fill.objects.filter(order=order).values_list("entry_id", flat=True))
    assert len(set(entries)) == 2
    for entry in entries:
        assert LedgerLine.objects.filter(entry_id=entry).aggregate(t=Sum("amount"))["t"] == 0


def test_the_share_is_taken_in_whole_lots(buy_order):
    _account, order = buy_order
    market_tick("10.00", THURSDAY + SECOND, volume=1000)  # 250 allowed → two lots
    services.venue_step(now=THURSDAY + SECOND)
    order.refresh_from_db()
    assert order.filled_quantity == 200


def test_a_share_below_one_lot_fills_nothing_and_the_order_waits(buy_order):
    _account, order = buy_order
    market_tick("10.00", THURSDAY + SECOND, volume=300)  # 75 allowed
    assert services.venue_step(now=THURSDAY + SECOND) == 0
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == (Order.Status.ACCEPTED, 0)


def test_a_tick_fills_an_order_once_however_often_the_venue_looks(buy_order):
    _account, order = buy_order
    market_tick("10.00", THURSDAY + SECOND, volume=4000)
    services.venue_step(now=THURSDAY + SECOND)
    assert services.venue_step(now=THURSDAY + SECOND) == 0
    order.refresh_from_db()
    assert order.filled_quantity == 1000


def test_orders_share_a_ticks_volume_in_time_priority(buy_order):
    account, first = buy_order
    second = services.order_submit(
        account_id=account.pk,
        side="buy",
        kind="limit",
        code=CODE,
        quantity=500,
        price=D("10.00"),
        client_token="later",
        at=THURSDAY + SECOND / 2,
    ).order
    market_tick("10.00", THURSDAY + SECOND, volume=20400)  # 5,100 allowed
    services.venue_step(now=THURSDAY + SECOND)
    first.refresh_from_db()
    second.refresh_from_db()
    # The earlier order takes its 5,000 first; the later one gets the 100 left.
    assert (first.filled_quantity, second.filled_quantity) == (5000, 100)


def test_the_rest_of_a_partly_filled_order_can_be_cancelled(buy_order):
    account, order = buy_order
    market_tick("10.00", THURSDAY + SECOND, volume=4000)
    services.venue_step(now=THURSDAY + SECOND)
    services.order_cancel(order_id=order.pk, account_id=account.pk, at=THURSDAY + 2 * SECOND)
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == (Order.Status.CANCELLED, 1000)
    market_tick("10.00", THURSDAY + 3 * SECOND, volume=40000)
    assert services.venue_step(now=THURSDAY + 3 * SECOND) == 0
    assert Position.objects.get(account=account, instrument__code=CODE).quantity == 1000


def test_the_rest_expires_at_the_close(buy_order):
    _account, order = buy_order
    market_tick("10.00", THURSDAY + SECOND, volume=4000)
    services.venue_step(now=THURSDAY + SECOND)
    services.orders_expire(now=THURSDAY.replace(hour=15, minute=0))
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == (Order.Status.EXPIRED, 1000)


def test_a_tick_without_reported_volume_fills_the_whole_order(buy_order):
    _account, order = buy_order
    market_tick("10.00", THURSDAY + SECOND, volume=0)
    services.venue_step(now=THURSDAY + SECOND)
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == (Order.Status.FILLED, 5000)


def test_a_sales_stamp_duty_adds_up_across_fills_to_one_fills(documents, thursday):
    # Sell 3,000 of 3,000 held at 10.00 in two fills: 1,000 then 2,000. As one fill of 30,000:
    # commission 9.00, stamp duty 15.00, transfer fee 0.30.
    account = trader(cash="100000.00", holdings=[(CODE, 3000, "10.00")])
    instrument(CODE, "10.00")
    order = services.order_submit(
        account_id=account.pk,
        side="sell",
        kind="limit",
        code=CODE,
        quantity=3000,
        price=D("10.00"),
        client_token="sell",
        at=THURSDAY,
    ).order
    market_tick("10.00", THURSDAY + SECOND, volume=4000)
    services.venue_step(now=THURSDAY + SECOND)
    market_tick("10.00", THURSDAY + 2 * SECOND, volume=40000)
    services.venue_step(now=THURSDAY + 2 * SECOND)
    fills = list(Fill.objects.filter(order=order).order_by("filled_at"))
    assert [f.quantity for f in fills] == [1000, 2000]
    assert costs_of(fills[0]) == {
        "trade_service_fee_minimum": D("5.00"),
        "stamp_duty": D("5.00"),
        "transfer_fee": D("0.10"),
    }
    assert costs_of(fills[1]) == {
        "trade_service_fee": D("4.00"),
        "stamp_duty": D("10.00"),
        "transfer_fee": D("0.20"),
    }
    assert sum(f.costs for f in fills) == D("24.30")
    assert not Position.objects.filter(account=account, instrument__code=CODE).exists()
