"""Responses that act: proposed from an alert, applied on a risk officer's confirmation, or at
once where the contract allows (``settings.MONITORING_RESPONSES_AT_ONCE``: pausing margin buys
of a flagged instrument and the circuit breaker, both limits on new business only).

What enforces each kind:

- pause buys, shortened hours, circuit breaker: a ``margin.MarketMeasure`` that
  ``margin.restrictions`` reads for every purchase and every new financing;
- lower leverage caps / raise margin requirements: the volatility regime (elevated /
  stressed), proposed by the system and confirmed by the officer
  (``margin.services.volatility_regime_decide``): caps fall at once for new financing;
  tighter lines are drafted as a disclosure change and reach contracts only with the notice
  the disclosure rules require;
- the emergency freeze level: the regime's emergency level, which needs a second officer — the
  confirming officer requests it (``margin.freeze.volatility_regime_request``) and the response
  waits until another officer confirms it in the margin admin.

Each has a start, an end or a review time, and the clients affected are told in plain words.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

import audit
import notices
from margin import measures
from monitoring.models import Alert, Response

LIVE = (Response.Status.PROPOSED, Response.Status.ACTIVE, Response.Status.AWAITING)

Kind = Response.Kind

# Which responses each rule proposes.
RULE_RESPONSES: dict[str, tuple[str, ...]] = {
    "abnormal_deviation_3d": (Kind.PAUSE_BUYS,),
    "abnormal_turnover_3d": (Kind.PAUSE_BUYS,),
    "severe_deviation_10d": (Kind.PAUSE_BUYS,),
    "severe_deviation_30d": (Kind.PAUSE_BUYS,),
    "severe_repeat_10d": (Kind.PAUSE_BUYS,),
    "concentration_instrument": (Kind.PAUSE_BUYS,),
    "limit_down_cluster": (Kind.RAISE_MARGIN,),
    "index_drop": (Kind.LOWER_CAPS, Kind.SHORT_HOURS),
    "index_drop_severe": (Kind.CIRCUIT_BREAKER,),
    "accounts_at_call": (Kind.LOWER_CAPS,),
    "financing_collateral": (Kind.LOWER_CAPS,),
}
REGIME_OF: dict[str, str] = {Kind.LOWER_CAPS: "elevated", Kind.RAISE_MARGIN: "stressed"}
MEASURE_OF: dict[str, str] = {
    Kind.PAUSE_BUYS: "pause_buys",
    Kind.SHORT_HOURS: "hours",
    Kind.CIRCUIT_BREAKER: "circuit_breaker",
}


# bulk_update writes one CASE per column over the whole batch, which PostgreSQL evaluates row by
# row: 500 rows in one statement took seconds, in batches of 50 a few dozen milliseconds.
UPDATE_BATCH = 50


class ResponseError(ValueError):
    pass


def _plain_words(kind: str, code: str, params: dict[str, Any]) -> str:
    """What a client reads, in the active language."""
    if kind == Kind.PAUSE_BUYS:
        return _(
            "%(code)s is under an exchange abnormal-fluctuation or high-risk flag. To protect "
            "clients from buying into it on borrowed money, margin buys of it are paused."
        ) % {"code": code}
    if kind == Kind.SHORT_HOURS:
        return _(
            "The market is falling fast. New financing and purchases are accepted only from "
            "%(start)s to %(end)s, so that no one takes on new debt in the most volatile minutes."
        ) % {"start": params.get("from", "09:45"), "end": params.get("until", "14:30")}
    if kind == Kind.CIRCUIT_BREAKER:
        return _(
            "The market index fell sharply today. New financing and purchases are stopped for "
            "%(minutes)s minutes while risk control reviews the market."
        ) % {"minutes": params.get("minutes", 30)}
    if kind == Kind.LOWER_CAPS:
        return _(
            "Market volatility is high. The most you can borrow for new financing is lowered; "
            "your existing financing is not changed."
        )
    if kind == Kind.RAISE_MARGIN:
        return _(
            "Several stocks fell by the daily limit together. The most you can borrow for new "
            "financing is lowered further; higher margin lines for new business are announced "
            "with the notice period the contract requires before they apply."
        )
    return _(
        "The market is in an emergency. New financing and purchases are stopped for every "
        "account until risk control lifts it; you can still sell, and withdraw within the "
        "usual limits."
    )


def _reasons(kind: str, code: str, params: dict[str, Any]) -> tuple[str, str]:
    with translation.override("zh-hans"):
        zh = _plain_words(kind, code, params)
    with translation.override("en"):
        en = _plain_words(kind, code, params)
    return zh, en


def response_propose(
    *,
    kind: str,
    alert: Alert | None = None,
    instrument_code: str = "",
    params: dict[str, Any] | None = None,
    at: datetime.datetime | None = None,
    officer: Any = None,
) -> Response | None:
    """Propose a response; apply it at once if the contract allows. None if the same response
    is already proposed or in force (one live response per kind and instrument)."""
    at = at or timezone.now()
    table = cast(dict[str, dict[str, Any]], settings.MONITORING_RESPONSE_DEFAULTS)
    params = {**table.get(kind, {}), **(params or {})}
    zh, en = _reasons(kind, instrument_code, params)
    at_once = kind in settings.MONITORING_RESPONSES_AT_ONCE
    try:
        with transaction.atomic():
            response = Response.objects.create(
                kind=kind,
                alert=alert,
                instrument_code=instrument_code,
                params=params,
                needs_confirmation=not at_once,
                reason_zh=zh,
                reason_en=en,
                proposed_at=at,
            )
    except IntegrityError:
        return None
    if not at_once:  # applied at once: one entry ("response_applied") says both
        audit.record(
            actor=officer or "market monitoring",
            action="monitoring.response_proposed",
            obj=response,
            data={
                "kind": kind,
                "instrument": instrument_code,
                "alert": alert.pk if alert else None,
            },
        )
    if at_once:
        try:
            with transaction.atomic():
                _apply(response, officer=None, at=at)
        except (ResponseError, measures.MeasureError) as error:
            # Left for an officer to decide, with the reason it could not apply by itself.
            response.refresh_from_db()
            response.needs_confirmation = True
            response.decision_note = str(error)
            response.save(update_fields=["needs_confirmation", "decision_note"])
    return response


def propose_for(raised: Sequence[Alert], *, at: datetime.datetime) -> list[Response]:
    """The responses newly raised alerts call for, all at once: a crash flags hundreds of
    stocks in one tick. One insert for the responses, one audit entry for those proposed and
    one for those applied at once, one insert for their measures, and the holders told in one
    batch of notices. One response per kind and instrument: those already live are left out."""
    wanted: dict[tuple[str, str], Alert] = {}
    for alert in raised:
        for kind in RULE_RESPONSES.get(alert.rule, ()):
            code = alert.subject if kind == Kind.PAUSE_BUYS else ""
            wanted.setdefault((kind, code), alert)
    if not wanted:
        return []
    live = set(
        Response.objects.filter(
            status__in=LIVE,
            kind__in={kind for kind, _code in wanted},
            instrument_code__in={code for _kind, code in wanted},
        ).values_list("kind", "instrument_code")
    )
    table = cast(dict[str, dict[str, Any]], settings.MONITORING_RESPONSE_DEFAULTS)
    rows = []
    for (kind, code), alert in wanted.items():
        if (kind, code) in live:
            continue
        params = dict(table.get(kind, {}))
        zh, en = _reasons(kind, code, params)
        rows.append(
            Response(
                kind=kind,
                alert=alert,
                instrument_code=code,
                params=params,
                needs_confirmation=kind not in settings.MONITORING_RESPONSES_AT_ONCE,
                reason_zh=zh,
                reason_en=en,
                proposed_at=at,
            )
        )
    try:
        with transaction.atomic():
            Response.objects.bulk_create(rows)
    except IntegrityError:  # another process proposed some meanwhile: one at a time
        one_by_one = [
            response_propose(kind=r.kind, alert=r.alert, instrument_code=r.instrument_code, at=at)
            for r in rows
        ]
        return [r for r in one_by_one if r is not None]
    proposed = [r for r in rows if r.needs_confirmation]
    if proposed:
        audit.record(
            actor="market monitoring",
            action="monitoring.responses_proposed",
            object_type="monitoring.response",
            object_id=proposed[0].pk,  # the first; the data lists them all
            data={
                "responses": [
                    {
                        "id": r.pk,
                        "kind": r.kind,
                        "instrument": r.instrument_code,
                        "alert": r.alert_id,
                    }
                    for r in proposed
                ]
            },
        )
    _apply_at_once([r for r in rows if not r.needs_confirmation], at=at)
    return rows


def _apply_at_once(responses: list[Response], *, at: datetime.datetime) -> None:
    """Apply the responses the contract allows at once, as a set; one that cannot apply by
    itself is left for an officer with the reason (as ``response_propose`` does)."""
    by_measure = [r for r in responses if r.kind in MEASURE_OF]
    for response in responses:
        if response.kind not in MEASURE_OF:  # a regime or the freeze: one at a time
            try:
                with transaction.atomic():
                    _apply(response, officer=None, at=at)
            except (ResponseError, measures.MeasureError) as error:
                response.refresh_from_db()
                response.needs_confirmation, response.decision_note = True, str(error)
                response.save(update_fields=["needs_confirmation", "decision_note"])
    if not by_measure:
        return
    for response in by_measure:
        _schedule(response, at)
    results = measures.market_measures_impose_many(
        [_measure_spec(response, at) for response in by_measure], actor=None
    )
    applied = []
    for response, result in zip(by_measure, results, strict=True):
        if isinstance(result, measures.MeasureError):
            response.starts_at = response.ends_at = response.review_at = None
            response.needs_confirmation, response.decision_note = True, str(result)
        else:
            response.measure_id, response.status = result.pk, Response.Status.ACTIVE
            applied.append(response)
    if applied:  # sets clients_told, written with the rest below
        _tell_clients_many(applied, ended=False, save=False)
    Response.objects.bulk_update(
        by_measure,
        [
            "starts_at",
            "ends_at",
            "review_at",
            "measure_id",
            "status",
            "needs_confirmation",
            "decision_note",
            "clients_told",
        ],
        batch_size=UPDATE_BATCH,
    )
    if applied:
        audit.record(
            actor="market monitoring",
            action="monitoring.responses_applied",
            object_type="monitoring.response",
            object_id=applied[0].pk,  # the first; the data lists them all
            data={"responses": [_applied_data(r, at) for r in applied]},
        )


def _check(officer: Any) -> None:
    if not officer.has_perm("monitoring.decide_response"):
        raise PermissionDenied(_("Only a risk officer may decide a response."))


@transaction.atomic
def response_confirm(*, response_id: int, officer: Any, note: str = "") -> Response:
    _check(officer)
    response = Response.objects.select_for_update().get(pk=response_id)
    if response.status != Response.Status.PROPOSED:
        raise ResponseError(_("This response has already been decided."))
    response.decided_by, response.decided_at = officer, timezone.now()
    response.decision_note = note.strip()
    _apply(response, officer=officer, at=response.decided_at)
    return response


@transaction.atomic
def response_reject(*, response_id: int, officer: Any, note: str) -> Response:
    _check(officer)
    response = Response.objects.select_for_update().get(pk=response_id)
    if response.status != Response.Status.PROPOSED:
        raise ResponseError(_("This response has already been decided."))
    if not note.strip():
        raise ResponseError(_("Say why the response is rejected."))
    response.status = Response.Status.REJECTED
    response.decided_by, response.decided_at = officer, timezone.now()
    response.decision_note = note.strip()
    response.save()
    audit.record(
        actor=officer, action="monitoring.response_rejected", obj=response, data={"note": note}
    )
    return response


def _schedule(response: Response, at: datetime.datetime) -> None:
    params = response.params
    response.starts_at = at
    if "review_hours" in params:
        response.review_at = at + datetime.timedelta(hours=params["review_hours"])
    if "minutes" in params:
        response.ends_at = at + datetime.timedelta(minutes=params["minutes"])
    elif "days" in params:
        response.ends_at = at + datetime.timedelta(days=params["days"])


def _measure_spec(response: Response, at: datetime.datetime) -> dict[str, Any]:
    params = response.params
    return {
        "kind": MEASURE_OF[response.kind],
        "instrument_code": response.instrument_code,
        "accepts_from": datetime.time.fromisoformat(params["from"]) if "from" in params else None,
        "accepts_until": (
            datetime.time.fromisoformat(params["until"]) if "until" in params else None
        ),
        "reason_zh": response.reason_zh,
        "reason_en": response.reason_en,
        "starts_at": at,
        "ends_at": response.ends_at,
        "review_at": response.review_at,
        "source": f"monitoring.response:{response.pk}",
    }


def _applied_data(response: Response, at: datetime.datetime) -> dict[str, Any]:
    return {
        "id": response.pk,
        "kind": response.kind,
        "instrument": response.instrument_code,
        "starts_at": at.isoformat(),
        "ends_at": response.ends_at.isoformat() if response.ends_at else None,
        "review_at": response.review_at.isoformat() if response.review_at else None,
        "status": response.status,
        "at_once": not response.needs_confirmation,
        "alert": response.alert_id,
    }


def _apply(response: Response, *, officer: Any, at: datetime.datetime) -> None:
    kind = response.kind
    _schedule(response, at)
    if kind in MEASURE_OF:
        spec = _measure_spec(response, at)
        measure = measures.market_measure_impose(**spec, actor=officer)
        response.measure_id, response.status = measure.pk, Response.Status.ACTIVE
    elif kind in REGIME_OF:
        response.regime_id = _regime(response, officer)
        response.status = Response.Status.ACTIVE
    else:  # the emergency freeze level: a second officer confirms it in the margin admin
        from margin.freeze import FreezeError, volatility_regime_request

        if officer is None:
            raise ResponseError(_("The emergency freeze needs a risk officer."))
        try:
            row = volatility_regime_request(
                officer=officer, regime="emergency", reason=response.reason_zh
            )
        except FreezeError as error:
            raise ResponseError(str(error)) from None
        response.regime_id, response.status = row.pk, Response.Status.AWAITING
    response.save()
    data = _applied_data(response, at)
    del data["id"]
    audit.record(
        actor=officer or "market monitoring",
        action="monitoring.response_applied",
        obj=response,
        data=data,
    )
    if response.status == Response.Status.ACTIVE:
        _tell_clients(response, ended=False)


def _regime(response: Response, officer: Any) -> int:
    """Propose the regime as the system and confirm it as the officer (the engine's path)."""
    from margin import selectors, services

    if officer is None:
        raise ResponseError(_("A change of regime needs a risk officer's confirmation."))
    wanted = REGIME_OF[response.kind]
    current = selectors.current_regime()
    order = ["normal", "elevated", "stressed", "emergency"]
    if current is not None and order.index(current.regime) >= order.index(wanted):
        return current.pk  # already at least as tight
    volatility = current.market_volatility if current else Decimal("0.0000")
    row = services.volatility_regime_propose(regime=wanted, market_volatility=volatility)
    if row is None:  # an officer's own proposal is pending: theirs to decide first
        pending = selectors.regime_proposal_pending()
        if pending is None or pending.regime != wanted or pending.proposed_by_id == officer.pk:
            raise ResponseError(_("Another regime proposal is waiting; decide it first."))
        row = pending
    if not row.reason:
        row.reason = response.reason_zh
        row.save(update_fields=["reason"])
    services.volatility_regime_decide(
        regime_id=row.pk, officer=officer, confirm=True, note=response.decision_note
    )
    return row.pk


@transaction.atomic
def response_end(*, response_id: int, officer: Any, note: str) -> Response:
    """End a response before its time (or at review); clients are told it is lifted."""
    _check(officer)
    response = Response.objects.select_for_update().get(pk=response_id)
    if response.status not in (Response.Status.ACTIVE, Response.Status.AWAITING):
        raise ResponseError(_("Only a response in force can be ended."))
    if not note.strip():
        raise ResponseError(_("Say why it ends."))
    _end(response, actor=officer, note=note.strip())
    return response


def _end(response: Response, *, actor: Any, note: str) -> None:
    if response.measure_id:
        measures.market_measure_end_if_open(measure_id=response.measure_id, actor=actor, note=note)
    elif response.kind in REGIME_OF:
        from margin import services

        # Back to normal goes through the regime's own confirmation, like any regime change.
        services.volatility_regime_propose(regime="normal", market_volatility=Decimal("0.0000"))
    response.status, response.ended_at, response.end_note = (
        Response.Status.ENDED,
        timezone.now(),
        note,
    )
    response.save(update_fields=["status", "ended_at", "end_note"])
    audit.record(
        actor=actor or "market monitoring",
        action="monitoring.response_ended",
        obj=response,
        data={"note": note},
    )
    if response.measure_id:
        _tell_clients(response, ended=True)


def responses_sweep(*, now: datetime.datetime | None = None) -> int:
    """End responses whose time is up; follow emergency requests to their regime decision;
    raise a review alert for each response in force past its review time."""
    from margin import selectors

    now = now or timezone.now()
    changed = 0
    for response_id in Response.objects.filter(
        status=Response.Status.ACTIVE, ends_at__lte=now
    ).values_list("pk", flat=True):
        with transaction.atomic():
            response = (
                Response.objects.select_for_update(skip_locked=True)
                .filter(pk=response_id, status=Response.Status.ACTIVE)
                .first()
            )
            if response is not None:
                _end(response, actor=None, note=str(_("Ended at its scheduled time.")))
                changed += 1
    for response in Response.objects.filter(status=Response.Status.AWAITING):
        regime = selectors.regime_by_id(response.regime_id) if response.regime_id else None
        if regime is None or regime.status == "proposed":
            continue
        with transaction.atomic():
            confirmed = regime.status == "confirmed"
            response.status = Response.Status.ACTIVE if confirmed else Response.Status.REJECTED
            response.save(update_fields=["status"])
            audit.record(
                actor="market monitoring",
                action="monitoring.response_regime_decided",
                obj=response,
                data={"regime": regime.pk, "confirmed": confirmed},
            )
            if confirmed:
                _tell_clients(response, ended=False)
            changed += 1
    # After the ends: a response ending on time needs no review.
    return changed + _reviews_due(now)


def _reviews_due(now: datetime.datetime) -> int:
    """A response in force past its review time asks a risk officer to look at it again: an
    alert per response (deduplicated while open), which escalates like any other."""
    from monitoring import alerts
    from monitoring.surveillance import Pass, Signal

    due = Response.objects.filter(
        status__in=[Response.Status.ACTIVE, Response.Status.AWAITING], review_at__lte=now
    )
    signals = [
        Signal(
            rule="response_review",
            subject_kind="market" if not r.instrument_code else "instrument",
            subject=r.instrument_code or r.kind,
            level="warning",
            value=Decimal(int((now - r.review_at).total_seconds() // 60)),
            threshold=Decimal(0),
            inputs={"response": r.pk, "kind": r.kind, "review_at": r.review_at.isoformat()},
            condition=f"response_review:{r.pk}",
        )
        for r in due
        if r.review_at is not None
    ]
    if not signals:
        return 0
    # The review alerts are their own rule: no evaluation of market data ends them.
    return len(alerts.signals_apply(Pass(signals, set()), at=now))


def _when(moment: datetime.datetime | None) -> str:
    from portal import calendars

    if moment is None:
        return str(_("further notice"))
    return f"{moment.astimezone(calendars.SHANGHAI):%Y-%m-%d %H:%M}"


def _tell_clients(response: Response, *, ended: bool) -> int:
    return _tell_clients_many([response], ended=ended)[response.pk]


def _tell_clients_many(
    responses: Sequence[Response], *, ended: bool, save: bool = True
) -> dict[int, int]:
    """Tell the clients each response affects, in plain words and their language: one query
    for the holders, one batch of notices. Returns how many were told per response."""
    phase = "end" if ended else "start"
    code_of = {r.pk: r.instrument_code if r.kind == Kind.PAUSE_BUYS else "" for r in responses}
    affected = measures.clients_affected_many(set(code_of.values()))
    batch, told = [], {}
    for response in responses:
        contexts: dict[str, dict[str, Any]] = {}  # per language: the same words for everyone
        users = affected.get(code_of[response.pk], [])
        for user in users:
            language = getattr(user, "language", "") or "zh-hans"
            if language not in contexts:
                contexts[language] = _context(response, language, ended=ended)
            batch.append(
                {
                    "recipient": user,
                    "key": "monitoring_measure",
                    "context": contexts[language],
                    "idempotency_key": f"monitoring-measure:{response.pk}:{phase}:{user.pk}",
                }
            )
        told[response.pk] = len(users)
    notices.enqueue_many(batch)
    if not ended:
        for response in responses:
            response.clients_told = told[response.pk]
        if save:
            Response.objects.bulk_update(responses, ["clients_told"], batch_size=UPDATE_BATCH)
    return told


def _context(response: Response, language: str, *, ended: bool) -> dict[str, Any]:
    with translation.override(language):
        label = str(response.get_kind_display())
        if response.instrument_code:
            label = f"{label}: {response.instrument_code}"
        return {
            "measure": label,
            "reason": response.reason_zh if language.startswith("zh") else response.reason_en,
            "starts": _when(response.starts_at),
            "until": _when(response.ends_at or response.review_at),
            "ended": ended,
        }
