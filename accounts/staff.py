"""Bringing a staff member on board: one role, no password known to anyone but them, MFA at once."""

from urllib.parse import urlsplit

from allauth.account.forms import ResetPasswordForm
from allauth.account.models import EmailAddress
from allauth.core.context import request_context
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import RequestFactory

import audit
from accounts.models import User
from accounts.roles import ROLES


class StaffError(ValueError):
    pass


@transaction.atomic
def staff_create(*, email: str, role: str, full_name: str = "", actor=None) -> User:
    """Create a staff member in exactly one role and email them a link to choose their password.

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
    _send_password_link(email)
    return user


def _send_password_link(email: str) -> None:
    base = urlsplit(settings.PORTAL_BASE_URL)
    request = RequestFactory().get(
        "/", HTTP_HOST=base.netloc, secure=base.scheme == "https", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    form = ResetPasswordForm(data={"email": email})
    if not form.is_valid():  # pragma: no cover - the address was just created
        raise StaffError(str(form.errors))
    request.session = {}  # the reset flow may note things in the session; nobody reads it here
    with request_context(request):  # allauth builds the link from the request in its context
        form.save(request)
