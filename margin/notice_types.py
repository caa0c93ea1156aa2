"""Margin notices: all in the margin-call category, which a client cannot turn off."""

from django.utils.translation import gettext_lazy as _

from notices.registry import Category, Channel, NoticeType, register

_ALL = (Channel.EMAIL, Channel.SMS, Channel.INAPP)

MARGIN_WARNING = register(
    NoticeType(
        key="margin_warning",
        category=Category.MARGIN_CALL,
        channels=(Channel.INAPP, Channel.EMAIL),
        description=_("Your maintenance ratio fell to the warning line"),
        required_context=("account_number", "ratio", "warning_line", "call_line"),
    )
)
MARGIN_CALL = register(
    NoticeType(
        key="margin_call",
        category=Category.MARGIN_CALL,
        channels=_ALL,
        description=_("Margin call: restore your ratio by the deadline"),
        required_context=("account_number", "ratio", "deadline", "deposit", "warning_line"),
    )
)
MARGIN_LIQUIDATION = register(
    NoticeType(
        key="margin_liquidation",
        category=Category.MARGIN_CALL,
        channels=_ALL,
        description=_("Forced liquidation is being prepared"),
        required_context=("account_number", "ratio", "deposit"),
    )
)
MARGIN_LIQUIDATION_EXECUTED = register(
    NoticeType(
        key="margin_liquidation_executed",
        category=Category.MARGIN_CALL,
        channels=_ALL,
        description=_("Positions were sold in a forced liquidation"),
        required_context=("account_number", "proceeds", "fills", "debt"),
    )
)
MARGIN_RECOVERED = register(
    NoticeType(
        key="margin_recovered",
        category=Category.MARGIN_CALL,
        channels=(Channel.INAPP, Channel.EMAIL),
        description=_("Your ratio recovered and restrictions were lifted"),
        required_context=("account_number", "ratio"),
    )
)

# Client actions on their own financing: service notices, confirming what the client did.
MARGIN_FINANCING_OPENED = register(
    NoticeType(
        key="margin_financing_opened",
        category=Category.SERVICE,
        channels=(Channel.INAPP, Channel.EMAIL),
        description=_("Your margin financing contract was opened"),
        required_context=(
            "account_number",
            "contract_number",
            "leverage_tier",
            "annual_rate",
            "credit_limit",
            "warning_line",
            "call_line",
            "liquidation_line",
            "rollover_on",
        ),
    )
)
MARGIN_TIER_CHANGED = register(
    NoticeType(
        key="margin_tier_changed",
        category=Category.SERVICE,
        channels=(Channel.INAPP, Channel.EMAIL),
        description=_("The leverage tier of your margin contract changed"),
        required_context=(
            "contract_number",
            "old_tier",
            "new_tier",
            "annual_rate",
            "credit_limit",
        ),
    )
)
MARGIN_TERMS_ADOPTED = register(
    NoticeType(
        key="margin_terms_adopted",
        category=Category.SERVICE,
        channels=(Channel.INAPP, Channel.EMAIL),
        description=_("Your contract moved to a version you accepted"),
        required_context=(
            "contract_number",
            "version",
            "effective_from",
            "annual_rate",
            "warning_line",
            "call_line",
            "liquidation_line",
        ),
    )
)

# Risk actions on the account: in the margin-call category, which a client cannot turn off.
MARGIN_CONCENTRATION = register(
    NoticeType(
        key="margin_concentration",
        category=Category.MARGIN_CALL,
        channels=(Channel.INAPP, Channel.EMAIL),
        description=_("One security is over the concentration limit: no more purchases of it"),
        required_context=("account_number", "code", "name", "share", "limit"),
    )
)
MARGIN_FROZEN = register(
    NoticeType(
        key="margin_frozen",
        category=Category.MARGIN_CALL,
        channels=_ALL,
        description=_("Your account was frozen by risk control, and how to have it lifted"),
        required_context=("account_number", "reason", "frozen_at"),
    )
)
MARGIN_UNFROZEN = register(
    NoticeType(
        key="margin_unfrozen",
        category=Category.MARGIN_CALL,
        channels=(Channel.INAPP, Channel.EMAIL),
        description=_("The freeze on your account was lifted"),
        required_context=("account_number", "reason"),
    )
)
MARGIN_INSTRUMENT_STATUS = register(
    NoticeType(
        key="margin_instrument_status",
        category=Category.MARGIN_CALL,
        channels=(Channel.INAPP, Channel.EMAIL),
        description=_("A security you hold changed status or how it counts as collateral"),
        required_context=("account_number", "code", "name", "status", "collateral"),
    )
)
