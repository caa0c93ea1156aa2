"""Notice types owned by the notices app itself; other apps register theirs in their own module."""

from django.utils.translation import gettext_lazy as _

from notices.registry import Category, Channel, NoticeType, register

ACCOUNT_EMAIL = register(
    NoticeType(
        key="account_email",
        category=Category.SECURITY,
        channels=(Channel.EMAIL,),
        description=_("Sign-up, sign-in and password emails from the account system"),
        prerendered=True,
    )
)
WELCOME = register(
    NoticeType(
        key="welcome",
        category=Category.GENERAL,
        channels=(Channel.EMAIL, Channel.INAPP),
        description=_("Welcome to the portal"),
    )
)
ANNOUNCEMENT = register(
    NoticeType(
        key="announcement",
        category=Category.GENERAL,
        channels=(Channel.INAPP, Channel.EMAIL),
        description=_("An announcement from Wangrun staff"),
        required_context=("title", "body"),
    )
)
SECURITY_ALERT = register(
    NoticeType(
        key="security_alert",
        category=Category.SECURITY,
        channels=(Channel.EMAIL, Channel.SMS, Channel.INAPP),
        description=_("Something changed in how your account is protected"),
        required_context=("event",),
    )
)
