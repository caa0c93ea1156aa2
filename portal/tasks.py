"""The portal's own beat task: the sweep that keeps background work from silently dying."""

from celery import shared_task

from portal import background


@shared_task(ignore_result=True)
def requeue_stuck_work() -> None:
    """Beat, every minute, beside the outbox's redelivery: each app's stuck work (a receipt,
    statement, PDF or export that should exist by now, an approved liquidation not carried out)."""
    background.requeue_stuck_work()
