"""Writes the risk engine's results turn into.

The engine runs outside any request and may restart, or run twice by mistake, at any moment;
these services make what it reports land in the database exactly once.
"""

from __future__ import annotations

import datetime
import functools
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import signals
from django.db.models.base import ModelState
from django.utils import timezone

import audit
from audit import services as audit_services
from margin import concentration, contracts, rules
from margin.actors import ENGINE
from margin.calls import CALL_TRADING_DAYS, _open_call, _restrict, margin_calls_restore
from margin.engine import Restoration, RiskEngine, TickResult, Transition
from margin.liquidation_plans import liquidation_plans_queue
from margin.models import (
    MarginAccount,
    MarginCall,
    MarginEvent,
    Restriction,
)
from margin.notify import _local, _notice_context, _notify, _percent, _str, event_cure
from margin.rules import DEFAULT_LINES, Level
from margin.selectors import contract_lines
from notices import services as notices
from portal import arrays, calendars


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
    account to reduce-only, and LIQUIDATION also queues a liquidation plan for a risk officer,
    proposed after commit by a worker (``liquidation_plans_queue``: its least-sale search is
    too slow for the engine's step), with its own audit entry.
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
                liquidation_plans_queue([event.pk])
                _notify(account, "margin_liquidation", event, context)


def margin_transitions_record(
    *, engine: RiskEngine, result: TickResult, occurred_at: datetime.datetime
) -> list[MarginEvent]:
    """Record every transition of one engine result; return the events newly stored.

    The transitions go in batches (``margin_transitions_record_batch``: one transaction each,
    a constant number of statements for the batch). A transition the database disagrees about
    (StaleTransition) is left out of its batch; the engine adopts the database's level and number
    and re-evaluates that account at once, and whatever that yields goes in the next batch; each
    retry follows the database moving on, so the loop ends. The concentration crossings of the
    same result are recorded alongside the first round (they write only concentration
    restrictions, their audit entries and notices), then the restorations (a call met at the
    warning line), in batches too. In a fall, on PostgreSQL, these go several at once
    (``_at_once``).
    """
    recorded = []
    pending = list(result.transitions)
    changes = list(result.concentration)
    while pending or changes:
        stale: list[StaleTransition] = []
        jobs: list[Callable[[], Any]] = [
            functools.partial(
                margin_transitions_record_batch,
                transitions=pending[start : start + BATCH],
                occurred_at=occurred_at,
            )
            for start in range(0, len(pending), BATCH)
        ]
        if changes:
            jobs.append(
                functools.partial(
                    concentration.concentration_changes_record,
                    changes=changes,
                    occurred_at=occurred_at,
                )
            )
        done = _at_once(jobs, len(pending) + len(changes))
        for events, refused in done[: len(done) - 1 if changes else None]:
            recorded.extend(events)
            stale.extend(refused)
        pending, changes = [], []
        for found in stale:
            engine.resync(found.account_id, level=found.level, sequence=found.sequence)
            pending.extend(engine.update_account(found.account_id).transitions)
    restorations = list(result.restorations)
    batch: list[Restoration] = []
    seen: set[int] = set()
    for restored in restorations:
        if restored.account_id in seen or len(batch) >= BATCH:  # twice: as one by one
            margin_calls_restore(restorations=batch, occurred_at=occurred_at)
            batch, seen = [], set()
        batch.append(restored)
        seen.add(restored.account_id)
    margin_calls_restore(restorations=batch, occurred_at=occurred_at)
    for restored in restorations:
        engine.restore_recorded(restored.account_id)
    return recorded


BATCH = 2000  # transitions per transaction: a market-wide fall records ~7,000 in a few batches
# Connections recording a fall's batches at once (PostgreSQL): one batch's statements wait on the
# database while another's rows are prepared (see ``_at_once``), from this many rows on.
CONNECTIONS = 2
AT_ONCE_FROM = 1000


def _at_once(jobs: list[Callable[[], Any]], rows: int) -> list[Any]:
    """Run these jobs (batches of transitions, of concentration crossings), their results in
    their order.

    On PostgreSQL, outside any transaction of the caller's, with ``AT_ONCE_FROM`` rows or more,
    several go at once over ``CONNECTIONS`` connections: this thread's and others' in threads of
    their own (Django's connections are per thread), closed when done. The GIL lets one batch's
    Python run while another's statements wait on the database, which had the fall's step
    waiting on each in turn. Each batch stays one transaction; the accounts of the transitions'
    batches are disjoint, and every job locks the accounts it locks in id order in one statement
    (as two engines by mistake do); each appends to the audit chain last
    (``_after_transitions_recorded``, ``concentration_changes_record_batch``), so the head of
    the chain, taken last and held until commit, is the only lock a job waits for while holding
    others: whichever takes it first commits first. A failing job stops the others from starting
    another, and its error is raised once they are done (as one by one, what was recorded
    before stays). In the caller's transaction (a test, a service) or on SQLite they go one by
    one on this connection.
    """
    workers = min(CONNECTIONS, len(jobs))
    if (
        workers < 2
        or rows < AT_ONCE_FROM
        or connection.vendor != "postgresql"
        or connection.in_atomic_block
    ):
        return [job() for job in jobs]
    results: list[Any] = [None] * len(jobs)
    errors: list[BaseException] = []
    taken = iter(range(len(jobs)))
    lock = threading.Lock()

    def work() -> None:
        while not errors:
            with lock:
                index = next(taken, None)
            if index is None:
                return
            try:
                results[index] = jobs[index]()
            except BaseException as error:  # re-raised by the caller's thread
                errors.append(error)

    def in_own_connection() -> None:
        try:
            work()
        finally:
            connection.close()

    threads = [
        threading.Thread(target=in_own_connection, name=f"transitions-{i}", daemon=True)
        for i in range(1, workers)
    ]
    for thread in threads:
        thread.start()
    try:
        work()
    finally:
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    return results


@transaction.atomic
def margin_transitions_record_batch(
    *, transitions: list[Transition], occurred_at: datetime.datetime
) -> tuple[list[MarginEvent], list[StaleTransition]]:
    """``margin_event_record`` for many accounts in one transaction: (events stored, stale).

    The same claim, once per account: the account moves only from the level and number the
    engine says the transition starts from, with the accounts locked in id order first (two
    engines running by mistake wait for each other rather than deadlock). A transition already
    recorded (a replay) is skipped; one the database disagrees about comes back as a
    StaleTransition for the caller to resync, and changes nothing. For the claimed ones, in a
    constant number of statements whatever their number: the events, their audit entries (the
    chain extended over the batch in order), margin calls and reduce-only restrictions, and the
    notices, exactly as ``_after_transition_recorded`` does for one; the liquidation plans are
    queued for after commit (``liquidation_plans_queue``), in the events' order.
    """
    if not transitions:
        return [], []
    ids = sorted({t.account_id for t in transitions})
    if len(ids) != len(transitions):
        raise ValueError("one transition per account per batch")
    # Locked with what the consequences read of each account and its client (the client's row
    # read, not locked), in one statement.
    locked = (
        MarginAccount.objects.select_for_update(of=("self",))
        .filter(pk__any=set(ids))  # a set: the ORM walks a list's every element
        .order_by("pk")
        .values_list("pk", "event_sequence", "current_level", *_ACCOUNT_VALUES)
    )
    state, accounts = {}, {}
    for pk, sequence, level, *values in locked:
        state[pk] = (sequence, level)
        accounts[pk] = _account(pk, *values)
    claimed, stale = [], []
    for t in transitions:
        if t.account_id not in state:
            raise MarginAccount.DoesNotExist(f"margin account {t.account_id}")
        sequence, level = state[t.account_id]
        if sequence == t.sequence - 1 and level == _value(t.from_level):
            claimed.append(t)
            continue
        existing = MarginEvent.objects.filter(account_id=t.account_id, sequence=t.sequence).first()
        if existing and (existing.from_level, existing.to_level) == (t.from_level, t.to_level):
            continue  # recorded before: a replay
        stale.append(
            StaleTransition(account_id=t.account_id, level=Level(level), sequence=sequence)
        )
    if not claimed:
        return [], stale
    _move_accounts(claimed, occurred_at)
    events = _insert_events(claimed, occurred_at)
    _after_transitions_recorded(events, accounts)
    return events, stale


def _insert_events(claimed: list[Transition], occurred_at: datetime.datetime) -> list[MarginEvent]:
    """The claimed transitions' events, inserted from arrays in one statement on PostgreSQL:
    bulk_create's preparing of each value of each row cost more CPU than the insert itself, and
    so did psycopg's dumping of each element of each array (``portal.arrays``: one literal)."""
    recorded_at = timezone.now()
    if connection.vendor != "postgresql":
        return MarginEvent.objects.bulk_create(
            [
                MarginEvent(
                    account_id=t.account_id,
                    sequence=t.sequence,
                    from_level=Level(t.from_level).value,
                    to_level=Level(t.to_level).value,
                    ratio=t.ratio,
                    assets=t.assets,
                    liabilities=t.liabilities,
                    occurred_at=occurred_at,
                    recorded_at=recorded_at,
                )
                for t in claimed
            ]
        )
    from_levels = [_value(t.from_level) for t in claimed]
    to_levels = [_value(t.to_level) for t in claimed]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {MarginEvent._meta.db_table} (account_id, sequence, from_level, "  # noqa: S608
            "to_level, ratio, assets, liabilities, occurred_at, recorded_at) "
            "SELECT v.account_id, v.seq, v.from_level, v.to_level, v.ratio, v.assets, "
            "v.liabilities, %s, %s FROM unnest(%s::bigint[], %s::integer[], %s::varchar[], "
            "%s::varchar[], %s::numeric[], %s::numeric[], %s::numeric[]) "
            "AS v(account_id, seq, from_level, to_level, ratio, assets, liabilities) "
            "RETURNING id, account_id",
            [
                occurred_at,
                recorded_at,
                arrays.numbers([t.account_id for t in claimed]),
                arrays.numbers([t.sequence for t in claimed]),
                arrays.texts(from_levels),
                arrays.texts(to_levels),
                arrays.numbers([t.ratio for t in claimed]),
                arrays.numbers([t.assets for t in claimed]),
                arrays.numbers([t.liabilities for t in claimed]),
            ],
        )
        ids = dict((account_id, pk) for pk, account_id in cursor.fetchall())
    # One transition per account in a batch.
    return _loaded_events(
        [(ids[t.account_id], t.account_id, t.sequence, old, new, t.ratio, t.assets,
          t.liabilities, occurred_at, recorded_at)
         for t, old, new in zip(claimed, from_levels, to_levels, strict=True)]
    )  # fmt: skip


# The order of the values of each row handed to _loaded_events: the model's concrete fields
# (a test checks).
EVENT_FIELDS = ("id", "account_id", "sequence", "from_level", "to_level", "ratio", "assets",
                "liabilities", "occurred_at", "recorded_at")  # fmt: skip


def _loaded_events(rows: list[tuple]) -> list[MarginEvent]:
    """Events as ``MarginEvent.from_db`` makes them from these rows (``EVENT_FIELDS``), saved
    instances on this connection, without ``Model.__init__``: its walk over the fields and its
    keyword handling cost a fall of ~7,600 events more CPU than inserting them (issue 19). The
    instance holds the same attributes in its ``__dict__`` and the same state, so it behaves as
    one read from the table (tests/margin/test_transitions_batch.py compares the two). With a
    receiver of ``pre_init``/``post_init`` for events, which only ``__init__`` would call,
    ``from_db`` makes them."""
    alias = connection.alias
    if signals.pre_init.has_listeners(MarginEvent) or signals.post_init.has_listeners(MarginEvent):
        return [MarginEvent.from_db(alias, EVENT_FIELDS, row) for row in rows]
    make, state_of = object.__new__, ModelState
    events = []
    for row in rows:
        event = make(MarginEvent)
        state = state_of()
        state.adding, state.db = False, alias
        values = dict(zip(EVENT_FIELDS, row, strict=True))
        values["_state"] = state
        event.__dict__ = values
        events.append(event)
    return events


def _value(level: Level | str) -> str:
    """A level's value (the engine hands Level members; a str is checked as Level() checks it)."""
    return level.value if type(level) is Level else Level(level).value


def _move_accounts(claimed: list[Transition], occurred_at: datetime.datetime) -> None:
    """Every claimed account to its new level and number, in one statement on PostgreSQL."""
    if connection.vendor != "postgresql":
        for t in claimed:
            MarginAccount.objects.filter(pk=t.account_id).update(
                event_sequence=t.sequence,
                current_level=Level(t.to_level),
                last_ratio=t.ratio,
                level_changed_at=occurred_at,
            )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE margin_marginaccount AS a SET event_sequence = v.seq, current_level = v.level, "
            "last_ratio = v.ratio, level_changed_at = %s "
            "FROM unnest(%s::bigint[], %s::integer[], %s::varchar[], %s::numeric[]) "
            "AS v(id, seq, level, ratio) WHERE a.id = v.id",
            [
                occurred_at,
                arrays.numbers([t.account_id for t in claimed]),
                arrays.numbers([t.sequence for t in claimed]),
                arrays.texts([_value(t.to_level) for t in claimed]),
                arrays.numbers([t.ratio for t in claimed]),
            ],
        )


