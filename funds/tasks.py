"""Celery tasks of the funds app: each calls one service and is safe to run twice."""

from celery import shared_task
from django.utils import timezone

from portal import calendars


@shared_task(acks_late=True)
def daily_close() -> dict[str, int]:
    """At each trading day's close: accrue interest, reconcile, check the risk reserve."""
    from funds import services

    today = timezone.localdate()
    charges = []
    if calendars.trading_calendar().is_working_day(today):
        charges = services.interest_accrue(trading_day=today)
    result = services.reconciliation_run(day=today)
    services.risk_reserve_check(day=today)
    return {"charges": len(charges), "open_breaks": result.open_breaks}


@shared_task(acks_late=True, time_limit=3600)
def monthly_statements() -> int:
    from funds import statements

    return len(statements.monthly_statements_create())


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=30, max_retries=5)
def render_statement(statement_id: int) -> None:
    from funds import statements

    statements.statement_render(statement_id=statement_id)
