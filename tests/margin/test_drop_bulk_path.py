"""A market-wide fall recorded in bulk writes what recording it one account at a time writes: the
same events, calls, restrictions, liquidation plans (to the share), concentration restrictions and
lifts, notices and audit entries, in the same order on the chain; and a replay writes nothing."""

import datetime
from decimal import Decimal as D

import pytest
from django.db import transaction
from django.test import TestCase

from audit.models import AuditEntry
from audit.services import verify_chain
from margin.calls import margin_call_restore, margin_calls_restore
from margin.concentration import (
    concentration_breach_clear,
    concentration_breach_record,
    concentration_changes_record,
)
from margin.engine import ConcentrationChange, Restoration, Transition
from margin.liquidation_plans import _propose_plan, liquidation_plans_propose
from margin.models import (
    LiquidationPlan,
    LiquidationPlanItem,
    MarginCall,
    MarginEvent,
    Restriction,
)
from margin.rules import Level
from margin.transitions import margin_event_record, margin_transitions_record_batch
from notices.models import Notification
from tests.disclosures.factories import in_force as fee_schedule_in_force
from tests.factories import UserFactory
from tests.margin.conftest import make_account
from tests.margin.factories import MarginAccountFactory, PositionFactory

pytestmark = pytest.mark.django_db
AT = datetime.datetime(2026, 11, 25, 6, 31, tzinfo=datetime.UTC)

# tests/margin/test_liquidation_plan.py's counterexample book: the least plan is ¥32,921.80.
COUNTER_BOOK = [
    ("688111.SH", 799, "43.52"),
    ("600036.SH", 323, "48.32"),
    ("300750.SZ", 861, "32.11"),
]


def fall(account, to_level, ratio, sequence=1, from_level=Level.SAFE):
    return Transition(
        account_id=account.pk,
        sequence=sequence,
        from_level=from_level,
        to_level=to_level,
        ratio=D(ratio),
        assets=(D(ratio) * account.liabilities).quantize(D("0.01")),
        liabilities=account.liabilities,
    )


@pytest.fixture
def book(client_alice, client_bob):
    """Seven accounts falling at once, a liquidation plan already open on one, a concentration
    restriction already in force on another; the demo fee schedule in force."""
    fee_schedule_in_force()
    people = [client_alice, client_bob] + [
        UserFactory(email=f"c{i}@example.test", phone=f"1380000010{i}") for i in range(5)
    ]
    warning = make_account(people[0], debt="100000.00", holdings=[("000001.SZ", 9000, "16.00")])
    called = make_account(people[1], holdings=[("600036.SH", 2000, "48.32")])
    counter = make_account(people[2], cash="12068.49", debt="71009.07", holdings=COUNTER_BOOK)
    big = make_account(
        people[3],
        debt="900000.00",
        holdings=[("600519.SH", 500, "1480.00"), ("601398.SH", 30000, "5.10")],
    )
    already = make_account(people[4], debt="50000.00", holdings=[("601398.SH", 10000, "5.10")])
    _propose_plan(already, LiquidationPlan.Trigger.LIQUIDATION_LINE, None)
    # No contract: DESIGN.md's default lines and the fee schedule in force.
    bare = MarginAccountFactory(client=people[5], debt=D("40000.00"))
    PositionFactory(account=bare, instrument=called.positions.get().instrument, quantity=900)
    watched = make_account(
        people[6], cash="1000.00", debt="10000.00", holdings=[("002594.SZ", 100, "1500.00")]
    )
    Restriction.objects.create(
        account=watched,
        kind=Restriction.Kind.CONCENTRATION,
        instrument=watched.positions.get().instrument,
        reason_code=Restriction.ReasonCode.CONCENTRATION,
        reason_params={"code": "002594.SZ", "share": "99.33%", "limit": "30.00%"},
        imposed_at=AT - datetime.timedelta(days=1),
    )
    Restriction.objects.create(
        account=big,
        kind=Restriction.Kind.CONCENTRATION,
        instrument=big.positions.get(instrument__code="600519.SH").instrument,
        reason_code=Restriction.ReasonCode.CONCENTRATION,
        reason_params={},
        imposed_at=AT - datetime.timedelta(days=1),
    )
    transitions = [
        fall(warning, Level.WARNING, "1.4500"),
        fall(called, Level.CALL, "1.2900"),
        fall(counter, Level.LIQUIDATION, "1.2688"),
        fall(big, Level.LIQUIDATION, "1.0020"),
        fall(already, Level.LIQUIDATION, "1.0200"),
        fall(bare, Level.LIQUIDATION, "1.0870"),
    ]
    changes = [
        ConcentrationChange(counter.pk, "688111.SH", True, D("0.3412")),
        ConcentrationChange(watched.pk, "002594.SZ", False, D("0.2950")),
        ConcentrationChange(called.pk, "600036.SH", True, D("1.0000")),
        ConcentrationChange(watched.pk, "002594.SZ", True, D("0.3300")),  # back over: a new batch
        ConcentrationChange(big.pk, "600519.SH", False, None),  # sold
        ConcentrationChange(big.pk, "601398.SH", True, D("0.3100")),
        ConcentrationChange(already.pk, "999999.SH", True, D("0.5000")),  # unknown: nothing
    ]
    return transitions, changes