class _Account(NamedTuple):
    """What a batch's consequences read of an account, read as values with its client's
    (a fall reads thousands: an account and a user instance each cost more than the rest)."""

    pk: int
    number: str
    cash: Decimal
    client: notices.Recipient


_ACCOUNT_TYPE = MarginAccount._meta.label_lower


_ACCOUNT_VALUES = ("number", "cash", "client_id", "client__email", "client__phone",
                   "client__language")  # fmt: skip


def _account(pk, number, cash, client, email, phone, language) -> _Account:
    return _Account(pk, number, cash, notices.Recipient(client, email, phone, language))


def _after_transitions_recorded(
    events: list[MarginEvent], accounts: dict[int, _Account] | None = None
) -> None:
    """``_after_transition_recorded`` for a batch of events (see there for the rules);
    ``accounts``: their accounts as the batch read them (read here when not given)."""
    ids = {e.account_id for e in events}  # a set: the ORM walks a list's every element
    if accounts is None:
        rows = MarginAccount.objects.filter(pk__any=ids).order_by()
        accounts = {
            pk: _account(pk, *values) for pk, *values in rows.values_list("pk", *_ACCOUNT_VALUES)
        }
    lines = contract_lines(ids)
    severity = {level.value: level.severity for level in Level}
    downgrades = [e for e in events if severity[e.to_level] > severity[e.from_level]]
    down = [e for e in downgrades if e.to_level in (Level.CALL, Level.LIQUIDATION)]
    costs = contracts.sell_costs_by_account({e.account_id for e in downgrades})
    calls = _open_calls(down, accounts, lines, costs)
    restrictions = _restrict_many(down, accounts)
    entries, notices_ = [], []
    minutes: dict[datetime.datetime, str] = {}  # the batch's events share their moment
    for event in events:
        account = accounts[event.account_id]
        entries.append(
            audit_services.Entry(
                actor=ENGINE,
                action="margin.level_changed",
                object_type=_ACCOUNT_TYPE,
                object_id=account.pk,
                data={
                    "event": event.sequence,
                    "from": event.from_level,
                    "to": event.to_level,
                    "ratio": _str(event.ratio),
                    "assets": str(event.assets),
                    "liabilities": str(event.liabilities),
                },
            )
        )
        if severity[event.to_level] <= severity[event.from_level]:
            continue
        minute = minutes.get(event.occurred_at)
        if minute is None:
            minute = minutes[event.occurred_at] = _local(event.occurred_at)
        # At the call or liquidation line: the call's deadline, and the call if opened now,
        # whose amounts the notice states.
        deadline, call = calls.get(account.pk, (None, None))
        context = _notice_context(
            account, event, lines.get(account.pk, DEFAULT_LINES), costs[account.pk], minute,
            cure=None if call is None else call.cure,
        )  # fmt: skip
        to_level = event.to_level
        if to_level == Level.WARNING:
            notices_.append(_notice(account, "margin_warning", event, context))
        elif to_level in (Level.CALL, Level.LIQUIDATION):
            assert deadline is not None  # ``_open_calls`` gave every such account its call's
            if call is not None:  # opened now
                entries.append(
                    audit_services.Entry(
                        actor=ENGINE,
                        action="margin.call_issued",
                        object_type=_CALL_TYPE,
                        object_id=call.pk,
                        data={
                            "account": account.number,
                            "deadline": deadline.isoformat(),
                            "deposit": str(call.deposit_needed),
                            "sell": _str(call.sell_needed),
                        },
                    )
                )
            restriction = restrictions.get(account.pk)
            if restriction is not None:
                entries.append(
                    audit_services.Entry(
                        actor=ENGINE,
                        action="margin.restriction_imposed",
                        object_type=_RESTRICTION_TYPE,
                        object_id=restriction.pk,
                        data={"account": account.number, "kind": restriction.kind},
                    )
                )
            spelled = minutes.get(deadline)
            if spelled is None:
                spelled = minutes[deadline] = _local(deadline)
            context["deadline"] = spelled
            key = "margin_call" if to_level == Level.CALL else "margin_liquidation"
            notices_.append(_notice(account, key, event, context))
    notices.enqueue_many(notices_, returning=False)
    liquidation_plans_queue([e.pk for e in down if e.to_level == Level.LIQUIDATION])
    _check_constraints_now()
    # Last: from the lock of the chain's head to the commit, batches recorded at once wait for
    # each other (``_at_once``).
    audit.record_many(entries)


