"""Missed deadlines become plans; risk officers decide them (four-eyes); a second officer confirms
the execution of an approved plan, which then fills."""

import datetime
from decimal import Decimal as D

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.utils import translation

from audit.models import AuditEntry
from margin import services
from margin.feed import ManualFeed
from margin.models import Instrument, LiquidationPlan, MarginAccount, MarginCall, Position
from margin.runner import RiskRunner
from notices.models import Notification
from tests.factories import UserFactory
from tests.margin.conftest import make_account

pytestmark = pytest.mark.django_db
THURSDAY = datetime.datetime(2026, 11, 26, 2, 0, tzinfo=datetime.UTC)
DEADLINE = datetime.datetime(2026, 11, 30, 7, 0, tzinfo=datetime.UTC)


@pytest.fixture
def risk_officer(db):
    user = UserFactory(role="risk_officer")
    user.groups.add(Group.objects.get(name="risk_officer"))
    return user


@pytest.fixture
def second_officer(db):
    user = UserFactory(role="risk_officer")
    user.groups.add(Group.objects.get(name="risk_officer"))
    return user


REASON = "Deadline missed; no deposit in the bank file."


@pytest.fixture
def called_account(client_alice):
    account = make_account(client_alice)
    with time_machine.travel(THURSDAY, tick=False):
        runner = RiskRunner(feed=ManualFeed())
        runner.start()
        runner.feed.put({"300750.SZ": "1290.00"}, at=THURSDAY)
        runner.step(now=10.0)
    assert MarginCall.objects.get(account=account).deadline == DEADLINE
    return account


def test_the_sweep_leaves_a_call_alone_before_its_deadline(called_account):
    result = services.margin_call_deadline_sweep(now=DEADLINE - datetime.timedelta(seconds=1))
    assert (result.missed, result.plans) == (0, 0)
    assert MarginCall.objects.get(account=called_account).status == MarginCall.Status.OPEN


def test_a_missed_deadline_queues_one_plan_however_often_the_sweep_runs(called_account):
    first = services.margin_call_deadline_sweep(now=DEADLINE)
    second = services.margin_call_deadline_sweep(now=DEADLINE + datetime.timedelta(minutes=1))
    assert (first.missed, first.plans, second.missed) == (1, 1, 0)
    assert MarginCall.objects.get(account=called_account).status == MarginCall.Status.MISSED
    plan = LiquidationPlan.objects.get(account=called_account)
    assert plan.trigger == LiquidationPlan.Trigger.DEADLINE_MISSED
    assert Notification.objects.filter(key="margin_liquidation", channel="sms").count() == 1
    assert AuditEntry.objects.filter(action="margin.call_missed").count() == 1


def test_only_a_risk_officer_may_decide_a_plan(called_account):
    services.margin_call_deadline_sweep(now=DEADLINE)
    plan = LiquidationPlan.objects.get(account=called_account)
    agent = UserFactory(role="agent")
    agent.groups.add(Group.objects.get(name="agent"))
    with pytest.raises(services.PlanDecisionError):
        services.liquidation_plan_approve(plan_id=plan.pk, officer=agent, reason=REASON)
    assert LiquidationPlan.objects.get(pk=plan.pk).status == LiquidationPlan.Status.PROPOSED


def test_the_officer_who_proposed_a_plan_cannot_approve_it(called_account, risk_officer):
    plan = services._propose_plan(
        called_account, LiquidationPlan.Trigger.DEADLINE_MISSED, None, proposed_by=risk_officer
    )
    with translation.override("en"), pytest.raises(services.PlanDecisionError, match="Four-eyes"):
        services.liquidation_plan_approve(plan_id=plan.pk, officer=risk_officer, reason=REASON)
    other = UserFactory(role="risk_officer")
    other.groups.add(Group.objects.get(name="risk_officer"))
    services.liquidation_plan_approve(plan_id=plan.pk, officer=other, reason=REASON)


def test_rejecting_a_plan_needs_a_reason_and_records_it(called_account, risk_officer):
    services.margin_call_deadline_sweep(now=DEADLINE)
    plan = LiquidationPlan.objects.get(account=called_account)
    with pytest.raises(services.PlanDecisionError):
        services.liquidation_plan_reject(plan_id=plan.pk, officer=risk_officer, reason="  ")
    services.liquidation_plan_reject(
        plan_id=plan.pk, officer=risk_officer, reason="Client wired the deposit; bank confirms."
    )
    plan.refresh_from_db()
    assert plan.status == LiquidationPlan.Status.REJECTED
    assert plan.decided_by == risk_officer
    entry = AuditEntry.objects.get(action="margin.plan_rejected")
    assert entry.data["reason"] == "Client wired the deposit; bank confirms."


def test_approving_a_plan_needs_a_reason_and_sells_nothing(
    called_account, risk_officer, django_capture_on_commit_callbacks
):
    services.margin_call_deadline_sweep(now=DEADLINE)
    plan = LiquidationPlan.objects.get(account=called_account)
    with pytest.raises(services.PlanDecisionError):
        services.liquidation_plan_approve(plan_id=plan.pk, officer=risk_officer, reason=" ")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.liquidation_plan_approve(plan_id=plan.pk, officer=risk_officer, reason=REASON)
    assert callbacks == []  # nothing queued: execution waits for a second officer
    plan.refresh_from_db()
    assert (plan.status, plan.decided_by, plan.decision_note) == ("approved", risk_officer, REASON)
    with translation.override("en"):
        assert plan.get_status_display() == "Approved, awaiting execution"
    services.liquidation_plan_execute(plan_id=plan.pk)  # a stray run changes nothing
    assert LiquidationPlan.objects.get(pk=plan.pk).status == LiquidationPlan.Status.APPROVED
    assert Position.objects.get(account=called_account).quantity == 100
    assert AuditEntry.objects.get(action="margin.plan_approved").data == {"reason": REASON}


