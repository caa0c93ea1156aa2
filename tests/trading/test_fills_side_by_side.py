"""A venue step on PostgreSQL records its accounts' fills side by side, each account's in turn,
on connections of their own (TRADING_VENUE_FILL_WORKERS), as production's venue does: committed
for real, so the workers see the orders."""

import datetime
import threading

import pytest
from django.db import connection
from django.db.models import Sum

from audit.services import verify_chain
from funds.models import JournalEntry
from margin.models import MarginAccount, Position
from tests.trading.conftest import THURSDAY, instrument, tick, trader
from tests.trading.test_channel import assert_books_agree, submit
from trading import services
from trading.models import Fill, Order

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
SECOND = datetime.timedelta(seconds=1)


@pytest.fixture
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("fills go side by side on PostgreSQL only (SQLite records them in turn)")


def test_three_accounts_fills_are_recorded_on_their_own_connections_each_exactly_once(
    postgresql_only, documents, thursday, settings, monkeypatch
):
    settings.TRADING_VENUE_FILL_WORKERS = 3
    accounts = [trader(cash="100000.00", holdings=[("000001.SZ", 5000, "20.00")]) for _ in range(3)]
    instrument("600036.SH", "36.00")
    instrument("600519.SH", "15.00")
    orders = []
    for account in accounts:
        orders.append(submit(account, "buy", 100, "36.00").order)
        orders.append(submit(account, "buy", 200, "15.00", code="600519.SH").order)
    entries = JournalEntry.objects.count()
    tick("600036.SH", "35.90", THURSDAY + SECOND)
    tick("600519.SH", "15.00", THURSDAY + SECOND)
    threads: dict[int, set[str]] = {}
    original = services.fill_record

    def noting_the_thread(**kwargs):
        row = original(**kwargs)
        threads.setdefault(row.order.account_id, set()).add(threading.current_thread().name)
        return row

    monkeypatch.setattr(services, "fill_record", noting_the_thread)

    assert services.venue_step() == 6
    assert services.venue_step() == 0  # reported again: nothing recorded twice

    # Each account's two fills by one worker, none of them on this thread.
    assert sorted(threads) == sorted(a.pk for a in accounts)
    assert all(len(names) == 1 for names in threads.values())
    assert all(name.startswith("venue-fills") for names in threads.values() for name in names)
    assert JournalEntry.objects.count() == entries + 6
    for order in Order.objects.filter(pk__in=[o.pk for o in orders]):
        assert order.status == Order.Status.FILLED and order.fills.count() == 1
    for account in accounts:
        # The account's second fill saw its first: the cash paid is what both cost together.
        paid = Fill.objects.filter(order__account=account).aggregate(
            value=Sum("value"), costs=Sum("costs")
        )
        cash = MarginAccount.objects.get(pk=account.pk).cash
        assert cash == 100000 - paid["value"] - paid["costs"]
        held = dict(
            Position.objects.filter(account=account).values_list("instrument__code", "quantity")
        )
        assert (held["600036.SH"], held["600519.SH"]) == (100, 200)
    assert verify_chain().ok
    assert_books_agree(THURSDAY.date())
