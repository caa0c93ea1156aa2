"""Market monitoring: daily bars, thresholds (changed with four-eyes), the alerts a risk officer
works, the responses that act on them, imported external events, book snapshots and the
weekly and monthly evaluations.

A signal is not a row of its own: a signal that crosses its threshold raises (or refreshes) an
alert, and the alert keeps the rule, the inputs and the value, first and latest.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    INFO = "info", _("Info")
    WARNING = "warning", _("Warning")
    CRITICAL = "critical", _("Critical")


LEVEL_ORDER = {Level.INFO: 0, Level.WARNING: 1, Level.CRITICAL: 2}


class DailyBar(models.Model):
    """One instrument's (or the platform index's) trading day: close, volume and turnover."""

    code = models.CharField(_("code"), max_length=12)
    day = models.DateField(_("trading day"))
    close = models.DecimalField(_("close"), max_digits=14, decimal_places=4)
    volume = models.PositiveBigIntegerField(_("volume (shares)"), default=0)
    turnover = models.DecimalField(_("turnover (yuan)"), max_digits=20, decimal_places=2, default=0)
    float_shares = models.PositiveBigIntegerField(_("float shares"), default=0)

    class Meta:
        ordering = ["code", "day"]
        verbose_name = _("daily bar")
        verbose_name_plural = _("daily bars")
        constraints = [models.UniqueConstraint(fields=["code", "day"], name="monitoring_bar_once")]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.code} {self.day}"


class Threshold(models.Model):
    """The threshold of one rule for one scope (a board class, or "all"), and the alert level it
    raises. Changed only through an approved ``ThresholdChange``."""

    rule = models.CharField(_("rule"), max_length=40)
    scope = models.CharField(_("scope"), max_length=20, default="all")
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=4)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    enabled = models.BooleanField(_("enabled"), default=True)
    source = models.CharField(_("source (rule text)"), max_length=200, blank=True)
    # Empty until a four-eyes change confirms the value against the rule text it names: the
    # defaults were entered from the rules as remembered, not checked against the current texts.
    source_confirmed_at = models.DateTimeField(_("source confirmed at"), null=True, blank=True)
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        ordering = ["rule", "scope"]
        verbose_name = _("threshold")
        verbose_name_plural = _("thresholds")
        constraints = [
            models.UniqueConstraint(fields=["rule", "scope"], name="monitoring_threshold_once")
        ]

    def __str__(self) -> str:
        return f"{self.rule} [{self.scope}] {self.value}"


class ThresholdChange(models.Model):
    """A proposed new value, level or on/off for a threshold; a second officer decides it."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    threshold = models.ForeignKey(
        Threshold, on_delete=models.PROTECT, related_name="changes", verbose_name=_("threshold")
    )
    value = models.DecimalField(_("new value"), max_digits=14, decimal_places=4)
    level = models.CharField(_("new level"), max_length=10, choices=Level.choices)
    enabled = models.BooleanField(_("enabled"), default=True)
    reason = models.TextField(_("reason"))
    source = models.CharField(
        _("source (rule text)"),
        max_length=200,
        blank=True,
        help_text=_("The rule text checked, with its version and article; empty: unchanged."),
    )
    confirms_source = models.BooleanField(
        _("confirms the source"),
        default=False,
        help_text=_("The value was checked against the current rule text named as the source."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PROPOSED
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("proposed by"),
    )
    proposed_at = models.DateTimeField(_("proposed at"), default=timezone.now)
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
        verbose_name = _("threshold change")
        verbose_name_plural = _("threshold changes")
        permissions = [("decide_thresholdchange", _("Can approve or reject a threshold change"))]

    def __str__(self) -> str:
        return f"{self.threshold} → {self.value} ({self.get_status_display()})"


class Alert(models.Model):
    """A signal over its threshold, worked by a risk officer: acknowledged, then closed with a
    note and an outcome. While open, the same condition (``key``) refreshes it, never a second
    alert; a condition that ends and comes back after closing raises a new one."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        CLOSED = "closed", _("Closed")

    class Outcome(models.TextChoices):
        NONE = "", _("—")
        ACTED_ON = "acted_on", _("Acted on")
        DISMISSED = "dismissed", _("Dismissed (no action needed)")
        FALSE_ALARM = "false_alarm", _("False alarm")

    class Subject(models.TextChoices):
        INSTRUMENT = "instrument", _("Instrument")
        SECTOR = "sector", _("Sector")
        MARKET = "market", _("Market")
        BOOK = "book", _("Book")

    key = models.CharField(_("condition"), max_length=120)
    rule = models.CharField(_("rule"), max_length=40)
    subject_kind = models.CharField(_("subject kind"), max_length=12, choices=Subject.choices)
    subject = models.CharField(_("subject"), max_length=60)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    status = models.CharField(_("status"), max_length=14, choices=Status.choices, default="open")
    value = models.DecimalField(_("value"), max_digits=20, decimal_places=4)
    threshold = models.DecimalField(_("threshold"), max_digits=20, decimal_places=4)
    inputs = models.JSONField(_("inputs when raised"), default=dict)
    last_value = models.DecimalField(_("latest value"), max_digits=20, decimal_places=4)
    last_inputs = models.JSONField(_("latest inputs"), default=dict)
    message = models.TextField(_("what happened"), blank=True)
    source = models.CharField(_("source"), max_length=20, default="signal")
    raised_at = models.DateTimeField(_("raised at"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen at"), default=timezone.now)
    condition_ended_at = models.DateTimeField(_("condition ended at"), null=True, blank=True)
    ack_due_at = models.DateTimeField(_("acknowledge by"), null=True, blank=True, db_index=True)
    escalations = models.PositiveSmallIntegerField(_("escalations"), default=0)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("acknowledged by"),
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed by"),
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    close_note = models.TextField(_("closing note"), blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=12, choices=Outcome.choices, default="", blank=True
    )

    class Meta:
        ordering = ["-raised_at"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        permissions = [("work_alert", _("Can acknowledge and close alerts"))]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=~Q(status="closed"), name="monitoring_alert_one_open"
            ),
        ]
        indexes = [models.Index(fields=["status", "raised_at"])]

    def __str__(self) -> str:
        return f"[{self.get_level_display()}] {self.rule} {self.subject}"


class Response(models.Model):
    """An action proposed from an alert: applied on a risk officer's confirmation, or at once
    where the contract allows. It points at what enforces it (a market measure or a regime)."""

    class Kind(models.TextChoices):
        LOWER_CAPS = "lower_caps", _("Lower leverage caps for new financing")
        RAISE_MARGIN = "raise_margin", _("Raise margin requirements for new business")
        PAUSE_BUYS = "pause_buys", _("Pause margin buys of an instrument")
        SHORT_HOURS = "short_hours", _("Shorten hours for new financing and buys")
        CIRCUIT_BREAKER = "circuit_breaker", _("Platform circuit breaker")
        EMERGENCY_FREEZE = "emergency_freeze", _("Emergency freeze level")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        ACTIVE = "active", _("In force")
        AWAITING = "awaiting", _("Awaiting the regime's confirmation")
        ENDED = "ended", _("Ended")
        REJECTED = "rejected", _("Rejected")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PROPOSED
    )
    alert = models.ForeignKey(
        Alert,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="responses",
        verbose_name=_("alert"),
    )
    instrument_code = models.CharField(_("instrument"), max_length=12, blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    needs_confirmation = models.BooleanField(_("needs a risk officer's confirmation"))
    reason_zh = models.TextField(_("what clients are told (Chinese)"))
    reason_en = models.TextField(_("what clients are told (English)"))
    proposed_at = models.DateTimeField(_("proposed at"), default=timezone.now)
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
    starts_at = models.DateTimeField(_("starts at"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    review_at = models.DateTimeField(_("review by"), null=True, blank=True)
    measure_id = models.PositiveBigIntegerField(_("market measure"), null=True, blank=True)
    regime_id = models.PositiveBigIntegerField(_("volatility regime"), null=True, blank=True)
    clients_told = models.PositiveIntegerField(_("clients told"), default=0)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_note = models.TextField(_("why ended"), blank=True)

    class Meta:
        ordering = ["-proposed_at"]
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        permissions = [("decide_response", _("Can confirm, reject or end a response"))]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "instrument_code"],
                condition=Q(status__in=["proposed", "active", "awaiting"]),
                name="monitoring_response_one_live",
            ),
        ]

    def __str__(self) -> str:
        what = self.get_kind_display()
        return f"{what} {self.instrument_code}".strip()


class ExternalEvent(models.Model):
    """A third-party event (media, social, macro) imported from a file; each raises an alert."""

    class Scope(models.TextChoices):
        INSTRUMENT = "instrument", _("Instrument")
        SECTOR = "sector", _("Sector")
        MARKET = "market", _("Market")

    occurred_at = models.DateTimeField(_("occurred at"))
    scope = models.CharField(_("scope"), max_length=12, choices=Scope.choices)
    subject = models.CharField(_("instrument, sector or market"), max_length=60)
    severity = models.CharField(_("severity"), max_length=10, choices=Level.choices)
    source = models.CharField(_("source"), max_length=100)
    text = models.TextField(_("text"))
    digest = models.CharField(_("digest"), max_length=64, unique=True)
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now)
    imported_by = models.CharField(_("imported by"), max_length=150)
    alert = models.ForeignKey(
        Alert, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("alert")
    )
    book = models.JSONField(_("book affected"), default=dict)

    class Meta:
        ordering = ["-occurred_at"]
        verbose_name = _("external event")
        verbose_name_plural = _("external events")

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.subject} {self.source}"


class BookSnapshot(models.Model):
    """The book signals at one moment, for trends, the board's charts and the evaluations."""

    at = models.DateTimeField(_("at"), db_index=True)
    values = models.JSONField(_("values"))

    class Meta:
        ordering = ["-at"]
        verbose_name = _("book snapshot")
        verbose_name_plural = _("book snapshots")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M}"


class Evaluation(models.Model):
    """A weekly or monthly evaluation, rendered once (in Celery) and kept as evidence."""

    class Period(models.TextChoices):
        WEEK = "week", _("Weekly")
        MONTH = "month", _("Monthly")

    period = models.CharField(_("period"), max_length=5, choices=Period.choices)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    pdf = models.FileField(_("PDF"), upload_to="monitoring/evaluations/")
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-starts_on"]
        verbose_name = _("evaluation")
        verbose_name_plural = _("evaluations")
        constraints = [
            models.UniqueConstraint(fields=["period", "starts_on"], name="monitoring_eval_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_period_display()} {self.starts_on}"
