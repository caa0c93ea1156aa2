"""Writes the risk engine's results turn into.

The engine runs outside any request and may restart, or run twice by mistake, at any moment;
these services make what it reports land in the database exactly once.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction

from margin.engine import RiskEngine, TickResult
from margin.models import MarginAccount, MarginEvent
from margin.rules import Level


class StaleTransition(Exception):
    """The database is not where the engine thought: it records ``level`` as of event ``sequence``.

    Another engine recorded a different transition first, or this one started from an older
    state. The caller adopts the database's view (``RiskEngine.resync``) and re-evaluates.
    """

    def __init__(self, *, account_id: int, level: Level, sequence: int) -> None:
        super().__init__(f"account {account_id} is at {level} as of event {sequence}")
        self.account_id, self.level, self.sequence = account_id, level, sequence


@transaction.atomic
def margin_event_record(
    *,
    account_id: int,
    sequence: int,
    from_level: Level | str,
    to_level: Level | str,
    ratio: Decimal | None,
    assets: Decimal,
    liabilities: Decimal,
    occurred_at: datetime.datetime,
) -> tuple[MarginEvent, bool]:
    """Record one level transition of one account exactly once; return (event, created).

    The account row is claimed by a conditional update that succeeds only if the database is
    where the engine says the transition starts: ``from_level`` as of event ``sequence - 1``.
    That update also moves the account's level, so the next start-up resumes from here. The
    unique (account, sequence) constraint backs the claim up; if it fires, everything rolls back.

    Replaying a transition already recorded (same number, same levels, e.g. re-detected after a
    restart) returns the stored event with created=False. Anything else that does not match
    raises StaleTransition; an unknown account raises MarginAccount.DoesNotExist.
    """
    from_level, to_level = Level(from_level), Level(to_level)
    claimed = MarginAccount.objects.filter(
        pk=account_id, event_sequence=sequence - 1, current_level=from_level
    ).update(
        event_sequence=sequence,
        current_level=to_level,
        last_ratio=ratio,
        level_changed_at=occurred_at,
    )
    if not claimed:
        existing = MarginEvent.objects.filter(account_id=account_id, sequence=sequence).first()
        if existing and (existing.from_level, existing.to_level) == (from_level, to_level):
            return existing, False
        level, recorded = MarginAccount.objects.values_list("current_level", "event_sequence").get(
            pk=account_id
        )
        raise StaleTransition(account_id=account_id, level=Level(level), sequence=recorded)
    event = MarginEvent.objects.create(
        account_id=account_id,
        sequence=sequence,
        from_level=from_level,
        to_level=to_level,
        ratio=ratio,
        assets=assets,
        liabilities=liabilities,
        occurred_at=occurred_at,
    )
    _after_transition_recorded(event)
    return event, True


def _after_transition_recorded(event: MarginEvent) -> None:
    """Where a recorded transition's consequences go, inside the same transaction.

    Issue 7 item 5 and DESIGN.md's audit rule will add here: the audit entry for the level
    change; notices through the outbox (WARNING: in-app and email; CALL: every channel with the
    deadline, two trading days out); the reduce-only restriction on CALL and lifting it on
    recovery; a liquidation plan on LIQUIDATION. None of it exists yet, so nothing is done here:
    no notice is sent and no audit entry is written for a level change until then.
    """


def margin_transitions_record(
    *, engine: RiskEngine, result: TickResult, occurred_at: datetime.datetime
) -> list[MarginEvent]:
    """Record every transition of one engine result; return the events newly stored.

    Each transition is its own transaction, so one account the database disagrees about does
    not hold back the others. On StaleTransition the engine adopts the database's level and
    number and re-evaluates that account at once, and whatever that yields is recorded in turn;
    each retry follows the database moving on, so the loop ends.
    """
    recorded = []
    pending = list(result.transitions)
    while pending:
        transition = pending.pop(0)
        try:
            event, created = margin_event_record(
                account_id=transition.account_id,
                sequence=transition.sequence,
                from_level=transition.from_level,
                to_level=transition.to_level,
                ratio=transition.ratio,
                assets=transition.assets,
                liabilities=transition.liabilities,
                occurred_at=occurred_at,
            )
        except StaleTransition as stale:
            engine.resync(stale.account_id, level=stale.level, sequence=stale.sequence)
            pending.extend(engine.update_account(stale.account_id).transitions)
            continue
        if created:
            recorded.append(event)
    return recorded
