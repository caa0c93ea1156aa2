"""Support workflows, by what they hold: tickets and their conversation, the SLA clocks, the
sweep, exports. Other apps import from here.
"""

from __future__ import annotations

from support.clocks import (
    CLOCK_NAMES,
    Kind,
    SlaPolicyMissing,
    sla_clock_start,
    sla_clock_stop,
    sla_clocks_pause,
    sla_clocks_resume,
    sla_clocks_start,
    sla_clocks_stop,
)
from support.exports import (
    ticket_export_available,
    ticket_export_render,
    ticket_export_request,
    ticket_export_requested,
    ticket_exports_requeue,
)
from support.sweep import (
    SWEEP_ACTOR,
    SweepResult,
    sla_sweep,
)
from support.tickets import (
    MAX_BODY,
    MAX_COMMENT,
    MAX_SUBJECT,
    OPEN_LIMIT_PER_HOUR,
    REOPEN_WINDOW,
    Status,
    can_reopen,
    survey_answer,
    ticket_agent_reply,
    ticket_assign,
    ticket_client_reply,
    ticket_close,
    ticket_merge,
    ticket_open,
    ticket_reopen,
    ticket_resolve,
)

__all__ = [
    "CLOCK_NAMES",
    "MAX_BODY",
    "MAX_COMMENT",
    "MAX_SUBJECT",
    "OPEN_LIMIT_PER_HOUR",
    "REOPEN_WINDOW",
    "SWEEP_ACTOR",
    "Kind",
    "SlaPolicyMissing",
    "Status",
    "SweepResult",
    "can_reopen",
    "sla_clock_start",
    "sla_clock_stop",
    "sla_clocks_pause",
    "sla_clocks_resume",
    "sla_clocks_start",
    "sla_clocks_stop",
    "sla_sweep",
    "survey_answer",
    "ticket_agent_reply",
    "ticket_assign",
    "ticket_client_reply",
    "ticket_close",
    "ticket_export_available",
    "ticket_export_render",
    "ticket_export_request",
    "ticket_export_requested",
    "ticket_exports_requeue",
    "ticket_merge",
    "ticket_open",
    "ticket_reopen",
    "ticket_resolve",
]
