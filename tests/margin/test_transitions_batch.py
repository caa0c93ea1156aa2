"""A batch of level transitions is recorded as the one-by-one path records them: exactly once,
replays skipped, stale views handed back, the audit chain extended in order, notices once."""

import datetime
from decimal import Decimal as D

import pytest

from audit.models import AuditEntry
from audit.services import verify_chain
from margin.engine import Transition
from margin.models import MarginAccount, MarginCall, MarginEvent, Restriction
from margin.rules import Level
from margin.transitions import margin_event_record, margin_transitions_record_batch
from notices.models import Notification
from tests.factories import UserFactory
from tests.margin.conftest import make_account

pytestmark = pytest.mark.django_db
AT = datetime.datetime(2026, 11, 25, 6, 31, tzinfo=datetime.UTC)


# A ratio inside each level's band (warning below 150%, call below 130%, liquidation below 120%).
RATIOS = {Level.WARNING: "1.4500", Level.CALL: "1.2900", Level.LIQUIDATION: "1.1500"}


def fall(account, to_level=Level.CALL, sequence=1, from_level=Level.SAFE, ratio=None):
    """The engine's transition of ``account`` (an account or its id) into ``to_level``."""
    ratio = D(ratio or RATIOS[to_level])
    return Transition(
        account_id=getattr(account, "pk", account),
        sequence=sequence,
        from_level=from_level,
        to_level=to_level,
        ratio=ratio,
        assets=ratio * 100_000,
        liabilities=D("100000.00"),
    )


@pytest.fixture
def three(client_alice, client_bob):
    carol = UserFactory(email="dan@example.test", phone="13800000004")
    return [
        make_account(client_alice),
        make_account(client_bob, holdings=[("600036.SH", 100, "42.10")]),
        make_account(carol, holdings=[("600519.SH", 100, "1480.00")]),
    ]


def test_a_batch_stores_events_calls_restrictions_audit_and_notices_once(three):
    alice, bob, carol = three
    batch = [
        fall(alice, Level.WARNING, ratio="1.4500"),
        fall(bob, Level.CALL),
        fall(carol, Level.LIQUIDATION, ratio="1.1500"),
    ]
    events, stale = margin_transitions_record_batch(transitions=batch, occurred_at=AT)
    assert stale == []
    assert [(e.account_id, e.to_level) for e in events] == [
        (alice.pk, "warning"),
        (bob.pk, "call"),
        (carol.pk, "liquidation"),
    ]
    moved = dict(MarginAccount.objects.values_list("pk", "current_level"))
    assert moved == {alice.pk: "warning", bob.pk: "call", carol.pk: "liquidation"}
    assert set(MarginCall.objects.values_list("account_id", flat=True)) == {bob.pk, carol.pk}
    assert set(Restriction.objects.values_list("account_id", flat=True)) == {bob.pk, carol.pk}
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert actions[:7] == [
        "margin.level_changed",
        "margin.level_changed",
        "margin.call_issued",
        "margin.restriction_imposed",
        "margin.level_changed",
        "margin.call_issued",
        "margin.restriction_imposed",
    ]
    assert verify_chain().ok
    keys = set(Notification.objects.values_list("key", flat=True))
    assert keys == {"margin_warning", "margin_call", "margin_liquidation"}

    again, stale = margin_transitions_record_batch(transitions=batch, occurred_at=AT)
    assert (again, stale) == ([], [])  # a replay changes nothing
    assert MarginEvent.objects.count() == 3
    assert Notification.objects.filter(key="margin_call").count() == 3  # email, sms, in-app
    assert verify_chain().ok


def test_a_stale_transition_is_handed_back_and_the_others_are_recorded(three):
    alice, bob, _ = three
    margin_event_record(
        account_id=bob.pk,
        sequence=1,
        from_level=Level.SAFE,
        to_level=Level.WATCH,
        ratio=D("1.5900"),
        assets=D("159000.00"),
        liabilities=D("100000.00"),
        occurred_at=AT,
    )
    events, stale = margin_transitions_record_batch(
        transitions=[fall(alice), fall(bob)], occurred_at=AT
    )
    assert [e.account_id for e in events] == [alice.pk]
    assert [(s.account_id, s.level, s.sequence) for s in stale] == [(bob.pk, Level.WATCH, 1)]
    assert MarginAccount.objects.get(pk=bob.pk).current_level == "watch"
    assert not MarginCall.objects.filter(account=bob).exists()


