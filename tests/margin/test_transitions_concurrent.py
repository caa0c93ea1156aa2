"""A fall's batches recorded on two PostgreSQL connections at once (``_at_once``): every
transition stored exactly once, the audit chain unbroken, each notice once, a stale view handed
back and retried in a later round, a replay writing nothing; one by one inside a transaction."""

import datetime
import threading
from collections import Counter
from types import SimpleNamespace

import pytest
from django.db import connection, transaction

from audit.models import AuditEntry
from audit.services import verify_chain
from margin import transitions
from margin.models import MarginAccount, MarginCall, MarginEvent, Restriction
from margin.rules import Level
from notices.models import Notification
from tests.factories import UserFactory
from tests.margin.conftest import make_account
from tests.margin.test_transitions_batch import fall

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

AT = datetime.datetime(2026, 11, 25, 6, 31, tzinfo=datetime.UTC)
TO = [Level.WARNING, Level.CALL, Level.WARNING, Level.CALL, Level.LIQUIDATION]


class Engine:
    """What ``margin_transitions_record`` asks of the engine: a resync and a re-evaluation."""

    def __init__(self, retry: dict[int, Level]) -> None:
        self.retry, self.resynced = retry, []

    def resync(self, account_id, *, level, sequence):
        self.resynced.append((account_id, Level(level), sequence))

    def update_account(self, account_id):
        level, sequence = self.resynced[-1][1:]
        to_level = self.retry[account_id]
        return SimpleNamespace(transitions=[fall(account_id, to_level, sequence + 1, level)])

    def restore_recorded(self, account_id):  # pragma: no cover - no restorations here
        pass


@pytest.fixture
def accounts(monkeypatch):
    monkeypatch.setattr(transitions, "BATCH", 3)  # 14 transitions: five batches
    monkeypatch.setattr(transitions, "AT_ONCE_FROM", 1)  # at once, few as they are
    return [
        make_account(UserFactory(email=f"c{i}@example.test", phone=f"1390000{i:04d}")).pk
        for i in range(14)
    ]


@pytest.fixture
def threads_used(monkeypatch):
    used: Counter = Counter()
    original = transitions.margin_transitions_record_batch

    def batch(**kwargs):
        used[threading.get_ident()] += 1
        return original(**kwargs)

    monkeypatch.setattr(transitions, "margin_transitions_record_batch", batch)
    return used


def record(transitions_, engine=None):
    result = SimpleNamespace(transitions=transitions_, restorations=[], concentration=[])
    return transitions.margin_transitions_record(
        engine=engine or Engine({}), result=result, occurred_at=AT
    )


def test_batches_recorded_at_once_store_each_transition_once_and_keep_the_chain(
    accounts, threads_used
):
    falls = [fall(pk, TO[i % len(TO)]) for i, pk in enumerate(accounts)]
    events = record(falls)

    assert len(threads_used) == 2  # this thread and one recording thread of its own
    assert sum(threads_used.values()) == 5
    assert [(e.account_id, e.to_level) for e in events] == [
        (t.account_id, t.to_level.value) for t in falls
    ]  # in the batches' order
    stored = Counter(MarginEvent.objects.values_list("account_id", flat=True))
    assert stored == Counter(accounts)
    assert dict(MarginAccount.objects.values_list("pk", "current_level")) == {
        t.account_id: t.to_level.value for t in falls
    }
    down = [t.account_id for t in falls if t.to_level != Level.WARNING]
    assert sorted(MarginCall.objects.values_list("account_id", flat=True)) == sorted(down)
    assert sorted(Restriction.objects.values_list("account_id", flat=True)) == sorted(down)
    report = verify_chain()
    assert report.ok, report
    actions = Counter(AuditEntry.objects.values_list("action", flat=True))
    assert actions["margin.level_changed"] == len(accounts)
    assert actions["margin.call_issued"] == actions["margin.restriction_imposed"] == len(down)
    # Each batch's entries stay together on the chain, in the batch's order.
    changed = list(
        AuditEntry.objects.filter(action="margin.level_changed")
        .order_by("seq")
        .values_list("object_id", flat=True)
    )
    batches = [[str(t.account_id) for t in falls[start : start + 3]] for start in range(0, 14, 3)]
    positions = {object_id: i for i, object_id in enumerate(changed)}
    for batch in batches:
        where = [positions[a] for a in batch]
        assert where == list(range(where[0], where[0] + len(batch)))
    keys = Counter(Notification.objects.values_list("idempotency_key", flat=True))
    assert keys and max(keys.values()) == 1

    notices_before = Notification.objects.count()
    assert record(falls) == []  # a replay, batches at once again: nothing new
    assert MarginEvent.objects.count() == len(accounts)
    assert Notification.objects.count() == notices_before
    assert verify_chain().ok


def test_a_stale_transition_goes_back_to_the_engine_and_is_retried_in_a_later_round(
    accounts, threads_used
):
    stale_pk, other = accounts[4], accounts[9]
    MarginAccount.objects.filter(pk=stale_pk).update(current_level=Level.WARNING, event_sequence=1)
    engine = Engine({stale_pk: Level.CALL})
    falls = [fall(pk, Level.WARNING) for pk in accounts]

    events = record(falls, engine)

    assert engine.resynced == [(stale_pk, Level.WARNING, 1)]
    assert [e.account_id for e in events][-1] == stale_pk  # recorded in the second round
    assert MarginEvent.objects.get(account_id=stale_pk).sequence == 2
    assert MarginEvent.objects.filter(account_id=other).count() == 1
    assert MarginEvent.objects.count() == len(accounts)
    assert verify_chain().ok


def test_a_failing_batch_is_raised_and_stops_the_others(accounts, threads_used):
    falls = [fall(pk, Level.WARNING) for pk in accounts]
    falls[7] = fall(10**9, Level.WARNING)  # no such account: its batch fails whole

    with pytest.raises(MarginAccount.DoesNotExist):
        record(falls)

    assert not MarginEvent.objects.filter(account_id__in=accounts[6:9]).exists()
    assert verify_chain().ok


def test_in_the_callers_transaction_the_batches_go_one_by_one(accounts, threads_used):
    with transaction.atomic():
        events = record([fall(pk, Level.CALL) for pk in accounts])
        assert connection.in_atomic_block
    assert len(events) == len(accounts)
    assert len(threads_used) == 1
    assert verify_chain().ok
