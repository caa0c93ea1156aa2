"""Instruments, margin accounts and contracts, positions, and the risk actions taken on them.

Money is Decimal in CNY with 2 places; ratios have 4. The formulas live in ``margin.rules`` and
the live valuation in ``margin.engine``; these tables hold the state the engine starts from and
the record of what it did.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from margin import rules
from margin.rules import DEFAULT_LINES, Board, Level, Lines
from portal import money

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise


def _money(verbose_name: str | _StrPromise, **kwargs) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=16, decimal_places=2, **kwargs)


def _price(verbose_name: str | _StrPromise, **kwargs) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **kwargs)


def _ratio(verbose_name: str | _StrPromise, **kwargs) -> models.DecimalField:
    # 20 digits: a tiny liability against a large account gives a ratio in the trillions.
    return models.DecimalField(verbose_name, max_digits=20, decimal_places=4, **kwargs)


def _line(verbose_name: str | _StrPromise, default: Decimal) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=6, decimal_places=4, default=default)


class Sector(models.TextChoices):
    """Sectors, stored as short keys the sector stress scenarios group by."""

    APPLIANCES = "appliances", _("Household appliances")
    AUTOS = "autos", _("Automobiles")
    BANKS = "banks", _("Banks")
    BROKERS = "brokers", _("Brokerages")
    CONSUMER = "consumer", _("Consumer services")
    ENERGY = "energy", _("Oil and gas")
    FOOD = "food", _("Food and beverages")
    HEALTHCARE = "healthcare", _("Healthcare")
    INDUSTRIALS = "industrials", _("Industrials")
    INSURANCE = "insurance", _("Insurance")
    LIQUOR = "liquor", _("Liquor")
    MATERIALS = "materials", _("Materials")
    NEW_ENERGY = "new_energy", _("New energy")
    PROPERTY = "property", _("Property")
    TECHNOLOGY = "technology", _("Technology")
    TELECOM = "telecom", _("Telecommunications")
    UTILITIES = "utilities", _("Utilities")


class Instrument(models.Model):
    """An A-share stock the portal prices: its code, names, flags and the latest prices."""

    code = models.CharField(
        _("code"), max_length=9, unique=True, validators=[rules.validate_instrument_code]
    )
    name_zh = models.CharField(_("Chinese name"), max_length=50)
    name_en = models.CharField(_("English name"), max_length=100)

    class RiskWarning(models.TextChoices):
        NONE = "", _("None")
        ST = "st", _("ST (risk warning)")
        STAR_ST = "star_st", _("*ST (delisting risk warning)")
        DELISTING = "delisting", _("Delisting arrangement period")

    class Suspension(models.TextChoices):
        NONE = "", _("Trading")
        ABNORMAL = "abnormal", _("Suspended: abnormal fluctuation check")
        OTHER = "other", _("Suspended")

    is_st = models.BooleanField(
        _("risk warning (ST)"), default=False, help_text=_("ST or *ST: a narrower daily limit.")
    )
    risk_warning = models.CharField(
        _("risk warning"), max_length=10, choices=RiskWarning.choices, default="", blank=True
    )
    suspension = models.CharField(
        _("suspension"), max_length=10, choices=Suspension.choices, default="", blank=True
    )
    is_high_risk = models.BooleanField(
        _("high risk (other reason)"),
        default=False,
        help_text=_("High risk for a reason the other fields do not name; shown with a warning."),
    )
    collateral_eligible = models.BooleanField(_("eligible as collateral"), default=True)
    status_note = models.CharField(_("status note"), max_length=200, blank=True)
    status_changed_at = models.DateTimeField(
        _("status changed at"), null=True, blank=True, db_index=True
    )
    sector = models.CharField(
        _("sector"),
        max_length=30,
        blank=True,
        choices=Sector.choices,
        help_text=_("Used by the sector stress scenarios."),
    )
    float_shares = models.PositiveBigIntegerField(
        _("float shares"),
        default=0,
        help_text=_("Shares in free float (流通股本); turnover rate = volume / float shares."),
    )
    previous_close = _price(_("previous close"))
    last_price = _price(_("last price"), null=True, blank=True)
    last_price_at = models.DateTimeField(_("last price time"), null=True, blank=True)
    last_volume = models.PositiveBigIntegerField(
        _("last tick's volume"),
        default=0,
        db_default=0,  # rows written outside the ORM (bulk loads) too
        help_text=_("Shares the feed reported traded in the tick of the last price (0: none)."),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("instrument")
        verbose_name_plural = _("instruments")
        permissions = [
            ("change_instrument_status", _("Can change an instrument's risk status")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(previous_close__gt=0), name="margin_instrument_close_positive"
            ),
            models.CheckConstraint(
                condition=Q(last_price__isnull=True) | Q(last_price__gt=0),
                name="margin_instrument_last_price_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"

    @property
    def board(self) -> Board:
        # Derived, not stored: the code decides the board, so the two can never disagree.
        return rules.board_for_code(self.code)

    @property
    def price(self) -> Decimal:
        """The price positions are valued at: the last trade, else the previous close."""
        return self.last_price if self.last_price is not None else self.previous_close

    def price_limits(self) -> tuple[Decimal, Decimal]:
        """Today's (limit-down, limit-up) band."""
        return rules.price_limits(
            previous_close=self.previous_close, board=self.board, is_st=self.is_st
        )

    def name_for(self, language: str) -> str:
        return self.name_zh if language.lower().startswith("zh") else self.name_en

    @property
    def suspended(self) -> bool:
        """Suspended from trading: nothing can be sold, so a liquidation plan skips it."""
        return bool(self.suspension)

    @property
    def high_risk(self) -> bool:
        """ST, *ST, in its delisting arrangement period, suspended for an abnormal-fluctuation
        check, or flagged by risk control: flagged to clients wherever it appears, and counted
        toward the ratio at the fee schedule's high-risk collateral rate."""
        return bool(
            self.risk_warning or self.suspension == self.Suspension.ABNORMAL or self.is_high_risk
        )

    def status_labels(self) -> list[str]:
        """What a client is told about this instrument, e.g. ["*ST (delisting risk warning)"]."""
        labels = []
        if self.risk_warning:
            labels.append(str(self.get_risk_warning_display()))
        if self.suspension:
            labels.append(str(self.get_suspension_display()))
        if self.is_high_risk and not labels:
            labels.append(str(_("High risk")))
        if not self.collateral_eligible:
            labels.append(str(_("Not eligible as collateral")))
        return labels