def test_a_breach_while_a_call_is_open_is_the_same_call(three):
    alice, *_ = three
    margin_transitions_record_batch(transitions=[fall(alice)], occurred_at=AT)
    later = AT + datetime.timedelta(minutes=5)
    margin_transitions_record_batch(
        transitions=[
            fall(alice, Level.LIQUIDATION, sequence=2, from_level=Level.CALL, ratio="1.1500")
        ],
        occurred_at=later,
    )
    assert MarginCall.objects.filter(account=alice).count() == 1
    assert Restriction.objects.filter(account=alice).count() == 1
    assert verify_chain().ok


def test_the_batch_and_the_single_path_agree(three):
    alice, bob, _ = three
    margin_event_record(**fall(alice)._asdict(), occurred_at=AT)
    margin_transitions_record_batch(transitions=[fall(bob)], occurred_at=AT)

    def shape(account):
        call = MarginCall.objects.get(account=account)
        notices = sorted(
            Notification.objects.filter(recipient=account.client).values_list("key", "channel")
        )
        return (call.deadline, call.deposit_needed, call.sell_needed, notices)

    assert shape(alice) == shape(bob)


def test_the_events_inserted_from_arrays_are_the_rows_the_orm_writes(three):
    """The batch inserts its events in one statement from arrays: each stored row is the one
    ``margin_event_record`` stores for the same transition, and the events returned are them."""
    alice, bob, carol = three
    by_orm, _ = margin_event_record(**fall(alice, Level.WARNING, ratio="1.4500")._asdict(),
                                    occurred_at=AT)  # fmt: skip
    events, stale = margin_transitions_record_batch(
        transitions=[
            fall(bob, Level.WARNING, ratio="1.4500"),
            Transition(carol.pk, 1, Level.SAFE, Level.LIQUIDATION, None, D("0.00"), D("10.50")),
        ],
        occurred_at=AT,
    )
    assert stale == []
    columns = ["sequence", "from_level", "to_level", "ratio", "assets", "liabilities",
               "occurred_at"]  # fmt: skip

    def stored(event):
        return MarginEvent.objects.values(*columns).get(pk=event.pk)

    assert stored(events[0]) == stored(by_orm)
    assert stored(events[1])["ratio"] is None and stored(events[1])["liabilities"] == D("10.50")
    for event in events:
        again = MarginEvent.objects.get(pk=event.pk)
        assert (again.account_id, again.recorded_at) == (event.account_id, event.recorded_at)
        assert {c: getattr(event, c) for c in columns} == stored(event)
        assert not event._state.adding


