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

from django.db import transaction
from django.utils import timezone

import audit
from margin.actors import ENGINE
from margin.engine import ConcentrationChange
from margin.models import Instrument, MarginAccount, Restriction
from notices import services as notices
from portal import formatting


def concentration_changes_record(
    *, changes: Iterable[ConcentrationChange], occurred_at: datetime.datetime
) -> None:
    """Impose or lift the restriction of each crossing the engine reported (each atomically)."""
    for change in changes:
        if change.breached:
            concentration_breach_record(change=change, occurred_at=occurred_at)
        else:
            concentration_breach_clear(change=change, occurred_at=occurred_at)


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
    restriction = Restriction.objects.create(
        account=account,
        kind=kind,
        instrument=instrument,
        reason_code=Restriction.ReasonCode.CONCENTRATION,
        reason_params={
            "code": instrument.code,
            "share": _share(change.share),
            "limit": formatting.percent(limit),
        },
        imposed_at=occurred_at,
    )
    audit.record(
        actor=ENGINE,
        action="margin.concentration_breach",
        obj=restriction,
        data={
            "account": account.number,
            "instrument": instrument.code,
            "share": str(change.share),
            "limit": str(limit),
        },
    )
    day = timezone.localtime(occurred_at).date().isoformat()
    notices.enqueue(
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
    return restriction


@transaction.atomic
def concentration_breach_clear(*, change: ConcentrationChange, occurred_at: datetime.datetime):
    """A position is back within the limit (or gone): purchases of it are open again."""
    for restriction in Restriction.objects.select_for_update().filter(
        account_id=change.account_id,
        kind=Restriction.Kind.CONCENTRATION,
        instrument__code=change.symbol,
        lifted_at__isnull=True,
    ):
        restriction.lifted_at = max(occurred_at, restriction.imposed_at)
        restriction.lift_reason = (
            f"Back within the limit: {_share(change.share)}"
            if change.share is not None
            else "Position sold"
        )
        restriction.save(update_fields=["lifted_at", "lift_reason"])
        audit.record(
            actor=ENGINE,
            action="margin.concentration_cleared",
            obj=restriction,
            data={"instrument": change.symbol, "share": str(change.share)},
        )
