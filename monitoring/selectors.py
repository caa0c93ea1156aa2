"""Reads the risk board and the evaluations share."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models import Case, IntegerField, QuerySet, Value, When

from monitoring import charts
from monitoring.models import Alert, BookSnapshot, Response

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
        charts_["levels"] = charts.bars(list(latest["levels"].items()))
        charts_["sectors"] = charts.bars(
            sorted(latest.get("sectors", {}).items(), key=lambda kv: -kv[1])[:8]
        )
    return {
        "alerts": list(open_alerts()),
        "responses": list(live_responses()),
        "latest": latest,
        "latest_at": latest_at,
        "coverage": (latest or {}).get("partitions"),
        "charts": charts_,
        "nearest": cache.get(NEAREST_KEY) or [],
    }
