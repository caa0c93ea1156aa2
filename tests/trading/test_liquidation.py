"""An approved liquidation plan sells through the venue, as a client's sale does."""

import datetime
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from margin import services as margin
from margin.models import Instrument, LiquidationPlan, LiquidationPlanItem, MarginAccount
from tests.trading.conftest import THURSDAY, tick, trader
from tests.trading.test_channel import assert_books_agree, submit
from trading import services
from trading.models import Fill, Order, RefusalCount

pytestmark = pytest.mark.django_db
SECOND = datetime.timedelta(seconds=1)


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


def test_the_client_cannot_cancel_risk_controls_sale(documents, thursday, client):
    account = trader(cash="0.00", debt="60000.00", holdings=[("600036.SH", 2000, "36.00")])
    plan = approved_plan(account, "600036.SH", 1000)
    margin.liquidation_plan_execute(plan_id=plan.pk)
    order = Order.objects.get()
    client.force_login(account.client)

    page = client.get(reverse("trading:orders")).content.decode()
    answer = client.post(reverse("trading:order-cancel", args=[order.pk]), follow=True)

    assert reverse("trading:order-cancel", args=[order.pk]) not in page  # no button for it
    assert "无法撤销" in answer.content.decode()  # told why, in the default language
    order.refresh_from_db()
    assert order.is_open and not AuditEntry.objects.filter(action="trading.order_cancelled")
    tick("600036.SH", "35.00", THURSDAY + SECOND)
    assert services.venue_step() == 1
    plan.refresh_from_db()
    assert plan.status == LiquidationPlan.Status.EXECUTED


def test_a_sell_order_the_client_parked_is_cancelled_so_the_forced_sale_goes_through(
    documents, thursday
):
    # 2,000 held, all offered by the client at limit-up (39.60), where nobody buys: without
    # these shares the plan's sale of 1,000 could not be placed.
    account = trader(cash="0.00", debt="60000.00", holdings=[("600036.SH", 2000, "36.00")])
    parked = submit(account, "sell", 2000, "39.60", at=THURSDAY).order
    refusals_before = list(RefusalCount.objects.values_list("code", "count"))
    plan = approved_plan(account, "600036.SH", 1000)

    margin.liquidation_plan_execute(plan_id=plan.pk)

    parked.refresh_from_db()
    sale = Order.objects.get(source=Order.Source.LIQUIDATION)
    assert parked.status == Order.Status.CANCELLED and sale.quantity == 1000
    cancelled = AuditEntry.objects.get(action="trading.order_cancelled")
    assert (cancelled.actor_repr, cancelled.data) == (
        "risk engine",
        {"by_risk_control": f"forced liquidation plan {plan.pk}"},
    )
    # Risk control's attempts are not counted as refusals of clients' orders.
    assert list(RefusalCount.objects.values_list("code", "count")) == refusals_before
    tick("600036.SH", "35.00", THURSDAY + SECOND)
    assert services.venue_step() == 1
    plan.refresh_from_db()
    assert (plan.status, plan.realised_proceeds) == (LiquidationPlan.Status.EXECUTED, D("35000.00"))
    assert_books_agree(THURSDAY.date())


def test_a_client_sell_the_sale_does_not_need_stays_open(documents, thursday):
    account = trader(cash="0.00", debt="60000.00", holdings=[("600036.SH", 2000, "36.00")])
    own = submit(account, "sell", 500, "39.60", at=THURSDAY).order
    plan = approved_plan(account, "600036.SH", 1000)

    margin.liquidation_plan_execute(plan_id=plan.pk)

    own.refresh_from_db()
    assert own.is_open and Order.objects.get(source=Order.Source.LIQUIDATION).quantity == 1000


def test_a_position_smaller_than_planned_sells_what_there_is(documents, thursday):
    account = trader(cash="0.00", debt="60000.00", holdings=[("600036.SH", 1550, "36.00")])
    plan = approved_plan(account, "600036.SH", 2000)

    margin.liquidation_plan_execute(plan_id=plan.pk)

    assert Order.objects.get(source=Order.Source.LIQUIDATION).quantity == 1550  # odd lot whole


def test_a_sale_that_cannot_be_made_is_named_in_the_plans_audit_entry(documents, thursday):
    account = trader(cash="0.00", debt="60000.00", holdings=[("600036.SH", 2000, "36.00")])
    Instrument.objects.filter(code="600036.SH").update(suspension="other")
    plan = approved_plan(account, "600036.SH", 1000)

    margin.liquidation_plan_execute(plan_id=plan.pk)

    plan.refresh_from_db()
    assert not Order.objects.exists() and plan.status == LiquidationPlan.Status.EXECUTED
    entry = AuditEntry.objects.get(action="margin.plan_executed")
    assert entry.data["left_out"] == [["600036.SH", 1000]] and entry.data["proceeds"] == "0.00"