def test_the_calls_and_restrictions_inserted_from_arrays_are_the_rows_the_orm_writes(three):
    """The batch opens its calls and imposes its restrictions in one statement each from
    arrays: each stored row is the one ``margin_event_record`` stores for the same transition
    (a liquidation without a ratio included), and the audit entries name the rows."""
    alice, bob, carol = three
    margin_event_record(**fall(alice)._asdict(), occurred_at=AT)
    events, _ = margin_transitions_record_batch(
        transitions=[
            fall(bob),
            Transition(carol.pk, 1, Level.SAFE, Level.LIQUIDATION, None, D("0.00"), D("10.50")),
        ],
        occurred_at=AT,
    )
    call_columns = ["status", "issued_at", "deadline", "deposit_needed", "sell_needed",
                    "resolved_at"]  # fmt: skip
    restriction_columns = ["kind", "instrument_id", "reason", "reason_code", "reason_params",
                           "imposed_at", "imposed_by_id", "lifted_at", "lifted_by_id",
                           "lift_reason"]  # fmt: skip

    def call_of(account):
        return MarginCall.objects.values(*call_columns).get(account=account)

    def restriction_of(account):
        return Restriction.objects.values(*restriction_columns).get(account=account)

    assert call_of(bob) == call_of(alice)
    assert restriction_of(bob) == restriction_of(alice)
    assert restriction_of(bob)["reason_params"] == {"ratio": "129.00%"}
    assert restriction_of(carol)["reason_params"] == {"ratio": "∞"}
    assert call_of(carol)["status"] == MarginCall.Status.OPEN
    by_event = {e.account_id: e.pk for e in events}
    for account in (bob, carol):
        call = MarginCall.objects.get(account=account)
        restriction = Restriction.objects.get(account=account)
        assert call.event_id == restriction.event_id == by_event[account.pk]
        issued = AuditEntry.objects.get(action="margin.call_issued", object_id=str(call.pk))
        assert issued.object_type == "margin.margincall"
        assert datetime.datetime.fromisoformat(issued.data["deadline"]) == call.deadline
        assert issued.data["deposit"] == str(call.deposit_needed)
        imposed = AuditEntry.objects.get(
            action="margin.restriction_imposed", object_id=str(restriction.pk)
        )
        assert imposed.object_type == "margin.restriction"
        assert imposed.data == {"account": account.number, "kind": "reduce_only"}
    assert verify_chain().ok


def test_the_events_made_from_arrays_are_given_the_models_fields_in_order():
    from margin.transitions import EVENT_FIELDS

    assert tuple(f.attname for f in MarginEvent._meta.concrete_fields) == EVENT_FIELDS


def test_the_events_a_batch_returns_behave_as_events_read_from_the_table(three):
    """Made without ``Model.__init__`` (``_loaded_events``): each holds what ``from_db`` gives
    the same row, on the same connection, and works as a model instance (its account, saving,
    a margin call pointing at it, reading it again)."""
    from django.db import connection

    from margin.transitions import EVENT_FIELDS, _loaded_events

    alice, bob, _ = three
    events, _ = margin_transitions_record_batch(
        transitions=[fall(alice), fall(bob, Level.WARNING, ratio="1.4500")], occurred_at=AT
    )
    for event in events:
        row = tuple(getattr(event, name) for name in EVENT_FIELDS)
        read = MarginEvent.from_db(connection.alias, EVENT_FIELDS, row)
        [made] = _loaded_events([row])
        assert type(made) is MarginEvent
        assert {k: v for k, v in vars(made).items() if k != "_state"} == {
            k: v for k, v in vars(read).items() if k != "_state"
        }
        assert (made._state.adding, made._state.db) == (False, read._state.db)
        assert made._state is not event._state  # each its own
        assert made == MarginEvent.objects.get(pk=event.pk)
        assert made.account.pk == event.account_id
        assert made.get_deferred_fields() == set()
    alice_event = events[0]
    alice_event.refresh_from_db()
    assert f"#{alice_event.sequence} " in str(alice_event)
    assert MarginCall.objects.get(account=alice).event == alice_event
    alice_event.ratio = D("1.2800")
    alice_event.save(update_fields=["ratio"])
    assert MarginEvent.objects.get(pk=alice_event.pk).ratio == D("1.2800")


def test_events_are_made_through_init_when_something_listens_for_it(three):
    from django.db import connection
    from django.db.models.signals import post_init

    from margin.transitions import EVENT_FIELDS, _loaded_events

    [event], _ = margin_transitions_record_batch(transitions=[fall(three[0])], occurred_at=AT)
    row = tuple(getattr(event, name) for name in EVENT_FIELDS)
    seen = []

    def listen(sender, instance, **kwargs):
        seen.append(instance.pk)

    assert _loaded_events([row]) and seen == []
    post_init.connect(listen, sender=MarginEvent)
    try:
        [made] = _loaded_events([row])
    finally:
        post_init.disconnect(listen, sender=MarginEvent)
    assert seen == [event.pk]
    assert (made, made._state.adding, made._state.db) == (event, False, connection.alias)
