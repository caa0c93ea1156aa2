"""The vocabulary of disclosures: document kinds, version states, fee item bases and kinds.

Plain choices, importable by any app without touching disclosures' tables.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DocumentKind(models.TextChoices):
    TERMS = "terms", _("Terms of service")
    MARGIN_CONTRACT = "margin_contract", _("Margin financing contract terms")
    RISK_DISCLOSURE = "risk_disclosure", _("Risk disclosure statement")
    PRIVACY = "privacy", _("Privacy policy")
    FEE_SCHEDULE = "fee_schedule", _("Fee schedule")


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    SCHEDULED = "scheduled", _("Scheduled")
    IN_FORCE = "in_force", _("In force")
    SUPERSEDED = "superseded", _("Superseded")


class Basis(models.TextChoices):
    ANNUAL_360 = "annual_360", _("annual rate, charged daily at rate ÷ 360")
    DAILY = "daily", _("rate per day")
    PER_TRADE = "per_trade", _("rate of the trade value, per trade")
    FIXED = "fixed", _("fixed amount per occurrence (CNY)")
    RATIO = "ratio", _("ratio")


class WorseWhen(models.TextChoices):
    HIGHER = "higher", _("a higher value is worse for the client")
    LOWER = "lower", _("a lower value is worse for the client")


class ItemKind(models.TextChoices):
    """What an item is. The kind fixes which way hurts the client, the bases it may be stated on
    and the reference scenarios it enters (disclosures/rules.py, disclosures/scenarios.py); it is
    never edited on an item that exists in the version a draft starts from."""

    FINANCING_RATE = "financing_rate", _("financing interest rate (one per leverage tier)")
    PENALTY_RATE = "penalty_rate", _("penalty interest rate on overdue amounts")
    TRADE_FEE = "trade_fee", _("fee on every buy and every sell")
    TRADE_FEE_MINIMUM = "trade_fee_minimum", _("minimum trade fee per order")
    TRADE_LEVY = "trade_levy", _("charge collected for a third party on every buy and sell")
    BUY_FEE = "buy_fee", _("fee on buys")
    SELL_FEE = "sell_fee", _("fee on sells")
    WITHDRAWAL_FEE = "withdrawal_fee", _("fee on withdrawals")
    OTHER_CHARGE = "other_charge", _("other charge, each time it applies")
    LINE = "line", _("risk line (a higher line binds sooner)")
    LIMIT = "limit", _("limit or cap (a lower limit binds sooner)")
