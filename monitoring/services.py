"""Monitoring's entry points for other code: the daily book signals, and re-exports."""

from __future__ import annotations

import datetime

from django.db import transaction

from monitoring import alerts, book, thresholds
from monitoring.alerts import alert_acknowledge, alert_close, alerts_escalate, signals_apply
from monitoring.models import Alert, BookSnapshot
from monitoring.responses import response_confirm, response_end, response_propose, response_reject
from monitoring.thresholds import threshold_change_decide, threshold_change_propose

__all__ = [
    "alert_acknowledge",
    "alert_close",
    "alerts_escalate",
    "daily_signals_run",
    "response_confirm",
    "response_end",
    "response_propose",
    "response_reject",
    "signals_apply",
    "threshold_change_decide",
    "threshold_change_propose",
]


@transaction.atomic
def daily_signals_run(*, day: datetime.date) -> list[Alert]:
    """After the close: net client fund flows and margin calls, as alerts and a snapshot."""
    values, result = book.daily_signals(day=day, thresholds=thresholds.load())
    BookSnapshot.objects.create(at=datetime.datetime.now(datetime.UTC), values={"daily": values})
    return alerts.signals_apply(result)
