"""Reads shared by views, the context processor and the push path."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Min, QuerySet

from notices.models import NoticePreference, Notification
from notices.registry import MANDATORY_CATEGORIES, Category, Channel, channels_in_use


def outbox_size() -> int:
    """How many notifications the outbox holds, whatever their state."""
    return Notification.objects.count()


def inapp_notices(*, user) -> QuerySet[Notification]:
    """The user's delivered in-app notices, newest first."""
    return Notification.objects.filter(
        recipient=user, channel=Channel.INAPP, status=Notification.Status.SENT
    ).order_by("-sent_at", "-id")


def recent_to(*, user_id: int, limit: int = 10) -> list[Notification]:
    """What was last sent to one person, for staff working that person's ticket: key, channel,
    status and times only (a secret never reaches the stored text anyway: notices.sealing)."""
    return list(
        Notification.objects.filter(recipient_id=user_id)
        .only("key", "channel", "status", "created_at", "sent_at", "last_error")
        .order_by("-created_at", "-id")[:limit]
    )


def unread_count(*, user_id: int) -> int:
    return Notification.objects.filter(
        recipient_id=user_id,
        channel=Channel.INAPP,
        read_at__isnull=True,
        status=Notification.Status.SENT,
    ).count()


def unread_counts(*, user_ids: Iterable[int]) -> dict[int, int]:
    """``unread_count`` for many users in one query; users with none are left out."""
    rows = (
        Notification.objects.filter(
            recipient_id__in=list(user_ids),
            channel=Channel.INAPP,
            read_at__isnull=True,
            status=Notification.Status.SENT,
        )
        .values("recipient_id")
        .annotate(unread=Count("pk"))
        .values_list("recipient_id", "unread")
    )
    return dict(rows)


@dataclass(frozen=True)
class PreferenceCell:
    channel: str
    label: str
    used: bool
    enabled: bool


@dataclass(frozen=True)
class PreferenceRow:
    category: str
    label: str
    mandatory: bool
    cells: list[PreferenceCell]


def preference_rows(*, user) -> list[PreferenceRow]:
    """One row per category, one cell per channel; a missing preference row means on."""
    off = set(
        NoticePreference.objects.filter(user=user, enabled=False).values_list("category", "channel")
    )
    rows = []
    for category in Category:
        mandatory = category in MANDATORY_CATEGORIES
        used = set(channels_in_use(category))
        cells = [
            PreferenceCell(
                channel=channel.value,
                label=str(channel.label),
                used=channel in used,
                enabled=mandatory or (category.value, channel.value) not in off,
            )
            for channel in Channel
        ]
        rows.append(
            PreferenceRow(
                category=category.value, label=str(category.label), mandatory=mandatory, cells=cells
            )
        )
    return rows


@dataclass(frozen=True)
class OutboxHealth:
    due: int  # pending rows whose time has come
    oldest_due_seconds: float | None  # how long the longest-waiting of them has waited
    sending: int
    expired_leases: int  # claims nobody renews: a worker died, the next sweep takes them back

    @property
    def stalled(self) -> bool:
        """Rows wait far longer than a sweep period: workers, beat or the broker need a look."""
        age = self.oldest_due_seconds
        return age is not None and age > settings.NOTICES_STALLED_AFTER_SECONDS


def outbox_health(*, now: datetime) -> OutboxHealth:
    """For operators (/readyz details, the sweep's log): is the outbox keeping up? Four small
    queries on the status index."""
    Status = Notification.Status
    due = Notification.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
    found = due.aggregate(oldest=Min("next_attempt_at"))
    sending = Notification.objects.filter(status=Status.SENDING)
    return OutboxHealth(
        due=due.count(),
        oldest_due_seconds=(
            round((now - found["oldest"]).total_seconds(), 1) if found["oldest"] else None
        ),
        sending=sending.count(),
        expired_leases=sending.filter(lease_until__lt=now).count(),
    )
