"""Celery tasks: thin, they take ids and call one service. Retry policy lives here."""

from celery import shared_task
from django.utils import timezone

from notices import services
from notices.models import Notification


@shared_task(bind=True, acks_late=True, ignore_result=True)
def deliver_notification(self, notification_id: int) -> None:
    notification = services.notification_deliver(notification_id=notification_id)
    if notification is None or notification.status != Notification.Status.PENDING:
        return
    # Running inline (embedded mode, tests) a retry would block the caller: leave it to the sweep.
    if self.request.is_eager:
        return
    countdown = max((notification.next_attempt_at - timezone.now()).total_seconds(), 0)
    # The attempt count on the row is the limit; Celery's own retry counter is not used.
    raise self.retry(countdown=countdown, max_retries=None)


@shared_task(acks_late=True, ignore_result=True)
def deliver_notifications(notification_ids: list[int]) -> None:
    """A batch from a bulk enqueue. No retry here: a row that failed is pending again with its
    next attempt set, and the sweep's drainers pick it up when it is due."""
    services.notifications_deliver(notification_ids=notification_ids)


@shared_task(acks_late=True, ignore_result=True)
def queue_deliveries(notification_ids: list[int]) -> None:
    """A bulk enqueue's many batches, queued by a worker rather than by the enqueuing caller."""
    services.notifications_queue_batches(notification_ids=notification_ids)


# Acknowledged on receipt, unlike deliveries: a drainer lost with its worker is replaced by the
# sweep once its slot expires, and a late redelivery would only find its token stale.
@shared_task(acks_late=False, ignore_result=True)
def drain_outbox(slot: int, token: str) -> None:
    services.outbox_drain(slot=slot, token=token)


@shared_task(ignore_result=True)
def redeliver_stuck() -> None:
    services.redeliver_stuck()
