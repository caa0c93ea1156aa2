"""What each staff role may do with support (see accounts.roles)."""

_AGENT_WORK = [
    "support.view_ticket",
    "support.change_ticket",
    "support.reply_ticket",
    "support.view_message",
    "support.view_slaclock",
    "support.view_slapolicy",
    "support.view_cannedreply",
    "support.view_survey",
]

ROLE_PERMISSIONS = {
    # 客服: answers tickets in the client-service queue.
    "agent": _AGENT_WORK,
    # 合规: handles complaints and disputes, keeps the canned replies, exports for regulators.
    "compliance": [
        *_AGENT_WORK,
        "support.view_compliance_ticket",
        "support.export_ticket",
        "support.view_ticketexport",
        "support.add_cannedreply",
        "support.change_cannedreply",
    ],
}
