"""Bringing a staff member on board: one role, no password known to anyone but them, MFA at once.

The invitation is its own message (``staff_invitation``): it says who invited them as what, and
carries a link to set their password once. The link is an allauth password-reset token (it stops
working once a password is set, and after ``PASSWORD_RESET_TIMEOUT``); it is sealed in the outbox
like allauth's own secrets, so no staff member reading the outbox can use it. Following it, the
new staff member sets a password, is signed in, and goes straight to the authenticator-app set-up.
"""

import datetime
import uuid

from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress
from allauth.account.utils import url_str_to_user_pk, user_pk_to_url_str
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation

import audit
from accounts.models import User
from accounts.roles import ROLE_LABELS, ROLES
from notices import services as notices
from portal.formatting import beijing_minute


class StaffError(ValueError):
    pass


@transaction.atomic
def staff_create(*, email: str, role: str, full_name: str = "", actor=None) -> User:
    """Create a staff member in exactly one role and send them their invitation.

    The account has no usable password until they follow the link; at first sign-in they must set up
    an authenticator app before /admin/ opens (accounts.middleware). Never a superuser.
    """
    if role not in ROLES:
        raise StaffError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise StaffError(f"{email} already has an account.")
    user = User.objects.create_user(email, None, full_name=full_name, is_staff=True)
    user.groups.set([Group.objects.get(name=role)])
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    audit.record(actor=actor, action="staff.created", obj=user, data={"role": role})
    staff_invite(user=user, role=role)
    return user


def staff_invite(*, user: User, role: str) -> None:
    """Queue the invitation: the role, the link to set a password, and when the link expires."""
    token = default_token_generator.make_token(user)
    path = reverse("accounts:staff-invitation", args=[f"{user_pk_to_url_str(user)}-{token}"])
    base = settings.PORTAL_BASE_URL.rstrip("/")
    expires = timezone.now() + datetime.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)
    with translation.override(user.language):
        role_label = str(ROLE_LABELS[role])
    notices.enqueue(
        recipient=user,
        key="staff_invitation",
        context={
            "role": role_label,
            "expires_at": beijing_minute(expires),
            "set_password_url": base + path,
            "admin_url": base + reverse("admin:index"),
        },
        # Every invitation is a new message (a re-sent one too), with its own link.
        idempotency_key=f"staff-invitation:{user.pk}:{uuid.uuid4()}",
    )


@transaction.atomic
def staff_password_set(*, user: User, password: str) -> None:
    """The invited staff member's first password; the invitation link stops working with it."""
    user.set_password(password)
    user.save(update_fields=["password"])
    audit.record(actor=user, action="staff.password_set", obj=user, data={})


def staff_invitation_user(key: str) -> User | None:
    """The staff member an invitation key (``<uid>-<token>``) belongs to, while it is valid."""
    uid, _sep, token = key.partition("-")
    try:
        pk = url_str_to_user_pk(uid)
    except (ValueError, OverflowError):
        return None
    user = User.objects.filter(pk=pk, is_staff=True, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, token):
        return None
    return user