def _check_constraints_now() -> None:
    """In a batch's own transaction on PostgreSQL, check the foreign keys of the rows it wrote
    now rather than at commit: the commit follows the audit chain's lock, which batches recorded
    at once take in turn, and the checks (events, calls, restrictions, notices) took longer than
    the rest of the commit. Not in a caller's transaction, whose checks stay deferred."""
    if connection.vendor == "postgresql" and len(connection.atomic_blocks) == 1:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _notice(account, key: str, event: MarginEvent, context: dict) -> notices.NoticeRequest:
    # The same key as _notify: a transition replayed through either path sends nothing twice.
    return notices.NoticeRequest(
        recipient=account.client,
        key=key,
        context=context,
        idempotency_key=f"margin:{account.pk}:{event.sequence}:{key}",
    )


class _Opened(NamedTuple):
    """A margin call opened by a batch, as its audit entry reads it."""

    pk: int
    cure: rules.Cure

    @property
    def deposit_needed(self) -> Decimal:
        return self.cure.deposit

    @property
    def sell_needed(self) -> Decimal | None:
        return self.cure.sell


class _Imposed(NamedTuple):
    """A restriction imposed by a batch, as its audit entry reads it."""

    pk: int
    kind: str


_CALL_TYPE = MarginCall._meta.label_lower
_RESTRICTION_TYPE = Restriction._meta.label_lower


