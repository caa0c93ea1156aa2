"""Orders, their fills and what each fill cost; trading halts; the count of refusals by reason.

A position's quantity lives in ``margin.Position`` (the risk engine values it). What may be sold
today (T+1) is derived, not stored: the quantity held, less what was bought today, less what open
sell orders already hold back (``trading.selectors.sellable``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def _money(verbose_name, **kwargs) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=16, decimal_places=2, **kwargs)


def _price(verbose_name, **kwargs) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **kwargs)


class Order(models.Model):
    class Side(models.TextChoices):
        BUY = "buy", _("Buy")
        SELL = "sell", _("Sell")

    class Kind(models.TextChoices):
        LIMIT = "limit", _("Limit")
        MARKET = "market", _("Market (marketable limit at the band)")

    class Status(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        PARTLY_FILLED = "partly_filled", _("Partly filled")
        FILLED = "filled", _("Filled")
        CANCELLED = "cancelled", _("Cancelled")
        REJECTED = "rejected", _("Rejected")
        EXPIRED = "expired", _("Expired")

    OPEN = (Status.ACCEPTED, Status.PARTLY_FILLED)

    class Source(models.TextChoices):
        CLIENT = "client", _("Client")
        LIQUIDATION = "liquidation", _("Forced liquidation")

    account = models.ForeignKey(
        "margin.MarginAccount",
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("margin account"),
    )
    instrument = models.ForeignKey(
        "margin.Instrument",
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("instrument"),
    )
    side = models.CharField(_("side"), max_length=4, choices=Side.choices)
    kind = models.CharField(_("type"), max_length=6, choices=Kind.choices)
    quantity = models.PositiveBigIntegerField(_("quantity"))
    limit_price = _price(_("limit price"), help_text=_("A market order: the band's edge."))
    filled_quantity = models.PositiveBigIntegerField(_("filled quantity"), default=0)
    status = models.CharField(
        _("status"), max_length=14, choices=Status.choices, default=Status.ACCEPTED
    )
    reject_reason = models.TextField(_("why rejected"), blank=True)
    source = models.CharField(
        _("source"), max_length=12, choices=Source.choices, default=Source.CLIENT
    )
    liquidation_plan_id = models.PositiveBigIntegerField(
        _("liquidation plan"), null=True, blank=True
    )
    # The client's own key for one submission (the ticket's hidden token): a double click or a
    # replay finds the order it already made.
    client_token = models.CharField(_("submission key"), max_length=64)
    trading_day = models.DateField(_("trading day"), db_index=True)
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "client_token"], name="trading_order_once_per_token"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="trading_order_quantity"),
            models.CheckConstraint(condition=Q(limit_price__gt=0), name="trading_order_price"),
            models.CheckConstraint(
                condition=Q(filled_quantity__lte=models.F("quantity")),
                name="trading_order_not_overfilled",
            ),
        ]
        indexes = [
            models.Index(
                fields=["instrument", "status"],
                name="trading_open_orders",
                condition=Q(status__in=["accepted", "partly_filled"]),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_side_display()} {self.quantity} {self.instrument_id}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    @property
    def remaining(self) -> int:
        return self.quantity - self.filled_quantity


class Fill(models.Model):
    """One execution, and the one ledger entry that settled it."""

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="fills", verbose_name=_("order")
    )
    quantity = models.PositiveBigIntegerField(_("quantity"))
    price = _price(_("price"))
    value = _money(_("value"))
    financed = _money(_("financing drawn"), default=0)
    repaid_interest = _money(_("interest repaid"), default=0)
    repaid_debt = _money(_("debt repaid"), default=0)
    costs = _money(_("costs"), default=0)
    trading_day = models.DateField(_("trading day"), db_index=True)
    filled_at = models.DateTimeField(_("filled at"), default=timezone.now)
    venue = models.CharField(_("venue"), max_length=20, default="simulated")
    venue_ref = models.CharField(_("venue reference"), max_length=64, unique=True)
    entry = models.OneToOneField(
        "funds.JournalEntry",
        on_delete=models.PROTECT,
        related_name="fill",
        verbose_name=_("ledger entry"),
    )

    class Meta:
        ordering = ["-filled_at", "-pk"]
        verbose_name = _("fill")
        verbose_name_plural = _("fills")

    def __str__(self) -> str:
        return f"{self.order_id}: {self.quantity} @ {self.price}"


class FillCost(models.Model):
    """One cost of a fill, as its own ledger line: the fee item and the disclosure version that
    justified it."""

    fill = models.ForeignKey(
        Fill, on_delete=models.PROTECT, related_name="cost_lines", verbose_name=_("fill")
    )
    code = models.CharField(_("fee item"), max_length=50)
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
    ledger_line = models.OneToOneField(
        "funds.LedgerLine",
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("ledger line"),
        help_text=_("The line that charged this cost to the client's cash."),
    )

    class Meta:
        ordering = ["fill", "pk"]
        verbose_name = _("fill cost")
        verbose_name_plural = _("fill costs")

    def __str__(self) -> str:
        return f"{self.code} {self.amount}"


class TradingHalt(models.Model):
    """Risk control stops trading in one instrument, or (no instrument) on the whole platform."""

    instrument = models.ForeignKey(
        "margin.Instrument",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("instrument"),
        help_text=_("Empty: every instrument (a platform halt)."),
    )
    reason = models.TextField(_("reason (shown to clients)"))
    imposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("imposed by"),
    )
    imposed_at = models.DateTimeField(_("imposed at"), default=timezone.now)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lifted by"),
    )
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lift_reason = models.TextField(_("reason for lifting (shown to clients)"), blank=True)

    class Meta:
        ordering = ["-imposed_at"]
        verbose_name = _("trading halt")
        verbose_name_plural = _("trading halts")
        permissions = [("halt_trading", _("Can halt trading in an instrument or the platform"))]
        indexes = [
            models.Index(
                fields=["instrument"], name="trading_active_halts", condition=Q(lifted_at=None)
            )
        ]

    def __str__(self) -> str:
        return str(self.instrument or _("Platform"))


class RefusalCount(models.Model):
    """How often each check refused a submitted order on a trading day (which checks bite)."""

    day = models.DateField(_("day"))
    code = models.CharField(_("check"), max_length=30)
    count = models.PositiveIntegerField(_("refusals"), default=0)

    class Meta:
        ordering = ["-day", "-count"]
        verbose_name = _("refusals by reason")
        verbose_name_plural = _("refusals by reason")
        constraints = [
            models.UniqueConstraint(fields=["day", "code"], name="trading_refusal_once_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.code}: {self.count}"
