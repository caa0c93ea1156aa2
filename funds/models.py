"""The client-money ledger (double entry) and the records around it.

Sign convention: a ledger line's ``amount`` is positive for a debit and negative for a credit, so
an entry balances when its lines sum to zero. That is checked by ``services.entry_post`` and, on
PostgreSQL, by a deferred constraint trigger (migration 0002) that refuses to commit an
unbalanced entry; the same migration makes entries and lines append-only. A mistake is undone
by a reversing entry, never by an edit.

Accounts keep client money (each client's cash, withdrawals on their way out, unmatched money in
suspense), the client's debts to the company (financing, interest, fees) and company money
(interest and fee income, the risk reserve, the company's own bank) apart, and the segregated
custodian bank account holds the client money.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal import money
from portal.append_only import AppendOnly, AppendOnlyError


def _money(verbose_name, **kwargs) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=16, decimal_places=2, **kwargs)


# Ledger rows are never edited or deleted; post a reversing entry instead.
Immutable = AppendOnlyError


class LedgerAccount(models.Model):
    class Kind(models.TextChoices):
        # Where the money belongs, which is what segregation is about.
        CUSTODIAN = "custodian", _("Custodian bank (segregated client money)")
        CLIENT_CASH = "client_cash", _("Client cash")
        CLIENT_DEBT = "client_debt", _("Client financing debt")
        CLIENT_INTEREST = "client_interest", _("Client accrued interest")
        CLIENT_FEES = "client_fees", _("Client fees owed")
        WITHDRAWALS_PAYABLE = "withdrawals_payable", _("Withdrawals awaiting payment")
        SUSPENSE = "suspense", _("Suspense (unmatched receipts)")
        INTEREST_INCOME = "interest_income", _("Interest income (company)")
        FEE_INCOME = "fee_income", _("Fee income (company)")
        RISK_RESERVE = "risk_reserve", _("Risk reserve (company)")
        COMPANY_BANK = "company_bank", _("Company bank (own funds)")
        FINANCING_SOURCE = "financing_source", _("Financing provided (company)")
        MARKET_SETTLEMENT = "market_settlement", _("Market settlement")

    PER_CLIENT = (Kind.CLIENT_CASH, Kind.CLIENT_DEBT, Kind.CLIENT_INTEREST, Kind.CLIENT_FEES)
    # Money the company owes to clients; the custodian must hold at least this much.
    CLIENT_MONEY_OWED = (Kind.CLIENT_CASH, Kind.WITHDRAWALS_PAYABLE, Kind.SUSPENSE)

    code = models.CharField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    margin_account = models.ForeignKey(
        "margin.MarginAccount",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_accounts",
        verbose_name=_("margin account"),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "margin_account"], name="funds_ledger_one_per_kind_and_client"
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(margin_account__isnull=True),
                name="funds_ledger_one_house_account_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.get_kind_display()})"

    @property
    def credit_normal(self) -> bool:
        """Liabilities, income and reserves grow with credits; shown as positive balances."""
        return self.kind in (
            self.Kind.CLIENT_CASH,
            self.Kind.WITHDRAWALS_PAYABLE,
            self.Kind.SUSPENSE,
            self.Kind.INTEREST_INCOME,
            self.Kind.FEE_INCOME,
            self.Kind.RISK_RESERVE,
            self.Kind.FINANCING_SOURCE,
        )


class JournalEntry(AppendOnly):
    """One business event (a deposit, a day's interest…), as balanced debit and credit lines."""

    # Not a column: set by funds.ledger.entry_post on an entry it creates (its lines' ids).
    posted_line_ids: list[int]

    class Kind(models.TextChoices):
        OPENING = "opening", _("Opening balance")
        DEPOSIT = "deposit", pgettext_lazy("money paid in", "Deposit")
        WITHDRAWAL = "withdrawal", _("Withdrawal")
        WITHDRAWAL_PAID = "withdrawal_paid", _("Withdrawal paid out")
        INTEREST = "interest", pgettext_lazy("charge", "Interest")
        PENALTY = "penalty", _("Penalty interest")
        FEE = "fee", _("Fee")
        FINANCING = "financing", _("Financing drawn")
        REPAYMENT = "repayment", _("Repayment")
        TRADE = "trade", _("Trade settlement")
        SUSPENSE = "suspense", _("Unmatched receipt")
        RESERVE = "reserve", _("Risk reserve transfer")
        REVERSAL = "reversal", _("Reversal")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    description = models.CharField(_("description"), max_length=200)
    posted_at = models.DateTimeField(_("posted at"), default=timezone.now, db_index=True)
    value_date = models.DateField(_("value date"))
    # A business key (e.g. "interest:MA1:2026-11-25") makes posting the same event twice a no-op.
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=120, unique=True, null=True, blank=True
    )
    reverses = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
        verbose_name=_("reverses"),
    )
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("posted by"),
    )

    class Meta:
        ordering = ["-posted_at", "-pk"]
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.value_date}"


