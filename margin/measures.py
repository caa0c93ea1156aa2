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
    instrument = None
    if kind == MarketMeasure.Kind.PAUSE_BUYS:
        instrument = Instrument.objects.filter(code=instrument_code).first()
    spec = {
        "reason_zh": reason_zh,
        "reason_en": reason_en,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "accepts_from": accepts_from,
        "accepts_until": accepts_until,
    }
    refusal = _refusal(kind, spec, instrument)
    if refusal:
        raise MeasureError(refusal)
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


def _refusal(kind: str, spec: dict[str, Any], instrument: Instrument | None) -> str:
    """Why a measure cannot be imposed ("" when it can): market_measure_impose's checks."""
    if kind not in MarketMeasure.Kind.values:
        return _("Unknown kind of measure.")
    if not (spec["reason_zh"].strip() and spec["reason_en"].strip()):
        return _("Say why, in both languages: clients will read it.")
    ends_at = spec.get("ends_at")
    if ends_at is not None and ends_at <= spec["starts_at"]:
        return _("A measure must end after it starts.")
    if kind == MarketMeasure.Kind.PAUSE_BUYS and instrument is None:
        return _("Name a known instrument.")
    start, end = spec.get("accepts_from"), spec.get("accepts_until")
    if kind == MarketMeasure.Kind.HOURS and not (start and end and start < end):
        return _("Give the hours: a start before an end.")
    return ""


@transaction.atomic
def market_measures_impose_many(
    specs: list[dict[str, Any]], *, actor: Any = None
) -> list[MarketMeasure | MeasureError]:
    """``market_measure_impose`` for many measures at once (a crash flags hundreds of stocks):
    each spec holds its keyword arguments (``actor`` aside); one insert and one audit entry
    listing them all. Returns, per spec, the measure or the error that refused it."""
    codes = {spec.get("instrument_code", "") for spec in specs} - {""}
    instruments = {i.code: i for i in Instrument.objects.filter(code__in=codes)}
    results: list[MarketMeasure | MeasureError] = []
    for spec in specs:
        kind = spec["kind"]
        instrument = None
        if kind == MarketMeasure.Kind.PAUSE_BUYS:
            instrument = instruments.get(spec.get("instrument_code", ""))
        refusal = _refusal(kind, spec, instrument)
        if refusal:
            results.append(MeasureError(refusal))
            continue
        results.append(
            MarketMeasure(
                kind=kind,
                instrument=instrument,
                accepts_from=spec.get("accepts_from"),
                accepts_until=spec.get("accepts_until"),
                reason_zh=spec["reason_zh"].strip(),
                reason_en=spec["reason_en"].strip(),
                starts_at=spec["starts_at"],
                ends_at=spec.get("ends_at"),
                review_at=spec.get("review_at"),
                source=spec.get("source", ""),
                imposed_by=actor if getattr(actor, "pk", None) else None,
            )
        )
    measures = [m for m in results if isinstance(m, MarketMeasure)]
    MarketMeasure.objects.bulk_create(measures)
    if measures:
        audit.record(
            actor=actor or "market monitoring",
            action="margin.market_measures_imposed",
            object_type="margin.marketmeasure",
            object_id=measures[0].pk,  # the first; the data lists them all
            data={
                "measures": [
                    {
                        "id": m.pk,
                        "kind": m.kind,
                        "instrument": m.instrument.code if m.instrument else "",
                        "hours": [str(m.accepts_from), str(m.accepts_until)]
                        if m.accepts_from
                        else None,
                        "starts_at": m.starts_at.isoformat(),
                        "ends_at": m.ends_at.isoformat() if m.ends_at else None,
                        "source": m.source,
                    }
                    for m in measures
                ]
            },
        )
    return results


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


def clients_affected_many(instrument_codes: set[str]) -> dict[str, list[Any]]:
    """``clients_affected`` for many instruments in one query per kind: code → holders
    ("" → every client with a margin account)."""
    from django.contrib.auth import get_user_model

    clients = get_user_model().objects.filter(is_active=True)
    codes = set(instrument_codes) - {""}
    found: dict[str, list[Any]] = {code: [] for code in codes}
    if codes:
        holders: dict[int, set[str]] = {}
        for code, client_id in (
            Position.objects.filter(instrument__code__in=codes)
            .values_list("instrument__code", "account__client")
            .distinct()
        ):
            holders.setdefault(client_id, set()).add(code)
        for user in clients.filter(pk__in=holders).order_by("pk"):
            for code in sorted(holders[user.pk]):
                found[code].append(user)
    if "" in instrument_codes:
        found[""] = clients_affected("")
    return found


def clients_affected(instrument_code: str = "") -> list[Any]:
    """Who is told about a measure: the holders of the instrument, or every client with a
    margin account."""
    from django.contrib.auth import get_user_model

    clients = get_user_model().objects.filter(is_active=True)
    if instrument_code:
        held = Position.objects.filter(instrument__code=instrument_code)
        return list(clients.filter(pk__in=held.values("account__client")))
    return list(clients.filter(pk__in=MarginAccount.objects.values("client")))
