"""The concentration limit (the contract's Article 4: "the market value of any single security may
not exceed 30% of total assets"), enforced.

The risk engine compares every position's share of its account's total assets with the
account's own limit whenever the account is revalued, and reports each crossing once
(``engine.ConcentrationChange``). Going over imposes a restriction on buying more of that one
security (the course: "the portal tells you and may stop further purchases of that security")
and tells the client; coming back within the limit — by selling, by a deposit, or by prices —
lifts it. Risk officers see the breaches as restrictions of this kind in admin.

The client is told at most once a day per security: a price that flickers around the limit
moves the restriction, not the client's inbox.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

import audit
from audit import services as audit_services
from margin import selectors
from margin.actors import ENGINE
from margin.engine import ConcentrationChange
from margin.models import Instrument, MarginAccount, Restriction
from margin.rules import DEFAULT_LINES
from notices import services as notices
from portal import arrays, formatting

BATCH = 2000  # crossings per transaction: an 8% fall brings a few thousand back within limits


def concentration_changes_record(
    *, changes: Iterable[ConcentrationChange], occurred_at: datetime.datetime
) -> None:
    """Impose or lift the restriction of each crossing the engine reported, in batches
    (``concentration_changes_record_batch``). A position reported twice in one result starts a
    new batch, so the second crossing sees what the first wrote, as one by one."""
    batch: list[ConcentrationChange] = []
    seen: set[tuple[int, str]] = set()
    for change in changes:
        pair = (change.account_id, change.symbol)
        if pair in seen or len(batch) >= BATCH:
            concentration_changes_record_batch(changes=batch, occurred_at=occurred_at)
            batch, seen = [], set()
        batch.append(change)
        seen.add(pair)
    concentration_changes_record_batch(changes=batch, occurred_at=occurred_at)


@transaction.atomic
def concentration_changes_record_batch(
    *, changes: list[ConcentrationChange], occurred_at: datetime.datetime
) -> None:
    """``concentration_breach_record`` and ``concentration_breach_clear`` for many positions
    (each at most once) in one transaction and a constant number of statements: the same
    restrictions, lifts, audit entries (in the order of ``changes``, one lock of the chain) and
    notices (one ``enqueue_many``). The breached accounts are locked in id order, as each breach
    locks its account, so two engines recording the same crossing wait rather than impose twice.
    """
    if not changes:
        return
    imposed = _impose_many([c for c in changes if c.breached], occurred_at)
    lifted = _lift_many([c for c in changes if not c.breached], occurred_at)
    entries: list[audit_services.Entry] = []
    for change in changes:
        pair = (change.account_id, change.symbol)
        entries.extend(imposed.get(pair, ()) if change.breached else lifted.get(pair, ()))
    audit.record_many(entries)


def _impose_many(
    changes: list[ConcentrationChange], occurred_at: datetime.datetime
) -> dict[tuple[int, str], list[audit_services.Entry]]:
    """The restrictions of the positions that went over their limits: their audit entries by
    (account, symbol); the notices queued."""
    if not changes:
        return {}
    ids = sorted({c.account_id for c in changes})
    accounts = selectors.accounts_locked(ids)
    instruments = Instrument.objects.in_bulk({c.symbol for c in changes}, field_name="code")
    held = set(
        Restriction.objects.filter(
            account_id__any=set(ids),  # sets: one array literal each (portal.lookups)
            kind=Restriction.Kind.CONCENTRATION,
            instrument_id__any={i.pk for i in instruments.values()},
            lifted_at__isnull=True,
        ).values_list("account_id", "instrument__code")
    )
    lines = selectors.contract_lines(ids)
    day = timezone.localtime(occurred_at).date().isoformat()
    new, entries, requests = [], {}, []
    for change in changes:
        account, instrument = accounts.get(change.account_id), instruments.get(change.symbol)
        if account is None or instrument is None or (account.pk, instrument.code) in held:
            continue
        limit = lines.get(account.pk, DEFAULT_LINES).concentration
        restriction = _restriction(account, instrument, change, limit, occurred_at)
        new.append(restriction)
        entries[(account.pk, instrument.code)] = [
            audit_services.Entry(**_breach_audit(account, instrument, change, limit, restriction))
        ]
        requests.append(_breach_notice(account, instrument, change, limit, day))
    Restriction.objects.bulk_create(new)  # the audit entries read the new rows' ids
    notices.enqueue_many(requests)
    return entries


def _lift_many(
    changes: list[ConcentrationChange], occurred_at: datetime.datetime
) -> dict[tuple[int, str], list[audit_services.Entry]]:
    """The restrictions of the positions back within their limits, lifted: their audit entries
    by (account, symbol)."""
    if not changes:
        return {}
    wanted = {(c.account_id, c.symbol): c for c in changes}
    entries: dict[tuple[int, str], list[audit_services.Entry]] = {}
    lifted = []
    codes = dict(
        Instrument.objects.filter(code__any={c.symbol for c in changes}).values_list("pk", "code")
    )
    # The restrictions of these accounts on these symbols, a few more than wanted at most; read
    # as values (_Held), not model instances, which cost a fall more than the rest of the lifts.
    for pk, account_id, instrument_id, imposed_at in (
        Restriction.objects.select_for_update()
        .filter(
            account_id__any={c.account_id for c in changes},
            kind=Restriction.Kind.CONCENTRATION,
            instrument_id__any=set(codes),
            lifted_at__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", "account_id", "instrument_id", "imposed_at")
    ):
        pair = (account_id, codes.get(instrument_id or 0, ""))
        change = wanted.get(pair)
        if change is None:
            continue
        held = _Held(pk, imposed_at)
        _lift(held, change, occurred_at)
        lifted.append(held)
        audited = {**_clear_audit(held, change), "obj": None}
        entries.setdefault(pair, []).append(
            audit_services.Entry(**audited, object_type=_RESTRICTION, object_id=pk)
        )
    _save_lifts(lifted)
    return entries


_RESTRICTION = Restriction._meta.label_lower


class _Held:
    """A restriction in force as a batch of lifts reads and lifts it (``_lift``)."""

    __slots__ = ("imposed_at", "lift_reason", "lifted_at", "pk")

    def __init__(self, pk: int, imposed_at: datetime.datetime) -> None:
        self.pk, self.imposed_at = pk, imposed_at
        self.lifted_at: datetime.datetime | None = None
        self.lift_reason = ""


def _save_lifts(lifted: list[_Held]) -> None:
    """The lifted restrictions' two fields, in one statement on PostgreSQL: bulk_update's CASE
    with a branch per row and field cost seconds of CPU for the thousands an 8% fall lifts."""
    if connection.vendor != "postgresql":
        rows = [
            Restriction(pk=h.pk, lifted_at=h.lifted_at, lift_reason=h.lift_reason) for h in lifted
        ]
        Restriction.objects.bulk_update(rows, ["lifted_at", "lift_reason"], batch_size=BATCH)
        return
    if not lifted:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Restriction._meta.db_table} AS r SET lifted_at = v.at, "  # noqa: S608
            "lift_reason = v.reason FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[]) "
            "AS v(id, at, reason) WHERE r.id = v.id",
            [  # each array one literal (portal.arrays), not dumped element by element
                arrays.numbers([r.pk for r in lifted]),
                arrays.texts([_instant(r.lifted_at) for r in lifted]),
                arrays.texts([r.lift_reason for r in lifted]),
            ],
        )


def _instant(moment: datetime.datetime | None) -> str | None:
    """A moment as timestamptz reads it back to the same instant (aware: its offset written)."""
    if moment is not None and timezone.is_naive(moment):
        raise ValueError("a naive datetime for a timestamptz column")
    return None if moment is None else moment.isoformat()


def _share(share: Decimal | None) -> str:
    return formatting.percent(share) if share is not None else "—"


@transaction.atomic
def concentration_breach_record(
    *, change: ConcentrationChange, occurred_at: datetime.datetime
) -> Restriction | None:
    """A position went over the limit: no more purchases of it, and the client is told."""
    account = (
        MarginAccount.objects.select_for_update()
        .select_related("client")
        .filter(pk=change.account_id)
        .first()
    )
    instrument = Instrument.objects.filter(code=change.symbol).first()
    if account is None or instrument is None:
        return None
    kind = Restriction.Kind.CONCENTRATION
    existing = Restriction.objects.filter(
        account=account, kind=kind, instrument=instrument, lifted_at__isnull=True
    ).first()
    if existing is not None:
        return existing
    limit = account.lines.concentration
    restriction = _restriction(account, instrument, change, limit, occurred_at)
    restriction.save(force_insert=True)
    audit.record(**_breach_audit(account, instrument, change, limit, restriction))
    day = timezone.localtime(occurred_at).date().isoformat()
    notice = _breach_notice(account, instrument, change, limit, day)
    notices.enqueue(
        recipient=notice.recipient,
        key=notice.key,
        context=notice.context,
        idempotency_key=notice.idempotency_key,
    )
    return restriction


def _restriction(account, instrument, change, limit, occurred_at) -> Restriction:
    return Restriction(
        account=account,
        kind=Restriction.Kind.CONCENTRATION,
        instrument=instrument,
        reason_code=Restriction.ReasonCode.CONCENTRATION,
        reason_params={
            "code": instrument.code,
            "share": _share(change.share),
            "limit": formatting.percent(limit),
        },
        imposed_at=occurred_at,
    )


def _breach_audit(account, instrument, change, limit, restriction) -> dict[str, Any]:
    return {
        "actor": ENGINE,
        "action": "margin.concentration_breach",
        "obj": restriction,
        "data": {
            "account": account.number,
            "instrument": instrument.code,
            "share": str(change.share),
            "limit": str(limit),
        },
    }


def _breach_notice(account, instrument, change, limit, day: str) -> notices.NoticeRequest:
    # Keyed by the day: a price flickering around the limit tells the client once a day.
    return notices.NoticeRequest(
        recipient=account.client,
        key="margin_concentration",
        context={
            "account_number": account.number,
            "code": instrument.code,
            "name": instrument.name_for(getattr(account.client, "language", "") or "zh-hans"),
            "share": _share(change.share),
            "limit": formatting.percent(limit),
        },
        idempotency_key=f"margin-concentration:{account.pk}:{instrument.code}:{day}",
    )


@transaction.atomic
def concentration_breach_clear(*, change: ConcentrationChange, occurred_at: datetime.datetime):
    """A position is back within the limit (or gone): purchases of it are open again."""
    for restriction in Restriction.objects.select_for_update().filter(
        account_id=change.account_id,
        kind=Restriction.Kind.CONCENTRATION,
        instrument__code=change.symbol,
        lifted_at__isnull=True,
    ):
        _lift(restriction, change, occurred_at)
        restriction.save(update_fields=["lifted_at", "lift_reason"])
        audit.record(**_clear_audit(restriction, change))


def _lift(restriction: Restriction | _Held, change: ConcentrationChange, occurred_at) -> None:
    restriction.lifted_at = max(occurred_at, restriction.imposed_at)
    restriction.lift_reason = (
        f"Back within the limit: {_share(change.share)}"
        if change.share is not None
        else "Position sold"
    )


def _clear_audit(restriction: Restriction | _Held, change: ConcentrationChange) -> dict[str, Any]:
    return {
        "actor": ENGINE,
        "action": "margin.concentration_cleared",
        "obj": restriction,
        "data": {"instrument": change.symbol, "share": str(change.share)},
    }