class LedgerLine(AppendOnly):
    entry = models.ForeignKey(
        JournalEntry, on_delete=models.PROTECT, related_name="lines", verbose_name=_("entry")
    )
    account = models.ForeignKey(
        LedgerAccount, on_delete=models.PROTECT, related_name="lines", verbose_name=_("account")
    )
    amount = _money(_("amount"), help_text=_("Positive: debit. Negative: credit."))

    class Meta:
        ordering = ["entry", "pk"]
        verbose_name = _("ledger line")
        verbose_name_plural = _("ledger lines")
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="funds_line_not_zero")]
        indexes = [models.Index(fields=["account", "entry"])]

    def __str__(self) -> str:
        return f"{self.account.code} {money.yuan(self.amount)}"


class Charge(models.Model):
    """One day's interest (or penalty interest) on one account, and the disclosure behind it."""

    class Kind(models.TextChoices):
        INTEREST = "interest", _("Financing interest")
        PENALTY = "penalty", _("Penalty interest")

    margin_account = models.ForeignKey(
        "margin.MarginAccount",
        on_delete=models.PROTECT,
        related_name="charges",
        verbose_name=_("margin account"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    day = models.DateField(_("day"))
    basis_amount = _money(_("amount charged on"))
    annual_rate = models.DecimalField(
        _("rate"), max_digits=7, decimal_places=6, help_text=_("On the fee item's basis.")
    )
    amount = _money(_("amount"))
    fee_item = models.ForeignKey(
        "disclosures.FeeItem",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("fee item"),
    )
    disclosure_version = models.ForeignKey(
        "disclosures.DocumentVersion",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("disclosure version"),
    )
    reference = models.CharField(_("justified by"), max_length=120)
    entry = models.OneToOneField(
        JournalEntry, on_delete=models.PROTECT, related_name="charge", verbose_name=_("entry")
    )

    class Meta:
        ordering = ["-day", "margin_account"]
        verbose_name = _("interest charge")
        verbose_name_plural = _("interest charges")
        constraints = [
            models.UniqueConstraint(
                fields=["margin_account", "kind", "day"], name="funds_charge_once_per_day"
            ),
        ]

    def __str__(self) -> str:
        kind, amount = self.get_kind_display(), money.yuan(self.amount)
        return f"{self.margin_account} {self.day} {kind} ¥{amount}"


class DepositReference(models.Model):
    """The reference a client quotes on a transfer, so the statement import can match it."""

    margin_account = models.OneToOneField(
        "margin.MarginAccount",
        on_delete=models.PROTECT,
        related_name="deposit_reference",
        verbose_name=_("margin account"),
    )
    reference = models.CharField(_("reference"), max_length=16, unique=True)

    class Meta:
        verbose_name = _("deposit reference")
        verbose_name_plural = _("deposit references")

    def __str__(self) -> str:
        return self.reference


class BankAccount(models.Model):
    """A client's own bank account that withdrawals may be paid to."""

    client = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="bank_accounts",
        verbose_name=_("client"),
    )
    bank_name = models.CharField(_("bank"), max_length=60)
    account_number = models.CharField(_("account number"), max_length=30)
    holder_name = models.CharField(_("account holder"), max_length=60)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    created_at = models.DateTimeField(_("added at"), default=timezone.now)

    class Meta:
        ordering = ["client", "-created_at"]
        verbose_name = _("bank account")
        verbose_name_plural = _("bank accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["client", "account_number"], name="funds_bank_account_once_per_client"
            )
        ]

    def __str__(self) -> str:
        return f"{self.bank_name} {self.masked_number}"

    @property
    def masked_number(self) -> str:
        return f"****{self.account_number[-4:]}"