def after_commit():
    """Run what the recording queues for after its commit as if it had committed: the liquidation
    plans' task (eager in tests), which writes the plans and their audit entries."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def one_by_one(transitions, changes):
    with after_commit():
        for t in transitions:
            margin_event_record(**t._asdict(), occurred_at=AT)
        for change in changes:
            if change.breached:
                concentration_breach_record(change=change, occurred_at=AT)
            else:
                concentration_breach_clear(change=change, occurred_at=AT)


def in_bulk(transitions, changes):
    with after_commit():
        margin_transitions_record_batch(transitions=transitions, occurred_at=AT)
        concentration_changes_record(changes=changes, occurred_at=AT)


def written():
    """Everything the recording wrote, without the row ids and clocks it cannot share."""
    plans = {
        ("margin.liquidationplan", plan.pk): (
            plan.account_id,
            plan.event.sequence if plan.event else None,
            plan.trigger,
            plan.status,
            plan.ratio_at_proposal,
            plan.target_ratio,
            plan.expected_proceeds,
            plan.expected_costs,
            plan.expected_ratio_after,
            plan.least_possible,
            plan.exact,
            plan.reasoning,
            plan.proposed_by_id,
            [
                (
                    i.instrument.code,
                    i.quantity,
                    i.reference_price,
                    i.expected_proceeds,
                    i.commission,
                    i.stamp_duty,
                    i.transfer_fee,
                    i.net_proceeds,
                )
                for i in LiquidationPlanItem.objects.filter(plan=plan).order_by("pk")
            ],
        )
        for plan in LiquidationPlan.objects.select_related("event")
    }
    calls = {
        ("margin.margincall", call.pk): (
            call.account_id,
            call.event.sequence,
            call.issued_at,
            call.deadline,
            call.deposit_needed,
            call.sell_needed,
            call.status,
            call.resolved_at,
        )
        for call in MarginCall.objects.select_related("event")
    }
    restrictions = {
        ("margin.restriction", r.pk): (
            r.account_id,
            r.kind,
            r.instrument_id,
            r.reason,
            r.reason_code,
            r.reason_params,
            r.event.sequence if r.event else None,
            r.imposed_at,
            r.lifted_at,
            r.lift_reason,
        )
        for r in Restriction.objects.select_related("event")
    }
    own = {**plans, **calls, **restrictions}  # what an entry's object_id stands for
    audit = [
        (
            e.action,
            e.object_type,
            e.data,
            e.actor_repr,
            e.object_id
            if e.object_type == "margin.marginaccount"
            else own[e.object_type, int(e.object_id)],
        )
        for e in AuditEntry.objects.order_by("seq")
    ]
    return {
        "events": sorted(
            MarginEvent.objects.values_list(
                "account_id", "sequence", "from_level", "to_level", "ratio", "assets"
            )
        ),
        "levels": sorted(
            (t.account_id, t.account.current_level, t.account.event_sequence)
            for t in MarginEvent.objects.select_related("account")
        ),
        "plans": sorted(plans.values(), key=repr),
        "calls": sorted(calls.values(), key=repr),
        "restrictions": sorted(restrictions.values(), key=repr),
        "notices": sorted(
            Notification.objects.values_list(
                "recipient_id", "key", "channel", "context", "language", "idempotency_key"
            ),
            key=repr,
        ),
        "audit": audit,
    }


class _Undo(Exception):
    pass


def recorded_by(record, transitions, changes):
    """What ``record`` writes from the book's state, then undone for the other path."""
    try:
        with transaction.atomic():
            record(transitions, changes)
            assert verify_chain().ok
            seen = written()
            raise _Undo
    except _Undo:
        return seen


