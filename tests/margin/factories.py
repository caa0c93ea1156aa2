import datetime
from decimal import Decimal

import factory

from margin.models import Instrument, MarginAccount, MarginContract, Position
from tests.factories import UserFactory


class InstrumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Instrument
        django_get_or_create = ("code",)

    code = "600519.SH"
    name_zh = "贵州茅台"
    name_en = "Kweichow Moutai"
    previous_close = Decimal("1500.00")
    last_price = Decimal("1500.00")


class MarginAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MarginAccount

    client = factory.SubFactory(UserFactory)
    number = factory.Sequence(lambda n: f"MA{n:08d}")
    cash = Decimal("0.00")
    debt = Decimal("0.00")


class MarginContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MarginContract

    account = factory.SubFactory(MarginAccountFactory)
    number = factory.Sequence(lambda n: f"RZ-2026-{n:06d}")
    annual_rate = Decimal("0.083500")
    credit_limit = Decimal("1000000.00")
    starts_on = datetime.date(2026, 11, 2)
    rollover_on = datetime.date(2027, 5, 2)


class PositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Position

    account = factory.SubFactory(MarginAccountFactory)
    instrument = factory.SubFactory(InstrumentFactory)
    quantity = 100
    cost = Decimal("150000.00")
