"""Notices the onboarding sends."""

from django.utils.translation import gettext_lazy as _

from notices.registry import Category, Channel, NoticeType, register

KYC_DECISION = register(
    NoticeType(
        key="kyc_decision",
        category=Category.SERVICE,
        channels=(Channel.EMAIL, Channel.SMS, Channel.INAPP),
        description=_("The decision on your account application"),
        required_context=("decision",),
    )
)
STAFF_INVITATION = register(
    NoticeType(
        key="staff_invitation",
        category=Category.SECURITY,
        channels=(Channel.EMAIL,),
        description=_("You were invited to the Wangrun back office (staff)"),
        required_context=("role", "expires_at", "set_password_url", "admin_url"),
        # The link sets the first password of a staff account: staff reading the outbox must
        # never be able to use it (notices.sealing).
        secret_context=("set_password_url",),
    )
)
