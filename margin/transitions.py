"""Writes the risk engine's results turn into.

The engine runs outside any request and may restart, or run twice by mistake, at any moment;
these services make what it reports land in the database exactly once.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction

import audit
from margin import concentration
from margin.actors import ENGINE
from margin.calls import _open_call, _restrict, margin_call_restore
from margin.engine import RiskEngine, TickResult
from margin.liquidation_plans import _propose_plan
from margin.models import (
    LiquidationPlan,
    MarginAccount,
    MarginEvent,
)
from margin.notify import _local, _notice_context, _notify, _str
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
    """A recorded transition's consequences, inside the same transaction, so exactly once too.

    Every transition is audited. Going down: WARNING tells the client (in-app and email); CALL
    or LIQUIDATION opens a margin call with its deadline (two trading days) and restricts the
    account to reduce-only, and LIQUIDATION also queues a liquidation plan for a risk officer.
    Coming back to WARNING or better meets the open call and lifts the restriction. Notices are
    keyed by the event, so a replayed transition cannot send them twice.
    """
    account = MarginAccount.objects.select_related("client").get(pk=event.account_id)
    to_level, from_level = Level(event.to_level), Level(event.from_level)
    audit.record(
        actor=ENGINE,
        action="margin.level_changed",
        obj=account,
        data={
            "event": event.sequence,
            "from": from_level.value,
            "to": to_level.value,
            "ratio": _str(event.ratio),
            "assets": str(event.assets),
            "liabilities": str(event.liabilities),
        },
    )
    context = _notice_context(account, event)
    if event.is_downgrade:
        if to_level == Level.WARNING:
            _notify(account, "margin_warning", event, context)
        elif to_level in (Level.CALL, Level.LIQUIDATION):
            # A breach while a call is open is the same call, with its first deadline.
            call = _open_call(account, event)
            _restrict(account, event)
            context["deadline"] = _local(call.deadline)
            if to_level == Level.CALL:
                _notify(account, "margin_call", event, context)
            else:
                _propose_plan(account, LiquidationPlan.Trigger.LIQUIDATION_LINE, event)
                _notify(account, "margin_liquidation", event, context)


def margin_transitions_record(
    *, engine: RiskEngine, result: TickResult, occurred_at: datetime.datetime
) -> list[MarginEvent]:
    """Record every transition of one engine result; return the events newly stored.

    Then the restorations (a call met at the warning line) and the concentration crossings of
    the same result. Each is its own transaction, so one account the database disagrees about
    does not hold back the others. On StaleTransition the engine adopts the database's level and
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
    for restored in result.restorations:
        margin_call_restore(
            account_id=restored.account_id,
            ratio=restored.ratio,
            assets=restored.assets,
            liabilities=restored.liabilities,
            occurred_at=occurred_at,
        )
        engine.restore_recorded(restored.account_id)
    concentration.concentration_changes_record(
        changes=result.concentration, occurred_at=occurred_at
    )
    return recorded