class MarginAccount(models.Model):
    """A client's credit account (融资账户): balances, and the level the risk engine last recorded.

    ``current_level`` and ``event_sequence`` change only together with a new ``MarginEvent`` (see
    ``services.margin_event_record``), so the engine can always restart from them.
    """

    client = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="margin_accounts",
        verbose_name=_("client"),
    )
    number = models.CharField(_("account number"), max_length=20, unique=True)
    cash = _money(_("cash"), default=Decimal("0.00"))
    debt = _money(_("financing debt"), default=Decimal("0.00"))
    accrued_interest = _money(_("accrued interest"), default=Decimal("0.00"))
    fees_owed = _money(_("fees owed"), default=Decimal("0.00"))
    current_level = models.CharField(
        _("level"), max_length=12, choices=Level.choices, default=Level.SAFE
    )
    last_ratio = _ratio(
        _("last maintenance ratio"), null=True, blank=True, help_text=_("Empty: no debt.")
    )
    event_sequence = models.PositiveIntegerField(
        _("last event number"), default=0, help_text=_("Sequence number of the latest event.")
    )
    level_changed_at = models.DateTimeField(_("level changed at"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    # Set by every service that changes balances or positions; the risk engine polls it to reload
    # those accounts, so it need not share a process with whoever made the change.
    state_changed_at = models.DateTimeField(
        _("balances changed at"), null=True, blank=True, db_index=True
    )

    class Meta:
        ordering = ["number"]
        verbose_name = _("margin account")
        verbose_name_plural = _("margin accounts")
        constraints = [
            models.CheckConstraint(
                condition=Q(cash__gte=0)
                & Q(debt__gte=0)
                & Q(accrued_interest__gte=0)
                & Q(fees_owed__gte=0),
                name="margin_account_balances_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def liabilities(self) -> Decimal:
        return rules.total_liabilities(
            debt=self.debt, accrued_interest=self.accrued_interest, fees_owed=self.fees_owed
        )

    @property
    def lines(self) -> Lines:
        """The active contract's lines; DESIGN.md's defaults while no contract is active."""
        contract = self.contracts.filter(status=MarginContract.Status.ACTIVE).first()
        return contract.lines if contract else DEFAULT_LINES


class MarginContract(models.Model):
    """The terms one financing period runs on: lines, rate, leverage, start and rollover.

    ``annual_rate`` is the single source of the financing rate: interest is computed only through
    ``daily_interest`` and accrual reads it from here, never from the fee schedule in force. It
    and the lines are fixed when the contract is opened or rolled over, from the fee schedule
    (``fee_schedule_version``) and contract terms (``terms_version``) then in force; a later
    change reaches the contract only at rollover, or earlier when the client accepts it
    (``margin.contracts``).
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        ENDED = "ended", _("Ended")

    MAX_TERM = relativedelta(months=6)

    account = models.ForeignKey(
        MarginAccount,
        on_delete=models.PROTECT,
        related_name="contracts",
        verbose_name=_("account"),
    )
    number = models.CharField(_("contract number"), max_length=30, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    withdrawal_line = _line(_("withdrawal line"), DEFAULT_LINES.withdrawal)
    warning_line = _line(_("warning line"), DEFAULT_LINES.warning)
    call_line = _line(_("margin call line"), DEFAULT_LINES.call)
    liquidation_line = _line(_("forced liquidation line"), DEFAULT_LINES.liquidation)
    annual_rate = models.DecimalField(
        _("annual financing rate"),
        max_digits=7,
        decimal_places=6,
        help_text=_("As a fraction: 0.083500 is 8.35% a year, accrued daily at rate / 360."),
    )
    leverage_tier = models.PositiveSmallIntegerField(_("leverage tier"), default=1)
    initial_margin_ratio = models.DecimalField(
        _("initial margin ratio"),
        max_digits=6,
        decimal_places=4,
        default=Decimal("1.0000"),
        help_text=_("At least 100% since 2026-01-19: financing never exceeds the client's margin."),
    )
    concentration_limit = _line(_("concentration limit"), rules.CONCENTRATION_LIMIT)
    credit_limit = _money(_("credit limit"))
    starts_on = models.DateField(_("starts on"))
    rollover_on = models.DateField(_("rollover date"))
    fee_schedule_version = models.ForeignKey(
        "disclosures.DocumentVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("fee schedule version"),
        help_text=_("The fee schedule the rate was taken from: accrual names its items."),
    )
    terms_version = models.ForeignKey(
        "disclosures.DocumentVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("contract terms version"),
        help_text=_("The margin contract terms the lines were taken from."),
    )

    class Meta:
        ordering = ["account", "-starts_on"]
        verbose_name = _("margin contract")
        verbose_name_plural = _("margin contracts")
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status="active"),
                name="margin_contract_one_active_per_account",
            ),
            models.CheckConstraint(
                condition=Q(liquidation_line__gt=0)
                & Q(call_line__gt=F("liquidation_line"))
                & Q(warning_line__gt=F("call_line"))
                & Q(withdrawal_line__gt=F("warning_line")),
                name="margin_contract_lines_in_order",
            ),
            models.CheckConstraint(
                condition=Q(rollover_on__gt=F("starts_on")),
                name="margin_contract_rollover_after_start",
            ),
            models.CheckConstraint(
                condition=Q(initial_margin_ratio__gte=1),
                name="margin_contract_initial_margin_at_least_100",
            ),
            models.CheckConstraint(
                condition=Q(annual_rate__gte=0) & Q(annual_rate__lt=1),
                name="margin_contract_rate_is_a_fraction",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def lines(self) -> Lines:
        return Lines(
            withdrawal=self.withdrawal_line,
            warning=self.warning_line,
            call=self.call_line,
            liquidation=self.liquidation_line,
            concentration=self.concentration_limit,
        )

    @property
    def latest_rollover_on(self) -> datetime.date:
        """Six calendar months after the start (31 August → 28 February)."""
        return self.starts_on + self.MAX_TERM

    def clean(self) -> None:
        if self.starts_on and self.rollover_on and self.rollover_on > self.latest_rollover_on:
            raise ValidationError(
                {
                    "rollover_on": _(
                        "A contract runs at most six months: roll over on or before %(date)s."
                    )
                    % {"date": self.latest_rollover_on.isoformat()}
                }
            )

    def daily_interest(self, debt: Decimal) -> Decimal:
        """One day's interest on ``debt`` at this contract's rate (``portal.money``'s rule)."""
        return money.daily_interest(debt, self.annual_rate)


class ContractRate(models.Model):
    """The rate a contract charges from ``effective_from`` on, and the fee schedule behind it.

    A contract's first row is its opening (or rollover); a later row is the client's own act: a
    newer version they accepted, or a tier they chose. Accrual for a day reads the row in effect
    at that day's end, so a change accepted on a Sunday never reaches back to Saturday.
    """

    class Reason(models.TextChoices):
        OPENED = "opened", _("Contract opened or rolled over")
        ACCEPTED = "accepted", _("Client accepted a newer version")
        TIER = "tier", _("Client changed the leverage tier")

    contract = models.ForeignKey(
        MarginContract, on_delete=models.PROTECT, related_name="rates", verbose_name=_("contract")
    )
    effective_from = models.DateTimeField(_("effective from"))
    annual_rate = models.DecimalField(_("annual financing rate"), max_digits=7, decimal_places=6)
    leverage_tier = models.PositiveSmallIntegerField(_("leverage tier"))
    fee_schedule_version = models.ForeignKey(
        "disclosures.DocumentVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("fee schedule version"),
    )
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["contract", "effective_from", "id"]
        verbose_name = _("contract rate")
        verbose_name_plural = _("contract rates")
        indexes = [models.Index(fields=["contract", "effective_from"])]

    def __str__(self) -> str:
        return f"{self.contract} {self.annual_rate} from {self.effective_from:%Y-%m-%d %H:%M}"


class Position(models.Model):
    """Shares of one instrument held in a margin account."""

    account = models.ForeignKey(
        MarginAccount,
        on_delete=models.PROTECT,
        related_name="positions",
        verbose_name=_("account"),
    )
    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="positions", verbose_name=_("instrument")
    )
    quantity = models.PositiveBigIntegerField(_("quantity"))
    cost = _money(_("cost"), help_text=_("Total cost of the shares held, not a per-share price."))

    class Meta:
        ordering = ["account", "instrument"]
        verbose_name = _("position")
        verbose_name_plural = _("positions")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "instrument"], name="margin_position_one_per_instrument"
            ),
            # A sold-out position is deleted, so the engine never carries empty rows.
            models.CheckConstraint(condition=Q(quantity__gt=0), name="margin_position_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.instrument.code} × {self.quantity}"

    def market_value(self, price: Decimal) -> Decimal:
        return rules.market_value([(self.quantity, price)])


class MarginEvent(models.Model):
    """One level transition of one account, recorded exactly once.

    ``sequence`` numbers an account's transitions 1, 2, 3…; the unique (account, sequence) pair is
    what makes a transition recordable once, however often the engine re-detects it after a
    restart or however many engines race for it.
    """

    # No index of its own: the unique (account, sequence) one serves every lookup by account, and
    # a fall inserts thousands of events (issue 19).
    account = models.ForeignKey(
        MarginAccount,
        on_delete=models.PROTECT,
        related_name="events",
        verbose_name=_("account"),
        db_index=False,
    )
    sequence = models.PositiveIntegerField(_("sequence number"))
    from_level = models.CharField(_("from"), max_length=12, choices=Level.choices)
    to_level = models.CharField(_("to"), max_length=12, choices=Level.choices)
    ratio = _ratio(_("maintenance ratio"), null=True, blank=True)
    assets = _money(_("total assets"))
    liabilities = _money(_("liabilities"))
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["account", "sequence"]
        verbose_name = _("margin event")
        verbose_name_plural = _("margin events")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "sequence"], name="margin_event_once_per_sequence"
            ),
            models.CheckConstraint(
                condition=~Q(from_level=F("to_level")), name="margin_event_changes_level"
            ),
            models.CheckConstraint(
                condition=Q(sequence__gte=1), name="margin_event_sequence_from_1"
            ),
        ]
        indexes = [models.Index(fields=["occurred_at"])]

    def __str__(self) -> str:
        from_level, to_level = self.get_from_level_display(), self.get_to_level_display()
        return f"{self.account} #{self.sequence} {from_level} → {to_level}"

    @property
    def is_downgrade(self) -> bool:
        return Level(self.to_level).severity > Level(self.from_level).severity


