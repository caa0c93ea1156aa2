import datetime
from decimal import Decimal as D

import pytest
import time_machine
from django.utils import translation

from portal.calendars import SHANGHAI

# A Thursday the exchange is open, 10:00 Beijing time; the next trading day is Friday.
THURSDAY = datetime.datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI)
FRIDAY = datetime.datetime(2026, 12, 4, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def thursday():
    with time_machine.travel(THURSDAY, tick=False) as clock:
        yield clock


def trader(*, cash="100000.00", debt="0.00", holdings=(), rating="C4", gate=True):
    """A client rated ``rating`` who passed the gate, with a margin account on the demo fee
    schedule (documents in force), its balances in the ledger."""
    from tests.education import factories as education
    from tests.funds.factories import funded_account

    user = education.client(rating)
    if gate:
        education.through_gate(user)
    return funded_account(user, cash=cash, debt=debt, holdings=holdings)


def instrument(code, price, **fields):
    from margin.models import Instrument

    found, _created = Instrument.objects.update_or_create(
        code=code,
        defaults={
            "name_zh": f"股票{code[:6]}",
            "name_en": f"Stock {code[:6]}",
            "previous_close": D(price),
            "last_price": D(price),
            "last_price_at": None,
            **fields,
        },
    )
    return found


def tick(code, price, at, volume=0):
    """The feed reports ``price`` for ``code`` at ``at``, ``volume`` shares traded (0: not
    reported), as the risk runner saves them."""
    from margin.models import Instrument

    Instrument.objects.filter(code=code).update(
        last_price=D(price), last_price_at=at, last_volume=volume
    )


@pytest.fixture
def documents(db):
    from tests.education.factories import documents_in_force

    return documents_in_force()
