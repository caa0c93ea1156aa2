"""A transition through the liquidation line proposes its plan after commit, in a worker task keyed
by the event (margin.tasks.propose_liquidation_plans), out of the risk engine's step; the task is
idempotent, and a task a worker lost is queued again by the stuck-work sweep."""

import datetime
from decimal import Decimal as D

import pytest

from audit.models import AuditEntry
from audit.services import verify_chain
from margin import services, tasks
from margin.engine import Transition
from margin.liquidation_plans import liquidation_plan_reject
from margin.models import LiquidationPlan
from margin.rules import Level
from margin.transitions import margin_event_record, margin_transitions_record_batch
from tests.factories import UserFactory
from tests.margin.conftest import make_account

pytestmark = pytest.mark.django_db
AT = datetime.datetime(2026, 11, 25, 6, 31, tzinfo=datetime.UTC)


def through_the_line(account, sequence=1, from_level=Level.SAFE):
    return Transition(
        account_id=account.pk,
        sequence=sequence,
        from_level=from_level,
        to_level=Level.LIQUIDATION,
        ratio=D("1.1905"),
        assets=D("125000.00"),
        liabilities=account.liabilities,
    )


@pytest.fixture
def account(client_alice):
    return make_account(client_alice, debt="105000.00", holdings=[("300750.SZ", 100, "1250.00")])


def test_the_plan_is_proposed_after_commit_by_the_task(account, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as queued:
        event, created = margin_event_record(**through_the_line(account)._asdict(), occurred_at=AT)
        assert created
        assert not LiquidationPlan.objects.exists()  # not inside the transition's transaction
    assert queued  # the plan task, queued on commit (eager in tests)
    plan = LiquidationPlan.objects.get()
    assert (plan.account, plan.event, plan.trigger) == (
        account,
        event,
        LiquidationPlan.Trigger.LIQUIDATION_LINE,
    )
    assert list(plan.items.values_list("instrument__code", "quantity")) == [("300750.SZ", 100)]
    actions = list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))
    assert actions == [
        "margin.level_changed",
        "margin.call_issued",
        "margin.restriction_imposed",
        "margin.plan_proposed",
    ]
    assert verify_chain().ok


def test_the_batch_path_queues_the_plans_too(
    account, client_bob, django_capture_on_commit_callbacks
):
    other = make_account(client_bob, debt="105000.00", holdings=[("300750.SZ", 100, "1250.00")])
    with django_capture_on_commit_callbacks(execute=True):
        events, stale = margin_transitions_record_batch(
            transitions=[through_the_line(account), through_the_line(other)], occurred_at=AT
        )
        assert not LiquidationPlan.objects.exists()
    assert stale == []
    assert sorted(LiquidationPlan.objects.values_list("event_id", flat=True)) == sorted(
        e.pk for e in events
    )


