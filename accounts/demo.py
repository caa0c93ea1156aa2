"""Demo people for the embedded portal: clients and one staff member per role.

Idempotent: running it again resets the demo passwords and leaves everything else as it is.
"""

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import Group
from django.db import transaction

from accounts.models import User

DEMO_PASSWORD = "Wangrun-demo-2026"  # noqa: S105 (published demo login)
# Fixed demo TOTP secrets (base32) so a demo login can be reproduced; never used outside demo data.
STAFF_TOTP_SECRET = "JBSWY3DPEHPK3PXPWANGRUNDEMOSTAFF"  # noqa: S105


@dataclass(frozen=True)
class DemoPerson:
    email: str
    full_name: str
    role: str | None = None
    language: str = "zh-hans"
    phone: str = ""


CLIENTS = [
    DemoPerson("alice@demo.wangrun.test", "林岚", phone="13800000001"),
    DemoPerson("bob@demo.wangrun.test", "王博", language="en", phone="13800000002"),
]
STAFF = [
    DemoPerson("carol@demo.wangrun.test", "陈可 (客服)", role="agent"),
    DemoPerson("dave@demo.wangrun.test", "邓伟 (审核员)", role="kyc_reviewer"),
    DemoPerson("erin@demo.wangrun.test", "易琳 (风控)", role="risk_officer"),
    DemoPerson("frank@demo.wangrun.test", "方正 (合规)", role="compliance"),
]


@transaction.atomic
def seed() -> list[str]:
    lines = []
    for person in CLIENTS + STAFF:
        user, _ = User.objects.get_or_create(email=person.email)
        user.full_name = person.full_name
        user.language = person.language
        user.phone = person.phone
        user.is_staff = person.role is not None
        user.set_password(DEMO_PASSWORD)
        user.save()
        EmailAddress.objects.update_or_create(
            user=user, email=person.email, defaults={"verified": True, "primary": True}
        )
        if person.role:
            user.groups.set([Group.objects.get(name=person.role)])
            if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
                TOTP.activate(user, STAFF_TOTP_SECRET)
        kind = person.role or "client"
        lines.append(f"  {kind:<13} {person.email:<28} {DEMO_PASSWORD}")
    return lines
