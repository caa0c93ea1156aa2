"""Reads the risk board and the evaluations share."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Case, IntegerField, QuerySet, Value, When

from margin.engine import LEVELS
from monitoring import charts
from monitoring.models import Alert, BookSnapshot, Response
from portal import formatting

LIVE_RESPONSES = (Response.Status.PROPOSED, Response.Status.ACTIVE, Response.Status.AWAITING)


def open_alerts(limit: int = 200) -> QuerySet[Alert]:
    """Alerts not closed, most severe and newest first."""
    severity = Case(
        When(level="critical", then=Value(0)),
        When(level="warning", then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        Alert.objects.exclude(status=Alert.Status.CLOSED)
        .annotate(severity=severity)
        .order_by("severity", "-raised_at")[:limit]
    )


def live_responses() -> QuerySet[Response]:
    return Response.objects.filter(status__in=LIVE_RESPONSES).select_related("alert")


def book_series(limit: int = 60) -> list[BookSnapshot]:
    """The latest intraday book snapshots, oldest first."""
    rows = list(BookSnapshot.objects.filter(values__has_key="accounts").order_by("-at")[:limit])
    return rows[::-1]


def _percent(share: float) -> str:
    # The book's shares are floats in JSON; the formatter takes exact numbers only.
    return formatting.percent(Decimal(str(share)))


def board() -> dict[str, Any]:
    """Everything the risk board shows, with its small charts."""
    from monitoring.live import LATEST_KEY, NEAREST_KEY

    series = book_series()
    latest: dict[str, Any] | None = series[-1].values if series else None
    latest_at = series[-1].at if series else None
    # The last evaluation (every few seconds) is fresher than the last snapshot (minutes).
    fresh = cache.get(LATEST_KEY)
    if fresh is not None and (latest_at is None or fresh["at"] >= latest_at):
        latest, latest_at = fresh["values"], fresh["at"]
    charts_ = {}
    if latest is not None:
        for key in ("at_call_share", "financing_share"):
            values = [float(s.values.get(key, 0)) for s in series]
            charts_[key] = charts.sparkline(values)
        charts_["levels"] = charts.bars(
            [(str(level.label), latest["levels"].get(level.value, 0)) for level in LEVELS]
        )
        charts_["sectors"] = charts.bars(
            sorted(latest.get("sectors", {}).items(), key=lambda kv: -kv[1])[:8]
        )
    shown = None
    if latest is not None:
        shown = {
            "at_call": _percent(latest.get("at_call_share", 0)),
            "financing": _percent(latest.get("financing_share", 0)),
            "top": [(code, _percent(share)) for code, share in latest["top_instruments"]],
        }
    label = {level.value: str(level.label) for level in LEVELS}
    nearest = [
        {
            **row,
            "ratio_shown": formatting.ratio_percent(Decimal(row["ratio"])),
            "call_line_shown": formatting.ratio_percent(Decimal(row["call_line"])),
            "level_shown": label.get(row["level"], row["level"]),
        }
        for row in cache.get(NEAREST_KEY) or []
    ]
    return {
        "shown": shown,
        "alerts": list(open_alerts()),
        "responses": list(live_responses()),
        "latest": latest,
        "latest_at": latest_at,
        "coverage": (latest or {}).get("partitions"),
        "charts": charts_,
        "nearest": nearest,
    }
