"""What each staff role may do with the outbox (see accounts.roles)."""

ROLE_PERMISSIONS = {
    # 客服 sees what a client was sent and re-sends what failed.
    "agent": ["notices.view_notification", "notices.resend_notification"],
    # 合规 reads everything sent and sends announcements.
    "compliance": ["notices.view_notification", "notices.send_announcement"],
}