def _open_calls(
    events, accounts, lines, costs
) -> dict[int, tuple[datetime.datetime, _Opened | None]]:
    """The deadline of each account's open call, opening one now where there is none:
    (deadline, the call opened now or None). A call already open is read as its deadline only
    (in a fall most are: each a model instance cost more than the rest of its reading)."""
    if not events:
        return {}
    ids = {e.account_id for e in events}
    found: dict[int, tuple[datetime.datetime, _Opened | None]] = {
        account_id: (deadline, None)
        for account_id, deadline in MarginCall.objects.filter(
            account_id__any=ids, status=MarginCall.Status.OPEN
        ).values_list("account_id", "deadline")
    }
    deadline = calendars.add_trading_days(events[0].occurred_at, CALL_TRADING_DAYS)
    new: list[tuple[MarginEvent, rules.Cure]] = []
    for event in events:
        if event.account_id in found:
            continue
        account = accounts[event.account_id]
        cure = event_cure(
            account, event, lines.get(account.pk, DEFAULT_LINES), costs[event.account_id]
        )
        new.append((event, cure))
    opened = _insert_calls(new, deadline)
    for event, cure in new:
        found[event.account_id] = (
            deadline,
            _Opened(opened[event.account_id], cure),
        )
    return found


def _insert_calls(
    new: list[tuple[MarginEvent, rules.Cure]], deadline: datetime.datetime
) -> dict[int, int]:
    """The calls of these events, open until ``deadline``: their ids by account (one call per
    account: the batch's events are one per account). On PostgreSQL from arrays in one
    statement, as ``_insert_events``: a fall's first drop opens thousands, and bulk_create's
    instances and preparing of each value cost more CPU than the insert."""
    if not new:
        return {}
    if connection.vendor != "postgresql":
        calls = MarginCall.objects.bulk_create(
            [
                MarginCall(
                    account_id=event.account_id,
                    event=event,
                    issued_at=event.occurred_at,
                    deadline=deadline,
                    deposit_needed=cure.deposit,
                    sell_needed=cure.sell,
                )
                for event, cure in new
            ]
        )
        return {call.account_id: call.pk for call in calls}
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {MarginCall._meta.db_table} (account_id, event_id, status, issued_at, "  # noqa: S608
            "deadline, deposit_needed, sell_needed, resolved_at) "
            "SELECT v.account_id, v.event_id, %s, v.issued_at, %s, v.deposit, v.sell, NULL "
            "FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[], %s::numeric[], "
            "%s::numeric[]) AS v(account_id, event_id, issued_at, deposit, sell) "
            "RETURNING account_id, id",
            [
                MarginCall.Status.OPEN.value,
                deadline,
                arrays.numbers([event.account_id for event, _ in new]),
                arrays.numbers([event.pk for event, _ in new]),
                arrays.texts([event.occurred_at.isoformat() for event, _ in new]),
                arrays.numbers([cure.deposit for _, cure in new]),
                arrays.numbers([cure.sell for _, cure in new]),
            ],
        )
        return dict(cursor.fetchall())


