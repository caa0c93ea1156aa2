"""A level transition is recorded exactly once: replays are harmless, stale views are refused."""

import datetime
from decimal import Decimal as D

import pytest
from django.db import IntegrityError

from margin.models import MarginAccount, MarginEvent
from margin.rules import Level
from margin.services import StaleTransition, margin_event_record
from tests.margin.factories import MarginAccountFactory

pytestmark = pytest.mark.django_db

AT = datetime.datetime(2026, 11, 25, 6, 31, tzinfo=datetime.UTC)


def _record(account, sequence=1, from_level=Level.SAFE, to_level=Level.CALL, **overrides):
    values = {
        "account_id": account.pk,
        "sequence": sequence,
        "from_level": from_level,
        "to_level": to_level,
        "ratio": D("1.2900"),
        "assets": D("129000.00"),
        "liabilities": D("100000.00"),
        "occurred_at": AT,
    }
    return margin_event_record(**(values | overrides))


def test_recording_a_transition_stores_the_event_and_moves_the_account():
    account = MarginAccountFactory()
    event, created = _record(account)
    assert created
    assert (event.sequence, event.from_level, event.to_level) == (1, Level.SAFE, Level.CALL)
    assert (event.ratio, event.assets, event.liabilities) == (
        D("1.2900"),
        D("129000.00"),
        D("100000.00"),
    )
    account.refresh_from_db()
    assert (account.current_level, account.event_sequence) == (Level.CALL, 1)
    assert (account.last_ratio, account.level_changed_at) == (D("1.2900"), AT)


def test_recording_the_same_transition_again_returns_the_stored_event():
    account = MarginAccountFactory()
    first, _ = _record(account)
    again, created = _record(account, ratio=D("1.2800"))  # re-detected after a restart
    assert not created
    assert again == first
    assert MarginEvent.objects.filter(account=account).count() == 1


def test_transitions_follow_one_another():
    account = MarginAccountFactory()
    _record(account)
    _record(account, 2, from_level=Level.CALL, to_level=Level.LIQUIDATION, ratio=D("1.1500"))
    assert list(account.events.values_list("sequence", "to_level")) == [
        (1, Level.CALL),
        (2, Level.LIQUIDATION),
    ]


def test_a_transition_from_a_level_the_account_is_not_at_is_stale():
    account = MarginAccountFactory(current_level=Level.WARNING, event_sequence=4)
    with pytest.raises(StaleTransition) as caught:
        _record(account, 5, from_level=Level.SAFE)
    assert (caught.value.level, caught.value.sequence) == (Level.WARNING, 4)
    assert not MarginEvent.objects.exists()


def test_a_different_transition_under_a_taken_number_is_stale():
    account = MarginAccountFactory()
    _record(account, to_level=Level.CALL)
    with pytest.raises(StaleTransition) as caught:
        _record(account, to_level=Level.LIQUIDATION)
    assert (caught.value.level, caught.value.sequence) == (Level.CALL, 1)


def test_a_number_skipped_ahead_is_stale():
    account = MarginAccountFactory()
    with pytest.raises(StaleTransition):
        _record(account, 3)


def test_an_unknown_account_is_an_error():
    with pytest.raises(MarginAccount.DoesNotExist):
        margin_event_record(
            account_id=999_999,
            sequence=1,
            from_level=Level.SAFE,
            to_level=Level.CALL,
            ratio=None,
            assets=D("0"),
            liabilities=D("0"),
            occurred_at=AT,
        )


def test_when_the_event_cannot_be_written_the_account_does_not_move_either():
    # An event row exists that the account's counter does not know about (a hand edit): the
    # claim succeeds, the insert hits the unique constraint, and everything rolls back.
    account = MarginAccountFactory()
    MarginEvent.objects.create(
        account=account,
        sequence=1,
        from_level=Level.SAFE,
        to_level=Level.WATCH,
        assets=D("1"),
        liabilities=D("1"),
    )
    with pytest.raises(IntegrityError):
        _record(account)
    account.refresh_from_db()
    assert (account.current_level, account.event_sequence) == (Level.SAFE, 0)
