"""Platform-wide market measures (``MarketMeasure``): imposed and ended here, enforced by
``margin.restrictions`` for every account at once. Market monitoring decides them; the pre-trade
check and financing read them through ``account_permissions`` / ``buy_refusal``."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
from margin.models import Instrument, MarginAccount, MarketMeasure, Position


class MeasureError(ValueError):
    pass


@transaction.atomic
def market_measure_impose(
    *,
    kind: str,
    reason_zh: str,
    reason_en: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime | None = None,
    review_at: datetime.datetime | None = None,
    instrument_code: str = "",
    accepts_from: datetime.time | None = None,
    accepts_until: datetime.time | None = None,
    actor: Any = None,
    source: str = "",
) -> MarketMeasure:
    """Put a measure in force from ``starts_at``; refused if it would say nothing."""
    if kind not in MarketMeasure.Kind.values:
        raise MeasureError(_("Unknown kind of measure."))
    if not (reason_zh.strip() and reason_en.strip()):
        raise MeasureError(_("Say why, in both languages: clients will read it."))
    if ends_at is not None and ends_at <= starts_at:
        raise MeasureError(_("A measure must end after it starts."))
    instrument = None
    if kind == MarketMeasure.Kind.PAUSE_BUYS:
        instrument = Instrument.objects.filter(code=instrument_code).first()
        if instrument is None:
            raise MeasureError(_("Name a known instrument."))
    if kind == MarketMeasure.Kind.HOURS and not (
        accepts_from and accepts_until and accepts_from < accepts_until
    ):
        raise MeasureError(_("Give the hours: a start before an end."))
    measure = MarketMeasure.objects.create(
        kind=kind,
        instrument=instrument,
        accepts_from=accepts_from,
        accepts_until=accepts_until,
        reason_zh=reason_zh.strip(),
        reason_en=reason_en.strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        review_at=review_at,
        source=source,
        imposed_by=actor if getattr(actor, "pk", None) else None,
    )
    audit.record(
        actor=actor or "market monitoring",
        action="margin.market_measure_imposed",
        obj=measure,
        data={
            "kind": kind,
            "instrument": instrument_code,
            "hours": [str(accepts_from), str(accepts_until)] if accepts_from else None,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat() if ends_at else None,
            "source": source,
        },
    )
    return measure


@transaction.atomic
def market_measure_end(*, measure_id: int, actor: Any, note: str) -> MarketMeasure:
    measure = MarketMeasure.objects.select_for_update().get(pk=measure_id)
    if measure.ended_at is not None:
        raise MeasureError(_("This measure has already ended."))
    measure.ended_at, measure.end_note = timezone.now(), note.strip()
    measure.save(update_fields=["ended_at", "end_note"])
    audit.record(
        actor=actor or "market monitoring",
        action="margin.market_measure_ended",
        obj=measure,
        data={"note": measure.end_note},
    )
    return measure


def market_measure_end_if_open(*, measure_id: int, actor: Any, note: str) -> bool:
    """End the measure unless it has ended already (at its end time it simply lapses)."""
    if MarketMeasure.objects.filter(pk=measure_id, ended_at__isnull=True).exists():
        market_measure_end(measure_id=measure_id, actor=actor, note=note)
        return True
    return False


def clients_affected(instrument_code: str = "") -> list[Any]:
    """Who is told about a measure: the holders of the instrument, or every client with a
    margin account."""
    from django.contrib.auth import get_user_model

    clients = get_user_model().objects.filter(is_active=True)
    if instrument_code:
        held = Position.objects.filter(instrument__code=instrument_code)
        return list(clients.filter(pk__in=held.values("account__client")))
    return list(clients.filter(pk__in=MarginAccount.objects.values("client")))
