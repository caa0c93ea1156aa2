"""The confirmation receipt, emailed with the PDF attached and kept in the in-app inbox."""

from django.utils.translation import gettext_lazy as _

from notices.registry import Category, Channel, NoticeType, register

GATE_CONFIRMATION = register(
    NoticeType(
        key="gate_confirmation",
        category=Category.SERVICE,
        channels=(Channel.EMAIL, Channel.INAPP),
        description=_("Your risk warning confirmation and its receipt"),
        required_context=("confirmed_at", "evidence_hash"),
    )
)
GATE_EXPIRED = register(
    NoticeType(
        key="gate_expired",
        category=Category.SERVICE,
        channels=(Channel.EMAIL, Channel.INAPP),
        description=_("Your risk warning confirmation expired, and what to redo"),
        required_context=("reason", "education_url"),
    )
)