def _restrict_many(events, accounts) -> dict[int, _Imposed]:
    """A reduce-only restriction for each account without one in force; the new ones by account
    (on PostgreSQL inserted from arrays in one statement, as the calls are)."""
    if not events:
        return {}
    kind = Restriction.Kind.REDUCE_ONLY
    held = set(
        Restriction.objects.filter(
            account_id__any={e.account_id for e in events}, kind=kind, lifted_at__isnull=True
        ).values_list("account_id", flat=True)
    )
    new = [e for e in events if e.account_id not in held]
    if not new:
        return {}
    if connection.vendor != "postgresql":
        made = Restriction.objects.bulk_create(
            [
                Restriction(
                    account_id=e.account_id,
                    kind=kind,
                    reason_code=Restriction.ReasonCode.MARGIN_CALL,
                    reason_params={"ratio": _percent(e.ratio)},
                    event=e,
                    imposed_at=e.occurred_at,
                )
                for e in new
            ]
        )
        return {r.account_id: _Imposed(r.pk, kind.value) for r in made}
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Restriction._meta.db_table} (account_id, kind, instrument_id, reason, "  # noqa: S608
            "reason_code, reason_params, event_id, imposed_at, imposed_by_id, lifted_at, "
            "lifted_by_id, lift_reason) "
            "SELECT v.account_id, %s, NULL, '', %s, jsonb_build_object('ratio', v.ratio), "
            "v.event_id, v.imposed_at, NULL, NULL, NULL, '' "
            "FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::timestamptz[]) "
            "AS v(account_id, ratio, event_id, imposed_at) "
            "RETURNING account_id, id",
            [
                kind.value,
                Restriction.ReasonCode.MARGIN_CALL.value,
                arrays.numbers([e.account_id for e in new]),
                arrays.texts([_percent(e.ratio) for e in new]),
                arrays.numbers([e.pk for e in new]),
                arrays.texts([e.occurred_at.isoformat() for e in new]),
            ],
        )
        return {account_id: _Imposed(pk, kind.value) for account_id, pk in cursor.fetchall()}
