"""The weekly risk report: levels, calls, plans and stress results, as a PDF kept on file."""

from __future__ import annotations

import datetime
import hashlib
from collections import Counter
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

import audit
from margin import stress
from margin.models import LiquidationPlan, MarginAccount, MarginCall, MarginEvent, RiskReport
from margin.rules import Level


def report_context(week_starts_on: datetime.date) -> dict[str, Any]:
    start = datetime.datetime.combine(
        week_starts_on, datetime.time(0), timezone.get_current_timezone()
    )
    end = start + datetime.timedelta(days=7)
    levels = Counter(MarginAccount.objects.values_list("current_level", flat=True))
    events = Counter(
        MarginEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end).values_list(
            "to_level", flat=True
        )
    )
    calls = Counter(
        MarginCall.objects.filter(issued_at__gte=start, issued_at__lt=end).values_list(
            "status", flat=True
        )
    )
    plans = Counter(
        LiquidationPlan.objects.filter(proposed_at__gte=start, proposed_at__lt=end).values_list(
            "status", flat=True
        )
    )
    return {
        "week_starts_on": week_starts_on,
        "week_ends_on": week_starts_on + datetime.timedelta(days=6),
        "levels": [(level.label, levels.get(level.value, 0)) for level in Level],
        "events": [(level.label, events.get(level.value, 0)) for level in Level],
        "calls": [(status.label, calls.get(status.value, 0)) for status in MarginCall.Status],
        "plans": [(status.label, plans.get(status.value, 0)) for status in LiquidationPlan.Status],
        "stress": [stress.run(name) for name in stress.SCENARIOS],
        "generated_at": timezone.now(),
    }


def render_pdf(context: dict[str, Any]) -> bytes:
    from weasyprint import HTML

    with translation.override("zh-hans"):
        html = render_to_string("margin/risk_report.html", context)
    return HTML(string=html).write_pdf()


def risk_report_weekly(*, week_starts_on: datetime.date) -> RiskReport:
    """Render the week's report once; a second call returns the stored one."""
    existing = RiskReport.objects.filter(week_starts_on=week_starts_on).first()
    if existing:
        return existing
    pdf = render_pdf(report_context(week_starts_on))  # seconds of work: outside the transaction
    with transaction.atomic():
        report, created = RiskReport.objects.get_or_create(
            week_starts_on=week_starts_on, defaults={"sha256": hashlib.sha256(pdf).hexdigest()}
        )
        if created:
            report.pdf.save(f"risk-report-{week_starts_on:%Y-%m-%d}.pdf", ContentFile(pdf))
            audit.record(
                actor="weekly risk report",
                action="margin.risk_report_created",
                obj=report,
                data={"week": week_starts_on.isoformat(), "sha256": report.sha256},
            )
    return report


def last_week_start(today: datetime.date | None = None) -> datetime.date:
    today = today or timezone.localdate()
    return today - datetime.timedelta(days=today.weekday() + 7)