def test_the_officer_who_approved_a_plan_cannot_execute_it(called_account, risk_officer):
    services.margin_call_deadline_sweep(now=DEADLINE)
    plan = LiquidationPlan.objects.get(account=called_account)
    services.liquidation_plan_approve(plan_id=plan.pk, officer=risk_officer, reason=REASON)
    with translation.override("en"), pytest.raises(services.PlanDecisionError, match="another"):
        services.liquidation_plan_confirm_execution(plan_id=plan.pk, officer=risk_officer)
    with translation.override("zh-hans"), pytest.raises(services.PlanDecisionError) as refusal:
        services.liquidation_plan_confirm_execution(plan_id=plan.pk, officer=risk_officer)
    assert "另一位风控" in str(refusal.value)
    plan.refresh_from_db()
    assert plan.execution_confirmed_by is None and plan.status == LiquidationPlan.Status.APPROVED
    assert not AuditEntry.objects.filter(action="margin.plan_execution_confirmed").exists()


def test_only_a_risk_officer_may_confirm_an_execution(called_account, risk_officer):
    services.margin_call_deadline_sweep(now=DEADLINE)
    plan = LiquidationPlan.objects.get(account=called_account)
    with pytest.raises(services.PlanDecisionError):  # not approved yet
        services.liquidation_plan_confirm_execution(plan_id=plan.pk, officer=risk_officer)
    services.liquidation_plan_approve(plan_id=plan.pk, officer=risk_officer, reason=REASON)
    for role in ("agent", "compliance", "kyc_reviewer"):
        staff = UserFactory(role=role)
        staff.groups.add(Group.objects.get(name=role))
        with pytest.raises(services.PlanDecisionError):
            services.liquidation_plan_confirm_execution(plan_id=plan.pk, officer=staff)
    assert LiquidationPlan.objects.get(pk=plan.pk).execution_confirmed_at is None


def test_the_database_refuses_an_execution_confirmed_by_the_approver(called_account, risk_officer):
    from django.db import IntegrityError, transaction

    services.margin_call_deadline_sweep(now=DEADLINE)
    plan = LiquidationPlan.objects.get(account=called_account)
    services.liquidation_plan_approve(plan_id=plan.pk, officer=risk_officer, reason=REASON)
    with pytest.raises(IntegrityError), transaction.atomic():
        LiquidationPlan.objects.filter(pk=plan.pk).update(execution_confirmed_by=risk_officer)


def test_an_approved_plan_sells_at_the_feed_price_repays_debt_and_tells_the_client(
    called_account, risk_officer, second_officer, django_capture_on_commit_callbacks
):
    services.margin_call_deadline_sweep(now=DEADLINE)
    plan = LiquidationPlan.objects.get(account=called_account)
    assert list(plan.items.values_list("quantity", flat=True)) == [100]  # the cure needs 42,000
    services.liquidation_plan_approve(plan_id=plan.pk, officer=risk_officer, reason=REASON)
    with django_capture_on_commit_callbacks(execute=True):
        services.liquidation_plan_confirm_execution(plan_id=plan.pk, officer=second_officer)
    plan.refresh_from_db()
    assert (plan.decided_by, plan.execution_confirmed_by) == (risk_officer, second_officer)
    entry = AuditEntry.objects.get(action="margin.plan_execution_confirmed")
    assert entry.actor_id == second_officer.pk and entry.data["sales"] == [["300750.SZ", 100]]
    assert plan.status == LiquidationPlan.Status.EXECUTED
    assert plan.realised_proceeds == D("129000.00")
    account = MarginAccount.objects.get(pk=called_account.pk)
    # 129,000 of proceeds repays the 100,000 of debt; 29,000 stays as cash.
    assert (account.debt, account.cash) == (D("0.00"), D("29000.00"))
    assert account.state_changed_at is not None
    assert not Position.objects.filter(account=account).exists()
    assert Notification.objects.filter(key="margin_liquidation_executed").count() == 3


def test_a_sale_locked_at_limit_down_by_execution_time_is_not_filled(
    called_account, risk_officer, second_officer
):
    services.margin_call_deadline_sweep(now=DEADLINE)
    plan = LiquidationPlan.objects.get(account=called_account)
    Instrument.objects.filter(code="300750.SZ").update(last_price=D("1200.00"))  # −20%
    services.liquidation_plan_approve(plan_id=plan.pk, officer=risk_officer, reason=REASON)
    services.liquidation_plan_confirm_execution(plan_id=plan.pk, officer=second_officer)
    services.liquidation_plan_execute(plan_id=plan.pk)
    plan.refresh_from_db()
    assert plan.realised_proceeds == D("0.00")
    assert Position.objects.get(account=called_account).quantity == 100


def test_the_engine_reloads_an_account_a_service_changed(
    called_account, risk_officer, second_officer
):
    runner = RiskRunner(feed=ManualFeed(), reload_interval=0)
    runner.start()
    services.margin_call_deadline_sweep(now=DEADLINE)
    plan = LiquidationPlan.objects.get(account=called_account)
    services.liquidation_plan_approve(plan_id=plan.pk, officer=risk_officer, reason=REASON)
    services.liquidation_plan_confirm_execution(plan_id=plan.pk, officer=second_officer)
    services.liquidation_plan_execute(plan_id=plan.pk)
    runner.step()
    snapshot = runner.engine.snapshot(called_account.pk)
    assert (snapshot.market_value, snapshot.liabilities, snapshot.ratio) == (
        D("0.00"),
        D("0.00"),
        None,
    )
    assert MarginAccount.objects.get(pk=called_account.pk).current_level == "safe"
