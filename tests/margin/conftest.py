from decimal import Decimal as D

import pytest

from notices.sms import LocmemSmsBackend
from tests.margin.factories import (
    InstrumentFactory,
    MarginAccountFactory,
    MarginContractFactory,
    PositionFactory,
)


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    LocmemSmsBackend.outbox.clear()
    yield
    LocmemSmsBackend.outbox.clear()


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def make_account(
    client, *, cash="0.00", debt="100000.00", holdings=(("300750.SZ", 100, "1500.00"),)
):
    """An account of ``client`` with a contract at DESIGN.md's lines and the given holdings."""
    account = MarginAccountFactory(client=client, cash=D(cash), debt=D(debt))
    MarginContractFactory(account=account)
    for code, quantity, price in holdings:
        instrument = InstrumentFactory(
            code=code,
            name_zh=f"股票{code[:6]}",
            name_en=f"Stock {code[:6]}",
            previous_close=D(price),
            last_price=D(price),
        )
        PositionFactory(
            account=account, instrument=instrument, quantity=quantity, cost=D(price) * quantity
        )
    return account
