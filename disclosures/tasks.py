"""Celery tasks: thin, they take ids and call one service."""

from celery import shared_task

from disclosures import pdf, services


@shared_task(ignore_result=True)
def sweep_effective_dates() -> None:
    """Beat, every minute: switch versions whose time has come, then send due reminders."""
    services.versions_switch_due()
    services.reminders_send_due()


@shared_task(
    ignore_result=True,
    time_limit=300,
    soft_time_limit=280,
    autoretry_for=(Exception,),
    retry_backoff=30,
    max_retries=5,
)
def render_version_pdfs(version_id: int) -> None:
    pdf.render_version_pdfs(version_id=version_id)
