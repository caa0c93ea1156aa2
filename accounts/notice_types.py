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