def test_the_bulk_path_writes_what_the_one_by_one_path_writes(book):
    transitions, changes = book
    single = recorded_by(one_by_one, transitions, changes)
    bulk = recorded_by(in_bulk, transitions, changes)
    assert bulk == single
    # The book exercised every rule: three plans proposed and one kept, the least-sale plan of
    # the worked example among them.
    plans = {plan[0]: plan for plan in single["plans"]}
    counter, kept = transitions[2].account_id, transitions[4].account_id
    assert len(plans) == 4 and plans[kept][1] is None
    assert plans[counter][6] == D("32921.80")
    assert [item[:2] for item in plans[counter][-1]] == [("688111.SH", 240), ("300750.SZ", 700)]
    actions = [entry[0] for entry in single["audit"]]
    assert actions.count("margin.plan_proposed") == 4  # the kept plan's, then three new
    # Each new plan's entry comes after its account's level change, call and restriction.
    first_plan = actions.index("margin.plan_proposed", 1)
    assert "margin.level_changed" not in actions[first_plan:]
    assert actions.count("margin.concentration_breach") == 4
    assert actions.count("margin.concentration_cleared") == 2
    assert {n[1] for n in single["notices"]} >= {"margin_concentration", "margin_liquidation"}


def test_a_replayed_fall_writes_nothing_twice(book):
    transitions, changes = book
    in_bulk(transitions, changes)
    before = written()
    # The same fall and crossings again (a restarted engine); a breach is told once a day.
    in_bulk(transitions, [change for change in changes if change.breached])
    assert written() == before
    # The plans' task run again for the same events (a redelivery): no second plan.
    events = list(MarginEvent.objects.values_list("pk", flat=True))
    assert len(liquidation_plans_propose(event_ids=events)) == 0
    assert written() == before
    assert verify_chain().ok


def test_restorations_in_bulk_write_what_one_by_one_writes(book):
    transitions, changes = book
    in_bulk(transitions, changes)
    warning, called, counter, big, _, bare = (t.account_id for t in transitions)
    later = AT + datetime.timedelta(hours=1)
    restorations = [
        Restoration(called, D("1.5200"), D("152000.00"), D("100000.00")),
        Restoration(warning, D("1.6000"), D("160000.00"), D("100000.00")),  # nothing to meet
        Restoration(counter, D("1.4900"), D("105803.51"), D("71009.07")),  # under its line
        Restoration(big, None, D("893000.00"), D("0.00")),  # all repaid
        Restoration(bare, D("1.5000"), D("60000.00"), D("40000.00")),
    ]

    def restore_one_by_one(restorations, _):
        for r in restorations:
            margin_call_restore(**r._asdict(), occurred_at=later)

    def restore_in_bulk(restorations, _):
        assert margin_calls_restore(restorations=restorations, occurred_at=later) == {
            called,
            big,
            bare,
        }

    single = recorded_by(restore_one_by_one, restorations, None)
    bulk = recorded_by(restore_in_bulk, restorations, None)
    assert bulk == single
    met = [c for c in single["calls"] if c[6] == MarginCall.Status.MET]
    assert sorted(c[0] for c in met) == sorted([called, big, bare])
    assert sum(1 for n in single["notices"] if n[1] == "margin_recovered") >= 3
    restore_in_bulk(restorations, None)
    again = written()
    assert margin_calls_restore(restorations=restorations, occurred_at=later) == set()
    assert written() == again  # a replay meets and lifts nothing twice