class WithdrawalRequest(models.Model):
    class Status(models.TextChoices):
        REFUSED = "refused", _("Refused")
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting a second approval")
        PAID = "paid", _("Paid")
        REJECTED = "rejected", _("Rejected by staff")

    margin_account = models.ForeignKey(
        "margin.MarginAccount",
        on_delete=models.PROTECT,
        related_name="withdrawals",
        verbose_name=_("margin account"),
    )
    bank_account = models.ForeignKey(
        BankAccount,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="withdrawals",
        verbose_name=_("bank account"),
    )
    amount = _money(_("amount"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    largest_allowed = _money(_("largest amount allowed"))
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    # The one-time token of the form the client submitted: a replayed or double-clicked submit
    # finds this request instead of making (and paying) another.
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=64, unique=True, null=True, blank=True
    )
    hold_entry = models.OneToOneField(
        JournalEntry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("hold entry"),
    )
    payout_entry = models.OneToOneField(
        JournalEntry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("payout entry"),
    )
    # The withdrawal fee of the fee schedule in force when asked, charged when paid.
    fee = _money(_("withdrawal fee"), default=Decimal("0.00"))
    fee_item = models.ForeignKey(
        "disclosures.FeeItem",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("fee item"),
    )
    fee_version = models.ForeignKey(
        "disclosures.DocumentVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("disclosure version"),
    )
    fee_entry = models.OneToOneField(
        JournalEntry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("fee entry"),
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

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("withdrawal")
        verbose_name_plural = _("withdrawals")
        permissions = [("approve_withdrawalrequest", _("Can approve or reject large withdrawals"))]

    def __str__(self) -> str:
        return f"{self.margin_account} ¥{money.yuan(self.amount)} {self.get_status_display()}"


class CustodianStatement(models.Model):
    """One imported custodian bank statement file (see ``funds.custodian`` for the format)."""

    statement_date = models.DateField(_("statement date"), unique=True)
    opening_balance = _money(_("opening balance"))
    closing_balance = _money(_("closing balance"))
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64, unique=True)
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now)

    class Meta:
        ordering = ["-statement_date"]
        verbose_name = _("custodian statement")
        verbose_name_plural = _("custodian statements")

    def __str__(self) -> str:
        return f"{self.statement_date}"


