"""The weekly and monthly evaluation, in Chinese, with charts: alerts and their outcome,
responses and their effect, calls and liquidations, drills, and a back-test of the volatility
model (EWMA predicted against realised volatility of the platform index) with its parameters.
Rendered once in Celery and kept, like the weekly risk report."""

from __future__ import annotations

import datetime
import hashlib
import itertools
import math
from collections import Counter
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

import audit
from margin import selectors as margin_selectors
from margin import stress, volatility
from monitoring import charts, drills
from monitoring.models import Alert, BookSnapshot, DailyBar, Evaluation, Level, Response
from monitoring.surveillance import INDEX_CODE
from portal import calendars

FONT_FAMILY = "WenQuanYi Micro Hei"
DAYS_PER_YEAR = 240
FORWARD_DAYS = 5  # realised volatility over the next five trading days


def period_end(period: str, starts_on: datetime.date) -> datetime.date:
    if period == Evaluation.Period.WEEK:
        return starts_on + datetime.timedelta(days=6)
    following = (starts_on.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return following - datetime.timedelta(days=1)


def backtest(closes: list[float], *, lam: float = volatility.LAMBDA) -> dict[str, Any]:
    """EWMA one-day-ahead volatility against the realised volatility of the next days.

    Predicted σ_t (annualised) uses returns up to day t−1; realised is the root mean square of
    the next ``FORWARD_DAYS`` daily returns, annualised. Also counts days whose move exceeded
    1.645 σ (a 10% two-sided tail if the model is right)."""
    returns = [math.log(b / a) for a, b in itertools.pairwise(closes) if a > 0 and b > 0]
    if len(returns) < FORWARD_DAYS + 2:
        return {"days": len(returns), "predicted": [], "realised": []}
    variance = returns[0] ** 2
    predicted, realised, exceed = [], [], 0
    for t in range(1, len(returns) - FORWARD_DAYS + 1):
        sigma = math.sqrt(variance)
        window = returns[t : t + FORWARD_DAYS]
        predicted.append(sigma * math.sqrt(DAYS_PER_YEAR))
        realised.append(math.sqrt(sum(r * r for r in window) / len(window) * DAYS_PER_YEAR))
        exceed += abs(returns[t]) > 1.645 * sigma
        variance = lam * variance + (1 - lam) * returns[t] ** 2
    errors = [p - r for p, r in zip(predicted, realised, strict=True)]
    return {
        "days": len(returns),
        "predicted": predicted,
        "realised": realised,
        "bias": sum(errors) / len(errors),
        "mae": sum(abs(e) for e in errors) / len(errors),
        "exceedances": exceed,
        "exceedance_rate": exceed / len(predicted),
    }


def context(period: str, starts_on: datetime.date) -> dict[str, Any]:
    """Everything the evaluation shows; labels in Chinese, as the PDF is."""
    with translation.override("zh-hans"):
        return _context(period, starts_on)


def _context(period: str, starts_on: datetime.date) -> dict[str, Any]:
    ends_on = period_end(period, starts_on)
    start = datetime.datetime.combine(starts_on, datetime.time(0), calendars.SHANGHAI)
    end = datetime.datetime.combine(ends_on, datetime.time(0), calendars.SHANGHAI)
    end += datetime.timedelta(days=1)
    raised = Alert.objects.filter(raised_at__gte=start, raised_at__lt=end)
    outcome = Counter(raised.values_list("outcome", flat=True))
    outcomes = [(str(label), outcome.get(value, 0)) for value, label in Alert.Outcome.choices]
    by_rule = Counter(raised.values_list("rule", flat=True)).most_common(12)
    by_level = Counter(raised.values_list("level", flat=True))
    acked = [
        (a.acknowledged_at - a.raised_at).total_seconds() / 60
        for a in raised.exclude(acknowledged_at__isnull=True).only("raised_at", "acknowledged_at")
    ]
    effects = []
    for response in Response.objects.filter(proposed_at__gte=start, proposed_at__lt=end):
        effects.append(_effect(response))
    snapshots = list(
        BookSnapshot.objects.filter(at__gte=start, at__lt=end, values__has_key="accounts")
        .order_by("at")
        .only("at", "values")
    )
    lookback = starts_on - datetime.timedelta(days=120)
    closes = [
        float(c)
        for c in DailyBar.objects.filter(code=INDEX_CODE, day__gte=lookback, day__lte=ends_on)
        .order_by("day")
        .values_list("close", flat=True)
    ]
    test = backtest(closes)
    risk = margin_selectors.risk_actions_between(start, end)
    drill_rows = [drills.run(name).as_dict() for name in stress.SCENARIOS]
    return {
        "period": period,
        "period_label": str(Evaluation.Period(period).label),
        "starts_on": starts_on,
        "ends_on": ends_on,
        "alerts_total": raised.count(),
        "by_level": [(str(label), by_level.get(value, 0)) for value, label in Level.choices],
        "outcomes": outcomes,
        "by_rule": by_rule,
        "mean_ack_minutes": round(sum(acked) / len(acked), 1) if acked else None,
        "escalated": raised.filter(escalations__gt=0).count(),
        "effects": effects,
        "risk": risk,
        "drills": drill_rows,
        "backtest": test,
        "parameters": {
            "lambda": volatility.LAMBDA,
            "warm_up": volatility.WARM_UP,
            "regimes": volatility.REGIME_THRESHOLDS,
            "forward_days": FORWARD_DAYS,
        },
        "charts": {
            "outcomes": charts.bars(outcomes),
            "by_rule": charts.bars(by_rule),
            "at_call": charts.lines(
                [
                    (
                        _("Accounts at call or worse"),
                        [float(s.values.get("at_call_share", 0)) for s in snapshots],
                    )
                ],
                labels=[f"{s.at.astimezone(calendars.SHANGHAI):%m-%d %H:%M}" for s in snapshots],
            ),
            "backtest": charts.lines(
                [
                    (_("Predicted (EWMA)"), test["predicted"]),
                    (_("Realised (next 5 days)"), test["realised"]),
                ]
            ),
            "risk": charts.bars(risk["calls"] + risk["plans"]),
        },
        "font_family": FONT_FAMILY,
        "generated_at": timezone.now(),
    }


def _effect(response: Response) -> dict[str, Any]:
    """The share of accounts at call or worse just before the response and at its end (or now)."""
    before = after = None
    if response.starts_at:
        row = (
            BookSnapshot.objects.filter(at__lte=response.starts_at, values__has_key="accounts")
            .order_by("-at")
            .first()
        )
        before = row.values.get("at_call_share") if row else None
        until = response.ended_at or response.ends_at or timezone.now()
        row = (
            BookSnapshot.objects.filter(at__lte=until, values__has_key="accounts")
            .order_by("-at")
            .first()
        )
        after = row.values.get("at_call_share") if row else None
    return {
        "response": str(response),
        "status": str(response.get_status_display()),
        "starts_at": response.starts_at,
        "ended_at": response.ended_at,
        "clients_told": response.clients_told,
        "at_call_before": before,
        "at_call_after": after,
    }


def render_pdf(data: dict[str, Any]) -> bytes:
    from weasyprint import HTML

    with translation.override("zh-hans"):
        html = render_to_string("monitoring/evaluation.html", data)
    return HTML(string=html).write_pdf()


def evaluation_render(*, period: str, starts_on: datetime.date) -> Evaluation:
    """Render the period's evaluation once; a second call returns the stored one."""
    existing = Evaluation.objects.filter(period=period, starts_on=starts_on).first()
    if existing:
        return existing
    data = context(period, starts_on)
    pdf = render_pdf(data)  # seconds of work: outside the transaction
    with transaction.atomic():
        row, created = Evaluation.objects.get_or_create(
            period=period,
            starts_on=starts_on,
            defaults={"ends_on": data["ends_on"], "sha256": hashlib.sha256(pdf).hexdigest()},
        )
        if created:
            row.pdf.save(f"monitoring-{period}-{starts_on:%Y-%m-%d}.pdf", ContentFile(pdf))
            audit.record(
                actor="monitoring evaluation",
                action="monitoring.evaluation_created",
                obj=row,
                data={"period": period, "starts_on": starts_on.isoformat(), "sha256": row.sha256},
            )
    return row