def test_a_replayed_or_second_task_makes_no_second_plan(
    account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event, _ = margin_event_record(**through_the_line(account)._asdict(), occurred_at=AT)
    entries = AuditEntry.objects.count()
    # The same task delivered twice, and the same event in a second task.
    tasks.propose_liquidation_plans([event.pk])
    assert services.liquidation_plans_propose(event_ids=[event.pk, event.pk]) == {}
    assert LiquidationPlan.objects.count() == 1
    # Even once the plan is rejected: the event had its plan.
    officer = UserFactory(role="risk_officer")
    officer.user_permissions.add(*_decide_permission())
    liquidation_plan_reject(plan_id=LiquidationPlan.objects.get().pk, officer=officer, reason="no")
    assert services.liquidation_plans_propose(event_ids=[event.pk]) == {}
    assert LiquidationPlan.objects.count() == 1
    assert AuditEntry.objects.count() == entries + 1  # the rejection only
    # A replayed transition queues nothing new either.
    with django_capture_on_commit_callbacks(execute=True):
        _, created = margin_event_record(**through_the_line(account)._asdict(), occurred_at=AT)
    assert not created and LiquidationPlan.objects.count() == 1


def test_an_account_back_above_the_line_before_the_task_gets_no_plan(
    account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        margin_event_record(**through_the_line(account)._asdict(), occurred_at=AT)
        margin_event_record(
            account_id=account.pk,
            sequence=2,
            from_level=Level.LIQUIDATION,
            to_level=Level.CALL,
            ratio=D("1.2500"),
            assets=D("131250.00"),
            liabilities=account.liabilities,
            occurred_at=AT + datetime.timedelta(seconds=3),
        )
    for callback in queued:
        callback()
    assert not LiquidationPlan.objects.exists()


def test_the_sweep_queues_again_a_plan_task_a_worker_lost(
    account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # the task never ran
        event, _ = margin_event_record(**through_the_line(account)._asdict(), occurred_at=AT)
    assert services.liquidation_plans_propose_missing(before=AT) == 0  # not stuck yet
    later = AT + datetime.timedelta(minutes=10)
    assert services.liquidation_plans_propose_missing(before=later) == 1
    assert LiquidationPlan.objects.get().event == event
    assert services.liquidation_plans_propose_missing(before=later) == 0


def test_the_sweep_looks_back_a_day(account, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        margin_event_record(**through_the_line(account)._asdict(), occurred_at=AT)
    assert services.liquidation_plans_propose_missing(before=AT + datetime.timedelta(days=2)) == 0
    assert not LiquidationPlan.objects.exists()  # the missed deadline's sweep proposes one


def _decide_permission():
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(codename="decide_liquidationplan")


def test_many_plans_go_through_one_task_that_queues_their_batches(
    account, client_bob, monkeypatch, django_capture_on_commit_callbacks
):
    """More than ``PLAN_FAN_OUT`` plan tasks from one commit: the commit queues one task, which
    queues them ``PLAN_BATCH`` events a task; every plan is proposed once."""
    from margin import liquidation_plans

    monkeypatch.setattr(liquidation_plans, "PLAN_BATCH", 1)
    monkeypatch.setattr(liquidation_plans, "PLAN_FAN_OUT", 2)
    others = [
        make_account(UserFactory(email=f"p{i}@example.test", phone=f"1380000010{i}"),
                     debt="105000.00", holdings=[("300750.SZ", 100, "1250.00")])
        for i in range(2)
    ]  # fmt: skip
    fanned, proposed = [], []
    fan_out, propose = tasks.queue_liquidation_plans.delay, tasks.propose_liquidation_plans.delay
    monkeypatch.setattr(
        tasks.queue_liquidation_plans, "delay", lambda ids: fanned.append(ids) or fan_out(ids)
    )
    monkeypatch.setattr(
        tasks.propose_liquidation_plans, "delay", lambda ids: proposed.append(ids) or propose(ids)
    )
    with django_capture_on_commit_callbacks(execute=True):
        events, _ = margin_transitions_record_batch(
            transitions=[through_the_line(a) for a in (account, *others)], occurred_at=AT
        )
    ids = [e.pk for e in events]
    assert fanned == [ids]  # one task queued on commit
    assert proposed == [[pk] for pk in ids]
    assert sorted(LiquidationPlan.objects.values_list("event_id", flat=True)) == sorted(ids)
    tasks.queue_liquidation_plans(ids)  # delivered twice
    assert LiquidationPlan.objects.count() == 3


def test_a_few_plans_are_queued_as_their_own_tasks(
    account, client_bob, monkeypatch, django_capture_on_commit_callbacks
):
    from margin import liquidation_plans

    monkeypatch.setattr(liquidation_plans, "PLAN_BATCH", 1)
    other = make_account(client_bob, debt="105000.00", holdings=[("300750.SZ", 100, "1250.00")])
    fanned, proposed = [], []
    propose = tasks.propose_liquidation_plans.delay
    monkeypatch.setattr(tasks.queue_liquidation_plans, "delay", fanned.append)
    monkeypatch.setattr(
        tasks.propose_liquidation_plans, "delay", lambda ids: proposed.append(ids) or propose(ids)
    )
    with django_capture_on_commit_callbacks(execute=True):
        events, _ = margin_transitions_record_batch(
            transitions=[through_the_line(account), through_the_line(other)], occurred_at=AT
        )
    assert fanned == []
    assert proposed == [[e.pk] for e in events]
    assert LiquidationPlan.objects.count() == 2
