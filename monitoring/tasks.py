"""Thin Celery tasks: each calls one service and owns its retry policy."""

from __future__ import annotations

import datetime

from celery import shared_task
from django.utils import timezone


@shared_task(acks_late=True)
def escalate_alerts() -> int:
    from monitoring import alerts

    return alerts.alerts_escalate()


@shared_task(acks_late=True)
def responses_sweep() -> int:
    from monitoring import responses

    return responses.responses_sweep()


@shared_task(acks_late=True)
def daily_signals() -> int:
    from monitoring import services

    return len(services.daily_signals_run(day=timezone.localdate()))


@shared_task(acks_late=True, autoretry_for=(OSError,), max_retries=3, retry_backoff=True)
def weekly_evaluation() -> int:
    from monitoring import evaluation

    today = timezone.localdate()
    start = today - datetime.timedelta(days=today.weekday() + 7)
    return evaluation.evaluation_render(period="week", starts_on=start).pk


@shared_task(acks_late=True, autoretry_for=(OSError,), max_retries=3, retry_backoff=True)
def monthly_evaluation() -> int:
    from monitoring import evaluation

    first = timezone.localdate().replace(day=1)
    start = (first - datetime.timedelta(days=1)).replace(day=1)
    return evaluation.evaluation_render(period="month", starts_on=start).pk
