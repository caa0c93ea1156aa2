"""Celery tasks: they take ids, call one service, and own the retry policy."""

from celery import shared_task

from support import services


@shared_task(ignore_result=True)
def sla_sweep() -> None:
    services.sla_sweep()


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=3)
def render_ticket_export(self, export_id: int) -> None:
    try:
        services.ticket_export_render(export_id=export_id)
    except OSError as exc:  # storage trouble: try again shortly
        raise self.retry(exc=exc, countdown=30) from exc