class CustodianTransaction(models.Model):
    class Direction(models.TextChoices):
        CREDIT = "CREDIT", _("Received")
        DEBIT = "DEBIT", _("Paid out")

    class Match(models.TextChoices):
        DEPOSIT = "deposit", _("Credited to a client")
        SUSPENSE = "suspense", _("In suspense")
        RESOLVED = "resolved", _("Suspense resolved")
        WITHDRAWAL = "withdrawal", _("Withdrawal paid")
        UNMATCHED_DEBIT = "unmatched_debit", _("Payment not in the ledger")

    statement = models.ForeignKey(
        CustodianStatement,
        on_delete=models.PROTECT,
        related_name="transactions",
        verbose_name=_("custodian statement"),
    )
    bank_reference = models.CharField(_("bank reference"), max_length=40, unique=True)
    value_date = models.DateField(_("value date"))
    direction = models.CharField(_("direction"), max_length=6, choices=Direction.choices)
    amount = _money(_("amount"))
    counterparty_name = models.CharField(_("counterparty"), max_length=60, blank=True)
    counterparty_account = models.CharField(_("counterparty account"), max_length=30, blank=True)
    memo = models.CharField(_("memo"), max_length=140, blank=True)
    match = models.CharField(_("matched as"), max_length=16, choices=Match.choices)
    margin_account = models.ForeignKey(
        "margin.MarginAccount",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("credited to"),
        help_text=_("For money in suspense: choose the client, then use the action to credit it."),
    )
    entry = models.ForeignKey(
        JournalEntry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ledger entry"),
    )
    resolved_entry = models.ForeignKey(
        JournalEntry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("credit entry"),
    )
    # Crediting suspense to a client (funds.suspense): who asked, when, whether the payer's name
    # matched the client's verified name, and who approved it when it did not.
    credit_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("credit requested by"),
    )
    credit_requested_at = models.DateTimeField(_("credit requested at"), null=True, blank=True)
    payer_name_matched = models.BooleanField(_("payer name matched"), null=True, blank=True)
    credit_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("credit approved by"),
    )

    class Meta:
        ordering = ["-value_date", "pk"]
        verbose_name = _("custodian transaction")
        verbose_name_plural = _("custodian transactions")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="funds_txn_positive")]
        indexes = [
            models.Index(
                fields=["credit_requested_by", "credit_requested_at"],
                name="funds_txn_credit_by_agent",
            )
        ]
        permissions = [
            (
                "approve_suspense_credit",
                _("Can approve crediting money in suspense to a client (second person)"),
            )
        ]

    def __str__(self) -> str:
        direction, amount = self.get_direction_display(), money.yuan(self.amount)
        return f"{self.bank_reference} {direction} ¥{amount}"


class ReconciliationBreak(models.Model):
    """A difference between the ledger and the custodian, open until a later run clears it."""

    class Kind(models.TextChoices):
        CUSTODIAN_BALANCE = "custodian_balance", _("Custodian balance ≠ ledger")
        CLIENT_MONEY = "client_money", _("Client money held ≠ client money owed")
        MARGIN_BALANCE = "margin_balance", _("Margin account ≠ ledger")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    subject = models.CharField(_("subject"), max_length=40, blank=True)
    expected = _money(_("ledger"))
    actual = _money(_("other side"))
    first_seen_on = models.DateField(_("first seen"))
    last_seen_on = models.DateField(_("last seen"))
    resolved_on = models.DateField(_("cleared on"), null=True, blank=True)

    class Meta:
        ordering = ["resolved_on", "first_seen_on"]
        verbose_name = _("reconciliation break")
        verbose_name_plural = _("reconciliation breaks")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject"],
                condition=Q(resolved_on__isnull=True),
                name="funds_break_one_open_per_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.subject}".strip()

    @property
    def difference(self) -> Decimal:
        return self.actual - self.expected

    def age_days(self, today=None) -> int:
        today = today or timezone.localdate()
        return ((self.resolved_on or today) - self.first_seen_on).days


class Statement(models.Model):
    """A client statement PDF for a period: the monthly one, or one asked for."""

    margin_account = models.ForeignKey(
        "margin.MarginAccount",
        on_delete=models.PROTECT,
        related_name="statements",
        verbose_name=_("margin account"),
    )
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    monthly = models.BooleanField(_("monthly"), default=False)
    pdf = models.FileField(_("PDF"), upload_to="funds/statements/", blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-period_end", "-pk"]
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        constraints = [
            models.UniqueConstraint(
                fields=["margin_account", "period_start"],
                condition=Q(monthly=True),
                name="funds_statement_one_monthly",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="funds_statement_period_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.margin_account} {self.period_start} – {self.period_end}"
