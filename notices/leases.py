"""Claims on outbox rows are leases, so a worker that dies mid-send gives its rows back quickly.

A worker claims a due row (pending → sending) with one conditional UPDATE that also sets
``lease_until``. While it sends, a small thread renews the lease every third of its length; if the
worker dies (killed, out of memory, its host gone), nobody renews, and the next sweep after the
lease runs out hands the row back as pending. With a 15 s lease and a sweep every 10 s, a dead
worker's rows are delivered again within 25 s (the old fixed limit was five minutes).

The provider may have taken the message just before the worker died; the resend then carries
the same idempotency key (see ``notices.services._send``) and the provider drops the copy.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from notices.models import Notification

logger = logging.getLogger(__name__)
Status = Notification.Status


def lease_length() -> timedelta:
    return timedelta(seconds=settings.NOTICES_LEASE_SECONDS)


def _claim_fields(now: datetime) -> dict:
    return {
        "status": Status.SENDING,
        "claimed_at": now,
        "lease_until": now + lease_length(),
        "attempts": F("attempts") + 1,
    }


def claim(*, notification_id: int) -> bool:
    """Claim one row if it is pending and due; False when another worker has it or it is done."""
    now = timezone.now()
    return bool(
        Notification.objects.filter(
            pk=notification_id, status=Status.PENDING, next_attempt_at__lte=now
        ).update(**_claim_fields(now))
    )


def claim_next_due() -> int | None:
    """Claim the longest-waiting due row, skipping rows another worker is claiming right now."""
    claimed = claim_due(limit=1)
    return claimed[0] if claimed else None


def claim_due(*, limit: int) -> list[int]:
    """Claim up to `limit` of the longest-waiting due rows, skipping rows another worker is
    claiming right now."""
    now = timezone.now()
    with transaction.atomic():
        # SKIP LOCKED lets many drainers take distinct rows without queueing on one another;
        # SQLite (embedded mode, one process) has no row locks and ignores the clause.
        claimed = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(status=Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if claimed:
            Notification.objects.filter(pk__in=claimed).update(**_claim_fields(now))
    return claimed


def claim_many(*, notification_ids: Iterable[int]) -> list[int]:
    """Claim those of the rows that are pending and due, skipping rows another worker is claiming
    right now; the ids claimed (one lease time for all of them)."""
    now = timezone.now()
    with transaction.atomic():
        claimed = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk__in=list(notification_ids), status=Status.PENDING, next_attempt_at__lte=now)
            .values_list("pk", flat=True)
        )
        if claimed:
            Notification.objects.filter(pk__in=claimed).update(**_claim_fields(now))
    return claimed


def renew(*, notification_id: int, claimed_at: datetime | None) -> bool:
    """Extend our lease; False when the claim is no longer ours (the sweep took the row back)."""
    return bool(
        Notification.objects.filter(
            pk=notification_id, status=Status.SENDING, claimed_at=claimed_at
        ).update(lease_until=timezone.now() + lease_length())
    )


def expired(now: datetime) -> QuerySet[Notification]:
    """Rows claimed by a worker that stopped renewing its lease."""
    return Notification.objects.filter(status=Status.SENDING, lease_until__lt=now)


@contextmanager
def kept(notification: Notification) -> Iterator[None]:
    """Renew the lease on `notification` for as long as the block runs.

    The renewing thread touches the database only when a send outlasts a third of the lease, so
    the usual send (well under a second) costs a thread start and nothing else.
    """
    with kept_all([notification]):
        yield


@contextmanager
def kept_all(notifications: list[Notification]) -> Iterator[None]:
    """``kept`` for a batch claimed together: one thread renews the leases of the rows still ours.
    A row whose lease was lost is dropped from the renewals (the sweep gave it to another worker;
    recording its outcome is then guarded as in ``notices.services._record_failure``)."""
    stop = threading.Event()
    interval = settings.NOTICES_LEASE_SECONDS / 3
    held = {n.pk: n.claimed_at for n in notifications}
    pk = min(held, default=0)

    def renew_until_stopped() -> None:
        try:
            while held and not stop.wait(interval):
                for notification_id, claimed_at in list(held.items()):
                    try:
                        if not renew(notification_id=notification_id, claimed_at=claimed_at):
                            logger.warning("Notice %s: lease lost while sending", notification_id)
                            del held[notification_id]
                    except DatabaseError as exc:  # the database is down: the lease may run out
                        logger.warning("Notice %s: lease not renewed: %s", notification_id, exc)
        finally:
            connections.close_all()  # this thread's own connections only

    thread = threading.Thread(target=renew_until_stopped, name=f"notice-lease-{pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        # Not forever: a renewal stuck on an unreachable database must not hold the worker.
        thread.join(timeout=interval)
