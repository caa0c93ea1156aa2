"""Security and welcome notices for what happens to an account (allauth's signals).

Each event gets its own notice (a fresh idempotency key), on every channel the security alert uses:
a client must hear about a password or MFA change even if it was not them. Welcome is sent once.
"""

import uuid

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from allauth.mfa.models import Authenticator
from django.dispatch import receiver

from accounts.security_alerts import security_alert
from notices import services


def _alert(user, event: str, request=None) -> None:
    ip = request.META.get("REMOTE_ADDR") if request is not None else None
    security_alert(user=user, event=event, key=uuid.uuid4().hex, ip=ip)


@receiver(account_signals.email_confirmed, dispatch_uid="accounts.welcome")
def welcome_on_first_confirmation(sender, request, email_address, **kwargs):
    user = email_address.user
    services.enqueue(
        recipient=user, key="welcome", context={}, idempotency_key=f"welcome:{user.pk}"
    )


@receiver(account_signals.password_changed, dispatch_uid="accounts.password_changed")
@receiver(account_signals.password_reset, dispatch_uid="accounts.password_reset")
@receiver(account_signals.password_set, dispatch_uid="accounts.password_set")
def alert_password_changed(sender, request, user, **kwargs):
    _alert(user, "password_changed", request)


@receiver(account_signals.email_changed, dispatch_uid="accounts.email_changed")
def alert_email_changed(sender, request, user, **kwargs):
    _alert(user, "email_changed", request)


@receiver(mfa_signals.authenticator_added, dispatch_uid="accounts.mfa_added")
def alert_mfa_added(sender, request, user, authenticator, **kwargs):
    if authenticator.type == Authenticator.Type.TOTP:
        _alert(user, "mfa_enabled", request)


@receiver(mfa_signals.authenticator_removed, dispatch_uid="accounts.mfa_removed")
def alert_mfa_removed(sender, request, user, authenticator, **kwargs):
    if authenticator.type == Authenticator.Type.TOTP:
        _alert(user, "mfa_disabled", request)