class Restriction(models.Model):
    """A limit on what a client may do, from the moment it is imposed until it is lifted."""

    class Kind(models.TextChoices):
        REDUCE_ONLY = "reduce_only", _("Reduce only")
        FROZEN = "frozen", _("Frozen")
        CONCENTRATION = "concentration", _("No more purchases of one security")

    # What a client may not do under each kind (selling is always allowed).
    BLOCKS_FINANCING_AND_WITHDRAWALS = (Kind.REDUCE_ONLY, Kind.FROZEN)

    account = models.ForeignKey(
        MarginAccount,
        on_delete=models.PROTECT,
        related_name="restrictions",
        verbose_name=_("account"),
    )
    kind = models.CharField(_("kind"), max_length=13, choices=Kind.choices)
    instrument = models.ForeignKey(
        Instrument,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("security"),
        help_text=_("The security a concentration restriction stops purchases of."),
    )

    class ReasonCode(models.TextChoices):
        MARGIN_CALL = "margin_call", _("Margin call")
        CONCENTRATION = "concentration", _("Over the concentration limit")

    # An officer's restriction keeps their words in `reason`; the engine's keeps a code and its
    # figures, put into words in the reader's language when shown (`reason_text`).
    reason = models.TextField(_("reason"), blank=True)
    reason_code = models.CharField(
        _("reason code"), max_length=20, choices=ReasonCode.choices, blank=True
    )
    reason_params = models.JSONField(_("reason figures"), default=dict, blank=True)
    event = models.ForeignKey(
        MarginEvent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="restrictions",
        verbose_name=_("caused by"),
    )
    imposed_at = models.DateTimeField(_("imposed at"), default=timezone.now)
    imposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("imposed by"),
        help_text=_("Empty: imposed by the risk engine."),
    )
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lifted by"),
    )
    lift_reason = models.TextField(_("why lifted"), blank=True)

    class Meta:
        ordering = ["account", "-imposed_at"]
        verbose_name = _("restriction")
        verbose_name_plural = _("restrictions")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind"],
                condition=Q(lifted_at__isnull=True, instrument__isnull=True),
                name="margin_restriction_one_active_per_kind",
            ),
            models.UniqueConstraint(
                fields=["account", "kind", "instrument"],
                condition=Q(lifted_at__isnull=True, instrument__isnull=False),
                name="margin_restriction_one_active_per_instrument",
            ),
            models.CheckConstraint(
                condition=Q(kind="concentration", instrument__isnull=False)
                | (~Q(kind="concentration") & Q(instrument__isnull=True)),
                name="margin_restriction_instrument_iff_concentration",
            ),
            models.CheckConstraint(
                condition=Q(lifted_at__isnull=True) | Q(lifted_at__gte=F("imposed_at")),
                name="margin_restriction_lifted_after_imposed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.get_kind_display()}"

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None

    def reason_text(self) -> str:
        """Why, in the active language: the engine's code with its figures, else the words the
        officer typed."""
        params = self.reason_params or {}
        if self.reason_code == self.ReasonCode.MARGIN_CALL:
            return gettext("Ratio %(ratio)s: margin call") % {"ratio": params.get("ratio", "—")}
        if self.reason_code == self.ReasonCode.CONCENTRATION:
            return gettext(
                "%(code)s is %(share)s of total assets, over the %(limit)s concentration limit "
                "(contract Article 4)"
            ) % {
                "code": params.get("code", ""),
                "share": params.get("share", "—"),
                "limit": params.get("limit", "—"),
            }
        return self.reason


class AccountFreeze(models.Model):
    """A risk officer's emergency freeze of one account, and a second officer's decision on it.

    Approved, it imposes a FROZEN restriction (no new financing, no purchases, no withdrawals;
    selling stays allowed) with ``reason`` as the client is told it.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Awaiting a second officer")
        APPROVED = "approved", _("Approved: account frozen")
        REJECTED = "rejected", _("Rejected")

    account = models.ForeignKey(
        MarginAccount, on_delete=models.PROTECT, related_name="freezes", verbose_name=_("account")
    )
    reason = models.TextField(_("reason (shown to the client)"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PROPOSED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    restriction = models.OneToOneField(
        Restriction,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="freeze",
        verbose_name=_("restriction"),
    )

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("account freeze")
        verbose_name_plural = _("account freezes")
        permissions = [("decide_accountfreeze", _("Can request and approve account freezes"))]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status="proposed"),
                name="margin_freeze_one_open_request",
            ),
            models.CheckConstraint(
                condition=Q(status="proposed") | Q(decided_at__isnull=False),
                name="margin_freeze_decision_has_a_time",
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                name="margin_freeze_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.get_status_display()}"


class LiquidationPlan(models.Model):
    """Which positions to sell to bring an account back to its warning line, for a risk officer.

    Proposed by the system, then approved or rejected (with the reason) by a risk officer, then
    executed once a second risk officer confirms the execution (``margin.workflows``).
    """

    class Trigger(models.TextChoices):
        DEADLINE_MISSED = "deadline_missed", _("Margin call deadline missed")
        LIQUIDATION_LINE = "liquidation_line", _("Forced liquidation line crossed")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", _("Approved, awaiting execution")
        REJECTED = "rejected", _("Rejected")
        EXECUTED = "executed", _("Executed")

    account = models.ForeignKey(
        MarginAccount,
        on_delete=models.PROTECT,
        related_name="liquidation_plans",
        verbose_name=_("account"),
    )
    event = models.ForeignKey(
        MarginEvent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="liquidation_plans",
        verbose_name=_("caused by"),
    )
    trigger = models.CharField(_("trigger"), max_length=20, choices=Trigger.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PROPOSED
    )
    ratio_at_proposal = _ratio(_("ratio when proposed"), null=True, blank=True)
    target_ratio = _line(_("target ratio"), DEFAULT_LINES.warning)
    expected_proceeds = _money(_("expected proceeds"))
    expected_costs = _money(_("expected selling costs"), default=Decimal("0.00"))
    expected_ratio_after = _ratio(_("ratio after the sales"), null=True, blank=True)
    least_possible = _money(
        _("least market value that could restore the target"),
        null=True,
        blank=True,
        help_text=_("A lower bound: no plan can sell less. Equal to the plan's value when exact."),
    )
    exact = models.BooleanField(
        _("proved least"), default=True, help_text=_("The search proved no smaller sale exists.")
    )
    reasoning = models.JSONField(
        _("reasoning"),
        default=dict,
        blank=True,
        help_text=_("Which positions were considered, why each was sold or left, and the costs."),
    )
    proposed_at = models.DateTimeField(_("proposed at"), default=timezone.now)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("proposed by"),
        help_text=_("Empty: proposed by the risk engine."),
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    execution_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("execution confirmed by"),
        help_text=_("A second risk officer, never the one who approved the plan."),
    )
    execution_confirmed_at = models.DateTimeField(
        _("execution confirmed at"), null=True, blank=True
    )
    executed_at = models.DateTimeField(_("executed at"), null=True, blank=True)
    realised_proceeds = _money(_("realised proceeds"), null=True, blank=True)
    realised_costs = _money(_("realised selling costs"), null=True, blank=True)

    class Meta:
        ordering = ["-proposed_at"]
        permissions = [("decide_liquidationplan", _("Can approve or reject liquidation plans"))]
        verbose_name = _("liquidation plan")
        verbose_name_plural = _("liquidation plans")
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status__in=["proposed", "approved"]),
                name="margin_plan_one_open_per_account",
            ),
            models.CheckConstraint(
                condition=Q(status="proposed") | Q(decided_at__isnull=False),
                name="margin_plan_decision_has_a_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(decision_note=""),
                name="margin_plan_rejection_has_a_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status="executed") | Q(executed_at__isnull=False),
                name="margin_plan_execution_has_a_time",
            ),
            # Four-eyes between approval and execution (NULLs pass: the engine's own rows).
            models.CheckConstraint(
                condition=~Q(execution_confirmed_by=F("decided_by")),
                name="margin_plan_executor_is_not_the_approver",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.get_status_display()} {self.proposed_at:%Y-%m-%d %H:%M}"


class LiquidationPlanItem(models.Model):
    """One sale in a plan: how many shares, at what reference price, for what expected proceeds."""

    plan = models.ForeignKey(
        LiquidationPlan, on_delete=models.CASCADE, related_name="items", verbose_name=_("plan")
    )
    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="+", verbose_name=_("instrument")
    )
    quantity = models.PositiveBigIntegerField(_("quantity"))
    reference_price = _price(_("reference price"))
    expected_proceeds = _money(_("expected proceeds"))
    commission = _money(_("trade service fee"), default=Decimal("0.00"))
    stamp_duty = _money(_("stamp duty"), default=Decimal("0.00"))
    transfer_fee = _money(_("transfer fee"), default=Decimal("0.00"))
    net_proceeds = _money(_("net proceeds"), default=Decimal("0.00"))

    class Meta:
        ordering = ["plan", "instrument"]
        verbose_name = _("liquidation plan item")
        verbose_name_plural = _("liquidation plan items")
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "instrument"], name="margin_plan_item_one_per_instrument"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="margin_plan_item_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument.code} × {self.quantity}"


class MarginCall(models.Model):
    """A demand to restore the ratio to the warning line by a deadline (追加保证金通知)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        MET = "met", _("Met")
        MISSED = "missed", _("Deadline missed")

    account = models.ForeignKey(
        MarginAccount, on_delete=models.PROTECT, related_name="calls", verbose_name=_("account")
    )
    event = models.ForeignKey(
        MarginEvent,
        on_delete=models.PROTECT,
        related_name="calls",
        verbose_name=_("caused by"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default="open")
    issued_at = models.DateTimeField(_("issued at"))
    deadline = models.DateTimeField(
        _("deadline"), help_text=_("The close of the second trading day after the call.")
    )
    deposit_needed = _money(_("deposit needed when issued"))
    sell_needed = _money(_("sales needed when issued"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        verbose_name = _("margin call")
        verbose_name_plural = _("margin calls")
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=Q(status="open"), name="margin_call_one_open"
            ),
            models.CheckConstraint(
                condition=Q(deadline__gt=F("issued_at")), name="margin_call_deadline_after_issue"
            ),
        ]
        indexes = [
            models.Index(
                fields=["deadline"], condition=Q(status="open"), name="margin_call_open_due"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.get_status_display()} {self.deadline:%Y-%m-%d %H:%M}"


class VolatilityRegime(models.Model):
    """A market volatility regime: proposed by the engine from EWMA volatility, set by a person.

    The confirmed row with the latest ``decided_at`` is in force. It lowers the leverage cap for
    new financing at once (``margin.selectors.leverage_cap``).
    """

    class Regime(models.TextChoices):
        NORMAL = "normal", _("Normal")
        ELEVATED = "elevated", _("Elevated")
        STRESSED = "stressed", _("Stressed")
        # 应急冻结线: no new financing, no purchases anywhere; selling and withdrawals (within the
        # usual lines) allowed.
        EMERGENCY = "emergency", _("Emergency freeze")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        CONFIRMED = "confirmed", _("Confirmed")
        REJECTED = "rejected", _("Rejected")

    regime = models.CharField(_("regime"), max_length=10, choices=Regime.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default="proposed"
    )
    market_volatility = models.DecimalField(
        _("market volatility (annualised)"), max_digits=8, decimal_places=4
    )
    proposed_at = models.DateTimeField(_("proposed at"), default=timezone.now)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("proposed by"),
        help_text=_("Empty: proposed by the risk engine."),
    )
    reason = models.TextField(
        _("reason"), blank=True, help_text=_("Why a risk officer proposed it; shown to clients.")
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    class Meta:
        ordering = ["-proposed_at"]
        verbose_name = _("volatility regime")
        verbose_name_plural = _("volatility regimes")
        permissions = [("decide_volatilityregime", _("Can confirm or reject a volatility regime"))]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="proposed"), name="margin_regime_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_regime_display()} ({self.get_status_display()})"


class MarketMeasure(models.Model):
    """A platform-wide measure on new business, decided from market monitoring: no margin buys
    of one instrument, new financing and buys accepted only within shortened hours, or the
    circuit breaker (no new financing or buys at all). Selling and withdrawals are never touched.

    In force from ``starts_at`` until ``ends_at`` (if set) or until it is ended by an officer;
    ``review_at`` is when a risk officer must look at it again. The reason is what clients read.
    """

    class Kind(models.TextChoices):
        PAUSE_BUYS = "pause_buys", _("Margin buys of an instrument paused")
        HOURS = "hours", _("Shortened hours for new financing and buys")
        CIRCUIT_BREAKER = "circuit_breaker", _("Circuit breaker: no new financing or buys")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    instrument = models.ForeignKey(
        Instrument,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("instrument"),
    )
    accepts_from = models.TimeField(_("accepted from (Beijing time)"), null=True, blank=True)
    accepts_until = models.TimeField(_("accepted until (Beijing time)"), null=True, blank=True)
    reason_zh = models.TextField(_("reason for clients (Chinese)"))
    reason_en = models.TextField(_("reason for clients (English)"))
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    review_at = models.DateTimeField(_("review by"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=60, blank=True)
    imposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("imposed by"),
    )
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_note = models.TextField(_("why ended"), blank=True)

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = _("market measure")
        verbose_name_plural = _("market measures")
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="pause_buys") | Q(instrument__isnull=False),
                name="margin_measure_pause_names_instrument",
            ),
            models.CheckConstraint(
                condition=~Q(kind="hours")
                | Q(accepts_from__isnull=False, accepts_until__isnull=False),
                name="margin_measure_hours_has_window",
            ),
        ]
        indexes = [models.Index(fields=["ended_at", "starts_at"])]

    def __str__(self) -> str:
        what = self.get_kind_display()
        return f"{what} {self.instrument.code}" if self.instrument else str(what)

    def in_force(self, at: datetime.datetime) -> bool:
        ended = self.ended_at is not None and self.ended_at <= at
        expired = self.ends_at is not None and self.ends_at <= at
        return self.starts_at <= at and not ended and not expired

    def reason_for(self, language: str) -> str:
        return self.reason_zh if language.lower().startswith("zh") else self.reason_en


class RiskReport(models.Model):
    """The weekly risk report, rendered once (in Celery) and kept as evidence."""

    week_starts_on = models.DateField(_("week starting"), unique=True)
    pdf = models.FileField(_("PDF"), upload_to="margin/reports/")
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-week_starts_on"]
        verbose_name = _("weekly risk report")
        verbose_name_plural = _("weekly risk reports")

    def __str__(self) -> str:
        return f"{self.week_starts_on:%Y-%m-%d}"
