"""Celery tasks: they take ids, call one service, and own the retry policy."""

from celery import shared_task

from support import services


@shared_task(ignore_result=True)
def sla_sweep() -> None:
    services.sla_sweep()


@shared_task(
    acks_late=True, ignore_result=True, autoretry_for=(Exception,), retry_backoff=30, max_retries=5
)
def render_ticket_export(export_id: int) -> None:
    services.ticket_export_render(export_id=export_id)
