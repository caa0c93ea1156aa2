"""Celery tasks: thin, they take ids and call one service."""

from celery import shared_task

from education import services


@shared_task(
    ignore_result=True,
    time_limit=300,
    soft_time_limit=280,
    autoretry_for=(Exception,),
    retry_backoff=30,
    max_retries=5,
)
def render_receipt(confirmation_id: int) -> None:
    services.receipt_render(confirmation_id=confirmation_id)


@shared_task(ignore_result=True)
def expire_lapsed() -> None:
    """Beat, hourly: mark gates older than 12 months expired and tell their clients."""
    services.gates_expire_lapsed()
