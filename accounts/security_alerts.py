"""Account-security alerts: a client hears, on every channel, that how their account is protected
changed (password, e-mail, MFA, a new bank account), even when it was not them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils import timezone

from notices import services as notices

if TYPE_CHECKING:
    from accounts.models import User
    from notices.models import Notification


def security_alert(
    *, user: User, event: str, key: str, ip: str | None = None
) -> list[Notification]:
    """Tell a client, on every channel, that something changed in how their account is protected
    (`event` as in templates/emails/_security_event.txt); `key` makes the event's notice unique."""
    context: dict[str, Any] = {
        "event": event,
        "when": timezone.localtime().strftime("%Y-%m-%d %H:%M (UTC+8)"),
    }
    if ip:
        context["ip"] = ip
    return notices.enqueue(
        recipient=user,
        key="security_alert",
        context=context,
        idempotency_key=f"security:{event}:{user.pk}:{key}",
    )
