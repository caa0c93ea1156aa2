"""Client-money notices: to clients about their money, to staff about breaks and the reserve."""

from django.utils.translation import gettext_lazy as _

from notices.registry import Category, Channel, NoticeType, register

_CLIENT = (Channel.INAPP, Channel.EMAIL)

for key, description, context in [
    ("funds_deposit_received", _("Your deposit was credited"), ("account_number", "amount")),
    (
        "funds_withdrawal_refused",
        _("Your withdrawal was refused"),
        ("account_number", "amount", "largest", "reason"),
    ),
    (
        "funds_withdrawal_pending",
        _("Your withdrawal awaits approval"),
        ("account_number", "amount"),
    ),
    ("funds_withdrawal_paid", _("Your withdrawal was paid"), ("account_number", "amount")),
    (
        "funds_withdrawal_rejected",
        _("Your withdrawal was rejected"),
        ("account_number", "amount", "reason"),
    ),
    ("funds_statement_ready", _("Your statement is ready"), ("account_number", "period")),
]:
    register(
        NoticeType(
            key=key,
            category=Category.SERVICE,
            channels=_CLIENT,
            description=description,
            required_context=context,
        )
    )

for key, description, context in [
    (
        "funds_reconciliation_break",
        _("Reconciliation break: ledger and custodian differ"),
        ("kind", "subject", "ledger", "other", "difference"),
    ),
    (
        "funds_reserve_low",
        _("The risk reserve is below its policy share"),
        ("reserve", "required", "financing"),
    ),
]:
    register(
        NoticeType(
            key=key,
            category=Category.SECURITY,  # staff alerts nobody may switch off
            channels=_CLIENT,
            description=description,
            required_context=context,
        )
    )
