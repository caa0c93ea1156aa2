"""What a level change does: notices, the call and its deadline, restrictions, plans, audit —
once, even across an engine restart."""

import datetime
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest

from audit.models import AuditEntry
from margin.feed import ManualFeed
from margin.models import LiquidationPlan, MarginCall, MarginEvent, Restriction
from margin.rules import Level
from margin.runner import RiskRunner
from notices.models import Notification
from tests.margin.conftest import make_account

pytestmark = pytest.mark.django_db

# Thursday 26 November 2026, 10:00 in Beijing: a trading day.
THURSDAY = datetime.datetime(2026, 11, 26, 2, 0, tzinfo=datetime.UTC)
BEIJING = ZoneInfo("Asia/Shanghai")


def runner_for(feed=None):
    runner = RiskRunner(feed=feed or ManualFeed())
    runner.start()
    return runner


def price(runner, code, value, minutes=1):
    at = THURSDAY + datetime.timedelta(minutes=minutes)
    runner.feed.put({code: value}, at=at)
    runner.step(now=1000.0 + minutes)


def notices_of(user):
    return sorted(Notification.objects.filter(recipient=user).values_list("key", "channel"))


@pytest.fixture
def alice_account(client_alice):
    # 100 × 1,500 = 150,000 on 100,000 owed: 150.00%, WARNING at start.
    return make_account(client_alice)


@pytest.mark.time_machine(THURSDAY, tick=False)
def test_falling_to_warning_sends_an_in_app_notice_and_an_email(client_alice):
    make_account(client_alice, holdings=[("300750.SZ", 100, "1700.00")])  # 170%: SAFE
    runner = runner_for()
    price(runner, "300750.SZ", "1500.00")
    warnings = [n for n in notices_of(client_alice) if n[0] == "margin_warning"]
    assert warnings == [("margin_warning", "email"), ("margin_warning", "inapp")]


@pytest.mark.time_machine(THURSDAY, tick=False)
def test_a_margin_call_has_a_two_trading_day_deadline_and_restricts_to_reduce_only(
    client_alice, alice_account, django_capture_on_commit_callbacks
):
    runner = runner_for()
    with django_capture_on_commit_callbacks(execute=True):
        price(runner, "300750.SZ", "1290.00")  # 129%: CALL
    call = MarginCall.objects.get(account=alice_account)
    # Called on Thursday: Friday and Monday are the two trading days; due at Monday's close.
    assert call.deadline == datetime.datetime(2026, 11, 30, 7, 0, tzinfo=datetime.UTC)
    assert call.deposit_needed == D("21000.00")  # 1.5 × 100,000 − 129,000
    assert call.sell_needed == D("42000.00")
    restriction = Restriction.objects.get(
        account=alice_account, lifted_at__isnull=True, kind=Restriction.Kind.REDUCE_ONLY
    )
    assert restriction.imposed_by is None  # imposed by the risk engine
    assert [n for n in notices_of(client_alice) if n[0] == "margin_call"] == [
        ("margin_call", "email"),
        ("margin_call", "inapp"),
        ("margin_call", "sms"),
    ]
    sms = Notification.objects.get(recipient=client_alice, key="margin_call", channel="sms")
    assert sms.status == "sent"
    assert "2026-11-30 15:00" in sms.body and "21,000.00" in sms.body
    assert {"margin.level_changed", "margin.call_issued", "margin.restriction_imposed"} <= set(
        AuditEntry.objects.values_list("action", flat=True)
    )


@pytest.mark.time_machine(THURSDAY, tick=False)
def test_crossing_the_liquidation_line_queues_a_plan_for_a_risk_officer(
    client_alice, django_capture_on_commit_callbacks
):
    account = make_account(client_alice, debt="105000.00")  # 142.86%
    runner = runner_for()
    with django_capture_on_commit_callbacks(execute=True):
        price(runner, "300750.SZ", "1250.00")  # 119.05%
        # The least-sale search is a worker's, after the transition's commit: not the engine's.
        assert not LiquidationPlan.objects.filter(account=account).exists()
    plan = LiquidationPlan.objects.get(account=account)
    assert plan.status == LiquidationPlan.Status.PROPOSED
    assert plan.trigger == LiquidationPlan.Trigger.LIQUIDATION_LINE
    # The cure needs 65,000 of sales: one lot at 1,250, which is the whole position.
    assert list(plan.items.values_list("instrument__code", "quantity")) == [("300750.SZ", 100)]
    assert plan.expected_proceeds == D("125000.00")
    assert ("margin_liquidation", "sms") in notices_of(client_alice)


@pytest.mark.time_machine(THURSDAY, tick=False)
def test_recovery_past_the_hysteresis_changes_the_level_but_only_150_percent_meets_the_call(
    client_alice, alice_account
):
    runner = runner_for()
    price(runner, "300750.SZ", "1290.00", minutes=1)  # CALL
    price(runner, "300750.SZ", "1350.00", minutes=2)  # 135%: up to WARNING, the call stays
    assert alice_account.events.last().to_level == Level.WARNING
    assert MarginCall.objects.get(account=alice_account).status == MarginCall.Status.OPEN
    assert Restriction.objects.filter(
        account=alice_account, lifted_at__isnull=True, kind=Restriction.Kind.REDUCE_ONLY
    ).exists()
    price(runner, "300750.SZ", "1500.00", minutes=3)  # 150%: restored
    call = MarginCall.objects.get(account=alice_account)
    assert call.status == MarginCall.Status.MET
    assert not Restriction.objects.filter(
        account=alice_account, lifted_at__isnull=True, kind=Restriction.Kind.REDUCE_ONLY
    ).exists()
    assert ("margin_recovered", "inapp") in notices_of(client_alice)


