"""Support's notices: replies and surveys to clients; SLA warnings and escalations to staff."""

from django.utils.translation import gettext_lazy as _

from notices.registry import Category, Channel, NoticeType, register

TICKET_REPLY = register(
    NoticeType(
        key="support_ticket_reply",
        category=Category.SERVICE,
        channels=(Channel.EMAIL, Channel.INAPP),
        description=_("Support answered your ticket"),
        required_context=("ticket_id", "subject", "url"),
    )
)
SURVEY = register(
    NoticeType(
        key="support_survey",
        category=Category.SERVICE,
        channels=(Channel.EMAIL, Channel.INAPP),
        description=_("How did we do? A survey after your ticket was resolved"),
        required_context=("ticket_id", "subject", "survey_url", "url"),
        # The link answers the survey without signing in: staff reading the outbox must not be
        # able to rate their own work. The in-app notice links to the ticket page instead.
        secret_context=("survey_url",),
    )
)
TICKET_MERGED = register(
    NoticeType(
        key="support_ticket_merged",
        category=Category.SERVICE,
        channels=(Channel.EMAIL, Channel.INAPP),
        description=_("Your ticket was merged into another, where the conversation continues"),
        required_context=("ticket_id", "subject", "target_id", "target_subject", "url"),
    )
)
# Staff only: these name internal deadlines and never go to a client.
SLA_WARNING = register(
    NoticeType(
        key="support_sla_warning",
        category=Category.SERVICE,
        channels=(Channel.EMAIL, Channel.INAPP),
        description=_("A ticket's SLA clock is running out (staff)"),
        required_context=("ticket_id", "subject", "clock_name", "percent", "due_at", "admin_url"),
    )
)
SLA_BREACH = register(
    NoticeType(
        key="support_sla_breach",
        category=Category.SERVICE,
        channels=(Channel.EMAIL, Channel.INAPP),
        description=_("A ticket's SLA was breached and escalated (staff)"),
        required_context=("ticket_id", "subject", "clock_name", "due_at", "admin_url"),
    )
)
