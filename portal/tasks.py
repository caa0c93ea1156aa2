"""The portal's own beat task: the sweep that keeps background work from silently dying."""

from celery import shared_task

from notices import services as notices
from portal import background


@shared_task(ignore_result=True)
def redeliver_stuck() -> None:
    """Beat, every minute: notices nobody is delivering, then each app's stuck work (a receipt,
    statement, PDF or export that should exist by now, an approved liquidation not carried out)."""
    notices.redeliver_stuck()
    background.requeue_stuck_work()