@pytest.mark.time_machine(THURSDAY, tick=False)
def test_notices_are_sent_once_even_when_the_engine_restarts_mid_way(client_alice, alice_account):
    runner = runner_for()
    price(runner, "300750.SZ", "1290.00")
    first = notices_of(client_alice)
    # A new engine starts from the tables (same prices) and finds nothing new to record.
    again = runner_for()
    again.step(now=5000.0)
    assert notices_of(client_alice) == first
    assert MarginEvent.objects.filter(account=alice_account).count() == 2  # →WARNING, →CALL


@pytest.mark.time_machine(THURSDAY, tick=False)
def test_a_move_while_no_engine_ran_is_recorded_at_the_next_start(client_alice, alice_account):
    from margin.models import Instrument

    runner_for()  # records SAFE → WARNING
    Instrument.objects.filter(code="300750.SZ").update(last_price=D("1290.00"))
    runner_for()
    events = list(
        MarginEvent.objects.filter(account=alice_account).values_list("to_level", flat=True)
    )
    assert events == [Level.WARNING, Level.CALL]
    assert notices_of(client_alice).count(("margin_call", "sms")) == 1


@pytest.mark.parametrize(
    ("raised", "due"),
    [
        # Thursday 31 December, then Monday 4 January: New Year's Day 2027 is a holiday, by rule.
        (datetime.datetime(2026, 12, 30, 10), datetime.datetime(2027, 1, 4, 15)),
        (datetime.datetime(2026, 12, 31, 10), datetime.datetime(2027, 1, 5, 15)),
        # Thursday 4 February 2027: the exchange is shut from Friday 5th to Wednesday 10th.
        (datetime.datetime(2027, 2, 4, 10), datetime.datetime(2027, 2, 12, 15)),
    ],
)
def test_a_call_raised_before_a_2027_holiday_is_due_after_it(
    time_machine, client_alice, django_capture_on_commit_callbacks, raised, due
):
    raised, due = raised.replace(tzinfo=BEIJING), due.replace(tzinfo=BEIJING)
    time_machine.move_to(raised, tick=False)
    account = make_account(client_alice)
    runner = runner_for()
    runner.feed.put({"300750.SZ": "1290.00"}, at=raised)
    with django_capture_on_commit_callbacks(execute=True):
        runner.step(now=1000.0)
    assert MarginCall.objects.get(account=account).deadline == due
    sms = Notification.objects.get(recipient=client_alice, key="margin_call", channel="sms")
    assert due.strftime("%Y-%m-%d %H:%M") in sms.body


def test_a_call_in_a_provisional_year_follows_the_closures_staff_enter(time_machine, client_alice):
    from portal.models import CalendarKind, CalendarOverride

    # Say the 2027 notice closes Thursday 11 February as well: the exchange follows.
    CalendarOverride.objects.create(
        date=datetime.date(2027, 2, 11),
        calendar=CalendarKind.SERVICE,
        kind=CalendarOverride.Kind.CLOSED,
    )
    raised = datetime.datetime(2027, 2, 4, 10, tzinfo=BEIJING)
    time_machine.move_to(raised, tick=False)
    account = make_account(client_alice)
    runner = runner_for()
    runner.feed.put({"300750.SZ": "1290.00"}, at=raised)
    runner.step(now=1000.0)
    deadline = MarginCall.objects.get(account=account).deadline
    assert deadline == datetime.datetime(2027, 2, 15, 15, tzinfo=BEIJING)


@pytest.mark.time_machine(THURSDAY, tick=False)
def test_the_amount_to_sell_in_a_call_is_after_the_fee_schedules_selling_costs(
    client_alice, alice_account
):
    from margin import contracts, rules
    from tests.education.factories import documents_in_force

    documents_in_force()  # the fee schedule: trade fee 0.03% (at least ¥5), stamp duty, transfer
    costs = contracts.sell_costs(alice_account)
    assert costs.rate > 0 and costs.commission_minimum > 0
    runner = runner_for()
    price(runner, "300750.SZ", "1290.00")  # 129%: CALL
    call = MarginCall.objects.get(account=alice_account)
    # Selling 42,000 would repay 42,000 less its costs and leave the ratio under 150%; the call
    # asks for the amount that restores it after them.
    expected = rules.cure(
        assets=D("129000.00"),
        liabilities=D("100000.00"),
        market_value=D("129000.00"),
        sell_costs=costs,
    ).sell
    assert call.sell_needed == expected > D("42000.00")
    net = call.sell_needed - costs.of(call.sell_needed).total
    assert (D("129000.00") - call.sell_needed) / (D("100000.00") - net) >= D("1.5")
    inapp = Notification.objects.get(recipient=client_alice, key="margin_call", channel="inapp")
    assert inapp.context["sell"] == f"{expected:,}"
    status = runner.status_of(alice_account.pk)
    assert status["cure"]["sell"] == str(expected)
