"""An approved liquidation plan sells through the venue, as a client's sale does."""

import datetime
from decimal import Decimal as D

import pytest
from django.utils import timezone

from margin import services as margin
from margin.models import Instrument, LiquidationPlan, LiquidationPlanItem, MarginAccount
from tests.trading.conftest import THURSDAY, tick, trader
from tests.trading.test_channel import assert_books_agree
from trading import services
from trading.models import Fill, Order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _through_the_venue(settings):
    settings.TRADING_LIQUIDATION_THROUGH_VENUE = True


def approved_plan(account, code, quantity):
    instrument = Instrument.objects.get(code=code)
    plan = LiquidationPlan.objects.create(
        account=account,
        trigger=LiquidationPlan.Trigger.LIQUIDATION_LINE,
        status=LiquidationPlan.Status.APPROVED,
        decided_at=timezone.now(),
        execution_confirmed_at=timezone.now(),
        expected_proceeds=instrument.price * quantity,
    )
    LiquidationPlanItem.objects.create(
        plan=plan,
        instrument=instrument,
        quantity=quantity,
        reference_price=instrument.price,
        expected_proceeds=instrument.price * quantity,
    )
    return plan


def test_a_plan_sells_through_the_venue_and_is_executed_when_the_sale_fills(documents, thursday):
    from tests.disclosures.factories import ensure_roles
    from tests.factories import UserFactory

    account = trader(cash="0.00", debt="60000.00", holdings=[("600036.SH", 2000, "36.00")])
    ensure_roles()
    services.halt_impose(
        officer=UserFactory(role="risk_officer"), reason="review", instrument_code="600036.SH"
    )
    plan = approved_plan(account, "600036.SH", 1000)

    margin.liquidation_plan_execute(plan_id=plan.pk)
    margin.liquidation_plan_execute(plan_id=plan.pk)  # a re-queued run changes nothing

    order = Order.objects.get()
    assert (order.source, order.side, order.kind) == ("liquidation", "sell", "market")
    assert order.limit_price == D("32.40")  # the band's edge: marketable
    plan.refresh_from_db()
    assert plan.status == LiquidationPlan.Status.APPROVED  # not sold yet
    tick("600036.SH", "35.00", THURSDAY + datetime.timedelta(seconds=1))
    assert services.venue_step() == 1  # the halt does not hold risk control's own sale back

    plan.refresh_from_db()
    fill = Fill.objects.get(order=order)
    # 35,000: fee 10.50, stamp duty 17.50, transfer fee 0.35 → net 34,971.65, all to the debt.
    assert (fill.value, fill.costs, fill.repaid_debt) == (D("35000.00"), D("28.35"), D("34971.65"))
    assert plan.status == LiquidationPlan.Status.EXECUTED
    assert (plan.realised_proceeds, plan.realised_costs) == (D("35000.00"), D("28.35"))
    assert MarginAccount.objects.get(pk=account.pk).debt == D("25028.35")
    assert_books_agree(THURSDAY.date())
