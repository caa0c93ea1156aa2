"""Engines racing for the same account, on PostgreSQL's real row locks."""

import datetime
import threading
from collections import Counter
from decimal import Decimal as D

import pytest
from django.db import connection

from margin.models import MarginAccount, MarginEvent
from margin.rules import Level
from margin.services import StaleTransition, margin_event_record
from tests.margin.factories import MarginAccountFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

AT = datetime.datetime(2026, 11, 25, 6, 31, tzinfo=datetime.UTC)


def _race(accounts, to_levels):
    """One thread per entry of ``to_levels``, each recording WARNING → it for every account."""
    barrier = threading.Barrier(len(to_levels))
    outcomes: dict[int, list] = {account.pk: [] for account in accounts}

    def engine(to_level):
        try:
            barrier.wait()
            for account in accounts:
                try:
                    _, created = margin_event_record(
                        account_id=account.pk,
                        sequence=1,
                        from_level=Level.WARNING,
                        to_level=to_level,
                        ratio=D("1.2500"),
                        assets=D("125000.00"),
                        liabilities=D("100000.00"),
                        occurred_at=AT,
                    )
                    outcomes[account.pk].append(created)
                except StaleTransition:
                    outcomes[account.pk].append("stale")
        finally:
            connection.close()

    threads = [threading.Thread(target=engine, args=(level,)) for level in to_levels]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def _accounts(n):
    return [MarginAccountFactory(current_level=Level.WARNING) for _ in range(n)]


def test_four_engines_recording_the_same_transitions_store_each_once():
    accounts = _accounts(20)
    outcomes = _race(accounts, [Level.CALL] * 4)
    for account in accounts:
        assert Counter(outcomes[account.pk]) == Counter([True, False, False, False])
        assert MarginEvent.objects.filter(account=account).count() == 1
        assert MarginAccount.objects.get(pk=account.pk).event_sequence == 1


def test_engines_disagreeing_about_a_transition_store_exactly_one_of_them():
    accounts = _accounts(20)
    outcomes = _race(accounts, [Level.CALL, Level.LIQUIDATION])
    for account in accounts:
        assert Counter(outcomes[account.pk]) == Counter([True, "stale"])
        [event] = MarginEvent.objects.filter(account=account)
        assert MarginAccount.objects.get(pk=account.pk).current_level == event.to_level
