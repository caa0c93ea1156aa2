"""Notices about changes of terms and fees.

Category SERVICE: the notices registry has no mandatory category for disclosures, so a client who
turned service emails off still sees the change on the in-app channel and in the portal banner,
which no preference can hide.
"""

from django.utils.translation import gettext_lazy as _

from notices.registry import Category, Channel, NoticeType, register

_CONTEXT = ("title_zh", "title_en", "summary_zh", "summary_en", "version", "effective", "diff_url")

DISCLOSURE_CHANGE = register(
    NoticeType(
        key="disclosure_change",
        category=Category.SERVICE,
        channels=(Channel.EMAIL, Channel.SMS, Channel.INAPP),
        description=_("A change to our terms or fees, announced before it applies"),
        required_context=_CONTEXT,
    )
)
DISCLOSURE_REMINDER = register(
    NoticeType(
        key="disclosure_reminder",
        category=Category.SERVICE,
        channels=(Channel.EMAIL, Channel.SMS, Channel.INAPP),
        description=_("A reminder that a change to our terms or fees applies soon"),
        required_context=_CONTEXT,
    )
)
