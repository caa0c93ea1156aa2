"""Monitoring notices: to risk officers about alerts, to clients about measures in force."""

from django.utils.translation import gettext_lazy as _

from notices.registry import Category, Channel, NoticeType, register

_BOTH = (Channel.INAPP, Channel.EMAIL)

MONITORING_ALERT = register(
    NoticeType(
        key="monitoring_alert",
        category=Category.SECURITY,  # staff alerts nobody may switch off
        channels=_BOTH,
        description=_("A market-monitoring alert needs a risk officer"),
        required_context=("level", "rule", "subject", "message", "escalations"),
    )
)
MONITORING_MEASURE = register(
    NoticeType(
        key="monitoring_measure",
        category=Category.MARGIN_CALL,  # a risk action on what the client may do: not optional
        channels=_BOTH,
        description=_("Risk control changed what may be done on the platform for now"),
        required_context=("measure", "reason", "starts", "until", "ended"),
    )
)
