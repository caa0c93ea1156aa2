"""What each staff role may do with the outbox (see accounts.roles)."""

ROLE_PERMISSIONS = {
    # 客服 sees what the client on a ticket was sent on the ticket page (support.selectors), not
    # the outbox: its list is every client's email address and phone number.
    # 合规 reads everything sent (proof that a client was told), re-sends what failed and sends
    # announcements.
    "compliance": [
        "notices.view_notification",
        "notices.resend_notification",
        "notices.send_announcement",
    ],
}
